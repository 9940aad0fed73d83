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
#include <linux/fs.h>
#include <linux/sort.h>
#include <linux/blksnap.h>
#include "diff_storage.h"
#include "event_queue.h"
#include "params.h"
#include "trace.h"

/*
 * The storage registry: every live storage, so that a range can be compared
 * with the ranges of all snapshots.  Its lock protects storages and, with
 * each storage's own lock, that storage's list of ranges (see struct
 * diff_storage).  Lock order: storage_registry_lock, then a storage's lock.
 * Nothing under it allocates or does I/O.
 */
static DEFINE_MUTEX(storage_registry_lock);
static LIST_HEAD(storages);

/* An open storage device, found again by block device on later appends. */
struct storage_dev {
	struct list_head link;
	struct bdev_ref ref;
};

/*
 * @disk and @abs place the range on its whole disk, so that ranges given
 * through a partition and through the disk itself are compared too.
 */
struct storage_range {
	struct list_head link;
	struct block_device *bdev;
	sector_t start;
	sector_t count;
	sector_t used;
	dev_t disk;
	sector_t abs;
};

/**
 * diff_storage_create() - Allocate an empty storage.
 * @events: Where low-free-space events go; the storage takes a reference.
 *
 * Context: may sleep.
 * Return: the storage with one reference held by the caller, or NULL.
 */
struct diff_storage *diff_storage_create(struct event_queue *events)
{
	struct diff_storage *ds = kzalloc(sizeof(*ds), GFP_KERNEL);

	if (!ds)
		return NULL;
	kref_init(&ds->kref);
	mutex_init(&ds->lock);
	INIT_LIST_HEAD(&ds->devices);
	INIT_LIST_HEAD(&ds->ranges);
	ds->low_armed = true;
	event_queue_get(events);
	ds->events = events;
	mutex_lock(&storage_registry_lock);
	list_add_tail(&ds->all_link, &storages);
	mutex_unlock(&storage_registry_lock);
	return ds;
}

/**
 * diff_storage_get() - Take a reference on a storage.
 * @ds: A storage the caller holds a reference on.
 */
void diff_storage_get(struct diff_storage *ds)
{
	kref_get(&ds->kref);
}

/*
 * The last user of the regions is gone: close the storage devices and free
 * the ranges, which are free for other snapshots from now on.
 */
static void diff_storage_release(struct kref *kref)
{
	struct diff_storage *ds = container_of(kref, struct diff_storage, kref);
	struct storage_range *r, *rt;
	struct storage_dev *d, *dt;
	LIST_HEAD(ranges);

	mutex_lock(&storage_registry_lock);
	list_del(&ds->all_link);
	list_splice_init(&ds->ranges, &ranges);
	mutex_unlock(&storage_registry_lock);
	list_for_each_entry_safe(r, rt, &ranges, link) {
		list_del(&r->link);
		kfree(r);
	}
	list_for_each_entry_safe(d, dt, &ds->devices, link) {
		list_del(&d->link);
		bdev_ref_close(&d->ref);
		kfree(d);
	}
	event_queue_put(ds->events);
	kfree(ds);
}

/**
 * diff_storage_put() - Drop a reference; the last one closes the storage
 * devices and frees the ranges.
 * @ds: The storage.
 *
 * Context: may sleep.
 */
