// SPDX-License-Identifier: GPL-2.0
/*
 * Trust of the copy-on-write engine and the images (issues 13 and 20):
 *
 *  - image_name_taken: a snapshot of a device re-created with the number
 *    of one whose snapshot still exists cannot add its image; TAKE fails
 *    with EEXIST and leaves nothing behind (the storage device is closed
 *    again), and succeeds once the old snapshot is destroyed;
 *  - image_name_free_after_destroy: a destroyed snapshot's image, still
 *    open, does not keep its name;
 *  - image_read_vs_corruption, image_read_vs_destroy: an image read in
 *    flight (the origin's reads held 2 s by dm-delay) while the snapshot
 *    breaks, and a write to the origin that then skips copy-on-write lands
 *    before the read: the read fails or returns the old data, never the new;
 *  - cow_memory_bound: eight writers to eight 64 MiB chunks at once with
 *    chunk_maximum_in_queue=8 hold at most one chunk buffer, not 512 MiB;
 *  - buffer_pool_size: free_diff_buffer_pool_size decides whether a chunk
 *    buffer is kept after a copy;
 *  - unload_after_last_close: the last close of a destroyed snapshot's
 *    image races with the module's unload, many times;
 *  - stacked_storage_loop: difference storage that maps (dm-linear, table
 *    swapped after APPEND) onto the snapshotted device itself: the first
 *    copy-on-write neither hangs nor recurses, the snapshot is corrupted
 *    with ELOOP, DESTROY works.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <signal.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "snap.h"
#include "dev.h"
#include "util.h"

#define KO_PATH "/ko/blksnap.ko"

static void sleep_ms(int ms)
{
	usleep(ms * 1000);
}

static long sysfs_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Wait up to @ms for brd's module reference count to become @want. */
static long wait_brd_refcnt(long want, int ms)
{
	long n = sysfs_long("/sys/module/brd/refcnt");

	while (n != want && ms > 0) {
		sleep_ms(10);
		ms -= 10;
		n = sysfs_long("/sys/module/brd/refcnt");
	}
	return n;
}

/*
 * Free memory in KiB: the buddy allocator's free pages plus the pages on
 * the per-CPU lists (freed pages wait there, MemFree does not count them),
 * from /proc/zoneinfo.
 */
static long mem_free_kib(void)
{
	char line[256];
	long v, pages = 0;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " pages free %ld", &v) == 1 ||
		    sscanf(line, " count: %ld", &v) == 1)
			pages += v;
	fclose(f);
	return pages * (sysconf(_SC_PAGESIZE) / 1024);
}

static dev_t rdev_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : st.st_rdev;
}

/* Load a guest module from /lib/modules unless /sys/module/@sysname exists. */
static int module_ensure(const char *sysname, const char *file,
			 const char *args)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "/sys/module/%s", sysname);
	if (!access(cmd, F_OK))
		return 0;
	snprintf(cmd, sizeof(cmd), "insmod /lib/modules/%s %s", file, args);
	return system(cmd) ? -ENODEV : 0;
}

/* null_blk with two devices of @gb GiB that store nothing. */
static int nullb_setup(int gb)
{
	char args[128];
	int ret;

	if (!access("/sys/module/null_blk", F_OK) && system("rmmod null_blk"))
		return -EBUSY;
	snprintf(args, sizeof(args), "nr_devices=2 gb=%d memory_backed=0", gb);
	ret = module_ensure("null_blk", "null_blk.ko", args);
	if (!ret)
		ret = wait_for_node("/dev/nullb1");
	return ret;
}

#define NDM 4

FIXTURE(tc) {
	int cfd;
	int fd[2];
	int img[2];
	struct blksnap_uuid id[2];
	bool have_id[2];
	char dm[NDM][16];
	bool hung;
	long chunk_minimum_shift;
	long chunk_maximum_in_queue;
	long free_diff_buffer_pool_size;
	bool nullb;
};

