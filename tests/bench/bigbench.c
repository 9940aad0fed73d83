// SPDX-License-Identifier: GPL-2.0
/*
 * bigbench: snapshots and CBT of big devices (issue 19), in the test guest
 * (`make bench TESTS=bigbench`, part of the default `make bench`).
 *
 * Origin: a data-less null_blk (memory_backed=0) of 16 TiB, then of 1 PiB;
 * difference storage: another one of 16 TiB.  For each size, variants:
 *   raw      the device without a snapshot (the reference)
 *   blksnap  a snapshot with the module's defaults (256 KiB chunks)
 *   v3chunk  blksnap with chunk_maximum_count=2097152 (v3's rule: the chunk
 *            grows with the device; the module's default before issue 19)
 *   VAL      Veeam's VAL-7.0 (bdevfilter.ko + veeamblksnap.ko in /ko/, built
 *            by scripts/bench.sh when VAL_SRC is given; 6.1 only)
 * Measured per variant: CREATE..TAKE and the TAKE ioctl, kernel memory
 * (Slab + VmallocUsed) at attach and after TAKE, 4 KiB random first writes
 * over the whole device (each lands in a new chunk; iodepth 1), kernel
 * memory per copied chunk after them, 1 MiB sequential first writes.
 * blksnap and VAL hook the same kernel function: blksnap's variants run
 * first (rounds interleaved raw, blksnap, v3chunk), then blksnap is
 * unloaded and VAL's run (rounds interleaved raw, VAL); under -icount the
 * guest's time is instruction time, so the order does not reach the
 * figures.
 *
 * CBT (blksnap, and VAL's block size): block size and map memory on 4 TiB,
 * 16 TiB and 1 PiB for tracking_block_maximum_count = 2^21 (default), 2^24,
 * 2^26; and on 16 TiB the bytes an incremental backup copies after 1,000
 * random 4 KiB writes (changed blocks x block size).
 *
 * "full": then BENCH_BIG_FULL (409,600: 100 GiB of 256 KiB chunks) random
 * 4 KiB first writes (or 20 s) with blksnap and VAL, for the memory their chunk
 * metadata takes when the storage is full of scattered chunks.
 *
 * Env: BENCH_BIG_OPS (2000 random first writes, at most BENCH_BIG_SECS
 *      (10) s), BENCH_BIG_SEQ_MIB (256, same time cap), BENCH_BIG_ROUNDS (2),
 *      BENCH_BIG_FULL (409600; 0: no full run), BENCH_BIG_FULL_SECS (20:
 *      at most that long).
 * Output: "BENCH|..." lines as bench.c's, and a table.
 */
#define _GNU_SOURCE
#include <math.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include "iobench.h"
#include "snap.h"
#include "dev.h"
#include "prof.h"
#ifdef HAVE_VAL
#include "val.h"
#endif

#define TIB (1024ULL * GIB)
#define NV 4
#define NS 2
#define MAXR 8

enum { V_RAW, V_BLKSNAP, V_V3, V_VAL };
static const char *const vname[NV] = { "raw", "blksnap", "v3chunk", "VAL" };
static const uint64_t sizes[NS] = { 16 * TIB, 1024 * TIB };
static const char *const sname[NS] = { "16T", "1P" };

enum { M_SEQ, M_TAKE, M_ATTACH, M_MTAKE, M_FW4, M_PERCHUNK, M_FW1, NM };
static const char *const mname[NM] = {
	"CREATE..TAKE (ms)", "TAKE ioctl (ms)", "memory at attach (KiB)",
	"memory after TAKE (KiB)", "4k random first writes (IOPS)",
	"memory per copied chunk (B)", "1M seq first writes (MiB/s)",
};
static const char *const mid[NM] = {
	"seq", "take", "attach", "mtake", "fw4", "perchunk", "fw1",
};

static double val_[NS][NV][NM][MAXR];
static int nval[NS][NV];
static char chunkstr[NS][NV][24];
static long ops = 2000, secs = 10, seqmib = 256, rounds = 2;
/* the "full storage" run: chunks copied, KiB of memory for them, IOPS */
static long full_ops = 409600, full_secs = 20;
static double full_n[NS][NV], full_kib[NS][NV], full_iops[NS][NV];
/* BENCH_BIG_PROF=1: profile the first round's 4 KiB first writes */
static long prof;