void diff_storage_put(struct diff_storage *ds)
{
	kref_put(&ds->kref, diff_storage_release);
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

/* Send the low-free-space event and disarm it until free space grows. */
static void diff_storage_low(struct diff_storage *ds)
{
	struct blksnap_event_low_free_space ev = {
		.requested_nr_sect = blksnap_param(diff_storage_minimum),
	};

	lockdep_assert_held(&ds->lock);
	trace_blksnap_storage_low(ds->capacity, ds->filled);
	ds->low_armed = false;
	event_queue_push(ds->events, blksnap_event_code_low_free_space, &ev,
			 sizeof(ev));
}

/**
 * diff_storage_member() - Describe a member device for the storage checks.
 * @bdev: The member device.
 * @member: Receives its name and logical block size.
 */
void diff_storage_member(struct block_device *bdev,
			 struct storage_member *member)
{
	snprintf(member->name, sizeof(member->name), "%pg", bdev);
	member->lbs = bdev_logical_block_size(bdev);
}

/*
 * Storage stacked over a member.  Device-mapper and md register each device
 * they sit on in /sys/class/block/<upper>/slaves (bd_link_disk_holder()); the
 * kernel keeps no other public record of it, so the check reads that
 * directory, through the VFS, in the caller's mount namespace, recursively.
 * A partition has no slaves of its own: its disk's are read.  Loop devices
 * register no slaves (a loop over a file is TAKE's freeze-order concern).
 */
#define STACK_MAX_DEPTH	8
#define STACK_MAX_SLAVES	128

struct slaves_ctx {
	struct dir_context ctx;
	char (*names)[BDEVNAME_SIZE];
	int n;
};

static FILLDIR_RET slaves_actor(struct dir_context *ctx, const char *name,
				int len, loff_t off, u64 ino,
				unsigned int type)
{
	struct slaves_ctx *sc = container_of(ctx, struct slaves_ctx, ctx);

	if (name[0] == '.')
		return FILLDIR_CONTINUE;
	if (sc->n == STACK_MAX_SLAVES || len >= BDEVNAME_SIZE)
		return FILLDIR_STOP;
	memcpy(sc->names[sc->n], name, len);
	sc->names[sc->n][len] = '\0';
	sc->n++;
	return FILLDIR_CONTINUE;
}

/* Read the names in /sys/class/block/@upper/slaves (or its disk's). */
static int storage_slaves(const char *upper, struct slaves_ctx *sc)
{
	static const char * const fmt[] = {
		"/sys/class/block/%s/slaves",
		"/sys/class/block/%s/../slaves",	/* a partition */
	};
	struct file *dir = ERR_PTR(-ENOENT);
	char *path;
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(fmt) && IS_ERR(dir); i++) {
		path = kasprintf(GFP_KERNEL, fmt[i], upper);
		if (!path)
			return -ENOMEM;
		dir = filp_open(path, O_RDONLY | O_DIRECTORY, 0);
		kfree(path);
	}
	if (IS_ERR(dir))
		return 0;	/* not a block device in this namespace */
	sc->n = 0;
	ret = iterate_dir(dir, &sc->ctx);
	filp_close(dir, NULL);
	return ret;
}

/* 1 if device @upper sits on @name (not counting itself), 0, or -errno. */
static int storage_stacked_on(const char *upper, const char *name, int depth)
{
	struct slaves_ctx sc = { .ctx.actor = slaves_actor };
	int i, ret;

	if (depth > STACK_MAX_DEPTH)
		return -ELOOP;
	sc.names = kmalloc_array(STACK_MAX_SLAVES, BDEVNAME_SIZE, GFP_KERNEL);
	if (!sc.names)
		return -ENOMEM;
	ret = storage_slaves(upper, &sc);
	for (i = 0; i < sc.n && !ret; i++) {
		if (!strcmp(sc.names[i], name))
			ret = 1;
		else
			ret = storage_stacked_on(sc.names[i], name, depth + 1);
	}
	kfree(sc.names);
	return ret;
}

/*
 * May storage device @sname (logical block size @lbs) serve member @m?
 * -EINVAL: its blocks are larger than the member's (a chunk could not be
 * written); -ELOOP: it sits on the member, so writing a chunk would go
 * through the member's filter again.
 */
static int storage_check(const char *sname, unsigned int lbs,
			 const struct storage_member *m)
{
	int ret;

	if (lbs > m->lbs)
		return -EINVAL;
	ret = storage_stacked_on(sname, m->name, 0);
	return ret > 0 ? -ELOOP : ret;
}

/**
 * diff_storage_members_gen() - The generation of the list of members.
 * @ds: The storage.
 *
 * Read it with the list of members (under blkfilter_lock()) and pass it to
 * diff_storage_append().
 *
 * Return: the generation.
 */
unsigned int diff_storage_members_gen(struct diff_storage *ds)
{
	unsigned int gen;

	mutex_lock(&ds->lock);
	gen = ds->members_gen;
	mutex_unlock(&ds->lock);
	return gen;
}

/**
 * diff_storage_check_member() - May this storage serve a (new) member?
 * @ds: The storage.
 * @member: The member device.
 *
 * Checks every storage device appended so far, as APPEND checks a new
 * device against the members.  Bumps the members' generation in the
 * locked section that counts the devices: an APPEND whose device is not
 * counted sees the new generation and checks again against the new list
 * of members (which it reads under blkfilter_lock(), held by snapshotadd
 * until the member is in), so a device and a member that join at the same
 * time are always checked against each other.
 *
 * Context: may sleep; no storage lock held.
 * Return: 0, -EINVAL (a storage device has a larger logical block size),
 * -ELOOP (a storage device is stacked over the member), -ENOMEM.
 */
