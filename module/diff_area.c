// SPDX-License-Identifier: GPL-2.0
/*
 * The copy-on-write engine of one device of a taken snapshot.
 *
 * The device is cut into chunks.  Before a write to the original device may
 * change a chunk that was not copied yet, the chunk's old data is read and
 * written to a region of the difference storage; only then does the write
 * go on.  The read of the old data is synchronous, in the writer's context
 * (or in the filter's worker for bios that arrive nested in another
 * driver); its store goes on without the writer (struct chunk_store), the
 * old data held in memory until it is stored.  Writers wait for a free
 * chunk buffer: that is the back-pressure.  A device's chunk buffers, in
 * use, being stored or kept for reuse, never take more than
 * COW_MEMORY_BYTES (or one chunk, if a chunk is larger) nor
 * chunk_maximum_in_queue chunks.
 * Chunk metadata (struct copied_chunk) exists only for copied chunks.
 *
 * The image disk (image.c) finds copied chunks here and takes the same
 * chunk locks.  Once the snapshot is corrupted or stopped, writes to the
 * original pass without a copy and without the chunk lock; image I/O
 * checks diff_area_is_broken() after its I/O for that reason.
 *
 * A task that writes to the difference storage for a copy is marked (see
 * diff_area_task_in_cow()): storage stacked on the snapshotted device
 * brings that write back to the filter, which must not copy again.
 *
 * The diff_area works with what diff_area_create() was given (the device,
 * its CBT map, the storage, the event queue) and calls nothing above it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/sched/mm.h>
#include <linux/hashtable.h>
#include <linux/rcupdate.h>
#include <linux/wait.h>
#include <linux/blksnap.h>
#include "blkfilter.h"
#include "diff_area.h"
#include "diff_storage.h"
#include "event_queue.h"
#include "cbt_map.h"
#include "params.h"
#include "status.h"

struct chunk_store;

/**
 * struct copied_chunk - Where a copied chunk's old data lives.
 * @bdev: Storage device of its region.
 * @sector: First sector of its region.
 * @store: The write of the old data into the region while it is in
 *	flight, else NULL.  Set under the chunk's lock held for writing,
 *	cleared by the store's completion (which takes no chunk lock).
 */
struct copied_chunk {
	struct block_device *bdev;
	sector_t sector;
	struct chunk_store *store;
};

/**
 * struct chunk_store - The write of a chunk's old data to its region, in
 * flight after the writer that caused the copy has gone on.
 * @work: Finishes a failed store, or drops what may be the last reference
 *	on @da, in process context (cow_wq); a store that succeeds while
 *	@da has other references finishes in its completion's context.
 * @done: Completed when the data is in the region (or the store failed
 *	and the snapshot is marked corrupted); image I/O of the chunk waits
 *	for it.
 * @ref: References: the store's own (dropped when it finishes) and one per
 *	waiter on @done.  The last put frees the struct after a grace
 *	period: a waiter finds the store through the chunk under RCU.
 * @pending: Bios of the store still in flight, plus one while submitting.
 * @error: The first bio error, as a negative errno.
 * @da: The diff_area (reference held until the store finishes).
 * @chunk: The chunk being stored.
 * @buf: The old data (a copy slot, given back when the store finishes).
 * @rcu: For the free.
 */
struct chunk_store {
	struct work_struct work;
	struct completion done;
	refcount_t ref;
	atomic_t pending;
	int error;
	struct diff_area *da;
	struct copied_chunk *chunk;
	struct cow_buf *buf;
	struct rcu_head rcu;
};

/* Finishes chunk stores; used for forward progress under memory pressure. */
static struct workqueue_struct *cow_wq;

/**
 * struct cow_buf - A chunk-sized buffer for one copy.
 * @link: In the diff_area's @free_bufs while unused.
 * @nr_pages: Pages in @pages: one chunk's worth.
 * @pages: The pages.
 */
struct cow_buf {
	struct list_head link;
	unsigned int nr_pages;
	struct page *pages[];
};

/*
 * Bytes of chunk buffers a diff_area may have at once, in use or kept for
 * reuse (one chunk at least): 16 chunks of 2 MiB, 1 chunk of 64 MiB.
 */
