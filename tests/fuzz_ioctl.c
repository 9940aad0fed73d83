// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl fuzzer: several threads issue random sequences of every control
 * ioctl (of /dev/blksnap-control and of the v2 node /dev/blksnap) and
 * every BLKFILTER command with random and hostile arguments
 * (NULL, unmapped and kernel addresses, huge and zero counts and lengths,
 * random uuids, ranges past the end), while a writer writes and a device
 * comes and goes underneath.  The kernel must stay healthy (the runner
 * fails on any splat), and afterwards everything can be destroyed,
 * detached and the module unloaded.
 *
 * It stops after FUZZ_CALLS calls (default 1000000) or FUZZ_SECONDS
 * (default 240, inside the runner's 300 s per program), whichever comes
 * first; set them with make check EXTRA_APPEND="env.FUZZ_CALLS=...
 * env.FUZZ_SECONDS=..." or use make fuzz.  It prints the calls made and
 * where the time went, per kind of call.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/mman.h>
#include "kselftest_harness.h"
#include "snap.h"
#include "dev.h"
#include "module.h"
#include "v2.h"

#define NTHREADS 8
#define NDEVS 4

static atomic_long calls;
static atomic_int stop;
static void *unmapped, *rnd;
static struct blksnap_uuid known[8];
static atomic_int nknown;
static int devfd[NDEVS];

/* Time spent per kind of call, to see where a run's time goes. */
enum { K_CREATE, K_HEAVY, K_APPEND, K_COLLECT, K_WAIT, K_OTHER, K_ATTACH,
       K_DETACH, K_FCTL, K_NR };
static const char *const kname[K_NR] = {
	"create", "take/destroy", "append", "collect", "wait", "version/junk",
	"attach", "detach", "filter_ctl",
};
static atomic_long kcalls[K_NR], kus[K_NR];

static int tio(int k, int fd, unsigned long cmd, void *arg)
{
	struct timespec a, b;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &a);
	ret = ioctl(fd, cmd, arg);
	clock_gettime(CLOCK_MONOTONIC, &b);
	atomic_fetch_add(&kcalls[k], 1);
	atomic_fetch_add(&kus[k], (b.tv_sec - a.tv_sec) * 1000000L +
				  (b.tv_nsec - a.tv_nsec) / 1000);
	return ret;
}

static unsigned long long r64(unsigned int *s)
{
	return ((unsigned long long)rand_r(s) << 33) ^
	       ((unsigned long long)rand_r(s) << 12) ^ rand_r(s);
}

/* A pointer argument: mostly good, often hostile. */
static void *ptr_arg(unsigned int *s, void *good)
{
	switch (rand_r(s) % 8) {
	case 0:
		return NULL;
	case 1:
		return unmapped;
	case 2:
		return (void *)0xffff888000000000ULL;	/* kernel address */
	case 3:
		return (char *)rnd + rand_r(s) % 4096;
	default:
		return good;
	}
}

static void random_uuid(unsigned int *s, struct blksnap_uuid *id)
{
	int n = atomic_load(&nknown);
	unsigned int i;

	if (n && rand_r(s) % 4) {
		*id = known[rand_r(s) % (n < 8 ? n : 8)];
		return;
	}
	for (i = 0; i < sizeof(id->b); i++)
		id->b[i] = rand_r(s);
}

