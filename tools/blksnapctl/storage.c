// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: difference storage (ranges of a block device, or a regular
 * file preallocated and mapped with FIEMAP), the per-snapshot state file
 * under /run/blksnapctl, and the watch loop that grows the storage.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include "blksnapctl.h"

static const char *rundir(void)
{
	const char *d = getenv("BLKSNAPCTL_RUNDIR");

	return d && *d ? d : RUNDIR_DEFAULT;
}

int state_path(const struct blksnap_uuid *id, char *buf, size_t len)
{
	char uuid[40];

	uuid_format(id, uuid);
	if ((size_t)snprintf(buf, len, "%s/%s", rundir(), uuid) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int mkdir_p(const char *dir)
{
	char buf[4096], *p;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", dir) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; ; p++) {
		if (*p && *p != '/')
			continue;
		if (*p == '/')
			*p = 0;
		else
			p = NULL;
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		if (!p)
			return 0;
		*p = '/';
	}
}

/* Append one line to the snapshot's state file (created as needed). */
int state_add_line(const struct blksnap_uuid *id, const char *fmt, ...)
{
	char path[4096], line[8192];
	va_list ap;
	int fd, len, ret = 0;

	if (state_path(id, path, sizeof(path)))
		return -ENAMETOOLONG;
	ret = mkdir_p(rundir());
	if (ret)
		goto out;
	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len < 0 || len >= (int)sizeof(line))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (write(fd, line, len) != len || fsync(fd))
		ret = errno ? -errno : -EIO;
	close(fd);
out:
	if (ret)
		msg("warning: cannot record state in %s: %s", path,
		    strerror(-ret));
	return ret;
}

/* The dev_t of the devices recorded by "snapshot add"; their number. */
int state_devices(const struct blksnap_uuid *id, dev_t *devs, int max)
{
	char path[4096], line[4200];
	unsigned int maj, min;
	int n = 0;
	FILE *f;

	if (state_path(id, path, sizeof(path)))
		return 0;
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f))
		if (sscanf(line, "device %u:%u", &maj, &min) == 2)
			devs[n++] = makedev(maj, min);
	fclose(f);
	return n;
}

static int set_immutable(const char *path, int on)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	ret = blksnap_file_set_immutable(fd, on);
	close(fd);
	return ret;
}

/*
 * Release a storage file recorded as "storage MAJ:MIN INO PATH": only if
 * PATH is still that inode (never a file put in its place); the immutable
 * attribute is cleared through the fd.  0, or 1 after a message.
 */
static int release_storage(const char *line, int keep)
{
	unsigned int maj, min;
	unsigned long long ino;
	struct stat st;
	int off = 0, fd, ret;
	const char *file;

	if (sscanf(line, "storage %u:%u %llu %n", &maj, &min, &ino,
		   &off) != 3 || !off)
		return 0;
	file = line + off;
	fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		msg("%s: %s", file, strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) || st.st_dev != makedev(maj, min) ||
	    st.st_ino != ino) {
		msg("%s: not the storage file this snapshot was given (another file is in its place): left alone",
		    file);
		close(fd);
		return 1;
	}
	ret = blksnap_file_set_immutable(fd, 0);
	close(fd);
	if (ret) {
		msg("%s: cannot clear the immutable attribute: %s (run: chattr -i %s)",
		    file, strerror(-ret), file);
		return 1;
	}
	if (!keep && unlink(file) && errno != ENOENT) {
		msg("%s: cannot delete: %s", file, strerror(errno));
		return 1;
	}
	return 0;
}

/*
 * Undo what the tool did for the snapshot's storage files: clear the
 * immutable attribute it set, delete the files it created (unless @keep),
 * then remove the state file.  Returns 0 or an exit code.
 */
