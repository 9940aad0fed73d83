// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: the commands on one device's filter: attach, detach, and the
 * change-block tracking commands cbtinfo, cbtmap, markdirty.
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

/* Message for a failed BLKFILTER_* on @dev; returns the exit code. */
int filter_fail(const char *dev, int err, const char *what)
{
	/* without the module a BLKFILTER ioctl fails with EINVAL or ENOTTY */
	if (err != -ENOTBLK && !module_loaded())
		return module_missing();
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

int with_bdev(const char *dev, int *fd)
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
	ret = attach ? blksnap_attach(fd) : blksnap_detach(fd);
	close(fd);
	if (!ret) {
		out_begin();
		out_str(O_JSON, "device", pos[0]);
		out_bool(O_JSON, attach ? "attached" : "detached", 1);
		out_end();
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
	if (!attach && ret == -EINVAL && module_loaded())
		return fail(ret, "%s: another block-device filter is attached, not blksnap",
			    pos[0]);
	return filter_fail(pos[0], ret, attach ? "attach" : "detach");
}

int cmd_cbtinfo(int argc, char **argv)
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
	ret = blksnap_cbt_info(fd, &info);
	close(fd);
	if (ret < 0)
		return filter_fail(pos[0], ret, "cbtinfo");
	uuid_format(&info.generation_id, uuid);
	out_begin();
	out_str(O_JSON, "device", pos[0]);
	out_u64(0, "device_capacity", info.device_capacity);
	out_u64(0, "block_size", info.block_size);
	out_u64(0, "block_count", info.block_count);
	out_str(0, "generation_id", uuid);
	out_u64(0, "changes_number", info.changes_number);
	out_end();
	return EX_OK;
}

int cmd_cbtmap(int argc, char **argv)
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
	int fd, ret;
	uint64_t i, j, run[3];

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
	ret = blksnap_cbt_info(fd, &info);
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
	ret = blksnap_cbt_map_read(fd, off, len, map);
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
	out_begin();
	out_str(O_JSON, "device", pos[0]);
	out_u64(O_JSON, "block_size", info.block_size);
	out_u64(O_JSON, "changes_number", info.changes_number);
	out_u64(O_JSON, "offset", off);
	out_u64(O_JSON, "length", len);
	out_text("# block_size %u changes_number %u; runs of changed blocks: first count number\n",
		 info.block_size, info.changes_number);
	out_list_begin("runs");
	for (i = 0; i < len; i = j) {
		for (j = i + 1; j < len && map[j] == map[i]; j++)
			;
		if (!map[i])
			continue;
		run[0] = off + i;
		run[1] = j - i;
		run[2] = map[i];
		out_list_u64s(3, run);
	}
	out_list_end();
	out_end();
	free(map);
	return EX_OK;
}

int cmd_markdirty(int argc, char **argv)
{
	struct blksnap_sectors r[256];
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
	ret = blksnap_cbt_mark_dirty(fd, r, n - 1);
	close(fd);
	if (ret == -EINVAL && module_loaded())
		return fail(ret, "%s: a range runs past the end of the device (nothing was marked)",
			    pos[0]);
	if (ret < 0)
		return filter_fail(pos[0], ret, "cbtdirty");
	return EX_OK;
}

int cmd_attach(int argc, char **argv)
{
	return cmd_attach_detach(argc, argv, 1);
}

int cmd_detach(int argc, char **argv)
{
	return cmd_attach_detach(argc, argv, 0);
}
