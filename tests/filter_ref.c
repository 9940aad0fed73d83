// SPDX-License-Identifier: GPL-2.0
/*
 * The filter reference (issue 18 item 4): struct bf_ref counts the bios
 * inside a filter and the writes below it; a freeze kills it and waits
 * for zero, and its switch to atomic mode waits for an expedited RCU
 * grace period, never for a normal one.  What must hold:
 *
 *  - take.without_normal_grace_period: CREATE, snapshotadd, APPEND_STORAGE
 *    and TAKE back to back, as an agent does them: the TAKE ioctl must
 *    cost what it costs 100 ms after APPEND_STORAGE (settled), not a
 *    normal RCU grace period more (medians of 15; the difference under half
 *    of a grace period measured with membarrier(MEMBARRIER_CMD_GLOBAL) in
 *    the same rounds).  Before: snapshotadd switched the percpu_ref to
 *    atomic mode through call_rcu and TAKE waited for that grace period
 *    (under TCG, medians: 6.1 18.6 ms back to back, 4.0 ms settled, a
 *    grace period 15.0 ms; 6.12 23.4, 4.5 and 15.6 ms).
 *  - take.cycles_under_writes: two threads write 4 KiB blocks of a
 *    null_blk device that completes every bio from a timer (hard
 *    interrupt: the puts of the writes race with every switch, kill and
 *    resurrect), while 20 CREATE..TAKE..DESTROY cycles run.  In each
 *    cycle every block of the image, read twice (the second read after
 *    more writes), is one whole write, no older than the last write
 *    completed before TAKE started and no newer than the last one started
 *    before TAKE returned; both reads agree byte for byte.  At the end the
 *    origin holds every block's last write.  A lost put hangs a freeze; a
 *    count that reached zero too early lets a write land under a taken
 *    image.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
#include "kselftest_harness.h"
#include "snap.h"
#include "util.h"
#include "dev.h"
#include "fixture.h"

#define NULLB_NAME	"filter_ref"
#define DEVSZ		(32 * MIB)
#define BLK		4096
#define NBLK		(DEVSZ / BLK)
#define NWRITERS	2
#define WREGION		(8 * MIB)	/* each writer's own blocks */
#define TAG		7
#define NROUNDS		15

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double now_msf(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct wstate {
	int fd;
	int idx;
	atomic_int *stop;
	_Atomic uint32_t *started;	/* per block: generation being written */
	_Atomic uint32_t *done;		/* per block: last one completed */
	unsigned int seed;
	long writes;
	int err;
};

static void *writer_fn(void *arg)
{
	struct wstate *w = arg;
	uint64_t first = (uint64_t)w->idx * WREGION / BLK;
	void *buf = abuf(BLK);
	uint32_t gen;
	uint64_t b;

	if (!buf) {
		w->err = ENOMEM;
		return NULL;
	}
	while (!atomic_load(w->stop)) {
		b = first + rand_r(&w->seed) % (WREGION / BLK);
		gen = atomic_load(&w->started[b]) + 1;
		atomic_store(&w->started[b], gen);
		sd_fill(buf, BLK, TAG, b * (BLK / 512), gen);
		if (pwrite(w->fd, buf, BLK, b * BLK) != BLK) {
			w->err = errno;
			break;
		}
		atomic_store(&w->done[b], gen);
		w->writes++;
	}
	free(buf);
	return NULL;
}

/*
 * Torn down by the parent (the fixture is shared memory), so that an
 * ASSERT that stops the test still releases the devices: the writer
 * threads die with the test's process.
 */
FIXTURE(take) {
	char node[64];
	int fd, cfd;
	bool nullb;
	atomic_int stop;
	pthread_t th[NWRITERS];
	int nth;
	struct wstate w[NWRITERS];
	_Atomic uint32_t *started, *done;
	uint32_t *lo, *hi;
	void *img1, *img2;
};

FIXTURE_SETUP(take)
{
	self->fd = -1;
	self->cfd = -1;
	self->nth = 0;
	self->nullb = false;
	ASSERT_EQ(0, brd_ensure(4, 64));
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
	snap_destroy_all();
}

FIXTURE_TEARDOWN_PARENT(take)
{
	static const char *const devs[] = { "/dev/ram0", NULL };

	scratch_release(NULL, devs, NULL, NULL);
	if (self->nullb) {
		bf_detach_path(self->node);
		nullb_remove(NULLB_NAME);
		/* null_blk loaded here (nr_devices=0) hides /dev/nullb0 */
		system("rmmod null_blk 2>/dev/null");
	}
}

/* One normal RCU grace period, as user space can wait for one. */
static double grace_period_ms(void)
{
	double t0 = now_msf();

	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		return -1;
	return now_msf() - t0;
}

/*
 * CREATE, snapshotadd, APPEND_STORAGE of @fd, a pause of @pause_ms, TAKE:
 * the time of the TAKE ioctl alone in *@take_ms.
 */
static int create_take_timed(int cfd, int fd, struct blksnap_uuid *id,
			     int pause_ms, double *take_ms)
{
	double t0;
	int ret = snap_create(cfd, id);

	if (!ret)
		ret = snap_add(fd, id);
	if (!ret)
		ret = snap_append_range(cfd, id, "/dev/ram2", 0,
					64 * MIB / 512);
	if (ret)
		return ret;
	if (pause_ms)
		usleep(pause_ms * 1000);
	t0 = now_msf();
	ret = snap_take(cfd, id);
	*take_ms = now_msf() - t0;
	return ret;
}

/* CREATE, snapshotadd, APPEND_STORAGE (ram2), TAKE of @fd. */
static int create_take(int cfd, int fd, struct blksnap_uuid *id)
{
	double ms;

	return create_take_timed(cfd, fd, id, 0, &ms);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

TEST_F_TIMEOUT(take, without_normal_grace_period, 240)
{
	double seq[NROUNDS], settled[NROUNDS], gp[NROUNDS], s, d, g;
	struct blksnap_uuid id;
	int i;

	long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_GLOBAL))
		SKIP(return, "no membarrier(MEMBARRIER_CMD_GLOBAL) to time a grace period (CONFIG_MEMBARRIER)");
	self->fd = open("/dev/ram0", O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, bf_attach(self->fd));
	for (i = 0; i < NROUNDS; i++) {
		ASSERT_EQ(0, create_take_timed(self->cfd, self->fd, &id, 0,
					       &seq[i]));
		ASSERT_EQ(0, snap_destroy(self->cfd, &id));
		ASSERT_EQ(0, create_take_timed(self->cfd, self->fd, &id, 100,
					       &settled[i]));
		ASSERT_EQ(0, snap_destroy(self->cfd, &id));
		gp[i] = grace_period_ms();
		ASSERT_LT(0, gp[i]);
		TH_LOG("round %d: TAKE %.1f ms back to back, %.1f ms settled; grace period %.1f ms",
		       i, seq[i], settled[i], gp[i]);
	}
	s = median(seq, NROUNDS);
	d = median(settled, NROUNDS);
	g = median(gp, NROUNDS);
	TH_LOG("medians: TAKE %.1f ms back to back, %.1f ms settled; grace period %.1f ms",
	       s, d, g);
	/* back to back costs what a settled TAKE does, not a grace period */
	EXPECT_GT(0.5 * g, s - d);
}

