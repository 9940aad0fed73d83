// SPDX-License-Identifier: GPL-2.0
/*
 * Status at a glance: /sys/kernel/debug/blksnap/status shows the attached
 * devices (with their CBT state as cbtinfo reports it), the snapshots with
 * their members, images, storage fill and copied chunks, and forgets them
 * after DESTROY and detach; readers running through TAKE/DESTROY cycles
 * see consistent records (and the runner fails on any splat); the
 * tracepoints (events/blksnap) report attach, TAKE with its duration,
 * every copy-on-write, storage exhaustion and corruption; blksnapctl
 * status --json shows the same, and says so without the module or
 * without debugfs.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "snap.h"
#include "util.h"
#include "tool.h"
#include "module.h"
#include "fixture.h"

#define STATUS "/sys/kernel/debug/blksnap/status"
#define TRACEFS "/sys/kernel/tracing"
#define TOOL "/usr/sbin/blksnapctl"
#define DEVSZ (64 * MIB)
#define CHUNK (256 * 1024)		/* the default chunk of a 64 MiB device */
#define ORIG "/dev/ram0"
#define STORE "/dev/ram1"

/* The status file, NUL-terminated, in a static buffer; 0 or -errno. */
static char st_buf[65536];

static int status_read(void)
{
	int fd = open(STATUS, O_RDONLY | O_CLOEXEC);
	ssize_t n, len = 0;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, st_buf + len, sizeof(st_buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	if (n < 0)
		return -errno;
	st_buf[len] = 0;
	return 0;
}

/*
 * The line of st_buf that starts with @prefix and holds " @has " (or ends
 * with " @has"), copied into @line; 0 if there is none.
 */
static int status_line(const char *prefix, const char *has, char *line,
		       size_t len)
{
	const char *p = st_buf, *end;
	char tmp[1024];

	for (; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, '\n');
		if ((size_t)(end - p) >= sizeof(tmp))
			continue;
		snprintf(tmp, sizeof(tmp), "%.*s ", (int)(end - p), p);
		if (strncmp(tmp, prefix, strlen(prefix)))
			continue;
		if (has) {
			char pat[256];

			snprintf(pat, sizeof(pat), " %s ", has);
			if (!strstr(tmp, pat))
				continue;
		}
		snprintf(line, len, "%.*s", (int)(end - p), p);
		return 1;
	}
	return 0;
}

/* The value of " @key=" in @line, copied into @val; 0 if absent. */
static int field(const char *line, const char *key, char *val, size_t len)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(line, pat);
	if (!p)
		return 0;
	p += strlen(pat);
	snprintf(val, len, "%.*s", (int)strcspn(p, " \n"), p);
	return 1;
}

/* A numeric field of @line, or -1. */
static long long nfield(const char *line, const char *key)
{
	char v[64];

	if (!field(line, key, v, sizeof(v)) || !strcmp(v, "-"))
		return -1;
	return strtoll(v, NULL, 10);
}

static void uuid_str(const struct blksnap_uuid *id, char *buf)
{
	const uint8_t *b = id->b;

	sprintf(buf,
		"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* The member line of snapshot @id, re-reading the file; 0 if none. */
static int member_line(const char *id, char *line, size_t len)
{
	char has[80];

	snprintf(has, sizeof(has), "snapshot=%s", id);
	return !status_read() && status_line("member ", has, line, len);
}

/* Wait until the member of @id has no store in flight; its line. */
static int member_settled(const char *id, char *line, size_t len)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (member_line(id, line, len) && nfield(line, "storing") == 0)
			return 1;
		usleep(10000);
	}
	return 0;
}

/* Write 4 KiB of @tag into each chunk of @chunks (O_DIRECT @fd). */
static int write_chunks(int fd, const int *chunks, int n, uint32_t tag)
{
	void *buf = abuf(4096);
	int i, ret = 0;

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n && !ret; i++) {
		sd_fill(buf, 4096, tag, (uint64_t)chunks[i] * CHUNK / 512, 7);
		if (pwrite(fd, buf, 4096, (off_t)chunks[i] * CHUNK + 8192) !=
		    4096)
			ret = -errno;
	}
	free(buf);
	return ret;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/* tracefs mounted (the runner mounts it; a plain system may not). */
