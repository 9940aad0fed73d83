// SPDX-License-Identifier: GPL-2.0
/*
 * image_runs: image reads served in runs (module/image.c, image_read()):
 * neighbouring chunks whose data lie next to each other on one device go
 * down as one bio, a read that is one run is remapped in place, a longer
 * one is cut into clones at the borders where the mapping changes.  Reads
 * of every size and alignment across untouched chunks, copies stored one
 * after the other, copies stored out of order and chunks written through
 * the image must show the device as it was at TAKE (or the image write),
 * byte for byte, alone and while the origin is being written.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include "kselftest_harness.h"
#include "snap.h"
#include "util.h"
#include "fixture.h"

#define DEVSZ (64 * MIB)
#define CHUNK (256 * 1024)		/* default chunk of a 64 MiB device */
#define SPAN (24 * CHUNK)		/* the part of the device the tests use */

FIXTURE(runs) {
	struct scratch s;
	int cfd;
	int fd;
	struct blksnap_uuid id;
};

FIXTURE_SETUP(runs)
{
	scratch_save_params(&self->s);
	self->cfd = -1;
	self->fd = -1;
}

FIXTURE_TEARDOWN_PARENT(runs)
{
	static const char *const devs[] = { "/dev/ram0", "/dev/ram2", NULL };

	scratch_release(NULL, devs, NULL, NULL);
	scratch_restore_params(&self->s);
}

/* ram0 (tag 1) with a snapshot taken, its storage all of ram2. */
static int img_setup(int *cfd, int *fd, struct blksnap_uuid *id)
{
	int ret;

	ret = brd_ensure(4, 64);
	if (ret)
		return ret;
	*cfd = ctl_open();
	if (*cfd < 0)
		return -errno;
	*fd = open("/dev/ram0", O_RDWR | O_DIRECT);
	if (*fd < 0)
		return -errno;
	ret = bf_attach(*fd);
	if (ret && ret != -EALREADY)
		return ret;
	ret = sd_write_range(*fd, 0, DEVSZ, 1, 1);
	if (ret)
		return ret;
	return snap_create_take(*cfd, id, fd, 1, "/dev/ram2", 0, DEVSZ / 512);
}

/*
 * Origin writes (tag 2) that copy: chunks 2..5 in one go (copies stored
 * in order), 14 then 13 (stored the other way round), 8, 10 and 12 alone
 * (untouched neighbours between them).
 */
static int img_copy(int fd)
{
	static const struct { uint64_t off, len; } w[] = {
		{ 2 * CHUNK, 4 * CHUNK }, { 14 * CHUNK + 8192, 4096 },
		{ 13 * CHUNK, 4096 }, { 8 * CHUNK + 4096, 4096 },
		{ 10 * CHUNK, 512 * 8 }, { 12 * CHUNK + CHUNK - 4096, 4096 },
	};
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		ret = sd_write_range(fd, w[i].off, w[i].len, 2, 1);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Read [off, off + len) of @img in one pread and count the sectors that
 * are not as expected: tag 1 everywhere but [woff, woff + wlen), tag 9
 * (an image write).
 */
static long img_check(int img, void *buf, uint64_t off, size_t len,
		       uint64_t woff, uint64_t wlen)
{
	size_t i;
	long bad = 0;

	if (pread(img, buf, len, off) != (ssize_t)len)
		return -errno;
	for (i = 0; i < len; i += 512) {
		uint64_t pos = off + i;
		uint32_t tag = pos >= woff && pos < woff + wlen ? 9 : 1;

		bad += sd_check((char *)buf + i, 512, tag, pos / 512, 1);
	}
	return bad;
}

/* Reads of many sizes and alignments over untouched and copied chunks. */
TEST_F(runs, sizes_and_alignments)
{
	static const uint64_t lens[] = {
		512, 4096, 64 * 1024, CHUNK - 512, CHUNK, CHUNK + 4096,
		3 * CHUNK, MIB - 4096, MIB,
	};
	static const uint64_t starts[] = {
		0, 512, 4096, CHUNK / 2, CHUNK - 512, CHUNK, 2 * CHUNK - 4096,
		2 * CHUNK, 3 * CHUNK + 1024, 5 * CHUNK - 512, 7 * CHUNK + 512,
		8 * CHUNK, 9 * CHUNK + 4096, 11 * CHUNK - 1024, 12 * CHUNK + 512,
		13 * CHUNK - 4096, 14 * CHUNK - 512, 16 * CHUNK - 2048,
	};
	void *buf = abuf(MIB);
	unsigned int i, j;
	int img;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, img_setup(&self->cfd, &self->fd, &self->id));
	ASSERT_EQ(0, img_copy(self->fd));
	img = snap_open_image(self->fd, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, img);
	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			long bad = img_check(img, buf, starts[i], lens[j],
					      0, 0);

			EXPECT_EQ(0, bad)
				TH_LOG("read of %llu bytes at %llu: %ld bad",
				       (unsigned long long)lens[j],
				       (unsigned long long)starts[i], bad);
		}
	/* the whole span, 1 MiB reads at an odd offset */
	for (i = 0; i + MIB <= SPAN; i += MIB)
		EXPECT_EQ(0, img_check(img, buf, i + 3 * 512, MIB, 0, 0));
	/* the origin has the new data: the reads above did not go there */
	EXPECT_EQ(0, sd_check_range(self->fd, 2 * CHUNK, 4 * CHUNK, 2, 1));
	close(img);
	EXPECT_EQ(0, snap_destroy(self->cfd, &self->id));
	free(buf);
}

