// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write of writes that arrive in a batch under the submitter's
 * plug, on a device of queue depth 1 with slow completions (null_blk,
 * hw_queue_depth=1, irqmode=2 timer, 20 us per request).
 *
 * The copy of a chunk reads the chunk and stores it while the submitter's
 * plug may hold requests of the same device, each with the device's only
 * tag: the copy must not wait for a tag while such a request is kept back
 * (the copy flushes the submitter's plug before its own I/O).  A copy that
 * hid the plug without flushing it would hang here (the runner fails on
 * the hung task); one that leaves the copy's I/O in the plug passes,
 * slower.
 *
 *  - aio_batch: one io_submit() of 32 writes of 4 KiB into 32 chunks (aio
 *    plugs batches of more than two);
 *  - writeback: 32 MiB of buffered writes spread over 32 chunks and one
 *    fsync() (writeback plugs its pages);
 *  - image_during_batch: the same aio batch while another process reads the
 *    image of the chunks being copied.
 *
 * Each checks byte for byte: the image holds what the device held at TAKE,
 * the origin what was written after.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/aio_abi.h>
#include "kselftest_harness.h"
#include "fixture.h"
#include "util.h"

#define NULLB_NAME "trust_plug"
#define STORE_FILE "/tmp/trust_plug.store"
#define NR_WRITES 32
#define STRIDE (512 * 1024)	/* distinct chunks (256 KiB by default) */

FIXTURE(plug) {
	struct scratch s;
	int cfd;
	int ofd;
	int sfd;
	char orig[64];
	char stor[64];
	struct blksnap_uuid id;
};

FIXTURE_SETUP(plug)
{
	const char *attrs[] = { "size=128", "memory_backed=1",
				"hw_queue_depth=1", "submit_queues=1",
				"irqmode=2", "completion_nsec=20000",
				"?blocksize=512", NULL };
	int ret;

	self->cfd = -1;
	self->ofd = -1;
	self->sfd = -1;
	scratch_save_params(&self->s);
	nullb_remove(NULLB_NAME);
	ret = nullb_create(NULLB_NAME, attrs, self->orig, sizeof(self->orig));
	if (ret == -ENOENT)
		SKIP(return, "null_blk has no configfs interface here");
	ASSERT_EQ(0, ret) TH_LOG("null_blk: %s", strerror(-ret));
	self->ofd = open(self->orig, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->ofd);
	/* the data at TAKE: every chunk written, tag 0xc1 */
	ASSERT_EQ(0, sd_write_range(self->ofd, 0, NR_WRITES * STRIDE, 0xc1, 1));
	self->sfd = loop_create(STORE_FILE, 32, 0, self->stor,
				sizeof(self->stor));
	ASSERT_LE(0, self->sfd);
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, bf_attach(self->ofd));
	ASSERT_EQ(0, snap_create(self->cfd, &self->id));
	ASSERT_EQ(0, snap_add(self->ofd, &self->id));
	ASSERT_EQ(0, snap_append_range(self->cfd, &self->id, self->stor, 0,
				       32 * MIB / 512));
	ASSERT_EQ(0, snap_take(self->cfd, &self->id));
}

FIXTURE_TEARDOWN_PARENT(plug)
{
	static const char *const files[] = { STORE_FILE, NULL };
	char path[64];

	snprintf(path, sizeof(path), "/dev/%s", NULLB_NAME);
	snap_destroy_all();
	bf_detach_path(path);
	bf_detach_path("/dev/nullb0");
	scratch_release(NULL, NULL, NULL, files);
	nullb_remove(NULLB_NAME);
	system("rmmod null_blk 2>/dev/null");
	scratch_restore_params(&self->s);
}

/* Offset of the 4 KiB written into chunk @i: not at the chunk's start. */
static uint64_t wr_off(int i)
{
	return i * STRIDE + (i % 7) * 64 * 1024;
}

