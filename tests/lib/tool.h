/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest tests that run blksnapctl: the tool's output in out[] / err[].
 */
#ifndef BLKSNAP_TESTS_TOOL_H
#define BLKSNAP_TESTS_TOOL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>

#ifndef TOOL
#define TOOL "/usr/sbin/blksnapctl"
#endif

static char out[65536];
static char err[65536];

/*
 * Run "blksnapctl ARGS" through the shell; its stdout goes to out[], its
 * stderr to err[] (both also echoed as comments).  Returns the exit code.
 */
static inline int tool(const char *fmt, ...)
{
	char args[1024], cmd[1200];
	struct timespec t0, t1;
	va_list ap;
	size_t n;
	FILE *f;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), TOOL " %s 2>/tmp/.bsc-err", args);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	st = pclose(f);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	f = fopen("/tmp/.bsc-err", "r");
	n = f ? fread(err, 1, sizeof(err) - 1, f) : 0;
	err[n] = 0;
	if (f)
		fclose(f);
	st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	fprintf(stderr, "# $ blksnapctl %s -> %d (%ld ms)\n", args, st,
		(long)((t1.tv_sec - t0.tv_sec) * 1000 +
		       (t1.tv_nsec - t0.tv_nsec) / 1000000));
	if (out[0] && strlen(out) < 400)
		fprintf(stderr, "#   %s", out);
	if (err[0])
		fprintf(stderr, "#   stderr: %s", err);
	return st;
}

#endif /* BLKSNAP_TESTS_TOOL_H */
