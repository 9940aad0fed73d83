// SPDX-License-Identifier: GPL-2.0
/*
 * The block-device filter layer: what the upstream blkfilter series would
 * have put into the block layer, provided from inside the module.
 *
 * Three kinds of ftrace hooks, registered by function name:
 *
 * - submit_bio_noacct (IPMODIFY): the callback looks the bio's block device
 *   up in an RCU hash of attached devices and, on a hit, makes the call
 *   continue in bf_submit_bio_noacct(), which offers the bio to the filter
 *   and then calls the real submit_bio_noacct() itself.  Calls coming from
 *   this module's text and bios from the module's bio_set are never
 *   redirected, so the module's own I/O passes untouched.
 * - blkdev_ioctl / compat_blkdev_ioctl (IPMODIFY): only the three exact
 *   BLKFILTER_* command codes are redirected to bf_blkdev_ioctl(); every
 *   other block ioctl runs as before.
 * - del_gendisk, drop_partition, bdev_del_partition, bdev_disk_changed
 *   (plain callbacks, whichever exist in the running kernel): mark the
 *   filters of a disappearing device, which a worker then detaches.
 *
 * Locking and lifetime:
 *
 * - bf_mutex serialises attach, detach, ctl, freeze/unfreeze and the
 *   registry of filter operations; it protects bf_ops_list and the writers
 *   of bf_hash.  Lookups on the bio path use RCU only.
 * - A struct bf_entry lives from attach to detach.  It pins the block
 *   device (get_device) and holds a reference on the filter's module.
 *   @ref counts the callers inside the filter's submit_bio; detach and
 *   freeze kill it and wait for it to drain.  Detach unpublishes the entry
 *   (removes it from bf_hash) under bf_mutex; then, after a grace period,
 *   it drains @ref, flushes the entry's worker, calls ops->detach and frees
 *   the entry after another grace period.  An ioctl detach does that part
 *   without bf_mutex (the filter agreed in may_detach and cannot be found
 *   any more); removal and unload keep the lock throughout.  Attach
 *   freezes the file system before it takes bf_mutex.
 * - bf_active counts the tasks inside the redirect targets; module exit
 *   waits for it after unregistering the hooks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/ftrace.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/hashtable.h>
#include <linux/percpu-refcount.h>
#include <linux/workqueue.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/compat.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/wait.h>
#include <linux/completion.h>
#include <linux/kallsyms.h>
#include <linux/blk-filter.h>
#include "blkfilter.h"

/**
 * struct bf_entry - Layer-private state of one attached filter.
 * @hnode: Entry in bf_hash, keyed by @bdev.  Written under bf_mutex, read
 *	under RCU.
 * @rcu: Frees the entry after readers of bf_hash are done.
 * @flt: The filter's object returned by ops->attach.
 * @ops: The filter's operations.
 * @bdev: The filtered device, pinned with get_device() while attached.
 * @disk: @bdev's disk, compared (never dereferenced) by the removal hooks.
 * @ref: Held by every caller of ops->submit_bio.  Killed by freeze and
 *	detach; @drained completes when it reaches zero.
 * @drained: See @ref.
 * @frozen: Set while blkfilter_freeze() holds the filter; bios wait.
 *	Written under bf_mutex.
 * @dead: Set when detach starts; bios then pass unfiltered.  Written under
 *	bf_mutex.
 * @dying: Set by the del_gendisk hook; the gc worker detaches the entry.
 * @media_changed: A media-change hook could not tell the filter at once
 *	(the filter was frozen); the gc worker does it.
 * @pins: The entry holds a reference on the filter's module (every attach
 *	but one made by blkfilter_attach() without @pin_module).
 * @lock: Protects @deferred.
 * @deferred: Bios handed to the worker by blkfilter_defer_bio().
 * @work: Works off @deferred outside any nested submission.
 */
struct bf_entry {
	struct hlist_node hnode;
	struct rcu_head rcu;
	struct blkfilter *flt;
	const struct blkfilter_operations *ops;
	struct block_device *bdev;
	struct gendisk *disk;
	struct percpu_ref ref;
	struct completion drained;
	bool frozen;
	bool dead;
	bool dying;
	bool media_changed;
	bool pins;
	spinlock_t lock;		/* protects @deferred */
	struct bio_list deferred;
	struct work_struct work;
};

static DEFINE_MUTEX(bf_mutex);
static LIST_HEAD(bf_ops_list);
static DEFINE_HASHTABLE(bf_hash, 8);
static atomic_t bf_nr_attached = ATOMIC_INIT(0);

/* Tasks inside the redirect targets; module exit waits for zero. */
static atomic_t bf_active = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(bf_active_wq);

/* Bumped at every unfreeze; bios that met a frozen filter wait for it. */
static unsigned long bf_unfreeze_seq;
static DECLARE_WAIT_QUEUE_HEAD(bf_unfreeze_wq);

static struct bio_set bf_bio_set;
static struct workqueue_struct *bf_wq;

static bool bf_entry_gone(struct bf_entry *e);
static void bf_gc_kick(void);

static inline void bf_enter(void)
{
	atomic_inc(&bf_active);
}

static inline void bf_leave(void)
{
	if (atomic_dec_and_test(&bf_active))
		wake_up_all(&bf_active_wq);
}

/* Caller: RCU read side, preemption disabled, or bf_mutex. */
static struct bf_entry *bf_lookup(struct block_device *bdev)
{
	struct bf_entry *e;

	hash_for_each_possible_rcu(bf_hash, e, hnode, (unsigned long)bdev,
				   lockdep_is_held(&bf_mutex))
		if (e->bdev == bdev)
			return e;
	return NULL;
}

