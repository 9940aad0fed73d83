// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * minimal-agent: the smallest complete backup agent on libblksnap alone
 * (no code of the GPL tool): a full and then an incremental backup of one
 * block device into one file, with storage files that an event thread
 * adds as the snapshot asks for more.
 *
 *   minimal-agent [--pre CMD] [--post CMD] [--step MIB] DEV STORAGE_DIR FILE
 *
 * DEV        the device to back up (the blksnap filter is attached on it
 *            if it is not yet, and left attached: the change history must
 *            outlive the agent)
 * STORAGE_DIR a directory on ext4 or xfs, not on DEV, for the difference
 *            storage: files "storage-N" created, made immutable, appended,
 *            and removed when the snapshot is gone
 * FILE       the backup: a full copy, then the incremental changes
 *            written into it, so that it ends as DEV was at the second
 *            TAKE
 * --pre, --post  commands run (sh -c) just before and just after each
 *            TAKE, with BLKSNAP_AGENT_STEP=full or incremental in the
 *            environment: where a real agent quiesces an application
 * --step MIB the size of each storage file (default 64)
 *
 * A real agent keeps the CBT state of its last backup on disk next to the
 * backup, and replaces both atomically (Documentation/agent-guide.rst, "The
 * base and the state"); here the state lives in memory between the two
 * backups of one run.  Build: cc -o minimal-agent minimal-agent.c
 * $(pkg-config --cflags --libs blksnap) -pthread.  tests/example_agent.c
 * runs it in the test suite while the device is written, and checks both
 * backups byte for byte.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <blksnap.h>

#define COPY_BUF (1U << 20)

/* [guide:minimal-storage] */
/* What the event thread and the main thread share about one snapshot. */
struct storage {
	int cfd;			/* /dev/blksnap-control */
	struct blksnap_uuid id;
	const char *dir;		/* where the storage files go */
	char bdev[160];			/* the device of that file system */
	uint64_t step;			/* bytes per file, at least */
	pthread_mutex_t lock;		/* protects nfiles, appended */
	unsigned int nfiles;
	uint64_t appended;
	int corrupted;			/* set by the event thread */
};

/*
 * The node of the block device holding @dir's file system: the device
 * ranges of a storage file are sectors of it.
 */
static int storage_bdev(const char *dir, char *buf, size_t len)
{
	char path[64], line[128];
	struct stat st;
	int ret = -ENOENT;
	FILE *f;

	if (stat(dir, &st))
		return -errno;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent",
		 major(st.st_dev), minor(st.st_dev));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "DEVNAME=", 8)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(buf, len, "/dev/%s", line + 8);
			ret = 0;
		}
	fclose(f);
	return ret;
}

/* One more storage file of at least @bytes: 0 or -errno. */
static int storage_grow(struct storage *s, uint64_t bytes)
{
	struct blksnap_map_error why;
	char path[4096];
	unsigned int n;
	int ret;

	if (bytes < s->step)
		bytes = s->step;
	pthread_mutex_lock(&s->lock);
	n = s->nfiles++;
	pthread_mutex_unlock(&s->lock);
	snprintf(path, sizeof(path), "%s/storage-%u", s->dir, n);
	ret = blksnap_storage_file_append(s->cfd, &s->id, path, s->bdev,
					  bytes, &why);
	if (ret) {
		fprintf(stderr, "storage %s: %s (map fault %d at %" PRIu64 ")\n",
			path, strerror(-ret), why.fault, why.offset);
		return ret;
	}
	pthread_mutex_lock(&s->lock);
	s->appended += bytes;
	pthread_mutex_unlock(&s->lock);
	printf("storage %s: %" PRIu64 " bytes appended\n", path, bytes);
	return 0;
}

/* Clear the immutable flag of every storage file and remove it. */
static void storage_release(struct storage *s)
{
	char path[4096];
	unsigned int i;
	int fd;

	for (i = 0; i < s->nfiles; i++) {
		snprintf(path, sizeof(path), "%s/storage-%u", s->dir, i);
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		blksnap_file_set_immutable(fd, 0);
		close(fd);
		unlink(path);
	}
	s->nfiles = 0;
}

/* [end:minimal-storage] */

