// SPDX-License-Identifier: GPL-2.0
/*
 * The copy-on-write engine and the snapshot image disk of one device.
 *
 * The device is cut into chunks.  Before a write to the original device may
 * change a chunk that was not copied yet, the chunk's old data is read and
 * written to a region of the difference storage; only then does the write
 * go on.  The copy is synchronous, in the writer's context (or in the
 * filter's worker for bios that arrive nested in another driver), so the
 * writer waits for it: that is the back-pressure.  A device's chunk
 * buffers, in use or kept for reuse, never take more than COW_MEMORY_BYTES
 * (or one chunk, if a chunk is larger) nor chunk_maximum_in_queue chunks.
 * Chunk metadata (struct chunk) exists only for copied chunks.
 *
 * The image disk reads a copied chunk from its region and an untouched one
 * from the original device, with the chunk's lock held shared until the
 * read completes, so a concurrent copy (which holds it exclusively) can
 * neither change the original under the read nor be half-seen.  Writes to
 * the image copy the chunk first and then land in its region.  Once the
 * snapshot is corrupted or destroyed, writes to the original pass without
 * a copy and without the chunk lock; so an image bio succeeds only if the
 * snapshot was still intact after its last piece of I/O completed (see
 * diff_area_broken()).
 *
 * A task that writes to the difference storage for a copy is marked (see
 * diff_area_task_in_cow()): storage stacked on the snapshotted device
 * brings that write back to the filter, which must not copy again.
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
#include "snapshot.h"
#include "tracker.h"
#include "cbt_map.h"
#include "params.h"

/**
 * struct chunk - Where a copied chunk's old data lives.
 * @bdev: Storage device of its region.
 * @sector: First sector of its region.
 */
struct chunk {
	struct block_device *bdev;
	sector_t sector;
};

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

static struct workqueue_struct *image_wq;

/* Live diff_areas; module exit waits until there is none. */
static atomic_t nr_areas = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(nr_areas_wq);

/*
 * Original device number -> the diff_area whose image disk carries the
 * name "blksnap-image_<major>:<minor>", from before add_disk() until after
 * del_gendisk().  A second image of the same number (a snapshot of a
 * device re-created with the number of one whose snapshot still exists)
 * is refused here, before add_disk() would fail on the sysfs name.
 */
static DEFINE_XARRAY(image_names);

/**
 * struct cow_task - Marks a task writing to the difference storage.
 * @node: In cow_tasks.
 * @task: The task.
 *
 * Lives on the marked task's stack.
 */
struct cow_task {
	struct hlist_node node;
	struct task_struct *task;
};

static DEFINE_SPINLOCK(cow_tasks_lock);	/* protects cow_tasks */
static DEFINE_HASHTABLE(cow_tasks, 6);
static atomic_t nr_cow_tasks = ATOMIC_INIT(0);

static inline sector_t chunk_sectors(const struct diff_area *da)
{
	return 1ULL << (da->chunk_shift - SECTOR_SHIFT);
}

static inline struct rw_semaphore *chunk_lock(struct diff_area *da,
					      unsigned long nr)
{
	return &da->locks[nr % DIFF_AREA_LOCKS];
}

/* v3's chunk size: grow from the minimum while there are too many chunks
 * or a chunk is smaller than the device's io_min, up to the maximum.
 */
static unsigned int chunk_shift_for(struct block_device *bdev,
				    sector_t capacity)
{
	unsigned int min_shift = blksnap_param(chunk_minimum_shift);
	unsigned int max_shift = blksnap_param(chunk_maximum_shift);
	unsigned long max_count = blksnap_param(chunk_maximum_count);
	unsigned int io_min = bdev_io_min(bdev);
	unsigned int shift = max_t(unsigned int, min(min_shift, max_shift),
				   PAGE_SHIFT);

	while (shift < max_shift &&
	       (DIV_ROUND_UP_SECTOR_T(capacity, 1ULL << (shift - SECTOR_SHIFT)) >
		max_count || (1U << shift) < io_min))
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
	pr_err("snapshot of %u:%u corrupted: error %d\n", MAJOR(da->dev_id),
	       MINOR(da->dev_id), error);
	event_gen(&da->snapshot->events, blksnap_event_code_corrupted, &ev,
		  sizeof(ev));
}

