// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots: create, add devices, append storage, take, destroy.
 *
 * Locking order: blkfilter_lock() (the filter layer's mutex; ctl commands
 * already run under it), then snapshots_lock, then a tracker's ctl_lock,
 * then a diff_storage's lock.  Membership (tracker->snapshot,
 * snapshot->trackers), snapshot->taken and tracker->diff_area change only
 * under blkfilter_lock(), so a device cannot be attached, detached or
 * removed while DESTROY works on it.  TAKE holds it only around its first
 * and last phase, not while it freezes file systems; snapshot->taking keeps
 * the membership fixed in between.  WAIT_EVENT, CREATE and COLLECT take
 * only snapshots_lock, briefly; APPEND_STORAGE takes blkfilter_lock()
 * briefly to copy the list of members, then the storage's own locks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/namei.h>
#include <linux/major.h>
#include <linux/string.h>
#include <linux/blksnap.h>
#include "blkfilter.h"
#include "snapshot.h"
#include "tracker.h"
#include "cbt_map.h"
#include "diff_area.h"
#include "params.h"

/* Protects the list of snapshots. */
static DEFINE_MUTEX(snapshots_lock);
static LIST_HEAD(snapshots);

static void snapshot_release(struct kref *kref)
{
	struct snapshot *s = container_of(kref, struct snapshot, kref);

	diff_storage_done(&s->storage);
	event_queue_done(&s->events);
	kfree(s);
}

/**
 * snapshot_put() - Drop a snapshot reference; the last one frees it.
 * @snapshot: The snapshot.
 *
 * Context: may sleep.
 */
void snapshot_put(struct snapshot *snapshot)
{
	kref_put(&snapshot->kref, snapshot_release);
}

/* Find a snapshot and take a reference on it. */
static struct snapshot *snapshot_get(const uuid_t *id)
{
	struct snapshot *s;

	mutex_lock(&snapshots_lock);
	list_for_each_entry(s, &snapshots, link) {
		if (uuid_equal(&s->id, id)) {
			kref_get(&s->kref);
			mutex_unlock(&snapshots_lock);
			return s;
		}
	}
	mutex_unlock(&snapshots_lock);
	return NULL;
}

/**
 * snapshot_create() - Create an empty snapshot.
 * @id: Receives its identifier.
 *
 * Queues the first low-free-space event at once.
 * Context: may sleep.
 * Return: 0 or -ENOMEM.
 */
int snapshot_create(uuid_t *id)
{
	struct blksnap_event_low_free_space ev = {
		.requested_nr_sect = blksnap_param(diff_storage_minimum),
	};
	struct snapshot *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	kref_init(&s->kref);
	uuid_gen(&s->id);
	INIT_LIST_HEAD(&s->trackers);
	event_queue_init(&s->events);
	diff_storage_init(&s->storage, &s->events);
	if (event_gen(&s->events, blksnap_event_code_low_free_space, &ev,
		      sizeof(ev))) {
		kfree(s);
		return -ENOMEM;
	}
	*id = s->id;
	mutex_lock(&snapshots_lock);
	list_add_tail(&s->link, &snapshots);
	mutex_unlock(&snapshots_lock);
	pr_info("snapshot %pUb created\n", &s->id);
	return 0;
}

/*
 * Stop copy-on-write on a member and take its image away.  The filter is
 * frozen while the diff_area pointer changes, so no write is in the middle
 * of a copy.
 */
static void snapshot_release_area(struct tracker *t)
{
	struct diff_area *da = t->diff_area;

	blkfilter_assert_locked();
	if (!da)
		return;
	if (t->attached)
		blkfilter_freeze(&t->filter);
	WRITE_ONCE(t->diff_area, NULL);
	if (t->attached)
		blkfilter_unfreeze(&t->filter);
	diff_area_image_remove(da);
	diff_area_put(da);
}

/**
 * snapshot_destroy() - Destroy a snapshot.
 * @id: Its identifier.
 *
 * Copy-on-write stops, the images go away (an image still open fails all
 * I/O), waiters are woken with -ESRCH, the storage is released once the
 * last image is closed.  Change tracking of the devices goes on.
 *
 * Context: may sleep.
 * Return: 0, -ENODEV for an unknown snapshot, -EBUSY while a TAKE of it
 * runs.
 */
