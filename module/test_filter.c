// SPDX-License-Identifier: GPL-2.0
/*
 * A second, do-nothing filter named "blksnap-test", built only into test
 * builds (BLKSNAP_TESTING=y, see Kbuild), so that the test suite can exercise what the
 * filter layer does with another filter attached (-EBUSY) and with a filter
 * that has no ctl handler (-ENOTTY).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/err.h>
#include "blkfilter.h"
#include "tracker.h"
#include "test_filter.h"

static struct blkfilter *test_filter_attach(struct block_device *bdev)
{
	struct blkfilter *flt = kzalloc(sizeof(*flt), GFP_NOIO);

	return flt ? flt : ERR_PTR(-ENOMEM);
}

static void test_filter_detach(struct blkfilter *flt)
{
	kfree(flt);
}

static bool test_filter_submit_bio(struct blkfilter *flt, struct bio *bio)
{
	return false;
}

static struct blkfilter_operations test_filter_ops = {
	.owner = THIS_MODULE,
	.name = "blksnap-test",
	.attach = test_filter_attach,
	.detach = test_filter_detach,
	.submit_bio = test_filter_submit_bio,
};

/**
 * test_filter_init() - Register "blksnap-test" in test builds.
 *
 * Return: 0 or a negative errno.
 */
int test_filter_init(void)
{
	return blkfilter_register(&test_filter_ops);
}

/**
 * test_filter_exit() - Unregister "blksnap-test".
 */
void test_filter_exit(void)
{
	blkfilter_unregister(&test_filter_ops);
}
