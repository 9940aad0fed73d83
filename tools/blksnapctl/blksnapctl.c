// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: command-line front end of the blksnap module: change-block
 * tracking, snapshots, their difference storage, and full or incremental
 * backups of snapshot images.  See blksnapctl.8.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>
#include "blksnapctl.h"

#ifndef BLKSNAPCTL_VERSION
#define BLKSNAPCTL_VERSION "1.0"
#endif

int opt_json;

void msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const struct {
	int err;
	int code;
	const char *name;
} errtab[] = {
	{ EPERM, EX_PERM, "EPERM" },
	{ EACCES, EX_PERM, "EACCES" },
	{ ENOENT, EX_NOENT, "ENOENT" },
	{ ESRCH, EX_NOSNAP, "ESRCH" },
	{ ENODEV, EX_NOSNAP, "ENODEV" },
	{ ENXIO, EX_NOSNAP, "ENXIO" },
	{ EBUSY, EX_BUSY, "EBUSY" },
	{ EALREADY, EX_ALREADY, "EALREADY" },
	{ EINVAL, EX_INVAL, "EINVAL" },
	{ ENOSPC, EX_NOSPC, "ENOSPC" },
	{ EDQUOT, EX_NOSPC, "EDQUOT" },
	{ EFBIG, EX_NOSPC, "EFBIG" },
	{ ENOTBLK, EX_NOTBLK, "ENOTBLK" },
	{ ENOTTY, EX_NOTBLK, "ENOTTY" },
	{ EOPNOTSUPP, EX_NOTBLK, "EOPNOTSUPP" },
	{ EIO, EX_IO, "EIO" },
	{ EFAULT, EX_FAIL, "EFAULT" },
	{ ENOMEM, EX_FAIL, "ENOMEM" },
	{ ENODATA, EX_FAIL, "ENODATA" },
	{ EINTR, EX_FAIL, "EINTR" },
	{ EEXIST, EX_FAIL, "EEXIST" },
};

int errno_exit(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < ARRAY_SIZE(errtab); i++)
		if (errtab[i].err == err)
			return errtab[i].code;
	return EX_FAIL;
}

const char *errno_name(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < ARRAY_SIZE(errtab); i++)
		if (errtab[i].err == err)
			return errtab[i].name;
	return "E?";
}

/* Print "blksnapctl: <message>" and return the exit code of @err. */
int fail(int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return errno_exit(err);
}

int usage_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (run: " PROG " --help)\n");
	return EX_USAGE;
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/*
 * Options anywhere among the arguments; "--" ends them.  --json is known to
 * every command.  Returns 0 or EX_USAGE (message printed).
 */
int parse_opts(int argc, char **argv, const struct optdef *defs,
	       char **pos, int *npos, int maxpos)
{
	int i, only_pos = 0;

	*npos = 0;
	for (i = 0; i < argc; i++) {
		const struct optdef *d;
		char *a = argv[i], *val = NULL;
		size_t len;

		if (only_pos || a[0] != '-' || !a[1]) {
			if (*npos >= maxpos)
				return usage_err("too many arguments at '%s'",
						 a);
			pos[(*npos)++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = 1;
			continue;
		}
		if (!strcmp(a, "--json")) {
			opt_json = 1;
			continue;
		}
		for (d = defs; d && d->name; d++) {
			if (a[1] == '-') {
				len = strlen(d->name);
				if (strncmp(a + 2, d->name, len))
					continue;
				if (a[2 + len] == '=')
					val = a + 3 + len;
				else if (a[2 + len])
					continue;
				break;
			}
			if (d->short_name && a[1] == d->short_name) {
				if (a[2])
					val = a + 2;
				break;
			}
		}
		if (!d || !d->name)
			return usage_err("unknown option '%s'", a);
		if (!d->has_arg) {
			if (val)
				return usage_err("option '%s' takes no value",
						 a);
			*d->flag = 1;
			continue;
		}
		if (!val) {
			if (i + 1 >= argc)
				return usage_err("option '%s' needs a value",
						 a);
			val = argv[++i];
		}
		*d->value = val;
	}
	return 0;
}

/*
 * parse_opts() for a command that takes exactly @npos positional
 * arguments; any other count prints "@what needs ..." as a usage error.
 * Returns 0 or EX_USAGE.
 */
int parse_exact(int argc, char **argv, const struct optdef *defs,
		char **pos, int npos, const char *what)
{
	int n, ret;

	ret = parse_opts(argc, argv, defs, pos, &n, npos);
	if (ret)
		return ret;
	if (n != npos)
		return usage_err("%s", what);
	return 0;
}

int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

/* "4096", "64K", "16M", "2G", "1T" (binary), "100s" (sectors). */
int parse_size(const char *s, uint64_t *v)
{
	unsigned int shift = 0;
	char *end;
	uint64_t n;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case 0:
		break;
	case 'S':
		shift = 9;
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		if (toupper((unsigned char)*end) == 'I')
			end++;
		if (toupper((unsigned char)*end) == 'B')
			end++;
	}
	if (*end || (shift && n > (UINT64_MAX >> shift)))
		return -EINVAL;
	*v = n << shift;
	return 0;
}

