/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * blksnap: snapshots and change-block tracking of block devices.
 *
 * The interface of the v3 blksnap patch series, ABI-exact: every name,
 * value, layout and ioctl number below is that of v3, so a client written
 * for it works unchanged.  Two quirks are kept on purpose and must not be
 * "fixed" without breaking that ABI:
 *
 * - The direction bits of several ioctls are reversed: VERSION and CREATE
 *   are declared _IOW although the kernel writes the argument, and DESTROY
 *   and TAKE are declared _IOR although the kernel reads it.  The numeric
 *   values are what matter, and they are v3's.
 * - The structures carry native pointers, so their layouts (and the ioctl
 *   numbers that encode their sizes) differ between 64-bit and 32-bit
 *   user space.  The control device has no 32-bit compat path.
 *
 * Two groups of commands exist.  The first travels through BLKFILTER_CTL
 * (<linux/blk-filter.h>) on the file descriptor of the block device itself,
 * after the "blksnap" filter has been attached to it with BLKFILTER_ATTACH.
 * The second is sent to the control device /dev/blksnap-control.  All of
 * them require CAP_SYS_ADMIN.
 */
#ifndef _UAPI_LINUX_BLKSNAP_H
#define _UAPI_LINUX_BLKSNAP_H

#include <linux/types.h>
#include <linux/ioctl.h>	/* _IOR, _IOW: the header stands on its own */

#define BLKSNAP_CTL "blksnap-control"
#define BLKSNAP_IMAGE_NAME "blksnap-image"
#define BLKSNAP 'V'

/**
 * DOC: Where this implementation is stricter than v3
 *
 * The numbers and layouts are v3's, but some v3 behaviour was a bug or
 * contradicted the v3 documentation; a client that followed the
 * documentation works unchanged.  What a client may notice:
 *
 * - A failed copy from or to user memory gives -EFAULT (v3: -ENODATA or
 *   -EINVAL depending on the command).
 * - A control command is matched on its whole 32-bit value; a wrong type,
 *   size or direction gives -ENOTTY (v3 looked at the number only).
 * - CAP_SYS_ADMIN is needed for the BLKFILTER_* ioctls as well (v3 checked
 *   nothing there).
 * - BLKFILTER_CTL copies the updated &struct blkfilter_ctl back, so optlen
 *   tells how much the command used.
 * - cbtmap returns the number of bytes copied (v3: 0) and refuses an
 *   offset at or past the end of the map with -EINVAL.
 * - snapshotadd refuses a device already in this snapshot (-EALREADY), in
 *   another one (-EBUSY), or a snapshot already taken (-EBUSY); detaching
 *   the filter of a device in a snapshot gives -EBUSY.
 * - TAKE without difference storage gives -ENOSPC (v3: -EFAULT) and leaves
 *   the snapshot as it was.
 * - COLLECT behaves as documented: too small an array is left untouched
 *   and the count is set to the number needed (v3 filled it partly).
 * - WAIT_EVENT counts milliseconds on every kernel (v3 counted jiffies),
 *   and DESTROY wakes its waiters, which get -ESRCH.
 */

/**
 * DOC: Commands sent through the block-device filter
 *
 * These values go into &blkfilter_ctl.cmd of a BLKFILTER_CTL ioctl
 * issued on the block device's own file descriptor, with the filter name
 * "blksnap".  &blkfilter_ctl.opt points to the command's structure
 * and &blkfilter_ctl.optlen holds its size; a smaller optlen is
 * refused with -EINVAL.  An unknown command gives -ENOTTY.
 */

/**
 * enum blkfilter_ctl_blksnap - Commands of the "blksnap" filter.
 * @blkfilter_ctl_blksnap_cbtinfo: Fill a &struct blksnap_cbtinfo about the
 *	device's change tracking.  Returns 0.
 * @blkfilter_ctl_blksnap_cbtmap: Copy part of the change-tracking map as
 *	described by a &struct blksnap_cbtmap.  A large map is read in several
 *	calls, advancing &blksnap_cbtmap.offset.  Returns the number of bytes
 *	copied; a read that runs past the end of the map is shortened; an
 *	offset at or past the end gives -EINVAL.
 * @blkfilter_ctl_blksnap_cbtdirty: Mark the sector ranges of a
 *	&struct blksnap_cbtdirty as changed.  Returns 0; a range past the end
 *	of the device gives -EINVAL and marks nothing.
 * @blkfilter_ctl_blksnap_snapshotadd: Add the device to the snapshot named
 *	by a &struct blksnap_snapshotadd.  Returns 0; -ESRCH for an unknown
 *	snapshot, -EALREADY if the device is already in it, -EBUSY if it is in
 *	another snapshot or the snapshot is already taken.
 * @blkfilter_ctl_blksnap_snapshotinfo: Fill a &struct blksnap_snapshotinfo
 *	about the device's part of its snapshot.  Returns 0.
 */
