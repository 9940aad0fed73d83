/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers for snapshot tests: the control ioctls and the snapshot ctls. */
#ifndef BLKSNAP_TESTS_SNAP_H
#define BLKSNAP_TESTS_SNAP_H

#include <stdint.h>
#include "cbt.h"
#include "ctl.h"

static inline int snap_create(int cfd, struct blksnap_uuid *id)
{
	return blksnap_snapshot_create(cfd, id);
}

static inline int snap_destroy(int cfd, const struct blksnap_uuid *id)
{
	return blksnap_snapshot_destroy(cfd, id);
}

static inline int snap_take(int cfd, const struct blksnap_uuid *id)
{
	return blksnap_snapshot_take(cfd, id);
}

/* Append @count ranges of device @path. */
static inline int snap_append(int cfd, const struct blksnap_uuid *id,
			      const char *path, struct blksnap_sectors *r,
			      unsigned int count)
{
	return blksnap_snapshot_append_storage(cfd, id, path, r, count);
}

static inline int snap_append_range(int cfd, const struct blksnap_uuid *id,
				    const char *path, uint64_t offset,
				    uint64_t count)
{
	struct blksnap_sectors r = { .offset = offset, .count = count };

	return snap_append(cfd, id, path, &r, 1);
}

static inline int snap_wait(int cfd, const struct blksnap_uuid *id,
			    unsigned int timeout_ms,
			    struct blksnap_snapshot_event *ev)
{
	return blksnap_wait_event(cfd, id, timeout_ms, ev);
}

static inline int snap_add(int bfd, const struct blksnap_uuid *id)
{
	return blksnap_snapshot_add(bfd, id);
}

static inline int snap_info(int bfd, struct blksnap_snapshotinfo *info)
{
	memset(info, 0x5a, sizeof(*info));
	return bf_ctl(bfd, blkfilter_ctl_blksnap_snapshotinfo, info,
		      sizeof(*info));
}

/* Open the image of a device given its snapshotinfo. */
static inline int snap_open_image(int bfd, int flags)
{
	struct blksnap_snapshotinfo info;
	char path[64];

	if (snap_info(bfd, &info) || !info.image[0])
		return -ENOENT;
	snprintf(path, sizeof(path), "/dev/%s", (char *)info.image);
	if (wait_for_node(path))
		return -ENOENT;
	return open(path, flags);
}

/*
 * CREATE a snapshot of the devices @fds[0..n) (already attached), give it
 * @count sectors of @storage from @offset, and TAKE it.  0 or -errno.
 */
static inline int snap_create_take(int cfd, struct blksnap_uuid *id, const int *fds,
			     int n, const char *storage, uint64_t offset,
			     uint64_t count)
{
	int i, ret;

	ret = snap_create(cfd, id);
	for (i = 0; i < n && !ret; i++)
		ret = snap_add(fds[i], id);
	if (!ret)
		ret = snap_append_range(cfd, id, storage, offset, count);
	if (!ret)
		ret = snap_take(cfd, id);
	return ret;
}

/*
 * Self-describing 4 KiB blocks: every 512-byte sector carries a magic, the
 * device tag, its own sector number, a generation and a checksum.
 */
#define SD_MAGIC 0x626c6b73U

struct sd_sector {
	uint32_t magic;
	uint32_t tag;
	uint64_t sector;
	uint32_t gen;
	uint32_t sum;
	uint8_t fill[488];
};

static inline uint32_t sd_sum(const struct sd_sector *s)
{
	return s->magic ^ s->tag ^ (uint32_t)s->sector ^
	       (uint32_t)(s->sector >> 32) ^ s->gen ^ 0x9e3779b9U;
}

static inline void sd_fill(void *buf, size_t bytes, uint32_t tag,
			   uint64_t sector, uint32_t gen)
{
	struct sd_sector *s = buf;
	size_t i;

	for (i = 0; i < bytes / 512; i++) {
		s[i].magic = SD_MAGIC;
		s[i].tag = tag;
		s[i].sector = sector + i;
		s[i].gen = gen;
		s[i].sum = sd_sum(&s[i]);
		memset(s[i].fill, (int)(gen + sector + i), sizeof(s[i].fill));
	}
}

/* Number of sectors in @buf that are not (tag, sector, gen) intact. */
static inline size_t sd_check(const void *buf, size_t bytes, uint32_t tag,
			      uint64_t sector, uint32_t gen)
{
	const struct sd_sector *s = buf;
	size_t i, bad = 0;

	for (i = 0; i < bytes / 512; i++)
		if (s[i].magic != SD_MAGIC || s[i].tag != tag ||
		    s[i].sector != sector + i || s[i].gen != gen ||
		    s[i].sum != sd_sum(&s[i]) ||
		    s[i].fill[0] != (uint8_t)(gen + sector + i) ||
		    s[i].fill[487] != (uint8_t)(gen + sector + i))
			bad++;
	return bad;
}

/*
 * Destroy every snapshot there is, as an agent does after a crash; for
 * teardowns, which may run in another process than the test body.
 */
static inline void snap_destroy_all(void)
{
	struct blksnap_uuid ids[64];
	struct blksnap_snapshot_collect arg = { .count = 64, .ids = ids };
	unsigned int i;
	int cfd = ctl_open();

	if (cfd < 0)
		return;
	if (!ctl_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &arg))
		for (i = 0; i < arg.count && i < 64; i++)
			snap_destroy(cfd, &ids[i]);
	close(cfd);
}

/*
 * Wait for events of snapshot @id until a "corrupted" one, each wait up to
 * @ms: its errno, or -1 when a wait ends without one.
 */
static inline int snap_wait_corrupted(int cfd, const struct blksnap_uuid *id,
				      int ms)
{
	struct blksnap_snapshot_event ev;

	while (!snap_wait(cfd, id, ms, &ev))
		if (ev.code == blksnap_event_code_corrupted)
			return ((struct blksnap_event_corrupted *)ev.data)->err_code;
	return -1;
}

/* Write @len bytes of sd_fill(@tag, generation 1) at @off of @fd. */
static inline int sd_write_at(int fd, uint64_t off, size_t len, uint32_t tag)
{
	void *buf;
	int ret = 0;

	if (posix_memalign(&buf, 4096, len))
		return -ENOMEM;
	sd_fill(buf, len, tag, off / 512, 1);
	if (pwrite(fd, buf, len, off) != (ssize_t)len)
		ret = -EIO;
	free(buf);
	return ret;
}

/* Sectors of [@off, @off + @len) of @fd that are not sd_write_at(@tag). */
static inline long sd_check_at(int fd, uint64_t off, size_t len, uint32_t tag)
{
	void *buf;
	long bad;

	if (posix_memalign(&buf, 4096, len))
		return -ENOMEM;
	if (pread(fd, buf, len, off) != (ssize_t)len)
		bad = -errno;
	else
		bad = sd_check(buf, len, tag, off / 512, 1);
	free(buf);
	return bad;
}

#endif /* BLKSNAP_TESTS_SNAP_H */
