// SPDX-License-Identifier: GPL-2.0
/*
 * The example backup agent of Documentation/agent-guide.rst: every code
 * block of the guide is a piece of this file (literalinclude between the
 * "guide:" markers), compiled by "make tests-host" and run by the guest
 * test tests/blksnapctl.c, which checks each backup against the image byte
 * for byte, across failed copies and a wrong base.
 *
 *   agent DEV STORAGE_DEV BASE STATEFILE
 *
 * backs up DEV (a block device with the blksnap filter, attached here on
 * the first run) into the file BASE: a full copy the first time and
 * whenever the state says so, else the changed blocks only.  STORAGE_DEV
 * (a whole block device, not otherwise used) holds the snapshot's
 * difference storage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <linux/blk-filter.h>
#include <linux/blksnap.h>

#define AGENT_BUF (1 << 20)

/* The copy's I/O; the guest test replaces them to inject EIO and ENOSPC. */
static ssize_t (*agent_pread)(int fd, void *buf, size_t n, off_t off) = pread;
static ssize_t (*agent_pwrite)(int fd, const void *buf, size_t n,
			       off_t off) = pwrite;

/* [guide:ctl] */
/* A BLKFILTER_CTL command of blksnap: >= 0, or -errno. */
static int ctl_cmd(int dev, unsigned int cmd, void *opt, __u32 len)
{
	struct blkfilter_ctl c = {
		.name = "blksnap",
		.cmd = cmd,
		.optlen = len,
		.opt = (__u64)(uintptr_t)opt,
	};
	int ret = ioctl(dev, BLKFILTER_CTL, &c);

	return ret < 0 ? -errno : ret;
}

/* The whole CBT map: info->block_count bytes into @map. */
static int read_map(int dev, const struct blksnap_cbtinfo *info, __u8 *map)
{
	__u32 off = 0;

	while (off < info->block_count) {
		struct blksnap_cbtmap m = {
			.offset = off,
			.length = info->block_count - off,
			.buffer = map + off,
		};
		int n = ctl_cmd(dev, blkfilter_ctl_blksnap_cbtmap, &m,
				sizeof(m));

		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		off += n;
	}
	return 0;
}

/* [end:ctl] */

/* [guide:state] */
/*
 * What the agent keeps between backups, per device.  The base's identity
 * (size, inode and mtime after the backup) ties the state to the one file
 * it describes: a restored or copied file in its place does not match.
 * (blksnapctl adds a random backup id in an xattr of the base.)
 */
struct agent_state {
	struct blksnap_uuid generation_id;
	unsigned int changes_number;
	unsigned int block_size;
	unsigned long long device_capacity;
	unsigned long long base_size, base_ino;
	long long mtime_sec;
	long mtime_nsec;
};

