// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl status: what the module is doing, at a glance.  Reads the
 * module's read-only status file, /sys/kernel/debug/blksnap/status (one
 * record per line, "KIND key=value ..."; see module/status.c and
 * Documentation/status.rst), and prints the attached devices and the
 * snapshots.  Text: a few lines for people.  JSON: one object per line,
 * first {"loaded":...,"version":...,"devices":N,"snapshots":N}, then one
 * per record with "type" device, snapshot or member.  Without the module:
 * {"loaded":false,...} and exit code 12 (EX_NOMOD); without debugfs: a
 * mount hint and exit code 4.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include "blksnapctl.h"

#define DEBUGFS_MAGIC_NR 0x64626720
#define MAX_FIELDS 24

/* One line of the status file: its kind and its key=value fields. */
struct rec {
	const char *kind;
	int n;
	const char *key[MAX_FIELDS];
	const char *val[MAX_FIELDS];
};

static const char *get(const struct rec *r, const char *key)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->key[i], key))
			return r->val[i];
	return NULL;
}

/* The value of @key, or "-" if the record has none. */
static const char *sget(const struct rec *r, const char *key)
{
	const char *v = get(r, key);

	return v ? v : "-";
}

/* A number field: 1 and *@v set, or 0 ("-" or absent). */
static int nget(const struct rec *r, const char *key, long long *v)
{
	const char *s = get(r, key);
	char *end;

	if (!s || !*s || !strcmp(s, "-"))
		return 0;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return !*end && !errno;
}

/* Split @line (modified in place) into a record; 0 if it is empty. */
static int parse_line(char *line, struct rec *r)
{
	char *tok, *save = NULL, *eq;

	r->n = 0;
	r->kind = strtok_r(line, " \t\n", &save);
	if (!r->kind)
		return 0;
	while ((tok = strtok_r(NULL, " \t\n", &save)) && r->n < MAX_FIELDS) {
		eq = strchr(tok, '=');
		if (!eq) {	/* "version 2.0.0.0" */
			r->key[r->n] = "value";
			r->val[r->n++] = tok;
			continue;
		}
		*eq = 0;
		r->key[r->n] = tok;
		r->val[r->n++] = eq + 1;
	}
	return 1;
}

/* Read all of @path into a NUL-terminated malloc'ed buffer; 0 or -errno. */
static int read_file(const char *path, char **buf)
{
	size_t len = 0, room = 65536;
	FILE *f = fopen(path, "re");
	size_t n;
	char *p;

	if (!f)
		return -errno;
	*buf = malloc(room);
	while (*buf) {
		n = fread(*buf + len, 1, room - len - 1, f);
		len += n;
		if (len < room - 1)
			break;
		room *= 2;
		p = realloc(*buf, room);
		if (!p) {
			free(*buf);
			*buf = NULL;
		} else {
			*buf = p;
		}
	}
	if (!*buf || ferror(f)) {
		int err = *buf ? (errno ? errno : EIO) : ENOMEM;

		free(*buf);
		fclose(f);
		return -err;
	}
	fclose(f);
	(*buf)[len] = 0;
	return 0;
}

/* The result object for "not loaded" / "no status file", and its code. */
static int status_unavailable(int loaded, const char *version, int code,
			      const char *fmt, const char *arg)
{
	char text[512];

	snprintf(text, sizeof(text), fmt, arg);
	out_begin();
	out_bool(O_JSON, "loaded", loaded);
	if (version)
		out_str(O_JSON, "version", version);
	out_str(O_JSON, "message", text);
	out_u64(O_JSON, "exit_code", code);
	out_end();
	if (!opt_json)
		msg("%s", text);
	return code;
}

