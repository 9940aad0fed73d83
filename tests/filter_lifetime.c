// SPDX-License-Identifier: GPL-2.0
/*
 * Filter lifetime: attach and detach while writers hammer the device (the
 * data must come back intact), rmmod refused while a filter is attached,
 * and repeated load/unload.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdatomic.h>
#include "kselftest_harness.h"
#include "cbt.h"
#include "dev.h"
#include "fixture.h"

#define DEV "/dev/ram1"
#define NTHREADS 4
#define SLICE (4 << 20)		/* bytes per writer */
#define BLK 65536

static atomic_int stop;

struct writer {
	int fd;
	int id;
	unsigned int rounds;
	int err;
};

/* Each writer owns one slice and rewrites it, block by block, with its
 * round number; the last round written is what must be read back.
 */
static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	uint32_t *buf;
	off_t base = (off_t)w->id * SLICE;
	unsigned int i, r = 0;

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

/*
 * The plain tests of this program release what they used even when an
 * ASSERT stops them: the filter on DEV, the module (reloaded if a test left
 * it out).  Named "global" so that the tests keep their names.
 */
FIXTURE(global) {
	int unused;
};

FIXTURE_SETUP(global)
{
	(void)self;
}

FIXTURE_TEARDOWN_PARENT(global)
{
	static const char *const devs[] = { DEV, NULL };

	if (access("/dev/blksnap-control", F_OK) &&
	    system("insmod /ko/blksnap.ko 2>/dev/null"))
		fprintf(stderr, "# teardown: cannot reload /ko/blksnap.ko\n");
	scratch_release(NULL, devs, NULL, NULL);
	(void)self;
}

TEST_F(global, attach_detach_under_writers)
{
	struct writer w[NTHREADS];
	pthread_t th[NTHREADS];
	uint32_t *buf;
	int fd, i, j, k, bad = 0;

	ASSERT_EQ(0, brd_ensure(4, 64));
	fd = open(DEV, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	atomic_store(&stop, 0);
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct writer){ .fd = fd, .id = i };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, writer_fn, &w[i]));
	}
	for (k = 0; k < 40; k++) {
		ASSERT_EQ(0, bf_attach(fd));
		if (k % 2)
			ASSERT_EQ(0, cbt_switch(fd));
		usleep(5000);
		ASSERT_EQ(0, bf_detach(fd));
	}
	atomic_store(&stop, 1);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, w[i].err);
		EXPECT_LT(0, w[i].rounds);
	}
	ASSERT_EQ(0, posix_memalign((void **)&buf, 4096, BLK));
	for (i = 0; i < NTHREADS; i++) {
		for (j = 0; j < SLICE / BLK; j++) {
			ASSERT_EQ(BLK, pread(fd, buf, BLK,
					     (off_t)i * SLICE + (off_t)j * BLK));
			for (k = 0; k < BLK / 4; k++)
				if (buf[k] != ((i << 24) ^ w[i].rounds ^ k)) {
					bad++;
					break;
				}
		}
	}
	EXPECT_EQ(0, bad);
	free(buf);
	close(fd);
}

TEST_F(global, rmmod_refused_while_attached)
{
	int fd;

	ASSERT_EQ(0, brd_ensure(4, 64));
	fd = open(DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));
	EXPECT_NE(0, system("rmmod blksnap 2>/dev/null"));
	EXPECT_EQ(0, access("/dev/blksnap-control", F_OK));
	EXPECT_EQ(-EALREADY, bf_attach(fd));
	ASSERT_EQ(0, bf_detach(fd));
	close(fd);
	EXPECT_EQ(0, system("rmmod blksnap"));
	EXPECT_EQ(0, system("insmod /ko/blksnap.ko"));
}

FIXTURE(slow) {
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

/* Ten unloads wait for ten rcu_tasks grace periods: ~3 s each on KASAN. */
TEST_F_TIMEOUT(slow, load_unload_loop, 300)
{
	int i, fd;

	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, system("rmmod blksnap"));
		ASSERT_EQ(0, system("insmod /ko/blksnap.ko"));
		fd = open(DEV, O_RDWR);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, bf_attach(fd));
		ASSERT_EQ(0, bf_detach(fd));
		close(fd);
	}
}

TEST_HARNESS_MAIN