static int fsync_dir(const char *file)
{
	char dir[4096], *slash;
	int fd, ret;

	snprintf(dir, sizeof(dir), "%s", file);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	else
		strcpy(dir, ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = fsync(fd) ? -errno : 0;
	close(fd);
	return ret;
}

/* Before a backup changes the base: no state may describe it any more. */
static int invalidate_state(const char *state)
{
	if (unlink(state) && errno != ENOENT)
		return -errno;
	return fsync_dir(state);
}

/* A new file "@path.XXXXXX": O_EXCL, never someone else's file. */
static int create_new(const char *path, char *tmp, size_t len)
{
	unsigned int r;
	int i, fd;

	for (i = 0; i < 100; i++) {
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			return -EIO;
		snprintf(tmp, len, "%s.%08x", path, r);
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
			  O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

/* Only after the base is durable: write, fsync, rename, fsync the dir. */
static int save_state(const char *state, const struct agent_state *s)
{
	char tmp[4200];
	int fd, ret = 0;

	fd = create_new(state, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	if (write(fd, s, sizeof(*s)) != (ssize_t)sizeof(*s) || fsync(fd))
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, state))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return ret;
	}
	return fsync_dir(state);
}

static int load_state(const char *state, struct agent_state *s)
{
	int fd = open(state, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, s, sizeof(*s));
	close(fd);
	return n == (ssize_t)sizeof(*s) ? 0 : -EINVAL;
}

/* [end:state] */

/* [guide:decide] */
/*
 * 1: an incremental onto @base is valid; 0: make a full backup; -EINVAL:
 * @base is not the file the state describes (refuse: a wrong base gives a
 * wrong backup with no error).  The CBT rule: same generation AND a
 * changes_number above the saved one.  The same number is the same TAKE
 * (or numbers that wrapped at 255); anything else is a new history.
 */
static int incremental_ok(const struct agent_state *s,
			  const struct blksnap_cbtinfo *info, int base)
{
	struct stat st;

	if (memcmp(&info->generation_id, &s->generation_id,
		   sizeof(s->generation_id)) ||
	    info->changes_number <= s->changes_number ||
	    info->block_size != s->block_size ||
	    info->device_capacity != s->device_capacity)
		return 0;
	if (base < 0)
		return 0;			/* the base is missing */
	if (fstat(base, &st))
		return -errno;
	if ((unsigned long long)st.st_size != s->base_size ||
	    (unsigned long long)st.st_ino != s->base_ino ||
	    st.st_mtim.tv_sec != s->mtime_sec ||
	    st.st_mtim.tv_nsec != s->mtime_nsec)
		return -EINVAL;
	return 1;
}

/* [end:decide] */

/* Copy [off, off + len) of @img to @out (the hooks above do the I/O). */
static int copy_range(int img, int out, __u64 off, __u64 len, char *buf)
{
	while (len) {
		size_t n = len < AGENT_BUF ? len : AGENT_BUF;

		if (agent_pread(img, buf, n, off) != (ssize_t)n)
			return errno ? -errno : -EIO;
		if (agent_pwrite(out, buf, n, off) != (ssize_t)n)
			return errno ? -errno : -ENOSPC;
		off += n;
		len -= n;
	}
	return 0;
}

/* [guide:copy] */
/*
 * Full: a new file next to @base, fsync, rename over @base, fsync the
 * directory.  A failure leaves the old base untouched and no state.
 * Returns the new base's fd or -errno.
 */
static int full_copy(int img, __u64 size, const char *base, char *buf)
{
	char tmp[4200];
	int out, ret;
	__u64 off;

	out = create_new(base, tmp, sizeof(tmp));
	if (out < 0)
		return out;
	ret = ftruncate(out, size) ? -errno : 0;
	for (off = 0; !ret && off < size; off += AGENT_BUF)
		ret = copy_range(img, out, off, size - off < AGENT_BUF ?
				 size - off : AGENT_BUF, buf);
	if (!ret && fsync(out))
		ret = -errno;
	if (!ret && rename(tmp, base))
		ret = -errno;
	if (!ret)
		ret = fsync_dir(base);
	if (ret) {
		close(out);
		unlink(tmp);
		return ret;
	}
	return out;
}

/* Incremental: the blocks whose map byte is above the saved number. */
static int incremental_copy(int img, int out, const __u8 *map,
			    const struct blksnap_cbtinfo *info,
			    unsigned int saved, char *buf)
{
	__u64 i, off, len;
	int ret;

	for (i = 0; i < info->block_count; i++) {
		if (map[i] <= saved)
			continue;
		off = i * (__u64)info->block_size;
		len = info->block_size;
		if (off + len > info->device_capacity)
			len = info->device_capacity - off;
		ret = copy_range(img, out, off, len, buf);
		if (ret)
			return ret;
	}
	return fsync(out) ? -errno : 0;
}

/* [end:copy] */

/* The result of one backup, for the caller (the guest test). */
struct agent_result {
	int full;		/* 1: a full copy was made */
	__u64 copied;		/* blocks copied */
	char image[64];		/* /dev/blksnap-image_M:m */
};

/* [guide:backup] */
/*
 * Back up the taken snapshot of @dev (its image @img) into @base.
 * Every return value is checked; on any error the state is gone or
 * untouched, never describing a base it does not match.
 */
static int backup_image(int dev, int img, const char *base,
			const char *state, struct agent_result *res)
{
	struct blksnap_snapshotinfo si;
	struct blksnap_cbtinfo info;
	struct agent_state s;
	__u8 *map = NULL;
	char *buf = NULL;
	int out, ret, incr = 0;
	struct stat st;

	ret = ctl_cmd(dev, blkfilter_ctl_blksnap_cbtinfo, &info, sizeof(info));
	if (ret < 0)
		return ret;
	out = open(base, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (out < 0 && errno != ENOENT)
		return -errno;
	if (!load_state(state, &s)) {
		incr = incremental_ok(&s, &info, out);
		if (incr < 0) {
			if (out >= 0)
				close(out);
			return incr;	/* wrong base: refuse */
		}
	}
	map = malloc(info.block_count ? info.block_count : 1);
	buf = malloc(AGENT_BUF);
	ret = map && buf ? 0 : -ENOMEM;
	/* the map before DESTROY, with the image not mounted */
	if (!ret && incr)
		ret = read_map(dev, &info, map);
	if (!ret && incr && res) {
		__u32 i;

		for (res->copied = 0, i = 0; i < info.block_count; i++)
			res->copied += map[i] > s.changes_number;
	}
	/* invalidate before the base changes */
	if (!ret)
		ret = invalidate_state(state);
	if (!ret && incr) {
		ret = incremental_copy(img, out, map, &info, s.changes_number,
				       buf);
	} else if (!ret) {
		if (out >= 0)
			close(out);
		out = full_copy(img, info.device_capacity, base, buf);
		ret = out < 0 ? out : 0;
	}
	/* a corrupted snapshot makes the copy worthless */
	if (!ret)
		ret = ctl_cmd(dev, blkfilter_ctl_blksnap_snapshotinfo, &si,
			      sizeof(si));
	if (!ret && si.error_code)
		ret = si.error_code;
	if (!ret && fstat(out, &st))
		ret = -errno;
	if (!ret) {
		memset(&s, 0, sizeof(s));
		s.generation_id = info.generation_id;
		s.changes_number = info.changes_number;
		s.block_size = info.block_size;
		s.device_capacity = info.device_capacity;
		s.base_size = st.st_size;
		s.base_ino = st.st_ino;
		s.mtime_sec = st.st_mtim.tv_sec;
		s.mtime_nsec = st.st_mtim.tv_nsec;
	}
	if (!ret)
		ret = save_state(state, &s);
	if (!ret && res) {
		res->full = !incr;
		if (!incr)
			res->copied = info.block_count;
	}
	if (out >= 0)
		close(out);
	free(map);
	free(buf);
	return ret;
}

/* [end:backup] */

/* [guide:snapshot] */
/*
 * Attach (kept between backups: detaching throws the history away),
 * CREATE, snapshotadd, APPEND_STORAGE (all of @storage), TAKE,
 * snapshotinfo.  On error the snapshot is destroyed.  *@img: the image,
 * open read-only.
 */
static int take_snapshot(int ctl, int dev, const char *storage,
			 struct blksnap_uuid *id, int *img,
			 struct agent_result *res)
{
	struct blkfilter_name bf = { .name = "blksnap" };
	struct blksnap_snapshotadd add;
	struct blksnap_snapshotinfo si;
	struct blksnap_sectors range = { 0 };
	struct blksnap_snapshot_append_storage a = {
		.bdev_path = (__u8 *)storage,
		.bdev_path_size = strlen(storage) + 1,
		.count = 1,
		.ranges = &range,
	};
	__u64 bytes;
	int sfd, ret;

	if (ioctl(dev, BLKFILTER_ATTACH, &bf) && errno != EALREADY)
		return -errno;		/* EALREADY: attached, history kept */
	sfd = open(storage, O_RDONLY | O_CLOEXEC);
	if (sfd < 0)
		return -errno;
	ret = ioctl(sfd, BLKGETSIZE64, &bytes) ? -errno : 0;
	close(sfd);
	if (ret)
		return ret;
	range.count = bytes / 512;
	if (ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_CREATE, id))
		return -errno;
	add.id = *id;
	a.id = *id;
	ret = ctl_cmd(dev, blkfilter_ctl_blksnap_snapshotadd, &add, sizeof(add));
	if (!ret && ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE, &a))
		ret = -errno;
	if (!ret && ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_TAKE, id))
		ret = -errno;
	if (!ret)
		ret = ctl_cmd(dev, blkfilter_ctl_blksnap_snapshotinfo, &si,
			      sizeof(si));
	if (!ret && si.error_code)
		ret = si.error_code;
	if (!ret) {
		snprintf(res->image, sizeof(res->image), "/dev/%.31s",
			 (char *)si.image);
		*img = open(res->image, O_RDONLY | O_CLOEXEC);
		if (*img < 0)
			ret = -errno;
	}
	if (ret)
		ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_DESTROY, id);
	return ret;
}