enum blkfilter_ctl_blksnap {
	blkfilter_ctl_blksnap_cbtinfo,
	blkfilter_ctl_blksnap_cbtmap,
	blkfilter_ctl_blksnap_cbtdirty,
	blkfilter_ctl_blksnap_snapshotadd,
	blkfilter_ctl_blksnap_snapshotinfo,
};

#ifndef UUID_SIZE
#define UUID_SIZE 16
#endif

/**
 * struct blksnap_uuid - A 16-byte identifier.
 * @b: The identifier's bytes.
 *
 * Names a snapshot and a change-tracking generation.
 */
struct blksnap_uuid {
	__u8 b[UUID_SIZE];
};

/**
 * struct blksnap_cbtinfo - Change tracking state of a device.
 * @device_capacity: Size of the device in bytes when the map was built.
 * @block_size: Size in bytes of one change-tracking block (a power of 2).
 * @block_count: Number of blocks, and so of bytes in the map.
 * @generation_id: Identifies the tracking history.  When it differs from
 *	the one saved with the last backup, the history is lost and the next
 *	backup must be a full one.
 * @changes_number: The change number given to the last snapshot taken.  A
 *	map byte greater than the number saved with a backup marks a block
 *	changed since that backup.
 */
struct blksnap_cbtinfo {
	__u64 device_capacity;
	__u32 block_size;
	__u32 block_count;
	struct blksnap_uuid generation_id;
	__u8 changes_number;
};

/**
 * struct blksnap_cbtmap - Where to copy (part of) the change-tracking map.
 * @offset: First byte of the map to copy, which is also the first block's
 *	index.
 * @length: Size of @buffer in bytes.
 * @buffer: User buffer that receives one byte per block: the change number
 *	under which the block was last written, 0 if never in this generation.
 */
struct blksnap_cbtmap {
	__u32 offset;
	__u32 length;
	__u8 *buffer;
};

/**
 * struct blksnap_sectors - A range of 512-byte sectors.
 * @offset: First sector, from the start of the device.
 * @count: Number of sectors.
 */
struct blksnap_sectors {
	__u64 offset;
	__u64 count;
};

/**
 * struct blksnap_cbtdirty - Ranges to mark as changed.
 * @count: Number of elements in @dirty_sectors.
 * @dirty_sectors: User array of sector ranges, relative to the device the
 *	command is sent to.  Ranges of zero length are ignored.
 */
struct blksnap_cbtdirty {
	__u32 count;
	struct blksnap_sectors *dirty_sectors;
};

/**
 * struct blksnap_snapshotadd - Which snapshot to add the device to.
 * @id: The snapshot's identifier, as returned by
 *	IOCTL_BLKSNAP_SNAPSHOT_CREATE.
 */
struct blksnap_snapshotadd {
	struct blksnap_uuid id;
};

#define IMAGE_DISK_NAME_LEN 32

/**
 * struct blksnap_snapshotinfo - The device's part of its snapshot.
 * @error_code: 0 while the snapshot of this device is intact; otherwise the
 *	negative errno that broke it, -ENOSPC when the difference storage
 *	overflowed.  Starts again at 0 in a new snapshot.
 * @image: Name of the snapshot image block device (under /dev) once the
 *	snapshot is taken, an empty string before.
 */
struct blksnap_snapshotinfo {
	__s32 error_code;
	__u8 image[IMAGE_DISK_NAME_LEN];
};

/**
 * DOC: Commands sent to /dev/blksnap-control
 *
 * A snapshot is created, given difference storage, populated with devices
 * (snapshotadd, above), taken, read through its image devices and finally
 * destroyed.  Snapshots do not belong to the file descriptor that created
 * them: they live until destroyed or until the module is unloaded.  The
 * ioctl numbers are matched exactly; anything else gives -ENOTTY.  A failed
 * copy from or to user memory gives -EFAULT.
 */

/**
 * enum blksnap_ioctl - Command numbers of the control device.
 * @blksnap_ioctl_version: IOCTL_BLKSNAP_VERSION.
 * @blksnap_ioctl_snapshot_create: IOCTL_BLKSNAP_SNAPSHOT_CREATE.
 * @blksnap_ioctl_snapshot_destroy: IOCTL_BLKSNAP_SNAPSHOT_DESTROY.
 * @blksnap_ioctl_snapshot_append_storage:
 *	IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE.
 * @blksnap_ioctl_snapshot_take: IOCTL_BLKSNAP_SNAPSHOT_TAKE.
 * @blksnap_ioctl_snapshot_collect: IOCTL_BLKSNAP_SNAPSHOT_COLLECT.
 * @blksnap_ioctl_snapshot_wait_event: IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT.
 */
