/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_PARAMS_H
#define BLKSNAP_PARAMS_H

#include <linux/compiler.h>

/**
 * struct blksnap_param - A validated integer module parameter.
 * @value: Current value.  Written by the parameter's set handler (sysfs or
 *         insmod), read with READ_ONCE() through blksnap_param() wherever it
 *         is used, so a change takes effect at the next use.
 * @min: Smallest accepted value.
 * @max: Largest accepted value.
 */
struct blksnap_param {
	int value;
	int min;
	int max;
};

extern struct blksnap_param blksnap_param_tracking_block_minimum_shift;
extern struct blksnap_param blksnap_param_tracking_block_maximum_count;
extern struct blksnap_param blksnap_param_tracking_block_maximum_shift;
extern struct blksnap_param blksnap_param_chunk_minimum_shift;
extern struct blksnap_param blksnap_param_chunk_maximum_count;
extern struct blksnap_param blksnap_param_chunk_maximum_shift;
extern struct blksnap_param blksnap_param_chunk_maximum_in_queue;
extern struct blksnap_param blksnap_param_free_diff_buffer_pool_size;
extern struct blksnap_param blksnap_param_diff_storage_minimum;

/* Current value of the module parameter @name (v3 name, without prefix). */
#define blksnap_param(name) READ_ONCE(blksnap_param_##name.value)

#endif /* BLKSNAP_PARAMS_H */
