/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private to the filter layer: shared by blkfilter.c (the layer: registry,
 * attach/detach/ctl, freeze, device removal), blkfilter_bio.c (the bio
 * path) and blkfilter_ftrace.c (the hooks that emulate the kernel's filter
 * support on stock kernels).  Filters include only blkfilter.h.
 *
 * Lifetime of a struct bf_entry: allocated by attach, published in
 * blkfilter_hash under blkfilter_mutex, unpublished by detach (the ioctl or
 * blkfilter_detach(), device removal, blkfilter_unregister()).  After
 * unpublishing and a grace period no new bio can find it; @ref then drains
 * the callers of ops->submit_bio and the writes in flight below the
 * filter, the worker is flushed, ops->detach() runs, the block device is
 * put and the entry is freed after another RCU grace period (lookups on
 * the bio path run under RCU only).  It pins its block device (get_device)
 * throughout; if @pinned it also holds a reference on ops->owner, else
 * blkfilter_unregister() detaches it.
 */
#ifndef BLKSNAP_BLKFILTER_PRIV_H
#define BLKSNAP_BLKFILTER_PRIV_H

#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/workqueue.h>
#include <linux/spinlock.h>
#include <linux/bio.h>
#include <linux/wait.h>
#include <linux/percpu.h>
#include "blkfilter.h"

/* struct bf_ref.state: 0 is per-CPU mode, live */
#define BF_REF_ATOMIC	1UL	/* counted in @count */
#define BF_REF_DEAD	2UL	/* killed: gets fail (always with BF_REF_ATOMIC) */

/**
 * struct bf_ref - Count of the users of a filter entry (blkfilter_ref.c).
 * @state: 0 (per-CPU mode, live), or BF_REF_ATOMIC, with BF_REF_DEAD
 *	once killed.  Read by every get and put, written by the mode changes.
 * @pcpu: Per-CPU mode: gets minus puts on each CPU; written only by the
 *	CPU it belongs to, never reset.
 * @count: Atomic mode: the base (1 until killed) plus the users; also
 *	holds what was counted in atomic mode while in per-CPU mode.
 * @folded: The sum of @pcpu already added into @count.
 * @want_atomic: bf_ref_switch_to_atomic_sync() asked for atomic mode:
 *	bf_ref_resurrect() keeps it.
 * @release: Called when @count drops to zero after bf_ref_kill().
 */
struct bf_ref {
	unsigned long state;
	unsigned long __percpu *pcpu;
	atomic_long_t count;
	unsigned long folded;
	bool want_atomic;
	void (*release)(struct bf_ref *ref);
};

int bf_ref_init(struct bf_ref *ref, void (*release)(struct bf_ref *ref),
		gfp_t gfp);
void bf_ref_exit(struct bf_ref *ref);
void bf_ref_switch_to_atomic_sync(struct bf_ref *ref);
void bf_ref_switch_to_percpu(struct bf_ref *ref);
void bf_ref_kill(struct bf_ref *ref);
void bf_ref_resurrect(struct bf_ref *ref);
void bf_ref_put_atomic(struct bf_ref *ref);

/*
 * bf_ref_tryget_live() - Become a user of @ref unless it is killed.
 * Context: any.  Return: true if the caller holds a reference now.
 *
 * Per-CPU mode: one this-CPU increment, no shared cache line written.
 * The read of @state and the change of the count are one RCU read-side
 * critical section: the switch to atomic mode waits for it.
 */
static inline bool bf_ref_tryget_live(struct bf_ref *ref)
{
	unsigned long state;
	bool ret = true;

	rcu_read_lock();
	state = READ_ONCE(ref->state);
	if (likely(!state)) {
		this_cpu_inc(*ref->pcpu);
	} else if (state & BF_REF_DEAD) {
		ret = false;
	} else {
		/* pairs with the release stores of the state: the bias */
		smp_acquire__after_ctrl_dep();
		/* zero: killed meanwhile and drained, stay out */
		ret = atomic_long_inc_not_zero(&ref->count);
	}
	rcu_read_unlock();
	return ret;
}

/*
 * bf_ref_put() - Drop a reference taken by bf_ref_tryget_live().
 * Context: any, hard interrupts included (write completions).  @ref may
 * be freed by ->release as soon as this returns.
 */
static inline void bf_ref_put(struct bf_ref *ref)
{
	unsigned long state;

	rcu_read_lock();
	state = READ_ONCE(ref->state);
	if (likely(!state)) {
		this_cpu_dec(*ref->pcpu);
	} else {
		smp_acquire__after_ctrl_dep();
		bf_ref_put_atomic(ref);
	}
	rcu_read_unlock();
}

/**
 * struct bf_entry - Layer-private state of one attached filter.
 * @hnode: Entry in blkfilter_hash, keyed by @bdev.  Written under
 *	blkfilter_mutex, read under RCU.
 * @rcu: Frees the entry after readers of blkfilter_hash are done.
 * @flt: The filter's object returned by ops->attach.
 * @ops: The filter's operations.
 * @bdev: The filtered device, pinned with get_device() while attached.
 * @disk: @bdev's disk, compared (never dereferenced) by the removal hooks.
 * @ref: Held by every caller of ops->submit_bio and by every write that
 *	passed the filter until it completes.  Killed by freeze and detach;
 *	@drained completes when it reaches zero.
 * @drained: See @ref.
 * @pinned: The entry holds a reference on ops->owner (BLKFILTER_ATTACH,
 *	or blkfilter_attach() with @pin_module).  Set at attach, never
 *	changed.
 * @frozen: Set while blkfilter_freeze() holds the filter; bios wait.
 *	Written under blkfilter_mutex.
 * @dead: Set when detach starts; bios then pass unfiltered.  Written under
 *	blkfilter_mutex.
 * @dying: Set by the del_gendisk hook; the gc worker detaches the entry.
 * @media_changed: A media-change hook could not tell the filter at once
 *	(the filter was frozen); the gc worker does it.
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
	struct bf_ref ref;
	struct completion drained;
	bool pinned;
	bool frozen;
	bool dead;
	bool dying;
	bool media_changed;
	spinlock_t lock;		/* protects @deferred */
	struct bio_list deferred;
	struct work_struct work;
};

