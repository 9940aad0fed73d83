// SPDX-License-Identifier: GPL-2.0
/*
 * The blksnapctl tool (/usr/sbin/blksnapctl in the guest), run as a user
 * would: attach/cbtinfo/detach, snapshots with storage on a device and in a
 * file on ext4 (immutable while the snapshot lives), a full backup equal to
 * the image, an incremental one that copies only the changed blocks, the
 * watch loop (appending before it says ready, so that "watch & take
 * --wait-storage" does not race), whole devices refused as storage while
 * mounted, held or signed, and the exit codes of bad input.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "snap.h"
#include "dev.h"
#include "util.h"
#include "tool.h"
/* the agent guide's code, literally (Documentation/examples/agent.c) */
#define AGENT_NO_MAIN
#include "../Documentation/examples/agent.c"

#define FSDIR "/tmp/bsc-fs"
#define DEVSZ (64 * MIB)


static int sh(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A JSON number field of out[], or -1. */
static long long jnum(const char *key)
{
	char pat[64], *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(out, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* Fill [off, off + len) of @path with bytes derived from @seed. */
static int scribble(const char *path, uint64_t off, uint64_t len,
		    unsigned int seed)
{
	unsigned char *buf = malloc(MIB);
	int fd = open(path, O_WRONLY);
	int ret = 0;
	size_t i;

	if (fd < 0 || !buf) {
		free(buf);
		return -1;
	}
	while (len && !ret) {
		size_t n = len < MIB ? len : MIB;

		for (i = 0; i < n; i++)
			buf[i] = (unsigned char)(rand_r(&seed) >> 7);
		if (pwrite(fd, buf, n, off) != (ssize_t)n)
			ret = -1;
		off += n;
		len -= n;
	}
	if (fsync(fd))
		ret = -1;
	close(fd);
	free(buf);
	return ret;
}

static int is_immutable(const char *path)
{
	int fd = open(path, O_RDONLY), flags = 0;

	if (fd < 0)
		return -1;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags))
		flags = -1;
	close(fd);
	return flags < 0 ? -1 : !!(flags & FS_IMMUTABLE_FL);
}

/* ext4 on /dev/vdb mounted at FSDIR (once per boot). */
static int scratch_fs(void)
{
	struct stat a, b;

	mkdir(FSDIR, 0755);
	if (!stat(FSDIR, &a) && !stat("/tmp", &b) && a.st_dev != b.st_dev)
		return 0;
	if (sh("/usr/sbin/mkfs.ext4 -q -F -b 4096 /dev/vdb > /dev/null"))
		return -1;
	return mount("/dev/vdb", FSDIR, "ext4", 0, NULL) ? -errno : 0;
}

/* After the last test, in the harness's parent. */
static void __attribute__((destructor)) unmount_scratch(void)
{
	umount(FSDIR);
}

/* Destroy every snapshot and detach ram0..3 and vdb (best effort). */
static void cleanup(void)
{
	char *p, *line;

	if (!tool("snapshot collect")) {
		static char ids[sizeof(out)];

		memcpy(ids, out, sizeof(ids));
		for (line = strtok_r(ids, "\n", &p); line;
		     line = strtok_r(NULL, "\n", &p))
			tool("snapshot destroy %s", line);
	}
	sh(TOOL " detach /dev/ram0 2>/dev/null; " TOOL " detach /dev/ram1 2>/dev/null; "
	   TOOL " detach /dev/vdb 2>/dev/null");
}

/* "snapshot create ARGS": the new id into @id. */
static int create(char *id, const char *args)
{
	int ret = tool("snapshot create %s", args);

	if (ret)
		return ret;
	return sscanf(out, "%36s", id) == 1 && strlen(id) == 36 ? 0 : -1;
}

static int image_of(const char *dev, char *image, size_t len)
{
	char fmt[32];

	if (tool("snapshot info %s", dev))
		return -1;
	snprintf(fmt, sizeof(fmt), "image %%%zus", len - 1);
	return sscanf(out, fmt, image) == 1 && image[0] == '/' ? 0 : -1;
}

/* Whole-device copies under emulation: more than the default 30 s. */
FIXTURE(bsc) {
	int unused;
};

FIXTURE_SETUP(bsc)
{
	ASSERT_EQ(0, brd_ensure(4, 64));
	cleanup();
}

FIXTURE_TEARDOWN(bsc)
{
	cleanup();
}

TEST_F_TIMEOUT(bsc, usage_and_exit_codes, 240)
{
	char id[40];

	ASSERT_EQ(0, brd_ensure(4, 64));
	cleanup();
	EXPECT_EQ(2, tool(""));
	EXPECT_EQ(2, tool("frobnicate"));
	EXPECT_EQ(2, tool("snapshot take not-a-uuid"));
	EXPECT_EQ(2, tool("markdirty /dev/ram0 12"));
	EXPECT_EQ(2, tool("cbtinfo"));
	EXPECT_EQ(0, tool("--help"));
	EXPECT_EQ(0, tool("version"));

	/* no filter: ENOENT, and the message says what to run */
	EXPECT_EQ(4, tool("cbtinfo /dev/ram0"));
	EXPECT_NE(NULL, strstr(err, "run: blksnapctl attach /dev/ram0"));
	EXPECT_EQ(4, tool("cbtinfo /dev/no-such-device"));
	EXPECT_EQ(10, tool("cbtinfo /tmp"));		/* ENOTBLK */
	EXPECT_EQ(4, tool("detach /dev/ram0"));

	EXPECT_EQ(0, tool("attach /dev/ram0"));
	EXPECT_EQ(7, tool("attach /dev/ram0"));		/* EALREADY */
	EXPECT_EQ(8, tool("markdirty /dev/ram0 131064:16"));	/* EINVAL */
	EXPECT_EQ(0, tool("markdirty /dev/ram0 0:8 1024:8"));

	/* unknown snapshot: ESRCH / ENODEV */
	EXPECT_EQ(5, tool("snapshot take 00112233-4455-6677-8899-aabbccddeeff"));
	EXPECT_EQ(5, tool("snapshot destroy 00112233445566778899aabbccddeeff"));
	EXPECT_EQ(5, tool("snapshot add 00112233445566778899aabbccddeeff /dev/ram0"));

	ASSERT_EQ(0, create(id, ""));
	EXPECT_EQ(5, tool("snapshot take %s", id));	/* no devices */
	EXPECT_EQ(0, tool("snapshot add %s /dev/ram0", id));
	EXPECT_EQ(7, tool("snapshot add %s /dev/ram0", id));
	EXPECT_EQ(9, tool("snapshot take %s", id));	/* no storage */
	EXPECT_NE(NULL, strstr(err, "snapshot append"));
	EXPECT_EQ(6, tool("detach /dev/ram0"));		/* in a snapshot */
	EXPECT_EQ(4, tool("snapshot add %s /dev/ram1", id));	/* no filter */
	EXPECT_EQ(8, tool("snapshot append %s /dev/ram1 131064:64", id));
	EXPECT_EQ(2, tool("snapshot append %s /tmp/bsc-nofile", id));
	/* a file on tmpfs has no block device under it */
	EXPECT_NE(0, tool("snapshot append %s /tmp/bsc-tmpfs --size 1M", id));
	EXPECT_NE(0, access("/tmp/bsc-tmpfs", F_OK));
	EXPECT_EQ(0, tool("snapshot append %s /dev/ram1 0:16384", id));
	EXPECT_EQ(0, tool("snapshot take %s", id));
	EXPECT_EQ(7, tool("snapshot take %s", id));	/* EALREADY */
	/*
	 * The event CREATE queued, the one of the append (8 MiB leave free
	 * space below diff_storage_minimum / 2: asked again), then none.
	 */
	EXPECT_EQ(0, tool("snapshot wait %s --timeout 10", id));
	EXPECT_NE(NULL, strstr(out, "low_free_space"));
	EXPECT_EQ(0, tool("snapshot wait %s --timeout 10", id));
	EXPECT_NE(NULL, strstr(out, "low_free_space"));
	EXPECT_EQ(4, tool("snapshot wait %s --timeout 10", id));
	EXPECT_EQ(0, tool("--json snapshot collect"));
	EXPECT_NE(NULL, strstr(out, id));
	EXPECT_EQ(0, tool("snapshot destroy %s", id));
	EXPECT_EQ(5, tool("snapshot destroy %s", id));
	EXPECT_EQ(0, tool("detach /dev/ram0"));
	cleanup();
}

TEST_F_TIMEOUT(bsc, attach_cbtinfo_detach, 240)
{
	struct stat st;

	ASSERT_EQ(0, brd_ensure(4, 64));
	cleanup();
	ASSERT_EQ(0, tool("attach /dev/ram0"));
	ASSERT_EQ(0, tool("--json cbtinfo /dev/ram0"));
	EXPECT_EQ((long long)DEVSZ, jnum("device_capacity"));
	EXPECT_EQ(65536, jnum("block_size"));
	EXPECT_EQ(1024, jnum("block_count"));
	EXPECT_EQ(0, jnum("changes_number"));
	EXPECT_NE(NULL, strstr(out, "\"generation_id\":\""));
	ASSERT_EQ(0, tool("cbtinfo /dev/ram0"));
	EXPECT_NE(NULL, strstr(out, "block_size 65536"));
	/* a write shows in the map only after the next switch: map all 0 */
	ASSERT_EQ(0, tool("cbtmap /dev/ram0 -o /tmp/bsc-map"));
	EXPECT_EQ(0, stat("/tmp/bsc-map", &st));
	EXPECT_EQ(1024, st.st_size);
	unlink("/tmp/bsc-map");
	EXPECT_EQ(0, tool("--json cbtmap /dev/ram0 --offset 1000 --length 100"));
	EXPECT_EQ(24, jnum("length"));
	EXPECT_EQ(8, tool("cbtmap /dev/ram0 --offset 1024"));
	EXPECT_EQ(0, tool("detach /dev/ram0"));
	EXPECT_EQ(4, tool("cbtinfo /dev/ram0"));
}

TEST_F_TIMEOUT(bsc, file_storage_immutable, 240)
{
	char id[40], state[128], image[64];
	int fd;

	ASSERT_EQ(0, brd_ensure(4, 64));
	cleanup();
	ASSERT_EQ(0, scratch_fs());
	unlink(FSDIR "/mine");
	ASSERT_EQ(0, create(id, "/dev/ram0"));	/* attaches and adds */
	snprintf(state, sizeof(state), "/run/blksnapctl/%s", id);
	EXPECT_EQ(0, access(state, F_OK));

	/* a file the tool creates; one that exists already is refused */
	ASSERT_EQ(0, tool("snapshot append %s " FSDIR "/diff1 --size 16M", id));
	EXPECT_EQ(1, is_immutable(FSDIR "/diff1"));
	fd = open(FSDIR "/mine", O_CREAT | O_WRONLY, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 8 * MIB));
	ASSERT_EQ(0, fchown(fd, 65534, 65534));
	close(fd);
	EXPECT_EQ(1, tool("snapshot append %s " FSDIR "/mine", id));
	EXPECT_NE(NULL, strstr(err, "only uses storage files it creates"));
	EXPECT_EQ(0, is_immutable(FSDIR "/mine"));
	EXPECT_EQ(1, tool("snapshot append %s " FSDIR "/mine --size 8M", id));
	EXPECT_EQ(0, is_immutable(FSDIR "/mine"));
	/* already in use */
	EXPECT_EQ(1, tool("snapshot append %s " FSDIR "/diff1 --size 1M", id));
	/* a directory others can write to */
	mkdir(FSDIR "/open", 0777);
	chmod(FSDIR "/open", 0777);
	EXPECT_EQ(3, tool("snapshot append %s " FSDIR "/open/d --size 1M", id));
	EXPECT_NE(0, access(FSDIR "/open/d", F_OK));
	rmdir(FSDIR "/open");
	/* and a device range */
	ASSERT_EQ(0, tool("snapshot append %s /dev/ram1 0:8192", id));
	ASSERT_EQ(0, tool("snapshot take %s", id));
	ASSERT_EQ(0, image_of("/dev/ram0", image, sizeof(image)));
	EXPECT_STREQ("/dev/blksnap-image_1:0", image);
	/* enough copy-on-write to spill into the file storage */
	ASSERT_EQ(0, scribble("/dev/ram0", 0, 16 * MIB, 7));
	ASSERT_EQ(0, tool("snapshot info /dev/ram0"));
	EXPECT_NE(NULL, strstr(out, "error 0"));

	ASSERT_EQ(0, tool("--json snapshot destroy %s", id));
	EXPECT_EQ(1, jnum("storage_files"));
	EXPECT_NE(0, access(FSDIR "/diff1", F_OK));	/* created: deleted */
	EXPECT_NE(0, access(state, F_OK));
	EXPECT_EQ(0, unlink(FSDIR "/mine"));

	/* --keep keeps the tool's files, mutable */
	ASSERT_EQ(0, create(id, "/dev/ram0"));
	ASSERT_EQ(0, tool("snapshot append %s " FSDIR "/diff2 --size 4M", id));
	EXPECT_EQ(0, tool("snapshot destroy %s --keep", id));
	EXPECT_EQ(0, is_immutable(FSDIR "/diff2"));
	EXPECT_EQ(0, unlink(FSDIR "/diff2"));

	/* storage on a device of the snapshot itself: refused unless --force */
	ASSERT_EQ(0, create(id, "/dev/vdb"));
	EXPECT_EQ(6, tool("snapshot append %s " FSDIR "/diff3 --size 4M", id));
	EXPECT_NE(NULL, strstr(err, "--force"));
	EXPECT_NE(0, access(FSDIR "/diff3", F_OK));
	EXPECT_EQ(0, tool("snapshot append %s " FSDIR "/diff3 --size 4M --force",
			  id));
	EXPECT_EQ(0, tool("snapshot destroy %s", id));
	EXPECT_NE(0, access(FSDIR "/diff3", F_OK));
	cleanup();
}

