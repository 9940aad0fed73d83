// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_FTRACE_REGS_ARGS: with CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS the
 * plain ftrace trampoline saves the argument registers and honours a
 * changed instruction pointer, read and set through
 * ftrace_regs_get_argument() / ftrace_regs_set_instruction_pointer()
 * (after v6.1; struct ftrace_regs became opaque later).  The hooks then
 * need no FTRACE_OPS_FL_SAVE_REGS.
 */
#include <linux/ftrace.h>

#ifndef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
#error "no DYNAMIC_FTRACE_WITH_ARGS"
#endif

unsigned long probe(struct ftrace_regs *fregs, unsigned long ip);
unsigned long probe(struct ftrace_regs *fregs, unsigned long ip)
{
	ftrace_regs_set_instruction_pointer(fregs, ip);
	return ftrace_regs_get_argument(fregs, 0);
}
