// SPDX-License-Identifier: GPL-2.0
/*
 * HAVE_FILLDIR_BOOL: a readdir actor (filldir_t) returns bool, true to go
 * on, since v6.1 ("Change calling conventions for filldir_t"); before, an
 * int, 0 to go on.
 */
#include <linux/fs.h>
#include <linux/build_bug.h>

typedef bool (*probe_actor_t)(struct dir_context *, const char *, int,
			      loff_t, u64, unsigned int);
static_assert(__builtin_types_compatible_p(filldir_t, probe_actor_t));