/* Does the filter's hold on @bio last until it completes (a write)? */
static inline bool bf_counts_until_done(struct bio *bio)
{
	return op_is_write(bio_op(bio)) && bio_sectors(bio);
}

/*
 * Hand @bio to the worker of @e instead of waiting or failing it here.  A
 * REQ_NOWAIT or polled bio loses those flags: io_uring may resubmit such a
 * bio with the same flags forever (6.1 sets REQ_POLLED|REQ_NOWAIT on every
 * polled write, including the blocking retry), so it is completed the slow
 * way instead; polling then finds nothing and waits for the completion.
 */
static void bf_defer(struct bf_entry *e, struct bio *bio)
{
	unsigned long flags;

	bio->bi_opf &= ~REQ_NOWAIT;
	bio_clear_polled(bio);
	spin_lock_irqsave(&e->lock, flags);
	bio_list_add(&e->deferred, bio);
	spin_unlock_irqrestore(&e->lock, flags);
	queue_work(bf_wq, &e->work);
}

/**
 * struct bf_write - A write of a filtered device on its way down.
 * @e: The entry whose @ref the write holds until it completes.
 * @orig: The submitter's bio, completed when @clone completes.
 * @clone: What goes down (from bf_clone_set, whose front pad is the rest).
 */
struct bf_write {
	struct bf_entry *e;
	struct bio *orig;
	struct bio clone;
};

static struct bio_set bf_clone_set;

static void bf_write_endio(struct bio *clone)
{
	struct bf_write *w = container_of(clone, struct bf_write, clone);
	struct bf_entry *e = w->e;
	struct bio *orig = w->orig;

	orig->bi_status = clone->bi_status;
	bio_put(clone);
	bio_endio(orig);
	percpu_ref_put(&e->ref);	/* last: @e may go right after */
}

/*
 * Send a write the filter let through down to the device as a clone whose
 * completion drops the reference on @e->ref that the caller holds.  So
 * blkfilter_freeze() (and detach) wait not only for callers of the filter
 * but also for writes that passed it and are still queued or delayed below
 * (a scheduler, a throttle, a dm-delay): no write can land after a freeze
 * that the filter saw before it.  Return: false if there is no memory for
 * the clone right now (only for REQ_NOWAIT bios); the caller keeps its
 * reference then.
 */
static bool bf_send_write(struct bf_entry *e, struct bio *bio)
{
	gfp_t gfp = bio->bi_opf & REQ_NOWAIT ? GFP_NOWAIT : GFP_NOIO;
	struct bf_write *w;
	struct bio *clone;

	clone = bio_alloc_clone(bio->bi_bdev, bio, gfp, &bf_clone_set);
	if (!clone)
		return false;
	bio_clear_polled(clone);	/* nobody polls for the clone */
	w = container_of(clone, struct bf_write, clone);
	w->e = e;
	w->orig = bio;
	clone->bi_end_io = bf_write_endio;
	submit_bio_noacct(clone);
	return true;
}

/*
 * Offer @bio to the filter of @e (or of @bio's device when @e is NULL) and
 * pass it down unless the filter took it.  Waits while the filter is
 * frozen, except inside another driver's submission (where the bios that
 * task queued before could never be sent while it waits, and a freeze may
 * be waiting for exactly those) and for REQ_NOWAIT bios: those go to the
 * worker.  Writes the filter lets through go down from here (see
 * bf_send_write()).  Return: true if @bio was taken care of, false if the
 * caller must pass it down (a read, or no live filter).  May sleep unless
 * the bio is REQ_NOWAIT.
 */
static bool bf_filter_bio(struct bf_entry *e, struct bio *bio)
{
	struct bf_entry *found;
	unsigned long seq;

	for (;;) {
		seq = READ_ONCE(bf_unfreeze_seq);
		smp_rmb();	/* read seq before the frozen state */
		rcu_read_lock();
		found = e ? e : bf_lookup(bio->bi_bdev);
		if (!found || READ_ONCE(found->dead)) {
			rcu_read_unlock();
			return false;
		}
		if (percpu_ref_tryget_live(&found->ref)) {
			rcu_read_unlock();
			break;
		}
		if (!READ_ONCE(found->frozen)) {
			/* between kill and the state change: look again */
			rcu_read_unlock();
			cpu_relax();
			continue;
		}
		if ((bio->bi_opf & REQ_NOWAIT) || current->bio_list) {
			bf_defer(found, bio);
			rcu_read_unlock();
			return true;
		}
		rcu_read_unlock();
		wait_event(bf_unfreeze_wq, READ_ONCE(bf_unfreeze_seq) != seq);
	}

	if (found->ops->submit_bio(found->flt, bio)) {
		percpu_ref_put(&found->ref);
		return true;
	}
	if (bf_counts_until_done(bio)) {
		if (bf_send_write(found, bio))
			return true;	/* the clone holds the reference */
		bf_defer(found, bio);	/* no memory without waiting */
		percpu_ref_put(&found->ref);
		return true;
	}
	percpu_ref_put(&found->ref);
	return false;			/* a read: the caller passes it down */
}

/*
 * Redirect target of submit_bio_noacct() for bios of filtered devices.  The
 * calls of the real function come from module text, so the ftrace callback
 * lets them through.  It must stay a real call, not a tail jump:
 * bf_leave() follows it, and scripts/check-tailcall.sh checks the object.
 */
static noinline void bf_submit_bio_noacct(struct bio *bio)
{
	bf_enter();
	if (!bf_filter_bio(NULL, bio))
		submit_bio_noacct(bio);
	bf_leave();
}

