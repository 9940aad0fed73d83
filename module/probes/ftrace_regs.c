// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_FTRACE_REGS: ftrace callbacks receive struct ftrace_regs, read with
 * ftrace_get_regs(), since v5.11 ("ftrace: Have the callbacks receive a
 * struct ftrace_regs instead of pt_regs").  blksnap needs it.
 */
#include <linux/ftrace.h>

struct pt_regs *probe(struct ftrace_regs *fregs);
struct pt_regs *probe(struct ftrace_regs *fregs)
{
	return ftrace_get_regs(fregs);
}
