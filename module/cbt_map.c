// SPDX-License-Identifier: GPL-2.0
/*
 * The change-block-tracking map.
 *
 * One byte per block holds the change number under which the block was last
 * written.  A backup agent that saved generation G and change number N
 * copies, next time, exactly the blocks whose byte in the read map is
 * greater than N, provided the generation is still G.  The one error that
 * must never happen is a written block whose byte is not raised before the
 * write reaches the device: tracker_submit_bio() marks before it lets the
 * bio pass.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/vmalloc.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>
#include <linux/log2.h>
#include "cbt_map.h"
#include "params.h"

/**
 * cbt_map_block_shift() - Choose the CBT block size for a device.
 * @capacity: Device size in sectors.
 *
 * Start from the minimum block size and double it while the map would have
 * more than tracking_block_maximum_count blocks, but never beyond the
 * maximum block size; above that the count may exceed the target.
 *
 * Return: log2 of the block size in bytes.
 */
unsigned int cbt_map_block_shift(sector_t capacity)
{
	unsigned int min_shift = blksnap_param(tracking_block_minimum_shift);
	unsigned int max_shift = blksnap_param(tracking_block_maximum_shift);
	unsigned long max_count = blksnap_param(tracking_block_maximum_count);
	unsigned int shift = min(min_shift, max_shift);

	while (shift < max_shift &&
	       DIV_ROUND_UP_SECTOR_T(capacity, 1ULL << (shift - SECTOR_SHIFT)) >
	       max_count)
		shift++;
	return shift;
}

static void cbt_map_free_maps(struct cbt_map *map)
{
	vfree(map->write_map);
	vfree(map->read_map);
	map->write_map = NULL;
	map->read_map = NULL;
}

/*
 * (Re)build both maps for @capacity: new block size, zeroed maps, numbers
 * back to the start and a new generation.  The caller may hold a frozen
 * file system or filter, so the allocation must not recurse into I/O.
 */
static int cbt_map_reset(struct cbt_map *map, sector_t capacity)
{
	unsigned int shift = cbt_map_block_shift(capacity);
	unsigned long count;
	unsigned int noio;
	u8 *write_map, *read_map;

	count = DIV_ROUND_UP_SECTOR_T(capacity, 1ULL << (shift - SECTOR_SHIFT));
	if (!count)
		count = 1;

	noio = memalloc_noio_save();
	write_map = vzalloc(count);
	read_map = vzalloc(count);
	memalloc_noio_restore(noio);
	if (!write_map || !read_map) {
		vfree(write_map);
		vfree(read_map);
		return -ENOMEM;
	}

	cbt_map_free_maps(map);
	map->write_map = write_map;
	map->read_map = read_map;
	map->capacity = capacity;
	map->blk_shift = shift;
	map->blk_count = count;
	map->snap_number_active = 1;
	map->snap_number_previous = 0;
	uuid_gen(&map->generation_id);
	map->write_generation = map->generation_id;
	WRITE_ONCE(map->is_corrupted, false);
	return 0;
}

/**
 * cbt_map_create() - Allocate the CBT of a device being attached.
 * @capacity: Device size in sectors.
 *
 * Context: may sleep; allocates with I/O forbidden.
 * Return: the map with one reference held by the caller, or an
 * ERR_PTR(-ENOMEM).
 */
struct cbt_map *cbt_map_create(sector_t capacity)
{
	struct cbt_map *map;
	unsigned int noio;
	int ret;

	noio = memalloc_noio_save();
	map = kzalloc(sizeof(*map), GFP_KERNEL);
	memalloc_noio_restore(noio);
	if (!map)
		return ERR_PTR(-ENOMEM);

	ret = cbt_map_reset(map, capacity);
	if (ret) {
		kfree(map);
		return ERR_PTR(ret);
	}
	kref_init(&map->kref);
	pr_debug("CBT map: %llu sectors, block %u bytes, %lu blocks\n",
		 (unsigned long long)capacity, 1U << map->blk_shift,
		 map->blk_count);
	return map;
}

/**
 * cbt_map_get() - Take a reference on a map.
 * @map: A map the caller holds a reference on.
 */
void cbt_map_get(struct cbt_map *map)
{
	kref_get(&map->kref);
}

static void cbt_map_release(struct kref *kref)
{
	struct cbt_map *map = container_of(kref, struct cbt_map, kref);

	cbt_map_free_maps(map);
	kfree(map);
}

/**
 * cbt_map_put() - Drop a reference; the last one frees the map.
 * @map: The map.
 *
 * Context: may sleep (vfree).
 */
void cbt_map_put(struct cbt_map *map)
{
	kref_put(&map->kref, cbt_map_release);
}

/*
 * Blocks [*first, *last] touched by sectors [sector, sector + count).
 * Return: false if the range runs past the end of the map (the part that
 * fits is still returned, clipped).
 */
