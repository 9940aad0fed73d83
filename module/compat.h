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

/* --- filter layer --- */

#ifndef HAVE_FTRACE_REGS
#error "blksnap needs ftrace callbacks with struct ftrace_regs (v5.11 or later)"
#endif

/* submit_bio_noacct() returned blk_qc_t before v5.16. */
#ifdef HAVE_SUBMIT_BIO_NOACCT_VOID
#define SUBMIT_BIO_RET_T	void
#define SUBMIT_BIO_RET_NONE
#else
#define SUBMIT_BIO_RET_T	blk_qc_t
#define SUBMIT_BIO_RET_NONE	BLK_QC_T_NONE
#endif

/* The partition number moved into a flag word in v6.10. */
#ifndef HAVE_BDEV_PARTNO
static inline u8 bdev_partno(const struct block_device *bdev)
{
	return bdev->bd_partno;
}
#endif

/* --- end of filter layer --- */

/* --- CBT and snapshots --- */

/* --- end of CBT and snapshots --- */

#endif /* BLKSNAP_COMPAT_H */
