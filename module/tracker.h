/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_TRACKER_H
#define BLKSNAP_TRACKER_H

#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/uuid.h>
#include "blkfilter.h"

struct cbt_map;
struct snapshot;
struct diff_area;
struct blksnap_sectors;

/*
 * `make module BLKSNAP_TESTING=y` (the test suite builds it so) adds
 * commands that exist only for the tests (module/test_filter.c, and the
 * BLKFILTER_CTL command below, served by tracker_cbt_switch_test()).
 */
#ifndef BLKSNAP_TESTING
#define BLKSNAP_TESTING 0
#endif
#include "../include/blksnap-testing.h"	/* BLKSNAP_TEST_CTL_CBT_SWITCH */

/**
 * struct tracker - The "blksnap" filter attached to one block device.
 * @filter: The filter layer's handle; @filter.bdev is the tracked device,
 *	pinned by the filter layer while attached.
 * @kref: References: one held by the attachment (dropped at detach) and one
 *	by the snapshot the device is a member of.  The last put frees the
 *	tracker and drops its CBT map reference.
 * @ctl_lock: Serialises the CBT operations and switches of this device;
 *	protects everything in @cbt_map except what cbt_map_mark() touches
 *	(see struct cbt_map).
 * @cbt_map: The device's change-block-tracking map (reference held);
 *	immutable pointer.
 * @dev_id: The device number at attach, for messages and lookups.
 * @attached: The filter is attached (cleared at detach).  blkfilter_lock().
 * @snapshot: The snapshot the device is a member of, or NULL.  Owned by
 *	snapshot.c, which sets and clears it under blkfilter_lock(); the
 *	tracker only tests it (a member may not be detached).
 * @diff_area: Copy-on-write target while the snapshot is taken, else NULL.
 *	Set by tracker_set_diff_area() with the filter frozen, so the bio path
 *	reads it without a lock.  Borrowed: the snapshot holds the reference
 *	and clears the pointer before it drops it.
 *
 * Lifetime: created by the filter layer's attach callback, so it exists only
 * while attached or while a snapshot still holds it.
 */
struct tracker {
	struct blkfilter filter;
	struct kref kref;
	struct mutex ctl_lock;		/* see @ctl_lock above */
	struct cbt_map *cbt_map;
	dev_t dev_id;
	bool attached;
	struct snapshot *snapshot;
	struct diff_area *diff_area;
};

/**
 * struct tracker_cbt_info - What the CBT map of a device says about itself.
 * @capacity: Device size in bytes when the map was built.
 * @block_size: Bytes per map entry.
 * @block_count: Entries in the map.
 * @generation_id: The history the change numbers belong to.
 * @changes_number: The number of the last switch (TAKE).
 */
struct tracker_cbt_info {
	u64 capacity;
	u32 block_size;
	u32 block_count;
	uuid_t generation_id;
	u8 changes_number;
};

/**
 * typedef tracker_ctl_fn - Serves BLKFILTER_CTL for the "blksnap" filter.
 * @tracker: The device's tracker.
 * @cmd: The command.
 * @buf: The user's option buffer.
 * @plen: Its length, updated on success.
 *
 * Supplied by the front end (ctl.c) at registration, so that the tracker
 * knows nothing of the commands and of snapshots.
 */
typedef int (*tracker_ctl_fn)(struct tracker *tracker, unsigned int cmd,
			      __u8 __user *buf, __u32 *plen);

void tracker_get(struct tracker *tracker);
void tracker_put(struct tracker *tracker);
void tracker_set_diff_area(struct tracker *tracker, struct diff_area *da);

void tracker_cbt_info(struct tracker *tracker, struct tracker_cbt_info *info);
long tracker_cbt_read(struct tracker *tracker, u32 offset, u32 length,
		      u8 __user *buf);
int tracker_cbt_mark_dirty(struct tracker *tracker,
			   const struct blksnap_sectors __user *ranges,
			   u32 count);
struct tracker *tracker_find_dev(dev_t dev);
struct tracker *tracker_get_by_dev(dev_t dev);
int tracker_attach_dev(dev_t dev, bool *attached);
int tracker_detach_dev(dev_t dev);
int tracker_collect(struct tracker **arr, u32 *count);
int tracker_cbt_prepare(struct tracker *tracker);
void tracker_cbt_finish(struct tracker *tracker);
int tracker_cbt_switch(struct tracker *tracker, bool rebuild);
int tracker_cbt_switch_test(struct tracker *tracker);

int tracker_init(tracker_ctl_fn ctl);
void tracker_exit(void);

#endif /* BLKSNAP_TRACKER_H */
