// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots of big devices (issue 19): the copy-on-write chunk does not grow
 * with the device.  On a 16 TiB and a 1 PiB null_blk (memory-backed where
 * null_blk accepts it, so that the data can be checked; pages exist only
 * where written):
 *
 *  - small_storage_suffices: after TAKE with only 2 MiB of difference
 *    storage, 4 KiB writes into four distinct chunks fit (4 x 256 KiB); with
 *    a chunk grown with the device (8 MiB on 16 TiB, 64 MiB on 1 PiB, as v3's
 *    chunk_maximum_count=2097152 gives) the first copy does not fit and the
 *    snapshot is corrupted.  The image reads back what the device held at
 *    TAKE, the origin what was written after;
 *  - admin_count_grows_chunk: an administrator who sets
 *    chunk_maximum_count=2097152 gets v3's grown chunk back (the same writes
 *    then overflow the same storage: the snapshot is corrupted, the origin
 *    still gets the writes).
 *
 * After TAKE the bodies fail with EXPECT and return, not ASSERT: the
 * harness's longjmp out of a failed ASSERT can lose the teardown (its
 * fork()ed `child` is not volatile), which would leave the snapshot and
 * its image name behind for the next variant.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include "kselftest_harness.h"
#include "snap.h"
#include "dev.h"

#define MIB (1ULL << 20)
#define TIB (1ULL << 40)
#define STORE_FILE "/tmp/trust_bigdisk.store"
#define NULLB_NAME "trust_bigdisk"

/* Distinct chunks whatever the chunk size (<= 64 MiB): 1 GiB apart at least. */
static uint64_t offsets(uint64_t size, int i)
{
	static const uint64_t frac[] = { 0, 3, 5, 7 };

	return (size / 8 * frac[i]) + (1ULL << 30) * i + 4096 * i;
}

FIXTURE(bigdisk) {
	int cfd;
	int ofd;		/* the null_blk origin */
	int sfd;		/* loop device: the difference storage */
	int ifd;		/* the image */
	bool memory_backed;
	bool have_snapshot;
	long count_param;	/* chunk_maximum_count before the test */
	char orig[64];
	char stor[64];
	struct blksnap_uuid id;
};

FIXTURE_VARIANT(bigdisk) {
	uint64_t mib;		/* null_blk size in MiB */
};

FIXTURE_VARIANT_ADD(bigdisk, tib16) { .mib = 16ULL << 20 };
FIXTURE_VARIANT_ADD(bigdisk, pib1) { .mib = 1ULL << 30 };

FIXTURE_SETUP(bigdisk)
{
	char size[32];
	const char *attrs[] = { size, "memory_backed=1", "?blocksize=512", NULL };
	int ret;

	self->cfd = -1;
	self->ofd = -1;
	self->sfd = -1;
	self->ifd = -1;
	self->count_param = -1;
	ASSERT_EQ(0, param_read("chunk_maximum_count", &self->count_param));
	snprintf(size, sizeof(size), "size=%llu",
		 (unsigned long long)variant->mib);
	nullb_remove(NULLB_NAME);	/* left over by a killed run */
	ret = nullb_create(NULLB_NAME, attrs, self->orig, sizeof(self->orig));
	self->memory_backed = !ret;
	if (ret && ret != -ENOENT) {
		attrs[1] = "memory_backed=0";
		ret = nullb_create(NULLB_NAME, attrs, self->orig,
				   sizeof(self->orig));
	}
	if (ret == -ENOENT)
		SKIP(return, "null_blk has no configfs interface here");
	ASSERT_EQ(0, ret) TH_LOG("null_blk of %llu MiB: %s",
				 (unsigned long long)variant->mib, strerror(-ret));
	self->ofd = open(self->orig, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->ofd);
	self->sfd = loop_create(STORE_FILE, 8, 0, self->stor, sizeof(self->stor));
	ASSERT_LE(0, self->sfd);
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, bf_attach(self->ofd));
}

FIXTURE_TEARDOWN(bigdisk)
{
	int ret;

	if (self->count_param >= 0)
		param_write_ll("chunk_maximum_count", self->count_param);
	if (self->ifd >= 0)
		close(self->ifd);
	if (self->have_snapshot) {
		ret = snap_destroy(self->cfd, &self->id);
		if (ret)
			fprintf(stderr, "# teardown: destroy: %s\n", strerror(-ret));
	}
	snap_destroy_all();	/* whatever a killed run left */
	if (self->ofd >= 0) {
		bf_detach(self->ofd);
		close(self->ofd);
	}
	if (self->cfd >= 0)
		close(self->cfd);
	if (self->sfd >= 0)
		loop_destroy(self->sfd, STORE_FILE);
	nullb_remove(NULLB_NAME);
	/* null_blk loaded here (nr_devices=0) would hide /dev/nullb0 from
	 * tests that load it with their own parameters (snap_scale)
	 */
	system("rmmod null_blk 2>/dev/null");
}

