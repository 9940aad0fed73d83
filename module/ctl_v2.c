// SPDX-License-Identifier: GPL-2.0
/*
 * The v2 control device /dev/blksnap and its twelve ioctls
 * (include/uapi/linux/blk_snap.h, seed 001).
 *
 * A second front end over the same core as /dev/blksnap-control and
 * BLKFILTER_*: the same trackers, CBT maps, snapshots, images and events.
 * Only the addressing differs: v2 names every device by a dev_t pair where
 * v3 uses the device's file descriptor or a path.  This file copies
 * arguments in and out, checks what the v2 header leaves open
 * (Documentation/uapi-v2.rst, spec-v2 section 3) and calls the core; it
 * holds no state of its own and takes no lock but the layer's, around the
 * lookups of SNAPSHOT_CREATE.
 *
 * Dispatch is on the full 32-bit command value, as on /dev/blksnap-control:
 * a number of the other interface is -ENOTTY here.  CAP_SYS_ADMIN is
 * checked first.  There is no compat_ioctl: the v2 structures carry native
 * pointers, so 32-bit callers on a 64-bit kernel get -ENOTTY.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/blkdev.h>
#include <linux/kdev_t.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/blksnap.h>
#include <linux/blk_snap.h>
#include "ctl.h"
#include "blkfilter.h"
#include "tracker.h"
#include "snapshot.h"

/* What VERSION answers on /dev/blksnap: the seed's interface level. */
#define V2_VERSION_MAJOR	1
#define V2_VERSION_MINOR	0

/* Bounds of the arrays one call passes (devices, ranges, entries). */
#define V2_MAX_COUNT		65536

/* The largest numbers MKDEV() keeps apart (Decision 1). */
#define V2_MAJOR_MAX		((1U << (32 - MINORBITS)) - 1)
#define V2_MINOR_MAX		MINORMASK

static int v2_dev_t(dev_t *dev, const struct blk_snap_dev *id)
{
	if (id->mj > V2_MAJOR_MAX || id->mn > V2_MINOR_MAX)
		return -EINVAL;
	*dev = MKDEV(id->mj, id->mn);
	return 0;
}

static void v2_dev_id(struct blk_snap_dev *id, dev_t dev)
{
	id->mj = MAJOR(dev);
	id->mn = MINOR(dev);
}

static int v2_get_uuid(uuid_t *id, const struct blk_snap_uuid __user *uarg)
{
	struct blk_snap_uuid u;

	if (copy_from_user(&u, uarg, sizeof(u)))
		return -EFAULT;
	import_uuid(id, u.b);
	return 0;
}

/* The kernel array for at most @count entries of @size, or NULL (-ENOMEM). */
static void *v2_out_array(u32 count, size_t size)
{
	return kvcalloc(max_t(u32, min_t(u32, count, V2_MAX_COUNT), 1), size,
			GFP_KERNEL);
}

static int v2_version(struct blk_snap_version __user *uarg)
{
	static const struct blk_snap_version version = {
		.major = V2_VERSION_MAJOR,
		.minor = V2_VERSION_MINOR,
	};

	if (copy_to_user(uarg, &version, sizeof(version)))
		return -EFAULT;
	return 0;
}

static int v2_tracker_remove(const struct blk_snap_tracker_remove __user *uarg)
{
	struct blk_snap_tracker_remove arg;
	dev_t dev;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	ret = v2_dev_t(&dev, &arg.dev_id);
	if (ret)
		return ret;
	ret = tracker_detach_dev(dev);
	return ret == -ENOENT ? -ENODATA : ret;		/* Decision 6 */
}

static void v2_cbt_info(struct blk_snap_cbt_info *out, struct tracker *tracker)
{
	struct tracker_cbt_info info;

	tracker_cbt_info(tracker, &info);
	memset(out, 0, sizeof(*out));			/* the holes too */
	v2_dev_id(&out->dev_id, tracker->dev_id);
	out->blk_size = info.block_size;
	out->device_capacity = info.capacity;
	out->blk_count = info.block_count;
	export_uuid(out->generation_id.b, &info.generation_id);
	out->snap_number = info.changes_number;
}

/*
 * Decision 3: a NULL array asks for the number (0, count set); an array
 * too small gives -ENODATA with count set and nothing written.
 */
