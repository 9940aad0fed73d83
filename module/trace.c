// SPDX-License-Identifier: GPL-2.0
/*
 * The tracepoints of blksnap (trace.h), defined here once.  Kbuild adds
 * -I$(src)/module for this file: define_trace.h includes trace.h again by
 * TRACE_INCLUDE_PATH, which is relative for an out-of-tree module.
 */
#define CREATE_TRACE_POINTS
#include "trace.h"
