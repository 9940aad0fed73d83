// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot TAKE, in three phases (see snapshot_take()): prepare under the
 * layer's lock, freeze the members' file systems without it, then switch
 * under it: images, CBT switches, copy-on-write on.  Each phase undoes its
 * own partial work; snapshot_take() unwinds the phases in reverse.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/namei.h>
#include <linux/major.h>
#include <linux/string.h>
#include "blkfilter.h"
#include "snapshot.h"
#include "tracker.h"
#include "diff_area.h"
#include "diff_storage.h"
#include "image.h"
#include "trace.h"

/**
 * struct take - The state of one TAKE, shared by its phases.
 * @s: The snapshot (reference held).
 * @n: Number of members.
 * @members: The members, in snapshotadd order.
 * @areas: Their new copy-on-write states (references held until phase 3
 *	hands them to the members).
 * @images: Their image disks, created in phase 3.
 * @order: The order in which phase 2 freezes the file systems.
 * @frozen: @order[0..@frozen) are frozen.
 * @flts: The order in which phase 3 freezes the filters.
 * @prepared: The filters of @members[0..@prepared) are prepared for a
 *	quick freeze (blkfilter_prepare_freeze()).
 */
struct take {
	struct snapshot *s;
	int n;
	struct snapshot_member **members;
	struct diff_area **areas;
	struct image **images;
	struct snapshot_member **order;
	int frozen;
	struct blkfilter **flts;
	int prepared;
};

static inline struct block_device *take_bdev(struct snapshot_member *m)
{
	return m->tracker->filter.bdev;
}

static void take_free(struct take *tk)
{
	int i;

	for (i = 0; tk->areas && i < tk->n; i++)
		if (tk->areas[i])
			diff_area_put(tk->areas[i]);
	kfree(tk->flts);
	kfree(tk->order);
	kfree(tk->images);
	kfree(tk->areas);
	kfree(tk->members);
}

/*
 * Undo the blkfilter_prepare_freeze() of phase 1 on the members still
 * attached (a detached one's filter is gone): their bios count per CPU
 * again.
 */
static void take_end_prepare(struct take *tk)
{
	struct tracker *t;

	blkfilter_assert_locked();
	while (tk->prepared > 0) {
		t = tk->members[--tk->prepared]->tracker;
		if (t->attached)
			blkfilter_end_prepare(&t->filter);
	}
}

/*
 * Phase 1, under blkfilter_lock(): check the members, create their
 * diff_areas (which pin the trackers and devices), switch each member's
 * filter reference to atomic mode (an expedited grace period each, before
 * anything is frozen, so that no freeze of phase 3 waits for one) and
 * mark the snapshot "taking", so that DESTROY and snapshotadd leave it
 * alone while the file systems are frozen without the lock.
 */
static int take_prepare_locked(struct take *tk)
{
	struct snapshot *s = tk->s;
	struct snapshot_member *m;
	int i;

	blkfilter_assert_locked();
	if (s->taken)
		return -EALREADY;
	if (s->taking)
		return -EBUSY;
	list_for_each_entry(m, &s->members, link) {
		if (!m->tracker->attached)
			return -ENODEV;
		tk->n++;
	}
	if (!tk->n)
		return -ENODEV;
	if (!diff_storage_capacity(s->storage))
		return -ENOSPC;

	tk->members = kcalloc(tk->n, sizeof(*tk->members), GFP_KERNEL);
	tk->areas = kcalloc(tk->n, sizeof(*tk->areas), GFP_KERNEL);
	tk->images = kcalloc(tk->n, sizeof(*tk->images), GFP_KERNEL);
	tk->order = kcalloc(tk->n, sizeof(*tk->order), GFP_KERNEL);
	tk->flts = kcalloc(tk->n, sizeof(*tk->flts), GFP_KERNEL);
	if (!tk->members || !tk->areas || !tk->images || !tk->order ||
	    !tk->flts)
		return -ENOMEM;
	i = 0;
	list_for_each_entry(m, &s->members, link) {
		struct diff_area *da;

		da = diff_area_create(take_bdev(m), m->tracker->cbt_map,
				      s->storage, s->events);
		if (IS_ERR(da))
			return PTR_ERR(da);
		tk->members[i] = m;
		tk->areas[i++] = da;
		/* the grace period of the switch, before any freeze */
		blkfilter_prepare_freeze(&m->tracker->filter);
		tk->prepared = i;
	}
	s->taking = true;
	return 0;
}

static int take_prepare(struct take *tk)
{
	int ret;

	blkfilter_lock();
	ret = take_prepare_locked(tk);
	if (ret)
		take_end_prepare(tk);
	blkfilter_unlock();
	return ret;
}

/*
 * The block device holding the file behind loop device @bdev, or NULL (not
 * a loop device, or not found).  The loop driver keeps its backing file
 * private; its sysfs attribute names it, read here through the VFS in the
 * caller's mount namespace.  Only compared, never used.
 */
