// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: the device layer, i.e. everything that touches a block
 * device, /dev/blksnap-control or sysfs.  The host tests link fake_dev.c
 * instead (make fake), which stands regular files in for devices.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>
#include "blksnapctl.h"

/* Open a block device for the BLKFILTER ioctls. */
int open_bdev(const char *path, int *fd)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (!is_bdev(&st))
		return -ENOTBLK;
	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd < 0 && (errno == EROFS || errno == EACCES))
		*fd = open(path, O_RDONLY | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

int bdev_size(int fd, uint64_t *bytes)
{
	return ioctl(fd, BLKGETSIZE64, bytes) ? -errno : 0;
}

int bf_name_ioctl(int fd, unsigned long cmd)
{
	struct blkfilter_name n;

	memset(&n, 0, sizeof(n));
	memcpy(n.name, "blksnap", sizeof("blksnap"));
	return ioctl(fd, cmd, &n) ? -errno : 0;
}

int bf_ctl(int fd, unsigned int cmd, void *opt, unsigned int optlen)
{
	struct blkfilter_ctl ctl;
	int ret;

	memset(&ctl, 0, sizeof(ctl));
	memcpy(ctl.name, "blksnap", sizeof("blksnap"));
	ctl.cmd = cmd;
	ctl.optlen = optlen;
	ctl.opt = (uintptr_t)opt;
	ret = ioctl(fd, BLKFILTER_CTL, &ctl);
	return ret < 0 ? -errno : ret;
}

int ctl_open(int *fd)
{
	*fd = open(CTL_PATH, O_RDWR | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	if (errno == ENOENT || errno == ENODEV || errno == ENXIO) {
		msg("%s is missing: the blksnap module is not loaded (run: modprobe blksnap)",
		    CTL_PATH);
		return -ENXIO;
	}
	if (errno == EACCES || errno == EPERM)
		msg("%s: permission denied (run as root)", CTL_PATH);
	else
		msg("%s: %s", CTL_PATH, strerror(errno));
	return -errno;
}

int ctl_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

int is_bdev(const struct stat *st)
{
	return S_ISBLK(st->st_mode);
}

const char *sysfs_root(void)
{
	return "/sys";
}

/* The node of the image named @name by snapshotinfo. */
int image_path(const char *name, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "/dev/%s", name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

ssize_t img_pread(int fd, void *buf, size_t n, uint64_t off)
{
	return pread(fd, buf, n, off);
}

ssize_t out_pwrite(int fd, const void *buf, size_t n, uint64_t off)
{
	return pwrite(fd, buf, n, off);
}

int file_fallocate(int fd, uint64_t size)
{
	return fallocate(fd, 0, 0, size) ? -errno : 0;
}

int fs_type(int fd, unsigned long *type)
{
	struct statfs sf;

	if (fstatfs(fd, &sf))
		return -errno;
	*type = sf.f_type;
	return 0;
}

int storage_bdev_of(dev_t dev, char *buf, size_t len)
{
	return devnode_of(major(dev), minor(dev), buf, len);
}
