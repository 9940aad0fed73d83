// SPDX-License-Identifier: GPL-2.0
/*
 * Trust, TAKE and the client sequences around it (issues 13 and 20).
 *
 * - collect_*: IOCTL_BLKSNAP_SNAPSHOT_COLLECT as v3 clients use it: the
 *   probe (ids NULL, any count) returns 0 with the number; an array too
 *   small -ENODATA with the number and nothing filled; a bad array
 *   -EFAULT.  Then the sequences written with it: cleanup of leftover
 *   snapshots, and resume after a crash of the agent (13.0).
 * - stack.take_h_then_l: ext4 on H, a loop device L over a file on H, both
 *   in the snapshot, H added first.  TAKE used to freeze H, then L, whose
 *   freeze writes through the loop into H: it never returned, with the
 *   layer's lock held (20.3).  Run with a deadline; on a hang the test
 *   thaws H by hand (FITHAW) so that the guest recovers, and fails.  The
 *   images are then checked.  Variant h_loop: H is itself a loop device,
 *   so "loop devices first" is not enough and the backing-file order is
 *   needed.
 * - stack.lock_free_while_freezing: H frozen by hand, TAKE of L blocks in
 *   its freeze; meanwhile ATTACH of another device and a ctl command must
 *   not wait for it (the ATTACH/TAKE ABBA of 20.3).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "snap.h"
#include "dev.h"
#include "util.h"


static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* COLLECT, client style: probe, then an array; -errno or the number. */
static int collect_all(int cfd, struct blksnap_uuid *ids, unsigned int max)
{
	struct blksnap_snapshot_collect c = { .count = 0, .ids = NULL };
	int ret, tries;

	for (tries = 0; tries < 5; tries++) {
		ret = ctl_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c);
		if (ret)
			return ret;	/* the probe must not fail */
		if (c.count > max)
			return -E2BIG;
		c.ids = ids;
		ret = ctl_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c);
		if (ret != -ENODATA)	/* else: one was created in between */
			return ret ? ret : (int)c.count;
		c.ids = NULL;
	}
	return -ENODATA;
}

static void destroy_all(int cfd)
{
	struct blksnap_snapshot_collect c = { .count = 64 };
	struct blksnap_uuid ids[64];
	unsigned int i;

	c.ids = ids;
	if (!ctl_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c))
		for (i = 0; i < c.count; i++)
			snap_destroy(cfd, &ids[i]);
}

FIXTURE(collect) {
	int cfd;
	int fd0;
	void *unmapped;
};

FIXTURE_SETUP(collect)
{
	ASSERT_EQ(0, brd_ensure(4, 64));
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
	self->fd0 = open("/dev/ram0", O_RDWR);
	ASSERT_LE(0, self->fd0);
	ASSERT_EQ(0, bf_attach(self->fd0));
	self->unmapped = mmap(NULL, 4096, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->unmapped);
}

FIXTURE_TEARDOWN(collect)
{
	destroy_all(self->cfd);
	bf_detach(self->fd0);
	close(self->fd0);
	close(self->cfd);
	munmap(self->unmapped, 4096);
}

TEST_F(collect, probe_then_array)
{
	struct blksnap_snapshot_collect c;
	struct blksnap_uuid ids[2], got[3];

	ASSERT_EQ(0, snap_create(self->cfd, &ids[0]));
	ASSERT_EQ(0, snap_create(self->cfd, &ids[1]));
	/* the probe, with any count */
	c.count = 0;
	c.ids = NULL;
	EXPECT_EQ(0, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c));
	EXPECT_EQ(2, c.count);
	c.count = 77;
	EXPECT_EQ(0, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c));
	EXPECT_EQ(2, c.count);
	/* an array too small: -ENODATA, count = n, nothing filled */
	memset(got, 0, sizeof(got));
	c.count = 1;
	c.ids = got;
	EXPECT_EQ(-ENODATA, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT,
				      &c));
	EXPECT_EQ(2, c.count);
	EXPECT_EQ(0, got[0].b[0] | got[0].b[7] | got[0].b[15]);
	c.count = 0;
	EXPECT_EQ(-ENODATA, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT,
				      &c));
	EXPECT_EQ(2, c.count);
	/* large enough: filled, oldest first */
	c.count = 3;
	EXPECT_EQ(0, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c));
	EXPECT_EQ(2, c.count);
	EXPECT_EQ(0, memcmp(&ids[0], &got[0], sizeof(ids[0])));
	EXPECT_EQ(0, memcmp(&ids[1], &got[1], sizeof(ids[1])));
	/* an array that cannot be written */
	c.count = 2;
	c.ids = self->unmapped;
	EXPECT_EQ(-EFAULT, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT,
				     &c));
	EXPECT_EQ(2, collect_all(self->cfd, got, 3));
}