static void fuzz_control(unsigned int *s, int cfd)
{
	static const unsigned long cmds[] = {
		IOCTL_BLKSNAP_VERSION, IOCTL_BLKSNAP_SNAPSHOT_CREATE,
		IOCTL_BLKSNAP_SNAPSHOT_DESTROY,
		IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE,
		IOCTL_BLKSNAP_SNAPSHOT_TAKE, IOCTL_BLKSNAP_SNAPSHOT_COLLECT,
		IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT,
	};
	union {
		struct blksnap_uuid id;
		struct blksnap_snapshot_append_storage as;
		struct blksnap_snapshot_collect c;
		struct blksnap_snapshot_event ev;
		struct blksnap_version v;
	} u;
	struct blksnap_sectors ranges[4];
	struct blksnap_uuid ids[64];	/* more than can ever exist here */
	unsigned long cmd = cmds[rand_r(s) % 7];
	int i, ret;

	memset(&u, 0, sizeof(u));
	switch (cmd) {
	case IOCTL_BLKSNAP_SNAPSHOT_CREATE:
		if (atomic_load(&nknown) >= 6 || rand_r(s) % 8)
			return;		/* keep the population small */
		ret = tio(K_CREATE, cfd, cmd, ptr_arg(s, &u.id));
		if (!ret) {
			i = atomic_fetch_add(&nknown, 1);
			if (i < 8)
				known[i] = u.id;
		}
		break;
	case IOCTL_BLKSNAP_SNAPSHOT_DESTROY:
	case IOCTL_BLKSNAP_SNAPSHOT_TAKE:
		if (rand_r(s) % 16)
			cmd = IOCTL_BLKSNAP_VERSION;	/* heavy: not too often */
		random_uuid(s, &u.id);
		tio(cmd == IOCTL_BLKSNAP_VERSION ? K_OTHER : K_HEAVY, cfd, cmd,
		    ptr_arg(s, &u.id));
		break;
	case IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE:
		random_uuid(s, &u.as.id);
		for (i = 0; i < 4; i++) {
			ranges[i].offset = rand_r(s) % 2 ? r64(s) :
					   (rand_r(s) % 16384) * 8;
			ranges[i].count = rand_r(s) % 2 ? r64(s) :
					  (rand_r(s) % 64) * 8;
		}
		u.as.bdev_path = (__u8 *)(rand_r(s) % 3 ? "/dev/ram3" :
					  rand_r(s) % 2 ? "/tmp" : "/dev/ram0");
		u.as.bdev_path = ptr_arg(s, u.as.bdev_path);
		u.as.bdev_path_size = rand_r(s) % 4 ? 10 : rand_r(s);
		u.as.count = rand_r(s) % 4 ? rand_r(s) % 5 : rand_r(s);
		u.as.ranges = ptr_arg(s, ranges);
		tio(K_APPEND, cfd, cmd, ptr_arg(s, &u.as));
		break;
	case IOCTL_BLKSNAP_SNAPSHOT_COLLECT:
		u.c.count = rand_r(s) % 4 ? rand_r(s) % 65 : 64;
		u.c.ids = ptr_arg(s, ids);
		tio(K_COLLECT, cfd, cmd, ptr_arg(s, &u.c));
		break;
	case IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT:
		random_uuid(s, &u.ev.id);
		/* a sleeping call costs a jiffy or more: seldom */
		u.ev.timeout_ms = rand_r(s) % 64 ? 0 : rand_r(s) % 3;
		tio(K_WAIT, cfd, cmd, ptr_arg(s, &u.ev));
		break;
	default:
		tio(K_OTHER, cfd, rand_r(s) % 4 ? cmd : (unsigned long)r64(s),
		    ptr_arg(s, &u.v));
		break;
	}
}

/* A v2 dev_id: mostly a scratch ram disk, sometimes out of range or absent. */
static struct blk_snap_dev v2_dev_arg(unsigned int *s)
{
	static const struct blk_snap_dev odd[] = {
		{ 4096, 0 }, { 0xffffffff, 5 }, { 0, 0 }, { 4095, 0xfffff },
		{ 4103, 0 },
	};
	struct blk_snap_dev d;

	if (rand_r(s) % 4)
		return v2_dev_of(rand_r(s) % 2 ? "/dev/ram0" : "/dev/ram1");
	if (rand_r(s) % 2)
		return v2_dev_of(rand_r(s) % 2 ? "/dev/ram2" : "/dev/ram3");
	d = odd[rand_r(s) % 5];
	return d;
}

