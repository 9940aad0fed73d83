// SPDX-License-Identifier: GPL-2.0
/*
 * The "blksnap" filter: one tracker per attached block device.
 *
 * Attaching "blksnap" to a device (BLKFILTER_ATTACH on its fd) creates a
 * tracker and its CBT map; from then on every write, write-zeroes and
 * discard is marked in the map before it is passed down, and, while a
 * snapshot of the device is taken, offered to its diff_area for
 * copy-on-write.  The CBT operations of the front ends are here; the
 * BLKFILTER_CTL commands themselves are parsed by the front end (ctl.c),
 * which hands its handler to tracker_init().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/uaccess.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/blksnap.h>
#include "tracker.h"
#include "cbt_map.h"
#include "diff_area.h"
#include "trace.h"

static tracker_ctl_fn tracker_ctl_handler;

static void tracker_release(struct kref *kref)
{
	struct tracker *tracker = container_of(kref, struct tracker, kref);

	/* only a tracker switches its map: no catch-up is queued after this */
	cbt_map_switch_wait(tracker->cbt_map);
	cbt_map_put(tracker->cbt_map);
	kfree(tracker);
}

/**
 * tracker_get() - Take a reference on a tracker.
 * @tracker: A tracker the caller already holds a reference on.
 */
void tracker_get(struct tracker *tracker)
{
	kref_get(&tracker->kref);
}

/**
 * tracker_put() - Drop a reference; the last one frees the tracker.
 * @tracker: The tracker.
 *
 * Context: may sleep (vfree of the maps).
 */
void tracker_put(struct tracker *tracker)
{
	kref_put(&tracker->kref, tracker_release);
}

static inline struct tracker *to_tracker(struct blkfilter *flt)
{
	return container_of(flt, struct tracker, filter);
}

/**
 * tracker_set_diff_area() - Start or stop copy-on-write on a device.
 * @tracker: The device's tracker.
 * @da: The diff_area writes are offered to from now on, or NULL.
 *
 * The caller keeps @da alive until it has set the pointer back to NULL.
 * Context: blkfilter_lock() held, and the tracker's filter frozen by the
 * caller (or detached), so no write is between reading the pointer and
 * its copy-on-write.
 */
void tracker_set_diff_area(struct tracker *tracker, struct diff_area *da)
{
	blkfilter_assert_locked();
	WRITE_ONCE(tracker->diff_area, da);
}

static struct blkfilter *tracker_attach(struct block_device *bdev)
{
	struct tracker *tracker;
	unsigned int noio;

	/* zone resets and appends change data with no sectors to mark */
	if (bdev_is_zoned(bdev))
		return ERR_PTR(-EOPNOTSUPP);
	noio = memalloc_noio_save();
	tracker = kzalloc(sizeof(*tracker), GFP_KERNEL);
	memalloc_noio_restore(noio);
	if (!tracker)
		return ERR_PTR(-ENOMEM);

	tracker->cbt_map = cbt_map_create(bdev_nr_sectors(bdev));
	if (IS_ERR(tracker->cbt_map)) {
		int ret = PTR_ERR(tracker->cbt_map);

		kfree(tracker);
		return ERR_PTR(ret);
	}
	kref_init(&tracker->kref);
	mutex_init(&tracker->ctl_lock);
	tracker->dev_id = bdev->bd_dev;
	tracker->attached = true;
	pr_debug("tracker for %pg attached\n", bdev);
	trace_blksnap_attach(bdev->bd_dev, bdev_nr_sectors(bdev));
	return &tracker->filter;
}

static void tracker_detach(struct blkfilter *flt)
{
	struct tracker *tracker = to_tracker(flt);

	pr_debug("tracker for %pg detached\n", flt->bdev);
	trace_blksnap_detach(tracker->dev_id);
	tracker->attached = false;
	tracker_put(tracker);
}

/* A member of a snapshot (created or taken) stays attached. */
static int tracker_may_detach(struct blkfilter *flt)
{
	return to_tracker(flt)->snapshot ? -EBUSY : 0;
}

