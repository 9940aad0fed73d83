/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Block-device filter interface.
 *
 * The BLKFILTER_* ioctls of the upstream blkfilter patch series, with the
 * numbers they had from v3 to v7, issued on a block device's own file
 * descriptor.  Stock kernels do not have them; the blksnap module provides
 * them.  Everything is guarded, so that this header can be included next to
 * a kernel's <linux/fs.h> or <linux/blk-filter.h> that defines the same
 * interface.  Beware of a kernel whose headers carry other numbers (the
 * last upstream proposal moved them to 142..144): whichever header comes
 * first wins, and only the values below reach blksnap.
 */
#ifndef _UAPI_LINUX_BLK_FILTER_H
#define _UAPI_LINUX_BLK_FILTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

#ifndef BLKFILTER_NAME_LENGTH
/**
 * define BLKFILTER_NAME_LENGTH - Size of a filter name, its NUL included.
 */
#define BLKFILTER_NAME_LENGTH	32

/**
 * struct blkfilter_name - Names a filter.
 * @name: The filter's name, NUL-padded, e.g. "blksnap".
 *
 * Argument of BLKFILTER_ATTACH and BLKFILTER_DETACH.
 */
struct blkfilter_name {
	__u8 name[BLKFILTER_NAME_LENGTH];
};

/**
 * struct blkfilter_ctl - A command for the filter attached to a device.
 * @name: Name of the filter the command is for; must be the attached one.
 * @cmd: The filter's command number (for "blksnap": enum
 *	blkfilter_ctl_blksnap in <linux/blksnap.h>).
 * @optlen: In: size of the buffer at @opt.  Out: the size the filter used.
 * @opt: User pointer to the command's argument, as a 64-bit integer, so
 *	the layout is the same for 32-bit and 64-bit callers.
 *
 * Argument of BLKFILTER_CTL.
 */
struct blkfilter_ctl {
	__u8 name[BLKFILTER_NAME_LENGTH];
	__u32 cmd;
	__u32 optlen;
	__u64 opt;
};
#endif /* BLKFILTER_NAME_LENGTH */

#ifndef BLKFILTER_ATTACH
/**
 * define BLKFILTER_ATTACH - Attach a filter to the block device.
 *
 * Takes a &struct blkfilter_name.  For "blksnap" this starts change
 * tracking of the device.  The device's file system, if any, is frozen for
 * the moment of attaching.
 *
 * Return: 0; -ENOENT for an unknown filter, -EALREADY if this filter is
 * already attached, -EBUSY if another one is, -ENODEV if the disk is going
 * away, -EPERM without CAP_SYS_ADMIN, -EFAULT, or another negative errno.
 */
#define BLKFILTER_ATTACH	_IOWR(0x12, 140, struct blkfilter_name)
#endif

#ifndef BLKFILTER_DETACH
/**
 * define BLKFILTER_DETACH - Detach the filter from the block device.
 *
 * Takes a &struct blkfilter_name, which must name the attached filter.
 * For "blksnap" this ends change tracking and frees its history.
 *
 * Return: 0; -ENOENT if no filter is attached, -EINVAL if another one is,
 * -EBUSY if the filter refuses (blksnap: the device is in a snapshot),
 * -EPERM without CAP_SYS_ADMIN, -EFAULT, or another negative errno.
 */
#define BLKFILTER_DETACH	_IOWR(0x12, 141, struct blkfilter_name)
#endif

#ifndef BLKFILTER_CTL
/**
 * define BLKFILTER_CTL - Send a command to the attached filter.
 *
 * Takes a &struct blkfilter_ctl.  The filter's answer is the return value,
 * and the structure is copied back with the updated optlen.
 *
 * Return: what the filter's command returns (zero or more on success);
 * -ENOENT if the named filter is not the attached one, -ENOTTY for a
 * command the filter does not know, -EPERM without CAP_SYS_ADMIN, -EFAULT,
 * or another negative errno.
 */
#define BLKFILTER_CTL		_IOWR(0x12, 142, struct blkfilter_ctl)
#endif

#endif /* _UAPI_LINUX_BLK_FILTER_H */
