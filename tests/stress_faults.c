// SPDX-License-Identifier: GPL-2.0
/*
 * Stress with faults.  For STRESS_SECONDS (default 45; `make stress` runs
 * longer), all at once:
 *
 *  - one writer per origin (/dev/ram0, /dev/ram1) writes self-describing
 *    blocks, each write with a new sequence number, and keeps a shadow table
 *    of the last completed sequence number of every 4 KiB block;
 *  - a snapshot thread loops CREATE / add both origins / APPEND_STORAGE /
 *    TAKE / read and verify both images / write to the images / DESTROY,
 *    with the storage, in turn: plenty; 1 MiB growing on low-free-space
 *    events (and overflowing when growth stops); a dm-flakey device that
 *    fails every I/O one second out of two;
 *  - a vanishing thread snapshots a loop device (or a dm-linear device on
 *    it) and pulls it away (LOOP_CLR_FD, dm remove) while the snapshot
 *    lives and is written to;
 *  - a churn thread attaches, reads CBT and detaches the filter on another
 *    loop device, and reads the CBT maps of the origins.
 *
 * Every image block must be a valid block of its origin whose sequence
 * number lies between the shadow value copied before TAKE and the last
 * write started when TAKE returned, the same for all its sectors; a
 * snapshot may only fail to read when it says it is corrupted.  At the end
 * each origin must equal its shadow table exactly: no fault ever harms it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "kselftest_harness.h"
#include "snap.h"
#include "dev.h"
#include "util.h"

#define DEVSZ (64 * MIB)
#define BLOCKS (DEVSZ / 4096)
/*
 * Writers stay in the first 16 MiB: at most 2 x 16 MiB of chunks to copy,
 * so "plenty" of storage (64 MiB) never overflows; the images are verified
 * whole.
 */
#define WBLOCKS (16 * MIB / 4096)
#define STORAGE_SECT (DEVSZ / 512)	/* all of /dev/ram2 */

static atomic_int stop;

struct origin {
	const char *path;
	uint32_t tag;
	int fd;
	atomic_uint seq;		/* last sequence number started */
	atomic_uint shadow[BLOCKS];	/* last completed per block */
	unsigned int seed;
	long writes;
	int err;
};

static struct origin org[2] = {
	{ .path = "/dev/ram0", .tag = 1, .seed = 11 },
	{ .path = "/dev/ram1", .tag = 2, .seed = 22 },
};

static void *writer_fn(void *arg)
{
	struct origin *o = arg;
	void *buf = abuf(16 * 4096);
	unsigned int i;

	while (buf && !atomic_load(&stop)) {
		unsigned int n = 1 + rand_r(&o->seed) % 16;
		unsigned int b = rand_r(&o->seed) % (WBLOCKS - n);
		unsigned int seq = atomic_fetch_add(&o->seq, 1) + 1;

		sd_fill(buf, n * 4096, o->tag, b * 8ULL, seq);
		if (pwrite(o->fd, buf, n * 4096, b * 4096LL) != n * 4096) {
			o->err = errno;
			break;
		}
		for (i = 0; i < n; i++)
			atomic_store(&o->shadow[b + i], seq);
		o->writes++;
	}
	free(buf);
	return NULL;
}

/*
 * Verify the image of @o: 0 if every block is right, the number of wrong
 * blocks, or -errno of the first failed read.
 */
static long verify_image(int img, struct origin *o, const unsigned int *lo,
			 unsigned int hi)
{
	const size_t step = MIB;
	struct sd_sector *s;
	void *buf = abuf(step);
	long bad = 0;
	uint64_t pos;
	size_t i;

	if (!buf)
		return -ENOMEM;
	for (pos = 0; pos < DEVSZ; pos += step) {
		if (pread(img, buf, step, pos) != (ssize_t)step) {
			bad = -errno;
			break;
		}
		for (i = 0; i < step / 4096; i++) {
			uint64_t b = pos / 4096 + i;
			uint32_t g;

			s = (struct sd_sector *)((char *)buf + i * 4096);
			g = s->gen;
			if (sd_check(s, 4096, o->tag, b * 8, g) || g < lo[b] ||
			    g > hi) {
				if (!bad)
					fprintf(stderr, "# %s image block %llu: tag %u sector %llu gen %u, want %u..%u\n",
						o->path, (unsigned long long)b,
						s->tag,
						(unsigned long long)s->sector,
						g, lo[b], hi);
				bad++;
			}
		}
	}
	free(buf);
	return bad;
}