#define COW_MEMORY_BYTES (32ULL << 20)

/* Live diff_areas; module exit waits until there is none. */
static atomic_t nr_areas = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(nr_areas_wq);

/* The tasks marked by diff_area_writer_mark() (struct diff_area_writer). */
static DEFINE_SPINLOCK(writers_lock);	/* protects writers */
static DEFINE_HASHTABLE(writers, 6);
static atomic_t nr_writers = ATOMIC_INIT(0);

/*
 * The chunk size: chunk_minimum_shift, or the device's io_min / physical
 * block if larger, whatever the device's size.  Chunk metadata exists only
 * for copied chunks, so the number of chunks costs nothing; what a copy
 * costs is the chunk.  chunk_maximum_count (0 by default: no limit) is v3's
 * rule for an administrator who sets it: the chunk doubles while the device
 * has more chunks than that.  Both growths stop at chunk_maximum_shift.
 * Chunk numbers are unsigned long (xarray indices): 64 bits wide where
 * sector_t is; a 32-bit kernel grows the chunk until they fit.
 */
static unsigned int chunk_shift_for(struct block_device *bdev,
				    sector_t capacity)
{
	unsigned int min_shift = blksnap_param(chunk_minimum_shift);
	unsigned int max_shift = blksnap_param(chunk_maximum_shift);
	unsigned long max_count = blksnap_param(chunk_maximum_count);
	unsigned int unit = max(bdev_io_min(bdev),
				bdev_physical_block_size(bdev));
	unsigned int shift = max_t(unsigned int, min(min_shift, max_shift),
				   PAGE_SHIFT);

	while (shift < max_shift &&
	       ((1U << shift) < unit ||
		(max_count && DIV_ROUND_UP_SECTOR_T(capacity,
			1ULL << (shift - SECTOR_SHIFT)) > max_count)))
		shift++;
	while ((u64)(capacity >> (shift - SECTOR_SHIFT)) >= ULONG_MAX)
		shift++;
	return shift;
}

/**
 * diff_area_set_corrupted() - Give up the snapshot of this device.
 * @da: The device's diff_area.
 * @error: Why, as a negative errno.
 *
 * The first call records @error, sends one corrupted event and logs it.
 * From then on writes to the original pass without copy-on-write and every
 * image I/O fails; the original's data is never touched.
 *
 * Context: any.
 */
void diff_area_set_corrupted(struct diff_area *da, int error)
{
	struct blksnap_event_corrupted ev = {
		.dev_id_mj = MAJOR(da->dev_id),
		.dev_id_mn = MINOR(da->dev_id),
		.err_code = -error,
	};

	if (cmpxchg(&da->error, 0, error) != 0)
		return;
	trace_blksnap_corrupted(da->dev_id, error);
	pr_err("snapshot of %pg corrupted: error %d\n", da->orig_bdev, error);
	event_queue_push(da->events, blksnap_event_code_corrupted, &ev,
			 sizeof(ev));
}

/**
 * diff_area_stop() - Stop copy-on-write for good (snapshot destroyed).
 * @da: The diff_area.
 *
 * Called before the owner lets writes to the original pass without a copy
 * (before it unhooks @da from the device's filter), so that image I/O
 * completing afterwards sees diff_area_is_broken().
 *
 * Context: any.
 */
void diff_area_stop(struct diff_area *da)
{
	WRITE_ONCE(da->stopped, true);
	smp_mb();	/* stopped before the owner unhooks the diff_area */
}

/**
 * diff_area_is_broken() - Has copy-on-write stopped for @da?
 * @da: The diff_area.
 *
 * Corrupted or stopped: from then on writes to the original may go
 * through without a copy and without the chunk lock, so image I/O must
 * fail.
 *
 * Context: any.
 * Return: true if the image's content can no longer be trusted.
 */
bool diff_area_is_broken(struct diff_area *da)
{
	return READ_ONCE(da->error) || READ_ONCE(da->stopped);
}

/**
 * diff_area_writer_mark() - Mark the current task as writing to the
 * difference storage (see diff_area_task_in_cow()).
 * @w: The mark, on the caller's stack.
 *
 * Context: any.
 */