int diff_storage_check_member(struct diff_storage *ds,
			      const struct storage_member *member)
{
	struct storage_member *devs;
	struct storage_dev *d;
	int n = 0, i, ret = 0;

	mutex_lock(&ds->lock);
	ds->members_gen++;
	list_for_each_entry(d, &ds->devices, link)
		n++;
	mutex_unlock(&ds->lock);
	if (!n)
		return 0;
	devs = kcalloc(n, sizeof(*devs), GFP_KERNEL);
	if (!devs)
		return -ENOMEM;
	i = 0;
	mutex_lock(&ds->lock);
	/*
	 * Devices are only ever added at the tail, and none with an older
	 * generation since the bump above: the first n are all there are.
	 */
	list_for_each_entry(d, &ds->devices, link) {
		if (i == n)
			break;
		diff_storage_member(d->ref.bdev, &devs[i++]);
	}
	mutex_unlock(&ds->lock);
	for (i = 0; i < n && !ret; i++)
		ret = storage_check(devs[i].name, devs[i].lbs, member);
	kfree(devs);
	return ret;
}

static int range_cmp(const void *a, const void *b)
{
	const struct storage_range *x = *(const struct storage_range **)a;
	const struct storage_range *y = *(const struct storage_range **)b;

	return x->abs < y->abs ? -1 : x->abs > y->abs;
}

/*
 * Does @r intersect one of @sorted[0..n), which are sorted by start and
 * do not intersect each other (so their ends are sorted as well)?
 */
static bool storage_ranges_overlap(const struct storage_range *r,
				   struct storage_range **sorted, u32 n)
{
	u32 lo = 0, hi = n;

	/* the first range that ends after r starts */
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (sorted[mid]->abs + sorted[mid]->count <= r->abs)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && sorted[lo]->abs < r->abs + r->count;
}

/*
 * -EEXIST if a range of @sorted (all on one disk) intersects another of
 * them or a range of any live storage.
 */
static int ranges_check_overlap(struct storage_range **sorted, u32 n)
{
	struct diff_storage *other;
	struct storage_range *r;
	u32 i;

	lockdep_assert_held(&storage_registry_lock);
	for (i = 1; i < n; i++)
		if (sorted[i]->abs < sorted[i - 1]->abs + sorted[i - 1]->count)
			return -EEXIST;
	list_for_each_entry(other, &storages, all_link) {
		list_for_each_entry(r, &other->ranges, link) {
			if (r->disk == sorted[0]->disk &&
			    storage_ranges_overlap(r, sorted, n))
				return -EEXIST;
		}
		cond_resched();
	}
	return 0;
}

/**
 * diff_storage_append() - Add ranges of a block device to the storage.
 * @ds: The storage.
 * @path: Path of the block device holding the ranges, or NULL: @dev.
 * @dev: Number of that device, when @path is NULL.
 * @ranges: Kernel copy of the ranges (absolute sectors of that device).
 * @count: Number of ranges.
 * @members: The snapshot's member devices at the time of the call.
 * @nr_members: Number of @members.
 * @members_gen: diff_storage_members_gen() read with @members.
 *
 * Every range is checked before anything is added, and a refused request
 * changes nothing: -EINVAL for a range that is empty, runs past the end of
 * the device or is not aligned to its logical block size, and for a device
 * whose logical block size is larger than a member's; -EEXIST for a range
 * that intersects another range of the request or a range already given
 * to this or any other live snapshot (on the same disk, partitions
 * included); -ELOOP for a device stacked over a member.
 *
 * The device is opened and everything allocated before the storage lock
 * is taken: copy-on-write takes that lock, and reclaim may write to a
 * snapshotted device.
 *
 * Context: may sleep.
 * Return: 0, -ENOTBLK when @path is not a block device, -EINVAL, -EEXIST,
 * -ELOOP, -ENOMEM, the error of opening the device, or -EAGAIN (nothing
 * changed) when a member joined meanwhile: call again with the new list.
 */
