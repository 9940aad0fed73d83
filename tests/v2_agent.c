// SPDX-License-Identifier: GPL-2.0
/*
 * A backup agent written for the v2 interface only (/dev/blksnap,
 * <linux/blk_snap.h>), as agents of the December 2022 series were: every
 * device named by its dev_t, tracking started by SNAPSHOT_CREATE, images
 * found with COLLECT_IMAGES and opened as /dev/blksnap-image<minor>.
 *
 * One run: CREATE of two devices, APPEND_STORAGE by dev_id, TAKE while
 * four threads write to both origins, COLLECT_IMAGES, each image checked
 * sector by sector against what the origin held at TAKE, a full backup
 * of one image, DESTROY; writes; a second CREATE/TAKE, an incremental from
 * READ_CBT_MAP onto the full backup, compared byte for byte with the
 * second image; DESTROY, TRACKER_REMOVE.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "kselftest_harness.h"
#include "snap.h"
#include "v2.h"
#include "util.h"

#define DEVSZ (64 * MIB)
#define NSECT (DEVSZ / 512)
#define NWRITERS 4
#define WREGION (8 * MIB)	/* each writer's region of its origin */
#define MAXLOG 20000

static const char *const devs[] = { "/dev/ram0", "/dev/ram1", "/dev/ram2",
				    "/dev/ram3" };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Fill all of @fd with sd_fill(@tag, generation @gen). */
static int fill_dev(int fd, uint32_t tag, uint32_t gen)
{
	void *buf = abuf(MIB);
	uint64_t pos;
	int ret = 0;

	for (pos = 0; pos < DEVSZ && !ret; pos += MIB) {
		sd_fill(buf, MIB, tag, pos / 512, gen);
		if (pwrite(fd, buf, MIB, pos) != MIB)
			ret = -errno;
	}
	free(buf);
	return ret;
}

struct wlog {
	uint64_t sector, nsect;
	uint32_t gen;
	uint64_t t0, t1;	/* before the write, after it returned */
};

struct writer {
	int fd;
	uint32_t tag;
	uint64_t base;		/* byte offset of its region */
	uint32_t gen0;
	unsigned int seed;
	atomic_int *stop;
	struct wlog *log;
	int n;
	int err;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	void *buf = abuf(64 * 1024);

	while (buf && !atomic_load(w->stop) && w->n < MAXLOG) {
		size_t len = 4096 * (1 + rand_r(&w->seed) % 16);
		uint64_t off = w->base + (uint64_t)(rand_r(&w->seed) %
				((WREGION - len) / 4096)) * 4096;
		struct wlog *l = &w->log[w->n];

		l->sector = off / 512;
		l->nsect = len / 512;
		l->gen = w->gen0 + w->n;
		sd_fill(buf, len, w->tag, l->sector, l->gen);
		l->t0 = now_ns();
		if (pwrite(w->fd, buf, len, off) != (ssize_t)len) {
			w->err = errno;
			break;
		}
		l->t1 = now_ns();
		w->n++;
	}
	free(buf);
	return NULL;
}

/*
 * May sector @s of writer @w's region hold generation @gen in an image
 * taken between @ts and @te?  The last write of it that completed before
 * @ts (generation 1 if none), or any write of it that overlapped the TAKE.
 * A write that started after @te must never be seen.
 */
static bool gen_allowed(const struct writer *w, uint64_t s, uint32_t gen,
			uint64_t ts, uint64_t te)
{
	uint32_t before = 1;
	int i;

	for (i = 0; i < w->n; i++) {
		const struct wlog *l = &w->log[i];

		if (s < l->sector || s >= l->sector + l->nsect)
			continue;
		if (l->t1 < ts)
			before = l->gen;
		else if (l->t0 <= te && l->gen == gen)
			return true;
	}
	return gen == before;
}

FIXTURE(agent) {
	int fd;
	int ofd[2];
	int bfd;			/* the backup of image 0: /dev/ram3 */
	struct blk_snap_dev orig[2], stor;
};

