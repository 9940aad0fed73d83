// SPDX-License-Identifier: GPL-2.0
/*
 * blkbench: a minimal static O_DIRECT block benchmark (fio is too heavy for
 * the TCG guest).
 *
 *   blkbench DEV MODE [-b BS] [-t THREADS] [-n OPS] [-o START] [-l LEN] [-c CHUNK]
 *   MODE: randwrite | randread | seqwrite | seqread | chunkwrite
 *     randwrite/randread  OPS random BS-aligned I/Os in [START, START+LEN)
 *     seqwrite/seqread    [START, START+LEN) in BS steps
 *     chunkwrite          one BS write in every CHUNK of the range, chunks
 *                         in random order (first write to each chunk)
 *   Defaults: BS 4096 (random) or 1 MiB (seq), THREADS 4 (random) or 1,
 *   OPS 16384, START 0, LEN the device size, CHUNK 256 KiB.
 * Prints one line: "mode=.. bs=.. threads=.. ops=.. secs=.. iops=.. mibs=..".
 */
#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <linux/fs.h>
#include "iobench.h"

static uint64_t num(const char *s)
{
	char *e;
	uint64_t v = strtoull(s, &e, 0);

	switch (*e) {
	case 'k': case 'K': v <<= 10; break;
	case 'm': case 'M': v <<= 20; break;
	case 'g': case 'G': v <<= 30; break;
	}
	return v;
}

int main(int argc, char **argv)
{
	uint64_t start = 0, len = 0, chunk = 256 * KIB, size = 0;
	size_t bs = 0, n = 16384;
	int threads = 0, opt, fd, write, ret;
	const char *dev, *mode;
	struct io_res r;
	uint64_t *o;

	if (argc < 3) {
		fprintf(stderr, "usage: %s DEV MODE [-b BS] [-t THREADS] [-n OPS] [-o START] [-l LEN] [-c CHUNK]\n",
			argv[0]);
		return 2;
	}
	dev = argv[1];
	mode = argv[2];
	optind = 3;
	while ((opt = getopt(argc, argv, "b:t:n:o:l:c:")) != -1) {
		switch (opt) {
		case 'b': bs = num(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'n': n = num(optarg); break;
		case 'o': start = num(optarg); break;
		case 'l': len = num(optarg); break;
		case 'c': chunk = num(optarg); break;
		default: return 2;
		}
	}
	fd = open(dev, O_RDONLY);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size)) {
		perror(dev);
		return 1;
	}
	close(fd);
	if (!len)
		len = size - start;
	write = strstr(mode, "write") != NULL;
	if (!strncmp(mode, "rand", 4)) {
		bs = bs ? bs : 4096;
		threads = threads ? threads : 4;
		o = offs_random(start, len, bs, n, 42);
	} else if (!strncmp(mode, "seq", 3)) {
		bs = bs ? bs : MIB;
		threads = threads ? threads : 1;
		o = offs_seq(start, len, bs, &n);
	} else if (!strcmp(mode, "chunkwrite")) {
		bs = bs ? bs : 4096;
		threads = threads ? threads : 4;
		o = offs_per_chunk(start, len, chunk, bs, &n, 42);
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	if (!o)
		return 1;
	ret = io_run(dev, write, bs, o, n, threads, &r);
	if (ret) {
		fprintf(stderr, "%s: %s\n", dev, strerror(-ret));
		return 1;
	}
	printf("mode=%s bs=%zu threads=%d ops=%zu secs=%.3f iops=%.0f mibs=%.1f\n",
	       mode, bs, threads, r.ops, r.secs, r.iops, r.mbs);
	free(o);
	return 0;
}