/* The device went away under a taken snapshot: its image is lost. */
static void tracker_device_gone(struct blkfilter *flt)
{
	struct tracker *tracker = to_tracker(flt);

	if (tracker->diff_area)
		diff_area_set_corrupted(tracker->diff_area, -ENODEV);
}

/*
 * The device's content was replaced (new media, loop backing file, dm
 * table, size): its CBT history no longer describes it, and a taken
 * snapshot would read the new content as if it were the old one.
 */
static void tracker_media_changed(struct blkfilter *flt)
{
	struct tracker *tracker = to_tracker(flt);
	struct diff_area *da = READ_ONCE(tracker->diff_area);

	cbt_map_invalidate(tracker->cbt_map);
	if (da)
		diff_area_set_corrupted(da, -ESTALE);
}

/*
 * Every bio whose data changes the device's content is marked before it
 * passes: writes, write-zeroes, discards, secure erase.  The filter layer
 * never offers the module's own bios, so storage writes stay unmarked.
 */
static bool tracker_submit_bio(struct blkfilter *flt, struct bio *bio)
{
	struct tracker *tracker = to_tracker(flt);
	struct diff_area *da;
	sector_t sector;

	if (!op_is_write(bio_op(bio)) || !bio_sectors(bio))
		return false;
	sector = blkfilter_bio_sector(bio);
	cbt_map_mark(tracker->cbt_map, sector, bio_sectors(bio));

	/* Copy-on-write, independent of the CBT mark's outcome. */
	da = READ_ONCE(tracker->diff_area);
	if (!da || !diff_area_cow_needed(da, sector, bio_sectors(bio)))
		return false;
	if (diff_area_task_in_cow()) {
		/* our storage write came back: storage stacked on the device */
		diff_area_set_corrupted(da, -ELOOP);
		return false;
	}
	/* the copy waits for I/O: not here for these (see defer_bio) */
	if ((bio->bi_opf & REQ_NOWAIT) || !blkfilter_bio_may_wait())
		return blkfilter_defer_bio(flt, bio);
	diff_area_cow(da, sector, bio_sectors(bio));
	return false;
}

/*
 * The submission hook's fast path: a write that needs no copy only marks
 * the CBT map, which never sleeps.  One that may need a copy goes to
 * tracker_submit_bio() unmarked (it marks there).
 */
static bool tracker_pass_write(struct blkfilter *flt, struct bio *bio)
{
	struct tracker *tracker = to_tracker(flt);
	sector_t sector = blkfilter_bio_sector(bio);
	struct diff_area *da = READ_ONCE(tracker->diff_area);

	if (da && diff_area_cow_needed(da, sector, bio_sectors(bio)))
		return false;
	cbt_map_mark(tracker->cbt_map, sector, bio_sectors(bio));
	return true;
}

/**
 * tracker_cbt_info() - Describe the device's CBT map.
 * @tracker: The tracker.
 * @info: Receives the description.
 *
 * Context: may sleep (takes the tracker's ctl_lock).
 */
void tracker_cbt_info(struct tracker *tracker, struct tracker_cbt_info *info)
{
	struct cbt_map *map = tracker->cbt_map;

	mutex_lock(&tracker->ctl_lock);
	info->capacity = (u64)map->capacity << SECTOR_SHIFT;
	info->block_size = 1U << map->blk_shift;
	info->block_count = map->blk_count;
	info->generation_id = map->generation_id;
	info->changes_number = map->snap_number_previous;
	mutex_unlock(&tracker->ctl_lock);
}

/**
 * tracker_cbt_read() - Copy part of the map frozen at the last switch.
 * @tracker: The tracker.
 * @offset: First map byte (block) to copy.
 * @length: Bytes wanted; fewer are copied at the end of the map.
 * @buf: User buffer of at least @length bytes.
 *
 * Context: may sleep.
 * Return: the number of bytes copied, -EINVAL if @offset is past the
 * map's end, -EFAULT.
 */
