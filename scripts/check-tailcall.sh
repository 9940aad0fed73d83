#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-tailcall.sh MODULE.ko: fail if module text reaches submit_bio_noacct
# through a jump (a tail call) instead of a call.  The filter layer lets a
# bio through unfiltered only when the caller of submit_bio_noacct() is
# inside the module; a tail call would make the caller the original
# submitter and loop the bio back into the hook forever.
set -euo pipefail
ko=$1
out=$(objdump -dr "$ko" | awk '
	/^[0-9a-f]+ <.*>:$/ { fn = $2 }
	/R_X86_64_(PLT32|PC32)[ \t]+submit_bio_noacct-0x4/ {
		n++
		if (prev !~ /call/) { bad++; print "tail jump to submit_bio_noacct in " fn ": " prev }
	}
	/^ +[0-9a-f]+:\t/ { prev = $0 }
	END { printf "calls=%d bad=%d\n", n, bad }')
echo "$out" | grep -v '^calls=' || true
calls=$(sed -n 's/.*calls=\([0-9]*\).*/\1/p' <<<"$out")
bad=$(sed -n 's/.*bad=\([0-9]*\).*/\1/p' <<<"$out")
if [ "${calls:-0}" -eq 0 ]; then
	echo "check-tailcall: no call to submit_bio_noacct found in $ko" >&2
	exit 1
fi
if [ "${bad:-0}" -ne 0 ]; then
	echo "check-tailcall: $bad tail call(s) to submit_bio_noacct in $ko" >&2
	exit 1
fi
echo "check-tailcall: $calls calls to submit_bio_noacct, none a tail call"
