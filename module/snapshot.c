// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots: create, add devices, append storage, take, destroy.
 *
 * Locking order: blkfilter_lock() (the filter layer's mutex; ctl commands
 * already run under it), then snapshots_lock, then a tracker's ctl_lock,
 * then a diff_storage's lock.  Membership (tracker->snapshot,
 * snapshot->trackers), snapshot->taken and tracker->diff_area change only
 * under blkfilter_lock(), so a device cannot be attached, detached or
 * removed while TAKE or DESTROY works on it.  WAIT_EVENT, CREATE and
 * COLLECT take only snapshots_lock, briefly; APPEND_STORAGE takes
 * blkfilter_lock() briefly to copy the list of members, then the storage's
 * own locks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/blkdev.h>
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
 * Return: 0 or -ENODEV for an unknown snapshot.
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
 * it already, -EBUSY if it is in another one or the snapshot is taken,
 * -EINVAL if storage appended to the snapshot has a larger
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
	else if (tracker->snapshot || s->taken)
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
 * The members of @s, for the storage checks of APPEND; *@members is
 * kcalloc'ed (free it).  Devices that went away are left out: TAKE fails
 * on them anyway.
 */
static int snapshot_members(struct snapshot *s,
			    struct storage_member **members)
{
	struct tracker *t;
	int n = 0;

	blkfilter_lock();
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
 * Return: 0, -ESRCH, or an error of diff_storage_append().
 */
int snapshot_append_storage(const uuid_t *id, const char *path,
			    const struct blksnap_sectors *ranges, u32 count)
{
	struct snapshot *s = snapshot_get(id);
	struct storage_member *members;
	int n, ret;

	if (!s)
		return -ESRCH;
	n = snapshot_members(s, &members);
	if (n < 0) {
		ret = n;
		goto out_put;
	}
	ret = diff_storage_append(&s->storage, path, ranges, count, members,
				  n);
	kfree(members);
out_put:
	snapshot_put(s);
	return ret;
}

/* Undo what snapshot_take() did to file systems and filters. */
static void snapshot_thaw(struct tracker **members, int n)
{
	while (n--)
		bdev_thaw(members[n]->filter.bdev);
}

static int snapshot_take_locked(struct snapshot *s)
{
	struct diff_area **areas = NULL;
	struct tracker **members = NULL;
	struct tracker *t;
	int n = 0, i, frozen = 0, ret = 0;

	list_for_each_entry(t, &s->trackers, snap_link) {
		if (!t->attached)
			return -ENODEV;
		n++;
	}
	if (!n)
		return -ENODEV;
	if (!diff_storage_capacity(&s->storage))
		return -ENOSPC;

	members = kcalloc(n, sizeof(*members), GFP_KERNEL);
	areas = kcalloc(n, sizeof(*areas), GFP_KERNEL);
	if (!members || !areas) {
		ret = -ENOMEM;
		goto out_free;
	}
	i = 0;
	list_for_each_entry(t, &s->trackers, snap_link) {
		members[i] = t;
		areas[i] = diff_area_create(t, s);
		if (IS_ERR(areas[i])) {
			ret = PTR_ERR(areas[i]);
			areas[i] = NULL;
			goto out_put_areas;
		}
		i++;
	}

	/* Decision 12: freeze all file systems, then quiesce all filters. */
	for (frozen = 0; frozen < n; frozen++) {
		ret = bdev_freeze(members[frozen]->filter.bdev);
		if (ret)
			goto out_thaw;
	}
	for (i = 0; i < n; i++)
		blkfilter_freeze(&members[i]->filter);
	for (i = 0; i < n && !ret; i++) {
		mutex_lock(&members[i]->ctl_lock);
		ret = cbt_map_switch(members[i]->cbt_map,
				     bdev_nr_sectors(members[i]->filter.bdev));
		mutex_unlock(&members[i]->ctl_lock);
	}
	if (!ret)
		for (i = 0; i < n; i++) {
			WRITE_ONCE(members[i]->diff_area, areas[i]);
			areas[i] = NULL;
		}
	for (i = 0; i < n; i++) {
		blkfilter_unfreeze(&members[i]->filter);
		blkfilter_end_prepare(&members[i]->filter);
	}
out_thaw:
	snapshot_thaw(members, frozen);
	if (ret)
		goto out_put_areas;

	for (i = 0; i < n; i++) {
		ret = diff_area_image_add(members[i]->diff_area);
		if (ret) {
			for (i = 0; i < n; i++)
				snapshot_release_area(members[i]);
			goto out_free;
		}
	}
	s->taken = true;
	goto out_free;

out_put_areas:
	for (i = 0; i < n; i++)
		if (areas[i])
			diff_area_put(areas[i]);
out_free:
	kfree(areas);
	kfree(members);
	return ret;
}

/**
 * snapshot_take() - Take a snapshot (Decisions 11 and 12).
 * @id: The snapshot.
 *
 * The file systems on all member devices are frozen together, then every
 * member's filter is quiesced while its CBT switches and copy-on-write
 * starts, then all are released and thawed, so the set is crash-consistent.
 * Then the image disks appear.  On failure nothing stays frozen and the
 * snapshot can be taken again.
 *
 * Context: may sleep.
 * Return: 0, -ESRCH, -EALREADY, -ENODEV (no devices, or one went away),
 * -ENOSPC (no storage), or another negative errno.
 */
int snapshot_take(const uuid_t *id)
{
	struct snapshot *s;
	int ret;

	blkfilter_lock();
	s = snapshot_get(id);
	if (!s) {
		ret = -ESRCH;
	} else {
		ret = s->taken ? -EALREADY : snapshot_take_locked(s);
		snapshot_put(s);
	}
	blkfilter_unlock();
	if (!ret)
		pr_info("snapshot %pUb taken\n", id);
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
