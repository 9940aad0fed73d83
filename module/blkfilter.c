// SPDX-License-Identifier: GPL-2.0
/*
 * The block-device filter layer: what the upstream blkfilter series would
 * have put into the block layer, provided from inside the module.  This
 * file is that layer as upstream would have it: the registry of filter
 * operations, attach, detach and ctl (the BLKFILTER_* ioctls and the same
 * without a file descriptor), the layer's lock, and detaching the filters
 * of devices that go away.  Freezing a filter is in blkfilter_freeze.c,
 * the bio path in blkfilter_bio.c; what stands in for the kernel's hooks
 * on stock kernels is in blkfilter_ftrace.c.  They share blkfilter_priv.h.
 *
 * Locking:
 *
 * - blkfilter_mutex (blkfilter_lock()) serialises attach, detach, ctl,
 *   freeze/unfreeze and the registry of filter operations; it protects
 *   bf_ops_list and the writers of blkfilter_hash.  Lookups on the bio
 *   path use RCU only.  It is also the snapshot subsystem's lock (see
 *   blkfilter_lock()).
 *
 * Lifetime of a struct bf_entry (see also blkfilter_priv.h):
 *
 * - It lives from attach to detach.  It pins the block device
 *   (get_device) and, if attached by BLKFILTER_ATTACH or with @pin_module
 *   (@pinned), holds a reference on the filter's module; without one it is
 *   detached by blkfilter_unregister() when that module goes.  @ref
 *   counts the callers inside the filter's submit_bio and the writes that
 *   passed it; detach and freeze kill it and wait for it to drain.  Detach
 *   unpublishes the entry (removes it from blkfilter_hash) under
 *   blkfilter_mutex; then, after a grace period, it drains @ref, flushes
 *   the entry's worker, calls ops->detach and frees the entry after
 *   another grace period.  A user-requested detach (BLKFILTER_DETACH,
 *   blkfilter_detach()) does that part without the mutex (the filter
 *   agreed in may_detach and cannot be found any more); removal and
 *   unregister keep the lock throughout.  Attach freezes the file system
 *   before it takes the mutex.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/xarray.h>
#include <linux/blk-filter.h>
#include "blkfilter_priv.h"

/* The layer's lock: see blkfilter_priv.h and blkfilter_lock(). */
DEFINE_MUTEX(blkfilter_mutex);
/* Registered filter operations (struct blkfilter_operations.link). */
static LIST_HEAD(bf_ops_list);

/*
 * Detaches that finish without blkfilter_mutex (bf_detach_unlock());
 * blkfilter_unregister() waits on bf_released_wq until none is left.
 */
static atomic_t bf_nr_releasing = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(bf_released_wq);

/* Documented in blkfilter.h: it is also the snapshot subsystem's lock. */
void blkfilter_lock(void)
{
	mutex_lock(&blkfilter_mutex);
}

/**
 * blkfilter_assert_locked() - Lockdep check that blkfilter_lock() is held.
 */
void blkfilter_assert_locked(void)
{
	lockdep_assert_held(&blkfilter_mutex);
}

/**
 * blkfilter_unlock() - Release the lock taken by blkfilter_lock().
 */
void blkfilter_unlock(void)
{
	mutex_unlock(&blkfilter_mutex);
}

static void bf_ref_release(struct bf_ref *ref)
{
	complete(&container_of(ref, struct bf_entry, ref)->drained);
}

static void bf_entry_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct bf_entry, rcu));
}

/*
 * Unpublish @e: no lookup finds it any more, so no ctl, attach, detach or
 * removal can reach it; bios already inside still run.
 */
static void bf_unpublish(struct bf_entry *e)
{
	lockdep_assert_held(&blkfilter_mutex);
	hash_del_rcu(&e->hnode);
	atomic_dec(&blkfilter_nr_attached);
	if (!e->ops->writes_only)
		atomic_dec(&blkfilter_nr_reading);
}

/*
 * Finish the detach of an unpublished @e: wait until no bio is inside its
 * filter, resubmit its deferred bios, then let the filter release its
 * object.  Needs blkfilter_mutex only if the filter's detach does (a
 * filter still in use elsewhere, e.g. a device that went away under a
 * snapshot); a user-requested detach runs it unlocked (bf_detach_unlock()),
 * so the grace period and the drain do not stall the ioctls of every other
 * device.  May sleep.
 */
