/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_DIFF_AREA_H
#define BLKSNAP_DIFF_AREA_H

#include <linux/types.h>
#include <linux/kref.h>
#include <linux/xarray.h>
#include <linux/rwsem.h>
#include <linux/semaphore.h>
#include <linux/list.h>
#include <linux/spinlock.h>

struct block_device;
struct cbt_map;
struct diff_storage;
struct event_queue;

#define DIFF_AREA_LOCKS 64

/**
 * struct diff_area - Copy-on-write state of one device of a taken snapshot.
 * @kref: References: the snapshot's (taken at TAKE, dropped at DESTROY)
 *	and the image's (dropped when the image disk is freed, after its
 *	last opener closed it).  Module exit waits until every diff_area is
 *	freed (diff_area_exit()).
 * @orig_bdev: The original device (pinned with get_device()).
 * @dev_id: Its device number, for events and messages.
 * @capacity: Its size in sectors at TAKE; the image's size.
 * @chunk_shift: log2 of the chunk size in bytes.
 * @chunk_count: Number of chunks.
 * @chunks: Chunk number -> struct copied_chunk, for copied chunks only
 *	(created when a chunk is first copied).  Changed under the chunk's
 *	lock.
 * @locks: Hashed chunk locks.  An origin write copying chunk N and an image
 *	write take lock N % DIFF_AREA_LOCKS for writing; an image read takes
 *	it for reading until its I/O has completed, so it never sees a chunk
 *	half-copied nor the original changed under it.  A failed copy marks
 *	the snapshot corrupted before it releases the lock.
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
 * @stopped: Copy-on-write stopped for good (the snapshot is being
 *	destroyed): set before writes to the original may pass without a
 *	copy, so image I/O that sees it afterwards fails.
 * @cbt_map: The device's CBT map (reference held): image writes mark it.
 * @storage: Where copies go (reference held).
 * @events: Where the corrupted event goes (reference held).
 * @nr_copied: Chunks copied so far (read by status.c).
 * @nr_storing: Chunk stores in flight (read by status.c).
 *
 * The diff_area knows neither its tracker nor its snapshot: it is given
 * what it works with at diff_area_create() and holds references on those
 * objects only.
 */
struct diff_area {
	struct kref kref;
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
	bool stopped;
	struct cbt_map *cbt_map;
	struct diff_storage *storage;
	struct event_queue *events;
	atomic_long_t nr_copied;
	atomic_t nr_storing;
};

/**
 * struct diff_area_writer - Marks a task writing to the difference storage.
 * @node: In the set of marked tasks.
 * @task: The task.
 *
 * Lives on the marked task's stack, between diff_area_writer_mark() and
 * diff_area_writer_unmark().
 */
struct diff_area_writer {
	struct hlist_node node;
	struct task_struct *task;
};

static inline sector_t diff_area_chunk_sectors(const struct diff_area *da)
{
	return 1ULL << (da->chunk_shift - SECTOR_SHIFT);
}

static inline unsigned long diff_area_chunk_nr(const struct diff_area *da,
					       sector_t sector)
{
	return sector >> (da->chunk_shift - SECTOR_SHIFT);
}

static inline struct rw_semaphore *diff_area_chunk_lock(struct diff_area *da,
							unsigned long nr)
{
	return &da->locks[nr % DIFF_AREA_LOCKS];
}

struct diff_area *diff_area_create(struct block_device *bdev,
				   struct cbt_map *cbt_map,
				   struct diff_storage *storage,
				   struct event_queue *events);
void diff_area_get(struct diff_area *da);
void diff_area_put(struct diff_area *da);
void diff_area_stop(struct diff_area *da);
bool diff_area_is_broken(struct diff_area *da);
void diff_area_set_corrupted(struct diff_area *da, int error);
bool diff_area_cow_needed(struct diff_area *da, sector_t sector,
			  sector_t count);
void diff_area_cow(struct diff_area *da, sector_t sector, sector_t count);
int diff_area_copy_chunk(struct diff_area *da, unsigned long nr);
bool diff_area_find_chunk(struct diff_area *da, unsigned long nr,
			  struct block_device **bdev, sector_t *sector);
void diff_area_writer_mark(struct diff_area_writer *w);
void diff_area_writer_unmark(struct diff_area_writer *w);
bool diff_area_task_in_cow(void);
int diff_area_init(void);
void diff_area_exit(void);

#endif /* BLKSNAP_DIFF_AREA_H */
