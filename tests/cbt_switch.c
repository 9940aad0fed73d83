// SPDX-License-Identifier: GPL-2.0
/*
 * The CBT switch without a copy (issues 18 and 19): at each switch (what
 * SNAPSHOT_TAKE does; here the test-only switch command, which runs the
 * same prepare / switch / finish steps) the write map becomes the read map
 * and the old read map the new write map; a worker then raises the new
 * write map to the read map while writes mark it.  What must hold:
 *
 *  - history_across_switches: blocks written before switch 1, between 1
 *    and 2, and after 2 read 1, 2 and 3 after switch 3 (an agent that
 *    saved 1 and skipped backup 2 still copies the blocks written between
 *    1 and 2).  Without the catch-up, the write map after switch 2 is the
 *    read map of switch 1 and lacks them;
 *  - writes_race_catch_up: on a 1 PiB device (16 MiB map, so the catch-up
 *    takes a while), blocks written right after a switch, while the
 *    catch-up raises the same words, all read 3 after the next switch: the
 *    catch-up never lowers a byte a write raised (a catch-up that copied
 *    the read map over the write map would);
 *  - wrap_clears_history: after the switch that wraps past 255, and after
 *    the one after it, the new generation's map holds only what was
 *    written since (the write maps they start are zeroed; the old read
 *    map, reused, would bring back blocks of the old generation).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <pthread.h>
#include "kselftest_harness.h"
#include "cbt.h"
#include "dev.h"

#define NULLB_NAME "cbt_switch"
#define NSPREAD 2048

FIXTURE(sw) {
	int fd;
	char dev[64];
	struct blksnap_cbtinfo info;
	unsigned char *map;
	void *buf;
	int n;			/* blocks per set */
};

FIXTURE_VARIANT(sw) {
	uint64_t mib;
};

FIXTURE_VARIANT_ADD(sw, brd) { .mib = 0 };
FIXTURE_VARIANT_ADD(sw, pib1) { .mib = 1ULL << 30 };

FIXTURE_SETUP(sw)
{
	char size[32];
	const char *attrs[] = { size, "memory_backed=0", NULL };
	int ret;

	self->fd = -1;
	self->map = NULL;
	self->buf = NULL;
	if (!variant->mib) {
		ASSERT_EQ(0, brd_ensure(4, 64));
		snprintf(self->dev, sizeof(self->dev), "/dev/ram0");
	} else {
		snprintf(size, sizeof(size), "size=%llu",
			 (unsigned long long)variant->mib);
		nullb_remove(NULLB_NAME);
		ret = nullb_create(NULLB_NAME, attrs, self->dev,
				   sizeof(self->dev));
		if (ret == -ENOENT)
			SKIP(return, "null_blk has no configfs interface here");
		ASSERT_EQ(0, ret);
	}
	self->fd = open(self->dev, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, bf_attach(self->fd));
	ASSERT_EQ(0, cbt_info(self->fd, &self->info));
	self->n = self->info.block_count / 16;
	if (self->n > NSPREAD)
		self->n = NSPREAD;
	ASSERT_LT(0, self->n);
	self->map = malloc(self->info.block_count);
	ASSERT_NE(NULL, self->map);
	ASSERT_EQ(0, posix_memalign(&self->buf, 4096, 4096));
	memset(self->buf, 0x5a, 4096);
}

FIXTURE_TEARDOWN(sw)
{
	if (self->fd >= 0) {
		bf_detach(self->fd);
		close(self->fd);
	}
	free(self->map);
	free(self->buf);
	if (variant->mib)
		nullb_remove(NULLB_NAME);
	/* null_blk loaded here (nr_devices=0) hides /dev/nullb0 from snap_scale */
	system("rmmod null_blk 2>/dev/null");
}

/*
 * Block @i of the set @set (0, 1, 2) of @n blocks: spread over the whole
 * map, at least 16 blocks apart, the sets side by side.
 */
static uint64_t blk(const struct blksnap_cbtinfo *info, int set, int i,
		    int n)
{
	return (uint64_t)i * (info->block_count / n) + set * 3 + 1;
}

static int write_set(int fd, const struct blksnap_cbtinfo *info, void *buf,
		     int set, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (pwrite(fd, buf, 4096,
			   blk(info, set, i, n) * info->block_size) != 4096)
			return -errno;
	return 0;
}

/* Read the whole map; -1 on error. */
static int get_map(int fd, struct blksnap_cbtinfo *info, unsigned char *map)
{
	if (cbt_info(fd, info))
		return -1;
	memset(map, 0xff, info->block_count);
	return cbt_read(fd, 0, info->block_count, map) ==
	       (int)info->block_count ? 0 : -1;
}

