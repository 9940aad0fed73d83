// SPDX-License-Identifier: GPL-2.0
/*
 * Change-block tracking through the "blksnap" filter: cbtinfo, cbtmap and
 * cbtdirty, and which writes mark which blocks.
 *
 * Marks made by writes land in the live map; user space sees them after a
 * switch (what SNAPSHOT_TAKE does).  These tests use the test-only switch
 * command of a BLKSNAP_TESTING build.  After "switch; write W; switch" the
 * blocks whose byte equals changes_number are exactly those W touched.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include "kselftest_harness.h"
#include "cbt.h"

#define DEV "/dev/ram0"

struct range {
	uint64_t sector;
	uint64_t count;
};

FIXTURE(cbt) {
	int fd;
	uint64_t capacity;
	struct blksnap_cbtinfo info;
	unsigned char *map;
	void *buf;
};

FIXTURE_SETUP(cbt)
{
	ASSERT_EQ(0, brd_ensure(4, 64));
	self->fd = open(DEV, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioctl(self->fd, BLKGETSIZE64, &self->capacity));
	ASSERT_EQ(0, bf_attach(self->fd));
	ASSERT_EQ(0, cbt_info(self->fd, &self->info));
	self->map = calloc(self->info.block_count, 1);
	ASSERT_NE(NULL, self->map);
	ASSERT_EQ(0, posix_memalign(&self->buf, 4096, 8 << 20));
	memset(self->buf, 0xa5, 8 << 20);
}

FIXTURE_TEARDOWN(cbt)
{
	bf_detach(self->fd);
	close(self->fd);
	free(self->map);
	free(self->buf);
}

static int read_map(int fd, const struct blksnap_cbtinfo *info,
		    unsigned char *map)
{
	memset(map, 0xff, info->block_count);
	return cbt_read(fd, 0, info->block_count, map);
}

/* Blocks with byte == number must be exactly those touched by @r[0..n). */
static int check_marks(struct __test_metadata *_metadata, int fd,
		       unsigned char *map, unsigned int n,
		       const struct range *r)
{
	struct blksnap_cbtinfo info;
	uint64_t spb, b;
	unsigned int i;
	int bad = 0;

	if (cbt_info(fd, &info) || read_map(fd, &info, map) !=
	    (int)info.block_count)
		return -1;
	spb = info.block_size / 512;
	for (b = 0; b < info.block_count; b++) {
		int want = 0;

		for (i = 0; i < n; i++)
			if (r[i].count && b >= r[i].sector / spb &&
			    b <= (r[i].sector + r[i].count - 1) / spb)
				want = 1;
		if (want != (map[b] == info.changes_number)) {
			if (bad++ < 5)
				TH_LOG("block %llu: byte %u, changes_number %u, expected %s",
				       (unsigned long long)b, map[b],
				       info.changes_number,
				       want ? "marked" : "unmarked");
		}
	}
	return bad;
}

TEST_F(cbt, info_matches_device)
{
	uint64_t bs = self->info.block_size;
	unsigned int i;

	EXPECT_EQ(self->capacity, self->info.device_capacity);
	EXPECT_EQ(0, bs & (bs - 1));
	EXPECT_LE(1ULL << 16, bs);
	EXPECT_GE(1ULL << 26, bs);
	EXPECT_EQ((self->capacity + bs - 1) / bs, self->info.block_count);
	EXPECT_EQ(0, self->info.changes_number);
	ASSERT_EQ((int)self->info.block_count,
		  read_map(self->fd, &self->info, self->map));
	for (i = 0; i < self->info.block_count; i++)
		ASSERT_EQ(0, self->map[i]);
}

TEST_F(cbt, reattach_new_generation)
{
	struct blksnap_cbtinfo again;

	ASSERT_EQ(0, cbt_switch(self->fd));
	ASSERT_EQ(0, bf_detach(self->fd));
	ASSERT_EQ(0, bf_attach(self->fd));
	ASSERT_EQ(0, cbt_info(self->fd, &again));
	EXPECT_NE(0, memcmp(&again.generation_id, &self->info.generation_id,
			    sizeof(again.generation_id)));
	EXPECT_EQ(0, again.changes_number);
}

TEST_F(cbt, switch_numbers)
{
	struct blksnap_cbtinfo info;
	int i;

	for (i = 1; i <= 3; i++) {
		ASSERT_EQ(0, cbt_switch(self->fd));
		ASSERT_EQ(0, cbt_info(self->fd, &info));
		EXPECT_EQ(i, info.changes_number);
		EXPECT_EQ(0, memcmp(&info.generation_id,
				    &self->info.generation_id,
				    sizeof(info.generation_id)));
	}
}

/*
 * The switch that hands out 255 still belongs to the old generation (an
 * agent that saved 254 copies the blocks marked 255); the next one starts
 * a new generation at 1.  Within one generation the number only grows.
 */
