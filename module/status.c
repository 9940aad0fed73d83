// SPDX-License-Identifier: GPL-2.0
/*
 * Status at a glance, read-only and outside the module's interface:
 * /sys/kernel/debug/blksnap/status (root only) describes the attached
 * devices and the snapshots, one record per line, "KIND key=value ...":
 *
 *   version 2.0.0.0
 *   device name=vdb dev=254:16 sectors=131072 generation=<uuid>
 *          block_size=65536 block_count=2048 changes=1 snapshot=<uuid>|-
 *   snapshot id=<uuid> state=created|taking|taken devices=1
 *          storage_used=512 storage_total=131072 events=0
 *   member snapshot=<uuid> name=vdb|- dev=254:16 image=<name>|-
 *          chunk_size=262144|- chunks=512|- copied=1|- storing=0|-
 *          error=0|-
 *
 * (each record on one line).  Sizes named "sectors" or "storage_*" are in
 * 512-byte sectors, "*_size" in bytes; "-" means "none" or "not taken
 * yet"; error is 0 or the negative errno that corrupted the device's
 * snapshot.  blksnapctl status reads this file (Documentation/status.rst).
 *
 * Everything is read under blkfilter_lock(), which keeps the devices
 * attached, the membership of every snapshot and its diff_areas and images
 * as they are, and no snapshot can be destroyed meanwhile; the trackers are
 * collected with references and the snapshots looked up by identifier with
 * one, so a detach or DESTROY that ran before the lock was taken only
 * leaves an entry out.  Under that lock: a tracker's ctl_lock (its CBT
 * map), the storage's lock, the event queue's lock, in the order of
 * snapshot.c.  Nothing is written and nothing waits for I/O.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/blkdev.h>
#include "blkfilter.h"
#include "tracker.h"
#include "snapshot.h"
#include "diff_area.h"
#include "diff_storage.h"
#include "event_queue.h"
#include "image.h"
#include "status.h"
#include "version.h"

/* /sys/kernel/debug/blksnap, or an ERR_PTR/NULL without debugfs. */
static struct dentry *status_dir;

/* Every attached tracker, with a reference each; *@arr kcalloc'ed. */
static int status_trackers(struct tracker ***arr, u32 *n)
{
	int ret;

	for (;;) {
		*n = 0;
		tracker_collect(NULL, n);
		*arr = kcalloc(max(*n, 1U), sizeof(**arr), GFP_KERNEL);
		if (!*arr)
			return -ENOMEM;
		ret = tracker_collect(*arr, n);
		if (ret != -ENODATA)
			return ret;
		kfree(*arr);	/* more were attached meanwhile */
	}
}

/* The identifiers of the snapshots; *@ids kcalloc'ed. */
static int status_snapshot_ids(uuid_t **ids, u32 *n)
{
	int ret;

	for (;;) {
		*n = 0;
		snapshot_collect(NULL, n);
		*ids = kcalloc(max(*n, 1U), sizeof(**ids), GFP_KERNEL);
		if (!*ids)
			return -ENOMEM;
		ret = snapshot_collect(*ids, n);
		if (ret != -ENODATA)
			return ret;
		kfree(*ids);	/* more were created meanwhile */
	}
}

static void status_device(struct seq_file *m, struct tracker *t)
{
	struct tracker_cbt_info ci;

	blkfilter_assert_locked();
	if (!t->attached)	/* detached since it was collected */
		return;
	tracker_cbt_info(t, &ci);
	seq_printf(m, "device name=%pg dev=%u:%u sectors=%llu generation=%pUb block_size=%u block_count=%u changes=%u",
		   t->filter.bdev, MAJOR(t->dev_id), MINOR(t->dev_id),
		   ci.capacity >> SECTOR_SHIFT, &ci.generation_id,
		   ci.block_size, ci.block_count, ci.changes_number);
	if (t->snapshot)
		seq_printf(m, " snapshot=%pUb\n", &t->snapshot->id);
	else
		seq_puts(m, " snapshot=-\n");
}

