// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: full and incremental backups of a snapshot image into a
 * regular file, with the change-block-tracking state of the last backup
 * kept in a small text file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>
#include "blksnapctl.h"

#define BUFSZ (1U << 20)

struct bstate {
	struct blksnap_uuid generation_id;
	unsigned int changes_number;
	unsigned int block_size;
	unsigned long long device_capacity;
};

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

static int read_state(const char *path, struct bstate *s)
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
	}
	fclose(f);
	return have == 15 ? 0 : -EINVAL;
}

static int write_state(const char *path, const struct blksnap_cbtinfo *ci)
{
	char tmp[4096], uuid[40];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	uuid_format(&ci->generation_id, uuid);
	fprintf(f, "# blksnapctl backup state\ngeneration_id=%s\nchanges_number=%u\nblock_size=%u\ndevice_capacity=%llu\n",
		uuid, ci->changes_number, ci->block_size,
		(unsigned long long)ci->device_capacity);
	if (fflush(f) || fsync(fileno(f))) {
		int err = -errno;

		fclose(f);
		unlink(tmp);
		return err;
	}
	if (fclose(f) || rename(tmp, path)) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
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
		ssize_t r = img_pread(in, buf, n, off);

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
	ret = snap_info(fd, &info);
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

/* An image named after another device than @origin is a mistake. */
static int check_pair(const char *origin, const char *image)
{
	struct stat a, b;
	char node[128];

	if (stat(origin, &a))
		return fail(-errno, "%s: %s", origin, strerror(errno));
	if (image_origin(image, node, sizeof(node)) || stat(node, &b))
		return 0;	/* not named blksnap-image_M:m: trust it */
	if (a.st_rdev != b.st_rdev)
		return fail(-EINVAL, "%s is the image of %s, not of %s (run: " PROG " snapshot info %s)",
			    image, node, origin, origin);
	return 0;
}

static int origin_cbt(const char *origin, struct blksnap_cbtinfo *ci)
{
	int fd, ret;

	ret = open_bdev(origin, &fd);
	if (ret)
		return ret;
	ret = cbt_info(fd, ci);
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

	if (opt_json) {
		printf("{\"mode\":\"%s\",\"reason\":", mode);
		json_str(stdout, why);
		printf(",\"image\":");
		json_str(stdout, j->image);
		printf(",\"output\":");
		json_str(stdout, j->out);
		printf(",\"bytes_total\":%llu,\"block_size\":%llu,\"blocks_total\":%llu,\"blocks_copied\":%llu,\"verified\":%s}\n",
		       (unsigned long long)size, (unsigned long long)bsize,
		       (unsigned long long)total, (unsigned long long)copied,
		       verified ? "true" : "false");
		return;
	}
	printf("%s backup of %s to %s: %llu of %llu blocks of %llu bytes copied%s%s\n",
	       mode, j->image, j->out, (unsigned long long)copied,
	       (unsigned long long)total, (unsigned long long)bsize,
	       verified ? ", verified" : "", "");
}

static int do_backup(const struct job *j)
{
	struct blksnap_cbtinfo ci;
	struct bstate st;
	struct progress p;
	const char *why = "full backup requested";
	uint64_t size, bsize = BUFSZ, copied = 0, where, i, k;
	int img, out = -1, ret, have_cbt = 0, full = 1, oflags, ofd;
	uint8_t *map = NULL;
	void *buf = NULL;

	img = open(j->image, O_RDONLY | O_CLOEXEC);
	if (img < 0)
		return fail(-errno, "%s: %s", j->image, strerror(errno));
	ret = bdev_size(img, &size);
	if (ret) {
		ret = fail(ret, "%s: %s", j->image, strerror(-ret));
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
		ret = read_state(j->state, &st);
		if (ret == -ENOENT)
			why = "no state file: first backup";
		else if (ret)
			why = "state file unreadable";
		else if (memcmp(&st.generation_id, &ci.generation_id,
				sizeof(st.generation_id)))
			why = "change-tracking generation changed";
		else if (st.block_size != ci.block_size ||
			 st.device_capacity != ci.device_capacity ||
			 ci.device_capacity != size)
			why = "device size or tracking block size changed";
		else if (access(j->out, F_OK))
			why = "base file missing";
		else
			full = 0;
		if (full && !opt_json)
			printf("%s: doing a full copy (%s)\n", j->out, why);
		if (!full)
			why = "changed blocks only";
	}
	buf = aligned_alloc(4096, BUFSZ);
	if (!buf) {
		ret = fail(-ENOMEM, "out of memory");
		goto out;
	}
	oflags = O_RDWR | O_CREAT | O_CLOEXEC | (full ? O_TRUNC : 0);
	out = open(j->out, oflags, 0600);
	if (out < 0) {
		ret = fail(-errno, "%s: %s", j->out, strerror(errno));
		goto out;
	}
	if (!full) {
		struct stat sb;

		if (fstat(out, &sb) || (uint64_t)sb.st_size != size) {
			ret = fail(-EINVAL, "%s: its size is not the image's %llu bytes: not the base of this device (remove %s to start with a full backup)",
				   j->out, (unsigned long long)size, j->state);
			goto out;
		}
	}
	if (full) {
		progress_init(&p, size);
		if (ftruncate(out, size)) {
			ret = fail(-errno, "%s: %s", j->out, strerror(errno));
			goto out;
		}
		ret = copy_range(img, out, 0, size, buf, 1, &p);
		progress_end(&p);
		copied = (size + bsize - 1) / bsize;
	} else {
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
		ret = cbt_map_read(ofd, &ci, 0, nblk, map);
		close(ofd);
		if (ret) {
			ret = filter_fail(j->origin, ret, "cbtmap");
			goto out;
		}
		for (i = 0; i < nblk; i++)
			if (map[i] > st.changes_number)
				copied++;
		progress_init(&p, copied * bsize);
		for (i = 0; i < nblk && !ret; i = k) {
			uint64_t off, len;

			for (k = i; k < nblk && map[k] > st.changes_number;
			     k++)
				;
			if (k == i) {
				k++;
				continue;
			}
			off = i * bsize;
			len = (k - i) * bsize;
			if (off + len > size)
				len = size - off;
			ret = copy_range(img, out, off, len, buf, 0, &p);
		}
		progress_end(&p);
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
	/* The snapshot still holds: its corruption makes the copy useless. */
	if (j->origin) {
		struct blksnap_snapshotinfo si;
		int fd;

		if (!open_bdev(j->origin, &fd)) {
			if (!snap_info(fd, &si) && si.error_code) {
				close(fd);
				ret = fail(si.error_code, "%s: the snapshot was corrupted during the backup (%s): %s is not usable",
					   j->origin,
					   strerror(-si.error_code), j->out);
				goto out;
			}
			close(fd);
		}
	}
	if (j->state && have_cbt) {
		ret = write_state(j->state, &ci);
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
