// SPDX-License-Identifier: GPL-2.0
/*
 * I/O in flight at TAKE, and writes that may not wait.
 *
 * What TAKE guarantees (Documentation/design.rst): every write the filter
 * saw before TAKE has completed when TAKE returns and is in the image; every
 * write after it is copied-on-write first.  A write held below the filter
 * (here by dm-delay) when TAKE starts makes TAKE wait for it, so the image
 * never changes between two reads and the CBT map of this backup marks it.
 *
 * Writes that must not wait (REQ_NOWAIT: io_uring's first attempt; 6.1
 * also sets it on every polled write, retries included) and that need a
 * copy are completed the slow way instead of failing with EAGAIN, which an
 * IOPOLL ring on 6.1 resubmitted forever.
 *
 * A write that passed the filter holds it until the write completes; a
 * write the block layer splits comes back through the hook piece by piece
 * and must not meet its (by then frozen) filter again, or TAKE would wait
 * for the write while the write waits for TAKE.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/io_uring.h>
#include "kselftest_harness.h"
#include "timeout.h"
#include "snap.h"
#include "cbt.h"
#include "dev.h"
#include "util.h"

#define CHUNK	(256 << 10)

static int dev_of(const char *path, unsigned int *maj, unsigned int *min)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	*maj = major(st.st_rdev);
	*min = minor(st.st_rdev);
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct writer {
	int fd;
	uint64_t off;
	uint32_t tag;
	int ret;
	double done;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;

	w->ret = sd_write_at(w->fd, w->off, 65536, w->tag);
	w->done = now();
	return NULL;
}

#define WRITE_DELAY_MS 1500

FIXTURE(delayed) {
	int cfd;
	int lfd;	/* loop under dm-delay */
	int sfd;	/* storage loop */
	int fd;		/* the dm-delay device, attached, O_DIRECT */
	char lpath[64], spath[64], dm[64];
};

FIXTURE_SETUP(delayed)
{
	unsigned int ma = 0, mi = 0;
	char params[128];

	self->fd = -1;
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
	if (access("/sys/module/dm_delay", F_OK) &&
	    system("insmod /lib/modules/dm-delay.ko"))
		SKIP(return, "dm-delay is not available in this guest");
	self->lfd = loop_create("/tmp/trust_if.orig", 16, 0, self->lpath,
				sizeof(self->lpath));
	ASSERT_LE(0, self->lfd);
	self->sfd = loop_create("/tmp/trust_if.store", 32, 0, self->spath,
				sizeof(self->spath));
	ASSERT_LE(0, self->sfd);
	ASSERT_EQ(0, dev_of(self->lpath, &ma, &mi));
	snprintf(params, sizeof(params), "%u:%u 0 0 %u:%u 0 %d", ma, mi, ma,
		 mi, WRITE_DELAY_MS);
	ASSERT_EQ(0, dm_create("trust_delay", "delay", 16 << 11, params,
			       self->dm, sizeof(self->dm)));
	self->fd = open(self->dm, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, sd_write_at(self->fd, 0, 65536, 1));
	ASSERT_EQ(0, bf_attach(self->fd));
}

FIXTURE_TEARDOWN(delayed)
{
	snap_destroy_all();
	if (self->fd >= 0) {
		bf_detach(self->fd);
		close(self->fd);
		dm_remove("trust_delay");
		loop_destroy(self->lfd, "/tmp/trust_if.orig");
		loop_destroy(self->sfd, "/tmp/trust_if.store");
	}
	close(self->cfd);
}

/*
 * A write is held 1.5 s below the filter while TAKE runs.  TAKE must wait
 * for it: the image then holds it from the first read on, and the map of
 * this backup marks its block.
 */
