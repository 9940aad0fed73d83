/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_IMAGE_H
#define BLKSNAP_IMAGE_H

#include <linux/types.h>

struct diff_area;
struct image;

struct image *image_create(struct diff_area *da, bool numbered);
void image_destroy(struct image *img);
const char *image_name(const struct image *img);
dev_t image_devt(const struct image *img);
int image_init(void);
void image_exit(void);

#endif /* BLKSNAP_IMAGE_H */
