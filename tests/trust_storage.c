// SPDX-License-Identifier: GPL-2.0
/*
 * Trust, difference storage (issues 13 and 20): what APPEND_STORAGE must
 * refuse and what it must do while copy-on-write runs.
 *
 * - overlap_*: a range that intersects a range already given to this or to
 *   another live snapshot, or another range of the same request, gets
 *   -EEXIST and changes nothing (20.2).
 * - lbs_*: storage whose logical block size is larger than a member's is
 *   refused at APPEND and at snapshotadd with -EINVAL (13.9).
 * - stacked_*: storage on a device stacked over a member (dm-linear over
 *   it, directly or through another dm device) is refused at APPEND and at
 *   snapshotadd with -ELOOP; DESTROY works afterwards (13.4).
 * - low_space_rearm: an append that leaves free space at or below
 *   diff_storage_minimum / 2 sends another low-free-space event at once
 *   (13.10).
 * - append_during_cow: appends while a writer makes copy-on-write run; the
 *   image stays exact (13.5: the storage lock is no longer held across the
 *   device open and allocations.  The reclaim recursion itself cannot be
 *   forced from user space; lockdep on the debug kernel watches the locks).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sys/sysmacros.h>
#include "kselftest_harness.h"
#include "snap.h"
#include "dev.h"
#include "util.h"

#define RAMSZ (64 * MIB)
#define STORAGE "/dev/ram2"

/* Destroy every snapshot (client style: probe, then array). */
static void destroy_all(int cfd)
{
	struct blksnap_snapshot_collect c = { 0 };
	struct blksnap_uuid ids[64];
	unsigned int i;

	if (ctl_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c) &&
	    c.count == 0)
		return;
	c.count = 64;
	c.ids = ids;
	if (!ctl_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c))
		for (i = 0; i < c.count; i++)
			snap_destroy(cfd, &ids[i]);
}

/* Drain the events of @id; returns how many low-free-space ones came. */
static int low_events(int cfd, const struct blksnap_uuid *id, int ms)
{
	struct blksnap_snapshot_event ev;
	int n = 0;

	while (!snap_wait(cfd, id, ms, &ev))
		n += ev.code == blksnap_event_code_low_free_space;
	return n;
}

FIXTURE(stor) {
	int cfd;
	int fd0, fd1;
	char dm1[64], dm2[64];
	char loop[80];
	int lfd;
	long minimum;
};

FIXTURE_SETUP(stor)
{
	self->lfd = -1;
	self->minimum = -1;
	ASSERT_EQ(0, brd_ensure(4, 64));
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
	self->fd0 = open("/dev/ram0", O_RDWR);
	self->fd1 = open("/dev/ram1", O_RDWR);
	ASSERT_LE(0, self->fd0);
	ASSERT_LE(0, self->fd1);
	ASSERT_EQ(0, bf_attach(self->fd0));
	ASSERT_EQ(0, param_read("diff_storage_minimum", &self->minimum));
}

FIXTURE_TEARDOWN(stor)
{
	destroy_all(self->cfd);
	if (self->dm2[0])
		dm_remove("trust-dm2");
	if (self->dm1[0])
		dm_remove("trust-dm1");
	if (self->lfd >= 0)
		loop_destroy(self->lfd, "/tmp/trust-lbs4k");
	if (self->minimum > 0)
		param_write_ll("diff_storage_minimum", self->minimum);
	bf_detach(self->fd0);
	bf_detach(self->fd1);
	close(self->fd0);
	close(self->fd1);
	close(self->cfd);
}

