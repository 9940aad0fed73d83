// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_SUBMIT_BIO_NOACCT_VOID: submit_bio_noacct() returns void since v5.16
 * ("block: don't return blk_qc_t from submit_bio_noacct"); it returned
 * blk_qc_t before.
 */
#include <linux/blkdev.h>
#include <linux/bio.h>

void probe(struct bio *bio);
void probe(struct bio *bio)
{
	void (*fn)(struct bio *bio) = submit_bio_noacct;

	fn(bio);
}
