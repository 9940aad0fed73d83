// SPDX-License-Identifier: GPL-2.0
/*
 * The v2 (/dev/blksnap) and v3 (/dev/blksnap-control, BLKFILTER_*)
 * interfaces at once, over one core (spec-v2 sections 2 and 3.7):
 *
 * - one tracker per device: CREATE reuses a tracker attached with
 *   BLKFILTER_ATTACH, its CBT history kept; BLKFILTER_ATTACH of a device
 *   tracked through v2 is -EALREADY; REMOVE and DETACH are the same thing,
 *   both -EBUSY while the device is in any snapshot; another filter on the
 *   device makes CREATE fail with -EBUSY;
 * - one id space: either node destroys, collects and waits on the other's
 *   snapshots; v3 snapshotadd works on a v2 snapshot before TAKE;
 *   COLLECT_IMAGES works on a v3 snapshot; image names follow the node
 *   that created the snapshot;
 * - one CBT map: v2 READ_CBT_MAP and v3 cbtmap read the same bytes, v2
 *   MARK_DIRTY (also by an image's dev_id) is seen by v3;
 * - events: low free space, overflow (corrupted), DESTROY wakes the
 *   waiters of both nodes;
 * - unload (Decision 8): trackers attached only through v2 do not pin the
 *   module, snapshots do.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <time.h>
#include <sys/wait.h>
#include "module.h"
#include "kselftest_harness.h"
#include "snap.h"
#include "dev.h"
#include "v2.h"

#define MIB (1ULL << 20)
#define NSECT (64ULL * 2048)

static const char *const devs[] = { "/dev/ram0", "/dev/ram1", "/dev/ram2",
				    "/dev/ram3" };

FIXTURE(x) {
	int fd, cfd;
	int bfd[2];
	struct blk_snap_dev d[2], stor;
};

FIXTURE_SETUP(x)
{
	int i;

	ASSERT_EQ(0, brd_ensure(4, 64));
	v2_cleanup(devs, 4);
	self->fd = v2_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", V2_DEV, strerror(errno));
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
	for (i = 0; i < 2; i++) {
		self->bfd[i] = open(devs[i], O_RDWR | O_DIRECT);
		ASSERT_LE(0, self->bfd[i]);
		bf_detach(self->bfd[i]);
		self->d[i] = v2_dev_of(devs[i]);
	}
	self->stor = v2_dev_of(devs[2]);
}

FIXTURE_TEARDOWN(x)
{
	v2_cleanup(devs, 4);
	bf_name_ioctl(self->bfd[0], BLKFILTER_DETACH, "blksnap-test");
	close(self->bfd[0]);
	close(self->bfd[1]);
	close(self->cfd);
	close(self->fd);
}

TEST_F(x, one_tracker_per_device)
{
	struct blksnap_cbtinfo v3a, v3b;
	struct blk_snap_cbt_info v2i;
	struct blk_snap_uuid id;

	/* attached through v3, CREATE through v2 reuses it (history kept) */
	ASSERT_EQ(0, bf_attach(self->bfd[0]));
	ASSERT_EQ(0, cbt_info(self->bfd[0], &v3a));
	ASSERT_EQ(0, v2_cbt_info(self->fd, self->d[0], &v2i));
	ASSERT_EQ(0, v2_create(self->fd, self->d, 2, &id));
	ASSERT_EQ(0, cbt_info(self->bfd[0], &v3b));
	EXPECT_EQ(0, memcmp(&v3a.generation_id, &v3b.generation_id, 16));
	EXPECT_EQ(0, memcmp(&v3a.generation_id, &v2i.generation_id, 16));
	EXPECT_EQ(v3a.block_size, v2i.blk_size);
	EXPECT_EQ(v3a.block_count, v2i.blk_count);
	EXPECT_EQ(v3a.device_capacity, v2i.device_capacity);
	EXPECT_EQ(v3a.changes_number, v2i.snap_number);

	/* tracked through v2: BLKFILTER_ATTACH says so, ctl works */
	EXPECT_EQ(-EALREADY, bf_attach(self->bfd[1]));
	EXPECT_EQ(0, cbt_info(self->bfd[1], &v3a));
	/* in a snapshot: neither REMOVE nor DETACH */
	EXPECT_EQ(-EBUSY, v2_remove(self->fd, self->d[0]));
	EXPECT_EQ(-EBUSY, bf_detach(self->bfd[0]));
	EXPECT_EQ(-EBUSY, v2_remove(self->fd, self->d[1]));
	EXPECT_EQ(-EBUSY, bf_detach(self->bfd[1]));
	ASSERT_EQ(0, v2_destroy(self->fd, &id));
	/* REMOVE of a v3 attachment, DETACH of a v2 one */
	EXPECT_EQ(0, v2_remove(self->fd, self->d[0]));
	EXPECT_EQ(-ENOENT, cbt_info(self->bfd[0], &v3a));
	EXPECT_EQ(0, bf_detach(self->bfd[1]));
	EXPECT_EQ(-ENODATA, v2_remove(self->fd, self->d[1]));
}