FIXTURE_SETUP(tc)
{
	int i;

	memset(self, 0, sizeof(*self));
	for (i = 0; i < 2; i++)
		self->fd[i] = self->img[i] = -1;
	ASSERT_EQ(0, brd_ensure(4, 64));
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, param_read("chunk_minimum_shift",
				&self->chunk_minimum_shift));
	ASSERT_EQ(0, param_read("chunk_maximum_in_queue",
				&self->chunk_maximum_in_queue));
	ASSERT_EQ(0, param_read("free_diff_buffer_pool_size",
				&self->free_diff_buffer_pool_size));
}

FIXTURE_TEARDOWN(tc)
{
	int i;

	if (self->hung)		/* a task is stuck in the kernel: leave all */
		return;
	for (i = 0; i < 2; i++)
		if (self->img[i] >= 0)
			close(self->img[i]);
	for (i = 0; i < 2; i++)
		if (self->have_id[i])
			snap_destroy(self->cfd, &self->id[i]);
	snap_destroy_all();	/* whatever a failed test left */
	for (i = 0; i < 2; i++) {
		if (self->fd[i] < 0)
			continue;
		bf_detach(self->fd[i]);
		close(self->fd[i]);
	}
	for (i = NDM - 1; i >= 0; i--)
		if (self->dm[i][0])
			dm_remove(self->dm[i]);
	param_write_ll("chunk_minimum_shift", self->chunk_minimum_shift);
	param_write_ll("chunk_maximum_in_queue", self->chunk_maximum_in_queue);
	param_write_ll("free_diff_buffer_pool_size",
		       self->free_diff_buffer_pool_size);
	if (self->nullb)
		system("rmmod null_blk");
	close(self->cfd);
}

/* dm device @name in fixture slot @slot; its node goes to @path. */
static int tc_dm(FIXTURE_DATA(tc) *self, int slot, const char *name,
		 const char *type, uint64_t len, const char *params,
		 char *path, size_t plen)
{
	int ret = dm_create(name, type, len, params, path, plen);

	if (ret)
		return ret;
	snprintf(self->dm[slot], sizeof(self->dm[slot]), "%s", name);
	return wait_for_node(path);
}

/* Open @path, attach the filter; fixture slot @slot. */
static int tc_attach(FIXTURE_DATA(tc) *self, int slot, const char *path)
{
	self->fd[slot] = open(path, O_RDWR | O_DIRECT);
	if (self->fd[slot] < 0)
		return -errno;
	return bf_attach(self->fd[slot]);
}

static int tc_take(FIXTURE_DATA(tc) *self, int slot, const char *storage,
		   uint64_t offset, uint64_t count)
{
	int ret = snap_create(self->cfd, &self->id[slot]);

	if (ret)
		return ret;
	self->have_id[slot] = true;
	ret = snap_add(self->fd[slot], &self->id[slot]);
	if (!ret)
		ret = snap_append_range(self->cfd, &self->id[slot], storage,
					offset, count);
	if (!ret)
		ret = snap_take(self->cfd, &self->id[slot]);
	return ret;
}

static int tc_destroy(FIXTURE_DATA(tc) *self, int slot)
{
	self->have_id[slot] = false;
	return snap_destroy(self->cfd, &self->id[slot]);
}

/*
 * Issue 13.8.  The first snapshot keeps its image although its device went
 * away; a second device gets the same number; its snapshot's image would
 * have the same name.  Before: add_disk() failed on the sysfs name (a
 * "cannot create duplicate filename" trace) and the diff_area reference
 * the disk was given leaked with the tracker, the snapshot and its open
 * storage (/dev/ram3 stayed open: brd's reference count).
 */
