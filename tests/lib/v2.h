/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for tests of the v2 interface (/dev/blksnap, <linux/blk_snap.h>):
 * every device is named by a dev_t pair, as a v2 agent does.  All return
 * the ioctl's result or -errno.
 */
#ifndef BLKSNAP_TESTS_V2_H
#define BLKSNAP_TESTS_V2_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/blk_snap.h>
#include "timeout.h"

#define V2_DEV BLK_SNAP_CTL

static inline int v2_open(void)
{
	return open(V2_DEV, O_RDWR | O_CLOEXEC);
}

static inline int v2_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

/* The dev_t pair of the block device node @path, or {0, 0}. */
static inline struct blk_snap_dev v2_dev_of(const char *path)
{
	struct blk_snap_dev d = { 0, 0 };
	struct stat st;

	if (!stat(path, &st) && S_ISBLK(st.st_mode)) {
		d.mj = major(st.st_rdev);
		d.mn = minor(st.st_rdev);
	}
	return d;
}

static inline int v2_create(int fd, const struct blk_snap_dev *devs,
			    unsigned int n, struct blk_snap_uuid *id)
{
	struct blk_snap_snapshot_create arg;
	int ret;

	memset(&arg, 0, sizeof(arg));
	arg.count = n;
	arg.dev_id_array = (struct blk_snap_dev *)devs;
	ret = v2_ioctl(fd, IOCTL_BLK_SNAP_SNAPSHOT_CREATE, &arg);
	if (!ret)
		*id = arg.id;
	return ret;
}

static inline int v2_destroy(int fd, const struct blk_snap_uuid *id)
{
	struct blk_snap_snapshot_destroy arg = { .id = *id };

	return v2_ioctl(fd, IOCTL_BLK_SNAP_SNAPSHOT_DESTROY, &arg);
}

static inline int v2_take(int fd, const struct blk_snap_uuid *id)
{
	struct blk_snap_snapshot_take arg = { .id = *id };

	return v2_ioctl(fd, IOCTL_BLK_SNAP_SNAPSHOT_TAKE, &arg);
}

static inline int v2_append(int fd, const struct blk_snap_uuid *id,
			    struct blk_snap_dev dev,
			    struct blk_snap_block_range *r, unsigned int n)
{
	struct blk_snap_snapshot_append_storage arg;

	memset(&arg, 0, sizeof(arg));
	arg.id = *id;
	arg.dev_id = dev;
	arg.count = n;
	arg.ranges = r;
	return v2_ioctl(fd, IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE, &arg);
}

static inline int v2_append_range(int fd, const struct blk_snap_uuid *id,
				  struct blk_snap_dev dev, uint64_t off,
				  uint64_t count)
{
	struct blk_snap_block_range r = { off, count };

	return v2_append(fd, id, dev, &r, 1);
}

static inline int v2_remove(int fd, struct blk_snap_dev dev)
{
	struct blk_snap_tracker_remove arg = { .dev_id = dev };

	return v2_ioctl(fd, IOCTL_BLK_SNAP_TRACKER_REMOVE, &arg);
}

/* READ_CBT_MAP: the number of bytes read, or -errno. */
static inline int v2_read_map(int fd, struct blk_snap_dev dev,
			      unsigned int off, unsigned int len, void *buf)
{
	struct blk_snap_tracker_read_cbt_bitmap arg;

	memset(&arg, 0, sizeof(arg));
	arg.dev_id = dev;
	arg.offset = off;
	arg.length = len;
	arg.buff = buf;
	return v2_ioctl(fd, IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP, &arg);
}

/* The whole map of @dev into @buf (@len bytes at most); bytes or -errno. */
static inline int v2_read_map_all(int fd, struct blk_snap_dev dev, void *buf,
				  unsigned int len)
{
	unsigned int off = 0;
	int ret;

	while (off < len) {
		ret = v2_read_map(fd, dev, off, len - off > 65536 ?
				  65536 : len - off, (char *)buf + off);
		if (ret == -EINVAL && off)
			break;		/* offset past the map's end */
		if (ret <= 0)
			return ret ? ret : (int)off;
		off += ret;
	}
	return off;
}

static inline int v2_mark_dirty(int fd, struct blk_snap_dev dev,
				struct blk_snap_block_range *r, unsigned int n)
{
	struct blk_snap_tracker_mark_dirty_blocks arg;

	memset(&arg, 0, sizeof(arg));
	arg.dev_id = dev;
	arg.count = n;
	arg.dirty_blocks_array = r;
	return v2_ioctl(fd, IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS, &arg);
}

