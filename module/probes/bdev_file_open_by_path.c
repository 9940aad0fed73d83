// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_BDEV_FILE_OPEN_BY_PATH: block devices are opened as files with
 * bdev_file_open_by_path() since v6.9 ("block: Provide
 * bdev_file_open_* functions"); blkdev_get_by_path() was removed in v6.9.
 */
#include <linux/blkdev.h>
#include <linux/fs.h>

struct file *probe(const char *path);
struct file *probe(const char *path)
{
	return bdev_file_open_by_path(path, BLK_OPEN_READ | BLK_OPEN_WRITE,
				      NULL, NULL);
}
