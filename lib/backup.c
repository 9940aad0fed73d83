// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libblksnap: the incremental-backup walk.  After TAKE, the CBT map of a
 * snapshot's device holds, per block, the changes_number of the last
 * snapshot during which the block changed; the blocks above the number
 * saved with the previous backup are the ones to copy.
 */
#include <string.h>
#include "blksnap.h"

enum blksnap_full_reason
blksnap_incremental_check(const struct blksnap_cbtinfo *saved,
			  const struct blksnap_cbtinfo *now)
{
	if (memcmp(&saved->generation_id, &now->generation_id,
		   sizeof(now->generation_id)))
		return BLKSNAP_FULL_GENERATION;
	if (now->changes_number <= saved->changes_number)
		return BLKSNAP_FULL_CHANGES_NUMBER;
	if (saved->block_size != now->block_size ||
	    saved->device_capacity != now->device_capacity)
		return BLKSNAP_FULL_GEOMETRY;
	return BLKSNAP_INCREMENTAL_OK;
}

int blksnap_cbt_next_run(const uint8_t *map, uint64_t nblocks,
			 unsigned int saved_changes, uint64_t *pos,
			 uint64_t *first, uint64_t *count)
{
	uint64_t i = *pos, k;

	while (i < nblocks && map[i] <= saved_changes)
		i++;
	if (i >= nblocks) {
		*pos = nblocks;
		return 0;
	}
	for (k = i; k < nblocks && map[k] > saved_changes; k++)
		;
	*first = i;
	*count = k - i;
	*pos = k;
	return 1;
}
