/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest device helpers: dm-linear through raw device-mapper ioctls (there is
 * no dmsetup in the guest), MBR partitions, and the module's reference
 * count (each attached filter holds one module reference).
 */
#ifndef BLKSNAP_TESTS_DEV_H
#define BLKSNAP_TESTS_DEV_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <linux/dm-ioctl.h>

/* Fill a dm_ioctl header for device @name in @buf of @size bytes. */
static inline struct dm_ioctl *dm_hdr(void *buf, size_t size,
				      const char *name)
{
	struct dm_ioctl *dmi = buf;

	memset(buf, 0, size);
	dmi->version[0] = DM_VERSION_MAJOR;
	dmi->version[1] = 0;
	dmi->version[2] = 0;
	dmi->data_size = size;
	dmi->data_start = sizeof(*dmi);
	strncpy(dmi->name, name, sizeof(dmi->name) - 1);
	return dmi;
}

/*
 * Create dm device @name with one target of @type covering @len sectors,
 * @params its table line (e.g. "1:0 2048" for linear).  Writes the node
 * path (/dev/dm-N) to @path.  Returns 0 or -errno.
 */
static inline int dm_create(const char *name, const char *type,
			    uint64_t len, const char *params, char *path,
			    size_t plen)
{
	char buf[16384];
	struct dm_ioctl *dmi;
	struct dm_target_spec *t;
	int fd, ret = 0;
	dev_t dev;

	fd = open("/dev/mapper/control", O_RDWR);
	if (fd < 0)
		return -errno;
	dmi = dm_hdr(buf, sizeof(buf), name);
	if (ioctl(fd, DM_DEV_CREATE, dmi)) {
		ret = -errno;
		goto out;
	}
	dev = dmi->dev;
	dmi = dm_hdr(buf, sizeof(buf), name);
	dmi->target_count = 1;
	t = (struct dm_target_spec *)(buf + sizeof(*dmi));
	t->sector_start = 0;
	t->length = len;
	strncpy(t->target_type, type, sizeof(t->target_type) - 1);
	strcpy((char *)(t + 1), params);
	t->next = 0;
	if (ioctl(fd, DM_TABLE_LOAD, dmi)) {
		ret = -errno;
		goto out_remove;
	}
	dmi = dm_hdr(buf, sizeof(buf), name);
	if (ioctl(fd, DM_DEV_SUSPEND, dmi)) {	/* no SUSPEND flag: resume */
		ret = -errno;
		goto out_remove;
	}
	snprintf(path, plen, "/dev/dm-%u", minor(dev));
	close(fd);
	return 0;
out_remove:
	dmi = dm_hdr(buf, sizeof(buf), name);
	ioctl(fd, DM_DEV_REMOVE, dmi);
out:
	close(fd);
	return ret;
}

/*
 * Load a new table into dm device @name (one target over @len sectors)
 * and resume it, which swaps the table in.
 */
static inline int dm_reload(const char *name, const char *type, uint64_t len,
			    const char *params)
{
	char buf[16384];
	struct dm_ioctl *dmi;
	struct dm_target_spec *t;
	int fd, ret = 0;

	fd = open("/dev/mapper/control", O_RDWR);
	if (fd < 0)
		return -errno;
	dmi = dm_hdr(buf, sizeof(buf), name);
	dmi->target_count = 1;
	t = (struct dm_target_spec *)(buf + sizeof(*dmi));
	t->sector_start = 0;
	t->length = len;
	strncpy(t->target_type, type, sizeof(t->target_type) - 1);
	strcpy((char *)(t + 1), params);
	if (ioctl(fd, DM_TABLE_LOAD, dmi))
		ret = -errno;
	else if (ioctl(fd, DM_DEV_SUSPEND, dm_hdr(buf, sizeof(buf), name)))
		ret = -errno;
	close(fd);
	return ret;
}

static inline int dm_remove(const char *name)
{
	char buf[sizeof(struct dm_ioctl) + 1024];
	int fd, ret, i;

	fd = open("/dev/mapper/control", O_RDWR);
	if (fd < 0)
		return -errno;
	for (i = 0; i < 100; i++) {	/* udev-less: the node may be busy briefly */
		ret = ioctl(fd, DM_DEV_REMOVE, dm_hdr(buf, sizeof(buf), name)) ?
		      -errno : 0;
		if (ret != -EBUSY)
			break;
		usleep(20000);
	}
	close(fd);
	return ret;
}