TEST_F_TIMEOUT(delayed, write_held_below_filter_at_take, 120)
{
	struct writer w = { .fd = self->fd, .off = 0, .tag = 2 };
	struct blksnap_cbtinfo info;
	unsigned char byte = 0;
	struct blksnap_uuid id;
	pthread_t th;
	double t0, t_take;
	long first, second;
	int ifd;

	t0 = now();
	ASSERT_EQ(0, pthread_create(&th, NULL, writer_fn, &w));
	usleep(300000);		/* the write is in dm-delay now */
	ASSERT_EQ(0, snap_create_take(self->cfd, &id, &self->fd, 1,
				      self->spath, 0, 32 << 11));
	t_take = now();
	ifd = snap_open_image(self->fd, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, ifd);
	first = sd_check_at(ifd, 0, 65536, 2);
	pthread_join(th, NULL);
	ASSERT_EQ(0, w.ret);
	second = sd_check_at(ifd, 0, 65536, 2);
	TH_LOG("write issued at 0 s, TAKE returned at %.2f s, write completed at %.2f s",
	       t_take - t0, w.done - t0);
	/* the image is stable: both reads see the write */
	EXPECT_EQ(0, first);
	EXPECT_EQ(0, second);
	/* ... and it stays so when the origin is written again */
	ASSERT_EQ(0, sd_write_at(self->fd, 0, 65536, 3));
	EXPECT_EQ(0, sd_check_at(ifd, 0, 65536, 2));
	close(ifd);
	/* the map of this backup marks the write */
	ASSERT_EQ(0, cbt_info(self->fd, &info));
	ASSERT_EQ(1, cbt_read(self->fd, 0, 1, &byte));
	EXPECT_EQ(info.changes_number, byte);
	EXPECT_EQ(0, snap_destroy(self->cfd, &id));
}

/* ---------------------------------------------------- io_uring IOPOLL */

struct ring {
	int fd;
	unsigned int *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int ring_init(struct ring *r, unsigned int flags)
{
	struct io_uring_params p;
	void *sq, *cq;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	r->fd = syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return -errno;
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned int),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		  IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes +
		  p.cq_entries * sizeof(struct io_uring_cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		  IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		       IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED)
		return -ENOMEM;
	r->sq_tail = sq + p.sq_off.tail;
	r->sq_mask = sq + p.sq_off.ring_mask;
	r->sq_array = sq + p.sq_off.array;
	r->cq_head = cq + p.cq_off.head;
	r->cq_tail = cq + p.cq_off.tail;
	r->cq_mask = cq + p.cq_off.ring_mask;
	r->cqes = cq + p.cq_off.cqes;
	return 0;
}

/* One write through the ring; its result (bytes or -errno). */
static int ring_write(struct ring *r, int fd, void *buf, unsigned int len,
		      uint64_t off)
{
	unsigned int tail = *r->sq_tail, idx = tail & *r->sq_mask;
	struct io_uring_sqe *sqe = &r->sqes[idx];
	struct io_uring_cqe *cqe;
	int res;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_WRITE;
	sqe->fd = fd;
	sqe->addr = (uintptr_t)buf;
	sqe->len = len;
	sqe->off = off;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0) < 0)
		return -errno;
	while (__atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) == *r->cq_head)
		if (syscall(__NR_io_uring_enter, r->fd, 0, 1,
			    IORING_ENTER_GETEVENTS, NULL, 0) < 0)
			return -errno;
	cqe = &r->cqes[*r->cq_head & *r->cq_mask];
	res = cqe->res;
	__atomic_store_n(r->cq_head, *r->cq_head + 1, __ATOMIC_RELEASE);
	return res;
}

struct uring_job {
	int fd;
	uint64_t off;
	int res;
	volatile int done;
};

static void *uring_fn(void *arg)
{
	struct uring_job *j = arg;
	struct ring r = { .fd = -1 };
	void *buf;

	j->res = -ENOMEM;
	if (posix_memalign(&buf, 4096, 65536))
		goto out;
	sd_fill(buf, 65536, 5, j->off / 512, 1);
	j->res = ring_init(&r, IORING_SETUP_IOPOLL);
	if (!j->res)
		j->res = ring_write(&r, j->fd, buf, 65536, j->off);
out:
	j->done = 1;
	return NULL;
}