static unsigned int status_events(struct event_queue *eq)
{
	struct list_head *p;
	unsigned int n = 0;

	spin_lock(&eq->lock);
	list_for_each(p, &eq->list)
		n++;
	spin_unlock(&eq->lock);
	return n;
}

static void status_member(struct seq_file *m, struct snapshot *s,
			  struct snapshot_member *sm)
{
	struct tracker *t = sm->tracker;
	struct diff_area *da = sm->da;

	seq_printf(m, "member snapshot=%pUb", &s->id);
	if (t->attached)	/* else the device went away: no name */
		seq_printf(m, " name=%pg", t->filter.bdev);
	else
		seq_puts(m, " name=-");
	seq_printf(m, " dev=%u:%u image=%s", MAJOR(t->dev_id),
		   MINOR(t->dev_id), sm->image ? image_name(sm->image) : "-");
	if (da)
		seq_printf(m, " chunk_size=%u chunks=%lu copied=%ld storing=%d error=%d\n",
			   1U << da->chunk_shift, da->chunk_count,
			   atomic_long_read(&da->nr_copied),
			   atomic_read(&da->nr_storing), READ_ONCE(da->error));
	else
		seq_puts(m, " chunk_size=- chunks=- copied=- storing=- error=-\n");
}

static void status_snapshot(struct seq_file *m, const uuid_t *id)
{
	struct snapshot *s = snapshot_find(id);
	struct snapshot_member *sm;
	sector_t used, total;
	unsigned int n = 0;

	blkfilter_assert_locked();
	if (!s)			/* destroyed since it was collected */
		return;
	if (s->destroyed)
		goto out_put;
	list_for_each_entry(sm, &s->members, link)
		n++;
	mutex_lock(&s->storage->lock);
	used = s->storage->filled;
	total = s->storage->capacity;
	mutex_unlock(&s->storage->lock);
	seq_printf(m, "snapshot id=%pUb state=%s devices=%u storage_used=%llu storage_total=%llu events=%u\n",
		   &s->id,
		   s->taken ? "taken" : s->taking ? "taking" : "created", n,
		   (unsigned long long)used, (unsigned long long)total,
		   status_events(s->events));
	list_for_each_entry(sm, &s->members, link)
		status_member(m, s, sm);
out_put:
	snapshot_put(s);
}

static int status_show(struct seq_file *m, void *v)
{
	struct tracker **trackers;
	u32 nt, ns, i;
	uuid_t *ids;
	int ret;

	ret = status_trackers(&trackers, &nt);
	if (ret)
		return ret;
	ret = status_snapshot_ids(&ids, &ns);
	if (ret)
		goto out_put_trackers;
	seq_printf(m, "version %s\n", BLKSNAP_VERSION_STR);
	blkfilter_lock();
	for (i = 0; i < nt; i++)
		status_device(m, trackers[i]);
	for (i = 0; i < ns; i++)
		status_snapshot(m, &ids[i]);
	blkfilter_unlock();
	kfree(ids);
out_put_trackers:
	for (i = 0; i < nt; i++)
		tracker_put(trackers[i]);
	kfree(trackers);
	return ret;
}
DEFINE_SHOW_ATTRIBUTE(status);

/**
 * status_init() - Create /sys/kernel/debug/blksnap/status.
 *
 * Without debugfs (not configured, or "debugfs=off") there is no status
 * file and nothing else changes: as the kernel's convention says, the
 * errors of debugfs_create_*() are not checked.
 *
 * Context: module init, after the filter and the control devices are up.
 */
void status_init(void)
{
	status_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("status", 0400, status_dir, NULL, &status_fops);
}

/**
 * status_exit() - Remove the status file; waits for its readers.
 *
 * Context: module exit, before anything the file reads is torn down.
 */
void status_exit(void)
{
	debugfs_remove(status_dir);
}