/* [guide:minimal-events] */
/*
 * The event thread, from CREATE until DESTROY: low free space adds a
 * file of the size asked for; a corrupted device fails the backup;
 * -ESRCH means the snapshot is gone.
 */
static void *event_thread(void *arg)
{
	struct storage *s = arg;
	struct blksnap_snapshot_event *ev = malloc(sizeof(*ev));
	int ret;

	while (ev) {
		ret = blksnap_wait_event(s->cfd, &s->id, 1000, ev);
		if (ret == -ENOENT || ret == -EINTR)
			continue;
		if (ret)
			break;	/* -ESRCH: destroyed */
		if (ev->code == blksnap_event_code_low_free_space) {
			struct blksnap_event_low_free_space *l =
				(void *)ev->data;

			storage_grow(s, l->requested_nr_sect * 512);
		} else if (ev->code == blksnap_event_code_corrupted) {
			struct blksnap_event_corrupted *c = (void *)ev->data;

			fprintf(stderr, "snapshot corrupted: device %u:%u, %s\n",
				c->dev_id_mj, c->dev_id_mn,
				strerror(c->err_code));
			s->corrupted = 1;
		}
	}
	free(ev);
	return NULL;
}

/* [end:minimal-events] */

/* Run the --pre or --post command, if any. */
static int hook(const char *cmd, int full)
{
	if (!cmd)
		return 0;
	setenv("BLKSNAP_AGENT_STEP", full ? "full" : "incremental", 1);
	return system(cmd) == 0 ? 0 : -ECANCELED;
}

/* [guide:minimal-copy] */
/* Copy bytes [@off, @off + @len) of the image into the backup. */
static int copy_range(int img, int out, char *buf, uint64_t off,
		      uint64_t len)
{
	while (len) {
		size_t n = len < COPY_BUF ? len : COPY_BUF;
		ssize_t r = pread(img, buf, n, off);
		ssize_t w;

		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		w = pwrite(out, buf, r, off);
		if (w != r)
			return w < 0 ? -errno : -EIO;
		off += r;
		len -= r;
	}
	return 0;
}

/*
 * A full copy of the image (@saved NULL), or only the blocks changed
 * since @saved was taken.  *@copied: the bytes copied.
 */
static int copy_image(int dev, int img, int out,
		      const struct blksnap_cbtinfo *saved,
		      const struct blksnap_cbtinfo *now, uint64_t *copied)
{
	uint64_t pos = 0, first, count, off, len;
	uint8_t *map = NULL;
	char *buf = malloc(COPY_BUF);
	int ret;

	*copied = 0;
	if (!buf)
		return -ENOMEM;
	if (!saved) {
		ret = copy_range(img, out, buf, 0, now->device_capacity);
		if (!ret)
			*copied = now->device_capacity;
		goto out;
	}
	map = malloc(now->block_count);
	ret = map ? blksnap_cbt_map_read(dev, 0, now->block_count, map) :
		    -ENOMEM;
	while (!ret && blksnap_cbt_next_run(map, now->block_count,
					    saved->changes_number, &pos,
					    &first, &count)) {
		off = first * now->block_size;
		len = count * now->block_size;
		if (off + len > now->device_capacity)
			len = now->device_capacity - off;
		ret = copy_range(img, out, buf, off, len);
		*copied += len;
	}
out:
	free(map);
	free(buf);
	if (!ret && fsync(out))
		ret = -errno;
	return ret;
}

/* [end:minimal-copy] */

/* [guide:minimal-backup] */
/*
 * One backup of @dev into @out: CREATE, add, storage, TAKE, copy, check,
 * DESTROY.  @saved: the CBT state of the previous backup (NULL: a full
 * one); on success *@now is the state of this one.
 */
static int backup(struct storage *s, int dev, int out, const char *pre,
		  const char *post, const struct blksnap_cbtinfo *saved,
		  struct blksnap_cbtinfo *now)
{
	struct blksnap_snapshotinfo info;
	char image[sizeof(info.image) + 8];
	pthread_t thread;
	uint64_t copied = 0;
	int img, ret, ret2;