static inline bool bf_is_module_bio(struct bio *bio)
{
	return bio->bi_pool == &bf_bio_set || bio->bi_pool == &bf_clone_set;
}

static void notrace bf_submit_bio_cb(unsigned long ip, unsigned long parent_ip,
				     struct ftrace_ops *op,
				     struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	struct bio *bio;

	if (!regs || !atomic_read(&bf_nr_attached))
		return;
	if (within_module(parent_ip, THIS_MODULE))
		return;			/* our own (re)submission */
	bio = (struct bio *)regs_get_kernel_argument(regs, 0);
	if (bf_is_module_bio(bio))
		return;			/* our bio, via a kernel helper */
	preempt_disable_notrace();	/* RCU read side for the lookup */
	if (bf_lookup(bio->bi_bdev))
		instruction_pointer_set(regs,
					(unsigned long)bf_submit_bio_noacct);
	preempt_enable_notrace();
}

/**
 * bio_sector_rel() - First sector of a bio, relative to its block device.
 * @bio: A bio offered to a filter.
 *
 * The hook sees bios before partition remapping, except for remainders of
 * split bios and other resubmissions, which come back already remapped to
 * the whole disk (BIO_REMAPPED) while bi_bdev is still the partition.
 *
 * Return: the partition-relative start sector in every case.
 */
sector_t bio_sector_rel(struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector;

	if (bio_flagged(bio, BIO_REMAPPED))
		sector -= bio->bi_bdev->bd_start_sect;
	return sector;
}

/**
 * blkfilter_bio_may_wait() - May the filter wait for I/O right now?
 *
 * Inside another driver's ->submit_bio (a stacked device, a split
 * remainder) bios submitted by the filter are only queued until the caller
 * returns, so waiting for them would deadlock.
 *
 * Return: false in that case; the filter then uses blkfilter_defer_bio().
 */
bool blkfilter_bio_may_wait(void)
{
	return !current->bio_list;
}

static void bf_deferred_work(struct work_struct *work)
{
	struct bf_entry *e = container_of(work, struct bf_entry, work);
	unsigned int noio = memalloc_noio_save();
	struct bio *bio;

	for (;;) {
		spin_lock_irq(&e->lock);
		bio = bio_list_pop(&e->deferred);
		spin_unlock_irq(&e->lock);
		if (!bio)
			break;
		bf_enter();
		if (!bf_filter_bio(e, bio))
			submit_bio_noacct(bio);
		bf_leave();
	}
	memalloc_noio_restore(noio);
}

/**
 * blkfilter_defer_bio() - Hand a bio to the filter's worker.
 * @flt: The filter that was offered @bio.
 * @bio: The bio.
 *
 * The worker offers @bio to ops->submit_bio again, from a context where
 * blkfilter_bio_may_wait() is true, and passes it down if the filter does
 * not take it then.  A REQ_NOWAIT or polled bio loses those flags, so a
 * filter that would have to wait for it uses this instead of failing it
 * with BLK_STS_AGAIN (which io_uring may resubmit unchanged forever).
 *
 * Context: any.
 * Return: true, so that ops->submit_bio can return its result directly.
 */
bool blkfilter_defer_bio(struct blkfilter *flt, struct bio *bio)
{
	bf_defer(flt->priv, bio);
	return true;
}

/**
 * blkfilter_resubmit_bio() - Send a bio the filter held on to its device.
 * @bio: A bio the filter took ownership of.
 *
 * The bio is not offered to the filter again.
 * Context: may sleep (as submit_bio_noacct() may).
 */
noinline void blkfilter_resubmit_bio(struct bio *bio)
{
	bf_enter();
	submit_bio_noacct(bio);
	bf_leave();
}

/**
 * blkfilter_bio_set() - The bio_set for every bio the module allocates.
 *
 * Bios from it are never offered to any filter, even when a kernel helper
 * such as submit_bio_wait() submits them.
 *
 * Return: the module's private bio_set.
 */
struct bio_set *blkfilter_bio_set(void)
{
	return &bf_bio_set;
}

/**
 * blkfilter_is_own_bio() - Was the bio allocated by this module?
 * @bio: Any bio.
 *
 * Return: true if it comes from blkfilter_bio_set().
 */
bool blkfilter_is_own_bio(struct bio *bio)
{
	return bf_is_module_bio(bio);
}

/**
 * blkfilter_lock() - Take the layer's lock (attach, detach, ctl, freeze).
 *
 * Held around blkfilter_freeze() / blkfilter_unfreeze(), it also keeps
 * every filter attached.  ops->ctl runs with it held.
 * Context: may sleep.
 */
void blkfilter_lock(void)
{
	mutex_lock(&bf_mutex);
}

/**
 * blkfilter_assert_locked() - Lockdep check that blkfilter_lock() is held.
 */
void blkfilter_assert_locked(void)
{
	lockdep_assert_held(&bf_mutex);
}

/**
 * blkfilter_unlock() - Release the lock taken by blkfilter_lock().
 */
void blkfilter_unlock(void)
{
	mutex_unlock(&bf_mutex);
}

/* Stop new bios from entering the filter of @e; they wait from now on. */
static void bf_freeze_start(struct bf_entry *e)
{
	lockdep_assert_held(&bf_mutex);
	reinit_completion(&e->drained);
	WRITE_ONCE(e->frozen, true);
	percpu_ref_kill(&e->ref);
}

