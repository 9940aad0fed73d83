// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: the storage commands: "snapshot append" (device ranges or a
 * new file) and "watch", the loop that grows the storage on
 * low-free-space events.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include "blksnapctl.h"

int cmd_snapshot_append(int argc, char **argv)
{
	const char *s_size = NULL;
	int force = 0;
	const struct optdef defs[] = {
		{ "size", 's', 1, &s_size },
		{ "force", 'f', 0, NULL, &force },
		{ 0 }
	};
	struct blksnap_sectors r[256];
	struct blksnap_uuid id;
	uint64_t size = 0, done = 0;
	char *pos[258];
	struct stat st;
	int n, i, cfd, ret;

	ret = parse_opts(argc, argv, defs, pos, &n, 258);
	if (ret)
		return ret;
	if (n < 2)
		return usage_err("snapshot append needs UUID and DEV or FILE");
	if (uuid_parse(pos[0], &id))
		return usage_err("bad snapshot id '%s'", pos[0]);
	if (s_size && (parse_size(s_size, &size) || !size))
		return usage_err("bad --size '%s'", s_size);
	ret = stat(pos[1], &st);
	if (!ret && S_ISBLK(st.st_mode)) {
		int fd;

		if (s_size)
			return usage_err("--size is for files; give ranges START:COUNT for a device");
		for (i = 2; i < n; i++)
			if (parse_range(pos[i], &r[i - 2]))
				return usage_err("bad range '%s' (START:COUNT in 512-byte sectors)",
						 pos[i]);
		if (n == 2) {	/* the whole device */
			ret = force ? 0 : storage_dev_check(pos[1]);
			if (ret)
				return ret;
			ret = open_bdev(pos[1], &fd);
			if (!ret) {
				ret = bdev_size(fd, &size);
				close(fd);
			}
			if (ret)
				return fail(ret, "%s: %s", pos[1],
					    strerror(-ret));
			r[0].offset = 0;
			r[0].count = size / 512;
			n = 3;
		}
		ret = ctl_open(&cfd);
		if (ret)
			return ctl_exit(ret);
		ret = storage_append_dev(cfd, &id, pos[1], r, n - 2);
		close(cfd);
		return ret;
	}
	if (n > 2)
		return usage_err("ranges are for block devices; %s is a file",
				 pos[1]);
	if (ret && errno != ENOENT)
		return fail(-errno, "%s: %s", pos[1], strerror(errno));
	if (!ret)
		return fail(-EEXIST, "%s exists: " PROG " only uses storage files it creates itself (give a new name and --size)",
			    pos[1]);
	if (!s_size)
		return usage_err("%s: give its size with --size", pos[1]);
	ret = ctl_open(&cfd);
	if (ret)
		return ctl_exit(ret);
	ret = storage_append_file(cfd, &id, pos[1], size, force, &done, 0);
	close(cfd);
	if (!ret) {
		out_begin();
		out_str(O_JSON, "file", pos[1]);
		out_u64(O_JSON, "bytes", done);
		out_end();
	}
	return ret;
}

/*
 * 1 if snapshot @id exists, 0 if not, or -errno.  COLLECT with no array
 * reports the number (0, or ENODATA from older modules); then the array.
 */