static int tracefs_ready(void)
{
	if (!access(TRACEFS "/trace", F_OK))
		return 0;
	mkdir(TRACEFS, 0755);
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL))
		return -errno;
	return access(TRACEFS "/trace", F_OK) ? -errno : 0;
}

static char trace_buf[1 << 20];

/* The trace buffer, NUL-terminated, in trace_buf. */
static int trace_read(void)
{
	int fd = open(TRACEFS "/trace", O_RDONLY | O_CLOEXEC);
	ssize_t n, len = 0;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, trace_buf + len,
			 sizeof(trace_buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	trace_buf[len] = 0;
	return n < 0 ? -errno : 0;
}

/* Number of trace lines with "@event: " that hold @has (NULL: any). */
static int trace_count(const char *event, const char *has)
{
	char pat[64];
	const char *p = trace_buf, *end;
	int n = 0;

	snprintf(pat, sizeof(pat), "%s: ", event);
	for (; *p; p = *end ? end + 1 : end) {
		const char *e;

		end = strchrnul(p, '\n');
		e = memmem(p, end - p, pat, strlen(pat));
		if (!e)
			continue;
		if (has && !memmem(e, end - e, has, strlen(has)))
			continue;
		n++;
	}
	return n;
}

/* The first trace line of @event, in @line; 0 if none. */
static int trace_line(const char *event, char *line, size_t len)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "%s: ", event);
	p = strstr(trace_buf, pat);
	if (!p)
		return 0;
	snprintf(line, len, " %.*s", (int)strcspn(p, "\n"), p);
	return 1;
}


/* The line of out[] holding @has; NULL if none. */
static const char *out_line(const char *has, char *line, size_t len)
{
	const char *p = strstr(out, has), *b;

	if (!p)
		return NULL;
	for (b = p; b > out && b[-1] != '\n'; b--)
		;
	snprintf(line, len, "%.*s", (int)strcspn(b, "\n"), b);
	return line;
}

