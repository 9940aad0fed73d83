/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Status at a glance: /sys/kernel/debug/blksnap/status (status.c) and the
 * one-line hooks the copy-on-write path calls to keep its counters and
 * tracepoints (trace.h).  Outside the module's interface.
 */
#ifndef BLKSNAP_STATUS_H
#define BLKSNAP_STATUS_H

#include <linux/atomic.h>
#include <linux/ktime.h>
#include "diff_area.h"
#include "trace.h"

/**
 * status_cow_copied() - A chunk's old data was read and its store started.
 * @da: The diff_area.
 * @nr: The chunk.
 * @bytes: Bytes copied.
 * @start_ns: ktime_get_ns() when the copy began (for the latency).
 *
 * Context: any.
 */
static inline void status_cow_copied(struct diff_area *da, unsigned long nr,
				     unsigned int bytes, u64 start_ns)
{
	atomic_long_inc(&da->nr_copied);
	atomic_inc(&da->nr_storing);
	trace_blksnap_cow(da->dev_id, nr, bytes, start_ns);
}

/**
 * status_cow_stored() - A chunk store started by status_cow_copied() ended.
 * @da: The diff_area.
 *
 * Context: any.
 */
static inline void status_cow_stored(struct diff_area *da)
{
	atomic_dec(&da->nr_storing);
}

void status_init(void);
void status_exit(void);

#endif /* BLKSNAP_STATUS_H */
