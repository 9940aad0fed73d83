// SPDX-License-Identifier: GPL-2.0
/*
 * 32-bit callers of /dev/blksnap (built with -m32): the v2 structures
 * carry native pointers and the node has no compat_ioctl, so every
 * command, VERSION included, is -ENOTTY, and nothing happens (as on
 * /dev/blksnap-control).
 */
#include "kselftest_harness.h"
#include "v2.h"

TEST(every_command_enotty_32bit)
{
	static const unsigned long cmds[] = {
		IOCTL_BLK_SNAP_VERSION, IOCTL_BLK_SNAP_TRACKER_REMOVE,
		IOCTL_BLK_SNAP_TRACKER_COLLECT,
		IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP,
		IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS,
		IOCTL_BLK_SNAP_SNAPSHOT_CREATE, IOCTL_BLK_SNAP_SNAPSHOT_DESTROY,
		IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE,
		IOCTL_BLK_SNAP_SNAPSHOT_TAKE, IOCTL_BLK_SNAP_SNAPSHOT_COLLECT,
		IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES,
		IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT,
	};
	static char arg[4096];
	unsigned int i;
	int fd;

	ASSERT_EQ(4, sizeof(void *));
	fd = v2_open();
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", V2_DEV, strerror(errno));
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		EXPECT_EQ(-ENOTTY, v2_ioctl(fd, cmds[i], arg))
			TH_LOG("32-bit cmd %#lx", cmds[i]);
		EXPECT_EQ(-ENOTTY, v2_ioctl(fd, cmds[i], NULL));
	}
	close(fd);
}

TEST_HARNESS_MAIN
