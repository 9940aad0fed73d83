/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for tests of the "blksnap" filter: BLKFILTER ioctls on a block
 * device's fd, the CBT ctl commands, and scratch devices (brd, loop).
 */
#ifndef BLKSNAP_TESTS_CBT_H
#define BLKSNAP_TESTS_CBT_H
#include "timeout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/blk-filter.h>
#include <linux/blksnap.h>
#include "blksnap.h"	/* libblksnap, lib/ */

/* BLKSNAP_TEST_CTL_CBT_SWITCH, compiled in with BLKSNAP_TESTING=y */
#include "../../include/blksnap-testing.h"

static inline int bf_name_ioctl(int fd, unsigned long cmd, const char *name)
{
	return blksnap_filter_name(fd, cmd, name);
}

static inline int bf_attach(int fd)
{
	return blksnap_attach(fd);
}

static inline int bf_detach(int fd)
{
	return blksnap_detach(fd);
}

/* BLKFILTER_CTL "blksnap"; returns the ioctl's result or -errno. */
static inline int bf_ctl(int fd, unsigned int cmd, void *opt, unsigned int optlen)
{
	return blksnap_filter_ctl(fd, cmd, opt, optlen);
}

static inline int cbt_info(int fd, struct blksnap_cbtinfo *info)
{
	return blksnap_cbt_info(fd, info);
}

static inline int cbt_read(int fd, unsigned int offset, unsigned int length,
			   unsigned char *buf)
{
	return blksnap_cbt_map(fd, offset, length, buf);
}

static inline int cbt_switch(int fd)
{
	return bf_ctl(fd, BLKSNAP_TEST_CTL_CBT_SWITCH, NULL, 0);
}

static inline int cbt_dirty(int fd, struct blksnap_sectors *r, unsigned int n)
{
	return blksnap_cbt_mark_dirty(fd, r, n);
}

/* Wait up to 5 s for a block device node to appear. */
static inline int wait_for_node(const char *path)
{
	struct stat st;
	int i;

	for (i = 0; i < 500; i++) {
		if (!stat(path, &st) && S_ISBLK(st.st_mode))
			return 0;
		usleep(10000);
	}
	return -ENOENT;
}

/*
 * /dev/ram0 .. ram<nr - 1>: brd with @nr disks of @mib MiB, loaded (or
 * reloaded) unless that many are there.
 */
static inline int brd_ensure(int nr, int mib)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "/dev/ram%d", nr - 1);
	if (!access(cmd, F_OK))
		return 0;
	if (!access("/dev/ram0", F_OK) && system("rmmod brd"))
		return -EBUSY;
	snprintf(cmd, sizeof(cmd),
		 "insmod /lib/modules/brd.ko rd_nr=%d rd_size=%d", nr, mib * 1024);
	if (system(cmd))
		return -ENODEV;
	return wait_for_node("/dev/ram0");
}

/*
 * Loop device over a new file of @mib MiB in /tmp; @flags e.g.
 * LO_FLAGS_PARTSCAN.  Writes the node's path to @path.  Returns the loop fd
 * (O_RDWR), or -errno.
 */
static inline int loop_create(const char *file, int mib, unsigned int flags,
			      char *path, size_t len)
{
	struct loop_config cfg;
	int ctl, nr, bfd, lfd, ret;

	bfd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (bfd < 0)
		return -errno;
	if (ftruncate(bfd, (off_t)mib << 20)) {
		ret = -errno;
		close(bfd);
		return ret;
	}
	ctl = open("/dev/loop-control", O_RDWR);
	if (ctl < 0) {
		ret = -errno;
		close(bfd);
		return ret;
	}
	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (nr < 0) {
		close(bfd);
		return -errno;
	}
	snprintf(path, len, "/dev/loop%d", nr);
	if (wait_for_node(path)) {
		close(bfd);
		return -ENOENT;
	}
	lfd = open(path, O_RDWR);
	if (lfd < 0) {
		ret = -errno;
		close(bfd);
		return ret;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = bfd;
	cfg.info.lo_flags = flags;
	ret = ioctl(lfd, LOOP_CONFIGURE, &cfg) ? -errno : 0;
	close(bfd);
	if (ret) {
		close(lfd);
		return ret;
	}
	return lfd;
}

static inline void loop_destroy(int lfd, const char *file)
{
	ioctl(lfd, LOOP_CLR_FD, 0);
	close(lfd);
	unlink(file);
}

#endif /* BLKSNAP_TESTS_CBT_H */
