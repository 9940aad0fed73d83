/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where the blksnap.ko under test is: the runner names it in BLKSNAP_KO
 * (tests/vm/init.sh does); without it, blksnap.ko next to the test
 * program, as the kselftest runner installs a test's module.  No test
 * hard-codes a path.
 */
#ifndef BLKSNAP_TESTS_MODULE_H
#define BLKSNAP_TESTS_MODULE_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline const char *blksnap_ko(void)
{
	static char path[128];	/* small: callers build commands with it */
	const char *env = getenv("BLKSNAP_KO");
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	if (path[0])
		return path;
	n = readlink("/proc/self/exe", path, sizeof(path));
	if (n <= 0 || n > (ssize_t)(sizeof(path) - sizeof("blksnap.ko"))) {
		path[0] = '\0';
		return "blksnap.ko";
	}
	path[n] = '\0';
	slash = strrchr(path, '/');
	strcpy(slash ? slash + 1 : path, "blksnap.ko");
	return path;
}

/* insmod blksnap.ko: system()'s status, 0 on success */
static inline int blksnap_insmod(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "insmod '%s'", blksnap_ko());
	return system(cmd);
}

#endif /* BLKSNAP_TESTS_MODULE_H */