enum blksnap_ioctl {
	blksnap_ioctl_version,
	blksnap_ioctl_snapshot_create,
	blksnap_ioctl_snapshot_destroy,
	blksnap_ioctl_snapshot_append_storage,
	blksnap_ioctl_snapshot_take,
	blksnap_ioctl_snapshot_collect,
	blksnap_ioctl_snapshot_wait_event,
};

/**
 * struct blksnap_version - Version of the module's interface.
 * @major: Major number.
 * @minor: Minor number.
 * @revision: Revision number.
 * @build: Build number; 0.
 */
struct blksnap_version {
	__u16 major;
	__u16 minor;
	__u16 revision;
	__u16 build;
};

/**
 * define IOCTL_BLKSNAP_VERSION - Report the interface version.
 *
 * Fills a &struct blksnap_version.  Meant for logs: a behaviour change
 * comes with a new command, never under an existing one, so clients should
 * not branch on the version.  Declared _IOW although the kernel writes the
 * argument: the v3 value is kept.
 *
 * Return: 0, or a negative errno.
 */
#define IOCTL_BLKSNAP_VERSION						\
	_IOW(BLKSNAP, blksnap_ioctl_version, struct blksnap_version)

/**
 * define IOCTL_BLKSNAP_SNAPSHOT_CREATE - Create an empty snapshot.
 *
 * Writes the new snapshot's identifier into the &struct blksnap_uuid.  The
 * snapshot starts with no devices and no difference storage; a
 * low-free-space event asking for the first storage is queued at once.  A
 * device can belong to one snapshot at a time.  Declared _IOW although
 * the kernel writes the argument: the v3 value is kept.
 *
 * Return: 0, or a negative errno.
 */
#define IOCTL_BLKSNAP_SNAPSHOT_CREATE					\
	_IOW(BLKSNAP, blksnap_ioctl_snapshot_create,			\
	     struct blksnap_uuid)

/**
 * define IOCTL_BLKSNAP_SNAPSHOT_DESTROY - Release a snapshot.
 *
 * Takes the &struct blksnap_uuid of the snapshot.  Its image devices are
 * removed (one still open fails every I/O from then on) and its difference
 * storage is released.  Change tracking of its devices goes on.  Waiters
 * in IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT are woken and get -ESRCH.  Declared
 * _IOR although the kernel reads the argument: the v3 value is kept.
 *
 * Return: 0, -ENODEV for an unknown snapshot, or another negative errno.
 */
#define IOCTL_BLKSNAP_SNAPSHOT_DESTROY					\
	_IOR(BLKSNAP, blksnap_ioctl_snapshot_destroy,			\
	     struct blksnap_uuid)

/**
 * struct blksnap_snapshot_append_storage - Storage to add to a snapshot.
 * @id: The snapshot.
 * @bdev_path: User string: path of the block device holding the ranges.
 * @bdev_path_size: Size of the @bdev_path buffer, its NUL included.
 * @count: Number of elements in @ranges.
 * @ranges: User array of sector ranges on that device (absolute sectors).
 */
struct blksnap_snapshot_append_storage {
	struct blksnap_uuid id;
	__u8 *bdev_path;
	__u32 bdev_path_size;
	__u32 count;
	struct blksnap_sectors *ranges;
};

/**
 * define IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE - Add difference storage.
 *
 * Takes a &struct blksnap_snapshot_append_storage.  Storage can be added
 * before or after the snapshot is taken; that is how it grows while the
 * snapshot is held.  The whole request is checked before anything is
 * added: a path that is not a block device gives -ENOTBLK; no ranges, an
 * empty range, one that leaves the device or one not aligned to the
 * device's logical block size gives -EINVAL.  The storage must not be used
 * for anything else while the snapshot lives.
 *
 * Return: 0, -ESRCH for an unknown snapshot, or another negative errno.
 */
#define IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE				\
	_IOW(BLKSNAP, blksnap_ioctl_snapshot_append_storage,		\
	     struct blksnap_snapshot_append_storage)

