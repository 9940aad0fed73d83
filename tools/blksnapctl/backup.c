// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: full and incremental backups of a snapshot image into a
 * regular file, with the change-block-tracking state of the last backup
 * kept in a small text file.
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

#define BUFSZ (1U << 20)


/* Set by SIGINT, SIGTERM and SIGHUP during a backup: stop copying. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct progress {
	int on;
	uint64_t total;
	uint64_t done;
	int last_pct;
	time_t last;
};

static void progress_init(struct progress *p, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->on = !opt_json && isatty(STDOUT_FILENO);
	p->total = total ? total : 1;
	p->last_pct = -1;
}

static void progress_add(struct progress *p, uint64_t n)
{
	int pct, i;

	p->done += n;
	if (!p->on)
		return;
	pct = p->done * 100 / p->total;
	if (pct == p->last_pct && time(NULL) == p->last)
		return;
	p->last_pct = pct;
	p->last = time(NULL);
	printf("\r[");
	for (i = 0; i < 40; i++)
		putchar(i < pct * 40 / 100 ? '#' : ' ');
	printf("] %3d%% %llu/%llu MiB", pct,
	       (unsigned long long)(p->done >> 20),
	       (unsigned long long)(p->total >> 20));
	fflush(stdout);
}

static void progress_end(struct progress *p)
{
	if (p->on)
		printf("\n");
}

static int is_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

/* Copy [off, off + len) of @in to @out; zero blocks become holes. */
static int copy_range(int in, int out, uint64_t off, uint64_t len,
		      void *buf, int sparse, struct progress *p)
{
	while (len) {
		size_t n = len < BUFSZ ? len : BUFSZ;
		ssize_t r;

		if (interrupted)
			return -EINTR;
		r = img_pread(in, buf, n, off);
		if (r < 0)
			return -errno;
		if ((size_t)r != n)
			return -EIO;
		if (!(sparse && is_zero(buf, n))) {
			r = out_pwrite(out, buf, n, off);
			if (r < 0)
				return -errno;
			if ((size_t)r != n)
				return -ENOSPC;
		}
		off += n;
		len -= n;
		progress_add(p, n);
	}
	return 0;
}

/* Compare the whole of @img and @file; 0, 1 at a difference, or -errno. */
static int verify(int img, int file, uint64_t size, uint64_t *where)
{
	char *a = malloc(BUFSZ), *b = malloc(BUFSZ);
	struct progress p;
	uint64_t off;
	int ret = 0;

	if (!a || !b) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	posix_fadvise(file, 0, 0, POSIX_FADV_DONTNEED);
	posix_fadvise(img, 0, 0, POSIX_FADV_DONTNEED);
	progress_init(&p, size);
	for (off = 0; off < size && !ret; off += BUFSZ) {
		size_t n = size - off < BUFSZ ? size - off : BUFSZ;

		if (pread(img, a, n, off) != (ssize_t)n ||
		    pread(file, b, n, off) != (ssize_t)n) {
			ret = errno ? -errno : -EIO;
			break;
		}
		if (memcmp(a, b, n)) {
			size_t i;

			for (i = 0; i < n && a[i] == b[i]; i++)
				;
			*where = off + i;
			ret = 1;
		}
		progress_add(&p, n);
	}
	progress_end(&p);
	free(a);
	free(b);
	return ret;
}

static int image_origin(const char *image, char *origin, size_t len)
{
	const char *base = strrchr(image, '/');
	unsigned int maj, min;

	base = base ? base + 1 : image;
	if (sscanf(base, BLKSNAP_IMAGE_NAME "_%u:%u", &maj, &min) != 2)
		return -EINVAL;
	return devnode_of(maj, min, origin, len);
}

/*
 * What to back up: a snapshot UUID (its only device recorded by
 * "snapshot add"), an original device, or an image device.  Fills the
 * image's path and, when known, the original's.
 */
