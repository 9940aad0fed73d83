/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers for tests of /dev/blksnap-control and the module parameters. */
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

#define CTL_DEV "/dev/" BLKSNAP_CTL

static inline int ctl_open(void)
{
	return open(CTL_DEV, O_RDWR);
}

/* ioctl on the control device; returns the result or -errno. */
static inline int ctl_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

/* Drop CAP_SYS_ADMIN from the effective and permitted sets of the caller. */
static inline int drop_cap_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &=
		~CAP_TO_MASK(CAP_SYS_ADMIN);
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].permitted &=
		~CAP_TO_MASK(CAP_SYS_ADMIN);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

#define PARAM_DIR "/sys/module/blksnap/parameters/"

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
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

#endif /* BLKSNAP_TESTS_CTL_H */