/* An agent starting up destroys what an earlier run left behind. */
TEST_F(collect, cleanup_leftovers)
{
	struct blksnap_uuid id, ids[8];
	int i, n;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, snap_create(self->cfd, &id));
	ASSERT_EQ(0, snap_add(self->fd0, &id));
	ASSERT_EQ(0, snap_append_range(self->cfd, &id, "/dev/ram2", 0, 8192));
	ASSERT_EQ(0, snap_take(self->cfd, &id));

	n = collect_all(self->cfd, ids, 8);
	ASSERT_EQ(3, n);
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, snap_destroy(self->cfd, &ids[i]));
	EXPECT_EQ(0, collect_all(self->cfd, ids, 8));
	/* the device is free for a new snapshot */
	ASSERT_EQ(0, snap_create(self->cfd, &id));
	EXPECT_EQ(0, snap_add(self->fd0, &id));
	EXPECT_EQ(0, snap_destroy(self->cfd, &id));
}

/*
 * The agent that created and took a snapshot is killed; a new one finds
 * the snapshot by COLLECT, reads the device's snapshotinfo, reads the
 * image, and destroys it.
 */
TEST_F(collect, resume_after_crash)
{
	struct blksnap_snapshotinfo info;
	struct blksnap_uuid ids[8];
	void *buf = abuf(MIB);
	int pfd[2], st, ifd;
	char ok = 0;
	pid_t agent;

	ASSERT_NE(NULL, buf);
	sd_fill(buf, MIB, 5, 0, 1);
	ASSERT_EQ(MIB, pwrite(self->fd0, buf, MIB, 0));
	ASSERT_EQ(0, fsync(self->fd0));
	ASSERT_EQ(0, pipe(pfd));
	agent = fork();
	ASSERT_LE(0, agent);
	if (!agent) {
		struct blksnap_uuid id;
		int cfd = ctl_open();

		close(pfd[0]);
		if (cfd < 0 || snap_create(cfd, &id) ||
		    snap_add(self->fd0, &id) ||
		    snap_append_range(cfd, &id, "/dev/ram2", 0, 16384) ||
		    snap_take(cfd, &id))
			_exit(1);
		if (write(pfd[1], "y", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	ASSERT_EQ(1, read(pfd[0], &ok, 1));
	close(pfd[0]);
	ASSERT_EQ(0, kill(agent, SIGKILL));
	ASSERT_EQ(agent, waitpid(agent, &st, 0));

	/* writes after the crash do not reach the image */
	sd_fill(buf, MIB, 5, 0, 2);
	ASSERT_EQ(MIB, pwrite(self->fd0, buf, MIB, 0));
	ASSERT_EQ(0, fsync(self->fd0));

	/* the new agent */
	ASSERT_EQ(1, collect_all(self->cfd, ids, 8));
	ASSERT_EQ(0, snap_info(self->fd0, &info));
	EXPECT_EQ(0, info.error_code);
	EXPECT_NE(0, info.image[0]);
	ifd = snap_open_image(self->fd0, O_RDONLY);
	ASSERT_LE(0, ifd);
	ASSERT_EQ(MIB, pread(ifd, buf, MIB, 0));
	EXPECT_EQ(0, sd_check(buf, MIB, 5, 0, 1));
	close(ifd);
	EXPECT_EQ(0, snap_destroy(self->cfd, &ids[0]));
	EXPECT_EQ(0, collect_all(self->cfd, ids, 8));
	ASSERT_EQ(0, snap_info(self->fd0, &info));
	EXPECT_EQ(0, info.image[0]);
	free(buf);
}

/* --- TAKE over stacked members --- */

#define HDIR "/tmp/trust-h"
#define LDIR "/tmp/trust-l"
#define IDIR "/tmp/trust-img"
#define HIMG "/tmp/trust-h.img"
#define LIMG HDIR "/l.img"

FIXTURE(stack) {
	int cfd;
	char h[64], l[64];
	int hloop, lloop;	/* loop fds, or -1 */
	int hfd, lfd;
	bool hmounted, lmounted;
	struct blksnap_uuid id;
	bool have_id;
};

FIXTURE_VARIANT(stack) {
	bool h_loop;	/* H is a loop device over a tmpfs file */
};

FIXTURE_VARIANT_ADD(stack, h_brd) { .h_loop = false };
FIXTURE_VARIANT_ADD(stack, h_loop) { .h_loop = true };

static int mkfs_mount(const char *dev, const char *dir)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd),
		 "/usr/sbin/mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 %s > /dev/null", dev);
	if (run(cmd))
		return -EIO;
	mkdir(dir, 0755);
	return mount(dev, dir, "ext4", 0, NULL) ? -errno : 0;
}