/**
 * define IOCTL_BLKSNAP_SNAPSHOT_TAKE - Take the snapshot.
 *
 * Takes the &struct blksnap_uuid of a snapshot that has devices and
 * difference storage.  The file systems on all its devices are frozen
 * together, change tracking moves to a new change number, copy-on-write
 * starts, and an image device appears for each device.  A failed TAKE
 * leaves the snapshot as it was, so it can be retried.  Declared _IOR
 * although the kernel reads the argument: the v3 value is kept.
 *
 * Return: 0, -ESRCH for an unknown snapshot, -EALREADY if already taken,
 * -ENODEV without devices (or when one of them went away), -ENOSPC without
 * storage (v3 gave -EFAULT), or another negative errno.
 */
#define IOCTL_BLKSNAP_SNAPSHOT_TAKE					\
	_IOR(BLKSNAP, blksnap_ioctl_snapshot_take,			\
	     struct blksnap_uuid)

/**
 * struct blksnap_snapshot_collect - The identifiers of all snapshots.
 * @count: In: the number of elements @ids can hold.  Out: the number of
 *	snapshots.
 * @ids: User array that receives the identifiers, or NULL to ask only for
 *	the count.
 */
struct blksnap_snapshot_collect {
	__u32 count;
	struct blksnap_uuid *ids;
};

/**
 * define IOCTL_BLKSNAP_SNAPSHOT_COLLECT - List the snapshots.
 *
 * Takes a &struct blksnap_snapshot_collect.  On success
 * &blksnap_snapshot_collect.count is set to the number of snapshots and
 * that many identifiers are written to &blksnap_snapshot_collect.ids,
 * oldest first.  When ids is NULL, only count is set (to the number of
 * snapshots) and the call succeeds, as in v3.  When count is too small for
 * all of them, nothing is written to ids, count is set to the number
 * needed and the call fails with -ENODATA.  So call it first with a NULL
 * ids to learn the size, then with an array that large, and again on
 * -ENODATA if a snapshot was created in between.
 *
 * Return: 0, -ENODATA when the array is too small, -EFAULT when it cannot
 * be written, or another negative errno.
 */
#define IOCTL_BLKSNAP_SNAPSHOT_COLLECT					\
	_IOW(BLKSNAP, blksnap_ioctl_snapshot_collect,			\
	     struct blksnap_snapshot_collect)

/**
 * enum blksnap_event_codes - Kinds of snapshot events.
 * @blksnap_event_code_low_free_space: The difference storage is running
 *	out; add at least &blksnap_event_low_free_space.requested_nr_sect
 *	sectors with IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE.
 * @blksnap_event_code_corrupted: One device's part of the snapshot broke
 *	(&struct blksnap_event_corrupted says which and why).  Its image fails
 *	all I/O from now on; the original device is not harmed.  A backup that
 *	had already read the whole image is still good.
 */
enum blksnap_event_codes {
	blksnap_event_code_low_free_space,
	blksnap_event_code_corrupted,
};

/**
 * struct blksnap_snapshot_event - Argument of WAIT_EVENT.
 * @id: In: the snapshot.
 * @timeout_ms: In: how long to wait for an event, in milliseconds.
 * @time_label: Out: when the event happened (CLOCK_MONOTONIC, ns).
 * @code: Out: the event's &enum blksnap_event_codes.
 * @data: Out: the event's payload, zero-filled past its end.
 */
struct blksnap_snapshot_event {
	struct blksnap_uuid id;
	__u32 timeout_ms;
	__u32 code;
	__s64 time_label;
	__u8 data[4096 - 32];
};

/**
 * define IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT - Wait for a snapshot event.
 *
 * Takes a &struct blksnap_snapshot_event with its id and timeout_ms set and
 * fills the rest with the oldest queued event.  Each event is delivered
 * once.  The wait is interruptible.
 *
 * Return: 0, -ENOENT on timeout, -EINTR on a signal, -ESRCH for an unknown
 * snapshot (also when the snapshot is destroyed during the wait), or
 * another negative errno.
 */
#define IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT				\
	_IOW(BLKSNAP, blksnap_ioctl_snapshot_wait_event,		\
	     struct blksnap_snapshot_event)

/**
 * struct blksnap_event_low_free_space - Payload of a low-free-space event.
 * @requested_nr_sect: Number of sectors to add.
 */
struct blksnap_event_low_free_space {
	__u64 requested_nr_sect;
};

/**
 * struct blksnap_event_corrupted - Payload of a corrupted event.
 * @dev_id_mj: Major number of the original device.
 * @dev_id_mn: Minor number of the original device.
 * @err_code: What broke it, as a positive errno (ENOSPC for an overflow of
 *	the difference storage, EIO for an I/O error, ENODEV when the device
 *	went away).
 */
struct blksnap_event_corrupted {
	__u32 dev_id_mj;
	__u32 dev_id_mn;
	__s32 err_code;
};

#endif /* _UAPI_LINUX_BLKSNAP_H */