/* "START:COUNT" in 512-byte sectors. */
int parse_range(const char *s, struct blksnap_sectors *r)
{
	char buf[64], *colon;
	uint64_t a, b;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, strlen(s) + 1);
	colon = strchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = 0;
	if (parse_u64(buf, &a) || parse_u64(colon + 1, &b) || !b ||
	    a + b < a)
		return -EINVAL;
	r->offset = a;
	r->count = b;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 32 hex digits, dashes anywhere ignored. */
int uuid_parse(const char *s, struct blksnap_uuid *id)
{
	int n = 0, hi, lo;

	while (*s && n < UUID_SIZE) {
		if (*s == '-') {
			s++;
			continue;
		}
		hi = hexval((unsigned char)s[0]);
		lo = hi < 0 ? -1 : hexval((unsigned char)s[1]);
		if (lo < 0)
			return -EINVAL;
		id->b[n++] = hi << 4 | lo;
		s += 2;
	}
	return n == UUID_SIZE && !*s ? 0 : -EINVAL;
}

void uuid_format(const struct blksnap_uuid *id, char *buf)
{
	const uint8_t *b = id->b;

	sprintf(buf,
		"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Open a block device for the BLKFILTER ioctls. */
int open_bdev(const char *path, int *fd)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd < 0 && (errno == EROFS || errno == EACCES))
		*fd = open(path, O_RDONLY | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

int bdev_size(int fd, uint64_t *bytes)
{
	return ioctl(fd, BLKGETSIZE64, bytes) ? -errno : 0;
}

int bf_name_ioctl(int fd, unsigned long cmd)
{
	struct blkfilter_name n;

	memset(&n, 0, sizeof(n));
	memcpy(n.name, "blksnap", sizeof("blksnap"));
	return ioctl(fd, cmd, &n) ? -errno : 0;
}

int bf_ctl(int fd, unsigned int cmd, void *opt, unsigned int optlen)
{
	struct blkfilter_ctl ctl;
	int ret;

	memset(&ctl, 0, sizeof(ctl));
	memcpy(ctl.name, "blksnap", sizeof("blksnap"));
	ctl.cmd = cmd;
	ctl.optlen = optlen;
	ctl.opt = (uintptr_t)opt;
	ret = ioctl(fd, BLKFILTER_CTL, &ctl);
	return ret < 0 ? -errno : ret;
}

int cbt_info(int fd, struct blksnap_cbtinfo *info)
{
	memset(info, 0, sizeof(*info));
	return bf_ctl(fd, blkfilter_ctl_blksnap_cbtinfo, info, sizeof(*info));
}

/* Read map bytes [offset, offset + length) into @buf; 0 or -errno. */
int cbt_map_read(int fd, const struct blksnap_cbtinfo *info,
		 uint32_t offset, uint32_t length, uint8_t *buf)
{
	uint32_t done = 0;
	int ret;

	if ((uint64_t)offset + length > info->block_count)
		return -EINVAL;
	while (done < length) {
		struct blksnap_cbtmap arg = {
			.offset = offset + done,
			.length = length - done,
			.buffer = buf + done,
		};

		if (arg.length > (1U << 20))
			arg.length = 1U << 20;
		ret = bf_ctl(fd, blkfilter_ctl_blksnap_cbtmap, &arg,
			     sizeof(arg));
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -EIO;
		done += ret;
	}
	return 0;
}

int snap_info(int fd, struct blksnap_snapshotinfo *info)
{
	int ret;

	memset(info, 0, sizeof(*info));
	ret = bf_ctl(fd, blkfilter_ctl_blksnap_snapshotinfo, info,
		     sizeof(*info));
	info->image[sizeof(info->image) - 1] = 0;
	return ret < 0 ? ret : 0;
}

int ctl_open(int *fd)
{
	*fd = open(CTL_PATH, O_RDWR | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	if (errno == ENOENT || errno == ENODEV || errno == ENXIO) {
		msg("%s is missing: the blksnap module is not loaded (run: modprobe blksnap)",
		    CTL_PATH);
		return -ENXIO;
	}
	if (errno == EACCES || errno == EPERM)
		msg("%s: permission denied (run as root)", CTL_PATH);
	else
		msg("%s: %s", CTL_PATH, strerror(errno));
	return -errno;
}

/* Exit code of a failed ctl_open(): the module is missing, or errno's. */
int ctl_exit(int err)
{
	return err == -ENXIO ? EX_NOMOD : errno_exit(err);
}

int ctl_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

/* Path of the node of block device MAJ:MIN: /dev/block/M:m or /dev/NAME. */
int devnode_of(unsigned int maj, unsigned int min, char *buf, size_t len)
{
	char path[64], line[256];
	struct stat st;
	FILE *f;

	snprintf(buf, len, "/dev/block/%u:%u", maj, min);
	if (!stat(buf, &st) && S_ISBLK(st.st_mode) &&
	    st.st_rdev == makedev(maj, min))
		return 0;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", maj, min);
	f = fopen(path, "re");
	if (!f)
		return -ENODEV;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "DEVNAME=", 8))
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(buf, len, "/dev/%s", line + 8);
		fclose(f);
		if (!stat(buf, &st) && S_ISBLK(st.st_mode) &&
		    st.st_rdev == makedev(maj, min))
			return 0;
		return -ENODEV;
	}
	fclose(f);
	return -ENODEV;
}

