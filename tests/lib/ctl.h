/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for tests of /dev/blksnap-control and the module parameters:
 * open the control device, issue an ioctl and get -errno back, drop
 * CAP_SYS_ADMIN (raw capget/capset, no libcap), read and write a parameter
 * under /sys/module/blksnap/parameters.
 */
#ifndef BLKSNAP_TESTS_CTL_H
#define BLKSNAP_TESTS_CTL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/blksnap.h>
#include "blksnap.h"	/* libblksnap, lib/ */
#include "timeout.h"

#define CTL_DEV "/dev/" BLKSNAP_CTL
#define CTL_SYSFS_DEV "/sys/class/misc/" BLKSNAP_CTL "/dev"

/* Open /dev/blksnap-control; returns the fd or -1 with errno set. */
static inline int ctl_open(void)
{
	int fd = blksnap_ctl_open();

	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

/* ioctl on the control device; returns the result or -errno. */
static inline int ctl_ioctl(int fd, unsigned long cmd, void *arg)
{
	return blksnap_ioctl(fd, cmd, arg);
}

static inline int cap_get(struct __user_cap_header_struct *hdr,
			  struct __user_cap_data_struct *data)
{
	hdr->version = _LINUX_CAPABILITY_VERSION_3;
	hdr->pid = 0;
	return syscall(SYS_capget, hdr, data) ? -errno : 0;
}

/*
 * Drop CAP_SYS_ADMIN from the effective and permitted sets of the calling
 * thread (for good: it cannot be raised again).  Call it in a child.
 * Returns 0 or -errno.
 */
static inline int drop_cap_sys_admin(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int ret = cap_get(&hdr, data);

	if (ret)
		return ret;
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &=
		~CAP_TO_MASK(CAP_SYS_ADMIN);
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].permitted &=
		~CAP_TO_MASK(CAP_SYS_ADMIN);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/* 1 if CAP_SYS_ADMIN is in the effective set, 0 if not, or -errno. */
static inline int has_cap_sys_admin(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int ret = cap_get(&hdr, data);

	if (ret)
		return ret;
	return !!(data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &
		  CAP_TO_MASK(CAP_SYS_ADMIN));
}

#define PARAM_DIR "/sys/module/blksnap/parameters/"

/* Read integer parameter @name into *@val; returns 0 or -errno. */
static inline int param_read(const char *name, long *val)
{
	char path[256];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	n = fscanf(f, "%ld", val);
	fclose(f);
	return n == 1 ? 0 : -EIO;
}

/* Write @val to parameter @name; returns 0 or -errno of the write. */
static inline int param_write(const char *name, const char *val)
{
	char path[256];
	ssize_t n;
	int fd, ret = 0;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != strlen(val))
		ret = -EIO;
	close(fd);
	return ret;
}

/* Write the integer @val to parameter @name; returns 0 or -errno. */
static inline int param_write_ll(const char *name, long long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", val);
	return param_write(name, buf);
}

#endif /* BLKSNAP_TESTS_CTL_H */
