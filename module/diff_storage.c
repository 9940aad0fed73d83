// SPDX-License-Identifier: GPL-2.0
/*
 * Difference storage: sector ranges of other (or the same) block devices,
 * appended by user space, cut into chunk-sized regions in the order they
 * were appended.  Regions are never reused while the snapshot lives.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/blkdev.h>
#include <linux/blksnap.h>
#include "diff_storage.h"
#include "event_queue.h"
#include "params.h"

/* An open storage device, found again by path on later appends. */
struct storage_dev {
	struct list_head link;
	struct bdev_ref ref;
	char *path;
};

struct storage_range {
	struct list_head link;
	struct block_device *bdev;
	sector_t start;
	sector_t count;
	sector_t used;
};

/**
 * diff_storage_init() - Initialise an empty storage.
 * @ds: The storage.
 * @events: Where low-free-space events go.
 */
void diff_storage_init(struct diff_storage *ds, struct event_queue *events)
{
	mutex_init(&ds->lock);
	INIT_LIST_HEAD(&ds->devices);
	INIT_LIST_HEAD(&ds->ranges);
	ds->capacity = 0;
	ds->filled = 0;
	ds->low_armed = true;
	ds->events = events;
}

/**
 * diff_storage_done() - Close the storage devices and free the ranges.
 * @ds: The storage; nobody may use its regions any more.
 *
 * Context: may sleep.
 */
void diff_storage_done(struct diff_storage *ds)
{
	struct storage_range *r, *rt;
	struct storage_dev *d, *dt;

	list_for_each_entry_safe(r, rt, &ds->ranges, link) {
		list_del(&r->link);
		kfree(r);
	}
	list_for_each_entry_safe(d, dt, &ds->devices, link) {
		list_del(&d->link);
		bdev_ref_close(&d->ref);
		kfree(d->path);
		kfree(d);
	}
}

static sector_t diff_storage_free(struct diff_storage *ds)
{
	lockdep_assert_held(&ds->lock);
	return ds->capacity - ds->filled;
}

/**
 * diff_storage_capacity() - Sectors appended so far.
 * @ds: The storage.
 *
 * Return: the capacity in sectors.
 */
sector_t diff_storage_capacity(struct diff_storage *ds)
{
	sector_t cap;

	mutex_lock(&ds->lock);
	cap = ds->capacity;
	mutex_unlock(&ds->lock);
	return cap;
}

/**
 * diff_storage_append() - Add ranges of a block device to the storage.
 * @ds: The storage.
 * @path: Path of the block device holding the ranges.
 * @ranges: Kernel copy of the ranges (absolute sectors of that device).
 * @count: Number of ranges.
 *
 * Every range is checked before anything is added: a range that is empty,
 * runs past the end of the device or is not aligned to its logical block
 * size gives -EINVAL and the storage stays as it was.
 *
 * Context: may sleep.
 * Return: 0, -ENOTBLK when @path is not a block device, -EINVAL, -ENOMEM,
 * or the error of opening the device.
 */
int diff_storage_append(struct diff_storage *ds, const char *path,
			const struct blksnap_sectors *ranges, u32 count)
{
	struct storage_range **new;
	struct storage_dev *dev, *d;
	sector_t size, added = 0;
	unsigned int lbs_sect;
	bool opened = false;
	u32 i;
	int ret;

	if (!count)
		return -EINVAL;
	new = kcalloc(count, sizeof(*new), GFP_KERNEL);
	if (!new)
		return -ENOMEM;

	mutex_lock(&ds->lock);
	dev = NULL;
	list_for_each_entry(d, &ds->devices, link)
		if (!strcmp(d->path, path))
			dev = d;
	if (!dev) {
		dev = kzalloc(sizeof(*dev), GFP_KERNEL);
		if (!dev) {
			ret = -ENOMEM;
			goto out_unlock;
		}
		dev->path = kstrdup(path, GFP_KERNEL);
		ret = dev->path ? bdev_ref_open(path, ds, &dev->ref) : -ENOMEM;
		if (ret) {
			kfree(dev->path);
			kfree(dev);
			goto out_unlock;
		}
		opened = true;
	}

	size = bdev_nr_sectors(dev->ref.bdev);
	lbs_sect = bdev_logical_block_size(dev->ref.bdev) >> SECTOR_SHIFT;
	for (i = 0; i < count; i++) {
		const struct blksnap_sectors *r = &ranges[i];

		if (!r->count || r->offset >= size ||
		    r->count > size - r->offset ||
		    !IS_ALIGNED(r->offset, lbs_sect) ||
		    !IS_ALIGNED(r->count, lbs_sect)) {
			ret = -EINVAL;
			goto out_free_new;
		}
		new[i] = kzalloc(sizeof(*new[i]), GFP_KERNEL);
		if (!new[i]) {
			ret = -ENOMEM;
			goto out_free_new;
		}
		new[i]->bdev = dev->ref.bdev;
		new[i]->start = r->offset;
		new[i]->count = r->count;
		added += r->count;
	}
	if (opened)
		list_add_tail(&dev->link, &ds->devices);
	for (i = 0; i < count; i++)
		list_add_tail(&new[i]->link, &ds->ranges);
	ds->capacity += added;
	if (diff_storage_free(ds) > blksnap_param(diff_storage_minimum) / 2)
		ds->low_armed = true;
	mutex_unlock(&ds->lock);
	kfree(new);
	return 0;

out_free_new:
	for (i = 0; i < count; i++)
		kfree(new[i]);
	if (opened) {
		bdev_ref_close(&dev->ref);
		kfree(dev->path);
		kfree(dev);
	}
out_unlock:
	mutex_unlock(&ds->lock);
	kfree(new);
	return ret;
}

/**
 * diff_storage_alloc() - Cut a region for one chunk.
 * @ds: The storage.
 * @nr_sect: Size of the region.
 * @lbs: Logical block size of the original device; storage devices with a
 *	larger one cannot hold its chunks.
 * @bdev: Receives the storage device.
 * @sector: Receives the region's first sector.
 *
 * Sends the low-free-space event when free space falls to
 * diff_storage_minimum / 2 (once until an append lifts it above).
 *
 * Context: may sleep.
 * Return: 0, -ENOSPC when no range has room, -ENOTBLK for a block size
 * mismatch.
 */
int diff_storage_alloc(struct diff_storage *ds, sector_t nr_sect,
		       unsigned int lbs, struct block_device **bdev,
		       sector_t *sector)
{
	sector_t minimum = blksnap_param(diff_storage_minimum);
	struct storage_range *r;
	int ret = -ENOSPC;

	mutex_lock(&ds->lock);
	list_for_each_entry(r, &ds->ranges, link) {
		if (r->count - r->used < nr_sect) {
			/* too small for a region: give the tail up */
			ds->filled += r->count - r->used;
			r->used = r->count;
			continue;
		}
		if (bdev_logical_block_size(r->bdev) > lbs) {
			ret = -ENOTBLK;
			break;
		}
		*bdev = r->bdev;
		*sector = r->start + r->used;
		r->used += nr_sect;
		ds->filled += nr_sect;
		ret = 0;
		break;
	}
	if (ds->low_armed && diff_storage_free(ds) <= minimum / 2) {
		struct blksnap_event_low_free_space ev = {
			.requested_nr_sect = minimum,
		};

		ds->low_armed = false;
		event_gen(ds->events, blksnap_event_code_low_free_space, &ev,
			  sizeof(ev));
	}
	mutex_unlock(&ds->lock);
	return ret;
}