/* Exact check of an origin against its shadow (writers stopped). */
static long verify_origin(struct origin *o)
{
	void *buf = abuf(MIB);
	long bad = 0;
	uint64_t pos;
	size_t i;

	for (pos = 0; pos < DEVSZ; pos += MIB) {
		if (pread(o->fd, buf, MIB, pos) != MIB) {
			bad = -errno;
			break;
		}
		for (i = 0; i < MIB / 4096; i++) {
			uint64_t b = pos / 4096 + i;

			if (sd_check((char *)buf + i * 4096, 4096, o->tag,
				     b * 8, atomic_load(&o->shadow[b])))
				bad++;
		}
	}
	free(buf);
	return bad;
}

/* Low-free-space answers for one snapshot: append the next piece of ram2. */
struct grower {
	int cfd;
	struct blksnap_uuid id;
	uint64_t next, limit;
	atomic_int done;
	int appends, corrupted;
};

static void *grower_fn(void *arg)
{
	struct grower *g = arg;
	struct blksnap_snapshot_event ev;

	while (!atomic_load(&g->done)) {
		if (snap_wait(g->cfd, &g->id, 100, &ev))
			continue;
		if (ev.code == blksnap_event_code_corrupted) {
			g->corrupted++;
		} else if (ev.code == blksnap_event_code_low_free_space) {
			uint64_t n = 2048;	/* 1 MiB at a time */

			if (g->next + n > g->limit)
				continue;	/* let it overflow */
			if (!snap_append_range(g->cfd, &g->id, "/dev/ram2",
					       g->next, n)) {
				g->next += n;
				g->appends++;
			}
		}
	}
	return NULL;
}

struct stats {
	long rounds, verified, corrupted, read_errors, image_writes, vanished;
	long churn;
	long bad;		/* wrong image blocks: must stay 0 */
	long errors;		/* unexpected errnos: must stay 0 */
};

static struct stats st;

#define FAIL(fmt, ...) do { \
	fprintf(stderr, "# " fmt "\n", ##__VA_ARGS__); st.errors++; \
} while (0)

/* Write to the image (it is writable) and read back; origins unaffected. */
static void image_write(int img, int round)
{
	void *w = abuf(8192), *r = abuf(8192);
	off_t off = (off_t)(round % 64) * 1024 * 1024 + 4096;

	memset(w, round, 8192);
	if (pwrite(img, w, 8192, off) == 8192 &&
	    pread(img, r, 8192, off) == 8192) {
		if (memcmp(w, r, 8192))
			FAIL("image write not read back (round %d)", round);
		st.image_writes++;
	}
	free(w);
	free(r);
}

static void snapshot_round(int cfd, int round)
{
	static unsigned int lo[2][BLOCKS];
	struct blksnap_snapshotinfo info;
	struct grower g = { .cfd = cfd };
	const char *storage = "/dev/ram2";
	pthread_t gt;
	int mode = round % 3, i, img, corrupted = 0;
	unsigned int hi[2];
	uint64_t count = STORAGE_SECT;
	char flaky[64];
	long r;

	if (snap_create(cfd, &g.id)) {
		FAIL("CREATE: %s", strerror(errno));
		return;
	}
	for (i = 0; i < 2; i++)
		if (snap_add(org[i].fd, &g.id))
			FAIL("snapshotadd %s: %s", org[i].path, strerror(errno));
	if (mode == 1) {
		count = 2048;
		g.next = 2048;
		g.limit = round % 2 ? STORAGE_SECT : 8192;	/* or overflow */
	} else if (mode == 2) {
		if (dm_create("bs_flaky", "flakey", 65536, "1:3 0 1 1", flaky,
			      sizeof(flaky)) || wait_for_node(flaky)) {
			FAIL("dm-flakey: %s", strerror(errno));
			mode = 0;
		} else {
			storage = flaky;
			count = 65536;
		}
	}
	if (snap_append_range(cfd, &g.id, storage, 0, count))
		FAIL("APPEND %s: %s", storage, strerror(errno));
	if (mode == 1)
		pthread_create(&gt, NULL, grower_fn, &g);
	for (i = 0; i < 2; i++) {
		unsigned int b;

		for (b = 0; b < BLOCKS; b++)
			lo[i][b] = atomic_load(&org[i].shadow[b]);
	}
	if (snap_take(cfd, &g.id))
		FAIL("TAKE (round %d, mode %d): %s", round, mode,
		     strerror(errno));
	for (i = 0; i < 2; i++)
		hi[i] = atomic_load(&org[i].seq);
	for (i = 0; i < 2; i++) {
		img = snap_open_image(org[i].fd, O_RDWR | O_DIRECT);
		if (img < 0) {
			FAIL("open image of %s: %s", org[i].path,
			     strerror(errno));
			continue;
		}
		r = verify_image(img, &org[i], lo[i], hi[i]);
		if (snap_info(org[i].fd, &info))
			info.error_code = 0;
		if (info.error_code) {
			corrupted = 1;		/* anything goes for the image */
		} else if (r < 0 && mode == 2) {
			/*
			 * A failed read of the flakey storage fails that
			 * image read; it does not corrupt the snapshot.
			 */
			st.read_errors++;
		} else if (r < 0) {
			FAIL("image of %s unreadable (%s) but not corrupted",
			     org[i].path, strerror(-r));
		} else {
			st.bad += r;
			st.verified++;
			image_write(img, round);
		}
		close(img);
	}
	st.corrupted += corrupted;
	if (mode == 1) {
		atomic_store(&g.done, 1);
		pthread_join(gt, NULL);
	}
	if (snap_destroy(cfd, &g.id))
		FAIL("DESTROY: %s", strerror(errno));
	if (mode == 2 && dm_remove("bs_flaky"))
		FAIL("dm remove flakey: %s", strerror(errno));
	st.rounds++;
}

