/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block-device filter layer for stock kernels.
 *
 * Upstream's blkfilter series (v3..v7) would have given the block layer a
 * filter pointer per block device, a hook in the bio submission path and the
 * BLKFILTER_ATTACH/DETACH/CTL ioctls.  Stock kernels have none of it, so this
 * layer provides the same shape from inside the module: a filter registers a
 * struct blkfilter_operations under its name, user space attaches it to a
 * device with BLKFILTER_ATTACH on the device's own file descriptor (or a
 * front end of the module does with blkfilter_attach()), and from then on
 * every bio submitted to that device is offered to ops->submit_bio.
 *
 * Only the layer's blkfilter_ftrace.c touches ftrace.  Filters see nothing
 * of it (they include only this header); they embed a struct blkfilter in
 * their own per-device object.
 */
#ifndef BLKSNAP_BLKFILTER_H
#define BLKSNAP_BLKFILTER_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/blk_types.h>

struct blkfilter;
struct block_device;
struct bio;
struct module;

/**
 * struct blkfilter_operations - What a filter provides to the filter layer.
 * @link: Entry in the layer's list of registered filters (layer-private).
 * @owner: Module that implements the filter; BLKFILTER_ATTACH takes a
 *         reference on it (see blkfilter_attach()).
 * @name: Name user space passes in struct blkfilter_name (at most
 *        BLKFILTER_NAME_LENGTH - 1 characters).
 * @attach: Create the filter's per-device object for @bdev.  Called from
 *          blkfilter_attach() (the BLKFILTER_ATTACH ioctl) with the
 *          device's file system frozen and blkfilter_lock() held.  May sleep.  Returns the embedded
 *          struct blkfilter, or an ERR_PTR().
 * @detach: Release the per-device object.  Called once per successful
 *          attach, after the layer has made sure no ->submit_bio, ->ctl or
 *          deferred bio is running or will run for @flt.  May sleep.
 * @may_detach: Optional.  Called for a user-requested detach
 *          (BLKFILTER_DETACH, blkfilter_detach()) before anything changes;
 *          a negative errno refuses the detach and is returned to the
 *          caller.  Never called when the device goes away, nor by
 *          blkfilter_unregister().
 * @device_gone: Optional.  Called when the device disappears (del_gendisk,
 *          partition deletion or rescan) before the automatic detach, so the
 *          owner can mark dependent state (a taken snapshot) failed.  May
 *          sleep.
 * @media_changed: Optional.  The device's content changed without bios
 *          through the filter: new media, a new loop backing file, a new
 *          device-mapper table, a size change.  Called from any context,
 *          with no ->submit_bio of the filter running; must not sleep.
 * @ctl: Optional.  Serves BLKFILTER_CTL, with blkfilter_lock() held (so
 *       it may call blkfilter_freeze()).  @buf is the user pointer from
 *       struct blkfilter_ctl.opt and @plen points to a kernel copy of its
 *       optlen, which the filter may update; the layer copies the updated
 *       struct back to user space when the return value is not negative.
 *       The return value (errno or a non-negative count) is the ioctl's.
 *       May sleep.
 * @submit_bio: Offered every bio submitted to the filtered device, with
 *       blkfilter_bio_sector() telling the partition-relative start.
 *       Returns true when the filter took ownership of the bio (it completes
 *       or resubmits it later with blkfilter_resubmit_bio()), false to let
 *       it pass down unchanged.  Runs in the submitter's context: it may
 *       sleep only if blkfilter_bio_may_wait() says so; otherwise a filter
 *       that needs to wait for I/O returns blkfilter_defer_bio().
 * @pass_write: Optional.  A write of the filtered device (with data) is
 *       offered here first, from the submission hook itself: preemption
 *       disabled, nothing may sleep.  The filter does what the write needs
 *       if it can without sleeping and returns true: the write passes, and
 *       ->submit_bio never sees it.  False sends the bio to ->submit_bio
 *       as usual, so whatever this did must be harmless to do again there.
 * @writes_only: Bios that do not write (op_is_write() false: reads,
 *       flushes without data) are never offered to ->submit_bio: they go
 *       down untouched, without entering the layer, even while the filter
 *       is frozen.
 */
