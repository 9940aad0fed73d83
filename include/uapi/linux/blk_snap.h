/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * blksnap: the v2 interface (/dev/blksnap), as of the v2 blksnap patch
 * series (December 2022).
 *
 * ABI-exact to that header: every name, value, layout and ioctl number
 * below is v2's, so a backup agent written for it works unchanged.  The
 * module serves this interface beside the v3 one (<linux/blksnap.h>,
 * /dev/blksnap-control and BLKFILTER_*) over the same trackers, change
 * maps, snapshots and images; both headers may be included in one
 * translation unit.  Documentation/uapi-v2.rst describes how each command
 * maps onto the module and what it does where v2 left a gap.
 *
 * Differences from the original text, none of them in the ABI:
 *
 * - <linux/ioctl.h> is included, so the header stands on its own.
 * - The file-scope static_assert on the size of struct
 *   blk_snap_snapshot_event (4096 bytes) is gone: it does not compile as
 *   C without <assert.h>.  The module checks the size with BUILD_BUG_ON and
 *   tests/uapi_layout.c checks every size, offset and ioctl number.
 *
 * Two quirks are kept on purpose and must not be "fixed" without breaking
 * the ABI: the direction bits of all ioctls but TRACKER_REMOVE and
 * SNAPSHOT_APPEND_STORAGE do not match the data flow (five are reversed,
 * five lack the read bit of an output field; the numeric values are what
 * matter), and the structures carry native pointers, so layouts and ioctl
 * numbers differ between 64-bit and 32-bit user space (there is no 32-bit
 * compat path: a 32-bit caller on a 64-bit kernel gets -ENOTTY).
 */
#ifndef _UAPI_LINUX_BLK_SNAP_H
#define _UAPI_LINUX_BLK_SNAP_H

#include <linux/types.h>
#include <linux/ioctl.h>	/* _IOR, _IOW: the header stands on its own */

#define BLK_SNAP_CTL "/dev/blksnap"
#define BLK_SNAP_IMAGE_NAME "blksnap-image"
#define BLK_SNAP 'V'

enum blk_snap_ioctl {
	/*
	 * Service controls
	 */
	blk_snap_ioctl_version,
	/*
	 * Change tracking controls
	 */
	blk_snap_ioctl_tracker_remove,
	blk_snap_ioctl_tracker_collect,
	blk_snap_ioctl_tracker_read_cbt_map,
	blk_snap_ioctl_tracker_mark_dirty_blocks,
	/*
	 * Snapshot controls
	 */
	blk_snap_ioctl_snapshot_create,
	blk_snap_ioctl_snapshot_destroy,
	blk_snap_ioctl_snapshot_append_storage,
	blk_snap_ioctl_snapshot_take,
	blk_snap_ioctl_snapshot_collect,
	blk_snap_ioctl_snapshot_collect_images,
	blk_snap_ioctl_snapshot_wait_event,
};

/**
 * DOC: Service controls
 */

/**
 * struct blk_snap_version - Module version.
 * @major:
 * Version major part.
 * @minor:
 * Version minor part.
 * @revision:
 * Revision number.
 * @build:
 * Build number. Should be zero.
 */
struct blk_snap_version {
	__u16 major;
	__u16 minor;
	__u16 revision;
	__u16 build;
};

/**
 * define IOCTL_BLK_SNAP_VERSION - Get module version.
 *
 * The version may increase when the API changes. But linking the user space
 * behavior to the version code does not seem to be a good idea.
 * To ensure backward compatibility, API changes should be made by adding new
 * ioctl without changing the behavior of existing ones. The version should be
 * used for logs.
 *
 * Return: 0 if succeeded, negative errno otherwise.
 */
#define IOCTL_BLK_SNAP_VERSION \
	_IOW(BLK_SNAP, blk_snap_ioctl_version, struct blk_snap_version)

/**
 * DOC: Interface for the change tracking mechanism
 */

/**
 * struct blk_snap_dev - Block device ID.
 * @mj:
 * Device ID major part.
 * @mn:
 * Device ID minor part.
 *
 * In user space and in kernel space, block devices are encoded differently.
 * We need to enter our own type to guarantee the correct transmission of the
 * major and minor parts.
 */