/* The twelve v2 commands on /dev/blksnap, same population of ids. */
static void fuzz_v2(unsigned int *s, int fd)
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
	union {
		struct blk_snap_tracker_remove rm;
		struct blk_snap_tracker_collect tc;
		struct blk_snap_tracker_read_cbt_bitmap rd;
		struct blk_snap_tracker_mark_dirty_blocks md;
		struct blk_snap_snapshot_create cr;
		struct blk_snap_snapshot_take tk;
		struct blk_snap_snapshot_append_storage as;
		struct blk_snap_snapshot_collect sc;
		struct blk_snap_snapshot_collect_images ci;
		struct blk_snap_snapshot_event ev;
		struct blk_snap_version v;
	} u;
	union {
		unsigned char map[8192];
		struct blk_snap_cbt_info info[64];
		struct blk_snap_uuid ids[64];
		struct blk_snap_image_info img[64];
	} out;
	struct blk_snap_block_range ranges[4];
	struct blk_snap_dev devs[3];
	unsigned long cmd = cmds[rand_r(s) % 12];
	int i, k = K_OTHER, ret;

	memset(&u, 0, sizeof(u));
	for (i = 0; i < 4; i++) {
		ranges[i].sector_offset = rand_r(s) % 2 ? r64(s) :
					  rand_r(s) % 131072;
		ranges[i].sector_count = rand_r(s) % 2 ? r64(s) :
					 rand_r(s) % 4096;
	}
	for (i = 0; i < 3; i++)
		devs[i] = v2_dev_arg(s);
	switch (cmd) {
	case IOCTL_BLK_SNAP_TRACKER_REMOVE:
		if (rand_r(s) % 8)
			return;		/* attach/detach: the slow ones */
		u.rm.dev_id = devs[0];
		k = K_DETACH;
		break;
	case IOCTL_BLK_SNAP_TRACKER_COLLECT:
		u.tc.count = rand_r(s) % 4 ? rand_r(s) % 65 : rand_r(s);
		u.tc.cbt_info_array = ptr_arg(s, out.info);
		k = K_COLLECT;
		break;
	case IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP:
		u.rd.dev_id = devs[0];
		u.rd.offset = rand_r(s) % 2 ? rand_r(s) % 2048 : rand_r(s);
		u.rd.length = rand_r(s) % 2 ? sizeof(out.map) : rand_r(s);
		u.rd.buff = ptr_arg(s, out.map);
		k = K_FCTL;
		break;
	case IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS:
		u.md.dev_id = devs[0];
		u.md.count = rand_r(s) % 4 ? rand_r(s) % 5 : rand_r(s);
		u.md.dirty_blocks_array = ptr_arg(s, ranges);
		k = K_FCTL;
		break;
	case IOCTL_BLK_SNAP_SNAPSHOT_CREATE:
		if (atomic_load(&nknown) >= 6 || rand_r(s) % 8)
			return;		/* keep the population small */
		u.cr.count = rand_r(s) % 4 ? 1 + rand_r(s) % 3 : rand_r(s);
		u.cr.dev_id_array = ptr_arg(s, devs);
		ret = tio(K_CREATE, fd, cmd, ptr_arg(s, &u.cr));
		if (!ret) {
			i = atomic_fetch_add(&nknown, 1);
			if (i < 8)
				memcpy(&known[i], &u.cr.id, sizeof(known[i]));
		}
		return;
	case IOCTL_BLK_SNAP_SNAPSHOT_DESTROY:
	case IOCTL_BLK_SNAP_SNAPSHOT_TAKE:
		if (rand_r(s) % 16)
			return;		/* heavy: not too often */
		random_uuid(s, (struct blksnap_uuid *)&u.tk.id);
		k = K_HEAVY;
		break;
	case IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE:
		random_uuid(s, (struct blksnap_uuid *)&u.as.id);
		u.as.dev_id = rand_r(s) % 4 ? v2_dev_of("/dev/ram3") : devs[0];
		u.as.count = rand_r(s) % 4 ? rand_r(s) % 5 : rand_r(s);
		u.as.ranges = ptr_arg(s, ranges);
		k = K_APPEND;
		break;
	case IOCTL_BLK_SNAP_SNAPSHOT_COLLECT:
		u.sc.count = rand_r(s) % 4 ? rand_r(s) % 65 : 64;
		u.sc.ids = ptr_arg(s, out.ids);
		k = K_COLLECT;
		break;
	case IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES:
		random_uuid(s, (struct blksnap_uuid *)&u.ci.id);
		u.ci.count = rand_r(s) % 4 ? rand_r(s) % 65 : rand_r(s);
		u.ci.image_info_array = ptr_arg(s, out.img);
		k = K_COLLECT;
		break;
	case IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT:
		random_uuid(s, (struct blksnap_uuid *)&u.ev.id);
		u.ev.timeout_ms = rand_r(s) % 64 ? 0 : rand_r(s) % 3;
		k = K_WAIT;
		break;
	default:
		if (!(rand_r(s) % 4))
			cmd = r64(s);
		break;
	}
	tio(k, fd, cmd, ptr_arg(s, &u));
}

