// SPDX-License-Identifier: GPL-2.0
/*
 * blksnap: snapshots and change-block tracking for live block devices.
 *
 * Module entry points.  Load order: the filter layer (ftrace hooks), the
 * image workqueue, the "blksnap" filter (trackers and CBT, its commands
 * served by the v3 front end), the test filter (test builds), then the
 * control devices (/dev/blksnap-control, then the v2 /dev/blksnap).
 * Unload undoes them in reverse; the module cannot be unloaded while a
 * filter is attached to a device through BLKFILTER_ATTACH (such an
 * attachment holds a module reference), while a snapshot has devices (it
 * holds one), nor while an image is open (the block layer holds one for
 * each opener).  Exit destroys the snapshots left, detaches the
 * attachments that do not pin the module (the trackers attached through
 * /dev/blksnap, tracker_exit()), then waits for the diff_areas of images
 * whose last close is still freeing them (diff_area_exit()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include "blkfilter.h"
#include "tracker.h"
#include "ctl.h"
#include "diff_area.h"
#include "image.h"
#include "snapshot.h"
#include "test_filter.h"
#include "version.h"
#include "status.h"

static int __init blksnap_init(void)
{
	int ret;

	ret = blkfilter_init();
	if (ret)
		return ret;
	ret = diff_area_init();
	if (ret)
		goto out_blkfilter_exit;
	ret = image_init();
	if (ret)
		goto out_diff_area_exit;
	ret = tracker_init(blksnap_ctl_filter);
	if (ret)
		goto out_image_exit;
	ret = test_filter_init();
	if (ret)
		goto out_tracker_exit;
	ret = blksnap_ctl_init();
	if (ret)
		goto out_test_filter_exit;
	ret = blksnap_ctl_v2_init();
	if (ret)
		goto out_ctl_exit;
	status_init();
	pr_info("version %s loaded\n", BLKSNAP_VERSION_STR);
	return 0;

out_ctl_exit:
	blksnap_ctl_exit();
out_test_filter_exit:
	test_filter_exit();
out_tracker_exit:
	tracker_exit();
out_image_exit:
	image_exit();
out_diff_area_exit:
	diff_area_exit();
out_blkfilter_exit:
	blkfilter_exit();
	return ret;
}

static void __exit blksnap_exit(void)
{
	status_exit();
	blksnap_ctl_v2_exit();
	blksnap_ctl_exit();
	snapshot_destroy_all();
	test_filter_exit();
	tracker_exit();
	diff_area_exit();
	image_exit();
	blkfilter_exit();
	pr_info("unloaded\n");
}

module_init(blksnap_init);
module_exit(blksnap_exit);

MODULE_DESCRIPTION("Block Device Snapshots Module");
MODULE_VERSION(BLKSNAP_VERSION_STR);
MODULE_AUTHOR("blksnap developers");
MODULE_LICENSE("GPL");
