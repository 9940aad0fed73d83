/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers every test program wants: sizes, aligned buffers, a
 * monotonic clock, and whole ranges of a device written with or checked
 * against the self-describing sectors of snap.h.
 */
#ifndef BLKSNAP_TESTS_UTIL_H
#define BLKSNAP_TESTS_UTIL_H

#include <errno.h>
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

#endif /* BLKSNAP_TESTS_UTIL_H */
