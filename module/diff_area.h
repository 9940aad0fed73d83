/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_DIFF_AREA_H
#define BLKSNAP_DIFF_AREA_H

#include <linux/types.h>
#include <linux/kref.h>
#include <linux/xarray.h>
#include <linux/rwsem.h>
#include <linux/semaphore.h>
#include <linux/workqueue.h>
#include <linux/bio.h>
#include <linux/list.h>
#include <linux/spinlock.h>

struct tracker;
struct snapshot;
struct diff_storage;
struct gendisk;

#define DIFF_AREA_LOCKS 64

/**
 * struct diff_area - Copy-on-write state of one device of a taken snapshot,
 * and its image disk.
 * @kref: Held by the tracker while the snapshot is taken (dropped at
 *	DESTROY) and by the image disk once add_disk() succeeded (dropped by
 *	->free_disk, after its last opener closed it).  Module exit waits
 *	until every diff_area is freed.
 * @tracker: The original device's tracker (reference held).
 * @snapshot: The snapshot (reference held), for its storage and events.
 * @orig_bdev: The original device.
 * @dev_id: Its device number.
 * @capacity: Its size in sectors at TAKE; the image's size.
 * @chunk_shift: log2 of the chunk size in bytes.
 * @chunk_count: Number of chunks.
 * @chunks: Chunk number -> struct chunk, for copied chunks only (created
 *	when a chunk is first copied).  Changed under the chunk's lock.
 * @locks: Hashed chunk locks.  An origin write copying chunk N and an image
 *	write take lock N % DIFF_AREA_LOCKS for writing; an image read takes
 *	it for reading until its I/O has completed, so it never sees a chunk
 *	half-copied nor the origin changed under it.  A failed copy marks the
 *	snapshot corrupted before it releases the lock.
 * @nr_slots: Chunk buffers that may exist at once (in use or kept):
 *	COW_MEMORY_BYTES worth, at least one, at most chunk_maximum_in_queue
 *	(read at TAKE).
 * @cow_slots: Semaphore of @nr_slots: bounds the buffers in use at once
 *	(back-pressure).
 * @buf_lock: Protects @free_bufs and @nr_free.
 * @free_bufs: Chunk buffers kept for the next copy (struct cow_buf), so a
 *	copy does not allocate a page per 4 KiB; freed with the diff_area.
 * @nr_free: Number of buffers in @free_bufs: at most
 *	free_diff_buffer_pool_size (read at each release) and @nr_slots.
 * @error: 0, or the negative errno that corrupted this device's snapshot.
 *	Set once (cmpxchg); never cleared.
 * @dead: The snapshot was destroyed; image I/O fails.
 * @disk: The image disk, NULL until TAKE has created it.
 * @bio_lock: Protects @bios.
 * @bios: Image bios waiting for @image_work.
 * @image_work: Serves image bios outside the submitter's context.
 */
struct diff_area {
	struct kref kref;
	struct tracker *tracker;
	struct snapshot *snapshot;
	struct block_device *orig_bdev;
	dev_t dev_id;
	sector_t capacity;
	unsigned int chunk_shift;
	unsigned long chunk_count;
	struct xarray chunks;
	struct rw_semaphore locks[DIFF_AREA_LOCKS];
	unsigned int nr_slots;
	struct semaphore cow_slots;
	spinlock_t buf_lock;		/* protects @free_bufs, @nr_free */
	struct list_head free_bufs;
	unsigned int nr_free;
	int error;
	bool dead;
	struct gendisk *disk;
	spinlock_t bio_lock;		/* protects @bios */
	struct bio_list bios;
	struct work_struct image_work;
};

struct diff_area *diff_area_create(struct tracker *tracker,
				   struct snapshot *snapshot);
void diff_area_put(struct diff_area *da);
int diff_area_image_add(struct diff_area *da);
void diff_area_image_remove(struct diff_area *da);
void diff_area_set_corrupted(struct diff_area *da, int error);
bool diff_area_cow_needed(struct diff_area *da, sector_t sector,
			  sector_t count);
void diff_area_cow(struct diff_area *da, sector_t sector, sector_t count);
bool diff_area_task_in_cow(void);
int diff_area_init(void);
void diff_area_exit(void);

#endif /* BLKSNAP_DIFF_AREA_H */
