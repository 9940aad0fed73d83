// SPDX-License-Identifier: GPL-2.0
/*
 * The errno table of the snapshot ioctls and of snapshotadd/snapshotinfo,
 * COLLECT's two-call pattern, the CREATE event and WAIT_EVENT basics.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <time.h>
#include <sys/mman.h>
#include "kselftest_harness.h"
#include "snap.h"

FIXTURE(snap) {
	int cfd;
	int fd0, fd1;
	void *unmapped;
};

FIXTURE_SETUP(snap)
{
	ASSERT_EQ(0, brd_ensure(4, 64));
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
	self->fd0 = open("/dev/ram0", O_RDWR);
	self->fd1 = open("/dev/ram1", O_RDWR);
	ASSERT_LE(0, self->fd0);
	ASSERT_LE(0, self->fd1);
	ASSERT_EQ(0, bf_attach(self->fd0));
	ASSERT_EQ(0, bf_attach(self->fd1));
	self->unmapped = mmap(NULL, 4096, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->unmapped);
}

FIXTURE_TEARDOWN(snap)
{
	struct blksnap_snapshot_collect c = { 0 };
	struct blksnap_uuid ids[16];
	unsigned int i;

	/* destroy whatever a failed test left */
	c.count = 16;
	c.ids = ids;
	if (!ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c))
		for (i = 0; i < c.count; i++)
			snap_destroy(self->cfd, &ids[i]);
	bf_detach(self->fd0);
	bf_detach(self->fd1);
	close(self->fd0);
	close(self->fd1);
	close(self->cfd);
	munmap(self->unmapped, 4096);
}

TEST_F(snap, unknown_snapshot)
{
	struct blksnap_snapshot_event ev;
	struct blksnap_uuid id;

	memset(&id, 0x42, sizeof(id));
	EXPECT_EQ(-ENODEV, snap_destroy(self->cfd, &id));
	EXPECT_EQ(-ESRCH, snap_take(self->cfd, &id));
	EXPECT_EQ(-ESRCH, snap_append_range(self->cfd, &id, "/dev/ram2", 0, 8));
	EXPECT_EQ(-ESRCH, snap_wait(self->cfd, &id, 0, &ev));
	EXPECT_EQ(-ESRCH, snap_add(self->fd0, &id));
}

TEST_F(snap, efault)
{
	EXPECT_EQ(-EFAULT, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_CREATE,
				     self->unmapped));
	EXPECT_EQ(-EFAULT, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_DESTROY,
				     self->unmapped));
	EXPECT_EQ(-EFAULT, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_TAKE,
				     NULL));
	EXPECT_EQ(-EFAULT, ctl_ioctl(self->cfd,
				     IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE,
				     self->unmapped));
	EXPECT_EQ(-EFAULT, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT,
				     self->unmapped));
	EXPECT_EQ(-EFAULT, ctl_ioctl(self->cfd,
				     IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT,
				     self->unmapped));
	/* a CREATE whose answer cannot be written leaves no snapshot */
	{
		struct blksnap_snapshot_collect c = { 0 };

		EXPECT_EQ(0, ctl_ioctl(self->cfd,
				       IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c));
		EXPECT_EQ(0, c.count);
	}
}