static int v2_tracker_collect(struct blk_snap_tracker_collect __user *uarg)
{
	struct blk_snap_tracker_collect arg;
	struct blk_snap_cbt_info *out = NULL;
	struct tracker **trackers = NULL;
	u32 count = 0, i;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.cbt_info_array) {
		count = min_t(u32, arg.count, V2_MAX_COUNT);
		trackers = v2_out_array(count, sizeof(*trackers));
		out = v2_out_array(count, sizeof(*out));
		if (!trackers || !out) {
			ret = -ENOMEM;
			goto out_free;
		}
	}
	ret = tracker_collect(trackers, &count);
	if (ret && ret != -ENODATA)
		goto out_free;
	if (!ret && trackers) {
		for (i = 0; i < count; i++) {
			v2_cbt_info(&out[i], trackers[i]);
			tracker_put(trackers[i]);
		}
		if (copy_to_user((void __user *)arg.cbt_info_array, out,
				 array_size(count, sizeof(*out)))) {
			ret = -EFAULT;
			goto out_free;
		}
	}
	if (put_user(count, &uarg->count))
		ret = -EFAULT;
out_free:
	kvfree(out);
	kvfree(trackers);
	return ret;
}

static long
v2_tracker_read_cbt_map(const struct blk_snap_tracker_read_cbt_bitmap __user *uarg)
{
	struct blk_snap_tracker_read_cbt_bitmap arg;
	struct tracker *tracker;
	dev_t dev;
	long ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	ret = v2_dev_t(&dev, &arg.dev_id);
	if (ret)
		return ret;
	tracker = tracker_get_by_dev(dev);
	if (!tracker)
		return -ENODATA;			/* Decision 6 */
	ret = tracker_cbt_read(tracker, arg.offset, arg.length,
			       (u8 __user *)arg.buff);
	tracker_put(tracker);
	return ret;
}

/*
 * The ranges are those of the device dev_id names; the dev_id of an image
 * marks its original's map (the image's sectors are the original's).  The
 * v2 range has the layout of struct blksnap_sectors.
 */
static int
v2_tracker_mark_dirty_blocks(const struct blk_snap_tracker_mark_dirty_blocks __user *uarg)
{
	struct blk_snap_tracker_mark_dirty_blocks arg;
	const struct blksnap_sectors __user *ranges;
	struct tracker *tracker;
	dev_t dev;
	int ret;

	BUILD_BUG_ON(sizeof(struct blk_snap_block_range) !=
		     sizeof(struct blksnap_sectors));
	BUILD_BUG_ON(offsetof(struct blk_snap_block_range, sector_count) !=
		     offsetof(struct blksnap_sectors, count));

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	ret = v2_dev_t(&dev, &arg.dev_id);
	if (ret)
		return ret;
	if (arg.count > V2_MAX_COUNT)
		return -EINVAL;
	tracker = tracker_get_by_dev(dev);
	if (!tracker)
		tracker = snapshot_get_image_tracker(dev);
	if (!tracker)
		return -ENODEV;				/* Decision 6 */
	ranges = (const struct blksnap_sectors __user *)arg.dirty_blocks_array;
	ret = tracker_cbt_mark_dirty(tracker, ranges, arg.count);
	tracker_put(tracker);
	return ret;
}