/* A file on a partition of a device of the snapshot is refused too. */
TEST_F_TIMEOUT(bsc, storage_on_partition_of_member, 240)
{
	char disk[128], part[128], id[40], cmd[256];
	int lfd;

	lfd = loop_with_partition("/tmp/bsc-loop", 64, part, sizeof(part));
	ASSERT_LE(0, lfd);
	snprintf(disk, sizeof(disk), "%.*s", (int)(strlen(part) - 2), part);
	snprintf(cmd, sizeof(cmd),
		 "/usr/sbin/mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 %s > /dev/null", part);
	ASSERT_EQ(0, sh(cmd));
	mkdir("/tmp/bsc-part", 0755);
	ASSERT_EQ(0, mount(part, "/tmp/bsc-part", "ext4", 0, NULL));
	ASSERT_EQ(0, create(id, disk));
	EXPECT_EQ(6, tool("snapshot append %s /tmp/bsc-part/diff --size 1M",
			  id));
	EXPECT_NE(NULL, strstr(err, "a device of this snapshot"));
	EXPECT_NE(0, access("/tmp/bsc-part/diff", F_OK));
	EXPECT_EQ(0, tool("snapshot destroy %s", id));
	EXPECT_EQ(0, tool("detach %s", disk));
	EXPECT_EQ(0, umount("/tmp/bsc-part"));
	loop_destroy(lfd, "/tmp/bsc-loop");
}