int state_cleanup(const struct blksnap_uuid *id, int keep, int *nfiles)
{
	char path[4096], line[4200], *file;
	int created, was_imm, bad = 0, ret;
	FILE *f;

	*nfiles = 0;
	if (state_path(id, path, sizeof(path)))
		return EX_FAIL;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : fail(-errno, "%s: %s", path,
						  strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		int off = 0;

		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "storage ", 8)) {
			(*nfiles)++;
			bad |= release_storage(line, keep);
			continue;
		}
		if (sscanf(line, "file %d %d %n", &created, &was_imm,
			   &off) != 2 || !off)
			continue;
		file = line + off;
		(*nfiles)++;
		if (!was_imm) {
			ret = set_immutable(file, 0);
			if (ret && ret != -ENOENT) {
				msg("%s: cannot clear the immutable attribute: %s (run: chattr -i %s)",
				    file, strerror(-ret), file);
				bad = 1;
				continue;
			}
		}
		if (created && !keep && unlink(file) && errno != ENOENT) {
			msg("%s: cannot delete: %s", file, strerror(errno));
			bad = 1;
		}
	}
	fclose(f);
	if (bad) {
		msg("state kept in %s; fix the above and run the destroy again",
		    path);
		return EX_FAIL;
	}
	if (unlink(path) && errno != ENOENT)
		return fail(-errno, "%s: %s", path, strerror(errno));
	return 0;
}

static int append_fail(const struct blksnap_uuid *id, const char *what,
		       int err)
{
	char uuid[40];

	uuid_format(id, uuid);
	switch (-err) {
	case ESRCH:
		return fail(err, "%s: no such snapshot (list them: " PROG " snapshot collect)",
			    uuid);
	case EINVAL:
		return fail(err, "%s: a range is empty, leaves the device or is not aligned to its logical block size",
			    what);
	case ENOTBLK:
		return fail(err, "%s: not a block device", what);
	default:
		return fail(err, "append storage %s to %s: %s", what, uuid,
			    strerror(-err));
	}
}

int storage_append_dev(int cfd, const struct blksnap_uuid *id,
		       const char *path, struct blksnap_sectors *r,
		       unsigned int n)
{
	unsigned int i;
	int ret;

	ret = blksnap_snapshot_append_storage(cfd, id, path, r, n);
	if (ret)
		return append_fail(id, path, ret);
	for (i = 0; i < n; i++)
		state_add_line(id, "range %llu %llu %s\n",
			       (unsigned long long)r[i].offset,
			       (unsigned long long)r[i].count, path);
	return 0;
}

#define MAX_STACK 64

/*
 * Collect @d and every device under it: its whole disk, the slaves of a
 * dm/md device (recursively), the device of a loop device's backing file.
 */
static void stack_collect(dev_t d, dev_t *devs, int *n, int depth)
{
	char path[4400], line[64];
	unsigned int maj, min;
	struct dirent *e;
	struct stat st;
	dev_t w;
	DIR *dir;
	FILE *f;
	int i;

	for (i = 0; i < *n; i++)
		if (devs[i] == d)
			return;
	if (*n >= MAX_STACK || depth > 16)
		return;
	devs[(*n)++] = d;
	if (!whole_disk_of(d, &w) && w != d)
		stack_collect(w, devs, n, depth + 1);
	snprintf(path, sizeof(path), "%s/dev/block/%u:%u/slaves", sysfs_root(),
		 major(d), minor(d));
	dir = opendir(path);
	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/class/block/%s/dev",
			 sysfs_root(), e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(line, sizeof(line), f) &&
		    sscanf(line, "%u:%u", &maj, &min) == 2)
			stack_collect(makedev(maj, min), devs, n, depth + 1);
		fclose(f);
	}
	if (dir)
		closedir(dir);
	snprintf(path, sizeof(path), "%s/dev/block/%u:%u/loop/backing_file",
		 sysfs_root(), major(d), minor(d));
	f = fopen(path, "re");
	if (f) {
		char file[4096];

		if (fgets(file, sizeof(file), f)) {
			file[strcspn(file, "\n")] = 0;
			if (!stat(file, &st))
				stack_collect(st.st_dev, devs, n, depth + 1);
		}
		fclose(f);
	}
}

/* Is @target @top or anywhere under it (stack_collect())? */
int dev_stack_has(dev_t top, dev_t target)
{
	dev_t devs[MAX_STACK];
	int i, n = 0;

	stack_collect(top, devs, &n, 0);
	for (i = 0; i < n; i++)
		if (devs[i] == target)
			return 1;
	return 0;
}

