// SPDX-License-Identifier: GPL-2.0
/*
 * The errno table of /dev/blksnap (v2), ioctl by ioctl: bad pointers, bad
 * counts, unknown ids, untracked devices, dev_id out of range, no
 * CAP_SYS_ADMIN, numbers of the other interface; and that a refused call
 * changes nothing (Documentation/uapi-v2.rst, "Errors").  32-bit callers:
 * tests/v2_compat32.c.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "snap.h"
#include "v2.h"

#define NSECT (64ULL * 2048)

static const char *const devs[] = { "/dev/ram0", "/dev/ram1", "/dev/ram2",
				    "/dev/ram3" };

FIXTURE(v2e) {
	int fd;
	struct blk_snap_dev d0, d1, stor;
	void *unmapped;
	void *rdonly;
};

FIXTURE_SETUP(v2e)
{
	ASSERT_EQ(0, brd_ensure(4, 64));
	v2_cleanup(devs, 4);
	self->fd = v2_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", V2_DEV, strerror(errno));
	self->d0 = v2_dev_of(devs[0]);
	self->d1 = v2_dev_of(devs[1]);
	self->stor = v2_dev_of(devs[2]);
	self->rdonly = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->rdonly);
	/* a hole that stays one: a PROT_NONE mapping */
	self->unmapped = mmap(NULL, 4096, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->unmapped);
}

FIXTURE_TEARDOWN(v2e)
{
	v2_cleanup(devs, 4);
	munmap(self->rdonly, 4096);
	munmap(self->unmapped, 4096);
	close(self->fd);
}

static unsigned int nr_snapshots(int fd)
{
	struct blk_snap_snapshot_collect c = { 0, NULL };

	return v2_ioctl(fd, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT, &c) ? ~0U : c.count;
}

static bool tracked(int fd, struct blk_snap_dev d)
{
	struct blk_snap_cbt_info info;

	return !v2_cbt_info(fd, d, &info);
}

TEST_F(v2e, node)
{
	struct stat st;

	ASSERT_EQ(0, stat(V2_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, access("/sys/class/misc/blksnap/dev", R_OK));
	EXPECT_EQ(0, access(CTL_DEV, F_OK)) TH_LOG("both nodes at once");
}

/* Every command with a NULL and an unmapped argument: -EFAULT. */
TEST_F(v2e, bad_argument_pointers)
{
	static const unsigned long cmds[] = {
		IOCTL_BLK_SNAP_VERSION, IOCTL_BLK_SNAP_TRACKER_REMOVE,
		IOCTL_BLK_SNAP_TRACKER_COLLECT,
		IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP,
		IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS,
		IOCTL_BLK_SNAP_SNAPSHOT_CREATE, IOCTL_BLK_SNAP_SNAPSHOT_DESTROY,
		IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE,
		IOCTL_BLK_SNAP_SNAPSHOT_TAKE, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT,
		IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES,
		IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT,
	};
	unsigned int i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		EXPECT_EQ(-EFAULT, v2_ioctl(self->fd, cmds[i], NULL))
			TH_LOG("cmd %#lx NULL", cmds[i]);
		EXPECT_EQ(-EFAULT, v2_ioctl(self->fd, cmds[i], self->unmapped))
			TH_LOG("cmd %#lx unmapped", cmds[i]);
	}
	EXPECT_EQ(0u, nr_snapshots(self->fd));
}

TEST_F(v2e, version)
{
	struct blk_snap_version v;
	struct blksnap_version v3;
	int cfd = ctl_open();

	memset(&v, 0xff, sizeof(v));
	ASSERT_EQ(0, v2_ioctl(self->fd, IOCTL_BLK_SNAP_VERSION, &v));
	EXPECT_EQ(1, v.major);
	EXPECT_EQ(0, v.minor);
	EXPECT_EQ(0, v.revision);
	EXPECT_EQ(0, v.build);
	/* the same number on the v3 node answers v3's level */
	ASSERT_LE(0, cfd);
	ASSERT_EQ(IOCTL_BLK_SNAP_VERSION, IOCTL_BLKSNAP_VERSION);
	ASSERT_EQ(0, ctl_ioctl(cfd, IOCTL_BLKSNAP_VERSION, &v3));
	EXPECT_EQ(2, v3.major);
	close(cfd);
}

