// SPDX-License-Identifier: GPL-2.0
/*
 * The snapshot image disk: /dev/blksnap-image_<major>:<minor> (or
 * /dev/blksnap-image<N> for snapshots created through the v2 interface),
 * one per device of a taken snapshot, showing the device as it was at
 * TAKE.
 *
 * Reads of a copied chunk come from its region in the difference storage,
 * reads of an untouched chunk from the original device, with the chunk's
 * lock (struct diff_area) held shared until the read completes, so a
 * concurrent copy-on-write (which holds it exclusively) can neither change
 * the original under the read nor be half-seen.  Writes to the image copy
 * the chunk first and then land in its region; they also mark the
 * original's CBT map, so that the next incremental backup reads them.  An
 * image bio succeeds only if the snapshot was still intact after its last
 * piece of I/O completed (see image_piece()).
 *
 * Reads are served from the image's submit_bio without a worker, in runs:
 * chunks whose data lie next to each other on one device (neighbouring
 * untouched chunks, copies stored one after the other), each chunk's lock
 * taken shared.  The read's last run (its only one when it lies within a
 * chunk) is the read itself, remapped in place with its completion
 * hooked; each run before it goes down as a clone chained to it.  A
 * run's completion checks the state again, releases its locks and
 * completes the read (or its share of it).
 * Writes (which copy the chunk first and so wait for I/O, which
 * inside the block layer's submission would deadlock), REQ_NOWAIT reads
 * (which must not sleep on a chunk lock) and reads over more chunks than
 * there are chunk locks go to a worker.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/sched/mm.h>
#include <linux/xarray.h>
#include <linux/workqueue.h>
#include <linux/delay.h>
#include <linux/percpu.h>
#include <linux/blksnap.h>
#include "bio_hook.h"
#include "blkfilter.h"
#include "cbt_map.h"
#include "diff_area.h"
#include "image.h"

/**
 * struct image - The image disk of one device of a taken snapshot.
 * @da: The device's copy-on-write state (reference held until the disk is
 *	freed).
 * @disk: The disk; its private_data points back here.
 * @orig_dev: The original's device number, the key of its name.
 * @minor: Its minor on image_major when numbered, else -1.
 * @bio_lock: Protects @bios.
 * @bios: Image bios waiting for @work.
 * @work: Serves image bios outside the submitter's context.
 * @inflight: Read runs on their way, per CPU (a run may end on another CPU
 *	than it started: only the sum means anything); ->free_disk waits for
 *	none before it drops the diff_area reference their completions use.
 *
 * Lifetime: image_create() adds the disk; image_destroy() deletes it and
 * drops the creator's reference on it.  The block layer keeps the disk
 * while it is open; its ->free_disk frees the image and drops the
 * diff_area reference.
 */
struct image {
	struct diff_area *da;
	struct gendisk *disk;
	dev_t orig_dev;
	int minor;
	spinlock_t bio_lock;		/* protects @bios */
	struct bio_list bios;
	struct work_struct work;
	long __percpu *inflight;
};

static struct workqueue_struct *image_wq;

/*
 * Clones of the read path, one per run of a read that is not remapped in
 * place, struct image_clone (the run in the front pad).
 */
static struct bio_set image_clone_set;

/*
 * Original device number -> the image carrying the name
 * "blksnap-image_<major>:<minor>", from before add_disk() until after
 * del_gendisk().  A second image of the same number (a snapshot of a
 * device re-created with the number of one whose snapshot still exists)
 * is refused here, before add_disk() would fail on the sysfs name.
 */
static DEFINE_XARRAY(image_names);

/*
 * Numbered images (image_create() with @numbered, the v2 naming) are
 * "blksnap-image<N>" on this block major of blksnap's own, N a minor from
 * image_minors, freed with the disk: reused once an image is gone.
 */