TEST_F(cbt, wrap_gives_new_generation)
{
	struct blksnap_cbtinfo info;
	int i;

	for (i = 1; i <= 255; i++)
		ASSERT_EQ(0, cbt_switch(self->fd));
	ASSERT_EQ(0, cbt_info(self->fd, &info));
	EXPECT_EQ(255, info.changes_number);
	EXPECT_EQ(0, memcmp(&info.generation_id, &self->info.generation_id,
			    sizeof(info.generation_id)));
	ASSERT_EQ(0, cbt_switch(self->fd));
	ASSERT_EQ(0, cbt_info(self->fd, &info));
	EXPECT_EQ(1, info.changes_number);
	EXPECT_NE(0, memcmp(&info.generation_id, &self->info.generation_id,
			    sizeof(info.generation_id)));
}

/* Direct writes of many sizes and alignments mark exactly their blocks. */
TEST_F(cbt, direct_writes_mark_exact_blocks)
{
	uint64_t spb = self->info.block_size / 512;
	uint64_t last = self->capacity / 512;
	const struct range cases[] = {
		{ 0, 1 },			/* first sector */
		{ spb - 1, 1 },			/* last sector of block 0 */
		{ spb, 1 },			/* first of block 1 */
		{ 3 * spb - 4, 8 },		/* straddles blocks 2 and 3 */
		{ 5 * spb + 8, spb },		/* one block's worth, offset */
		{ 9 * spb + 1 - 1, 4 * spb },	/* 4 blocks, aligned */
		{ 20 * spb + 7 * 8, 16384 },	/* 8 MiB, split into many bios */
		{ last - 1, 1 },		/* last sector of the device */
		{ last - 3 * spb - 8, 16 },	/* near the end */
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct range *r = &cases[i];
		uint64_t sect = r->sector & ~7ULL;	/* 4 KiB for O_DIRECT */
		uint64_t cnt = (r->sector + r->count + 7) / 8 * 8 - sect;
		struct range w = { sect, cnt };

		ASSERT_EQ(0, cbt_switch(self->fd));
		ASSERT_EQ((ssize_t)(cnt * 512),
			  pwrite(self->fd, self->buf, cnt * 512, sect * 512));
		ASSERT_EQ(0, cbt_switch(self->fd));
		EXPECT_EQ(0, check_marks(_metadata, self->fd, self->map, 1, &w))
			TH_LOG("case %u: sectors %llu+%llu", i,
			       (unsigned long long)sect,
			       (unsigned long long)cnt);
	}
}

/* Single 512-byte sectors (buffered I/O cannot do them; use a 512-aligned
 * direct write when the device's logical block size allows it).
 */
TEST_F(cbt, sector_writes)
{
	uint64_t spb = self->info.block_size / 512;
	int lbs = 0;
	struct range w[3] = { { 2 * spb - 1, 1 }, { 7 * spb, 1 },
			      { 11 * spb + 3, 1 } };
	int i;

	ASSERT_EQ(0, ioctl(self->fd, BLKSSZGET, &lbs));
	if (lbs != 512)
		SKIP(return, "logical block size %d", lbs);
	ASSERT_EQ(0, cbt_switch(self->fd));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(512, pwrite(self->fd, self->buf, 512, w[i].sector * 512));
	ASSERT_EQ(0, cbt_switch(self->fd));
	EXPECT_EQ(0, check_marks(_metadata, self->fd, self->map, 3, w));
}

TEST_F(cbt, buffered_write_fsync)
{
	uint64_t spb = self->info.block_size / 512;
	struct range w = { 13 * spb + 16, 3 * spb };
	int bfd;

	bfd = open(DEV, O_RDWR);
	ASSERT_LE(0, bfd);
	ASSERT_EQ(0, cbt_switch(self->fd));
	ASSERT_EQ((ssize_t)(w.count * 512),
		  pwrite(bfd, self->buf, w.count * 512, w.sector * 512));
	ASSERT_EQ(0, fsync(bfd));
	close(bfd);
	ASSERT_EQ(0, cbt_switch(self->fd));
	EXPECT_EQ(0, check_marks(_metadata, self->fd, self->map, 1, &w));
}

TEST_F(cbt, reads_mark_nothing)
{
	ASSERT_EQ(0, cbt_switch(self->fd));
	ASSERT_EQ(1 << 20, pread(self->fd, self->buf, 1 << 20, 0));
	ASSERT_EQ(0, cbt_switch(self->fd));
	EXPECT_EQ(0, check_marks(_metadata, self->fd, self->map, 0, NULL));
}

TEST_F(cbt, map_pieces_equal_whole)
{
	unsigned int n = self->info.block_count, off, got;
	unsigned char *piece = calloc(n, 1);

	ASSERT_NE(NULL, piece);
	ASSERT_EQ(0, cbt_switch(self->fd));
	ASSERT_EQ(4 << 20, pwrite(self->fd, self->buf, 4 << 20, 3 << 20));
	ASSERT_EQ(0, cbt_switch(self->fd));
	ASSERT_EQ((int)n, read_map(self->fd, &self->info, self->map));
	for (off = 0; off < n; off += got) {
		int r = cbt_read(self->fd, off, 37, piece + off);

		ASSERT_LT(0, r);
		got = r;
		ASSERT_EQ(n - off < 37 ? n - off : 37, got);
	}
	EXPECT_EQ(0, memcmp(piece, self->map, n));
	free(piece);
}

