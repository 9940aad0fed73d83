// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: the device layer, i.e. everything that touches a block
 * device, /dev/blksnap-control or sysfs other than the blksnap ioctls
 * (libblksnap's).  The host tests link fake_dev.c instead (make fake),
 * which stands regular files in for devices and answers those ioctls
 * through libblksnap's ioctl hook.
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

int ctl_open(int *fd)
{
	int ret = blksnap_ctl_open();

	*fd = ret;
	if (ret >= 0)
		return 0;
	if (ret == -ENOENT || ret == -ENODEV || ret == -ENXIO) {
		module_missing();
		return -ENXIO;
	}
	if (ret == -EACCES || ret == -EPERM)
		fail(ret, "%s: permission denied (run as root)", CTL_PATH);
	else
		fail(ret, "%s: %s", CTL_PATH, strerror(-ret));
	return ret;
}

/* The module is loaded: its control node or its sysfs directory. */
int module_loaded(void)
{
	return !access(CTL_PATH, F_OK) || !access("/sys/module/blksnap", F_OK);
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
	return blksnap_file_allocate(fd, size);
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
