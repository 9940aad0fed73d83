/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blksnapctl: command-line front end of the blksnap module.
 * Declarations shared by its source files.
 */
#ifndef BLKSNAPCTL_H
#define BLKSNAPCTL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <linux/blk-filter.h>
#include <linux/blksnap.h>
#include "blksnap.h"	/* libblksnap */

#define PROG "blksnapctl"
#define CTL_PATH BLKSNAP_CTL_PATH
#define RUNDIR_DEFAULT "/run/blksnapctl"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#ifndef __printf
#define __printf(a, b) __attribute__((format(printf, a, b)))
#endif

/* Exit codes; the table is in blksnapctl.8 and blksnapctl.rst. */
enum {
	EX_OK = 0,
	EX_FAIL = 1,		/* any other failure */
	EX_USAGE = 2,		/* bad command line */
	EX_PERM = 3,		/* EPERM, EACCES: not root / CAP_SYS_ADMIN */
	EX_NOENT = 4,		/* ENOENT: no filter, no file; wait timeout */
	EX_NOSNAP = 5,		/* ESRCH, ENODEV, ENXIO: no such snapshot */
	EX_BUSY = 6,		/* EBUSY */
	EX_ALREADY = 7,		/* EALREADY */
	EX_INVAL = 8,		/* EINVAL */
	EX_NOSPC = 9,		/* ENOSPC, EDQUOT, EFBIG */
	EX_NOTBLK = 10,		/* ENOTBLK, ENOTTY, EOPNOTSUPP */
	EX_IO = 11,		/* EIO */
	EX_NOMOD = 12,		/* /dev/blksnap-control missing */
	EX_CORRUPT = 13,	/* the snapshot is corrupted */
	EX_VERIFY = 14,		/* --verify found a difference */
	EX_HELP = 100,		/* internal: --help printed, exit 0 */
};

/* Options shared by every command. */
extern int opt_json;

/*
 * The result of a command (output.c): out_begin(), fields, out_end().
 * Text: one "key value" line per field; JSON: one object per line.
 * Flags: O_JSON a field only JSON has, O_TEXT only text, O_VALUE text
 * prints the value alone.  out_text() is text-only free prose.
 */
#define O_JSON	0x1
#define O_TEXT	0x2
#define O_VALUE	0x4
void out_begin(void);
void out_end(void);
void out_str(unsigned int flags, const char *key, const char *val);
void out_u64(unsigned int flags, const char *key, uint64_t v);
void out_s64(unsigned int flags, const char *key, int64_t v);
void out_bool(unsigned int flags, const char *key, int v);
void out_list_begin(const char *key);
void out_list_str(const char *v);
void out_list_u64s(int n, const uint64_t *v);
void out_list_end(void);
void out_text(const char *fmt, ...) __printf(1, 2);

/* Command-line option table of one command. */
struct optdef {
	const char *name;	/* long name without "--" */
	char short_name;	/* or 0 */
	int has_arg;
	const char **value;	/* where the argument goes (has_arg) */
	int *flag;		/* set to 1 (no argument) */
};

int parse_opts(int argc, char **argv, const struct optdef *defs,
	       char **pos, int *npos, int maxpos);
int parse_exact(int argc, char **argv, const struct optdef *defs,
		char **pos, int npos, const char *what);
void set_help_cmd(const char *cmd);
int help_asked(const char *a, const char *cmd);
void usage_of(FILE *f, const char *cmd);

/* Messages and exit codes. */
void msg(const char *fmt, ...) __printf(1, 2);
int fail(int err, const char *fmt, ...) __printf(2, 3);
int usage_err(const char *fmt, ...) __printf(1, 2);
int fail_code(int code, const char *name, const char *fmt, ...)
	__printf(3, 4);
/* What every path says when the module is not there. */
#define NOMOD_HINT "blksnap module not loaded: modprobe blksnap"
int errno_exit(int err);
const char *errno_name(int err);
void json_str(FILE *f, const char *s);

