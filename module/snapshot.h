/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_SNAPSHOT_H
#define BLKSNAP_SNAPSHOT_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/uuid.h>
#include "event_queue.h"
#include "diff_storage.h"

struct tracker;
struct blksnap_snapshot_event;
struct blksnap_sectors;

/**
 * struct snapshot - A snapshot of one or more devices.
 * @link: Entry in the list of snapshots (snapshots_lock).
 * @kref: References: the list's (dropped at DESTROY), one per ioctl or
 *	waiter using it, one per diff_area.  The last put frees the storage.
 * @id: The identifier user space names it by.
 * @trackers: Member devices (struct tracker.snap_link); blkfilter_lock().
 * @taken: TAKE succeeded; blkfilter_lock().
 * @taking: A TAKE is between its phases (file systems being frozen without
 *	the lock): membership must not change and DESTROY must wait, both
 *	get -EBUSY; blkfilter_lock().
 * @destroyed: DESTROY ran; blkfilter_lock().
 * @events: Its event queue.
 * @storage: Its difference storage.
 */
struct snapshot {
	struct list_head link;
	struct kref kref;
	uuid_t id;
	struct list_head trackers;
	bool taken;
	bool taking;
	bool destroyed;
	struct event_queue events;
	struct diff_storage storage;
};

void snapshot_put(struct snapshot *snapshot);
int snapshot_create(uuid_t *id);
int snapshot_destroy(const uuid_t *id);
int snapshot_append_storage(const uuid_t *id, const char *path,
			    const struct blksnap_sectors *ranges, u32 count);
int snapshot_take(const uuid_t *id);
int snapshot_collect(uuid_t *ids, u32 *count);
int snapshot_wait_event(const uuid_t *id, unsigned int timeout_ms,
			struct blksnap_snapshot_event *ev);
int snapshot_add_tracker(const uuid_t *id, struct tracker *tracker);
void snapshot_done(void);

#endif /* BLKSNAP_SNAPSHOT_H */
