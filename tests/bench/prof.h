/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where the time goes: the function_graph tracer restricted to a list of
 * functions (set_ftrace_filter), its per-call durations summed per
 * function.  The guest kernels have no function profiler and no lock_stat;
 * this is the closest counter.  Durations are on-CPU time (sleep-time
 * off: waiting for a lock does not count) unless asked for wall time (TAKE,
 * whose waits are the point).  Tracing slows every traced call, so read
 * the shares, not the absolute times.
 */
#ifndef BLKSNAP_PROF_H
#define BLKSNAP_PROF_H

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRACEFS "/sys/kernel/tracing/"

static int tr_write(const char *file, const char *val, int append)
{
	char path[128];
	int fd, ret = 0;

	snprintf(path, sizeof(path), TRACEFS "%s", file);
	fd = open(path, O_WRONLY | (append ? O_APPEND : O_TRUNC));
	if (fd < 0)
		return -1;
	if (write(fd, val, strlen(val)) < 0)
		ret = -1;
	close(fd);
	return ret;
}

/*
 * Trace @funcs (NULL-terminated; unknown names are skipped).  @wall: count
 * the time a task spends scheduled out (waits) in its functions' durations;
 * otherwise on-CPU time only.
 */
static int prof_begin_ex(const char *const *funcs, int wall)
{
	int n = 0;

	if (access(TRACEFS "current_tracer", W_OK))
		return -1;
	tr_write("tracing_on", "0", 0);
	tr_write("current_tracer", "nop", 0);
	tr_write("set_ftrace_filter", "\n", 0);
	tr_write("set_graph_function", "\n", 0);
	for (; *funcs; funcs++)
		if (!tr_write("set_ftrace_filter", *funcs, 1))
			n++;
	if (!n)
		return -1;
	tr_write("buffer_size_kb", "32768", 0);
	tr_write("options/funcgraph-tail", "1", 0);
	tr_write("options/funcgraph-irqs", "0", 0);
	tr_write("max_graph_depth", "0", 0);
	tr_write("options/sleep-time", wall ? "1" : "0", 0);
	if (tr_write("current_tracer", "function_graph", 0))
		return -1;
	tr_write("trace", "", 0);
	tr_write("tracing_on", "1", 0);
	return n;
}

/* on-CPU time */
static inline int prof_begin(const char *const *funcs)
{
	return prof_begin_ex(funcs, 0);
}

struct prof_ent {
	char name[64];
	int depth;
	unsigned long calls;
	double us;
};

static int prof_cmp(const void *a, const void *b)
{
	const struct prof_ent *x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth - y->depth;
	return x->us < y->us ? 1 : x->us > y->us ? -1 : 0;
}

/*
 * Stop tracing and print "PROF|label|depth|function|calls|total ms|avg us|% of label's top"
 * lines: depth is the smallest nesting level the function was seen at
 * among the traced functions.
 */
static void prof_end(const char *label)
{
	static struct prof_ent ent[128];
	char line[512];
	double top = 0;
	int n = 0, i;
	FILE *f;

	tr_write("tracing_on", "0", 0);
	f = fopen(TRACEFS "trace", "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *bar = strchr(line, '|'), *p, *q, name[64], left[128];
		double us = -1;
		int depth;

		if (line[0] == '#' || !bar)
			continue;
		if (bar - line >= (long)sizeof(left))
			continue;
		memcpy(left, line, bar - line);	/* "N) + 12.345 us " */
		left[bar - line] = 0;
		q = strstr(left, " us");
		if (!q)
			continue;
		for (p = q; p > left && (isdigit((unsigned char)p[-1]) ||
					 p[-1] == '.'); p--)
			;
		if (p < q)
			us = atof(p);
		if (us < 0)
			continue;
		p = bar + 1;
		depth = 0;
		while (*p == ' ') {
			p++;
			depth++;
		}
		depth = depth > 0 ? (depth - 1) / 2 : 0;
		if (!strncmp(p, "} /* ", 5)) {
			p += 5;
			q = strstr(p, " */");
		} else {
			q = strstr(p, "();");
		}
		if (!q || q - p >= (long)sizeof(name))
			continue;
		memcpy(name, p, q - p);
		name[q - p] = 0;
		if ((q = strchr(name, ' ')))	/* "func [module]" */
			*q = 0;
		for (i = 0; i < n; i++)
			if (!strcmp(ent[i].name, name))
				break;
		if (i == n) {
			if (n == 128)
				continue;
			snprintf(ent[n].name, sizeof(ent[n].name), "%s", name);
			ent[n].depth = depth;
			ent[n].calls = 0;
			ent[n].us = 0;
			n++;
		}
		if (depth < ent[i].depth)
			ent[i].depth = depth;
		ent[i].calls++;
		ent[i].us += us;
	}
	if (f)
		fclose(f);
	tr_write("current_tracer", "nop", 0);
	tr_write("set_ftrace_filter", "\n", 0);
	tr_write("options/sleep-time", "1", 0);
	tr_write("trace", "", 0);
	qsort(ent, n, sizeof(*ent), prof_cmp);
	if (n)
		top = ent[0].us;
	for (i = 0; i < n; i++)
		printf("PROF|%s|%d|%s|%lu|%.2f|%.2f|%.1f\n", label, ent[i].depth,
		       ent[i].name, ent[i].calls, ent[i].us / 1000,
		       ent[i].us / ent[i].calls, top > 0 ? 100 * ent[i].us / top : 0);
}

#endif /* BLKSNAP_PROF_H */