TEST_F(tc, image_name_taken)
{
	char p1[64], p2[64];
	long brd_base;
	dev_t d1, d2;

	brd_base = sysfs_long("/sys/module/brd/refcnt");
	ASSERT_LE(0, brd_base);
	ASSERT_EQ(0, tc_dm(self, 0, "tc_o1", "linear", 65536, "/dev/ram0 0",
			   p1, sizeof(p1)));
	d1 = rdev_of(p1);
	ASSERT_EQ(0, tc_attach(self, 0, p1));
	ASSERT_EQ(0, sd_write_range(self->fd[0], 0, MIB, 1, 1));
	ASSERT_EQ(0, tc_take(self, 0, "/dev/ram2", 0, 65536));
	/* the device goes away; its snapshot (and image) stay */
	bf_detach(self->fd[0]);
	close(self->fd[0]);
	self->fd[0] = -1;
	ASSERT_EQ(0, dm_remove("tc_o1"));
	self->dm[0][0] = 0;
	EXPECT_EQ(ENODEV, snap_wait_corrupted(self->cfd, &self->id[0], 3000));

	ASSERT_EQ(0, tc_dm(self, 1, "tc_o2", "linear", 65536, "/dev/ram1 0",
			   p2, sizeof(p2)));
	d2 = rdev_of(p2);
	if (d2 != d1)
		SKIP(return, "dm gave the new device %u:%u, not %u:%u",
		     major(d2), minor(d2), major(d1), minor(d1));
	ASSERT_EQ(0, tc_attach(self, 1, p2));
	ASSERT_EQ(0, sd_write_range(self->fd[1], 0, MIB, 2, 1));
	EXPECT_EQ(-EEXIST, tc_take(self, 1, "/dev/ram3", 0, 65536));

	/* once the old snapshot is gone, the same snapshot can be taken */
	ASSERT_EQ(0, tc_destroy(self, 0));
	ASSERT_EQ(0, snap_take(self->cfd, &self->id[1]));
	self->img[1] = snap_open_image(self->fd[1], O_RDONLY | O_DIRECT);
	ASSERT_LE(0, self->img[1]);
	EXPECT_EQ(0, sd_check_range(self->img[1], 0, MIB, 2, 1));
	close(self->img[1]);
	self->img[1] = -1;
	ASSERT_EQ(0, tc_destroy(self, 1));
	ASSERT_EQ(0, bf_detach(self->fd[1]));
	close(self->fd[1]);
	self->fd[1] = -1;
	ASSERT_EQ(0, dm_remove("tc_o2"));
	self->dm[1][0] = 0;
	/* both snapshots freed: /dev/ram2 and /dev/ram3 are closed again */
	EXPECT_EQ(brd_base, wait_brd_refcnt(brd_base, 5000));
}

/*
 * A destroyed snapshot's image that is still open has no name any more
 * (del_gendisk() removed it): a new device with the old number gets its
 * image, and the old one only fails.
 */
TEST_F(tc, image_name_free_after_destroy)
{
	char p1[64], p2[64], buf[4096] __attribute__((aligned(4096)));
	dev_t d1, d2;

	ASSERT_EQ(0, tc_dm(self, 0, "tc_o1", "linear", 65536, "/dev/ram0 0",
			   p1, sizeof(p1)));
	d1 = rdev_of(p1);
	ASSERT_EQ(0, tc_attach(self, 0, p1));
	ASSERT_EQ(0, sd_write_range(self->fd[0], 0, MIB, 1, 1));
	ASSERT_EQ(0, tc_take(self, 0, "/dev/ram2", 0, 65536));
	self->img[0] = snap_open_image(self->fd[0], O_RDONLY | O_DIRECT);
	ASSERT_LE(0, self->img[0]);
	ASSERT_EQ(0, tc_destroy(self, 0));
	ASSERT_EQ(0, bf_detach(self->fd[0]));
	close(self->fd[0]);
	self->fd[0] = -1;
	ASSERT_EQ(0, dm_remove("tc_o1"));
	self->dm[0][0] = 0;

	ASSERT_EQ(0, tc_dm(self, 1, "tc_o2", "linear", 65536, "/dev/ram1 0",
			   p2, sizeof(p2)));
	d2 = rdev_of(p2);
	if (d2 != d1)
		SKIP(return, "dm gave the new device %u:%u, not %u:%u",
		     major(d2), minor(d2), major(d1), minor(d1));
	ASSERT_EQ(0, tc_attach(self, 1, p2));
	ASSERT_EQ(0, sd_write_range(self->fd[1], 0, MIB, 2, 1));
	ASSERT_EQ(0, tc_take(self, 1, "/dev/ram3", 0, 65536));
	self->img[1] = snap_open_image(self->fd[1], O_RDONLY | O_DIRECT);
	ASSERT_LE(0, self->img[1]);
	EXPECT_EQ(0, sd_check_range(self->img[1], 0, MIB, 2, 1));
	/* the old image fails (or, at capacity 0, reads nothing) */
	EXPECT_GE(0, pread(self->img[0], buf, sizeof(buf), 0));
}

