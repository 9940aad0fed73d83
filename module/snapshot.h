/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_SNAPSHOT_H
#define BLKSNAP_SNAPSHOT_H

#include <linux/types.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/uuid.h>

struct tracker;
struct diff_area;
struct image;
struct event_queue;
struct diff_storage;
struct blksnap_snapshot_event;
struct blksnap_sectors;

/**
 * struct snapshot_member - One device of a snapshot.
 * @link: Entry in the snapshot's @members.
 * @tracker: The device's tracker (reference held).
 * @da: Its copy-on-write state once taken, else NULL (reference held).
 * @image: Its image disk once taken, else NULL.
 *
 * All fields change under blkfilter_lock().
 */
struct snapshot_member {
	struct list_head link;
	struct tracker *tracker;
	struct diff_area *da;
	struct image *image;
};

/**
 * struct snapshot - A snapshot of one or more devices.
 * @link: Entry in the list of snapshots (snapshots_lock).
 * @kref: References: the list's (dropped at DESTROY) and one per ioctl or
 *	waiter using it.  The last put drops the storage and event queue
 *	references; diff_areas hold their own on those.
 * @id: The identifier user space names it by.
 * @members: Member devices (struct snapshot_member); blkfilter_lock().
 * @taken: TAKE succeeded; blkfilter_lock().
 * @taking: A TAKE is between its phases (file systems being frozen without
 *	the lock): membership must not change and DESTROY must wait, both
 *	get -EBUSY; blkfilter_lock().
 * @destroyed: DESTROY ran; blkfilter_lock().
 * @flags: SNAPSHOT_* given at CREATE; immutable.
 * @events: Its event queue (reference held).
 * @storage: Its difference storage (reference held).
 *
 * Locking: blkfilter_lock() (see blkfilter.h) is the snapshot subsystem's
 * lock; snapshots_lock (snapshot.c) only protects the list.
 */
struct snapshot {
	struct list_head link;
	struct kref kref;
	uuid_t id;
	struct list_head members;
	bool taken;
	bool taking;
	bool destroyed;
	unsigned int flags;
	struct event_queue *events;
	struct diff_storage *storage;
};

/* Images named "blksnap-image<N>" on blksnap's own major (v2 naming). */
#define SNAPSHOT_NUMBERED_IMAGES	0x1

/**
 * struct snapshot_image_info - An image of a taken snapshot.
 * @orig: The original device's number.
 * @image: The image's number.
 */
struct snapshot_image_info {
	dev_t orig;
	dev_t image;
};

struct snapshot *snapshot_find(const uuid_t *id);
void snapshot_put(struct snapshot *snapshot);
int snapshot_create(uuid_t *id, unsigned int flags);
int snapshot_destroy(const uuid_t *id);
void snapshot_destroy_all(void);
int snapshot_add_device(const uuid_t *id, struct tracker *tracker);
int snapshot_device_state(struct tracker *tracker, int *error,
			  char *image, size_t size);
int snapshot_append_storage(const uuid_t *id, const char *path,
			    const struct blksnap_sectors *ranges, u32 count);
int snapshot_append_storage_dev(const uuid_t *id, dev_t dev,
				const struct blksnap_sectors *ranges, u32 count);
int snapshot_take(const uuid_t *id);
int snapshot_collect_images(const uuid_t *id, struct snapshot_image_info *arr,
			    u32 *count);
struct tracker *snapshot_get_image_tracker(dev_t image);
int snapshot_collect(uuid_t *ids, u32 *count);
int snapshot_wait_event(const uuid_t *id, unsigned int timeout_ms,
			struct blksnap_snapshot_event *ev);

#endif /* BLKSNAP_SNAPSHOT_H */
