// SPDX-License-Identifier: GPL-2.0
/*
 * takebench: TAKE latency on idle devices of 512 MiB, 16 TiB and 1 PiB
 * (issues 18 and 19), in the test guest (`make bench TESTS=takebench`).
 *
 * Origins: data-less null_blk devices (memory_backed=0) of each size;
 * difference storage: another one of 16 TiB.  Per size and round:
 *   seq      CREATE, snapshotadd, APPEND_STORAGE, TAKE back to back (what
 *            an agent does; the CREATE..TAKE time and the TAKE ioctl alone)
 *   settled  the same with 100 ms between APPEND_STORAGE and TAKE (TAKE's
 *            own work, nothing left over from snapshotadd)
 * then a function_graph profile (wall time) of one settled TAKE per size.
 * With VAL_INC given at build time and /ko/veeamblksnap.ko present, the
 * same "seq" rounds with Veeam's VAL-7.0 in the same boot (blksnap is
 * unloaded for them).
 *
 * Env: BENCH_TAKE_ROUNDS (5), BENCH_PROFILE (1).
 * Output: "BENCH|..." lines as bench.c's, "PROF|..." lines, and a table.
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
#define NS 3
#define MAXR 16

static const uint64_t sizes[NS] = { 512 * MIB, 16 * TIB, 1024 * TIB };
static const char *const sname[NS] = { "512M", "16T", "1P" };
enum { M_SEQ, M_TAKE, M_STAKE, M_VSEQ, M_VTAKE, NM };
static const char *const mname[NM] = {
	"blksnap CREATE..TAKE (ms)", "blksnap TAKE ioctl (ms)",
	"blksnap TAKE, settled (ms)", "VAL CREATE..TAKE (ms)",
	"VAL TAKE ioctl (ms)",
};
static const char *const mid[NM] = { "seq", "take", "stake", "vseq", "vtake" };
static double val_[NS][NM][MAXR];
static int nval[NS][NM];

#define DIE(fmt, ...) do {						\
	fprintf(stdout, "takebench: " fmt " (line %d)\n", ##__VA_ARGS__,	\
		__LINE__);						\
	exit(1);							\
} while (0)
#define CHECK(expr) do {						\
	long __r = (long)(expr);					\
	if (__r < 0)							\
		DIE("%s = %ld (%s)", #expr, __r, strerror((int)-__r));	\
} while (0)

static const char *const take_funcs[] = {
	"snapshot_take", "take_prepare", "take_freeze_fs", "take_switch",
	"take_cbt_prepare", "take_cbt_finish", "take_add_images",
	"diff_area_create", "take_order", "diff_storage_check_member",
	"bdev_freeze", "freeze_bdev", "sync_blockdev", "freeze_super",
	"blkfilter_freeze_set", "blkfilter_freeze", "blkfilter_unfreeze",
	"blkfilter_end_prepare", "wait_for_completion",
	"wait_for_completion_timeout",
	"tracker_cbt_switch", "tracker_cbt_prepare", "tracker_cbt_finish",
	"cbt_map_switch", "cbt_map_switch_prepare", "cbt_map_switch_finish",
	"bdev_thaw", "thaw_bdev", "thaw_super",
	"image_create", "device_add_disk", "add_disk_fwnode",
	"blksnap_alloc_disk", "__blk_alloc_disk", "synchronize_rcu",
	"blkfilter_prepare_freeze", "bf_ref_switch_to_atomic_sync",
	"bf_ref_switch_to_percpu", "bf_ref_kill", "synchronize_rcu_expedited",
	"vprintk_emit", "take_loop_backing", "filp_open", NULL
};

static long envl(const char *name, long def)
{
	const char *s = getenv(name);

	return s && *s ? atol(s) : def;
}

static void put(int s, int m, double x)
{
	if (nval[s][m] < MAXR)
		val_[s][m][nval[s][m]++] = x;
}

/* CREATE, add, append, [settle], TAKE, DESTROY; TAKE ms, *@seq ms. */
static double one_take(int cfd, int fd, const char *stor, int settle,
		       double *seq, int profile, const char *label)
{
	struct blksnap_uuid id;
	double t0, t1, take;

	t0 = now_s();
	CHECK(snap_create(cfd, &id));
	CHECK(snap_add(fd, &id));
	CHECK(snap_append_range(cfd, &id, stor, 0, (16 * TIB) >> 9));
	if (settle)
		usleep(100000);
	if (profile)
		prof_begin_ex(take_funcs, 1);
	t1 = now_s();
	CHECK(snap_take(cfd, &id));
	take = (now_s() - t1) * 1000;
	if (profile)
		prof_end(label);
	*seq = (now_s() - t0) * 1000;
	CHECK(snap_destroy(cfd, &id));
	return take;
}