FIXTURE_SETUP(agent)
{
	int i;

	ASSERT_EQ(0, brd_ensure(4, 64));
	v2_cleanup(devs, 4);
	self->fd = v2_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", V2_DEV, strerror(errno));
	for (i = 0; i < 2; i++) {
		self->ofd[i] = open(devs[i], O_RDWR | O_DIRECT);
		ASSERT_LE(0, self->ofd[i]);
		self->orig[i] = v2_dev_of(devs[i]);
		ASSERT_EQ(0, fill_dev(self->ofd[i], i + 1, 1));
	}
	self->stor = v2_dev_of(devs[2]);
	self->bfd = open(devs[3], O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->bfd);
}

FIXTURE_TEARDOWN(agent)
{
	v2_cleanup(devs, 4);
	close(self->bfd);
	close(self->ofd[0]);
	close(self->ofd[1]);
	close(self->fd);
}

/* Copy the blocks of @img whose map byte is above @n onto @bfd. */
static long copy_changed(int img, int bfd, const uint8_t *map,
			 unsigned int blk_count, unsigned int blk_size, int n)
{
	void *buf = abuf(blk_size);
	long copied = 0;
	unsigned int i;

	for (i = 0; i < blk_count && copied >= 0; i++) {
		uint64_t off = (uint64_t)i * blk_size;
		size_t len = DEVSZ - off < blk_size ? DEVSZ - off : blk_size;

		if (n >= 0 && map[i] <= n)
			continue;
		if (pread(img, buf, len, off) != (ssize_t)len ||
		    pwrite(bfd, buf, len, off) != (ssize_t)len)
			copied = -errno;
		else
			copied++;
	}
	free(buf);
	return copied;
}