struct blk_snap_dev {
	__u32 mj;
	__u32 mn;
};

/**
 * struct blk_snap_tracker_remove - Input argument for the
 * &IOCTL_BLK_SNAP_TRACKER_REMOVE control.
 * @dev_id:
 * Device ID.
 */
struct blk_snap_tracker_remove {
	struct blk_snap_dev dev_id;
};

/**
 * define IOCTL_BLK_SNAP_TRACKER_REMOVE - Remove a device from tracking.
 *
 * Removes the device from tracking changes. Adding a device for tracking is
 * performed when creating a snapshot that includes this block device.
 *
 * Return: 0 if succeeded, negative errno otherwise.
 */
#define IOCTL_BLK_SNAP_TRACKER_REMOVE \
	_IOW(BLK_SNAP, blk_snap_ioctl_tracker_remove, \
	struct blk_snap_tracker_remove)

/**
 * struct blk_snap_uuid - Unique 16-byte identifier.
 * @b:
 * An array of 16 bytes.
 */
struct blk_snap_uuid {
	__u8 b[16];
};

/**
 * struct blk_snap_cbt_info - Information about change tracking for a block
 * device.
 * @dev_id:
 * Device ID.
 * @blk_size:
 * Block size in bytes.
 * @device_capacity:
 * Device capacity in bytes.
 * @blk_count:
 * Number of blocks.
 * @generation_id:
 * Unique identifier of change tracking generation.
 * @snap_number:
 * Current changes number.
 */
struct blk_snap_cbt_info {
	struct blk_snap_dev dev_id;
	__u32 blk_size;
	__u64 device_capacity;
	__u32 blk_count;
	struct blk_snap_uuid generation_id;
	__u8 snap_number;
};

/**
 * struct blk_snap_tracker_collect - Argument for the
 * &IOCTL_BLK_SNAP_TRACKER_COLLECT control.
 * @count:
 * Size of &blk_snap_tracker_collect.cbt_info_array.
 * @cbt_info_array:
 * Pointer to the array for output.
 */
struct blk_snap_tracker_collect {
	__u32 count;
	struct blk_snap_cbt_info *cbt_info_array;
};

/**
 * define IOCTL_BLK_SNAP_TRACKER_COLLECT - Collect all tracked devices.
 *
 * Getting information about all devices under tracking.
 *
 * If in &blk_snap_tracker_collect.count is less than required to
 * store the &blk_snap_tracker_collect.cbt_info_array, the array is not filled,
 * and the ioctl returns the required count for
 * &blk_snap_tracker_collect.cbt_info_array.
 *
 * So, it is recommended to call the ioctl twice. The first call with an null
 * pointer &blk_snap_tracker_collect.cbt_info_array and a zero value in
 * &blk_snap_tracker_collect.count. It will set the required array size in
 * &blk_snap_tracker_collect.count. The second call with a pointer
 * &blk_snap_tracker_collect.cbt_info_array to an array of the required size
 * will allow to get information about the tracked block devices.
 *
 * Return: 0 if succeeded, negative errno otherwise.
 */
#define IOCTL_BLK_SNAP_TRACKER_COLLECT \
	_IOW(BLK_SNAP, blk_snap_ioctl_tracker_collect, \
	struct blk_snap_tracker_collect)

/**
 * struct blk_snap_tracker_read_cbt_bitmap - Argument for the
 * &IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP control.
 * @dev_id:
 * Device ID.
 * @offset:
 * Offset from the beginning of the CBT bitmap in bytes.
 * @length:
 * Size of @buff in bytes.
 * @buff:
 * Pointer to the buffer for output.
 */
struct blk_snap_tracker_read_cbt_bitmap {
	struct blk_snap_dev dev_id;
	__u32 offset;
	__u32 length;
	__u8 *buff;
};

