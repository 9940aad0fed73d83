// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/blksnap-control basics: the node, IOCTL_BLKSNAP_VERSION, -ENOTTY for
 * anything that is not exactly a known command, -EPERM without
 * CAP_SYS_ADMIN, and the module parameters: v3 names and defaults, and the
 * ranges that module/params.c documents (refused with -EINVAL through sysfs,
 * the old value staying; refused at load time, the module not loading).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "ctl.h"
#include "fixture.h"

#define MODULE_KO "/ko/blksnap.ko"
#define MISC_MAJOR 10

static const unsigned int control_ioctls[] = {
	IOCTL_BLKSNAP_VERSION,
	IOCTL_BLKSNAP_SNAPSHOT_CREATE,
	IOCTL_BLKSNAP_SNAPSHOT_DESTROY,
	IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE,
	IOCTL_BLKSNAP_SNAPSHOT_TAKE,
	IOCTL_BLKSNAP_SNAPSHOT_COLLECT,
	IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT,
};

static bool is_control_ioctl(unsigned int cmd)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(control_ioctls); i++)
		if (control_ioctls[i] == cmd)
			return true;
	return false;
}

/* Number of snapshots, or -errno. */
static int snapshot_count(int fd)
{
	struct blksnap_snapshot_collect c = { .count = 0, .ids = NULL };
	int ret = ctl_ioctl(fd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c);

	return ret ? ret : (int)c.count;	/* the probe answers 0 */
}

/*
 * Every test of this program releases what it used even when an ASSERT
 * stops it: the module (reloaded if a test left it out), every snapshot,
 * the module parameters.  Named "global" so that the tests keep their names
 * (global.NAME) in the results.
 */
FIXTURE(global) {
	struct scratch s;
};

FIXTURE_SETUP(global)
{
	scratch_save_params(&self->s);
}

FIXTURE_TEARDOWN_PARENT(global)
{
	if (access(CTL_DEV, F_OK) &&
	    system("insmod " MODULE_KO " 2>/dev/null"))
		fprintf(stderr, "# teardown: cannot reload " MODULE_KO "\n");
	scratch_release(NULL, NULL, NULL, NULL);
	scratch_restore_params(&self->s);
}

