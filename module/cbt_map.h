/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_CBT_MAP_H
#define BLKSNAP_CBT_MAP_H

#include <linux/types.h>
#include <linux/uuid.h>
#include <linux/kref.h>
#include <linux/workqueue.h>

/**
 * struct cbt_map - Change-block-tracking map of one device.
 * @kref: References: the tracker's (dropped when the tracker is freed) and
 *	one per diff_area of the device (image writes mark the map).
 * @write_map: The live map: one byte per block, the change number under
 *	which the block was last written (0: not written in this generation).
 *	Raised lock-free by writes (cbt_map_mark()) and by cbt_map_mark_both().
 * @read_map: The map user space reads: a copy of @write_map frozen at the
 *	last switch.  Raised by cbt_map_mark_both().
 * @capacity: Device size in sectors when the map was (re)built.
 * @blk_shift: log2 of the block size in bytes.
 * @blk_count: Number of blocks (bytes in each map).
 * @snap_number_active: Number written into @write_map by device writes.
 * @snap_number_previous: Number given to the last switch (cbtinfo's
 *	changes_number).
 * @generation_id: The history @read_map and @snap_number_previous belong to
 *	(what cbtinfo reports); a new one means "no history".
 * @write_generation: The history @write_map belongs to.  It differs from
 *	@generation_id only between the switch that wrapped the numbers past
 *	255 and the next switch, which publishes it.
 * @is_corrupted: Set (and kept until the next reset) when a write reached
 *	past @blk_count, i.e. the device grew; the next switch rebuilds the map.
 * @spare_write: Zeroed maps allocated by cbt_map_switch_prepare() for a
 *	switch that will need them (a rebuild: both, of @spare_count bytes for
 *	@spare_capacity; a wrap past 255 and the switch after it:
 *	@spare_write only), so that the
 *	switch itself allocates nothing.  Freed with the map if unused.
 * @spare_read: See @spare_write.
 * @spare_capacity: The capacity the spare maps of a rebuild were made for.
 * @spare_shift: Their block size (log2 of bytes).
 * @spare_count: Their size in bytes.
 * @catch_up: Set by a switch that made the old read map the new write map:
 *	that map lacks the writes since the previous switch, which
 *	@catch_up_work copies over from @read_map after the filter runs again.
 * @retired: Maps a switch replaced (a rebuild's two, a wrap's old read
 *	map), freed by @catch_up_work: vfree() is not for the frozen window.
 * @catch_up_work: Raises @write_map to @read_map byte by byte (atomically
 *	against concurrent marks) and frees @retired; holds a map reference
 *	while queued.  Every switch waits for it first.
 *
 * Locking: the owner serialises every function except cbt_map_mark() and
 * cbt_map_mark_both() with one mutex (the tracker's ctl_lock).  The fields
 * cbt_map_mark() reads (@write_map, @blk_shift, @blk_count,
 * @snap_number_active) change only in cbt_map_switch(), which the owner
 * calls with the device's filter frozen, so no mark runs concurrently with
 * it.  Marks only ever raise bytes, so concurrent marks need no lock; the
 * catch-up after a switch raises bytes too, with a compare-and-exchange
 * per word, so it never lowers a byte a mark raised meanwhile.
 *
 * Lifetime: created by the tracker at attach; freed by the last
 * cbt_map_put().  Only the tracker switches, resets or reads it; a
 * diff_area only marks it.
 */
struct cbt_map {
	struct kref kref;
	u8 *write_map;
	u8 *read_map;
	sector_t capacity;
	unsigned int blk_shift;
	unsigned long blk_count;
	u8 snap_number_active;
	u8 snap_number_previous;
	uuid_t generation_id;
	uuid_t write_generation;
	bool is_corrupted;
	u8 *spare_write;
	u8 *spare_read;
	sector_t spare_capacity;
	unsigned int spare_shift;
	unsigned long spare_count;
	bool catch_up;
	u8 *retired[2];
	struct delayed_work catch_up_work;
};

struct cbt_map *cbt_map_create(sector_t capacity);
void cbt_map_get(struct cbt_map *map);
void cbt_map_put(struct cbt_map *map);
void cbt_map_mark(struct cbt_map *map, sector_t sector, sector_t count);
int cbt_map_mark_both(struct cbt_map *map, sector_t sector, sector_t count);
int cbt_map_switch_prepare(struct cbt_map *map, sector_t capacity);
int cbt_map_switch(struct cbt_map *map, sector_t capacity);
void cbt_map_switch_finish(struct cbt_map *map);
void cbt_map_switch_wait(struct cbt_map *map);
void cbt_map_invalidate(struct cbt_map *map);
unsigned int cbt_map_block_shift(sector_t capacity);

#endif /* BLKSNAP_CBT_MAP_H */