TEST_F_TIMEOUT(agent, full_then_incremental, 600)
{
	struct blk_snap_version ver = { 9, 9, 9, 9 };
	struct blk_snap_image_info images[4];
	struct blk_snap_cbt_info info1, info2;
	struct writer w[NWRITERS];
	pthread_t th[NWRITERS];
	struct blk_snap_uuid id;
	atomic_int stop = 0;
	uint64_t ts, te;
	uint8_t *map = malloc(1 << 20);
	void *img_data = abuf(DEVSZ), *bak = abuf(DEVSZ);
	unsigned int n, i, k;
	long bad, copied;
	int img, d;

	ASSERT_NE(NULL, map);
	ASSERT_NE(NULL, img_data);
	ASSERT_NE(NULL, bak);
	ASSERT_EQ(0, v2_ioctl(self->fd, IOCTL_BLK_SNAP_VERSION, &ver));
	EXPECT_EQ(1, ver.major);
	EXPECT_EQ(0, ver.minor);
	EXPECT_EQ(0, ver.revision);
	EXPECT_EQ(0, ver.build);

	/* 1. CREATE starts tracking; storage by dev_id */
	ASSERT_EQ(0, v2_create(self->fd, self->orig, 2, &id));
	ASSERT_EQ(0, v2_cbt_info(self->fd, self->orig[0], &info1));
	ASSERT_EQ(0, v2_cbt_info(self->fd, self->orig[1], &info2));
	EXPECT_EQ(DEVSZ, info1.device_capacity);
	ASSERT_EQ(0, v2_append_range(self->fd, &id, self->stor, 0, NSECT));
	EXPECT_EQ(-ENODEV, v2_collect_images(self->fd, &id, images, 4, &n));

	/* 2. TAKE under four writers, two per origin */
	for (i = 0; i < NWRITERS; i++) {
		w[i] = (struct writer){
			.fd = self->ofd[i % 2], .tag = i % 2 + 1,
			.base = (i / 2) * WREGION + 8 * MIB,
			.gen0 = 2 + i * MAXLOG, .seed = 31 * i + 7,
			.stop = &stop, .log = calloc(MAXLOG, sizeof(struct wlog)),
		};
		ASSERT_NE(NULL, w[i].log);
		ASSERT_EQ(0, pthread_create(&th[i], NULL, writer_fn, &w[i]));
	}
	usleep(200000);
	ts = now_ns();
	ASSERT_EQ(0, v2_take(self->fd, &id));
	te = now_ns();
	usleep(300000);
	atomic_store(&stop, 1);
	for (i = 0; i < NWRITERS; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, w[i].err);
		TH_LOG("writer %u: %d writes", i, w[i].n);
	}
	TH_LOG("TAKE took %llu ms", (unsigned long long)(te - ts) / 1000000);

	/* 3. COLLECT_IMAGES; /dev/blksnap-image<minor> */
	ASSERT_EQ(0, v2_collect_images(self->fd, &id, images, 4, &n));
	ASSERT_EQ(2, n);
	for (d = 0; d < 2; d++) {
		img = v2_open_image(self->fd, &id, self->orig[d],
				    O_RDONLY | O_DIRECT);
		ASSERT_LE(0, img) TH_LOG("image of %s: %d", devs[d], img);
		ASSERT_EQ(0, read_all(img, img_data, DEVSZ));
		close(img);
		bad = 0;
		for (k = 0; k < NSECT; k++) {
			const struct sd_sector *s =
				(const struct sd_sector *)img_data + k;
			const struct writer *wr = NULL;

			for (i = 0; i < NWRITERS; i++)
				if (w[i].fd == self->ofd[d] &&
				    k * 512ULL >= w[i].base &&
				    k * 512ULL < w[i].base + WREGION)
					wr = &w[i];
			/* byte for byte the sector of (tag, k, its gen) */
			if (sd_check(s, 512, d + 1, k, s->gen) ||
			    (wr ? !gen_allowed(wr, k, s->gen, ts, te) :
				  s->gen != 1)) {
				if (!bad)
					TH_LOG("image %d sector %u: gen %u tag %u",
					       d, k, s->gen, s->tag);
				bad++;
			}
		}
		EXPECT_EQ(0, bad) TH_LOG("image %d: %ld bad sectors", d, bad);
	}

	/* 4. full backup of image 0, its CBT state */
	ASSERT_EQ(0, v2_cbt_info(self->fd, self->orig[0], &info1));
	img = v2_open_image(self->fd, &id, self->orig[0], O_RDONLY | O_DIRECT);
	ASSERT_LE(0, img);
	copied = copy_changed(img, self->bfd, map, info1.blk_count,
			      info1.blk_size, -1);
	EXPECT_EQ(info1.blk_count, copied);
	close(img);
	ASSERT_EQ(0, v2_destroy(self->fd, &id));
	EXPECT_EQ(-ENODEV, v2_destroy(self->fd, &id));

	/* 5. writes between the backups, a second snapshot */
	ASSERT_EQ(0, sd_write_at(self->ofd[0], 40 * MIB, MIB, 77));
	ASSERT_EQ(0, sd_write_at(self->ofd[0], 60 * MIB + 4096, 4096, 78));
	ASSERT_EQ(0, v2_create(self->fd, self->orig, 2, &id));
	ASSERT_EQ(0, v2_append_range(self->fd, &id, self->stor, 0, NSECT));
	ASSERT_EQ(0, v2_take(self->fd, &id));
	ASSERT_EQ(0, v2_cbt_info(self->fd, self->orig[0], &info2));
	EXPECT_EQ(0, memcmp(&info1.generation_id, &info2.generation_id,
			    sizeof(info1.generation_id)));
	EXPECT_LT(info1.snap_number, info2.snap_number);
	EXPECT_EQ(info1.blk_count, info2.blk_count);
	ASSERT_GE(1 << 20, info2.blk_count);
	ASSERT_EQ((int)info2.blk_count,
		  v2_read_map_all(self->fd, self->orig[0], map,
				  info2.blk_count));
	/* the blocks written in step 5 are marked */
	for (k = 40 * MIB / info2.blk_size; k < 41 * MIB / info2.blk_size; k++)
		EXPECT_LT(info1.snap_number, map[k]);
	EXPECT_LT(info1.snap_number, map[(60 * MIB + 4096) / info2.blk_size]);

	/* 6. the incremental onto the full backup equals the image */
	img = v2_open_image(self->fd, &id, self->orig[0], O_RDONLY | O_DIRECT);
	ASSERT_LE(0, img);
	copied = copy_changed(img, self->bfd, map, info2.blk_count,
			      info2.blk_size, info1.snap_number);
	ASSERT_LE(0, copied);
	EXPECT_GT(info2.blk_count, copied);
	TH_LOG("incremental: %ld of %u blocks", copied, info2.blk_count);
	ASSERT_EQ(0, read_all(img, img_data, DEVSZ));
	ASSERT_EQ(0, read_all(self->bfd, bak, DEVSZ));
	EXPECT_EQ(0, memcmp(img_data, bak, DEVSZ));
	EXPECT_EQ(0, sd_check_at(img, 40 * MIB, MIB, 77));
	close(img);

	/* 7. DESTROY, TRACKER_REMOVE: nothing left */
	ASSERT_EQ(0, v2_destroy(self->fd, &id));
	for (d = 0; d < 2; d++) {
		EXPECT_EQ(0, v2_remove(self->fd, self->orig[d]));
		EXPECT_EQ(-ENODATA, v2_remove(self->fd, self->orig[d]));
		EXPECT_EQ(-ENOENT, v2_cbt_info(self->fd, self->orig[d], &info1));
		EXPECT_EQ(-ENODATA, v2_read_map(self->fd, self->orig[d], 0,
						16, map));
	}
	for (i = 0; i < NWRITERS; i++)
		free(w[i].log);
	free(map);
	free(img_data);
	free(bak);
}

