// SPDX-License-Identifier: GPL-2.0
/*
 * Device events on open, tracked devices: what users do to their devices
 * while blksnap tracks them.
 *
 * - A partition delete or rescan the kernel refuses (EBUSY: the partition
 *   is open) leaves the filter, its CBT history and a taken snapshot alone.
 * - New media under the same device number (a loop device cleared and
 *   configured with another file of the same size, a device-mapper table
 *   pointing elsewhere) starts a new CBT generation, and a snapshot taken
 *   before the change ends corrupted (ESTALE) instead of serving the new
 *   media's data as the old device's.
 * - Devices whose writes the filter cannot see are refused at attach:
 *   DAX-capable pmem (file data written by memcpy), zoned devices (zone
 *   resets carry no sectors).
 * - The module unloads right after detaches (RCU callbacks in its text).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <linux/blkpg.h>
#include <linux/dm-ioctl.h>
#include "kselftest_harness.h"
#include "timeout.h"
#include "snap.h"
#include "cbt.h"
#include "dev.h"
#include "util.h"
#include "fixture.h"

static int same_uuid(const struct blksnap_cbtinfo *a,
		     const struct blksnap_cbtinfo *b)
{
	return !memcmp(&a->generation_id, &b->generation_id,
		       sizeof(a->generation_id));
}

/* sd_write_at() and fsync. */
static int write_sync(int fd, uint64_t off, size_t len, uint32_t tag)
{
	int ret = sd_write_at(fd, off, len, tag);

	return ret ? ret : (fsync(fd) ? -errno : 0);
}

/*
 * Give loop device @path (open as *@lfd) a new backing file @file of @mib
 * MiB: LOOP_CLR_FD, then LOOP_CONFIGURE on a new descriptor (since 6.11 the
 * clear happens at the last close).  *@lfd is the new descriptor.
 */
static int loop_reconfigure(int *lfd, const char *path, const char *file,
			    int mib)
{
	struct loop_config cfg;
	int bfd, fd = -1, i, ret = -EBUSY;

	bfd = open(file, O_RDWR | O_CREAT, 0600);
	if (bfd < 0)
		return -errno;
	if (ftruncate(bfd, (off_t)mib << 20)) {
		close(bfd);
		return -errno;
	}
	if (ioctl(*lfd, LOOP_CLR_FD, 0)) {
		close(bfd);
		return -errno;
	}
	close(*lfd);
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = bfd;
	for (i = 0; i < 300 && ret; i++) {
		fd = open(path, O_RDWR);
		if (fd < 0) {
			ret = -errno;
		} else {
			ret = ioctl(fd, LOOP_CONFIGURE, &cfg) ? -errno : 0;
			if (ret)
				close(fd);
		}
		if (ret)
			usleep(10000);
	}
	close(bfd);
	*lfd = ret ? -1 : fd;
	return ret;
}

static int dev_of(const char *path, unsigned int *maj, unsigned int *min)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	*maj = major(st.st_rdev);
	*min = minor(st.st_rdev);
	return 0;
}

/*
 * The plain tests of this program release what they used even when an
 * ASSERT stops them: the dm device over two loops, the zoned null_blk,
 * every snapshot.  Named "global" so that the tests keep their names.
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
	static const char *const dms[] = { "trust_swap", NULL };
	static const char *const loops[] = {
		"/tmp/trust_dev.da", "/tmp/trust_dev.db", NULL,
	};

	scratch_release(NULL, NULL, dms, loops);
	nullb_remove("trust_zoned");
	(void)self;
}

FIXTURE(part) {
	int lfd;	/* the whole loop disk */
	int pfd;	/* its partition, attached, kept open */
	char part[96];
};

FIXTURE_SETUP(part)
{
	self->pfd = -1;
	self->lfd = loop_with_partition("/tmp/trust_dev.part", 32, self->part,
					sizeof(self->part));
	ASSERT_LE(0, self->lfd);
	self->pfd = open(self->part, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->pfd);
	ASSERT_EQ(0, bf_attach(self->pfd));
}

FIXTURE_TEARDOWN(part)
{
	snap_destroy_all();
	if (self->pfd >= 0) {
		bf_detach(self->pfd);
		close(self->pfd);
	}
	loop_destroy(self->lfd, "/tmp/trust_dev.part");
	unlink("/tmp/trust_dev.store");
}