TEST_F(stor, overlap_same_snapshot)
{
	struct blksnap_sectors two[2] = { { 20480, 2048 }, { 21504, 2048 } };
	struct blksnap_sectors good_bad[2] = { { 40960, 2048 }, { 0, 8 } };
	struct blksnap_uuid id;

	ASSERT_EQ(0, snap_create(self->cfd, &id));
	ASSERT_EQ(0, snap_add(self->fd0, &id));
	ASSERT_EQ(0, snap_append_range(self->cfd, &id, STORAGE, 0, 8192));
	/* the same range again (an agent re-appending after a restart) */
	EXPECT_EQ(-EEXIST, snap_append_range(self->cfd, &id, STORAGE, 0,
					     8192));
	/* partial overlaps, at either end and inside */
	EXPECT_EQ(-EEXIST, snap_append_range(self->cfd, &id, STORAGE, 4096,
					     8192));
	EXPECT_EQ(-EEXIST, snap_append_range(self->cfd, &id, STORAGE, 8184,
					     16));
	EXPECT_EQ(-EEXIST, snap_append_range(self->cfd, &id, STORAGE, 1024,
					     8));
	/* two ranges of one request that intersect each other */
	EXPECT_EQ(-EEXIST, snap_append(self->cfd, &id, STORAGE, two, 2));
	/* a good range with a bad one: refused, and the good one not added */
	EXPECT_EQ(-EEXIST, snap_append(self->cfd, &id, STORAGE, good_bad, 2));
	EXPECT_EQ(0, snap_append_range(self->cfd, &id, STORAGE, 40960, 2048));
	/* adjacent is fine */
	EXPECT_EQ(0, snap_append_range(self->cfd, &id, STORAGE, 8192, 8));
	EXPECT_EQ(0, snap_destroy(self->cfd, &id));
}

TEST_F(stor, overlap_two_snapshots)
{
	struct blksnap_uuid a, b;

	ASSERT_EQ(0, snap_create(self->cfd, &a));
	ASSERT_EQ(0, snap_create(self->cfd, &b));
	ASSERT_EQ(0, snap_append_range(self->cfd, &a, STORAGE, 0, 8192));
	/* one storage region given to two snapshots */
	EXPECT_EQ(-EEXIST, snap_append_range(self->cfd, &b, STORAGE, 4096,
					     8192));
	EXPECT_EQ(0, snap_append_range(self->cfd, &b, STORAGE, 8192, 8192));
	/* once a is gone its ranges are free again */
	EXPECT_EQ(0, snap_destroy(self->cfd, &a));
	EXPECT_EQ(0, snap_append_range(self->cfd, &b, STORAGE, 0, 8192));
	EXPECT_EQ(0, snap_destroy(self->cfd, &b));
}

/*
 * The same sectors reached through a partition and through its disk: a
 * loop device with one partition at sector 2048.
 */
TEST_F(stor, overlap_partition_and_disk)
{
	char part[80];
	struct blksnap_uuid a, b;
	int lfd;

	lfd = loop_with_partition("/tmp/trust-part", 16, part, sizeof(part));
	ASSERT_LE(0, lfd);
	snprintf(self->loop, sizeof(self->loop), "%s", part);
	*strrchr(self->loop, 'p') = '\0';
	ASSERT_EQ(0, snap_create(self->cfd, &a));
	ASSERT_EQ(0, snap_create(self->cfd, &b));
	EXPECT_EQ(0, snap_append_range(self->cfd, &a, part, 0, 2048));
	/* disk sectors 2048.. are partition sectors 0.. */
	EXPECT_EQ(-EEXIST, snap_append_range(self->cfd, &b, self->loop, 3072,
					     2048));
	EXPECT_EQ(0, snap_append_range(self->cfd, &b, self->loop, 0, 2048));
	EXPECT_EQ(0, snap_destroy(self->cfd, &a));
	EXPECT_EQ(0, snap_destroy(self->cfd, &b));
	loop_destroy(lfd, "/tmp/trust-part");
}