/* [end:snapshot] */

/* [guide:events] */
/*
 * One thread per snapshot, from CREATE until DESTROY.  @grow appends at
 * least @sectors more storage; *@corrupted is set (a positive errno) when
 * a device of the snapshot is corrupted: its backup has failed.
 */
int event_loop(int ctl, const struct blksnap_uuid *id,
	       int (*grow)(int ctl, const struct blksnap_uuid *id,
			   __u64 sectors),
	       volatile int *corrupted)
{
	struct blksnap_snapshot_event ev;

	for (;;) {
		memset(&ev, 0, sizeof(ev));
		ev.id = *id;
		ev.timeout_ms = 1000;
		if (ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, &ev)) {
			if (errno == ENOENT || errno == EINTR)
				continue;	/* nothing yet */
			return errno == ESRCH ? 0 : -errno; /* destroyed */
		}
		if (ev.code == blksnap_event_code_low_free_space) {
			struct blksnap_event_low_free_space *l =
				(void *)ev.data;

			if (grow(ctl, id, l->requested_nr_sect))
				fprintf(stderr, "agent: no more storage\n");
		} else if (ev.code == blksnap_event_code_corrupted) {
			struct blksnap_event_corrupted *c = (void *)ev.data;

			/* ENOSPC, EIO, ENODEV, EINVAL or ENOMEM */
			*corrupted = c->err_code;
		}
	}
}

