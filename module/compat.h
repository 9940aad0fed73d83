/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place where blksnap adapts to kernel API changes.
 *
 * This header is force-included into every C file of the module (see
 * Kbuild).  The HAVE_* symbols come from module/compat-gen.h, which
 * module/probes/gen.sh generates by compiling one small probe per API
 * change against the target kernel.  Each section below maps the older
 * API onto the current mainline name, so the core files are written
 * against mainline only and contain no version tests.
 */
#ifndef BLKSNAP_COMPAT_H
#define BLKSNAP_COMPAT_H

/*
 * Force-included first, so define the message prefix before any kernel
 * header supplies its default; files that repeat the identical definition
 * (as kernel style asks) compile silently.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "compat-gen.h"

#include <linux/blkdev.h>

#if !IS_ENABLED(CONFIG_DYNAMIC_FTRACE_WITH_REGS) && \
	!IS_ENABLED(CONFIG_DYNAMIC_FTRACE_WITH_ARGS)
#error "blksnap needs CONFIG_DYNAMIC_FTRACE_WITH_REGS or CONFIG_DYNAMIC_FTRACE_WITH_ARGS"
#endif

/* --- Freezing the file system on a block device (v6.8) --- */
#ifndef HAVE_BDEV_FREEZE
static inline int bdev_freeze(struct block_device *bdev)
{
	return freeze_bdev(bdev);
}

static inline int bdev_thaw(struct block_device *bdev)
{
	return thaw_bdev(bdev);
}
#endif

/* --- readdir actors return bool since v6.1 (filldir_t) --- */
#ifdef HAVE_FILLDIR_BOOL
#define FILLDIR_RET		bool
#define FILLDIR_CONTINUE	true
#define FILLDIR_STOP		false
#else
#define FILLDIR_RET		int
#define FILLDIR_CONTINUE	0
#define FILLDIR_STOP		-EINVAL
#endif

/*
 * --- Per-CPU workqueues (v6.17) ---
 * A workqueue is per-CPU unless it says WQ_UNBOUND; newer kernels want
 * that said with WQ_PERCPU and WARN when a caller names neither.
 */
#ifdef HAVE_WQ_PERCPU
#define BLKSNAP_WQ_PERCPU	WQ_PERCPU
#else
#define BLKSNAP_WQ_PERCPU	0
#endif

/* --- filter layer --- */

#ifndef HAVE_FTRACE_REGS
#error "blksnap needs ftrace callbacks with struct ftrace_regs (v5.11 or later)"
#endif

/*
 * --- ftrace callbacks without a full pt_regs ---
 * With CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS the plain trampoline saves the
 * argument registers and honours a changed instruction pointer (what
 * livepatch uses), so the hooks need no FTRACE_OPS_FL_SAVE_REGS, whose
 * trampoline saves and restores a whole struct pt_regs on every call of
 * the hooked function.  bf_fregs_arg() reads argument @n of the hooked
 * function, bf_fregs_set_ip() makes the call continue at @ip.
 */
#if defined(HAVE_FTRACE_REGS_ARGS)
#define BLKSNAP_FTRACE_SAVE_REGS	0
#define bf_fregs_arg(fregs, n)		ftrace_regs_get_argument(fregs, n)
#define bf_fregs_set_ip(fregs, ip)	\
	ftrace_regs_set_instruction_pointer(fregs, ip)
#elif defined(HAVE_FTRACE_REGS_PT_REGS)
#define BLKSNAP_FTRACE_SAVE_REGS	0
#define bf_fregs_arg(fregs, n)		\
	regs_get_kernel_argument(&(fregs)->regs, n)
#define bf_fregs_set_ip(fregs, ip)	ftrace_instruction_pointer_set(fregs, ip)
#else
/* Only DYNAMIC_FTRACE_WITH_REGS: ftrace_get_regs() is never NULL then. */
#define BLKSNAP_FTRACE_SAVE_REGS	FTRACE_OPS_FL_SAVE_REGS
#define bf_fregs_arg(fregs, n)		\
	regs_get_kernel_argument(ftrace_get_regs(fregs), n)
#define bf_fregs_set_ip(fregs, ip)	\
	instruction_pointer_set(ftrace_get_regs(fregs), ip)
#endif