static struct block_device *take_loop_backing(struct block_device *bdev)
{
	struct block_device *ret = NULL;
	struct file *f;
	struct path p;
	loff_t pos = 0;
	char *buf;
	ssize_t len;

	if (MAJOR(bdev->bd_dev) != LOOP_MAJOR)
		return NULL;	/* no sysfs lookup (20 us) for the others */
	buf = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!buf)
		return NULL;
	snprintf(buf, PATH_MAX, "/sys/class/block/%s/loop/backing_file",
		 bdev->bd_disk->disk_name);
	f = filp_open(buf, O_RDONLY, 0);
	if (IS_ERR(f))
		goto out_free;
	len = kernel_read(f, buf, PATH_MAX - 1, &pos);
	filp_close(f, NULL);
	if (len <= 0)
		goto out_free;
	buf[len] = '\0';
	if (!kern_path(strim(buf), LOOKUP_FOLLOW, &p)) {
		ret = p.dentry->d_sb->s_bdev;
		path_put(&p);
	}
out_free:
	kfree(buf);
	return ret;
}

/*
 * The order in which phase 2 freezes the members: a loop
 * device whose backing file lives on another member's file system goes
 * before that member, since freezing it writes through the loop into that
 * file system, which must not be frozen yet.  Among the rest, loop devices
 * first (their backing file may be on a member whatever the sysfs lookup
 * could tell), then in snapshotadd order.  Thawing runs in reverse.
 */
static int take_order(struct take *tk)
{
	struct block_device **dep;
	bool *placed;
	int k, i, j, pick, pass;

	dep = kcalloc(tk->n, sizeof(*dep), GFP_KERNEL);
	placed = kcalloc(tk->n, sizeof(*placed), GFP_KERNEL);
	if (!dep || !placed) {
		kfree(dep);
		kfree(placed);
		return -ENOMEM;
	}
	for (i = 0; i < tk->n; i++)
		dep[i] = take_loop_backing(take_bdev(tk->members[i]));
	for (k = 0; k < tk->n; k++) {
		pick = -1;
		/* pass 0: loop devices, 1: the others, 2: a cycle, anyone */
		for (pass = 0; pass < 3 && pick < 0; pass++) {
			for (i = 0; i < tk->n && pick < 0; i++) {
				struct block_device *b = take_bdev(tk->members[i]);
				bool loop = MAJOR(b->bd_dev) == LOOP_MAJOR;

				if (placed[i] || (pass < 2 && loop != !pass))
					continue;
				for (j = 0; j < tk->n && pass < 2; j++)
					if (!placed[j] && j != i && dep[j] == b)
						break;
				if (pass == 2 || j == tk->n)
					pick = i;
			}
		}
		placed[pick] = true;
		tk->order[k] = tk->members[pick];
	}
	kfree(dep);
	kfree(placed);
	return 0;
}

/*
 * Phase 2, without any lock: the checks that may read sysfs, then freeze
 * the file systems.  Freezing syncs them and may wait for other file
 * systems (a loop device's backing file): holding the layer's lock here
 * would stop every blksnap ioctl meanwhile and deadlock with an ATTACH
 * that froze first.
 */
static int take_freeze_fs(struct take *tk)
{
	struct storage_member m;
	int i, ret;

	for (i = 0; i < tk->n; i++) {
		diff_storage_member(take_bdev(tk->members[i]), &m);
		ret = diff_storage_check_member(tk->s->storage, &m);
		if (ret)
			return ret;
	}
	ret = take_order(tk);
	if (ret)
		return ret;
	for (tk->frozen = 0; tk->frozen < tk->n; tk->frozen++) {
		ret = bdev_freeze(take_bdev(tk->order[tk->frozen]));
		if (ret)
			return ret;
	}
	return 0;
}

static void take_thaw_fs(struct take *tk)
{
	while (tk->frozen > 0)
		bdev_thaw(take_bdev(tk->order[--tk->frozen]));
}

/*
 * The CBT switches; those that must rebuild their map (the device was
 * resized or written past its end) allocate and can fail: they run first.
 */
static int take_cbt_switch(struct take *tk)
{
	int i, ret = 0;

	for (i = 0; i < tk->n && !ret; i++)
		ret = tracker_cbt_switch(tk->members[i]->tracker, true);
	for (i = 0; i < tk->n && !ret; i++)
		ret = tracker_cbt_switch(tk->members[i]->tracker, false);
	return ret;
}

/* Take away the images added so far (an opener sees I/O errors). */
static void take_remove_images(struct take *tk)
{
	int i;

	for (i = 0; i < tk->n && tk->images[i]; i++) {
		diff_area_stop(tk->areas[i]);
		image_destroy(tk->images[i]);
		tk->images[i] = NULL;
	}
}

/* Add every member's image disk; on failure none is left. */
static int take_add_images(struct take *tk)
{
	struct image *img;
	int i;

	for (i = 0; i < tk->n; i++) {
		img = image_create(tk->areas[i],
				   tk->s->flags & SNAPSHOT_NUMBERED_IMAGES);
		if (IS_ERR(img)) {
			take_remove_images(tk);
			return PTR_ERR(img);
		}
		tk->images[i] = img;
	}
	return 0;
}