/* Parsing. */
int parse_u64(const char *s, uint64_t *v);
int parse_size(const char *s, uint64_t *v);
int parse_range(const char *s, struct blksnap_sectors *r);
int uuid_parse(const char *s, struct blksnap_uuid *id);
void uuid_format(const struct blksnap_uuid *id, char *buf);

/*
 * The device layer (dev.c; fake_dev.c in the host-test build, where
 * regular files stand in for devices): 0 or -errno.
 */
int open_bdev(const char *path, int *fd);
int is_bdev(const struct stat *st);
int bdev_size(int fd, uint64_t *bytes);
int ctl_open(int *fd);
const char *sysfs_root(void);
int image_path(const char *name, char *buf, size_t len);
ssize_t img_pread(int fd, void *buf, size_t n, uint64_t off);
ssize_t out_pwrite(int fd, const void *buf, size_t n, uint64_t off);
int file_fallocate(int fd, uint64_t size);
int fs_type(int fd, unsigned long *type);
int storage_bdev_of(dev_t dev, char *buf, size_t len);

/* Above the device layer. */
int ctl_exit(int err);
int module_loaded(void);
int module_missing(void);
int devnode_of(unsigned int maj, unsigned int min, char *buf, size_t len);
int whole_disk_of(dev_t dev, dev_t *disk);
int filter_fail(const char *dev, int err, const char *what);
int with_bdev(const char *dev, int *fd);

/* State of a snapshot kept by the tool (storage.c). */
int state_path(const struct blksnap_uuid *id, char *buf, size_t len);
int state_add_line(const struct blksnap_uuid *id, const char *fmt, ...)
	__printf(2, 3);
int state_devices(const struct blksnap_uuid *id, dev_t *devs, int max);
int storage_append_file(int cfd, const struct blksnap_uuid *id,
			const char *path, uint64_t size, int force,
			uint64_t *appended, int quiet_exist);
#define STORAGE_EXISTS (-1)	/* storage_append_file(): the file exists */
int storage_append_dev(int cfd, const struct blksnap_uuid *id,
		       const char *path, struct blksnap_sectors *r,
		       unsigned int n);
int dev_stack_has(dev_t top, dev_t target);
/* A whole device as storage: mounted, held or signed? (devcheck.c) */
int storage_dev_check(const char *path);
const char *dev_signature(const unsigned char *buf, size_t n);
int state_cleanup(const struct blksnap_uuid *id, int keep, int *nfiles);

/* The state of "backup" (backup_state.c). */
/*
 * The state of the last backup: the CBT position it copied up to and the
 * identity of the base file it describes.  The identity is the base's size,
 * inode number and mtime after the backup, and a random backup id stored
 * both here and in the base's xattr BASE_ID_XATTR (where the file system
 * has user xattrs): a copy of another backup over the base, or any write
 * into it, no longer matches.
 */
struct bstate {
	struct blksnap_uuid generation_id;
	unsigned int changes_number;
	unsigned int block_size;
	unsigned long long device_capacity;
	unsigned long long base_size;
	unsigned long long base_ino;
	long long base_mtime_sec;
	long base_mtime_nsec;
	char base_id[33];
	int base_id_xattr;
};

#define BASE_ID_XATTR "user.blksnapctl.backup_id"

int bstate_read(const char *path, struct bstate *s);
int fsync_dir_of(const char *path);
int create_tmp(const char *path, char *tmp, size_t len);
int bstate_invalidate(const char *path);
int bstate_write(const char *path, const struct blksnap_cbtinfo *ci,
		 int base, const char *base_id, int id_xattr);
int bstate_new_base_id(int fd, char *id, int *in_xattr);
const char *bstate_base_mismatch(int fd, const struct bstate *s);

/* Commands. */
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_cbtinfo(int argc, char **argv);
int cmd_cbtmap(int argc, char **argv);
int cmd_markdirty(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_snapshot_append(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_status(int argc, char **argv);

#endif /* BLKSNAPCTL_H */