TEST_F(x, other_filter_makes_create_busy)
{
	struct blk_snap_uuid id;
	int ret;

	ret = bf_name_ioctl(self->bfd[0], BLKFILTER_ATTACH, "blksnap-test");
	if (ret == -ENOENT)
		SKIP(return, "module built without BLKSNAP_TESTING (no blksnap-test filter)");
	ASSERT_EQ(0, ret);
	EXPECT_EQ(-EBUSY, v2_create(self->fd, self->d, 2, &id));
	EXPECT_EQ(-ENODATA, v2_remove(self->fd, self->d[1])) TH_LOG("rolled back");
	ASSERT_EQ(0, bf_name_ioctl(self->bfd[0], BLKFILTER_DETACH,
				   "blksnap-test"));
}

TEST_F(x, one_id_space)
{
	struct blksnap_snapshot_collect c3 = { 0, NULL };
	struct blk_snap_image_info img[2];
	struct blksnap_snapshotinfo info;
	struct blk_snap_uuid id2, ids[4];
	struct blksnap_uuid id3;
	unsigned int n;
	char path[64];
	struct stat st;

	/* v2 snapshot: v3 sees it, adds a device, takes and destroys it */
	ASSERT_EQ(0, v2_create(self->fd, &self->d[0], 1, &id2));
	ASSERT_EQ(0, ctl_ioctl(self->cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c3));
	EXPECT_EQ(1u, c3.count);
	ASSERT_EQ(0, bf_attach(self->bfd[1]));
	memcpy(&id3, &id2, sizeof(id3));
	ASSERT_EQ(0, snap_add(self->bfd[1], &id3));
	ASSERT_EQ(0, snap_append_range(self->cfd, &id3, devs[2], 0, NSECT));
	ASSERT_EQ(0, snap_take(self->cfd, &id3));
	ASSERT_EQ(0, v2_collect_images(self->fd, &id2, img, 2, &n));
	EXPECT_EQ(2u, n);
	/* images of a v2 snapshot: blksnap-image<N>, also for v3's member */
	ASSERT_EQ(0, snap_info(self->bfd[1], &info));
	EXPECT_EQ(0, strncmp((char *)info.image, "blksnap-image", 13));
	EXPECT_NE('_', info.image[13]) TH_LOG("image %s", info.image);
	ASSERT_EQ(0, snap_destroy(self->cfd, &id3));
	EXPECT_EQ(-ENODEV, v2_destroy(self->fd, &id2));

	/* v3 snapshot: v2 collects it, its images, and destroys it */
	ASSERT_EQ(0, snap_create(self->cfd, &id3));
	ASSERT_EQ(0, snap_add(self->bfd[1], &id3));
	ASSERT_EQ(0, v2_snapshot_collect(self->fd, ids, 4, &n));
	ASSERT_EQ(1u, n);
	EXPECT_EQ(0, memcmp(&ids[0], &id3, 16));
	memcpy(&id2, &id3, sizeof(id2));
	EXPECT_EQ(-ENODEV, v2_collect_images(self->fd, &id2, img, 2, &n));
	ASSERT_EQ(0, v2_append_range(self->fd, &id2, self->stor, 0, NSECT));
	ASSERT_EQ(0, snap_take(self->cfd, &id3));
	ASSERT_EQ(0, v2_collect_images(self->fd, &id2, img, 2, &n));
	ASSERT_EQ(1u, n);
	EXPECT_EQ(self->d[1].mj, img[0].orig_dev_id.mj);
	EXPECT_EQ(self->d[1].mn, img[0].orig_dev_id.mn);
	/* a v3 snapshot's image keeps its v3 name; the dev_t is that node's */
	ASSERT_EQ(0, snap_info(self->bfd[1], &info));
	snprintf(path, sizeof(path), "/dev/%s", (char *)info.image);
	EXPECT_EQ(0, strncmp((char *)info.image, "blksnap-image_", 14));
	ASSERT_EQ(0, wait_for_node(path));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(img[0].image_dev_id.mj, major(st.st_rdev));
	EXPECT_EQ(img[0].image_dev_id.mn, minor(st.st_rdev));
	ASSERT_EQ(0, v2_destroy(self->fd, &id2));
	EXPECT_EQ(-ENODEV, snap_destroy(self->cfd, &id3));
}

