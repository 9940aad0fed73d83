// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl host-test build: a fake device layer, linked instead of
 * dev.c by "make fake".  Never installed.  Everything lives in the
 * directory $BLKSNAPCTL_FAKE:
 *
 *   any regular file      a "block device"; its size is the capacity
 *   FILE.cbt              its blksnap filter (absent: not attached), lines
 *                         generation_id=UUID changes_number=N
 *                         block_size=N image=NAME error_code=N
 *   FILE.map              its CBT map (absent: all zero)
 *   FILE.dirty            cbtdirty ranges received, "offset count" lines
 *   NAME                  the image named by FILE.cbt (a regular file)
 *   snapshots             UUIDs of existing snapshots, one a line
 *   append.log            APPEND_STORAGE calls, "uuid path offset count"
 *   sys/                  stands in for /sys
 *
 * Faults, from the environment:
 *   BLKSNAPCTL_FAKE_FAULT=eio@OFF     image reads reaching byte OFF: EIO
 *   BLKSNAPCTL_FAKE_FAULT=enospc@OFF  output writes reaching OFF: ENOSPC
 *   BLKSNAPCTL_FAKE_FAULT=sigint@OFF  SIGINT to itself when reads reach OFF
 *   BLKSNAPCTL_FAKE_MAXALLOC=BYTES    fallocate above BYTES: ENOSPC
 *   BLKSNAPCTL_FAKE_FSTYPE=MAGIC      the statfs f_type of every file
 *   BLKSNAPCTL_FAKE_EVENTS=lfs:SECTORS,...  WAIT_EVENT answers, then ESRCH
 *   BLKSNAPCTL_FAKE_NOMODULE=1        no module: no control node, and the
 *                                     BLKFILTER ioctls fail with EINVAL
 *   BLKSNAPCTL_FAKE_TAKE_NEEDS_STORAGE=1  TAKE of a snapshot with nothing
 *                                     in append.log: ENOSPC, as the kernel
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include "blksnapctl.h"

static const char *fakedir(void)
{
	const char *d = getenv("BLKSNAPCTL_FAKE");

	if (!d || !*d) {
		msg("fake device layer: BLKSNAPCTL_FAKE is not set");
		exit(EX_FAIL);
	}
	return d;
}

int is_bdev(const struct stat *st)
{
	return S_ISREG(st->st_mode) || S_ISBLK(st->st_mode);
}

int open_bdev(const char *path, int *fd)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (!is_bdev(&st))
		return -ENOTBLK;
	*fd = open(path, O_RDWR | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

int bdev_size(int fd, uint64_t *bytes)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	*bytes = st.st_size;
	return 0;
}

static int fd_path(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

struct fakecbt {
	struct blksnap_uuid gen;
	unsigned int changes, bsize;
	int error;
	char image[200];
};

static int read_cbt(int fd, char *path, size_t len, struct fakecbt *c)
{
	char meta[4200], line[256], val[200];
	FILE *f;

	if (fd_path(fd, path, len))
		return -EBADF;
	snprintf(meta, sizeof(meta), "%s.cbt", path);
	f = fopen(meta, "re");
	if (!f)
		return -ENOENT;
	memset(c, 0, sizeof(*c));
	c->bsize = 65536;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "generation_id=%199s", val) == 1)
			uuid_parse(val, &c->gen);
		sscanf(line, "changes_number=%u", &c->changes);
		sscanf(line, "block_size=%u", &c->bsize);
		sscanf(line, "error_code=%d", &c->error);
		if (sscanf(line, "image=%199s", val) == 1)
			snprintf(c->image, sizeof(c->image), "%s", val);
	}
	fclose(f);
	return 0;
}

static int fake_filter_name(int fd, unsigned long cmd)
{
	char path[4096], meta[4200];
	struct fakecbt c;
	int ret = read_cbt(fd, path, sizeof(path), &c);

	if (cmd == BLKFILTER_ATTACH) {
		FILE *f;

		if (!ret)
			return -EALREADY;
		snprintf(meta, sizeof(meta), "%s.cbt", path);
		f = fopen(meta, "we");
		if (!f)
			return -errno;
		fprintf(f, "generation_id=%08x-0000-4000-8000-000000000000\nchanges_number=0\n",
			(unsigned int)getpid());
		fclose(f);
		return 0;
	}
	if (ret)
		return ret;
	snprintf(meta, sizeof(meta), "%s.cbt", path);
	return unlink(meta) ? -errno : 0;
}

