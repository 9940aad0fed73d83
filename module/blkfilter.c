// SPDX-License-Identifier: GPL-2.0
/* Stub: replaced by the filter layer. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include "blkfilter.h"

int blkfilter_register(struct blkfilter_operations *ops)
{
	return 0;
}

void blkfilter_unregister(struct blkfilter_operations *ops)
{
}

int blkfilter_init(void)
{
	return 0;
}

void blkfilter_exit(void)
{
}