TEST_F(x, one_cbt_map)
{
	struct blk_snap_block_range r = { 8 * 2048, 8 };
	struct blk_snap_image_info img[1];
	struct blksnap_cbtinfo v3;
	struct blk_snap_cbt_info v2i;
	struct blk_snap_uuid id;
	uint8_t *m2 = malloc(1 << 20), *m3 = malloc(1 << 20);
	unsigned int n, k, bs;

	ASSERT_NE(NULL, m2);
	ASSERT_NE(NULL, m3);
	ASSERT_EQ(0, v2_create(self->fd, &self->d[0], 1, &id));
	ASSERT_EQ(0, v2_append_range(self->fd, &id, self->stor, 0, NSECT));
	ASSERT_EQ(0, v2_take(self->fd, &id));
	ASSERT_EQ(0, v2_destroy(self->fd, &id));
	ASSERT_EQ(0, sd_write_at(self->bfd[0], 3 * MIB, 4096, 5));
	ASSERT_EQ(0, sd_write_at(self->bfd[0], 50 * MIB, MIB, 5));
	ASSERT_EQ(0, v2_create(self->fd, &self->d[0], 1, &id));
	ASSERT_EQ(0, v2_append_range(self->fd, &id, self->stor, 0, NSECT));
	ASSERT_EQ(0, v2_take(self->fd, &id));

	ASSERT_EQ(0, cbt_info(self->bfd[0], &v3));
	ASSERT_EQ(0, v2_cbt_info(self->fd, self->d[0], &v2i));
	EXPECT_EQ(v3.changes_number, v2i.snap_number);
	EXPECT_EQ(0, memcmp(&v3.generation_id, &v2i.generation_id, 16));
	ASSERT_EQ((int)v2i.blk_count,
		  v2_read_map_all(self->fd, self->d[0], m2, v2i.blk_count));
	ASSERT_EQ((int)v3.block_count,
		  cbt_read(self->bfd[0], 0, v3.block_count, m3));
	EXPECT_EQ(0, memcmp(m2, m3, v3.block_count));
	bs = v2i.blk_size;
	EXPECT_EQ(v2i.snap_number, m2[3 * MIB / bs]);
	EXPECT_EQ(v2i.snap_number, m2[50 * MIB / bs]);

	/* MARK_DIRTY by the image's dev_id marks the original's map */
	ASSERT_EQ(0, v2_collect_images(self->fd, &id, img, 1, &n));
	k = r.sector_offset * 512 / bs;
	EXPECT_EQ(0, m3[k]);
	ASSERT_EQ(0, v2_mark_dirty(self->fd, img[0].image_dev_id, &r, 1));
	ASSERT_EQ((int)v3.block_count,
		  cbt_read(self->bfd[0], 0, v3.block_count, m3));
	EXPECT_NE(0, m3[k]);
	ASSERT_EQ((int)v2i.blk_count,
		  v2_read_map_all(self->fd, self->d[0], m2, v2i.blk_count));
	EXPECT_EQ(0, memcmp(m2, m3, v3.block_count));
	free(m2);
	free(m3);
}

