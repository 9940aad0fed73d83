// SPDX-License-Identifier: GPL-2.0
/*
 * CBT through a partition: the filter on a partition sees partition-relative
 * sectors, also for bios the block layer splits (the remainders come back
 * already remapped to the whole disk), and discard / write-zeroes mark too.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include "kselftest_harness.h"
#include "cbt.h"
#include "dev.h"

#define BACKING "/tmp/cbt_partition.img"
#define P1_START 2048		/* sectors */
#define P1_SIZE (40 * 2048)	/* 40 MiB */

FIXTURE(part) {
	int lfd;
	int fd;
	char disk[64];
	char part[72];
	struct blksnap_cbtinfo info;
	unsigned char *map;
	void *buf;
};

static int set_max_sectors_kb(const char *disk, int kb)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/%s/queue/max_sectors_kb",
		 disk + 5);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", kb);
	return fclose(f) ? -errno : 0;
}

FIXTURE_SETUP(part)
{
	self->lfd = loop_create(BACKING, 64, LO_FLAGS_PARTSCAN, self->disk,
				sizeof(self->disk));
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, write_mbr(self->lfd, P1_START, P1_SIZE));
	ASSERT_EQ(0, ioctl(self->lfd, BLKRRPART, 0));
	snprintf(self->part, sizeof(self->part), "%sp1", self->disk);
	ASSERT_EQ(0, wait_for_node(self->part));
	ASSERT_EQ(0, set_max_sectors_kb(self->disk, 64));
	self->fd = open(self->part, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, bf_attach(self->fd));
	ASSERT_EQ(0, cbt_info(self->fd, &self->info));
	self->map = calloc(self->info.block_count, 1);
	ASSERT_NE(NULL, self->map);
	ASSERT_EQ(0, posix_memalign(&self->buf, 4096, 4 << 20));
	memset(self->buf, 0x5a, 4 << 20);
}

FIXTURE_TEARDOWN(part)
{
	bf_detach(self->fd);
	close(self->fd);
	free(self->map);
	free(self->buf);
	loop_destroy(self->lfd, BACKING);
}

/* Blocks whose byte equals changes_number must be exactly [first, last]. */
static int marked_exactly(struct __test_metadata *_metadata, int fd,
			  unsigned char *map, uint64_t first, uint64_t last)
{
	struct blksnap_cbtinfo info;
	uint64_t b;
	int bad = 0;

	if (cbt_info(fd, &info))
		return -1;
	if (cbt_read(fd, 0, info.block_count, map) != (int)info.block_count)
		return -1;
	for (b = 0; b < info.block_count; b++) {
		int want = b >= first && b <= last;

		if (want != (map[b] == info.changes_number) && bad++ < 5)
			TH_LOG("block %llu: byte %u (number %u), expected %s",
			       (unsigned long long)b, map[b],
			       info.changes_number, want ? "marked" : "clear");
	}
	return bad;
}

TEST_F(part, capacity_is_partition)
{
	EXPECT_EQ((uint64_t)P1_SIZE * 512, self->info.device_capacity);
}

/* 1 MiB at an odd 4 KiB offset: 16 bios of 64 KiB, 15 split remainders. */
TEST_F(part, split_write_partition_relative)
{
	uint64_t bs = self->info.block_size;
	uint64_t off = 3 * bs + 4096, len = 1 << 20;

	ASSERT_EQ(0, cbt_switch(self->fd));
	ASSERT_EQ((ssize_t)len, pwrite(self->fd, self->buf, len, off));
	ASSERT_EQ(0, cbt_switch(self->fd));
	EXPECT_EQ(0, marked_exactly(_metadata, self->fd, self->map,
				    off / bs, (off + len - 1) / bs));
}

TEST_F(part, last_blocks_of_partition)
{
	uint64_t bs = self->info.block_size;
	uint64_t len = 3 << 20, off = (uint64_t)P1_SIZE * 512 - len;

	ASSERT_EQ(0, cbt_switch(self->fd));
	ASSERT_EQ((ssize_t)len, pwrite(self->fd, self->buf, len, off));
	ASSERT_EQ(0, cbt_switch(self->fd));
	EXPECT_EQ(0, marked_exactly(_metadata, self->fd, self->map,
				    off / bs, (off + len - 1) / bs));
}

TEST_F(part, discard_marks)
{
	uint64_t bs = self->info.block_size;
	uint64_t r[2] = { 7 * bs, 2 * bs };

	ASSERT_EQ(0, cbt_switch(self->fd));
	if (ioctl(self->fd, BLKDISCARD, r))
		SKIP(return, "BLKDISCARD: %s", strerror(errno));
	ASSERT_EQ(0, cbt_switch(self->fd));
	EXPECT_EQ(0, marked_exactly(_metadata, self->fd, self->map, 7, 8));
}

TEST_F(part, write_zeroes_marks)
{
	uint64_t bs = self->info.block_size;
	uint64_t r[2] = { 11 * bs + 8192, bs };

	ASSERT_EQ(0, cbt_switch(self->fd));
	ASSERT_EQ(0, ioctl(self->fd, BLKZEROOUT, r));
	ASSERT_EQ(0, cbt_switch(self->fd));
	EXPECT_EQ(0, marked_exactly(_metadata, self->fd, self->map, 11, 12));
}

TEST_HARNESS_MAIN
