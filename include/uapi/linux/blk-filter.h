/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Block-device filter interface.
 *
 * The BLKFILTER_* ioctls of the upstream blkfilter patch series (v3 to v7
 * numbering), issued on a block device's own file descriptor.  Stock
 * kernels do not have them; the blksnap module provides them.  Everything is
 * guarded so that this header can be included next to a kernel's <linux/fs.h>
 * that defines the same interface.
 */
#ifndef _UAPI_LINUX_BLK_FILTER_H
#define _UAPI_LINUX_BLK_FILTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

#ifndef BLKFILTER_NAME_LENGTH
#define BLKFILTER_NAME_LENGTH	32

/**
 * struct blkfilter_name - Names a filter.
 * @name: The filter's name, NUL-padded, e.g. "blksnap".
 */
struct blkfilter_name {
	__u8 name[BLKFILTER_NAME_LENGTH];
};

/**
 * struct blkfilter_ctl - A command for the filter attached to a device.
 * @name: Name of the filter the command is for; must be the attached one.
 * @cmd: The filter's command number.
 * @optlen: In: size of the buffer at @opt.  Out: the size the filter used.
 * @opt: User pointer to the command's argument.
 */
struct blkfilter_ctl {
	__u8 name[BLKFILTER_NAME_LENGTH];
	__u32 cmd;
	__u32 optlen;
	__u64 opt;
};
#endif /* BLKFILTER_NAME_LENGTH */

/*
 * BLKFILTER_ATTACH: attach the named filter to the device.  -ENOENT for an
 * unknown filter, -EALREADY if it is already attached, -EBUSY if another one
 * is.  The device's file system is frozen for the moment of attaching.
 *
 * BLKFILTER_DETACH: detach the named filter.  -ENOENT if none is attached,
 * -EINVAL if another one is.
 *
 * BLKFILTER_CTL: send @cmd to the attached filter.  -ENOENT if the named
 * filter is not the attached one.  The updated structure is copied back.
 *
 * All three need CAP_SYS_ADMIN (-EPERM otherwise).
 */
#ifndef BLKFILTER_ATTACH
#define BLKFILTER_ATTACH	_IOWR(0x12, 140, struct blkfilter_name)
#endif
#ifndef BLKFILTER_DETACH
#define BLKFILTER_DETACH	_IOWR(0x12, 141, struct blkfilter_name)
#endif
#ifndef BLKFILTER_CTL
#define BLKFILTER_CTL		_IOWR(0x12, 142, struct blkfilter_ctl)
#endif

#endif /* _UAPI_LINUX_BLK_FILTER_H */