/* A JSON number field of @line, or -1. */
static long long jnum(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

FIXTURE(global) {
	struct scratch s;
};

FIXTURE_SETUP(global)
{
	scratch_save_params(&self->s);
	ASSERT_EQ(0, brd_ensure(4, 64));
}

FIXTURE_TEARDOWN_PARENT(global)
{
	static const char *const devs[] = {
		ORIG, STORE, "/dev/ram2", "/dev/ram3", NULL,
	};

	if (access("/sys/module/blksnap", F_OK))
		blksnap_insmod();
	if (!access(TRACEFS "/events/blksnap/enable", F_OK))
		write_str(TRACEFS "/events/blksnap/enable", "0");
	scratch_release(NULL, devs, NULL, NULL);
	scratch_restore_params(&self->s);
}

/*
 * Attach, TAKE, writes to 5 distinct chunks (twice), DESTROY, detach: the
 * status file follows, and its CBT fields are what cbtinfo says.
 */
TEST_F(global, device_snapshot_lifecycle)
{
	static const int chunks[] = { 0, 3, 17, 100, 255 };
	char line[1024], id[40], val[64], gen[40], has[80];
	struct blksnap_cbtinfo ci;
	struct blksnap_uuid sid;
	int cfd, fd;

	ASSERT_EQ(0, status_read()) TH_LOG("no %s: %s", STATUS,
					   strerror(errno));
	cfd = ctl_open();
	ASSERT_LE(0, cfd);
	fd = open(ORIG, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));

	ASSERT_EQ(0, status_read());
	ASSERT_TRUE(status_line("version ", NULL, line, sizeof(line)));
	ASSERT_TRUE(status_line("device ", "name=ram0", line, sizeof(line)))
		TH_LOG("status:\n%s", st_buf);
	EXPECT_TRUE(field(line, "dev", val, sizeof(val)));
	EXPECT_STREQ("1:0", val);
	EXPECT_EQ(DEVSZ / 512, nfield(line, "sectors"));
	EXPECT_TRUE(field(line, "snapshot", val, sizeof(val)));
	EXPECT_STREQ("-", val);

	ASSERT_EQ(0, snap_create(cfd, &sid));
	uuid_str(&sid, id);
	ASSERT_EQ(0, snap_add(fd, &sid));
	ASSERT_EQ(0, snap_append_range(cfd, &sid, STORE, 0, DEVSZ / 512));
	ASSERT_EQ(0, status_read());
	snprintf(has, sizeof(has), "id=%s", id);
	ASSERT_TRUE(status_line("snapshot ", has, line, sizeof(line)))
		TH_LOG("status:\n%s", st_buf);
	EXPECT_TRUE(field(line, "state", val, sizeof(val)));
	EXPECT_STREQ("created", val);
	EXPECT_EQ(DEVSZ / 512, nfield(line, "storage_total"));
	EXPECT_EQ(0, nfield(line, "storage_used"));
	EXPECT_LE(1, nfield(line, "events"));	/* the first low-space one */
	ASSERT_TRUE(member_line(id, line, sizeof(line)));
	EXPECT_EQ(-1, nfield(line, "copied"));	/* "-": not taken */

	ASSERT_EQ(0, snap_take(cfd, &sid));
	ASSERT_EQ(0, cbt_info(fd, &ci));
	uuid_str(&ci.generation_id, gen);
	ASSERT_EQ(0, status_read());
	ASSERT_TRUE(status_line("device ", "name=ram0", line, sizeof(line)));
	EXPECT_TRUE(field(line, "generation", val, sizeof(val)));
	EXPECT_STREQ(gen, val);
	EXPECT_EQ(ci.block_size, nfield(line, "block_size"));
	EXPECT_EQ(ci.block_count, nfield(line, "block_count"));
	EXPECT_EQ(ci.changes_number, nfield(line, "changes"));
	EXPECT_TRUE(field(line, "snapshot", val, sizeof(val)));
	EXPECT_STREQ(id, val);
	ASSERT_TRUE(status_line("snapshot ", has, line, sizeof(line)));
	EXPECT_TRUE(field(line, "state", val, sizeof(val)));
	EXPECT_STREQ("taken", val);
	EXPECT_EQ(1, nfield(line, "devices"));
	EXPECT_EQ(0, nfield(line, "storage_used"));
	ASSERT_TRUE(member_line(id, line, sizeof(line)));
	EXPECT_TRUE(field(line, "name", val, sizeof(val)));
	EXPECT_STREQ("ram0", val);
	EXPECT_TRUE(field(line, "image", val, sizeof(val)));
	EXPECT_STREQ("blksnap-image_1:0", val);
	EXPECT_EQ(CHUNK, nfield(line, "chunk_size"));
	EXPECT_EQ(DEVSZ / CHUNK, nfield(line, "chunks"));
	EXPECT_EQ(0, nfield(line, "copied"));
	EXPECT_EQ(0, nfield(line, "error"));

	/* N distinct chunks written: N copied, N chunks of storage used */
	ASSERT_EQ(0, write_chunks(fd, chunks, 3, 5));
	ASSERT_TRUE(member_settled(id, line, sizeof(line)));
	EXPECT_EQ(3, nfield(line, "copied"));
	ASSERT_TRUE(status_line("snapshot ", has, line, sizeof(line)));
	EXPECT_EQ(3 * CHUNK / 512, nfield(line, "storage_used"));
	ASSERT_EQ(0, write_chunks(fd, chunks, 5, 6));
	ASSERT_TRUE(member_settled(id, line, sizeof(line)));
	EXPECT_EQ(5, nfield(line, "copied")) TH_LOG("%s", line);
	EXPECT_EQ(0, nfield(line, "storing"));
	ASSERT_TRUE(status_line("snapshot ", has, line, sizeof(line)));
	EXPECT_EQ(5 * CHUNK / 512, nfield(line, "storage_used"));
	/* chunks copied once are not copied again */
	ASSERT_EQ(0, write_chunks(fd, chunks, 5, 7));
	ASSERT_TRUE(member_settled(id, line, sizeof(line)));
	EXPECT_EQ(5, nfield(line, "copied"));

	ASSERT_EQ(0, snap_destroy(cfd, &sid));
	ASSERT_EQ(0, status_read());
	EXPECT_FALSE(status_line("snapshot ", has, line, sizeof(line)))
		TH_LOG("status:\n%s", st_buf);
	EXPECT_FALSE(member_line(id, line, sizeof(line)));
	ASSERT_TRUE(status_line("device ", "name=ram0", line, sizeof(line)));
	EXPECT_TRUE(field(line, "snapshot", val, sizeof(val)));
	EXPECT_STREQ("-", val);

	ASSERT_EQ(0, bf_detach(fd));
	ASSERT_EQ(0, status_read());
	EXPECT_FALSE(status_line("device ", "name=ram0", line, sizeof(line)))
		TH_LOG("status:\n%s", st_buf);
	close(fd);
	close(cfd);
}