/* Decision 1: MKDEV would alias {4103, 0} to 7:0. */
TEST_F(v2e, dev_id_out_of_range)
{
	struct blk_snap_dev bad[] = { { 4096, 0 }, { 4103, 0 },
				      { 1, 0x100000 }, { 0xffffffff, 0 } };
	struct blk_snap_block_range r = { 0, 8 };
	struct blk_snap_uuid id;
	uint8_t buf[16];
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, v2_remove(self->fd, bad[i]));
		EXPECT_EQ(-EINVAL, v2_read_map(self->fd, bad[i], 0, 16, buf));
		EXPECT_EQ(-EINVAL, v2_mark_dirty(self->fd, bad[i], &r, 1));
		EXPECT_EQ(-EINVAL, v2_create(self->fd, &bad[i], 1, &id));
	}
	ASSERT_EQ(0, v2_create(self->fd, &self->d0, 1, &id));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-EINVAL, v2_append(self->fd, &id, bad[i], &r, 1));
	EXPECT_EQ(1u, nr_snapshots(self->fd));
}

TEST_F(v2e, tracker_remove)
{
	struct blk_snap_uuid id;

	EXPECT_EQ(-ENODATA, v2_remove(self->fd, self->d0));	/* Decision 6 */
	ASSERT_EQ(0, v2_create(self->fd, &self->d0, 1, &id));
	EXPECT_EQ(-EBUSY, v2_remove(self->fd, self->d0));	/* in a snapshot */
	ASSERT_EQ(0, v2_destroy(self->fd, &id));
	EXPECT_TRUE(tracked(self->fd, self->d0)) TH_LOG("DESTROY keeps tracking");
	EXPECT_EQ(0, v2_remove(self->fd, self->d0));
	EXPECT_FALSE(tracked(self->fd, self->d0));
	EXPECT_EQ(-ENODATA, v2_remove(self->fd, self->d0));
}

/* Decision 3: the two-call convention of the collect ioctls. */
TEST_F(v2e, tracker_collect)
{
	struct blk_snap_cbt_info info[4];
	struct blk_snap_tracker_collect arg;
	struct blk_snap_dev both[2] = { self->d0, self->d1 };
	struct blk_snap_uuid id;
	unsigned int i;

	memset(&arg, 0, sizeof(arg));
	ASSERT_EQ(0, v2_ioctl(self->fd, IOCTL_BLK_SNAP_TRACKER_COLLECT, &arg));
	EXPECT_EQ(0u, arg.count);
	ASSERT_EQ(0, v2_create(self->fd, both, 2, &id));
	arg.count = 77;
	ASSERT_EQ(0, v2_ioctl(self->fd, IOCTL_BLK_SNAP_TRACKER_COLLECT, &arg));
	EXPECT_EQ(2u, arg.count);
	/* too small: -ENODATA, count set, nothing written */
	memset(info, 0x5a, sizeof(info));
	arg.count = 1;
	arg.cbt_info_array = info;
	EXPECT_EQ(-ENODATA,
		  v2_ioctl(self->fd, IOCTL_BLK_SNAP_TRACKER_COLLECT, &arg));
	EXPECT_EQ(2u, arg.count);
	EXPECT_EQ(0x5a5a5a5au, info[0].dev_id.mj);
	arg.cbt_info_array = self->unmapped;
	EXPECT_EQ(-EFAULT,
		  v2_ioctl(self->fd, IOCTL_BLK_SNAP_TRACKER_COLLECT, &arg));
	arg.count = 4;
	arg.cbt_info_array = info;
	ASSERT_EQ(0, v2_ioctl(self->fd, IOCTL_BLK_SNAP_TRACKER_COLLECT, &arg));
	ASSERT_EQ(2u, arg.count);
	for (i = 0; i < 2; i++) {
		const uint8_t *p = (const uint8_t *)&info[i];

		EXPECT_EQ(64ULL << 20, info[i].device_capacity);
		EXPECT_LT(0u, info[i].blk_size);
		EXPECT_EQ((64ULL << 20) / info[i].blk_size, info[i].blk_count);
		/* Decision 2: the holes are zero */
		EXPECT_EQ(0, p[12] | p[13] | p[14] | p[15]);
		EXPECT_EQ(0, p[45] | p[46] | p[47]);
	}
	EXPECT_EQ(0x5a5a5a5au, info[2].dev_id.mj) TH_LOG("only count written");
}

