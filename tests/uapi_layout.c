// SPDX-License-Identifier: GPL-2.0
/*
 * The UAPI headers against the v3 ABI: every constant, enum value, struct
 * size, field offset and size, field signedness and ioctl number (with its
 * direction, type, number and size fields), for LP64 and for ILP32.  The v3
 * structures carry native pointers, so some layouts and ioctl numbers differ
 * between the two; the word-size table is chosen with __SIZEOF_POINTER__.
 *
 * Each row is checked twice: by static_assert, which fails the build, and
 * at run time, which reports every mismatch through KTAP.  Build with
 * -DUAPI_LAYOUT_RUNTIME_ONLY to see all mismatches in one run instead of
 * the first build error.
 *
 * The headers come first, so that the build also proves that they stand
 * on their own and together.  The v2 header (<linux/blk_snap.h>, seed 001,
 * /dev/blksnap) has its own tables below (v2_*_rows).
 */
#include <linux/blksnap.h>
#include <linux/blk-filter.h>
#include <linux/blk_snap.h>
#include <assert.h>
#include <stddef.h>
#include <string.h>
#include "kselftest_harness.h"

#define SZ(s)		sizeof(struct s)
#define OFF(s, f)	offsetof(struct s, f)
#define FSZ(s, f)	sizeof(((struct s *)0)->f)
#define SIGNED(s, f)	((__typeof__(((struct s *)0)->f))(-1) < 0)

/*
 * CHECKED(have, want, what) is @have, after a static_assert that it equals
 * @want (message @what).  The assertion sits in a structure declared inside
 * sizeof, so that it can live in an initializer.
 */
#ifdef UAPI_LAYOUT_RUNTIME_ONLY
#define STATIC_CHECKS	0
#else
#define STATIC_CHECKS	1
#endif
#define CHECKED(have, want, what)					\
	(sizeof(struct {						\
		static_assert(!STATIC_CHECKS || (have) == (want), what);	\
		char c;							\
	}) * 0 + (have))

/* One row: what the headers give (@have), what the v3 ABI has (@want). */
struct abi_row {
	const char *what;
	unsigned long long want;
	unsigned long long have;
};