static void bf_release(struct bf_entry *e)
{
	struct module *owner = e->ops->owner;
	bool pinned;

	synchronize_rcu();		/* no bio-path lookup returns @e */
	flush_work(&e->work);		/* deferred bios still filtered */
	WRITE_ONCE(e->dead, true);
	bf_ref_kill(&e->ref);
	wait_for_completion(&e->drained);
	flush_work(&e->work);		/* deferred meanwhile: passed down */
	bf_ref_exit(&e->ref);

	pr_info("filter \"%s\" detached from %pg\n", e->ops->name, e->bdev);
	e->ops->detach(e->flt);
	put_device(&e->bdev->bd_device);
	pinned = e->pinned;
	call_rcu(&e->rcu, bf_entry_free_rcu);
	if (pinned)
		module_put(owner);
}

/**
 * blkfilter_entry_gone() - Is the device of an entry gone?
 * @e: The entry.
 *
 * Its disk is dead, or it is a partition that is no longer the one in the
 * disk's partition table (deleted, or replaced by a rescan).  A deletion
 * the kernel refused (EBUSY: the partition is open) leaves both as they
 * were, and the filter stays.
 *
 * Context: blkfilter_lock() held or RCU read side.
 * Return: true if the device is gone.
 */
bool blkfilter_entry_gone(struct bf_entry *e)
{
	if (!disk_live(e->disk))
		return true;
	if (!bdev_is_partition(e->bdev))
		return false;
	return xa_load(&e->disk->part_tbl, bdev_partno(e->bdev)) != e->bdev;
}

/**
 * blkfilter_detach_entry() - Detach an entry, the layer's lock held
 * throughout (device removal, unregister, a lost attach race).
 * @e: The entry.
 *
 * Context: blkfilter_lock() held; may sleep.
 */
void blkfilter_detach_entry(struct bf_entry *e)
{
	lockdep_assert_held(&blkfilter_mutex);
	bf_unpublish(e);
	bf_release(e);
}

static const struct blkfilter_operations *bf_find_ops(const char *name)
{
	const struct blkfilter_operations *ops;

	lockdep_assert_held(&blkfilter_mutex);
	list_for_each_entry(ops, &bf_ops_list, link)
		if (!strncmp(ops->name, name, BLKFILTER_NAME_LENGTH))
			return ops;
	return NULL;
}

static int bf_copy_name(char *name, const void __user *argp)
{
	struct blkfilter_name arg;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;
	memcpy(name, arg.name, BLKFILTER_NAME_LENGTH);
	name[BLKFILTER_NAME_LENGTH - 1] = '\0';
	return 0;
}

/*
 * Why @ops may not be attached to @bdev now, as an errno, or 0: no such
 * filter, a filter already attached (this one or another), a dead disk, a
 * DAX-capable device (a file system mounted with -o dax writes file data
 * without bios: no filter would see it).
 */
static int bf_attach_refused(struct block_device *bdev,
			     const struct blkfilter_operations *ops)
{
	struct bf_entry *old;

	lockdep_assert_held(&blkfilter_mutex);
	if (!ops)
		return -ENOENT;
	old = bf_lookup(bdev);
	if (old)
		return old->ops == ops ? -EALREADY : -EBUSY;
	if (!disk_live(bdev->bd_disk))
		return -ENODEV;
	/* file data on DAX is written by memcpy, never by a bio */
	if (blk_queue_dax(bdev_get_queue(bdev)))
		return -EOPNOTSUPP;
	return 0;
}