static int resolve(const char *arg, char *image, char *origin, size_t len)
{
	struct blksnap_snapshotinfo info;
	struct blksnap_uuid id;
	struct stat st;
	dev_t devs[64];
	const char *base;
	int fd, n, ret;

	origin[0] = 0;
	if (!uuid_parse(arg, &id)) {
		n = state_devices(&id, devs, 64);
		if (n == 0)
			return fail(-ENOENT, "%s: no device of this snapshot is known to " PROG " (name the device: " PROG " backup full DEV ...)",
				    arg);
		if (n > 1)
			return fail(-EINVAL, "%s: the snapshot has %d devices; back up each one by name (" PROG " backup full DEV ...)",
				    arg, n);
		ret = devnode_of(major(devs[0]), minor(devs[0]), origin, len);
		if (ret)
			return fail(ret, "%s: its device %u:%u is gone", arg,
				    major(devs[0]), minor(devs[0]));
		arg = origin;
	}
	if (stat(arg, &st))
		return fail(-errno, "%s: %s", arg, strerror(errno));
	if (!is_bdev(&st))
		return fail(-ENOTBLK, "%s: not a block device (give a snapshot UUID, the original device or its image)",
			    arg);
	base = strrchr(arg, '/');
	base = base ? base + 1 : arg;
	if (!strncmp(base, BLKSNAP_IMAGE_NAME "_", strlen(BLKSNAP_IMAGE_NAME) + 1)) {
		snprintf(image, len, "%s", arg);
		if (image_origin(image, origin, len))
			origin[0] = 0;
		return 0;
	}
	if (origin != arg)
		snprintf(origin, len, "%s", arg);
	ret = open_bdev(origin, &fd);
	if (ret)
		return filter_fail(origin, ret, "open");
	ret = blksnap_snapshot_info(fd, &info);
	close(fd);
	if (ret)
		return filter_fail(origin, ret, "snapshotinfo");
	if (!info.image[0])
		return fail(-ENOENT, "%s: no snapshot of this device is taken (run: " PROG " snapshot take UUID)",
			    origin);
	if (info.error_code)
		return fail(info.error_code, "%s: its snapshot is corrupted (%s); the image cannot be read",
			    origin, strerror(-info.error_code));
	return image_path((char *)info.image, image, len);
}

/* Same device node, or (fake device layer) the same file. */
static int same_node(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) || S_ISBLK(b->st_mode))
		return S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode) &&
		       a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* @image must be the image snapshotinfo names for @origin. */
static int check_pair(const char *origin, const char *image)
{
	struct blksnap_snapshotinfo info;
	char node[4096];
	struct stat a, b;
	int fd, ret;

	ret = open_bdev(origin, &fd);
	if (ret)
		return filter_fail(origin, ret, "open");
	ret = blksnap_snapshot_info(fd, &info);
	close(fd);
	if (ret)
		return filter_fail(origin, ret, "snapshotinfo");
	if (!info.image[0])
		return fail(-ENOENT, "%s: no snapshot of this device is taken (run: " PROG " snapshot take UUID)",
			    origin);
	ret = image_path((char *)info.image, node, sizeof(node));
	if (ret)
		return fail(ret, "%s: %s", origin, strerror(-ret));
	if (stat(image, &a))
		return fail(-errno, "%s: %s", image, strerror(errno));
	if (stat(node, &b))
		return fail(-errno, "%s: %s", node, strerror(errno));
	if (!same_node(&a, &b))
		return fail(-EINVAL, "%s is not the snapshot image of %s, which is %s (run: " PROG " snapshot info %s)",
			    image, origin, node, origin);
	return 0;
}

/*
 * Is the image mounted read-write?  Writes through it (journal replay,
 * anything) change the CBT map after it is read: back it up only when it
 * is unmounted (or mounted read-only).
 */
static int mounted_rw(int img)
{
	char line[4096], opts[256];
	unsigned int maj, min;
	struct stat st;
	int rw = 0;
	FILE *f;

	if (fstat(img, &st) || !S_ISBLK(st.st_mode))
		return 0;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	while (!rw && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*d %*d %u:%u %*s %*s %255s", &maj, &min,
			   opts) == 3 &&
		    makedev(maj, min) == st.st_rdev && !strncmp(opts, "rw", 2) &&
		    (opts[2] == ',' || !opts[2]))
			rw = 1;
	fclose(f);
	return rw;
}

static int origin_cbt(const char *origin, struct blksnap_cbtinfo *ci)
{
	int fd, ret;

	ret = open_bdev(origin, &fd);
	if (ret)
		return ret;
	ret = blksnap_cbt_info(fd, ci);
	close(fd);
	return ret < 0 ? ret : 0;
}

struct job {
	const char *image;
	const char *out;
	const char *state;
	const char *origin;	/* NULL: no CBT */
	int verify;
	int incremental;
};