TEST_F(v2e, read_cbt_map)
{
	struct blk_snap_cbt_info info;
	struct blk_snap_uuid id;
	uint8_t *buf = malloc(1 << 20);

	ASSERT_NE(NULL, buf);
	EXPECT_EQ(-ENODATA, v2_read_map(self->fd, self->d0, 0, 16, buf));
	ASSERT_EQ(0, v2_create(self->fd, &self->d0, 1, &id));
	ASSERT_EQ(0, v2_cbt_info(self->fd, self->d0, &info));
	/* at any time, not only after TAKE; returns the bytes copied */
	EXPECT_EQ((int)info.blk_count,
		  v2_read_map(self->fd, self->d0, 0, 1 << 20, buf));
	EXPECT_EQ(16, v2_read_map(self->fd, self->d0, 0, 16, buf));
	EXPECT_EQ(3, v2_read_map(self->fd, self->d0, info.blk_count - 3, 16,
				 buf));
	EXPECT_EQ(0, v2_read_map(self->fd, self->d0, 0, 0, buf));
	EXPECT_EQ(-EINVAL, v2_read_map(self->fd, self->d0, info.blk_count, 16,
				       buf));
	EXPECT_EQ(-EINVAL, v2_read_map(self->fd, self->d0, 0xffffffff, 16,
				       buf));
	EXPECT_EQ(-EFAULT, v2_read_map(self->fd, self->d0, 0, 16, NULL));
	EXPECT_EQ(-EFAULT, v2_read_map(self->fd, self->d0, 0, 16,
				       self->unmapped));
	ASSERT_EQ(0, mprotect(self->rdonly, 4096, PROT_READ));
	EXPECT_EQ(-EFAULT, v2_read_map(self->fd, self->d0, 0, 16,
				       self->rdonly));
	ASSERT_EQ(0, mprotect(self->rdonly, 4096, PROT_READ | PROT_WRITE));
	free(buf);
}