/**
 * blkfilter_attach() - Attach a filter to a block device.
 * @bdev: The device, held open by the caller for the duration of the call.
 * @name: The filter's name (only its first BLKFILTER_NAME_LENGTH - 1
 *	characters count).
 * @pin_module: Hold a reference on the filter's module (ops->owner) for as
 *	long as the filter stays attached, as BLKFILTER_ATTACH does.  Without
 *	it the attachment does not keep the module loaded, and
 *	blkfilter_unregister() detaches it when the module goes.
 *
 * What BLKFILTER_ATTACH does, without a file descriptor: the device's file
 * system is frozen while ops->attach runs, so no write slips past the
 * filter's start; then every bio for @bdev is offered to the filter.  An
 * attachment keeps the pinning it was made with: attaching again gives
 * -EALREADY whatever @pin_module says.
 *
 * Context: process, blkfilter_lock() not held; may sleep (freezes the file
 * system).
 * Return: 0; -ENOENT if no filter of that name is registered (or its
 * module is going away); -EALREADY if it is attached to @bdev already;
 * -EBUSY if another filter is; -ENODEV if the device is gone or goes away
 * meanwhile; -EOPNOTSUPP for a DAX-capable device; the errno of freezing
 * the file system or of ops->attach; -ENOMEM.
 */
int blkfilter_attach(struct block_device *bdev, const char *name,
		     bool pin_module)
{
	const struct blkfilter_operations *ops;
	struct blkfilter *flt;
	struct bf_entry *e;
	int ret;

	/* refuse before allocating and freezing; checked again below */
	mutex_lock(&blkfilter_mutex);
	ret = bf_attach_refused(bdev, bf_find_ops(name));
	mutex_unlock(&blkfilter_mutex);
	if (ret)
		return ret;

	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	ret = bf_ref_init(&e->ref, bf_ref_release, GFP_KERNEL);
	if (ret)
		goto out_free_entry;
	init_completion(&e->drained);
	spin_lock_init(&e->lock);
	bio_list_init(&e->deferred);
	INIT_WORK(&e->work, blkfilter_deferred_work);

	/*
	 * Tracking starts with the file system frozen, so no write slips
	 * past the new map.  Freezing syncs the file system, which can take
	 * long: it happens outside the layer's lock, which the ioctls of all
	 * devices share, and only for a request that could succeed (above;
	 * rechecked under the lock, as things may have changed; freezes
	 * nest, so concurrent attaches are fine).
	 */
	ret = bdev_freeze(bdev);
	if (ret)
		goto out_exit_ref;
	mutex_lock(&blkfilter_mutex);
	ops = bf_find_ops(name);
	ret = bf_attach_refused(bdev, ops);
	if (ret)
		goto out_unlock;
	if (pin_module && !try_module_get(ops->owner)) {
		ret = -ENOENT;
		goto out_unlock;
	}
	flt = ops->attach(bdev);
	if (IS_ERR(flt)) {
		ret = PTR_ERR(flt);
		goto out_put_module;
	}
	flt->ops = ops;
	flt->bdev = bdev;
	flt->priv = e;
	e->flt = flt;
	e->ops = ops;
	e->bdev = bdev;
	e->disk = bdev->bd_disk;
	e->pinned = pin_module;
	get_device(&bdev->bd_device);
	if (!ops->writes_only)
		atomic_inc(&blkfilter_nr_reading);
	hash_add_rcu(blkfilter_hash, &e->hnode, (unsigned long)bdev);
	atomic_inc(&blkfilter_nr_attached);
	if (blkfilter_entry_gone(e)) {
		/* del_gendisk ran meanwhile (its hook did not see @e) */
		blkfilter_detach_entry(e);
		mutex_unlock(&blkfilter_mutex);
		bdev_thaw(bdev);
		return -ENODEV;
	}
	mutex_unlock(&blkfilter_mutex);
	bdev_thaw(bdev);
	pr_info("filter \"%s\" attached to %pg\n", ops->name, bdev);
	return 0;

out_put_module:
	if (pin_module)
		module_put(ops->owner);
out_unlock:
	mutex_unlock(&blkfilter_mutex);
	bdev_thaw(bdev);
out_exit_ref:
	bf_ref_exit(&e->ref);
out_free_entry:
	kfree(e);
	return ret;
}

static int bf_ioctl_attach(struct block_device *bdev, void __user *argp)
{
	char name[BLKFILTER_NAME_LENGTH];
	int ret;

	ret = bf_copy_name(name, argp);
	if (ret)
		return ret;
	return blkfilter_attach(bdev, name, true);
}

/*
 * Detach @e (NULL: not found) if it is the filter called @name and the
 * filter agrees.  Called with blkfilter_mutex held; releases it.
 */
