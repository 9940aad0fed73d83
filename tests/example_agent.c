// SPDX-License-Identifier: GPL-2.0
/*
 * examples/minimal-agent.c (the libblksnap example, /usr/sbin/minimal-agent
 * in the guest) run as a user would, on /dev/ram0 while a thread writes
 * it, with its storage files on an ext4 on /dev/ram1: the full backup is
 * the device at the first TAKE byte for byte, the full plus the
 * incremental is the device at the second TAKE, the incremental copied
 * only part of the device, and the event thread grew the storage on
 * low-free-space events.
 *
 * The agent's --pre and --post hooks (run around each TAKE) stop the
 * writer: with no write in flight the writer copies the device (the
 * reference for that TAKE) and the backup file as it is then; after TAKE
 * it writes a burst larger than the storage given before TAKE, so that
 * the snapshot must ask for more while the agent copies.  The storage
 * file system is an ext4 on a loop device over a file in /tmp.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "cbt.h"
#include "ctl.h"
#include "fixture.h"
#include "util.h"

#define AGENT "/usr/sbin/minimal-agent"
#define DEV "/dev/ram0"
#define EADIR "/tmp/ea"
#define FSDIR EADIR "/fs"
#define FSIMG EADIR "/fs.img"
#define BACKUP EADIR "/backup"
#define DEVSZ (64 * MIB)
/* random writes below RANDOM_END, the burst after TAKE above it */
#define RANDOM_END (32 * MIB)
#define BURST (28 * MIB)
#define WSIZE (64 * 1024)

static volatile int writer_stop;
static int writer_rounds;
static long writer_writes;

static int exists(const char *path)
{
	return !access(path, F_OK);
}

/* Copy all of @from (@len bytes) into the new file @to. */
static int copy_file(const char *from, const char *to, uint64_t len)
{
	char *buf = malloc(MIB);
	int in = open(from, O_RDONLY), out;
	uint64_t off;
	int ret = 0;

	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!buf || in < 0 || out < 0)
		ret = -1;
	for (off = 0; !ret && off < len; off += MIB)
		if (pread(in, buf, MIB, off) != MIB ||
		    pwrite(out, buf, MIB, off) != MIB)
			ret = -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	free(buf);
	return ret;
}

static int write_at(int fd, void *buf, uint64_t off, unsigned int *seed)
{
	size_t i;

	for (i = 0; i < WSIZE / sizeof(int); i++)
		((int *)buf)[i] = rand_r(seed);
	return pwrite(fd, buf, WSIZE, off) == WSIZE ? 0 : -1;
}

/*
 * Random 64 KiB O_DIRECT writes below RANDOM_END until writer_stop.  On
 * EADIR/pause (the agent's --pre): the references EADIR/ref.N and (from
 * the second) EADIR/backup.N, then EADIR/paused; once pause is gone (--post): a burst of
 * BURST bytes above RANDOM_END, then paused removed.
 */
static void *writer(void *arg)
{
	unsigned int seed = 7;
	char ref[64], bk[64];
	void *buf = abuf(WSIZE);
	int fd = open(DEV, O_WRONLY | O_DIRECT);
	uint64_t off;

	(void)arg;
	if (fd < 0 || !buf)
		return (void *)-1L;
	while (!writer_stop) {
		if (!exists(EADIR "/pause")) {
			off = (rand_r(&seed) % (RANDOM_END / WSIZE)) * WSIZE;
			if (write_at(fd, buf, off, &seed))
				return (void *)-1L;
			writer_writes++;
			usleep(5000);
			continue;
		}
		writer_rounds++;
		snprintf(ref, sizeof(ref), EADIR "/ref.%d", writer_rounds);
		snprintf(bk, sizeof(bk), EADIR "/backup.%d", writer_rounds);
		if (copy_file(DEV, ref, DEVSZ) ||
		    (writer_rounds > 1 && copy_file(BACKUP, bk, DEVSZ)))
			return (void *)-1L;
		close(open(EADIR "/paused", O_CREAT | O_WRONLY, 0600));
		while (exists(EADIR "/pause") && !writer_stop)
			usleep(2000);
		for (off = RANDOM_END; off < RANDOM_END + BURST; off += WSIZE)
			if (write_at(fd, buf, off, &seed))
				return (void *)-1L;
		unlink(EADIR "/paused");
	}
	close(fd);
	free(buf);
	return NULL;
}