/* Is @dev, or a device under it, a member of snapshot @id? */
static int dev_in_snapshot(const struct blksnap_uuid *id, dev_t dev)
{
	struct blksnap_snapshotinfo info;
	dev_t devs[64], cand[MAX_STACK];
	char node[128];
	int i, j, n, nc = 0, fd;

	stack_collect(dev, cand, &nc, 0);
	n = state_devices(id, devs, 64);
	for (i = 0; i < n; i++)
		for (j = 0; j < nc; j++)
			if (devs[i] == cand[j])
				return 1;
	/* not recorded by us: any taken snapshot of them counts as well */
	for (j = 0; j < nc; j++) {
		if (devnode_of(major(cand[j]), minor(cand[j]), node,
			       sizeof(node)) ||
		    open_bdev(node, &fd))
			continue;
		if (!blksnap_snapshot_info(fd, &info) && info.image[0]) {
			close(fd);
			return 1;
		}
		close(fd);
	}
	return 0;
}

/*
 * Map the file's blocks to sectors of its file system's device
 * (blksnap_file_map), saying why a file cannot be used.  Returns the
 * number of ranges in *@out (malloc'ed) or -errno (message printed).
 */
static int map_file(int fd, const char *path, uint64_t size,
		    struct blksnap_sectors **out)
{
	struct blksnap_map_error e;
	int n = blksnap_file_map(fd, size, out, &e);

	if (n >= 0)
		return n;
	switch (e.fault) {
	case BLKSNAP_MAP_FIEMAP:
		msg("%s: FIEMAP: %s (the file system cannot map its files to device sectors)",
		    path, strerror(-n));
		break;
	case BLKSNAP_MAP_HOLE:
		msg("%s: hole at byte %llu: the file must be fully allocated",
		    path, (unsigned long long)e.offset);
		break;
	case BLKSNAP_MAP_FLAGS:
		msg("%s: extent at byte %llu has flags 0x%x (unknown place, delayed, encoded, inline or shared): cannot be used as storage",
		    path, (unsigned long long)e.offset, e.flags);
		break;
	case BLKSNAP_MAP_UNALIGNED:
		msg("%s: extent at byte %llu is not 512-byte aligned", path,
		    (unsigned long long)e.offset);
		break;
	case BLKSNAP_MAP_SHORT:
		msg("%s: only %llu of %llu bytes are allocated", path,
		    (unsigned long long)e.offset, (unsigned long long)size);
		break;
	default:
		break;
	}
	return n;
}

/*
 * File systems whose FIEMAP extents are sectors of the file's own st_dev
 * and stay where they are while the file is immutable: ext4, and xfs for
 * files not on its realtime device.  btrfs (logical addresses, several
 * devices), f2fs and nilfs2 (their GC moves blocks), tmpfs and network
 * file systems are refused.  0 or an exit code (message printed).
 */
static int check_fs(int fd, const char *path)
{
	unsigned long type;
	int ret = fs_type(fd, &type);

	if (ret)
		return fail(ret, "%s: statfs: %s", path, strerror(-ret));
	ret = blksnap_fs_check(fd, type);
	if (!ret)
		return 0;
	if (ret == -EINVAL)
		return fail(ret, "%s: on the realtime device of xfs: its extents are not sectors of the file system's device",
			    path);
	if (ret != -EOPNOTSUPP)
		return fail(ret, "%s: FS_IOC_FSGETXATTR: %s", path,
			    strerror(-ret));
	return fail(-EOPNOTSUPP, "%s: on a file system of type 0x%lx: only ext4 and xfs place file extents at fixed sectors of their own device (btrfs, f2fs, nilfs2, tmpfs and network file systems cannot hold storage files; use a block device range)",
		    path, type);
}

/* A directory to create storage in: root's, writable by no one else. */
static int check_dir(int dfd, const char *dir)
{
	char real[4096], *p;
	struct stat st;

	if (fstat(dfd, &st))
		return fail(-errno, "%s: %s", dir, strerror(errno));
	if (st.st_uid != 0 || (st.st_mode & 022))
		return fail(-EPERM, "%s: owned by uid %u with mode %04o: storage files are created only in a directory owned by root and not writable by group or others",
			    dir, st.st_uid, st.st_mode & 07777);
	/* its ancestors: root's, or sticky (no one renames root's dirs) */
	if (!realpath(dir, real))
		return fail(-errno, "%s: %s", dir, strerror(errno));
	for (p = real + strlen(real); p > real; ) {
		while (p > real && *p != '/')
			p--;
		*p = 0;
		if (stat(*real ? real : "/", &st))
			return fail(-errno, "%s: %s", real, strerror(errno));
		if (st.st_uid != 0 ||
		    ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)))
			return fail(-EPERM, "%s: an ancestor of %s is owned by uid %u with mode %04o: someone else could replace the directory",
				    *real ? real : "/", dir, st.st_uid,
				    st.st_mode & 07777);
	}
	return 0;
}

