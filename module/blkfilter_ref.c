// SPDX-License-Identifier: GPL-2.0
/*
 * struct bf_ref: the count of the users of a filter entry (the callers
 * inside its ops->submit_bio and the writes that passed it), whose switch
 * to atomic mode costs an expedited RCU grace period (microseconds) rather
 * than a normal one (3 jiffies and more), so that freezing a filter is
 * quick even when nothing prepared it.  The fast path (bf_ref_tryget_live()
 * and bf_ref_put() in blkfilter_priv.h) writes no cache line shared
 * between CPUs.
 *
 * Two modes:
 *
 * - per-CPU (@state == 0): a get increments this CPU's counter, a put
 *   decrements it (a bio may be put on another CPU than the one it got on:
 *   only the sum means something).  Each counter is written by its own CPU
 *   only and never reset; @folded remembers how much of their sum is
 *   already in @count.
 * - atomic (BF_REF_ATOMIC): gets and puts change @count; a get fails once
 *   @count is zero, the put that brings it to zero calls ->release.  Kill
 *   sets BF_REF_DEAD: from then on every get fails and @count falls to
 *   zero once the last user is gone.
 *
 * The invariant, whenever no get or put is between its read of @state and
 * its change of a count and no switch is running:
 *
 *	users + base == count + sum(pcpu) - folded   (mod 2^BITS_PER_LONG)
 *
 * where base is 1 until kill and 0 after.  Gets and puts run under
 * rcu_read_lock() from their read of @state to their change of a count,
 * which is what a switch waits for.
 *
 * Switch to atomic mode (bf_ref_fold()): add BF_REF_BIAS to @count, then
 * publish BF_REF_ATOMIC (release); wait for an expedited grace period;
 * add sum(pcpu) - folded - BF_REF_BIAS to @count and remember the sum in
 * @folded.  Why it is exact:
 *
 * - A get or put that read @state == 0 did so inside an RCU read-side
 *   critical section that either ended before the grace period did (its
 *   per-CPU change is in the sum read after it) or began after the grace
 *   period began, and then it read BF_REF_ATOMIC: the store of the state
 *   precedes synchronize_rcu_expedited().  No per-CPU change is lost, and
 *   none happens after the sum is read (until the switch back).
 * - A put that read BF_REF_ATOMIC during the grace period may be the put
 *   of a get counted in a per-CPU counter that is not folded yet; @count
 *   may not reach zero because of it: the bias (2^(BITS_PER_LONG - 2),
 *   far more than users can ever be) is in @count before any task can
 *   read BF_REF_ATOMIC (release store; readers acquire after their test
 *   of @state).  After the fold @count holds base + users, at least 1
 *   while the ref is live: no spurious zero, so ->release is never
 *   called for a live ref.
 *
 * Switch back to per-CPU mode: publish @state = 0.  No grace period is
 * needed: @count keeps the base and every user counted in it, so a get or
 * put that still acts on @count (it read the old state) leaves the
 * invariant true and @count above zero; the next switch to atomic mode
 * waits for all of them anyway.
 *
 * Kill (bf_ref_kill()): switch to atomic mode first if needed, set
 * BF_REF_DEAD, drop the base.  Why a get after kill fails: a get that
 * reads BF_REF_DEAD fails; one that read the live atomic state before
 * does atomic_long_inc_not_zero(): either @count was not zero yet, the get
 * counts as a user and the release waits for its put, or it was zero and
 * the get fails.  Once ->release has run, @count is zero and stays zero
 * until bf_ref_resurrect(): no get succeeds and no user is left.  No get
 * can be in per-CPU mode at kill: the switch's grace period waited for
 * those.
 *
 * Cost of synchronize_rcu_expedited(): it sends an IPI to every online
 * CPU that is not idle and waits for them (or, on a kernel booted with
 * rcupdate.rcu_normal=1, as real-time setups do, falls back to a normal
 * grace period).  A few microseconds on a small machine; on machines with
 * hundreds of CPUs tens to a few hundred microseconds, and a disturbance
 * of every CPU (including nohz_full ones).  It is paid once per switch:
 * at TAKE's first phase (before anything is frozen), at a freeze of a
 * filter in per-CPU mode (DESTROY of a taken snapshot, a test switch) and
 * at detach; never per bio.  It sleeps: callers are in process context,
 * under no spinlock (blkfilter_mutex, a mutex, is fine).
 *
 * Mode changes (bf_ref_switch_to_atomic_sync(), bf_ref_switch_to_percpu(),
 * bf_ref_kill(), bf_ref_resurrect(), bf_ref_exit()) are serialised by the
 * caller: blkfilter_mutex, or the entry being unpublished and owned by
 * its detach.  Gets and puts run in any context.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/bug.h>
#include "blkfilter_priv.h"

/* Held in @count while a switch to atomic mode waits for its grace period. */
#define BF_REF_BIAS	(1L << (BITS_PER_LONG - 2))