/* Random data all over @path (DEVSZ bytes), so that every block counts. */
static int fill(const char *path)
{
	unsigned int seed = 3;
	void *buf = abuf(WSIZE);
	int fd = open(path, O_WRONLY | O_DIRECT), ret = 0;
	uint64_t off;

	if (fd < 0 || !buf)
		ret = -1;
	for (off = 0; !ret && off < DEVSZ; off += WSIZE)
		ret = write_at(fd, buf, off, &seed);
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

/* A number after @key in @text, or -1. */
static long long number_after(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static int count_of(const char *text, const char *s)
{
	int n = 0;

	for (; (text = strstr(text, s)); text++)
		n++;
	return n;
}

FIXTURE(ea) {
	struct scratch s;
};

FIXTURE_SETUP(ea)
{
	scratch_save_params(&self->s);
}

FIXTURE_TEARDOWN_PARENT(ea)
{
	static const char *const mounts[] = { FSDIR, NULL };
	static const char *const devs[] = { DEV, NULL };
	static const char *const loops[] = { FSIMG, NULL };

	scratch_release(mounts, devs, NULL, loops);
	scratch_restore_params(&self->s);
	if (system("rm -rf " EADIR))
		fprintf(stderr, "# teardown: cannot remove " EADIR "\n");
}

/*
 * A full then an incremental backup by the example agent while /dev/ram0
 * is written, each checked against the device at its TAKE.
 */
TEST_F_TIMEOUT(ea, full_then_incremental, 280)
{
	static char out[65536];
	char loop[64], cmd[160];
	pthread_t thread;
	int lfd;
	void *wret;
	long long full, incr;
	size_t n;
	FILE *f;
	int st;

	ASSERT_EQ(0, access(AGENT, X_OK)) {
		TH_LOG("%s is not in the guest (tests/vm/mkinitramfs.sh)",
		       AGENT);
	}
	ASSERT_EQ(0, brd_ensure(4, 64));
	ASSERT_EQ(0, system("rm -rf " EADIR " && mkdir -p " FSDIR));
	lfd = loop_create(FSIMG, 160, 0, loop, sizeof(loop));
	ASSERT_LE(0, lfd);
	close(lfd);
	snprintf(cmd, sizeof(cmd),
		 "/usr/sbin/mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 %s > /dev/null", loop);
	ASSERT_EQ(0, system(cmd));
	ASSERT_EQ(0, mount(loop, FSDIR, "ext4", 0, NULL));
	/*
	 * Storage files of 16 MiB; the snapshot asks for 16 MiB at CREATE
	 * and when 8 MiB are left; 64 KiB chunks.
	 */
	ASSERT_EQ(0, param_write("diff_storage_minimum", "32768"));
	ASSERT_EQ(0, param_write("chunk_minimum_shift", "16"));
	bf_detach_path(DEV);
	ASSERT_EQ(0, fill(DEV));

	writer_stop = 0;
	ASSERT_EQ(0, pthread_create(&thread, NULL, writer, NULL));
	f = popen(AGENT " --step 16"
		  " --pre 'touch " EADIR "/pause; while [ ! -e " EADIR "/paused ]; do usleep 5000; done'"
		  " --post 'rm " EADIR "/pause; while [ -e " EADIR "/paused ]; do usleep 5000; done'"
		  " " DEV " " FSDIR " " BACKUP " 2>&1", "r");
	ASSERT_NE(NULL, f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	st = pclose(f);
	writer_stop = 1;
	pthread_join(thread, &wret);
	fprintf(stderr, "# minimal-agent output:\n");
	for (char *l = strtok(strdupa(out), "\n"); l; l = strtok(NULL, "\n"))
		fprintf(stderr, "#   %s\n", l);
	fprintf(stderr, "# the writer made %ld random writes\n", writer_writes);
	ASSERT_EQ(0, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	ASSERT_EQ(NULL, wret);
	ASSERT_EQ(2, writer_rounds);

	/* the full backup (as it was before the second TAKE): take 1 */
	EXPECT_EQ(0, files_same(EADIR "/ref.1", EADIR "/backup.2", DEVSZ));
	/* full + incremental: take 2 */
	EXPECT_EQ(0, files_same(EADIR "/ref.2", BACKUP, DEVSZ));
	/* the device changed in between (else the check proves little) */
	EXPECT_NE(0, files_same(EADIR "/ref.1", EADIR "/ref.2", DEVSZ));

	full = number_after(out, "full backup: ");
	incr = number_after(out, "incremental backup: ");
	EXPECT_EQ(DEVSZ, full);
	/* the burst and the random writes: above 0, below the device */
	EXPECT_LE(BURST, incr);
	EXPECT_GT(DEVSZ, incr);
	/*
	 * Per backup: one file before TAKE, one for the event queued at
	 * CREATE, at least one more for the burst (28 MiB of writes, 32
	 * MiB of storage given before, an event at 8 MiB left).
	 */
	EXPECT_LE(6, count_of(out, "bytes appended"));
	EXPECT_EQ(0, count_of(out, "corrupted"));
	/* the storage files are gone */
	EXPECT_EQ(0, exists(FSDIR "/storage-0"));
}

TEST_HARNESS_MAIN