static atomic_int readers_stop;

struct reader {
	int reads;
	int bad;
	int err;
};

/* Read the status file until told to stop; every read must parse. */
static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	char *buf = malloc(65536);

	while (buf && !atomic_load(&readers_stop)) {
		int fd = open(STATUS, O_RDONLY | O_CLOEXEC);
		ssize_t n, len = 0;

		if (fd < 0) {
			r->err = errno;
			break;
		}
		while ((n = read(fd, buf + len, 65535 - len)) > 0)
			len += n;
		close(fd);
		if (n < 0) {
			r->err = errno;
			break;
		}
		buf[len] = 0;
		if (strncmp(buf, "version ", 8) || buf[len - 1] != '\n')
			r->bad++;
		r->reads++;
	}
	free(buf);
	return NULL;
}

/*
 * Four readers of the status file while two devices go through 15 rounds
 * of attach, CREATE, TAKE, writes, DESTROY and detach.
 */
TEST_F_TIMEOUT(global, concurrent_readers, 240)
{
	static const int chunks[] = { 1, 2, 3, 4 };
	struct reader r[4] = {};
	pthread_t th[4];
	struct blksnap_uuid sid;
	int i, round, cfd, fd[2];

	ASSERT_EQ(0, access(STATUS, R_OK));
	cfd = ctl_open();
	ASSERT_LE(0, cfd);
	fd[0] = open(ORIG, O_RDWR | O_DIRECT);
	fd[1] = open("/dev/ram2", O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd[0]);
	ASSERT_LE(0, fd[1]);
	atomic_store(&readers_stop, 0);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, reader_fn, &r[i]));
	for (round = 0; round < 15; round++) {
		ASSERT_EQ(0, bf_attach(fd[0]));
		ASSERT_EQ(0, bf_attach(fd[1]));
		ASSERT_EQ(0, snap_create_take(cfd, &sid, fd, 2, STORE, 0,
					      DEVSZ / 512));
		ASSERT_EQ(0, write_chunks(fd[0], chunks, 4, round));
		ASSERT_EQ(0, write_chunks(fd[1], chunks, 2, round));
		ASSERT_EQ(0, snap_destroy(cfd, &sid));
		ASSERT_EQ(0, bf_detach(fd[0]));
		ASSERT_EQ(0, bf_detach(fd[1]));
	}
	atomic_store(&readers_stop, 1);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, r[i].err);
		EXPECT_EQ(0, r[i].bad);
		EXPECT_LT(0, r[i].reads);
		TH_LOG("reader %d: %d reads", i, r[i].reads);
	}
	ASSERT_EQ(0, status_read());
	EXPECT_EQ(NULL, strstr(st_buf, "\ndevice "));
	EXPECT_EQ(NULL, strstr(st_buf, "\nsnapshot "));
	close(fd[0]);
	close(fd[1]);
	close(cfd);
}

