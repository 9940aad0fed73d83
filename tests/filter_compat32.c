// SPDX-License-Identifier: GPL-2.0
/*
 * BLKFILTER_ATTACH / DETACH from a 32-bit process go through
 * compat_blkdev_ioctl, which the filter layer hooks as well (the two
 * structures have the same layout for 32-bit callers).  Built with -m32.
 */
#include "kselftest_harness.h"
#include "cbt.h"
#include "fixture.h"

/*
 * Every test of this program releases what it used even when an ASSERT
 * stops it: the filter on /dev/ram1, every snapshot.  Named "global" so
 * that the tests keep their names (global.NAME) in the results.
 */
FIXTURE(global) {
	int unused;
};

FIXTURE_SETUP(global)
{
	(void)self;
}

FIXTURE_TEARDOWN_PARENT(global)
{
	static const char *const devs[] = { "/dev/ram1", NULL };

	scratch_release(NULL, devs, NULL, NULL);
	(void)self;
}

TEST_F(global, attach_detach_32bit)
{
	int fd;

	ASSERT_EQ(4, sizeof(void *));
	ASSERT_EQ(0, brd_ensure(4, 64));
	fd = open("/dev/ram1", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOENT, bf_name_ioctl(fd, BLKFILTER_ATTACH, "nosuch"));
	ASSERT_EQ(0, bf_attach(fd));
	EXPECT_EQ(-EALREADY, bf_attach(fd));
	EXPECT_EQ(-EFAULT, ioctl(fd, BLKFILTER_ATTACH, NULL) ? -errno : 0);
	EXPECT_EQ(0, bf_detach(fd));
	EXPECT_EQ(-ENOENT, bf_detach(fd));
	close(fd);
}

TEST_HARNESS_MAIN
