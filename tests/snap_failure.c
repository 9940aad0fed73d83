// SPDX-License-Identifier: GPL-2.0
/*
 * Failure while a snapshot is held: the origin device disappears (dm
 * remove, partition rescan), the storage fails (dm "error" target), and
 * storage that grows on demand (low-free-space events answered by
 * appends).  The origin never loses data; the snapshot reports exactly one
 * corrupted event and can still be destroyed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include "kselftest_harness.h"
#include "snap.h"
#include "dev.h"
#include "util.h"
#include "fixture.h"

/*
 * Every test of this program releases what it used even when an ASSERT
 * stops it: brd, dm and loop devices, every snapshot, the module
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
		"/dev/ram0", "/dev/ram1", "/dev/ram2", "/dev/ram3", NULL,
	};
	static const char *const dms[] = { "bs_org", "bs_err", NULL };
	static const char *const loops[] = { "/tmp/sf_part.img", NULL };

	scratch_release(NULL, devs, dms, loops);
	scratch_restore_params(&self->s);
}

TEST_F(global, origin_dm_removed)
{
	struct blksnap_uuid id;
	char path[64];
	int cfd, fd, base;

	ASSERT_EQ(0, brd_ensure(4, 64));
	cfd = ctl_open();
	ASSERT_LE(0, cfd);
	base = module_refcnt();
	ASSERT_EQ(0, dm_create("bs_org", "linear", 65536, "1:0 0", path,
			       sizeof(path)));
	ASSERT_EQ(0, wait_for_node(path));
	fd = open(path, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));
	ASSERT_EQ(0, sd_write_range(fd, 0, 4 * MIB, 3, 1));
	ASSERT_EQ(0, snap_create_take(cfd, &id, &fd, 1, "/dev/ram2", 0,
				65536));
	ASSERT_EQ(0, sd_write_range(fd, 0, MIB, 3, 2));
	close(fd);
	ASSERT_EQ(0, dm_remove("bs_org"));
	EXPECT_EQ(ENODEV, snap_wait_corrupted(cfd, &id, 3000));
	EXPECT_EQ(0, snap_destroy(cfd, &id));
	EXPECT_EQ(base, wait_refcnt(base, 3000));
	close(cfd);
	/* the data that was written reached the device below */
	fd = open("/dev/ram0", O_RDONLY | O_DIRECT);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, sd_check_range(fd, 0, MIB, 3, 2));
	EXPECT_EQ(0, sd_check_range(fd, MIB, 3 * MIB, 3, 1));
	close(fd);
}

TEST_F(global, origin_partition_rescan)
{
	struct blksnap_uuid id;
	char part[72];
	int cfd, lfd, fd;

	ASSERT_EQ(0, brd_ensure(4, 64));
	cfd = ctl_open();
	ASSERT_LE(0, cfd);
	lfd = loop_with_partition("/tmp/sf_part.img", 32, part, sizeof(part));
	ASSERT_LE(0, lfd);
	fd = open(part, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));
	ASSERT_EQ(0, snap_create_take(cfd, &id, &fd, 1, "/dev/ram2", 0,
				65536));
	close(fd);
	ASSERT_EQ(0, ioctl(lfd, BLKRRPART, 0));
	EXPECT_EQ(ENODEV, snap_wait_corrupted(cfd, &id, 3000));
	EXPECT_EQ(0, snap_destroy(cfd, &id));
	loop_destroy(lfd, "/tmp/sf_part.img");
	close(cfd);
}