/* TAKE, wall time (its waits are the point) */
static const char *const take_funcs[] = {
	"snapshot_take", "take_prepare", "blkfilter_prepare_freeze",
	"diff_area_create", "take_freeze_fs", "tracker_cbt_prepare",
	"cbt_map_switch_prepare", "blkfilter_freeze_set", "tracker_cbt_switch",
	"cbt_map_switch", "image_create", "device_add_disk",
	"tracker_cbt_finish", "cbt_map_switch_finish", "blkfilter_unfreeze",
	"synchronize_rcu", "synchronize_rcu_expedited", "flush_work",
	"vzalloc", "vfree", "__vmalloc_node_range", "cbt_map_catch_up_work",
	"bf_ref_switch_to_atomic_sync", "schedule", NULL
};

/* the writer's path and the copy-on-write of blksnap and of VAL-7.0 */
static const char *const fw4_funcs[] = {
	"__x64_sys_pwrite64", "process_one_work", "schedule",
	"submit_bio_noacct", "blk_mq_submit_bio", "submit_bio_wait",
	"bio_alloc_bioset", "xa_store", "xa_insert", "__xa_insert",
	"kmalloc_trace", "__kmalloc", "kfree", "cbt_map_mark",
	"bf_submit_bio_noacct", "tracker_submit_bio", "diff_area_cow",
	"diff_area_cow_needed", "diff_area_copy_chunk", "chunk_io",
	"diff_storage_alloc", "cow_buf_get", "cow_buf_put",
	"chunk_store_submit", "chunk_store_finish", "diff_area_writer_mark",
	"diff_area_writer_unmark", "diff_area_task_in_cow",
	"diff_area_cow_process_bio", "chunk_load_and_postpone_io",
	"chunk_load_and_postpone_io_finish", "notify_load_and_postpone_io",
	"chunk_schedule_storing", "chunk_store_tobdev",
	"chunk_notify_store_tobdev", "diff_buffer_take",
	"diff_buffer_release", "chunk_alloc", "diff_storage_get_store",
	"resubmit_filtered_bio", "cbt_map_set", "cbt_map_set_both",
	"diff_area_store_queue_work", "tracker_submit_bio_cb", NULL
};

#define DIE(fmt, ...) do {						\
	fprintf(stdout, "bigbench: " fmt " (line %d)\n", ##__VA_ARGS__,	\
		__LINE__);						\
	exit(1);							\
} while (0)
#define CHECK(expr) do {						\
	long __r = (long)(expr);					\
	if (__r < 0)							\
		DIE("%s = %ld (%s)", #expr, __r, strerror((int)-__r));	\
} while (0)

static long envl(const char *name, long def)
{
	const char *s = getenv(name);

	return s && *s ? atol(s) : def;
}

static inline int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long mem_settled(void)
{
	sync();
	usleep(100000);
	return kernel_mem_kib();
}

static void *abuf(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len))
		DIE("no memory");
	memset(p, 0x5a, len);
	return p;
}

/* 4 KiB random writes over the whole device, iodepth 1: IOPS; *@done. */
static double fw4(const char *dev, uint64_t size, uint64_t seed, long *done)
{
	void *b = abuf(4096);
	int fd = open(dev, O_RDWR | O_DIRECT);
	double t0 = now_s(), t = 0;
	long i;

	CHECK(fd);
	seed = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (i = 0; i < ops; i++) {
		uint64_t off = rnd_next(&seed) % (size / 4096) * 4096;

		if (pwrite(fd, b, 4096, off) != 4096)
			DIE("write %s at %llu: %s", dev,
			    (unsigned long long)off, strerror(errno));
		t = now_s() - t0;
		if (t > secs)
			break;
	}
	*done = i < ops ? i + 1 : ops;
	close(fd);
	free(b);
	return *done / t;
}

/* fw4(), profiled (BENCH_BIG_PROF) in the first round of each variant. */
static double fw4p(const char *dev, uint64_t size, uint64_t seed, long *done,
		   int s, int v, int round, int full)
{
	char label[32];
	double r;

	if (!prof || full || (round != 0 && round != rounds) ||
	    prof_begin(fw4_funcs) < 0)
		return fw4(dev, size, seed, done);
	r = fw4(dev, size, seed, done);
	snprintf(label, sizeof(label), "FW4.%s.%s", sname[s], vname[v]);
	prof_end(label);
	printf("# %s profiled: %ld writes\n", label, *done);
	return r;
}

