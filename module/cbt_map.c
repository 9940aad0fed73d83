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
 * Two zeroed maps for @capacity, with their block size and count.  The
 * caller may hold a frozen file system or filter, so the allocation must
 * not recurse into I/O.
 */
static int cbt_map_alloc(sector_t capacity, unsigned int *shift,
			 unsigned long *count, u8 **write_map, u8 **read_map)
{
	unsigned long size;
	unsigned int noio;

	*shift = cbt_map_block_shift(capacity);
	*count = DIV_ROUND_UP_SECTOR_T(capacity,
				       1ULL << (*shift - SECTOR_SHIFT));
	if (!*count)
		*count = 1;
	/* whole words, for the catch-up (see cbt_map_raise_to()) */
	size = round_up(*count, sizeof(long));
	noio = memalloc_noio_save();
	*write_map = vzalloc(size);
	*read_map = vzalloc(size);
	memalloc_noio_restore(noio);
	if (!*write_map || !*read_map) {
		vfree(*write_map);
		vfree(*read_map);
		*write_map = NULL;
		*read_map = NULL;
		return -ENOMEM;
	}
	return 0;
}

/*
 * Install the zeroed maps @write_map and @read_map of @count blocks of
 * 2^@shift bytes for @capacity: numbers back to the start and a new
 * generation.  The maps replaced go to *@old (two slots) when @old is
 * given, else they are freed.
 */
static void cbt_map_install(struct cbt_map *map, sector_t capacity,
			    unsigned int shift, unsigned long count,
			    u8 *write_map, u8 *read_map, u8 **old)
{
	if (old) {
		old[0] = map->write_map;
		old[1] = map->read_map;
	} else {
		cbt_map_free_maps(map);
	}
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
}

/* (Re)build both maps for @capacity, allocating them (see above). */
static int cbt_map_reset(struct cbt_map *map, sector_t capacity, u8 **old)
{
	unsigned long count;
	unsigned int shift;
	u8 *write_map, *read_map;
	int ret;

	ret = cbt_map_alloc(capacity, &shift, &count, &write_map, &read_map);
	if (ret)
		return ret;
	cbt_map_install(map, capacity, shift, count, write_map, read_map, old);
	return 0;
}

/* The bytewise maximum of two words of map bytes. */
static unsigned long cbt_map_max_bytes(unsigned long a, unsigned long b)
{
	unsigned long r = 0, x, y;
	unsigned int i;

	for (i = 0; i < BITS_PER_LONG; i += 8) {
		x = (a >> i) & 0xff;
		y = (b >> i) & 0xff;
		r |= max(x, y) << i;
	}
	return r;
}

/*
 * Raise every byte of @w to at least its byte in @r, word by word, while
 * marks may raise bytes of @w concurrently: a word that differs is
 * replaced by the bytewise maximum with a compare-and-exchange, retried
 * when a mark changed the word in between, so no mark is lost.  The maps
 * are allocated in whole words and the bytes past blk_count stay zero, so
 * the last word may run past blk_count.
 */
static void cbt_map_raise_to(u8 *w, const u8 *r, unsigned long count)
{
	unsigned long *wl = (unsigned long *)w;
	const unsigned long *rl = (const unsigned long *)r;
	unsigned long i, n = DIV_ROUND_UP(count, sizeof(long));
	unsigned long old, new;

	for (i = 0; i < n; i++) {
		old = READ_ONCE(wl[i]);
		if (old == rl[i])
			continue;
		do {
			new = cbt_map_max_bytes(old, rl[i]);
		} while (new != old && !try_cmpxchg(&wl[i], &old, new));
		if (!(i & 0xffff))
			cond_resched();
	}
}