int snapshot_destroy(const uuid_t *id)
{
	struct tracker *t, *tmp;
	struct snapshot *s;

	blkfilter_lock();
	s = snapshot_get(id);
	if (!s) {
		blkfilter_unlock();
		return -ENODEV;
	}
	if (s->taking) {
		blkfilter_unlock();
		snapshot_put(s);
		return -EBUSY;
	}
	mutex_lock(&snapshots_lock);
	list_del(&s->link);
	mutex_unlock(&snapshots_lock);
	s->destroyed = true;
	list_for_each_entry_safe(t, tmp, &s->trackers, snap_link) {
		if (t->attached && !s->taken)
			blkfilter_end_prepare(&t->filter);
		snapshot_release_area(t);
		list_del_init(&t->snap_link);
		t->snapshot = NULL;
		tracker_put(t);
	}
	blkfilter_unlock();
	event_queue_kill(&s->events);
	pr_info("snapshot %pUb destroyed\n", &s->id);
	snapshot_put(s);	/* the list's */
	snapshot_put(s);	/* ours */
	return 0;
}

/**
 * snapshot_add_tracker() - Add a device to a snapshot (ctl snapshotadd).
 * @id: The snapshot.
 * @tracker: The device's tracker; the snapshot takes a reference.
 *
 * Context: blkfilter_lock() held (ctl commands run under it); may sleep.
 * Return: 0, -ESRCH for an unknown snapshot, -EALREADY if the device is in
 * it already, -EBUSY if it is in another one or the snapshot is taken or
 * being taken, -EINVAL if storage appended to the snapshot has a larger
 * logical block size than the device, -ELOOP if that storage is stacked
 * over the device.
 */
int snapshot_add_tracker(const uuid_t *id, struct tracker *tracker)
{
	struct storage_member m;
	struct snapshot *s;
	int ret = 0;

	blkfilter_assert_locked();
	s = snapshot_get(id);
	if (!s)
		return -ESRCH;
	if (tracker->snapshot == s)
		ret = -EALREADY;
	else if (tracker->snapshot || s->taken || s->taking)
		ret = -EBUSY;
	if (!ret) {
		diff_storage_member(tracker->filter.bdev, &m);
		ret = diff_storage_check_member(&s->storage, &m);
	}
	if (!ret) {
		tracker_get(tracker);
		tracker->snapshot = s;
		list_add_tail(&tracker->snap_link, &s->trackers);
		/* TAKE's freeze window should not wait for a grace period */
		blkfilter_prepare_freeze(&tracker->filter);
	}
	snapshot_put(s);
	return ret;
}

/*
 * The members of @s, for the storage checks of APPEND, and the generation
 * of that list in *@gen; *@members is kcalloc'ed (free it).  Devices that
 * went away are left out: TAKE fails on them anyway.
 */
static int snapshot_members(struct snapshot *s,
			    struct storage_member **members, unsigned int *gen)
{
	struct tracker *t;
	int n = 0;

	blkfilter_lock();
	*gen = diff_storage_members_gen(&s->storage);
	list_for_each_entry(t, &s->trackers, snap_link)
		n++;
	*members = kcalloc(max(n, 1), sizeof(**members), GFP_KERNEL);
	if (!*members) {
		blkfilter_unlock();
		return -ENOMEM;
	}
	n = 0;
	list_for_each_entry(t, &s->trackers, snap_link)
		if (t->attached)
			diff_storage_member(t->filter.bdev, &(*members)[n++]);
	blkfilter_unlock();
	return n;
}

/**
 * snapshot_append_storage() - Add difference storage to a snapshot.
 * @id: The snapshot.
 * @path: Block device path.
 * @ranges: Sector ranges on it.
 * @count: Number of ranges.
 *
 * The device is checked against the devices in the snapshot now; a device
 * added later is checked against the storage at snapshotadd, and TAKE
 * checks both again.
 *
 * Context: may sleep.
 * Return: 0, -ESRCH, or an error of diff_storage_append() (-EAGAIN only
 * if members kept joining through 16 attempts).
 */
int snapshot_append_storage(const uuid_t *id, const char *path,
			    const struct blksnap_sectors *ranges, u32 count)
{
	struct snapshot *s = snapshot_get(id);
	struct storage_member *members;
	unsigned int gen;
	int n, ret, tries;

	if (!s)
		return -ESRCH;
	/* a member that joins meanwhile makes it check again (-EAGAIN) */
	for (tries = 0; tries < 16; tries++) {
		n = snapshot_members(s, &members, &gen);
		if (n < 0) {
			ret = n;
			break;
		}
		ret = diff_storage_append(&s->storage, path, ranges, count,
					  members, n, gen);
		kfree(members);
		if (ret != -EAGAIN)
			break;
	}
	snapshot_put(s);
	return ret;
}

/* The state of one TAKE, shared by its phases. */
struct take {
	struct snapshot *s;
	int n;
	struct tracker **members;
	struct diff_area **areas;
	struct tracker **order;		/* freeze order */
	int frozen;			/* order[0..frozen) are frozen */
	struct blkfilter **flts;	/* filter freeze order */
};