/* 1 MiB sequential writes from @start: MiB/s. */
static double fw1(const char *dev, uint64_t start)
{
	void *b = abuf(MIB);
	int fd = open(dev, O_RDWR | O_DIRECT);
	double t0 = now_s(), t = 0;
	long i;

	CHECK(fd);
	for (i = 0; i < seqmib; i++) {
		if (pwrite(fd, b, MIB, start + i * MIB) != (ssize_t)MIB)
			DIE("write %s: %s", dev, strerror(errno));
		t = now_s() - t0;
		if (t > secs) {
			i++;
			break;
		}
	}
	close(fd);
	free(b);
	return i / t;
}

/* The blksnap chunk of a device of @size bytes (diff_area.c). */
static const char *blksnap_chunk(uint64_t size, char *buf, size_t len)
{
	long minsh = 18, maxsh = 26, maxcnt = 0;
	unsigned int sh;

	param_read("chunk_minimum_shift", &minsh);
	param_read("chunk_maximum_shift", &maxsh);
	param_read("chunk_maximum_count", &maxcnt);
	for (sh = minsh; sh < maxsh && maxcnt &&
	     (size + (1ULL << sh) - 1) >> sh > (uint64_t)maxcnt; sh++)
		;
	if (sh >= 20)
		snprintf(buf, len, "%lluM", 1ULL << (sh - 20));
	else
		snprintf(buf, len, "%lluK", 1ULL << (sh - 10));
	return buf;
}

static void put(int s, int v, int m, double x)
{
	val_[s][v][m][nval[s][v]] = x;
}

/* One measurement of variant @v on the origin @dev of size index @s. */
static void measure(int s, int v, const char *dev, const char *stor,
		    int round, int full)
{
	long ops0 = ops, secs0 = secs;

	uint64_t size = sizes[s];
	long m0, m1, m2, m3, done = 0;
	double t0, seq = 0, take = 0, w4, w1;
	int fd = -1, err = 0;
	char img[64] = "";

	if (nval[s][v] >= MAXR)
		return;
	if (full) {
		ops = full_ops;
		secs = full_secs;
	}
	m0 = mem_settled();
	if (v == V_BLKSNAP || v == V_V3) {
		struct blksnap_snapshotinfo info;
		struct blksnap_uuid id;
		int cfd = ctl_open();

		CHECK(cfd);
		CHECK(param_write("chunk_maximum_count",
				  v == V_V3 ? "2097152" : "0"));
		blksnap_chunk(size, chunkstr[s][v], sizeof(chunkstr[s][v]));
		fd = open(dev, O_RDWR);
		CHECK(fd);
		CHECK(bf_attach(fd));
		m1 = mem_settled();
		t0 = now_s();
		CHECK(snap_create(cfd, &id));
		CHECK(snap_add(fd, &id));
		CHECK(snap_append_range(cfd, &id, stor, 0, sizes[0] >> 9));
		if (prof && round == 0 && !full)
			prof_begin_ex(take_funcs, 1);
		seq = now_s();
		CHECK(snap_take(cfd, &id));
		take = (now_s() - seq) * 1000;
		if (prof && round == 0 && !full) {
			char label[32];

			snprintf(label, sizeof(label), "TAKE.%s.%s", sname[s],
				 vname[v]);
			prof_end(label);
		}
		seq = (now_s() - t0) * 1000;
		m2 = mem_settled();
		w4 = fw4p(dev, size, round * 7 + s, &done, s, v, round, full);
		m3 = mem_settled();
		w1 = full ? 0 : fw1(dev, size / 2 + round * seqmib * MIB);
		CHECK(snap_info(fd, &info));
		err = info.error_code;
		snprintf(img, sizeof(img), "%s", (char *)info.image);
		CHECK(snap_destroy(cfd, &id));
		CHECK(bf_detach(fd));
		close(fd);
		close(cfd);
		CHECK(param_write("chunk_maximum_count", "0"));
#ifdef HAVE_VAL
	} else if (v == V_VAL) {
		unsigned char id[16];

		snprintf(chunkstr[s][v], sizeof(chunkstr[s][v]), "256K");
		CHECK(val_attach(dev));
		m1 = mem_settled();
		CHECK(val_take(dev, stor, sizes[0] >> 9, id, &take, &seq));
		m2 = mem_settled();
		w4 = fw4p(dev, size, round * 7 + s, &done, s, v, round, full);
		m3 = mem_settled();
		w1 = full ? 0 : fw1(dev, size / 2 + round * seqmib * MIB);
		CHECK(val_state(dev, &err, img, sizeof(img)));
		CHECK(val_destroy(id));
		CHECK(val_detach(dev));
#endif
	} else {
		snprintf(chunkstr[s][v], sizeof(chunkstr[s][v]), "-");
		m1 = m2 = m0;
		w4 = fw4p(dev, size, round * 7 + s, &done, s, v, round, full);
		m3 = m2;
		w1 = fw1(dev, size / 2 + round * seqmib * MIB);
	}
	ops = ops0;
	secs = secs0;
	if (full) {
		full_n[s][v] = done;
		full_kib[s][v] = m3 - m2;
		full_iops[s][v] = w4;
		printf("# %s %-8s full: %ld scattered 4k first writes at %.1f IOPS: +%ld KiB (%.0f B per chunk), error %d\n",
		       sname[s], vname[v], done, w4, m3 - m2,
		       done ? (m3 - m2) * 1024.0 / done : 0, err);
		return;
	}
	put(s, v, M_SEQ, seq);
	put(s, v, M_TAKE, take);
	put(s, v, M_ATTACH, m1 - m0);
	put(s, v, M_MTAKE, m2 - m1);
	put(s, v, M_FW4, w4);
	put(s, v, M_PERCHUNK, done ? (m3 - m2) * 1024.0 / done : 0);
	put(s, v, M_FW1, w1);
	nval[s][v]++;
	printf("# %s %-8s round %d: take %.2f ms (seq %.2f), mem attach %ld take %ld KiB, fw4 %.1f IOPS (%ld writes, +%ld KiB), fw1 %.1f MiB/s, chunk %s, error %d %s\n",
	       sname[s], vname[v], round + 1, take, seq, m1 - m0, m2 - m1, w4,
	       done, m3 - m2, w1, chunkstr[s][v], err, img);
	if (err)
		printf("# %s %s: the snapshot was corrupted (%d)\n", sname[s],
		       vname[v], err);
}

