// SPDX-License-Identifier: GPL-2.0
/*
 * Test builds only (BLKSNAP_TESTING=y): a write-only module parameter that
 * attaches a filter the way a front end without a file descriptor does,
 * with blkfilter_attach(..., pin_module = false), so that the test suite
 * can check that such an attachment does not pin the module and that
 * unloading detaches it.  Written as "<filter name> <device path>".
 * Compiled into every build, it refuses (EPERM) outside test builds; Kbuild
 * may link it into test builds only, like test_filter.o.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/blkdev.h>
#include <linux/blk-filter.h>
#include "blkfilter_priv.h"

static int bf_test_attach_set(const char *val, const struct kernel_param *kp)
{
	char buf[BLKFILTER_NAME_LENGTH + 64];
	struct bdev_ref ref;
	char *path;
	int ret;

	if (!BLKSNAP_TESTING)
		return -EPERM;
	strscpy(buf, val, sizeof(buf));
	strim(buf);
	path = strchr(buf, ' ');
	if (!path)
		return -EINVAL;
	*path++ = '\0';
	ret = bdev_ref_open(path, NULL, &ref);
	if (ret)
		return ret;
	ret = blkfilter_attach(ref.bdev, buf, false);
	bdev_ref_close(&ref);
	return ret;
}

static const struct kernel_param_ops bf_test_attach_ops = {
	.set = bf_test_attach_set,
};

module_param_cb(test_attach_unpinned, &bf_test_attach_ops, NULL, 0200);
MODULE_PARM_DESC(test_attach_unpinned,
		 "test builds: \"<filter> <device>\" attaches without pinning the module");
