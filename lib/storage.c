// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libblksnap: difference storage in regular files.  A storage file must
 * stay where it is on its device for the life of the snapshot: fully
 * allocated (fallocate), its extents mapped with FIEMAP to sectors of the
 * file system's device, made immutable so that nothing moves or frees
 * them, on a file system that does not relocate blocks by itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <linux/fiemap.h>
#include "blksnap.h"

#define MAX_EXTENTS 256
#define EXT4_MAGIC 0xEF53
#define XFS_MAGIC 0x58465342

int blksnap_file_set_immutable(int fd, int on)
{
	int flags;

	if (ioctl(fd, FS_IOC_GETFLAGS, &flags))
		return -errno;
	if (on)
		flags |= FS_IMMUTABLE_FL;
	else
		flags &= ~FS_IMMUTABLE_FL;
	return ioctl(fd, FS_IOC_SETFLAGS, &flags) ? -errno : 0;
}

int blksnap_file_allocate(int fd, uint64_t size)
{
	return fallocate(fd, 0, 0, size) ? -errno : 0;
}

int blksnap_fs_check(int fd, unsigned long fs_type)
{
	struct fsxattr fsx;

	if (fs_type == EXT4_MAGIC)
		return 0;
	if (fs_type != XFS_MAGIC)
		return -EOPNOTSUPP;
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx))
		return -errno;
	return fsx.fsx_xflags & FS_XFLAG_REALTIME ? -EINVAL : 0;
}

static int map_fault(struct blksnap_map_error *err, enum blksnap_map_fault f,
		     uint64_t offset, unsigned int flags, int ret)
{
	if (err) {
		err->fault = f;
		err->offset = offset;
		err->flags = flags;
	}
	return ret;
}

/* Append sectors [@start, @start + @n) to *@r, merging with the last. */
static int add_range(struct blksnap_sectors **r, int *nr, int *cap,
		     uint64_t start, uint64_t n)
{
	struct blksnap_sectors *p;

	if (*nr && (*r)[*nr - 1].offset + (*r)[*nr - 1].count == start) {
		(*r)[*nr - 1].count += n;
		return 0;
	}
	if (*nr == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		p = realloc(*r, *cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*r = p;
	}
	(*r)[*nr].offset = start;
	(*r)[*nr].count = n;
	(*nr)++;
	return 0;
}

/* One extent of FIEMAP: checked, clipped to @size, added to *@r. */
static int map_extent(const struct fiemap_extent *e, uint64_t size,
		      uint64_t next, struct blksnap_sectors **r, int *nr,
		      int *cap, struct blksnap_map_error *err)
{
	const unsigned int bad = FIEMAP_EXTENT_UNKNOWN |
				 FIEMAP_EXTENT_DELALLOC |
				 FIEMAP_EXTENT_ENCODED |
				 FIEMAP_EXTENT_DATA_ENCRYPTED |
				 FIEMAP_EXTENT_NOT_ALIGNED |
				 FIEMAP_EXTENT_DATA_INLINE |
				 FIEMAP_EXTENT_DATA_TAIL |
				 FIEMAP_EXTENT_SHARED;
	uint64_t len = e->fe_length;

	if (e->fe_logical != next)
		return map_fault(err, BLKSNAP_MAP_HOLE, next, 0, -EINVAL);
	if (e->fe_flags & bad)
		return map_fault(err, BLKSNAP_MAP_FLAGS, e->fe_logical,
				 e->fe_flags, -EINVAL);
	if (e->fe_logical + len > size)
		len = size - e->fe_logical;
	if ((e->fe_physical | len) & 511)
		return map_fault(err, BLKSNAP_MAP_UNALIGNED, e->fe_logical, 0,
				 -EINVAL);
	return add_range(r, nr, cap, e->fe_physical / 512, len / 512);
}

int blksnap_file_map(int fd, uint64_t size, struct blksnap_sectors **ranges,
		     struct blksnap_map_error *err)
{
	size_t fmsize = sizeof(struct fiemap) +
			MAX_EXTENTS * sizeof(struct fiemap_extent);
	struct fiemap *fm = malloc(fmsize);
	struct blksnap_sectors *r = NULL;
	int nr = 0, cap = 0, last = 0, ret = 0;
	uint64_t next = 0;
	unsigned int i;

	map_fault(err, BLKSNAP_MAP_OK, 0, 0, 0);
	if (!fm)
		return -ENOMEM;
	while (!ret && !last && next < size) {
		memset(fm, 0, fmsize);
		fm->fm_start = next;
		fm->fm_length = size - next;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = MAX_EXTENTS;
		if (ioctl(fd, FS_IOC_FIEMAP, fm)) {
			ret = map_fault(err, BLKSNAP_MAP_FIEMAP, next, 0,
					-errno);
			break;
		}
		if (!fm->fm_mapped_extents)
			break;
		for (i = 0; !ret && i < fm->fm_mapped_extents; i++) {
			struct fiemap_extent *e = &fm->fm_extents[i];

			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				last = 1;
			ret = map_extent(e, size, next, &r, &nr, &cap, err);
			next = e->fe_logical + e->fe_length;
		}
	}
	free(fm);
	if (!ret && next < size)
		ret = map_fault(err, BLKSNAP_MAP_SHORT, next, 0, -EINVAL);
	if (ret) {
		free(r);
		return ret;
	}
	*ranges = r;
	return nr;
}

int blksnap_storage_file_append(int cfd, const struct blksnap_uuid *id,
				const char *path, const char *bdev_path,
				uint64_t size, struct blksnap_map_error *err)
{
	struct blksnap_sectors *r = NULL;
	int fd, n, ret;

	map_fault(err, BLKSNAP_MAP_OK, 0, 0, 0);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	ret = blksnap_file_allocate(fd, size);
	if (!ret && fsync(fd))
		ret = -errno;
	if (ret)
		goto out_unlink;
	ret = blksnap_file_set_immutable(fd, 1);
	if (ret)
		goto out_unlink;
	n = blksnap_file_map(fd, size, &r, err);
	ret = n < 0 ? n : blksnap_snapshot_append_storage(cfd, id, bdev_path,
							  r, n);
	free(r);
	if (!ret) {
		close(fd);
		return 0;
	}
	blksnap_file_set_immutable(fd, 0);
out_unlink:
	unlink(path);
	close(fd);
	return ret;
}
