// SPDX-License-Identifier: GPL-2.0
/*
 * bench: the blksnap performance scenarios P1..P6, run in the test guest
 * (`make bench`).  Every scenario runs once per round, BENCH_ROUNDS rounds
 * (default 7) in the same boot.  Within a round the variants of one
 * comparison (e.g. blksnap, dm-snapshot and the raw device) run
 * interleaved in BENCH_SLICES slices (A B C C B A ...), each variant's time
 * summed over its slices, so that a change in the host's load hits all of
 * them alike.  Reported: the median over the rounds of each value, and the
 * median of its per-round ratio to its reference.
 *
 * Devices: brd RAM disks of BENCH_MIB MiB (default 384), all prefilled so
 * that no page is allocated during a measurement:
 *   ram0  origin (blksnap filter, dm-linear base)
 *   ram1  blksnap difference storage
 *   ram2  raw reference device, never filtered
 *   ram3  ext4 under a writer (TAKE latency)
 *   ram4, ram5  dm-snapshot origin and COW device
 * and null_blk (memory_backed=0): nullb0 1 PiB origin, nullb1 storage.
 * Each brd device is cut in three regions: A (4k first writes, then
 * rewrites, then read back), B (1M sequential first writes), C (never
 * written after TAKE: the untouched part of the image).
 *
 * Output: lines "BENCH|id|what|value|unit|ref|ratio|min..max|target|verdict|chunk"
 * (parsed by scripts/bench.sh) and a readable table.
 *
 * Env: BENCH_ROUNDS (7), BENCH_MIB (384), BENCH_THREADS (4), BENCH_PASSES (4),
 *      BENCH_OPS (32768 random 4k I/Os per run), BENCH_SKIP_P5 (0),
 *      BENCH_PROFILE (1: function_graph profiles of FW4/FW1/SR1/IR4/TAKE at the end),
 *      BENCH_COLUMNS (1: rounds of the dm-snapshot / VAL-7.0 / blksnap
 *      columns, see columns(); 0: none), BENCH_COL_OPS (8192 4k I/Os).
 */
#define _GNU_SOURCE
#include <math.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include "iobench.h"
#include "snap.h"
#include "dev.h"
#include "prof.h"
#ifdef HAVE_VAL
#include "val.h"
#endif

#define MAXR 16
#define MAXM 64

struct metric {
	char id[24];
	char what[80];
	char unit[8];
	char target[16];
	char chunk[24];
	double v[MAXR];		/* value per round */
	double ref[MAXR];	/* reference per round (0: none) */
	int n;
};

static struct metric metrics[MAXM];
static int nmetrics;
static int round_nr;

static struct metric *metric(const char *id, const char *what,
			     const char *unit, const char *target,
			     const char *chunk)
{
	int i;

	for (i = 0; i < nmetrics; i++)
		if (!strcmp(metrics[i].id, id))
			return &metrics[i];
	if (nmetrics == MAXM) {
		fprintf(stderr, "too many metrics\n");
		exit(1);
	}
	snprintf(metrics[i].id, sizeof(metrics[i].id), "%s", id);
	snprintf(metrics[i].what, sizeof(metrics[i].what), "%s", what);
	snprintf(metrics[i].unit, sizeof(metrics[i].unit), "%s", unit);
	snprintf(metrics[i].target, sizeof(metrics[i].target), "%s", target);
	snprintf(metrics[i].chunk, sizeof(metrics[i].chunk), "%s", chunk);
	nmetrics++;
	return &metrics[i];
}

/* Record value @v (and its reference @ref, or 0) for this round. */
static void rec(const char *id, const char *what, const char *unit,
		const char *target, const char *chunk, double v, double ref)
{
	struct metric *m = metric(id, what, unit, target, chunk);

	if (round_nr >= MAXR)
		return;
	m->v[round_nr] = v;
	m->ref[round_nr] = ref;
	if (m->n < round_nr + 1)
		m->n = round_nr + 1;
	fprintf(stderr, "# round %d %-10s %12.2f %-5s ref %12.2f ratio %.3f\n",
		round_nr + 1, id, v, unit, ref, ref > 0 ? v / ref : 0);
	fflush(stderr);
}

#define DIE(fmt, ...) do {						\
	fprintf(stderr, "bench: " fmt " (line %d)\n", ##__VA_ARGS__,	\
		__LINE__);						\
	exit(1);							\
} while (0)
#define CHECK(expr) do {						\
	long __r = (long)(expr);					\
	if (__r < 0)							\
		DIE("%s = %ld (%s)", #expr, __r, strerror((int)-__r));	\
} while (0)

static int threads = 4;
static size_t ops4k = 16384;
static uint64_t devsize, rsize, chunk;	/* bytes */
static char chunkstr[24];

static uint64_t dev_bytes(const char *path)
{
	uint64_t s = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &s))
		DIE("size of %s: %s", path, strerror(errno));
	close(fd);
	return s;
}

static const char *human(uint64_t b, char *buf, size_t len)
{
	if (b >= GIB && !(b % GIB))
		snprintf(buf, len, "%lluG", (unsigned long long)(b / GIB));
	else if (b >= MIB && !(b % MIB))
		snprintf(buf, len, "%lluM", (unsigned long long)(b / MIB));
	else
		snprintf(buf, len, "%lluK", (unsigned long long)(b / KIB));
	return buf;
}

/* The module's chunk size for a device (diff_area.c chunk_shift_for()). */
static uint64_t chunk_for(const char *path)
{
	long minsh = 18, maxsh = 26, maxcnt = 0;
	unsigned int io_min = 512;
	uint64_t cap = dev_bytes(path);
	unsigned int shift;
	int fd;

	param_read("chunk_minimum_shift", &minsh);
	param_read("chunk_maximum_shift", &maxsh);
	param_read("chunk_maximum_count", &maxcnt);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		ioctl(fd, BLKIOMIN, &io_min);
		close(fd);
	}
	shift = minsh < maxsh ? minsh : maxsh;
	if (shift < 12)
		shift = 12;
	while (shift < maxsh && ((maxcnt > 0 &&
				  (cap + (1ULL << shift) - 1) >> shift > (uint64_t)maxcnt) ||
				 (1U << shift) < io_min))
		shift++;
	return 1ULL << shift;
}

/* --- I/O helpers: each returns IOPS or MiB/s ------------------------- */

/* @passes sequential passes over [start, start + len) in 1 MiB I/Os */
static double seqn(const char *dev, int write, uint64_t start, uint64_t len,
		   int passes)
{
	struct io_res r;
	size_t n, i;
	uint64_t *o = offs_seq(start, len, MIB, &n);

	o = realloc(o, n * passes * sizeof(*o));
	if (!o)
		DIE("no memory");
	for (i = n; i < n * passes; i++)
		o[i] = o[i - n];
	CHECK(io_run(dev, write, MIB, o, n * passes, 1, &r));
	free(o);
	return r.mbs;
}

static int passes = 4;	/* for everything but first writes */

/* one pass: first writes, prefill */
static double seq1m_once(const char *dev, int write, uint64_t start,
			 uint64_t len)
{
	return seqn(dev, write, start, len, 1);
}

