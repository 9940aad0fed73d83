/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_EVENT_QUEUE_H
#define BLKSNAP_EVENT_QUEUE_H

#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/ktime.h>

struct blksnap_snapshot_event;

/**
 * struct event_queue - Events of one snapshot, oldest first.
 * @lock: Protects @list and @dead.
 * @list: Queued events.
 * @wq: WAIT_EVENT callers sleep here.
 * @dead: The snapshot was destroyed: waiters return -ESRCH.
 *
 * Lifetime: embedded in the snapshot; waiters hold a snapshot reference.
 */
struct event_queue {
	spinlock_t lock;		/* protects @list and @dead */
	struct list_head list;
	wait_queue_head_t wq;
	bool dead;
};

void event_queue_init(struct event_queue *eq);
void event_queue_done(struct event_queue *eq);
void event_queue_kill(struct event_queue *eq);
int event_gen(struct event_queue *eq, u32 code, const void *data, size_t size);
int event_wait(struct event_queue *eq, unsigned int timeout_ms,
	       struct blksnap_snapshot_event *out);

#endif /* BLKSNAP_EVENT_QUEUE_H */