long tracker_cbt_read(struct tracker *tracker, u32 offset, u32 length,
		      u8 __user *buf)
{
	struct cbt_map *map = tracker->cbt_map;
	unsigned long n;
	long ret;

	mutex_lock(&tracker->ctl_lock);
	if (offset >= map->blk_count) {
		ret = -EINVAL;
		goto out_unlock;
	}
	n = min_t(unsigned long, length, map->blk_count - offset);
	ret = copy_to_user(buf, map->read_map + offset, n) ? -EFAULT : n;
out_unlock:
	mutex_unlock(&tracker->ctl_lock);
	return ret;
}

/**
 * tracker_cbt_mark_dirty() - Mark sector ranges as changed in both maps.
 * @tracker: The tracker.
 * @ranges: User array of @count ranges (device-relative sectors).
 * @count: Number of ranges.
 *
 * Every range is validated first and marked only when all are good, so a
 * refused request changes nothing.  The array is read twice; a range that
 * changed in between is checked again before it is applied.
 *
 * Context: may sleep; a fatal signal ends a long request.
 * Return: 0, -EINVAL for a range past the device's end, -EFAULT, -EINTR.
 */
int tracker_cbt_mark_dirty(struct tracker *tracker,
			   const struct blksnap_sectors __user *ranges,
			   u32 count)
{
	struct cbt_map *map = tracker->cbt_map;
	struct blksnap_sectors range;
	int ret = 0;
	bool apply;
	u32 i;

	mutex_lock(&tracker->ctl_lock);
	for (apply = false; ; apply = true) {
		for (i = 0; i < count && !ret; i++) {
			if (copy_from_user(&range, &ranges[i], sizeof(range)))
				ret = -EFAULT;
			else if (range.offset > map->capacity ||
				 range.count > map->capacity - range.offset)
				ret = -EINVAL;
			else if (apply)
				cbt_map_mark_both(map, range.offset,
						  range.count);
			/* a huge count must not keep every ctl waiting */
			if (!ret && fatal_signal_pending(current))
				ret = -EINTR;
			cond_resched();
		}
		if (apply || ret)
			break;
	}
	mutex_unlock(&tracker->ctl_lock);
	return ret;
}

/* A switch that rebuilds the map allocates, so it can fail. */
static bool tracker_cbt_must_rebuild(struct tracker *tracker)
{
	lockdep_assert_held(&tracker->ctl_lock);
	return READ_ONCE(tracker->cbt_map->is_corrupted) ||
	       tracker->cbt_map->capacity !=
	       bdev_nr_sectors(tracker->filter.bdev);
}

/**
 * tracker_cbt_prepare() - Prepare the CBT switch of a TAKE.
 * @tracker: The tracker, its filter not frozen.
 *
 * Whatever the switch would allocate (a rebuild, a wrap past 255) is
 * allocated now, and the catch-up of the previous switch is waited for,
 * so that tracker_cbt_switch() inside the frozen window only swaps
 * pointers.
 *
 * Context: may sleep.
 * Return: 0, or -ENOMEM (nothing changed).
 */
int tracker_cbt_prepare(struct tracker *tracker)
{
	int ret;

	mutex_lock(&tracker->ctl_lock);
	ret = cbt_map_switch_prepare(tracker->cbt_map,
				     bdev_nr_sectors(tracker->filter.bdev));
	mutex_unlock(&tracker->ctl_lock);
	return ret;
}

/**
 * tracker_cbt_finish() - Finish a CBT switch once the filter runs again.
 * @tracker: The tracker, its filter unfrozen.
 *
 * Queues the catch-up of the new write map (see cbt_map_switch()).  Called
 * after every tracker_cbt_switch() pass, whether the switch happened or not.
 *
 * Context: may sleep.
 */
void tracker_cbt_finish(struct tracker *tracker)
{
	mutex_lock(&tracker->ctl_lock);
	cbt_map_switch_finish(tracker->cbt_map);
	mutex_unlock(&tracker->ctl_lock);
}

