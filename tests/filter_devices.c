// SPDX-License-Identifier: GPL-2.0
/*
 * The filter on different kinds of block devices (virtio disk, loop,
 * partition, dm-linear, a device under dm-linear) and what happens when the
 * device goes away while attached: automatic detach (seen in the module's
 * reference count, one per attachment), and the device can be made and
 * attached again.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include "kselftest_harness.h"
#include "cbt.h"
#include "dev.h"
#include "fixture.h"

static void *wbuf(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len))
		return NULL;
	memset(p, 0x3c, len);
	return p;
}

/* Blocks with byte == changes_number are exactly [first, last]. */
static int marked_exactly(int fd, uint64_t first, uint64_t last)
{
	struct blksnap_cbtinfo info;
	unsigned char *map;
	uint64_t b;
	int bad = 0;

	if (cbt_info(fd, &info))
		return -1;
	map = calloc(info.block_count, 1);
	if (!map || cbt_read(fd, 0, info.block_count, map) !=
	    (int)info.block_count) {
		free(map);
		return -1;
	}
	for (b = 0; b < info.block_count; b++)
		if ((b >= first && b <= last) != (map[b] == info.changes_number))
			bad++;
	free(map);
	return bad;
}

/*
 * Every test of this program releases what it used even when an ASSERT
 * stops it: brd, virtio, dm and loop devices, every snapshot, the module
 * parameters.  Named "global" so that the tests keep their names
 * (global.NAME) in the results.
 */
FIXTURE(global) {
	struct scratch s;
};

FIXTURE_SETUP(global)
{
	scratch_save_params(&self->s);
}

FIXTURE_TEARDOWN_PARENT(global)
{
	static const char *const devs[] = {
		"/dev/vda", "/dev/ram0", "/dev/ram1", "/dev/ram2", "/dev/ram3",
		NULL,
	};
	static const char *const dms[] = { "bs_top", "bs_lin", NULL };
	static const char *const loops[] = {
		"/tmp/fd_loop.img", "/tmp/fd_part.img", NULL,
	};

	scratch_release(NULL, devs, dms, loops);
	scratch_restore_params(&self->s);
}

TEST_F(global, virtio_whole_disk)
{
	struct blksnap_cbtinfo info;
	uint64_t size;
	int fd = open("/dev/vda", O_RDWR | O_DIRECT);
	void *buf = wbuf(1 << 20);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, BLKGETSIZE64, &size));
	ASSERT_EQ(0, bf_attach(fd));
	ASSERT_EQ(0, cbt_info(fd, &info));
	EXPECT_EQ(size, info.device_capacity);
	ASSERT_EQ(0, cbt_switch(fd));
	ASSERT_EQ(1 << 20, pwrite(fd, buf, 1 << 20, 5 * info.block_size));
	ASSERT_EQ(0, cbt_switch(fd));
	EXPECT_EQ(0, marked_exactly(fd, 5, 5 + (1 << 20) / info.block_size - 1));
	EXPECT_EQ(0, bf_detach(fd));
	close(fd);
	free(buf);
}

TEST_F(global, loop_device)
{
	struct blksnap_cbtinfo info;
	char path[64];
	void *buf = wbuf(1 << 20);
	int lfd, fd;

	lfd = loop_create("/tmp/fd_loop.img", 32, 0, path, sizeof(path));
	ASSERT_LE(0, lfd);
	fd = open(path, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));
	ASSERT_EQ(0, cbt_info(fd, &info));
	EXPECT_EQ(32ULL << 20, info.device_capacity);
	ASSERT_EQ(0, cbt_switch(fd));
	ASSERT_EQ(1 << 20, pwrite(fd, buf, 1 << 20, 3 * info.block_size));
	ASSERT_EQ(0, cbt_switch(fd));
	EXPECT_EQ(0, marked_exactly(fd, 3, 3 + (1 << 20) / info.block_size - 1));
	/* the loop device losing its backing file is not a removal */
	EXPECT_EQ(0, ioctl(lfd, LOOP_CLR_FD, 0));
	EXPECT_EQ(0, bf_detach(fd));
	close(fd);
	close(lfd);
	unlink("/tmp/fd_loop.img");
	free(buf);
}

/*
 * dm-linear at offset 2048 over ram0 with the filter on ram0: writes through
 * dm arrive nested inside dm's submit_bio and are seen at ram0's offsets.
 */