/* The whole disk of a partition (or @dev itself). */
int whole_disk_of(dev_t dev, dev_t *disk)
{
	char path[96], real[4096], line[64];
	unsigned int maj, min;
	char *slash;
	FILE *f;

	*disk = dev;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition",
		 major(dev), minor(dev));
	if (access(path, F_OK))
		return 0;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", major(dev),
		 minor(dev));
	if (!realpath(path, real))
		return -errno;
	slash = strrchr(real, '/');
	if (!slash)
		return -ENODEV;
	memcpy(slash, "/dev", sizeof("/dev"));
	f = fopen(real, "re");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "%u:%u", &maj, &min) != 2) {
		fclose(f);
		return -ENODEV;
	}
	fclose(f);
	*disk = makedev(maj, min);
	return 0;
}

/* Message for a failed BLKFILTER_* on @dev; returns the exit code. */
int filter_fail(const char *dev, int err, const char *what)
{
	switch (-err) {
	case ENOENT:
		return fail(err, "%s: no blksnap filter attached (run: " PROG " attach %s)",
			    dev, dev);
	case ENOTTY:
		return fail(err, "%s: %s: the device does not know BLKFILTER ioctls (is the blksnap module loaded? run: modprobe blksnap)",
			    dev, what);
	case EPERM:
	case EACCES:
		return fail(err, "%s: %s: permission denied (run as root)",
			    dev, what);
	case ENOTBLK:
		return fail(err, "%s: not a block device", dev);
	default:
		return fail(err, "%s: %s: %s", dev, what, strerror(-err));
	}
}

static int with_bdev(const char *dev, int *fd)
{
	int ret = open_bdev(dev, fd);

	if (ret == -ENOENT)
		return fail(ret, "%s: no such device", dev);
	if (ret)
		return filter_fail(dev, ret, "open");
	return 0;
}

static int cmd_attach_detach(int argc, char **argv, int attach)
{
	char *pos[1];
	int n, fd, ret;

	ret = parse_opts(argc, argv, NULL, pos, &n, 1);
	if (ret)
		return ret;
	if (n != 1)
		return usage_err("%s needs one device", attach ? "attach" :
				 "detach");
	ret = with_bdev(pos[0], &fd);
	if (ret)
		return ret;
	ret = bf_name_ioctl(fd, attach ? BLKFILTER_ATTACH : BLKFILTER_DETACH);
	close(fd);
	if (!ret) {
		if (opt_json)
			printf("{\"device\":\"%s\",\"%s\":true}\n", pos[0],
			       attach ? "attached" : "detached");
		return EX_OK;
	}
	if (attach && ret == -EALREADY)
		return fail(ret, "%s: the blksnap filter is already attached (nothing to do)",
			    pos[0]);
	if (attach && ret == -EBUSY)
		return fail(ret, "%s: another block-device filter is attached; detach it first",
			    pos[0]);
	if (attach && ret == -ENOENT)
		return fail(ret, "%s: no filter named blksnap (run: modprobe blksnap)",
			    pos[0]);
	if (!attach && ret == -ENOENT)
		return fail(ret, "%s: no blksnap filter attached (nothing to detach)",
			    pos[0]);
	if (!attach && ret == -EBUSY)
		return fail(ret, "%s: the device belongs to a snapshot (run: " PROG " snapshot destroy UUID first)",
			    pos[0]);
	if (!attach && ret == -EINVAL)
		return fail(ret, "%s: another block-device filter is attached, not blksnap",
			    pos[0]);
	return filter_fail(pos[0], ret, attach ? "attach" : "detach");
}