static void fuzz_filter(unsigned int *s)
{
	static const char *const names[] = {
		"blksnap", "blksnap", "blksnap", "blksnap-test", "", "x",
	};
	union {
		struct blksnap_cbtinfo info;
		struct blksnap_cbtmap map;
		struct blksnap_cbtdirty dirty;
		struct blksnap_snapshotadd add;
		struct blksnap_snapshotinfo sinfo;
	} u;
	unsigned char buf[8192];	/* more than any map here (1024 blocks) */
	struct blksnap_sectors ranges[4];
	struct blkfilter_ctl ctl;
	struct blkfilter_name n;
	int fd = devfd[rand_r(s) % NDEVS], i;

	memset(&n, 0, sizeof(n));
	strcpy((char *)n.name, names[rand_r(s) % 6]);
	switch (rand_r(s) % 16) {	/* attach/detach: the slow ones */
	case 0:
		tio(K_ATTACH, fd, BLKFILTER_ATTACH, ptr_arg(s, &n));
		return;
	case 1:
		tio(K_DETACH, fd, BLKFILTER_DETACH, ptr_arg(s, &n));
		return;
	default:
		break;
	}
	memset(&ctl, 0, sizeof(ctl));
	memcpy(ctl.name, n.name, sizeof(ctl.name));
	ctl.cmd = rand_r(s) % 8 ? rand_r(s) % 6 : rand_r(s);
	ctl.optlen = rand_r(s) % 4 ? sizeof(u) : rand_r(s) % 64;
	memset(&u, 0, sizeof(u));
	switch (ctl.cmd) {
	case 1:
		u.map.offset = rand_r(s) % 2 ? rand_r(s) % 2048 : rand_r(s);
		u.map.length = rand_r(s) % 2 ? sizeof(buf) : rand_r(s);
		u.map.buffer = ptr_arg(s, buf);
		break;
	case 2:
		for (i = 0; i < 4; i++) {
			ranges[i].offset = rand_r(s) % 2 ? r64(s) :
					   rand_r(s) % 131072;
			ranges[i].count = rand_r(s) % 2 ? r64(s) :
					  rand_r(s) % 4096;
		}
		u.dirty.count = rand_r(s) % 4 ? rand_r(s) % 5 : rand_r(s);
		u.dirty.dirty_sectors = ptr_arg(s, ranges);
		break;
	case 3:
		random_uuid(s, &u.add.id);
		break;
	}
	ctl.opt = (unsigned long)ptr_arg(s, &u);
	tio(K_FCTL, fd, BLKFILTER_CTL, ptr_arg(s, &ctl));
}

struct fuzzer {
	unsigned int seed;
	long limit;
	int cfd;
	int v2fd;		/* /dev/blksnap, or -1 */
};

static void *fuzz_fn(void *arg)
{
	struct fuzzer *f = arg;

	while (!atomic_load(&stop) && atomic_fetch_add(&calls, 1) < f->limit) {
		int what = rand_r(&f->seed) % 3;

		if (what == 2 && f->v2fd >= 0)
			fuzz_v2(&f->seed, f->v2fd);
		else if (what)
			fuzz_control(&f->seed, f->cfd);
		else
			fuzz_filter(&f->seed);
	}
	return NULL;
}

static void *writer_fn(void *arg)
{
	unsigned int seed = 7;
	void *buf = NULL;

	(void)arg;
	if (posix_memalign(&buf, 4096, 65536))
		return NULL;
	memset(buf, 0x77, 65536);
	while (!atomic_load(&stop)) {
		int fd = devfd[rand_r(&seed) % 2];	/* ram0, ram1 */

		pwrite(fd, buf, 4096 * (1 + rand_r(&seed) % 16),
		       (off_t)(rand_r(&seed) % 4000) * 4096);
		usleep(1000);
	}
	free(buf);
	return NULL;
}

/* A dm device that comes and goes with the filter attached. */
static void *vanish_fn(void *arg)
{
	struct blksnap_uuid id;
	char path[64];
	int fd, n;

	(void)arg;
	while (!atomic_load(&stop)) {
		if (dm_create("bs_fz", "linear", 8192, "1:1 0", path,
			      sizeof(path)) || wait_for_node(path)) {
			usleep(10000);
			continue;
		}
		fd = open(path, O_RDWR);
		if (fd >= 0) {
			bf_attach(fd);
			n = atomic_load(&nknown);
			if (n) {
				id = known[n % 8 < n ? n % 8 : 0];
				snap_add(fd, &id);
			}
			close(fd);
		}
		usleep(20000);
		dm_remove("bs_fz");
	}
	return NULL;
}

FIXTURE(fz) {
};

FIXTURE_SETUP(fz)
{
}

FIXTURE_TEARDOWN(fz)
{
}

