/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_EVENT_QUEUE_H
#define BLKSNAP_EVENT_QUEUE_H

#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/ktime.h>
#include <linux/kref.h>

struct blksnap_snapshot_event;

/**
 * struct event_queue - Events of one snapshot, oldest first.
 * @kref: References: the snapshot's, its difference storage's (low free
 *	space) and each diff_area's (corrupted), and one per WAIT_EVENT
 *	caller while it waits.  The last put frees the unread events.
 * @lock: Protects @list and @dead.
 * @list: Queued events.
 * @wq: WAIT_EVENT callers sleep here.
 * @dead: The snapshot was destroyed: waiters return -ESRCH.
 *
 * Producers only hold a reference, never the snapshot: a diff_area that
 * outlives its snapshot's DESTROY (an image still open) still reports into
 * a queue nobody reads, which is freed with the last reference.
 */
struct event_queue {
	struct kref kref;
	spinlock_t lock;		/* protects @list and @dead */
	struct list_head list;
	wait_queue_head_t wq;
	bool dead;
};

struct event_queue *event_queue_create(void);
void event_queue_get(struct event_queue *eq);
void event_queue_put(struct event_queue *eq);
void event_queue_kill(struct event_queue *eq);
int event_queue_push(struct event_queue *eq, u32 code, const void *data,
		     size_t size);
int event_queue_wait(struct event_queue *eq, unsigned int timeout_ms,
		     struct blksnap_snapshot_event *out);

#endif /* BLKSNAP_EVENT_QUEUE_H */