static int copy_file(const char *from, const char *to)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "cp %s %s", from, to);
	return sh(cmd);
}

TEST_F_TIMEOUT(bsc, full_and_incremental_backup, 240)
{
	char id[40], image[64];
	long long copied, total;

	ASSERT_EQ(0, brd_ensure(4, 64));
	cleanup();
	unlink("/tmp/bsc.state");
	ASSERT_EQ(0, scribble("/dev/ram0", 0, DEVSZ, 1));

	/* snapshot 1 and its full backup */
	ASSERT_EQ(0, create(id, "/dev/ram0"));
	ASSERT_EQ(0, tool("snapshot append %s /dev/ram1 0:65536", id));
	ASSERT_EQ(0, tool("snapshot take %s", id));
	ASSERT_EQ(0, image_of("/dev/ram0", image, sizeof(image)));
	ASSERT_EQ(0, tool("--json backup full %s -o /tmp/bsc-full.img --state /tmp/bsc.state --verify",
			  id));
	EXPECT_NE(NULL, strstr(out, "\"mode\":\"full\""));
	EXPECT_NE(NULL, strstr(out, "\"verified\":true"));
	EXPECT_EQ(0, files_same(image, "/tmp/bsc-full.img", DEVSZ));
	EXPECT_EQ(0, files_same("/dev/ram0", "/tmp/bsc-full.img", DEVSZ));
	EXPECT_EQ(0, access("/tmp/bsc.state", F_OK));

	/* changes while the snapshot is held, and after it is gone */
	ASSERT_EQ(0, scribble("/dev/ram0", 5 * MIB, 4096, 2));
	ASSERT_EQ(0, scribble("/dev/ram0", 40 * MIB + 65536, 100000, 3));
	EXPECT_EQ(0, files_same(image, "/tmp/bsc-full.img", DEVSZ));
	EXPECT_EQ(0, tool("snapshot destroy %s", id));
	ASSERT_EQ(0, scribble("/dev/ram0", DEVSZ - 4096, 4096, 4));

	/* snapshot 2, incremental onto the full backup, updated in place */
	ASSERT_EQ(0, copy_file("/tmp/bsc-full.img", "/tmp/bsc-old.img"));
	ASSERT_EQ(0, create(id, "/dev/ram0"));
	ASSERT_EQ(0, tool("snapshot append %s /dev/ram1 0:65536", id));
	ASSERT_EQ(0, tool("snapshot take %s", id));
	ASSERT_EQ(0, image_of("/dev/ram0", image, sizeof(image)));
	/* a copy of the base is not the base (the man page's mistake) */
	ASSERT_EQ(0, copy_file("/tmp/bsc-full.img", "/tmp/bsc-inc.img"));
	EXPECT_EQ(8, tool("backup incremental /dev/ram0 %s --base /tmp/bsc-inc.img --state /tmp/bsc.state",
			  image));
	EXPECT_NE(NULL, strstr(err, "is not the base"));
	EXPECT_EQ(0, access("/tmp/bsc.state", F_OK));	/* refused: kept */
	ASSERT_EQ(0, tool("--json backup incremental /dev/ram0 %s --base /tmp/bsc-full.img --state /tmp/bsc.state --verify",
			  image));
	EXPECT_NE(NULL, strstr(out, "\"mode\":\"incremental\""));
	copied = jnum("blocks_copied");
	total = jnum("blocks_total");
	EXPECT_EQ(1024, total);
	/* 1 + 2 (100000 bytes from 64 KiB past 40 MiB) + 1 blocks */
	EXPECT_EQ(4, copied);
	EXPECT_EQ(0, files_same(image, "/tmp/bsc-full.img", DEVSZ));
	EXPECT_EQ(0, files_same("/dev/ram0", "/tmp/bsc-full.img", DEVSZ));
	EXPECT_NE(0, files_same("/tmp/bsc-old.img", "/tmp/bsc-full.img", DEVSZ));

	/* IMAGE must be this device's image: another one, no filter */
	EXPECT_EQ(4, tool("backup incremental /dev/ram1 %s --base /tmp/bsc-full.img --state /tmp/bsc.state",
			  image));
	/* ... and any block device that is not its image */
	EXPECT_EQ(8, tool("backup incremental /dev/ram0 /dev/ram2 --base /tmp/bsc-full.img --state /tmp/bsc.state"));
	EXPECT_NE(NULL, strstr(err, "is not the snapshot image of"));

	/* the same snapshot again: changes_number not above the saved: full */
	ASSERT_EQ(0, tool("--json backup incremental /dev/ram0 --base /tmp/bsc-full.img --state /tmp/bsc.state"));
	EXPECT_NE(NULL, strstr(out, "\"mode\":\"full\""));
	EXPECT_NE(NULL, strstr(out, "changes_number not above"));
	EXPECT_EQ(0, files_same(image, "/tmp/bsc-full.img", DEVSZ));

	/* the old copy restored over the base: refused, nothing written */
	EXPECT_EQ(0, tool("snapshot destroy %s", id));
	ASSERT_EQ(0, scribble("/dev/ram0", 7 * MIB, 4096, 5));
	ASSERT_EQ(0, create(id, "/dev/ram0"));
	ASSERT_EQ(0, tool("snapshot append %s /dev/ram1 0:65536", id));
	ASSERT_EQ(0, tool("snapshot take %s", id));
	ASSERT_EQ(0, image_of("/dev/ram0", image, sizeof(image)));
	ASSERT_EQ(0, sh("cp /tmp/bsc-full.img /tmp/bsc-keep.img && cp /tmp/bsc-old.img /tmp/bsc-full.img"));
	EXPECT_EQ(8, tool("backup incremental /dev/ram0 --base /tmp/bsc-full.img --state /tmp/bsc.state"));
	EXPECT_EQ(0, files_same("/tmp/bsc-old.img", "/tmp/bsc-full.img", DEVSZ));

	/* no state: a full copy, and it says so */
	unlink("/tmp/bsc.state2");
	ASSERT_EQ(0, tool("backup incremental /dev/ram0 --base /tmp/bsc-new.img --state /tmp/bsc.state2"));
	EXPECT_NE(NULL, strstr(out, "full copy"));
	EXPECT_EQ(0, files_same(image, "/tmp/bsc-new.img", DEVSZ));
	/* missing mandatory options */
	EXPECT_EQ(2, tool("backup incremental /dev/ram0 --base /tmp/x"));
	EXPECT_EQ(2, tool("backup full /dev/ram0"));

	EXPECT_EQ(0, tool("snapshot destroy %s", id));
	/* a new generation after detach/attach: full again */
	EXPECT_EQ(0, tool("detach /dev/ram0"));
	ASSERT_EQ(0, create(id, "/dev/ram0"));
	ASSERT_EQ(0, tool("snapshot append %s /dev/ram1 0:65536", id));
	ASSERT_EQ(0, tool("snapshot take %s", id));
	ASSERT_EQ(0, tool("backup incremental /dev/ram0 --base /tmp/bsc-new.img --state /tmp/bsc.state2"));
	EXPECT_NE(NULL, strstr(out, "generation changed"));
	EXPECT_EQ(0, tool("snapshot destroy %s", id));
	sh("rm -f /tmp/bsc-full.img /tmp/bsc-inc.img /tmp/bsc-new.img /tmp/bsc-old.img /tmp/bsc-keep.img /tmp/bsc.state /tmp/bsc.state2");
	cleanup();
}

