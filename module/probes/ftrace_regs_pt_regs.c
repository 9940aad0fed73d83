// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_FTRACE_REGS_PT_REGS: with CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
 * before the ftrace_regs accessors (v5.11-v6.1), struct ftrace_regs is a
 * visible wrapper of struct pt_regs whose argument registers and
 * instruction pointer the plain trampoline fills and honours
 * (ftrace_instruction_pointer_set()), without FTRACE_OPS_FL_SAVE_REGS.
 */
#include <linux/ftrace.h>

#ifndef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
#error "no DYNAMIC_FTRACE_WITH_ARGS"
#endif

unsigned long probe(struct ftrace_regs *fregs, unsigned long ip);
unsigned long probe(struct ftrace_regs *fregs, unsigned long ip)
{
	ftrace_instruction_pointer_set(fregs, ip);
	return regs_get_kernel_argument(&fregs->regs, 0);
}