/* Let bios into the filter of @e again, drained or not. */
static void bf_freeze_end(struct bf_entry *e)
{
	lockdep_assert_held(&bf_mutex);
	percpu_ref_resurrect(&e->ref);
	WRITE_ONCE(e->frozen, false);
	smp_wmb();	/* the state before the sequence that waiters test */
	WRITE_ONCE(bf_unfreeze_seq, bf_unfreeze_seq + 1);
	wake_up_all(&bf_unfreeze_wq);
}

/**
 * blkfilter_freeze() - Stop bios from entering a filter.
 * @flt: An attached filter.
 *
 * Waits until no ops->submit_bio call of @flt is running and every write
 * that passed the filter has completed; until blkfilter_unfreeze(), new
 * bios for the device wait before the filter (REQ_NOWAIT ones and those
 * submitted inside another driver's submission go to the worker, which
 * waits).  Queue freezing cannot do this: the hook runs before the request
 * queue is entered.
 *
 * Context: blkfilter_lock() held; may sleep.
 * Return: 0, or -EINVAL if already frozen.
 */
int blkfilter_freeze(struct blkfilter *flt)
{
	struct bf_entry *e = flt->priv;

	lockdep_assert_held(&bf_mutex);
	if (e->frozen)
		return -EINVAL;
	bf_freeze_start(e);
	wait_for_completion(&e->drained);
	return 0;
}

/* How long a filter may take to drain while others are frozen. */
#define BF_FREEZE_SET_WAIT	msecs_to_jiffies(250)

/**
 * blkfilter_freeze_set() - Freeze several filters together.
 * @flts: The filters, none frozen; reordered in place.
 * @n: Their number.
 *
 * A freeze waits for the writes in flight below a filter.  When one
 * filtered device is stacked on another (a loop device whose file lives on
 * the other, a device-mapper or md target on it), the upper device's
 * writes complete only through the lower one, so the upper one must be
 * frozen first or its drain would wait forever.  The order is found by
 * trying: a filter that does not drain within BF_FREEZE_SET_WAIT while
 * filters before it are frozen moves to the front, and everything starts
 * again.  The first filter of a try may take as long as its writes take.
 * On success @flts is in the order that worked; unfreeze with
 * blkfilter_unfreeze() in any order.
 *
 * Context: blkfilter_lock() held; may sleep.
 * Return: 0, or -EDEADLK (nothing frozen) when no order drained within
 * n * n tries.
 */
int blkfilter_freeze_set(struct blkfilter **flts, int n)
{
	struct blkfilter *flt;
	int tries, i, j;

	lockdep_assert_held(&bf_mutex);
	for (tries = 0; tries <= n * n; tries++) {
		for (i = 0; i < n; i++) {
			struct bf_entry *e = flts[i]->priv;

			bf_freeze_start(e);
			if (!i) {
				wait_for_completion(&e->drained);
				continue;
			}
			if (!wait_for_completion_timeout(&e->drained,
							 BF_FREEZE_SET_WAIT))
				break;
		}
		if (i == n)
			return 0;
		for (j = 0; j <= i; j++)
			bf_freeze_end(flts[j]->priv);
		/* @flts[i] waits for one before it: it goes first */
		flt = flts[i];
		memmove(&flts[1], &flts[0], i * sizeof(*flts));
		flts[0] = flt;
	}
	pr_warn("no order of %d filters drains: freeze refused\n", n);
	return -EDEADLK;
}

/**
 * blkfilter_prepare_freeze() - Make the next blkfilter_freeze() quick.
 * @flt: An attached filter.
 *
 * Switches the count of callers inside the filter to atomic mode in the
 * background, so that a later freeze does not wait for an RCU grace period
 * (11 ms under emulation, a few on hardware) inside the caller's freeze
 * window.  Meanwhile each bio pays an atomic increment and decrement.
 * blkfilter_end_prepare() switches back.
 *
 * Context: blkfilter_lock() held; may sleep briefly.
 */
void blkfilter_prepare_freeze(struct blkfilter *flt)
{
	struct bf_entry *e = flt->priv;

	lockdep_assert_held(&bf_mutex);
	percpu_ref_switch_to_atomic(&e->ref, NULL);
}

/**
 * blkfilter_end_prepare() - Undo blkfilter_prepare_freeze().
 * @flt: An attached filter, frozen or not.
 *
 * Context: blkfilter_lock() held; may sleep briefly.
 */
void blkfilter_end_prepare(struct blkfilter *flt)
{
	struct bf_entry *e = flt->priv;

	lockdep_assert_held(&bf_mutex);
	percpu_ref_switch_to_percpu(&e->ref);
}

/**
 * blkfilter_unfreeze() - Let bios into a filter frozen by blkfilter_freeze().
 * @flt: The frozen filter.
 *
 * Context: blkfilter_lock() held.
 */
void blkfilter_unfreeze(struct blkfilter *flt)
{
	struct bf_entry *e = flt->priv;

	lockdep_assert_held(&bf_mutex);
	if (WARN_ON_ONCE(!e->frozen))
		return;
	bf_freeze_end(e);
}

static void bf_ref_release(struct percpu_ref *ref)
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
	lockdep_assert_held(&bf_mutex);
	hash_del_rcu(&e->hnode);
	atomic_dec(&bf_nr_attached);
}

/*
 * Finish the detach of an unpublished @e: wait until no bio is inside its
 * filter, resubmit its deferred bios, then let the filter release its
 * object.  Needs bf_mutex only if the filter's detach does (a filter still
 * in use elsewhere, e.g. a device that went away under a snapshot); an
 * ioctl detach runs it unlocked, so the grace period and the drain do not
 * stall the ioctls of every other device.  May sleep.
 */
