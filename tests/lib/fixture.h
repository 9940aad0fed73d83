/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a fixture's teardown calls so that a test stopped half way by a
 * failed ASSERT leaves nothing behind for the next one: every step finds
 * its resource by name (device path, dm name, loop backing file, mount
 * point), not by a variable of the test body, and ignores what is not
 * there.  So it can run in the parent (FIXTURE_TEARDOWN_PARENT), and must:
 * with the 6.12 harness built -O2, a failed ASSERT longjmps in the test's
 * process with the harness's local "child" clobbered, and a plain
 * FIXTURE_TEARDOWN is then skipped.  Typical use:
 *
 *   FIXTURE(x) { struct scratch s; };
 *   FIXTURE_SETUP(x) { scratch_save_params(&self->s); }
 *   FIXTURE_TEARDOWN_PARENT(x)
 *   {
 *       static const char *const devs[] = { "/dev/ram0", NULL };
 *
 *       scratch_release(devs, NULL, NULL, NULL);
 *       scratch_restore_params(&self->s);
 *   }
 */
#ifndef BLKSNAP_TESTS_FIXTURE_H
#define BLKSNAP_TESTS_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <linux/loop.h>
#include "snap.h"
#include "dev.h"

#define SCRATCH_PARAMS 24

/* The module parameters as they were when the fixture was set up. */
struct scratch {
	int nparams;
	char name[SCRATCH_PARAMS][64];
	char value[SCRATCH_PARAMS][32];
};

static inline int scratch_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static inline void scratch_save_params(struct scratch *s)
{
	DIR *d = opendir(PARAM_DIR);
	struct dirent *e;
	char path[256];

	s->nparams = 0;
	while (d && (e = readdir(d)) && s->nparams < SCRATCH_PARAMS) {
		if (e->d_name[0] == '.' ||
		    strlen(e->d_name) >= sizeof(s->name[0]))
			continue;
		snprintf(path, sizeof(path), PARAM_DIR "%s", e->d_name);
		if (scratch_read(path, s->value[s->nparams],
				 sizeof(s->value[0])))
			continue;
		snprintf(s->name[s->nparams++], sizeof(s->name[0]), "%s",
			 e->d_name);
	}
	if (d)
		closedir(d);
}

/* Write back every parameter that changed (the module may be reloaded). */
static inline void scratch_restore_params(const struct scratch *s)
{
	char path[256], now[32];
	int i;

	for (i = 0; i < s->nparams; i++) {
		snprintf(path, sizeof(path), PARAM_DIR "%s", s->name[i]);
		if (!scratch_read(path, now, sizeof(now)) &&
		    strcmp(now, s->value[i]))
			param_write(s->name[i], s->value[i]);
	}
}

/* Detach the blksnap filter from the device at @path, if it is attached. */
static inline void bf_detach_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	bf_detach(fd);
	close(fd);
}

/* The node of the dm device named @name (/dev/dm-N), or -ENOENT. */
static inline int dm_node_of(const char *name, char *buf, size_t len)
{
	char path[PATH_MAX], dm[128];
	struct dirent *e;
	DIR *d = opendir("/sys/block");
	int ret = -ENOENT;

	while (d && ret && (e = readdir(d))) {
		if (strncmp(e->d_name, "dm-", 3))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/dm/name",
			 e->d_name);
		if (!scratch_read(path, dm, sizeof(dm)) && !strcmp(dm, name)) {
			snprintf(buf, len, "/dev/%s", e->d_name);
			ret = 0;
		}
	}
	if (d)
		closedir(d);
	return ret;
}

/* Detach every loop device backed by @file, then remove @file. */
static inline void loop_release_file(const char *file)
{
	char path[PATH_MAX], back[PATH_MAX], want[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int fd;

	if (!realpath(file, want))
		snprintf(want, sizeof(want), "%s", file);
	d = opendir("/sys/block");
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "loop", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file",
			 e->d_name);
		if (scratch_read(path, back, sizeof(back)) ||
		    strcmp(back, want))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		bf_detach(fd);
		ioctl(fd, LOOP_CLR_FD, 0);
		close(fd);
	}
	if (d)
		closedir(d);
	unlink(file);
}

/*
 * Release what a test may have left, in dependency order: unmount
 * @mounts, destroy every snapshot, detach the filter from @devs and from
 * the dm devices @dms and remove them, detach the loops over @loop_files
 * and remove the files.  Each list ends with NULL; any list may be NULL.
 */
static inline void scratch_release(const char *const *mounts,
				   const char *const *devs,
				   const char *const *dms,
				   const char *const *loop_files)
{
	char path[PATH_MAX];

	for (; mounts && *mounts; mounts++)
		umount2(*mounts, MNT_DETACH);
	snap_destroy_all();
	for (; devs && *devs; devs++)
		bf_detach_path(*devs);
	for (; dms && *dms; dms++) {
		if (!dm_node_of(*dms, path, sizeof(path)))
			bf_detach_path(path);
		dm_remove(*dms);
	}
	for (; loop_files && *loop_files; loop_files++)
		loop_release_file(*loop_files);
}

#endif /* BLKSNAP_TESTS_FIXTURE_H */