/*
 * Has copy-on-write stopped for @da: corrupted, destroyed, or no longer
 * installed in its tracker (DESTROY clears that first)?  From then on
 * writes to the original go through without a copy and without the chunk
 * lock, so image I/O must fail.
 */
static bool diff_area_broken(struct diff_area *da)
{
	return READ_ONCE(da->error) || READ_ONCE(da->dead) ||
	       READ_ONCE(da->tracker->diff_area) != da;
}

static void cow_task_mark(struct cow_task *ct)
{
	unsigned long flags;

	ct->task = current;
	spin_lock_irqsave(&cow_tasks_lock, flags);
	hash_add(cow_tasks, &ct->node, (unsigned long)current);
	atomic_inc(&nr_cow_tasks);
	spin_unlock_irqrestore(&cow_tasks_lock, flags);
}

static void cow_task_unmark(struct cow_task *ct)
{
	unsigned long flags;

	spin_lock_irqsave(&cow_tasks_lock, flags);
	hash_del(&ct->node);
	atomic_dec(&nr_cow_tasks);
	spin_unlock_irqrestore(&cow_tasks_lock, flags);
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
	struct cow_task *ct;
	unsigned long flags;
	bool found = false;

	if (!atomic_read(&nr_cow_tasks))
		return false;
	spin_lock_irqsave(&cow_tasks_lock, flags);
	hash_for_each_possible(cow_tasks, ct, node, (unsigned long)current)
		if (ct->task == current)
			found = true;
	spin_unlock_irqrestore(&cow_tasks_lock, flags);
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

	down(&da->cow_slots);
	spin_lock(&da->buf_lock);
	buf = list_first_entry_or_null(&da->free_bufs, struct cow_buf, link);
	if (buf) {
		list_del(&buf->link);
		da->nr_free--;
	}
	spin_unlock(&da->buf_lock);
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
 */
static void cow_buf_put(struct diff_area *da, struct cow_buf *buf)
{
	unsigned int keep = min_t(unsigned int, da->nr_slots,
				  blksnap_param(free_diff_buffer_pool_size));

	spin_lock(&da->buf_lock);
	if (da->nr_free < keep) {
		list_add(&buf->link, &da->free_bufs);
		da->nr_free++;
		buf = NULL;
	}
	spin_unlock(&da->buf_lock);
	if (buf)
		cow_buf_free(buf);
	up(&da->cow_slots);
}

/*
 * Copy chunk @nr to a new region of the difference storage.
 * Context: the chunk's lock held for writing, memalloc_noio scope; may
 * sleep.
 */
static int chunk_copy(struct diff_area *da, unsigned long nr)
{
	sector_t start = (sector_t)nr << (da->chunk_shift - SECTOR_SHIFT);
	struct cow_task ct;
	struct cow_buf *buf;
	struct chunk *chunk;
	unsigned int bytes;
	int ret;

	lockdep_assert_held_write(chunk_lock(da, nr));
	bytes = min_t(sector_t, chunk_sectors(da), da->capacity - start)
		<< SECTOR_SHIFT;

	chunk = kzalloc(sizeof(*chunk), GFP_NOIO);
	if (!chunk)
		return -ENOMEM;
	buf = cow_buf_get(da);
	if (!buf) {
		ret = -ENOMEM;
		goto out_free_chunk;
	}
	ret = chunk_io(da->orig_bdev, start, buf->pages, bytes, REQ_OP_READ);
	if (ret)
		goto out_put_buf;
	ret = diff_storage_alloc(&da->snapshot->storage, chunk_sectors(da),
				 bdev_logical_block_size(da->orig_bdev),
				 &chunk->bdev, &chunk->sector);
	if (ret)
		goto out_put_buf;
	cow_task_mark(&ct);
	ret = chunk_io(chunk->bdev, chunk->sector, buf->pages, bytes,
		       REQ_OP_WRITE | REQ_SYNC);
	cow_task_unmark(&ct);
	if (ret)
		goto out_put_buf;
	ret = xa_err(xa_store(&da->chunks, nr, chunk, GFP_NOIO));
	if (!ret)
		chunk = NULL;

out_put_buf:
	cow_buf_put(da, buf);
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
	unsigned int noio = memalloc_noio_save();
	unsigned long nr, last;
	int ret = 0;

	nr = sector >> (da->chunk_shift - SECTOR_SHIFT);
	last = (sector + count - 1) >> (da->chunk_shift - SECTOR_SHIFT);
	if (last >= da->chunk_count) {
		/* the device grew after TAKE */
		diff_area_set_corrupted(da, -EINVAL);
		goto out;
	}
	for (; nr <= last && !ret && !READ_ONCE(da->error); nr++) {
		down_write(chunk_lock(da, nr));
		if (!xa_load(&da->chunks, nr))
			ret = chunk_copy(da, nr);
		if (ret)
			diff_area_set_corrupted(da, ret);
		up_write(chunk_lock(da, nr));
	}
out:
	memalloc_noio_restore(noio);
}

/* ---------------------------------------------------------------- image */

/* Submit the [offset, offset + size) sectors of @bio to @bdev at @sector. */
static int image_piece_io(struct bio *bio, sector_t offset, sector_t size,
			  struct block_device *bdev, sector_t sector)
{
	struct bio *clone;
	int ret;

	clone = bio_alloc_clone(bdev, bio, GFP_NOIO, blkfilter_bio_set());
	if (!clone)
		return -ENOMEM;
	bio_trim(clone, offset, size);
	clone->bi_iter.bi_sector = sector;
	clone->bi_opf = bio_op(bio) | REQ_SYNC;
	ret = submit_bio_wait(clone);
	bio_put(clone);
	return ret;
}

/*
 * Serve an image bio chunk by chunk.  Each piece is checked under its
 * chunk's lock before and again after its I/O: a piece read from the
 * original can only have seen a write that skipped copy-on-write if that
 * write was submitted after copy-on-write stopped, i.e. before our I/O
 * completed, so the second check (after the completion's barrier) sees it.
 */
static int image_bio_do(struct diff_area *da, struct bio *bio)
{
	sector_t pos = bio->bi_iter.bi_sector;
	sector_t end = bio_end_sector(bio);
	sector_t offset = 0;
	bool write = op_is_write(bio_op(bio));
	int ret = 0;

	if (end > da->capacity)
		return -EIO;
	if (write)
		cbt_map_mark_both(da->tracker->cbt_map, pos, end - pos);
	while (pos < end && !ret) {
		unsigned long nr = pos >> (da->chunk_shift - SECTOR_SHIFT);
		sector_t in = pos & (chunk_sectors(da) - 1);
		sector_t len = min(end - pos, chunk_sectors(da) - in);
		struct rw_semaphore *lock = chunk_lock(da, nr);
		struct cow_task ct;
		struct chunk *chunk;

		if (write)
			down_write(lock);
		else
			down_read(lock);
		if (diff_area_broken(da)) {
			ret = -EIO;
		} else {
			chunk = xa_load(&da->chunks, nr);
			if (!chunk && write) {
				ret = chunk_copy(da, nr);
				if (ret)
					diff_area_set_corrupted(da, ret);
				chunk = xa_load(&da->chunks, nr);
			}
			if (!ret && chunk) {
				if (write)
					cow_task_mark(&ct);
				ret = image_piece_io(bio, offset, len,
						     chunk->bdev,
						     chunk->sector + in);
				if (write)
					cow_task_unmark(&ct);
			} else if (!ret) {
				ret = image_piece_io(bio, offset, len,
						     da->orig_bdev, pos);
			}
			smp_mb();	/* the I/O's completion, then the state */
			if (!ret && diff_area_broken(da))
				ret = -EIO;
		}
		if (write)
			up_write(lock);
		else
			up_read(lock);
		pos += len;
		offset += len;
	}
	return ret ? -EIO : 0;
}

static void image_work_fn(struct work_struct *work)
{
	struct diff_area *da = container_of(work, struct diff_area, image_work);
	unsigned int noio = memalloc_noio_save();
	struct bio *bio;

	for (;;) {
		spin_lock_irq(&da->bio_lock);
		bio = bio_list_pop(&da->bios);
		spin_unlock_irq(&da->bio_lock);
		if (!bio)
			break;
		if (image_bio_do(da, bio))
			bio->bi_status = BLK_STS_IOERR;
		bio_endio(bio);
	}
	memalloc_noio_restore(noio);
}

/*
 * The image's submit_bio runs inside the block layer's submission (with
 * current->bio_list set), where waiting for our own I/O would deadlock:
 * hand the bio to the image worker.
 */
static SUBMIT_BIO_RET_T image_submit_bio(struct bio *bio)
{
	struct diff_area *da = bio->bi_bdev->bd_disk->private_data;
	unsigned long flags;

	if (READ_ONCE(da->error) || READ_ONCE(da->dead)) {
		bio_io_error(bio);
		return SUBMIT_BIO_RET_NONE;
	}
	if (!bio_sectors(bio)) {		/* an empty flush */
		bio_endio(bio);
		return SUBMIT_BIO_RET_NONE;
	}
	spin_lock_irqsave(&da->bio_lock, flags);
	bio_list_add(&da->bios, bio);
	spin_unlock_irqrestore(&da->bio_lock, flags);
	queue_work(image_wq, &da->image_work);
	return SUBMIT_BIO_RET_NONE;
}

/*
 * The disk's last reference is gone (after its last close, or at DESTROY).
 * This may run after the block layer has dropped the module reference of
 * the last opener: module exit waits for the diff_area count and a tasks
 * RCU grace period (diff_area_exit()).
 */
static void image_free_disk(struct gendisk *disk)
{
	if (disk->private_data)
		diff_area_put(disk->private_data);
}

static const struct block_device_operations image_fops = {
	.owner = THIS_MODULE,
	.submit_bio = image_submit_bio,
	.free_disk = image_free_disk,
};

/**
 * diff_area_image_add() - Create and add the image disk.
 * @da: The device's diff_area.
 *
 * Context: may sleep.
 * Return: 0, -EEXIST if an image of the same device number exists (a
 * snapshot of an earlier device with that number was not destroyed), or
 * another negative errno (nothing is left behind).
 */
int diff_area_image_add(struct diff_area *da)
{
	struct gendisk *disk;
	int ret;

	ret = xa_insert(&image_names, da->dev_id, da, GFP_KERNEL);
	if (ret)
		return ret == -EBUSY ? -EEXIST : ret;
	disk = blksnap_alloc_disk(bdev_logical_block_size(da->orig_bdev),
				  bdev_physical_block_size(da->orig_bdev));
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto out_erase_name;
	}
	disk->fops = &image_fops;
	disk->private_data = da;
	disk->flags |= GENHD_FL_NO_PART;
	snprintf(disk->disk_name, sizeof(disk->disk_name), "%s_%u:%u",
		 BLKSNAP_IMAGE_NAME, MAJOR(da->dev_id), MINOR(da->dev_id));
	set_capacity(disk, da->capacity);
	ret = add_disk(disk);
	if (ret) {
		/*
		 * The disk was not added (GD_ADDED unset): put_disk() frees it
		 * without calling ->free_disk (6.1 and 6.12 alike), so the
		 * disk holds no diff_area reference.  Clear the pointer all
		 * the same, should a kernel call it.
		 */
		disk->private_data = NULL;
		put_disk(disk);
		goto out_erase_name;
	}
	/* the disk's reference, put by ->free_disk; the tracker's pins @da */
	kref_get(&da->kref);
	da->disk = disk;
	return 0;

out_erase_name:
	xa_erase(&image_names, da->dev_id);
	return ret;
}

