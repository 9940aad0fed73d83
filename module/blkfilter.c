// SPDX-License-Identifier: GPL-2.0
/* Stub: replaced by the filter layer. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/bio.h>
#include "blkfilter.h"

int blkfilter_register(struct blkfilter_operations *ops)
{
	return 0;
}

void blkfilter_unregister(struct blkfilter_operations *ops)
{
}

sector_t bio_sector_rel(struct bio *bio)
{
	return bio->bi_iter.bi_sector;
}

int blkfilter_freeze(struct blkfilter *flt)
{
	return 0;
}

void blkfilter_unfreeze(struct blkfilter *flt)
{
}

int blkfilter_init(void)
{
	return 0;
}

void blkfilter_exit(void)
{
}