/* Image names follow v2: minors from 0, reused after DESTROY. */
TEST_F(agent, image_names_reused)
{
	struct blk_snap_image_info images[2], again[2];
	struct blk_snap_uuid id;
	char path[64];
	unsigned int n;
	struct stat st;

	ASSERT_EQ(0, v2_create(self->fd, self->orig, 2, &id));
	ASSERT_EQ(0, v2_append_range(self->fd, &id, self->stor, 0, NSECT));
	ASSERT_EQ(0, v2_take(self->fd, &id));
	ASSERT_EQ(0, v2_collect_images(self->fd, &id, images, 2, &n));
	ASSERT_EQ(2, n);
	EXPECT_NE(images[0].image_dev_id.mn, images[1].image_dev_id.mn);
	EXPECT_GT(2, images[0].image_dev_id.mn) TH_LOG("minors from 0");
	EXPECT_GT(2, images[1].image_dev_id.mn);
	v2_image_path(path, sizeof(path), images[0].image_dev_id);
	ASSERT_EQ(0, wait_for_node(path));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(images[0].image_dev_id.mj, major(st.st_rdev));
	EXPECT_EQ(images[0].image_dev_id.mn, minor(st.st_rdev));
	EXPECT_EQ(self->orig[0].mj, images[0].orig_dev_id.mj);
	EXPECT_EQ(self->orig[0].mn, images[0].orig_dev_id.mn);
	ASSERT_EQ(0, v2_destroy(self->fd, &id));
	usleep(100000);
	EXPECT_NE(0, access(path, F_OK));

	ASSERT_EQ(0, v2_create(self->fd, self->orig, 2, &id));
	ASSERT_EQ(0, v2_append_range(self->fd, &id, self->stor, 0, NSECT));
	ASSERT_EQ(0, v2_take(self->fd, &id));
	ASSERT_EQ(0, v2_collect_images(self->fd, &id, again, 2, &n));
	ASSERT_EQ(2, n);
	EXPECT_GT(2, again[0].image_dev_id.mn) TH_LOG("minors reused");
	EXPECT_GT(2, again[1].image_dev_id.mn);
	ASSERT_EQ(0, v2_destroy(self->fd, &id));
}

TEST_HARNESS_MAIN