static int fake_filter_ctl(int fd, unsigned int cmd, void *opt,
			   unsigned int optlen)
{
	char path[4096], name[4200];
	struct fakecbt c;
	uint64_t size = 0;
	int ret;
	FILE *f;

	(void)optlen;
	ret = read_cbt(fd, path, sizeof(path), &c);
	if (ret)
		return ret;
	if (bdev_size(fd, &size))
		return -EIO;
	switch (cmd) {
	case blkfilter_ctl_blksnap_cbtinfo: {
		struct blksnap_cbtinfo *i = opt;

		i->device_capacity = size;
		i->block_size = c.bsize;
		i->block_count = (size + c.bsize - 1) / c.bsize;
		i->generation_id = c.gen;
		i->changes_number = c.changes;
		return 0;
	}
	case blkfilter_ctl_blksnap_cbtmap: {
		struct blksnap_cbtmap *m = opt;
		uint32_t count = (size + c.bsize - 1) / c.bsize, n;

		if (m->offset >= count)
			return -EINVAL;
		n = count - m->offset < m->length ? count - m->offset :
						    m->length;
		memset(m->buffer, 0, n);
		snprintf(name, sizeof(name), "%s.map", path);
		f = fopen(name, "re");
		if (f) {
			if (!fseek(f, m->offset, SEEK_SET))
				n = fread(m->buffer, 1, n, f) ? n : n;
			fclose(f);
		}
		return n;
	}
	case blkfilter_ctl_blksnap_cbtdirty: {
		struct blksnap_cbtdirty *d = opt;
		unsigned int k;

		snprintf(name, sizeof(name), "%s.dirty", path);
		f = fopen(name, "ae");
		if (!f)
			return -errno;
		for (k = 0; k < d->count; k++)
			fprintf(f, "%llu %llu\n",
				(unsigned long long)d->dirty_sectors[k].offset,
				(unsigned long long)d->dirty_sectors[k].count);
		fclose(f);
		return 0;
	}
	case blkfilter_ctl_blksnap_snapshotinfo: {
		struct blksnap_snapshotinfo *s = opt;

		s->error_code = c.error;
		memset(s->image, 0, sizeof(s->image));
		memcpy(s->image, c.image,
		       strnlen(c.image, sizeof(s->image) - 1));
		return 0;
	}
	case blkfilter_ctl_blksnap_snapshotadd:
		return 0;
	}
	return -ENOTTY;
}

/* BLKSNAPCTL_FAKE_NOMODULE set: as if the module were not loaded. */
int module_loaded(void)
{
	return !getenv("BLKSNAPCTL_FAKE_NOMODULE");
}

int ctl_open(int *fd)
{
	char path[4096];

	if (!module_loaded()) {
		*fd = -1;
		module_missing();
		return -ENXIO;
	}
	snprintf(path, sizeof(path), "%s/ctl", fakedir());
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	return *fd < 0 ? -errno : 0;
}

static int snapshot_exists(const struct blksnap_uuid *id)
{
	char path[4096], line[128];
	struct blksnap_uuid x;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/snapshots", fakedir());
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		found = !uuid_parse(line, &x) && !memcmp(&x, id, sizeof(x));
	}
	if (f)
		fclose(f);
	return found;
}

/* Whether append.log has a range for snapshot @id. */
static int has_storage(const struct blksnap_uuid *id)
{
	char path[4096], line[4400], uuid[40];
	int found = 0;
	FILE *f;

	uuid_format(id, uuid);
	snprintf(path, sizeof(path), "%s/append.log", fakedir());
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f))
		found = !strncmp(line, uuid, strlen(uuid));
	if (f)
		fclose(f);
	return found;
}

static int fake_event(struct blksnap_snapshot_event *ev)
{
	static int pos;
	const char *s = getenv("BLKSNAPCTL_FAKE_EVENTS");
	int i;

	if (!snapshot_exists(&ev->id))
		return -ESRCH;
	for (i = 0; s && *s && i < pos; i++) {
		s = strchr(s, ',');
		s = s ? s + 1 : NULL;
	}
	pos++;
	if (!s || !*s)
		return -ESRCH;	/* destroyed while waiting */
	if (!strncmp(s, "lfs:", 4)) {
		struct blksnap_event_low_free_space *l = (void *)ev->data;

		ev->code = blksnap_event_code_low_free_space;
		l->requested_nr_sect = strtoull(s + 4, NULL, 10);
		return 0;
	}
	return -ENOENT;
}