static void bf_release(struct bf_entry *e)
{
	struct module *owner = e->pins ? e->ops->owner : NULL;

	synchronize_rcu();		/* no bio-path lookup returns @e */
	flush_work(&e->work);		/* deferred bios still filtered */
	WRITE_ONCE(e->dead, true);
	percpu_ref_kill(&e->ref);
	wait_for_completion(&e->drained);
	flush_work(&e->work);		/* deferred meanwhile: passed down */
	percpu_ref_exit(&e->ref);

	pr_info("filter \"%s\" detached from %u:%u\n", e->ops->name,
		MAJOR(e->bdev->bd_dev), MINOR(e->bdev->bd_dev));
	e->ops->detach(e->flt);
	put_device(&e->bdev->bd_device);
	call_rcu(&e->rcu, bf_entry_free_rcu);
	if (owner)
		module_put(owner);
}

/* Detach @e with bf_mutex held throughout. */
static void bf_detach(struct bf_entry *e)
{
	lockdep_assert_held(&bf_mutex);
	bf_unpublish(e);
	bf_release(e);
}

static const struct blkfilter_operations *bf_find_ops(const char *name)
{
	const struct blkfilter_operations *ops;

	lockdep_assert_held(&bf_mutex);
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

	lockdep_assert_held(&bf_mutex);
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
 * @bdev: The device (the caller keeps it open until this returns).
 * @name: The filter's name.
 * @pin_module: Hold a reference on the filter's module as BLKFILTER_ATTACH
 *	does; without it blkfilter_unregister() detaches the filter (module
 *	unload).
 *
 * The file system on @bdev is frozen while the filter is attached.
 *
 * Context: may sleep; blkfilter_lock() not held.
 * Return: 0, -ENOENT (no such filter, or its module is going away),
 * -EALREADY (this filter is attached), -EBUSY (another one is), -ENODEV
 * (the disk is going away), -EOPNOTSUPP (DAX), or the filter's or the
 * freeze's errno.
 */
int blkfilter_attach(struct block_device *bdev, const char *name,
		     bool pin_module)
{
	const struct blkfilter_operations *ops;
	struct blkfilter *flt;
	struct bf_entry *e;
	bool pins = pin_module;
	int ret;

	/* refuse before allocating and freezing; checked again below */
	mutex_lock(&bf_mutex);
	ret = bf_attach_refused(bdev, bf_find_ops(name));
	mutex_unlock(&bf_mutex);
	if (ret)
		return ret;

	e = kzalloc(sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	ret = percpu_ref_init(&e->ref, bf_ref_release, PERCPU_REF_ALLOW_REINIT,
			      GFP_KERNEL);
	if (ret)
		goto out_free_entry;
	init_completion(&e->drained);
	spin_lock_init(&e->lock);
	bio_list_init(&e->deferred);
	INIT_WORK(&e->work, bf_deferred_work);

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
	mutex_lock(&bf_mutex);
	ops = bf_find_ops(name);
	ret = bf_attach_refused(bdev, ops);
	if (ret)
		goto out_unlock;
	if (pins && !try_module_get(ops->owner)) {
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
	e->pins = pins;
	get_device(&bdev->bd_device);
	hash_add_rcu(bf_hash, &e->hnode, (unsigned long)bdev);
	atomic_inc(&bf_nr_attached);
	if (bf_entry_gone(e)) {
		/* del_gendisk ran meanwhile (its hook did not see @e) */
		bf_detach(e);
		mutex_unlock(&bf_mutex);
		bdev_thaw(bdev);
		return -ENODEV;
	}
	mutex_unlock(&bf_mutex);
	bdev_thaw(bdev);
	pr_info("filter \"%s\" attached to %u:%u\n", ops->name,
		MAJOR(bdev->bd_dev), MINOR(bdev->bd_dev));
	return 0;

out_put_module:
	if (pins)
		module_put(ops->owner);
out_unlock:
	mutex_unlock(&bf_mutex);
	bdev_thaw(bdev);
out_exit_ref:
	percpu_ref_exit(&e->ref);
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

/* The entry of the device numbered @dev; bf_mutex held. */
static struct bf_entry *bf_lookup_dev(dev_t dev)
{
	struct bf_entry *e;
	int bkt;

	lockdep_assert_held(&bf_mutex);
	hash_for_each(bf_hash, bkt, e, hnode)
		if (e->bdev->bd_dev == dev)
			return e;
	return NULL;
}

/*
 * A user-requested detach of @e (NULL: nothing attached), entered with
 * bf_mutex held, which it releases.
 */
static int bf_detach_requested(struct bf_entry *e, const char *name)
{
	int ret;

	lockdep_assert_held(&bf_mutex);
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
	 * without the layer's lock.
	 */
	bf_unpublish(e);
	mutex_unlock(&bf_mutex);
	bf_release(e);
	return 0;

out_unlock:
	mutex_unlock(&bf_mutex);
	return ret;
}

static int bf_ioctl_detach(struct block_device *bdev, void __user *argp)
{
	char name[BLKFILTER_NAME_LENGTH];
	int ret;

	ret = bf_copy_name(name, argp);
	if (ret)
		return ret;
	mutex_lock(&bf_mutex);
	return bf_detach_requested(bf_lookup(bdev), name);
}

/**
 * blkfilter_detach() - Detach a filter from the device numbered @dev, as
 * BLKFILTER_DETACH on its file descriptor would.
 * @dev: The device number (whole disk or partition).
 * @name: The filter's name.
 *
 * Context: may sleep; blkfilter_lock() not held.
 * Return: 0, -ENOENT (nothing attached), -EINVAL (another filter is), or
 * the filter's refusal (->may_detach).
 */
int blkfilter_detach(dev_t dev, const char *name)
{
	mutex_lock(&bf_mutex);
	return bf_detach_requested(bf_lookup_dev(dev), name);
}

/**
 * blkfilter_find() - The filter @ops attached to the device numbered @dev.
 * @dev: The device number.
 * @ops: The filter.
 *
 * Context: blkfilter_lock() held; the result is valid until it is dropped.
 * Return: the filter, or NULL.
 */
struct blkfilter *blkfilter_find(dev_t dev,
				 const struct blkfilter_operations *ops)
{
	struct bf_entry *e = bf_lookup_dev(dev);

	return e && e->ops == ops ? e->flt : NULL;
}

/**
 * blkfilter_for_each() - Call @fn for every device filter @ops is attached to.
 * @ops: The filter.
 * @fn: Called with each filter object and @data; a non-zero return stops
 *	the walk and is returned.
 * @data: Passed to @fn.
 *
 * Context: blkfilter_lock() held (@fn must not drop it).
 * Return: 0 or the first non-zero return of @fn.
 */
int blkfilter_for_each(const struct blkfilter_operations *ops,
		       int (*fn)(struct blkfilter *flt, void *data), void *data)
{
	struct bf_entry *e;
	int bkt, ret;

	lockdep_assert_held(&bf_mutex);
	hash_for_each(bf_hash, bkt, e, hnode) {
		if (e->ops != ops)
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

	mutex_lock(&bf_mutex);
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
	mutex_unlock(&bf_mutex);
	if (ret >= 0 && copy_to_user(argp, &arg, sizeof(arg)))
		ret = -EFAULT;
	return ret;
}

static long bf_ioctl(struct file *file, unsigned int cmd, void __user *argp)
{
	struct block_device *bdev = I_BDEV(file->f_mapping->host);

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

/* Redirect targets: same prototypes as blkdev_ioctl / compat_blkdev_ioctl. */
static noinline long bf_blkdev_ioctl(struct file *file, unsigned int cmd,
				     unsigned long arg)
{
	long ret;

	bf_enter();
	ret = bf_ioctl(file, cmd, (void __user *)arg);
	bf_leave();
	return ret;
}

static noinline long bf_compat_blkdev_ioctl(struct file *file,
					    unsigned int cmd,
					    unsigned long arg)
{
	long ret;

	bf_enter();
	ret = bf_ioctl(file, cmd, compat_ptr(arg));
	bf_leave();
	return ret;
}

static inline bool bf_is_blkfilter_cmd(unsigned long cmd)
{
	return (unsigned int)cmd == BLKFILTER_ATTACH ||
	       (unsigned int)cmd == BLKFILTER_DETACH ||
	       (unsigned int)cmd == BLKFILTER_CTL;
}

static void notrace bf_ioctl_cb(unsigned long ip, unsigned long parent_ip,
				struct ftrace_ops *op,
				struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);

	if (regs && bf_is_blkfilter_cmd(regs_get_kernel_argument(regs, 1)))
		instruction_pointer_set(regs, (unsigned long)bf_blkdev_ioctl);
}

static void notrace bf_compat_ioctl_cb(unsigned long ip,
				       unsigned long parent_ip,
				       struct ftrace_ops *op,
				       struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);

	if (regs && bf_is_blkfilter_cmd(regs_get_kernel_argument(regs, 1)))
		instruction_pointer_set(regs,
					(unsigned long)bf_compat_blkdev_ioctl);
}

/* ------------------------------------------------------ device removal */

/*
 * How long after a removal hook fired the gc worker keeps looking for an
 * entry whose device is gone: the hooks fire when the kernel *starts* to
 * delete a partition or a disk, the deletion itself follows under the
 * disk's open_mutex (or is refused).
 */
#define BF_GC_RETRIES	40
#define BF_GC_DELAY	msecs_to_jiffies(50)
static atomic_t bf_gc_retries = ATOMIC_INIT(0);

/*
 * Is the device of @e gone?  Its disk is dead, or it is a partition that is
 * no longer the one in the disk's partition table (deleted, or replaced by
 * a rescan).  A deletion the kernel refused (EBUSY: the partition is open)
 * leaves both as they were, and the filter stays.
 */
static bool bf_entry_gone(struct bf_entry *e)
{
	if (!disk_live(e->disk))
		return true;
	if (!bdev_is_partition(e->bdev))
		return false;
	return xa_load(&e->disk->part_tbl, bdev_partno(e->bdev)) != e->bdev;
}

static void bf_gc_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(bf_gc_work, bf_gc_work_fn);

static void bf_gc_work_fn(struct work_struct *work)
{
	struct hlist_node *tmp;
	struct bf_entry *e;
	int bkt;

	mutex_lock(&bf_mutex);
	hash_for_each_safe(bf_hash, bkt, tmp, e, hnode) {
		if (READ_ONCE(e->media_changed) &&
		    percpu_ref_tryget_live(&e->ref)) {
			WRITE_ONCE(e->media_changed, false);
			if (e->ops->media_changed)
				e->ops->media_changed(e->flt);
			percpu_ref_put(&e->ref);
		}
		if (!READ_ONCE(e->dying) && !bf_entry_gone(e))
			continue;
		pr_info("%u:%u is going away: detaching filter \"%s\"\n",
			MAJOR(e->bdev->bd_dev), MINOR(e->bdev->bd_dev),
			e->ops->name);
		if (e->ops->device_gone)
			e->ops->device_gone(e->flt);
		bf_detach(e);
	}
	mutex_unlock(&bf_mutex);
	if (atomic_dec_if_positive(&bf_gc_retries) > 0)
		queue_delayed_work(bf_wq, &bf_gc_work, BF_GC_DELAY);
}

/* Look for gone devices now and for a while (see BF_GC_RETRIES). */
static void bf_gc_kick(void)
{
	atomic_set(&bf_gc_retries, BF_GC_RETRIES);
	mod_delayed_work(bf_wq, &bf_gc_work, 0);
}

enum bf_event {
	BF_DISK_DELETED,	/* del_gendisk: the disk and all its partitions */
	BF_PARTS_CHANGING,	/* a partition delete or rescan was asked for */
	BF_MEDIA_CHANGED,	/* new media, backing file or table */
	BF_CAPACITY,		/* set_capacity(disk, arg1) */
};

/* Is a set_capacity() call on @disk a change of the device under us? */
static bool notrace bf_capacity_is_media_change(struct gendisk *disk,
						sector_t sectors)
{
	/*
	 * device-mapper sets it at every table swap: another mapping.  Its
	 * disks are always named dm-<minor> (dm may be built in: no module
	 * name to compare).
	 */
	if (!strncmp(disk->disk_name, "dm-", 3))
		return true;
	return get_capacity(disk) != sectors;
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
	if (percpu_ref_tryget_live(&e->ref)) {
		e->ops->media_changed(e->flt);
		percpu_ref_put(&e->ref);
		return;
	}
	WRITE_ONCE(e->media_changed, true);
	bf_gc_kick();
}

/*
 * Hook callbacks for device events: they run in the caller's context and
 * cannot sleep, so what needs the layer's lock is left to the gc worker.
 */
static void notrace bf_device_event(enum bf_event what, unsigned long arg0,
				    unsigned long arg1)
{
	struct gendisk *disk = (struct gendisk *)arg0;
	bool kick = false;
	struct bf_entry *e;
	int bkt;

	/*
	 * A disk deletion is looked for even with nothing attached yet: an
	 * attach may publish its entry after this hook ran and before the
	 * disk is marked dead; the worker's retries catch it then.
	 */
	if (what == BF_DISK_DELETED)
		bf_gc_kick();
	if (!atomic_read(&bf_nr_attached))
		return;
	if (what == BF_CAPACITY &&
	    !bf_capacity_is_media_change(disk, (sector_t)arg1))
		return;
	preempt_disable_notrace();
	hash_for_each_rcu(bf_hash, bkt, e, hnode) {
		if (e->disk != disk)
			continue;
		switch (what) {
		case BF_DISK_DELETED:
			WRITE_ONCE(e->dying, true);
			break;
		case BF_PARTS_CHANGING:
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
		bf_gc_kick();
}

#define BF_EVENT_CB(fn, what)						\
static void notrace fn(unsigned long ip, unsigned long parent_ip,	\
		       struct ftrace_ops *op, struct ftrace_regs *fregs) \
{									\
	struct pt_regs *regs = ftrace_get_regs(fregs);			\
									\
	if (regs)							\
		bf_device_event(what, regs_get_kernel_argument(regs, 0),	\
				regs_get_kernel_argument(regs, 1));	\
}

BF_EVENT_CB(bf_del_gendisk_cb, BF_DISK_DELETED)
BF_EVENT_CB(bf_parts_changing_cb, BF_PARTS_CHANGING)
BF_EVENT_CB(bf_media_change_cb, BF_MEDIA_CHANGED)
BF_EVENT_CB(bf_set_capacity_cb, BF_CAPACITY)

/*
 * drop_partition(part) and delete_partition(part) take the partition, not
 * the disk: tell the worker to look at every device.
 */
static void notrace bf_drop_partition_cb(unsigned long ip,
					 unsigned long parent_ip,
					 struct ftrace_ops *op,
					 struct ftrace_regs *fregs)
{
	if (atomic_read(&bf_nr_attached))
		bf_gc_kick();
}

/* ------------------------------------------------------------- hooks */

#define BF_IPMODIFY (FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY | \
		     FTRACE_OPS_FL_PERMANENT | FTRACE_OPS_FL_RECURSION)
#define BF_NOTIFY (FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_PERMANENT | \
		   FTRACE_OPS_FL_RECURSION)

/**
 * struct bf_hook - One ftrace hook of the layer.
 * @func: Name of the kernel function hooked.
 * @required: Loading fails when the hook cannot be registered.
 * @ops: The ftrace_ops; @ops.func is the callback.
 * @active: Registered.
 */
struct bf_hook {
	const char *func;
	bool required;
	struct ftrace_ops ops;
	bool active;
};

static struct bf_hook bf_hooks[] = {
	{ "submit_bio_noacct", true,
	  { .func = bf_submit_bio_cb, .flags = BF_IPMODIFY | FTRACE_OPS_FL_RCU } },
	{ "blkdev_ioctl", true,
	  { .func = bf_ioctl_cb, .flags = BF_IPMODIFY } },
	{ "compat_blkdev_ioctl", IS_ENABLED(CONFIG_COMPAT),
	  { .func = bf_compat_ioctl_cb, .flags = BF_IPMODIFY } },
	{ "del_gendisk", false,
	  { .func = bf_del_gendisk_cb, .flags = BF_NOTIFY } },
	{ "drop_partition", false,
	  { .func = bf_drop_partition_cb, .flags = BF_NOTIFY } },
	{ "delete_partition", false,
	  { .func = bf_drop_partition_cb, .flags = BF_NOTIFY } },
	{ "bdev_del_partition", false,
	  { .func = bf_parts_changing_cb, .flags = BF_NOTIFY } },
	{ "bdev_disk_changed", false,
	  { .func = bf_parts_changing_cb, .flags = BF_NOTIFY } },
	{ "disk_force_media_change", false,
	  { .func = bf_media_change_cb, .flags = BF_NOTIFY } },
	{ "inc_diskseq", false,
	  { .func = bf_media_change_cb, .flags = BF_NOTIFY } },
	{ "set_capacity", false,
	  { .func = bf_set_capacity_cb, .flags = BF_NOTIFY } },
	/* its call of set_capacity() may be inlined */
	{ "set_capacity_and_notify", false,
	  { .func = bf_set_capacity_cb, .flags = BF_NOTIFY } },
};

static int bf_hook_register(struct bf_hook *h)
{
	char name[KSYM_NAME_LEN];
	int ret;

	strscpy(name, h->func, sizeof(name));
	ret = ftrace_set_filter(&h->ops, name, strlen(name), 0);
	if (ret) {
		if (h->required)
			pr_err("cannot load: kernel function %s is not traceable (%d); blksnap needs CONFIG_DYNAMIC_FTRACE with %s in available_filter_functions\n",
			       h->func, ret, h->func);
		return ret;
	}
	ret = register_ftrace_function(&h->ops);
	if (ret) {
		if (h->required)
			pr_err("cannot load: hooking %s failed (%d)%s\n", h->func,
			       ret, ret == -EBUSY ?
			       ": another module or livepatch already modifies it" :
			       "");
		ftrace_free_filter(&h->ops);
		return ret;
	}
	h->active = true;
	return 0;
}

static void bf_hooks_unregister(void)
{
	int i;

	for (i = ARRAY_SIZE(bf_hooks) - 1; i >= 0; i--) {
		if (!bf_hooks[i].active)
			continue;
		unregister_ftrace_function(&bf_hooks[i].ops);
		ftrace_free_filter(&bf_hooks[i].ops);
		bf_hooks[i].active = false;
	}
}

static int bf_hooks_register(void)
{
	bool removal = false;
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(bf_hooks); i++) {
		ret = bf_hook_register(&bf_hooks[i]);
		if (ret && bf_hooks[i].required) {
			bf_hooks_unregister();
			return ret;
		}
		if (!ret && !(bf_hooks[i].ops.flags & FTRACE_OPS_FL_IPMODIFY))
			removal = true;
	}
	if (!removal)
		pr_warn("no device-removal hook available: filters of removed devices stay until detached\n");
	return 0;
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

	mutex_lock(&bf_mutex);
	if (bf_find_ops(ops->name))
		ret = -EBUSY;
	else
		list_add_tail(&ops->link, &bf_ops_list);
	mutex_unlock(&bf_mutex);
	return ret;
}

/**
 * blkfilter_unregister() - Remove a filter registered by blkfilter_register().
 * @ops: The filter's operations.
 *
 * Attachments made without @pin_module are detached here (module
 * unload); the others hold a reference on @ops->owner, so none is left.
 * Context: may sleep.
 */
void blkfilter_unregister(struct blkfilter_operations *ops)
{
	struct hlist_node *tmp;
	struct bf_entry *e;
	int bkt;

	mutex_lock(&bf_mutex);
	hash_for_each_safe(bf_hash, bkt, tmp, e, hnode) {
		if (e->ops != ops)
			continue;
		WARN_ON_ONCE(e->pins);
		bf_detach(e);
	}
	list_del(&ops->link);
	mutex_unlock(&bf_mutex);
}

/**
 * blkfilter_init() - Set up the filter layer and register its hooks.
 *
 * Context: module init; may sleep.
 * Return: 0, or a negative errno (the module then refuses to load; the
 * message names the hook that failed).
 */
int blkfilter_init(void)
{
	int ret;

	ret = bioset_init(&bf_bio_set, 64, 0, BIOSET_NEED_BVECS);
	if (ret)
		return ret;
	ret = bioset_init(&bf_clone_set, 64, offsetof(struct bf_write, clone),
			  BIOSET_NEED_RESCUER);
	if (ret)
		goto out_exit_bioset;
	bf_wq = alloc_workqueue("blksnap-filter", WQ_MEM_RECLAIM, 0);
	if (!bf_wq) {
		ret = -ENOMEM;
		goto out_exit_clone_set;
	}
	ret = bf_hooks_register();
	if (ret)
		goto out_destroy_wq;
	return 0;

out_destroy_wq:
	destroy_workqueue(bf_wq);
out_exit_clone_set:
	bioset_exit(&bf_clone_set);
out_exit_bioset:
	bioset_exit(&bf_bio_set);
	return ret;
}

/**
 * blkfilter_exit() - Unregister the hooks and wait until no task is inside
 * the module's redirect targets.
 *
 * Runs only when no filter is attached (module references).
 * Context: module exit; may sleep.
 */
void blkfilter_exit(void)
{
	bf_hooks_unregister();
	/* A task may have been redirected and not reached bf_enter() yet. */
	synchronize_rcu_tasks();
	wait_event(bf_active_wq, !atomic_read(&bf_active));
	/* ...or be between bf_leave() and its return. */
	synchronize_rcu_tasks();
	atomic_set(&bf_gc_retries, 0);
	cancel_delayed_work_sync(&bf_gc_work);
	/* the entries' call_rcu callbacks are module text */
	rcu_barrier();
	destroy_workqueue(bf_wq);
	bioset_exit(&bf_clone_set);
	bioset_exit(&bf_bio_set);
}