/* The harness's default 30 s per test is too short for a fuzz run. */
TEST_F_TIMEOUT(fz, fuzz, 900)
{
	struct fuzzer f[NTHREADS];
	pthread_t th[NTHREADS], wt, vt;
	struct blksnap_snapshot_collect c;
	struct blksnap_uuid ids[64];
	struct blksnap_version v;
	struct timespec t0, t1;
	long limit = 1000000, seconds = 240;
	unsigned int i;
	int cfd, v2fd, fails = 0;
	char *e;

	e = getenv("FUZZ_CALLS");
	if (e)
		limit = atol(e);
	e = getenv("FUZZ_SECONDS");
	if (e)
		seconds = atol(e);
	ASSERT_EQ(0, brd_ensure(4, 64));
	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	rnd = malloc(8192);
	ASSERT_NE(NULL, rnd);
	for (i = 0; i < 8192; i++)
		((unsigned char *)rnd)[i] = i * 37;
	for (i = 0; i < NDEVS; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/dev/ram%u", i);
		devfd[i] = open(p, O_RDWR | O_DIRECT);
		ASSERT_LE(0, devfd[i]);
	}
	cfd = ctl_open();
	ASSERT_LE(0, cfd);
	v2fd = v2_open();
	ASSERT_LE(0, v2fd) TH_LOG("open %s: %s", V2_DEV, strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < NTHREADS; i++) {
		f[i] = (struct fuzzer){ .seed = 1000 + i, .limit = limit,
					.cfd = cfd, .v2fd = v2fd };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, fuzz_fn, &f[i]));
	}
	ASSERT_EQ(0, pthread_create(&wt, NULL, writer_fn, NULL));
	ASSERT_EQ(0, pthread_create(&vt, NULL, vanish_fn, NULL));
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (atomic_load(&calls) >= limit || t1.tv_sec - t0.tv_sec >= seconds)
			break;
		usleep(100000);
	}
	atomic_store(&stop, 1);
	/*
	 * A fuzzer may sleep in WAIT_EVENT with a timeout read from random
	 * memory: destroying the snapshots wakes it (-ESRCH).
	 */
	for (i = 0; i < NTHREADS; i++) {
		while (pthread_tryjoin_np(th[i], NULL)) {
			memset(&c, 0, sizeof(c));
			c.count = 64;
			c.ids = ids;
			if (!ctl_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c))
				while (c.count--)
					snap_destroy(cfd, &ids[c.count]);
			usleep(50000);
		}
	}
	pthread_join(wt, NULL);
	pthread_join(vt, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "# FIGURE fuzz_calls=%ld seconds=%ld\n",
		atomic_load(&calls) < limit ? atomic_load(&calls) : limit,
		(long)(t1.tv_sec - t0.tv_sec));
	for (i = 0; i < K_NR; i++)
		fprintf(stderr, "# %-13s %8ld calls %8ld us/call %5.1f%% of time\n",
			kname[i], atomic_load(&kcalls[i]),
			atomic_load(&kus[i]) / (atomic_load(&kcalls[i]) ?: 1),
			100.0 * atomic_load(&kus[i]) /
			(NTHREADS * 1e6 * (t1.tv_sec - t0.tv_sec ?: 1)));

	/* still healthy: answer, destroy everything, detach everything */
	EXPECT_EQ(0, ctl_ioctl(cfd, IOCTL_BLKSNAP_VERSION, &v));
	memset(&c, 0, sizeof(c));
	c.count = 64;
	c.ids = ids;
	ASSERT_EQ(0, ctl_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c));
	for (i = 0; i < c.count; i++)
		fails += snap_destroy(cfd, &ids[i]) != 0;
	EXPECT_EQ(0, fails);
	for (i = 0; i < NDEVS; i++) {
		bf_detach(devfd[i]);
		bf_name_ioctl(devfd[i], BLKFILTER_DETACH, "blksnap-test");
		EXPECT_EQ(-ENOENT, bf_detach(devfd[i]));
		close(devfd[i]);
	}
	dm_remove("bs_fz");
	EXPECT_EQ(0, v2_ioctl(v2fd, IOCTL_BLK_SNAP_VERSION, &v));
	close(v2fd);
	close(cfd);
	/* nothing attached, nothing held: the module unloads and reloads */
	EXPECT_EQ(0, system("rmmod blksnap"));
	EXPECT_EQ(0, blksnap_insmod());
}

TEST_HARNESS_MAIN