/**
 * tracker_cbt_switch() - Start a new change number (snapshot TAKE).
 * @tracker: The tracker, its filter frozen by the caller.
 * @rebuild: Switch only if the map must be rebuilt (true) or only if it
 *	need not (false): TAKE runs the switches that can fail first.
 *
 * Context: may sleep.
 * Return: 0 (also when nothing was to be done), or -ENOMEM from a rebuild.
 */
int tracker_cbt_switch(struct tracker *tracker, bool rebuild)
{
	int ret = 0;

	mutex_lock(&tracker->ctl_lock);
	if (tracker_cbt_must_rebuild(tracker) == rebuild)
		ret = cbt_map_switch(tracker->cbt_map,
				     bdev_nr_sectors(tracker->filter.bdev));
	mutex_unlock(&tracker->ctl_lock);
	return ret;
}

/**
 * tracker_cbt_switch_test() - The CBT switch of a TAKE, without a snapshot.
 * @tracker: The tracker.
 *
 * Test builds only (BLKSNAP_TESTING=y), so that the test suite can see what
 * writes marked.
 *
 * Context: blkfilter_lock() held; may sleep.
 * Return: 0, -ENOTTY in a build without tests, or a switch error.
 */
int tracker_cbt_switch_test(struct tracker *tracker)
{
	int ret;

	blkfilter_assert_locked();
	if (!BLKSNAP_TESTING)
		return -ENOTTY;
	ret = tracker_cbt_prepare(tracker);
	if (ret)
		return ret;
	ret = blkfilter_freeze(&tracker->filter);
	if (ret)
		return ret;
	mutex_lock(&tracker->ctl_lock);
	ret = cbt_map_switch(tracker->cbt_map,
			     bdev_nr_sectors(tracker->filter.bdev));
	mutex_unlock(&tracker->ctl_lock);
	blkfilter_unfreeze(&tracker->filter);
	tracker_cbt_finish(tracker);
	return ret;
}

static int tracker_ctl(struct blkfilter *flt, unsigned int cmd,
		       __u8 __user *buf, __u32 *plen)
{
	return tracker_ctl_handler(to_tracker(flt), cmd, buf, plen);
}

static struct blkfilter_operations tracker_ops = {
	.owner = THIS_MODULE,
	.name = "blksnap",
	.attach = tracker_attach,
	.detach = tracker_detach,
	.may_detach = tracker_may_detach,
	.device_gone = tracker_device_gone,
	.media_changed = tracker_media_changed,
	.ctl = tracker_ctl,
	.submit_bio = tracker_submit_bio,
	.pass_write = tracker_pass_write,
	.writes_only = true,	/* reads of the origin need nothing */
};

/**
 * tracker_find_dev() - The tracker of the device numbered @dev.
 * @dev: The device number (whole disk or partition).
 *
 * Context: blkfilter_lock() held; no reference is taken, the tracker stays
 * valid until the lock is dropped.
 * Return: the tracker, or NULL if "blksnap" is not attached to it.
 */
struct tracker *tracker_find_dev(dev_t dev)
{
	struct blkfilter *flt;

	blkfilter_assert_locked();
	flt = blkfilter_find(dev, &tracker_ops);
	return flt ? to_tracker(flt) : NULL;
}

/**
 * tracker_get_by_dev() - The tracker of the device numbered @dev, with a
 * reference for the caller (tracker_put()).
 * @dev: The device number.
 *
 * Context: may sleep; takes blkfilter_lock().
 * Return: the tracker, or NULL.
 */
struct tracker *tracker_get_by_dev(dev_t dev)
{
	struct tracker *tracker;

	blkfilter_lock();
	tracker = tracker_find_dev(dev);
	if (tracker)
		tracker_get(tracker);
	blkfilter_unlock();
	return tracker;
}