TEST_F(global, node)
{
	unsigned int maj, min;
	struct stat st;
	FILE *f;

	ASSERT_EQ(0, stat(CTL_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(MISC_MAJOR, major(st.st_rdev));
	/* The node is the registered misc device, not a stale one. */
	f = fopen(CTL_SYSFS_DEV, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(2, fscanf(f, "%u:%u", &maj, &min));
	fclose(f);
	EXPECT_EQ(maj, major(st.st_rdev));
	EXPECT_EQ(min, minor(st.st_rdev));
}

TEST_F(global, version)
{
	struct blksnap_version v;
	int fd = ctl_open();

	ASSERT_LE(0, fd);
	memset(&v, 0xff, sizeof(v));
	EXPECT_EQ(0, ctl_ioctl(fd, IOCTL_BLKSNAP_VERSION, &v));
	EXPECT_EQ(2, v.major);
	EXPECT_EQ(0, v.minor);
	EXPECT_EQ(0, v.revision);
	EXPECT_EQ(0, v.build);
	close(fd);
}

/* NULL, a read-only page, and a buffer whose tail is not mapped. */
TEST_F(global, version_fault)
{
	long page = sysconf(_SC_PAGESIZE);
	char *ro, *two;
	int fd = ctl_open();

	ASSERT_LE(0, fd);
	ro = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, two);
	ASSERT_EQ(0, munmap(two + page, page));

	EXPECT_EQ(-EFAULT, ctl_ioctl(fd, IOCTL_BLKSNAP_VERSION, NULL));
	EXPECT_EQ(-EFAULT, ctl_ioctl(fd, IOCTL_BLKSNAP_VERSION, ro));
	EXPECT_EQ(-EFAULT, ctl_ioctl(fd, IOCTL_BLKSNAP_VERSION,
				     two + page - 4));
	/* The same buffer, fully mapped, works: the fault was the cause. */
	EXPECT_EQ(0, ctl_ioctl(fd, IOCTL_BLKSNAP_VERSION,
			       two + page - sizeof(struct blksnap_version)));
	munmap(ro, page);
	munmap(two, page);
	close(fd);
}

/* Issue @cmd; count it as bad unless it gives -ENOTTY. */
static int expect_enotty(struct __test_metadata *_metadata, int fd,
			 unsigned int cmd)
{
	static unsigned char buf[8192];
	int ret;

	if (is_control_ioctl(cmd))
		return 0;
	memset(buf, 0, sizeof(buf));
	ret = ctl_ioctl(fd, cmd, buf);
	if (ret == -ENOTTY)
		return 0;
	TH_LOG("command 0x%08x: %d, expected -ENOTTY", cmd, ret);
	return 1;
}

/*
 * v3 dispatched on the number field alone (and read past its table for
 * number 7).  Here only the exact 32-bit values are commands.
 */
TEST_F(global, unknown_commands)
{
	static const unsigned int dirs[] = {
		_IOC_NONE, _IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE,
	};
	static const unsigned int fixed[] = {
		0,
		0xffffffff,
		_IO('V', 0),
		_IOW('V', 7, struct blksnap_version),
		_IOW('V', 255, struct blksnap_version),
		_IOWR(0x12, 140, struct blksnap_uuid[2]),	/* BLKFILTER_ATTACH */
	};
	int before, bad = 0, fd = ctl_open();
	unsigned int i, d, nr;

	ASSERT_LE(0, fd);
	before = snapshot_count(fd);
	ASSERT_LE(0, before);

	for (i = 0; i < ARRAY_SIZE(fixed); i++)
		bad += expect_enotty(_metadata, fd, fixed[i]);

	/* Numbers past the table, with every direction and a few sizes. */
	for (nr = 7; nr < 256; nr++)
		for (d = 0; d < ARRAY_SIZE(dirs); d++) {
			bad += expect_enotty(_metadata, fd,
					     _IOC(dirs[d], 'V', nr, 8));
			bad += expect_enotty(_metadata, fd,
					     _IOC(dirs[d], 'V', nr, 16));
		}

	/* Each known number with a wrong direction, size or type. */
	for (i = 0; i < ARRAY_SIZE(control_ioctls); i++) {
		unsigned int cmd = control_ioctls[i];
		unsigned int n = _IOC_NR(cmd), size = _IOC_SIZE(cmd);

		for (d = 0; d < ARRAY_SIZE(dirs); d++)
			bad += expect_enotty(_metadata, fd,
					     _IOC(dirs[d], 'V', n, size));
		bad += expect_enotty(_metadata, fd,
				     _IOC(_IOC_DIR(cmd), 'V', n, 0));
		bad += expect_enotty(_metadata, fd,
				     _IOC(_IOC_DIR(cmd), 'V', n, size - 1));
		bad += expect_enotty(_metadata, fd,
				     _IOC(_IOC_DIR(cmd), 'V', n, size + 1));
		bad += expect_enotty(_metadata, fd,
				     _IOC(_IOC_DIR(cmd), 'W', n, size));
		bad += expect_enotty(_metadata, fd,
				     _IOC(_IOC_DIR(cmd), 0x12, n, size));
		bad += expect_enotty(_metadata, fd,
				     _IOC(_IOC_DIR(cmd), 0, n, size));
	}
	EXPECT_EQ(0, bad);
	/* Nothing was executed by mistake. */
	EXPECT_EQ(before, snapshot_count(fd));
	close(fd);
}

/*
 * Without CAP_SYS_ADMIN every control command is refused, even with valid
 * arguments (a missing check would let VERSION succeed and CREATE make a
 * snapshot).  The child opens the device as root, then drops the
 * capability; its exit status carries one bit per command not refused.
 * Each command gets its own shared buffer, so that a snapshot created by
 * mistake can be destroyed afterwards.
 */
TEST_F(global, eperm_without_cap_sys_admin)
{
	const size_t slot = sizeof(struct blksnap_snapshot_event);
	int status, before, fd = ctl_open();
	unsigned char *bufs;
	unsigned int i;
	pid_t pid;

	ASSERT_LE(0, fd);
	ASSERT_EQ(1, has_cap_sys_admin());
	before = snapshot_count(fd);
	ASSERT_LE(0, before);
	bufs = mmap(NULL, slot * ARRAY_SIZE(control_ioctls),
		    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bufs);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int bad = 0;

		/* All zero: no ids, no timeout, an unknown snapshot. */
		if (drop_cap_sys_admin() || has_cap_sys_admin() != 0)
			_exit(255);
		for (i = 0; i < ARRAY_SIZE(control_ioctls); i++)
			if (ctl_ioctl(fd, control_ioctls[i],
				      bufs + i * slot) != -EPERM)
				bad |= 1 << i;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_NE(255, WEXITSTATUS(status))
		TH_LOG("could not drop CAP_SYS_ADMIN");
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("not refused (bit n = enum blksnap_ioctl value n): 0x%x",
		       WEXITSTATUS(status));
	if (WEXITSTATUS(status) & (1 << blksnap_ioctl_snapshot_create))
		ctl_ioctl(fd, IOCTL_BLKSNAP_SNAPSHOT_DESTROY,
			  bufs + blksnap_ioctl_snapshot_create * slot);
	EXPECT_EQ(before, snapshot_count(fd));
	munmap(bufs, slot * ARRAY_SIZE(control_ioctls));
	close(fd);
}

/* The parameters with v3 names and defaults, and the ranges of params.c. */
struct param_case {
	const char *name;
	long long def;
	long long min;
	long long max;
};

static const struct param_case params[] = {
	{ "tracking_block_minimum_shift", 16, 12, 30 },
	{ "tracking_block_maximum_count", 2097152, 16, 67108864 },
	{ "tracking_block_maximum_shift", 26, 12, 30 },
	{ "chunk_minimum_shift", 18, 12, 30 },
	{ "chunk_maximum_count", 0, 0, 67108864 },
	{ "chunk_maximum_shift", 26, 12, 30 },
	{ "chunk_maximum_in_queue", 16, 1, 4096 },
	{ "free_diff_buffer_pool_size", 128, 0, 65536 },
	{ "diff_storage_minimum", 2097152, 8, 2147483647 },
};

static long param_value(const char *name)
{
	long v;

	return param_read(name, &v) ? -1000000 : v;
}

TEST_F(global, parameters)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(params); i++) {
		const struct param_case *p = &params[i];
		char path[256];
		struct stat st;

		snprintf(path, sizeof(path), PARAM_DIR "%s", p->name);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s missing", p->name);
		EXPECT_EQ(0644, st.st_mode & 0777) TH_LOG("%s mode", p->name);
		EXPECT_EQ(p->def, param_value(p->name))
			TH_LOG("%s default", p->name);

		/* Refused, and the value stays. */
		EXPECT_EQ(-EINVAL, param_write_ll(p->name, p->min - 1))
			TH_LOG("%s=%lld", p->name, p->min - 1);
		EXPECT_EQ(-EINVAL, param_write_ll(p->name, p->max + 1))
			TH_LOG("%s=%lld", p->name, p->max + 1);
		EXPECT_EQ(-EINVAL, param_write(p->name, "x"));
		EXPECT_EQ(-EINVAL, param_write(p->name, "99999999999999999999"));
		EXPECT_EQ(p->def, param_value(p->name))
			TH_LOG("%s changed by a refused write", p->name);

		/* Both ends of the range are accepted. */
		EXPECT_EQ(0, param_write_ll(p->name, p->min));
		EXPECT_EQ(p->min, param_value(p->name));
		EXPECT_EQ(0, param_write_ll(p->name, p->max));
		EXPECT_EQ(p->max, param_value(p->name));

		/* Back to the default whatever happened above. */
		EXPECT_EQ(0, param_write_ll(p->name, p->def));
		EXPECT_EQ(p->def, param_value(p->name));
	}
}