static double chunk4k(const char *dev, uint64_t start, uint64_t len,
		      uint64_t seed)
{
	struct io_res r;
	size_t n;
	uint64_t *o = offs_per_chunk(start, len, chunk, 4096, &n, seed);

	CHECK(io_run(dev, 1, 4096, o, n, threads, &r));
	free(o);
	return r.iops;
}

static void settle(void)
{
	sync();
	usleep(100000);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void image_path(int bfd, char *path, size_t len)
{
	struct blksnap_snapshotinfo info;

	CHECK(snap_info(bfd, &info));
	snprintf(path, len, "/dev/%s", (char *)info.image);
	CHECK(wait_for_node(path));
}

/* TAKE of a new snapshot of @bfd with storage @stor [0, @sectors). */
static double blksnap_take(int cfd, struct blksnap_uuid *id, int bfd,
			   const char *stor, uint64_t sectors)
{
	double t0;

	CHECK(snap_create(cfd, id));
	CHECK(snap_add(bfd, id));
	CHECK(snap_append_range(cfd, id, stor, 0, sectors));
	t0 = now_s();
	CHECK(snap_take(cfd, id));
	return (now_s() - t0) * 1000;
}

/* ------------------------------------------------------------------ */
/*
 * Interleaved measurement: the variants of one comparison run in slices,
 * A B C C B A A B C ..., each variant's time summed over its slices, so a
 * change of the host's load hits all of them alike.
 */
struct variant {
	const char *dev;
	int write;
	size_t bs;
	uint64_t *offs;
	size_t n;		/* I/Os in all */
	int thr;
	int emu;		/* user-space COW emulation instead of plain I/O */
	void (*pre)(void);	/* before each slice (not timed) */
	void (*post)(void);	/* after each slice (not timed) */
	size_t pos;
	double t;
};

static int slices = 6;

static double emu_run(const uint64_t *offs, size_t n, size_t wbs, int nthr);

static void run_slices(struct variant *v, int nv)
{
	int s, k;

	for (k = 0; k < nv; k++) {
		v[k].pos = 0;
		v[k].t = 0;
	}
	for (s = 0; s < slices; s++)
		for (k = 0; k < nv; k++) {
			struct variant *x = &v[s % 2 ? nv - 1 - k : k];
			size_t cnt = s == slices - 1 ? x->n - x->pos : x->n / slices;
			struct io_res r;

			if (!cnt)
				continue;
			if (x->pre)
				x->pre();
			if (x->emu) {
				x->t += cnt / emu_run(x->offs + x->pos, cnt,
						      x->bs, x->thr);
			} else {
				CHECK(io_run(x->dev, x->write, x->bs,
					     x->offs + x->pos, cnt, x->thr, &r));
				x->t += r.secs;
			}
			x->pos += cnt;
			if (x->post)
				x->post();
		}
}

static double iops(const struct variant *v)
{
	return v->n / v->t;
}

static double mibs(const struct variant *v)
{
	return v->n * (double)v->bs / MIB / v->t;
}

/* random 4k I/Os in [start, start + len) */
static struct variant v_rand(const char *dev, int write, uint64_t start,
			     uint64_t len, uint64_t seed)
{
	struct variant v = { .dev = dev, .write = write, .bs = 4096,
			     .n = ops4k, .thr = threads };

	v.offs = offs_random(start, len, 4096, ops4k, seed);
	return v;
}

/* @np sequential 1 MiB passes over [start, start + len) */
static struct variant v_seq(const char *dev, int write, uint64_t start,
			    uint64_t len, int np)
{
	struct variant v = { .dev = dev, .write = write, .bs = MIB, .thr = 1 };
	size_t n, i;

	v.offs = offs_seq(start, len, MIB, &n);
	v.offs = realloc(v.offs, n * np * sizeof(*v.offs));
	if (!v.offs)
		DIE("no memory");
	for (i = n; i < n * np; i++)
		v.offs[i] = v.offs[i - n];
	v.n = n * np;
	return v;
}

/* one 4k write in each chunk of [start, start + len), random order */
static struct variant v_chunk(const char *dev, uint64_t start, uint64_t len,
			      uint64_t seed)
{
	struct variant v = { .dev = dev, .write = 1, .bs = 4096,
			     .thr = threads };

	v.offs = offs_per_chunk(start, len, chunk, 4096, &v.n, seed);
	return v;
}

static void v_free(struct variant *v, int nv)
{
	while (nv--)
		free(v[nv].offs);
}

static void mod_unload(void)
{
	if (run("rmmod blksnap"))
		DIE("rmmod blksnap");
}

static void mod_load(void)
{
	if (run("insmod /ko/blksnap.ko"))
		DIE("insmod blksnap");
}

static void hook_cost(void)
{
	struct variant v[2] = {
		v_rand("/dev/ram2", 1, 0, rsize, 11),
		v_rand("/dev/ram2", 1, 0, rsize, 12),
	};

	v[1].pre = mod_unload;
	v[1].post = mod_load;
	run_slices(v, 2);
	rec("hook4", "module loaded, nothing attached: 4k randwrite vs unloaded",
	    "IOPS", "-", "-", iops(&v[0]), iops(&v[1]));
	v_free(v, 2);
}

static int ram0_fd = -1;

static void ram0_attach(void)
{
	CHECK(bf_attach(ram0_fd));
}

static void ram0_detach(void)
{
	CHECK(bf_detach(ram0_fd));
}

static void p1_cbt(void)
{
	struct variant v[2] = {
		v_rand("/dev/ram0", 1, 0, rsize, 3),
		v_rand("/dev/ram0", 1, 0, rsize, 4),
	};

	ram0_fd = open("/dev/ram0", O_RDWR);
	CHECK(ram0_fd);
	v[0].pre = ram0_attach;
	v[0].post = ram0_detach;
	run_slices(v, 2);
	rec("P1.CW4", "CBT only (attached) vs detached: 4k randwrite", "IOPS",
	    ">=0.98", chunkstr, iops(&v[0]), iops(&v[1]));
	v_free(v, 2);
	v[0] = v_seq("/dev/ram0", 1, 0, rsize, passes);
	v[1] = v_seq("/dev/ram0", 1, 0, rsize, passes);
	v[0].pre = ram0_attach;
	v[0].post = ram0_detach;
	run_slices(v, 2);
	rec("P1.CW1", "CBT only (attached) vs detached: 1M seqwrite", "MiB/s",
	    "-", chunkstr, mibs(&v[0]), mibs(&v[1]));
	v_free(v, 2);
	close(ram0_fd);
}

static void dm_linear(void)
{
	struct variant v[2];
	char path[64];

	CHECK(dm_create("bench_lin", "linear", devsize >> 9, "/dev/ram0 0",
			path, sizeof(path)));
	CHECK(wait_for_node(path));
	v[0] = v_rand(path, 1, 0, rsize, 3);
	v[1] = v_rand("/dev/ram0", 1, 0, rsize, 4);
	run_slices(v, 2);
	rec("LIN.W4", "dm-linear over the origin vs origin: 4k randwrite",
	    "IOPS", "-", "-", iops(&v[0]), iops(&v[1]));
	v_free(v, 2);
	v[0] = v_seq(path, 1, 0, rsize, passes);
	v[1] = v_seq("/dev/ram0", 1, 0, rsize, passes);
	run_slices(v, 2);
	rec("LIN.W1", "dm-linear over the origin vs origin: 1M seqwrite",
	    "MiB/s", "-", "-", mibs(&v[0]), mibs(&v[1]));
	v_free(v, 2);
	CHECK(dm_remove("bench_lin"));
}

static double emu4, emu1;	/* COW emulation, relative to raw */

static void p2_emu(void)
{
	struct variant v[2];

	v[0] = v_chunk("/dev/ram0", 0, rsize, 5 + round_nr);
	v[0].emu = 1;
	v[1] = v_rand("/dev/ram2", 1, 0, rsize, 7);
	run_slices(v, 2);
	emu4 = iops(&v[0]) / iops(&v[1]);
	rec("EMU.FW4", "user-space COW emulation (read chunk, write it, 4k write) vs raw",
	    "IOPS", "-", chunkstr, iops(&v[0]), iops(&v[1]));
	v_free(v, 2);
	v[0] = v_seq("/dev/ram0", 1, rsize, rsize, 1);
	v[0].emu = 1;
	v[1] = v_seq("/dev/ram2", 1, 0, rsize, 1);
	run_slices(v, 2);
	emu1 = mibs(&v[0]) / mibs(&v[1]);
	rec("EMU.FW1", "user-space COW emulation, 1M sequential vs raw",
	    "MiB/s", "-", chunkstr, mibs(&v[0]), mibs(&v[1]));
	v_free(v, 2);
}

/*
 * blksnap on ram0 (storage ram1) and dm-snapshot on ram4 (COW ram5), both
 * taken, then every workload interleaved three ways with the raw device.
 */
static void p2_snapshots(int cfd)
{
	char img[80], org[64], cow[64], params[128];
	struct blksnap_uuid id;
	struct variant v[4];
	double take, t0;
	int fd = open("/dev/ram0", O_RDWR);

	CHECK(fd);
	CHECK(bf_attach(fd));
	take = blksnap_take(cfd, &id, fd, "/dev/ram1", devsize >> 9);
	rec("P6.brd", "TAKE latency, idle brd origin", "ms", "<=50",
	    chunkstr, take, 0);
	image_path(fd, img, sizeof(img));
	snprintf(params, sizeof(params), "/dev/ram4 /dev/ram5 N %llu",
		 (unsigned long long)(chunk >> 9));
	t0 = now_s();
	CHECK(dm_create("bench_cow", "snapshot", devsize >> 9, params, cow,
			sizeof(cow)));
	CHECK(dm_create("bench_org", "snapshot-origin", devsize >> 9,
			"/dev/ram4", org, sizeof(org)));
	rec("P6.dm", "dm-snapshot N: create snapshot + origin (ioctl wall)",
	    "ms", "-", chunkstr, (now_s() - t0) * 1000, 0);
	CHECK(wait_for_node(org));
	CHECK(wait_for_node(cow));

	/* P2: first writes */
	v[0] = v_chunk("/dev/ram0", 0, rsize, 5 + round_nr);
	v[1] = v_chunk(org, 0, rsize, 5 + round_nr);
	v[2] = v_rand("/dev/ram2", 1, 0, rsize, 7);
	run_slices(v, 3);
	rec("P2.FW4", "blksnap first write (1 per chunk) 4k vs raw 4k randwrite",
	    "IOPS", "-", chunkstr, iops(&v[0]), iops(&v[2]));
	rec("DM.FW4", "dm-snapshot first write (1 per chunk) 4k vs raw",
	    "IOPS", "-", chunkstr, iops(&v[1]), iops(&v[2]));
	rec("P2.FW4dm", "blksnap vs dm-snapshot: first write 4k", "IOPS",
	    ">=2", chunkstr, iops(&v[0]), iops(&v[1]));
	rec("P2.FW4emu", "blksnap first write 4k vs user-space COW emulation",
	    "IOPS", "-", chunkstr, iops(&v[0]) / iops(&v[2]), emu4);
	v_free(v, 3);
	v[0] = v_seq("/dev/ram0", 1, rsize, rsize, 1);
	v[1] = v_seq(org, 1, rsize, rsize, 1);
	v[2] = v_seq("/dev/ram2", 1, 0, rsize, 1);
	run_slices(v, 3);
	rec("P2.FW1", "blksnap first write 1M seqwrite vs raw", "MiB/s", "-",
	    chunkstr, mibs(&v[0]), mibs(&v[2]));
	rec("DM.FW1", "dm-snapshot first write 1M seqwrite vs raw", "MiB/s",
	    "-", chunkstr, mibs(&v[1]), mibs(&v[2]));
	rec("P2.FW1dm", "blksnap vs dm-snapshot: first write 1M", "MiB/s",
	    ">=2", chunkstr, mibs(&v[0]), mibs(&v[1]));
	rec("P2.FW1emu", "blksnap first write 1M vs user-space COW emulation",
	    "MiB/s", "-", chunkstr, mibs(&v[0]) / mibs(&v[2]), emu1);
	v_free(v, 3);

	/* P3: rewrites of copied chunks (region A) */
	v[0] = v_rand("/dev/ram0", 1, 0, rsize, 9);
	v[1] = v_rand(org, 1, 0, rsize, 9);
	v[2] = v_rand("/dev/ram2", 1, 0, rsize, 9);
	run_slices(v, 3);
	rec("P3.RW4", "blksnap rewrite of copied chunks 4k randwrite vs raw",
	    "IOPS", ">=0.95", chunkstr, iops(&v[0]), iops(&v[2]));
	rec("DM.RW4", "dm-snapshot rewrite 4k randwrite vs raw", "IOPS", "-",
	    chunkstr, iops(&v[1]), iops(&v[2]));
	v_free(v, 3);
	v[0] = v_seq("/dev/ram0", 1, 0, rsize, passes);
	v[1] = v_seq(org, 1, 0, rsize, passes);
	v[2] = v_seq("/dev/ram2", 1, 0, rsize, passes);
	run_slices(v, 3);
	rec("P3.RW1", "blksnap rewrite of copied chunks 1M seqwrite vs raw",
	    "MiB/s", ">=0.95", chunkstr, mibs(&v[0]), mibs(&v[2]));
	rec("DM.RW1", "dm-snapshot rewrite 1M seqwrite vs raw", "MiB/s", "-",
	    chunkstr, mibs(&v[1]), mibs(&v[2]));
	v_free(v, 3);

	/* P4: image reads; C untouched, A copied */
	v[0] = v_seq(img, 0, 2 * rsize, rsize, passes);
	v[1] = v_seq(cow, 0, 2 * rsize, rsize, passes);
	v[2] = v_seq("/dev/ram0", 0, 2 * rsize, rsize, passes);
	run_slices(v, 3);
	rec("P4.SR1u", "blksnap image 1M seqread untouched vs origin read",
	    "MiB/s", ">=0.95", chunkstr, mibs(&v[0]), mibs(&v[2]));
	rec("DM.SR1u", "dm-snapshot 1M seqread untouched vs origin read",
	    "MiB/s", "-", chunkstr, mibs(&v[1]), mibs(&v[2]));
	v_free(v, 3);
	v[0] = v_seq(img, 0, 0, rsize, passes);
	v[1] = v_seq(cow, 0, 0, rsize, passes);
	v[2] = v_seq("/dev/ram1", 0, 0, rsize, passes);
	v[3] = v_seq("/dev/ram5", 0, 0, rsize, passes);
	run_slices(v, 4);
	rec("P4.SR1c", "blksnap image 1M seqread copied vs storage read",
	    "MiB/s", ">=0.90", chunkstr, mibs(&v[0]), mibs(&v[2]));
	rec("DM.SR1c", "dm-snapshot 1M seqread copied vs COW device read",
	    "MiB/s", "-", chunkstr, mibs(&v[1]), mibs(&v[3]));
	v_free(v, 4);

	CHECK(dm_remove("bench_org"));
	CHECK(dm_remove("bench_cow"));
	CHECK(snap_destroy(cfd, &id));
	CHECK(bf_detach(fd));
	close(fd);
}

/*
 * The same copy-on-write done from user space with O_DIRECT: for every
 * first write, read the chunk from ram0, write it to ram1, then do the
 * write.  A practical bound for a synchronous chunk copy on this machine.
 */
struct emu_job {
	const uint64_t *offs;
	size_t n, next;
	size_t wbs;		/* the write's size */
	uint64_t stor_next;	/* atomic */
	int err;
};

static void *emu_thread(void *arg)
{
	struct emu_job *j = arg;
	int ofd = open("/dev/ram0", O_RDWR | O_DIRECT);
	int sfd = open("/dev/ram1", O_RDWR | O_DIRECT);
	size_t cb = chunk > j->wbs ? chunk : j->wbs;
	void *cbuf = NULL, *wbuf = NULL;

	if (ofd < 0 || sfd < 0 || posix_memalign(&cbuf, 4096, cb) ||
	    posix_memalign(&wbuf, 4096, j->wbs)) {
		j->err = 1;
		return NULL;
	}
	memset(wbuf, 0x5a, j->wbs);
	for (;;) {
		size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
		uint64_t base, st;

		if (i >= j->n)
			break;
		base = j->offs[i] / cb * cb;
		st = __atomic_fetch_add(&j->stor_next, cb, __ATOMIC_RELAXED);
		if (pread(ofd, cbuf, cb, base) != (ssize_t)cb ||
		    pwrite(sfd, cbuf, cb, st % devsize) != (ssize_t)cb ||
		    pwrite(ofd, wbuf, j->wbs, j->offs[i]) != (ssize_t)j->wbs) {
			j->err = 1;
			break;
		}
	}
	close(ofd);
	close(sfd);
	free(cbuf);
	free(wbuf);
	return NULL;
}

static double emu_run(const uint64_t *offs, size_t n, size_t wbs, int nthr)
{
	struct emu_job j = { .offs = offs, .n = n, .wbs = wbs };
	pthread_t t[64];
	double t0 = now_s();
	int i;

	for (i = 0; i < nthr; i++)
		pthread_create(&t[i], NULL, emu_thread, &j);
	for (i = 0; i < nthr; i++)
		pthread_join(t[i], NULL);
	if (j.err)
		DIE("COW emulation failed");
	return n / (now_s() - t0);
}

static int have_nullb;

static void p5_petabyte(int cfd)
{
	struct blksnap_uuid id;
	long m0, m1, m2, m3, m4;
	char cs[24];
	double take, take2, t0, secs;
	int fd;

	if (!have_nullb)
		return;
	human(chunk_for("/dev/nullb0"), cs, sizeof(cs));
	fd = open("/dev/nullb0", O_RDWR);
	CHECK(fd);
	settle();
	m0 = kernel_mem_kib();
	CHECK(bf_attach(fd));
	settle();
	m1 = kernel_mem_kib();
	/* storage: 64 GiB of the second (data-less) null_blk device */
	take = blksnap_take(cfd, &id, fd, "/dev/nullb1", 64ULL << 21);
	settle();
	m2 = kernel_mem_kib();
	t0 = now_s();
	seq1m_once("/dev/nullb0", 1, 0, GIB);	/* 1 GiB of first writes */
	secs = now_s() - t0;
	settle();
	m3 = kernel_mem_kib();
	CHECK(snap_destroy(cfd, &id));
	/* a second TAKE on the same attachment: is the first one special? */
	settle();
	take2 = blksnap_take(cfd, &id, fd, "/dev/nullb1", 64ULL << 21);
	CHECK(snap_destroy(cfd, &id));
	CHECK(bf_detach(fd));
	close(fd);
	settle();
	m4 = kernel_mem_kib();
	rec("P5.attach", "1 PiB null_blk: kernel memory at attach (CBT)", "KiB",
	    "-", cs, m1 - m0, 0);
	rec("P5.take", "1 PiB null_blk: kernel memory at TAKE", "KiB", "-", cs,
	    m2 - m1, 0);
	rec("P5.perGiB", "1 PiB null_blk: growth per GiB of first writes",
	    "KiB", "-", cs, m3 - m2, 0);
	rec("P5.after", "1 PiB null_blk: left after destroy + detach", "KiB",
	    "-", cs, m4 - m0, 0);
	rec("P5.fw1", "1 PiB null_blk: 1 GiB first writes (1M seq)", "MiB/s",
	    "-", cs, 1024 / secs, 0);
	rec("P6.PiB", "TAKE latency, 1 PiB null_blk (first TAKE after attach)",
	    "ms", "<=50", cs, take, 0);
	rec("P6.PiB2", "TAKE latency, 1 PiB null_blk (second TAKE, same attach)",
	    "ms", "<=50", cs, take2, 0);
}

static pid_t start_writer(void)
{
	pid_t pid = fork();
	static char buf[256 * 1024];
	char p[64];
	int i, fd;

	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(buf, 0x3c, sizeof(buf));
	for (i = 0; ; i++) {
		snprintf(p, sizeof(p), "/tmp/bench_ext4/w%d", i % 16);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			_exit(1);
		for (int k = 0; k < 4; k++)
			if (write(fd, buf, sizeof(buf)) < 0)
				break;
		if (i % 2)
			fsync(fd);
		close(fd);
	}
}

static void p6_ext4(int cfd)
{
	struct blksnap_uuid id;
	double take;
	pid_t w;
	int fd;

	w = start_writer();
	usleep(300000);
	fd = open("/dev/ram3", O_RDWR);
	CHECK(fd);
	CHECK(bf_attach(fd));
	usleep(200000);
	take = blksnap_take(cfd, &id, fd, "/dev/ram1", devsize >> 9);
	usleep(200000);
	kill(w, SIGKILL);
	waitpid(w, NULL, 0);
	CHECK(snap_destroy(cfd, &id));
	CHECK(bf_detach(fd));
	close(fd);
	rec("P6.ext4", "TAKE latency, mounted ext4 under a writer", "ms",
	    "<=50", chunkstr, take, 0);
}

/* ------------------------------------------------------ module columns */
/*
 * Columns (issue 18): the same scenarios for dm-snapshot, Veeam's VAL-7.0
 * (when `make bench VAL_SRC=...` built it for this kernel) and blksnap, in
 * one boot, each a ratio to the raw device (ram2) without any snapshot
 * module loaded.  blksnap and VAL hook the same kernel function and
 * cannot be loaded together, so the columns run as phases: no module
 * (dm-snapshot), blksnap, VAL.  In every phase the subject and the raw
 * device run interleaved (run_slices()).  The first row of a module's
 * phase interleaves the raw device with the module loaded and unloaded
 * (the "module loaded, nothing attached" cost, h); the other 4 KiB rows
 * divide by the raw device of the same slices times 1/h, i.e. compare
 * with a raw device that pays no hook (1 MiB rows: one bio per MiB, the
 * hook's cost is below the noise; no correction) (VAL redirects every bio of the system
 * into its module, so its raw device is not a clean reference).
 *
 * Regions of the brd devices, a quarter each: A one 4k first write per
 * chunk, then 4k rewrites and image reads of copied chunks; B 1M
 * sequential first writes; D 4k random first writes; C never written
 * after TAKE (origin and image reads of untouched chunks).
 */
enum { COL_NONE, COL_BLKSNAP, COL_VAL, NCOL };
static const char *const col_name[NCOL] = { "dm-snapshot", "blksnap",
					    "VAL-7.0" };
static const char *const col_id[NCOL] = { "dm", "blksnap", "VAL" };

enum { S_HOOK, S_CBT4, S_CBT1, S_ORD4, S_IMG4U, S_IMG1U, S_IMG4C, S_IMG1C,
       S_FW4C, S_FW4R, S_FW1, S_RW4, S_TAKE, S_LIN4, S_LIN1, S_STR1, NSCEN };
static const char *const scen_what[NSCEN] = {
	"module loaded, nothing attached: 4k randwrite",
	"CBT only (attached): 4k randwrite",
	"CBT only (attached): 1M seqwrite",
	"origin 4k randread, snapshot held",
	"image 4k randread, untouched chunks",
	"image 1M seqread, untouched chunks",
	"image 4k randread, copied chunks",
	"image 1M seqread, copied chunks",
	"first write 4k, one per chunk",
	"first write 4k random",
	"first write 1M sequential",
	"rewrite of copied chunks, 4k",
	"TAKE ioctl (ms)",
	"dm-linear floor: 4k randread",
	"dm-linear floor: 1M seqread",
	"dm-striped floor (4 x chunk): 1M seqread",
};
static const char *const scen_id[NSCEN] = {
	"hook4", "cbt4", "cbt1", "ord4", "img4u", "img1u", "img4c", "img1c",
	"fw4c", "fw4r", "fw1", "rw4", "take", "lin4", "lin1", "str1",
};

/* Raw device loaded vs not loaded, per column (1 without a module). */
static double col_hook[NCOL];
static size_t col_ops = 8192;
static uint64_t cq;	/* region size */

/*
 * Run @subj interleaved with the raw device doing the same kind of I/O;
 * record it in column @col against the raw device of the same slices,
 * corrected by the column's hook cost (see above).
 */
static void col_run(int col, int s, struct variant subj, struct variant raw)
{
	struct variant v[2] = { subj, raw };
	double rate, rrate;
	char id[24], what[80];

	run_slices(v, 2);
	rrate = v[1].bs == MIB ? mibs(&v[1]) : iops(&v[1]);
	rate = v[0].bs == MIB ? mibs(&v[0]) : iops(&v[0]);
	snprintf(id, sizeof(id), "C.%s.%s", scen_id[s], col_id[col]);
	if (s >= S_LIN4)
		snprintf(what, sizeof(what), "%s vs raw", scen_what[s]);
	else
		snprintf(what, sizeof(what), "%s: %s vs raw", col_name[col],
			 scen_what[s]);
	/* the hook costs per bio: only the 4k rows pay it noticeably */
	rec(id, what, v[0].bs == MIB ? "MiB/s" : "IOPS", "-", chunkstr, rate,
	    v[0].bs == MIB ? rrate : rrate / col_hook[col]);
	v_free(v, 2);
}

static void col_unload(void)
{
#ifdef HAVE_VAL
	if (!access("/sys/module/veeamblksnap", F_OK)) {
		val_close();
		if (run("rmmod veeamblksnap && rmmod bdevfilter"))
			DIE("rmmod VAL");
		return;
	}
#endif
	mod_unload();
}

static void col_load_val(void)
{
#ifdef HAVE_VAL
	if (run("insmod /ko/bdevfilter.ko && insmod /ko/veeamblksnap.ko") ||
	    val_open())
		DIE("insmod VAL");
#endif
}

static struct variant v_randn(const char *dev, int write, uint64_t start,
			      uint64_t len, size_t n, uint64_t seed)
{
	struct variant v = { .dev = dev, .write = write, .bs = 4096, .n = n,
			     .thr = threads };

	v.offs = offs_random(start, len, 4096, n, seed);
	return v;
}

static void col_take(int col, double ms)
{
	char id[24], what[80];

	snprintf(id, sizeof(id), "C.take.%s", col_id[col]);
	snprintf(what, sizeof(what), "%s: %s", col_name[col], scen_what[S_TAKE]);
	rec(id, what, "ms", "-", chunkstr, ms, 0);
}

/*
 * The scenarios with a snapshot of @org (image @img) held, in column @col.
 * The caller has taken it; @col COL_NONE is dm-snapshot.
 */
static void col_snapshot(int col, const char *org, const char *img)
{
	uint64_t A = 0, B = cq, D = 2 * cq, C = 3 * cq;
	struct variant v;

	v = v_randn(org, 0, C, cq, col_ops, 21);
	col_run(col, S_ORD4, v, v_randn("/dev/ram2", 0, C, cq, col_ops, 21));
	v = v_randn(img, 0, C, cq, col_ops, 22);
	col_run(col, S_IMG4U, v, v_randn("/dev/ram2", 0, C, cq, col_ops, 22));
	v = v_seq(img, 0, C, cq, 1);
	col_run(col, S_IMG1U, v, v_seq("/dev/ram2", 0, C, cq, 1));
	v = v_chunk(org, A, cq, 23);
	col_run(col, S_FW4C, v, v_randn("/dev/ram2", 1, A, cq, v.n, 23));
	v = v_randn(org, 1, D, cq, col_ops, 24);
	col_run(col, S_FW4R, v, v_randn("/dev/ram2", 1, D, cq, col_ops, 24));
	v = v_seq(org, 1, B, cq, 1);
	col_run(col, S_FW1, v, v_seq("/dev/ram2", 1, B, cq, 1));
	v = v_randn(org, 1, A, cq, col_ops, 25);
	col_run(col, S_RW4, v, v_randn("/dev/ram2", 1, A, cq, col_ops, 25));
	v = v_randn(img, 0, A, cq, col_ops, 26);
	col_run(col, S_IMG4C, v, v_randn("/dev/ram2", 0, A, cq, col_ops, 26));
	v = v_seq(img, 0, A, cq, 1);
	col_run(col, S_IMG1C, v, v_seq("/dev/ram2", 0, A, cq, 1));
}

/*
 * The stacking floor of the image rows: dm-linear over the origin (no
 * module loaded), the image's read scenarios of region C against the raw
 * device, interleaved the same way.  A bio-based remapping layer (one
 * clone per bio, sent down to brd) costs this much under icount whatever
 * it does besides; the image rows cannot beat it.
 */
static void col_floor(void)
{
	unsigned long long q = devsize / 4 >> 9;	/* sectors */
	uint64_t C = 3 * cq;
	char path[64], params[160];
	struct variant v;

	CHECK(dm_create("bench_cfloor", "linear", devsize >> 9, "/dev/ram0 0",
			path, sizeof(path)));
	CHECK(wait_for_node(path));
	settle();
	v = v_randn(path, 0, C, cq, col_ops, 22);
	col_run(COL_NONE, S_LIN4, v,
		v_randn("/dev/ram2", 0, C, cq, col_ops, 22));
	v = v_seq(path, 0, C, cq, 1);
	col_run(COL_NONE, S_LIN1, v, v_seq("/dev/ram2", 0, C, cq, 1));
	CHECK(dm_remove("bench_cfloor"));
	/*
	 * 1 MiB reads of copied chunks stored apart: a bio per chunk.  Its
	 * floor: dm-striped, four stripes of a chunk over four quarters of
	 * the origin, which cuts a 1 MiB read into four clones as well.
	 */
	snprintf(params, sizeof(params), "4 %llu /dev/ram0 0 /dev/ram0 %llu /dev/ram0 %llu /dev/ram0 %llu",
		 (unsigned long long)(chunk >> 9), q, 2 * q, 3 * q);
	CHECK(dm_create("bench_cstripe", "striped", devsize >> 9, params,
			path, sizeof(path)));
	CHECK(wait_for_node(path));
	settle();
	v = v_seq(path, 0, C, cq, 1);
	col_run(COL_NONE, S_STR1, v, v_seq("/dev/ram2", 0, C, cq, 1));
	CHECK(dm_remove("bench_cstripe"));
}

/* Scenarios without a snapshot, then with one; @col's module is loaded. */
static void col_phase(int col)
{
	int cfd = -1;
	char img[80], org[64], params[128];
	struct blksnap_uuid id;
	unsigned char vid[16];
	double take = 0, seq;
	int fd = -1;

	col_hook[col] = 1;
	if (col != COL_NONE) {
		/* the hook's cost: the raw device, module loaded vs not */
		struct variant h[2] = {
			v_randn("/dev/ram2", 1, 0, devsize, col_ops, 20),
			v_randn("/dev/ram2", 1, 0, devsize, col_ops, 20),
		};
		char id2[24], what[80];

		h[1].pre = col_unload;
		h[1].post = col == COL_VAL ? col_load_val : mod_load;
		run_slices(h, 2);
		col_hook[col] = iops(&h[0]) / iops(&h[1]);
		snprintf(id2, sizeof(id2), "C.hook4.%s", col_id[col]);
		snprintf(what, sizeof(what), "%s: %s vs not loaded",
			 col_name[col], scen_what[S_HOOK]);
		rec(id2, what, "IOPS", "-", "-", iops(&h[0]), iops(&h[1]));
		v_free(h, 2);
	}
	if (col == COL_BLKSNAP) {
		/* opened after the unloads above: it pins the module */
		cfd = ctl_open();
		CHECK(cfd);
		fd = open("/dev/ram0", O_RDWR);
		CHECK(fd);
		CHECK(bf_attach(fd));
	}
#ifdef HAVE_VAL
	if (col == COL_VAL)
		CHECK(val_attach("/dev/ram0"));
#endif
	if (col != COL_NONE) {
		col_run(col, S_CBT4, v_randn("/dev/ram0", 1, 0, devsize, col_ops, 27),
			v_randn("/dev/ram2", 1, 0, devsize, col_ops, 27));
		col_run(col, S_CBT1, v_seq("/dev/ram0", 1, 0, 2 * cq, 1),
			v_seq("/dev/ram2", 1, 0, 2 * cq, 1));
	}
	switch (col) {
	case COL_NONE:
		snprintf(params, sizeof(params), "/dev/ram4 /dev/ram5 N %llu",
			 (unsigned long long)(chunk >> 9));
		seq = now_s();
		CHECK(dm_create("bench_ccow", "snapshot", devsize >> 9, params,
				img, sizeof(img)));
		CHECK(dm_create("bench_corg", "snapshot-origin", devsize >> 9,
				"/dev/ram4", org, sizeof(org)));
		take = (now_s() - seq) * 1000;
		CHECK(wait_for_node(org));
		CHECK(wait_for_node(img));
		col_take(col, take);
		col_snapshot(col, org, img);
		CHECK(dm_remove("bench_corg"));
		CHECK(dm_remove("bench_ccow"));
		col_floor();
		break;
	case COL_BLKSNAP:
		take = blksnap_take(cfd, &id, fd, "/dev/ram1", devsize >> 9);
		col_take(col, take);
		image_path(fd, img, sizeof(img));
		col_snapshot(col, "/dev/ram0", img);
		CHECK(snap_destroy(cfd, &id));
		CHECK(bf_detach(fd));
		close(fd);
		close(cfd);
		break;
#ifdef HAVE_VAL
	case COL_VAL: {
		int err = 0;

		CHECK(val_take("/dev/ram0", "/dev/ram1", devsize >> 9, vid,
			       &take, &seq));
		col_take(col, take);
		CHECK(val_state("/dev/ram0", &err, img, sizeof(img)));
		CHECK(wait_for_node(img));
		col_snapshot(col, "/dev/ram0", img);
		CHECK(val_state("/dev/ram0", &err, img, sizeof(img)));
		if (err)
			printf("# VAL's snapshot reports error %d\n", err);
		CHECK(val_destroy(vid));
		CHECK(val_detach("/dev/ram0"));
		break;
	}
#endif
	}
	(void)vid;
}

static void columns(int rounds)
{
	int have_val = 0, saved = round_nr, r, s, c;

#ifdef HAVE_VAL
	have_val = !access("/ko/veeamblksnap.ko", R_OK);
#endif
	cq = devsize / 4 / chunk * chunk;
	printf("# columns: %d rounds, %zu 4k I/Os per variant, regions %llu MiB, VAL %s\n",
	       rounds, col_ops, (unsigned long long)(cq / MIB),
	       have_val ? "present" :
	       "absent (VAL_SRC not given, or VAL does not build for this kernel)");
	for (r = 0; r < rounds; r++) {
		round_nr = r;
		mod_unload();
		col_phase(COL_NONE);
		mod_load();
		col_phase(COL_BLKSNAP);
#ifdef HAVE_VAL
		if (have_val) {
			mod_unload();
			if (run("insmod /ko/bdevfilter.ko && insmod /ko/veeamblksnap.ko") ||
			    val_open()) {
				printf("# VAL could not be loaded\n");
				have_val = 0;
			} else {
				col_phase(COL_VAL);
				col_unload();
			}
			mod_load();
		}
#endif
	}
	/* the readable table: median ratio to the raw device */
	printf("T|\nT|columns: ratio to the raw device (no module loaded), median of %d rounds; TAKE in ms\n",
	       rounds);
	printf("T|%-46s %12s %12s %12s\n", "scenario", "dm-snapshot",
	       "VAL-7.0", "blksnap");
	for (s = 0; s < NSCEN; s++) {
		static const int order[NCOL] = { COL_NONE, COL_VAL, COL_BLKSNAP };

		if (s == S_LIN4)
			printf("T|stacked-driver floors of the image rows: dm over the origin, no module loaded\n");
		printf("T|%-46s", scen_what[s]);
		for (c = 0; c < NCOL; c++) {
			char id[24];
			struct metric *m = NULL;
			double x[MAXR];
			int i, k;

			snprintf(id, sizeof(id), "C.%s.%s", scen_id[s],
				 col_id[order[c]]);
			for (i = 0; i < nmetrics; i++)
				if (!strcmp(metrics[i].id, id))
					m = &metrics[i];
			if (!m) {
				printf(" %12s", order[c] == COL_VAL && !have_val ?
				       "n/a" : "-");
				continue;
			}
			for (k = 0; k < m->n; k++)
				x[k] = m->ref[k] > 0 ? m->v[k] / m->ref[k] : m->v[k];
			printf(s == S_TAKE ? " %12.2f" : " %12.3f", median(x, m->n));
		}
		printf("\n");
	}
	round_nr = saved;
}

/* ---------------------------------------------------------- profiles */

static const char *const cow_funcs[] = {
	"blkdev_write_iter", "bf_submit_bio_noacct", "tracker_submit_bio",
	"diff_area_cow", "diff_area_copy_chunk", "chunk_io",
	"diff_storage_alloc",
	"submit_bio_wait", "brd_submit_bio", "alloc_pages",
	"alloc_pages_noprof", "__free_pages", "kvmalloc_node",
	"__kvmalloc_node_noprof", "kvfree", "bio_alloc_bioset", "xa_store",
	"cbt_map_mark", "rwsem_down_write_slowpath", "__down",
	"blkfilter_defer_bio", NULL
};

static const char *const cbt_funcs[] = {
	"blkdev_write_iter", "bf_submit_bio_noacct", "tracker_submit_bio",
	"cbt_map_mark", "brd_submit_bio", NULL
};

static const char *const img_funcs[] = {
	"blkdev_read_iter", "image_submit_bio", "image_read",
	"image_read_piece", "image_read_endio", "image_work_fn",
	"image_bio_do", "image_piece_io", "submit_bio_wait", "brd_submit_bio",
	"bio_alloc_clone", "rwsem_down_read_slowpath",
	"image_map_chunk", "image_clone_endio", "image_remap_endio",
	"diff_area_find_chunk", "bio_split", "bio_put", "bio_associate_blkg",
	"submit_bio_noacct", "bio_endio", NULL
};

static const char *const take_funcs[] = {
	"snapshot_take", "take_prepare", "take_freeze_fs", "take_switch",
	"diff_area_create",
	"bdev_freeze", "freeze_bdev", "sync_blockdev", "freeze_super",
	"blkfilter_freeze", "percpu_ref_kill_and_confirm",
	"wait_for_completion", "cbt_map_switch", "blkfilter_unfreeze",
	"bdev_thaw", "thaw_bdev", "thaw_super", "snapshot_thaw",
	"image_create", "device_add_disk", "add_disk_fwnode",
	"blksnap_alloc_disk", "__blk_alloc_disk", "synchronize_rcu",
	"blk_mq_freeze_queue", "sync_filesystem", NULL
};

static void profiles(int cfd)
{
	struct blksnap_uuid id;
	char img[80];
	double v, take;
	pid_t w;
	int fd;

	printf("# profiles: function_graph over a traced set, every call timed (slows them)\n");
	fd = open("/dev/ram0", O_RDWR);
	CHECK(fd);
	CHECK(bf_attach(fd));
	/* CBT only: the filter's own share of a 4k write */
	if (prof_begin(cbt_funcs) < 0) {
		printf("# function_graph tracer not available: no profiles\n");
		CHECK(bf_detach(fd));
		close(fd);
		return;
	}
	{
		uint64_t *o = offs_random(0, rsize, 4096, 8192, 3);
		struct io_res r;

		CHECK(io_run("/dev/ram0", 1, 4096, o, 8192, threads, &r));
		free(o);
		prof_end("CW4");
		printf("# profile CW4 ran at %.0f IOPS traced\n", r.iops);
	}
	blksnap_take(cfd, &id, fd, "/dev/ram1", devsize >> 9);
	prof_begin(cow_funcs);
	v = chunk4k("/dev/ram0", 0, rsize, 77);
	prof_end("FW4");
	printf("# profile FW4 ran at %.0f IOPS traced\n", v);
	prof_begin(cow_funcs);
	v = seq1m_once("/dev/ram0", 1, rsize, rsize);
	prof_end("FW1");
	printf("# profile FW1 ran at %.0f MiB/s traced\n", v);
	image_path(fd, img, sizeof(img));
	prof_begin(img_funcs);
	v = seq1m_once(img, 0, 2 * rsize, rsize);
	prof_end("SR1u");
	printf("# profile SR1u ran at %.0f MiB/s traced\n", v);
	prof_begin(img_funcs);
	v = seq1m_once(img, 0, 0, rsize);
	prof_end("SR1c");
	printf("# profile SR1c ran at %.0f MiB/s traced\n", v);
	{
		/* 4k random image reads: untouched (C), copied (A, by FW4) */
		uint64_t *o = offs_random(2 * rsize, rsize, 4096, 8192, 5);
		struct io_res r;

		prof_begin(img_funcs);
		CHECK(io_run(img, 0, 4096, o, 8192, threads, &r));
		prof_end("IR4u");
		printf("# profile IR4u ran at %.0f IOPS traced\n", r.iops);
		free(o);
		o = offs_random(0, rsize, 4096, 8192, 6);
		prof_begin(img_funcs);
		CHECK(io_run(img, 0, 4096, o, 8192, threads, &r));
		prof_end("IR4c");
		printf("# profile IR4c ran at %.0f IOPS traced\n", r.iops);
		free(o);
	}
	CHECK(snap_destroy(cfd, &id));
	CHECK(bf_detach(fd));
	/*
	 * TAKE: tracing starts before the attach, so that whatever enabling
	 * the tracer does (text patching) is long over when TAKE runs.
	 */
	prof_begin_ex(take_funcs, 1);
	CHECK(bf_attach(fd));
	settle();
	take = blksnap_take(cfd, &id, fd, "/dev/ram1", devsize >> 9);
	prof_end("TAKE.brd");
	printf("# profile TAKE.brd %.1f ms traced\n", take);
	CHECK(snap_destroy(cfd, &id));
	CHECK(bf_detach(fd));
	close(fd);
	if (have_nullb) {
		fd = open("/dev/nullb0", O_RDWR);
		CHECK(fd);
		prof_begin_ex(take_funcs, 1);
		CHECK(bf_attach(fd));
		settle();
		take = blksnap_take(cfd, &id, fd, "/dev/nullb1", 64ULL << 21);
		prof_end("TAKE.PiB");
		printf("# profile TAKE.PiB %.1f ms traced\n", take);
		CHECK(snap_destroy(cfd, &id));
		CHECK(bf_detach(fd));
		close(fd);
	}
	prof_begin_ex(take_funcs, 1);
	w = start_writer();
	usleep(300000);
	fd = open("/dev/ram3", O_RDWR);
	CHECK(fd);
	CHECK(bf_attach(fd));
	usleep(200000);
	take = blksnap_take(cfd, &id, fd, "/dev/ram1", devsize >> 9);
	prof_end("TAKE.ext4");
	printf("# profile TAKE.ext4 %.1f ms traced\n", take);
	kill(w, SIGKILL);
	waitpid(w, NULL, 0);
	CHECK(snap_destroy(cfd, &id));
	CHECK(bf_detach(fd));
	close(fd);
}

static void report(void)
{
	struct utsname u;
	int i;

	uname(&u);
	printf("\nblksnap bench, kernel %s, %d rounds, %d threads for 4k, brd %llu MiB, regions %llu MiB, chunk %s\n",
	       u.release, round_nr, threads,
	       (unsigned long long)(devsize / MIB),
	       (unsigned long long)(rsize / MIB), chunkstr);
	printf("%-10s %-62s %10s %-5s %10s %7s %13s %7s %-4s %s\n", "id",
	       "scenario", "median", "unit", "ref", "ratio", "ratio range",
	       "target", "ok", "chunk");
	for (i = 0; i < nmetrics; i++) {
		struct metric *m = &metrics[i];
		double r[MAXR], lo = INFINITY, hi = -INFINITY;
		double v = median(m->v, m->n), ref = median(m->ref, m->n);
		double ratio = NAN, lim;
		char verdict[8] = "-";
		int k;

		if (ref > 0) {
			for (k = 0; k < m->n; k++) {
				r[k] = m->ref[k] > 0 ? m->v[k] / m->ref[k] : NAN;
				lo = fmin(lo, r[k]);
				hi = fmax(hi, r[k]);
			}
			ratio = median(r, m->n);
		}
		if (sscanf(m->target, ">=%lf", &lim) == 1)
			snprintf(verdict, sizeof(verdict), "%s",
				 ratio >= lim ? "yes" : "NO");
		else if (sscanf(m->target, "<=%lf", &lim) == 1)
			snprintf(verdict, sizeof(verdict), "%s",
				 v <= lim ? "yes" : "NO");
		printf("BENCH|%s|%s|%.2f|%s|%.2f|%.3f|%.3f..%.3f|%s|%s|%s|%s\n",
		       m->id, m->what, v, m->unit, ref > 0 ? ref : 0,
		       ref > 0 ? ratio : 0, ref > 0 ? lo : 0, ref > 0 ? hi : 0,
		       m->target, verdict, m->chunk, u.release);
	}
}

static long envl(const char *name, long def)
{
	const char *s = getenv(name);

	return s && *s ? atol(s) : def;
}

int main(void)
{
	long mib = envl("BENCH_MIB", 384), rounds = envl("BENCH_ROUNDS", 7);
	long minsh = 0, maxsh = 0, maxcnt = 0, inq = 0;
	double t0 = now_s();
	char cmd[160];
	int cfd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	threads = envl("BENCH_THREADS", 4);
	ops4k = envl("BENCH_OPS", 32768);
	passes = envl("BENCH_PASSES", 4);
	slices = envl("BENCH_SLICES", 6);
	if (rounds > MAXR)
		rounds = MAXR;
	mib -= mib % 3;
	CHECK(brd_ensure(6, mib));
	devsize = dev_bytes("/dev/ram0");
	chunk = chunk_for("/dev/ram0");
	human(chunk, chunkstr, sizeof(chunkstr));
	rsize = devsize / 3 / chunk * chunk;
	param_read("chunk_minimum_shift", &minsh);
	param_read("chunk_maximum_shift", &maxsh);
	param_read("chunk_maximum_count", &maxcnt);
	param_read("chunk_maximum_in_queue", &inq);
	printf("# params: chunk_minimum_shift=%ld chunk_maximum_shift=%ld chunk_maximum_count=%ld chunk_maximum_in_queue=%ld; chunk on ram0 %s\n",
	       minsh, maxsh, maxcnt, inq, chunkstr);
	/* prefill: every brd page allocated before anything is measured */
	printf("# prefill %llu MiB x5: ram0 %.0f MiB/s\n",
	       (unsigned long long)(devsize / MIB),
	       seq1m_once("/dev/ram0", 1, 0, devsize));
	seq1m_once("/dev/ram1", 1, 0, devsize);
	seq1m_once("/dev/ram2", 1, 0, devsize);
	seq1m_once("/dev/ram4", 1, 0, devsize);
	seq1m_once("/dev/ram5", 1, 0, devsize);
	if (run("insmod /lib/modules/dm-bufio.ko 2>/dev/null; insmod /lib/modules/dm-snapshot.ko"))
		printf("# dm-snapshot not loadable\n");
	snprintf(cmd, sizeof(cmd),
		 "insmod /lib/modules/null_blk.ko nr_devices=2 gb=1048576 memory_backed=0");
	have_nullb = !getenv("BENCH_SKIP_P5") && !run(cmd) &&
		     !wait_for_node("/dev/nullb1");
	if (run("/usr/sbin/mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 /dev/ram3 > /dev/null"))
		DIE("mkfs.ext4");
	mkdir("/tmp/bench_ext4", 0755);
	if (mount("/dev/ram3", "/tmp/bench_ext4", "ext4", 0, NULL))
		DIE("mount ext4: %s", strerror(errno));
	printf("# setup done in %.1f s\n", now_s() - t0);

	for (round_nr = 0; round_nr < rounds; round_nr++) {
		double tr = now_s();

		hook_cost();
		cfd = ctl_open();
		CHECK(cfd);
		p1_cbt();
		dm_linear();
		p2_emu();
		p2_snapshots(cfd);
		p5_petabyte(cfd);
		p6_ext4(cfd);
		close(cfd);
		printf("# round %d done in %.1f s\n", round_nr + 1,
		       now_s() - tr);
	}
	col_ops = envl("BENCH_COL_OPS", col_ops);
	if (envl("BENCH_COLUMNS", 1))
		columns(envl("BENCH_COLUMNS", 1));
	if (envl("BENCH_PROFILE", 1)) {
		cfd = ctl_open();
		CHECK(cfd);
		profiles(cfd);
		close(cfd);
	}
	umount("/tmp/bench_ext4");
	if (have_nullb)
		run("rmmod null_blk");
	report();
	printf("# bench total %.1f s\n", now_s() - t0);
	return 0;
}