static int image_major;
static DEFINE_IDA(image_minors);

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
 * One piece of an image bio, [offset, offset + len) of @bio at image
 * sector @pos, all within one chunk whose lock the caller holds.  The
 * state is checked before and again after the I/O: a piece read from the
 * original can only have seen a write that skipped copy-on-write if that
 * write was submitted after copy-on-write stopped, i.e. before our I/O
 * completed, so the second check (after the completion's barrier) sees it.
 */
static int image_piece(struct diff_area *da, struct bio *bio,
		       sector_t offset, sector_t len, sector_t pos)
{
	unsigned long nr = diff_area_chunk_nr(da, pos);
	sector_t in = pos & (diff_area_chunk_sectors(da) - 1);
	bool write = op_is_write(bio_op(bio));
	struct diff_area_writer w;
	struct block_device *bdev;
	sector_t sector;
	bool found;
	int ret;

	if (diff_area_is_broken(da))
		return -EIO;
	found = diff_area_find_chunk(da, nr, &bdev, &sector);
	if (!found && write) {
		/* an image write lands in the chunk's copy, made first */
		ret = diff_area_copy_chunk(da, nr);
		if (ret) {
			diff_area_set_corrupted(da, ret);
			return ret;
		}
		found = diff_area_find_chunk(da, nr, &bdev, &sector);
	}
	if (!found) {
		bdev = da->orig_bdev;	/* untouched: read the original */
		sector = pos - in;
	}
	if (write)
		diff_area_writer_mark(&w);
	ret = image_piece_io(bio, offset, len, bdev, sector + in);
	if (write)
		diff_area_writer_unmark(&w);
	smp_mb();	/* the I/O's completion, then the state */
	if (!ret && diff_area_is_broken(da))
		ret = -EIO;
	return ret;
}

/* Serve an image bio chunk by chunk, each piece under its chunk's lock. */
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
		cbt_map_mark_both(da->cbt_map, pos, end - pos);
	while (pos < end && !ret) {
		unsigned long nr = diff_area_chunk_nr(da, pos);
		sector_t in = pos & (diff_area_chunk_sectors(da) - 1);
		sector_t len = min(end - pos, diff_area_chunk_sectors(da) - in);
		struct rw_semaphore *lock = diff_area_chunk_lock(da, nr);

		if (write)
			down_write(lock);
		else
			down_read(lock);
		ret = image_piece(da, bio, offset, len, pos);
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
	struct image *img = container_of(work, struct image, work);
	unsigned int noio = memalloc_noio_save();
	struct bio *bio;

	for (;;) {
		spin_lock_irq(&img->bio_lock);
		bio = bio_list_pop(&img->bios);
		spin_unlock_irq(&img->bio_lock);
		if (!bio)
			break;
		if (image_bio_do(img->da, bio))
			bio->bi_status = BLK_STS_IOERR;
		bio_endio(bio);
	}
	memalloc_noio_restore(noio);
}

/**
 * struct image_run - What the completion of one run of a read needs.
 * @img: The image (its state lives until no run is in flight).
 * @nr: The run's first chunk.
 * @count: Its number of chunks, each with its lock held shared.
 *
 * A run is a range of an image read whose chunks map to consecutive
 * sectors of one device (untouched neighbours on the original, copies
 * stored next to each other): it goes down as one bio.
 */
struct image_run {
	struct image *img;
	unsigned long nr;
	unsigned int count;
};

/* A read clone with its run in the front pad of image_clone_set. */
struct image_clone {
	struct image_run run;
	struct bio bio;
};

/*
 * A read remapped in place (its last run): its own completion, saved
 * while ours runs.
 */
struct image_remap {
	struct image_run run;
	struct bio_hook hook;
};

static struct kmem_cache *image_remap_cache;

/*
 * A run's I/O completed: if the snapshot broke meanwhile the data may be
 * newer than the snapshot (see image_piece()), so it fails.  Then the
 * chunk locks go.  Nothing here touches the image's state after the
 * caller completes the image bio, but for the inflight count.
 */
static void image_run_done(const struct image_run *run, struct bio *bio)
{
	struct diff_area *da = run->img->da;
	unsigned int i;

	smp_mb();	/* the I/O's completion, then the state */
	if (!bio->bi_status && diff_area_is_broken(da))
		bio->bi_status = BLK_STS_IOERR;
	for (i = 0; i < run->count; i++)
		up_read_non_owner(diff_area_chunk_lock(da, run->nr + i));
}

static void image_clone_endio(struct bio *clone)
{
	struct image_clone *ic = container_of(clone, struct image_clone, bio);
	struct bio *bio = clone->bi_private;
	struct image *img = ic->run.img;

	image_run_done(&ic->run, clone);
	if (clone->bi_status && !bio->bi_status)
		bio->bi_status = clone->bi_status;
	bio_put(clone);
	bio_endio(bio);
	smp_mb();	/* all of the above, then the count (image_free_disk()) */
	this_cpu_dec(*img->inflight);
}

static void image_remap_endio(struct bio *bio)
{
	struct image_remap *rm = bio->bi_private;
	struct image *img = rm->run.img;

	image_run_done(&rm->run, bio);
	bio_hook_restore(bio, &rm->hook);
	kmem_cache_free(image_remap_cache, rm);
	bio_endio(bio);
	smp_mb();	/* all of the above, then the count (image_free_disk()) */
	this_cpu_dec(*img->inflight);
}

/*
 * Take the lock of chunk @nr shared and map it: where its data is now.
 * Return: false (lock released) if the snapshot is broken.
 */
static bool image_map_chunk(struct diff_area *da, unsigned long nr,
			    struct block_device **bdev, sector_t *sector)
{
	down_read_non_owner(diff_area_chunk_lock(da, nr));
	if (diff_area_is_broken(da)) {
		up_read_non_owner(diff_area_chunk_lock(da, nr));
		return false;
	}
	if (!diff_area_find_chunk(da, nr, bdev, sector)) {
		*bdev = da->orig_bdev;	/* untouched: read the original */
		*sector = (sector_t)nr << (da->chunk_shift - SECTOR_SHIFT);
	}
	return true;
}

/*
 * Serve a read in the submitter's context, run by run (see struct
 * image_run), each run's chunk locks held shared until its I/O completes.
 * The last run (the only one of most reads) is the bio itself, remapped in
 * place; each run before it is a clone chained to the bio.  The bio's
 * hooked completion runs once all are done (bio_endio() counts them), so
 * the last run's locks may be held a little longer than its own I/O.
 * The caller sends it no read over more than DIFF_AREA_LOCKS chunks: the
 * locks taken are distinct.
 */
static void image_read(struct image *img, struct bio *bio)
{
	struct diff_area *da = img->da;
	sector_t chunk = diff_area_chunk_sectors(da);
	unsigned long nr = diff_area_chunk_nr(da, bio->bi_iter.bi_sector);
	struct block_device *bdev, *next_bdev;
	sector_t sector, next_sector, len;
	bool held = false;	/* chunk @nr locked and mapped to next_* */
	struct image_clone *ic;
	struct image_remap *rm;
	struct bio *clone;
	unsigned int count;

	for (;;) {
		sector_t pos = bio->bi_iter.bi_sector;
		sector_t in = pos & (chunk - 1);

		if (held) {
			bdev = next_bdev;
			sector = next_sector;
			held = false;
		} else if (!image_map_chunk(da, nr, &bdev, &sector)) {
			goto out_fail;
		}
		sector += in;
		len = chunk - in;
		count = 1;
		while (len < bio_sectors(bio)) {
			if (!image_map_chunk(da, nr + count, &next_bdev,
					     &next_sector))
				goto out_fail_run;
			if (next_bdev != bdev || next_sector != sector + len) {
				held = true;
				break;
			}
			len += chunk;
			count++;
		}
		if (len >= bio_sectors(bio)) {	/* the last run: in place */
			rm = kmem_cache_alloc(image_remap_cache,
					      GFP_NOWAIT | __GFP_NOWARN);
			if (rm) {
				rm->run.img = img;
				rm->run.nr = nr;
				rm->run.count = count;
				bio_hook_set(bio, &rm->hook,
					     image_remap_endio, rm);
				bio_set_dev(bio, bdev);
				bio->bi_iter.bi_sector = sector;
				this_cpu_inc(*img->inflight);
				submit_bio_noacct(bio);
				return;
			}
		}
		clone = bio_alloc_clone(bdev, bio, GFP_NOIO, &image_clone_set);
		if (!clone)
			goto out_fail_run;
		ic = container_of(clone, struct image_clone, bio);
		ic->run.img = img;
		ic->run.nr = nr;
		ic->run.count = count;
		clone->bi_iter.bi_sector = sector;
		clone->bi_private = bio;
		clone->bi_end_io = image_clone_endio;
		this_cpu_inc(*img->inflight);
		if (len >= bio_sectors(bio)) {
			submit_bio_noacct(clone);	/* the last run */
			return;
		}
		clone->bi_iter.bi_size = len << SECTOR_SHIFT;
		bio_advance(bio, len << SECTOR_SHIFT);
		bio_inc_remaining(bio);		/* for the next run */
		submit_bio_noacct(clone);
		nr += count;
	}

out_fail_run:
	if (held)
		up_read_non_owner(diff_area_chunk_lock(da, nr + count));
	while (count--)
		up_read_non_owner(diff_area_chunk_lock(da, nr + count));
out_fail:
	/* ends this run's share of the bio; earlier runs end theirs */
	bio->bi_status = BLK_STS_IOERR;
	bio_endio(bio);
}

static SUBMIT_BIO_RET_T image_submit_bio(struct bio *bio)
{
	struct image *img = bio->bi_bdev->bd_disk->private_data;
	unsigned long flags;

	if (diff_area_is_broken(img->da) ||
	    bio_end_sector(bio) > img->da->capacity) {
		bio_io_error(bio);
		return SUBMIT_BIO_RET_NONE;
	}
	if (!bio_sectors(bio)) {		/* an empty flush */
		bio_endio(bio);
		return SUBMIT_BIO_RET_NONE;
	}
	/*
	 * image_read() holds the locks of all the chunks of a read until the
	 * submission returns: they must be distinct locks (a second shared
	 * hold of one lock would wait behind a writer waiting for the first).
	 * Reads over more chunks than there are locks (only from buffers of
	 * huge pages) go to the worker, one chunk at a time.
	 */
	if (bio_op(bio) == REQ_OP_READ && !(bio->bi_opf & REQ_NOWAIT) &&
	    diff_area_chunk_nr(img->da, bio_end_sector(bio) - 1) -
	    diff_area_chunk_nr(img->da, bio->bi_iter.bi_sector) <
	    DIFF_AREA_LOCKS) {
		image_read(img, bio);
		return SUBMIT_BIO_RET_NONE;
	}
	bio->bi_opf &= ~REQ_NOWAIT;	/* the worker may wait */
	spin_lock_irqsave(&img->bio_lock, flags);
	bio_list_add(&img->bios, bio);
	spin_unlock_irqrestore(&img->bio_lock, flags);
	queue_work(image_wq, &img->work);
	return SUBMIT_BIO_RET_NONE;
}

/* Read runs in flight (see struct image): the sum over the CPUs. */
static long image_inflight(struct image *img)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += *per_cpu_ptr(img->inflight, cpu);
	return sum;
}

