// SPDX-License-Identifier: GPL-2.0
/*
 * blksnapctl: the state of a snapshot kept by the tool, one file per
 * snapshot under /run/blksnapctl ($BLKSNAPCTL_RUNDIR): the devices added
 * and the storage files created, so that "snapshot destroy" releases
 * exactly those (immutable attribute cleared, file removed).
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

static const char *rundir(void)
{
	const char *d = getenv("BLKSNAPCTL_RUNDIR");

	return d && *d ? d : RUNDIR_DEFAULT;
}

int state_path(const struct blksnap_uuid *id, char *buf, size_t len)
{
	char uuid[40];

	uuid_format(id, uuid);
	if ((size_t)snprintf(buf, len, "%s/%s", rundir(), uuid) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int mkdir_p(const char *dir)
{
	char buf[4096], *p;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", dir) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; ; p++) {
		if (*p && *p != '/')
			continue;
		if (*p == '/')
			*p = 0;
		else
			p = NULL;
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		if (!p)
			return 0;
		*p = '/';
	}
}

/* Append one line to the snapshot's state file (created as needed). */
int state_add_line(const struct blksnap_uuid *id, const char *fmt, ...)
{
	char path[4096], line[8192];
	va_list ap;
	int fd, len, ret = 0;

	if (state_path(id, path, sizeof(path)))
		return -ENAMETOOLONG;
	ret = mkdir_p(rundir());
	if (ret)
		goto out;
	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len < 0 || len >= (int)sizeof(line))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (write(fd, line, len) != len || fsync(fd))
		ret = errno ? -errno : -EIO;
	close(fd);
out:
	if (ret)
		msg("warning: cannot record state in %s: %s", path,
		    strerror(-ret));
	return ret;
}

/* The dev_t of the devices recorded by "snapshot add"; their number. */
int state_devices(const struct blksnap_uuid *id, dev_t *devs, int max)
{
	char path[4096], line[4200];
	unsigned int maj, min;
	int n = 0;
	FILE *f;

	if (state_path(id, path, sizeof(path)))
		return 0;
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f))
		if (sscanf(line, "device %u:%u", &maj, &min) == 2)
			devs[n++] = makedev(maj, min);
	fclose(f);
	return n;
}

static int set_immutable(const char *path, int on)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	ret = blksnap_file_set_immutable(fd, on);
	close(fd);
	return ret;
}

/*
 * Release a storage file recorded as "storage MAJ:MIN INO PATH": only if
 * PATH is still that inode (never a file put in its place); the immutable
 * attribute is cleared through the fd.  0, or 1 after a message.
 */
static int release_storage(const char *line, int keep)
{
	unsigned int maj, min;
	unsigned long long ino;
	struct stat st;
	int off = 0, fd, ret;
	const char *file;

	if (sscanf(line, "storage %u:%u %llu %n", &maj, &min, &ino,
		   &off) != 3 || !off)
		return 0;
	file = line + off;
	fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		msg("%s: %s", file, strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) || st.st_dev != makedev(maj, min) ||
	    st.st_ino != ino) {
		msg("%s: not the storage file this snapshot was given (another file is in its place): left alone",
		    file);
		close(fd);
		return 1;
	}
	ret = blksnap_file_set_immutable(fd, 0);
	close(fd);
	if (ret) {
		msg("%s: cannot clear the immutable attribute: %s (run: chattr -i %s)",
		    file, strerror(-ret), file);
		return 1;
	}
	if (!keep && unlink(file) && errno != ENOENT) {
		msg("%s: cannot delete: %s", file, strerror(errno));
		return 1;
	}
	return 0;
}

/*
 * Undo what the tool did for the snapshot's storage files: clear the
 * immutable attribute it set, delete the files it created (unless @keep),
 * then remove the state file.  Returns 0 or an exit code.
 */
int state_cleanup(const struct blksnap_uuid *id, int keep, int *nfiles)
{
	char path[4096], line[4200], *file;
	int created, was_imm, bad = 0, ret;
	FILE *f;

	*nfiles = 0;
	if (state_path(id, path, sizeof(path)))
		return EX_FAIL;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : fail(-errno, "%s: %s", path,
						  strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		int off = 0;

		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "storage ", 8)) {
			(*nfiles)++;
			bad |= release_storage(line, keep);
			continue;
		}
		if (sscanf(line, "file %d %d %n", &created, &was_imm,
			   &off) != 2 || !off)
			continue;
		file = line + off;
		(*nfiles)++;
		if (!was_imm) {
			ret = set_immutable(file, 0);
			if (ret && ret != -ENOENT) {
				msg("%s: cannot clear the immutable attribute: %s (run: chattr -i %s)",
				    file, strerror(-ret), file);
				bad = 1;
				continue;
			}
		}
		if (created && !keep && unlink(file) && errno != ENOENT) {
			msg("%s: cannot delete: %s", file, strerror(errno));
			bad = 1;
		}
	}
	fclose(f);
	if (bad) {
		msg("state kept in %s; fix the above and run the destroy again",
		    path);
		return EX_FAIL;
	}
	if (unlink(path) && errno != ENOENT)
		return fail(-errno, "%s: %s", path, strerror(errno));
	return 0;
}
