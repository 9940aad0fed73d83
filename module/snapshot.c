// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots: create, add devices, append storage, destroy (TAKE is in
 * snapshot_take.c).  A snapshot owns its members' copy-on-write state
 * (diff_area) and image disks, its difference storage and its event queue;
 * it is the only part of the core that knows all of them.
 *
 * Locking order: blkfilter_lock() (the filter layer's mutex, which is also
 * the snapshot subsystem's lock; BLKFILTER_CTL commands already run under
 * it), then snapshots_lock, then a tracker's ctl_lock, then a
 * diff_storage's lock.  Membership (tracker->snapshot, snapshot->members),
 * snapshot->taken and tracker->diff_area change only under
 * blkfilter_lock(), so a device cannot be attached, detached or removed
 * while DESTROY works on it.  TAKE holds it only around its first and last
 * phase, not while it freezes file systems; snapshot->taking keeps the
 * membership fixed in between.  WAIT_EVENT, CREATE and COLLECT take only
 * snapshots_lock, briefly; APPEND_STORAGE takes blkfilter_lock() briefly
 * to copy the list of members, then the storage's own locks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/blkdev.h>
#include <linux/string.h>
#include <linux/blksnap.h>
#include "blkfilter.h"
#include "snapshot.h"
#include "tracker.h"
#include "diff_area.h"
#include "diff_storage.h"
#include "event_queue.h"
#include "image.h"
#include "params.h"

/* Protects the list of snapshots. */
static DEFINE_MUTEX(snapshots_lock);
static LIST_HEAD(snapshots);

