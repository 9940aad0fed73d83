// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/blksnap-control basics: the node, IOCTL_BLKSNAP_VERSION, -ENOTTY for
 * anything that is not exactly a known command, -EPERM without
 * CAP_SYS_ADMIN, and the module parameters (v3 names and defaults, range
 * checked).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "ctl.h"

static const unsigned long control_ioctls[] = {
	IOCTL_BLKSNAP_VERSION,
	IOCTL_BLKSNAP_SNAPSHOT_CREATE,
	IOCTL_BLKSNAP_SNAPSHOT_DESTROY,
	IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE,
	IOCTL_BLKSNAP_SNAPSHOT_TAKE,
	IOCTL_BLKSNAP_SNAPSHOT_COLLECT,
	IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT,
};

TEST(node)
{
	struct stat st;

	ASSERT_EQ(0, stat(CTL_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 0777);
}

TEST(version)
{
	struct blksnap_version v;
	int fd = ctl_open();

	ASSERT_LE(0, fd);
	memset(&v, 0xff, sizeof(v));
	ASSERT_EQ(0, ctl_ioctl(fd, IOCTL_BLKSNAP_VERSION, &v));
	EXPECT_EQ(2, v.major);
	EXPECT_EQ(0, v.minor);
	EXPECT_EQ(0, v.revision);
	EXPECT_EQ(0, v.build);
	close(fd);
}

TEST(version_fault)
{
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	int fd = ctl_open();

	ASSERT_LE(0, fd);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, ctl_ioctl(fd, IOCTL_BLKSNAP_VERSION, NULL));
	EXPECT_EQ(-EFAULT, ctl_ioctl(fd, IOCTL_BLKSNAP_VERSION, ro));
	munmap(ro, 4096);
	close(fd);
}

TEST(unknown_commands)
{
	unsigned char buf[8192];
	const unsigned long bad[] = {
		0,
		_IOW('V', 7, struct blksnap_version),	/* v3 read past its table */
		_IOW('V', 255, struct blksnap_version),
		_IO('V', 0),
		_IOR('V', 0, struct blksnap_version),	/* right nr, direction */
		_IOW('V', 0, uint32_t),			/* right nr, size */
		_IOW('W', 0, struct blksnap_version),	/* right nr, type */
		IOCTL_BLKSNAP_VERSION ^ 0x00010000,
		_IOWR(0x12, 140, char[32]),		/* BLKFILTER_ATTACH */
		0xffffffff,
	};
	unsigned int i;
	int fd = ctl_open();

	ASSERT_LE(0, fd);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(buf, 0, sizeof(buf));
		EXPECT_EQ(-ENOTTY, ctl_ioctl(fd, bad[i], buf))
			TH_LOG("command 0x%lx", bad[i]);
	}
	close(fd);
}

/* Without CAP_SYS_ADMIN every control command is refused before anything. */
TEST(eperm_without_cap_sys_admin)
{
	pid_t pid;
	int status;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned char buf[8192];
		unsigned int i;
		int fd = ctl_open();
		int bad = 0;

		if (fd < 0 || drop_cap_sys_admin())
			_exit(2);
		for (i = 0; i < sizeof(control_ioctls) / sizeof(long); i++) {
			memset(buf, 0, sizeof(buf));
			if (ctl_ioctl(fd, control_ioctls[i], buf) != -EPERM)
				bad++;
		}
		_exit(bad ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

struct param_case {
	const char *name;
	long def;
	const char *too_small;
	const char *too_big;
	const char *ok;
};

static const struct param_case params[] = {
	{ "tracking_block_minimum_shift", 16, "11", "31", "17" },
	{ "tracking_block_maximum_count", 2097152, "15", "67108865", "1024" },
	{ "tracking_block_maximum_shift", 26, "11", "31", "25" },
	{ "chunk_minimum_shift", 18, "11", "31", "19" },
	{ "chunk_maximum_count", 2097152, "15", "67108865", "4096" },
	{ "chunk_maximum_shift", 26, "11", "31", "27" },
	{ "chunk_maximum_in_queue", 16, "0", "4097", "32" },
	{ "free_diff_buffer_pool_size", 128, "-1", "65537", "0" },
	{ "diff_storage_minimum", 2097152, "7", "2147483648", "4096" },
};

TEST(parameters)
{
	unsigned int i;
	char def[32];
	long v;

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		const struct param_case *p = &params[i];

		ASSERT_EQ(0, param_read(p->name, &v)) TH_LOG("%s", p->name);
		EXPECT_EQ(p->def, v) TH_LOG("%s default", p->name);
		EXPECT_EQ(-EINVAL, param_write(p->name, p->too_small))
			TH_LOG("%s=%s", p->name, p->too_small);
		EXPECT_EQ(-EINVAL, param_write(p->name, p->too_big))
			TH_LOG("%s=%s", p->name, p->too_big);
		EXPECT_EQ(-EINVAL, param_write(p->name, "x"));
		ASSERT_EQ(0, param_read(p->name, &v));
		EXPECT_EQ(p->def, v) TH_LOG("%s changed by a refused write",
					   p->name);
		EXPECT_EQ(0, param_write(p->name, p->ok));
		ASSERT_EQ(0, param_read(p->name, &v));
		EXPECT_EQ(strtol(p->ok, NULL, 0), v);
		snprintf(def, sizeof(def), "%ld", p->def);
		EXPECT_EQ(0, param_write(p->name, def));
	}
}

/* A value out of range at load time keeps the module from loading. */
TEST(load_refuses_bad_parameter)
{
	int ret;

	ret = system("rmmod blksnap 2>/dev/null");
	if (ret)
		SKIP(return, "blksnap is busy; cannot reload it here");
	EXPECT_NE(0, system("insmod /ko/blksnap.ko chunk_minimum_shift=40 2>/dev/null"));
	EXPECT_NE(0, access(CTL_DEV, F_OK));
	ASSERT_EQ(0, system("insmod /ko/blksnap.ko"));
	EXPECT_EQ(0, access(CTL_DEV, F_OK));
}

TEST_HARNESS_MAIN
