// SPDX-License-Identifier: GPL-2.0
/*
 * The filter layer's device events: a disk or partition going away, a
 * device whose content changed without bios (media change, new size, new
 * device-mapper table).  The hooks (blkfilter_ftrace.c) call
 * blkfilter_device_event() when the kernel *starts* such a change, in the
 * caller's context where nothing may sleep; what needs the layer's lock is
 * left to the gc worker here, which detaches the filters of devices that
 * are really gone and tells filters about media changes they could not be
 * told at once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/blkdev.h>
#include <linux/hashtable.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include "blkfilter.h"
#include "blkfilter_priv.h"

/*
 * How long after a removal hook fired the gc worker keeps looking for an
 * entry whose device is gone: the hooks fire when the kernel *starts* to
 * delete a partition or a disk, the deletion itself follows under the
 * disk's open_mutex (or is refused).
 */
#define BF_GC_RETRIES	40
#define BF_GC_DELAY	msecs_to_jiffies(50)
static atomic_t bf_gc_retries = ATOMIC_INIT(0);

static void bf_gc_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(bf_gc_work, bf_gc_work_fn);

static void bf_gc_work_fn(struct work_struct *work)
{
	struct hlist_node *tmp;
	struct bf_entry *e;
	int bkt;

	mutex_lock(&blkfilter_mutex);
	hash_for_each_safe(blkfilter_hash, bkt, tmp, e, hnode) {
		if (READ_ONCE(e->media_changed) &&
		    bf_ref_tryget_live(&e->ref)) {
			WRITE_ONCE(e->media_changed, false);
			if (e->ops->media_changed)
				e->ops->media_changed(e->flt);
			bf_ref_put(&e->ref);
		}
		if (!READ_ONCE(e->dying) && !blkfilter_entry_gone(e))
			continue;
		pr_info("%pg is going away: detaching filter \"%s\"\n",
			e->bdev, e->ops->name);
		if (e->ops->device_gone)
			e->ops->device_gone(e->flt);
		blkfilter_detach_entry(e);
	}
	mutex_unlock(&blkfilter_mutex);
	if (atomic_dec_if_positive(&bf_gc_retries) > 0)
		queue_delayed_work(blkfilter_wq, &bf_gc_work, BF_GC_DELAY);
}

/**
 * blkfilter_gc_kick() - Look for filters of gone devices now and for a
 * while (see BF_GC_RETRIES).
 *
 * Context: any.
 */
void blkfilter_gc_kick(void)
{
	atomic_set(&bf_gc_retries, BF_GC_RETRIES);
	mod_delayed_work(blkfilter_wq, &bf_gc_work, 0);
}

/*
 * Tell the filter of @e that its device's content changed under it.  From
 * the hook (preemption disabled) when the filter is not frozen, else from
 * the gc worker.
 */
static void notrace bf_media_changed(struct bf_entry *e)
{
	if (!e->ops->media_changed)
		return;
	if (bf_ref_tryget_live(&e->ref)) {
		e->ops->media_changed(e->flt);
		bf_ref_put(&e->ref);
		return;
	}
	WRITE_ONCE(e->media_changed, true);
	blkfilter_gc_kick();
}

/**
 * blkfilter_device_event() - Something happened to a disk.
 * @what: What (enum blkfilter_event).
 * @disk: The disk concerned.
 *
 * Marks the filters of a disappearing device for the gc worker, or tells
 * a filter that its device's content changed.  What needs the layer's
 * lock is left to the gc worker.
 *
 * Context: any (the kernel's own code that changes the disk); does not
 * sleep.
 */
void notrace blkfilter_device_event(enum blkfilter_event what,
				    struct gendisk *disk)
{
	bool kick = false;
	struct bf_entry *e;
	int bkt;

	/*
	 * A disk deletion is looked for even with nothing attached yet: an
	 * attach may publish its entry after this hook ran and before the
	 * disk is marked dead; the worker's retries catch it then.
	 */
	if (what == BLKFILTER_DISK_DELETED)
		blkfilter_gc_kick();
	if (!atomic_read(&blkfilter_nr_attached))
		return;
	preempt_disable_notrace();
	hash_for_each_rcu(blkfilter_hash, bkt, e, hnode) {
		if (e->disk != disk)
			continue;
		switch (what) {
		case BLKFILTER_DISK_DELETED:
			WRITE_ONCE(e->dying, true);
			break;
		case BLKFILTER_PARTS_CHANGING:
			kick = true;
			break;
		default:
			/*
			 * del_gendisk() and blk_mark_disk_dead() set the
			 * capacity to 0 on their way: a device going away is
			 * not a media change (the removal worker says ENODEV).
			 */
			if (!READ_ONCE(e->dying) && disk_live(disk) &&
			    !test_bit(GD_DEAD, &disk->state))
				bf_media_changed(e);
			break;
		}
	}
	preempt_enable_notrace();
	if (kick)
		blkfilter_gc_kick();
}

/**
 * blkfilter_gc_stop() - Stop the gc worker for good.
 *
 * Context: module exit, after the hooks are gone; may sleep.
 */
void blkfilter_gc_stop(void)
{
	atomic_set(&bf_gc_retries, 0);
	cancel_delayed_work_sync(&bf_gc_work);
}