/**
 * define IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP - Read the CBT map.
 *
 * Allows to read the table of changes.
 *
 * The size of the table can be quite large. Thus, the table is read in a loop,
 * in each cycle of which the next offset is set to
 * &blk_snap_tracker_read_cbt_bitmap.offset.
 *
 * Return: a count of bytes read if succeeded, negative errno otherwise.
 */
#define IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP \
	_IOR(BLK_SNAP, blk_snap_ioctl_tracker_read_cbt_map, \
	struct blk_snap_tracker_read_cbt_bitmap)

/**
 * struct blk_snap_block_range - Element of array for
 * &struct blk_snap_tracker_mark_dirty_blocks.
 * @sector_offset:
 * Offset from the beginning of the disk in sectors.
 * @sector_count:
 * Number of sectors.
 */
struct blk_snap_block_range {
	__u64 sector_offset;
	__u64 sector_count;
};

/**
 * struct blk_snap_tracker_mark_dirty_blocks - Argument for the
 * &IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS control.
 * @dev_id:
 * Device ID.
 * @count:
 * Size of @dirty_blocks_array in the number of
 * &struct blk_snap_block_range.
 * @dirty_blocks_array:
 * Pointer to the array of &struct blk_snap_block_range.
 */
struct blk_snap_tracker_mark_dirty_blocks {
	struct blk_snap_dev dev_id;
	__u32 count;
	struct blk_snap_block_range *dirty_blocks_array;
};

/**
 * define IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS - Set dirty blocks in the
 * CBT map.
 *
 * There are cases when some blocks need to be marked as changed.
 * This ioctl allows to do this.
 *
 * Return: 0 if succeeded, negative errno otherwise.
 */
#define IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS \
	_IOR(BLK_SNAP, blk_snap_ioctl_tracker_mark_dirty_blocks, \
	struct blk_snap_tracker_mark_dirty_blocks)

/**
 * DOC: Interface for managing snapshots
 */

/**
 * struct blk_snap_snapshot_create - Argument for the
 * &IOCTL_BLK_SNAP_SNAPSHOT_CREATE control.
 * @count:
 * Size of @dev_id_array in the number of &struct blk_snap_dev.
 * @dev_id_array:
 * Pointer to the array of &struct blk_snap_dev.
 * @id:
 * Return ID of the created snapshot.
 */
struct blk_snap_snapshot_create {
	__u32 count;
	struct blk_snap_dev *dev_id_array;
	struct blk_snap_uuid id;
};

/**
 * define IOCTL_BLK_SNAP_SNAPSHOT_CREATE - Create snapshot.
 *
 * Creates a snapshot structure in the memory and allocates an identifier for
 * it. Further interaction with the snapshot is possible by this identifier.
 * A snapshot is created for several block devices at once.
 * Several snapshots can be created at the same time, but with the condition
 * that one block device can only be included in one snapshot.
 *
 * Return: 0 if succeeded, negative errno otherwise.
 */
#define IOCTL_BLK_SNAP_SNAPSHOT_CREATE \
	_IOW(BLK_SNAP, blk_snap_ioctl_snapshot_create, \
	struct blk_snap_snapshot_create)

/**
 * struct blk_snap_snapshot_destroy - Argument for the
 * &IOCTL_BLK_SNAP_SNAPSHOT_DESTROY control.
 * @id:
 * Snapshot ID.
 */
struct blk_snap_snapshot_destroy {
	struct blk_snap_uuid id;
};

/**
 * define IOCTL_BLK_SNAP_SNAPSHOT_DESTROY - Release and destroy the snapshot.
 *
 * Destroys snapshot with &blk_snap_snapshot_destroy.id. This leads to the
 * deletion of all block device images of the snapshot. The difference storage
 * is being released. But the change tracker keeps tracking.
 *
 * Return: 0 if succeeded, negative errno otherwise.
 */
#define IOCTL_BLK_SNAP_SNAPSHOT_DESTROY \
	_IOR(BLK_SNAP, blk_snap_ioctl_snapshot_destroy, \
	struct blk_snap_snapshot_destroy)