struct reader {
	int fd;
	uint64_t off;
	size_t len;
	int delay_ms;
	ssize_t ret;
	int err;
	void *buf;
	int64_t done_ms;
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;

	sleep_ms(r->delay_ms);
	r->ret = pread(r->fd, r->buf, r->len, r->off);
	r->err = errno;
	r->done_ms = now_ms();
	return NULL;
}

struct destroyer {
	int cfd;
	struct blksnap_uuid id;
	int delay_ms;
	int ret;
};

static void *destroyer_fn(void *arg)
{
	struct destroyer *d = arg;

	sleep_ms(d->delay_ms);
	d->ret = snap_destroy(d->cfd, &d->id);
	return NULL;
}

#define RD_OFF (2 * MIB)	/* the chunk the image reads */
#define RD_LEN (64 * 1024)

/* Origin: dm-delay over /dev/ram0 holding reads 2 s, writes not at all. */
static int delayed_origin(FIXTURE_DATA(tc) *self)
{
	char path[64];
	int ret;

	if (module_ensure("dm_delay", "dm-delay.ko", ""))
		return -ENODEV;
	ret = tc_dm(self, 0, "tc_dly", "delay", 65536,
		    "/dev/ram0 0 2000 /dev/ram0 0 0", path, sizeof(path));
	if (!ret)
		ret = tc_attach(self, 0, path);
	if (!ret)
		ret = sd_write_range(self->fd[0], 0, 4 * MIB, 3, 1);
	return ret;
}

/*
 * Issues 13.9 and 20: the image read of an untouched chunk is in flight
 * (held below) when a write to another chunk finds the storage failing
 * and corrupts the snapshot; then a write to the chunk being read passes
 * without copy-on-write and lands before the read.  Before: the read
 * returned that new data with success.
 */
TEST_F(tc, image_read_vs_corruption)
{
	struct reader r = { .off = RD_OFF, .len = RD_LEN, .delay_ms = 800 };
	char err[64];
	pthread_t t;
	int ret;

	ret = delayed_origin(self);
	if (ret == -ENODEV)
		SKIP(return, "dm-delay (dm_delay.ko) not available");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, tc_dm(self, 1, "tc_err", "error", 65536, "", err,
			   sizeof(err)));
	ASSERT_EQ(0, tc_take(self, 0, err, 0, 65536));
	r.fd = self->img[0] = snap_open_image(self->fd[0], O_RDONLY | O_DIRECT);
	ASSERT_LE(0, r.fd);
	r.buf = abuf(RD_LEN);
	ASSERT_EQ(0, pthread_create(&t, NULL, reader_fn, &r));
	/* copy-on-write of chunk 0: 2 s reading, then the storage fails */
	EXPECT_EQ(0, sd_write_range(self->fd[0], 0, 64 * 1024, 3, 2));
	/* no copy any more: lands at once, the image read is still held */
	EXPECT_EQ(0, sd_write_range(self->fd[0], RD_OFF, RD_LEN, 3, 2));
	pthread_join(t, NULL);
	EXPECT_EQ(EIO, snap_wait_corrupted(self->cfd, &self->id[0], 3000));
	if (r.ret == (ssize_t)RD_LEN) {
		/* served before the snapshot broke: must be the old data */
		EXPECT_EQ(0, sd_check(r.buf, RD_LEN, 3, RD_OFF / 512, 1));
		TH_LOG("image read succeeded; %zu of %d sectors new",
		       sd_check(r.buf, RD_LEN, 3, RD_OFF / 512, 1), (int)(RD_LEN / 512));
	} else {
		EXPECT_EQ(-1, r.ret);
		EXPECT_EQ(EIO, r.err);
	}
	free(r.buf);
}

