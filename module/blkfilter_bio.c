// SPDX-License-Identifier: GPL-2.0
/*
 * The filter layer's bio path: what the block layer's filter hook would do
 * with a bio of a filtered device.  Reached from the submit_bio_noacct()
 * redirect (blkfilter_ftrace.c) through blkfilter_filter_bio() and from
 * each entry's worker for deferred bios.
 *
 * A bio first takes a reference on its entry's @ref (struct bf_entry, see
 * blkfilter_priv.h); while the filter is frozen it waits for the next
 * unfreeze (blkfilter_unfreeze_seq) or goes to the worker.  A write the
 * filter lets through goes down as a clone from blkfilter_clone_set whose
 * completion drops that reference, so a freeze also waits for the writes
 * below the filter.
 *
 * Lifetime of a struct bf_write: allocated with its clone (front pad of
 * blkfilter_clone_set) when a write passes the filter, freed with the
 * clone in bf_write_endio(), which completes the submitter's bio and then
 * drops the entry reference it held.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include "blkfilter_priv.h"

/*
 * The layer's shared state lives with the bio path, which reads it on
 * every bio, so that the files of the layer depend on each other one way
 * (ftrace -> removal -> layer -> bio path -> freeze).  Attached entries:
 * written under blkfilter_mutex (blkfilter.c), read under RCU here.
 */
DEFINE_HASHTABLE(blkfilter_hash, BLKFILTER_HASH_BITS);
atomic_t blkfilter_nr_attached = ATOMIC_INIT(0);
/* Runs the entries' deferred bios and the gc worker. */
struct workqueue_struct *blkfilter_wq;
/* Tasks in module text that submit bios (bf_enter()); exit drains it. */
DEFINE_PER_CPU(long, blkfilter_active);

/* Bios the module allocates (blkfilter_bio_set()); never filtered. */
struct bio_set blkfilter_own_bio_set;
/* Clones of writes that passed a filter (struct bf_write); never filtered. */
struct bio_set blkfilter_clone_set;

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
	queue_work(blkfilter_wq, &e->work);
}

/**
 * struct bf_write - A write of a filtered device on its way down.
 * @e: The entry whose @ref the write holds until it completes.
 * @orig: The submitter's bio, completed when @clone completes.
 * @clone: What goes down (from blkfilter_clone_set, whose front pad is the rest).
 */
struct bf_write {
	struct bf_entry *e;
	struct bio *orig;
	struct bio clone;
};

static void bf_write_endio(struct bio *clone)
{
	struct bf_write *w = container_of(clone, struct bf_write, clone);
	struct bf_entry *e = w->e;
	struct bio *orig = w->orig;

	orig->bi_status = clone->bi_status;
	bio_put(clone);
	bio_endio(orig);
	bf_ref_put(&e->ref);	/* last: @e may go right after */
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

	clone = bio_alloc_clone(bio->bi_bdev, bio, gfp, &blkfilter_clone_set);
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
		seq = READ_ONCE(blkfilter_unfreeze_seq);
		smp_rmb();	/* read seq before the frozen state */
		rcu_read_lock();
		found = e ? e : bf_lookup(bio->bi_bdev);
		if (!found || READ_ONCE(found->dead)) {
			rcu_read_unlock();
			return false;
		}
		if (bf_ref_tryget_live(&found->ref)) {
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
		wait_event(blkfilter_unfreeze_wq, READ_ONCE(blkfilter_unfreeze_seq) != seq);
	}

	return blkfilter_offer_bio(found, bio);
}

/**
 * blkfilter_offer_bio() - Offer a bio to a filter whose reference is held.
 * @e: The entry of @bio's device; the caller holds a reference on @e->ref,
 *     which this function passes on or drops.
 * @bio: A bio submitted to @e's device.
 *
 * Called by bf_filter_bio() and by the submit_bio_noacct() redirect when
 * its callback could take the reference itself (one lookup per bio).
 *
 * Context: the submitter's; may sleep unless the bio is REQ_NOWAIT.
 * Return: true if @bio was taken care of, false if the caller must pass
 * it down itself (a read, or a bio the filter let through unchanged).
 */
bool blkfilter_offer_bio(struct bf_entry *e, struct bio *bio)
{
	if (e->ops->submit_bio(e->flt, bio)) {
		bf_ref_put(&e->ref);
		return true;
	}
	if (bf_counts_until_done(bio)) {
		if (bf_send_write(e, bio))
			return true;	/* the clone holds the reference */
		bf_defer(e, bio);	/* no memory without waiting */
		bf_ref_put(&e->ref);
		return true;
	}
	bf_ref_put(&e->ref);
	return false;			/* a read: the caller passes it down */
}

/**
 * blkfilter_filter_bio() - Offer a bio to the filter of its device.
 * @bio: A bio submitted to a device that has (or had) a filter.
 *
 * Called by the submit_bio_noacct() hook for bios of filtered devices.
 *
 * Context: the submitter's; may sleep unless the bio is REQ_NOWAIT.
 * Return: true if @bio was taken care of, false if the caller must pass
 * it down itself.
 */
bool blkfilter_filter_bio(struct bio *bio)
{
	return bf_filter_bio(NULL, bio);
}

/**
 * blkfilter_bio_sector() - First sector of a bio, relative to its block device.
 * @bio: A bio offered to a filter.
 *
 * The hook sees bios before partition remapping, except for remainders of
 * split bios and other resubmissions, which come back already remapped to
 * the whole disk (BIO_REMAPPED) while bi_bdev is still the partition.
 *
 * Return: the partition-relative start sector in every case.
 */
sector_t blkfilter_bio_sector(struct bio *bio)
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

/**
 * blkfilter_deferred_work() - Work off the bios deferred to an entry.
 * @work: The &struct bf_entry.work of the entry.
 *
 * Context: the layer's workqueue.
 */
void blkfilter_deferred_work(struct work_struct *work)
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
	return &blkfilter_own_bio_set;
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
 * blkfilter_bio_init() - Set up the bio_sets of the module's own bios.
 *
 * Context: module init; may sleep.
 * Return: 0 or a negative errno.
 */
int blkfilter_bio_init(void)
{
	int ret;

	ret = bioset_init(&blkfilter_own_bio_set, 64, 0, BIOSET_NEED_BVECS);
	if (ret)
		return ret;
	ret = bioset_init(&blkfilter_clone_set, 64,
			  offsetof(struct bf_write, clone),
			  BIOSET_NEED_RESCUER);
	if (ret)
		bioset_exit(&blkfilter_own_bio_set);
	return ret;
}

/**
 * blkfilter_bio_exit() - Free what blkfilter_bio_init() set up.
 *
 * Context: module exit, no bio of the module left; may sleep.
 */
void blkfilter_bio_exit(void)
{
	bioset_exit(&blkfilter_clone_set);
	bioset_exit(&blkfilter_own_bio_set);
}
