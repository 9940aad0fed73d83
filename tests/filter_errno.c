// SPDX-License-Identifier: GPL-2.0
/*
 * BLKFILTER_ATTACH / DETACH / CTL on a block device's fd: the errno table,
 * row by row, and that other block ioctls are left alone.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "cbt.h"
#include "ctl.h"

#define DEV "/dev/ram1"

FIXTURE(bf) {
	int fd;
	void *unmapped;
};

FIXTURE_SETUP(bf)
{
	ASSERT_EQ(0, brd_ensure(4, 64));
	self->fd = open(DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	self->unmapped = mmap(NULL, 4096, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->unmapped);
}

FIXTURE_TEARDOWN(bf)
{
	bf_detach(self->fd);
	bf_name_ioctl(self->fd, BLKFILTER_DETACH, "blksnap-test");
	munmap(self->unmapped, 4096);
	close(self->fd);
}

TEST_F(bf, attach_unknown_filter)
{
	char longname[40];

	EXPECT_EQ(-ENOENT, bf_name_ioctl(self->fd, BLKFILTER_ATTACH, "nosuch"));
	EXPECT_EQ(-ENOENT, bf_name_ioctl(self->fd, BLKFILTER_ATTACH, ""));
	EXPECT_EQ(-ENOENT, bf_name_ioctl(self->fd, BLKFILTER_ATTACH, "blksna"));
	memset(longname, 'b', sizeof(longname));
	longname[39] = 0;
	EXPECT_EQ(-ENOENT, bf_name_ioctl(self->fd, BLKFILTER_ATTACH, longname));
	/* nothing was attached by any of these */
	EXPECT_EQ(-ENOENT, bf_detach(self->fd));
}

TEST_F(bf, attach_twice)
{
	ASSERT_EQ(0, bf_attach(self->fd));
	EXPECT_EQ(-EALREADY, bf_attach(self->fd));
	EXPECT_EQ(-EBUSY, bf_name_ioctl(self->fd, BLKFILTER_ATTACH,
					"blksnap-test"));
	EXPECT_EQ(0, bf_detach(self->fd));
	EXPECT_EQ(-ENOENT, bf_detach(self->fd));
}

TEST_F(bf, detach_errors)
{
	EXPECT_EQ(-ENOENT, bf_detach(self->fd));
	ASSERT_EQ(0, bf_attach(self->fd));
	EXPECT_EQ(-EINVAL, bf_name_ioctl(self->fd, BLKFILTER_DETACH,
					 "blksnap-test"));
	EXPECT_EQ(-EINVAL, bf_name_ioctl(self->fd, BLKFILTER_DETACH, "x"));
	/* still attached after the refused detaches */
	EXPECT_EQ(-EALREADY, bf_attach(self->fd));
	EXPECT_EQ(0, bf_detach(self->fd));
}

TEST_F(bf, ctl_errors)
{
	struct blksnap_cbtinfo info;
	struct blkfilter_ctl ctl;

	EXPECT_EQ(-ENOENT, cbt_info(self->fd, &info));	/* no filter */
	ASSERT_EQ(0, bf_name_ioctl(self->fd, BLKFILTER_ATTACH, "blksnap-test"));
	EXPECT_EQ(-ENOENT, cbt_info(self->fd, &info));	/* another filter */
	memset(&ctl, 0, sizeof(ctl));
	strcpy((char *)ctl.name, "blksnap-test");
	EXPECT_EQ(-1, ioctl(self->fd, BLKFILTER_CTL, &ctl));
	EXPECT_EQ(ENOTTY, errno);			/* no ctl op */
	ASSERT_EQ(0, bf_name_ioctl(self->fd, BLKFILTER_DETACH, "blksnap-test"));
	ASSERT_EQ(0, bf_attach(self->fd));
	EXPECT_EQ(-ENOTTY, bf_ctl(self->fd, 5, &info, sizeof(info)));
	EXPECT_EQ(0, cbt_info(self->fd, &info));
}

TEST_F(bf, ctl_copies_struct_back)
{
	struct blksnap_cbtinfo info[2];
	struct blkfilter_ctl ctl;

	ASSERT_EQ(0, bf_attach(self->fd));
	memset(&ctl, 0, sizeof(ctl));
	strcpy((char *)ctl.name, "blksnap");
	ctl.cmd = blkfilter_ctl_blksnap_cbtinfo;
	ctl.optlen = sizeof(info);
	ctl.opt = (uintptr_t)info;
	ASSERT_EQ(0, ioctl(self->fd, BLKFILTER_CTL, &ctl));
	EXPECT_EQ(sizeof(info[0]), ctl.optlen);
}

TEST_F(bf, efault)
{
	struct blkfilter_ctl ctl;

	EXPECT_EQ(-1, ioctl(self->fd, BLKFILTER_ATTACH, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, BLKFILTER_ATTACH, self->unmapped));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, BLKFILTER_DETACH, self->unmapped));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, BLKFILTER_CTL, self->unmapped));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, bf_attach(self->fd));
	memset(&ctl, 0, sizeof(ctl));
	strcpy((char *)ctl.name, "blksnap");
	ctl.cmd = blkfilter_ctl_blksnap_cbtinfo;
	ctl.optlen = sizeof(struct blksnap_cbtinfo);
	ctl.opt = (uintptr_t)self->unmapped;
	EXPECT_EQ(-1, ioctl(self->fd, BLKFILTER_CTL, &ctl));
	EXPECT_EQ(EFAULT, errno);
	ctl.opt = 0xffff888000000000ULL;		/* a kernel address */
	EXPECT_EQ(-1, ioctl(self->fd, BLKFILTER_CTL, &ctl));
	EXPECT_EQ(EFAULT, errno);
}

/* Every BLKFILTER command needs CAP_SYS_ADMIN and changes nothing without. */
TEST_F(bf, eperm)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, bf_attach(self->fd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct blksnap_cbtinfo info;
		int bad = 0;

		if (drop_cap_sys_admin())
			_exit(2);
		bad += bf_attach(self->fd) != -EPERM;
		bad += bf_detach(self->fd) != -EPERM;
		bad += cbt_info(self->fd, &info) != -EPERM;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(-EALREADY, bf_attach(self->fd));	/* still attached */
}

/* Other block ioctls, and unknown ones, are not redirected. */
TEST_F(bf, other_ioctls_untouched)
{
	uint64_t size = 0;
	char buf[64];

	ASSERT_EQ(0, bf_attach(self->fd));
	EXPECT_EQ(0, ioctl(self->fd, BLKGETSIZE64, &size));
	EXPECT_EQ(64ULL << 20, size);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(0x12, 143, char[32]), buf));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(0x12, 140, char[16]), buf));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_HARNESS_MAIN
