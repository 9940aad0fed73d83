// SPDX-License-Identifier: GPL-2.0
/*
 * The UAPI headers are ABI-exact to the v3 interface: every structure size,
 * field offset and ioctl number, for LP64 and ILP32 (the v3 structures carry
 * native pointers, so some layouts and numbers differ between the two).
 * Built with -Wall -Werror; the static assertions fail the build, the
 * runtime checks report through KTAP.
 */
#include <stddef.h>
#include <assert.h>
#include <linux/blksnap.h>
#include <linux/blk-filter.h>
#include "kselftest_harness.h"

#define OFF(type, field) offsetof(struct type, field)

#if __SIZEOF_POINTER__ == 8
#define LP(lp64, ilp32) (lp64)
#else
#define LP(lp64, ilp32) (ilp32)
#endif

/* Sizes the kernel and every client must agree on. */
static_assert(sizeof(struct blkfilter_name) == 32, "blkfilter_name");
static_assert(sizeof(struct blkfilter_ctl) == 48, "blkfilter_ctl");
static_assert(sizeof(struct blksnap_snapshot_event) == 4096, "event");
static_assert(sizeof(struct blksnap_uuid) == 16, "uuid");

TEST(constants)
{
	EXPECT_STREQ("blksnap-control", BLKSNAP_CTL);
	EXPECT_STREQ("blksnap-image", BLKSNAP_IMAGE_NAME);
	EXPECT_EQ('V', BLKSNAP);
	EXPECT_EQ(16, UUID_SIZE);
	EXPECT_EQ(32, IMAGE_DISK_NAME_LEN);
	EXPECT_EQ(32, BLKFILTER_NAME_LENGTH);
	EXPECT_EQ(0, blkfilter_ctl_blksnap_cbtinfo);
	EXPECT_EQ(1, blkfilter_ctl_blksnap_cbtmap);
	EXPECT_EQ(2, blkfilter_ctl_blksnap_cbtdirty);
	EXPECT_EQ(3, blkfilter_ctl_blksnap_snapshotadd);
	EXPECT_EQ(4, blkfilter_ctl_blksnap_snapshotinfo);
	EXPECT_EQ(0, blksnap_ioctl_version);
	EXPECT_EQ(6, blksnap_ioctl_snapshot_wait_event);
	EXPECT_EQ(0, blksnap_event_code_low_free_space);
	EXPECT_EQ(1, blksnap_event_code_corrupted);
}

TEST(ioctl_numbers)
{
	EXPECT_EQ(0xC020128CU, (unsigned int)BLKFILTER_ATTACH);
	EXPECT_EQ(0xC020128DU, (unsigned int)BLKFILTER_DETACH);
	EXPECT_EQ(0xC030128EU, (unsigned int)BLKFILTER_CTL);
	EXPECT_EQ(0x40085600U, (unsigned int)IOCTL_BLKSNAP_VERSION);
	EXPECT_EQ(0x40105601U, (unsigned int)IOCTL_BLKSNAP_SNAPSHOT_CREATE);
	EXPECT_EQ(0x80105602U, (unsigned int)IOCTL_BLKSNAP_SNAPSHOT_DESTROY);
	EXPECT_EQ(LP(0x40285603U, 0x40205603U),
		  (unsigned int)IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE);
	EXPECT_EQ(0x80105604U, (unsigned int)IOCTL_BLKSNAP_SNAPSHOT_TAKE);
	EXPECT_EQ(LP(0x40105605U, 0x40085605U),
		  (unsigned int)IOCTL_BLKSNAP_SNAPSHOT_COLLECT);
	EXPECT_EQ(0x50005606U, (unsigned int)IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT);
}

TEST(blkfilter_layouts)
{
	EXPECT_EQ(0, OFF(blkfilter_name, name));
	EXPECT_EQ(0, OFF(blkfilter_ctl, name));
	EXPECT_EQ(32, OFF(blkfilter_ctl, cmd));
	EXPECT_EQ(36, OFF(blkfilter_ctl, optlen));
	EXPECT_EQ(40, OFF(blkfilter_ctl, opt));
	EXPECT_EQ(48, sizeof(struct blkfilter_ctl));
}