/**
 * bf_ref_init() - Set up a reference count, live, in per-CPU mode.
 * @ref: The count.
 * @release: Called when the count drops to zero after bf_ref_kill(), from
 *	the context of the last bf_ref_put() (any, hard interrupts included).
 * @gfp: For the per-CPU counters.
 *
 * Return: 0 or -ENOMEM.
 */
int bf_ref_init(struct bf_ref *ref, void (*release)(struct bf_ref *ref),
		gfp_t gfp)
{
	ref->pcpu = alloc_percpu_gfp(unsigned long, gfp);
	if (!ref->pcpu)
		return -ENOMEM;
	atomic_long_set(&ref->count, 1);	/* the base */
	ref->folded = 0;
	ref->state = 0;
	ref->want_atomic = false;
	ref->release = release;
	return 0;
}

/**
 * bf_ref_exit() - Free what bf_ref_init() allocated.
 * @ref: The count: killed and drained, or never used.
 */
void bf_ref_exit(struct bf_ref *ref)
{
	free_percpu(ref->pcpu);
	ref->pcpu = NULL;
}

/* Per-CPU mode to atomic mode; see the top of this file.  May sleep. */
static void bf_ref_fold(struct bf_ref *ref)
{
	unsigned long sum = 0;
	int cpu;

	might_sleep();
	atomic_long_add(BF_REF_BIAS, &ref->count);
	/* the bias is in @count before anyone reads the atomic state */
	smp_store_release(&ref->state, BF_REF_ATOMIC);
	synchronize_rcu_expedited();
	/* no per-CPU change is running or can start: read them all */
	for_each_possible_cpu(cpu)
		sum += *per_cpu_ptr(ref->pcpu, cpu);
	/* @count keeps the base: it cannot reach zero here */
	atomic_long_add((long)(sum - ref->folded) - BF_REF_BIAS, &ref->count);
	ref->folded = sum;
}

/**
 * bf_ref_switch_to_atomic_sync() - Count in @count until switched back.
 * @ref: The count, live or killed.
 *
 * Waits for an expedited RCU grace period if @ref is in per-CPU mode.  The
 * count stays in atomic mode across bf_ref_kill() and bf_ref_resurrect()
 * until bf_ref_switch_to_percpu(); meanwhile every get and put is an
 * atomic operation on one cache line.
 *
 * Context: process, may sleep; mode changes serialised by the caller.
 */
void bf_ref_switch_to_atomic_sync(struct bf_ref *ref)
{
	ref->want_atomic = true;
	if (!ref->state)
		bf_ref_fold(ref);
}

/**
 * bf_ref_switch_to_percpu() - Undo bf_ref_switch_to_atomic_sync().
 * @ref: The count.
 *
 * A live count goes back to per-CPU mode at once; a killed one when it is
 * resurrected.
 *
 * Context: any; mode changes serialised by the caller.
 */
void bf_ref_switch_to_percpu(struct bf_ref *ref)
{
	ref->want_atomic = false;
	/* no grace period: @count keeps the base (see the top of the file) */
	if (ref->state == BF_REF_ATOMIC)
		WRITE_ONCE(ref->state, 0);
}

/**
 * bf_ref_kill() - Make every later get fail and drop the base.
 * @ref: The count, live.
 *
 * ->release runs when the last user is gone (here if none is left).  From
 * per-CPU mode this switches to atomic mode first (an expedited grace
 * period).
 *
 * Context: process, may sleep; mode changes serialised by the caller.
 */
void bf_ref_kill(struct bf_ref *ref)
{
	if (WARN_ON_ONCE(ref->state & BF_REF_DEAD))
		return;
	if (!ref->state)
		bf_ref_fold(ref);
	WRITE_ONCE(ref->state, BF_REF_ATOMIC | BF_REF_DEAD);
	bf_ref_put_atomic(ref);		/* the base */
}

/**
 * bf_ref_resurrect() - Make a killed count live again.
 * @ref: The count, killed (drained or not).
 *
 * The base comes back before gets may succeed again; the count returns
 * to per-CPU mode unless bf_ref_switch_to_atomic_sync() asked for atomic
 * mode.
 *
 * Context: any; mode changes serialised by the caller.
 */
void bf_ref_resurrect(struct bf_ref *ref)
{
	if (WARN_ON_ONCE(!(ref->state & BF_REF_DEAD)))
		return;
	atomic_long_inc(&ref->count);	/* the base */
	smp_store_release(&ref->state, ref->want_atomic ? BF_REF_ATOMIC : 0);
}

/**
 * bf_ref_put_atomic() - The slow path of bf_ref_put(): one user less in
 * atomic mode.
 * @ref: The count.
 *
 * Context: any, hard interrupts included.
 */
void notrace bf_ref_put_atomic(struct bf_ref *ref)
{
	long v = atomic_long_dec_return(&ref->count);

	if (likely(v > 0))
		return;
	if (WARN_ONCE(v < 0, "filter reference count below zero: %ld\n", v))
		return;
	ref->release(ref);
}
