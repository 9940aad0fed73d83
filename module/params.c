// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters: the v3 set, with v3 names and defaults (except
 * chunk_maximum_count: see there).
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
	if (ret || v < p->min || v > p->max) {
		pr_err("parameter %s: value refused, an integer in [%d, %d] expected\n",
		       kp->name, p->min, p->max);
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

struct blksnap_param blksnap_param_tracking_block_minimum_shift = {
	.value = 16, .min = 12, .max = 30,
};
module_param_cb(tracking_block_minimum_shift, &blksnap_param_ops,
		&blksnap_param_tracking_block_minimum_shift, 0644);
MODULE_PARM_DESC(tracking_block_minimum_shift,
		 "The power of 2 for minimum tracking block size (default 16, range 12..30)");

struct blksnap_param blksnap_param_tracking_block_maximum_count = {
	.value = 2097152, .min = 16, .max = 67108864,
};
module_param_cb(tracking_block_maximum_count, &blksnap_param_ops,
		&blksnap_param_tracking_block_maximum_count, 0644);
MODULE_PARM_DESC(tracking_block_maximum_count,
		 "The maximum number of tracking blocks (default 2097152, range 16..67108864)");

struct blksnap_param blksnap_param_tracking_block_maximum_shift = {
	.value = 26, .min = 12, .max = 30,
};
module_param_cb(tracking_block_maximum_shift, &blksnap_param_ops,
		&blksnap_param_tracking_block_maximum_shift, 0644);
MODULE_PARM_DESC(tracking_block_maximum_shift,
		 "The power of 2 for maximum tracking block size (default 26, range 12..30)");

struct blksnap_param blksnap_param_chunk_minimum_shift = {
	.value = 18, .min = 12, .max = 30,
};
module_param_cb(chunk_minimum_shift, &blksnap_param_ops,
		&blksnap_param_chunk_minimum_shift, 0644);
MODULE_PARM_DESC(chunk_minimum_shift,
		 "The power of 2 for minimum chunk size (default 18, range 12..30)");

/*
 * 0 (not v3's 2097152): the chunk does not grow with the device.  v3 grew it
 * because it preallocated metadata per chunk; chunk metadata here exists
 * only for copied chunks, bounded by the difference storage, while a grown
 * chunk makes every first write copy more (64 MiB per 4 KiB on 1 PiB).
 */
struct blksnap_param blksnap_param_chunk_maximum_count = {
	.value = 0, .min = 0, .max = 67108864,
};
module_param_cb(chunk_maximum_count, &blksnap_param_ops,
		&blksnap_param_chunk_maximum_count, 0644);
MODULE_PARM_DESC(chunk_maximum_count,
		 "The maximum number of chunks; 0: no limit, the chunk does not grow with the device (default 0, range 0..67108864)");

struct blksnap_param blksnap_param_chunk_maximum_shift = {
	.value = 26, .min = 12, .max = 30,
};
module_param_cb(chunk_maximum_shift, &blksnap_param_ops,
		&blksnap_param_chunk_maximum_shift, 0644);
MODULE_PARM_DESC(chunk_maximum_shift,
		 "The power of 2 for maximum snapshots chunk size (default 26, range 12..30)");

struct blksnap_param blksnap_param_chunk_maximum_in_queue = {
	.value = 16, .min = 1, .max = 4096,
};
module_param_cb(chunk_maximum_in_queue, &blksnap_param_ops,
		&blksnap_param_chunk_maximum_in_queue, 0644);
MODULE_PARM_DESC(chunk_maximum_in_queue,
		 "The maximum number of chunks in store queue (default 16, range 1..4096)");

struct blksnap_param blksnap_param_free_diff_buffer_pool_size = {
	.value = 128, .min = 0, .max = 65536,
};
module_param_cb(free_diff_buffer_pool_size, &blksnap_param_ops,
		&blksnap_param_free_diff_buffer_pool_size, 0644);
MODULE_PARM_DESC(free_diff_buffer_pool_size,
		 "The size of the pool of preallocated difference buffers (default 128, range 0..65536)");

struct blksnap_param blksnap_param_diff_storage_minimum = {
	.value = 2097152, .min = 8, .max = 2147483647,
};
module_param_cb(diff_storage_minimum, &blksnap_param_ops,
		&blksnap_param_diff_storage_minimum, 0644);
MODULE_PARM_DESC(diff_storage_minimum,
		 "The minimum allowable size of the difference storage in sectors (default 2097152, range 8..2147483647)");