/*
 * submit_bio_noacct() returned a polling cookie (blk_qc_t) before v5.16.
 * The hook replaces the function with one that has no cookie to give, so
 * polled I/O (RWF_HIPRI, io_uring IOPOLL) would wait for a cookie that
 * never comes: such kernels are not supported.  ->submit_bio of a disk
 * changed the same way in the same release.
 */
#ifndef HAVE_SUBMIT_BIO_NOACCT_VOID
#error "blksnap needs Linux 5.16 or later (submit_bio_noacct() returning void)"
#endif
#define SUBMIT_BIO_RET_T	void
#define SUBMIT_BIO_RET_NONE

/* The partition number moved into a flag word in v6.10. */
#ifndef HAVE_BDEV_PARTNO
static inline u8 bdev_partno(const struct block_device *bdev)
{
	return bdev->bd_partno;
}
#endif

/* --- end of filter layer --- */

/* --- CBT and snapshots --- */

/**
 * struct bdev_ref - An open block device, whatever the kernel's API.
 * @bdev: The device.
 * @handle: What closing needs (the bdev file since v6.9).
 */
struct bdev_ref {
	struct block_device *bdev;
	void *handle;
};

#ifdef HAVE_BDEV_FILE_OPEN_BY_PATH
static inline int bdev_ref_open(const char *path, void *holder,
				struct bdev_ref *ref)
{
	struct file *file;

	file = bdev_file_open_by_path(path, BLK_OPEN_READ | BLK_OPEN_WRITE,
				      NULL, NULL);
	if (IS_ERR(file))
		return PTR_ERR(file);
	ref->bdev = file_bdev(file);
	ref->handle = file;
	return 0;
}

static inline int bdev_ref_open_dev(dev_t dev, bool write, void *holder,
				    struct bdev_ref *ref)
{
	struct file *file;

	file = bdev_file_open_by_dev(dev, BLK_OPEN_READ |
				     (write ? BLK_OPEN_WRITE : 0), NULL, NULL);
	if (IS_ERR(file))
		return PTR_ERR(file);
	ref->bdev = file_bdev(file);
	ref->handle = file;
	return 0;
}

static inline void bdev_ref_close(struct bdev_ref *ref)
{
	fput(ref->handle);
}
#else
static inline int bdev_ref_open(const char *path, void *holder,
				struct bdev_ref *ref)
{
	struct block_device *bdev;

	bdev = blkdev_get_by_path(path, FMODE_READ | FMODE_WRITE, NULL);
	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	ref->bdev = bdev;
	ref->handle = NULL;
	return 0;
}

static inline int bdev_ref_open_dev(dev_t dev, bool write, void *holder,
				    struct bdev_ref *ref)
{
	struct block_device *bdev;
	fmode_t mode = FMODE_READ | (write ? FMODE_WRITE : 0);

	bdev = blkdev_get_by_dev(dev, mode, NULL);
	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	ref->bdev = bdev;
	ref->handle = (void *)(unsigned long)mode;
	return 0;
}

static inline void bdev_ref_close(struct bdev_ref *ref)
{
	blkdev_put(ref->bdev, ref->handle ? (fmode_t)(unsigned long)ref->handle :
		   FMODE_READ | FMODE_WRITE);
}
#endif

/* A bio-based disk with the given block sizes (ERR_PTR on failure). */
#ifdef HAVE_BLK_ALLOC_DISK_LIM
static inline struct gendisk *blksnap_alloc_disk(unsigned int lbs,
						 unsigned int pbs)
{
	struct queue_limits lim = {
		.logical_block_size = lbs,
		.physical_block_size = pbs,
	};

	return blk_alloc_disk(&lim, NUMA_NO_NODE);
}
#else
static inline struct gendisk *blksnap_alloc_disk(unsigned int lbs,
						 unsigned int pbs)
{
	struct gendisk *disk = blk_alloc_disk(NUMA_NO_NODE);

	if (!disk)
		return ERR_PTR(-ENOMEM);
	blk_queue_logical_block_size(disk->queue, lbs);
	blk_queue_physical_block_size(disk->queue, pbs);
	return disk;
}
#endif

/* --- end of CBT and snapshots --- */

#endif /* BLKSNAP_COMPAT_H */
