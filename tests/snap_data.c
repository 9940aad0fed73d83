// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshot data, byte for byte, with self-describing sectors: images keep
 * the pre-TAKE content while several threads overwrite the origins; chunk
 * boundaries on the origin and on the (writable) image; storage on the
 * snapshotted device itself; overflow; DESTROY under image I/O.
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

struct setup {
	int cfd;
	int fd[2];
	struct blksnap_uuid id;
};

static int setup_snapshot(struct setup *s, int ndev, const char *storage,
			  uint64_t soff, uint64_t ssect)
{
	char path[32];
	int i, ret;

	s->cfd = ctl_open();
	if (s->cfd < 0)
		return -errno;
	for (i = 0; i < ndev; i++) {
		snprintf(path, sizeof(path), "/dev/ram%d", i);
		s->fd[i] = open(path, O_RDWR | O_DIRECT);
		if (s->fd[i] < 0)
			return -errno;
		ret = bf_attach(s->fd[i]);
		if (ret && ret != -EALREADY)
			return ret;
		ret = sd_write_range(s->fd[i], 0, DEVSZ, i + 1, 1);
		if (ret)
			return ret;
	}
	ret = snap_create(s->cfd, &s->id);
	for (i = 0; i < ndev && !ret; i++)
		ret = snap_add(s->fd[i], &s->id);
	if (!ret)
		ret = snap_append_range(s->cfd, &s->id, storage, soff, ssect);
	if (!ret)
		ret = snap_take(s->cfd, &s->id);
	return ret;
}

static void teardown_snapshot(struct setup *s, int ndev)
{
	int i;

	snap_destroy(s->cfd, &s->id);
	for (i = 0; i < ndev; i++) {
		bf_detach(s->fd[i]);
		close(s->fd[i]);
	}
	close(s->cfd);
}

struct writer {
	int fd;
	uint32_t tag;
	unsigned int seed;
	uint64_t limit;		/* bytes of the device it may write */
	int ops;
	int err;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	void *buf = abuf(64 * 1024);
	int i;

	for (i = 0; i < w->ops && buf; i++) {
		size_t len = 4096 * (1 + rand_r(&w->seed) % 16);
		uint64_t off = (uint64_t)(rand_r(&w->seed) %
					  ((w->limit - len) / 4096)) * 4096;

		sd_fill(buf, len, w->tag, off / 512, 2);
		if (pwrite(w->fd, buf, len, off) != (ssize_t)len) {
			w->err = errno;
			break;
		}
	}
	free(buf);
	return NULL;
}

/*
 * Every test of this program releases what it used even when an ASSERT
 * stops it: brd devices, every snapshot, the module parameters.  Named
 * "global" so that the tests keep their names (global.NAME) in the results.
 */
FIXTURE(global) {
	struct scratch s;
};

FIXTURE_SETUP(global)
{
	scratch_save_params(&self->s);
}

FIXTURE_TEARDOWN_PARENT(global)
{
	static const char *const devs[] = {
		"/dev/ram0", "/dev/ram1", "/dev/ram2", "/dev/ram3", NULL,
	};

	scratch_release(NULL, devs, NULL, NULL);
	scratch_restore_params(&self->s);
}

/*
 * Two origins, storage on a third device, four writers on the origins, three
 * TAKE/DESTROY rounds: each image equals, byte for byte, its origin as it
 * was at TAKE.
 */
TEST_F(global, multi_device_point_in_time)
{
	void *pre[2], *img_data = abuf(DEVSZ);
	struct writer w[4];
	pthread_t th[4];
	struct setup s;
	int i, img, round;

	ASSERT_EQ(0, brd_ensure(4, 64));
	pre[0] = abuf(DEVSZ);
	pre[1] = abuf(DEVSZ);
	ASSERT_NE(NULL, img_data);
	ASSERT_EQ(0, setup_snapshot(&s, 2, "/dev/ram2", 0, DEVSZ / 512));
	for (round = 0; round < 3; round++) {
		if (round) {
			for (i = 0; i < 2; i++)
				ASSERT_EQ(0, read_all(s.fd[i], pre[i], DEVSZ));
			ASSERT_EQ(0, snap_destroy(s.cfd, &s.id));
			ASSERT_EQ(0, snap_create(s.cfd, &s.id));
			for (i = 0; i < 2; i++)
				ASSERT_EQ(0, snap_add(s.fd[i], &s.id));
			ASSERT_EQ(0, snap_append_range(s.cfd, &s.id,
						       "/dev/ram2", 0,
						       DEVSZ / 512));
			ASSERT_EQ(0, snap_take(s.cfd, &s.id));
		} else {
			for (i = 0; i < 2; i++)
				ASSERT_EQ(0, read_all(s.fd[i], pre[i], DEVSZ));
		}
		for (i = 0; i < 4; i++) {
			w[i] = (struct writer){ .fd = s.fd[i % 2],
						.tag = i % 2 + 1,
						.seed = 17 * i + round + 1,
						.limit = 24 * MIB, .ops = 400 };
			ASSERT_EQ(0, pthread_create(&th[i], NULL, writer_fn,
						    &w[i]));
		}
		for (i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			EXPECT_EQ(0, w[i].err);
		}
		for (i = 0; i < 2; i++) {
			img = snap_open_image(s.fd[i], O_RDONLY | O_DIRECT);
			ASSERT_LE(0, img);
			ASSERT_EQ(0, read_all(img, img_data, DEVSZ));
			EXPECT_EQ(0, memcmp(pre[i], img_data, DEVSZ))
				TH_LOG("round %d image %d", round, i);
			close(img);
			/* the origin above the writers' area is untouched */
			EXPECT_EQ(0, sd_check_range(s.fd[i], 24 * MIB,
						    DEVSZ - 24 * MIB, i + 1,
						    1));
		}
	}
	teardown_snapshot(&s, 2);
	free(pre[0]);
	free(pre[1]);
	free(img_data);
}