TEST_F(snap, append_storage_errors)
{
	struct blksnap_sectors r[2] = { { 0, 2048 }, { 4096, 2048 } };
	struct blksnap_snapshot_append_storage arg;
	struct blksnap_uuid id;
	int f;

	ASSERT_EQ(0, snap_create(self->cfd, &id));
	f = open("/tmp/notablock", O_CREAT | O_RDWR, 0600);
	ASSERT_LE(0, f);
	close(f);
	EXPECT_EQ(-ENOTBLK, snap_append_range(self->cfd, &id, "/tmp/notablock",
					      0, 8));
	EXPECT_EQ(-ENOENT, snap_append_range(self->cfd, &id, "/dev/nosuch",
					     0, 8));
	EXPECT_EQ(-EINVAL, snap_append_range(self->cfd, &id, "/dev/ram2", 0, 0));
	EXPECT_EQ(-EINVAL, snap_append_range(self->cfd, &id, "/dev/ram2",
					     131072 - 8, 16));
	EXPECT_EQ(-EINVAL, snap_append_range(self->cfd, &id, "/dev/ram2",
					     1ULL << 62, 8));
	EXPECT_EQ(-EINVAL, snap_append(self->cfd, &id, "/dev/ram2", r, 0));
	/* one bad range: nothing is added, TAKE still has no storage */
	r[1].count = 0;
	EXPECT_EQ(-EINVAL, snap_append(self->cfd, &id, "/dev/ram2", r, 2));
	ASSERT_EQ(0, snap_add(self->fd0, &id));
	EXPECT_EQ(-ENOSPC, snap_take(self->cfd, &id));
	/* a path without its NUL inside bdev_path_size */
	memset(&arg, 0, sizeof(arg));
	arg.id = id;
	arg.bdev_path = (__u8 *)"/dev/ram2";
	arg.bdev_path_size = 4;
	arg.count = 1;
	arg.ranges = r;
	EXPECT_EQ(-EINVAL, ctl_ioctl(self->cfd,
				     IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE, &arg));
	arg.bdev_path_size = 10;
	arg.ranges = self->unmapped;
	EXPECT_EQ(-EFAULT, ctl_ioctl(self->cfd,
				     IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE, &arg));
	r[1].count = 2048;
	EXPECT_EQ(0, snap_append(self->cfd, &id, "/dev/ram2", r, 2));
	EXPECT_EQ(0, snap_take(self->cfd, &id));
	EXPECT_EQ(0, snap_destroy(self->cfd, &id));
	unlink("/tmp/notablock");
}

TEST_F(snap, membership)
{
	struct blksnap_snapshotinfo info;
	struct blksnap_uuid a, b;

	ASSERT_EQ(0, snap_create(self->cfd, &a));
	ASSERT_EQ(0, snap_create(self->cfd, &b));
	EXPECT_NE(0, memcmp(&a, &b, sizeof(a)));
	EXPECT_EQ(-ENODEV, snap_take(self->cfd, &a));	/* no devices */
	ASSERT_EQ(0, snap_add(self->fd0, &a));
	EXPECT_EQ(-EALREADY, snap_add(self->fd0, &a));
	EXPECT_EQ(-EBUSY, snap_add(self->fd0, &b));
	EXPECT_EQ(-EBUSY, bf_detach(self->fd0));	/* member: stays */
	EXPECT_EQ(-ENOSPC, snap_take(self->cfd, &a));	/* no storage */
	ASSERT_EQ(0, snap_info(self->fd0, &info));
	EXPECT_EQ(0, info.error_code);
	EXPECT_EQ(0, info.image[0]);
	ASSERT_EQ(0, snap_append_range(self->cfd, &a, "/dev/ram2", 0, 65536));
	ASSERT_EQ(0, snap_take(self->cfd, &a));
	EXPECT_EQ(-EALREADY, snap_take(self->cfd, &a));
	EXPECT_EQ(-EBUSY, snap_add(self->fd1, &a));	/* already taken */
	ASSERT_EQ(0, snap_info(self->fd0, &info));
	EXPECT_EQ(0, info.error_code);
	EXPECT_STREQ("blksnap-image_1:0", (char *)info.image);
	EXPECT_EQ(0, access("/dev/blksnap-image_1:0", F_OK));
	EXPECT_EQ(-EBUSY, bf_detach(self->fd0));
	EXPECT_EQ(-EINVAL, bf_ctl(self->fd0, blkfilter_ctl_blksnap_snapshotinfo,
				  &info, sizeof(info) - 1));
	EXPECT_EQ(0, snap_destroy(self->cfd, &a));
	EXPECT_EQ(-ENODEV, snap_destroy(self->cfd, &a));
	ASSERT_EQ(0, snap_info(self->fd0, &info));
	EXPECT_EQ(0, info.image[0]);
	/* after DESTROY the device is free for the other snapshot */
	EXPECT_EQ(0, snap_add(self->fd0, &b));
	EXPECT_EQ(0, snap_destroy(self->cfd, &b));
	EXPECT_EQ(0, bf_detach(self->fd0));
	EXPECT_EQ(0, bf_attach(self->fd0));
}