static int has_ctrl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * Create @path (@size bytes) — only a new file, O_EXCL, never one that
 * exists — preallocate it, make it immutable through its fd, map it and
 * append its extents to snapshot @id.  The state file records its device,
 * inode and path for "snapshot destroy".  Returns 0 or an exit code
 * (message printed); STORAGE_EXISTS without a message if @path exists and
 * @quiet_exist.
 */
int storage_append_file(int cfd, const struct blksnap_uuid *id,
			const char *path, uint64_t size, int force,
			uint64_t *appended, int quiet_exist)
{
	struct blksnap_sectors *r = NULL;
	char bdev[128], dir[4096], real[8300];
	const char *name;
	int fd, dfd, ret, n;
	struct statvfs vfs;
	struct stat st;

	if (has_ctrl(path))
		return fail(-EINVAL, "storage file paths with newlines or other control characters are refused");
	name = strrchr(path, '/');
	if (name) {
		snprintf(dir, sizeof(dir), "%.*s",
			 (int)(name == path ? 1 : name - path), path);
		name++;
	} else {
		strcpy(dir, ".");
		name = path;
	}
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return usage_err("%s: not a file name", path);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail(-errno, "%s: %s", dir, strerror(errno));
	ret = check_dir(dfd, dir);
	if (ret) {
		close(dfd);
		return ret;
	}
	if (!realpath(dir, real) || has_ctrl(real)) {
		close(dfd);
		return fail(-EINVAL, "%s: cannot resolve the directory to a plain path",
			    dir);
	}
	snprintf(real + strlen(real), sizeof(real) - strlen(real), "%s%s",
		 strcmp(real, "/") ? "/" : "", name);
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = errno;
		close(dfd);
		if (ret == EEXIST && quiet_exist)
			return STORAGE_EXISTS;
		if (ret == EEXIST)
			return fail(-ret, "%s exists: " PROG " only uses storage files it creates itself (choose a new name; it never takes over an existing file)",
				    path);
		return fail(-ret, "%s: %s", path, strerror(ret));
	}
	if (fstat(fd, &st) || fstatvfs(fd, &vfs)) {
		ret = fail(-errno, "%s: %s", path, strerror(errno));
		goto out_unlink;
	}
	if (st.st_uid != 0 || st.st_nlink != 1) {
		ret = fail(-EPERM, "%s: not a new root-owned file", path);
		goto out_unlink;
	}
	ret = check_fs(fd, path);
	if (ret)
		goto out_unlink;
	if (vfs.f_bsize)
		size = (size + vfs.f_bsize - 1) / vfs.f_bsize * vfs.f_bsize;
	if (!force && dev_in_snapshot(id, st.st_dev)) {
		ret = fail(-EBUSY, "%s: the file is on %u:%u, which is or lies on a device of this snapshot; its storage would be inside the snapshot (choose a file on another device, or use --force)",
			   path, major(st.st_dev), minor(st.st_dev));
		goto out_unlink;
	}
	ret = storage_bdev_of(st.st_dev, bdev, sizeof(bdev));
	if (ret) {
		ret = fail(ret, "%s: its file system is on %u:%u, which is not a block device node (tmpfs, network or multi-device file systems cannot hold storage)",
			   path, major(st.st_dev), minor(st.st_dev));
		goto out_unlink;
	}
	ret = file_fallocate(fd, size);
	if (ret) {
		if (ret == -EOPNOTSUPP)
			ret = fail(ret, "%s: the file system cannot preallocate (fallocate); use a file on ext4 or xfs, or a block device",
				   path);
		else
			ret = fail(ret, "%s: fallocate %llu bytes: %s", path,
				   (unsigned long long)size, strerror(-ret));
		goto out_unlink;
	}
	if (fsync(fd)) {
		ret = fail(-errno, "%s: fsync: %s", path, strerror(errno));
		goto out_unlink;
	}
	ret = blksnap_file_set_immutable(fd, 1);
	if (ret) {
		ret = fail(ret, "%s: cannot set the immutable attribute: %s",
			   path, strerror(-ret));
		goto out_unlink;
	}
	n = map_file(fd, path, size, &r);
	if (n < 0) {
		ret = errno_exit(n);
		goto out_mutable;
	}
	ret = blksnap_snapshot_append_storage(cfd, id, bdev, r, n);
	if (ret) {
		ret = append_fail(id, path, ret);
		goto out_mutable;
	}
	state_add_line(id, "storage %u:%u %llu %s\n", major(st.st_dev),
		       minor(st.st_dev), (unsigned long long)st.st_ino, real);
	free(r);
	close(fd);
	close(dfd);
	if (appended)
		*appended = size;
	if (!opt_json)
		fprintf(stderr, PROG ": %s: %llu bytes in %d extents on %s appended\n",
			path, (unsigned long long)size, n, bdev);
	return 0;