static void take_free(struct take *tk)
{
	int i;

	for (i = 0; tk->areas && i < tk->n; i++)
		if (tk->areas[i])
			diff_area_put(tk->areas[i]);
	kfree(tk->flts);
	kfree(tk->order);
	kfree(tk->areas);
	kfree(tk->members);
}

/*
 * Phase 1, under blkfilter_lock(): check the members, create their
 * diff_areas (which pin the trackers and devices) and mark the snapshot
 * "taking", so that DESTROY and snapshotadd leave it alone while the
 * file systems are frozen without the lock.
 */
static int take_prepare(struct take *tk)
{
	struct snapshot *s = tk->s;
	struct tracker *t;
	int i;

	blkfilter_assert_locked();
	if (s->taken)
		return -EALREADY;
	if (s->taking)
		return -EBUSY;
	list_for_each_entry(t, &s->trackers, snap_link) {
		if (!t->attached)
			return -ENODEV;
		tk->n++;
	}
	if (!tk->n)
		return -ENODEV;
	if (!diff_storage_capacity(&s->storage))
		return -ENOSPC;

	tk->members = kcalloc(tk->n, sizeof(*tk->members), GFP_KERNEL);
	tk->areas = kcalloc(tk->n, sizeof(*tk->areas), GFP_KERNEL);
	tk->order = kcalloc(tk->n, sizeof(*tk->order), GFP_KERNEL);
	tk->flts = kcalloc(tk->n, sizeof(*tk->flts), GFP_KERNEL);
	if (!tk->members || !tk->areas || !tk->order || !tk->flts)
		return -ENOMEM;
	i = 0;
	list_for_each_entry(t, &s->trackers, snap_link) {
		tk->members[i] = t;
		tk->areas[i] = diff_area_create(t, s);
		if (IS_ERR(tk->areas[i])) {
			int ret = PTR_ERR(tk->areas[i]);

			tk->areas[i] = NULL;
			return ret;
		}
		i++;
	}
	s->taking = true;
	return 0;
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
 * The order in which phase 2 freezes the members (issue 20.3): a loop
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
		dep[i] = take_loop_backing(tk->members[i]->filter.bdev);
	for (k = 0; k < tk->n; k++) {
		pick = -1;
		/* pass 0: loop devices, 1: the others, 2: a cycle, anyone */
		for (pass = 0; pass < 3 && pick < 0; pass++) {
			for (i = 0; i < tk->n && pick < 0; i++) {
				struct block_device *b = tk->members[i]->filter.bdev;
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
static int take_freeze(struct take *tk)
{
	struct storage_member m;
	int i, ret;

	for (i = 0; i < tk->n; i++) {
		diff_storage_member(tk->members[i]->filter.bdev, &m);
		ret = diff_storage_check_member(&tk->s->storage, &m);
		if (ret)
			return ret;
	}
	ret = take_order(tk);
	if (ret)
		return ret;
	for (tk->frozen = 0; tk->frozen < tk->n; tk->frozen++) {
		ret = bdev_freeze(tk->order[tk->frozen]->filter.bdev);
		if (ret)
			return ret;
	}
	return 0;
}

static void take_thaw(struct take *tk)
{
	while (tk->frozen--)
		bdev_thaw(tk->order[tk->frozen]->filter.bdev);
}

/* A switch that rebuilds the map allocates, so it can fail. */
static bool take_map_may_fail(struct tracker *t)
{
	lockdep_assert_held(&t->ctl_lock);
	return READ_ONCE(t->cbt_map->is_corrupted) ||
	       t->cbt_map->capacity != bdev_nr_sectors(t->filter.bdev);
}

/* The CBT switches; those that can fail first (see take_switch()). */
static int take_cbt_switch(struct take *tk)
{
	int pass, i, ret = 0;

	for (pass = 0; pass < 2 && !ret; pass++) {
		for (i = 0; i < tk->n && !ret; i++) {
			struct tracker *t = tk->members[i];

			mutex_lock(&t->ctl_lock);
			if (take_map_may_fail(t) == !pass)
				ret = cbt_map_switch(t->cbt_map,
						     bdev_nr_sectors(t->filter.bdev));
			mutex_unlock(&t->ctl_lock);
		}
	}
	return ret;
}

/*
 * Phase 3, under blkfilter_lock(), file systems frozen (Decision 12): stop
 * bios at every member's filter, then add the images, switch the CBT maps
 * and start copy-on-write, then let the bios go.  The images come first
 * because adding one can fail, and then nothing has changed; the CBT
 * switches come last, so that the change numbers an agent sees never
 * advance for a failed TAKE.  Only a switch that must rebuild its map (the
 * device was resized or written past its end) allocates and can fail;
 * those run first, so a failure can only leave rebuilt maps behind, which
 * start a new generation anyway.
 */
static int take_switch(struct take *tk)
{
	int i, ret = 0;

	blkfilter_assert_locked();
	for (i = 0; i < tk->n; i++)
		if (!tk->members[i]->attached)
			return -ENODEV;	/* gone while frozen */
	/*
	 * A freeze waits for the writes in flight below a filter; a member
	 * stacked on another drains only while that one is not frozen yet.
	 * The file-system order (upper devices first) is the first guess.
	 */
	for (i = 0; i < tk->n; i++)
		tk->flts[i] = &tk->order[i]->filter;
	ret = blkfilter_freeze_set(tk->flts, tk->n);
	if (ret)
		return ret;
	for (i = 0; i < tk->n && !ret; i++)
		ret = diff_area_image_add(tk->areas[i]);
	if (!ret)
		ret = take_cbt_switch(tk);
	if (ret) {
		for (i = 0; i < tk->n; i++)
			if (tk->areas[i]->disk)
				diff_area_image_remove(tk->areas[i]);
	} else {
		for (i = 0; i < tk->n; i++) {
			WRITE_ONCE(tk->members[i]->diff_area, tk->areas[i]);
			tk->areas[i] = NULL;
		}
	}
	for (i = 0; i < tk->n; i++) {
		blkfilter_unfreeze(&tk->members[i]->filter);
		if (!ret)
			blkfilter_end_prepare(&tk->members[i]->filter);
	}
	return ret;
}

/**
 * snapshot_take() - Take a snapshot (Decisions 11 and 12).
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
	struct take tk = {};
	int ret;

	tk.s = snapshot_get(id);
	if (!tk.s)
		return -ESRCH;
	blkfilter_lock();
	ret = take_prepare(&tk);
	blkfilter_unlock();
	if (ret)
		goto out_free;

	ret = take_freeze(&tk);
	blkfilter_lock();
	if (!ret)
		ret = take_switch(&tk);
	tk.s->taking = false;
	tk.s->taken = !ret;
	blkfilter_unlock();
	take_thaw(&tk);
out_free:
	take_free(&tk);
	if (!ret)
		pr_info("snapshot %pUb taken\n", id);
	snapshot_put(tk.s);
	return ret;
}

/**
 * snapshot_collect() - The identifiers of all snapshots.
 * @ids: Kernel array of *@count elements, or NULL to ask for the number.
 * @count: In: room in @ids.  Out: the number of snapshots.
 *
 * Context: may sleep.
 * Return: 0, or -ENODATA (nothing filled) when @ids is not NULL and too
 * small.  With @ids NULL (the probe of the two-call pattern) 0, as v3.
 */
int snapshot_collect(uuid_t *ids, u32 *count)
{
	struct snapshot *s;
	u32 n = 0;

	mutex_lock(&snapshots_lock);
	list_for_each_entry(s, &snapshots, link)
		n++;
	if (!ids || n > *count) {
		mutex_unlock(&snapshots_lock);
		*count = n;
		return ids ? -ENODATA : 0;
	}
	n = 0;
	list_for_each_entry(s, &snapshots, link)
		ids[n++] = s->id;
	mutex_unlock(&snapshots_lock);
	*count = n;
	return 0;
}

/**
 * snapshot_wait_event() - Wait for the next event of a snapshot.
 * @id: The snapshot.
 * @timeout_ms: How long to wait.
 * @ev: Receives the event.
 *
 * Context: may sleep.
 * Return: 0, -ESRCH, -ENOENT on timeout, -EINTR on a signal.
 */
int snapshot_wait_event(const uuid_t *id, unsigned int timeout_ms,
			struct blksnap_snapshot_event *ev)
{
	struct snapshot *s = snapshot_get(id);
	int ret;

	if (!s)
		return -ESRCH;
	ret = event_wait(&s->events, timeout_ms, ev);
	snapshot_put(s);
	return ret;
}

/**
 * snapshot_done() - Destroy every snapshot left (module unload).
 *
 * Context: module exit; may sleep.
 */
void snapshot_done(void)
{
	struct snapshot *s;
	uuid_t id;

	for (;;) {
		mutex_lock(&snapshots_lock);
		s = list_first_entry_or_null(&snapshots, struct snapshot, link);
		if (s)
			id = s->id;
		mutex_unlock(&snapshots_lock);
		if (!s)
			break;
		snapshot_destroy(&id);
	}
}