/* An image write copies its chunk: reads across it see both. */
TEST_F(runs, across_an_image_write)
{
	const uint64_t woff = 20 * CHUNK + 4096, wlen = 8192;
	void *buf = abuf(MIB), *w = abuf(wlen);
	int img;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, w);
	ASSERT_EQ(0, img_setup(&self->cfd, &self->fd, &self->id));
	img = snap_open_image(self->fd, O_RDWR | O_DIRECT);
	ASSERT_LE(0, img);
	sd_fill(w, wlen, 9, woff / 512, 1);
	ASSERT_EQ((ssize_t)wlen, pwrite(img, w, wlen, woff));
	EXPECT_EQ(0, img_check(img, buf, 19 * CHUNK + 512, MIB, woff, wlen));
	EXPECT_EQ(0, img_check(img, buf, 20 * CHUNK, 4096 * 3, woff, wlen));
	EXPECT_EQ(0, img_check(img, buf, 18 * CHUNK, MIB, woff, wlen));
	/* the origin keeps tag 1 there */
	EXPECT_EQ(0, sd_check_range(self->fd, 20 * CHUNK, CHUNK, 1, 1));
	close(img);
	EXPECT_EQ(0, snap_destroy(self->cfd, &self->id));
	free(buf);
	free(w);
}

struct img_writer {
	int fd;
	atomic_int stop;
	int err;
};

/* Random origin writes of 4..64 KiB over the span, tag 2, until stopped. */
static void *img_writer_fn(void *arg)
{
	struct img_writer *wr = arg;
	void *buf = abuf(64 * 1024);
	unsigned int seed = 7;

	while (buf && !atomic_load(&wr->stop)) {
		size_t len = 4096 * (1 + rand_r(&seed) % 16);
		uint64_t off = (uint64_t)(rand_r(&seed) %
					  ((SPAN - len) / 4096)) * 4096;

		sd_fill(buf, len, 2, off / 512, 1);
		if (pwrite(wr->fd, buf, len, off) != (ssize_t)len) {
			wr->err = errno;
			break;
		}
	}
	free(buf);
	return NULL;
}

/*
 * Image reads of random sizes and offsets while the origin's chunks are
 * being copied under them: every byte as it was at TAKE.
 */
TEST_F_TIMEOUT(runs, under_copy_on_write, 120)
{
	struct img_writer wr = { .err = 0 };
	void *buf = abuf(MIB);
	unsigned int seed = 3;
	struct blksnap_snapshotinfo info;
	pthread_t th;
	int i, img;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, img_setup(&self->cfd, &self->fd, &self->id));
	img = snap_open_image(self->fd, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, img);
	wr.fd = self->fd;
	atomic_init(&wr.stop, 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, img_writer_fn, &wr));
	for (i = 0; i < 3000; i++) {
		size_t len = 512 * (1 + rand_r(&seed) % (MIB / 512));
		uint64_t off = (uint64_t)(rand_r(&seed) %
					  ((SPAN - len) / 512 + 1)) * 512;
		long bad = img_check(img, buf, off, len, 0, 0);

		if (bad) {
			EXPECT_EQ(0, bad)
				TH_LOG("read of %zu bytes at %llu: %ld bad",
				       len, (unsigned long long)off, bad);
			break;
		}
	}
	atomic_store(&wr.stop, 1);
	pthread_join(th, NULL);
	EXPECT_EQ(0, wr.err);
	ASSERT_EQ(0, snap_info(self->fd, &info));
	EXPECT_EQ(0, info.error_code);
	close(img);
	EXPECT_EQ(0, snap_destroy(self->cfd, &self->id));
	free(buf);
}

TEST_HARNESS_MAIN