static void report(const struct job *j, const char *mode, const char *why,
		   uint64_t size, uint64_t bsize, uint64_t copied, int verified)
{
	uint64_t total = (size + bsize - 1) / bsize;

	out_begin();
	out_str(O_JSON, "mode", mode);
	out_str(O_JSON, "reason", why);
	out_str(O_JSON, "image", j->image);
	out_str(O_JSON, "output", j->out);
	out_u64(O_JSON, "bytes_total", size);
	out_u64(O_JSON, "block_size", bsize);
	out_u64(O_JSON, "blocks_total", total);
	out_u64(O_JSON, "blocks_copied", copied);
	out_bool(O_JSON, "verified", verified);
	out_text("%s backup of %s to %s: %llu of %llu blocks of %llu bytes copied%s\n",
		 mode, j->image, j->out, (unsigned long long)copied,
		 (unsigned long long)total, (unsigned long long)bsize,
		 verified ? ", verified" : "");
	out_end();
}

/* The snapshot still holds: its corruption makes the copy useless. */
static int check_corrupted(const struct job *j)
{
	struct blksnap_snapshotinfo si;
	int fd, ret = 0;

	if (!j->origin || open_bdev(j->origin, &fd))
		return 0;
	if (!blksnap_snapshot_info(fd, &si) && si.error_code)
		ret = fail(si.error_code, "%s: the snapshot was corrupted during the backup (%s): %s is not usable",
			   j->origin, strerror(-si.error_code), j->out);
	close(fd);
	return ret;
}

/* Blocks whose map byte is above @saved: copy them from @img onto @out. */
static int copy_changed(int img, int out, const uint8_t *map, uint64_t nblk,
			unsigned int saved, uint64_t bsize, uint64_t size,
			void *buf, struct progress *p)
{
	uint64_t pos = 0, first, count;
	int ret = 0;

	while (!ret && blksnap_cbt_next_run(map, nblk, saved, &pos, &first,
					    &count)) {
		uint64_t off = first * bsize, len = count * bsize;

		if (off + len > size)
			len = size - off;
		ret = copy_range(img, out, off, len, buf, 0, p);
	}
	return ret;
}

/*
 * Decide between an incremental and a full backup.  The incremental is
 * valid only if the generation is the saved one AND changes_number is
 * above the saved number (same number: the same snapshot, or numbers that
 * wrapped; smaller: wrapped), the sizes are the same and the base is the
 * file the state describes.  Returns the mode (1: full), *@why; or, for a
 * base that is not the state's, an exit code below 0 (message printed).
 * *@base: the base opened read-write when incremental.
 */