static int bf_detach_unlock(struct bf_entry *e, const char *name)
	__releases(&blkfilter_mutex)
{
	int ret;

	lockdep_assert_held(&blkfilter_mutex);
	if (!e) {
		ret = -ENOENT;
		goto out_unlock;
	}
	if (strncmp(e->ops->name, name, BLKFILTER_NAME_LENGTH)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (e->ops->may_detach) {
		ret = e->ops->may_detach(e->flt);
		if (ret)
			goto out_unlock;
	}
	/*
	 * may_detach() allowed it and, once unpublished, nothing can make
	 * the filter busy again (snapshotadd needs a lookup): the rest runs
	 * without the layer's lock.  blkfilter_unregister() waits for it.
	 */
	bf_unpublish(e);
	atomic_inc(&bf_nr_releasing);
	mutex_unlock(&blkfilter_mutex);
	bf_release(e);
	if (atomic_dec_and_test(&bf_nr_releasing))
		wake_up_all(&bf_released_wq);
	return 0;

out_unlock:
	mutex_unlock(&blkfilter_mutex);
	return ret;
}

static int bf_ioctl_detach(struct block_device *bdev, void __user *argp)
{
	char name[BLKFILTER_NAME_LENGTH];
	int ret;

	ret = bf_copy_name(name, argp);
	if (ret)
		return ret;
	mutex_lock(&blkfilter_mutex);
	return bf_detach_unlock(bf_lookup(bdev), name);
}

/*
 * The live entry of the device numbered @dev, or NULL.  Entries whose
 * device is gone or going (the gc worker detaches them soon) do not count:
 * a new device may have taken the number meanwhile.
 */
static struct bf_entry *bf_lookup_dev(dev_t dev)
{
	struct bf_entry *e;
	int bkt;

	lockdep_assert_held(&blkfilter_mutex);
	hash_for_each(blkfilter_hash, bkt, e, hnode)
		if (e->bdev->bd_dev == dev && !READ_ONCE(e->dying) &&
		    !blkfilter_entry_gone(e))
			return e;
	return NULL;
}

/**
 * blkfilter_detach() - Detach a filter from a block device.
 * @dev: The device's number.
 * @name: The filter's name.
 *
 * What BLKFILTER_DETACH does, without a file descriptor: ops->may_detach
 * may refuse; then the filter is drained (bios inside it and writes that
 * passed it), its deferred bios are passed down and ops->detach releases
 * it.  Pinned or not, the attachment ends.
 *
 * Context: process, blkfilter_lock() not held; may sleep.
 * Return: 0; -ENOENT if no filter is attached to @dev; -EINVAL if the one
 * attached has another name; the errno of ops->may_detach (-EBUSY while
 * the device is in a snapshot, for "blksnap").
 */
int blkfilter_detach(dev_t dev, const char *name)
{
	mutex_lock(&blkfilter_mutex);
	return bf_detach_unlock(bf_lookup_dev(dev), name);
}

/**
 * blkfilter_find() - Look up the filter attached to a device by number.
 * @dev: The device's number.
 * @ops: The filter wanted.
 *
 * A device whose removal has started counts as not attached.
 *
 * Context: blkfilter_lock() held.
 * Return: the device's filter if it is @ops's, else NULL.  It stays valid
 * (attached) while blkfilter_lock() is held.
 */
struct blkfilter *blkfilter_find(dev_t dev,
				 const struct blkfilter_operations *ops)
{
	struct bf_entry *e = bf_lookup_dev(dev);

	return e && e->ops == ops ? e->flt : NULL;
}

/**
 * blkfilter_for_each() - Call a function for every attachment of a filter.
 * @ops: The filter.
 * @fn: Called with each of @ops's attached filters (devices whose removal
 *	has started are left out) and @data; a non-zero return stops the
 *	walk.  It runs with blkfilter_lock() held and must not attach or
 *	detach.
 * @data: Passed to @fn.
 *
 * Context: blkfilter_lock() held; may sleep if @fn does.
 * Return: 0 after a full walk, else the first non-zero value of @fn.
 */
int blkfilter_for_each(const struct blkfilter_operations *ops,
		       int (*fn)(struct blkfilter *flt, void *data),
		       void *data)
{
	struct bf_entry *e;
	int bkt, ret;

	lockdep_assert_held(&blkfilter_mutex);
	hash_for_each(blkfilter_hash, bkt, e, hnode) {
		if (e->ops != ops || READ_ONCE(e->dying) || blkfilter_entry_gone(e))
			continue;
		ret = fn(e->flt, data);
		if (ret)
			return ret;
	}
	return 0;
}

static int bf_ioctl_ctl(struct block_device *bdev, void __user *argp)
{
	struct blkfilter_ctl arg;
	struct bf_entry *e;
	int ret;

	if (copy_from_user(&arg, argp, sizeof(arg)))
		return -EFAULT;

	mutex_lock(&blkfilter_mutex);
	e = bf_lookup(bdev);
	if (!e || strncmp(e->ops->name, arg.name, BLKFILTER_NAME_LENGTH)) {
		ret = -ENOENT;
		goto out_unlock;
	}
	if (!e->ops->ctl) {
		ret = -ENOTTY;
		goto out_unlock;
	}
	ret = e->ops->ctl(e->flt, arg.cmd, u64_to_user_ptr(arg.opt),
			  &arg.optlen);
out_unlock:
	mutex_unlock(&blkfilter_mutex);
	if (ret >= 0 && copy_to_user(argp, &arg, sizeof(arg)))
		ret = -EFAULT;
	return ret;
}

/**
 * blkfilter_ioctl() - Serve BLKFILTER_ATTACH, _DETACH and _CTL.
 * @bdev: The block device the ioctl was issued on.
 * @cmd: The command.
 * @argp: Its user-space argument.
 *
 * What blkdev_ioctl() would call for these commands.
 *
 * Context: process; may sleep.
 * Return: the ioctl's result; -EPERM without CAP_SYS_ADMIN, -ENOTTY for
 * any other command.
 */
long blkfilter_ioctl(struct block_device *bdev, unsigned int cmd,
		     void __user *argp)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case BLKFILTER_ATTACH:
		return bf_ioctl_attach(bdev, argp);
	case BLKFILTER_DETACH:
		return bf_ioctl_detach(bdev, argp);
	case BLKFILTER_CTL:
		return bf_ioctl_ctl(bdev, argp);
	}
	return -ENOTTY;
}