int diff_storage_append(struct diff_storage *ds, const char *path, dev_t dev,
			const struct blksnap_sectors *ranges, u32 count,
			const struct storage_member *members, int nr_members,
			unsigned int members_gen)
{
	struct storage_range **new, **sorted;
	struct storage_dev *sdev, *d;
	struct block_device *bdev;
	char name[BDEVNAME_SIZE];
	sector_t size, added = 0;
	unsigned int lbs_sect;
	bool opened = true;
	int m, ret;
	u32 i;

	if (!count)
		return -EINVAL;
	new = kvcalloc(count, sizeof(*new), GFP_KERNEL);
	sorted = kvcalloc(count, sizeof(*sorted), GFP_KERNEL);
	sdev = kzalloc(sizeof(*sdev), GFP_KERNEL);
	if (!new || !sorted || !sdev) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (path)
		ret = bdev_ref_open(path, ds, &sdev->ref);
	else
		ret = bdev_ref_open_dev(dev, true, ds, &sdev->ref);
	if (ret)
		goto out_free;
	bdev = sdev->ref.bdev;

	snprintf(name, sizeof(name), "%pg", bdev);
	for (m = 0; m < nr_members && !ret; m++)
		ret = storage_check(name, bdev_logical_block_size(bdev),
				    &members[m]);
	if (ret)
		goto out_close;

	size = bdev_nr_sectors(bdev);
	lbs_sect = bdev_logical_block_size(bdev) >> SECTOR_SHIFT;
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
		new[i]->bdev = bdev;
		new[i]->start = r->offset;
		new[i]->count = r->count;
		new[i]->disk = bdev_whole(bdev)->bd_dev;
		new[i]->abs = get_start_sect(bdev) + r->offset;
		sorted[i] = new[i];
		added += r->count;
	}
	sort(sorted, count, sizeof(*sorted), range_cmp, NULL);

	mutex_lock(&storage_registry_lock);
	ret = ranges_check_overlap(sorted, count);
	if (ret) {
		mutex_unlock(&storage_registry_lock);
		goto out_free_new;
	}
	mutex_lock(&ds->lock);
	if (ds->members_gen != members_gen) {
		mutex_unlock(&ds->lock);
		mutex_unlock(&storage_registry_lock);
		ret = -EAGAIN;
		goto out_free_new;
	}
	list_for_each_entry(d, &ds->devices, link)
		if (d->ref.bdev->bd_dev == bdev->bd_dev)
			opened = false;
	if (opened)
		list_add_tail(&sdev->link, &ds->devices);
	for (i = 0; i < count; i++)
		list_add_tail(&new[i]->link, &ds->ranges);
	if (!ds->cursor)
		ds->cursor = new[0];
	ds->capacity += added;
	/* still low after an append: say so again, the agent must add more */
	if (diff_storage_free(ds) > blksnap_param(diff_storage_minimum) / 2)
		ds->low_armed = true;
	else
		diff_storage_low(ds);
	mutex_unlock(&ds->lock);
	mutex_unlock(&storage_registry_lock);
	if (!opened) {		/* already open: keep the first opening */
		bdev_ref_close(&sdev->ref);
		kfree(sdev);
	}
	kvfree(sorted);
	kvfree(new);
	return 0;

out_free_new:
	for (i = 0; i < count; i++)
		kfree(new[i]);
out_close:
	bdev_ref_close(&sdev->ref);
out_free:
	kfree(sdev);
	kvfree(sorted);
	kvfree(new);
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
 * diff_storage_minimum / 2; then no more until an append (which sends it
 * again at once if free space is still that low, see
 * diff_storage_append()).  Walks only from the first range with room.
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
	/* ranges before the cursor are full: start at the first with room */
	for (r = ds->cursor; r && r->count - r->used < nr_sect;
	     r = list_is_last(&r->link, &ds->ranges) ?
		 NULL : list_next_entry(r, link)) {
		/* too small for a region: give the tail up */
		ds->filled += r->count - r->used;
		r->used = r->count;
	}
	ds->cursor = r;
	if (r && bdev_logical_block_size(r->bdev) > lbs) {
		ret = -ENOTBLK;
	} else if (r) {
		*bdev = r->bdev;
		*sector = r->start + r->used;
		r->used += nr_sect;
		ds->filled += nr_sect;
		ret = 0;
	}
	if (ds->low_armed && diff_storage_free(ds) <= minimum / 2)
		diff_storage_low(ds);
	trace_blksnap_storage_overflow(ds->capacity, ds->filled, nr_sect, ret);
	mutex_unlock(&ds->lock);
	return ret;
}
