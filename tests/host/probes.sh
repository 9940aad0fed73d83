#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# module/probes/gen.sh must not lie: when the probes cannot be built at all
# (no kernel tree, a broken build environment), it stops with an error and
# the build log instead of writing a header that picks every old API.
# TAP output for `make tests-host`.
GEN=$(dirname "$0")/../../module/probes/gen.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
fail=0
check() { # description command...
	desc=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n probes: $desc"
	else
		echo "not ok $n probes: $desc"
		fail=1
	fi
}

# 1. no kernel tree: an error that says what to install
sh "$GEN" "$T/none" "$T/out1.h" > "$T/log1" 2>&1
rc=$?
check "missing kernel tree fails" [ $rc -ne 0 ]
check "missing kernel tree names the headers package" grep -q "linux-headers" "$T/log1"
check "missing kernel tree writes no header" [ ! -e "$T/out1.h" ]

# 2. a kernel tree whose build fails for every module (as objtool without
#    /proc or a missing pahole would): the control probe fails too
mkdir -p "$T/kdir"
printf 'modules:\n\t@echo "objtool: cannot open /proc/self/maps" >&2; exit 2\n' > "$T/kdir/Makefile"
sh "$GEN" "$T/kdir" "$T/out2.h" > "$T/log2" 2>&1
rc=$?
check "broken build environment fails" [ $rc -ne 0 ]
check "broken build environment prints the build log" grep -q "objtool: cannot open" "$T/log2"
check "broken build environment writes no header" [ ! -e "$T/out2.h" ]

# 3. a kernel without DYNAMIC_FTRACE_WITH_ARGS/_REGS: `make module` (what
#    dkms runs) refuses with one sentence naming both options
TOP=$(dirname "$0")/../..
mkdir -p "$T/noftrace/include/config"
echo CONFIG_DYNAMIC_FTRACE=y > "$T/noftrace/include/config/auto.conf"
make -s -C "$TOP" ftrace-check KDIR="$T/noftrace" > "$T/log3" 2>&1
rc=$?
check "kernel without ftrace hooks is refused" [ $rc -ne 0 ]
check "the refusal names both options" grep -q "neither CONFIG_DYNAMIC_FTRACE_WITH_ARGS nor CONFIG_DYNAMIC_FTRACE_WITH_REGS" "$T/log3"
echo CONFIG_DYNAMIC_FTRACE_WITH_ARGS=y >> "$T/noftrace/include/config/auto.conf"
check "DYNAMIC_FTRACE_WITH_ARGS alone is accepted" make -s -C "$TOP" ftrace-check KDIR="$T/noftrace"
exit $fail