	ret = blksnap_snapshot_create(s->cfd, &s->id);
	if (ret)
		return ret;
	s->corrupted = 0;
	ret = blksnap_snapshot_add(dev, &s->id);
	/* storage before TAKE, then the thread grows it */
	if (!ret)
		ret = storage_grow(s, s->step);
	if (!ret)
		ret = -pthread_create(&thread, NULL, event_thread, s);
	if (ret) {
		blksnap_snapshot_destroy(s->cfd, &s->id);
		storage_release(s);
		return ret;
	}
	ret = hook(pre, !saved);
	if (!ret)
		ret = blksnap_snapshot_take(s->cfd, &s->id);
	ret2 = hook(post, !saved);
	if (!ret)
		ret = ret2;
	if (!ret)
		ret = blksnap_snapshot_info(dev, &info);
	if (!ret)
		ret = blksnap_cbt_info(dev, now);
	/* same history, changes number grown: else a full copy */
	if (!ret && saved && blksnap_incremental_check(saved, now))
		saved = NULL;
	if (!ret) {
		snprintf(image, sizeof(image), "/dev/%s", info.image);
		img = open(image, O_RDONLY | O_CLOEXEC);
		ret = img < 0 ? -errno : copy_image(dev, img, out, saved, now,
						    &copied);
		if (img >= 0)
			close(img);
	}
	/* a read that succeeded before a corruption is good; the backup not */
	if (!ret && (blksnap_snapshot_info(dev, &info) || info.error_code ||
		     s->corrupted))
		ret = -EIO;
	if (!ret)
		printf("%s backup: %" PRIu64 " bytes copied, changes number %u\n",
		       saved ? "incremental" : "full", copied,
		       now->changes_number);
	blksnap_snapshot_destroy(s->cfd, &s->id);
	pthread_join(thread, NULL);	/* it ends with -ESRCH */
	storage_release(s);
	return ret;
}

/* [end:minimal-backup] */

static int usage(void)
{
	fprintf(stderr, "usage: minimal-agent [--pre CMD] [--post CMD] [--step MIB] DEV STORAGE_DIR FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct storage s = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct blksnap_cbtinfo full, incr;
	const char *pre = NULL, *post = NULL;
	unsigned long step = 64;
	int i, dev, out, ret;

	for (i = 1; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--pre"))
			pre = argv[i + 1];
		else if (!strcmp(argv[i], "--post"))
			post = argv[i + 1];
		else if (!strcmp(argv[i], "--step"))
			step = strtoul(argv[i + 1], NULL, 0);
		else
			return usage();
	}
	if (argc - i != 3 || !step)
		return usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	s.dir = argv[i + 1];
	s.step = (uint64_t)step << 20;
	ret = storage_bdev(s.dir, s.bdev, sizeof(s.bdev));
	if (ret) {
		fprintf(stderr, "%s: its device: %s\n", s.dir, strerror(-ret));
		return 1;
	}
	s.cfd = blksnap_ctl_open();
	if (s.cfd < 0) {
		fprintf(stderr, "%s: %s%s\n", BLKSNAP_CTL_PATH,
			strerror(-s.cfd), s.cfd == -ENOENT ?
			" (blksnap module not loaded: modprobe blksnap)" : "");
		return 1;
	}
	/* BLKFILTER ioctls on the device's own descriptor */
	dev = open(argv[i], O_RDWR | O_CLOEXEC);
	out = open(argv[i + 2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		   0600);
	if (dev < 0 || out < 0) {
		perror(dev < 0 ? argv[i] : argv[i + 2]);
		return 1;
	}
	ret = blksnap_attach(dev);
	if (ret && ret != -EALREADY) {
		fprintf(stderr, "%s: attach: %s\n", argv[i], strerror(-ret));
		return 1;
	}
	ret = backup(&s, dev, out, pre, post, NULL, &full);
	if (ret) {
		fprintf(stderr, "full backup: %s\n", strerror(-ret));
		return 1;
	}
	ret = backup(&s, dev, out, pre, post, &full, &incr);
	if (ret) {
		fprintf(stderr, "incremental backup: %s\n", strerror(-ret));
		return 1;
	}
	close(out);
	close(dev);
	close(s.cfd);
	return 0;
}
