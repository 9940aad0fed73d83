// SPDX-License-Identifier: LGPL-2.1-or-later
/* libblksnap: the ioctls of /dev/blksnap-control (interface 3). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "blksnap.h"

int blksnap_ctl_open(void)
{
	int fd = open(BLKSNAP_CTL_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int blksnap_version(int cfd, struct blksnap_version *v)
{
	memset(v, 0, sizeof(*v));
	return blksnap_ioctl(cfd, IOCTL_BLKSNAP_VERSION, v);
}

int blksnap_snapshot_create(int cfd, struct blksnap_uuid *id)
{
	return blksnap_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_CREATE, id);
}

/* The kernel may write the argument back: hand it a copy. */
int blksnap_snapshot_destroy(int cfd, const struct blksnap_uuid *id)
{
	struct blksnap_uuid copy = *id;

	return blksnap_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &copy);
}

int blksnap_snapshot_take(int cfd, const struct blksnap_uuid *id)
{
	struct blksnap_uuid copy = *id;

	return blksnap_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_TAKE, &copy);
}

int blksnap_snapshot_append_storage(int cfd, const struct blksnap_uuid *id,
				    const char *bdev_path,
				    struct blksnap_sectors *ranges,
				    unsigned int count)
{
	struct blksnap_snapshot_append_storage arg = {
		.id = *id,
		.bdev_path = (__u8 *)bdev_path,
		.bdev_path_size = strlen(bdev_path) + 1,
		.count = count,
		.ranges = ranges,
	};

	return blksnap_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE, &arg);
}

/*
 * COLLECT without an array gives the count; with one too small, -ENODATA
 * and the count.  Snapshots may be created in between: grow and retry.
 */
int blksnap_snapshot_collect(int cfd, struct blksnap_uuid **ids,
			     unsigned int *count)
{
	struct blksnap_snapshot_collect c = { .count = 0, .ids = NULL };
	struct blksnap_uuid *a = NULL;
	int tries, ret = -EAGAIN;

	for (tries = 0; tries < 10; tries++) {
		ret = blksnap_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_COLLECT, &c);
		if (ret && ret != -ENODATA)
			break;
		if (!ret && (a || !c.count))
			break;
		free(a);
		a = calloc(c.count + 4, sizeof(*a));
		if (!a) {
			ret = -ENOMEM;
			break;
		}
		c.count += 4;
		c.ids = a;
	}
	if (ret || !c.count) {
		free(a);
		a = NULL;
		c.count = 0;
	}
	*ids = a;
	*count = c.count;
	return ret;
}

int blksnap_wait_event(int cfd, const struct blksnap_uuid *id,
		       unsigned int timeout_ms,
		       struct blksnap_snapshot_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->id = *id;
	ev->timeout_ms = timeout_ms;
	return blksnap_ioctl(cfd, IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT, ev);
}