/*
 * events/blksnap: attach, TAKE with a duration, one COW per chunk written
 * with its bytes and latency; then storage of 2 chunks overflowed by a
 * third: low space, overflow and corruption (ENOSPC), which the status
 * file shows too.
 */
TEST_F(global, tracepoints)
{
	static const int chunks[] = { 5, 6, 7 };
	char line[1024], id[40], has[80];
	struct blksnap_uuid sid;
	int cfd, fd;

	ASSERT_EQ(0, tracefs_ready());
	ASSERT_EQ(0, access(TRACEFS "/events/blksnap/blksnap_take/enable",
			    F_OK)) TH_LOG("no blksnap events in tracefs");
	ASSERT_EQ(0, write_str(TRACEFS "/trace", ""));
	ASSERT_EQ(0, write_str(TRACEFS "/events/blksnap/enable", "1"));
	cfd = ctl_open();
	ASSERT_LE(0, cfd);
	fd = open(ORIG, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));
	ASSERT_EQ(0, snap_create_take(cfd, &sid, &fd, 1, STORE, 0,
				      DEVSZ / 512));
	ASSERT_EQ(0, write_chunks(fd, chunks, 3, 1));
	ASSERT_EQ(0, snap_destroy(cfd, &sid));
	ASSERT_EQ(0, bf_detach(fd));

	ASSERT_EQ(0, trace_read());
	EXPECT_EQ(1, trace_count("blksnap_attach", "dev=1:0 "));
	EXPECT_EQ(1, trace_count("blksnap_detach", "dev=1:0"));
	ASSERT_EQ(1, trace_count("blksnap_take", "ret=0"))
		TH_LOG("trace:\n%.4000s", trace_buf);
	ASSERT_TRUE(trace_line("blksnap_take", line, sizeof(line)));
	EXPECT_LT(0, nfield(line, "duration_ns")) TH_LOG("%s", line);
	EXPECT_EQ(1, nfield(line, "devices"));
	EXPECT_EQ(3, trace_count("blksnap_cow", "dev=1:0 "));
	EXPECT_EQ(1, trace_count("blksnap_cow", " chunk=6 bytes=262144 "));
	ASSERT_TRUE(trace_line("blksnap_cow", line, sizeof(line)));
	EXPECT_EQ(CHUNK, nfield(line, "bytes"));
	EXPECT_LT(0, nfield(line, "latency_ns")) TH_LOG("%s", line);

	/* 2 chunks of storage, 3 chunks written */
	ASSERT_EQ(0, write_str(TRACEFS "/trace", ""));
	ASSERT_EQ(0, param_write_ll("diff_storage_minimum", 4 * CHUNK / 512));
	ASSERT_EQ(0, bf_attach(fd));
	ASSERT_EQ(0, snap_create_take(cfd, &sid, &fd, 1, STORE, 0,
				      2 * CHUNK / 512));
	uuid_str(&sid, id);
	ASSERT_EQ(0, write_chunks(fd, chunks, 3, 2));
	ASSERT_EQ(0, trace_read());
	EXPECT_EQ(2, trace_count("blksnap_cow", NULL));
	EXPECT_LE(1, trace_count("blksnap_storage_low", NULL));
	EXPECT_EQ(1, trace_count("blksnap_storage_overflow",
				 "total=1024 used=1024 wanted=512"))
		TH_LOG("trace:\n%.4000s", trace_buf);
	EXPECT_EQ(1, trace_count("blksnap_corrupted", "dev=1:0 error=-28"));
	ASSERT_TRUE(member_line(id, line, sizeof(line)));
	EXPECT_EQ(-ENOSPC, nfield(line, "error")) TH_LOG("%s", line);
	EXPECT_EQ(2, nfield(line, "copied"));
	snprintf(has, sizeof(has), "id=%s", id);
	ASSERT_TRUE(status_line("snapshot ", has, line, sizeof(line)));
	EXPECT_EQ(2 * CHUNK / 512, nfield(line, "storage_used"));
	EXPECT_EQ(2 * CHUNK / 512, nfield(line, "storage_total"));
	ASSERT_EQ(0, snap_destroy(cfd, &sid));
	ASSERT_EQ(0, bf_detach(fd));
	ASSERT_EQ(0, write_str(TRACEFS "/events/blksnap/enable", "0"));
	close(fd);
	close(cfd);
}

