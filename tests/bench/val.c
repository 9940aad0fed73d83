// SPDX-License-Identifier: GPL-2.0
/*
 * val.c: a minimal client of Veeam's VAL-7.0 module (bdevfilter.ko +
 * veeamblksnap.ko) for the big-device benchmark (bigbench.c), so that VAL
 * can be measured next to blksnap in the same boot.  Built only when
 * `make bench VAL_SRC=<checkout>` is given, against that checkout's UAPI
 * headers (-I$VAL_SRC/include); nothing of VAL is copied here.  A
 * translation unit of its own: VAL's header and ours define the same
 * struct names.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/bdevfilter.h>
#define BLKSNAP_MODIFICATION
#include <linux/veeamblksnap.h>
#include "val.h"

static int bf_fd = -1, ctl_fd = -1;

int val_open(void)
{
	bf_fd = open("/dev/" BDEVFILTER, O_RDWR);
	ctl_fd = open("/dev/" BLKSNAP_CTL, O_RDWR);
	if (bf_fd < 0 || ctl_fd < 0) {
		val_close();
		return -ENOENT;
	}
	return 0;
}

void val_close(void)
{
	if (bf_fd >= 0)
		close(bf_fd);
	if (ctl_fd >= 0)
		close(ctl_fd);
	bf_fd = ctl_fd = -1;
}

static int filter_ioctl(unsigned long cmd, const char *dev)
{
	struct bdevfilter_name n = { .devpath = (uintptr_t)dev };

	strcpy((char *)n.name, "blksnap");
	return ioctl(bf_fd, cmd, &n) < 0 ? -errno : 0;
}

int val_attach(const char *dev)
{
	return filter_ioctl(BDEVFILTER_ATTACH, dev);
}

int val_detach(const char *dev)
{
	return filter_ioctl(BDEVFILTER_DETACH, dev);
}

static int val_ctl(const char *dev, unsigned int cmd, void *opt,
		   unsigned int optlen)
{
	struct bdevfilter_ctl c = {
		.devpath = (uintptr_t)dev, .cmd = cmd, .optlen = optlen,
		.opt = (uintptr_t)opt,
	};

	strcpy((char *)c.name, "blksnap");
	return ioctl(bf_fd, BDEVFILTER_CTL, &c) < 0 ? -errno : 0;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int val_take(const char *dev, const char *stor, uint64_t sectors,
	     unsigned char id[16], double *take_ms, double *seq_ms)
{
	struct blksnap_snapshot_create cr = { .diff_storage_limit_sect = sectors };
	struct blksnap_snapshotadd add;
	struct blksnap_sectors r = { .offset = 0, .count = sectors };
	struct blksnap_snapshot_append_storage ap = {
		.devpath = (uintptr_t)stor, .count = 1, .ranges = (uintptr_t)&r,
	};
	struct blksnap_uuid uid;
	double t0 = now_ms(), t1;

	if (ioctl(ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_CREATE, &cr) < 0)
		return -errno;
	memcpy(id, cr.id.b, 16);
	add.id = cr.id;
	if (val_ctl(dev, BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD, &add, sizeof(add)))
		return -errno;
	ap.id = cr.id;
	if (ioctl(ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE, &ap) < 0)
		return -errno;
	uid = cr.id;
	t1 = now_ms();
	if (ioctl(ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_TAKE, &uid) < 0)
		return -errno;
	*take_ms = now_ms() - t1;
	*seq_ms = now_ms() - t0;
	return 0;
}

int val_destroy(const unsigned char id[16])
{
	struct blksnap_uuid uid;

	memcpy(uid.b, id, 16);
	return ioctl(ctl_fd, IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &uid) < 0 ?
		-errno : 0;
}

int val_state(const char *dev, int *error, char *image, size_t len)
{
	struct blksnap_snapshotinfo info;
	int ret;

	memset(&info, 0, sizeof(info));
	ret = val_ctl(dev, BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO, &info,
		      sizeof(info));
	if (ret)
		return ret;
	*error = info.error_code;
	snprintf(image, len, "/dev/%.*s", IMAGE_DISK_NAME_LEN,
		 (char *)info.image);
	return 0;
}

int val_cbt_block(const char *dev, uint32_t *block_size, uint32_t *count)
{
	struct blksnap_cbtinfo info;
	int ret;

	memset(&info, 0, sizeof(info));
	ret = val_ctl(dev, BLKFILTER_CTL_BLKSNAP_CBTINFO, &info, sizeof(info));
	*block_size = info.block_size;
	*count = info.block_count;
	return ret;
}