TEST_F(global, write_through_dm_linear_below)
{
	struct blksnap_cbtinfo info;
	char path[64];
	void *buf = wbuf(1 << 20);
	uint64_t bs, off;
	int rfd, dfd;

	ASSERT_EQ(0, brd_ensure(4, 64));
	rfd = open("/dev/ram0", O_RDWR);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, bf_attach(rfd));
	ASSERT_EQ(0, cbt_info(rfd, &info));
	bs = info.block_size;
	ASSERT_EQ(0, dm_create("bs_lin", "linear", 65536, "1:0 2048", path,
			       sizeof(path)));
	ASSERT_EQ(0, wait_for_node(path));
	dfd = open(path, O_RDWR | O_DIRECT);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, cbt_switch(rfd));
	off = 4 * bs;			/* dm offset; ram0 offset + 1 MiB */
	ASSERT_EQ(1 << 20, pwrite(dfd, buf, 1 << 20, off));
	ASSERT_EQ(0, cbt_switch(rfd));
	EXPECT_EQ(0, marked_exactly(rfd, (off + (2048 << 9)) / bs,
				    (off + (2048 << 9) + (1 << 20) - 1) / bs));
	close(dfd);
	EXPECT_EQ(0, dm_remove("bs_lin"));
	EXPECT_EQ(0, bf_detach(rfd));
	close(rfd);
	free(buf);
}

TEST_F(global, filter_on_dm_and_dm_removal)
{
	struct blksnap_cbtinfo info;
	char path[64];
	void *buf = wbuf(1 << 20);
	int base, dfd;

	ASSERT_EQ(0, brd_ensure(4, 64));
	base = module_refcnt();
	ASSERT_LE(0, base);
	ASSERT_EQ(0, dm_create("bs_top", "linear", 65536, "1:1 0", path,
			       sizeof(path)));
	ASSERT_EQ(0, wait_for_node(path));
	dfd = open(path, O_RDWR | O_DIRECT);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, bf_attach(dfd));
	EXPECT_EQ(base + 1, module_refcnt());
	ASSERT_EQ(0, cbt_info(dfd, &info));
	ASSERT_EQ(0, cbt_switch(dfd));
	ASSERT_EQ(1 << 20, pwrite(dfd, buf, 1 << 20, 0));
	ASSERT_EQ(0, cbt_switch(dfd));
	EXPECT_EQ(0, marked_exactly(dfd, 0, (1 << 20) / info.block_size - 1));
	close(dfd);
	/* remove the dm device with the filter attached: auto-detach */
	ASSERT_EQ(0, dm_remove("bs_top"));
	EXPECT_EQ(base, wait_refcnt(base, 3000));
	/* make it again, attach again */
	ASSERT_EQ(0, dm_create("bs_top", "linear", 65536, "1:1 0", path,
			       sizeof(path)));
	ASSERT_EQ(0, wait_for_node(path));
	dfd = open(path, O_RDWR);
	ASSERT_LE(0, dfd);
	EXPECT_EQ(0, bf_attach(dfd));
	EXPECT_EQ(0, bf_detach(dfd));
	close(dfd);
	EXPECT_EQ(0, dm_remove("bs_top"));
	free(buf);
}

TEST_F(global, partition_rescan_detaches)
{
	char part[72];
	int lfd, pfd, base;

	base = module_refcnt();
	ASSERT_LE(0, base);
	lfd = loop_with_partition("/tmp/fd_part.img", 32, part, sizeof(part));
	ASSERT_LE(0, lfd);
	pfd = open(part, O_RDWR);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, bf_attach(pfd));
	EXPECT_EQ(base + 1, module_refcnt());
	close(pfd);
	ASSERT_EQ(0, ioctl(lfd, BLKRRPART, 0));
	EXPECT_EQ(base, wait_refcnt(base, 3000));
	ASSERT_EQ(0, wait_for_node(part));
	pfd = open(part, O_RDWR);
	ASSERT_LE(0, pfd);
	EXPECT_EQ(0, bf_attach(pfd));
	EXPECT_EQ(0, bf_detach(pfd));
	close(pfd);
	loop_destroy(lfd, "/tmp/fd_part.img");
}

/* Removing the whole brd driver with a filter on one of its disks. */
TEST_F(global, brd_removal)
{
	int fd, base;

	ASSERT_EQ(0, brd_ensure(4, 64));
	base = module_refcnt();
	fd = open("/dev/ram1", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));
	EXPECT_EQ(base + 1, module_refcnt());
	close(fd);
	ASSERT_EQ(0, system("rmmod brd"));
	EXPECT_EQ(base, wait_refcnt(base, 3000));
	ASSERT_EQ(0, brd_ensure(4, 64));
	fd = open("/dev/ram1", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, bf_attach(fd));
	EXPECT_EQ(0, bf_detach(fd));
	close(fd);
}

TEST_HARNESS_MAIN