/*
 * BLKPG_DEL_PARTITION and BLKRRPART on a disk whose tracked partition is
 * open: the kernel says EBUSY and nothing happens, so the filter, its
 * history and a taken snapshot must stay exactly as they were.
 */
TEST_F(part, refused_delete_and_rescan_keep_everything)
{
	struct blkpg_partition bp = { .pno = 1 };
	struct blkpg_ioctl_arg arg = {
		.op = BLKPG_DEL_PARTITION,
		.datalen = sizeof(bp),
		.data = &bp,
	};
	struct blksnap_cbtinfo before, after;
	struct blksnap_snapshotinfo info;
	struct blksnap_uuid id;
	char spath[64];
	int cfd, sfd, ifd;

	cfd = ctl_open();
	ASSERT_LE(0, cfd);
	sfd = loop_create("/tmp/trust_dev.store", 32, 0, spath, sizeof(spath));
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, write_sync(self->pfd, 0, 1 << 20, 7));
	ASSERT_EQ(0, snap_create_take(cfd, &id, &self->pfd, 1, spath, 0,
				      32 << 11));
	ASSERT_EQ(0, cbt_info(self->pfd, &before));

	ASSERT_EQ(-1, ioctl(self->lfd, BLKPG, &arg));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(-1, ioctl(self->lfd, BLKRRPART, 0));
	ASSERT_EQ(EBUSY, errno);
	usleep(500000);		/* what the removal worker would do, it did */

	/* still attached, same history */
	ASSERT_EQ(0, cbt_info(self->pfd, &after));
	EXPECT_TRUE(same_uuid(&before, &after));
	EXPECT_EQ(before.changes_number, after.changes_number);
	/* the snapshot is intact and its image readable */
	ASSERT_EQ(0, snap_info(self->pfd, &info));
	EXPECT_EQ(0, info.error_code);
	ASSERT_EQ(0, write_sync(self->pfd, 0, 1 << 20, 8));
	ifd = snap_open_image(self->pfd, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, ifd);
	EXPECT_EQ(0, sd_check_at(ifd, 0, 1 << 20, 7));
	close(ifd);
	EXPECT_EQ(0, snap_destroy(cfd, &id));
	loop_destroy(sfd, "/tmp/trust_dev.store");
	close(cfd);
}

/* The partition really goes once it is closed: the filter goes with it. */
TEST_F(part, real_delete_detaches)
{
	struct blkpg_partition bp = { .pno = 1 };
	struct blkpg_ioctl_arg arg = {
		.op = BLKPG_DEL_PARTITION,
		.datalen = sizeof(bp),
		.data = &bp,
	};
	int refs = module_refcnt();

	ASSERT_LT(0, refs);
	close(self->pfd);
	self->pfd = -1;
	ASSERT_EQ(0, ioctl(self->lfd, BLKPG, &arg));
	/* the attachment's module reference goes away */
	EXPECT_EQ(refs - 1, wait_refcnt(refs - 1, 5000));
}

FIXTURE(media) {
	int lfd;
	int cfd;
	char path[64];
};

FIXTURE_SETUP(media)
{
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
	self->lfd = loop_create("/tmp/trust_dev.a", 16, 0, self->path,
				sizeof(self->path));
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bf_attach(self->lfd));
}

FIXTURE_TEARDOWN(media)
{
	snap_destroy_all();
	if (self->lfd < 0)
		self->lfd = open(self->path, O_RDWR);
	bf_detach(self->lfd);
	loop_destroy(self->lfd, "/tmp/trust_dev.a");
	unlink("/tmp/trust_dev.b");
	unlink("/tmp/trust_dev.store");
	close(self->cfd);
}

/* A loop device given another backing file: the history is not its. */
TEST_F(media, loop_new_file_new_generation)
{
	struct blksnap_cbtinfo before, after;

	ASSERT_EQ(0, write_sync(self->lfd, 0, 65536, 1));
	ASSERT_EQ(0, cbt_switch(self->lfd));
	ASSERT_EQ(0, cbt_info(self->lfd, &before));
	ASSERT_EQ(0, loop_reconfigure(&self->lfd, self->path,
				      "/tmp/trust_dev.b", 16));
	ASSERT_EQ(0, cbt_switch(self->lfd));
	ASSERT_EQ(0, cbt_info(self->lfd, &after));
	EXPECT_FALSE(same_uuid(&before, &after));
	EXPECT_EQ(1, after.changes_number);
}