static void *snapshot_fn(void *arg)
{
	int cfd = ctl_open(), round = 0;

	(void)arg;
	while (!atomic_load(&stop))
		snapshot_round(cfd, round++);
	close(cfd);
	return NULL;
}

/* Snapshot a device and pull it away underneath, with writes. */
static void *vanish_fn(void *arg)
{
	int cfd = ctl_open(), n = 0;
	void *buf = abuf(MIB);

	(void)arg;
	memset(buf, 0x5a, MIB);
	while (!atomic_load(&stop)) {
		struct blksnap_uuid id;
		char lpath[32], dpath[64];
		int lfd, fd, use_dm = n++ % 2, i, r;

		lfd = loop_create("/tmp/stress-vanish", 16, 0, lpath,
				  sizeof(lpath));
		if (lfd < 0) {
			FAIL("loop: %s", strerror(-lfd));
			break;
		}
		fd = lfd;
		if (use_dm) {
			struct stat sb;
			char tbl[64];

			fstat(lfd, &sb);
			snprintf(tbl, sizeof(tbl), "%u:%u 0", major(sb.st_rdev),
				 minor(sb.st_rdev));
			if (dm_create("bs_vanish", "linear", 32768, tbl, dpath,
				      sizeof(dpath)) || wait_for_node(dpath)) {
				FAIL("dm-linear on %s", lpath);
				loop_destroy(lfd, "/tmp/stress-vanish");
				break;
			}
			fd = open(dpath, O_RDWR | O_DIRECT);
		}
		r = fd < 0 ? -errno : bf_attach(fd);
		if ((!r || r == -EALREADY) &&
		    !snap_create_take(cfd, &id, &fd, 1, "/dev/ram3", 65536,
				      32768)) {
			for (i = 0; i < 4; i++)
				pwrite(fd, buf, MIB, (off_t)i * 2 * MIB);
			/* away with it: the snapshot must notice, not crash */
			if (use_dm) {
				close(fd);
				if (dm_remove("bs_vanish"))
					FAIL("dm remove: %s", strerror(errno));
			} else {
				ioctl(lfd, LOOP_CLR_FD, 0);
			}
			if (snap_destroy(cfd, &id))
				FAIL("DESTROY after removal: %s",
				     strerror(errno));
			st.vanished++;
		} else {
			FAIL("snapshot of %s: %s", use_dm ? dpath : lpath,
			     strerror(errno));
			if (use_dm && fd >= 0)
				close(fd);
			if (use_dm)
				dm_remove("bs_vanish");
		}
		if (!use_dm)	/* the node stays: so does the filter */
			bf_detach(lfd);
		loop_destroy(lfd, "/tmp/stress-vanish");
	}
	free(buf);
	close(cfd);
	return NULL;
}

