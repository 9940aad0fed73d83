// SPDX-License-Identifier: GPL-2.0
/*
 * The v3 front end: the control device /dev/blksnap-control and its
 * ioctls, and the "blksnap" filter's BLKFILTER_CTL commands (cbtinfo,
 * cbtmap, cbtdirty, snapshotadd, snapshotinfo).  Both only copy arguments
 * in and out and call the core (snapshot.c, tracker.c).
 *
 * Dispatch is on the full 32-bit command value, so type, number, size and
 * direction must all match the UAPI exactly; anything else is -ENOTTY.  The
 * numeric values are those of the v3 header, including its reversed
 * direction bits (see include/uapi/linux/blksnap.h).  Every command needs
 * CAP_SYS_ADMIN.  There is no compat_ioctl: the v3 structures carry native
 * pointers, so 32-bit callers on a 64-bit kernel get -ENOTTY, as with v3.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/blksnap.h>
#include "ctl.h"
#include "version.h"
#include "snapshot.h"
#include "tracker.h"

static int ctl_version(struct blksnap_version __user *uarg)
{
	static const struct blksnap_version version = {
		.major = BLKSNAP_VERSION_MAJOR,
		.minor = BLKSNAP_VERSION_MINOR,
		.revision = BLKSNAP_VERSION_REVISION,
		.build = BLKSNAP_VERSION_BUILD,
	};

	if (copy_to_user(uarg, &version, sizeof(version)))
		return -EFAULT;
	return 0;
}

static int ctl_get_id(uuid_t *id, const void __user *uarg)
{
	struct blksnap_uuid u;

	if (copy_from_user(&u, uarg, sizeof(u)))
		return -EFAULT;
	import_uuid(id, u.b);
	return 0;
}

static int ctl_snapshot_create(struct blksnap_uuid __user *uarg)
{
	uuid_t id;
	int ret;

	ret = snapshot_create(&id, 0);
	if (ret)
		return ret;
	if (copy_to_user(uarg->b, &id, sizeof(uarg->b))) {
		snapshot_destroy(&id);		/* nobody can name it */
		return -EFAULT;
	}
	return 0;
}

static int ctl_snapshot_destroy(const void __user *uarg)
{
	uuid_t id;
	int ret = ctl_get_id(&id, uarg);

	return ret ? ret : snapshot_destroy(&id);
}

static int ctl_snapshot_take(const void __user *uarg)
{
	uuid_t id;
	int ret = ctl_get_id(&id, uarg);

	return ret ? ret : snapshot_take(&id);
}

/* Bounds of one APPEND_STORAGE call. */
#define CTL_MAX_RANGES 65536

static int
ctl_snapshot_append_storage(const struct blksnap_snapshot_append_storage __user *uarg)
{
	struct blksnap_snapshot_append_storage arg;
	struct blksnap_sectors *ranges;
	char *path;
	uuid_t id;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	import_uuid(&id, arg.id.b);
	if (!arg.bdev_path_size || arg.bdev_path_size > PATH_MAX ||
	    !arg.count || arg.count > CTL_MAX_RANGES)
		return -EINVAL;
	path = strndup_user((const char __user *)(uintptr_t)arg.bdev_path,
			    arg.bdev_path_size);
	if (IS_ERR(path))
		return PTR_ERR(path);
	ranges = vmemdup_user((const void __user *)(uintptr_t)arg.ranges,
			      array_size(arg.count, sizeof(*ranges)));
	if (IS_ERR(ranges)) {
		ret = PTR_ERR(ranges);
		goto out_free_path;
	}
	ret = snapshot_append_storage(&id, path, ranges, arg.count);
	kvfree(ranges);
out_free_path:
	kfree(path);
	return ret;
}

/*
 * COLLECT (see Documentation/uapi.rst): ids == NULL asks for the number (0, count set, as
 * v3 and its clients expect); an array too small gives -ENODATA with count
 * set and nothing written; a fault writing the array -EFAULT.
 */
static int ctl_snapshot_collect(struct blksnap_snapshot_collect __user *uarg)
{
	struct blksnap_snapshot_collect arg;
	uuid_t *ids = NULL;
	u32 count = 0;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.ids) {
		count = min_t(u32, arg.count, CTL_MAX_RANGES);
		ids = kvcalloc(max_t(u32, count, 1), sizeof(*ids), GFP_KERNEL);
		if (!ids)
			return -ENOMEM;
	}
	ret = snapshot_collect(ids, &count);
	if (!ret && ids && count &&
	    copy_to_user((void __user *)(uintptr_t)arg.ids, ids,
			 array_size(count, sizeof(*ids))))
		ret = -EFAULT;
	kvfree(ids);
	if (ret && ret != -ENODATA)
		return ret;
	if (put_user(count, &uarg->count))
		return -EFAULT;
	return ret;
}

/**
 * blksnap_ctl_wait_event() - Serve WAIT_EVENT, for both front ends (the v2
 * event structure is wire-identical to v3's).
 * @uarg: The user's struct blksnap_snapshot_event: id and timeout_ms are
 *	read, the whole structure is written back on success.
 *
 * Context: may sleep.
 * Return: 0 or the errno of snapshot_wait_event(), -EFAULT, -ENOMEM.
 */
int blksnap_ctl_wait_event(struct blksnap_snapshot_event __user *uarg)
{
	struct blksnap_snapshot_event *ev;
	uuid_t id;
	int ret;

	ev = kzalloc(sizeof(*ev), GFP_KERNEL);
	if (!ev)
		return -ENOMEM;
	/* Only id and timeout_ms are read. */
	if (copy_from_user(ev, uarg, offsetof(typeof(*ev), code))) {
		ret = -EFAULT;
		goto out_free;
	}
	import_uuid(&id, ev->id.b);
	ret = snapshot_wait_event(&id, ev->timeout_ms, ev);
	if (!ret && copy_to_user(uarg, ev, sizeof(*ev)))
		ret = -EFAULT;
out_free:
	kfree(ev);
	return ret;
}

