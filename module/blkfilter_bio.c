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
 * filter lets through goes down itself, its completion hooked: the
 * submitter's bi_end_io and bi_private are kept in a struct bf_write and
 * the hook drops that reference when the write completes, so a freeze
 * also waits for the writes below the filter.  (It used to go down as a
 * clone; the hook saves the clone's allocation, setup and completion on
 * every write.)
 *
 * Lifetime of a struct bf_write: taken from this CPU's cache or
 * bf_write_pool when a write passes the filter, given back by
 * bf_write_endio() before it completes the submitter's bio with the
 * end_io put back; the entry reference it held is dropped last.
 *
 * Most writes pass from the submission hook itself (blkfilter_pass_write(),
 * ops->pass_write: no sleeping, nothing to copy); the rest are redirected
 * and offered to ops->submit_bio.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/mempool.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include "bio_hook.h"
#include "blkfilter_priv.h"

/*
 * The layer's shared state lives with the bio path, which reads it on
 * every bio, so that the files of the layer depend on each other one way
 * (ftrace -> removal -> layer -> bio path -> freeze).  Attached entries:
 * written under blkfilter_mutex (blkfilter.c), read under RCU here.
 */
DEFINE_HASHTABLE(blkfilter_hash, BLKFILTER_HASH_BITS);
atomic_t blkfilter_nr_attached = ATOMIC_INIT(0);
atomic_t blkfilter_nr_reading = ATOMIC_INIT(0);
/* Runs the entries' deferred bios and the gc worker. */
struct workqueue_struct *blkfilter_wq;
/* Tasks in module text that submit bios (bf_enter()); exit drains it. */
DEFINE_PER_CPU(long, blkfilter_active);

/* Bios the module allocates (blkfilter_bio_set()); never filtered. */
struct bio_set blkfilter_own_bio_set;
/*
 * Completion hooks of writes that passed a filter (struct bf_write); the
 * reserve lets a write that may wait always get one.
 */
static struct kmem_cache *bf_write_cache;
static mempool_t bf_write_pool;
#define BF_WRITE_POOL_MIN	64

/*
 * Records of completed writes kept per CPU for the next writes, so that a
 * write usually pays neither a slab allocation nor a free.  A list is only
 * touched on its own CPU with interrupts off (completions run in any
 * context); records move between CPUs freely.  At most
 * BF_WRITE_CACHE_MAX per CPU; the rest go back to the pool.
 */
struct bf_write_cpu {
	struct bf_write *free;
	unsigned int nr;
};

static DEFINE_PER_CPU(struct bf_write_cpu, bf_write_cpu);
#define BF_WRITE_CACHE_MAX	128

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
 * @hook: The submitter's completion, put back at completion.
 * @next: Next free record in this CPU's cache (struct bf_write_cpu).
 */
struct bf_write {
	struct bf_entry *e;
	struct bio_hook hook;
	struct bf_write *next;
};

static struct bf_write *bf_write_alloc(gfp_t gfp)
{
	struct bf_write_cpu *c;
	struct bf_write *w;
	unsigned long flags;

	local_irq_save(flags);
	c = this_cpu_ptr(&bf_write_cpu);
	w = c->free;
	if (w) {
		c->free = w->next;
		c->nr--;
	}
	local_irq_restore(flags);
	return w ? w : mempool_alloc(&bf_write_pool, gfp);
}

static void bf_write_free(struct bf_write *w)
{
	struct bf_write_cpu *c;
	unsigned long flags;

	local_irq_save(flags);
	c = this_cpu_ptr(&bf_write_cpu);
	if (c->nr < BF_WRITE_CACHE_MAX) {
		w->next = c->free;
		c->free = w;
		c->nr++;
		w = NULL;
	}
	local_irq_restore(flags);
	if (w)
		mempool_free(w, &bf_write_pool);
}

/**
 * bf_write_endio() - The completion hook of a write that passed a filter.
 * @bio: The write, completed below the filter.
 *
 * Puts the submitter's completion back and runs it (see bio_hook.h), then
 * drops the entry reference the write held.
 *
 * Context: bio completion, any context (hard irq included).
 */
void bf_write_endio(struct bio *bio)
{
	struct bf_write *w = bio->bi_private;
	struct bf_entry *e = w->e;

	bio_hook_restore(bio, &w->hook);
	bf_write_free(w);
	bio_endio(bio);
	bf_ref_put(&e->ref);	/* last: @e may go right after */
}