static bool cbt_map_blocks(const struct cbt_map *map, sector_t sector,
			   sector_t count, unsigned long *first,
			   unsigned long *last)
{
	unsigned int shift = map->blk_shift - SECTOR_SHIFT;
	sector_t end = sector + count - 1;
	bool fits = true;

	if (end < sector)		/* wrapped */
		end = (sector_t)-1;
	if ((end >> shift) >= map->blk_count) {
		fits = false;
		end = ((sector_t)map->blk_count << shift) - 1;
	}
	*first = sector >> shift;
	*last = end >> shift;
	return fits;
}

static void cbt_map_raise(u8 *bytes, unsigned long first, unsigned long last,
			  u8 number)
{
	unsigned long i;

	for (i = first; i <= last; i++)
		if (READ_ONCE(bytes[i]) < number)
			WRITE_ONCE(bytes[i], number);
}

/**
 * cbt_map_mark() - Record a write to the device in the live map.
 * @map: The device's map.
 * @sector: First sector written, relative to the device.
 * @count: Number of sectors; 0 marks nothing.
 *
 * A write that reaches past the map (the device grew) marks what fits and
 * flags the map corrupted, so the next switch starts a new generation.
 *
 * Context: any, including the bio submission path; does not sleep or lock.
 */
void cbt_map_mark(struct cbt_map *map, sector_t sector, sector_t count)
{
	unsigned long first, last;

	if (!count)
		return;
	if (!cbt_map_blocks(map, sector, count, &first, &last)) {
		if (!READ_ONCE(map->is_corrupted))
			pr_warn("write past the end of the CBT map: device resized? A new CBT generation starts at the next snapshot\n");
		WRITE_ONCE(map->is_corrupted, true);
		if (first >= map->blk_count)
			return;
	}
	cbt_map_raise(map->write_map, first, last, map->snap_number_active);
}

/**
 * cbt_map_mark_both() - Mark blocks changed in both maps.
 * @map: The device's map.
 * @sector: First sector, relative to the device.
 * @count: Number of sectors; 0 marks nothing.
 *
 * The read map gets the previous number (the blocks count as changed for
 * the backup in progress), the write map the active one (the next backup
 * copies them again).  Used by cbtdirty and by writes to a snapshot image.
 *
 * Context: any; does not sleep.
 * Return: 0, or -EINVAL (and nothing marked) if the range runs past the end.
 */
int cbt_map_mark_both(struct cbt_map *map, sector_t sector, sector_t count)
{
	unsigned long first, last;

	if (!count)
		return 0;
	if (!cbt_map_blocks(map, sector, count, &first, &last))
		return -EINVAL;
	cbt_map_raise(map->read_map, first, last, map->snap_number_previous);
	cbt_map_raise(map->write_map, first, last, map->snap_number_active);
	return 0;
}

/**
 * cbt_map_switch() - Start a new change number (at snapshot TAKE).
 * @map: The device's map.
 * @capacity: The device's current size in sectors.
 *
 * If the map is corrupted or the device changed size, the map is rebuilt
 * first (new block size and generation).  Then the active number becomes
 * the previous one and the read map a copy of the write map, published
 * with the write map's generation.
 *
 * Wrap-around: the switch that hands out 255 publishes it under the current
 * generation, so an agent that saved N < 255 still copies exactly the
 * blocks above N.  The write map then starts over at 1 under a new
 * generation, which the next switch publishes: an agent sees a changed
 * generation there and takes a full backup.  The numbers an agent sees
 * within one generation therefore only ever grow.
 *
 * Context: the owner's lock held and the device's filter frozen; may sleep.
 * Return: 0, or -ENOMEM when a rebuild could not allocate (the map is
 * unchanged then).
 */
int cbt_map_switch(struct cbt_map *map, sector_t capacity)
{
	int ret;

	if (READ_ONCE(map->is_corrupted) || capacity != map->capacity) {
		pr_info("CBT map rebuilt: %s\n", READ_ONCE(map->is_corrupted) ?
			"device changed or written past its end" :
			"device size changed");
		ret = cbt_map_reset(map, capacity);
		if (ret)
			return ret;
	}

	map->snap_number_previous = map->snap_number_active;
	memcpy(map->read_map, map->write_map, map->blk_count);
	map->generation_id = map->write_generation;
	if (map->snap_number_active == U8_MAX) {
		/* Past 255 the numbers cannot be told apart: new history. */
		memset(map->write_map, 0, map->blk_count);
		map->snap_number_active = 1;
		uuid_gen(&map->write_generation);
	} else {
		map->snap_number_active++;
	}
	return 0;
}

/**
 * cbt_map_invalidate() - Throw the history away at the next switch.
 * @map: The device's map.
 *
 * For a device whose content changed without writes through the filter
 * (new media, a different backing file or table): the next switch
 * rebuilds the map under a new generation, so no incremental backup is
 * based on blocks of the old content.
 *
 * Context: any; does not sleep.
 */
void cbt_map_invalidate(struct cbt_map *map)
{
	WRITE_ONCE(map->is_corrupted, true);
}
