#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh: `make demo`.  Boots the test guest (vmtest.sh) with the one
# program tests/demo.sh: a full and an incremental backup of a live ext4
# file system with blksnapctl, both restored and compared with the snapshot
# images.  Prints the guest's transcript, its summary, and a last line
# "demo passed" or "demo failed" (exit 1).
# Env: KERNELS (default 6.12), DEMO_GAP, DEMO_STORAGE (see tests/demo.sh),
#      and everything vmtest.sh takes.
set -uo pipefail
HERE=$(dirname "$(realpath "$0")")
TOP=$(realpath "$HERE/../..")
export KERNELS=${KERNELS:-6.12}
export TESTS=demo
env=""
[ -n "${DEMO_GAP:-}" ] && env+=" env.DEMO_GAP=$DEMO_GAP"
[ -n "${DEMO_STORAGE:-}" ] && env+=" env.DEMO_STORAGE=$DEMO_STORAGE"
export EXTRA_APPEND="${EXTRA_APPEND:-}$env"
export VMTEST_TIMEOUT=${VMTEST_TIMEOUT:-420}

t0=$(date +%s)
log=$TOP/build/vmtest/demo.log
mkdir -p "$(dirname "$log")"
echo "demo: building blksnap and booting kernel(s) $KERNELS in QEMU (log: $log)"
"$HERE/vmtest.sh" > "$log" 2>&1
rc=$?
ok=1
[ $rc -eq 0 ] || ok=0
for k in $KERNELS; do
	# the kernel's result file, newest first (vmtest.sh names it by kver)
	kv=$(sed -n "s/^=== $k (\(.*\))$/\1/p" "$log" | tail -n1)
	res=$TOP/build/vmtest/$kv/result.txt
	echo
	echo "=================== demo on $k ($kv) ==================="
	if [ -z "$kv" ] || [ ! -f "$res" ]; then
		echo "no guest result (build failed?); the log:"
		tail -30 "$log"
		ok=0
		continue
	fi
	# the guest's transcript: the demo program's output, "# " stripped
	sed -n '/^# selftests: blksnap: demo$/,/selftests: blksnap: demo/p' "$res" |
		sed -e '1d' -e '$d' -e 's/^# //' | grep -v '^SUMMARY: '
	echo "------------------- summary ($k) -------------------"
	grep '^# SUMMARY: ' "$res" | sed 's/^# SUMMARY: /  /'
	grep -E '^(ok|not ok) ' "$res" | sed 's/^/  guest: /'
	if ! grep -qE '^ok [0-9]+ selftests: blksnap: demo$' "$res"; then
		ok=0
		grep -E '^VM TEST|^# splat' "$res"
	fi
done
echo
echo "demo: $(( $(date +%s) - t0 ))s in all"
if [ $ok = 1 ]; then
	echo "demo passed"
	exit 0
fi
echo "demo failed"
exit 1
