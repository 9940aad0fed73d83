// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters: the v3 set, with v3 names and defaults.
 *
 * Every parameter is read at the moment it is used (attach, TAKE, each COW
 * or allocation), never cached, so all of them can safely change at run
 * time and are writable by root (0644).  Each one has a range; a value
 * outside it is refused with -EINVAL both at load time (the module does not
 * load) and through sysfs (the old value stays).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/kernel.h>
#include <linux/sysfs.h>
#include "params.h"

static int blksnap_param_set(const char *val, const struct kernel_param *kp)
{
	struct blksnap_param *p = kp->arg;
	int v;
	int ret;

	ret = kstrtoint(val, 0, &v);
	if (ret)
		return ret;
	if (v < p->min || v > p->max) {
		pr_err("parameter %s=%d is out of range [%d, %d]\n",
		       kp->name, v, p->min, p->max);
		return -EINVAL;
	}
	WRITE_ONCE(p->value, v);
	return 0;
}

static int blksnap_param_get(char *buf, const struct kernel_param *kp)
{
	const struct blksnap_param *p = kp->arg;

	return sysfs_emit(buf, "%d\n", READ_ONCE(p->value));
}

static const struct kernel_param_ops blksnap_param_ops = {
	.set = blksnap_param_set,
	.get = blksnap_param_get,
};

#define BLKSNAP_PARAM(name, def, lo, hi, desc)				\
	struct blksnap_param blksnap_param_##name = {			\
		.value = (def), .min = (lo), .max = (hi),		\
	};								\
	module_param_cb(name, &blksnap_param_ops,			\
			&blksnap_param_##name, 0644);			\
	MODULE_PARM_DESC(name, desc " (default " #def ", range " #lo ".." #hi ")")

BLKSNAP_PARAM(tracking_block_minimum_shift, 16, 12, 30,
	      "The power of 2 for minimum tracking block size");
BLKSNAP_PARAM(tracking_block_maximum_count, 2097152, 16, 67108864,
	      "The maximum number of tracking blocks");
BLKSNAP_PARAM(tracking_block_maximum_shift, 26, 12, 30,
	      "The power of 2 for maximum tracking block size");
BLKSNAP_PARAM(chunk_minimum_shift, 18, 12, 30,
	      "The power of 2 for minimum chunk size");
BLKSNAP_PARAM(chunk_maximum_count, 2097152, 16, 67108864,
	      "The maximum number of chunks");
BLKSNAP_PARAM(chunk_maximum_shift, 26, 12, 30,
	      "The power of 2 for maximum snapshots chunk size");
BLKSNAP_PARAM(chunk_maximum_in_queue, 16, 1, 4096,
	      "The maximum number of chunks in store queue");
BLKSNAP_PARAM(free_diff_buffer_pool_size, 128, 0, 65536,
	      "The size of the pool of preallocated difference buffers");
BLKSNAP_PARAM(diff_storage_minimum, 2097152, 8, 2147483647,
	      "The minimum allowable size of the difference storage in sectors");