struct waiter {
	int fd;
	bool v3;
	struct blk_snap_uuid id;
	int ret;
	double secs;
};

static void *waiter_fn(void *arg)
{
	struct waiter *w = arg;
	struct blk_snap_snapshot_event ev;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	/* the event structures are wire-identical: one buffer for both */
	memset(&ev, 0, sizeof(ev));
	ev.id = w->id;
	ev.timeout_ms = 20000;
	w->ret = v2_ioctl(w->fd, w->v3 ? IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT :
				     IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT, &ev);
	clock_gettime(CLOCK_MONOTONIC, &b);
	w->secs = b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) / 1e9;
	return NULL;
}

/* Low free space, overflow, and DESTROY waking waiters of both nodes. */
TEST_F(x, events)
{
	struct blk_snap_snapshot_event ev;
	struct blk_snap_event_corrupted cor;
	struct blk_snap_event_low_free_space low;
	struct blk_snap_uuid id;
	struct waiter w[2];
	pthread_t th[2];
	long minimum;
	int i, got_low = 0, got_cor = 0;

	ASSERT_EQ(0, param_read("diff_storage_minimum", &minimum));
	ASSERT_EQ(0, v2_create(self->fd, &self->d[0], 1, &id));
	ASSERT_EQ(0, v2_wait_event(self->fd, &id, 1000, &ev));
	EXPECT_EQ(blk_snap_event_code_low_free_space, ev.code);
	memcpy(&low, ev.data, sizeof(low));
	EXPECT_EQ(minimum, (long)low.requested_nr_sect);
	/* 1 MiB of storage (4 chunks of 256 KiB): overflow after a few */
	ASSERT_EQ(0, v2_append_range(self->fd, &id, self->stor, 0, 2048));
	ASSERT_EQ(0, v2_take(self->fd, &id));
	for (i = 0; i < 16; i++)
		ASSERT_EQ(0, sd_write_at(self->bfd[0], i * 2 * MIB, 4096, 9));
	while (!v2_wait_event(self->fd, &id, 500, &ev)) {
		if (ev.code == blk_snap_event_code_low_free_space) {
			got_low++;
		} else if (ev.code == blk_snap_event_code_corrupted) {
			memcpy(&cor, ev.data, sizeof(cor));
			EXPECT_EQ(self->d[0].mj, cor.orig_dev_id.mj);
			EXPECT_EQ(self->d[0].mn, cor.orig_dev_id.mn);
			EXPECT_EQ(ENOSPC, cor.err_code) TH_LOG("a positive errno");
			got_cor++;
		}
	}
	EXPECT_LE(1, got_low);
	EXPECT_EQ(1, got_cor);

	/* DESTROY wakes a v2 and a v3 waiter at once */
	for (i = 0; i < 2; i++) {
		w[i] = (struct waiter){ .fd = i ? self->cfd : self->fd,
					.v3 = i, .id = id };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, waiter_fn, &w[i]));
	}
	usleep(300000);
	ASSERT_EQ(0, v2_destroy(self->fd, &id));
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(-ESRCH, w[i].ret) TH_LOG("waiter %d", i);
		EXPECT_GT(5.0, w[i].secs);
	}
}