/* Faults for the agent's copy: reads or writes reaching byte fault_at. */
static long long fault_at = -1;
static int fault_errno;

static ssize_t faulty_pread(int fd, void *buf, size_t n, off_t off)
{
	if (fault_errno == EIO && fault_at >= 0 &&
	    off + (long long)n > fault_at) {
		errno = EIO;
		return -1;
	}
	return pread(fd, buf, n, off);
}

static ssize_t faulty_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fault_errno == ENOSPC && fault_at >= 0 &&
	    off + (long long)n > fault_at) {
		errno = ENOSPC;
		return -1;
	}
	return pwrite(fd, buf, n, off);
}

#define ABASE "/tmp/bsc-agent.img"
#define ASTATE "/tmp/bsc-agent.state"

/* One run of the guide's agent on ram0 (storage ram1); fault as given. */
static int agent_once(struct agent_result *res, int err, long long at)
{
	int ret;

	fault_errno = err;
	fault_at = at;
	memset(res, 0, sizeof(*res));
	ret = agent_run("/dev/ram0", "/dev/ram1", ABASE, ASTATE, res);
	fault_errno = 0;
	fault_at = -1;
	fprintf(stderr, "# agent: %s, %s, %llu blocks\n", strerror(-ret),
		res->full ? "full" : "incremental",
		(unsigned long long)res->copied);
	return ret;
}