static int cmd_cbtinfo(int argc, char **argv)
{
	struct blksnap_cbtinfo info;
	char *pos[1], uuid[40];
	int fd, ret;

	ret = parse_exact(argc, argv, NULL, pos, 1,
			  "cbtinfo needs one device");
	if (ret)
		return ret;
	ret = with_bdev(pos[0], &fd);
	if (ret)
		return ret;
	ret = cbt_info(fd, &info);
	close(fd);
	if (ret < 0)
		return filter_fail(pos[0], ret, "cbtinfo");
	uuid_format(&info.generation_id, uuid);
	if (opt_json) {
		printf("{\"device\":");
		json_str(stdout, pos[0]);
		printf(",\"device_capacity\":%llu,\"block_size\":%u,\"block_count\":%u,\"generation_id\":\"%s\",\"changes_number\":%u}\n",
		       (unsigned long long)info.device_capacity,
		       info.block_size, info.block_count, uuid,
		       info.changes_number);
	} else {
		printf("device_capacity %llu\nblock_size %u\nblock_count %u\ngeneration_id %s\nchanges_number %u\n",
		       (unsigned long long)info.device_capacity,
		       info.block_size, info.block_count, uuid,
		       info.changes_number);
	}
	return EX_OK;
}

static int cmd_cbtmap(int argc, char **argv)
{
	const char *s_off = NULL, *s_len = NULL, *out = NULL;
	const struct optdef defs[] = {
		{ "offset", 0, 1, &s_off },
		{ "length", 0, 1, &s_len },
		{ "output", 'o', 1, &out },
		{ 0 }
	};
	struct blksnap_cbtinfo info;
	uint64_t off = 0, len;
	uint8_t *map;
	char *pos[1];
	int n, fd, ret;
	uint64_t i, j;

	ret = parse_exact(argc, argv, defs, pos, 1,
			  "cbtmap needs one device");
	if (ret)
		return ret;
	if (s_off && parse_u64(s_off, &off))
		return usage_err("bad --offset '%s' (a block number)", s_off);
	if (s_len && parse_u64(s_len, &len))
		return usage_err("bad --length '%s' (a number of blocks)",
				 s_len);
	ret = with_bdev(pos[0], &fd);
	if (ret)
		return ret;
	ret = cbt_info(fd, &info);
	if (ret < 0) {
		close(fd);
		return filter_fail(pos[0], ret, "cbtinfo");
	}
	if (off >= info.block_count) {
		close(fd);
		return fail(-EINVAL, "%s: --offset %llu is past the map's %u blocks",
			    pos[0], (unsigned long long)off, info.block_count);
	}
	if (!s_len || off + len > info.block_count)
		len = info.block_count - off;
	map = malloc(len ? len : 1);
	if (!map) {
		close(fd);
		return fail(-ENOMEM, "out of memory");
	}
	ret = cbt_map_read(fd, &info, off, len, map);
	close(fd);
	if (ret) {
		free(map);
		return filter_fail(pos[0], ret, "cbtmap");
	}
	if (out) {
		FILE *f = strcmp(out, "-") ? fopen(out, "we") : stdout;

		if (!f || fwrite(map, 1, len, f) != len ||
		    (f != stdout && fclose(f))) {
			ret = -errno;
			free(map);
			return fail(ret, "%s: %s", out, strerror(-ret));
		}
		free(map);
		return EX_OK;
	}
	/* runs of equal non-zero bytes: "FIRST COUNT NUMBER" */
	if (opt_json)
		printf("{\"device\":\"%s\",\"block_size\":%u,\"changes_number\":%u,\"offset\":%llu,\"length\":%llu,\"runs\":[",
		       pos[0], info.block_size, info.changes_number,
		       (unsigned long long)off, (unsigned long long)len);
	else
		printf("# block_size %u changes_number %u; runs of changed blocks: first count number\n",
		       info.block_size, info.changes_number);
	for (i = 0, n = 0; i < len; i = j) {
		for (j = i + 1; j < len && map[j] == map[i]; j++)
			;
		if (!map[i])
			continue;
		if (opt_json)
			printf("%s[%llu,%llu,%u]", n++ ? "," : "",
			       (unsigned long long)(off + i),
			       (unsigned long long)(j - i), map[i]);
		else
			printf("%llu %llu %u\n", (unsigned long long)(off + i),
			       (unsigned long long)(j - i), map[i]);
	}
	if (opt_json)
		printf("]}\n");
	free(map);
	return EX_OK;
}