out_mutable:
	blksnap_file_set_immutable(fd, 0);
out_unlink:
	unlinkat(dfd, name, 0);
	free(r);
	close(fd);
	close(dfd);
	return ret;
}

int cmd_snapshot_append(int argc, char **argv)
{
	const char *s_size = NULL;
	int force = 0;
	const struct optdef defs[] = {
		{ "size", 's', 1, &s_size },
		{ "force", 'f', 0, NULL, &force },
		{ 0 }
	};
	struct blksnap_sectors r[256];
	struct blksnap_uuid id;
	uint64_t size = 0, done = 0;
	char *pos[258];
	struct stat st;
	int n, i, cfd, ret;

	ret = parse_opts(argc, argv, defs, pos, &n, 258);
	if (ret)
		return ret;
	if (n < 2)
		return usage_err("snapshot append needs UUID and DEV or FILE");
	if (uuid_parse(pos[0], &id))
		return usage_err("bad snapshot id '%s'", pos[0]);
	if (s_size && (parse_size(s_size, &size) || !size))
		return usage_err("bad --size '%s'", s_size);
	ret = stat(pos[1], &st);
	if (!ret && S_ISBLK(st.st_mode)) {
		int fd;

		if (s_size)
			return usage_err("--size is for files; give ranges START:COUNT for a device");
		for (i = 2; i < n; i++)
			if (parse_range(pos[i], &r[i - 2]))
				return usage_err("bad range '%s' (START:COUNT in 512-byte sectors)",
						 pos[i]);
		if (n == 2) {	/* the whole device */
			ret = open_bdev(pos[1], &fd);
			if (!ret) {
				ret = bdev_size(fd, &size);
				close(fd);
			}
			if (ret)
				return fail(ret, "%s: %s", pos[1],
					    strerror(-ret));
			r[0].offset = 0;
			r[0].count = size / 512;
			n = 3;
		}
		ret = ctl_open(&cfd);
		if (ret)
			return ctl_exit(ret);
		ret = storage_append_dev(cfd, &id, pos[1], r, n - 2);
		close(cfd);
		return ret;
	}
	if (n > 2)
		return usage_err("ranges are for block devices; %s is a file",
				 pos[1]);
	if (ret && errno != ENOENT)
		return fail(-errno, "%s: %s", pos[1], strerror(errno));
	if (!ret)
		return fail(-EEXIST, "%s exists: " PROG " only uses storage files it creates itself (give a new name and --size)",
			    pos[1]);
	if (!s_size)
		return usage_err("%s: give its size with --size", pos[1]);
	ret = ctl_open(&cfd);
	if (ret)
		return ctl_exit(ret);
	ret = storage_append_file(cfd, &id, pos[1], size, force, &done, 0);
	close(cfd);
	if (!ret) {
		out_begin();
		out_str(O_JSON, "file", pos[1]);
		out_u64(O_JSON, "bytes", done);
		out_end();
	}
	return ret;
}

/*
 * 1 if snapshot @id exists, 0 if not, or -errno.  COLLECT with no array
 * reports the number (0, or ENODATA from older modules); then the array.
 */