#define BLKFILTER_HASH_BITS	8

/*
 * blkfilter_mutex (blkfilter.c) is the layer's lock, blkfilter_lock():
 * it serialises attach, detach, ctl, freeze/unfreeze and the registry of
 * filter operations, and protects the list of registered operations and
 * the writers of blkfilter_hash.  Lookups on the bio path use RCU only.
 */
extern struct mutex blkfilter_mutex;
/* Attached filters, keyed by block device (struct bf_entry.hnode). */
extern struct hlist_head blkfilter_hash[1 << BLKFILTER_HASH_BITS];
/* Number of entries in blkfilter_hash: the hooks do nothing while 0. */
extern atomic_t blkfilter_nr_attached;
/*
 * How many of them want reads (ops->writes_only false): while none does,
 * the hook lets every read go at once, without a lookup.
 */
extern atomic_t blkfilter_nr_reading;
/* Runs deferred bios and the gc worker. */
extern struct workqueue_struct *blkfilter_wq;

/* Bumped at every unfreeze; bios that met a frozen filter wait for it. */
extern unsigned long blkfilter_unfreeze_seq;
extern wait_queue_head_t blkfilter_unfreeze_wq;

/* The bio_set of the module's own bios (blkfilter_bio.c). */
extern struct bio_set blkfilter_own_bio_set;
/* The completion hook of writes that passed a filter (blkfilter_bio.c). */
void bf_write_endio(struct bio *bio);

/*
 * Tasks inside the redirect targets, per CPU (a task may leave on another
 * CPU than it entered: only the sum means something); module exit waits
 * for the sum to reach zero.  Per CPU so that no cache line is shared by
 * the bios of all CPUs.
 */
DECLARE_PER_CPU(long, blkfilter_active);

/*
 * Entered by the redirect targets and by every other path where module
 * text calls submit_bio_noacct(): module exit waits until none is inside.
 */
static inline void bf_enter(void)
{
	this_cpu_inc(blkfilter_active);
}

static inline void bf_leave(void)
{
	this_cpu_dec(blkfilter_active);
}

/* How many tasks are inside (module exit, after the hooks are gone). */
static inline long bf_active_sum(void)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(blkfilter_active, cpu);
	return sum;
}

/* Caller: RCU read side, preemption disabled, or blkfilter_mutex. */
static inline struct bf_entry *bf_lookup(struct block_device *bdev)
{
	struct bf_entry *e;

	hash_for_each_possible_rcu(blkfilter_hash, e, hnode,
				   (unsigned long)bdev,
				   lockdep_is_held(&blkfilter_mutex))
		if (e->bdev == bdev)
			return e;
	return NULL;
}

/*
 * Is @bio the module's own, or a write that passed a filter?  Neither is
 * offered to a filter.  A write that passed keeps its completion hook
 * until it completes; if the block layer sends it through
 * submit_bio_noacct() again (the remainder of a split, a resubmission
 * after the partition remap) it must not meet its filter again: it holds
 * its entry's reference, so a frozen filter would hold it forever while
 * the freeze waits for it.
 */
static inline bool bf_is_module_bio(struct bio *bio)
{
	return bio->bi_pool == &blkfilter_own_bio_set ||
	       bio->bi_end_io == bf_write_endio;
}

/**
 * enum blkfilter_event - What happened to a disk (blkfilter_device_event()).
 * @BLKFILTER_DISK_DELETED: del_gendisk: the disk and all its partitions.
 * @BLKFILTER_PARTS_CHANGING: A partition delete or rescan was asked for.
 * @BLKFILTER_MEDIA_CHANGED: New media, backing file, table or size.
 */
enum blkfilter_event {
	BLKFILTER_DISK_DELETED,
	BLKFILTER_PARTS_CHANGING,
	BLKFILTER_MEDIA_CHANGED,
};

/* blkfilter.c: the layer, called by the hooks */
long blkfilter_ioctl(struct block_device *bdev, unsigned int cmd,
		     void __user *argp);
void blkfilter_detach_entry(struct bf_entry *e);
bool blkfilter_entry_gone(struct bf_entry *e);

/* blkfilter_removal.c: device events, called by the hooks */
void blkfilter_device_event(enum blkfilter_event what, struct gendisk *disk);
void blkfilter_gc_kick(void);
void blkfilter_gc_stop(void);

/* blkfilter_bio.c: the bio path */
bool blkfilter_filter_bio(struct bio *bio);
bool blkfilter_offer_bio(struct bf_entry *e, struct bio *bio);
bool blkfilter_pass_write(struct bf_entry *e, struct bio *bio);
void blkfilter_deferred_work(struct work_struct *work);
int blkfilter_bio_init(void);
void blkfilter_bio_exit(void);

/* `make module BLKSNAP_TESTING=y` (the test suite) sets it to 1. */
#ifndef BLKSNAP_TESTING
#define BLKSNAP_TESTING 0
#endif

#endif /* BLKSNAP_BLKFILTER_PRIV_H */