/* A snapshot of the old media must not serve the new media's data. */
TEST_F(media, loop_new_file_corrupts_taken_snapshot)
{
	struct blksnap_snapshot_event ev;
	struct blksnap_snapshotinfo info;
	struct blksnap_uuid id;
	char spath[64];
	int sfd, ifd, bfd;
	long bad;

	sfd = loop_create("/tmp/trust_dev.store", 16, 0, spath, sizeof(spath));
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, write_sync(self->lfd, 0, 1 << 20, 1));
	ASSERT_EQ(0, snap_create_take(self->cfd, &id, &self->lfd, 1, spath, 0,
				      16 << 11));
	/* the new media carries other data at the same place */
	bfd = open("/tmp/trust_dev.b", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, bfd);
	close(bfd);
	ASSERT_EQ(0, loop_reconfigure(&self->lfd, self->path,
				      "/tmp/trust_dev.b", 16));
	ASSERT_EQ(0, write_sync(self->lfd, 0, 1 << 20, 2));

	ASSERT_EQ(0, snap_info(self->lfd, &info));
	EXPECT_EQ(-ESTALE, info.error_code);
	ifd = snap_open_image(self->lfd, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, ifd);
	bad = sd_check_at(ifd, 0, 1 << 20, 1);
	EXPECT_GT(0, bad) TH_LOG("the image read gave %ld bad sectors instead of an error", bad);
	close(ifd);
	/* the agent hears of it: low space at CREATE, then corrupted */
	while (!snap_wait(self->cfd, &id, 100, &ev) &&
	       ev.code != blksnap_event_code_corrupted)
		;
	EXPECT_EQ(blksnap_event_code_corrupted, ev.code);
	EXPECT_EQ(0, snap_destroy(self->cfd, &id));
	loop_destroy(sfd, "/tmp/trust_dev.store");
}

/* A dm table that maps the device elsewhere (same size): new history. */
/*
 * The device grows under the tracker (the loop file is extended and
 * LOOP_SET_CAPACITY issued): the next TAKE starts a new generation with
 * the new size, and a snapshot taken before ends corrupted.
 */
TEST_F(media, loop_resize_new_generation)
{
	struct blksnap_cbtinfo before, after;
	struct blksnap_snapshotinfo info;
	struct blksnap_uuid id;
	char spath[64];
	int sfd;

	sfd = loop_create("/tmp/trust_dev.store", 16, 0, spath, sizeof(spath));
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, write_sync(self->lfd, 0, 65536, 1));
	ASSERT_EQ(0, cbt_switch(self->lfd));
	ASSERT_EQ(0, cbt_info(self->lfd, &before));
	ASSERT_EQ(16ULL << 20, before.device_capacity);
	ASSERT_EQ(0, snap_create_take(self->cfd, &id, &self->lfd, 1, spath, 0,
				      16 << 11));
	ASSERT_EQ(0, truncate("/tmp/trust_dev.a", 32 << 20));
	ASSERT_EQ(0, ioctl(self->lfd, LOOP_SET_CAPACITY, 0));
	ASSERT_EQ(0, snap_info(self->lfd, &info));
	EXPECT_EQ(-ESTALE, info.error_code);
	EXPECT_EQ(0, snap_destroy(self->cfd, &id));
	ASSERT_EQ(0, cbt_switch(self->lfd));
	ASSERT_EQ(0, cbt_info(self->lfd, &after));
	EXPECT_EQ(32ULL << 20, after.device_capacity);
	EXPECT_FALSE(same_uuid(&before, &after));
	loop_destroy(sfd, "/tmp/trust_dev.store");
}