/* TRACKER_COLLECT, two calls as a v2 agent does; *@n entries in @out. */
static inline int v2_tracker_collect(int fd, struct blk_snap_cbt_info *out,
				     unsigned int max, unsigned int *n)
{
	struct blk_snap_tracker_collect arg;
	int ret;

	memset(&arg, 0, sizeof(arg));
	ret = v2_ioctl(fd, IOCTL_BLK_SNAP_TRACKER_COLLECT, &arg);
	if (ret)
		return ret;
	if (arg.count > max)
		return -ENOSPC;
	arg.cbt_info_array = out;
	ret = v2_ioctl(fd, IOCTL_BLK_SNAP_TRACKER_COLLECT, &arg);
	*n = arg.count;
	return ret;
}

/* The cbt_info of @dev from TRACKER_COLLECT; -ENOENT if not tracked. */
static inline int v2_cbt_info(int fd, struct blk_snap_dev dev,
			      struct blk_snap_cbt_info *info)
{
	struct blk_snap_cbt_info all[64];
	unsigned int n, i;
	int ret = v2_tracker_collect(fd, all, 64, &n);

	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		if (all[i].dev_id.mj == dev.mj && all[i].dev_id.mn == dev.mn) {
			*info = all[i];
			return 0;
		}
	}
	return -ENOENT;
}

/* COLLECT_IMAGES, two calls; *@n pairs in @out. */
static inline int v2_collect_images(int fd, const struct blk_snap_uuid *id,
				    struct blk_snap_image_info *out,
				    unsigned int max, unsigned int *n)
{
	struct blk_snap_snapshot_collect_images arg;
	int ret;

	memset(&arg, 0, sizeof(arg));
	arg.id = *id;
	ret = v2_ioctl(fd, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES, &arg);
	if (ret)
		return ret;
	if (arg.count > max)
		return -ENOSPC;
	arg.image_info_array = out;
	ret = v2_ioctl(fd, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES, &arg);
	*n = arg.count;
	return ret;
}

/*
 * The node a v2 agent opens for an image: /dev/blksnap-image<minor>, the
 * name built from the minor COLLECT_IMAGES returned (spec-v2 section 2).
 */
static inline void v2_image_path(char *path, size_t len,
				 struct blk_snap_dev image)
{
	snprintf(path, len, "/dev/" BLK_SNAP_IMAGE_NAME "%u", image.mn);
}

/* Open the image of @orig in snapshot @id; fd or -errno. */
static inline int v2_open_image(int fd, const struct blk_snap_uuid *id,
				struct blk_snap_dev orig, int flags)
{
	struct blk_snap_image_info img[16];
	unsigned int n, i;
	char path[64];
	struct stat st;
	int ret = v2_collect_images(fd, id, img, 16, &n);

	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		if (img[i].orig_dev_id.mj != orig.mj ||
		    img[i].orig_dev_id.mn != orig.mn)
			continue;
		v2_image_path(path, sizeof(path), img[i].image_dev_id);
		for (ret = 0; ret < 500 && stat(path, &st); ret++)
			usleep(10000);
		if (stat(path, &st))
			return -ENOENT;
		if (major(st.st_rdev) != img[i].image_dev_id.mj ||
		    minor(st.st_rdev) != img[i].image_dev_id.mn)
			return -EXDEV;	/* the name is not that image */
		ret = open(path, flags);
		return ret < 0 ? -errno : ret;
	}
	return -ENOENT;
}

static inline int v2_wait_event(int fd, const struct blk_snap_uuid *id,
				unsigned int timeout_ms,
				struct blk_snap_snapshot_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->id = *id;
	ev->timeout_ms = timeout_ms;
	return v2_ioctl(fd, IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT, ev);
}

/* SNAPSHOT_COLLECT, two calls; *@n ids in @out. */
static inline int v2_snapshot_collect(int fd, struct blk_snap_uuid *out,
				      unsigned int max, unsigned int *n)
{
	struct blk_snap_snapshot_collect arg;
	int ret;

	memset(&arg, 0, sizeof(arg));
	ret = v2_ioctl(fd, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT, &arg);
	if (ret)
		return ret;
	if (arg.count > max)
		return -ENOSPC;
	arg.ids = out;
	ret = v2_ioctl(fd, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT, &arg);
	*n = arg.count;
	return ret;
}

/* Teardown: destroy every snapshot and remove the trackers of @devs. */
static inline void v2_cleanup(const char *const *devs, int n)
{
	struct blk_snap_uuid ids[64];
	unsigned int cnt = 0, i;
	int fd = v2_open();

	if (fd < 0)
		return;
	if (!v2_snapshot_collect(fd, ids, 64, &cnt))
		for (i = 0; i < cnt; i++)
			v2_destroy(fd, &ids[i]);
	for (i = 0; i < (unsigned int)n; i++)
		v2_remove(fd, v2_dev_of(devs[i]));
	close(fd);
}

#endif /* BLKSNAP_TESTS_V2_H */