/*
 * Every block of set s (n blocks) reads want[s]; all others 0.  Returns
 * the number of wrong bytes, logging the first few.
 */
static long check_sets(struct __test_metadata *_metadata,
		       const struct blksnap_cbtinfo *info,
		       const unsigned char *map, const int *want, int nsets,
		       int n)
{
	unsigned char *exp = calloc(info->block_count, 1);
	long bad = 0;
	uint64_t b;
	int s, i;

	if (!exp)
		return -1;
	for (s = 0; s < nsets; s++)
		for (i = 0; i < n; i++)
			exp[blk(info, s, i, n)] = want[s];
	for (b = 0; b < info->block_count; b++)
		if (map[b] != exp[b] && bad++ < 5)
			TH_LOG("block %llu: byte %u, expected %u",
			       (unsigned long long)b, map[b], exp[b]);
	free(exp);
	return bad;
}

TEST_F_TIMEOUT(sw, history_across_switches, 600)
{
	static const int want[3] = { 1, 2, 3 };
	struct blksnap_cbtinfo info;
	int s;

	for (s = 0; s < 3; s++) {
		ASSERT_EQ(0, write_set(self->fd, &self->info, self->buf, s,
				       self->n));
		ASSERT_EQ(0, cbt_switch(self->fd));
	}
	ASSERT_EQ(0, get_map(self->fd, &info, self->map));
	ASSERT_EQ(3, info.changes_number);
	EXPECT_EQ(0, check_sets(_metadata, &info, self->map, want, 3,
				self->n));
}

TEST_F_TIMEOUT(sw, writes_race_catch_up, 600)
{
	static const int want[2] = { 3, 0 };
	struct blksnap_cbtinfo info;
	int r;

	/* two rounds: the bytes of set 0 differ between the maps */
	for (r = 0; r < 2; r++) {
		ASSERT_EQ(0, write_set(self->fd, &self->info, self->buf, 0,
				       self->n));
		ASSERT_EQ(0, cbt_switch(self->fd));
	}
	/* the catch-up of switch 2 raises set 0 from 1 to 2: write it again */
	ASSERT_EQ(0, write_set(self->fd, &self->info, self->buf, 0, self->n));
	ASSERT_EQ(0, cbt_switch(self->fd));
	ASSERT_EQ(0, get_map(self->fd, &info, self->map));
	ASSERT_EQ(3, info.changes_number);
	EXPECT_EQ(0, check_sets(_metadata, &info, self->map, want, 1,
				self->n));
}

TEST_F_TIMEOUT(sw, wrap_clears_history, 900)
{
	static const int want[3] = { 0, 0, 1 };
	static const int want2[3] = { 0, 2, 1 };
	struct blksnap_cbtinfo info;
	int i;

	if (variant->mib)
		SKIP(return, "the brd variant covers it (255 switches of a 16 MiB map take long here)");
	ASSERT_EQ(0, write_set(self->fd, &self->info, self->buf, 0, self->n));
	for (i = 1; i <= 254; i++)
		ASSERT_EQ(0, cbt_switch(self->fd));
	ASSERT_EQ(0, write_set(self->fd, &self->info, self->buf, 1, self->n));
	ASSERT_EQ(0, cbt_switch(self->fd));	/* hands out 255 */
	ASSERT_EQ(0, get_map(self->fd, &info, self->map));
	ASSERT_EQ(255, info.changes_number);
	ASSERT_EQ(0, write_set(self->fd, &self->info, self->buf, 2, self->n));
	ASSERT_EQ(0, cbt_switch(self->fd));	/* publishes the new history */
	ASSERT_EQ(0, get_map(self->fd, &info, self->map));
	ASSERT_EQ(1, info.changes_number);
	EXPECT_NE(0, memcmp(&info.generation_id, &self->info.generation_id,
			    sizeof(info.generation_id)));
	EXPECT_EQ(0, check_sets(_metadata, &info, self->map, want, 3,
				self->n));
	/*
	 * The next switch recycles the read map of the wrapping one, full of
	 * the old generation's numbers: none of them may come back.
	 */
	ASSERT_EQ(0, write_set(self->fd, &self->info, self->buf, 1, self->n));
	ASSERT_EQ(0, cbt_switch(self->fd));
	ASSERT_EQ(0, get_map(self->fd, &info, self->map));
	ASSERT_EQ(2, info.changes_number);
	EXPECT_EQ(0, check_sets(_metadata, &info, self->map, want2, 3,
				self->n));
}

TEST_HARNESS_MAIN