TEST_F(v2e, mark_dirty_blocks)
{
	struct blk_snap_block_range r[2] = { { 0, 8 }, { NSECT - 8, 8 } };
	struct blk_snap_cbt_info info;
	struct blk_snap_uuid id;
	uint8_t map[4096];

	EXPECT_EQ(-ENODEV, v2_mark_dirty(self->fd, self->d0, r, 1));
	ASSERT_EQ(0, v2_create(self->fd, &self->d0, 1, &id));
	/* after TAKE, so that the read map gets a number above 0 */
	ASSERT_EQ(0, v2_append_range(self->fd, &id, self->stor, 0, NSECT));
	ASSERT_EQ(0, v2_take(self->fd, &id));
	ASSERT_EQ(0, v2_cbt_info(self->fd, self->d0, &info));
	ASSERT_LT(0, info.snap_number);
	ASSERT_GE(sizeof(map), info.blk_count);
	EXPECT_EQ(-EFAULT, v2_mark_dirty(self->fd, self->d0, NULL, 1));
	EXPECT_EQ(-EFAULT, v2_mark_dirty(self->fd, self->d0, self->unmapped, 1));
	EXPECT_EQ(-EINVAL, v2_mark_dirty(self->fd, self->d0, r, 65537));
	EXPECT_EQ(0, v2_mark_dirty(self->fd, self->d0, NULL, 0));
	/* one range past the end: nothing marked */
	r[1].sector_offset = NSECT - 4;
	EXPECT_EQ(-EINVAL, v2_mark_dirty(self->fd, self->d0, r, 2));
	r[1].sector_offset = ~0ULL - 2;
	EXPECT_EQ(-EINVAL, v2_mark_dirty(self->fd, self->d0, r, 2));
	ASSERT_EQ((int)info.blk_count,
		  v2_read_map_all(self->fd, self->d0, map, info.blk_count));
	EXPECT_EQ(0, map[0]);
	EXPECT_EQ(0, map[info.blk_count - 1]);
	r[1].sector_offset = NSECT - 8;
	EXPECT_EQ(0, v2_mark_dirty(self->fd, self->d0, r, 2));
	ASSERT_EQ((int)info.blk_count,
		  v2_read_map_all(self->fd, self->d0, map, info.blk_count));
	EXPECT_EQ(info.snap_number, map[0]);
	EXPECT_EQ(info.snap_number, map[info.blk_count - 1]);
	EXPECT_EQ(0, map[info.blk_count / 2]);
}

TEST_F(v2e, snapshot_create)
{
	struct blk_snap_dev two[2] = { self->d0, self->d0 };
	struct blk_snap_dev unused[2] = { { 0, 0 } };
	struct blk_snap_snapshot_create arg;
	struct blk_snap_uuid id, other;
	struct stat st;

	EXPECT_EQ(-EINVAL, v2_create(self->fd, &self->d0, 0, &id));
	EXPECT_EQ(-EINVAL, v2_create(self->fd, &self->d0, 65537, &id));
	EXPECT_EQ(-EFAULT, v2_create(self->fd, NULL, 1, &id));
	EXPECT_EQ(-EFAULT, v2_create(self->fd, self->unmapped, 1, &id));
	EXPECT_EQ(-EINVAL, v2_create(self->fd, two, 2, &id));	/* duplicate */
	EXPECT_EQ(0u, nr_snapshots(self->fd));
	EXPECT_FALSE(tracked(self->fd, self->d0));

	/* a device that cannot be opened: its open error, rolled back */
	ASSERT_EQ(0, stat("/dev/vda", &st));
	unused[0] = self->d0;
	unused[1].mj = major(st.st_rdev);
	unused[1].mn = minor(st.st_rdev) + 200;
	EXPECT_EQ(-ENXIO, v2_create(self->fd, unused, 2, &id));
	EXPECT_EQ(0u, nr_snapshots(self->fd));
	EXPECT_FALSE(tracked(self->fd, self->d0)) TH_LOG("attach rolled back");
	unused[1].mj = 4000;
	unused[1].mn = 0;
	EXPECT_EQ(-ENXIO, v2_create(self->fd, &unused[1], 1, &id));

	/* a device in another snapshot: -EBUSY, the new one rolled back */
	ASSERT_EQ(0, v2_create(self->fd, &self->d1, 1, &other));
	two[1] = self->d1;
	EXPECT_EQ(-EBUSY, v2_create(self->fd, two, 2, &id));
	EXPECT_EQ(1u, nr_snapshots(self->fd));
	EXPECT_FALSE(tracked(self->fd, self->d0));
	EXPECT_TRUE(tracked(self->fd, self->d1)) TH_LOG("not ours to detach");

	/* the id cannot be written back: -EFAULT, nothing left behind */
	memset(&arg, 0, sizeof(arg));
	arg.count = 1;
	arg.dev_id_array = &self->d0;
	memcpy(self->rdonly, &arg, sizeof(arg));
	ASSERT_EQ(0, mprotect(self->rdonly, 4096, PROT_READ));
	EXPECT_EQ(-EFAULT, v2_ioctl(self->fd, IOCTL_BLK_SNAP_SNAPSHOT_CREATE,
				    self->rdonly));
	EXPECT_EQ(1u, nr_snapshots(self->fd));
	EXPECT_FALSE(tracked(self->fd, self->d0));
	ASSERT_EQ(0, mprotect(self->rdonly, 4096, PROT_READ | PROT_WRITE));
}