/*
 * Write the "before" pattern (memory-backed only), TAKE with 2 MiB of
 * storage, then write 4 KiB into four distinct chunks.
 */
static int take_and_write(struct __test_metadata *_metadata,
			  FIXTURE_DATA(bigdisk) *self, uint64_t size,
			  struct blksnap_snapshotinfo *info)
{
	int i, ret;

	for (i = 0; i < 4 && self->memory_backed; i++)
		if (sd_write_at(self->ofd, offsets(size, i), 4096, 0xb1))
			return -EIO;
	ret = snap_create(self->cfd, &self->id);
	if (ret)
		return ret;
	self->have_snapshot = true;
	ret = snap_add(self->ofd, &self->id);
	if (!ret)
		ret = snap_append_range(self->cfd, &self->id, self->stor, 0,
					2 * MIB / 512);
	if (!ret)
		ret = snap_take(self->cfd, &self->id);
	if (ret)
		return ret;
	for (i = 0; i < 4; i++)
		if (sd_write_at(self->ofd, offsets(size, i), 4096, 0xa2))
			return -EIO;
	return snap_info(self->ofd, info);
}

TEST_F_TIMEOUT(bigdisk, small_storage_suffices, 300)
{
	struct blksnap_snapshotinfo info;
	uint64_t size = variant->mib * MIB;
	int i;

	EXPECT_EQ(0, take_and_write(_metadata, self, size, &info))
		return;
	EXPECT_EQ(0, info.error_code)
		TH_LOG("snapshot corrupted (%d) by 4 first writes of 4 KiB into 2 MiB of storage: the chunk grew with the %llu TiB device",
		       info.error_code, (unsigned long long)(size / TIB));
	if (info.error_code)
		return;
	self->ifd = snap_open_image(self->ofd, O_RDONLY | O_DIRECT);
	EXPECT_LE(0, self->ifd)
		return;
	for (i = 0; i < 4; i++) {
		uint64_t off = offsets(size, i);

		if (self->memory_backed) {
			EXPECT_EQ(0, sd_check_at(self->ifd, off, 4096, 0xb1))
				TH_LOG("image at %llu: not the data at TAKE",
				       (unsigned long long)off);
			EXPECT_EQ(0, sd_check_at(self->ofd, off, 4096, 0xa2))
				TH_LOG("origin at %llu: not the new data",
				       (unsigned long long)off);
		} else {
			char *buf = NULL;

			EXPECT_EQ(0, posix_memalign((void **)&buf, 4096, 4096))
				return;
			EXPECT_EQ(4096, pread(self->ifd, buf, 4096, off));
			free(buf);
		}
	}
	/* the image's last sector, past every 32-bit chunk number */
	{
		char *buf = NULL;

		EXPECT_EQ(0, posix_memalign((void **)&buf, 4096, 4096))
			return;
		EXPECT_EQ(4096, pread(self->ifd, buf, 4096, size - 4096));
		free(buf);
	}
	EXPECT_EQ(0, snap_info(self->ofd, &info));
	EXPECT_EQ(0, info.error_code);
	if (!self->memory_backed)
		TH_LOG("null_blk refused memory_backed=1 at this size: data not checked");
}

TEST_F_TIMEOUT(bigdisk, admin_count_grows_chunk, 300)
{
	struct blksnap_snapshotinfo info;
	uint64_t size = variant->mib * MIB;
	int i;

	EXPECT_EQ(0, param_write("chunk_maximum_count", "2097152"))
		return;
	EXPECT_EQ(0, take_and_write(_metadata, self, size, &info))
		return;
	EXPECT_NE(0, info.error_code)
		TH_LOG("chunk_maximum_count=2097152 on %llu TiB: the chunk should be %llu MiB and overflow 2 MiB of storage",
		       (unsigned long long)(size / TIB),
		       (unsigned long long)(size / 2097152 / MIB));
	for (i = 0; i < 4 && self->memory_backed; i++)
		EXPECT_EQ(0, sd_check_at(self->ofd, offsets(size, i), 4096, 0xa2));
}

TEST_HARNESS_MAIN