/* Only the base and the state in /tmp: no temporary file left behind. */
static int agent_leftovers(void)
{
	return sh("ls /tmp | grep -q '^bsc-agent\\.\\(img\\|state\\)\\.'") == 0;
}

/*
 * An agent following Documentation/agent-guide.rst literally (its code is
 * the guide's): each backup equals the device at TAKE byte for byte, and
 * a copy that fails part way (EIO reading the image, ENOSPC writing the
 * base, in a full and in an incremental) leaves no state, so the next run
 * is a correct full backup; a base replaced by an older copy is refused.
 */
TEST_F_TIMEOUT(bsc, agent_follows_guide, 300)
{
	struct agent_result r;
	int ctl;

	ASSERT_EQ(0, brd_ensure(4, 64));
	cleanup();
	sh("rm -f /tmp/bsc-agent*");
	agent_pread = faulty_pread;
	agent_pwrite = faulty_pwrite;
	ctl = open("/dev/blksnap-control", O_RDWR);
	ASSERT_LE(0, ctl);
	EXPECT_EQ(0, destroy_stale(ctl));
	close(ctl);
	ASSERT_EQ(0, scribble("/dev/ram0", 0, DEVSZ, 21));

	/* 1: full */
	ASSERT_EQ(0, agent_once(&r, 0, -1));
	EXPECT_EQ(1, r.full);
	EXPECT_EQ(0, files_same("/dev/ram0", ABASE, DEVSZ));

	/* 2: incremental, 3 blocks */
	ASSERT_EQ(0, scribble("/dev/ram0", 3 * MIB, 4096, 22));
	ASSERT_EQ(0, scribble("/dev/ram0", 30 * MIB + 65000, 1000, 23));
	ASSERT_EQ(0, agent_once(&r, 0, -1));
	EXPECT_EQ(0, r.full);
	EXPECT_EQ(3, r.copied);
	EXPECT_EQ(0, files_same("/dev/ram0", ABASE, DEVSZ));

	/* 3: an incremental whose read fails: state invalidated */
	ASSERT_EQ(0, scribble("/dev/ram0", 9 * MIB, 65536 * 3, 24));
	EXPECT_EQ(-EIO, agent_once(&r, EIO, 9 * MIB + 65536));
	EXPECT_NE(0, access(ASTATE, F_OK));
	/* 4: so the next is a full one, and right */
	ASSERT_EQ(0, scribble("/dev/ram0", 50 * MIB, 4096, 25));
	ASSERT_EQ(0, agent_once(&r, 0, -1));
	EXPECT_EQ(1, r.full);
	EXPECT_EQ(0, files_same("/dev/ram0", ABASE, DEVSZ));

	/* 5: a full backup (new generation) that fails with ENOSPC */
	ASSERT_EQ(0, tool("detach /dev/ram0"));
	ASSERT_EQ(0, scribble("/dev/ram0", 20 * MIB, 4 * MIB, 26));
	EXPECT_EQ(-ENOSPC, agent_once(&r, ENOSPC, 8 * MIB));
	EXPECT_NE(0, access(ASTATE, F_OK));
	EXPECT_EQ(0, agent_leftovers());
	/* the old base is intact: the failed copy never replaced it */
	EXPECT_NE(0, files_same("/dev/ram0", ABASE, DEVSZ));
	/* 6: full again, right */
	ASSERT_EQ(0, agent_once(&r, 0, -1));
	EXPECT_EQ(1, r.full);
	EXPECT_EQ(0, files_same("/dev/ram0", ABASE, DEVSZ));

	/* 7: a full that fails with EIO reading the image */
	ASSERT_EQ(0, unlink(ABASE));
	ASSERT_EQ(0, scribble("/dev/ram0", 33 * MIB, 4096, 27));
	EXPECT_EQ(-EIO, agent_once(&r, EIO, 16 * MIB));
	EXPECT_NE(0, access(ASTATE, F_OK));
	EXPECT_NE(0, access(ABASE, F_OK));
	EXPECT_EQ(0, agent_leftovers());
	ASSERT_EQ(0, agent_once(&r, 0, -1));
	EXPECT_EQ(1, r.full);
	EXPECT_EQ(0, files_same("/dev/ram0", ABASE, DEVSZ));

	/* 8: an older copy restored over the base: refused */
	ASSERT_EQ(0, sh("cp " ABASE " /tmp/bsc-agent-old"));
	ASSERT_EQ(0, scribble("/dev/ram0", 60 * MIB, 4096, 28));
	ASSERT_EQ(0, agent_once(&r, 0, -1));
	EXPECT_EQ(0, r.full);
	EXPECT_EQ(1, r.copied);
	EXPECT_EQ(0, files_same("/dev/ram0", ABASE, DEVSZ));
	ASSERT_EQ(0, sh("cp /tmp/bsc-agent-old " ABASE));
	ASSERT_EQ(0, scribble("/dev/ram0", 61 * MIB, 4096, 29));
	EXPECT_EQ(-EINVAL, agent_once(&r, 0, -1));
	EXPECT_EQ(0, access(ASTATE, F_OK));	/* refused before any change */
	EXPECT_EQ(0, files_same("/tmp/bsc-agent-old", ABASE, DEVSZ));
	/* 9: the right base back (here: a new full after removing it) */
	ASSERT_EQ(0, unlink(ABASE));
	ASSERT_EQ(0, agent_once(&r, 0, -1));
	EXPECT_EQ(1, r.full);
	EXPECT_EQ(0, files_same("/dev/ram0", ABASE, DEVSZ));
	sh("rm -f /tmp/bsc-agent*");
	cleanup();
}