static int snapshot_exists(int cfd, const struct blksnap_uuid *id)
{
	struct blksnap_uuid *ids;
	unsigned int i, n;
	int ret, found = 0;

	ret = blksnap_snapshot_collect(cfd, &ids, &n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		if (!memcmp(&ids[i], id, sizeof(*id)))
			found = 1;
	free(ids);
	return found;
}

#define WATCH_MIN_APPEND (1ULL << 20)

/*
 * One append of @want bytes for watch: a new file in @dir (O_EXCL; the
 * next number when a name exists) or sectors of @dev from @start.  *@got:
 * the bytes actually appended (rounded to the file system block or down
 * to 512).  0 or an exit code.
 */
static int watch_append(int cfd, const struct blksnap_uuid *id,
			const char *dir, const char *dev, uint64_t start,
			uint64_t want, const char *uuid, int *seq, char *file,
			size_t flen, uint64_t *got)
{
	int ret, i;

	if (!dir) {
		struct blksnap_sectors r = {
			.offset = start,
			.count = want / 512,
		};

		ret = storage_append_dev(cfd, id, dev, &r, 1);
		if (ret)
			return ret;
		*got = r.count * 512;
		snprintf(file, flen, "%s:%llu:%llu", dev,
			 (unsigned long long)r.offset,
			 (unsigned long long)r.count);
		return 0;
	}
	for (i = 0; i < 1000; i++) {
		snprintf(file, flen, "%s/blksnap-%.8s-%d.diff", dir, uuid,
			 (*seq)++);
		ret = storage_append_file(cfd, id, file, want, 0, got, 1);
		if (ret != STORAGE_EXISTS)
			return ret;
	}
	return fail(-EEXIST, "%s: no free name for a storage file", dir);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * watch UUID (--dir DIR | --device DEV[:START:COUNT]) --step SIZE
 *	--limit SIZE: grow the storage on low-free-space events.
 */
int cmd_watch(int argc, char **argv)
{
	const char *dir = NULL, *dev = NULL, *s_step = NULL, *s_limit = NULL;
	const char *s_tmo = NULL;
	const struct optdef defs[] = {
		{ "dir", 'd', 1, &dir },
		{ "device", 0, 1, &dev },
		{ "step", 0, 1, &s_step },
		{ "limit", 0, 1, &s_limit },
		{ "timeout", 't', 1, &s_tmo },
		{ 0 }
	};
	uint64_t step = 0, limit = 0, total = 0, tmo = 0, dstart = 0;
	uint64_t dcount = 0, dnext = 0;
	struct blksnap_snapshot_event *ev;
	char *pos[1], devpath[4096], uuid[40], file[4160];
	struct sigaction sa;
	struct blksnap_uuid id;
	int n, cfd, ret, seq = 0;
	time_t t0 = time(NULL);

	ret = parse_opts(argc, argv, defs, pos, &n, 1);
	if (ret)
		return ret;
	if (n != 1 || !!dir == !!dev || !s_step || !s_limit)
		return usage_err("watch needs UUID, one of --dir DIR or --device DEV[:START:COUNT], --step SIZE and --limit SIZE");
	if (uuid_parse(pos[0], &id))
		return usage_err("bad snapshot id '%s'", pos[0]);
	if (parse_size(s_step, &step) || step < 512 ||
	    parse_size(s_limit, &limit) || limit < step)
		return usage_err("bad --step or --limit (sizes, step >= 512 bytes, limit >= step)");
	if (s_tmo && parse_u64(s_tmo, &tmo))
		return usage_err("bad --timeout '%s' (seconds)", s_tmo);
	step = (step + 511) & ~511ULL;
	limit &= ~511ULL;
	if (dev) {
		char *colon;
		struct blksnap_sectors r;
		int fd;

		snprintf(devpath, sizeof(devpath), "%s", dev);
		colon = strchr(devpath, ':');
		if (colon) {
			*colon = 0;
			if (parse_range(colon + 1, &r))
				return usage_err("bad --device '%s' (DEV or DEV:START:COUNT)",
						 dev);
			dstart = r.offset;
			dcount = r.count;
		} else {
			ret = open_bdev(devpath, &fd);
			if (!ret) {
				ret = bdev_size(fd, &dcount);
				close(fd);
			}
			if (ret)
				return fail(ret, "%s: %s", devpath,
					    strerror(-ret));
			dcount /= 512;
		}
		if (limit / 512 > dcount)
			limit = dcount * 512;
	}
	uuid_format(&id, uuid);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ev = malloc(sizeof(*ev));
	if (!ev)
		return fail(-ENOMEM, "out of memory");
	ret = ctl_open(&cfd);
	if (ret) {
		free(ev);
		return ctl_exit(ret);
	}
	/* ESRCH from WAIT_EVENT means "gone" only for a snapshot that was */
	ret = snapshot_exists(cfd, &id);
	if (ret <= 0) {
		close(cfd);
		free(ev);
		if (ret < 0)
			return fail(ret, "COLLECT: %s", strerror(-ret));
		return fail(-ESRCH, "%s: no such snapshot (list them: " PROG " snapshot collect)",
			    uuid);
	}
	for (;;) {
		uint64_t want, got = 0;

		if (stop) {
			ret = EX_OK;
			break;
		}
		if (tmo && time(NULL) - t0 >= (time_t)tmo) {
			ret = EX_OK;
			break;
		}
		ret = blksnap_wait_event(cfd, &id, 500, ev);
		if (ret == -ENOENT || ret == -EINTR)
			continue;
		if (ret == -ESRCH) {
			out_begin();
			out_str(O_JSON, "event", "gone");
			out_u64(O_JSON, "appended", total);
			out_text("snapshot %s is gone; %llu bytes were appended\n",
				 uuid, (unsigned long long)total);
			out_end();
			ret = EX_OK;
			break;
		}
		if (ret) {
			ret = fail(ret, "WAIT_EVENT %s: %s", uuid,
				   strerror(-ret));
			break;
		}
		if (ev->code == blksnap_event_code_corrupted) {
			struct blksnap_event_corrupted *c = (void *)ev->data;
			char cdev[24];

			snprintf(cdev, sizeof(cdev), "%u:%u", c->dev_id_mj,
				 c->dev_id_mn);
			out_begin();
			out_str(O_JSON, "event", "corrupted");
			out_str(O_JSON, "device", cdev);
			out_str(O_JSON, "error", errno_name(c->err_code));
			out_end();
			msg("snapshot %s corrupted on device %u:%u: %s; its image fails all I/O (destroy it: " PROG " snapshot destroy %s)",
			    uuid, c->dev_id_mj, c->dev_id_mn,
			    strerror(c->err_code), uuid);
			ret = EX_CORRUPT;
			break;
		}
		if (ev->code != blksnap_event_code_low_free_space)
			continue;
		want = ((struct blksnap_event_low_free_space *)
			ev->data)->requested_nr_sect * 512;
		want = want > step ? (want + step - 1) / step * step : step;
		if (total >= limit)
			want = 0;
		else if (want > limit - total)
			want = limit - total;
		if (!want) {
			msg("low free space in snapshot %s, but the limit of %llu bytes is reached: the snapshot may overflow",
			    uuid, (unsigned long long)limit);
			continue;
		}
		/* a failed append is retried with half as much, down to 1 MiB */
		for (;;) {
			ret = watch_append(cfd, &id, dir, devpath, dstart + dnext,
					   want, uuid, &seq, file, sizeof(file),
					   &got);
			if (!ret || want <= WATCH_MIN_APPEND)
				break;
			want = (want / 2 + 511) & ~511ULL;
			if (want < WATCH_MIN_APPEND)
				want = WATCH_MIN_APPEND;
			msg("retrying with %llu bytes", (unsigned long long)want);
		}
		if (ret) {
			msg("could not append storage to snapshot %s; still watching (it may overflow)",
			    uuid);
			continue;
		}
		if (dev)
			dnext += got / 512;
		want = got;
		total += want;
		out_begin();
		out_str(O_JSON, "event", "low_free_space");
		out_str(O_JSON, "appended", file);
		out_u64(O_JSON, "bytes", want);
		out_u64(O_JSON, "total", total);
		out_text("appended %s: %llu bytes (total %llu of %llu)\n",
			 file, (unsigned long long)want,
			 (unsigned long long)total, (unsigned long long)limit);
		out_end();
	}
	close(cfd);
	free(ev);
	return ret;
}
