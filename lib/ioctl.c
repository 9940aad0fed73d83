// SPDX-License-Identifier: LGPL-2.1-or-later
/* libblksnap: the one entry into the kernel, and its hook for test doubles. */
#include <errno.h>
#include <sys/ioctl.h>
#include "blksnap.h"

static blksnap_ioctl_fn ioctl_hook;

void blksnap_set_ioctl_hook(blksnap_ioctl_fn fn)
{
	ioctl_hook = fn;
}

int blksnap_ioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	if (ioctl_hook)
		return ioctl_hook(fd, req, arg);
	ret = ioctl(fd, req, arg);
	return ret < 0 ? -errno : ret;
}