/*
 * The disk's last reference is gone (after its last close, or at DESTROY).
 * This may run after the block layer has dropped the module reference of
 * the last opener: module exit waits for the diff_area count and a tasks
 * RCU grace period (diff_area_exit()).
 */
static void image_free_disk(struct gendisk *disk)
{
	struct image *img = disk->private_data;

	if (!img)
		return;
	if (img->minor >= 0)
		ida_free(&image_minors, img->minor);
	/* no new run starts: the per-CPU counts only go down, 0 is final */
	while (image_inflight(img))
		usleep_range(1000, 2000);
	smp_mb();	/* the count, then the memory its completions used */
	diff_area_put(img->da);
	free_percpu(img->inflight);
	kfree(img);
}

static const struct block_device_operations image_fops = {
	.owner = THIS_MODULE,
	.submit_bio = image_submit_bio,
	.free_disk = image_free_disk,
};

/**
 * image_create() - Create and add the image disk of a device.
 * @da: The device's copy-on-write state (the image takes a reference).
 * @numbered: Name it "blksnap-image<N>" on blksnap's own major, N its
 *	minor (the v2 naming), instead of "blksnap-image_<major>:<minor>" of
 *	the original on a dynamic number.
 *
 * Context: may sleep.
 * Return: the image, ERR_PTR(-EEXIST) if an image of the same device
 * number exists (a snapshot of an earlier device with that number was not
 * destroyed), or another ERR_PTR (nothing is left behind).
 */