TEST_F(snap, collect)
{
	struct blksnap_snapshot_collect c;
	struct blksnap_uuid ids[3], got[3];
	int i, j, found;

	memset(&c, 0, sizeof(c));
	EXPECT_EQ(0, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c));
	EXPECT_EQ(0, c.count);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, snap_create(self->cfd, &ids[i]));
		/* the probe (ids NULL) answers 0 with the number, as v3 */
		memset(&c, 0, sizeof(c));
		EXPECT_EQ(0, ctl_ioctl(self->cfd,
				       IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c));
		EXPECT_EQ(i + 1, c.count);
	}
	/* too small: nothing filled, count = required */
	memset(got, 0, sizeof(got));
	c.count = 2;
	c.ids = got;
	EXPECT_EQ(-ENODATA, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT,
				      &c));
	EXPECT_EQ(3, c.count);
	EXPECT_EQ(0, got[0].b[0] | got[1].b[0] | got[0].b[15]);
	c.count = 3;
	EXPECT_EQ(0, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c));
	EXPECT_EQ(3, c.count);
	for (i = 0, found = 0; i < 3; i++)
		for (j = 0; j < 3; j++)
			found += !memcmp(&ids[i], &got[j], sizeof(ids[i]));
	EXPECT_EQ(3, found);
	c.ids = self->unmapped;
	EXPECT_EQ(-EFAULT, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT,
				     &c));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, snap_destroy(self->cfd, &ids[i]));
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

TEST_F(snap, create_event_and_timeout)
{
	struct blksnap_event_low_free_space *low;
	struct blksnap_snapshot_event ev;
	struct blksnap_uuid id;
	struct timespec t0, now;
	long min;

	ASSERT_EQ(0, param_read("diff_storage_minimum", &min));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, snap_create(self->cfd, &id));
	ASSERT_EQ(0, snap_wait(self->cfd, &id, 0, &ev));
	clock_gettime(CLOCK_MONOTONIC, &now);
	EXPECT_EQ(blksnap_event_code_low_free_space, ev.code);
	low = (void *)ev.data;
	EXPECT_EQ((unsigned long long)min, low->requested_nr_sect);
	EXPECT_LE(t0.tv_sec * 1000000000LL + t0.tv_nsec, ev.time_label);
	EXPECT_GE(now.tv_sec * 1000000000LL + now.tv_nsec, ev.time_label);
	/* delivered once */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_EQ(-ENOENT, snap_wait(self->cfd, &id, 200, &ev));
	EXPECT_LE(190, ms_since(&t0));
	EXPECT_GE(5000, ms_since(&t0));
	EXPECT_EQ(0, snap_destroy(self->cfd, &id));
}

struct waiter {
	int cfd;
	struct blksnap_uuid id;
	int ret;
};

static void *wait_fn(void *arg)
{
	struct waiter *w = arg;
	struct blksnap_snapshot_event ev;

	w->ret = snap_wait(w->cfd, &w->id, 20000, &ev);
	return NULL;
}

TEST_F(snap, destroy_wakes_waiter)
{
	struct blksnap_snapshot_event ev;
	struct waiter w = { .cfd = self->cfd };
	struct timespec t0;
	pthread_t th;

	ASSERT_EQ(0, snap_create(self->cfd, &w.id));
	ASSERT_EQ(0, snap_wait(self->cfd, &w.id, 0, &ev));	/* the CREATE one */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, pthread_create(&th, NULL, wait_fn, &w));
	usleep(200000);
	ASSERT_EQ(0, snap_destroy(self->cfd, &w.id));
	pthread_join(th, NULL);
	EXPECT_EQ(-ESRCH, w.ret);
	EXPECT_GT(10000, ms_since(&t0));
}

static void on_alarm(int sig)
{
	(void)sig;
}

TEST_F(snap, signal_interrupts_wait)
{
	struct blksnap_snapshot_event ev;
	struct blksnap_uuid id;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, snap_create(self->cfd, &id));
	ASSERT_EQ(0, snap_wait(self->cfd, &id, 0, &ev));
	alarm(1);
	EXPECT_EQ(-EINTR, snap_wait(self->cfd, &id, 10000, &ev));
	EXPECT_EQ(0, snap_destroy(self->cfd, &id));
}

TEST_HARNESS_MAIN