TEST_F(v2e, destroy_and_take)
{
	struct blk_snap_uuid id, unknown;

	memset(&unknown, 0x77, sizeof(unknown));
	EXPECT_EQ(-ENODEV, v2_destroy(self->fd, &unknown));
	EXPECT_EQ(-ESRCH, v2_take(self->fd, &unknown));
	/* Decision 5: a failed TAKE (no storage) destroys the snapshot */
	ASSERT_EQ(0, v2_create(self->fd, &self->d0, 1, &id));
	EXPECT_EQ(-ENOSPC, v2_take(self->fd, &id));
	EXPECT_EQ(-ENODEV, v2_destroy(self->fd, &id));
	EXPECT_EQ(0u, nr_snapshots(self->fd));
	/* taken twice: -EALREADY, the snapshot stays */
	ASSERT_EQ(0, v2_create(self->fd, &self->d0, 1, &id));
	ASSERT_EQ(0, v2_append_range(self->fd, &id, self->stor, 0, NSECT));
	ASSERT_EQ(0, v2_take(self->fd, &id));
	EXPECT_EQ(-EALREADY, v2_take(self->fd, &id));
	EXPECT_EQ(1u, nr_snapshots(self->fd));
	EXPECT_EQ(0, v2_destroy(self->fd, &id));
}

TEST_F(v2e, append_storage)
{
	struct blk_snap_block_range r[2] = { { 0, 2048 }, { 4096, 2048 } };
	struct blk_snap_dev unused;
	struct blk_snap_uuid id, unknown;
	struct stat st;

	memset(&unknown, 0x77, sizeof(unknown));
	EXPECT_EQ(-ESRCH, v2_append(self->fd, &unknown, self->stor, r, 1));
	ASSERT_EQ(0, v2_create(self->fd, &self->d0, 1, &id));
	EXPECT_EQ(-EINVAL, v2_append(self->fd, &id, self->stor, r, 0));
	EXPECT_EQ(-EINVAL, v2_append(self->fd, &id, self->stor, r, 65537));
	EXPECT_EQ(-EFAULT, v2_append(self->fd, &id, self->stor, NULL, 1));
	EXPECT_EQ(-EFAULT, v2_append(self->fd, &id, self->stor,
				     self->unmapped, 1));
	EXPECT_EQ(-EINVAL, v2_append_range(self->fd, &id, self->stor, 0, 0));
	EXPECT_EQ(-EINVAL, v2_append_range(self->fd, &id, self->stor,
					   NSECT - 8, 16));
	EXPECT_EQ(-EINVAL, v2_append_range(self->fd, &id, self->stor,
					   1ULL << 62, 8));
	ASSERT_EQ(0, stat("/dev/vda", &st));
	unused.mj = major(st.st_rdev);
	unused.mn = minor(st.st_rdev) + 200;
	EXPECT_EQ(-ENXIO, v2_append(self->fd, &id, unused, r, 1));
	/* one bad range: nothing added, so TAKE has no storage */
	r[1].sector_count = 0;
	EXPECT_EQ(-EINVAL, v2_append(self->fd, &id, self->stor, r, 2));
	EXPECT_EQ(-ENOSPC, v2_take(self->fd, &id));
	ASSERT_EQ(0, v2_create(self->fd, &self->d0, 1, &id));
	r[1].sector_count = 2048;
	EXPECT_EQ(0, v2_append(self->fd, &id, self->stor, r, 2));
	EXPECT_EQ(0, v2_take(self->fd, &id));
}

