// SPDX-License-Identifier: GPL-2.0
/*
 * Scale and file systems: memory at TAKE on a 1 PiB null_blk device (not
 * memory-backed) stays small and COW metadata grows only with the chunks
 * copied; the image of a mounted ext4 file system under a writer mounts
 * read-write and holds the files as they were at TAKE; DESTROY with the
 * image mounted.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "snap.h"
#include "dev.h"
#include "util.h"
#include "fixture.h"

/*
 * Every test of this program releases what it used even when an ASSERT
 * stops it: mounts, brd and null_blk devices, every snapshot, the module
 * parameters.  Named "global" so that the tests keep their names
 * (global.NAME) in the results.
 */
FIXTURE(global) {
	struct scratch s;
	int nullb_ours;
};

FIXTURE_SETUP(global)
{
	scratch_save_params(&self->s);
	self->nullb_ours = access("/dev/nullb0", F_OK) != 0;
}

FIXTURE_TEARDOWN_PARENT(global)
{
	static const char *const mounts[] = {
		"/tmp/image", "/tmp/origin", NULL,
	};
	static const char *const devs[] = {
		"/dev/nullb0", "/dev/ram0", "/dev/ram1", "/dev/ram2",
		"/dev/ram3", NULL,
	};

	scratch_release(mounts, devs, NULL, NULL);
	if (self->nullb_ours)
		system("rmmod null_blk 2>/dev/null");
	scratch_restore_params(&self->s);
}

TEST_F(global, petabyte_take_memory)
{
	struct blksnap_cbtinfo info;
	struct blksnap_uuid id;
	long m0, m1, m2;
	int cfd, fd;

	/* loaded by another test without devices: load it with ours */
	if (access("/dev/nullb0", F_OK))
		system("rmmod null_blk 2>/dev/null");
	if (access("/dev/nullb0", F_OK) &&
	    system("insmod /lib/modules/null_blk.ko nr_devices=1 gb=1048576 memory_backed=0"))
		SKIP(return, "null_blk not available");
	ASSERT_EQ(0, wait_for_node("/dev/nullb0"));
	ASSERT_EQ(0, brd_ensure(4, 64));
	cfd = ctl_open();
	fd = open("/dev/nullb0", O_RDWR);
	ASSERT_LE(0, fd);
	m0 = kernel_mem_kib();
	ASSERT_EQ(0, bf_attach(fd));
	ASSERT_EQ(0, cbt_info(fd, &info));
	EXPECT_EQ(1ULL << 50, info.device_capacity);
	m1 = kernel_mem_kib();
	ASSERT_EQ(0, snap_create_take(cfd, &id, &fd, 1, "/dev/ram2", 0,
				131072));
	m2 = kernel_mem_kib();
	TH_LOG("1 PiB: CBT block %u bytes, %u blocks; attach +%ld KiB, TAKE +%ld KiB",
	       info.block_size, info.block_count, m1 - m0, m2 - m1);
	fprintf(stderr, "# FIGURE p5_attach_kib=%ld p5_take_kib=%ld\n",
		m1 - m0, m2 - m1);
	EXPECT_GT(64 * 1024, m2 - m0);
	EXPECT_GT(8 * 1024, m2 - m1);
	EXPECT_EQ(0, snap_destroy(cfd, &id));
	EXPECT_EQ(0, bf_detach(fd));
	close(fd);
	close(cfd);
	system("rmmod null_blk");
}

/*
 * COW metadata exists only for copied chunks: with 4 KiB chunks a 64 MiB
 * device has 16384 of them; TAKE allocates nothing per chunk, and copying
 * all of them costs well under a KiB each.
 */
TEST_F(global, metadata_grows_with_copied_chunks)
{
	struct blksnap_uuid id;
	void *buf = NULL;
	long m0, m1, m2;
	int cfd, fd, i;

	ASSERT_EQ(0, brd_ensure(4, 64));
	ASSERT_EQ(0, posix_memalign(&buf, 4096, 4096));
	memset(buf, 1, 4096);
	ASSERT_EQ(0, param_write("chunk_minimum_shift", "12"));
	cfd = ctl_open();
	fd = open("/dev/ram0", O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));
	m0 = kernel_mem_kib();
	ASSERT_EQ(0, snap_create_take(cfd, &id, &fd, 1, "/dev/ram2", 0,
				      131072));
	m1 = kernel_mem_kib();
	for (i = 0; i < 16384; i++)	/* one write per 4 KiB chunk */
		ASSERT_EQ(4096, pwrite(fd, buf, 4096, (off_t)i * 4096));
	m2 = kernel_mem_kib();
	fprintf(stderr, "# FIGURE take_kib_16384_chunks=%ld cow_metadata_bytes_per_chunk=%ld\n",
		m1 - m0, (m2 - m1) * 1024 / 16384);
	EXPECT_GT(2048, m1 - m0);		/* nothing per chunk at TAKE */
	EXPECT_LT(0, m2 - m1);			/* it grows with copies... */
	EXPECT_GT(16 * 1024, m2 - m1);		/* ...by < 1 KiB a chunk */
	EXPECT_EQ(0, snap_destroy(cfd, &id));
	EXPECT_EQ(0, bf_detach(fd));
	EXPECT_EQ(0, param_write("chunk_minimum_shift", "18"));
	close(fd);
	close(cfd);
	free(buf);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A file system under a writer: its image mounts and shows TAKE's files. */
