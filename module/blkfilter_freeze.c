// SPDX-License-Identifier: GPL-2.0
/*
 * Freezing a filter: stop bios before it and wait until none is inside it
 * and every write that passed it has completed (struct bf_entry.ref, see
 * blkfilter_priv.h).  Bios that meet a frozen filter wait for the next
 * unfreeze, which bumps blkfilter_unfreeze_seq (or go to the entry's
 * worker).  Everything here runs under blkfilter_lock(), which also keeps
 * the filters attached meanwhile.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/blkdev.h>
#include <linux/string.h>
#include "blkfilter_priv.h"

/*
 * Bumped (under blkfilter_mutex) at every unfreeze; bios that met a frozen
 * filter wait on blkfilter_unfreeze_wq until it changes.
 */
unsigned long blkfilter_unfreeze_seq;
DECLARE_WAIT_QUEUE_HEAD(blkfilter_unfreeze_wq);

/*
 * Stop new bios from entering the filter of @e; they wait from now on.  A
 * filter in per-CPU mode waits here for an expedited grace period (see
 * blkfilter_ref.c); a prepared one (blkfilter_prepare_freeze()) does not.
 */
static void bf_freeze_start(struct bf_entry *e)
{
	lockdep_assert_held(&blkfilter_mutex);
	reinit_completion(&e->drained);
	WRITE_ONCE(e->frozen, true);
	bf_ref_kill(&e->ref);
}

/* Let bios into the filter of @e again, drained or not. */
static void bf_freeze_end(struct bf_entry *e)
{
	lockdep_assert_held(&blkfilter_mutex);
	bf_ref_resurrect(&e->ref);
	WRITE_ONCE(e->frozen, false);
	smp_wmb();	/* the state before the sequence that waiters test */
	WRITE_ONCE(blkfilter_unfreeze_seq, blkfilter_unfreeze_seq + 1);
	wake_up_all(&blkfilter_unfreeze_wq);
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

	lockdep_assert_held(&blkfilter_mutex);
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

	lockdep_assert_held(&blkfilter_mutex);
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
 * blkfilter_prepare_freeze() - Make the next freezes of a filter quick.
 * @flt: An attached filter.
 *
 * Switches the count of the filter's users to atomic mode now, so that
 * blkfilter_freeze() and blkfilter_freeze_set() need no grace period
 * inside the caller's freeze window.  The switch waits for an expedited
 * RCU grace period (IPIs: microseconds on a small machine, more on one
 * with hundreds of CPUs; see blkfilter_ref.c), not for a normal one (3
 * jiffies and more).  Until blkfilter_end_prepare() each bio pays an
 * atomic increment and decrement of one shared counter.
 *
 * Context: blkfilter_lock() held; may sleep.
 */
void blkfilter_prepare_freeze(struct blkfilter *flt)
{
	struct bf_entry *e = flt->priv;

	lockdep_assert_held(&blkfilter_mutex);
	bf_ref_switch_to_atomic_sync(&e->ref);
}

/**
 * blkfilter_end_prepare() - Undo blkfilter_prepare_freeze().
 * @flt: An attached filter, frozen or not.
 *
 * Context: blkfilter_lock() held.
 */
void blkfilter_end_prepare(struct blkfilter *flt)
{
	struct bf_entry *e = flt->priv;

	lockdep_assert_held(&blkfilter_mutex);
	bf_ref_switch_to_percpu(&e->ref);
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

	lockdep_assert_held(&blkfilter_mutex);
	if (WARN_ON_ONCE(!e->frozen))
		return;
	bf_freeze_end(e);
}
