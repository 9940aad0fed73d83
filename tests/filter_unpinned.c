// SPDX-License-Identifier: GPL-2.0
/*
 * Attachments made without a file descriptor and without pinning the
 * module (blkfilter_attach(..., false), as the v2 front end makes them;
 * reached here through the test build's test_attach_unpinned parameter):
 * BLKFILTER_ATTACH of such a device gives EALREADY and keeps it unpinned,
 * rmmod succeeds and detaches it while O_DIRECT writers run (their data
 * intact), and an ioctl detach of one followed by rmmod is clean.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdatomic.h>
#include "kselftest_harness.h"
#include "cbt.h"
#include "dev.h"

#define DEV "/dev/ram1"
#define PARAM "/sys/module/blksnap/parameters/test_attach_unpinned"
#define NTHREADS 2
#define SLICE (4 << 20)		/* bytes per writer */
#define BLK 65536

static atomic_int stop;

struct writer {
	int fd;
	int id;
	unsigned int rounds;
	int err;
};

/* Each writer rewrites its slice, round after round; see filter_lifetime. */
static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	off_t base = (off_t)w->id * SLICE;
	unsigned int i, r = 0;
	uint32_t *buf;

	if (posix_memalign((void **)&buf, 4096, BLK)) {
		w->err = ENOMEM;
		return NULL;
	}
	while (!atomic_load(&stop)) {
		r++;
		for (i = 0; i < BLK / 4; i++)
			buf[i] = (w->id << 24) ^ r ^ i;
		for (i = 0; i < SLICE / BLK; i++)
			if (pwrite(w->fd, buf, BLK, base + (off_t)i * BLK) != BLK) {
				w->err = errno;
				goto out;
			}
		w->rounds = r;
	}
out:
	free(buf);
	return NULL;
}

/* Attach @filter to DEV without pinning the module; 0 or -errno. */
static int attach_unpinned(const char *filter)
{
	char val[64];
	int fd, len, ret = 0;

	fd = open(PARAM, O_WRONLY);
	if (fd < 0)
		return -errno;
	len = snprintf(val, sizeof(val), "%s %s", filter, DEV);
	if (write(fd, val, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

static int module_loaded(void)
{
	return !access("/sys/module/blksnap", F_OK);
}

FIXTURE(unpinned) {
	int fd;
};

FIXTURE_SETUP(unpinned)
{
	if (!module_loaded())
		ASSERT_EQ(0, system("insmod /ko/blksnap.ko"));
	ASSERT_EQ(0, brd_ensure(4, 64));
	self->fd = open(DEV, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(unpinned)
{
	if (!module_loaded() && system("insmod /ko/blksnap.ko"))
		TH_LOG("insmod failed");
	bf_detach(self->fd);
	bf_name_ioctl(self->fd, BLKFILTER_DETACH, "blksnap-test");
	close(self->fd);
}

/* rcu_tasks grace periods at unload wait for the busy writers: ~20 s */
TEST_F_TIMEOUT(unpinned, rmmod_detaches_under_writers, 300)
{
	struct writer w[NTHREADS];
	pthread_t th[NTHREADS];
	int i, j, k, bad = 0;
	uint32_t *buf;

	ASSERT_EQ(0, attach_unpinned("blksnap"));
	/* the same tracker: EALREADY, and it stays unpinned */
	EXPECT_EQ(-EALREADY, bf_attach(self->fd));
	atomic_store(&stop, 0);
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct writer){ .fd = self->fd, .id = i };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, writer_fn, &w[i]));
	}
	usleep(200000);
	EXPECT_EQ(0, system("rmmod blksnap"));
	usleep(200000);
	atomic_store(&stop, 1);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, w[i].err);
		EXPECT_LT(0, w[i].rounds);
	}
	ASSERT_EQ(0, posix_memalign((void **)&buf, 4096, BLK));
	for (i = 0; i < NTHREADS; i++)
		for (j = 0; j < SLICE / BLK; j++) {
			ASSERT_EQ(BLK, pread(self->fd, buf, BLK,
					     (off_t)i * SLICE + (off_t)j * BLK));
			for (k = 0; k < BLK / 4; k++)
				if (buf[k] != ((i << 24) ^ w[i].rounds ^ k)) {
					bad++;
					break;
				}
		}
	EXPECT_EQ(0, bad);
	free(buf);
	/* unloading detached it: a new module attaches afresh */
	ASSERT_EQ(0, system("insmod /ko/blksnap.ko"));
	EXPECT_EQ(0, bf_attach(self->fd));
	EXPECT_EQ(0, bf_detach(self->fd));
}

TEST_F(unpinned, ioctl_detach_then_rmmod)
{
	ASSERT_EQ(0, attach_unpinned("blksnap-test"));
	EXPECT_EQ(-EALREADY, bf_name_ioctl(self->fd, BLKFILTER_ATTACH,
					   "blksnap-test"));
	EXPECT_EQ(-EBUSY, bf_attach(self->fd));
	EXPECT_EQ(0, bf_name_ioctl(self->fd, BLKFILTER_DETACH, "blksnap-test"));
	EXPECT_EQ(0, system("rmmod blksnap"));
	EXPECT_EQ(0, system("insmod /ko/blksnap.ko"));
}

TEST_F(unpinned, pinned_attach_still_pins)
{
	ASSERT_EQ(0, bf_attach(self->fd));
	EXPECT_EQ(-EALREADY, attach_unpinned("blksnap"));
	EXPECT_NE(0, system("rmmod blksnap 2>/dev/null"));
	EXPECT_EQ(0, bf_detach(self->fd));
}

TEST_HARNESS_MAIN