/*
 * A polled null_blk device (configfs), a taken snapshot, and an IOPOLL
 * ring writing chunks not copied yet.  Every write must complete, the
 * origin must hold it and the image the old data.
 */
FIXTURE(iopoll) {
	int unused;
};

FIXTURE_SETUP(iopoll)
{
}

FIXTURE_TEARDOWN(iopoll)
{
	int fd;

	snap_destroy_all();
	fd = open("/dev/trust_poll", O_RDWR);
	if (fd >= 0) {
		bf_detach(fd);
		close(fd);
	}
	nullb_remove("trust_poll");
	unlink("/tmp/trust_if.pstore");
}

TEST_F_TIMEOUT(iopoll, write_needing_copy, 120)
{
	static const char *const attrs[] = {
		"size=64", "memory_backed=1", "queue_mode=2", "?poll_queues=1",
		NULL
	};
	struct uring_job j = { 0 };
	struct blksnap_uuid id;
	char node[64], spath[64];
	int ret, cfd, sfd, bfd, ifd, i;
	pthread_t th;

	{
		struct io_uring_params p = { .flags = IORING_SETUP_IOPOLL };
		int rfd = syscall(__NR_io_uring_setup, 4, &p);

		if (rfd < 0 && errno == ENOSYS)
			SKIP(return, "the kernel has no io_uring");
		if (rfd >= 0)
			close(rfd);
	}
	ret = nullb_create("trust_poll", attrs, node, sizeof(node));
	if (ret == -ENOENT)
		SKIP(return, "null_blk has no configfs interface here");
	ASSERT_EQ(0, ret);

	bfd = open(node, O_RDWR | O_DIRECT);
	ASSERT_LE(0, bfd);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, sd_write_at(bfd, (uint64_t)i * CHUNK, 65536, 4));
	ASSERT_EQ(0, bf_attach(bfd));
	cfd = ctl_open();
	ASSERT_LE(0, cfd);
	sfd = loop_create("/tmp/trust_if.pstore", 32, 0, spath, sizeof(spath));
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, snap_create_take(cfd, &id, &bfd, 1, spath, 0, 32 << 11));

	for (i = 0; i < 4; i++) {
		int waited;

		memset(&j, 0, sizeof(j));
		j.fd = bfd;
		j.off = (uint64_t)i * CHUNK;
		ASSERT_EQ(0, pthread_create(&th, NULL, uring_fn, &j));
		for (waited = 0; !j.done && waited < 20000; waited += 10)
			usleep(10000);
		ASSERT_TRUE(j.done)
			TH_LOG("IOPOLL write %d did not complete in 20 s", i);
		pthread_join(th, NULL);
		ASSERT_EQ(65536, j.res);
		EXPECT_EQ(0, sd_check_at(bfd, j.off, 65536, 5));
	}
	ifd = snap_open_image(bfd, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, ifd);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, sd_check_at(ifd, (uint64_t)i * CHUNK, 65536, 4));
	close(ifd);
	EXPECT_EQ(0, snap_destroy(cfd, &id));
	EXPECT_EQ(0, bf_detach(bfd));
	close(bfd);
	loop_destroy(sfd, "/tmp/trust_if.pstore");
	close(cfd);
	nullb_remove("trust_poll");
}

/* ------------------------------------------------------ split writes */

#define SPLIT_MIB	16
#define SPLIT_CYCLES	40

struct splitter {
	int fd;
	volatile int stop;
	uint32_t last[SPLIT_MIB];	/* tag last written to each MiB */
	int ret;
	long writes;
};