/* --- CBT ------------------------------------------------------------- */

static void cbt_sizes(const char *stor)
{
	static const uint64_t cs[3] = { 4 * TIB, 16 * TIB, 1024 * TIB };
	static const char *const cn[3] = { "4T", "16T", "1P" };
	static const long counts[3] = { 2097152, 16777216, 67108864 };
	char node[64], size[40], r[256];
	const char *attrs[] = { size, "memory_backed=0", NULL };
	struct utsname u;
	int i, k;

	uname(&u);
	for (i = 0; i < 3; i++) {
		snprintf(size, sizeof(size), "size=%llu",
			 (unsigned long long)(cs[i] / MIB));
		CHECK(nullb_create("bb_cbt", attrs, node, sizeof(node)));
		for (k = 0; k < 3; k++) {
			struct blksnap_cbtinfo info;
			long m0, m1;
			int fd = open(node, O_RDWR);

			CHECK(fd);
			CHECK(param_write_ll("tracking_block_maximum_count",
					     counts[k]));
			m0 = mem_settled();
			CHECK(bf_attach(fd));
			m1 = mem_settled();
			CHECK(cbt_info(fd, &info));
			printf("BENCH|CBT.%s.%ld|CBT block on %s, tracking_block_maximum_count=%ld (map KiB: %ld)|%u|B|0|0|0..0|-|-|%u blocks|%s\n",
			       cn[i], counts[k], cn[i], counts[k], m1 - m0,
			       info.block_size, info.block_count, u.release);
			snprintf(r, sizeof(r), "# CBT %s count=%ld: block %u KiB, %u blocks, attach +%ld KiB",
				 cn[i], counts[k], info.block_size / 1024,
				 info.block_count, m1 - m0);
			if (i == 1) {
				/* an incremental after 1,000 random 4k writes */
				struct blksnap_uuid id;
				int cfd = ctl_open();
				uint64_t seed = 12345, changed = 0, n1;
				unsigned char *map = malloc(info.block_count);
				void *b = abuf(4096);
				int dfd = open(node, O_RDWR | O_DIRECT);
				long j;

				CHECK(cfd);
				CHECK(dfd);
				if (!map)
					DIE("no memory");
				CHECK(snap_create_take(cfd, &id, &fd, 1, stor, 0, 1 << 20));
				CHECK(snap_destroy(cfd, &id));
				CHECK(cbt_info(fd, &info));
				n1 = info.changes_number;
				for (j = 0; j < 1000; j++)
					if (pwrite(dfd, b, 4096, rnd_next(&seed) %
						   (cs[i] / 4096) * 4096) != 4096)
						DIE("write: %s", strerror(errno));
				CHECK(snap_create_take(cfd, &id, &fd, 1, stor, 0, 1 << 20));
				CHECK(snap_destroy(cfd, &id));
				CHECK(cbt_read(fd, 0, info.block_count, map));
				for (j = 0; j < info.block_count; j++)
					changed += map[j] > n1;
				printf("BENCH|CBT.incr.%ld|16T: bytes an incremental copies after 1,000 random 4k writes, tracking_block_maximum_count=%ld|%.1f|MiB|0|0|0..0|-|-|%llu blocks|%s\n",
				       counts[k], counts[k],
				       changed * (double)info.block_size / MIB,
				       (unsigned long long)changed, u.release);
				snprintf(r + strlen(r), sizeof(r) - strlen(r),
					 "; incremental after 1000 4k writes: %llu blocks = %.1f MiB",
					 (unsigned long long)changed,
					 changed * (double)info.block_size / MIB);
				close(dfd);
				close(cfd);
				free(map);
				free(b);
			}
			printf("%s\n", r);
			CHECK(bf_detach(fd));
			close(fd);
		}
		param_write_ll("tracking_block_maximum_count", 2097152);
		nullb_remove("bb_cbt");
	}
}