/* A loop device with a 4096-byte logical block size over a new file. */
static int loop_4k(char *path, size_t len)
{
	struct loop_config cfg;
	int ctl, nr, bfd, lfd, ret;

	bfd = open("/tmp/trust-lbs4k", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (bfd < 0 || ftruncate(bfd, 16 << 20))
		return -errno;
	ctl = open("/dev/loop-control", O_RDWR);
	nr = ctl < 0 ? -1 : ioctl(ctl, LOOP_CTL_GET_FREE);
	if (ctl >= 0)
		close(ctl);
	if (nr < 0) {
		close(bfd);
		return -ENODEV;
	}
	snprintf(path, len, "/dev/loop%d", nr);
	if (wait_for_node(path))
		return -ENOENT;
	lfd = open(path, O_RDWR);
	if (lfd < 0)
		return -errno;
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = bfd;
	cfg.block_size = 4096;
	ret = ioctl(lfd, LOOP_CONFIGURE, &cfg) ? -errno : 0;
	close(bfd);
	if (ret) {
		close(lfd);
		return ret;
	}
	return lfd;
}

TEST_F(stor, lbs_larger_than_member)
{
	struct blksnap_uuid a, b;
	int lbs = 0;

	self->lfd = loop_4k(self->loop, sizeof(self->loop));
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, ioctl(self->lfd, BLKSSZGET, &lbs));
	ASSERT_EQ(4096, lbs);
	ASSERT_EQ(0, ioctl(self->fd0, BLKSSZGET, &lbs));
	ASSERT_EQ(512, lbs);

	/* member first: APPEND refuses the 4K storage */
	ASSERT_EQ(0, snap_create(self->cfd, &a));
	ASSERT_EQ(0, snap_add(self->fd0, &a));
	EXPECT_EQ(-EINVAL, snap_append_range(self->cfd, &a, self->loop, 0,
					     8192));
	EXPECT_EQ(-ENOSPC, snap_take(self->cfd, &a));	/* nothing added */
	EXPECT_EQ(0, snap_append_range(self->cfd, &a, STORAGE, 0, 8192));
	EXPECT_EQ(0, snap_destroy(self->cfd, &a));

	/* storage first: snapshotadd refuses the 512-byte device */
	ASSERT_EQ(0, snap_create(self->cfd, &b));
	ASSERT_EQ(0, snap_append_range(self->cfd, &b, self->loop, 0, 8192));
	EXPECT_EQ(-EINVAL, snap_add(self->fd0, &b));
	EXPECT_EQ(-ENODEV, snap_take(self->cfd, &b));	/* no member */
	EXPECT_EQ(0, snap_destroy(self->cfd, &b));
}

/* dm-linear over all of /dev/ram0 (1:0), and optionally over that. */
static int dm_over_ram0(char *dm1, size_t l1, char *dm2, size_t l2)
{
	char params[64];
	struct stat st;
	int ret;

	ret = dm_create("trust-dm1", "linear", RAMSZ / 512, "1:0 0", dm1, l1);
	if (ret || !dm2)
		return ret;
	if (stat(dm1, &st))
		return -errno;
	snprintf(params, sizeof(params), "%u:%u 0", major(st.st_rdev),
		 minor(st.st_rdev));
	return dm_create("trust-dm2", "linear", RAMSZ / 512, params, dm2, l2);
}

TEST_F(stor, stacked_over_member)
{
	struct blksnap_uuid a, b;

	ASSERT_EQ(0, dm_over_ram0(self->dm1, sizeof(self->dm1), self->dm2,
				  sizeof(self->dm2)));
	ASSERT_EQ(0, wait_for_node(self->dm2));

	ASSERT_EQ(0, snap_create(self->cfd, &a));
	ASSERT_EQ(0, snap_add(self->fd0, &a));
	/* directly over the member, and through another dm device */
	EXPECT_EQ(-ELOOP, snap_append_range(self->cfd, &a, self->dm1, 0,
					    8192));
	EXPECT_EQ(-ELOOP, snap_append_range(self->cfd, &a, self->dm2, 0,
					    8192));
	/* the member itself is fine: the module's own writes pass */
	EXPECT_EQ(0, snap_append_range(self->cfd, &a, "/dev/ram0", 65536,
				       8192));
	EXPECT_EQ(0, snap_destroy(self->cfd, &a));

	/* storage first: snapshotadd of the device under it is refused */
	ASSERT_EQ(0, snap_create(self->cfd, &b));
	ASSERT_EQ(0, snap_append_range(self->cfd, &b, self->dm2, 0, 8192));
	EXPECT_EQ(-ELOOP, snap_add(self->fd0, &b));
	ASSERT_EQ(0, bf_attach(self->fd1));
	EXPECT_EQ(0, snap_add(self->fd1, &b));		/* not under it */
	EXPECT_EQ(0, snap_destroy(self->cfd, &b));
}