/* Hand the diff_areas and images to the members; copy-on-write starts. */
static void take_install(struct take *tk)
{
	int i;

	for (i = 0; i < tk->n; i++) {
		struct snapshot_member *m = tk->members[i];

		m->da = tk->areas[i];
		m->image = tk->images[i];
		tk->areas[i] = NULL;
		tk->images[i] = NULL;
		tracker_set_diff_area(m->tracker, m->da);
	}
}

/*
 * Phase 3, under blkfilter_lock(), file systems frozen: allocate what the
 * CBT switches need, stop bios at every member's filter, then add the
 * images, switch the CBT maps (pointers only, on any device size) and
 * start copy-on-write, then let the bios go and queue the CBT catch-ups.
 * The images come first because adding one can fail, and then nothing has
 * changed; the CBT switches come last, so that the change numbers an agent
 * sees never advance for a failed TAKE.  Only a switch that must rebuild
 * its map (the device was resized or written past its end) and was not
 * prepared for allocates and can fail; those run first, so a failure can
 * only leave rebuilt maps behind, which start a new generation anyway.
 */
static int take_switch_locked(struct take *tk)
{
	int i, ret;

	blkfilter_assert_locked();
	for (i = 0; i < tk->n; i++)
		if (!tk->members[i]->tracker->attached)
			return -ENODEV;	/* gone while frozen */
	/*
	 * A freeze waits for the writes in flight below a filter; a member
	 * stacked on another drains only while that one is not frozen yet.
	 * The file-system order (upper devices first) is the first guess.
	 */
	/* what the CBT switches would allocate, before anything is frozen */
	for (i = 0; i < tk->n; i++) {
		ret = tracker_cbt_prepare(tk->members[i]->tracker);
		if (ret)
			return ret;
	}
	for (i = 0; i < tk->n; i++)
		tk->flts[i] = &tk->order[i]->tracker->filter;
	ret = blkfilter_freeze_set(tk->flts, tk->n);
	if (ret)
		return ret;
	ret = take_add_images(tk);
	if (!ret) {
		ret = take_cbt_switch(tk);
		if (ret)
			take_remove_images(tk);
		else
			take_install(tk);
	}
	for (i = 0; i < tk->n; i++)
		blkfilter_unfreeze(&tk->members[i]->tracker->filter);
	take_end_prepare(tk);
	/* the write maps catch up with writes running (even after a failure) */
	for (i = 0; i < tk->n; i++)
		tracker_cbt_finish(tk->members[i]->tracker);
	return ret;
}

static int take_switch(struct take *tk)
{
	int ret;

	blkfilter_lock();
	ret = take_switch_locked(tk);
	blkfilter_unlock();
	return ret;
}

/* Phase 1 undone, or TAKE done: the snapshot is no longer being taken. */
static void take_end(struct take *tk, bool taken)
{
	blkfilter_lock();
	take_end_prepare(tk);	/* phase 2 or 3 failed before unfreezing */
	tk->s->taking = false;
	tk->s->taken = taken;
	blkfilter_unlock();
}

/**
 * snapshot_take() - Take a snapshot.
 * @id: The snapshot.
 *
 * Three phases.  Under the layer's lock the members are checked and their
 * copy-on-write state prepared, and the snapshot is marked as being taken
 * (DESTROY and snapshotadd get -EBUSY until TAKE returns).  Without the
 * lock the file systems on all members are frozen, in dependency order.
 * Under the lock again every member's filter is quiesced while the images
 * appear, the CBT maps switch and copy-on-write starts; then all are
 * released and thawed, so the set is crash-consistent.  On failure nothing
 * stays frozen, no CBT number has moved and the snapshot can be taken
 * again.
 *
 * Context: may sleep.
 * Return: 0, -ESRCH, -EALREADY, -EBUSY (a TAKE of it is running), -ENODEV
 * (no devices, or one went away), -ENOSPC (no storage), -EINVAL (storage
 * with a larger logical block size than a member), -ELOOP (storage stacked
 * over a member), -EDEADLK (the members' writes in flight cannot drain in
 * any freeze order), or another negative errno.
 */
int snapshot_take(const uuid_t *id)
{
	u64 start_ns = ktime_get_ns();
	struct take tk = {};
	int ret;

	tk.s = snapshot_find(id);
	if (!tk.s)
		return -ESRCH;
	ret = take_prepare(&tk);	/* phase 1 */
	if (ret)
		goto out_free;
	ret = take_freeze_fs(&tk);	/* phase 2 */
	if (ret)
		goto out_thaw;
	ret = take_switch(&tk);		/* phase 3 */
out_thaw:
	take_thaw_fs(&tk);
	take_end(&tk, !ret);
out_free:
	take_free(&tk);
	if (!ret)
		pr_info("snapshot %pUb taken\n", id);
	trace_blksnap_take(id, tk.n, start_ns, ret);
	snapshot_put(tk.s);
	return ret;
}