static void cbt_map_catch_up_work(struct work_struct *work)
{
	struct cbt_map *map = container_of(to_delayed_work(work),
					   struct cbt_map, catch_up_work);

	if (map->catch_up)
		cbt_map_raise_to(map->write_map, map->read_map,
				 map->blk_count);
	map->catch_up = false;
	vfree(map->retired[0]);
	vfree(map->retired[1]);
	map->retired[0] = NULL;
	map->retired[1] = NULL;
	cbt_map_put(map);
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

	ret = cbt_map_reset(map, capacity, NULL);
	if (ret) {
		kfree(map);
		return ERR_PTR(ret);
	}
	kref_init(&map->kref);
	INIT_DELAYED_WORK(&map->catch_up_work, cbt_map_catch_up_work);
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

static void cbt_map_free_spares(struct cbt_map *map)
{
	vfree(map->spare_write);
	vfree(map->spare_read);
	map->spare_write = NULL;
	map->spare_read = NULL;
}

static void cbt_map_release(struct kref *kref)
{
	struct cbt_map *map = container_of(kref, struct cbt_map, kref);

	/* a queued catch-up holds a reference: none is pending here */
	cbt_map_free_maps(map);
	cbt_map_free_spares(map);
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

static bool cbt_map_must_rebuild(struct cbt_map *map, sector_t capacity)
{
	return READ_ONCE(map->is_corrupted) || capacity != map->capacity;
}

/*
 * The next switch cannot reuse the read map as the write map as it is: at
 * the wrap past 255 the write map starts empty, and at the switch after
 * it the read map holds the old generation's numbers, which the new
 * generation's write map must not inherit (the catch-up only raises).
 */
static bool cbt_map_needs_clean_write(struct cbt_map *map)
{
	return map->snap_number_active == U8_MAX ||
	       !uuid_equal(&map->generation_id, &map->write_generation);
}

/**
 * cbt_map_switch_prepare() - Make the next switch allocate and copy nothing.
 * @map: The device's map.
 * @capacity: The device's current size in sectors.
 *
 * Waits for the catch-up of the previous switch, then allocates what the
 * next cbt_map_switch() will need if that switch rebuilds the map (two
 * zeroed maps for @capacity) or wraps past 255 or is the first one after
 * the wrap (a zeroed write map), so
 * that the switch, inside the caller's frozen window, only swaps pointers.
 * If the state changes before the switch (a write past the end, a media
 * change), the switch still does the right thing, allocating then.
 *
 * Context: the owner's lock held, the filter not frozen; may sleep.
 * Return: 0, or -ENOMEM (nothing changed).
 */
int cbt_map_switch_prepare(struct cbt_map *map, sector_t capacity)
{
	unsigned long count;
	unsigned int shift;
	int ret;

	flush_delayed_work(&map->catch_up_work);
	if (cbt_map_must_rebuild(map, capacity)) {
		if (map->spare_read && map->spare_capacity == capacity)
			return 0;
		cbt_map_free_spares(map);
		ret = cbt_map_alloc(capacity, &shift, &count, &map->spare_write,
				    &map->spare_read);
		if (ret)
			return ret;
		map->spare_capacity = capacity;
		map->spare_shift = shift;
		map->spare_count = count;
	} else if (cbt_map_needs_clean_write(map) && !map->spare_write) {
		unsigned int noio = memalloc_noio_save();

		map->spare_write = vzalloc(round_up(map->blk_count,
						    sizeof(long)));
		memalloc_noio_restore(noio);
		if (!map->spare_write)
			return -ENOMEM;
		map->spare_count = map->blk_count;
	}
	return 0;
}

/**
 * cbt_map_switch() - Start a new change number (at snapshot TAKE).
 * @map: The device's map.
 * @capacity: The device's current size in sectors.
 *
 * If the map is corrupted or the device changed size, the map is rebuilt
 * first (new block size and generation).  Then the active number becomes
 * the previous one, and the write map becomes the read map, published
 * with the write map's generation.  The old read map becomes the write
 * map: it lacks the writes since the previous switch, which
 * cbt_map_switch_finish() brings over once writes run again.  So the
 * switch costs the same on any device size: two pointers change hands.
 * The read map is exact at once; the write map is only ever read by the
 * next switch, which waits for the catch-up first, and a mark meanwhile
 * raises its byte above anything the catch-up writes.
 *
 * Wrap-around: the switch that hands out 255 publishes it under the current
 * generation, so an agent that saved N < 255 still copies exactly the
 * blocks above N.  The write map then starts over at 1 under a new
 * generation, which the next switch publishes: an agent sees a changed
 * generation there and takes a full backup.  The numbers an agent sees
 * within one generation therefore only ever grow.
 *
 * The switch that wraps, and the one after it (whose old read map holds
 * the old generation's numbers), take a zeroed write map instead of the
 * old read map.  Without a cbt_map_switch_prepare() that foresaw it, a
 * rebuild allocates here and those two clear the old read map here.
 *
 * Context: the owner's lock held and the device's filter frozen; may sleep
 * (only when a rebuild or a wrap was not prepared for).  The caller calls
 * cbt_map_switch_finish() after unfreezing the filter.
 * Return: 0, or -ENOMEM when a rebuild could not allocate (the map is
 * unchanged then).
 */
int cbt_map_switch(struct cbt_map *map, sector_t capacity)
{
	u8 *old_read;
	int ret;

	flush_delayed_work(&map->catch_up_work);	/* done by the prepare */
	if (cbt_map_must_rebuild(map, capacity)) {
		pr_info("CBT map rebuilt: %s\n", READ_ONCE(map->is_corrupted) ?
			"device changed or written past its end" :
			"device size changed");
		if (map->spare_read && map->spare_capacity == capacity) {
			cbt_map_install(map, capacity, map->spare_shift,
					map->spare_count, map->spare_write,
					map->spare_read, map->retired);
			map->spare_write = NULL;
			map->spare_read = NULL;
		} else {
			ret = cbt_map_reset(map, capacity, map->retired);
			if (ret)
				return ret;
		}
	}

	map->snap_number_previous = map->snap_number_active;
	old_read = map->read_map;
	map->read_map = map->write_map;
	if (cbt_map_needs_clean_write(map)) {
		if (map->spare_write && map->spare_count == map->blk_count) {
			map->write_map = map->spare_write;
			map->spare_write = NULL;
			map->retired[0] = old_read;
		} else {
			memset(old_read, 0, map->blk_count);
			map->write_map = old_read;
		}
	} else {
		map->write_map = old_read;
	}
	map->generation_id = map->write_generation;
	if (map->snap_number_active == U8_MAX) {
		/* Past 255 the numbers cannot be told apart: new history. */
		map->snap_number_active = 1;
		uuid_gen(&map->write_generation);
	} else {
		map->catch_up = true;
		map->snap_number_active++;
	}
	return 0;
}

/**
 * cbt_map_switch_finish() - Bring the write map up to date after a switch.
 * @map: The device's map.
 *
 * Queues the catch-up of the write map (and the release of the maps the
 * switch replaced) to a worker: it runs after the caller's frozen window,
 * concurrently with marks, and the next switch waits for it.
 *
 * Context: the device's filter no longer frozen; does not sleep.
 */
void cbt_map_switch_finish(struct cbt_map *map)
{
	if (!map->catch_up && !map->retired[0] && !map->retired[1])
		return;
	/*
	 * A tick later: the TAKE that switched returns first (on a single
	 * CPU the worker would otherwise run inside the ioctl); the next
	 * switch and the owner's release flush it at once.
	 */
	cbt_map_get(map);
	if (!queue_delayed_work(system_unbound_wq, &map->catch_up_work, 1))
		cbt_map_put(map);	/* already queued: it holds one */
}

/**
 * cbt_map_switch_wait() - Wait for the catch-up of the last switch.
 * @map: The device's map.
 *
 * For the owner before it drops its reference for good: no catch-up runs
 * module code after that.
 *
 * Context: may sleep.
 */
void cbt_map_switch_wait(struct cbt_map *map)
{
	flush_delayed_work(&map->catch_up_work);
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