struct blkfilter_operations {
	struct list_head link;
	struct module *owner;
	const char *name;
	struct blkfilter *(*attach)(struct block_device *bdev);
	void (*detach)(struct blkfilter *flt);
	int (*may_detach)(struct blkfilter *flt);
	void (*device_gone)(struct blkfilter *flt);
	void (*media_changed)(struct blkfilter *flt);
	int (*ctl)(struct blkfilter *flt, unsigned int cmd, __u8 __user *buf,
		   __u32 *plen);
	bool (*submit_bio)(struct blkfilter *flt, struct bio *bio);
	bool (*pass_write)(struct blkfilter *flt, struct bio *bio);
	bool writes_only;
};

/**
 * struct blkfilter - One filter attached to one block device.
 * @ops: The filter's operations; set by the layer at attach.
 * @bdev: The filtered device; pinned by the layer from attach until after
 *        ->detach returns.  Set by the layer at attach.
 * @priv: Layer-private state (hash entry, quiesce reference, deferred bios).
 *        Filters never touch it.
 *
 * Filters embed this in their per-device object and get back to it with
 * container_of().  Lifetime: ops->attach creates it; the layer hands it to
 * ops->detach exactly once, after the last ->submit_bio, ->ctl,
 * ->media_changed or deferred bio of it has finished; from then on the
 * layer never touches it.
 */
struct blkfilter {
	const struct blkfilter_operations *ops;
	struct block_device *bdev;
	void *priv;
};

int blkfilter_register(struct blkfilter_operations *ops);
void blkfilter_unregister(struct blkfilter_operations *ops);

int blkfilter_attach(struct block_device *bdev, const char *name,
		     bool pin_module);
int blkfilter_detach(dev_t dev, const char *name);
struct blkfilter *blkfilter_find(dev_t dev,
				 const struct blkfilter_operations *ops);
int blkfilter_for_each(const struct blkfilter_operations *ops,
		       int (*fn)(struct blkfilter *flt, void *data),
		       void *data);

sector_t blkfilter_bio_sector(struct bio *bio);
bool blkfilter_bio_may_wait(void);
bool blkfilter_defer_bio(struct blkfilter *flt, struct bio *bio);
void blkfilter_resubmit_bio(struct bio *bio);
bool blkfilter_is_own_bio(struct bio *bio);
struct bio_set *blkfilter_bio_set(void);

/**
 * blkfilter_lock() - Take the layer's lock (attach, detach, ctl, freeze).
 *
 * The layer's one mutex.  It serialises attach, detach, ctl, freezing
 * and the registry of filters; held around blkfilter_freeze() /
 * blkfilter_unfreeze(), it also keeps every filter attached.  ops->ctl
 * runs with it held.
 *
 * It is also the snapshot subsystem's lock (see module/snapshot.c):
 * snapshot membership (which trackers belong to which snapshot), whether
 * a snapshot is taken and a tracker's diff area change only under it, so
 * no device can be attached, detached or removed meanwhile.  TAKE holds
 * it in its phase 1 (check the members, create their diff areas) and
 * phase 3 (freeze the filters, add the images, switch the CBT maps), not
 * while it freezes file systems in between; DESTROY holds it while it
 * takes the members out of the snapshot.  It comes first in the snapshot
 * code's locking order, before snapshots_lock.
 *
 * Context: may sleep.
 */
void blkfilter_lock(void);
void blkfilter_unlock(void);
void blkfilter_assert_locked(void);
int blkfilter_freeze(struct blkfilter *flt);
int blkfilter_freeze_set(struct blkfilter **flts, int n);
void blkfilter_prepare_freeze(struct blkfilter *flt);
void blkfilter_end_prepare(struct blkfilter *flt);
void blkfilter_unfreeze(struct blkfilter *flt);

int blkfilter_init(void);
void blkfilter_exit(void);

#endif /* BLKSNAP_BLKFILTER_H */
