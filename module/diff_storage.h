/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_DIFF_STORAGE_H
#define BLKSNAP_DIFF_STORAGE_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/kref.h>
#include <linux/blkdev.h>

struct event_queue;
struct block_device;
struct blksnap_sectors;
struct storage_range;

/**
 * struct storage_member - What storage is checked against: one member
 * device of the snapshot, copied so that no lock is needed to use it.
 * @name: The device's name ("%pg": "vdb1", "dm-0").
 * @lbs: Its logical block size in bytes.
 */
struct storage_member {
	char name[BDEVNAME_SIZE];
	unsigned int lbs;
};

/**
 * struct diff_storage - Where a snapshot keeps the old data of its chunks.
 * @kref: References: the snapshot's (dropped when the snapshot is freed)
 *	and one per diff_area (copy-on-write and image I/O use its regions).
 * @lock: Protects every field below except @all_link.  Copy-on-write takes
 *	it (diff_storage_alloc()), so nothing that may enter reclaim or open
 *	a device runs under it.
 * @all_link: Entry in the list of live storages (the storage registry's
 *	lock, see diff_storage.c).
 * @devices: Open storage devices (struct storage_dev).
 * @ranges: Appended sector ranges (struct storage_range), in order; regions
 *	are cut from the first one with room, bump-pointer style.  Changed
 *	with both @lock and the registry's lock held, so either is enough to
 *	walk it.
 * @cursor: The first range that may still have room, or NULL when every
 *	range is exhausted; diff_storage_alloc() starts there.
 * @capacity: Sum of the ranges, in sectors.
 * @filled: Sectors handed out or skipped (range tails too small for a
 *	region).
 * @low_armed: A low-free-space event will be sent when free space falls
 *	to diff_storage_minimum / 2 (the agent gets time to append more).
 * @members_gen: Bumped by diff_storage_check_member(), i.e. before a
 *	member joins; an APPEND that checked its device against an older
 *	list of members starts again (see diff_storage_append()).
 * @events: The snapshot's event queue (reference held).
 *
 * Lifetime: created with its snapshot; freed by the last put, after every
 * user of its regions (COW, image I/O) has finished.  Until then its ranges
 * stay taken: APPEND to another snapshot refuses them (-EEXIST).
 */
struct diff_storage {
	struct kref kref;
	struct mutex lock;		/* protects all fields but @all_link */
	struct list_head all_link;
	struct list_head devices;
	struct list_head ranges;
	struct storage_range *cursor;
	sector_t capacity;
	sector_t filled;
	bool low_armed;
	unsigned int members_gen;
	struct event_queue *events;
};

struct diff_storage *diff_storage_create(struct event_queue *events);
void diff_storage_get(struct diff_storage *ds);
void diff_storage_put(struct diff_storage *ds);
int diff_storage_append(struct diff_storage *ds, const char *path, dev_t dev,
			const struct blksnap_sectors *ranges, u32 count,
			const struct storage_member *members, int nr_members,
			unsigned int members_gen);
unsigned int diff_storage_members_gen(struct diff_storage *ds);
int diff_storage_check_member(struct diff_storage *ds,
			      const struct storage_member *member);
void diff_storage_member(struct block_device *bdev,
			 struct storage_member *member);
int diff_storage_alloc(struct diff_storage *ds, sector_t nr_sect,
		       unsigned int lbs, struct block_device **bdev,
		       sector_t *sector);
sector_t diff_storage_capacity(struct diff_storage *ds);

#endif /* BLKSNAP_DIFF_STORAGE_H */
