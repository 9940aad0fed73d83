// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: block devices seen through sysfs (sysfs_root() is the fake
 * layer's directory in the host tests): the node of MAJ:MIN, the whole
 * disk of a partition.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "blksnapctl.h"

/* Path of the node of block device MAJ:MIN: /dev/block/M:m or /dev/NAME. */
int devnode_of(unsigned int maj, unsigned int min, char *buf, size_t len)
{
	char path[4200], line[256];
	struct stat st;
	FILE *f;

	snprintf(buf, len, "/dev/block/%u:%u", maj, min);
	if (!stat(buf, &st) && S_ISBLK(st.st_mode) &&
	    st.st_rdev == makedev(maj, min))
		return 0;
	snprintf(path, sizeof(path), "%s/dev/block/%u:%u/uevent",
		 sysfs_root(), maj, min);
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
	char path[4200], real[4096], line[64];
	unsigned int maj, min;
	char *slash;
	FILE *f;

	*disk = dev;
	snprintf(path, sizeof(path), "%s/dev/block/%u:%u/partition",
		 sysfs_root(), major(dev), minor(dev));
	if (access(path, F_OK))
		return 0;
	snprintf(path, sizeof(path), "%s/dev/block/%u:%u", sysfs_root(),
		 major(dev), minor(dev));
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

