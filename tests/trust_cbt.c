// SPDX-License-Identifier: GPL-2.0
/*
 * Long-lived trackers: hundreds of snapshot cycles on one attached device,
 * with a backup agent that follows Documentation/agent-guide.rst to the
 * letter.  Each cycle writes a few blocks, takes a snapshot, and the agent
 * brings its backup up to date from the image: the blocks whose CBT byte is
 * greater than the number it saved last time, or everything when the
 * generation changed.  The backup must then equal the device at TAKE, byte
 * for byte, and an incremental must copy exactly the blocks written.
 *
 * 600 cycles cross the change-number wrap (255) twice (on the debug
 * kernel 240 test-only switches and 40 cycles cross it once;
 * TRUST_CBT_CYCLES sets the number of cycles).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include "kselftest_harness.h"
#include "timeout.h"
#include "snap.h"
#include "cbt.h"

#define ORIG_MIB	8
#define STORE_MIB	64
#define CYCLES_DEFAULT	600

FIXTURE(agent) {
	int cfd;
	int ofd;		/* origin, O_DIRECT */
	int sfd;		/* storage loop */
	char opath[32];
	char spath[32];
	uint64_t size;
	unsigned char *shadow;	/* what the origin holds */
	unsigned char *backup;	/* what the agent has */
	unsigned char *map;
	unsigned char *written;	/* CBT blocks written since the backup */
	void *buf;
	struct blksnap_uuid id;
};

FIXTURE_SETUP(agent)
{
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
	self->sfd = loop_create("/tmp/trust_cbt.store", STORE_MIB, 0,
				self->spath, sizeof(self->spath));
	ASSERT_LE(0, self->sfd);
	self->ofd = loop_create("/tmp/trust_cbt.orig", ORIG_MIB, 0,
				self->opath, sizeof(self->opath));
	ASSERT_LE(0, self->ofd);
	close(self->ofd);
	self->ofd = open(self->opath, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->ofd);
	self->size = (uint64_t)ORIG_MIB << 20;
	self->shadow = calloc(1, self->size);
	self->backup = calloc(1, self->size);
	self->map = calloc(1, self->size / 4096);
	self->written = calloc(1, self->size / 4096);
	ASSERT_EQ(0, posix_memalign(&self->buf, 4096, 1 << 20));
	ASSERT_NE(NULL, self->shadow);
	ASSERT_NE(NULL, self->backup);
	ASSERT_NE(NULL, self->map);
	ASSERT_NE(NULL, self->written);
	ASSERT_EQ(0, bf_attach(self->ofd));
}

FIXTURE_TEARDOWN(agent)
{
	snap_destroy_all();
	bf_detach(self->ofd);
	close(self->ofd);
	loop_destroy(open(self->opath, O_RDWR), "/tmp/trust_cbt.orig");
	loop_destroy(self->sfd, "/tmp/trust_cbt.store");
	free(self->shadow);
	free(self->backup);
	free(self->map);
	free(self->written);
	free(self->buf);
	close(self->cfd);
}

/* Copy [off, off + len) of the image into the backup. */
static int copy_from_image(int ifd, unsigned char *backup, void *buf,
			   uint64_t off, uint64_t len)
{
	while (len) {
		size_t n = len > (1 << 20) ? 1 << 20 : len;

		if (pread(ifd, buf, n, off) != (ssize_t)n)
			return -1;
		memcpy(backup + off, buf, n);
		off += n;
		len -= n;
	}
	return 0;
}

