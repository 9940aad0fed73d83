// SPDX-License-Identifier: GPL-2.0
/*
 * The "blksnap" filter: one tracker per attached block device.
 *
 * Attaching "blksnap" to a device (BLKFILTER_ATTACH on its fd) creates a
 * tracker and its CBT map; from then on every write, write-zeroes and
 * discard is marked in the map before it is passed down.  The ctl commands
 * sent with BLKFILTER_CTL are served here.
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
#include "snapshot.h"

static void tracker_release(struct kref *kref)
{
	struct tracker *tracker = container_of(kref, struct tracker, kref);

	cbt_map_destroy(tracker->cbt_map);
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
	INIT_LIST_HEAD(&tracker->snap_link);
	pr_debug("tracker for %u:%u attached\n",
		 MAJOR(tracker->dev_id), MINOR(tracker->dev_id));
	return &tracker->filter;
}

static void tracker_detach(struct blkfilter *flt)
{
	struct tracker *tracker = to_tracker(flt);

	pr_debug("tracker for %u:%u detached\n",
		 MAJOR(tracker->dev_id), MINOR(tracker->dev_id));
	tracker->attached = false;
	tracker_put(tracker);
}

/* Decision 5: a device in a snapshot (created or taken) stays attached. */
static int tracker_may_detach(struct blkfilter *flt)
{
	return to_tracker(flt)->snapshot ? -EBUSY : 0;
}

/* Decision 16: the device went away under a taken snapshot. */
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
	sector = bio_sector_rel(bio);
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

static int ctl_cbtinfo(struct tracker *tracker, __u8 __user *buf, __u32 *plen)
{
	struct cbt_map *map = tracker->cbt_map;
	struct blksnap_cbtinfo info = {};

	lockdep_assert_held(&tracker->ctl_lock);
	if (*plen < sizeof(info))
		return -EINVAL;

	info.device_capacity = (__u64)map->capacity << SECTOR_SHIFT;
	info.block_size = 1U << map->blk_shift;
	info.block_count = map->blk_count;
	export_uuid(info.generation_id.b, &map->generation_id);
	info.changes_number = map->snap_number_previous;
	if (copy_to_user(buf, &info, sizeof(info)))
		return -EFAULT;
	*plen = sizeof(info);
	return 0;
}

static int ctl_cbtmap(struct tracker *tracker, __u8 __user *buf, __u32 *plen)
{
	struct cbt_map *map = tracker->cbt_map;
	struct blksnap_cbtmap arg;
	unsigned long length;

	lockdep_assert_held(&tracker->ctl_lock);
	if (*plen < sizeof(arg))
		return -EINVAL;
	if (copy_from_user(&arg, buf, sizeof(arg)))
		return -EFAULT;
	if (arg.offset >= map->blk_count)
		return -EINVAL;

	length = min_t(unsigned long, arg.length, map->blk_count - arg.offset);
	if (copy_to_user((void __user *)(uintptr_t)arg.buffer,
			 map->read_map + arg.offset, length))
		return -EFAULT;
	*plen = sizeof(arg);
	return length;
}

/*
 * Validate every range first and mark only when all are good, so that a
 * refused request changes nothing.  The array is read twice; a range that
 * changed in between is checked again before it is applied.
 */
