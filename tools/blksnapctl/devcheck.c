// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: is a whole block device free to be overwritten as
 * difference storage?  "snapshot append UUID DEV" and "watch --device DEV"
 * without ranges give the snapshot the entire device, so one wrong name
 * would overwrite a disk.  They refuse (unless --force) a device that is
 *
 *   mounted    it, or one of its partitions, in /proc/self/mountinfo, or
 *              an active swap area (/proc/swaps);
 *   held       /sys/block/X/holders (or a partition's) is not empty (dm,
 *              md, bcache...), or an O_EXCL open fails with EBUSY (some
 *              other exclusive user: a mounted file system, swap, a
 *              running md array...);
 *   signed     its first sectors carry a known signature: a partition
 *              table (MBR, GPT), a file system (ext2/3/4, xfs, btrfs),
 *              swap, an LVM2 physical volume, LUKS, an md RAID member
 *              (checked here, not with libblkid, so that the static
 *              guest build needs nothing more).
 *
 * Regular files (the host tests' stand-in devices) get the signature
 * check only.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "blksnapctl.h"

/* Bytes of the device read for the signature check. */
#define SIG_BYTES (68 * 1024)

static const struct signature {
	const char *what;
	unsigned int off;
	unsigned int len;
	const char *magic;
} sigs[] = {
	{ "a LUKS encrypted volume", 0, 6, "LUKS\xba\xbe" },
	{ "an xfs file system", 0, 4, "XFSB" },
	{ "an ext2/3/4 file system", 1080, 2, "\x53\xef" },
	{ "a btrfs file system", 65600, 8, "_BHRfS_M" },
	{ "a swap area", 4086, 10, "SWAPSPACE2" },
	{ "a swap area", 4086, 10, "SWAP-SPACE" },
	{ "a swap area (64 KiB pages)", 65526, 10, "SWAPSPACE2" },
	{ "an md RAID member (1.1)", 0, 4, "\xfc\x4e\x2b\xa9" },
	{ "an md RAID member (1.2)", 4096, 4, "\xfc\x4e\x2b\xa9" },
	{ "a GPT partition table", 512, 8, "EFI PART" },
	{ "a GPT partition table (4K sectors)", 4096, 8, "EFI PART" },
	{ "an NTFS file system", 3, 8, "NTFS    " },
	{ "an MBR partition table or boot sector", 510, 2, "\x55\xaa" },
};

/*
 * What @buf (@n bytes from the start of a device) holds, or NULL.  LVM2's
 * label may be in any of the first four sectors.
 */
const char *dev_signature(const unsigned char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < 4; i++)
		if (n >= i * 512 + 32 &&
		    !memcmp(buf + i * 512, "LABELONE", 8) &&
		    !memcmp(buf + i * 512 + 24, "LVM2 001", 8))
			return "an LVM2 physical volume";
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		if (n >= sigs[i].off + sigs[i].len &&
		    !memcmp(buf + sigs[i].off, sigs[i].magic, sigs[i].len))
			return sigs[i].what;
	return NULL;
}

/* "maj:min" of the device itself and of each of its partitions. */
static int dev_and_parts(dev_t d, dev_t *devs, int max)
{
	char path[4400], sub[4800];
	unsigned int ma, mi;
	struct dirent *e;
	int n = 0;
	DIR *dir;
	FILE *f;

	devs[n++] = d;
	snprintf(path, sizeof(path), "%s/dev/block/%u:%u", sysfs_root(),
		 major(d), minor(d));
	dir = opendir(path);
	while (dir && (e = readdir(dir)) && n < max) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s/partition", path, e->d_name);
		if (access(sub, F_OK))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s/dev", path, e->d_name);
		f = fopen(sub, "re");
		if (f && fscanf(f, "%u:%u", &ma, &mi) == 2)
			devs[n++] = makedev(ma, mi);
		if (f)
			fclose(f);
	}
	if (dir)
		closedir(dir);
	return n;
}

/* The mount point of one of @devs in mountinfo into @where: 1, or 0. */
static int mounted(const dev_t *devs, int n, char *where, size_t len)
{
	char line[8192], mnt[4096];
	unsigned int ma, mi;
	int i, found = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	while (f && !found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &ma, &mi, mnt) != 3)
			continue;
		for (i = 0; i < n; i++)
			if (devs[i] == makedev(ma, mi)) {
				snprintf(where, len, "%u:%u is mounted on %s",
					 ma, mi, mnt);
				found = 1;
			}
	}
	if (f)
		fclose(f);
	return found;
}

/* An active swap area on one of @devs: 1, or 0. */
static int swapping(const dev_t *devs, int n, char *where, size_t len)
{
	char line[4400], name[4096];
	struct stat st;
	int i, found = 0;
	FILE *f = fopen("/proc/swaps", "re");

	while (f && !found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%4095s", name) != 1 || stat(name, &st) ||
		    !S_ISBLK(st.st_mode))
			continue;
		for (i = 0; i < n; i++)
			if (devs[i] == st.st_rdev) {
				snprintf(where, len, "%s is an active swap area",
					 name);
				found = 1;
			}
	}
	if (f)
		fclose(f);
	return found;
}

/* A holder of one of @devs (a dm or md device over it): 1, or 0. */
static int held(const dev_t *devs, int n, char *where, size_t len)
{
	char path[4400];
	struct dirent *e;
	int i, found = 0;
	DIR *dir;

	for (i = 0; i < n && !found; i++) {
		snprintf(path, sizeof(path), "%s/dev/block/%u:%u/holders",
			 sysfs_root(), major(devs[i]), minor(devs[i]));
		dir = opendir(path);
		while (dir && !found && (e = readdir(dir))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(where, len, "%u:%u is held by %s",
				 major(devs[i]), minor(devs[i]), e->d_name);
			found = 1;
		}
		if (dir)
			closedir(dir);
	}
	return found;
}

/*
 * 0 if the whole device @path may become storage, else an exit code after
 * saying why (the refusal names --force).
 */
int storage_dev_check(const char *path)
{
	unsigned char *buf;
	char why[4400];
	dev_t devs[128];
	struct stat st;
	const char *sig;
	ssize_t got;
	int n, fd;

	if (stat(path, &st))
		return fail(-errno, "%s: %s", path, strerror(errno));
	why[0] = 0;
	if (S_ISBLK(st.st_mode)) {
		n = dev_and_parts(st.st_rdev, devs, ARRAY_SIZE(devs));
		if (!mounted(devs, n, why, sizeof(why)) &&
		    !swapping(devs, n, why, sizeof(why)) &&
		    !held(devs, n, why, sizeof(why))) {
			fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);
			if (fd < 0 && errno == EBUSY)
				snprintf(why, sizeof(why),
					 "it is in use (an exclusive open fails with EBUSY)");
			if (fd >= 0)
				close(fd);
		}
		if (why[0])
			return fail(-EBUSY, "%s: refusing to use the whole device as storage: %s; the snapshot would overwrite it (use --force if this is really what you want)",
				    path, why);
	}
	buf = calloc(1, SIG_BYTES);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!buf || fd < 0) {
		n = buf ? -errno : -ENOMEM;
		free(buf);
		if (fd >= 0)
			close(fd);
		return fail(n, "%s: %s", path, strerror(-n));
	}
	got = pread(fd, buf, SIG_BYTES, 0);
	close(fd);
	sig = got > 0 ? dev_signature(buf, got) : NULL;
	free(buf);
	if (sig)
		return fail(-EBUSY, "%s: refusing to use the whole device as storage: it holds %s, which the snapshot would overwrite (wipe it first, or use --force)",
			    path, sig);
	return 0;
}