void diff_area_writer_mark(struct diff_area_writer *w)
{
	unsigned long flags;

	w->task = current;
	spin_lock_irqsave(&writers_lock, flags);
	hash_add(writers, &w->node, (unsigned long)current);
	atomic_inc(&nr_writers);
	spin_unlock_irqrestore(&writers_lock, flags);
}

/**
 * diff_area_writer_unmark() - Undo diff_area_writer_mark().
 * @w: The mark.
 *
 * Context: any.
 */
void diff_area_writer_unmark(struct diff_area_writer *w)
{
	unsigned long flags;

	spin_lock_irqsave(&writers_lock, flags);
	hash_del(&w->node);
	atomic_dec(&nr_writers);
	spin_unlock_irqrestore(&writers_lock, flags);
}

/**
 * diff_area_task_in_cow() - Is the current task writing to the difference
 * storage for a copy-on-write or an image write?
 *
 * Such a write reaches a snapshotted device again only when the storage is
 * stacked on it (e.g. dm-linear over the device, in the same task).  If it
 * needs a copy itself, copying would wait for the write being made (or
 * recurse without bound): the caller must give the snapshot up instead.
 * Only stacking that submits in the writer's own context is seen here.
 *
 * Context: any.
 * Return: true if the current task is marked.
 */
bool diff_area_task_in_cow(void)
{
	struct diff_area_writer *w;
	unsigned long flags;
	bool found = false;

	if (!atomic_read(&nr_writers))
		return false;
	spin_lock_irqsave(&writers_lock, flags);
	hash_for_each_possible(writers, w, node, (unsigned long)current)
		if (w->task == current)
			found = true;
	spin_unlock_irqrestore(&writers_lock, flags);
	return found;
}

/* Synchronous I/O of @pages to/from @bdev at @sector, @bytes long. */
static int chunk_io(struct block_device *bdev, sector_t sector,
		    struct page **pages, unsigned int bytes, blk_opf_t opf)
{
	unsigned int done = 0;
	int ret = 0;

	while (done < bytes && !ret) {
		unsigned int nr = min_t(unsigned int, BIO_MAX_VECS,
					DIV_ROUND_UP(bytes - done, PAGE_SIZE));
		struct bio *bio;
		unsigned int i;

		bio = bio_alloc_bioset(bdev, nr, opf, GFP_NOIO,
				       blkfilter_bio_set());
		bio->bi_iter.bi_sector = sector + (done >> SECTOR_SHIFT);
		for (i = 0; i < nr && done < bytes; i++) {
			unsigned int len = min_t(unsigned int, PAGE_SIZE,
						 bytes - done);

			__bio_add_page(bio, pages[done >> PAGE_SHIFT], len, 0);
			done += len;
		}
		ret = submit_bio_wait(bio);
		bio_put(bio);
	}
	return ret;
}

static void cow_buf_free(struct cow_buf *buf)
{
	unsigned int i;

	for (i = 0; i < buf->nr_pages && buf->pages[i]; i++)
		__free_page(buf->pages[i]);
	kvfree(buf);
}

/*
 * Take a chunk buffer: wait for one of the diff_area's copy slots, then
 * reuse a kept buffer or allocate one.  A buffer is allocated only when
 * none is kept, so buffers in use plus kept never exceed @nr_slots.
 * Context: memalloc_noio scope; may sleep.  Return: the buffer, or NULL
 * (slot released) without memory.
 */
static struct cow_buf *cow_buf_get(struct diff_area *da)
{
	unsigned int i, nr_pages = 1U << (da->chunk_shift - PAGE_SHIFT);
	struct cow_buf *buf;
	unsigned long flags;

	down(&da->cow_slots);
	spin_lock_irqsave(&da->buf_lock, flags);
	buf = list_first_entry_or_null(&da->free_bufs, struct cow_buf, link);
	if (buf) {
		list_del(&buf->link);
		da->nr_free--;
	}
	spin_unlock_irqrestore(&da->buf_lock, flags);
	if (buf)
		return buf;