/* One io_submit() of NR_WRITES 4 KiB writes (tag 0xd2), then wait for all. */
static int aio_batch(int fd)
{
	struct iocb cbs[NR_WRITES], *ptrs[NR_WRITES];
	struct io_event ev[NR_WRITES];
	struct timespec ts = { .tv_sec = 120 };
	aio_context_t ctx = 0;
	char *buf;
	int i, n = 0, ret = 0;

	if (posix_memalign((void **)&buf, 4096, NR_WRITES * 4096))
		return -ENOMEM;
	if (syscall(SYS_io_setup, NR_WRITES, &ctx)) {
		free(buf);
		return -errno;
	}
	memset(cbs, 0, sizeof(cbs));
	for (i = 0; i < NR_WRITES; i++) {
		sd_fill(buf + i * 4096, 4096, 0xd2, wr_off(i) / 512, 1);
		cbs[i].aio_fildes = fd;
		cbs[i].aio_lio_opcode = IOCB_CMD_PWRITE;
		cbs[i].aio_buf = (uintptr_t)(buf + i * 4096);
		cbs[i].aio_nbytes = 4096;
		cbs[i].aio_offset = wr_off(i);
		ptrs[i] = &cbs[i];
	}
	if (syscall(SYS_io_submit, ctx, NR_WRITES, ptrs) != NR_WRITES) {
		ret = -EIO;
		goto out;
	}
	while (n < NR_WRITES) {
		long got = syscall(SYS_io_getevents, ctx, 1, NR_WRITES - n,
				   ev, &ts);

		if (got <= 0) {
			ret = -ETIMEDOUT;
			goto out;
		}
		for (i = 0; i < got; i++)
			if (ev[i].res != 4096)
				ret = -EIO;
		n += got;
	}
out:
	syscall(SYS_io_destroy, ctx);
	free(buf);
	return ret;
}

/* Image = tag 0xc1 everywhere; origin = 0xd2 at the writes, 0xc1 around. */
static void check(struct __test_metadata *_metadata,
		  FIXTURE_DATA(plug) *self)
{
	int ifd = snap_open_image(self->ofd, O_RDONLY | O_DIRECT);
	int i;

	ASSERT_LE(0, ifd);
	EXPECT_EQ(0, sd_check_range(ifd, 0, NR_WRITES * STRIDE, 0xc1, 1))
		TH_LOG("the image is not the data at TAKE");
	for (i = 0; i < NR_WRITES; i++) {
		EXPECT_EQ(0, sd_check_at(self->ofd, wr_off(i), 4096, 0xd2))
			TH_LOG("origin write %d lost", i);
		if (wr_off(i) % STRIDE)
			EXPECT_EQ(0, sd_check_range(self->ofd, i * STRIDE,
						    wr_off(i) % STRIDE, 0xc1, 1));
	}
	close(ifd);
}

static void expect_intact(struct __test_metadata *_metadata,
			  FIXTURE_DATA(plug) *self)
{
	struct blksnap_snapshotinfo info;

	ASSERT_EQ(0, snap_info(self->ofd, &info));
	EXPECT_EQ(0, info.error_code);
}

TEST_F_TIMEOUT(plug, aio_batch, 300)
{
	ASSERT_EQ(0, aio_batch(self->ofd));
	expect_intact(_metadata, self);
	check(_metadata, self);
}

TEST_F_TIMEOUT(plug, writeback, 300)
{
	int fd = open(self->orig, O_RDWR);
	char *buf;
	int i;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, posix_memalign((void **)&buf, 4096, 4096));
	for (i = 0; i < NR_WRITES; i++) {
		sd_fill(buf, 4096, 0xd2, wr_off(i) / 512, 1);
		ASSERT_EQ(4096, pwrite(fd, buf, 4096, wr_off(i)));
	}
	free(buf);
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	/* O_DIRECT reads below: the page cache is written back and dropped */
	system("echo 1 > /proc/sys/vm/drop_caches");
	expect_intact(_metadata, self);
	check(_metadata, self);
}

TEST_F_TIMEOUT(plug, image_during_batch, 300)
{
	int status = 0;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		/* reads of the chunks being copied: the TAKE data, always */
		int ifd = snap_open_image(self->ofd, O_RDONLY | O_DIRECT);
		int r, i, bad = 0;

		if (ifd < 0)
			_exit(2);
		for (r = 0; r < 4; r++)
			for (i = 0; i < NR_WRITES; i++)
				if (sd_check_at(ifd, wr_off(i), 4096, 0xc1))
					bad++;
		close(ifd);
		_exit(bad ? 1 : 0);
	}
	EXPECT_EQ(0, aio_batch(self->ofd));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("the image read something else than the data at TAKE");
	expect_intact(_metadata, self);
	check(_metadata, self);
}

TEST_HARNESS_MAIN