/*
 * Issue 13.9: the image read is in flight when DESTROY stops
 * copy-on-write; a write to the chunk read lands before the read.  Before:
 * the read returned the new data with success.
 */
TEST_F(tc, image_read_vs_destroy)
{
	struct reader r = { .off = RD_OFF, .len = RD_LEN, .delay_ms = 0 };
	struct destroyer d = { .cfd = self->cfd, .delay_ms = 500 };
	pthread_t t, td;
	int ret;

	ret = delayed_origin(self);
	if (ret == -ENODEV)
		SKIP(return, "dm-delay (dm_delay.ko) not available");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, tc_take(self, 0, "/dev/ram2", 0, 65536));
	r.fd = self->img[0] = snap_open_image(self->fd[0], O_RDONLY | O_DIRECT);
	ASSERT_LE(0, r.fd);
	r.buf = abuf(RD_LEN);
	d.id = self->id[0];
	self->have_id[0] = false;
	ASSERT_EQ(0, pthread_create(&t, NULL, reader_fn, &r));
	ASSERT_EQ(0, pthread_create(&td, NULL, destroyer_fn, &d));
	sleep_ms(1100);
	/* copy-on-write is off: lands at once, the image read is held */
	EXPECT_EQ(0, sd_write_range(self->fd[0], RD_OFF, RD_LEN, 3, 2));
	pthread_join(t, NULL);
	pthread_join(td, NULL);
	EXPECT_EQ(0, d.ret);
	if (r.ret == (ssize_t)RD_LEN) {
		EXPECT_EQ(0, sd_check(r.buf, RD_LEN, 3, RD_OFF / 512, 1));
	} else {
		EXPECT_EQ(-1, r.ret);
		EXPECT_EQ(EIO, r.err);
	}
	free(r.buf);
}

#define NWRITERS 8
#define CHUNK64 (64 * MIB)

struct sampler {
	atomic_int stop;
	long min_free;
};

static void *sampler_fn(void *arg)
{
	struct sampler *s = arg;

	while (!atomic_load(&s->stop)) {
		long f = mem_free_kib();

		if (f >= 0 && f < s->min_free)
			s->min_free = f;
		sleep_ms(5);
	}
	return NULL;
}

struct cow_writer {
	int fd;
	uint64_t off;
	int ret;
};

static void *cow_writer_fn(void *arg)
{
	struct cow_writer *w = arg;

	w->ret = sd_write_range(w->fd, w->off, 4096, 4, 1);
	return NULL;
}

/* nullb0 (origin, attached) and storage on nullb1, 64 MiB chunks. */
static int big_chunks(FIXTURE_DATA(tc) *self, int in_queue)
{
	int ret = nullb_setup(4);

	if (ret)
		return ret;
	self->nullb = true;
	ret = param_write_ll("chunk_minimum_shift", 26);
	if (!ret)
		ret = param_write_ll("chunk_maximum_in_queue", in_queue);
	if (!ret)
		ret = tc_attach(self, 0, "/dev/nullb0");
	return ret;
}

/*
 * Issue 13.9: in-flight copy-on-write memory is bounded in bytes.  Eight
 * writers hit eight 64 MiB chunks at once, the storage holds each write
 * 20 ms (a chunk is 64 writes; dm-delay, where the kernel has it).
 * Before: chunk_maximum_in_queue (8) buffers of 64 MiB at once, 512 MiB.
 * Now: 32 MiB worth, at least one chunk: 64 MiB.
 */