	/* up to 16384 pointers for 64 MiB chunks; NOIO comes from the scope */
	buf = kvzalloc(struct_size(buf, pages, nr_pages), GFP_KERNEL);
	if (!buf)
		goto out_up;
	buf->nr_pages = nr_pages;
	for (i = 0; i < nr_pages; i++) {
		buf->pages[i] = alloc_page(GFP_NOIO);
		if (!buf->pages[i])
			goto out_free;
	}
	return buf;

out_free:
	cow_buf_free(buf);
out_up:
	up(&da->cow_slots);
	return NULL;
}

/*
 * Give back a buffer from cow_buf_get(): keep it if fewer than
 * free_diff_buffer_pool_size (and than the slots) are kept, else free it.
 * Context: any (kvfree defers a vmalloc'ed array's free in interrupts).
 */
static void cow_buf_put(struct diff_area *da, struct cow_buf *buf)
{
	unsigned int keep = min_t(unsigned int, da->nr_slots,
				  blksnap_param(free_diff_buffer_pool_size));
	unsigned long flags;

	spin_lock_irqsave(&da->buf_lock, flags);
	if (da->nr_free < keep) {
		list_add(&buf->link, &da->free_bufs);
		da->nr_free++;
		buf = NULL;
	}
	spin_unlock_irqrestore(&da->buf_lock, flags);
	if (buf)
		cow_buf_free(buf);
	up(&da->cow_slots);
}

static void chunk_store_put(struct chunk_store *st)
{
	if (refcount_dec_and_test(&st->ref))
		kfree_rcu(st, rcu);
}

/*
 * The old data is in its region (or the store failed): from now on image
 * I/O reads the region.  The buffer's copy slot is given back.
 * Context: any (a store's completion, hard irq included).
 */
static void chunk_store_finish(struct chunk_store *st)
{
	WRITE_ONCE(st->chunk->store, NULL);
	complete_all(&st->done);
	status_cow_stored(st->da);
	cow_buf_put(st->da, st->buf);
}

/*
 * A failed store marks the snapshot corrupted before the waiters are
 * released, so they see it; the last diff_area reference may be dropped
 * here (its release sleeps).
 */
static void chunk_store_work(struct work_struct *work)
{
	struct chunk_store *st = container_of(work, struct chunk_store, work);
	struct diff_area *da = st->da;

	if (st->error) {
		diff_area_set_corrupted(da, st->error);
		chunk_store_finish(st);
	}
	chunk_store_put(st);
	diff_area_put(da);
}

/*
 * The store's last bio is done (or its submission, whichever is last).  A
 * successful store finishes here, without a trip through cow_wq, unless
 * its diff_area reference may be the last one.
 * Context: any.
 */
static void chunk_store_done(struct chunk_store *st)
{
	if (!atomic_dec_and_test(&st->pending))
		return;
	if (!READ_ONCE(st->error)) {
		chunk_store_finish(st);
		/* a reference other than ours remains: not the release */
		if (refcount_dec_not_one(&st->da->kref.refcount)) {
			chunk_store_put(st);
			return;
		}
	}
	queue_work(cow_wq, &st->work);
}

static void chunk_store_endio(struct bio *bio)
{
	struct chunk_store *st = bio->bi_private;

	if (bio->bi_status)
		cmpxchg(&st->error, 0, blk_status_to_errno(bio->bi_status));
	bio_put(bio);
	chunk_store_done(st);
}

/*
 * Write @bytes of @st's buffer to its chunk's region without waiting.  The
 * task is marked while it submits (see diff_area_task_in_cow()).
 */
static void chunk_store_submit(struct chunk_store *st, unsigned int bytes)
{
	struct copied_chunk *chunk = st->chunk;
	struct diff_area_writer w;
	unsigned int done = 0;

	diff_area_writer_mark(&w);
	while (done < bytes) {
		unsigned int nr = min_t(unsigned int, BIO_MAX_VECS,
					DIV_ROUND_UP(bytes - done, PAGE_SIZE));
		struct bio *bio;
		unsigned int i;

		bio = bio_alloc_bioset(chunk->bdev, nr, REQ_OP_WRITE | REQ_SYNC,
				       GFP_NOIO, blkfilter_bio_set());
		bio->bi_iter.bi_sector = chunk->sector + (done >> SECTOR_SHIFT);
		for (i = 0; i < nr && done < bytes; i++) {
			unsigned int len = min_t(unsigned int, PAGE_SIZE,
						 bytes - done);

			__bio_add_page(bio, st->buf->pages[done >> PAGE_SHIFT],
				       len, 0);
			done += len;
		}
		bio->bi_private = st;
		bio->bi_end_io = chunk_store_endio;
		atomic_inc(&st->pending);
		submit_bio(bio);
	}
	diff_area_writer_unmark(&w);
	chunk_store_done(st);	/* the submission's own count */
}