/**
 * struct blk_snap_snapshot_append_storage - Argument for the
 * &IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE control.
 * @id:
 * Snapshot ID.
 * @dev_id:
 * Device ID.
 * @count:
 * Size of @ranges in the number of &struct blk_snap_block_range.
 * @ranges:
 * Pointer to the array of &struct blk_snap_block_range.
 */
struct blk_snap_snapshot_append_storage {
	struct blk_snap_uuid id;
	struct blk_snap_dev dev_id;
	__u32 count;
	struct blk_snap_block_range *ranges;
};

/**
 * define IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE - Append storage to the
 * difference storage of the snapshot.
 *
 * The snapshot difference storage can be set either before or after creating
 * the snapshot images. This allows to dynamically expand the difference
 * storage while holding the snapshot.
 *
 * Return: 0 if succeeded, negative errno otherwise.
 */
#define IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE \
	_IOW(BLK_SNAP, blk_snap_ioctl_snapshot_append_storage, \
	struct blk_snap_snapshot_append_storage)

/**
 * struct blk_snap_snapshot_take - Argument for the
 * &IOCTL_BLK_SNAP_SNAPSHOT_TAKE control.
 * @id:
 * Snapshot ID.
 */
struct blk_snap_snapshot_take {
	struct blk_snap_uuid id;
};

/**
 * define IOCTL_BLK_SNAP_SNAPSHOT_TAKE - Take snapshot.
 *
 * Creates snapshot images of block devices and switches change trackers tables.
 * The snapshot must be created before this call, and the areas of block
 * devices should be added to the difference storage.
 *
 * Return: 0 if succeeded, negative errno otherwise.
 */
#define IOCTL_BLK_SNAP_SNAPSHOT_TAKE \
	_IOR(BLK_SNAP, blk_snap_ioctl_snapshot_take, \
	struct blk_snap_snapshot_take)

/**
 * struct blk_snap_snapshot_collect - Argument for the
 * &IOCTL_BLK_SNAP_SNAPSHOT_COLLECT control.
 * @count:
 * Size of &blk_snap_snapshot_collect.ids in the number of 16-byte UUID.
 * @ids:
 * Pointer to the array with the snapshot ID for output.
 */
struct blk_snap_snapshot_collect {
	__u32 count;
	struct blk_snap_uuid *ids;
};

/**
 * define IOCTL_BLK_SNAP_SNAPSHOT_COLLECT - Get collection of created snapshots.
 *
 * Multiple snapshots can be created at the same time. This allows for one
 * system to create backups for different data with a independent schedules.
 *
 * If in &blk_snap_snapshot_collect.count is less than required to store the
 * &blk_snap_snapshot_collect.ids, the array is not filled, and the ioctl
 * returns the required count for &blk_snap_snapshot_collect.ids.
 *
 * So, it is recommended to call the ioctl twice. The first call with an null
 * pointer &blk_snap_snapshot_collect.ids and a zero value in
 * &blk_snap_snapshot_collect.count. It will set the required array size in
 * &blk_snap_snapshot_collect.count. The second call with a pointer
 * &blk_snap_snapshot_collect.ids to an array of the required size will allow to
 * get collection of active snapshots.
 *
 * Return: 0 if succeeded, -ENODATA if there is not enough space in the array
 * to store collection of active snapshots, or negative errno otherwise.
 */
#define IOCTL_BLK_SNAP_SNAPSHOT_COLLECT \
	_IOW(BLK_SNAP, blk_snap_ioctl_snapshot_collect, \
	struct blk_snap_snapshot_collect)
/**
 * struct blk_snap_image_info - Associates the original device in the snapshot
 * and the corresponding snapshot image.
 * @orig_dev_id:
 * Device ID.
 * @image_dev_id:
 * Image ID.
 */
struct blk_snap_image_info {
	struct blk_snap_dev orig_dev_id;
	struct blk_snap_dev image_dev_id;
};

/**
 * struct blk_snap_snapshot_collect_images - Argument for the
 * &IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES control.
 * @id:
 * Snapshot ID.
 * @count:
 * Size of &image_info_array in the number of &struct blk_snap_image_info.
 * @image_info_array:
 * Pointer to the array for output.
 */