TEST_F_TIMEOUT(tc, cow_memory_bound, 120)
{
	struct cow_writer w[NWRITERS];
	pthread_t t[NWRITERS], ts;
	struct sampler s = { .min_free = 1L << 40 };
	struct blksnap_snapshotinfo info;
	char sto[64];
	long base, peak;
	int i;

	int ret = big_chunks(self, NWRITERS);

	if (ret == -ENODEV)
		SKIP(return, "null_blk not available");
	ASSERT_EQ(0, ret);
	if (module_ensure("dm_delay", "dm-delay.ko", "")) {
		/* copies overlap less, the bound holds all the same */
		TH_LOG("no dm-delay: storage writes not held");
		strcpy(sto, "/dev/nullb1");
	} else {
		ASSERT_EQ(0, tc_dm(self, 1, "tc_sdly", "delay", 4194304,
				   "/dev/nullb1 0 0 /dev/nullb1 0 20", sto,
				   sizeof(sto)));
	}
	ASSERT_EQ(0, tc_take(self, 0, sto, 0, 4194304));
	base = mem_free_kib();
	s.min_free = base;
	ASSERT_EQ(0, pthread_create(&ts, NULL, sampler_fn, &s));
	for (i = 0; i < NWRITERS; i++) {
		w[i].fd = self->fd[0];
		w[i].off = i * CHUNK64 + 8192;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, cow_writer_fn, &w[i]));
	}
	for (i = 0; i < NWRITERS; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, w[i].ret);
	}
	atomic_store(&s.stop, 1);
	pthread_join(ts, NULL);
	peak = (base - s.min_free) / 1024;
	TH_LOG("chunk buffers at the peak: about %ld MiB", peak);
	EXPECT_GT(160, peak);
	ASSERT_EQ(0, snap_info(self->fd[0], &info));
	EXPECT_EQ(0, info.error_code);
}

/* MiB that stay allocated after one copy of a 64 MiB chunk. */
static long kept_after_copy(FIXTURE_DATA(tc) *self, int slot_off)
{
	long before, after;

	before = mem_free_kib();
	if (sd_write_range(self->fd[0], slot_off * CHUNK64, 4096, 5, 1))
		return -1;
	sleep_ms(200);
	after = mem_free_kib();
	return (before - after) / 1024;
}

/*
 * Issue 13.9: free_diff_buffer_pool_size is the number of chunk buffers
 * kept for reuse.  Before: ignored (and none was kept for chunks over
 * 16 MiB), so the setting 1 kept nothing.
 */
TEST_F_TIMEOUT(tc, buffer_pool_size, 120)
{
	int ret = big_chunks(self, 16);
	long kept0, kept1;

	if (ret == -ENODEV)
		SKIP(return, "null_blk not available");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, param_write_ll("free_diff_buffer_pool_size", 0));
	ASSERT_EQ(0, tc_take(self, 0, "/dev/nullb1", 0, 4194304));
	kept0 = kept_after_copy(self, 1);
	ASSERT_EQ(0, tc_destroy(self, 0));
	ASSERT_EQ(0, param_write_ll("free_diff_buffer_pool_size", 1));
	ASSERT_EQ(0, tc_take(self, 0, "/dev/nullb1", 0, 4194304));
	kept1 = kept_after_copy(self, 2);
	TH_LOG("kept after a copy: %ld MiB with 0, %ld MiB with 1", kept0,
	       kept1);
	EXPECT_GT(24, kept0);
	EXPECT_LT(48, kept1);
}

static int delete_module(const char *name, unsigned int flags)
{
	return syscall(SYS_delete_module, name, flags) ? -errno : 0;
}

static int load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * Issue 20: the last close of a destroyed snapshot's image (in a child
 * that exits, so the close runs in its exit path) races with unloading the
 * module, retried until the module reference is gone.  Before: the block
 * layer's module_put() came before the disk's last put, whose ->free_disk
 * ran module code (the diff_area, tracker, snapshot and storage release)
 * while the exit did not wait for it.  At most 15 rounds or 60 s (each
 * load patches kernel text: seconds under emulation).
 */