static int snapshot_exists(int cfd, const struct blksnap_uuid *id)
{
	struct blksnap_uuid *ids;
	unsigned int i, n;
	int ret, found = 0;

	ret = blksnap_snapshot_collect(cfd, &ids, &n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		if (!memcmp(&ids[i], id, sizeof(*id)))
			found = 1;
	free(ids);
	return found;
}

#define WATCH_MIN_APPEND (1ULL << 20)

/*
 * One append of @want bytes for watch: a new file in @dir (O_EXCL; the
 * next number when a name exists) or sectors of @dev from @start.  *@got:
 * the bytes actually appended (rounded to the file system block or down
 * to 512).  0 or an exit code.
 */
static int watch_append(int cfd, const struct blksnap_uuid *id,
			const char *dir, const char *dev, uint64_t start,
			uint64_t want, const char *uuid, int *seq, char *file,
			size_t flen, uint64_t *got)
{
	int ret, i;

	if (!dir) {
		struct blksnap_sectors r = {
			.offset = start,
			.count = want / 512,
		};

		ret = storage_append_dev(cfd, id, dev, &r, 1);
		if (ret)
			return ret;
		*got = r.count * 512;
		snprintf(file, flen, "%s:%llu:%llu", dev,
			 (unsigned long long)r.offset,
			 (unsigned long long)r.count);
		return 0;
	}
	for (i = 0; i < 1000; i++) {
		snprintf(file, flen, "%s/blksnap-%.8s-%d.diff", dir, uuid,
			 (*seq)++);
		ret = storage_append_file(cfd, id, file, want, 0, got, 1);
		if (ret != STORAGE_EXISTS)
			return ret;
	}
	return fail(-EEXIST, "%s: no free name for a storage file", dir);
}

/*
 * Append @want bytes (a failed append is retried with half as much, down
 * to 1 MiB) and report it as @event with the running *@total: 0, or the
 * exit code of the last failure.  *@dnext: the next sector of --device.
 */
static int watch_grow(int cfd, const struct blksnap_uuid *id,
		      const char *dir, const char *dev, uint64_t dstart,
		      uint64_t *dnext, uint64_t want, uint64_t limit,
		      uint64_t *total, const char *uuid, int *seq,
		      const char *event)
{
	char file[4160];
	uint64_t got = 0;
	int ret;

	if (want > limit - *total)
		want = limit - *total;
	for (;;) {
		ret = watch_append(cfd, id, dir, dev, dstart + *dnext, want,
				   uuid, seq, file, sizeof(file), &got);
		if (!ret || want <= WATCH_MIN_APPEND)
			break;
		want = (want / 2 + 511) & ~511ULL;
		if (want < WATCH_MIN_APPEND)
			want = WATCH_MIN_APPEND;
		msg("retrying with %llu bytes", (unsigned long long)want);
	}
	if (ret)
		return ret;
	if (!dir)
		*dnext += got / 512;
	*total += got;
	out_begin();
	out_str(O_JSON, "event", event);
	out_str(O_JSON, "appended", file);
	out_u64(O_JSON, "bytes", got);
	out_u64(O_JSON, "total", *total);
	out_text("%sappended %s: %llu bytes (total %llu of %llu)\n",
		 strcmp(event, "ready") ? "" : "ready: ", file,
		 (unsigned long long)got, (unsigned long long)*total,
		 (unsigned long long)limit);
	out_end();
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * watch UUID (--dir DIR | --device DEV[:START:COUNT]) --step SIZE
 *	--limit SIZE: grow the storage on low-free-space events.
 */
int cmd_watch(int argc, char **argv)
{
	const char *dir = NULL, *dev = NULL, *s_step = NULL, *s_limit = NULL;
	const char *s_tmo = NULL;
	int force = 0;
	const struct optdef defs[] = {
		{ "dir", 'd', 1, &dir },
		{ "device", 0, 1, &dev },
		{ "step", 0, 1, &s_step },
		{ "limit", 0, 1, &s_limit },
		{ "timeout", 't', 1, &s_tmo },
		{ "force", 'f', 0, NULL, &force },
		{ 0 }
	};
	uint64_t step = 0, limit = 0, total = 0, tmo = 0, dstart = 0;
	uint64_t dcount = 0, dnext = 0;
	struct blksnap_snapshot_event *ev;
	char *pos[1], devpath[4096], uuid[40];
	struct sigaction sa;
	struct blksnap_uuid id;
	int n, cfd, ret, seq = 0;
	time_t t0 = time(NULL);

	ret = parse_opts(argc, argv, defs, pos, &n, 1);
	if (ret)
		return ret;
	if (n != 1 || !!dir == !!dev || !s_step || !s_limit)
		return usage_err("watch needs UUID, one of --dir DIR or --device DEV[:START:COUNT], --step SIZE and --limit SIZE");
	if (uuid_parse(pos[0], &id))
		return usage_err("bad snapshot id '%s'", pos[0]);
	if (parse_size(s_step, &step) || step < 512 ||
	    parse_size(s_limit, &limit) || limit < step)
		return usage_err("bad --step or --limit (sizes, step >= 512 bytes, limit >= step)");
	if (s_tmo && parse_u64(s_tmo, &tmo))
		return usage_err("bad --timeout '%s' (seconds)", s_tmo);
	step = (step + 511) & ~511ULL;
	limit &= ~511ULL;
	if (dev) {
		char *colon;
		struct blksnap_sectors r;
		int fd;

		snprintf(devpath, sizeof(devpath), "%s", dev);
		colon = strchr(devpath, ':');
		if (colon) {
			*colon = 0;
			if (parse_range(colon + 1, &r))
				return usage_err("bad --device '%s' (DEV or DEV:START:COUNT)",
						 dev);
			dstart = r.offset;
			dcount = r.count;
		} else {
			/* the whole device: nothing else may be on it */
			ret = force ? 0 : storage_dev_check(devpath);
			if (ret)
				return ret;
			ret = open_bdev(devpath, &fd);
			if (!ret) {
				ret = bdev_size(fd, &dcount);
				close(fd);
			}
			if (ret)
				return fail(ret, "%s: %s", devpath,
					    strerror(-ret));
			dcount /= 512;
		}
		if (limit / 512 > dcount)
			limit = dcount * 512;
	}
	uuid_format(&id, uuid);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ev = malloc(sizeof(*ev));
	if (!ev)
		return fail(-ENOMEM, "out of memory");
	ret = ctl_open(&cfd);
	if (ret) {
		free(ev);
		return ctl_exit(ret);
	}
	/* ESRCH from WAIT_EVENT means "gone" only for a snapshot that was */
	ret = snapshot_exists(cfd, &id);
	if (ret <= 0) {
		close(cfd);
		free(ev);
		if (ret < 0)
			return fail(ret, "COLLECT: %s", strerror(-ret));
		return fail(-ESRCH, "%s: no such snapshot (list them: " PROG " snapshot collect)",
			    uuid);
	}
	/*
	 * The first step now, before "ready": a TAKE started after that
	 * finds storage (and "snapshot take --wait-storage" waits for it).
	 */
	ret = watch_grow(cfd, &id, dir, devpath, dstart, &dnext, step, limit,
			 &total, uuid, &seq, "ready");
	if (ret) {
		close(cfd);
		free(ev);
		return ret;
	}
	for (;;) {
		uint64_t want;

		if (stop) {
			ret = EX_OK;
			break;
		}
		if (tmo && time(NULL) - t0 >= (time_t)tmo) {
			ret = EX_OK;
			break;
		}
		ret = blksnap_wait_event(cfd, &id, 500, ev);
		if (ret == -ENOENT || ret == -EINTR)
			continue;
		if (ret == -ESRCH) {
			out_begin();
			out_str(O_JSON, "event", "gone");
			out_u64(O_JSON, "appended", total);
			out_text("snapshot %s is gone; %llu bytes were appended\n",
				 uuid, (unsigned long long)total);
			out_end();
			ret = EX_OK;
			break;
		}
		if (ret) {
			ret = fail(ret, "WAIT_EVENT %s: %s", uuid,
				   strerror(-ret));
			break;
		}
		if (ev->code == blksnap_event_code_corrupted) {
			struct blksnap_event_corrupted *c = (void *)ev->data;
			char cdev[24];

			snprintf(cdev, sizeof(cdev), "%u:%u", c->dev_id_mj,
				 c->dev_id_mn);
			out_begin();
			out_str(O_JSON, "event", "corrupted");
			out_str(O_JSON, "device", cdev);
			out_str(O_JSON, "error", errno_name(c->err_code));
			out_end();
			msg("snapshot %s corrupted on device %u:%u: %s; its image fails all I/O (destroy it: " PROG " snapshot destroy %s)",
			    uuid, c->dev_id_mj, c->dev_id_mn,
			    strerror(c->err_code), uuid);
			ret = EX_CORRUPT;
			break;
		}
		if (ev->code != blksnap_event_code_low_free_space)
			continue;
		want = ((struct blksnap_event_low_free_space *)
			ev->data)->requested_nr_sect * 512;
		want = want > step ? (want + step - 1) / step * step : step;
		if (total >= limit)
			want = 0;
		else if (want > limit - total)
			want = limit - total;
		if (!want) {
			msg("low free space in snapshot %s, but the limit of %llu bytes is reached: the snapshot may overflow",
			    uuid, (unsigned long long)limit);
			continue;
		}
		if (watch_grow(cfd, &id, dir, devpath, dstart, &dnext, want,
			       limit, &total, uuid, &seq, "low_free_space"))
			msg("could not append storage to snapshot %s; still watching (it may overflow)",
			    uuid);
	}
	close(cfd);
	free(ev);
	return ret;
}
