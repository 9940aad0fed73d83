/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hooking the completion of a bio that goes down itself, instead of
 * cloning it (the pattern of device-mapper's dm_hook_bio()).  The hook's
 * end_io puts the submitter's completion back with bio_hook_restore() and
 * calls bio_endio() a second time.  That second pass is safe: the first
 * one already released what bio_endio() releases (the bio's cgroup and
 * QoS state, its integrity payload, a chain's count), and the second
 * finds none of it (checked against 6.1 and 6.12).
 *
 * Users: writes that passed a filter (blkfilter_bio.c, struct bf_write),
 * image reads remapped in place (image.c, struct image_remap).
 */
#ifndef BLKSNAP_BIO_HOOK_H
#define BLKSNAP_BIO_HOOK_H

#include <linux/bio.h>

/**
 * struct bio_hook - The submitter's completion of a hooked bio.
 * @end_io: Its bi_end_io.
 * @private: Its bi_private.
 */
struct bio_hook {
	bio_end_io_t *end_io;
	void *private;
};

/*
 * Make @end_io run, with @data in bi_private, when @bio completes; @hook
 * keeps the submitter's completion until bio_hook_restore().
 */
static inline void bio_hook_set(struct bio *bio, struct bio_hook *hook,
				bio_end_io_t *end_io, void *data)
{
	hook->end_io = bio->bi_end_io;
	hook->private = bio->bi_private;
	bio->bi_end_io = end_io;
	bio->bi_private = data;
}

/* In the hook's end_io: the submitter's completion back; bio_endio() next. */
static inline void bio_hook_restore(struct bio *bio,
				    const struct bio_hook *hook)
{
	bio->bi_end_io = hook->end_io;
	bio->bi_private = hook->private;
}

#endif /* BLKSNAP_BIO_HOOK_H */