static inline int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
	char orig[64], stor[64], size[40], label[32];
	const char *attrs[] = { size, "memory_backed=0", NULL };
	long rounds = envl("BENCH_TAKE_ROUNDS", 5);
	int profile = envl("BENCH_PROFILE", 1);
	int s, r, m;
#ifdef HAVE_VAL
	int have_val;
#endif
	double seq, t;
	struct utsname u;

	setvbuf(stdout, NULL, _IOLBF, 0);
	uname(&u);
	if (rounds > MAXR)
		rounds = MAXR;
#ifdef HAVE_VAL
	have_val = !access("/ko/veeamblksnap.ko", R_OK);
#endif
	snprintf(size, sizeof(size), "size=%llu",
		 (unsigned long long)((16 * TIB) / MIB));
	CHECK(nullb_create("tb_store", attrs, stor, sizeof(stor)));
	for (s = 0; s < NS; s++) {
		int cfd = ctl_open(), fd;

		CHECK(cfd);
		snprintf(size, sizeof(size), "size=%llu",
			 (unsigned long long)(sizes[s] / MIB));
		CHECK(nullb_create("tb_orig", attrs, orig, sizeof(orig)));
		fd = open(orig, O_RDWR);
		CHECK(fd);
		CHECK(bf_attach(fd));
		usleep(100000);
		for (r = 0; r < rounds; r++) {
			t = one_take(cfd, fd, stor, 0, &seq, 0, NULL);
			put(s, M_SEQ, seq);
			put(s, M_TAKE, t);
			t = one_take(cfd, fd, stor, 1, &seq, 0, NULL);
			put(s, M_STAKE, t);
			printf("# %s round %d: seq %.3f take %.3f settled %.3f ms\n",
			       sname[s], r + 1, val_[s][M_SEQ][r],
			       val_[s][M_TAKE][r], t);
		}
		if (profile) {
			snprintf(label, sizeof(label), "TAKE.%s", sname[s]);
			t = one_take(cfd, fd, stor, 1, &seq, 1, label);
			printf("# profile %s: %.3f ms traced\n", label, t);
		}
		CHECK(bf_detach(fd));
		close(fd);
		close(cfd);
		nullb_remove("tb_orig");
	}
#ifdef HAVE_VAL
	if (have_val && !run("rmmod blksnap") &&
	    !run("insmod /ko/bdevfilter.ko && insmod /ko/veeamblksnap.ko") &&
	    !val_open()) {
		for (s = 0; s < NS; s++) {
			unsigned char id[16];

			snprintf(size, sizeof(size), "size=%llu",
				 (unsigned long long)(sizes[s] / MIB));
			CHECK(nullb_create("tb_orig", attrs, orig,
					   sizeof(orig)));
			CHECK(val_attach(orig));
			usleep(100000);
			for (r = 0; r < rounds; r++) {
				CHECK(val_take(orig, stor, (16 * TIB) >> 9, id,
					       &t, &seq));
				put(s, M_VSEQ, seq);
				put(s, M_VTAKE, t);
				CHECK(val_destroy(id));
				printf("# %s VAL round %d: seq %.3f take %.3f ms\n",
				       sname[s], r + 1, seq, t);
			}
			CHECK(val_detach(orig));
			nullb_remove("tb_orig");
		}
		val_close();
		run("rmmod veeamblksnap; rmmod bdevfilter; insmod /ko/blksnap.ko");
	} else if (have_val) {
		printf("# VAL could not be loaded here\n");
		run("insmod /ko/blksnap.ko 2>/dev/null");
	}
#endif
	nullb_remove("tb_store");
	printf("T|\nT|TAKE on idle null_blk (memory_backed=0), median of %ld rounds, kernel %s\n",
	       rounds, u.release);
	printf("T|%-32s %10s %10s %10s\n", "metric", sname[0], sname[1],
	       sname[2]);
	for (m = 0; m < NM; m++) {
		printf("T|%-32s", mname[m]);
		for (s = 0; s < NS; s++)
			printf(" %10.3f", median(val_[s][m], nval[s][m]));
		printf("\n");
	}
	for (s = 0; s < NS; s++)
		for (m = 0; m < NM; m++)
			if (nval[s][m])
				printf("BENCH|TK.%s.%s|%s: %s|%.3f|ms|0|0|0..0|-|-|-|%s\n",
				       sname[s], mid[m], sname[s], mname[m],
				       median(val_[s][m], nval[s][m]),
				       u.release);
	return 0;
}