/*
 * An image mounted read-write: writes through it (the journal replay at
 * mount) raise the map after it is read, so the tool refuses to back it
 * up until it is unmounted.  A backup into a file on the snapshotted
 * device itself is warned about.
 */
TEST_F_TIMEOUT(bsc, image_mounted_rw_refused, 240)
{
	char id[40], image[64];

	ASSERT_EQ(0, brd_ensure(4, 64));
	cleanup();
	ASSERT_EQ(0, scratch_fs());
	ASSERT_EQ(0, create(id, "/dev/vdb"));
	/* ram1 may hold a copy of a file system's chunk: --force */
	ASSERT_EQ(0, tool("snapshot append %s /dev/ram1 --force", id));
	ASSERT_EQ(0, tool("snapshot take %s", id));
	ASSERT_EQ(0, image_of("/dev/vdb", image, sizeof(image)));
	mkdir("/tmp/bsc-img", 0755);
	ASSERT_EQ(0, mount(image, "/tmp/bsc-img", "ext4", 0, NULL));
	EXPECT_EQ(6, tool("backup incremental /dev/vdb --base /tmp/bsc-vdb.img --state /tmp/bsc-vdb.state"));
	EXPECT_NE(NULL, strstr(err, "mounted read-write"));
	EXPECT_NE(0, access("/tmp/bsc-vdb.img", F_OK));
	EXPECT_EQ(0, umount("/tmp/bsc-img"));
	/* unmounted: fine; into a file on vdb itself: a warning */
	EXPECT_EQ(0, tool("backup full /dev/vdb -o " FSDIR "/self.img"));
	EXPECT_NE(NULL, strstr(err, "the device being backed up"));
	EXPECT_EQ(0, unlink(FSDIR "/self.img"));
	EXPECT_EQ(0, tool("snapshot destroy %s", id));
	cleanup();
}