static void snapshot_release(struct kref *kref)
{
	struct snapshot *s = container_of(kref, struct snapshot, kref);

	diff_storage_put(s->storage);
	event_queue_put(s->events);
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

/**
 * snapshot_find() - Look a snapshot up by its identifier.
 * @id: The identifier.
 *
 * Context: may sleep.
 * Return: the snapshot with a reference for the caller (snapshot_put()),
 * or NULL.
 */
struct snapshot *snapshot_find(const uuid_t *id)
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
 * @flags: 0, or SNAPSHOT_NUMBERED_IMAGES: its images are named
 *	"blksnap-image<N>" on blksnap's own block major, N their minor.
 *
 * Queues the first low-free-space event at once.
 * Context: may sleep.
 * Return: 0 or -ENOMEM.
 */
int snapshot_create(uuid_t *id, unsigned int flags)
{
	struct blksnap_event_low_free_space ev = {
		.requested_nr_sect = blksnap_param(diff_storage_minimum),
	};
	struct snapshot *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	kref_init(&s->kref);
	s->flags = flags;
	uuid_gen(&s->id);
	INIT_LIST_HEAD(&s->members);
	s->events = event_queue_create();
	if (!s->events)
		goto out_free_snapshot;
	s->storage = diff_storage_create(s->events);
	if (!s->storage)
		goto out_put_events;
	if (event_queue_push(s->events, blksnap_event_code_low_free_space,
			     &ev, sizeof(ev)))
		goto out_put_storage;
	*id = s->id;
	mutex_lock(&snapshots_lock);
	list_add_tail(&s->link, &snapshots);
	mutex_unlock(&snapshots_lock);
	pr_info("snapshot %pUb created\n", &s->id);
	return 0;

out_put_storage:
	diff_storage_put(s->storage);
out_put_events:
	event_queue_put(s->events);
out_free_snapshot:
	kfree(s);
	return -ENOMEM;
}

/*
 * Stop copy-on-write on a taken member and take its image away.  The
 * diff_area is stopped first, so image I/O fails from before the first
 * write that passes without a copy; the filter is frozen while the pointer
 * changes, so no write is in the middle of a copy.
 */
static void snapshot_member_stop(struct snapshot_member *m)
{
	struct tracker *t = m->tracker;

	blkfilter_assert_locked();
	if (!m->da)
		return;
	diff_area_stop(m->da);
	if (t->attached)
		blkfilter_freeze(&t->filter);
	tracker_set_diff_area(t, NULL);
	if (t->attached)
		blkfilter_unfreeze(&t->filter);
	image_destroy(m->image);
	m->image = NULL;
	diff_area_put(m->da);
	m->da = NULL;
}

/* Take a member out of its snapshot and free it. */
static void snapshot_member_remove(struct snapshot_member *m)
{
	blkfilter_assert_locked();
	snapshot_member_stop(m);
	list_del(&m->link);
	m->tracker->snapshot = NULL;
	tracker_put(m->tracker);
	kfree(m);
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
	struct snapshot_member *m, *tmp;
	struct snapshot *s;

	blkfilter_lock();
	s = snapshot_find(id);
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
	if (!list_empty(&s->members))
		module_put(THIS_MODULE);	/* see snapshot_add_device() */
	list_for_each_entry_safe(m, tmp, &s->members, link)
		snapshot_member_remove(m);
	blkfilter_unlock();
	event_queue_kill(s->events);
	pr_info("snapshot %pUb destroyed\n", &s->id);
	snapshot_put(s);	/* the list's */
	snapshot_put(s);	/* ours */
	return 0;
}

/**
 * snapshot_add_device() - Add a device to a snapshot (ctl snapshotadd).
 * @id: The snapshot.
 * @tracker: The device's tracker; the snapshot takes a reference.
 *
 * A snapshot with devices pins the module until DESTROY: its trackers may
 * hold no module reference of their own (tracker_attach_dev()).
 *
 * Context: blkfilter_lock() held (ctl commands run under it); may sleep.
 * Return: 0, -ESRCH for an unknown snapshot, -EALREADY if the device is in
 * it already, -EBUSY if it is in another one or the snapshot is taken or
 * being taken, -EINVAL if storage appended to the snapshot has a larger
 * logical block size than the device, -ELOOP if that storage is stacked
 * over the device, -ENOMEM.
 */
int snapshot_add_device(const uuid_t *id, struct tracker *tracker)
{
	struct snapshot_member *m = NULL;
	struct storage_member sm;
	struct snapshot *s;
	int ret = 0;

	blkfilter_assert_locked();
	s = snapshot_find(id);
	if (!s)
		return -ESRCH;
	if (tracker->snapshot == s)
		ret = -EALREADY;
	else if (tracker->snapshot || s->taken || s->taking)
		ret = -EBUSY;
	if (!ret) {
		diff_storage_member(tracker->filter.bdev, &sm);
		ret = diff_storage_check_member(s->storage, &sm);
	}
	if (!ret) {
		m = kzalloc(sizeof(*m), GFP_KERNEL);
		if (!m)
			ret = -ENOMEM;
	}
	if (!ret) {
		if (list_empty(&s->members))
			__module_get(THIS_MODULE);
		tracker_get(tracker);
		m->tracker = tracker;
		tracker->snapshot = s;
		list_add_tail(&m->link, &s->members);
	}
	snapshot_put(s);
	return ret;
}

/**
 * snapshot_device_state() - State of a device's snapshot (ctl
 * snapshotinfo).
 * @tracker: The device's tracker.
 * @error: Receives 0 or the negative errno that corrupted the snapshot.
 * @image: Receives the image's name ("" before TAKE or outside a snapshot).
 * @size: Room in @image.
 *
 * Context: blkfilter_lock() held.
 * Return: 0.
 */
int snapshot_device_state(struct tracker *tracker, int *error,
			  char *image, size_t size)
{
	struct snapshot_member *m;

	blkfilter_assert_locked();
	*error = 0;
	image[0] = '\0';
	if (!tracker->snapshot)
		return 0;
	list_for_each_entry(m, &tracker->snapshot->members, link) {
		if (m->tracker != tracker || !m->da)
			continue;
		*error = READ_ONCE(m->da->error);
		strscpy(image, image_name(m->image), size);
	}
	return 0;
}

/*
 * The members of @s, for the storage checks of APPEND, and the generation
 * of that list in *@gen; *@members is kcalloc'ed (free it).  Devices that
 * went away are left out: TAKE fails on them anyway.
 */
static int snapshot_members(struct snapshot *s,
			    struct storage_member **members, unsigned int *gen)
{
	struct snapshot_member *m;
	int n = 0;

	blkfilter_lock();
	*gen = diff_storage_members_gen(s->storage);
	list_for_each_entry(m, &s->members, link)
		n++;
	*members = kcalloc(max(n, 1), sizeof(**members), GFP_KERNEL);
	if (!*members) {
		blkfilter_unlock();
		return -ENOMEM;
	}
	n = 0;
	list_for_each_entry(m, &s->members, link)
		if (m->tracker->attached)
			diff_storage_member(m->tracker->filter.bdev,
					    &(*members)[n++]);
	blkfilter_unlock();
	return n;
}

static int snapshot_append(const uuid_t *id, const char *path, dev_t dev,
			   const struct blksnap_sectors *ranges, u32 count);

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
	return snapshot_append(id, path, 0, ranges, count);
}