/* Filter attach / CBT read / detach on a loop device; CBT of the origins. */
static void *churn_fn(void *arg)
{
	unsigned char map[512];
	struct blksnap_cbtinfo info;
	char path[32];
	int lfd, i;

	(void)arg;
	lfd = loop_create("/tmp/stress-churn", 16, 0, path, sizeof(path));
	if (lfd < 0)
		return NULL;
	while (!atomic_load(&stop)) {
		if (bf_attach(lfd)) {
			FAIL("attach %s: %s", path, strerror(errno));
			break;
		}
		pwrite(lfd, map, sizeof(map), 0);
		if (cbt_info(lfd, &info) || cbt_read(lfd, 0, sizeof(map), map) < 0)
			FAIL("cbt of %s: %s", path, strerror(errno));
		if (bf_detach(lfd))
			FAIL("detach %s: %s", path, strerror(errno));
		for (i = 0; i < 2; i++)
			if (cbt_info(org[i].fd, &info) ||
			    cbt_read(org[i].fd, 0, sizeof(map), map) < 0)
				FAIL("cbt of %s: %s", org[i].path,
				     strerror(errno));
		st.churn++;
		usleep(5000);
	}
	loop_destroy(lfd, "/tmp/stress-churn");
	return NULL;
}

FIXTURE(st) {
};

FIXTURE_SETUP(st)
{
}

FIXTURE_TEARDOWN(st)
{
}

TEST_F_TIMEOUT(st, stress, 86400)
{
	pthread_t wt[2], snt, vt, ct;
	long seconds = 45;
	int64_t t0;
	int ret;
	void *buf;
	char *e;
	int i;

	e = getenv("STRESS_SECONDS");
	if (e)
		seconds = atol(e);
	ASSERT_EQ(0, brd_ensure(4, 64));
	if (access("/sys/module/dm_flakey", F_OK))
		ASSERT_EQ(0, system("insmod /lib/modules/dm-flakey.ko"));
	buf = abuf(MIB);
	ASSERT_NE(NULL, buf);
	for (i = 0; i < 2; i++) {
		uint64_t pos;
		unsigned int b;

		org[i].fd = open(org[i].path, O_RDWR | O_DIRECT);
		ASSERT_LE(0, org[i].fd);
		for (pos = 0; pos < DEVSZ; pos += MIB) {
			sd_fill(buf, MIB, org[i].tag, pos / 512, 1);
			ASSERT_EQ(MIB, pwrite(org[i].fd, buf, MIB, pos));
		}
		for (b = 0; b < BLOCKS; b++)
			atomic_store(&org[i].shadow[b], 1);
		atomic_store(&org[i].seq, 1);
		ret = bf_attach(org[i].fd);
		ASSERT_TRUE(!ret || ret == -EALREADY);
	}
	free(buf);
	t0 = now_ms();
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&wt[i], NULL, writer_fn, &org[i]));
	ASSERT_EQ(0, pthread_create(&snt, NULL, snapshot_fn, NULL));
	ASSERT_EQ(0, pthread_create(&vt, NULL, vanish_fn, NULL));
	ASSERT_EQ(0, pthread_create(&ct, NULL, churn_fn, NULL));
	while (now_ms() - t0 < seconds * 1000 && !st.errors && !st.bad)
		usleep(200000);
	atomic_store(&stop, 1);
	pthread_join(snt, NULL);
	pthread_join(vt, NULL);
	pthread_join(ct, NULL);
	for (i = 0; i < 2; i++) {
		pthread_join(wt[i], NULL);
		EXPECT_EQ(0, org[i].err);
	}
	fprintf(stderr, "# FIGURE stress seconds=%lld rounds=%ld images_verified=%ld (%lld MiB) corrupted_rounds=%ld storage_read_errors=%ld image_writes=%ld vanished=%ld churn=%ld writes=%ld+%ld\n",
		(long long)(now_ms() - t0) / 1000, st.rounds, st.verified,
		(long long)(st.verified * (DEVSZ / MIB)), st.corrupted,
		st.read_errors,
		st.image_writes, st.vanished, st.churn, org[0].writes,
		org[1].writes);
	EXPECT_EQ(0, st.errors);
	EXPECT_EQ(0, st.bad);
	/* the faults must really have happened, or this proved nothing */
	EXPECT_LT(2, st.rounds);
	EXPECT_LT(0, st.verified);
	EXPECT_LT(0, st.vanished);
	EXPECT_LT(0, st.corrupted);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, verify_origin(&org[i])) TH_LOG("%s", org[i].path);
		EXPECT_EQ(0, bf_detach(org[i].fd));
		close(org[i].fd);
	}
}

TEST_HARNESS_MAIN
