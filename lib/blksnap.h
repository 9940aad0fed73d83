/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libblksnap: the user-space side of the blksnap module, for backup agents
 * and tools.  Every call returns 0 (or a count) on success and -errno on
 * failure; none prints, none exits, none keeps global state except the
 * ioctl hook below.  One file per area:
 *
 *   ioctl.c     the one entry into the kernel (blksnap_ioctl) and its hook
 *   filter.c    BLKFILTER_* on a block device's fd: attach, detach, the
 *               CBT ctl commands, snapshotadd / snapshotinfo (v3)
 *   control.c   /dev/blksnap-control: version, snapshot create / destroy /
 *               append storage / take / collect / wait for events (v3)
 *   storage.c   storage files: fallocate, FIEMAP to sector ranges, the
 *               immutable attribute, the file-system check
 *   backup.c    the incremental-backup walk over a CBT map
 *
 * The interface-2 (/dev/blksnap) wrappers, when added, go in a file of
 * their own with a blksnap_v2_ prefix.
 */
#ifndef LIBBLKSNAP_H
#define LIBBLKSNAP_H

#include <stddef.h>
#include <stdint.h>
#include <linux/blk-filter.h>
#include <linux/blksnap.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ioctl.c --------------------------------------------------------- */

/*
 * Every request of the library goes through blksnap_ioctl(): ioctl(2),
 * returning its result or -errno.  blksnap_set_ioctl_hook() replaces it
 * (NULL restores ioctl(2)), so that a program can run its logic against a
 * stand-in for the kernel (blksnapctl's host tests do).
 */
typedef int (*blksnap_ioctl_fn)(int fd, unsigned long req, void *arg);
int blksnap_ioctl(int fd, unsigned long req, void *arg);
void blksnap_set_ioctl_hook(blksnap_ioctl_fn fn);

/* ---- filter.c: on the fd of a block device ----------------------------- */

#define BLKSNAP_FILTER_NAME "blksnap"
/* Largest map slice one cbtmap ctl is asked for by blksnap_cbt_map_read(). */
#define BLKSNAP_CBTMAP_CHUNK (1U << 20)

/* BLKFILTER_ATTACH or BLKFILTER_DETACH (@req) of the filter @name. */
int blksnap_filter_name(int fd, unsigned long req, const char *name);
int blksnap_attach(int fd);
int blksnap_detach(int fd);
/* BLKFILTER_CTL of the blksnap filter; the ctl's result or -errno. */
int blksnap_filter_ctl(int fd, unsigned int cmd, void *opt,
		       unsigned int optlen);
int blksnap_cbt_info(int fd, struct blksnap_cbtinfo *info);
/* One cbtmap ctl: the number of map bytes read, or -errno. */
int blksnap_cbt_map(int fd, uint32_t offset, uint32_t length, uint8_t *buf);
/* Map bytes [@offset, @offset + @length) in slices; 0 or -errno. */
int blksnap_cbt_map_read(int fd, uint32_t offset, uint32_t length,
			 uint8_t *buf);
int blksnap_cbt_mark_dirty(int fd, struct blksnap_sectors *ranges,
			   unsigned int count);
int blksnap_snapshot_add(int fd, const struct blksnap_uuid *id);
/* snapshotinfo; info->image is NUL-terminated on return. */
int blksnap_snapshot_info(int fd, struct blksnap_snapshotinfo *info);

/* ---- control.c: /dev/blksnap-control ---------------------------------- */

#define BLKSNAP_CTL_PATH "/dev/" BLKSNAP_CTL

/* Open the control device: the fd, or -errno (-ENOENT: no module). */
int blksnap_ctl_open(void);
int blksnap_version(int cfd, struct blksnap_version *v);
int blksnap_snapshot_create(int cfd, struct blksnap_uuid *id);
int blksnap_snapshot_destroy(int cfd, const struct blksnap_uuid *id);
int blksnap_snapshot_take(int cfd, const struct blksnap_uuid *id);
/* Give @count sector ranges of block device @bdev_path to snapshot @id. */
int blksnap_snapshot_append_storage(int cfd, const struct blksnap_uuid *id,
				    const char *bdev_path,
				    struct blksnap_sectors *ranges,
				    unsigned int count);
/*
 * The ids of every snapshot: *@ids is malloc'ed (NULL when there are
 * none), *@count set.  Retries while snapshots come and go.
 */
int blksnap_snapshot_collect(int cfd, struct blksnap_uuid **ids,
			     unsigned int *count);
