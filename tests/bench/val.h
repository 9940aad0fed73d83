/* SPDX-License-Identifier: GPL-2.0 */
/* The VAL-7.0 client of bigbench.c (val.c; see there). */
#ifndef BLKSNAP_BENCH_VAL_H
#define BLKSNAP_BENCH_VAL_H

#include <stddef.h>
#include <stdint.h>

int val_open(void);
void val_close(void);
int val_attach(const char *dev);
int val_detach(const char *dev);
int val_take(const char *dev, const char *stor, uint64_t sectors,
	     unsigned char id[16], double *take_ms, double *seq_ms);
int val_destroy(const unsigned char id[16]);
int val_state(const char *dev, int *error, char *image, size_t len);
int val_cbt_block(const char *dev, uint32_t *block_size, uint32_t *count);

#endif /* BLKSNAP_BENCH_VAL_H */