static int choose_mode(const struct job *j, const struct blksnap_cbtinfo *ci,
		       uint64_t size, struct bstate *st, const char **why,
		       int *base)
{
	struct blksnap_cbtinfo saved = { 0 };
	const char *bad;
	int ret;

	*base = -1;
	ret = bstate_read(j->state, st);
	if (ret == -ENOENT) {
		*why = "no state file: first backup";
		return 1;
	}
	if (ret) {
		*why = "state file unreadable or from an older " PROG;
		return 1;
	}
	saved.generation_id = st->generation_id;
	saved.changes_number = st->changes_number;
	saved.block_size = st->block_size;
	saved.device_capacity = st->device_capacity;
	switch (blksnap_incremental_check(&saved, ci)) {
	case BLKSNAP_FULL_GENERATION:
		*why = "change-tracking generation changed";
		return 1;
	case BLKSNAP_FULL_CHANGES_NUMBER:
		*why = "changes_number not above the saved one";
		return 1;
	case BLKSNAP_FULL_GEOMETRY:
		*why = "device size or tracking block size changed";
		return 1;
	case BLKSNAP_INCREMENTAL_OK:
		break;
	}
	if (ci->device_capacity != size) {
		*why = "device size or tracking block size changed";
		return 1;
	}
	*base = open(j->out, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (*base < 0 && errno == ENOENT) {
		*why = "base file missing";
		return 1;
	}
	if (*base < 0)
		return -fail(-errno, "%s: %s", j->out, strerror(errno));
	bad = bstate_base_mismatch(*base, st);
	if (bad) {
		close(*base);
		*base = -1;
		return -fail(-EINVAL, "%s is not the base that %s describes: %s; refusing an incremental onto it (restore the right base, or remove %s to start a new full backup)",
			     j->out, j->state, bad, j->state);
	}
	*why = "changed blocks only";
	return 0;
}

static int do_backup(const struct job *j)
{
	struct blksnap_cbtinfo ci;
	struct bstate st;
	struct progress p;
	struct sigaction sa;
	const char *why = "full backup requested";
	char tmp[4200] = "", id[33];
	uint64_t size, bsize = BUFSZ, copied = 0, where, i;
	int img, out = -1, ret, have_cbt = 0, full = 1, ofd, id_xattr;
	uint8_t *map = NULL;
	void *buf = NULL;
	struct stat ost, dst;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	img = open(j->image, O_RDONLY | O_CLOEXEC);
	if (img < 0)
		return fail(-errno, "%s: %s", j->image, strerror(errno));
	ret = bdev_size(img, &size);
	if (ret) {
		ret = fail(ret, "%s: %s", j->image, strerror(-ret));
		goto out;
	}
	if (mounted_rw(img)) {
		ret = fail(-EBUSY, "%s is mounted read-write: writes through it (a journal replay) change the change-tracking map after it is read; unmount it, then back it up",
			   j->image);
		goto out;
	}
	if (j->origin) {
		ret = origin_cbt(j->origin, &ci);
		if (!ret) {
			have_cbt = 1;
			bsize = ci.block_size;
		} else if (j->incremental) {
			ret = filter_fail(j->origin, ret, "cbtinfo");
			goto out;
		} else {
			msg("warning: %s: no change tracking (%s); no state saved",
			    j->origin, strerror(-ret));
		}
	}
	if (j->incremental) {
		full = choose_mode(j, &ci, size, &st, &why, &out);
		if (full < 0) {
			ret = -full;
			goto out;
		}
		if (full)
			out_text("%s: doing a full copy (%s)\n", j->out, why);
	}
	buf = aligned_alloc(4096, BUFSZ);
	if (!buf) {
		ret = fail(-ENOMEM, "out of memory");
		goto out;
	}
	if (!full) {
		/* the map first: a failure here changes nothing */
		uint64_t nblk = ci.block_count;

		map = malloc(nblk ? nblk : 1);
		if (!map) {
			ret = fail(-ENOMEM, "out of memory");
			goto out;
		}
		ret = open_bdev(j->origin, &ofd);
		if (ret) {
			ret = filter_fail(j->origin, ret, "open");
			goto out;
		}
		ret = blksnap_cbt_map_read(ofd, 0, nblk, map);
		close(ofd);
		if (ret) {
			ret = filter_fail(j->origin, ret, "cbtmap");
			goto out;
		}
		for (i = 0; i < nblk; i++)
			if (map[i] > st.changes_number)
				copied++;
	}
	/* no state may describe a file that is about to change */
	if (j->state) {
		ret = bstate_invalidate(j->state);
		if (ret) {
			ret = fail(ret, "%s: cannot remove the old state: %s",
				   j->state, strerror(-ret));
			goto out;
		}
	}
	if (full) {
		out = create_tmp(j->out, tmp, sizeof(tmp));
		if (out < 0) {
			ret = fail(out, "%s: %s", tmp, strerror(-out));
			out = -1;
			tmp[0] = 0;
			goto out;
		}
	}
	/* the output on (a device stacked on) the origin: legal, but costly */
	if (j->origin && !stat(j->origin, &dst) && S_ISBLK(dst.st_mode) &&
	    !fstat(out, &ost) && dev_stack_has(ost.st_dev, dst.st_rdev))
		msg("warning: %s is on %s, the device being backed up: every write of the backup goes through the snapshot's copy-on-write",
		    j->out, j->origin);
	if (full) {
		progress_init(&p, size);
		if (ftruncate(out, size))
			ret = -errno;
		else
			ret = copy_range(img, out, 0, size, buf, 1, &p);
		progress_end(&p);
		copied = (size + bsize - 1) / bsize;
	} else {
		progress_init(&p, copied * bsize);
		ret = copy_changed(img, out, map, ci.block_count,
				   st.changes_number, bsize, size, buf, &p);
		progress_end(&p);
	}
	if (ret == -EINTR) {
		ret = fail(ret, "interrupted: %s is %s", j->out,
			   full ? "unchanged" : "incomplete and no state describes it");
		goto out;
	}
	if (ret) {
		ret = fail(ret, "copy %s to %s: %s", j->image, j->out,
			   strerror(-ret));
		goto out;
	}
	if (fsync(out)) {
		ret = fail(-errno, "%s: fsync: %s", j->out, strerror(errno));
		goto out;
	}
	if (j->verify) {
		ret = verify(img, out, size, &where);
		if (ret < 0) {
			ret = fail(ret, "verify: %s", strerror(-ret));
			goto out;
		}
		if (ret) {
			msg("verify: %s and %s differ at byte %llu", j->image,
			    j->out, (unsigned long long)where);
			ret = EX_VERIFY;
			goto out;
		}
	}
	ret = check_corrupted(j);
	if (ret)
		goto out;
	ret = bstate_new_base_id(out, id, &id_xattr);
	if (!ret && fsync(out))
		ret = -errno;
	if (ret) {
		ret = fail(ret, "%s: %s", j->out, strerror(-ret));
		goto out;
	}
	if (interrupted) {
		ret = fail(-EINTR, "interrupted: %s is %s", j->out,
			   full ? "unchanged" : "complete but no state describes it");
		goto out;
	}
	if (full) {
		if (rename(tmp, j->out)) {
			ret = fail(-errno, "rename %s to %s: %s", tmp, j->out,
				   strerror(errno));
			goto out;
		}
		tmp[0] = 0;
	}
	ret = fsync_dir_of(j->out);
	if (ret) {
		ret = fail(ret, "%s: fsync of its directory: %s", j->out,
			   strerror(-ret));
		goto out;
	}
	if (j->state && have_cbt) {
		ret = bstate_write(j->state, &ci, out, id, id_xattr);
		if (ret) {
			ret = fail(ret, "%s: %s", j->state, strerror(-ret));
			goto out;
		}
	} else if (j->state) {
		ret = fail(-ENOENT, "%s: not written: no change tracking known for %s",
			   j->state, j->image);
		goto out;
	}
	report(j, full ? "full" : "incremental", why, size, bsize, copied,
	       j->verify);
	ret = EX_OK;
out:
	if (out >= 0)
		close(out);
	if (tmp[0])
		unlink(tmp);
	close(img);
	free(map);
	free(buf);
	return ret;
}

int cmd_backup(int argc, char **argv)
{
	const char *out = NULL, *state = NULL, *base = NULL;
	int do_verify = 0;
	const struct optdef defs[] = {
		{ "output", 'o', 1, &out },
		{ "state", 0, 1, &state },
		{ "base", 0, 1, &base },
		{ "verify", 0, 0, NULL, &do_verify },
		{ 0 }
	};
	char image[4096], origin[4096], *pos[3];
	struct job j;
	int n, ret;

	if (argc < 1)
		return usage_err("backup needs 'full' or 'incremental'");
	if (help_asked(argv[0], "backup"))
		return EX_HELP;
	if (!strcmp(argv[0], "full"))
		set_help_cmd("backup full");
	else if (!strcmp(argv[0], "incremental"))
		set_help_cmd("backup incremental");
	ret = parse_opts(argc - 1, argv + 1, defs, pos, &n, 2);
	if (ret)
		return ret;
	memset(&j, 0, sizeof(j));
	j.verify = do_verify;
	j.state = state;
	if (!strcmp(argv[0], "full")) {
		if (n != 1 || !out || base)
			return usage_err("backup full needs UUID, DEV or IMAGE and -o FILE");
		ret = resolve(pos[0], image, origin, sizeof(image));
		if (ret)
			return ret;
		j.out = out;
	} else if (!strcmp(argv[0], "incremental")) {
		if (n < 1 || !base || !state || out)
			return usage_err("backup incremental needs DEV [IMAGE], --base FILE and --state STATEFILE");
		snprintf(origin, sizeof(origin), "%s", pos[0]);
		if (n == 2) {
			snprintf(image, sizeof(image), "%s", pos[1]);
			ret = check_pair(origin, image);
			if (ret)
				return ret;
		} else {
			ret = resolve(pos[0], image, origin, sizeof(image));
			if (ret)
				return ret;
		}
		j.out = base;
		j.incremental = 1;
	} else {
		return usage_err("unknown backup mode '%s' (full or incremental)",
				 argv[0]);
	}
	j.image = image;
	j.origin = origin[0] ? origin : NULL;
	return do_backup(&j);
}

