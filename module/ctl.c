// SPDX-License-Identifier: GPL-2.0
/*
 * The control device /dev/blksnap-control and its ioctls.
 *
 * Dispatch is on the full 32-bit command value, so type, number, size and
 * direction must all match the UAPI exactly; anything else is -ENOTTY.  The
 * numeric values are those of the v3 header, including its reversed
 * direction bits (see include/uapi/linux/blksnap.h).  Every command needs
 * CAP_SYS_ADMIN.  There is no compat_ioctl: the v3 structures carry native
 * pointers, so 32-bit callers on a 64-bit kernel get -ENOTTY, as with v3.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/blksnap.h>
#include "ctl.h"
#include "version.h"

static int ctl_version(struct blksnap_version __user *uarg)
{
	static const struct blksnap_version version = {
		.major = BLKSNAP_VERSION_MAJOR,
		.minor = BLKSNAP_VERSION_MINOR,
		.revision = BLKSNAP_VERSION_REVISION,
		.build = BLKSNAP_VERSION_BUILD,
	};

	if (copy_to_user(uarg, &version, sizeof(version)))
		return -EFAULT;
	return 0;
}

static long ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	switch (cmd) {
	case IOCTL_BLKSNAP_VERSION:
		return ctl_version(uarg);
	case IOCTL_BLKSNAP_SNAPSHOT_CREATE:
	case IOCTL_BLKSNAP_SNAPSHOT_DESTROY:
	case IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE:
	case IOCTL_BLKSNAP_SNAPSHOT_TAKE:
	case IOCTL_BLKSNAP_SNAPSHOT_COLLECT:
	case IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT:
		/* Known commands, served once the snapshot engine is built. */
		return -EOPNOTSUPP;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations ctl_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = ctl_ioctl,
};

static struct miscdevice ctl_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = BLKSNAP_CTL,
	.fops = &ctl_fops,
};

/**
 * ctl_init() - Register /dev/blksnap-control.
 *
 * Context: module init; may sleep.
 * Return: 0 or a negative errno from misc_register().
 */
int ctl_init(void)
{
	return misc_register(&ctl_misc);
}

/**
 * ctl_exit() - Remove /dev/blksnap-control.
 *
 * After this returns no new ioctl can start; callers already inside
 * ctl_ioctl() hold a reference on the module through the open file.
 * Context: module exit; may sleep.
 */
void ctl_exit(void)
{
	misc_deregister(&ctl_misc);
}