static void print_device(const struct rec *r)
{
	long long bs = 0, bc = 0, ch = 0, sect = 0;
	const char *snap = get(r, "snapshot");

	nget(r, "block_size", &bs);
	nget(r, "block_count", &bc);
	nget(r, "changes", &ch);
	nget(r, "sectors", &sect);
	if (snap && !strcmp(snap, "-"))
		snap = NULL;
	out_begin();
	out_str(O_JSON, "type", "device");
	out_str(O_JSON, "name", sget(r, "name"));
	out_str(O_JSON, "dev", sget(r, "dev"));
	out_u64(O_JSON, "sectors", sect);
	out_str(O_JSON, "generation", sget(r, "generation"));
	out_u64(O_JSON, "block_size", bs);
	out_u64(O_JSON, "block_count", bc);
	out_u64(O_JSON, "changes_number", ch);
	if (snap)
		out_str(O_JSON, "snapshot", snap);
	out_text("device %s (%s): %lld sectors, CBT generation %s, %lld blocks of %lld bytes, changes number %lld%s%s\n",
		 sget(r, "name"), sget(r, "dev"), sect, sget(r, "generation"),
		 bc, bs, ch, snap ? ", in snapshot " : "", snap ? snap : "");
	out_end();
}

/* Percent of @used in @total, in tenths. */
static long long tenths(long long used, long long total)
{
	return total > 0 ? used * 1000 / total : 0;
}

static void print_snapshot(const struct rec *r, const struct rec *recs,
			   int nrec)
{
	long long used = 0, total = 0, ev = 0, devs = 0, v, copied = 0;
	const char *id = sget(r, "id");
	int i, corrupted = 0;

	nget(r, "storage_used", &used);
	nget(r, "storage_total", &total);
	nget(r, "events", &ev);
	nget(r, "devices", &devs);
	for (i = 0; i < nrec; i++) {
		if (strcmp(recs[i].kind, "member") ||
		    strcmp(sget(&recs[i], "snapshot"), id))
			continue;
		if (nget(&recs[i], "copied", &v))
			copied += v;
		if (nget(&recs[i], "error", &v) && v)
			corrupted = 1;
	}
	out_begin();
	out_str(O_JSON, "type", "snapshot");
	out_str(O_JSON, "id", id);
	out_str(O_JSON, "state", sget(r, "state"));
	out_u64(O_JSON, "devices", devs);
	out_u64(O_JSON, "storage_used", used);
	out_u64(O_JSON, "storage_total", total);
	out_u64(O_JSON, "copied_chunks", copied);
	out_u64(O_JSON, "pending_events", ev);
	out_bool(O_JSON, "corrupted", corrupted);
	out_list_begin("members");
	for (i = 0; opt_json && i < nrec; i++)
		if (!strcmp(recs[i].kind, "member") &&
		    !strcmp(sget(&recs[i], "snapshot"), id))
			out_list_str(strcmp(sget(&recs[i], "name"), "-") ?
				     sget(&recs[i], "name") :
				     sget(&recs[i], "dev"));
	out_list_end();
	out_list_begin("images");
	for (i = 0; opt_json && i < nrec; i++)
		if (!strcmp(recs[i].kind, "member") &&
		    !strcmp(sget(&recs[i], "snapshot"), id) &&
		    strcmp(sget(&recs[i], "image"), "-"))
			out_list_str(sget(&recs[i], "image"));
	out_list_end();
	out_text("snapshot %s %s: %lld device(s), storage %lld of %lld sectors used (%lld.%lld%%), %lld chunk(s) copied, %lld event(s) pending%s\n",
		 id, sget(r, "state"), devs, used, total,
		 tenths(used, total) / 10, tenths(used, total) % 10, copied,
		 ev, corrupted ? ", CORRUPTED" : "");
	out_end();
}

static void print_member(const struct rec *r)
{
	long long cs = 0, chunks = 0, copied = 0, storing = 0, err = 0;
	int taken = nget(r, "copied", &copied);

	nget(r, "chunk_size", &cs);
	nget(r, "chunks", &chunks);
	nget(r, "storing", &storing);
	nget(r, "error", &err);
	out_begin();
	out_str(O_JSON, "type", "member");
	out_str(O_JSON, "snapshot", sget(r, "snapshot"));
	out_str(O_JSON, "name", sget(r, "name"));
	out_str(O_JSON, "dev", sget(r, "dev"));
	if (taken) {
		out_str(O_JSON, "image", sget(r, "image"));
		out_u64(O_JSON, "chunk_size", cs);
		out_u64(O_JSON, "chunks", chunks);
		out_u64(O_JSON, "copied_chunks", copied);
		out_u64(O_JSON, "stores_in_flight", storing);
		out_s64(O_JSON, "error", -err);
		if (err)
			out_str(O_JSON, "error_message", strerror(-err));
	}
	out_text("  member %s (%s)", sget(r, "name"), sget(r, "dev"));
	if (taken)
		out_text(" image %s: %lld of %lld chunks of %lld bytes copied, %lld store(s) in flight%s%s\n",
			 sget(r, "image"), copied, chunks, cs, storing,
			 err ? ", CORRUPTED: " : "", err ? strerror(-err) : "");
	else
		out_text(": not taken yet\n");
	out_end();
}

