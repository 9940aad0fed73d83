// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_BDEV_PARTNO: bdev_partno() replaced direct use of bd_partno in
 * v6.10 ("block: move bdev flags into an unsigned long").
 */
#include <linux/blkdev.h>

u8 probe(struct block_device *bdev);
u8 probe(struct block_device *bdev)
{
	return bdev_partno(bdev);
}