/**
 * diff_area_copy_chunk() - Copy chunk @nr to a new region of the storage.
 * @da: The diff_area.
 * @nr: A chunk not copied yet.
 *
 * Returns once the chunk's old data is read into memory and its region
 * allocated: the original may be overwritten from then on.  The write of
 * the old data into the region goes on without the caller (struct
 * chunk_store); diff_area_find_chunk() waits for it.  The buffer counts
 * against the copy slots until the store finishes, so writers are held
 * back when COW_MEMORY_BYTES of old data are on their way.
 *
 * Context: the chunk's lock held for writing, memalloc_noio scope; may
 * sleep.
 * Return: 0 or a negative errno (the caller marks the snapshot corrupted).
 */
int diff_area_copy_chunk(struct diff_area *da, unsigned long nr)
{
	sector_t start = (sector_t)nr << (da->chunk_shift - SECTOR_SHIFT);
	u64 start_ns = ktime_get_ns();
	struct copied_chunk *chunk;
	struct chunk_store *st;
	struct cow_buf *buf;
	unsigned int bytes;
	int ret;

	lockdep_assert_held_write(diff_area_chunk_lock(da, nr));
	bytes = min_t(sector_t, diff_area_chunk_sectors(da), da->capacity - start)
		<< SECTOR_SHIFT;

	chunk = kzalloc(sizeof(*chunk), GFP_NOIO);
	if (!chunk)
		return -ENOMEM;
	st = kzalloc(sizeof(*st), GFP_NOIO);
	if (!st) {
		ret = -ENOMEM;
		goto out_free_chunk;
	}
	buf = cow_buf_get(da);
	if (!buf) {
		ret = -ENOMEM;
		goto out_free_store;
	}
	ret = chunk_io(da->orig_bdev, start, buf->pages, bytes, REQ_OP_READ);
	if (ret)
		goto out_put_buf;
	ret = diff_storage_alloc(da->storage, diff_area_chunk_sectors(da),
				 bdev_logical_block_size(da->orig_bdev),
				 &chunk->bdev, &chunk->sector);
	if (ret)
		goto out_put_buf;
	INIT_WORK(&st->work, chunk_store_work);
	init_completion(&st->done);
	refcount_set(&st->ref, 1);
	atomic_set(&st->pending, 1);
	diff_area_get(da);
	st->da = da;
	st->chunk = chunk;
	st->buf = buf;
	chunk->store = st;
	ret = xa_err(xa_store(&da->chunks, nr, chunk, GFP_NOIO));
	if (ret) {
		diff_area_put(da);
		goto out_put_buf;
	}
	/* the writer goes on; the old data stays in @buf until stored */
	status_cow_copied(da, nr, bytes, start_ns);
	chunk_store_submit(st, bytes);
	return 0;

out_put_buf:
	cow_buf_put(da, buf);
out_free_store:
	kfree(st);
out_free_chunk:
	kfree(chunk);
	return ret;
}

/**
 * diff_area_cow_needed() - Does a write need copy-on-write?
 * @da: The device's diff_area.
 * @sector: First sector written (device-relative).
 * @count: Number of sectors.
 *
 * A racy hint for the fast path: false only if the snapshot is broken or
 * every chunk touched is already copied (copies are never undone).
 *
 * Context: any.
 * Return: true if diff_area_cow() has work to do for this write.
 */