TEST_F(global, mounted_filesystem)
{
	struct blksnap_uuid id;
	int cfd, fd, i;
	pid_t writer;
	char cmd[256];

	ASSERT_EQ(0, brd_ensure(4, 64));
	ASSERT_EQ(0, run("/usr/sbin/mkfs.ext4 -q -F -b 4096 /dev/ram3 > /dev/null"));
	mkdir("/tmp/origin", 0755);
	mkdir("/tmp/image", 0755);
	ASSERT_EQ(0, mount("/dev/ram3", "/tmp/origin", "ext4", 0, NULL));
	for (i = 0; i < 20; i++) {
		snprintf(cmd, sizeof(cmd),
			 "dd if=/dev/urandom of=/tmp/origin/f%d bs=64k count=4 2>/dev/null",
			 i);
		ASSERT_EQ(0, run(cmd));
	}
	sync();
	writer = fork();
	ASSERT_LE(0, writer);
	if (!writer) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (i = 0; ; i++) {
			snprintf(cmd, sizeof(cmd),
				 "dd if=/dev/urandom of=/tmp/origin/w%d bs=64k count=2 conv=fsync 2>/dev/null; "
				 "dd if=/dev/urandom of=/tmp/origin/f%d bs=4k count=1 conv=notrunc,fsync 2>/dev/null",
				 i % 10, i % 20);
			system(cmd);
		}
	}
	usleep(300000);
	cfd = ctl_open();
	fd = open("/dev/ram3", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));
	ASSERT_EQ(0, snap_create(cfd, &id));
	ASSERT_EQ(0, snap_add(fd, &id));
	ASSERT_EQ(0, snap_append_range(cfd, &id, "/dev/ram2", 0, 131072));
	/* TAKE freezes the file system: copy its files at that moment */
	ASSERT_EQ(0, snap_take(cfd, &id));
	usleep(500000);
	kill(-writer, SIGKILL);
	waitpid(writer, NULL, 0);
	ASSERT_EQ(0, mount("/dev/blksnap-image_1:3", "/tmp/image", "ext4", 0,
			   NULL));
	/* every file of the image is complete and readable; f0..f19 exist */
	for (i = 0; i < 20; i++) {
		struct stat st;

		snprintf(cmd, sizeof(cmd), "/tmp/image/f%d", i);
		EXPECT_EQ(0, stat(cmd, &st));
		EXPECT_EQ(256 * 1024, st.st_size);
	}
	EXPECT_EQ(0, run("cat /tmp/image/f* > /dev/null"));
	EXPECT_EQ(0, umount("/tmp/image"));
	EXPECT_EQ(0, snap_destroy(cfd, &id));
	EXPECT_EQ(0, umount("/tmp/origin"));
	EXPECT_EQ(0, bf_detach(fd));
	close(fd);
	close(cfd);
}

/* DESTROY with the image mounted and read, while the origin is written. */
TEST_F(global, destroy_while_mounted)
{
	struct blksnap_uuid id;
	pid_t reader, writer;
	int cfd, fd;

	ASSERT_EQ(0, brd_ensure(4, 64));
	ASSERT_EQ(0, run("/usr/sbin/mkfs.ext4 -q -F -b 4096 /dev/ram3 > /dev/null"));
	mkdir("/tmp/origin", 0755);
	mkdir("/tmp/image", 0755);
	ASSERT_EQ(0, mount("/dev/ram3", "/tmp/origin", "ext4", 0, NULL));
	ASSERT_EQ(0, run("dd if=/dev/urandom of=/tmp/origin/big bs=1M count=8 2>/dev/null"));
	cfd = ctl_open();
	fd = open("/dev/ram3", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));
	ASSERT_EQ(0, snap_create_take(cfd, &id, &fd, 1, "/dev/ram2", 0,
				131072));
	ASSERT_EQ(0, mount("/dev/blksnap-image_1:3", "/tmp/image", "ext4", 0,
			   NULL));
	reader = fork();
	if (!reader)
		for (setpgid(0, 0), prctl(PR_SET_PDEATHSIG, SIGKILL);;)
			system("cat /tmp/image/big > /dev/null 2>&1; echo x > /tmp/image/t 2>/dev/null");
	writer = fork();
	if (!writer)
		for (setpgid(0, 0), prctl(PR_SET_PDEATHSIG, SIGKILL);;)
			system("dd if=/dev/urandom of=/tmp/origin/big bs=1M count=8 conv=notrunc,fsync 2>/dev/null");
	usleep(500000);
	EXPECT_EQ(0, snap_destroy(cfd, &id));
	usleep(300000);
	kill(-reader, SIGKILL);		/* the shells and their children */
	kill(-writer, SIGKILL);
	waitpid(reader, NULL, 0);
	waitpid(writer, NULL, 0);
	usleep(200000);
	/* the dead image fails I/O (once the page cache cannot answer) and
	 * unmounting does not hang
	 */
	run("echo 3 > /proc/sys/vm/drop_caches");
	EXPECT_NE(0, run("cat /tmp/image/big > /dev/null 2>&1"));
	EXPECT_EQ(0, umount("/tmp/image"));
	EXPECT_EQ(0, umount("/tmp/origin"));
	EXPECT_EQ(0, bf_detach(fd));
	close(fd);
	close(cfd);
}

TEST_HARNESS_MAIN