TEST_F_TIMEOUT(agent, cycles_cross_the_wrap, 900)
{
	const char *env = getenv("TRUST_CBT_CYCLES");
	/*
	 * The KASAN/kmemleak kernel: 240 quick switches (the test-only ctl)
	 * first, then 40 cycles, which cross the wrap once.
	 */
	int debug = !access("/sys/kernel/debug/kmemleak", F_OK);
	int cycles = env ? atoi(env) : debug ? 40 : CYCLES_DEFAULT;
	int skip = env || !debug ? 0 : 240;
	struct blksnap_uuid saved_gen = {};
	unsigned int saved_n = 0, fulls = 0, incrementals = 0;
	int have_backup = 0, cycle;
	uint64_t bsize = 0, nblocks = 0, copied_blocks = 0;

	srandom(20261207);
	for (cycle = 0; cycle < skip; cycle++)
		ASSERT_EQ(0, cbt_switch(self->ofd));
	for (cycle = 1; cycle <= cycles; cycle++) {
		struct blksnap_cbtinfo info;
		int k, nw = 1 + random() % 6, ifd;
		uint64_t b;

		/* the writes of this cycle, 4 KiB each, unique content */
		for (k = 0; k < nw; k++) {
			uint64_t off = (random() % (self->size / 4096)) * 4096;

			sd_fill(self->buf, 4096, cycle, off / 512, k);
			ASSERT_EQ(4096, pwrite(self->ofd, self->buf, 4096, off));
			memcpy(self->shadow + off, self->buf, 4096);
			if (bsize)
				self->written[off / bsize] = 1;
		}

		ASSERT_EQ(0, snap_create(self->cfd, &self->id));
		ASSERT_EQ(0, snap_add(self->ofd, &self->id));
		ASSERT_EQ(0, snap_append_range(self->cfd, &self->id,
					       self->spath, 0,
					       (uint64_t)STORE_MIB << 11));
		ASSERT_EQ(0, snap_take(self->cfd, &self->id));

		/* the agent, as agent-guide.rst tells it */
		ASSERT_EQ(0, cbt_info(self->ofd, &info));
		ASSERT_EQ(self->size, info.device_capacity);
		bsize = info.block_size;
		nblocks = info.block_count;
		ifd = snap_open_image(self->ofd, O_RDONLY | O_DIRECT);
		ASSERT_LE(0, ifd);
		if (have_backup && !memcmp(&saved_gen, &info.generation_id,
					   sizeof(saved_gen))) {
			uint64_t n = 0;

			/* within a generation the number only grows */
			ASSERT_GT(info.changes_number, saved_n)
				TH_LOG("cycle %d: changes_number %u after %u in the same generation",
				       cycle, info.changes_number, saved_n);
			ASSERT_EQ((int)nblocks,
				  cbt_read(self->ofd, 0, nblocks, self->map));
			for (b = 0; b < nblocks; b++) {
				int copy = self->map[b] > saved_n;

				/* exactly the blocks written, no more */
				ASSERT_EQ(self->written[b], copy)
					TH_LOG("cycle %d: block %llu written %d copied %d",
					       cycle, (unsigned long long)b,
					       self->written[b], copy);
				if (!copy)
					continue;
				ASSERT_EQ(0, copy_from_image(ifd, self->backup,
							     self->buf,
							     b * bsize, bsize));
				n++;
			}
			copied_blocks += n;
			incrementals++;
		} else {
			ASSERT_EQ(0, copy_from_image(ifd, self->backup,
						     self->buf, 0,
						     self->size));
			fulls++;
		}
		close(ifd);
		saved_gen = info.generation_id;
		saved_n = info.changes_number;
		have_backup = 1;
		memset(self->written, 0, nblocks);
		ASSERT_EQ(0, snap_destroy(self->cfd, &self->id));

		/* the backup is the device at TAKE (no writes since) */
		ASSERT_EQ(0, memcmp(self->backup, self->shadow, self->size))
			TH_LOG("cycle %d: the backup differs from the device",
			       cycle);
	}
	TH_LOG("%d cycles: %u full, %u incremental backups, %llu blocks copied by incrementals",
	       cycles, fulls, incrementals,
	       (unsigned long long)copied_blocks);
	/* a new generation at the first backup and after every 255 TAKEs */
	EXPECT_EQ(1 + (skip + cycles - 1) / 255, fulls);
}

TEST_HARNESS_MAIN