TEST_F(stor, low_space_rearm)
{
	struct blksnap_uuid id;

	/* threshold: 4096 / 2 = 2048 sectors */
	ASSERT_EQ(0, param_write_ll("diff_storage_minimum", 4096));
	ASSERT_EQ(0, snap_create(self->cfd, &id));
	EXPECT_EQ(1, low_events(self->cfd, &id, 100));	/* CREATE's */
	/* each append that leaves free space low asks again at once */
	EXPECT_EQ(0, snap_append_range(self->cfd, &id, STORAGE, 0, 512));
	EXPECT_EQ(1, low_events(self->cfd, &id, 100));
	EXPECT_EQ(0, snap_append_range(self->cfd, &id, STORAGE, 512, 512));
	EXPECT_EQ(1, low_events(self->cfd, &id, 100));
	EXPECT_EQ(0, snap_append_range(self->cfd, &id, STORAGE, 1024, 1024));
	EXPECT_EQ(1, low_events(self->cfd, &id, 100));	/* 2048: still low */
	/* enough now: no event */
	EXPECT_EQ(0, snap_append_range(self->cfd, &id, STORAGE, 2048, 8192));
	EXPECT_EQ(0, low_events(self->cfd, &id, 100));
	EXPECT_EQ(0, snap_destroy(self->cfd, &id));
}

struct cow_writer {
	int fd;
	atomic_int stop;
	atomic_long writes;
	int err;
};

/* Wait up to 2 s for the writer to pass @n writes. */
static void wait_writes(struct cow_writer *w, long n)
{
	int i;

	for (i = 0; i < 2000 && atomic_load(&w->writes) <= n && !w->err; i++)
		usleep(1000);
}

static void *cow_writer_fn(void *arg)
{
	struct cow_writer *w = arg;
	unsigned int seed = 7;
	void *buf = abuf(65536);

	while (buf && !atomic_load(&w->stop)) {
		uint64_t off = (uint64_t)(rand_r(&seed) % (32 * MIB / 65536)) *
			       65536;

		sd_fill(buf, 65536, 1, off / 512, 2);
		if (pwrite(w->fd, buf, 65536, off) != 65536) {
			w->err = errno;
			break;
		}
		atomic_fetch_add(&w->writes, 1);
	}
	free(buf);
	return NULL;
}

TEST_F(stor, append_during_cow)
{
	struct blksnap_snapshotinfo info;
	struct cow_writer w = { .fd = self->fd0 };
	struct blksnap_uuid id;
	pthread_t th;
	void *buf = abuf(MIB);
	uint64_t pos, sect;
	long bad = 0;
	int ifd, fails = 0;

	ASSERT_NE(NULL, buf);
	for (pos = 0; pos < RAMSZ; pos += MIB) {
		sd_fill(buf, MIB, 1, pos / 512, 1);
		ASSERT_EQ(MIB, pwrite(self->fd0, buf, MIB, pos));
	}
	ASSERT_EQ(0, fsync(self->fd0));
	/* 40 MiB now, the rest in 256 KiB appends while COW runs */
	ASSERT_EQ(0, snap_create(self->cfd, &id));
	ASSERT_EQ(0, snap_add(self->fd0, &id));
	ASSERT_EQ(0, snap_append_range(self->cfd, &id, STORAGE, 0, 81920));
	ASSERT_EQ(0, snap_take(self->cfd, &id));
	ASSERT_EQ(0, pthread_create(&th, NULL, cow_writer_fn, &w));
	/* every append races with a write that copies a chunk */
	for (sect = 81920; sect < RAMSZ / 512; sect += 512) {
		wait_writes(&w, atomic_load(&w.writes));
		fails += snap_append_range(self->cfd, &id, STORAGE, sect,
					   512) != 0;
	}
	atomic_store(&w.stop, 1);
	pthread_join(th, NULL);
	EXPECT_EQ(0, fails);
	EXPECT_EQ(0, w.err);
	TH_LOG("%ld writes of 64 KiB during %d appends", atomic_load(&w.writes),
	       (int)((RAMSZ / 512 - 81920) / 512));
	ASSERT_EQ(0, snap_info(self->fd0, &info));
	EXPECT_EQ(0, info.error_code);
	ifd = snap_open_image(self->fd0, O_RDONLY);
	ASSERT_LE(0, ifd);
	for (pos = 0; pos < RAMSZ; pos += MIB) {
		ASSERT_EQ(MIB, pread(ifd, buf, MIB, pos));
		bad += sd_check(buf, MIB, 1, pos / 512, 1);
	}
	EXPECT_EQ(0, bad);
	close(ifd);
	free(buf);
	EXPECT_EQ(0, snap_destroy(self->cfd, &id));
}

TEST_HARNESS_MAIN