struct blk_snap_snapshot_collect_images {
	struct blk_snap_uuid id;
	__u32 count;
	struct blk_snap_image_info *image_info_array;
};

/**
 * define IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES - Get a collection of devices
 * and their snapshot images.
 *
 * While holding the snapshot, this ioctl allows to get a table of
 * correspondences of the original devices and their snapshot images.
 *
 * If &blk_snap_snapshot_collect_images.count is less than required to store the
 * &blk_snap_snapshot_collect_images.image_info_array, the array is not filled,
 * and the ioctl returns the required count for
 * &blk_snap_snapshot_collect.image_info_array.
 *
 * So, it is recommended to call the ioctl twice. The first call with an null
 * pointer &blk_snap_snapshot_collect_images.image_info_array and a zero value
 * in &blk_snap_snapshot_collect_images.count. It will set the required array
 * size in &blk_snap_snapshot_collect_images.count. The second call with a
 * pointer &blk_snap_snapshot_collect_images.image_info_array to an array of the
 * required size will allow to get collection of devices and their snapshot
 * images.
 *
 * Return: 0 if succeeded, -ENODATA if there is not enough space in the array
 * to store collection of devices and their snapshot images, negative errno
 * otherwise.
 */
#define IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES \
	_IOW(BLK_SNAP, blk_snap_ioctl_snapshot_collect_images, \
	struct blk_snap_snapshot_collect_images)

/**
 * enum blk_snap_event_codes - Variants of event codes.
 *
 * @blk_snap_event_code_low_free_space:
 * Low free space in difference storage event.
 * If the free space in the difference storage is reduced to the specified
 * limit, the module generates this event.
 * @blk_snap_event_code_corrupted:
 * Snapshot image is corrupted event.
 * If a chunk could not be allocated when trying to save data to the
 * difference storage, this event is generated. However, this does not mean
 * that the backup process was interrupted with an error. If the snapshot
 * image has been read to the end by this time, the backup process is
 * considered successful.
 */
enum blk_snap_event_codes {
	blk_snap_event_code_low_free_space,
	blk_snap_event_code_corrupted,
};

/**
 * struct blk_snap_snapshot_event - Argument for the
 * &IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT control.
 * @id:
 * Snapshot ID.
 * @timeout_ms:
 * Timeout for waiting in milliseconds.
 * @time_label:
 * Timestamp of the received event.
 * @code:
 * Code of the received event &enum blk_snap_event_codes.
 * @data:
 * The received event body.
 */
struct blk_snap_snapshot_event {
	struct blk_snap_uuid id;
	__u32 timeout_ms;
	__u32 code;
	__s64 time_label;
	__u8 data[4096 - 32];
};

/*
 * The size of struct blk_snap_snapshot_event is 4096 bytes (checked by the
 * module with BUILD_BUG_ON and by tests/uapi_layout.c).
 */

/**
 * define IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT - Wait and get the event from the
 * snapshot.
 *
 * While holding the snapshot, the kernel module can transmit information about
 * changes in its state in the form of events to the user level.
 * It is very important to receive these events as quickly as possible, so the
 * user's thread is in the state of interruptable sleep.
 *
 * Return: 0 if succeeded, negative errno otherwise.
 */
#define IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT \
	_IOW(BLK_SNAP, blk_snap_ioctl_snapshot_wait_event, \
	struct blk_snap_snapshot_event)

/**
 * struct blk_snap_event_low_free_space - Data for the
 * &blk_snap_event_code_low_free_space event.
 * @requested_nr_sect:
 * The required number of sectors.
 */
struct blk_snap_event_low_free_space {
	__u64 requested_nr_sect;
};

/**
 * struct blk_snap_event_corrupted - Data for the
 * &blk_snap_event_code_corrupted event.
 * @orig_dev_id:
 * Device ID.
 * @err_code:
 * Error code.
 */
struct blk_snap_event_corrupted {
	struct blk_snap_dev orig_dev_id;
	__s32 err_code;
};

#endif /* _UAPI_LINUX_BLK_SNAP_H */
