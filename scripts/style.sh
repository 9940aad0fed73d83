#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# style.sh: checkpatch --strict and kernel-doc over the module and the UAPI,
# with checkpatch.pl and kernel-doc taken from Debian's linux-source-6.12
# (scripts/fetch-linux-source.sh).  Exit 1 on any warning or error.
#
# Ignored checkpatch types, because they make no sense out of tree:
#   FILE_PATH_CHANGES  asks for a MAINTAINERS update
#   MODULE_LICENSE     ("GPL" is what the kernel accepts for GPL-2.0 modules)
set -uo pipefail
TOP=$(dirname "$(realpath "$0")")/..
cd "$TOP" || exit 1
LS=$(scripts/fetch-linux-source.sh) || exit 1
files=$(ls module/*.[ch] module/probes/*.c include/uapi/linux/*.h | grep -v compat-gen.h)
rc=0
out=$(perl "$LS/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
	--ignore FILE_PATH_CHANGES,MODULE_LICENSE -f $files 2>&1)
cp_bad=$(grep -cE '^[^ ]+:[0-9]+: (ERROR|WARNING|CHECK):' <<<"$out")
if [ "$cp_bad" -gt 0 ]; then
	grep -E '^[^ ]+:[0-9]+: (ERROR|WARNING|CHECK):' <<<"$out"
	rc=1
fi
kd=$(perl "$LS/scripts/kernel-doc" -none -Wall $files 2>&1)
kd_bad=$(grep -cE 'warning|error' <<<"$kd")
if [ "$kd_bad" -gt 0 ]; then
	echo "$kd"
	rc=1
fi
echo "style: $(wc -w <<<"$files") files, checkpatch --strict: $cp_bad problems, kernel-doc: $kd_bad problems"
exit $rc
