/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_VERSION_H
#define BLKSNAP_VERSION_H

/*
 * The version IOCTL_BLKSNAP_VERSION reports.  It names the interface level
 * (the v3 UAPI answers 2.0.0.0), so clients that log it see what they expect.
 * Keep PACKAGE_VERSION in dkms.conf in step with the first three numbers.
 */
#define BLKSNAP_VERSION_MAJOR		2
#define BLKSNAP_VERSION_MINOR		0
#define BLKSNAP_VERSION_REVISION	0
#define BLKSNAP_VERSION_BUILD		0
#define BLKSNAP_VERSION_STR		"2.0.0.0"

#endif /* BLKSNAP_VERSION_H */