/*
 * Wait up to @timeout_ms for an event of snapshot @id into *@ev: 0,
 * -ENOENT (no event in time), -ESRCH (no such snapshot, or destroyed while
 * waiting), -EINTR.
 */
int blksnap_wait_event(int cfd, const struct blksnap_uuid *id,
		       unsigned int timeout_ms,
		       struct blksnap_snapshot_event *ev);

/* ---- storage.c: difference storage in files ---------------------------- */

/* Why blksnap_file_map() refused a file (filled on -EINVAL). */
enum blksnap_map_fault {
	BLKSNAP_MAP_OK = 0,
	BLKSNAP_MAP_HOLE,	/* @offset is not allocated */
	BLKSNAP_MAP_FLAGS,	/* extent at @offset: @flags say it moves */
	BLKSNAP_MAP_UNALIGNED,	/* extent at @offset: not 512-byte aligned */
	BLKSNAP_MAP_SHORT,	/* only @offset bytes are allocated */
	BLKSNAP_MAP_FIEMAP,	/* FS_IOC_FIEMAP failed (the -errno returned) */
};

struct blksnap_map_error {
	enum blksnap_map_fault fault;
	uint64_t offset;
	unsigned int flags;
};

/*
 * FIEMAP the first @size bytes of the file @fd into sector ranges of its
 * file system's device, neighbours merged.  Holes and extents whose place
 * is not fixed (unknown, delayed, encoded, inline, shared...) are refused.
 * Returns the number of ranges in *@ranges (malloc'ed) or -errno; @err
 * (may be NULL) says why on failure.
 */
int blksnap_file_map(int fd, uint64_t size, struct blksnap_sectors **ranges,
		     struct blksnap_map_error *err);
/* Set (@on) or clear the immutable attribute through @fd. */
int blksnap_file_set_immutable(int fd, int on);
/* fallocate(@fd, 0, 0, @size). */
int blksnap_file_allocate(int fd, uint64_t size);
/*
 * Whether a file of statfs type @fs_type, open as @fd, may hold storage:
 * ext4, and xfs outside its realtime device, place extents at fixed
 * sectors of their own device.  0, -EOPNOTSUPP (another file system),
 * -EINVAL (xfs realtime) or the -errno of FS_IOC_FSGETXATTR.
 */
int blksnap_fs_check(int fd, unsigned long fs_type);
/*
 * All of the above for an agent: create @path (a new file, O_EXCL, mode
 * 0600) of @size bytes, allocate it, fsync, make it immutable, map it and
 * append its ranges on block device @bdev_path (the node of the file's
 * st_dev) to snapshot @id.  On failure the file is removed.  0 or -errno.
 * A file appended this way must have its immutable flag cleared
 * (blksnap_file_set_immutable) before it can be removed.
 */
int blksnap_storage_file_append(int cfd, const struct blksnap_uuid *id,
				const char *path, const char *bdev_path,
				uint64_t size, struct blksnap_map_error *err);

/* ---- backup.c: the incremental walk ------------------------------------ */

/* Why blksnap_incremental_check() says a full backup is needed. */
enum blksnap_full_reason {
	BLKSNAP_INCREMENTAL_OK = 0,
	BLKSNAP_FULL_GENERATION,	/* the CBT generation changed */
	BLKSNAP_FULL_CHANGES_NUMBER,	/* changes_number not above saved */
	BLKSNAP_FULL_GEOMETRY,		/* capacity or block size changed */
};

/*
 * Whether an incremental backup on top of the one taken when the CBT was
 * @saved is valid now (@now, read on the snapshot's device after TAKE):
 * the generation is the same and changes_number is above the saved one
 * (equal: the same snapshot or a wrap; smaller: a wrap), capacity and
 * block size unchanged.
 */
enum blksnap_full_reason
blksnap_incremental_check(const struct blksnap_cbtinfo *saved,
			  const struct blksnap_cbtinfo *now);

/*
 * Walk the runs of changed blocks: the blocks whose map byte is above
 * @saved_changes (the changes_number saved with the last backup).  Start
 * with *@pos = 0; each call returns 1 with the next run in *@first and
 * *@count and advances *@pos, or 0 when the map holds no more.
 */
int blksnap_cbt_next_run(const uint8_t *map, uint64_t nblocks,
			 unsigned int saved_changes, uint64_t *pos,
			 uint64_t *first, uint64_t *count);

#ifdef __cplusplus
}
#endif

#endif /* LIBBLKSNAP_H */
