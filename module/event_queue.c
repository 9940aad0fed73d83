// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot events (low free space, corrupted), delivered once each, oldest
 * first, to IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sched/signal.h>
#include <linux/blksnap.h>
#include "event_queue.h"

struct event {
	struct list_head link;
	ktime_t time;
	u32 code;
	size_t size;
	u8 data[];
};

/**
 * event_queue_create() - Allocate an empty queue.
 *
 * Context: may sleep.
 * Return: the queue with one reference held by the caller, or NULL.
 */
struct event_queue *event_queue_create(void)
{
	struct event_queue *eq = kzalloc(sizeof(*eq), GFP_KERNEL);

	if (!eq)
		return NULL;
	kref_init(&eq->kref);
	spin_lock_init(&eq->lock);
	INIT_LIST_HEAD(&eq->list);
	init_waitqueue_head(&eq->wq);
	return eq;
}

/**
 * event_queue_get() - Take a reference on a queue.
 * @eq: A queue the caller holds a reference on.
 */
void event_queue_get(struct event_queue *eq)
{
	kref_get(&eq->kref);
}

static void event_queue_release(struct kref *kref)
{
	struct event_queue *eq = container_of(kref, struct event_queue, kref);
	struct event *ev, *tmp;

	list_for_each_entry_safe(ev, tmp, &eq->list, link) {
		list_del(&ev->link);
		kfree(ev);
	}
	kfree(eq);
}

/**
 * event_queue_put() - Drop a reference; the last one frees the events
 * nobody read and the queue.
 * @eq: The queue.
 *
 * Context: any.
 */
void event_queue_put(struct event_queue *eq)
{
	kref_put(&eq->kref, event_queue_release);
}

/**
 * event_queue_kill() - Wake every waiter with -ESRCH (snapshot destroyed).
 * @eq: The queue.
 */
void event_queue_kill(struct event_queue *eq)
{
	spin_lock(&eq->lock);
	eq->dead = true;
	spin_unlock(&eq->lock);
	wake_up_all(&eq->wq);
}

/**
 * event_queue_push() - Queue an event.
 * @eq: The queue.
 * @code: enum blksnap_event_codes.
 * @data: Payload.
 * @size: Payload size, at most the event's data field.
 *
 * Context: any; allocates with GFP_ATOMIC (it runs on I/O paths).
 * Return: 0 or -ENOMEM.
 */
int event_queue_push(struct event_queue *eq, u32 code, const void *data,
		     size_t size)
{
	struct event *ev;

	if (WARN_ON_ONCE(size > sizeof_field(struct blksnap_snapshot_event,
					     data)))
		return -EINVAL;
	ev = kzalloc(struct_size(ev, data, size), GFP_ATOMIC);
	if (!ev)
		return -ENOMEM;
	ev->time = ktime_get();
	ev->code = code;
	ev->size = size;
	memcpy(ev->data, data, size);
	spin_lock(&eq->lock);
	list_add_tail(&ev->link, &eq->list);
	spin_unlock(&eq->lock);
	wake_up(&eq->wq);
	return 0;
}

static bool event_ready(struct event_queue *eq)
{
	return READ_ONCE(eq->dead) || !list_empty_careful(&eq->list);
}

static struct event *event_take(struct event_queue *eq, bool *dead)
{
	struct event *ev = NULL;

	spin_lock(&eq->lock);
	*dead = eq->dead;
	if (!*dead && !list_empty(&eq->list)) {
		ev = list_first_entry(&eq->list, struct event, link);
		list_del(&ev->link);
	}
	spin_unlock(&eq->lock);
	return ev;
}

/**
 * event_queue_wait() - Take the oldest event, waiting up to @timeout_ms for one.
 * @eq: The queue.
 * @timeout_ms: Milliseconds; 0 polls.
 * @out: Receives code, time_label and data (zero-filled past the payload).
 *
 * Context: may sleep (interruptibly).
 * Return: 0, -ENOENT on timeout, -EINTR on a signal, -ESRCH when the
 * snapshot is destroyed.
 */
int event_queue_wait(struct event_queue *eq, unsigned int timeout_ms,
		     struct blksnap_snapshot_event *out)
{
	long left = msecs_to_jiffies(timeout_ms);
	struct event *ev;
	bool dead;

	for (;;) {
		ev = event_take(eq, &dead);
		if (dead)
			return -ESRCH;
		if (ev)
			break;
		if (!left)
			return -ENOENT;
		left = wait_event_interruptible_timeout(eq->wq,
							event_ready(eq), left);
		if (left < 0)
			return -EINTR;
	}
	out->code = ev->code;
	out->time_label = ktime_to_ns(ev->time);
	memset(out->data, 0, sizeof(out->data));
	memcpy(out->data, ev->data, ev->size);
	kfree(ev);
	return 0;
}