/*
 * Hook the completion of a write the filter let through, so that the
 * reference on @e->ref that the caller holds is dropped only when the
 * write completes.  So blkfilter_freeze() (and detach) wait not only for
 * callers of the filter but also for writes that passed it and are still
 * queued or delayed below (a scheduler, a throttle, a dm-delay): no write
 * can land after a freeze that the filter saw before it.  Return: false
 * if there is no record without waiting longer than @gfp allows; the
 * caller keeps its reference then.
 */
static bool bf_hook_write(struct bf_entry *e, struct bio *bio, gfp_t gfp)
{
	struct bf_write *w;

	w = bf_write_alloc(gfp);
	if (!w)
		return false;
	w->e = e;
	bio_hook_set(bio, &w->hook, bf_write_endio, w);
	return true;
}

/*
 * Offer @bio to the filter of @e (or of @bio's device when @e is NULL) and
 * pass it down unless the filter took it.  Waits while the filter is
 * frozen, except inside another driver's submission (where the bios that
 * task queued before could never be sent while it waits, and a freeze may
 * be waiting for exactly those) and for REQ_NOWAIT bios: those go to the
 * worker.  Writes the filter lets through have their completion hooked
 * (see bf_hook_write()).  Return: true if @bio was taken care of, false if
 * the caller must pass it down (the filter let it through, or no live
 * filter).  May sleep unless the bio is REQ_NOWAIT.
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
 * it down itself (the filter let it through; a write then has its
 * completion hooked).
 */
bool blkfilter_offer_bio(struct bf_entry *e, struct bio *bio)
{
	if (e->ops->submit_bio(e->flt, bio)) {
		bf_ref_put(&e->ref);
		return true;
	}
	if (bf_counts_until_done(bio)) {
		gfp_t gfp = GFP_NOIO;

		/*
		 * Inside another driver's submission the write is only queued
		 * until that returns, so a wait for the pool's reserve (held
		 * by such queued writes) could last forever: no waiting
		 * there, nor for REQ_NOWAIT bios.
		 */
		if ((bio->bi_opf & REQ_NOWAIT) || current->bio_list)
			gfp = GFP_NOWAIT | __GFP_NOWARN;
		if (bf_hook_write(e, bio, gfp))
			return false;	/* the hook holds the reference */
		bf_defer(e, bio);	/* no memory without waiting */
		bf_ref_put(&e->ref);
		return true;
	}
	bf_ref_put(&e->ref);
	return false;			/* a read: the caller passes it down */
}

/**
 * blkfilter_pass_write() - Let a write pass from the submission hook.
 * @e: The entry of @bio's device; the caller holds a reference on @e->ref.
 * @bio: A bio submitted to @e's device.
 *
 * Called by the submit_bio_noacct() hook before it would redirect @bio.
 * If @bio is a write the filter lets pass without sleeping
 * (ops->pass_write) and a record for its completion hook is at hand, the
 * write is hooked and goes on down the call it was submitted with: no
 * redirect, no second pass through the hook.
 *
 * Context: the submission hook; preemption disabled, does not sleep.
 * Return: true if @bio passes (the reference is the hook's now), false if
 * the caller must redirect it (the reference is still the caller's).
 */
bool blkfilter_pass_write(struct bf_entry *e, struct bio *bio)
{
	if (!e->ops->pass_write || !bf_counts_until_done(bio) ||
	    !e->ops->pass_write(e->flt, bio))
		return false;
	return bf_hook_write(e, bio, GFP_NOWAIT | __GFP_NOWARN);
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
	bf_write_cache = KMEM_CACHE(bf_write, 0);
	if (!bf_write_cache) {
		ret = -ENOMEM;
		goto out_exit_own_set;
	}
	ret = mempool_init_slab_pool(&bf_write_pool, BF_WRITE_POOL_MIN,
				     bf_write_cache);
	if (ret)
		goto out_destroy_cache;
	return 0;

out_destroy_cache:
	kmem_cache_destroy(bf_write_cache);
out_exit_own_set:
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
	struct bf_write_cpu *c;
	struct bf_write *w;
	int cpu;

	for_each_possible_cpu(cpu) {
		c = per_cpu_ptr(&bf_write_cpu, cpu);
		while ((w = c->free)) {
			c->free = w->next;
			mempool_free(w, &bf_write_pool);
		}
		c->nr = 0;
	}
	mempool_exit(&bf_write_pool);
	kmem_cache_destroy(bf_write_cache);
	bioset_exit(&blkfilter_own_bio_set);
}