TEST_F(v2e, snapshot_collect)
{
	struct blk_snap_uuid ids[4], a, b;
	struct blk_snap_snapshot_collect arg;

	memset(&arg, 0, sizeof(arg));
	ASSERT_EQ(0, v2_ioctl(self->fd, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT, &arg));
	EXPECT_EQ(0u, arg.count);
	ASSERT_EQ(0, v2_create(self->fd, &self->d0, 1, &a));
	ASSERT_EQ(0, v2_create(self->fd, &self->d1, 1, &b));
	arg.count = 1;
	arg.ids = ids;
	EXPECT_EQ(-ENODATA,
		  v2_ioctl(self->fd, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT, &arg));
	EXPECT_EQ(2u, arg.count);
	arg.ids = self->unmapped;
	EXPECT_EQ(-EFAULT,
		  v2_ioctl(self->fd, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT, &arg));
	arg.count = 4;
	arg.ids = ids;
	ASSERT_EQ(0, v2_ioctl(self->fd, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT, &arg));
	ASSERT_EQ(2u, arg.count);
	EXPECT_TRUE(!memcmp(&ids[0], &a, 16) || !memcmp(&ids[1], &a, 16));
	EXPECT_TRUE(!memcmp(&ids[0], &b, 16) || !memcmp(&ids[1], &b, 16));
}

TEST_F(v2e, collect_images)
{
	struct blk_snap_snapshot_collect_images arg;
	struct blk_snap_image_info img[2];
	struct blk_snap_uuid id, unknown;

	memset(&unknown, 0x77, sizeof(unknown));
	memset(&arg, 0, sizeof(arg));
	arg.id = unknown;
	EXPECT_EQ(-ESRCH, v2_ioctl(self->fd,
				   IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES, &arg));
	ASSERT_EQ(0, v2_create(self->fd, &self->d0, 1, &id));
	arg.id = id;
	EXPECT_EQ(-ENODEV, v2_ioctl(self->fd,
				    IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES, &arg));
	ASSERT_EQ(0, v2_append_range(self->fd, &id, self->stor, 0, NSECT));
	ASSERT_EQ(0, v2_take(self->fd, &id));
	arg.count = 9;
	ASSERT_EQ(0, v2_ioctl(self->fd, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES,
			      &arg));
	EXPECT_EQ(1u, arg.count);
	arg.count = 0;
	arg.image_info_array = img;
	EXPECT_EQ(-ENODATA, v2_ioctl(self->fd,
				     IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES, &arg));
	EXPECT_EQ(1u, arg.count);
	arg.image_info_array = self->unmapped;
	EXPECT_EQ(-EFAULT, v2_ioctl(self->fd,
				    IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES, &arg));
	arg.count = 2;
	arg.image_info_array = img;
	ASSERT_EQ(0, v2_ioctl(self->fd, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES,
			      &arg));
	EXPECT_EQ(1u, arg.count);
	EXPECT_EQ(self->d0.mj, img[0].orig_dev_id.mj);
	EXPECT_EQ(self->d0.mn, img[0].orig_dev_id.mn);
	EXPECT_NE(0u, img[0].image_dev_id.mj);
}

TEST_F(v2e, wait_event)
{
	struct blk_snap_snapshot_event ev;
	struct blk_snap_uuid id, unknown;

	memset(&unknown, 0x77, sizeof(unknown));
	EXPECT_EQ(-ESRCH, v2_wait_event(self->fd, &unknown, 0, &ev));
	ASSERT_EQ(0, v2_create(self->fd, &self->d0, 1, &id));
	/* CREATE queues the first low-space event */
	ASSERT_EQ(0, v2_wait_event(self->fd, &id, 1000, &ev));
	EXPECT_EQ(blk_snap_event_code_low_free_space, ev.code);
	EXPECT_NE(0, ev.time_label);
	EXPECT_EQ(-ENOENT, v2_wait_event(self->fd, &id, 200, &ev));
}

