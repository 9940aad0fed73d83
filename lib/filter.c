// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libblksnap: the BLKFILTER_* ioctls on a block device's fd and the
 * blksnap filter's ctl commands (change-block tracking, snapshot members).
 */
#include <errno.h>
#include <string.h>
#include "blksnap.h"

int blksnap_filter_name(int fd, unsigned long req, const char *name)
{
	struct blkfilter_name n;

	memset(&n, 0, sizeof(n));
	memcpy(n.name, name, strnlen(name, sizeof(n.name)));
	return blksnap_ioctl(fd, req, &n);
}

int blksnap_attach(int fd)
{
	return blksnap_filter_name(fd, BLKFILTER_ATTACH, BLKSNAP_FILTER_NAME);
}

int blksnap_detach(int fd)
{
	return blksnap_filter_name(fd, BLKFILTER_DETACH, BLKSNAP_FILTER_NAME);
}

int blksnap_filter_ctl(int fd, unsigned int cmd, void *opt,
		       unsigned int optlen)
{
	struct blkfilter_ctl ctl;

	memset(&ctl, 0, sizeof(ctl));
	memcpy(ctl.name, BLKSNAP_FILTER_NAME, sizeof(BLKSNAP_FILTER_NAME));
	ctl.cmd = cmd;
	ctl.optlen = optlen;
	ctl.opt = (uintptr_t)opt;
	return blksnap_ioctl(fd, BLKFILTER_CTL, &ctl);
}

int blksnap_cbt_info(int fd, struct blksnap_cbtinfo *info)
{
	memset(info, 0, sizeof(*info));
	return blksnap_filter_ctl(fd, blkfilter_ctl_blksnap_cbtinfo, info,
				  sizeof(*info));
}

int blksnap_cbt_map(int fd, uint32_t offset, uint32_t length, uint8_t *buf)
{
	struct blksnap_cbtmap arg = {
		.offset = offset, .length = length, .buffer = buf,
	};

	return blksnap_filter_ctl(fd, blkfilter_ctl_blksnap_cbtmap, &arg,
				  sizeof(arg));
}

int blksnap_cbt_map_read(int fd, uint32_t offset, uint32_t length,
			 uint8_t *buf)
{
	uint32_t done = 0, n;
	int ret;

	if ((uint64_t)offset + length > UINT32_MAX)
		return -EINVAL;
	while (done < length) {
		n = length - done;
		if (n > BLKSNAP_CBTMAP_CHUNK)
			n = BLKSNAP_CBTMAP_CHUNK;
		ret = blksnap_cbt_map(fd, offset + done, n, buf + done);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -EIO;	/* the map shrank under us */
		done += ret;
	}
	return 0;
}

int blksnap_cbt_mark_dirty(int fd, struct blksnap_sectors *ranges,
			   unsigned int count)
{
	struct blksnap_cbtdirty arg = {
		.count = count, .dirty_sectors = ranges,
	};

	return blksnap_filter_ctl(fd, blkfilter_ctl_blksnap_cbtdirty, &arg,
				  sizeof(arg));
}

int blksnap_snapshot_add(int fd, const struct blksnap_uuid *id)
{
	struct blksnap_snapshotadd arg = { .id = *id };

	return blksnap_filter_ctl(fd, blkfilter_ctl_blksnap_snapshotadd, &arg,
				  sizeof(arg));
}

int blksnap_snapshot_info(int fd, struct blksnap_snapshotinfo *info)
{
	int ret;

	memset(info, 0, sizeof(*info));
	ret = blksnap_filter_ctl(fd, blkfilter_ctl_blksnap_snapshotinfo, info,
				 sizeof(*info));
	info->image[sizeof(info->image) - 1] = 0;
	return ret < 0 ? ret : 0;
}
