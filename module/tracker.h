/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_TRACKER_H
#define BLKSNAP_TRACKER_H

#include <linux/kref.h>
#include <linux/mutex.h>
#include "blkfilter.h"

struct cbt_map;
struct snapshot;
struct diff_area;

/*
 * `make module BLKSNAP_TESTING=y` (the test suite
 * builds it so) adds BLKFILTER_CTL commands that exist only for the tests.
 */
#ifndef BLKSNAP_TESTING
#define BLKSNAP_TESTING 0
#endif
#define BLKSNAP_TEST_CTL_CBT_SWITCH	0x5a01

/**
 * struct tracker - The "blksnap" filter attached to one block device.
 * @filter: The filter layer's handle; @filter.bdev is the tracked device,
 *	pinned by the filter layer while attached.
 * @kref: References: one held by the attachment (dropped at detach) and one
 *	by each snapshot the device is added to.  The last put frees the
 *	tracker and its CBT map.
 * @ctl_lock: Serialises the ctl commands and CBT switches of this device;
 *	protects everything in @cbt_map except what cbt_map_mark() touches
 *	(see struct cbt_map).
 * @cbt_map: The device's change-block-tracking map; immutable pointer.
 * @dev_id: The device number at attach, for messages and events.
 * @attached: The filter is attached (cleared at detach).  blkfilter_lock().
 * @snapshot: The snapshot the device belongs to, or NULL.  blkfilter_lock().
 * @snap_link: Entry in @snapshot's list of members.  blkfilter_lock().
 * @diff_area: Copy-on-write state while the snapshot is taken, else NULL.
 *	Changed with blkfilter_lock() held and the filter frozen, so the bio
 *	path reads it without a lock.  Holds a diff_area reference.
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
	struct list_head snap_link;
	struct diff_area *diff_area;
};

void tracker_get(struct tracker *tracker);
void tracker_put(struct tracker *tracker);

int tracker_init(void);
void tracker_exit(void);

int test_filter_init(void);
void test_filter_exit(void);

#endif /* BLKSNAP_TRACKER_H */