bool diff_area_cow_needed(struct diff_area *da, sector_t sector,
			  sector_t count)
{
	unsigned long nr, last;

	if (READ_ONCE(da->error) || !count)
		return false;
	nr = sector >> (da->chunk_shift - SECTOR_SHIFT);
	last = (sector + count - 1) >> (da->chunk_shift - SECTOR_SHIFT);
	for (; nr <= last; nr++)
		if (nr >= da->chunk_count || !xa_load(&da->chunks, nr))
			return true;
	return false;
}

/**
 * diff_area_cow() - Save the old data of every chunk a write will change.
 * @da: The device's diff_area.
 * @sector: First sector written (device-relative).
 * @count: Number of sectors.
 *
 * Returns when every chunk touched is safe in the difference storage, or
 * when the snapshot of this device has been marked corrupted.  Either way
 * the caller lets the write go on: the original device always wins.  A
 * failed copy marks the snapshot corrupted before the chunk's lock is
 * released, so an image read waiting for that lock sees the error.
 *
 * Context: may sleep; not inside another driver's submit_bio.
 */
void diff_area_cow(struct diff_area *da, sector_t sector, sector_t count)
{
	struct blk_plug *plug = current->plug;
	unsigned int noio;
	unsigned long nr, last;
	int ret = 0;

	/*
	 * The submitter's plug: what it holds goes now, and the copy's reads
	 * and stores are issued from here rather than from kblockd when this
	 * task sleeps.  Emptied first, so no request of the submitter's keeps
	 * a tag the copy waits for; the submitter gets its plug back.
	 */
	if (plug)
		blk_finish_plug(plug);
	noio = memalloc_noio_save();

	nr = sector >> (da->chunk_shift - SECTOR_SHIFT);
	last = (sector + count - 1) >> (da->chunk_shift - SECTOR_SHIFT);
	if (last >= da->chunk_count) {
		/* the device grew after TAKE */
		diff_area_set_corrupted(da, -EINVAL);
		goto out;
	}
	for (; nr <= last && !ret && !READ_ONCE(da->error); nr++) {
		down_write(diff_area_chunk_lock(da, nr));
		if (!xa_load(&da->chunks, nr))
			ret = diff_area_copy_chunk(da, nr);
		if (ret)
			diff_area_set_corrupted(da, ret);
		up_write(diff_area_chunk_lock(da, nr));
	}
out:
	memalloc_noio_restore(noio);
	if (plug)
		blk_start_plug(plug);
}

/**
 * diff_area_find_chunk() - Where a copied chunk lives, once it is there.
 * @da: The diff_area.
 * @nr: Chunk number.
 * @bdev: Receives the storage device of its region.
 * @sector: Receives the first sector of its region.
 *
 * Waits while the chunk's store is in flight (its completion takes no
 * chunk lock), so the region holds the old data when this returns; if the
 * store failed, the snapshot is marked corrupted by then.
 *
 * Context: the chunk's lock held (either way; the image's read path holds
 * it as a non-owner, which lockdep does not see, so nothing is asserted);
 * may sleep.
 * Return: false if the chunk has not been copied.
 */
bool diff_area_find_chunk(struct diff_area *da, unsigned long nr,
			  struct block_device **bdev, sector_t *sector)
{
	struct copied_chunk *chunk = xa_load(&da->chunks, nr);
	struct chunk_store *st;

	if (!chunk)
		return false;
	/* the store may finish and be put meanwhile: freed after a grace period */
	rcu_read_lock();
	st = READ_ONCE(chunk->store);
	if (st && !refcount_inc_not_zero(&st->ref))
		st = NULL;
	rcu_read_unlock();
	if (st) {
		wait_for_completion(&st->done);	/* the data is in the region */
		chunk_store_put(st);
	}
	*bdev = chunk->bdev;
	*sector = chunk->sector;
	return true;
}

/**
 * diff_area_create() - Set up copy-on-write for a device at TAKE.
 * @bdev: The device (pinned until the diff_area is freed).
 * @cbt_map: Its CBT map, marked by image writes (a reference is taken).
 * @storage: Where copies go (a reference is taken).
 * @events: Where the corrupted event goes (a reference is taken).
 *
 * Allocates nothing proportional to the device's size.
 * Context: may sleep.
 * Return: the diff_area with one reference held by the caller, or an
 * ERR_PTR.
 */
