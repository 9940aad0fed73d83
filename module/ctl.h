/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BLKSNAP_CTL_H
#define BLKSNAP_CTL_H

int ctl_init(void);
void ctl_exit(void);

#endif /* BLKSNAP_CTL_H */