/**
 * blkfilter_register() - Make a filter available to BLKFILTER_ATTACH.
 * @ops: The filter's operations; @ops->name must be unique.
 *
 * Context: may sleep.
 * Return: 0, or -EBUSY if a filter of that name exists.
 */
int blkfilter_register(struct blkfilter_operations *ops)
{
	int ret = 0;

	mutex_lock(&blkfilter_mutex);
	if (bf_find_ops(ops->name))
		ret = -EBUSY;
	else
		list_add_tail(&ops->link, &bf_ops_list);
	mutex_unlock(&blkfilter_mutex);
	return ret;
}

/**
 * blkfilter_unregister() - Remove a filter registered by blkfilter_register().
 * @ops: The filter's operations.
 *
 * Attachments made with BLKFILTER_ATTACH (or blkfilter_attach() with
 * @pin_module) hold a reference on @ops->owner, so none is left when the
 * owner unloads.  Those made without it are detached here, as if their
 * devices went away but without ops->device_gone: each is drained (bios
 * in its filter, writes that passed it, deferred bios) before ops->detach
 * runs.  No new attachment can start once this has taken the layer's
 * lock, and detaches that finish without the lock are waited for, so
 * nothing of @ops runs after this returns.
 *
 * Context: may sleep.
 */
void blkfilter_unregister(struct blkfilter_operations *ops)
{
	struct hlist_node *tmp;
	struct bf_entry *e;
	int bkt;

	mutex_lock(&blkfilter_mutex);
	hash_for_each_safe(blkfilter_hash, bkt, tmp, e, hnode) {
		if (e->ops != ops)
			continue;
		WARN_ON_ONCE(e->pinned);
		pr_info("unloading: detaching filter \"%s\" from %pg\n",
			ops->name, e->bdev);
		blkfilter_detach_entry(e);
	}
	list_del(&ops->link);
	mutex_unlock(&blkfilter_mutex);
	wait_event(bf_released_wq, !atomic_read(&bf_nr_releasing));
}