static int cmd_markdirty(int argc, char **argv)
{
	struct blksnap_sectors r[256];
	struct blksnap_cbtdirty arg;
	char *pos[257];
	int n, i, fd, ret;

	ret = parse_opts(argc, argv, NULL, pos, &n, 257);
	if (ret)
		return ret;
	if (n < 2)
		return usage_err("markdirty needs a device and START:COUNT sector ranges");
	for (i = 1; i < n; i++)
		if (parse_range(pos[i], &r[i - 1]))
			return usage_err("bad range '%s' (START:COUNT in 512-byte sectors, COUNT > 0)",
					 pos[i]);
	ret = with_bdev(pos[0], &fd);
	if (ret)
		return ret;
	arg.count = n - 1;
	arg.dirty_sectors = r;
	ret = bf_ctl(fd, blkfilter_ctl_blksnap_cbtdirty, &arg, sizeof(arg));
	close(fd);
	if (ret == -EINVAL)
		return fail(ret, "%s: a range runs past the end of the device (nothing was marked)",
			    pos[0]);
	if (ret < 0)
		return filter_fail(pos[0], ret, "cbtdirty");
	return EX_OK;
}

static int cmd_version(int argc, char **argv)
{
	struct blksnap_version v;
	char *pos[1];
	int n, cfd, ret;

	ret = parse_opts(argc, argv, NULL, pos, &n, 0);
	if (ret)
		return ret;
	ret = ctl_open(&cfd);
	if (ret)
		return ctl_exit(ret);
	memset(&v, 0, sizeof(v));
	ret = ctl_ioctl(cfd, IOCTL_BLKSNAP_VERSION, &v);
	close(cfd);
	if (ret)
		return fail(ret, "VERSION: %s", strerror(-ret));
	if (opt_json)
		printf("{\"tool\":\"%s\",\"module\":\"%u.%u.%u.%u\"}\n",
		       BLKSNAPCTL_VERSION, v.major, v.minor, v.revision,
		       v.build);
	else
		printf("blksnapctl %s, module interface %u.%u.%u.%u\n",
		       BLKSNAPCTL_VERSION, v.major, v.minor, v.revision,
		       v.build);
	return EX_OK;
}

static int get_uuid(const char *s, struct blksnap_uuid *id)
{
	if (uuid_parse(s, id))
		return usage_err("bad snapshot id '%s' (32 hex digits, as printed by '" PROG " snapshot create')",
				 s);
	return 0;
}

static int snapshot_fail(const char *uuid, int err, const char *what)
{
	switch (-err) {
	case ESRCH:
	case ENODEV:
		return fail(err, "%s: no such snapshot (list them: " PROG " snapshot collect)",
			    uuid);
	case EPERM:
	case EACCES:
		return fail(err, "%s: permission denied (run as root)", what);
	default:
		return fail(err, "%s %s: %s", what, uuid, strerror(-err));
	}
}

/* snapshotadd, with the messages; on ENOENT it can attach and retry. */
static int do_snapshot_add(const struct blksnap_uuid *id, const char *suuid,
			   const char *dev, int attach)
{
	struct blksnap_snapshotadd arg = { .id = *id };
	struct stat st;
	int fd, ret;

	ret = with_bdev(dev, &fd);
	if (ret)
		return ret;
	ret = bf_ctl(fd, blkfilter_ctl_blksnap_snapshotadd, &arg,
		     sizeof(arg));
	if (ret == -ENOENT && attach) {
		ret = bf_name_ioctl(fd, BLKFILTER_ATTACH);
		if (!ret)
			ret = bf_ctl(fd, blkfilter_ctl_blksnap_snapshotadd,
				     &arg, sizeof(arg));
	}
	if (!ret && !fstat(fd, &st))
		state_add_line(id, "device %u:%u %s\n", major(st.st_rdev),
			       minor(st.st_rdev), dev);
	close(fd);
	if (ret >= 0)
		return EX_OK;
	switch (-ret) {
	case ESRCH:
		return snapshot_fail(suuid, ret, "snapshotadd");
	case EALREADY:
		return fail(ret, "%s: already in snapshot %s (nothing to do)",
			    dev, suuid);
	case EBUSY:
		return fail(ret, "%s: in another snapshot, or snapshot %s is already taken (destroy it and create a new one)",
			    dev, suuid);
	default:
		return filter_fail(dev, ret, "snapshotadd");
	}
}