static long ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	switch (cmd) {
	case IOCTL_BLKSNAP_VERSION:
		return ctl_version(uarg);
	case IOCTL_BLKSNAP_SNAPSHOT_CREATE:
		return ctl_snapshot_create(uarg);
	case IOCTL_BLKSNAP_SNAPSHOT_DESTROY:
		return ctl_snapshot_destroy(uarg);
	case IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE:
		return ctl_snapshot_append_storage(uarg);
	case IOCTL_BLKSNAP_SNAPSHOT_TAKE:
		return ctl_snapshot_take(uarg);
	case IOCTL_BLKSNAP_SNAPSHOT_COLLECT:
		return ctl_snapshot_collect(uarg);
	case IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT:
		return blksnap_ctl_wait_event(uarg);
	default:
		return -ENOTTY;
	}
}

/* ------------------------------------------------- BLKFILTER_CTL commands */

static int ctl_cbtinfo(struct tracker *tracker, __u8 __user *buf, __u32 *plen)
{
	struct blksnap_cbtinfo info = {};
	struct tracker_cbt_info ti;

	if (*plen < sizeof(info))
		return -EINVAL;
	tracker_cbt_info(tracker, &ti);
	info.device_capacity = ti.capacity;
	info.block_size = ti.block_size;
	info.block_count = ti.block_count;
	export_uuid(info.generation_id.b, &ti.generation_id);
	info.changes_number = ti.changes_number;
	if (copy_to_user(buf, &info, sizeof(info)))
		return -EFAULT;
	*plen = sizeof(info);
	return 0;
}

static int ctl_cbtmap(struct tracker *tracker, __u8 __user *buf, __u32 *plen)
{
	struct blksnap_cbtmap arg;
	long ret;

	if (*plen < sizeof(arg))
		return -EINVAL;
	if (copy_from_user(&arg, buf, sizeof(arg)))
		return -EFAULT;
	ret = tracker_cbt_read(tracker, arg.offset, arg.length,
			       (u8 __user *)arg.buffer);
	if (ret >= 0)
		*plen = sizeof(arg);
	return ret;
}

static int ctl_cbtdirty(struct tracker *tracker, __u8 __user *buf,
			__u32 *plen)
{
	const struct blksnap_sectors __user *ranges;
	struct blksnap_cbtdirty arg;
	int ret;

	if (*plen < sizeof(arg))
		return -EINVAL;
	if (copy_from_user(&arg, buf, sizeof(arg)))
		return -EFAULT;
	ranges = (const struct blksnap_sectors __user *)arg.dirty_sectors;
	ret = tracker_cbt_mark_dirty(tracker, ranges, arg.count);
	if (!ret)
		*plen = sizeof(arg);
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
	ret = snapshot_add_device(&id, tracker);
	if (!ret)
		*plen = sizeof(arg);
	return ret;
}

static int ctl_snapshotinfo(struct tracker *tracker, __u8 __user *buf,
			    __u32 *plen)
{
	struct blksnap_snapshotinfo info = {};
	int error;

	if (*plen < sizeof(info))
		return -EINVAL;
	snapshot_device_state(tracker, &error, (char *)info.image,
			      sizeof(info.image));
	info.error_code = error;
	if (copy_to_user(buf, &info, sizeof(info)))
		return -EFAULT;
	*plen = sizeof(info);
	return 0;
}

/**
 * blksnap_ctl_filter() - Serve the "blksnap" filter's BLKFILTER_CTL commands.
 * @tracker: The device's tracker.
 * @cmd: The command (enum blkfilter_ctl_blksnap).
 * @buf: The user's opt pointer.
 * @plen: Its optlen, updated on success.
 *
 * Handed to tracker_init(); called by the filter layer.
 * Context: blkfilter_lock() held; may sleep.
 * Return: 0, a byte count (cbtmap) or a negative errno.
 */
int blksnap_ctl_filter(struct tracker *tracker, unsigned int cmd,
		       __u8 __user *buf, __u32 *plen)
{
	switch (cmd) {
	case blkfilter_ctl_blksnap_cbtinfo:
		return ctl_cbtinfo(tracker, buf, plen);
	case blkfilter_ctl_blksnap_cbtmap:
		return ctl_cbtmap(tracker, buf, plen);
	case blkfilter_ctl_blksnap_cbtdirty:
		return ctl_cbtdirty(tracker, buf, plen);
	case blkfilter_ctl_blksnap_snapshotadd:
		return ctl_snapshotadd(tracker, buf, plen);
	case blkfilter_ctl_blksnap_snapshotinfo:
		return ctl_snapshotinfo(tracker, buf, plen);
	case BLKSNAP_TEST_CTL_CBT_SWITCH:
		return tracker_cbt_switch_test(tracker);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations ctl_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = ctl_ioctl,
};

static struct miscdevice ctl_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = BLKSNAP_CTL,
	.fops = &ctl_fops,
};

/**
 * blksnap_ctl_init() - Register /dev/blksnap-control.
 *
 * Context: module init; may sleep.
 * Return: 0 or a negative errno from misc_register().
 */
int blksnap_ctl_init(void)
{
	return misc_register(&ctl_misc);
}

/**
 * blksnap_ctl_exit() - Remove /dev/blksnap-control.
 *
 * After this returns no new ioctl can start; callers already inside
 * ctl_ioctl() hold a reference on the module through the open file.
 * Context: module exit; may sleep.
 */
void blksnap_ctl_exit(void)
{
	misc_deregister(&ctl_misc);
}