/*
 * A file on a loop device whose backing file is on a device of the
 * snapshot: the storage would be inside the snapshot.  Refused.
 */
TEST_F_TIMEOUT(bsc, storage_on_stacked_member, 240)
{
	char part[128], id[40], cmd[256];
	int lfd;

	ASSERT_EQ(0, scratch_fs());
	lfd = loop_with_partition(FSDIR "/loopfile", 16, part, sizeof(part));
	ASSERT_LE(0, lfd);
	snprintf(cmd, sizeof(cmd),
		 "/usr/sbin/mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 %s > /dev/null", part);
	ASSERT_EQ(0, sh(cmd));
	mkdir("/tmp/bsc-stk", 0755);
	ASSERT_EQ(0, mount(part, "/tmp/bsc-stk", "ext4", 0, NULL));
	ASSERT_EQ(0, create(id, "/dev/vdb"));
	EXPECT_EQ(6, tool("snapshot append %s /tmp/bsc-stk/diff --size 1M",
			  id));
	EXPECT_NE(NULL, strstr(err, "a device of this snapshot"));
	EXPECT_NE(0, access("/tmp/bsc-stk/diff", F_OK));
	EXPECT_EQ(0, tool("snapshot destroy %s", id));
	EXPECT_EQ(0, umount("/tmp/bsc-stk"));
	loop_destroy(lfd, FSDIR "/loopfile");
	cleanup();
}

/* Start "blksnapctl ARGS" in the background, stdout to @log. */
static pid_t spawn(const char *args, const char *log)
{
	char cmd[512];
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "exec " TOOL " %s > %s 2>&1", args, log);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, NULL);
		_exit(127);
	}
	return pid;
}

/* Exit code of @pid within @ms, or -1 (then it is killed). */
static int reap(pid_t pid, int ms)
{
	int st;

	for (; ms > 0; ms -= 50) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void show(const char *log)
{
	char line[512];
	FILE *f = fopen(log, "r");

	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "#   watch: %s", line);
	if (f)
		fclose(f);
}

TEST_F_TIMEOUT(bsc, watch_appends_and_ends, 240)
{
	char id[40], args[256], file[128];
	pid_t pid;
	int i;

	ASSERT_EQ(0, brd_ensure(4, 64));
	cleanup();
	ASSERT_EQ(0, scratch_fs());
	/* a UUID that names no snapshot is an error, not "gone" */
	EXPECT_EQ(5, tool("watch 00112233445566778899aabbccddeeff --dir " FSDIR " --step 8M --limit 24M"));
	ASSERT_EQ(0, create(id, "/dev/ram0"));
	snprintf(args, sizeof(args), "watch %s --dir " FSDIR " --step 8M --limit 24M",
		 id);
	pid = spawn(args, "/tmp/bsc-watch.log");
	ASSERT_LT(0, pid);
	/* CREATE queued a low-free-space event: the watch answers it */
	snprintf(file, sizeof(file), FSDIR "/blksnap-%.8s-0.diff", id);
	for (i = 0; i < 200 && is_immutable(file) != 1; i++)
		usleep(50000);
	EXPECT_EQ(1, is_immutable(file));
	EXPECT_EQ(0, tool("snapshot take %s", id));
	EXPECT_EQ(0, scribble("/dev/ram0", 0, 8 * MIB, 9));
	EXPECT_EQ(0, tool("snapshot destroy %s", id));
	EXPECT_EQ(0, reap(pid, 10000));		/* the snapshot is gone */
	show("/tmp/bsc-watch.log");
	EXPECT_NE(0, access(file, F_OK));

	/* storage too small: the watch reports the corruption, exit 13 */
	ASSERT_EQ(0, create(id, "/dev/ram0"));
	snprintf(args, sizeof(args), "watch %s --device /dev/ram1:0:4096 --step 2M --limit 2M",
		 id);
	pid = spawn(args, "/tmp/bsc-watch.log");
	ASSERT_LT(0, pid);
	for (i = 0; i < 100 && tool("snapshot take %s", id) == 9; i++)
		usleep(100000);
	EXPECT_EQ(0, scribble("/dev/ram0", 0, 32 * MIB, 10));
	EXPECT_EQ(13, reap(pid, 20000));
	show("/tmp/bsc-watch.log");
	EXPECT_EQ(13, tool("snapshot info /dev/ram0"));
	EXPECT_EQ(11, tool("backup full /dev/blksnap-image_1:0 -o /tmp/bsc-x.img"));
	unlink("/tmp/bsc-x.img");
	EXPECT_EQ(0, tool("snapshot destroy %s", id));
	cleanup();
}

#define EBUSY_JSON "{\"error\":\"EBUSY\",\"exit_code\":6,\"message\":"

/* Zero the first 1 MiB of @dev: no signature left. */
static int wipe(const char *dev)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd),
		 "dd if=/dev/zero of=%s bs=1M count=1 conv=fsync 2>/dev/null",
		 dev);
	return sh(cmd);
}

/*
 * A whole device given as storage ("snapshot append UUID DEV", "watch
 * --device DEV") is refused with EBUSY (exit 6) when it holds a file
 * system, is mounted, has a mounted partition or is held by a dm device;
 * --force overrides; a wiped, unused device is taken.  --json: the refusal
 * is a JSON error.
 */