struct image *image_create(struct diff_area *da, bool numbered)
{
	struct gendisk *disk;
	struct image *img;
	int ret;

	img = kzalloc(sizeof(*img), GFP_KERNEL);
	if (!img)
		return ERR_PTR(-ENOMEM);
	img->orig_dev = da->dev_id;
	img->minor = -1;
	spin_lock_init(&img->bio_lock);
	bio_list_init(&img->bios);
	INIT_WORK(&img->work, image_work_fn);
	img->inflight = alloc_percpu(long);
	if (!img->inflight) {
		ret = -ENOMEM;
		goto out_free_image;
	}
	ret = xa_insert(&image_names, img->orig_dev, img, GFP_KERNEL);
	if (ret) {
		ret = ret == -EBUSY ? -EEXIST : ret;
		goto out_free_image;
	}
	disk = blksnap_alloc_disk(bdev_logical_block_size(da->orig_bdev),
				  bdev_physical_block_size(da->orig_bdev));
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto out_erase_name;
	}
	disk->fops = &image_fops;
	disk->private_data = img;
	disk->flags |= GENHD_FL_NO_PART;
	if (numbered) {
		ret = ida_alloc_max(&image_minors, MINORMASK, GFP_KERNEL);
		if (ret < 0) {
			disk->private_data = NULL;
			put_disk(disk);
			goto out_erase_name;
		}
		img->minor = ret;
		disk->major = image_major;
		disk->first_minor = img->minor;
		disk->minors = 1;
		snprintf(disk->disk_name, sizeof(disk->disk_name), "%s%d",
			 BLKSNAP_IMAGE_NAME, img->minor);
	} else {
		snprintf(disk->disk_name, sizeof(disk->disk_name), "%s_%u:%u",
			 BLKSNAP_IMAGE_NAME, MAJOR(img->orig_dev),
			 MINOR(img->orig_dev));
	}
	set_capacity(disk, da->capacity);
	img->da = da;
	img->disk = disk;
	ret = add_disk(disk);		/* bios may arrive from here on */
	if (ret) {
		/*
		 * The disk was not added (GD_ADDED unset): put_disk() frees it
		 * without calling ->free_disk (6.1 and 6.12 alike).  Clear the
		 * pointer all the same, should a kernel call it.
		 */
		disk->private_data = NULL;
		put_disk(disk);
		if (img->minor >= 0)
			ida_free(&image_minors, img->minor);
		goto out_erase_name;
	}
	/* ->free_disk owns @img and this diff_area reference from now on */
	diff_area_get(da);
	return img;