/* Writes at and across chunk borders, on the origin and on the image. */
TEST_F(global, chunk_boundaries)
{
	const uint64_t at[] = { 0, CHUNK - 512, CHUNK, 3 * CHUNK - 1024,
				10 * CHUNK + 512, DEVSZ - 512 };
	struct blksnap_snapshotinfo info;
	void *buf = abuf(4096), *rd = abuf(4096);
	struct setup s;
	unsigned int i;
	int img;

	ASSERT_EQ(0, brd_ensure(4, 64));
	ASSERT_EQ(0, setup_snapshot(&s, 1, "/dev/ram2", 0, DEVSZ / 512));
	/* origin: 1 KiB writes at borders (512-byte direct I/O) */
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		sd_fill(buf, 1024, 1, at[i] / 512, 2);
		ASSERT_EQ(at[i] + 1024 <= DEVSZ ? 1024 : 512,
			  pwrite(s.fd[0], buf, at[i] + 1024 <= DEVSZ ? 1024 : 512,
				 at[i]));
	}
	img = snap_open_image(s.fd[0], O_RDWR | O_DIRECT);
	ASSERT_LE(0, img);
	EXPECT_EQ(0, sd_check_range(img, 0, DEVSZ, 1, 1));
	/* image writes across borders read back exactly, neighbours intact */
	sd_fill(buf, 4096, 9, 0, 3);
	ASSERT_EQ(4096, pwrite(img, buf, 4096, 5 * CHUNK - 2048));
	ASSERT_EQ(4096, pread(img, rd, 4096, 5 * CHUNK - 2048));
	EXPECT_EQ(0, memcmp(buf, rd, 4096));
	EXPECT_EQ(0, sd_check_range(img, 5 * CHUNK - 2048 - 64 * 1024, 64 * 1024, 1, 1));
	EXPECT_EQ(0, sd_check_range(img, 5 * CHUNK + 2048, 64 * 1024, 1, 1));
	/* the origin never sees image writes */
	EXPECT_EQ(0, sd_check_range(s.fd[0], 4 * CHUNK, 2 * CHUNK, 1, 1));
	ASSERT_EQ(0, snap_info(s.fd[0], &info));
	EXPECT_EQ(0, info.error_code);
	close(img);
	teardown_snapshot(&s, 1);
	free(buf);
	free(rd);
}

/* Storage ranges interleaved with work ranges on the snapshotted device. */
TEST_F(global, storage_on_same_device)
{
	struct blksnap_sectors r[2] = {
		{ 8 * MIB / 512, 8 * MIB / 512 },
		{ 24 * MIB / 512, 8 * MIB / 512 },
	};
	int cfd, fd, img, i;
	struct blksnap_uuid id;

	ASSERT_EQ(0, brd_ensure(4, 64));
	cfd = ctl_open();
	fd = open("/dev/ram3", O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));
	ASSERT_EQ(0, sd_write_range(fd, 0, DEVSZ, 7, 1));
	ASSERT_EQ(0, snap_create(cfd, &id));
	ASSERT_EQ(0, snap_add(fd, &id));
	ASSERT_EQ(0, snap_append(cfd, &id, "/dev/ram3", r, 2));
	ASSERT_EQ(0, snap_take(cfd, &id));
	/* overwrite the work ranges [0, 8M) and [16M, 24M) */
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, sd_write_range(fd, (uint64_t)i * 16 * MIB, 8 * MIB, 7, 2));
	img = snap_open_image(fd, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, img);
	EXPECT_EQ(0, sd_check_range(img, 0, 8 * MIB, 7, 1));
	EXPECT_EQ(0, sd_check_range(img, 16 * MIB, 8 * MIB, 7, 1));
	close(img);
	EXPECT_EQ(0, sd_check_range(fd, 0, 8 * MIB, 7, 2));
	EXPECT_EQ(0, sd_check_range(fd, 16 * MIB, 8 * MIB, 7, 2));
	/* nothing outside the storage ranges was written by the module */
	EXPECT_EQ(0, sd_check_range(fd, 32 * MIB, 32 * MIB, 7, 1));
	EXPECT_EQ(0, snap_destroy(cfd, &id));
	EXPECT_EQ(0, bf_detach(fd));
	close(fd);
	close(cfd);
}