static void *splitter_fn(void *arg)
{
	struct splitter *sp = arg;
	uint32_t tag = 100;
	int slot = 0;

	while (!sp->stop && !sp->ret) {
		sp->ret = sd_write_at(sp->fd, (uint64_t)slot << 20, 1 << 20,
				      tag);
		sp->last[slot] = tag++;
		sp->writes++;
		slot = (slot + 7) % SPLIT_MIB;
	}
	return NULL;
}

static int set_max_sectors_kb(const char *dev, const char *kb)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof(path), "/sys/block/%s/queue/max_sectors_kb",
		 dev + strlen("/dev/"));
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ok = write(fd, kb, strlen(kb)) == (ssize_t)strlen(kb);
	close(fd);
	return ok ? 0 : -EIO;
}

FIXTURE(split) {
	int cfd;
	int lfd;	/* the origin, a loop device with 4 KiB requests */
	int sfd;	/* storage loop */
	int fd;		/* the origin, attached, O_DIRECT */
	char lpath[64], spath[64];
};

FIXTURE_SETUP(split)
{
	self->fd = -1;
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
	self->lfd = loop_create("/tmp/trust_if.split", SPLIT_MIB, 0,
				self->lpath, sizeof(self->lpath));
	ASSERT_LE(0, self->lfd);
	self->sfd = loop_create("/tmp/trust_if.sstore", 64, 0, self->spath,
				sizeof(self->spath));
	ASSERT_LE(0, self->sfd);
	/* every 1 MiB write is split 256 times below the filter */
	ASSERT_EQ(0, set_max_sectors_kb(self->lpath, "4"));
	self->fd = open(self->lpath, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, bf_attach(self->fd));
}

FIXTURE_TEARDOWN(split)
{
	snap_destroy_all();
	if (self->fd >= 0) {
		bf_detach(self->fd);
		close(self->fd);
	}
	loop_destroy(self->lfd, "/tmp/trust_if.split");
	loop_destroy(self->sfd, "/tmp/trust_if.sstore");
	close(self->cfd);
}

/*
 * 1 MiB writes split into 4 KiB requests run without pause while TAKE and
 * DESTROY cycle 40 times: every TAKE returns, each image reads the same
 * twice, and at the end the origin holds every slot's last write.
 */
TEST_F_TIMEOUT(split, split_writes_across_takes, 300)
{
	struct splitter sp = { .fd = self->fd };
	size_t len = (size_t)SPLIT_MIB << 20;
	char *a = abuf(len), *b = abuf(len);
	struct blksnap_uuid id;
	pthread_t th;
	int i, ifd;

	ASSERT_TRUE(a && b);
	ASSERT_EQ(0, pthread_create(&th, NULL, splitter_fn, &sp));
	for (i = 0; i < SPLIT_CYCLES && !sp.ret; i++) {
		ASSERT_EQ(0, snap_create_take(self->cfd, &id, &self->fd, 1,
					      self->spath, 0, 64 << 11))
			TH_LOG("cycle %d", i);
		ifd = snap_open_image(self->fd, O_RDONLY | O_DIRECT);
		ASSERT_LE(0, ifd);
		ASSERT_EQ((ssize_t)len, pread(ifd, a, len, 0));
		ASSERT_EQ((ssize_t)len, pread(ifd, b, len, 0));
		EXPECT_EQ(0, memcmp(a, b, len)) TH_LOG("cycle %d", i);
		close(ifd);
		ASSERT_EQ(0, snap_destroy(self->cfd, &id));
	}
	sp.stop = 1;
	pthread_join(th, NULL);
	ASSERT_EQ(0, sp.ret);
	ASSERT_EQ(SPLIT_CYCLES, i);
	TH_LOG("%d TAKEs during %ld split 1 MiB writes", i, sp.writes);
	for (i = 0; i < SPLIT_MIB; i++)
		if (sp.last[i])
			EXPECT_EQ(0, sd_check_at(self->fd, (uint64_t)i << 20,
						 1 << 20, sp.last[i]))
				TH_LOG("MiB %d", i);
	free(a);
	free(b);
}

TEST_HARNESS_MAIN
