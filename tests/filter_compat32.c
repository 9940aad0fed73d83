// SPDX-License-Identifier: GPL-2.0
/*
 * BLKFILTER_ATTACH / DETACH from a 32-bit process go through
 * compat_blkdev_ioctl, which the filter layer hooks as well (the two
 * structures have the same layout for 32-bit callers).  Built with -m32.
 */
#include "kselftest_harness.h"
#include "cbt.h"

TEST(attach_detach_32bit)
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