TEST_F_TIMEOUT(bsc, whole_device_storage_refused, 240)
{
	char id[40], disk[128], part[128], cmd[256], dm[64];
	int lfd;

	ASSERT_EQ(0, brd_ensure(4, 64));
	cleanup();
	ASSERT_EQ(0, create(id, "/dev/ram0"));

	/* a file system */
	ASSERT_EQ(0, sh("/usr/sbin/mkfs.ext4 -q -F -b 4096 /dev/ram2 > /dev/null"));
	EXPECT_EQ(6, tool("snapshot append %s /dev/ram2", id));
	EXPECT_NE(NULL, strstr(err, "ext2/3/4"));
	EXPECT_NE(NULL, strstr(err, "--force"));
	EXPECT_EQ(6, tool("--json snapshot append %s /dev/ram2", id));
	EXPECT_EQ(0, strncmp(err, EBUSY_JSON, strlen(EBUSY_JSON)));
	EXPECT_EQ(6, tool("watch %s --device /dev/ram2 --step 1M --limit 2M --timeout 1",
			  id));
	/* mounted */
	mkdir("/tmp/bsc-m", 0755);
	ASSERT_EQ(0, mount("/dev/ram2", "/tmp/bsc-m", "ext4", 0, NULL));
	EXPECT_EQ(6, tool("snapshot append %s /dev/ram2", id));
	EXPECT_NE(NULL, strstr(err, "mounted on /tmp/bsc-m"));
	EXPECT_EQ(0, umount("/tmp/bsc-m"));
	/* --force: taken */
	EXPECT_EQ(0, tool("snapshot append %s /dev/ram2 --force", id));
	/* held by a dm device (no signature: wiped) */
	ASSERT_EQ(0, wipe("/dev/ram3"));
	snprintf(cmd, sizeof(cmd), "/dev/ram3 0");
	ASSERT_EQ(0, dm_create("bsc-held", "linear", 131072, cmd, dm,
			       sizeof(dm)));
	EXPECT_EQ(6, tool("snapshot append %s /dev/ram3", id));
	EXPECT_NE(NULL, strstr(err, "held by dm-"));
	EXPECT_EQ(0, dm_remove("bsc-held"));
	/* wiped and unused: taken without --force */
	EXPECT_EQ(0, tool("snapshot append %s /dev/ram3", id));
	EXPECT_EQ(0, tool("snapshot destroy %s", id));

	/* a mounted partition of the whole device */
	lfd = loop_with_partition("/tmp/bsc-loop2", 64, part, sizeof(part));
	ASSERT_LE(0, lfd);
	snprintf(disk, sizeof(disk), "%.*s", (int)(strlen(part) - 2), part);
	snprintf(cmd, sizeof(cmd),
		 "/usr/sbin/mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 %s > /dev/null", part);
	EXPECT_EQ(0, sh(cmd));
	EXPECT_EQ(0, mount(part, "/tmp/bsc-m", "ext4", 0, NULL));
	ASSERT_EQ(0, create(id, "/dev/ram0"));
	EXPECT_EQ(6, tool("snapshot append %s %s", id, disk));
	EXPECT_NE(NULL, strstr(err, "is mounted on /tmp/bsc-m"));
	EXPECT_EQ(0, tool("snapshot destroy %s", id));
	umount("/tmp/bsc-m");
	loop_destroy(lfd, "/tmp/bsc-loop2");
	cleanup();
}

/*
 * The documented "watch ... & snapshot take --wait-storage": whichever
 * starts first, TAKE finds the storage watch appends before it says
 * "ready" (before, TAKE raced the watch and failed with ENOSPC).
 */
TEST_F_TIMEOUT(bsc, watch_and_take_no_race, 240)
{
	char id[40], args[256], line[256];
	pid_t pid;
	FILE *f;
	int i;

	ASSERT_EQ(0, brd_ensure(4, 64));
	cleanup();
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, create(id, "/dev/ram0"));
		snprintf(args, sizeof(args),
			 "watch %s --device /dev/ram1:0:65536 --step 8M --limit 32M",
			 id);
		pid = spawn(args, "/tmp/bsc-watch.log");
		ASSERT_LT(0, pid);
		EXPECT_EQ(0, tool("snapshot take %s --wait-storage --timeout 60",
				  id));
		EXPECT_EQ(0, tool("snapshot destroy %s", id));
		EXPECT_EQ(0, reap(pid, 10000));
		show("/tmp/bsc-watch.log");
		f = fopen("/tmp/bsc-watch.log", "r");
		ASSERT_NE(NULL, f);
		line[0] = 0;
		EXPECT_NE(NULL, fgets(line, sizeof(line), f));
		fclose(f);
		EXPECT_EQ(0, strncmp(line, "ready: appended /dev/ram1:0:16384", 33));
	}
	/* no watch: ENOSPC once the wait is over */
	ASSERT_EQ(0, create(id, "/dev/ram0"));
	EXPECT_EQ(9, tool("snapshot take %s --wait-storage --timeout 1", id));
	EXPECT_EQ(0, tool("snapshot destroy %s", id));
	cleanup();
}

TEST_HARNESS_MAIN
