/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small O_DIRECT I/O engine for the benchmarks (fio is too heavy for the
 * TCG guest): a list of offsets is issued with pwrite/pread by a number of
 * threads that take the next offset from a shared counter, so the "queue
 * depth" is the thread count.  Fixed work (the offset list), timed with
 * CLOCK_MONOTONIC from the start of the first I/O to the end of the last.
 */
#ifndef BLKSNAP_IOBENCH_H
#define BLKSNAP_IOBENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KIB 1024ULL
#define MIB (1024ULL * 1024)
#define GIB (1024ULL * MIB)

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: reproducible pseudo-random numbers */
static inline uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

struct io_job {
	int fd;
	int write;
	size_t bs;
	const uint64_t *offs;
	size_t n;
	size_t next;		/* shared, atomic */
	int err;		/* first errno */
};

struct io_res {
	double secs;
	size_t ops;
	uint64_t bytes;
	double iops;
	double mbs;		/* MiB/s */
};

static void *io_thread(void *arg)
{
	struct io_job *j = arg;
	void *buf;
	size_t i;

	if (posix_memalign(&buf, 4096, j->bs)) {
		__atomic_store_n(&j->err, ENOMEM, __ATOMIC_RELAXED);
		return NULL;
	}
	memset(buf, 0xa5, j->bs);
	for (;;) {
		ssize_t r;

		i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
		if (i >= j->n || __atomic_load_n(&j->err, __ATOMIC_RELAXED))
			break;
		if (j->write) {
			((uint64_t *)buf)[0] = j->offs[i];	/* not all one pattern */
			r = pwrite(j->fd, buf, j->bs, (off_t)j->offs[i]);
		} else {
			r = pread(j->fd, buf, j->bs, (off_t)j->offs[i]);
		}
		if (r != (ssize_t)j->bs) {
			int e = r < 0 ? errno : EIO;

			__atomic_compare_exchange_n(&j->err, &(int){0}, e, 0,
						    __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED);
			break;
		}
	}
	free(buf);
	return NULL;
}

/*
 * Issue @n I/Os of @bs bytes at @offs on @path (O_DIRECT) with @threads
 * threads.  Returns 0 or -errno; fills @res.
 */
static inline int io_run(const char *path, int write, size_t bs,
			 const uint64_t *offs, size_t n, int threads,
			 struct io_res *res)
{
	struct io_job j = { .write = write, .bs = bs, .offs = offs, .n = n };
	pthread_t tid[64];
	double t0, t1;
	int i;

	memset(res, 0, sizeof(*res));
	if (threads < 1)
		threads = 1;
	if (threads > 64)
		threads = 64;
	j.fd = open(path, (write ? O_RDWR : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	if (j.fd < 0)
		return -errno;
	t0 = now_s();
	for (i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, io_thread, &j)) {
			threads = i;
			j.err = EAGAIN;
			break;
		}
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	t1 = now_s();
	close(j.fd);
	if (j.err)
		return -j.err;
	res->secs = t1 - t0;
	res->ops = n;
	res->bytes = (uint64_t)n * bs;
	res->iops = n / res->secs;
	res->mbs = res->bytes / (double)MIB / res->secs;
	return 0;
}

/* @n random @bs-aligned offsets in [start, start + len). */
static inline uint64_t *offs_random(uint64_t start, uint64_t len, size_t bs,
				    size_t n, uint64_t seed)
{
	uint64_t *o = malloc(n * sizeof(*o));
	uint64_t slots = len / bs, s = seed | 1;
	size_t i;

	for (i = 0; o && i < n; i++)
		o[i] = start + (rnd_next(&s) % slots) * bs;
	return o;
}

/* Sequential offsets covering [start, start + len) in @bs steps; *@n set. */
static inline uint64_t *offs_seq(uint64_t start, uint64_t len, size_t bs,
				 size_t *n)
{
	uint64_t *o;
	size_t i;

	*n = len / bs;
	o = malloc(*n * sizeof(*o));
	for (i = 0; o && i < *n; i++)
		o[i] = start + i * bs;
	return o;
}

/*
 * One random @bs-aligned offset inside every @chunk-sized chunk of
 * [start, start + len), chunks in random order: every I/O is the first
 * write to its chunk (the pure snapshot-breaking pattern).  *@n set.
 */
static inline uint64_t *offs_per_chunk(uint64_t start, uint64_t len,
				       uint64_t chunk, size_t bs, size_t *n,
				       uint64_t seed)
{
	uint64_t *o, s = seed | 1;
	size_t i;

	*n = len / chunk;
	o = malloc(*n * sizeof(*o));
	for (i = 0; o && i < *n; i++)
		o[i] = start + i * chunk + (rnd_next(&s) % (chunk / bs)) * bs;
	for (i = *n; o && i > 1; i--) {	/* Fisher-Yates */
		size_t k = rnd_next(&s) % i;
		uint64_t t = o[i - 1];

		o[i - 1] = o[k];
		o[k] = t;
	}
	return o;
}

/* qsort() order of doubles */
static inline int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @n values (NAN for none); @v is left as it was. */
static inline double median(const double *v, int n)
{
	double *t;
	double m;

	if (n <= 0)
		return NAN;
	t = malloc(n * sizeof(*t));
	if (!t)
		return NAN;
	memcpy(t, v, n * sizeof(*t));
	qsort(t, n, sizeof(*t), cmp_d);
	m = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
	free(t);
	return m;
}

#endif /* BLKSNAP_IOBENCH_H */