/**
 * diff_area_image_remove() - Take the image away (snapshot destroyed).
 * @da: The device's diff_area.
 *
 * An image still open fails every I/O from now on; the diff_area lives
 * until it is closed.
 *
 * Context: may sleep.
 */
void diff_area_image_remove(struct diff_area *da)
{
	WRITE_ONCE(da->dead, true);
	if (!da->disk)
		return;
	del_gendisk(da->disk);		/* the name is free again */
	xa_erase(&image_names, da->dev_id);
	flush_work(&da->image_work);
	put_disk(da->disk);
}

/**
 * diff_area_create() - Set up copy-on-write for a device at TAKE.
 * @tracker: The device's tracker (a reference is taken).
 * @snapshot: The snapshot (a reference is taken).
 *
 * Allocates nothing proportional to the device's size.
 * Context: may sleep.
 * Return: the diff_area or an ERR_PTR.
 */
struct diff_area *diff_area_create(struct tracker *tracker,
				   struct snapshot *snapshot)
{
	struct block_device *bdev = tracker->filter.bdev;
	struct diff_area *da;
	int i;

	da = kzalloc(sizeof(*da), GFP_KERNEL);
	if (!da)
		return ERR_PTR(-ENOMEM);
	kref_init(&da->kref);
	tracker_get(tracker);
	da->tracker = tracker;
	kref_get(&snapshot->kref);
	da->snapshot = snapshot;
	da->orig_bdev = bdev;
	get_device(&bdev->bd_device);
	da->dev_id = bdev->bd_dev;
	da->capacity = bdev_nr_sectors(bdev);
	da->chunk_shift = chunk_shift_for(bdev, da->capacity);
	da->chunk_count = DIV_ROUND_UP_SECTOR_T(da->capacity,
						chunk_sectors(da));
	xa_init(&da->chunks);
	for (i = 0; i < DIFF_AREA_LOCKS; i++)
		init_rwsem(&da->locks[i]);
	da->nr_slots = clamp_t(u64, COW_MEMORY_BYTES >> da->chunk_shift, 1,
			       blksnap_param(chunk_maximum_in_queue));
	sema_init(&da->cow_slots, da->nr_slots);
	spin_lock_init(&da->buf_lock);
	INIT_LIST_HEAD(&da->free_bufs);
	spin_lock_init(&da->bio_lock);
	bio_list_init(&da->bios);
	INIT_WORK(&da->image_work, image_work_fn);
	atomic_inc(&nr_areas);
	pr_debug("%u:%u: %lu chunks of %u bytes, %u buffers\n",
		 MAJOR(da->dev_id), MINOR(da->dev_id), da->chunk_count,
		 1U << da->chunk_shift, da->nr_slots);
	return da;
}

