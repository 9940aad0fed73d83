// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_BLK_ALLOC_DISK_LIM: blk_alloc_disk() takes a struct queue_limits and
 * returns an ERR_PTR since v6.9 ("block: pass a queue_limits argument to
 * blk_alloc_disk"); the blk_queue_*_block_size() setters went away later.
 */
#include <linux/blkdev.h>

struct gendisk *probe(void);
struct gendisk *probe(void)
{
	struct queue_limits lim = { .logical_block_size = 512 };

	return blk_alloc_disk(&lim, NUMA_NO_NODE);
}