int cmd_status(int argc, char **argv)
{
	char path[4200], vpath[4400], version[64] = "", *buf = NULL, *line;
	char *save = NULL;
	long long ndev = 0, nsnap = 0;
	struct rec *recs = NULL;
	int i, nrec = 0, room = 0, ret;
	struct statfs sfs;
	char *pos[1];
	struct stat st;
	FILE *f;

	ret = parse_opts(argc, argv, NULL, pos, &i, 0);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/module/blksnap", sysfs_root());
	if (stat(path, &st))
		return status_unavailable(0, NULL, EX_NOMOD,
					  "blksnap module not loaded%s",
					  " (load it: modprobe blksnap)");
	snprintf(vpath, sizeof(vpath), "%s/version", path);
	f = fopen(vpath, "re");
	if (f && fgets(version, sizeof(version), f))
		version[strcspn(version, "\n")] = 0;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/kernel/debug", sysfs_root());
	snprintf(vpath, sizeof(vpath), "%s/blksnap/status", path);
	ret = read_file(vpath, &buf);
	if (ret == -ENOENT && !strcmp(sysfs_root(), "/sys") &&
	    (statfs(path, &sfs) || sfs.f_type != DEBUGFS_MAGIC_NR))
		return status_unavailable(1, version, EX_NOENT,
					  "debugfs is not mounted on %s: mount it (mount -t debugfs none /sys/kernel/debug) and try again",
					  path);
	if (ret == -ENOENT)
		return status_unavailable(1, version, EX_NOENT,
					  "%s: no such file (a blksnap module without status, or a kernel without CONFIG_DEBUG_FS)",
					  vpath);
	if (ret == -EACCES || ret == -EPERM)
		return status_unavailable(1, version, EX_PERM,
					  "%s: permission denied (run as root)",
					  vpath);
	if (ret)
		return fail(ret, "%s: %s", vpath, strerror(-ret));

	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (nrec == room) {
			struct rec *p;

			room = room ? room * 2 : 64;
			p = realloc(recs, room * sizeof(*recs));
			if (!p) {
				free(recs);
				free(buf);
				return fail(-ENOMEM, "status: out of memory");
			}
			recs = p;
		}
		if (!parse_line(line, &recs[nrec]))
			continue;
		if (!strcmp(recs[nrec].kind, "version") && recs[nrec].n)
			snprintf(version, sizeof(version), "%s",
				 recs[nrec].val[0]);
		ndev += !strcmp(recs[nrec].kind, "device");
		nsnap += !strcmp(recs[nrec].kind, "snapshot");
		nrec++;
	}
	out_begin();
	out_bool(O_JSON, "loaded", 1);
	out_str(O_JSON, "version", version);
	out_u64(O_JSON, "devices", ndev);
	out_u64(O_JSON, "snapshots", nsnap);
	out_text("blksnap %s loaded: %lld device(s) attached, %lld snapshot(s)\n",
		 version, ndev, nsnap);
	out_end();
	for (i = 0; i < nrec; i++)
		if (!strcmp(recs[i].kind, "device"))
			print_device(&recs[i]);
	for (i = 0; i < nrec; i++) {
		if (strcmp(recs[i].kind, "snapshot"))
			continue;
		print_snapshot(&recs[i], recs, nrec);
		for (int j = 0; j < nrec; j++)
			if (!strcmp(recs[j].kind, "member") &&
			    !strcmp(sget(&recs[j], "snapshot"),
				    sget(&recs[i], "id")))
				print_member(&recs[j]);
	}
	free(recs);
	free(buf);
	return EX_OK;
}