/* The blksnap module's reference count, or -1. */
static inline int module_refcnt(void)
{
	FILE *f = fopen("/sys/module/blksnap/refcnt", "r");
	int n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/* Wait up to @ms for the module's reference count to become @want. */
static inline int wait_refcnt(int want, int ms)
{
	int n = module_refcnt();

	while (n != want && ms > 0) {
		usleep(10000);
		ms -= 10;
		n = module_refcnt();
	}
	return n;
}

/* Write an MBR with one Linux partition [start, start + size) sectors. */
static inline int write_mbr(int fd, uint32_t start, uint32_t size)
{
	unsigned char mbr[512];
	unsigned char *e = mbr + 446;

	memset(mbr, 0, sizeof(mbr));
	e[4] = 0x83;
	memcpy(e + 8, &start, 4);
	memcpy(e + 12, &size, 4);
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	if (pwrite(fd, mbr, 512, 0) != 512)
		return -errno;
	return fsync(fd) ? -errno : 0;
}

/*
 * A loop device over a new @mib MiB file with one partition at sector
 * 2048, 16384 sectors long; writes the partition's node to @part.  Returns
 * the loop fd or -errno.  Needs cbt.h's loop helpers.
 */
static inline int loop_with_partition(const char *file, int mib, char *part,
				      size_t len)
{
	char disk[64];
	int lfd, ret;

	lfd = loop_create(file, mib, LO_FLAGS_PARTSCAN, disk, sizeof(disk));
	if (lfd < 0)
		return lfd;
	ret = write_mbr(lfd, 2048, 16384);
	if (!ret && ioctl(lfd, BLKRRPART, 0))
		ret = -errno;
	snprintf(part, len, "%sp1", disk);
	if (!ret)
		ret = wait_for_node(part);
	if (ret) {
		loop_destroy(lfd, file);
		return ret;
	}
	return lfd;
}

/* Slab + VmallocUsed in KiB, from /proc/meminfo; -1 if unreadable. */
static inline long kernel_mem_kib(void)
{
	char line[128];
	long v, total = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %ld kB", &v) == 1 ||
		    sscanf(line, "VmallocUsed: %ld kB", &v) == 1)
			total += v;
	fclose(f);
	return total;
}

/* Write @val into attribute @attr of configfs null_blk device @dir. */
static inline int nullb_set(const char *dir, const char *attr, const char *val)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

/* Power off and remove the configfs null_blk device @name. */
static inline void nullb_remove(const char *name)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "/sys/kernel/config/nullb/%s", name);
	nullb_set(dir, "power", "0");
	rmdir(dir);
}

/*
 * A null_blk device made through configfs: @name's directory gets the
 * "attribute=value" settings of @attrs (NULL-terminated; optional ones
 * start with '?' and may fail), then is powered on.  Writes the node to
 * @node (named after the directory since 5.19, nullb<index> before).
 * Returns 0, -ENOENT without null_blk's configfs, or the -errno of the
 * setting or the power-on that failed (the directory is removed then).
 */
static inline int nullb_create(const char *name, const char *const *attrs,
			       char *node, size_t len)
{
	char dir[128], path[256], idx[16] = "";
	int fd, n, ret = 0;

	if (access("/sys/kernel/config/nullb", F_OK) &&
	    system("mount -t configfs configfs /sys/kernel/config 2>/dev/null; insmod /lib/modules/null_blk.ko nr_devices=0 2>/dev/null") < 0)
		return -ENOENT;
	if (access("/sys/kernel/config/nullb", F_OK))
		return -ENOENT;
	snprintf(dir, sizeof(dir), "/sys/kernel/config/nullb/%s", name);
	if (mkdir(dir, 0755))
		return -errno;
	for (; *attrs && !ret; attrs++) {
		const char *a = **attrs == '?' ? *attrs + 1 : *attrs;
		const char *eq = strchr(a, '=');
		char key[64];

		snprintf(key, sizeof(key), "%.*s", (int)(eq - a), a);
		ret = nullb_set(dir, key, eq + 1);
		if (**attrs == '?')
			ret = 0;
	}
	if (!ret)
		ret = nullb_set(dir, "power", "1");
	if (ret) {
		rmdir(dir);
		return ret;
	}
	snprintf(path, sizeof(path), "%s/index", dir);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, idx, sizeof(idx) - 1);
	if (fd >= 0)
		close(fd);
	snprintf(node, len, "/dev/%s", name);
	if (wait_for_node(node) && n > 0)
		snprintf(node, len, "/dev/nullb%d", atoi(idx));
	return wait_for_node(node);
}

#endif /* BLKSNAP_TESTS_DEV_H */