/* A value out of range at load time keeps the module from loading. */
TEST_F(global, load_refuses_bad_parameter)
{
	static const char * const bad[] = {
		"chunk_minimum_shift=40",
		"tracking_block_minimum_shift=11",
		"chunk_maximum_in_queue=0",
		"diff_storage_minimum=2147483648",
	};
	struct blksnap_version v;
	char cmd[256];
	unsigned int i;
	int fd;

	if (access(MODULE_KO, R_OK))
		SKIP(return, "%s not found (not in the test guest)", MODULE_KO);
	if (system("rmmod blksnap 2>/dev/null"))
		SKIP(return, "blksnap is busy; cannot reload it here");

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(cmd, sizeof(cmd), "insmod %s %s 2>/dev/null",
			 MODULE_KO, bad[i]);
		if (system(cmd) == 0) {
			TH_LOG("loaded with %s", bad[i]);
			EXPECT_EQ(0, system("rmmod blksnap"));
			EXPECT_TRUE(false);
		}
		EXPECT_NE(0, access(CTL_DEV, F_OK));
	}

	/* In range at load time: accepted and visible. */
	snprintf(cmd, sizeof(cmd), "insmod %s chunk_maximum_in_queue=4096",
		 MODULE_KO);
	ASSERT_EQ(0, system(cmd));
	EXPECT_EQ(4096, param_value("chunk_maximum_in_queue"));
	ASSERT_EQ(0, system("rmmod blksnap"));

	/* Leave it loaded with the defaults, as the suite expects. */
	snprintf(cmd, sizeof(cmd), "insmod %s", MODULE_KO);
	ASSERT_EQ(0, system(cmd));
	fd = ctl_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ctl_ioctl(fd, IOCTL_BLKSNAP_VERSION, &v));
	close(fd);
}

TEST_HARNESS_MAIN