static int cmd_snapshot_create(int argc, char **argv)
{
	struct blksnap_uuid id;
	char *pos[64], uuid[40];
	int n, i, cfd, ret;

	ret = parse_opts(argc, argv, NULL, pos, &n, 64);
	if (ret)
		return ret;
	ret = ctl_open(&cfd);
	if (ret)
		return ctl_exit(ret);
	ret = ctl_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_CREATE, &id);
	close(cfd);
	if (ret)
		return snapshot_fail("", ret, "CREATE");
	uuid_format(&id, uuid);
	state_add_line(&id, "# blksnapctl state of snapshot %s\n", uuid);
	for (i = 0; i < n; i++) {
		ret = do_snapshot_add(&id, uuid, pos[i], 1);
		if (ret) {
			msg("snapshot %s was created but not all devices added; destroy it with: " PROG " snapshot destroy %s",
			    uuid, uuid);
			printf("%s\n", uuid);
			return ret;
		}
	}
	if (opt_json)
		printf("{\"id\":\"%s\"}\n", uuid);
	else
		printf("%s\n", uuid);
	return EX_OK;
}

static int cmd_snapshot_add(int argc, char **argv)
{
	struct blksnap_uuid id;
	int ret, attach = 0;
	const struct optdef defs[] = {
		{ "attach", 0, 0, NULL, &attach },
		{ 0 }
	};
	char *pos[2];

	ret = parse_exact(argc, argv, defs, pos, 2,
			  "snapshot add needs UUID and DEV");
	if (ret)
		return ret;
	ret = get_uuid(pos[0], &id);
	if (ret)
		return ret;
	return do_snapshot_add(&id, pos[0], pos[1], attach);
}

static int cmd_snapshot_take(int argc, char **argv)
{
	struct blksnap_uuid id;
	char *pos[1];
	int cfd, ret;

	ret = parse_exact(argc, argv, NULL, pos, 1,
			  "snapshot take needs UUID");
	if (ret)
		return ret;
	ret = get_uuid(pos[0], &id);
	if (ret)
		return ret;
	ret = ctl_open(&cfd);
	if (ret)
		return ctl_exit(ret);
	ret = ctl_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_TAKE, &id);
	close(cfd);
	switch (-ret) {
	case 0:
		return EX_OK;
	case ESRCH:
		return snapshot_fail(pos[0], ret, "TAKE");
	case EALREADY:
		return fail(ret, "%s: snapshot already taken", pos[0]);
	case ENODEV:
		return fail(ret, "%s: the snapshot has no devices, or one went away (run: " PROG " snapshot add %s DEV)",
			    pos[0], pos[0]);
	case ENOSPC:
		return fail(ret, "%s: the snapshot has no difference storage (run: " PROG " snapshot append %s DEV|FILE ...)",
			    pos[0], pos[0]);
	default:
		return snapshot_fail(pos[0], ret, "TAKE");
	}
}

static int cmd_snapshot_info(int argc, char **argv)
{
	struct blksnap_snapshotinfo info;
	char *pos[1];
	int fd, ret;

	ret = parse_exact(argc, argv, NULL, pos, 1,
			  "snapshot info needs DEV");
	if (ret)
		return ret;
	ret = with_bdev(pos[0], &fd);
	if (ret)
		return ret;
	ret = snap_info(fd, &info);
	close(fd);
	if (ret)
		return filter_fail(pos[0], ret, "snapshotinfo");
	if (opt_json) {
		printf("{\"device\":");
		json_str(stdout, pos[0]);
		printf(",\"image\":\"%s%s\",\"error_code\":%d}\n",
		       info.image[0] ? "/dev/" : "", (char *)info.image,
		       info.error_code);
	} else {
		if (info.image[0])
			printf("image /dev/%s\n", (char *)info.image);
		else
			printf("image none (no snapshot of this device is taken)\n");
		if (info.error_code)
			printf("error %d (%s: %s): the snapshot of this device is corrupted\n",
			       info.error_code, errno_name(info.error_code),
			       strerror(-info.error_code));
		else
			printf("error 0\n");
	}
	return info.error_code ? EX_CORRUPT : EX_OK;
}

