/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers every test program wants: sizes, aligned buffers, a
 * monotonic clock, and whole ranges of a device written with or checked
 * against the self-describing sectors of snap.h.
 */
#ifndef BLKSNAP_TESTS_UTIL_H
#define BLKSNAP_TESTS_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "snap.h"

#define MIB (1ULL << 20)

/* A 4 KiB-aligned buffer (O_DIRECT-safe) of @len bytes, or NULL. */
static inline void *abuf(size_t len)
{
	void *p = NULL;

	return posix_memalign(&p, 4096, len) ? NULL : p;
}

static inline int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* Write [@off, @off + @len) of @fd with sd_fill(@tag, @gen); 0 or -errno. */
/* Read [0, @len) of @fd into @buf, 1 MiB at a time (@len a multiple). */
static inline int read_all(int fd, void *buf, uint64_t len)
{
	uint64_t pos;

	for (pos = 0; pos < len; pos += MIB)
		if (pread(fd, (char *)buf + pos, MIB, pos) != (ssize_t)MIB)
			return -errno;
	return 0;
}

static inline int sd_write_range(int fd, uint64_t off, uint64_t len,
				 uint32_t tag, uint32_t gen)
{
	void *buf = abuf(len < MIB ? len : MIB);
	uint64_t pos;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (pos = off; pos < off + len && !ret; pos += MIB) {
		size_t n = off + len - pos < MIB ? off + len - pos : MIB;

		sd_fill(buf, n, tag, pos / 512, gen);
		if (pwrite(fd, buf, n, pos) != (ssize_t)n)
			ret = errno ? -errno : -EIO;
	}
	free(buf);
	return ret;
}

/*
 * Sectors of [@off, @off + @len) of @fd that are not sd_fill(@tag, @gen),
 * or -errno if a read fails; the first bad sector is described on stderr.
 */
static inline long sd_check_range(int fd, uint64_t off, uint64_t len,
				  uint32_t tag, uint32_t gen)
{
	void *buf = abuf(len < MIB ? len : MIB);
	uint64_t pos;
	long bad = 0;

	if (!buf)
		return -ENOMEM;
	for (pos = off; pos < off + len; pos += MIB) {
		size_t n = off + len - pos < MIB ? off + len - pos : MIB;
		size_t b;

		if (pread(fd, buf, n, pos) != (ssize_t)n) {
			bad = errno ? -errno : -EIO;
			break;
		}
		b = sd_check(buf, n, tag, pos / 512, gen);
		if (b && !bad) {
			const struct sd_sector *x = buf;

			fprintf(stderr, "# first bad near byte %llu: magic %x tag %u sector %llu gen %u\n",
				(unsigned long long)pos, x->magic, x->tag,
				(unsigned long long)x->sector, x->gen);
		}
		bad += b;
	}
	free(buf);
	return bad;
}

/*
 * 0 if the first @len bytes (a multiple of 1 MiB) of the files @a and @b
 * are equal; 1 if they differ (the first MiB that does is named), -1 if
 * one cannot be read.
 */
static inline int files_same(const char *a, const char *b, uint64_t len)
{
	const size_t mib = 1 << 20;
	char *x = malloc(mib), *y = malloc(mib);
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
	uint64_t off;
	int ret = 0;

	if (fa < 0 || fb < 0 || !x || !y)
		ret = -1;
	for (off = 0; off < len && !ret; off += mib) {
		if (pread(fa, x, mib, off) != (ssize_t)mib ||
		    pread(fb, y, mib, off) != (ssize_t)mib)
			ret = -1;
		else if (memcmp(x, y, mib))
			ret = 1;
	}
	if (ret > 0)
		fprintf(stderr, "# %s and %s differ in the MiB at %llu\n", a, b,
			(unsigned long long)(off - mib));
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	free(x);
	free(y);
	return ret;
}

#endif /* BLKSNAP_TESTS_UTIL_H */
