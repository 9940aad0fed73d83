// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: difference storage: ranges of a block device, or a regular
 * file created for it, preallocated, made immutable and mapped with FIEMAP
 * (libblksnap), after the checks that keep it out of the snapshot it
 * serves (its device must not lie on a device of the snapshot) and out of
 * other users' reach (a new root-owned file in a root-owned directory).
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
	if (!opt_json)	/* JSON: the caller's result says it */
		msg("%s: %llu bytes in %d extents on %s appended", path,
		    (unsigned long long)size, n, bdev);
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