static int cmd_snapshot_collect(int argc, char **argv)
{
	struct blksnap_snapshot_collect c;
	struct blksnap_uuid *ids = NULL;
	char *pos[1], uuid[40];
	int n, cfd, ret, tries;
	unsigned int i;

	ret = parse_opts(argc, argv, NULL, pos, &n, 0);
	if (ret)
		return ret;
	ret = ctl_open(&cfd);
	if (ret)
		return ctl_exit(ret);
	c.count = 0;
	c.ids = NULL;
	for (tries = 0; tries < 10; tries++) {
		ret = ctl_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c);
		/*
		 * The probe (ids NULL) answers 0 and the number; an array
		 * too small (a snapshot created meanwhile) -ENODATA.
		 */
		if (ret != -ENODATA && (ret || c.ids || !c.count))
			break;
		free(ids);
		ids = calloc(c.count + 4, sizeof(*ids));
		if (!ids) {
			ret = -ENOMEM;
			break;
		}
		c.count += 4;
		c.ids = ids;
	}
	close(cfd);
	if (ret) {
		free(ids);
		return fail(ret, "COLLECT: %s", strerror(-ret));
	}
	if (opt_json)
		printf("{\"snapshots\":[");
	for (i = 0; i < c.count && ids; i++) {
		uuid_format(&ids[i], uuid);
		if (opt_json)
			printf("%s\"%s\"", i ? "," : "", uuid);
		else
			printf("%s\n", uuid);
	}
	if (opt_json)
		printf("]}\n");
	free(ids);
	return EX_OK;
}

static int cmd_snapshot_wait(int argc, char **argv)
{
	const char *s_tmo = NULL;
	const struct optdef defs[] = {
		{ "timeout", 't', 1, &s_tmo },
		{ 0 }
	};
	struct blksnap_snapshot_event *ev;
	uint64_t tmo = 1000;
	char *pos[1];
	int cfd, ret;

	ret = parse_exact(argc, argv, defs, pos, 1,
			  "snapshot wait needs UUID");
	if (ret)
		return ret;
	if (s_tmo && (parse_u64(s_tmo, &tmo) || tmo > UINT32_MAX))
		return usage_err("bad --timeout '%s' (milliseconds)", s_tmo);
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return fail(-ENOMEM, "out of memory");
	ret = get_uuid(pos[0], &ev->id);
	if (ret)
		goto out;
	ev->timeout_ms = tmo;
	ret = ctl_open(&cfd);
	if (ret) {
		ret = ctl_exit(ret);
		goto out;
	}
	ret = ctl_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, ev);
	close(cfd);
	if (ret == -ENOENT) {
		ret = fail(ret, "%s: no event within %llu ms", pos[0],
			   (unsigned long long)tmo);
		goto out;
	}
	if (ret) {
		ret = snapshot_fail(pos[0], ret, "WAIT_EVENT");
		goto out;
	}
	if (ev->code == blksnap_event_code_low_free_space) {
		struct blksnap_event_low_free_space *l = (void *)ev->data;

		if (opt_json)
			printf("{\"event\":\"low_free_space\",\"time_ns\":%lld,\"requested_nr_sect\":%llu}\n",
			       (long long)ev->time_label,
			       (unsigned long long)l->requested_nr_sect);
		else
			printf("low_free_space requested_nr_sect %llu\n",
			       (unsigned long long)l->requested_nr_sect);
		ret = EX_OK;
	} else if (ev->code == blksnap_event_code_corrupted) {
		struct blksnap_event_corrupted *c = (void *)ev->data;

		if (opt_json)
			printf("{\"event\":\"corrupted\",\"time_ns\":%lld,\"device\":\"%u:%u\",\"error\":\"%s\"}\n",
			       (long long)ev->time_label, c->dev_id_mj,
			       c->dev_id_mn, errno_name(c->err_code));
		else
			printf("corrupted device %u:%u error %s (%s)\n",
			       c->dev_id_mj, c->dev_id_mn,
			       errno_name(c->err_code),
			       strerror(c->err_code));
		ret = EX_CORRUPT;
	} else {
		if (opt_json)
			printf("{\"event\":\"unknown\",\"code\":%u}\n",
			       ev->code);
		else
			printf("unknown event %u\n", ev->code);
		ret = EX_OK;
	}
out:
	free(ev);
	return ret;
}