/* Write a file of @mib MiB of pattern (@tag, @gen); fsync if @sync. */
static int write_file(const char *path, int mib, uint32_t tag, uint32_t gen,
		      bool sync)
{
	void *buf = abuf(MIB);
	int fd, i, ret = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || !buf) {
		free(buf);
		return -errno;
	}
	for (i = 0; i < mib && !ret; i++) {
		sd_fill(buf, MIB, tag, (uint64_t)i * 2048, gen);
		if (write(fd, buf, MIB) != MIB)
			ret = -errno;
	}
	if (!ret && sync && fsync(fd))
		ret = -errno;
	close(fd);
	free(buf);
	return ret;
}

/* Sectors of file @path that are not pattern (@tag, @gen), or -errno. */
static long check_file(const char *path, int mib, uint32_t tag, uint32_t gen)
{
	void *buf = abuf(MIB);
	long bad = 0;
	int fd, i;

	fd = open(path, O_RDONLY);
	if (fd < 0 || !buf) {
		free(buf);
		return -errno;
	}
	for (i = 0; i < mib; i++) {
		if (read(fd, buf, MIB) != MIB) {
			bad = -EIO;
			break;
		}
		bad += sd_check(buf, MIB, tag, (uint64_t)i * 2048, gen);
	}
	close(fd);
	free(buf);
	return bad;
}

FIXTURE_SETUP(stack)
{
	self->hloop = self->lloop = -1;
	self->hfd = self->lfd = -1;
	ASSERT_EQ(0, brd_ensure(4, 64));
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
	if (variant->h_loop) {
		self->hloop = loop_create(HIMG, 48, 0, self->h, sizeof(self->h));
		ASSERT_LE(0, self->hloop);
	} else {
		strcpy(self->h, "/dev/ram3");
	}
	ASSERT_EQ(0, mkfs_mount(self->h, HDIR));
	self->hmounted = true;
	self->lloop = loop_create(LIMG, 16, 0, self->l, sizeof(self->l));
	ASSERT_LE(0, self->lloop);
	ASSERT_EQ(0, mkfs_mount(self->l, LDIR));
	self->lmounted = true;
	mkdir(IDIR, 0755);
	self->hfd = open(self->h, O_RDWR);
	self->lfd = open(self->l, O_RDWR);
	ASSERT_LE(0, self->hfd);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bf_attach(self->hfd));
	ASSERT_EQ(0, bf_attach(self->lfd));
}

FIXTURE_TEARDOWN(stack)
{
	umount(IDIR);
	if (self->have_id)
		snap_destroy(self->cfd, &self->id);
	if (self->lfd >= 0) {
		bf_detach(self->lfd);
		close(self->lfd);
	}
	if (self->hfd >= 0) {
		bf_detach(self->hfd);
		close(self->hfd);
	}
	if (self->lmounted)
		umount(LDIR);
	if (self->lloop >= 0)
		loop_destroy(self->lloop, LIMG);
	if (self->hmounted)
		umount(HDIR);
	if (self->hloop >= 0)
		loop_destroy(self->hloop, HIMG);
	close(self->cfd);
}

struct take_arg {
	int cfd;
	struct blksnap_uuid id;
	atomic_int done;
	int ret;
};

static void *take_fn(void *p)
{
	struct take_arg *a = p;

	a->ret = snap_take(a->cfd, &a->id);
	atomic_store(&a->done, 1);
	return NULL;
}

/* Wait up to @ms for *@done. */
static bool wait_done(atomic_int *done, int ms)
{
	for (; ms > 0 && !atomic_load(done); ms -= 10)
		usleep(10000);
	return atomic_load(done);
}

static int fs_ioctl(const char *dir, unsigned long cmd)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int ret;

	if (fd < 0)
		return -errno;
	ret = ioctl(fd, cmd, 0) ? -errno : 0;
	close(fd);
	return ret;
}

static int mount_image(int bfd, const char *dir)
{
	struct blksnap_snapshotinfo info;
	char path[64];

	if (snap_info(bfd, &info) || !info.image[0])
		return -ENOENT;
	snprintf(path, sizeof(path), "/dev/%s", (char *)info.image);
	if (wait_for_node(path))
		return -ENOENT;
	return mount(path, dir, "ext4", MS_RDONLY, "noload") ? -errno : 0;
}