TEST(ctl_layouts)
{
	EXPECT_EQ(LP(40, 36), sizeof(struct blksnap_cbtinfo));
	EXPECT_EQ(0, OFF(blksnap_cbtinfo, device_capacity));
	EXPECT_EQ(8, OFF(blksnap_cbtinfo, block_size));
	EXPECT_EQ(12, OFF(blksnap_cbtinfo, block_count));
	EXPECT_EQ(16, OFF(blksnap_cbtinfo, generation_id));
	EXPECT_EQ(32, OFF(blksnap_cbtinfo, changes_number));

	EXPECT_EQ(LP(16, 12), sizeof(struct blksnap_cbtmap));
	EXPECT_EQ(0, OFF(blksnap_cbtmap, offset));
	EXPECT_EQ(4, OFF(blksnap_cbtmap, length));
	EXPECT_EQ(8, OFF(blksnap_cbtmap, buffer));

	EXPECT_EQ(16, sizeof(struct blksnap_sectors));
	EXPECT_EQ(0, OFF(blksnap_sectors, offset));
	EXPECT_EQ(8, OFF(blksnap_sectors, count));

	EXPECT_EQ(LP(16, 8), sizeof(struct blksnap_cbtdirty));
	EXPECT_EQ(0, OFF(blksnap_cbtdirty, count));
	EXPECT_EQ(LP(8, 4), OFF(blksnap_cbtdirty, dirty_sectors));

	EXPECT_EQ(16, sizeof(struct blksnap_snapshotadd));
	EXPECT_EQ(0, OFF(blksnap_snapshotadd, id));

	EXPECT_EQ(36, sizeof(struct blksnap_snapshotinfo));
	EXPECT_EQ(0, OFF(blksnap_snapshotinfo, error_code));
	EXPECT_EQ(4, OFF(blksnap_snapshotinfo, image));
}

TEST(control_layouts)
{
	EXPECT_EQ(8, sizeof(struct blksnap_version));
	EXPECT_EQ(0, OFF(blksnap_version, major));
	EXPECT_EQ(2, OFF(blksnap_version, minor));
	EXPECT_EQ(4, OFF(blksnap_version, revision));
	EXPECT_EQ(6, OFF(blksnap_version, build));

	EXPECT_EQ(LP(40, 32), sizeof(struct blksnap_snapshot_append_storage));
	EXPECT_EQ(0, OFF(blksnap_snapshot_append_storage, id));
	EXPECT_EQ(16, OFF(blksnap_snapshot_append_storage, bdev_path));
	EXPECT_EQ(LP(24, 20),
		  OFF(blksnap_snapshot_append_storage, bdev_path_size));
	EXPECT_EQ(LP(28, 24), OFF(blksnap_snapshot_append_storage, count));
	EXPECT_EQ(LP(32, 28), OFF(blksnap_snapshot_append_storage, ranges));

	EXPECT_EQ(LP(16, 8), sizeof(struct blksnap_snapshot_collect));
	EXPECT_EQ(0, OFF(blksnap_snapshot_collect, count));
	EXPECT_EQ(LP(8, 4), OFF(blksnap_snapshot_collect, ids));

	EXPECT_EQ(4096, sizeof(struct blksnap_snapshot_event));
	EXPECT_EQ(0, OFF(blksnap_snapshot_event, id));
	EXPECT_EQ(16, OFF(blksnap_snapshot_event, timeout_ms));
	EXPECT_EQ(20, OFF(blksnap_snapshot_event, code));
	EXPECT_EQ(24, OFF(blksnap_snapshot_event, time_label));
	EXPECT_EQ(32, OFF(blksnap_snapshot_event, data));

	EXPECT_EQ(8, sizeof(struct blksnap_event_low_free_space));
	EXPECT_EQ(12, sizeof(struct blksnap_event_corrupted));
	EXPECT_EQ(0, OFF(blksnap_event_corrupted, dev_id_mj));
	EXPECT_EQ(4, OFF(blksnap_event_corrupted, dev_id_mn));
	EXPECT_EQ(8, OFF(blksnap_event_corrupted, err_code));
}

TEST_HARNESS_MAIN
