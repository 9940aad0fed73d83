// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: the state file of "backup": where the change-block tracking
 * stood at the last backup, and the identity of the base file it
 * describes; written atomically, bound to its base.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>
#include "blksnapctl.h"

int bstate_read(const char *path, struct bstate *s)
{
	char line[256], val[128];
	int have = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	memset(s, 0, sizeof(*s));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "generation_id=%127s", val) == 1 &&
		    !uuid_parse(val, &s->generation_id))
			have |= 1;
		else if (sscanf(line, "changes_number=%u",
				&s->changes_number) == 1)
			have |= 2;
		else if (sscanf(line, "block_size=%u", &s->block_size) == 1)
			have |= 4;
		else if (sscanf(line, "device_capacity=%llu",
				&s->device_capacity) == 1)
			have |= 8;
		else if (sscanf(line, "base_size=%llu", &s->base_size) == 1)
			have |= 16;
		else if (sscanf(line, "base_ino=%llu", &s->base_ino) == 1)
			have |= 32;
		else if (sscanf(line, "base_mtime=%lld.%ld", &s->base_mtime_sec,
				&s->base_mtime_nsec) == 2)
			have |= 64;
		else if (sscanf(line, "base_id=%32[0-9a-f]", s->base_id) == 1 &&
			 strlen(s->base_id) == 32)
			have |= 128;
		else if (sscanf(line, "base_id_xattr=%d",
				&s->base_id_xattr) == 1)
			have |= 256;
	}
	fclose(f);
	return have == 511 ? 0 : -EINVAL;
}

/* fsync the directory of @path. */
int fsync_dir_of(const char *path)
{
	char dir[4096], *slash;
	int fd, ret = 0;

	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Create a new file next to @path, "@path.tmp-XXXXXXXX" with a random
 * suffix, O_EXCL and O_NOFOLLOW: never a file or symlink someone else put
 * there.  Returns the fd (name in @tmp) or -errno.
 */
int create_tmp(const char *path, char *tmp, size_t len)
{
	unsigned int r;
	int i, fd;

	for (i = 0; i < 100; i++) {
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			return -EIO;
		if ((size_t)snprintf(tmp, len, "%s.tmp-%08x", path, r) >= len)
			return -ENAMETOOLONG;
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
			  O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

/*
 * Remove the state before the file it describes is written: a backup that
 * stops part way then leaves no state that matches.  Durable (the
 * directory is synced) before the first byte of the base changes.
 */
int bstate_invalidate(const char *path)
{
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return fsync_dir_of(path);
}

/*
 * Replace the state atomically: a new file (create_tmp), fsync, rename
 * over the old one, fsync the directory.  Call only when the base is
 * durable.  @base: the base's fd, whose identity goes into the state.
 */
int bstate_write(const char *path, const struct blksnap_cbtinfo *ci,
		 int base, const char *base_id, int id_xattr)
{
	char tmp[4200], uuid[40];
	struct stat st;
	int fd, ret = 0;
	FILE *f;

	if (fstat(base, &st))
		return -errno;
	fd = create_tmp(path, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		unlink(tmp);
		return ret;
	}
	uuid_format(&ci->generation_id, uuid);
	fprintf(f, "# blksnapctl backup state\ngeneration_id=%s\nchanges_number=%u\nblock_size=%u\ndevice_capacity=%llu\n",
		uuid, ci->changes_number, ci->block_size,
		(unsigned long long)ci->device_capacity);
	fprintf(f, "base_size=%llu\nbase_ino=%llu\nbase_mtime=%lld.%09ld\nbase_id=%s\nbase_id_xattr=%d\n",
		(unsigned long long)st.st_size,
		(unsigned long long)st.st_ino, (long long)st.st_mtim.tv_sec,
		(long)st.st_mtim.tv_nsec, base_id, id_xattr);
	if (fflush(f) || fsync(fileno(f)))
		ret = -errno;
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return ret;
	}
	return fsync_dir_of(path);
}

/*
 * A new random backup id for the base @fd, in its xattr where the file
 * system has user xattrs (*@in_xattr 1) and always in the state.
 */
int bstate_new_base_id(int fd, char *id, int *in_xattr)
{
	unsigned char r[16];
	int i;

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return -EIO;
	for (i = 0; i < 16; i++)
		sprintf(id + 2 * i, "%02x", r[i]);
	*in_xattr = 1;
	if (fsetxattr(fd, BASE_ID_XATTR, id, 32, 0)) {
		if (errno != ENOTSUP && errno != EOPNOTSUPP)
			return -errno;
		*in_xattr = 0;
	}
	return 0;
}

/* Is @fd the base @s describes?  NULL, or why not. */
const char *bstate_base_mismatch(int fd, const struct bstate *s)
{
	char id[33];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return "not a regular file";
	if ((unsigned long long)st.st_size != s->base_size)
		return "its size differs";
	if ((unsigned long long)st.st_ino != s->base_ino)
		return "it is another file (inode number)";
	if (st.st_mtim.tv_sec != s->base_mtime_sec ||
	    st.st_mtim.tv_nsec != s->base_mtime_nsec)
		return "it was modified since (mtime)";
	if (!s->base_id_xattr)
		return NULL;
	n = fgetxattr(fd, BASE_ID_XATTR, id, 32);
	if (n != 32 || memcmp(id, s->base_id, 32))
		return "its backup id (xattr " BASE_ID_XATTR ") differs";
	return NULL;
}