/* Dispatch on the whole value: the other interface's numbers, junk. */
TEST_F(v2e, foreign_numbers)
{
	static const unsigned long v3_only[] = {
		IOCTL_BLKSNAP_SNAPSHOT_CREATE, IOCTL_BLKSNAP_SNAPSHOT_DESTROY,
		IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE,
		IOCTL_BLKSNAP_SNAPSHOT_TAKE, IOCTL_BLKSNAP_SNAPSHOT_COLLECT,
		IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, BLKFILTER_ATTACH,
		BLKFILTER_CTL,
	};
	static const unsigned long v2_only[] = {
		IOCTL_BLK_SNAP_TRACKER_REMOVE, IOCTL_BLK_SNAP_TRACKER_COLLECT,
		IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP,
		IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS,
		IOCTL_BLK_SNAP_SNAPSHOT_CREATE, IOCTL_BLK_SNAP_SNAPSHOT_DESTROY,
		IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE,
		IOCTL_BLK_SNAP_SNAPSHOT_TAKE, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT,
		IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES,
		IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT,
	};
	char junk[4096] = { 0 };
	unsigned int i;
	int cfd = ctl_open();

	ASSERT_LE(0, cfd);
	for (i = 0; i < sizeof(v3_only) / sizeof(v3_only[0]); i++)
		EXPECT_EQ(-ENOTTY, v2_ioctl(self->fd, v3_only[i], junk))
			TH_LOG("v3 %#lx on /dev/blksnap", v3_only[i]);
	for (i = 0; i < sizeof(v2_only) / sizeof(v2_only[0]); i++)
		EXPECT_EQ(-ENOTTY, ctl_ioctl(cfd, v2_only[i], junk))
			TH_LOG("v2 %#lx on /dev/blksnap-control", v2_only[i]);
	/* right number, other size or direction */
	EXPECT_EQ(-ENOTTY, v2_ioctl(self->fd, _IOW('V', 8, struct blk_snap_uuid),
				    junk));
	EXPECT_EQ(-ENOTTY, v2_ioctl(self->fd, _IOW('V', 12, __u64), junk));
	EXPECT_EQ(-ENOTTY, v2_ioctl(self->fd, 0, junk));
	close(cfd);
	EXPECT_EQ(0u, nr_snapshots(self->fd));
}

/* Without CAP_SYS_ADMIN every command is -EPERM, checked first. */
TEST_F(v2e, no_cap_sys_admin)
{
	static const unsigned long cmds[] = {
		IOCTL_BLK_SNAP_VERSION, IOCTL_BLK_SNAP_TRACKER_REMOVE,
		IOCTL_BLK_SNAP_TRACKER_COLLECT,
		IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP,
		IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS,
		IOCTL_BLK_SNAP_SNAPSHOT_CREATE, IOCTL_BLK_SNAP_SNAPSHOT_DESTROY,
		IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE,
		IOCTL_BLK_SNAP_SNAPSHOT_TAKE, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT,
		IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES,
		IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT, 0x12345678,
	};
	struct blk_snap_uuid id;
	int status;
	pid_t pid;

	ASSERT_EQ(0, v2_create(self->fd, &self->d0, 1, &id));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		unsigned int i, bad = 0;
		char arg[4096] = { 0 };

		if (drop_cap_sys_admin() || has_cap_sys_admin())
			_exit(2);
		memcpy(arg, &id, sizeof(id));	/* a real id: still EPERM */
		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			if (v2_ioctl(self->fd, cmds[i], arg) != -EPERM)
				bad++;
			if (v2_ioctl(self->fd, cmds[i], NULL) != -EPERM)
				bad++;
		}
		_exit(bad ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1u, nr_snapshots(self->fd));
}

TEST_HARNESS_MAIN
