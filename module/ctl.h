/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_CTL_H
#define BLKSNAP_CTL_H

#include <linux/types.h>

struct tracker;
struct blksnap_snapshot_event;

int blksnap_ctl_filter(struct tracker *tracker, unsigned int cmd,
		       __u8 __user *buf, __u32 *plen);
int blksnap_ctl_wait_event(struct blksnap_snapshot_event __user *uarg);
int blksnap_ctl_init(void);
void blksnap_ctl_exit(void);
int blksnap_ctl_v2_init(void);
void blksnap_ctl_v2_exit(void);

#endif /* BLKSNAP_CTL_H */