/* [end:events] */

/* [guide:recover] */
/*
 * After a crash or a kill: the snapshots of the previous run still exist
 * (their storage is held, their devices copy on write).  List them with
 * COLLECT (probe with no array: the count; then the array) and destroy
 * those this agent made; a file storage of theirs is then released (clear
 * its immutable attribute, delete it).  Never "fix" an EBUSY from DETACH
 * by detaching harder: EBUSY means a snapshot still holds the device.
 * Here every snapshot is the agent's own.
 */
static int destroy_stale(int ctl)
{
	struct blksnap_snapshot_collect c = { .count = 0, .ids = NULL };
	struct blksnap_uuid *ids = NULL;
	unsigned int i;
	int tries;

	for (tries = 0; tries < 10; tries++) {
		if (ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c) &&
		    errno != ENODATA) {
			free(ids);
			return -errno;
		}
		if (ids && c.ids)
			break;		/* filled */
		if (!c.count)
			return 0;	/* none */
		free(ids);
		ids = calloc(c.count + 4, sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		c.count += 4;		/* more may come meanwhile */
		c.ids = ids;
	}
	for (i = 0; ids && i < c.count; i++)
		if (ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &ids[i]) &&
		    errno != ENODEV)
			fprintf(stderr, "agent: DESTROY: %s\n", strerror(errno));
	free(ids);
	return 0;
}

/* [end:recover] */

/* [guide:main] */
/* One backup of @dev: snapshot, copy, DESTROY (whatever happened). */
static int agent_run(const char *dev_path, const char *storage,
		     const char *base, const char *state,
		     struct agent_result *res)
{
	struct blksnap_uuid id;
	int ctl, dev, img = -1, ret;

	ctl = open("/dev/blksnap-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	dev = open(dev_path, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		ret = -errno;
		close(ctl);
		return ret;
	}
	ret = take_snapshot(ctl, dev, storage, &id, &img, res);
	if (!ret) {
		ret = backup_image(dev, img, base, state, res);
		close(img);
		if (ioctl(ctl, IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &id) && !ret)
			ret = -errno;
	}
	close(dev);
	close(ctl);
	return ret;
}

/* [end:main] */

#ifndef AGENT_NO_MAIN
int main(int argc, char **argv)
{
	struct agent_result res = { 0 };
	int ctl, ret;

	if (argc != 5) {
		fprintf(stderr, "usage: agent DEV STORAGE_DEV BASE STATEFILE\n");
		return 2;
	}
	ctl = open("/dev/blksnap-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0 || destroy_stale(ctl)) {
		perror("agent: /dev/blksnap-control");
		return 1;
	}
	close(ctl);
	ret = agent_run(argv[1], argv[2], argv[3], argv[4], &res);
	if (ret) {
		fprintf(stderr, "agent: %s\n", strerror(-ret));
		return 1;
	}
	printf("%s backup of %s into %s (%llu blocks)\n",
	       res.full ? "full" : "incremental", argv[1], argv[3],
	       (unsigned long long)res.copied);
	return 0;
}
#endif