struct diff_area *diff_area_create(struct block_device *bdev,
				   struct cbt_map *cbt_map,
				   struct diff_storage *storage,
				   struct event_queue *events)
{
	struct diff_area *da;
	int i;

	da = kzalloc(sizeof(*da), GFP_KERNEL);
	if (!da)
		return ERR_PTR(-ENOMEM);
	kref_init(&da->kref);
	da->orig_bdev = bdev;
	get_device(&bdev->bd_device);
	cbt_map_get(cbt_map);
	da->cbt_map = cbt_map;
	diff_storage_get(storage);
	da->storage = storage;
	event_queue_get(events);
	da->events = events;
	da->dev_id = bdev->bd_dev;
	da->capacity = bdev_nr_sectors(bdev);
	da->chunk_shift = chunk_shift_for(bdev, da->capacity);
	da->chunk_count = DIV_ROUND_UP_SECTOR_T(da->capacity,
						diff_area_chunk_sectors(da));
	xa_init(&da->chunks);
	for (i = 0; i < DIFF_AREA_LOCKS; i++)
		init_rwsem(&da->locks[i]);
	da->nr_slots = clamp_t(u64, COW_MEMORY_BYTES >> da->chunk_shift, 1,
			       blksnap_param(chunk_maximum_in_queue));
	sema_init(&da->cow_slots, da->nr_slots);
	spin_lock_init(&da->buf_lock);
	INIT_LIST_HEAD(&da->free_bufs);
	atomic_inc(&nr_areas);
	pr_debug("%pg: %lu chunks of %u bytes, %u buffers\n", bdev,
		 da->chunk_count, 1U << da->chunk_shift, da->nr_slots);
	return da;
}

/**
 * diff_area_get() - Take a reference on a diff_area.
 * @da: A diff_area the caller holds a reference on.
 */
void diff_area_get(struct diff_area *da)
{
	kref_get(&da->kref);
}

static void diff_area_release(struct kref *kref)
{
	struct diff_area *da = container_of(kref, struct diff_area, kref);
	struct cow_buf *buf, *tmp;
	struct copied_chunk *chunk;
	unsigned long nr;

	list_for_each_entry_safe(buf, tmp, &da->free_bufs, link)
		cow_buf_free(buf);
	xa_for_each(&da->chunks, nr, chunk)
		kfree(chunk);
	xa_destroy(&da->chunks);
	event_queue_put(da->events);
	diff_storage_put(da->storage);
	cbt_map_put(da->cbt_map);
	put_device(&da->orig_bdev->bd_device);
	kfree(da);
	if (atomic_dec_and_test(&nr_areas))
		wake_up_all(&nr_areas_wq);
}

/**
 * diff_area_put() - Drop a diff_area reference.
 * @da: The diff_area.
 *
 * Context: may sleep (the last put may close storage devices).
 */
void diff_area_put(struct diff_area *da)
{
	kref_put(&da->kref, diff_area_release);
}

/**
 * diff_area_init() - Create the workqueue that finishes chunk stores.
 *
 * Context: module init; may sleep.
 * Return: 0 or -ENOMEM.
 */
int diff_area_init(void)
{
	cow_wq = alloc_workqueue("blksnap-cow", WQ_MEM_RECLAIM | BLKSNAP_WQ_PERCPU,
				 0);
	return cow_wq ? 0 : -ENOMEM;
}

/**
 * diff_area_exit() - Wait until the last diff_area is freed.
 *
 * Every snapshot is destroyed and no image is open (an open image holds a
 * module reference), but the block layer drops that reference before the
 * disk's last put: the closer may still be freeing a diff_area (and with
 * it the storage) in the image's ->free_disk.  Wait for the count, then
 * for a tasks RCU grace period, so that the last freer has also returned
 * out of this module's text.
 *
 * Context: module exit; may sleep.
 */
void diff_area_exit(void)
{
	while (!wait_event_timeout(nr_areas_wq, !atomic_read(&nr_areas),
				   10 * HZ))
		pr_warn("unload waits for %d snapshot device(s) to be released\n",
			atomic_read(&nr_areas));
	synchronize_rcu_tasks();
	destroy_workqueue(cow_wq);
}
