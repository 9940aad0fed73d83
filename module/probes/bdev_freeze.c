// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_BDEV_FREEZE: freeze_bdev()/thaw_bdev() were renamed to
 * bdev_freeze()/bdev_thaw() in v6.8 ("bdev: rename freeze and thaw helpers").
 */
#include <linux/blkdev.h>

int probe(struct block_device *bdev);
int probe(struct block_device *bdev)
{
	return bdev_freeze(bdev) + bdev_thaw(bdev);
}