#define ROW(have, want)						\
	{ #have, (want), CHECKED(have, want, #have " == " #want) }

/* The same for every word size. */
static const struct abi_row common_rows[] = {
	ROW(BLKFILTER_NAME_LENGTH, 32),
	ROW(SZ(blkfilter_name), 32),
	ROW(OFF(blkfilter_name, name), 0),
	ROW(SZ(blkfilter_ctl), 48),
	ROW(OFF(blkfilter_ctl, name), 0),
	ROW(OFF(blkfilter_ctl, cmd), 32),
	ROW(FSZ(blkfilter_ctl, cmd), 4),
	ROW(OFF(blkfilter_ctl, optlen), 36),
	ROW(FSZ(blkfilter_ctl, optlen), 4),
	ROW(OFF(blkfilter_ctl, opt), 40),
	ROW(FSZ(blkfilter_ctl, opt), 8),
	ROW(BLKFILTER_ATTACH, 0xC020128CU),
	ROW(BLKFILTER_DETACH, 0xC020128DU),
	ROW(BLKFILTER_CTL, 0xC030128EU),
	ROW(BLKSNAP, 'V'),
	ROW(sizeof(BLKSNAP_CTL), sizeof("blksnap-control")),
	ROW(sizeof(BLKSNAP_IMAGE_NAME), sizeof("blksnap-image")),
	ROW(UUID_SIZE, 16),
	ROW(IMAGE_DISK_NAME_LEN, 32),
	ROW(blkfilter_ctl_blksnap_cbtinfo, 0),
	ROW(blkfilter_ctl_blksnap_cbtmap, 1),
	ROW(blkfilter_ctl_blksnap_cbtdirty, 2),
	ROW(blkfilter_ctl_blksnap_snapshotadd, 3),
	ROW(blkfilter_ctl_blksnap_snapshotinfo, 4),
	ROW(blksnap_ioctl_version, 0),
	ROW(blksnap_ioctl_snapshot_create, 1),
	ROW(blksnap_ioctl_snapshot_destroy, 2),
	ROW(blksnap_ioctl_snapshot_append_storage, 3),
	ROW(blksnap_ioctl_snapshot_take, 4),
	ROW(blksnap_ioctl_snapshot_collect, 5),
	ROW(blksnap_ioctl_snapshot_wait_event, 6),
	ROW(blksnap_event_code_low_free_space, 0),
	ROW(blksnap_event_code_corrupted, 1),
	ROW(SZ(blksnap_uuid), 16),
	ROW(FSZ(blksnap_uuid, b), 16),
	ROW(OFF(blksnap_cbtinfo, device_capacity), 0),
	ROW(FSZ(blksnap_cbtinfo, device_capacity), 8),
	ROW(OFF(blksnap_cbtinfo, block_size), 8),
	ROW(FSZ(blksnap_cbtinfo, block_size), 4),
	ROW(OFF(blksnap_cbtinfo, block_count), 12),
	ROW(FSZ(blksnap_cbtinfo, block_count), 4),
	ROW(OFF(blksnap_cbtinfo, generation_id), 16),
	ROW(OFF(blksnap_cbtinfo, changes_number), 32),
	ROW(FSZ(blksnap_cbtinfo, changes_number), 1),
	ROW(SIGNED(blksnap_cbtinfo, changes_number), 0),
	ROW(OFF(blksnap_cbtmap, offset), 0),
	ROW(FSZ(blksnap_cbtmap, offset), 4),
	ROW(OFF(blksnap_cbtmap, length), 4),
	ROW(FSZ(blksnap_cbtmap, length), 4),
	ROW(SZ(blksnap_sectors), 16),
	ROW(OFF(blksnap_sectors, offset), 0),
	ROW(FSZ(blksnap_sectors, offset), 8),
	ROW(OFF(blksnap_sectors, count), 8),
	ROW(FSZ(blksnap_sectors, count), 8),
	ROW(OFF(blksnap_cbtdirty, count), 0),
	ROW(FSZ(blksnap_cbtdirty, count), 4),
	ROW(SZ(blksnap_snapshotadd), 16),
	ROW(OFF(blksnap_snapshotadd, id), 0),
	ROW(SZ(blksnap_snapshotinfo), 36),
	ROW(OFF(blksnap_snapshotinfo, error_code), 0),
	ROW(FSZ(blksnap_snapshotinfo, error_code), 4),
	ROW(SIGNED(blksnap_snapshotinfo, error_code), 1),
	ROW(OFF(blksnap_snapshotinfo, image), 4),
	ROW(FSZ(blksnap_snapshotinfo, image), 32),
	ROW(SZ(blksnap_version), 8),
	ROW(OFF(blksnap_version, major), 0),
	ROW(OFF(blksnap_version, minor), 2),
	ROW(OFF(blksnap_version, revision), 4),
	ROW(OFF(blksnap_version, build), 6),
	ROW(FSZ(blksnap_version, build), 2),
	ROW(OFF(blksnap_snapshot_append_storage, id), 0),
	ROW(OFF(blksnap_snapshot_append_storage, bdev_path), 16),
	ROW(FSZ(blksnap_snapshot_append_storage, bdev_path_size), 4),
	ROW(FSZ(blksnap_snapshot_append_storage, count), 4),
	ROW(OFF(blksnap_snapshot_collect, count), 0),
	ROW(FSZ(blksnap_snapshot_collect, count), 4),
	ROW(SZ(blksnap_snapshot_event), 4096),
	ROW(OFF(blksnap_snapshot_event, id), 0),
	ROW(OFF(blksnap_snapshot_event, timeout_ms), 16),
	ROW(FSZ(blksnap_snapshot_event, timeout_ms), 4),
	ROW(OFF(blksnap_snapshot_event, code), 20),
	ROW(FSZ(blksnap_snapshot_event, code), 4),
	ROW(OFF(blksnap_snapshot_event, time_label), 24),
	ROW(FSZ(blksnap_snapshot_event, time_label), 8),
	ROW(SIGNED(blksnap_snapshot_event, time_label), 1),
	ROW(OFF(blksnap_snapshot_event, data), 32),
	ROW(FSZ(blksnap_snapshot_event, data), 4064),
	ROW(SZ(blksnap_event_low_free_space), 8),
	ROW(OFF(blksnap_event_low_free_space, requested_nr_sect), 0),
	ROW(FSZ(blksnap_event_low_free_space, requested_nr_sect), 8),
	ROW(SZ(blksnap_event_corrupted), 12),
	ROW(OFF(blksnap_event_corrupted, dev_id_mj), 0),
	ROW(OFF(blksnap_event_corrupted, dev_id_mn), 4),
	ROW(OFF(blksnap_event_corrupted, err_code), 8),
	ROW(SIGNED(blksnap_event_corrupted, err_code), 1),
	ROW(IOCTL_BLKSNAP_VERSION, 0x40085600U),
	ROW(IOCTL_BLKSNAP_SNAPSHOT_CREATE, 0x40105601U),
	ROW(IOCTL_BLKSNAP_SNAPSHOT_DESTROY, 0x80105602U),
	ROW(IOCTL_BLKSNAP_SNAPSHOT_TAKE, 0x80105604U),
	ROW(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, 0x50005606U),
	ROW(_IOC_DIR(IOCTL_BLKSNAP_VERSION), _IOC_WRITE),
	ROW(_IOC_DIR(IOCTL_BLKSNAP_SNAPSHOT_CREATE), _IOC_WRITE),
	ROW(_IOC_DIR(IOCTL_BLKSNAP_SNAPSHOT_DESTROY), _IOC_READ),
	ROW(_IOC_DIR(IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE), _IOC_WRITE),
	ROW(_IOC_DIR(IOCTL_BLKSNAP_SNAPSHOT_TAKE), _IOC_READ),
	ROW(_IOC_DIR(IOCTL_BLKSNAP_SNAPSHOT_COLLECT), _IOC_WRITE),
	ROW(_IOC_DIR(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT), _IOC_WRITE),
	ROW(_IOC_TYPE(IOCTL_BLKSNAP_SNAPSHOT_COLLECT), 'V'),
	ROW(_IOC_NR(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT), 6),
	ROW(_IOC_SIZE(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT), 4096),
	ROW(_IOC_DIR(BLKFILTER_CTL), _IOC_READ | _IOC_WRITE),
	ROW(_IOC_TYPE(BLKFILTER_CTL), 0x12),
};

/* The v3 structures carry native pointers: these rows differ. */
#if __SIZEOF_POINTER__ == 8
#define WORD_SIZE_NAME "LP64"
static const struct abi_row word_size_rows[] = {
	ROW(SZ(blksnap_cbtinfo), 40),
	ROW(SZ(blksnap_cbtmap), 16),
	ROW(OFF(blksnap_cbtmap, buffer), 8),
	ROW(FSZ(blksnap_cbtmap, buffer), 8),
	ROW(SZ(blksnap_cbtdirty), 16),
	ROW(OFF(blksnap_cbtdirty, dirty_sectors), 8),
	ROW(FSZ(blksnap_cbtdirty, dirty_sectors), 8),
	ROW(SZ(blksnap_snapshot_append_storage), 40),
	ROW(FSZ(blksnap_snapshot_append_storage, bdev_path), 8),
	ROW(OFF(blksnap_snapshot_append_storage, bdev_path_size), 24),
	ROW(OFF(blksnap_snapshot_append_storage, count), 28),
	ROW(OFF(blksnap_snapshot_append_storage, ranges), 32),
	ROW(FSZ(blksnap_snapshot_append_storage, ranges), 8),
	ROW(SZ(blksnap_snapshot_collect), 16),
	ROW(OFF(blksnap_snapshot_collect, ids), 8),
	ROW(FSZ(blksnap_snapshot_collect, ids), 8),
	ROW(IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE, 0x40285603U),
	ROW(IOCTL_BLKSNAP_SNAPSHOT_COLLECT, 0x40105605U),
};
#else
#define WORD_SIZE_NAME "ILP32"
static const struct abi_row word_size_rows[] = {
	ROW(SZ(blksnap_cbtinfo), 36),
	ROW(SZ(blksnap_cbtmap), 12),
	ROW(OFF(blksnap_cbtmap, buffer), 8),
	ROW(FSZ(blksnap_cbtmap, buffer), 4),
	ROW(SZ(blksnap_cbtdirty), 8),
	ROW(OFF(blksnap_cbtdirty, dirty_sectors), 4),
	ROW(FSZ(blksnap_cbtdirty, dirty_sectors), 4),
	ROW(SZ(blksnap_snapshot_append_storage), 32),
	ROW(FSZ(blksnap_snapshot_append_storage, bdev_path), 4),
	ROW(OFF(blksnap_snapshot_append_storage, bdev_path_size), 20),
	ROW(OFF(blksnap_snapshot_append_storage, count), 24),
	ROW(OFF(blksnap_snapshot_append_storage, ranges), 28),
	ROW(FSZ(blksnap_snapshot_append_storage, ranges), 4),
	ROW(SZ(blksnap_snapshot_collect), 8),
	ROW(OFF(blksnap_snapshot_collect, ids), 4),
	ROW(FSZ(blksnap_snapshot_collect, ids), 4),
	ROW(IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE, 0x40205603U),
	ROW(IOCTL_BLKSNAP_SNAPSHOT_COLLECT, 0x40085605U),
};
#endif

/* The v2 interface (<linux/blk_snap.h>, seed 001): every word size. */
static const struct abi_row v2_common_rows[] = {
	ROW(BLK_SNAP, 'V'),
	ROW(sizeof(BLK_SNAP_CTL), sizeof("/dev/blksnap")),
	ROW(sizeof(BLK_SNAP_IMAGE_NAME), sizeof("blksnap-image")),
	ROW(blk_snap_ioctl_version, 0),
	ROW(blk_snap_ioctl_tracker_remove, 1),
	ROW(blk_snap_ioctl_tracker_collect, 2),
	ROW(blk_snap_ioctl_tracker_read_cbt_map, 3),
	ROW(blk_snap_ioctl_tracker_mark_dirty_blocks, 4),
	ROW(blk_snap_ioctl_snapshot_create, 5),
	ROW(blk_snap_ioctl_snapshot_destroy, 6),
	ROW(blk_snap_ioctl_snapshot_append_storage, 7),
	ROW(blk_snap_ioctl_snapshot_take, 8),
	ROW(blk_snap_ioctl_snapshot_collect, 9),
	ROW(blk_snap_ioctl_snapshot_collect_images, 10),
	ROW(blk_snap_ioctl_snapshot_wait_event, 11),
	ROW(blk_snap_event_code_low_free_space, 0),
	ROW(blk_snap_event_code_corrupted, 1),
	ROW(SZ(blk_snap_version), 8),
	ROW(OFF(blk_snap_version, major), 0),
	ROW(FSZ(blk_snap_version, major), 2),
	ROW(OFF(blk_snap_version, minor), 2),
	ROW(OFF(blk_snap_version, revision), 4),
	ROW(OFF(blk_snap_version, build), 6),
	ROW(FSZ(blk_snap_version, build), 2),
	ROW(SZ(blk_snap_dev), 8),
	ROW(OFF(blk_snap_dev, mj), 0),
	ROW(FSZ(blk_snap_dev, mj), 4),
	ROW(SIGNED(blk_snap_dev, mj), 0),
	ROW(OFF(blk_snap_dev, mn), 4),
	ROW(FSZ(blk_snap_dev, mn), 4),
	ROW(SIGNED(blk_snap_dev, mn), 0),
	ROW(SZ(blk_snap_tracker_remove), 8),
	ROW(OFF(blk_snap_tracker_remove, dev_id), 0),
	ROW(SZ(blk_snap_uuid), 16),
	ROW(FSZ(blk_snap_uuid, b), 16),
	ROW(OFF(blk_snap_cbt_info, dev_id), 0),
	ROW(FSZ(blk_snap_cbt_info, dev_id), 8),
	ROW(OFF(blk_snap_cbt_info, blk_size), 8),
	ROW(FSZ(blk_snap_cbt_info, blk_size), 4),
	ROW(FSZ(blk_snap_cbt_info, device_capacity), 8),
	ROW(FSZ(blk_snap_cbt_info, blk_count), 4),
	ROW(FSZ(blk_snap_cbt_info, generation_id), 16),
	ROW(FSZ(blk_snap_cbt_info, snap_number), 1),
	ROW(SIGNED(blk_snap_cbt_info, snap_number), 0),
	ROW(OFF(blk_snap_tracker_collect, count), 0),
	ROW(FSZ(blk_snap_tracker_collect, count), 4),
	ROW(OFF(blk_snap_tracker_read_cbt_bitmap, dev_id), 0),
	ROW(OFF(blk_snap_tracker_read_cbt_bitmap, offset), 8),
	ROW(FSZ(blk_snap_tracker_read_cbt_bitmap, offset), 4),
	ROW(OFF(blk_snap_tracker_read_cbt_bitmap, length), 12),
	ROW(FSZ(blk_snap_tracker_read_cbt_bitmap, length), 4),
	ROW(OFF(blk_snap_tracker_read_cbt_bitmap, buff), 16),
	ROW(SZ(blk_snap_block_range), 16),
	ROW(OFF(blk_snap_block_range, sector_offset), 0),
	ROW(FSZ(blk_snap_block_range, sector_offset), 8),
	ROW(OFF(blk_snap_block_range, sector_count), 8),
	ROW(FSZ(blk_snap_block_range, sector_count), 8),
	ROW(OFF(blk_snap_tracker_mark_dirty_blocks, dev_id), 0),
	ROW(OFF(blk_snap_tracker_mark_dirty_blocks, count), 8),
	ROW(FSZ(blk_snap_tracker_mark_dirty_blocks, count), 4),
	ROW(OFF(blk_snap_snapshot_create, count), 0),
	ROW(FSZ(blk_snap_snapshot_create, count), 4),
	ROW(FSZ(blk_snap_snapshot_create, id), 16),
	ROW(SZ(blk_snap_snapshot_destroy), 16),
	ROW(OFF(blk_snap_snapshot_destroy, id), 0),
	ROW(OFF(blk_snap_snapshot_append_storage, id), 0),
	ROW(OFF(blk_snap_snapshot_append_storage, dev_id), 16),
	ROW(OFF(blk_snap_snapshot_append_storage, count), 24),
	ROW(FSZ(blk_snap_snapshot_append_storage, count), 4),
	ROW(SZ(blk_snap_snapshot_take), 16),
	ROW(OFF(blk_snap_snapshot_take, id), 0),
	ROW(OFF(blk_snap_snapshot_collect, count), 0),
	ROW(FSZ(blk_snap_snapshot_collect, count), 4),
	ROW(SZ(blk_snap_image_info), 16),
	ROW(OFF(blk_snap_image_info, orig_dev_id), 0),
	ROW(OFF(blk_snap_image_info, image_dev_id), 8),
	ROW(OFF(blk_snap_snapshot_collect_images, id), 0),
	ROW(OFF(blk_snap_snapshot_collect_images, count), 16),
	ROW(FSZ(blk_snap_snapshot_collect_images, count), 4),
	ROW(SZ(blk_snap_snapshot_event), 4096),
	ROW(OFF(blk_snap_snapshot_event, id), 0),
	ROW(OFF(blk_snap_snapshot_event, timeout_ms), 16),
	ROW(FSZ(blk_snap_snapshot_event, timeout_ms), 4),
	ROW(OFF(blk_snap_snapshot_event, code), 20),
	ROW(FSZ(blk_snap_snapshot_event, code), 4),
	ROW(OFF(blk_snap_snapshot_event, time_label), 24),
	ROW(FSZ(blk_snap_snapshot_event, time_label), 8),
	ROW(SIGNED(blk_snap_snapshot_event, time_label), 1),
	ROW(OFF(blk_snap_snapshot_event, data), 32),
	ROW(FSZ(blk_snap_snapshot_event, data), 4064),
	ROW(SZ(blk_snap_event_low_free_space), 8),
	ROW(OFF(blk_snap_event_low_free_space, requested_nr_sect), 0),
	ROW(FSZ(blk_snap_event_low_free_space, requested_nr_sect), 8),
	ROW(SZ(blk_snap_event_corrupted), 12),
	ROW(OFF(blk_snap_event_corrupted, orig_dev_id), 0),
	ROW(OFF(blk_snap_event_corrupted, err_code), 8),
	ROW(FSZ(blk_snap_event_corrupted, err_code), 4),
	ROW(SIGNED(blk_snap_event_corrupted, err_code), 1),
	/* wire-identical to v3: one event struct serves both nodes */
	ROW(SZ(blk_snap_snapshot_event), SZ(blksnap_snapshot_event)),
	ROW(OFF(blk_snap_event_corrupted, err_code),
	    OFF(blksnap_event_corrupted, err_code)),
	ROW(IOCTL_BLK_SNAP_VERSION, 0x40085600U),
	ROW(IOCTL_BLK_SNAP_TRACKER_REMOVE, 0x40085601U),
	ROW(IOCTL_BLK_SNAP_SNAPSHOT_DESTROY, 0x80105606U),
	ROW(IOCTL_BLK_SNAP_SNAPSHOT_TAKE, 0x80105608U),
	ROW(IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT, 0x5000560BU),
	ROW(_IOC_DIR(IOCTL_BLK_SNAP_VERSION), _IOC_WRITE),
	ROW(_IOC_DIR(IOCTL_BLK_SNAP_TRACKER_REMOVE), _IOC_WRITE),
	ROW(_IOC_DIR(IOCTL_BLK_SNAP_TRACKER_COLLECT), _IOC_WRITE),
	ROW(_IOC_DIR(IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP), _IOC_READ),
	ROW(_IOC_DIR(IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS), _IOC_READ),
	ROW(_IOC_DIR(IOCTL_BLK_SNAP_SNAPSHOT_CREATE), _IOC_WRITE),
	ROW(_IOC_DIR(IOCTL_BLK_SNAP_SNAPSHOT_DESTROY), _IOC_READ),
	ROW(_IOC_DIR(IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE), _IOC_WRITE),
	ROW(_IOC_DIR(IOCTL_BLK_SNAP_SNAPSHOT_TAKE), _IOC_READ),
	ROW(_IOC_DIR(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT), _IOC_WRITE),
	ROW(_IOC_DIR(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES), _IOC_WRITE),
	ROW(_IOC_DIR(IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT), _IOC_WRITE),
	ROW(_IOC_TYPE(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES), 'V'),
	ROW(_IOC_NR(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES), 10),
	ROW(_IOC_NR(IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT), 11),
	ROW(_IOC_SIZE(IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT), 4096),
};

/* v2 structures with native pointers or 64-bit members: these differ. */
#if __SIZEOF_POINTER__ == 8
static const struct abi_row v2_word_size_rows[] = {
	ROW(SZ(blk_snap_cbt_info), 48),
	ROW(OFF(blk_snap_cbt_info, device_capacity), 16),
	ROW(OFF(blk_snap_cbt_info, blk_count), 24),
	ROW(OFF(blk_snap_cbt_info, generation_id), 28),
	ROW(OFF(blk_snap_cbt_info, snap_number), 44),
	ROW(SZ(blk_snap_tracker_collect), 16),
	ROW(OFF(blk_snap_tracker_collect, cbt_info_array), 8),
	ROW(FSZ(blk_snap_tracker_collect, cbt_info_array), 8),
	ROW(SZ(blk_snap_tracker_read_cbt_bitmap), 24),
	ROW(FSZ(blk_snap_tracker_read_cbt_bitmap, buff), 8),
	ROW(SZ(blk_snap_tracker_mark_dirty_blocks), 24),
	ROW(OFF(blk_snap_tracker_mark_dirty_blocks, dirty_blocks_array), 16),
	ROW(FSZ(blk_snap_tracker_mark_dirty_blocks, dirty_blocks_array), 8),
	ROW(SZ(blk_snap_snapshot_create), 32),
	ROW(OFF(blk_snap_snapshot_create, dev_id_array), 8),
	ROW(FSZ(blk_snap_snapshot_create, dev_id_array), 8),
	ROW(OFF(blk_snap_snapshot_create, id), 16),
	ROW(SZ(blk_snap_snapshot_append_storage), 40),
	ROW(OFF(blk_snap_snapshot_append_storage, ranges), 32),
	ROW(FSZ(blk_snap_snapshot_append_storage, ranges), 8),
	ROW(SZ(blk_snap_snapshot_collect), 16),
	ROW(OFF(blk_snap_snapshot_collect, ids), 8),
	ROW(FSZ(blk_snap_snapshot_collect, ids), 8),
	ROW(SZ(blk_snap_snapshot_collect_images), 32),
	ROW(OFF(blk_snap_snapshot_collect_images, image_info_array), 24),
	ROW(FSZ(blk_snap_snapshot_collect_images, image_info_array), 8),
	ROW(IOCTL_BLK_SNAP_TRACKER_COLLECT, 0x40105602U),
	ROW(IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP, 0x80185603U),
	ROW(IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS, 0x80185604U),
	ROW(IOCTL_BLK_SNAP_SNAPSHOT_CREATE, 0x40205605U),
	ROW(IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE, 0x40285607U),
	ROW(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT, 0x40105609U),
	ROW(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES, 0x4020560AU),
};
#else
/* i386: pointers are 4 bytes and __u64 members are 4-byte aligned */
static const struct abi_row v2_word_size_rows[] = {
	ROW(SZ(blk_snap_cbt_info), 44),
	ROW(OFF(blk_snap_cbt_info, device_capacity), 12),
	ROW(OFF(blk_snap_cbt_info, blk_count), 20),
	ROW(OFF(blk_snap_cbt_info, generation_id), 24),
	ROW(OFF(blk_snap_cbt_info, snap_number), 40),
	ROW(SZ(blk_snap_tracker_collect), 8),
	ROW(OFF(blk_snap_tracker_collect, cbt_info_array), 4),
	ROW(FSZ(blk_snap_tracker_collect, cbt_info_array), 4),
	ROW(SZ(blk_snap_tracker_read_cbt_bitmap), 20),
	ROW(FSZ(blk_snap_tracker_read_cbt_bitmap, buff), 4),
	ROW(SZ(blk_snap_tracker_mark_dirty_blocks), 16),
	ROW(OFF(blk_snap_tracker_mark_dirty_blocks, dirty_blocks_array), 12),
	ROW(FSZ(blk_snap_tracker_mark_dirty_blocks, dirty_blocks_array), 4),
	ROW(SZ(blk_snap_snapshot_create), 24),
	ROW(OFF(blk_snap_snapshot_create, dev_id_array), 4),
	ROW(FSZ(blk_snap_snapshot_create, dev_id_array), 4),
	ROW(OFF(blk_snap_snapshot_create, id), 8),
	ROW(SZ(blk_snap_snapshot_append_storage), 32),
	ROW(OFF(blk_snap_snapshot_append_storage, ranges), 28),
	ROW(FSZ(blk_snap_snapshot_append_storage, ranges), 4),
	ROW(SZ(blk_snap_snapshot_collect), 8),
	ROW(OFF(blk_snap_snapshot_collect, ids), 4),
	ROW(FSZ(blk_snap_snapshot_collect, ids), 4),
	ROW(SZ(blk_snap_snapshot_collect_images), 24),
	ROW(OFF(blk_snap_snapshot_collect_images, image_info_array), 20),
	ROW(FSZ(blk_snap_snapshot_collect_images, image_info_array), 4),
	ROW(IOCTL_BLK_SNAP_TRACKER_COLLECT, 0x40085602U),
	ROW(IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP, 0x80145603U),
	ROW(IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS, 0x80105604U),
	ROW(IOCTL_BLK_SNAP_SNAPSHOT_CREATE, 0x40185605U),
	ROW(IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE, 0x40205607U),
	ROW(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT, 0x40085609U),
	ROW(IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES, 0x4018560AU),
};
#endif

static int check_rows(struct __test_metadata *_metadata,
		      const struct abi_row *rows, size_t n)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++) {
		if (rows[i].have == rows[i].want)
			continue;
		bad++;
		TH_LOG("%s is %#llx, the ABI has %#llx", rows[i].what,
		       rows[i].have, rows[i].want);
	}
	return bad;
}