/* Run a shell command, its stdout into @out; the exit code or -1. */
static int run(char *out, size_t len, const char *cmd)
{
	FILE *f = popen(cmd, "r");
	size_t n;
	int st;

	if (!f)
		return -1;
	n = fread(out, 1, len - 1, f);
	out[n] = 0;
	st = pclose(f);
	fprintf(stderr, "# $ %s -> %d\n#   %s\n", cmd,
		WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* blksnapctl (v3 only) keeps working while a v2 agent holds a snapshot. */
TEST_F(x, blksnapctl_while_v2_holds_snapshot)
{
	struct blk_snap_image_info img[1];
	struct blk_snap_uuid id;
	char out[4096], want[64], uuid[40];
	unsigned int n;

	if (access("/usr/sbin/blksnapctl", X_OK))
		SKIP(return, "no /usr/sbin/blksnapctl in the guest");
	ASSERT_EQ(0, v2_create(self->fd, &self->d[0], 1, &id));
	ASSERT_EQ(0, v2_append_range(self->fd, &id, self->stor, 0, NSECT));
	ASSERT_EQ(0, v2_take(self->fd, &id));
	ASSERT_EQ(0, v2_collect_images(self->fd, &id, img, 1, &n));
	snprintf(uuid, sizeof(uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 id.b[0], id.b[1], id.b[2], id.b[3], id.b[4], id.b[5], id.b[6],
		 id.b[7], id.b[8], id.b[9], id.b[10], id.b[11], id.b[12],
		 id.b[13], id.b[14], id.b[15]);

	EXPECT_EQ(0, run(out, sizeof(out),
			 "/usr/sbin/blksnapctl snapshot list 2>&1"));
	EXPECT_NE(NULL, strstr(out, uuid)) TH_LOG("%s not listed", uuid);
	EXPECT_EQ(0, run(out, sizeof(out),
			 "/usr/sbin/blksnapctl snapshot info /dev/ram0 2>&1"));
	snprintf(want, sizeof(want), "/dev/" BLK_SNAP_IMAGE_NAME "%u",
		 img[0].image_dev_id.mn);
	EXPECT_NE(NULL, strstr(out, want)) TH_LOG("%s not shown", want);
	EXPECT_EQ(0, run(out, sizeof(out),
			 "/usr/sbin/blksnapctl cbtinfo /dev/ram0 2>&1"));
	if (!run(out, sizeof(out), "/usr/sbin/blksnapctl status 2>&1"))
		EXPECT_NE(NULL, strstr(out, uuid)) TH_LOG("status: %s", out);
	EXPECT_EQ(0, v2_destroy(self->fd, &id));
}

/*
 * Decision 8: trackers attached only through /dev/blksnap do not pin the
 * module (rmmod detaches them), a snapshot does, a BLKFILTER_ATTACH
 * tracker does even when v2 uses it.
 */
TEST_F(x, unload)
{
	struct blk_snap_uuid id;
	int base, fd;

	close(self->fd);
	close(self->cfd);
	base = module_refcnt();
	ASSERT_LE(0, base);
	fd = v2_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, v2_create(fd, self->d, 2, &id));
	close(fd);
	EXPECT_EQ(base + 1, wait_refcnt(base + 1, 2000)) TH_LOG("snapshot pins");
	EXPECT_NE(0, system("rmmod blksnap 2>/dev/null"));
	fd = v2_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, v2_destroy(fd, &id));
	close(fd);
	EXPECT_EQ(base, wait_refcnt(base, 2000)) TH_LOG("v2 trackers do not");
	ASSERT_EQ(0, system("rmmod blksnap"));
	ASSERT_EQ(0, blksnap_insmod());
	for (fd = 0; fd < 500 && access(V2_DEV, F_OK); fd++)
		usleep(10000);

	/* the trackers are gone with the module */
	self->fd = v2_open();
	ASSERT_LE(0, self->fd);
	self->cfd = ctl_open();
	ASSERT_LE(0, self->cfd);
	EXPECT_EQ(-ENODATA, v2_remove(self->fd, self->d[0]));
	/* a v3 attachment pins, also once v2 used it */
	ASSERT_EQ(0, bf_attach(self->bfd[0]));
	ASSERT_EQ(0, v2_create(self->fd, &self->d[0], 1, &id));
	ASSERT_EQ(0, v2_destroy(self->fd, &id));
	close(self->fd);
	close(self->cfd);
	EXPECT_NE(0, system("rmmod blksnap 2>/dev/null"));
	self->fd = v2_open();
	self->cfd = ctl_open();
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(0, bf_detach(self->bfd[0]));
}

TEST_HARNESS_MAIN