out_erase_name:
	xa_erase(&image_names, img->orig_dev);
out_free_image:
	free_percpu(img->inflight);
	kfree(img);
	return ERR_PTR(ret);
}

/**
 * image_destroy() - Take an image away (snapshot destroyed or TAKE failed).
 * @img: The image; not to be used by the caller afterwards.
 *
 * The caller has stopped the diff_area (diff_area_stop()), so an image
 * still open fails every I/O from now on; the image lives until it is
 * closed.
 *
 * Context: may sleep.
 */
void image_destroy(struct image *img)
{
	struct gendisk *disk = img->disk;

	del_gendisk(disk);		/* the name is free again */
	xa_erase(&image_names, img->orig_dev);
	flush_work(&img->work);
	put_disk(disk);
}

/**
 * image_name() - The image disk's name, without "/dev/".
 * @img: The image.
 *
 * Return: the name, valid as long as the caller keeps the image.
 */
const char *image_name(const struct image *img)
{
	return img->disk->disk_name;
}

/**
 * image_devt() - The image disk's device number.
 * @img: The image.
 *
 * Return: the number.
 */
dev_t image_devt(const struct image *img)
{
	return disk_devt(img->disk);
}

/**
 * image_init() - Register the block major of numbered images, create the
 * bio sets and the workqueue of image I/O.
 *
 * Context: module init; may sleep.
 * Return: 0 or a negative errno.
 */
int image_init(void)
{
	int ret;

	image_major = register_blkdev(0, BLKSNAP_IMAGE_NAME);
	if (image_major < 0)
		return image_major;
	ret = bioset_init(&image_clone_set, 64,
			  offsetof(struct image_clone, bio), BIOSET_NEED_RESCUER);
	if (ret)
		goto out_unregister_major;
	image_remap_cache = KMEM_CACHE(image_remap, 0);
	if (!image_remap_cache) {
		ret = -ENOMEM;
		goto out_exit_clone_set;
	}
	image_wq = alloc_workqueue("blksnap-image",
				   WQ_MEM_RECLAIM | BLKSNAP_WQ_PERCPU, 0);
	if (!image_wq) {
		ret = -ENOMEM;
		goto out_destroy_remap_cache;
	}
	return 0;

out_destroy_remap_cache:
	kmem_cache_destroy(image_remap_cache);
out_exit_clone_set:
	bioset_exit(&image_clone_set);
out_unregister_major:
	unregister_blkdev(image_major, BLKSNAP_IMAGE_NAME);
	return ret;
}

/**
 * image_exit() - Destroy the workqueue and the bio sets.
 *
 * Every image is gone: module exit runs after the last snapshot was
 * destroyed and diff_area_exit() saw the last diff_area freed.
 * Context: module exit; may sleep.
 */
void image_exit(void)
{
	destroy_workqueue(image_wq);
	kmem_cache_destroy(image_remap_cache);
	bioset_exit(&image_clone_set);
	unregister_blkdev(image_major, BLKSNAP_IMAGE_NAME);
}