static int v2_cmp_dev(const void *a, const void *b)
{
	dev_t x = *(const dev_t *)a, y = *(const dev_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Decisions 4 and 9: every device is attached first, outside the layer's
 * lock (attach freezes the file system), then looked up again under it and
 * added.  Any failure destroys the snapshot and detaches what this call
 * attached.
 */
static int v2_snapshot_create(struct blk_snap_snapshot_create __user *uarg)
{
	struct blk_snap_snapshot_create arg;
	struct blk_snap_dev *ids;
	dev_t *devs, *sorted;
	bool *attached;
	uuid_t id;
	u32 i, n = 0;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!arg.count || arg.count > V2_MAX_COUNT)
		return -EINVAL;
	ids = vmemdup_user((const void __user *)arg.dev_id_array,
			   array_size(arg.count, sizeof(*ids)));
	if (IS_ERR(ids))
		return PTR_ERR(ids);
	devs = kvcalloc(arg.count, sizeof(*devs), GFP_KERNEL);
	sorted = kvcalloc(arg.count, sizeof(*sorted), GFP_KERNEL);
	attached = kvcalloc(arg.count, sizeof(*attached), GFP_KERNEL);
	if (!devs || !sorted || !attached) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < arg.count; i++) {
		ret = v2_dev_t(&devs[i], &ids[i]);
		if (ret)
			goto out_free;
	}
	memcpy(sorted, devs, array_size(arg.count, sizeof(*devs)));
	sort(sorted, arg.count, sizeof(*sorted), v2_cmp_dev, NULL);
	for (i = 1; i < arg.count; i++) {
		if (sorted[i] == sorted[i - 1]) {
			ret = -EINVAL;
			goto out_free;
		}
	}

	ret = snapshot_create(&id, SNAPSHOT_NUMBERED_IMAGES);
	if (ret)
		goto out_free;
	for (n = 0; n < arg.count; n++) {
		ret = tracker_attach_dev(devs[n], &attached[n]);
		if (ret)
			goto out_rollback;
	}
	blkfilter_lock();
	for (i = 0; i < arg.count && !ret; i++) {
		struct tracker *tracker = tracker_find_dev(devs[i]);

		ret = tracker ? snapshot_add_device(&id, tracker) : -ENODEV;
	}
	blkfilter_unlock();
	if (ret)
		goto out_rollback;
	if (copy_to_user(uarg->id.b, &id, sizeof(uarg->id.b))) {
		ret = -EFAULT;
		goto out_rollback;
	}
	goto out_free;

out_rollback:
	snapshot_destroy(&id);
	for (i = 0; i < n; i++)
		if (attached[i])
			tracker_detach_dev(devs[i]);
out_free:
	kvfree(attached);
	kvfree(sorted);
	kvfree(devs);
	kvfree(ids);
	return ret;
}

static int v2_snapshot_destroy(const struct blk_snap_snapshot_destroy __user *uarg)
{
	uuid_t id;
	int ret = v2_get_uuid(&id, &uarg->id);

	return ret ? ret : snapshot_destroy(&id);
}

static int
v2_snapshot_append_storage(const struct blk_snap_snapshot_append_storage __user *uarg)
{
	struct blk_snap_snapshot_append_storage arg;
	struct blksnap_sectors *ranges;
	uuid_t id;
	dev_t dev;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	import_uuid(&id, arg.id.b);
	ret = v2_dev_t(&dev, &arg.dev_id);
	if (ret)
		return ret;
	if (!arg.count || arg.count > V2_MAX_COUNT)
		return -EINVAL;
	ranges = vmemdup_user((const void __user *)arg.ranges,
			      array_size(arg.count, sizeof(*ranges)));
	if (IS_ERR(ranges))
		return PTR_ERR(ranges);
	ret = snapshot_append_storage_dev(&id, dev, ranges, arg.count);
	kvfree(ranges);
	return ret;
}

/*
 * Decision 5: v2 agents never retry a TAKE, so one that failed destroys
 * its snapshot, unless it did not run at all: unknown snapshot, already
 * taken, or another TAKE of it running (-EBUSY: destroying then would race
 * with that TAKE's outcome).
 */
static int v2_snapshot_take(const struct blk_snap_snapshot_take __user *uarg)
{
	uuid_t id;
	int ret = v2_get_uuid(&id, &uarg->id);

	if (ret)
		return ret;
	ret = snapshot_take(&id);
	if (ret && ret != -ESRCH && ret != -EALREADY && ret != -EBUSY)
		snapshot_destroy(&id);
	return ret;
}

static int v2_snapshot_collect(struct blk_snap_snapshot_collect __user *uarg)
{
	struct blk_snap_snapshot_collect arg;
	uuid_t *ids = NULL;
	u32 count = 0;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.ids) {
		count = min_t(u32, arg.count, V2_MAX_COUNT);
		ids = v2_out_array(count, sizeof(*ids));
		if (!ids)
			return -ENOMEM;
	}
	ret = snapshot_collect(ids, &count);
	if (!ret && ids && count &&
	    copy_to_user((void __user *)arg.ids, ids,
			 array_size(count, sizeof(*ids))))
		ret = -EFAULT;
	kvfree(ids);
	if (ret && ret != -ENODATA)
		return ret;
	if (put_user(count, &uarg->count))
		return -EFAULT;
	return ret;
}