static int ctl_cbtdirty(struct tracker *tracker, __u8 __user *buf,
			__u32 *plen)
{
	struct cbt_map *map = tracker->cbt_map;
	struct blksnap_cbtdirty arg;
	struct blksnap_sectors range;
	struct blksnap_sectors __user *ranges;
	bool apply;
	u32 i;

	lockdep_assert_held(&tracker->ctl_lock);
	if (*plen < sizeof(arg))
		return -EINVAL;
	if (copy_from_user(&arg, buf, sizeof(arg)))
		return -EFAULT;
	ranges = (struct blksnap_sectors __user *)(uintptr_t)arg.dirty_sectors;

	for (apply = false; ; apply = true) {
		for (i = 0; i < arg.count; i++) {
			if (copy_from_user(&range, &ranges[i], sizeof(range)))
				return -EFAULT;
			if (range.offset > map->capacity ||
			    range.count > map->capacity - range.offset)
				return -EINVAL;
			if (apply)
				cbt_map_mark_both(map, range.offset,
						  range.count);
			/* a huge count must not keep every ctl waiting */
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
		if (apply)
			break;
	}
	*plen = sizeof(arg);
	return 0;
}

/*
 * Test builds only (BLKSNAP_TESTING=y): the CBT switch of a snapshot TAKE,
 * without a snapshot, so that the test suite can see what writes marked.
 */
static int ctl_test_cbt_switch(struct tracker *tracker)
{
	int ret;

	lockdep_assert_held(&tracker->ctl_lock);
	if (!BLKSNAP_TESTING)
		return -ENOTTY;
	ret = blkfilter_freeze(&tracker->filter);
	if (ret)
		return ret;
	ret = cbt_map_switch(tracker->cbt_map,
			     bdev_nr_sectors(tracker->filter.bdev));
	blkfilter_unfreeze(&tracker->filter);
	return ret;
}

static int ctl_snapshotadd(struct tracker *tracker, __u8 __user *buf,
			   __u32 *plen)
{
	struct blksnap_snapshotadd arg;
	uuid_t id;
	int ret;

	if (*plen < sizeof(arg))
		return -EINVAL;
	if (copy_from_user(&arg, buf, sizeof(arg)))
		return -EFAULT;
	import_uuid(&id, arg.id.b);
	ret = snapshot_add_tracker(&id, tracker);
	if (!ret)
		*plen = sizeof(arg);
	return ret;
}

static int ctl_snapshotinfo(struct tracker *tracker, __u8 __user *buf,
			    __u32 *plen)
{
	struct blksnap_snapshotinfo info = {};
	struct diff_area *da = tracker->diff_area;

	blkfilter_assert_locked();
	if (*plen < sizeof(info))
		return -EINVAL;
	if (da) {
		info.error_code = READ_ONCE(da->error);
		if (da->disk)
			strscpy((char *)info.image, da->disk->disk_name,
				sizeof(info.image));
	}
	if (copy_to_user(buf, &info, sizeof(info)))
		return -EFAULT;
	*plen = sizeof(info);
	return 0;
}

static int tracker_ctl(struct blkfilter *flt, unsigned int cmd,
		       __u8 __user *buf, __u32 *plen)
{
	struct tracker *tracker = to_tracker(flt);
	int ret;

	/* Snapshot membership is protected by blkfilter_lock(), held here. */
	if (cmd == blkfilter_ctl_blksnap_snapshotadd)
		return ctl_snapshotadd(tracker, buf, plen);
	if (cmd == blkfilter_ctl_blksnap_snapshotinfo)
		return ctl_snapshotinfo(tracker, buf, plen);

	mutex_lock(&tracker->ctl_lock);
	switch (cmd) {
	case blkfilter_ctl_blksnap_cbtinfo:
		ret = ctl_cbtinfo(tracker, buf, plen);
		break;
	case blkfilter_ctl_blksnap_cbtmap:
		ret = ctl_cbtmap(tracker, buf, plen);
		break;
	case blkfilter_ctl_blksnap_cbtdirty:
		ret = ctl_cbtdirty(tracker, buf, plen);
		break;
	case BLKSNAP_TEST_CTL_CBT_SWITCH:
		ret = ctl_test_cbt_switch(tracker);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	mutex_unlock(&tracker->ctl_lock);
	return ret;
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
};

/**
 * tracker_init() - Register the "blksnap" filter with the filter layer.
 *
 * Context: module init; may sleep.
 * Return: 0 or a negative errno.
 */
int tracker_init(void)
{
	return blkfilter_register(&tracker_ops);
}

/**
 * tracker_exit() - Unregister the "blksnap" filter.
 *
 * No device can be attached any more: each attachment holds a module
 * reference, so module exit cannot run while one exists.
 * Context: module exit; may sleep.
 */
void tracker_exit(void)
{
	blkfilter_unregister(&tracker_ops);
}
