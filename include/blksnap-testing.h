/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test-only interface of blksnap, shared by the module (built with
 * BLKSNAP_TESTING=y, as `make check` does) and the test programs.  Not part
 * of the UAPI: never installed, never relied on by tools.
 */
#ifndef BLKSNAP_TESTING_H
#define BLKSNAP_TESTING_H

/*
 * BLKFILTER_CTL command of the blksnap filter: performs the CBT switch that
 * IOCTL_BLKSNAP_SNAPSHOT_TAKE does, without a snapshot.
 */
#define BLKSNAP_TEST_CTL_CBT_SWITCH	0x5a01

#endif /* BLKSNAP_TESTING_H */