/**
 * tracker_attach_dev() - Start tracking the device numbered @dev, unless it
 * is tracked already.
 * @dev: The device number.
 * @attached: Set to true when this call attached the tracker.
 *
 * The device is opened by its number for the attach and closed again.
 * The attachment holds no module reference: module unload detaches it.
 * A tracker attached with BLKFILTER_ATTACH is reused as it is (it keeps
 * its module reference and its CBT history).
 *
 * Context: may sleep; blkfilter_lock() not held (attach freezes the
 * device's file system).
 * Return: 0, the error of opening the device (-ENXIO for an unused
 * number), -EBUSY (another filter is attached), -EOPNOTSUPP (zoned or
 * DAX), -ENODEV (the disk is going away), -ENOMEM.
 */
int tracker_attach_dev(dev_t dev, bool *attached)
{
	struct bdev_ref ref;
	int ret;

	*attached = false;
	ret = bdev_ref_open_dev(dev, false, NULL, &ref);
	if (ret)
		return ret;
	ret = blkfilter_attach(ref.bdev, tracker_ops.name, false);
	bdev_ref_close(&ref);
	if (!ret)
		*attached = true;
	return ret == -EALREADY ? 0 : ret;
}

/**
 * tracker_detach_dev() - Stop tracking the device numbered @dev, as
 * BLKFILTER_DETACH "blksnap" on its file descriptor would.
 * @dev: The device number.
 *
 * Context: may sleep; blkfilter_lock() not held.
 * Return: 0, -ENOENT (not tracked), -EBUSY (a member of a snapshot).
 */
int tracker_detach_dev(dev_t dev)
{
	int ret = blkfilter_detach(dev, tracker_ops.name);

	return ret == -EINVAL ? -ENOENT : ret;	/* another filter's */
}

struct tracker_collect_ctx {
	struct tracker **arr;
	u32 n;
};

static int tracker_collect_one(struct blkfilter *flt, void *data)
{
	struct tracker_collect_ctx *ctx = data;

	if (ctx->arr) {
		tracker_get(to_tracker(flt));
		ctx->arr[ctx->n] = to_tracker(flt);
	}
	ctx->n++;
	return 0;
}

/**
 * tracker_collect() - Every attached tracker.
 * @arr: Array of *@count pointers, filled with referenced trackers (put
 *	each with tracker_put()); or NULL to ask for the number.
 * @count: In: room in @arr.  Out: the number of attached trackers.
 *
 * Context: may sleep; takes blkfilter_lock().
 * Return: 0, or -ENODATA (nothing filled) when @arr is too small.
 */
int tracker_collect(struct tracker **arr, u32 *count)
{
	struct tracker_collect_ctx ctx = {};
	int ret = 0;

	blkfilter_lock();
	blkfilter_for_each(&tracker_ops, tracker_collect_one, &ctx);
	if (arr && ctx.n <= *count) {
		ctx.arr = arr;
		ctx.n = 0;
		blkfilter_for_each(&tracker_ops, tracker_collect_one, &ctx);
	} else if (arr) {
		ret = -ENODATA;
	}
	blkfilter_unlock();
	*count = ctx.n;
	return ret;
}

/**
 * tracker_init() - Register the "blksnap" filter with the filter layer.
 * @ctl: Serves the filter's BLKFILTER_CTL commands.
 *
 * Context: module init; may sleep.
 * Return: 0 or a negative errno.
 */
int tracker_init(tracker_ctl_fn ctl)
{
	tracker_ctl_handler = ctl;
	return blkfilter_register(&tracker_ops);
}

/**
 * tracker_exit() - Unregister the "blksnap" filter.
 *
 * Attachments made through BLKFILTER_ATTACH hold a module reference, so
 * none is left when module exit runs; attachments that do not pin the
 * module (made without a file descriptor) are detached here by
 * blkfilter_unregister(), which ends their CBT history.
 * Context: module exit; may sleep.
 */
void tracker_exit(void)
{
	blkfilter_unregister(&tracker_ops);
}