static int cmd_snapshot_destroy(int argc, char **argv)
{
	struct blksnap_uuid id;
	int cfd, ret, keep = 0, nfiles = 0, st;
	const struct optdef defs[] = {
		{ "keep", 0, 0, NULL, &keep },
		{ 0 }
	};
	char *pos[1], path[4096];

	ret = parse_exact(argc, argv, defs, pos, 1,
			  "snapshot destroy needs UUID");
	if (ret)
		return ret;
	ret = get_uuid(pos[0], &id);
	if (ret)
		return ret;
	ret = ctl_open(&cfd);
	if (ret)
		return ctl_exit(ret);
	ret = ctl_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &id);
	close(cfd);
	if (ret && ret != -ENODEV)
		return snapshot_fail(pos[0], ret, "DESTROY");
	st = state_path(&id, path, sizeof(path)) ? -1 : access(path, F_OK);
	if (st == 0) {
		int r = state_cleanup(&id, keep, &nfiles);

		if (r)
			return r;
	}
	if (ret == -ENODEV && st != 0)
		return snapshot_fail(pos[0], ret, "DESTROY");
	if (ret == -ENODEV)
		msg("%s: the snapshot was already gone; its storage files were released",
		    pos[0]);
	if (opt_json)
		printf("{\"id\":\"%s\",\"destroyed\":%s,\"storage_files\":%d}\n",
		       pos[0], ret ? "false" : "true", nfiles);
	return EX_OK;
}

static int cmd_snapshot(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} sub[] = {
		{ "create", cmd_snapshot_create },
		{ "add", cmd_snapshot_add },
		{ "append", cmd_snapshot_append },
		{ "take", cmd_snapshot_take },
		{ "info", cmd_snapshot_info },
		{ "collect", cmd_snapshot_collect },
		{ "list", cmd_snapshot_collect },
		{ "wait", cmd_snapshot_wait },
		{ "destroy", cmd_snapshot_destroy },
	};
	size_t i;

	if (argc < 1)
		return usage_err("snapshot needs a subcommand");
	for (i = 0; i < ARRAY_SIZE(sub); i++)
		if (!strcmp(argv[0], sub[i].name))
			return sub[i].fn(argc - 1, argv + 1);
	return usage_err("unknown snapshot subcommand '%s'", argv[0]);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [--json] COMMAND ...\n"
		"  attach DEV | detach DEV\n"
		"  cbtinfo DEV\n"
		"  cbtmap DEV [--offset BLOCK] [--length BLOCKS] [-o FILE]\n"
		"  markdirty DEV START:COUNT...          (512-byte sectors)\n"
		"  snapshot create [DEV...]              prints the UUID\n"
		"  snapshot add UUID DEV [--attach]\n"
		"  snapshot append UUID DEV [START:COUNT...]\n"
		"  snapshot append UUID FILE [--size SIZE] [--force]\n"
		"  snapshot take UUID\n"
		"  snapshot info DEV\n"
		"  snapshot collect\n"
		"  snapshot wait UUID [--timeout MS]\n"
		"  snapshot destroy UUID [--keep]\n"
		"  watch UUID --dir DIR|--device DEV[:START:COUNT] --step SIZE --limit SIZE\n"
		"  backup full UUID|DEV|IMAGE -o FILE [--state STATEFILE] [--verify]\n"
		"  backup incremental DEV [IMAGE] --base FILE --state STATEFILE [--verify]\n"
		"  version\n"
		"SIZE: bytes, or with a suffix s (sectors), K, M, G, T.\n"
		"See blksnapctl(8).\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "snapshot", cmd_snapshot },
		{ "cbtinfo", cmd_cbtinfo },
		{ "cbtmap", cmd_cbtmap },
		{ "markdirty", cmd_markdirty },
		{ "watch", cmd_watch },
		{ "backup", cmd_backup },
		{ "version", cmd_version },
	};
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "--json")) {
			opt_json = 1;
		} else if (!strcmp(argv[1], "-h") ||
			   !strcmp(argv[1], "--help")) {
			usage(stdout);
			return EX_OK;
		} else if (!strcmp(argv[1], "-V") ||
			   !strcmp(argv[1], "--version")) {
			printf(PROG " %s\n", BLKSNAPCTL_VERSION);
			return EX_OK;
		} else {
			return usage_err("unknown option '%s'", argv[1]);
		}
		argc--;
		argv++;
	}
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!strcmp(argv[1], "help")) {
		usage(stdout);
		return EX_OK;
	}
	if (!strcmp(argv[1], "attach"))
		return cmd_attach_detach(argc - 2, argv + 2, 1);
	if (!strcmp(argv[1], "detach"))
		return cmd_attach_detach(argc - 2, argv + 2, 0);
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 2, argv + 2);
	return usage_err("unknown command '%s'", argv[1]);
}