int main(void)
{
	char orig[64], stor[64], size[40];
	const char *attrs[] = { size, "memory_backed=0", NULL };
	double t0 = now_s();
	int have_val = 0, s, r, k, m, v;
	struct utsname u;

	setvbuf(stdout, NULL, _IOLBF, 0);
	uname(&u);
	ops = envl("BENCH_BIG_OPS", ops);
	secs = envl("BENCH_BIG_SECS", secs);
	seqmib = envl("BENCH_BIG_SEQ_MIB", seqmib);
	rounds = envl("BENCH_BIG_ROUNDS", rounds);
	full_ops = envl("BENCH_BIG_FULL", full_ops);
	full_secs = envl("BENCH_BIG_FULL_SECS", full_secs);
	prof = envl("BENCH_BIG_PROF", 0);
	if (rounds > MAXR)
		rounds = MAXR;
#ifdef HAVE_VAL
	have_val = !access("/ko/veeamblksnap.ko", R_OK);
#endif
	printf("# bigbench: %ld random 4k first writes or %ld s, %ld MiB sequential, %ld rounds, VAL %s\n",
	       ops, secs, seqmib, rounds,
	       have_val ? "present" : "absent (VAL_SRC not given, or not built for this kernel)");
	snprintf(size, sizeof(size), "size=%llu",
		 (unsigned long long)(sizes[0] / MIB));
	CHECK(nullb_create("bb_store", attrs, stor, sizeof(stor)));

	/* phase 1: blksnap (loaded by the runner) */
	for (s = 0; s < NS; s++) {
		snprintf(size, sizeof(size), "size=%llu",
			 (unsigned long long)(sizes[s] / MIB));
		CHECK(nullb_create("bb_orig", attrs, orig, sizeof(orig)));
		for (r = 0; r < rounds; r++)
			for (k = 0; k < 3; k++)
				measure(s, r % 2 ? 2 - k : k, orig, stor, r, 0);
		if (full_ops)
			measure(s, V_BLKSNAP, orig, stor, 0, 1);
		nullb_remove("bb_orig");
	}
	cbt_sizes(stor);

#ifdef HAVE_VAL
	/* phase 2: VAL instead of blksnap */
	if (have_val && !run("rmmod blksnap") &&
	    !run("insmod /ko/bdevfilter.ko && insmod /ko/veeamblksnap.ko") &&
	    !val_open()) {
		for (s = 0; s < NS; s++) {
			snprintf(size, sizeof(size), "size=%llu",
				 (unsigned long long)(sizes[s] / MIB));
			CHECK(nullb_create("bb_orig", attrs, orig,
					   sizeof(orig)));
			for (r = 0; r < rounds; r++)
				for (k = 0; k < 2; k++)
					measure(s, (r + k) % 2 ? V_VAL : V_RAW,
						orig, stor, r + rounds, 0);
			if (full_ops)
				measure(s, V_VAL, orig, stor, 0, 1);
			if (s == NS - 1) {
				uint32_t bs = 0, n = 0;

				CHECK(val_attach(orig));
				val_cbt_block(orig, &bs, &n);
				printf("BENCH|CBT.1P.VAL|VAL's CBT block on 1P|%u|B|0|0|0..0|-|-|%u blocks|%s\n",
				       bs, n, u.release);
				CHECK(val_detach(orig));
			}
			nullb_remove("bb_orig");
		}
		val_close();
		run("rmmod veeamblksnap; rmmod bdevfilter; insmod /ko/blksnap.ko");
	} else if (have_val) {
		printf("# VAL could not be loaded here\n");
		run("insmod /ko/blksnap.ko 2>/dev/null");
	}
#endif
	nullb_remove("bb_store");

	/* the table: median over the rounds */
	for (s = 0; s < NS; s++) {
		printf("T|\nT|%s null_blk (memory_backed=0), median of %ld rounds\n",
		       sname[s], rounds);
		printf("T|%-32s", "metric");
		for (v = 0; v < NV; v++)
			if (nval[s][v])
				printf(" %12s", vname[v]);
		printf("\nT|%-32s", "chunk");
		for (v = 0; v < NV; v++)
			if (nval[s][v])
				printf(" %12s", chunkstr[s][v]);
		printf("\n");
		for (m = 0; m < NM; m++) {
			printf("T|%-32s", mname[m]);
			for (v = 0; v < NV; v++) {
				double x[MAXR];
				int i;

				if (!nval[s][v])
					continue;
				for (i = 0; i < nval[s][v]; i++)
					x[i] = val_[s][v][m][i];
				printf(" %12.1f", median(x, nval[s][v]));
			}
			printf("\n");
		}
		printf("T|%-32s", "full: chunks copied");
		for (v = 0; v < NV; v++)
			if (nval[s][v])
				printf(" %12.0f", full_n[s][v]);
		printf("\nT|%-32s", "full: their memory (KiB)");
		for (v = 0; v < NV; v++)
			if (nval[s][v])
				printf(" %12.0f", full_kib[s][v]);
		printf("\nT|%-32s", "full: IOPS");
		for (v = 0; v < NV; v++)
			if (nval[s][v])
				printf(" %12.1f", full_iops[s][v]);
		printf("\n");
		for (v = 0; v < NV; v++)
			if (full_n[s][v])
				printf("BENCH|%s.full.%s|%s %s: memory for %.0f scattered copied chunks|%.0f|KiB|0|0|0..0|-|-|%s|%s\n",
				       sname[s], vname[v], sname[s], vname[v],
				       full_n[s][v], full_kib[s][v],
				       chunkstr[s][v], u.release);
		for (v = 0; v < NV; v++)
			for (m = 0; m < NM && nval[s][v]; m++) {
				double x[MAXR], ref = 0;
				int i;

				for (i = 0; i < nval[s][v]; i++)
					x[i] = val_[s][v][m][i];
				if (m == M_FW4 || m == M_FW1) {
					double y[MAXR];

					for (i = 0; i < nval[s][V_RAW]; i++)
						y[i] = val_[s][V_RAW][m][i];
					ref = median(y, nval[s][V_RAW]);
				}
				printf("BENCH|%s.%s.%s|%s %s: %s|%.2f|-|%.2f|%.4f|-|-|-|%s|%s\n",
				       sname[s], mid[m], vname[v], sname[s],
				       vname[v], mname[m], median(x, nval[s][v]),
				       ref, ref > 0 ? median(x, nval[s][v]) / ref : 0,
				       chunkstr[s][v], u.release);
			}
	}
	printf("# bench total %.1f s\n", now_s() - t0);
	return 0;
}