TEST_F(cbt, map_clipping_and_errors)
{
	unsigned int n = self->info.block_count;
	struct blksnap_cbtmap arg = { .offset = 0, .length = 16,
				      .buffer = self->map };
	void *unmapped;

	EXPECT_EQ(10, cbt_read(self->fd, n - 10, 100, self->map));
	EXPECT_EQ(1, cbt_read(self->fd, n - 1, 1, self->map));
	EXPECT_EQ(0, cbt_read(self->fd, 0, 0, self->map));
	EXPECT_EQ(-EINVAL, cbt_read(self->fd, n, 1, self->map));
	EXPECT_EQ(-EINVAL, cbt_read(self->fd, n + 1000, 1, self->map));
	EXPECT_EQ(-EINVAL, cbt_read(self->fd, 0xffffffff, 1, self->map));
	EXPECT_EQ(-EINVAL, bf_ctl(self->fd, blkfilter_ctl_blksnap_cbtmap,
				  &arg, sizeof(arg) - 1));
	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	ASSERT_NE(MAP_FAILED, unmapped);
	EXPECT_EQ(-EFAULT, cbt_read(self->fd, 0, 16, unmapped));
	EXPECT_EQ(-EFAULT, bf_ctl(self->fd, blkfilter_ctl_blksnap_cbtmap,
				  unmapped, sizeof(arg)));
	EXPECT_EQ(-EFAULT, bf_ctl(self->fd, blkfilter_ctl_blksnap_cbtinfo,
				  unmapped, sizeof(self->info)));
	EXPECT_EQ(-EINVAL, bf_ctl(self->fd, blkfilter_ctl_blksnap_cbtinfo,
				  &self->info, sizeof(self->info) - 1));
	munmap(unmapped, 4096);
}

TEST_F(cbt, unknown_cmd)
{
	EXPECT_EQ(-ENOTTY, bf_ctl(self->fd, 5, self->map, 64));
	EXPECT_EQ(-ENOTTY, bf_ctl(self->fd, 1000, self->map, 64));
	EXPECT_EQ(-ENOTTY, bf_ctl(self->fd, 0xffffffff, self->map, 64));
}

/* cbtdirty marks every range in the read map, and a bad one marks none. */
TEST_F(cbt, dirty_many_ranges)
{
	uint64_t spb = self->info.block_size / 512;
	unsigned int nb = self->info.block_count;
	struct range want[100];
	struct blksnap_sectors r[101];
	unsigned int i;

	ASSERT_LE(300, nb);
	ASSERT_EQ(0, cbt_switch(self->fd));
	for (i = 0; i < 100; i++) {
		r[i].offset = (uint64_t)(i * 3) * spb + (i % 5);
		r[i].count = i % 7 ? 1 + i : 0;	/* some empty ranges */
		want[i].sector = r[i].offset;
		want[i].count = r[i].count;
	}
	/* A range past the end: refused, and nothing is marked. */
	r[100].offset = self->capacity / 512 - 1;
	r[100].count = 2;
	EXPECT_EQ(-EINVAL, cbt_dirty(self->fd, r, 101));
	EXPECT_EQ(0, check_marks(_metadata, self->fd, self->map, 0, NULL));

	EXPECT_EQ(0, cbt_dirty(self->fd, r, 100));
	EXPECT_EQ(0, check_marks(_metadata, self->fd, self->map, 100, want));

	/* ...and the write map too: they show after the next switch. */
	ASSERT_EQ(0, cbt_switch(self->fd));
	EXPECT_EQ(0, check_marks(_metadata, self->fd, self->map, 100, want));
}

TEST_F(cbt, dirty_errors)
{
	struct blksnap_sectors r = { .offset = 0, .count = 1 };
	struct blksnap_cbtdirty arg = { .count = 1, .dirty_sectors = &r };
	void *unmapped;

	EXPECT_EQ(-EINVAL, bf_ctl(self->fd, blkfilter_ctl_blksnap_cbtdirty,
				  &arg, sizeof(arg) - 1));
	r.offset = ~0ULL;
	EXPECT_EQ(-EINVAL, cbt_dirty(self->fd, &r, 1));
	r.offset = 8;
	r.count = ~0ULL - 4;
	EXPECT_EQ(-EINVAL, cbt_dirty(self->fd, &r, 1));
	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	ASSERT_NE(MAP_FAILED, unmapped);
	EXPECT_EQ(-EFAULT, cbt_dirty(self->fd, unmapped, 1));
	EXPECT_EQ(-EFAULT, cbt_dirty(self->fd, NULL, 1));
	EXPECT_EQ(0, cbt_dirty(self->fd, NULL, 0));
	munmap(unmapped, 4096);
}

TEST_HARNESS_MAIN