TEST_F(stack, take_h_then_l)
{
	struct take_arg a = { .cfd = self->cfd };
	pthread_t th;
	bool done;

	ASSERT_EQ(0, write_file(HDIR "/marker", 1, 11, 1, true));
	ASSERT_EQ(0, write_file(LDIR "/synced", 2, 12, 1, true));
	/* dirty data in L: freezing L must write it through the loop */
	ASSERT_EQ(0, write_file(LDIR "/dirty", 2, 13, 1, false));

	ASSERT_EQ(0, snap_create(self->cfd, &self->id));
	self->have_id = true;
	ASSERT_EQ(0, snap_add(self->hfd, &self->id));
	ASSERT_EQ(0, snap_add(self->lfd, &self->id));
	ASSERT_EQ(0, snap_append_range(self->cfd, &self->id, "/dev/ram2", 0,
				       131072));
	a.id = self->id;
	ASSERT_EQ(0, pthread_create(&th, NULL, take_fn, &a));
	done = wait_done(&a.done, 8000);
	if (!done) {
		TH_LOG("TAKE hung for 8 s: thawing %s by hand", HDIR);
		fs_ioctl(HDIR, FITHAW);
	}
	pthread_join(th, NULL);
	ASSERT_TRUE(done);
	ASSERT_EQ(0, a.ret);

	/* after TAKE: new data everywhere */
	ASSERT_EQ(0, write_file(LDIR "/synced", 2, 12, 2, true));
	ASSERT_EQ(0, write_file(LDIR "/dirty", 2, 13, 2, true));
	ASSERT_EQ(0, write_file(HDIR "/marker", 1, 11, 2, true));

	/* the images hold what was there at TAKE, byte for byte */
	ASSERT_EQ(0, mount_image(self->lfd, IDIR));
	EXPECT_EQ(0, check_file(IDIR "/synced", 2, 12, 1));
	EXPECT_EQ(0, check_file(IDIR "/dirty", 2, 13, 1));
	EXPECT_EQ(0, umount(IDIR));
	ASSERT_EQ(0, mount_image(self->hfd, IDIR));
	EXPECT_EQ(0, check_file(IDIR "/marker", 1, 11, 1));
	EXPECT_EQ(0, umount(IDIR));
}

struct op_arg {
	int fd;
	int which;	/* 0: ATTACH, 1: cbtinfo */
	atomic_int done;
	int ret;
};

static void *op_fn(void *p)
{
	struct op_arg *o = p;
	struct blksnap_cbtinfo info;

	o->ret = o->which ? cbt_info(o->fd, &info) : bf_attach(o->fd);
	atomic_store(&o->done, 1);
	return NULL;
}

TEST_F(stack, lock_free_while_freezing)
{
	struct take_arg a = { .cfd = self->cfd };
	struct op_arg att = { .which = 0 }, info = { .which = 1 };
	pthread_t th, t1, t2;
	bool blocked, att_done, info_done;

	att.fd = open("/dev/ram1", O_RDWR);
	ASSERT_LE(0, att.fd);
	info.fd = self->hfd;
	ASSERT_EQ(0, snap_create(self->cfd, &self->id));
	self->have_id = true;
	ASSERT_EQ(0, snap_add(self->lfd, &self->id));
	ASSERT_EQ(0, snap_append_range(self->cfd, &self->id, "/dev/ram2", 0,
				       131072));
	ASSERT_EQ(0, write_file(LDIR "/dirty", 1, 13, 1, false));
	ASSERT_EQ(0, fs_ioctl(HDIR, FIFREEZE));

	a.id = self->id;
	ASSERT_EQ(0, pthread_create(&th, NULL, take_fn, &a));
	usleep(500000);
	blocked = !atomic_load(&a.done);	/* freezing L waits for H */
	ASSERT_EQ(0, pthread_create(&t1, NULL, op_fn, &att));
	ASSERT_EQ(0, pthread_create(&t2, NULL, op_fn, &info));
	att_done = wait_done(&att.done, 3000);
	info_done = wait_done(&info.done, 100);
	EXPECT_EQ(0, fs_ioctl(HDIR, FITHAW));
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	ASSERT_TRUE(wait_done(&a.done, 8000));
	pthread_join(th, NULL);
	EXPECT_TRUE(blocked);
	EXPECT_TRUE(att_done);
	EXPECT_TRUE(info_done);
	EXPECT_EQ(0, att.ret);
	EXPECT_EQ(0, info.ret);
	EXPECT_EQ(0, a.ret);
	bf_detach(att.fd);
	close(att.fd);
}

TEST_HARNESS_MAIN
