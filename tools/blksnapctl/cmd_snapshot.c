// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: the snapshot commands on /dev/blksnap-control and on the
 * member devices: create, add, take, info, collect, wait, destroy (append
 * and watch are in storage.c, backup in backup.c).
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

/* Exit code of a failed ctl_open(): the module is missing, or errno's. */
int ctl_exit(int err)
{
	return err == -ENXIO ? EX_NOMOD : errno_exit(err);
}

/* Say that the module is missing; its exit code. */
int module_missing(void)
{
	return fail_code(EX_NOMOD, "no_module", NOMOD_HINT " (%s is missing)",
			 CTL_PATH);
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
	struct stat st;
	int fd, ret;

	ret = with_bdev(dev, &fd);
	if (ret)
		return ret;
	ret = blksnap_snapshot_add(fd, id);
	if (ret == -ENOENT && attach) {
		ret = blksnap_attach(fd);
		if (!ret)
			ret = blksnap_snapshot_add(fd, id);
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
	ret = blksnap_snapshot_create(cfd, &id);
	close(cfd);
	if (ret)
		return snapshot_fail("", ret, "CREATE");
	uuid_format(&id, uuid);
	state_add_line(&id, "# blksnapctl state of snapshot %s\n", uuid);
	for (i = 0; i < n && !ret; i++)
		ret = do_snapshot_add(&id, uuid, pos[i], 1);
	if (ret)
		msg("snapshot %s was created but not all devices added; destroy it with: " PROG " snapshot destroy %s",
		    uuid, uuid);
	/* the id even on failure: the caller has a snapshot to destroy */
	out_begin();
	out_str(O_VALUE, "id", uuid);
	out_end();
	return ret;
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

/*
 * snapshot take UUID [--wait-storage [--timeout SECONDS]]: with
 * --wait-storage, ENOSPC (no storage yet) is retried every 100 ms until
 * the timeout (60 s), so that "watch ... & snapshot take --wait-storage"
 * does not depend on which of the two runs first.
 */
static int cmd_snapshot_take(int argc, char **argv)
{
	const char *s_tmo = NULL;
	int wait = 0;
	const struct optdef defs[] = {
		{ "wait-storage", 'w', 0, NULL, &wait },
		{ "timeout", 't', 1, &s_tmo },
		{ 0 }
	};
	struct blksnap_uuid id;
	uint64_t tmo = 60, tries;
	char *pos[1];
	int cfd, ret;

	ret = parse_exact(argc, argv, defs, pos, 1,
			  "snapshot take needs UUID");
	if (ret)
		return ret;
	if (s_tmo && (!wait || parse_u64(s_tmo, &tmo)))
		return usage_err("--timeout SECONDS goes with --wait-storage");
	ret = get_uuid(pos[0], &id);
	if (ret)
		return ret;
	ret = ctl_open(&cfd);
	if (ret)
		return ctl_exit(ret);
	ret = blksnap_snapshot_take(cfd, &id);
	for (tries = 0; wait && ret == -ENOSPC && tries < tmo * 10; tries++) {
		usleep(100000);
		ret = blksnap_snapshot_take(cfd, &id);
	}
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
		if (wait)
			return fail(ret, "%s: no difference storage was appended within %llu s",
				    pos[0], (unsigned long long)tmo);
		return fail(ret, "%s: the snapshot has no difference storage (run: " PROG " snapshot append %s DEV|FILE ..., or take it with --wait-storage while watch appends)",
			    pos[0], pos[0]);
	default:
		return snapshot_fail(pos[0], ret, "TAKE");
	}
}

static int cmd_snapshot_info(int argc, char **argv)
{
	struct blksnap_snapshotinfo info;
	char *pos[1], image[sizeof(info.image) + 8];
	int fd, ret;

	ret = parse_exact(argc, argv, NULL, pos, 1,
			  "snapshot info needs DEV");
	if (ret)
		return ret;
	ret = with_bdev(pos[0], &fd);
	if (ret)
		return ret;
	ret = blksnap_snapshot_info(fd, &info);
	close(fd);
	if (ret)
		return filter_fail(pos[0], ret, "snapshotinfo");
	snprintf(image, sizeof(image), "%s%s", info.image[0] ? "/dev/" : "",
		 (char *)info.image);
	out_begin();
	out_str(O_JSON, "device", pos[0]);
	out_str(info.image[0] ? 0 : O_JSON, "image", image);
	if (!info.image[0])
		out_text("image none (no snapshot of this device is taken)\n");
	out_s64(O_JSON, "error_code", info.error_code);
	if (info.error_code)
		out_text("error %d (%s: %s): the snapshot of this device is corrupted\n",
			 info.error_code, errno_name(info.error_code),
			 strerror(-info.error_code));
	else
		out_text("error 0\n");
	out_end();
	return info.error_code ? EX_CORRUPT : EX_OK;
}

static int cmd_snapshot_collect(int argc, char **argv)
{
	struct blksnap_uuid *ids = NULL;
	char *pos[1], uuid[40];
	unsigned int i, count;
	int n, cfd, ret;

	ret = parse_opts(argc, argv, NULL, pos, &n, 0);
	if (ret)
		return ret;
	ret = ctl_open(&cfd);
	if (ret)
		return ctl_exit(ret);
	ret = blksnap_snapshot_collect(cfd, &ids, &count);
	close(cfd);
	if (ret)
		return fail(ret, "COLLECT: %s", strerror(-ret));
	out_begin();
	out_list_begin("snapshots");
	for (i = 0; i < count; i++) {
		uuid_format(&ids[i], uuid);
		out_list_str(uuid);
	}
	out_list_end();
	out_end();
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
	struct blksnap_uuid id;
	uint64_t tmo = 1000;
	char *pos[1];
	int cfd, ret;

	ret = parse_exact(argc, argv, defs, pos, 1,
			  "snapshot wait needs UUID");
	if (ret)
		return ret;
	if (s_tmo && (parse_u64(s_tmo, &tmo) || tmo > UINT32_MAX))
		return usage_err("bad --timeout '%s' (milliseconds)", s_tmo);
	ret = get_uuid(pos[0], &id);
	if (ret)
		return ret;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return fail(-ENOMEM, "out of memory");
	ret = ctl_open(&cfd);
	if (ret) {
		ret = ctl_exit(ret);
		goto out;
	}
	ret = blksnap_wait_event(cfd, &id, tmo, ev);
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
	out_begin();
	if (ev->code == blksnap_event_code_low_free_space) {
		struct blksnap_event_low_free_space *l = (void *)ev->data;

		out_str(O_JSON, "event", "low_free_space");
		out_s64(O_JSON, "time_ns", ev->time_label);
		out_u64(O_JSON, "requested_nr_sect", l->requested_nr_sect);
		out_text("low_free_space requested_nr_sect %llu\n",
			 (unsigned long long)l->requested_nr_sect);
		ret = EX_OK;
	} else if (ev->code == blksnap_event_code_corrupted) {
		struct blksnap_event_corrupted *c = (void *)ev->data;
		char dev[24];

		snprintf(dev, sizeof(dev), "%u:%u", c->dev_id_mj, c->dev_id_mn);
		out_str(O_JSON, "event", "corrupted");
		out_s64(O_JSON, "time_ns", ev->time_label);
		out_str(O_JSON, "device", dev);
		out_str(O_JSON, "error", errno_name(c->err_code));
		out_text("corrupted device %s error %s (%s)\n", dev,
			 errno_name(c->err_code), strerror(c->err_code));
		ret = EX_CORRUPT;
	} else {
		out_str(O_JSON, "event", "unknown");
		out_u64(O_JSON, "code", ev->code);
		out_text("unknown event %u\n", ev->code);
		ret = EX_OK;
	}
	out_end();
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
	ret = blksnap_snapshot_destroy(cfd, &id);
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
	out_begin();
	out_str(O_JSON, "id", pos[0]);
	out_bool(O_JSON, "destroyed", !ret);
	out_u64(O_JSON, "storage_files", nfiles);
	out_end();
	return EX_OK;
}

int cmd_snapshot(int argc, char **argv)
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
	static char help[32];
	size_t i;

	if (argc < 1)
		return usage_err("snapshot needs a subcommand");
	if (help_asked(argv[0], "snapshot"))
		return EX_HELP;
	for (i = 0; i < ARRAY_SIZE(sub); i++) {
		if (strcmp(argv[0], sub[i].name))
			continue;
		snprintf(help, sizeof(help), "snapshot %s",
			 strcmp(sub[i].name, "list") ? sub[i].name : "collect");
		set_help_cmd(help);
		return sub[i].fn(argc - 1, argv + 1);
	}
	return usage_err("unknown snapshot subcommand '%s'", argv[0]);
}