/* Run the tool in a mount namespace of its own without debugfs. */
static int tool_without_debugfs(const char *args)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (!pid) {
		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    umount2("/sys/kernel/debug", MNT_DETACH))
			_exit(100);
		st = tool("%s", args);
		_exit(strstr(out, "debugfs is not mounted") ? st : 101);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * blksnapctl status --json: a live snapshot with its storage fill and
 * copied chunks; {"loaded":false} and exit code 12 without the module;
 * a mount hint and exit code 4 without debugfs.
 */
TEST_F_TIMEOUT(global, blksnapctl_status_json, 120)
{
	static const int chunks[] = { 9, 10, 11, 12 };
	char line[2048], id[40];
	struct blksnap_uuid sid;
	int cfd, fd;

	ASSERT_EQ(0, access(TOOL, X_OK));
	cfd = ctl_open();
	ASSERT_LE(0, cfd);
	fd = open(ORIG, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bf_attach(fd));
	ASSERT_EQ(0, snap_create_take(cfd, &sid, &fd, 1, STORE, 0,
				      DEVSZ / 512));
	uuid_str(&sid, id);
	ASSERT_EQ(0, write_chunks(fd, chunks, 4, 3));
	ASSERT_TRUE(member_settled(id, line, sizeof(line)));

	ASSERT_EQ(0, tool("--json status"));
	ASSERT_EQ(0, strncmp(out, "{\"loaded\":true,", 15));
	EXPECT_EQ(1, jnum(out, "snapshots"));
	ASSERT_NE(NULL, out_line("\"type\":\"device\"", line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, "\"name\":\"ram0\""));
	EXPECT_NE(NULL, strstr(line, id));
	ASSERT_NE(NULL, out_line("\"type\":\"snapshot\"", line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, id));
	EXPECT_NE(NULL, strstr(line, "\"state\":\"taken\""));
	EXPECT_EQ(4 * CHUNK / 512, jnum(line, "storage_used"));
	EXPECT_EQ(DEVSZ / 512, jnum(line, "storage_total"));
	EXPECT_EQ(4, jnum(line, "copied_chunks"));
	EXPECT_NE(NULL, strstr(line, "\"members\":[\"ram0\"]"));
	EXPECT_NE(NULL, strstr(line, "\"images\":[\"blksnap-image_1:0\"]"));
	ASSERT_NE(NULL, out_line("\"type\":\"member\"", line, sizeof(line)));
	EXPECT_EQ(4, jnum(line, "copied_chunks"));
	EXPECT_EQ(0, jnum(line, "error"));
	EXPECT_EQ(0, tool("status"));
	EXPECT_NE(NULL, strstr(out, "4 chunk(s) copied"));

	EXPECT_EQ(4, tool_without_debugfs("--json status"));
	ASSERT_EQ(0, snap_destroy(cfd, &sid));
	ASSERT_EQ(0, bf_detach(fd));
	close(fd);
	close(cfd);

	ASSERT_EQ(0, system("rmmod blksnap"));
	EXPECT_EQ(12, tool("--json status"));
	EXPECT_EQ(0, strncmp(out, "{\"loaded\":false,", 16));
	EXPECT_NE(NULL, strstr(out, "not loaded"));
	EXPECT_EQ(12, tool("status"));
	ASSERT_EQ(0, blksnap_insmod());
	cfd = ctl_open();
	ASSERT_LE(0, cfd);
	close(cfd);
}

TEST_HARNESS_MAIN