/**
 * snapshot_append_storage_dev() - snapshot_append_storage() with the
 * device named by its number.
 * @id: The snapshot.
 * @dev: The block device's number.
 * @ranges: Sector ranges on it.
 * @count: Number of ranges.
 *
 * Context: may sleep.
 * Return: as snapshot_append_storage(); the error of opening the device
 * (-ENXIO for an unused number).
 */
int snapshot_append_storage_dev(const uuid_t *id, dev_t dev,
				const struct blksnap_sectors *ranges, u32 count)
{
	return snapshot_append(id, NULL, dev, ranges, count);
}

static int snapshot_append(const uuid_t *id, const char *path, dev_t dev,
			   const struct blksnap_sectors *ranges, u32 count)
{
	struct snapshot *s = snapshot_find(id);
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
		ret = diff_storage_append(s->storage, path, dev, ranges,
					  count, members, n, gen);
		kfree(members);
		if (ret != -EAGAIN)
			break;
	}
	snapshot_put(s);
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
 * snapshot_collect_images() - The (original, image) device numbers of a
 * taken snapshot.
 * @id: The snapshot.
 * @arr: Kernel array of *@count entries, or NULL to ask for the number.
 * @count: In: room in @arr.  Out: the number of images.
 *
 * Context: may sleep; takes blkfilter_lock().
 * Return: 0, -ESRCH (unknown snapshot), -ENODEV (not taken), or -ENODATA
 * (nothing filled) when @arr is too small.
 */
int snapshot_collect_images(const uuid_t *id, struct snapshot_image_info *arr,
			    u32 *count)
{
	struct snapshot *s = snapshot_find(id);
	struct snapshot_member *m;
	u32 n = 0;
	int ret = 0;

	if (!s)
		return -ESRCH;
	blkfilter_lock();
	if (!s->taken || s->destroyed) {
		ret = -ENODEV;
		goto out_unlock;
	}
	list_for_each_entry(m, &s->members, link)
		if (m->image)
			n++;
	if (arr && n > *count) {
		ret = -ENODATA;
	} else if (arr) {
		n = 0;
		list_for_each_entry(m, &s->members, link) {
			if (!m->image)
				continue;
			arr[n].orig = m->tracker->dev_id;
			arr[n].image = image_devt(m->image);
			n++;
		}
	}
	*count = n;
out_unlock:
	blkfilter_unlock();
	snapshot_put(s);
	return ret;
}

/**
 * snapshot_get_image_tracker() - The tracker of the original of the image
 * numbered @image, with a reference for the caller (tracker_put()).
 * @image: An image's device number.
 *
 * Context: may sleep; takes blkfilter_lock().
 * Return: the tracker, or NULL if no image has that number.
 */
struct tracker *snapshot_get_image_tracker(dev_t image)
{
	struct tracker *found = NULL;
	struct snapshot_member *m;
	struct snapshot *s;

	blkfilter_lock();
	mutex_lock(&snapshots_lock);
	list_for_each_entry(s, &snapshots, link) {
		list_for_each_entry(m, &s->members, link) {
			if (m->image && image_devt(m->image) == image) {
				found = m->tracker;
				tracker_get(found);
				goto out_unlock;
			}
		}
	}
out_unlock:
	mutex_unlock(&snapshots_lock);
	blkfilter_unlock();
	return found;
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
	struct snapshot *s = snapshot_find(id);
	int ret;

	if (!s)
		return -ESRCH;
	ret = event_queue_wait(s->events, timeout_ms, ev);
	snapshot_put(s);
	return ret;
}

/**
 * snapshot_destroy_all() - Destroy every snapshot left (module unload).
 *
 * Context: module exit; may sleep.
 */
void snapshot_destroy_all(void)
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