TEST_F(global, storage_io_error)
{
	struct blksnap_snapshotinfo info;
	struct blksnap_uuid id;
	char path[64];
	int cfd, fd, img;

	ASSERT_EQ(0, brd_ensure(4, 64));
	cfd = ctl_open();
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, dm_create("bs_err", "error", 65536, "", path,
			       sizeof(path)));
	ASSERT_EQ(0, wait_for_node(path));
	fd = open("/dev/ram1", O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));
	ASSERT_EQ(0, sd_write_range(fd, 0, 4 * MIB, 4, 1));
	ASSERT_EQ(0, snap_create_take(cfd, &id, &fd, 1, path, 0,
				65536));
	ASSERT_EQ(0, sd_write_range(fd, 0, 2 * MIB, 4, 2));
	EXPECT_EQ(EIO, snap_wait_corrupted(cfd, &id, 2000));
	ASSERT_EQ(0, snap_info(fd, &info));
	EXPECT_EQ(-EIO, info.error_code);
	img = snap_open_image(fd, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, img);
	EXPECT_EQ(-EIO, sd_check_range(img, 0, MIB, 4, 1));
	close(img);
	EXPECT_EQ(0, sd_check_range(fd, 0, 2 * MIB, 4, 2));
	EXPECT_EQ(0, sd_check_range(fd, 2 * MIB, 2 * MIB, 4, 1));
	EXPECT_EQ(0, snap_destroy(cfd, &id));
	EXPECT_EQ(0, bf_detach(fd));
	close(fd);
	EXPECT_EQ(0, dm_remove("bs_err"));
	close(cfd);
}

struct appender {
	int cfd;
	struct blksnap_uuid id;
	atomic_int stop;
	uint64_t next;		/* next free sector of ram2 */
	int appends;
	int corrupted;
	int err;
};

static void *appender_fn(void *arg)
{
	struct appender *a = arg;
	struct blksnap_snapshot_event ev;

	while (!atomic_load(&a->stop)) {
		if (snap_wait(a->cfd, &a->id, 100, &ev))
			continue;
		if (ev.code == blksnap_event_code_corrupted) {
			a->corrupted++;
			continue;
		}
		if (ev.code == blksnap_event_code_low_free_space) {
			uint64_t n = ((struct blksnap_event_low_free_space *)
				      ev.data)->requested_nr_sect;

			if (a->next + n > 131072)
				n = 131072 - a->next;
			if (!n)
				continue;
			if (snap_append_range(a->cfd, &a->id, "/dev/ram2",
					      a->next, n))
				a->err++;
			a->next += n;
			a->appends++;
		}
	}
	return NULL;
}

/* Storage grows by low-free-space events; writers push 6x the start. */
TEST_F(global, storage_stretch)
{
	struct appender a = { .next = 0 };
	pthread_t th;
	int fd, img;
	uint64_t pos;

	ASSERT_EQ(0, brd_ensure(4, 64));
	ASSERT_EQ(0, param_write("diff_storage_minimum", "16384"));
	a.cfd = ctl_open();
	ASSERT_LE(0, a.cfd);
	fd = open("/dev/ram0", O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));
	ASSERT_EQ(0, sd_write_range(fd, 0, 64 * MIB, 5, 1));
	ASSERT_EQ(0, snap_create(a.cfd, &a.id));
	ASSERT_EQ(0, snap_add(fd, &a.id));
	atomic_store(&a.stop, 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, appender_fn, &a));
	while (!a.appends)		/* the CREATE event's append */
		usleep(10000);
	ASSERT_EQ(0, snap_take(a.cfd, &a.id));
	for (pos = 0; pos < 48 * MIB; pos += MIB) {
		ASSERT_EQ(0, sd_write_range(fd, pos, MIB, 5, 2));
		usleep(20000);
	}
	usleep(300000);
	atomic_store(&a.stop, 1);
	pthread_join(th, NULL);
	EXPECT_EQ(0, a.corrupted);
	EXPECT_EQ(0, a.err);
	EXPECT_LE(5, a.appends);
	img = snap_open_image(fd, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, img);
	EXPECT_EQ(0, sd_check_range(img, 0, 64 * MIB, 5, 1));
	close(img);
	EXPECT_EQ(0, snap_destroy(a.cfd, &a.id));
	EXPECT_EQ(0, bf_detach(fd));
	EXPECT_EQ(0, param_write("diff_storage_minimum", "2097152"));
	close(fd);
	close(a.cfd);
}

TEST_HARNESS_MAIN
