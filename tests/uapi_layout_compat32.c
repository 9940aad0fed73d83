// SPDX-License-Identifier: GPL-2.0
/*
 * The UAPI layout test built for 32-bit x86 (tests/Makefile builds every
 * *compat32* program with -m32) and run in the guest, whose kernel runs
 * 32-bit programs: the ILP32 layouts are checked even where the build host
 * cannot execute 32-bit code.
 */
#include "uapi_layout.c"