/* Every block of @img is one write of a generation in [lo, hi]. */
static long check_image(const uint8_t *img, const uint32_t *lo,
			const uint32_t *hi, struct __test_metadata *_metadata)
{
	long bad = 0;
	uint64_t b;

	for (b = 0; b < NBLK; b++) {
		const uint8_t *p = img + b * BLK;
		uint32_t gen = ((const struct sd_sector *)p)->gen;

		if (gen < lo[b] || gen > hi[b] ||
		    sd_check(p, BLK, TAG, b * (BLK / 512), gen)) {
			if (bad++ < 5)
				TH_LOG("block %llu: gen %u, expected %u..%u, %zu bad sectors",
				       (unsigned long long)b, gen, lo[b], hi[b],
				       sd_check(p, BLK, TAG, b * (BLK / 512), gen));
		}
	}
	return bad;
}

TEST_F_TIMEOUT(take, cycles_under_writes, 600)
{
	const char *attrs[] = { "size=32", "memory_backed=1", "irqmode=2",
				"completion_nsec=20000", "blocksize=4096", NULL };
	struct blksnap_uuid id;
	int cycle, i, img, ret;
	long writes = 0;
	uint64_t b;

	nullb_remove(NULLB_NAME);
	ret = nullb_create(NULLB_NAME, attrs, self->node, sizeof(self->node));
	if (ret == -ENOENT)
		SKIP(return, "null_blk has no configfs interface here");
	ASSERT_EQ(0, ret);
	self->nullb = true;
	self->fd = open(self->node, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, sd_write_range(self->fd, 0, DEVSZ, TAG, 1));
	ASSERT_EQ(0, bf_attach(self->fd));

	self->started = calloc(NBLK, sizeof(*self->started));
	self->done = calloc(NBLK, sizeof(*self->done));
	self->lo = calloc(NBLK, sizeof(*self->lo));
	self->hi = calloc(NBLK, sizeof(*self->hi));
	self->img1 = abuf(DEVSZ);
	self->img2 = abuf(DEVSZ);
	ASSERT_TRUE(self->started && self->done && self->lo && self->hi &&
		    self->img1 && self->img2);
	for (b = 0; b < NBLK; b++) {
		atomic_store(&self->started[b], 1);
		atomic_store(&self->done[b], 1);
	}
	for (i = 0; i < NWRITERS; i++) {
		self->w[i] = (struct wstate){
			.fd = self->fd, .idx = i, .stop = &self->stop,
			.started = self->started, .done = self->done,
			.seed = 31 * i + 7,
		};
		ASSERT_EQ(0, pthread_create(&self->th[i], NULL, writer_fn,
					    &self->w[i]));
		self->nth++;
	}

	for (cycle = 0; cycle < 20; cycle++) {
		for (b = 0; b < NBLK; b++)
			self->lo[b] = atomic_load(&self->done[b]);
		ASSERT_EQ(0, create_take(self->cfd, self->fd, &id));
		for (b = 0; b < NBLK; b++)
			self->hi[b] = atomic_load(&self->started[b]);
		img = snap_open_image(self->fd, O_RDONLY | O_DIRECT);
		ASSERT_LE(0, img);
		ASSERT_EQ(0, read_all(img, self->img1, DEVSZ));
		EXPECT_EQ(0, check_image(self->img1, self->lo, self->hi,
					 _metadata))
			TH_LOG("cycle %d: first read", cycle);
		usleep(50000);		/* more writes, copied on write */
		ASSERT_EQ(0, read_all(img, self->img2, DEVSZ));
		EXPECT_EQ(0, memcmp(self->img1, self->img2, DEVSZ))
			TH_LOG("cycle %d: the image changed", cycle);
		close(img);
		ASSERT_EQ(0, snap_destroy(self->cfd, &id));
		for (i = 0; i < NWRITERS; i++)
			ASSERT_EQ(0, self->w[i].err);
	}

	atomic_store(&self->stop, 1);
	for (i = 0; i < self->nth; i++) {
		pthread_join(self->th[i], NULL);
		EXPECT_EQ(0, self->w[i].err);
		writes += self->w[i].writes;
	}
	self->nth = 0;
	TH_LOG("%ld writes during 20 cycles", writes);
	EXPECT_LT(20 * NWRITERS, writes);
	/* the origin holds every block's last write, nothing else */
	ASSERT_EQ(0, read_all(self->fd, self->img1, DEVSZ));
	for (b = 0; b < NBLK; b++)
		self->lo[b] = self->hi[b] = atomic_load(&self->done[b]);
	EXPECT_EQ(0, check_image(self->img1, self->lo, self->hi, _metadata));
	free(self->started);
	free(self->done);
	free(self->lo);
	free(self->hi);
	free(self->img1);
	free(self->img2);
}

TEST_HARNESS_MAIN