static int fake_ctl_ioctl(int fd, unsigned long cmd, void *arg)
{
	char path[4096], uuid[40];
	unsigned int i;
	FILE *f;

	(void)fd;
	if (cmd == IOCTL_BLKSNAP_VERSION) {
		struct blksnap_version *v = arg;

		v->major = 2;
		return 0;
	}
	if (cmd == IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE) {
		struct blksnap_snapshot_append_storage *a = arg;

		if (!snapshot_exists(&a->id))
			return -ESRCH;
		snprintf(path, sizeof(path), "%s/append.log", fakedir());
		f = fopen(path, "ae");
		if (!f)
			return -errno;
		uuid_format(&a->id, uuid);
		for (i = 0; i < a->count; i++)
			fprintf(f, "%s %s %llu %llu\n", uuid,
				(char *)a->bdev_path,
				(unsigned long long)a->ranges[i].offset,
				(unsigned long long)a->ranges[i].count);
		fclose(f);
		return 0;
	}
	if (cmd == IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT)
		return fake_event(arg);
	if (cmd == IOCTL_BLKSNAP_SNAPSHOT_COLLECT) {
		struct blksnap_snapshot_collect *c = arg;
		struct blksnap_uuid ids[64];
		char line[128];
		unsigned int n = 0;

		snprintf(path, sizeof(path), "%s/snapshots", fakedir());
		f = fopen(path, "re");
		while (f && n < 64 && fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			if (!uuid_parse(line, &ids[n]))
				n++;
		}
		if (f)
			fclose(f);
		if (!c->ids) {
			c->count = n;
			return 0;
		}
		if (c->count < n) {
			c->count = n;
			return -ENODATA;
		}
		memcpy(c->ids, ids, n * sizeof(ids[0]));
		c->count = n;
		return 0;
	}
	if (cmd == IOCTL_BLKSNAP_SNAPSHOT_DESTROY)
		return snapshot_exists(arg) ? 0 : -ENODEV;
	if (cmd == IOCTL_BLKSNAP_SNAPSHOT_TAKE) {
		if (!snapshot_exists(arg))
			return -ESRCH;
		if (getenv("BLKSNAPCTL_FAKE_TAKE_NEEDS_STORAGE") &&
		    !has_storage(arg))
			return -ENOSPC;
		return 0;
	}
	return -ENOTTY;
}

/*
 * libblksnap's ioctl hook: every request of the library lands here instead
 * of in the kernel.
 */
static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	struct blkfilter_ctl *ctl = arg;

	if (!module_loaded() && (req == BLKFILTER_ATTACH ||
				 req == BLKFILTER_DETACH ||
				 req == BLKFILTER_CTL))
		return -EINVAL;
	if (req == BLKFILTER_ATTACH || req == BLKFILTER_DETACH)
		return fake_filter_name(fd, req);
	if (req == BLKFILTER_CTL)
		return fake_filter_ctl(fd, ctl->cmd,
				       (void *)(uintptr_t)ctl->opt,
				       ctl->optlen);
	return fake_ctl_ioctl(fd, req, arg);
}

static void __attribute__((constructor)) fake_init(void)
{
	blksnap_set_ioctl_hook(fake_ioctl);
}

const char *sysfs_root(void)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/sys", fakedir());
	return buf;
}

int image_path(const char *name, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", fakedir(), name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* "KIND@OFFSET" of BLKSNAPCTL_FAKE_FAULT for @kind, or -1. */
static long long fault_at(const char *kind)
{
	const char *s = getenv("BLKSNAPCTL_FAKE_FAULT");
	size_t n = strlen(kind);

	if (!s || strncmp(s, kind, n) || s[n] != '@')
		return -1;
	return strtoll(s + n + 1, NULL, 10);
}

ssize_t img_pread(int fd, void *buf, size_t n, uint64_t off)
{
	static int signalled;
	long long at = fault_at("eio");

	if (at >= 0 && off + n > (uint64_t)at) {
		errno = EIO;
		return -1;
	}
	at = fault_at("sigint");
	if (at >= 0 && off + n > (uint64_t)at && !signalled) {
		signalled = 1;
		kill(getpid(), SIGINT);
	}
	return pread(fd, buf, n, off);
}

ssize_t out_pwrite(int fd, const void *buf, size_t n, uint64_t off)
{
	long long at = fault_at("enospc");

	if (at >= 0 && off + n > (uint64_t)at) {
		errno = ENOSPC;
		return -1;
	}
	return pwrite(fd, buf, n, off);
}

int file_fallocate(int fd, uint64_t size)
{
	const char *m = getenv("BLKSNAPCTL_FAKE_MAXALLOC");

	if (m && size > strtoull(m, NULL, 10))
		return -ENOSPC;
	return fallocate(fd, 0, 0, size) ? -errno : 0;
}

int fs_type(int fd, unsigned long *type)
{
	const char *t = getenv("BLKSNAPCTL_FAKE_FSTYPE");
	struct statfs sf;

	if (fstatfs(fd, &sf))
		return -errno;
	*type = t ? strtoul(t, NULL, 0) : (unsigned long)sf.f_type;
	return 0;
}

int storage_bdev_of(dev_t dev, char *buf, size_t len)
{
	snprintf(buf, len, "%s/bdev-%u:%u", fakedir(), major(dev), minor(dev));
	return 0;
}