static void diff_area_release(struct kref *kref)
{
	struct diff_area *da = container_of(kref, struct diff_area, kref);
	struct cow_buf *buf, *tmp;
	struct chunk *chunk;
	unsigned long nr;

	list_for_each_entry_safe(buf, tmp, &da->free_bufs, link)
		cow_buf_free(buf);
	xa_for_each(&da->chunks, nr, chunk)
		kfree(chunk);
	xa_destroy(&da->chunks);
	put_device(&da->orig_bdev->bd_device);
	snapshot_put(da->snapshot);
	tracker_put(da->tracker);
	kfree(da);
	if (atomic_dec_and_test(&nr_areas))
		wake_up_all(&nr_areas_wq);
}

/**
 * diff_area_put() - Drop a diff_area reference.
 * @da: The diff_area.
 *
 * Context: may sleep.
 */
void diff_area_put(struct diff_area *da)
{
	kref_put(&da->kref, diff_area_release);
}

/**
 * diff_area_init() - Create the workqueue that serves image I/O.
 *
 * Return: 0 or -ENOMEM.
 */
int diff_area_init(void)
{
	image_wq = alloc_workqueue("blksnap-image", WQ_MEM_RECLAIM | BLKSNAP_WQ_PERCPU, 0);
	return image_wq ? 0 : -ENOMEM;
}

/**
 * diff_area_exit() - Wait for the last diff_area, destroy the workqueue.
 *
 * Every snapshot is destroyed and no image is open (an open image holds a
 * module reference), but the block layer drops that reference before the
 * disk's last put: the closer may still be freeing a diff_area (its
 * tracker, snapshot and storage) in ->free_disk.  Wait for the count, then
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
	destroy_workqueue(image_wq);
}