TEST_F(global, dm_table_swap_new_generation)
{
	struct blksnap_cbtinfo before, after;
	unsigned int ma = 0, mi = 0, mb = 0, mj = 0;
	char a[64], b[64], dm[64], params[64];
	int la, lb, fd;

	la = loop_create("/tmp/trust_dev.da", 8, 0, a, sizeof(a));
	ASSERT_LE(0, la);
	lb = loop_create("/tmp/trust_dev.db", 8, 0, b, sizeof(b));
	ASSERT_LE(0, lb);
	ASSERT_EQ(0, dev_of(a, &ma, &mi));
	ASSERT_EQ(0, dev_of(b, &mb, &mj));
	snprintf(params, sizeof(params), "%u:%u 0", ma, mi);
	ASSERT_EQ(0, dm_create("trust_swap", "linear", 8 << 11, params, dm,
			       sizeof(dm)));
	fd = open(dm, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));
	ASSERT_EQ(0, write_sync(fd, 0, 65536, 1));
	ASSERT_EQ(0, cbt_switch(fd));
	ASSERT_EQ(0, cbt_info(fd, &before));
	snprintf(params, sizeof(params), "%u:%u 0", mb, mj);
	ASSERT_EQ(0, dm_reload("trust_swap", "linear", 8 << 11, params));
	ASSERT_EQ(0, cbt_switch(fd));
	ASSERT_EQ(0, cbt_info(fd, &after));
	EXPECT_FALSE(same_uuid(&before, &after));
	bf_detach(fd);
	close(fd);
	dm_remove("trust_swap");
	loop_destroy(la, "/tmp/trust_dev.da");
	loop_destroy(lb, "/tmp/trust_dev.db");
}

/*
 * pmem in DAX mode (guest booted with memmap=64M!1536M): file systems
 * mounted -o dax write file data by memcpy, without bios.
 */
TEST_F(global, dax_device_refused)
{
	char flag[8] = "";
	int fd, sfd, i;

	system("insmod /lib/modules/libnvdimm.ko 2>/dev/null; insmod /lib/modules/nd_btt.ko 2>/dev/null; insmod /lib/modules/nd_pmem.ko 2>/dev/null; insmod /lib/modules/nd_e820.ko 2>/dev/null");
	if (wait_for_node("/dev/pmem0"))
		SKIP(return, "no /dev/pmem0 (needs nd_e820 + nd_pmem and memmap=64M!1536M)");
	/* the attribute may read 0 for a moment after the node appears */
	for (i = 0; i < 100 && flag[0] != '1'; i++) {
		sfd = open("/sys/block/pmem0/queue/dax", O_RDONLY);
		if (sfd < 0) {		/* the queue's sysfs comes after the node */
			usleep(20000);
			continue;
		}
		memset(flag, 0, sizeof(flag));
		if (read(sfd, flag, sizeof(flag) - 1) < 1)
			flag[0] = 0;
		close(sfd);
		if (flag[0] != '1')
			usleep(20000);
	}
	if (flag[0] != '1')
		SKIP(return, "/dev/pmem0 is not DAX-capable here (queue/dax: %s)",
		     flag[0] ? flag : "missing");
	fd = open("/dev/pmem0", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EOPNOTSUPP, bf_attach(fd));
	bf_detach(fd);
	close(fd);
}

/* A zoned null_blk device made through configfs. */
TEST_F(global, zoned_device_refused)
{
	static const char *const attrs[] = {
		"size=256", "zoned=1", "zone_size=4", "memory_backed=1", NULL
	};
	char node[64];
	int fd, ret;

	ret = nullb_create("trust_zoned", attrs, node, sizeof(node));
	if (ret == -ENOENT)
		SKIP(return, "null_blk has no configfs interface here");
	if (ret)
		SKIP(return, "no zoned null_blk here (%s: CONFIG_BLK_DEV_ZONED off?)",
		     strerror(-ret));
	fd = open(node, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EOPNOTSUPP, bf_attach(fd));
	bf_detach(fd);
	close(fd);
	nullb_remove("trust_zoned");
}

/*
 * Detach frees each filter entry by call_rcu(); unloading right after must
 * wait for those callbacks (their code is in the module).  Last in this
 * program: a load takes seconds under emulation (ftrace patches text).
 */
FIXTURE(unload) {
	int unused;
};

FIXTURE_SETUP(unload)
{
}

FIXTURE_TEARDOWN(unload)
{
	if (access("/dev/blksnap-control", F_OK))
		system("insmod /ko/blksnap.ko");
}

TEST_F_TIMEOUT(unload, right_after_detach, 600)
{
	char path[64];
	int i, lfd;

	for (i = 0; i < 6; i++) {
		lfd = loop_create("/tmp/trust_dev.u", 4, 0, path, sizeof(path));
		ASSERT_LE(0, lfd);
		ASSERT_EQ(0, bf_attach(lfd));
		ASSERT_EQ(0, bf_detach(lfd));
		loop_destroy(lfd, "/tmp/trust_dev.u");
		ASSERT_EQ(0, system("rmmod blksnap"));
		ASSERT_EQ(0, system("insmod /ko/blksnap.ko"));
	}
}

TEST_HARNESS_MAIN