TEST(common)
{
	TH_LOG("%zu rows for every word size", ARRAY_SIZE(common_rows));
	EXPECT_EQ(0, check_rows(_metadata, common_rows,
				ARRAY_SIZE(common_rows)));
}

TEST(word_size)
{
	TH_LOG("%zu rows for %s", ARRAY_SIZE(word_size_rows), WORD_SIZE_NAME);
	ASSERT_EQ(__SIZEOF_POINTER__ == 8 ? 8 : 4, sizeof(void *));
	EXPECT_EQ(0, check_rows(_metadata, word_size_rows,
				ARRAY_SIZE(word_size_rows)));
}

TEST(v2_common)
{
	TH_LOG("%zu v2 rows for every word size", ARRAY_SIZE(v2_common_rows));
	EXPECT_EQ(0, check_rows(_metadata, v2_common_rows,
				ARRAY_SIZE(v2_common_rows)));
}

TEST(v2_word_size)
{
	TH_LOG("%zu v2 rows for %s", ARRAY_SIZE(v2_word_size_rows),
	       WORD_SIZE_NAME);
	EXPECT_EQ(0, check_rows(_metadata, v2_word_size_rows,
				ARRAY_SIZE(v2_word_size_rows)));
}

/* What a static_assert cannot compare: the strings themselves. */
TEST(names)
{
	EXPECT_STREQ("blksnap-control", BLKSNAP_CTL);
	EXPECT_STREQ("blksnap-image", BLKSNAP_IMAGE_NAME);
	EXPECT_STREQ("/dev/blksnap", BLK_SNAP_CTL);
	EXPECT_STREQ("blksnap-image", BLK_SNAP_IMAGE_NAME);
}

TEST_HARNESS_MAIN