TEST_F_TIMEOUT(tc, unload_after_last_close, 280)
{
	char buf[4096] __attribute__((aligned(4096)));
	int64_t t0 = now_ms();
	int i, ret, img, fd, status;
	pid_t pid;

	close(self->cfd);
	self->cfd = -1;
	for (i = 0; i < 15 && now_ms() - t0 < 60000; i++) {
		struct blksnap_uuid id;
		int cfd = ctl_open();

		ASSERT_LE(0, cfd);
		fd = open("/dev/ram0", O_RDWR | O_DIRECT);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, bf_attach(fd));
		ASSERT_EQ(0, snap_create_take(cfd, &id, &fd, 1, "/dev/ram2",
					      0, 65536));
		img = snap_open_image(fd, O_RDONLY | O_DIRECT);
		ASSERT_LE(0, img);
		ASSERT_EQ(4096, pread(img, buf, sizeof(buf), 0));
		ASSERT_EQ(0, snap_destroy(cfd, &id));
		ASSERT_EQ(0, bf_detach(fd));
		close(fd);
		close(cfd);
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			usleep(i % 5 * 100);
			_exit(0);	/* the last close of the image */
		}
		close(img);
		do {
			ret = delete_module("blksnap", O_NONBLOCK);
		} while (ret == -EAGAIN || ret == -EWOULDBLOCK ||
			 ret == -EBUSY);
		ASSERT_EQ(0, ret);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_EQ(0, load_module(KO_PATH));
	}
	TH_LOG("%d rounds in %lld ms", i, (long long)(now_ms() - t0));
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
}

/*
 * Issue 13.4: the storage is a dm-linear device that, after TAKE (a
 * table swap), maps onto the snapshotted device itself.  The first copy's
 * storage write comes back to the filter and needs a copy of its own.
 * Before: that write went to the filter's worker, which waited for the
 * chunk lock the copier held (or for itself): the origin write never
 * returned and DESTROY hung.  Now: corrupted with ELOOP, the write
 * completes, DESTROY works.  The write runs in a child, bounded to 20 s.
 */
TEST_F(tc, stacked_storage_loop)
{
	char sto[64];
	int status, waited;
	pid_t pid;

	ASSERT_EQ(0, tc_dm(self, 1, "tc_stk", "linear", 65536, "/dev/ram3 0",
			   sto, sizeof(sto)));
	ASSERT_EQ(0, tc_attach(self, 0, "/dev/ram0"));
	ASSERT_EQ(0, sd_write_range(self->fd[0], 0, MIB, 6, 1));
	ASSERT_EQ(0, snap_create(self->cfd, &self->id[0]));
	self->have_id[0] = true;
	ASSERT_EQ(0, snap_add(self->fd[0], &self->id[0]));
	ASSERT_EQ(0, snap_append_range(self->cfd, &self->id[0], sto, 0,
				       65536));
	ASSERT_EQ(0, snap_take(self->cfd, &self->id[0]));
	/*
	 * The storage now lands in the second half of the origin: swapped
	 * after TAKE, where APPEND's and TAKE's checks (-ELOOP) cannot see it.
	 */
	ASSERT_EQ(0, dm_reload("tc_stk", "linear", 65536, "/dev/ram0 65536"));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(sd_write_range(self->fd[0], 0, 4096, 6, 2) ? 1 : 0);
	for (waited = 0; waited < 20000; waited += 50) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		sleep_ms(50);
	}
	if (waited >= 20000) {
		self->hung = true;
		ASSERT_TRUE(0) TH_LOG("origin write still blocked after 20 s");
	}
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(ELOOP, snap_wait_corrupted(self->cfd, &self->id[0], 3000));
	EXPECT_EQ(0, tc_destroy(self, 0));
	EXPECT_EQ(0, sd_check_range(self->fd[0], 0, 4096, 6, 2));
}

TEST_HARNESS_MAIN