/* Too little storage: one corrupted event, EIO on the image, origin safe. */
TEST_F(global, overflow)
{
	struct blksnap_event_corrupted *c;
	struct blksnap_snapshot_event ev;
	struct blksnap_snapshotinfo info;
	void *buf = abuf(4096);
	struct setup s;
	int img, n;

	ASSERT_EQ(0, brd_ensure(4, 64));
	ASSERT_EQ(0, setup_snapshot(&s, 1, "/dev/ram2", 0, 2 * CHUNK / 512));
	EXPECT_EQ(0, snap_wait(s.cfd, &s.id, 0, &ev));	/* CREATE's */
	EXPECT_EQ(blksnap_event_code_low_free_space, ev.code);
	ASSERT_EQ(0, sd_write_range(s.fd[0], 0, 8 * MIB, 1, 2));	/* 32 chunks */
	/* a low-free-space event, then exactly one corrupted event */
	n = 0;
	while (!snap_wait(s.cfd, &s.id, 500, &ev)) {
		if (ev.code == blksnap_event_code_corrupted) {
			c = (void *)ev.data;
			EXPECT_EQ(1, c->dev_id_mj);
			EXPECT_EQ(0, c->dev_id_mn);
			EXPECT_EQ(ENOSPC, c->err_code);
			n++;
		}
	}
	EXPECT_EQ(1, n);
	ASSERT_EQ(0, snap_info(s.fd[0], &info));
	EXPECT_EQ(-ENOSPC, info.error_code);
	img = snap_open_image(s.fd[0], O_RDWR | O_DIRECT);
	ASSERT_LE(0, img);
	EXPECT_EQ(-1, pread(img, buf, 4096, 40 * MIB));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(-1, pwrite(img, buf, 4096, 40 * MIB));
	EXPECT_EQ(EIO, errno);
	close(img);
	/* the origin holds exactly what was written */
	EXPECT_EQ(0, sd_check_range(s.fd[0], 0, 8 * MIB, 1, 2));
	EXPECT_EQ(0, sd_check_range(s.fd[0], 8 * MIB, DEVSZ - 8 * MIB, 1, 1));
	ASSERT_EQ(0, snap_destroy(s.cfd, &s.id));
	/* a fresh snapshot of the same device starts clean */
	ASSERT_EQ(0, snap_create(s.cfd, &s.id));
	ASSERT_EQ(0, snap_add(s.fd[0], &s.id));
	ASSERT_EQ(0, snap_append_range(s.cfd, &s.id, "/dev/ram2", 0,
				       DEVSZ / 512));
	ASSERT_EQ(0, snap_take(s.cfd, &s.id));
	ASSERT_EQ(0, snap_info(s.fd[0], &info));
	EXPECT_EQ(0, info.error_code);
	teardown_snapshot(&s, 1);
	free(buf);
}

static atomic_int reading;

static void *reader_fn(void *arg)
{
	int img = *(int *)arg, errs = 0;
	void *buf = abuf(MIB);
	uint64_t off = 0;

	while (atomic_load(&reading) && errs < 100) {
		if (pread(img, buf, MIB, off) < 0)
			errs++;
		off = (off + MIB) % DEVSZ;
	}
	free(buf);
	return (void *)(long)errs;
}

/* DESTROY while the image is open and read, and the origin written. */
TEST_F(global, destroy_under_io)
{
	struct writer w = { .tag = 1, .seed = 5, .limit = 24 * MIB, .ops = 300 };
	pthread_t rt, wt;
	struct setup s;
	void *buf = abuf(4096);
	void *errs;
	int img;

	ASSERT_EQ(0, brd_ensure(4, 64));
	ASSERT_EQ(0, setup_snapshot(&s, 1, "/dev/ram2", 0, DEVSZ / 512));
	img = snap_open_image(s.fd[0], O_RDONLY | O_DIRECT);
	ASSERT_LE(0, img);
	w.fd = s.fd[0];
	atomic_store(&reading, 1);
	ASSERT_EQ(0, pthread_create(&rt, NULL, reader_fn, &img));
	ASSERT_EQ(0, pthread_create(&wt, NULL, writer_fn, &w));
	usleep(300000);
	ASSERT_EQ(0, snap_destroy(s.cfd, &s.id));
	pthread_join(wt, NULL);
	EXPECT_EQ(0, w.err);
	usleep(100000);
	atomic_store(&reading, 0);
	pthread_join(rt, &errs);
	/* after DESTROY the still-open image gives no data: EIO, or EOF once
	 * the disk is deleted (its capacity is then 0)
	 */
	errno = 0;
	EXPECT_GE(0, pread(img, buf, 4096, 0));
	EXPECT_TRUE(errno == 0 || errno == EIO);
	close(img);
	teardown_snapshot(&s, 1);
	free(buf);
}

TEST_HARNESS_MAIN