static int
v2_snapshot_collect_images(struct blk_snap_snapshot_collect_images __user *uarg)
{
	struct blk_snap_snapshot_collect_images arg;
	struct snapshot_image_info *info = NULL;
	struct blk_snap_image_info *out = NULL;
	u32 count = 0, i;
	uuid_t id;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	import_uuid(&id, arg.id.b);
	if (arg.image_info_array) {
		count = min_t(u32, arg.count, V2_MAX_COUNT);
		info = v2_out_array(count, sizeof(*info));
		out = v2_out_array(count, sizeof(*out));
		if (!info || !out) {
			ret = -ENOMEM;
			goto out_free;
		}
	}
	ret = snapshot_collect_images(&id, info, &count);
	if (ret && ret != -ENODATA)
		goto out_free;
	if (!ret && info) {
		for (i = 0; i < count; i++) {
			memset(&out[i], 0, sizeof(out[i]));
			v2_dev_id(&out[i].orig_dev_id, info[i].orig);
			v2_dev_id(&out[i].image_dev_id, info[i].image);
		}
		if (copy_to_user((void __user *)arg.image_info_array, out,
				 array_size(count, sizeof(*out)))) {
			ret = -EFAULT;
			goto out_free;
		}
	}
	if (put_user(count, &uarg->count))
		ret = -EFAULT;
out_free:
	kvfree(out);
	kvfree(info);
	return ret;
}

/* Wire-identical to v3's WAIT_EVENT: one event structure serves both. */
static int v2_snapshot_wait_event(struct blk_snap_snapshot_event __user *uarg)
{
	BUILD_BUG_ON(sizeof(struct blk_snap_snapshot_event) != 4096);
	BUILD_BUG_ON(sizeof(struct blk_snap_snapshot_event) !=
		     sizeof(struct blksnap_snapshot_event));
	BUILD_BUG_ON(offsetof(struct blk_snap_snapshot_event, data) !=
		     offsetof(struct blksnap_snapshot_event, data));
	BUILD_BUG_ON(sizeof(struct blk_snap_event_corrupted) !=
		     sizeof(struct blksnap_event_corrupted));
	return blksnap_ctl_wait_event((void __user *)uarg);
}

static long ctl_v2_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	switch (cmd) {
	case IOCTL_BLK_SNAP_VERSION:
		return v2_version(uarg);
	case IOCTL_BLK_SNAP_TRACKER_REMOVE:
		return v2_tracker_remove(uarg);
	case IOCTL_BLK_SNAP_TRACKER_COLLECT:
		return v2_tracker_collect(uarg);
	case IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP:
		return v2_tracker_read_cbt_map(uarg);
	case IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS:
		return v2_tracker_mark_dirty_blocks(uarg);
	case IOCTL_BLK_SNAP_SNAPSHOT_CREATE:
		return v2_snapshot_create(uarg);
	case IOCTL_BLK_SNAP_SNAPSHOT_DESTROY:
		return v2_snapshot_destroy(uarg);
	case IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE:
		return v2_snapshot_append_storage(uarg);
	case IOCTL_BLK_SNAP_SNAPSHOT_TAKE:
		return v2_snapshot_take(uarg);
	case IOCTL_BLK_SNAP_SNAPSHOT_COLLECT:
		return v2_snapshot_collect(uarg);
	case IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES:
		return v2_snapshot_collect_images(uarg);
	case IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT:
		return v2_snapshot_wait_event(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations ctl_v2_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = ctl_v2_ioctl,
};

static struct miscdevice ctl_v2_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "blksnap",		/* BLK_SNAP_CTL is "/dev/blksnap" */
	.fops = &ctl_v2_fops,
	.mode = 0600,
};

/**
 * blksnap_ctl_v2_init() - Register /dev/blksnap (the v2 interface).
 *
 * Context: module init; may sleep.
 * Return: 0 or a negative errno from misc_register().
 */
int blksnap_ctl_v2_init(void)
{
	return misc_register(&ctl_v2_misc);
}

/**
 * blksnap_ctl_v2_exit() - Remove /dev/blksnap.
 *
 * After this returns no new ioctl can start; callers already inside hold a
 * module reference through their open file.
 * Context: module exit; may sleep.
 */
void blksnap_ctl_v2_exit(void)
{
	misc_deregister(&ctl_v2_misc);
}
