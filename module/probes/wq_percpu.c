// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_WQ_PERCPU: alloc_workqueue() callers name WQ_PERCPU or WQ_UNBOUND
 * since v6.17 ("workqueue: Add new WQ_PERCPU flag"); a workqueue with
 * neither makes __alloc_workqueue() WARN on the 7.x kernels.
 */
#include <linux/workqueue.h>

unsigned int probe(void);
unsigned int probe(void)
{
	return WQ_PERCPU;
}
