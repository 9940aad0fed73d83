#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# runvm.sh KERNEL INITRD OUTDIR: boot the test guest once and judge it.
# Console (kernel log) -> OUTDIR/console.log, KTAP -> OUTDIR/tap.log.
# Prints the KTAP and a last line "N passed, N failed, N skipped" counting
# the tests inside every test program (from each program's "# Totals:"
# line; a program without one counts as one test).  Exit 0 only when every
# test passed or skipped, every planned result is there, the guest reached
# its end, and the console shows no kernel splat.  A guest that died before
# its /init ran is retried once (a rare TCG boot flake on 6.12).
# Env: VMTEST_TIMEOUT (s, 1200), VMTEST_MEM (MiB, 2048), VMTEST_SMP (2),
#      VMTEST_TCG_THREAD (multi; single for -icount), EXTRA_APPEND, EXTRA_QEMU.
set -uo pipefail
KERNEL=$1; INITRD=$2; OUTDIR=$3
TMO=${VMTEST_TIMEOUT:-1200}
TTMO=${VMTEST_TEST_TIMEOUT:-300}
if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo && [ ! -d /sys/module/kvm_pvm ]; then
	ACC=(-accel kvm -cpu host)
else
	ACC=(-accel "tcg,thread=${VMTEST_TCG_THREAD:-multi}" -cpu max)
fi
APPEND="console=ttyS0,115200 memmap=64M!1536M panic=-1 oops=panic panic_on_warn=1 softlockup_panic=1 hung_task_panic=1 vmtest.timeout=$TTMO ${EXTRA_APPEND:-}"
# (patterns that cannot match the echoed kernel command line)
SPLAT='Kernel panic|BUG:|WARNING:|Oops|Call Trace|general protection fault|KASAN|UBSAN|KFENCE|possible recursive locking|circular locking dependency|blocked for more than|soft lockup|hard LOCKUP|suspected memory leak|unreferenced object'
mkdir -p "$OUTDIR"
for attempt in 1 2; do
	rm -f "$OUTDIR"/{console.log,tap.log,qemu.log}
	truncate -s 0 "$OUTDIR/disk0.img" "$OUTDIR/disk1.img"
	truncate -s 256M "$OUTDIR/disk0.img" "$OUTDIR/disk1.img"
	t0=$(date +%s)
	# shellcheck disable=SC2086
	timeout -k 5 "$TMO" qemu-system-x86_64 \
		-machine q35 "${ACC[@]}" -smp "${VMTEST_SMP:-2}" -m "${VMTEST_MEM:-2048}" \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" \
		-serial file:"$OUTDIR/console.log" -serial file:"$OUTDIR/tap.log" \
		-drive file="$OUTDIR/disk0.img",format=raw,if=virtio,cache=unsafe \
		-drive file="$OUTDIR/disk1.img",format=raw,if=virtio,cache=unsafe \
		${EXTRA_QEMU:-} </dev/null >"$OUTDIR/qemu.log" 2>&1
	qrc=$?
	wall=$(( $(date +%s) - t0 ))
	con=$(tr -d '\r' < "$OUTDIR/console.log" 2>/dev/null)
	# a guest that dies before /init (the module is not loaded yet) is the
	# emulator's or the kernel's boot: e.g. the debug kernel's rare KASAN
	# report in an early interrupt under TCG.  Once, then it counts.
	if [ $attempt -eq 1 ] && ! grep -q 'VMTEST: init started' <<<"$con"; then
		echo "# guest died before /init (qemu rc=$qrc); retrying once"
		cp "$OUTDIR/console.log" "$OUTDIR/console.try1.log"
		continue
	fi
	break
done
tap=$(tr -d '\r' < "$OUTDIR/tap.log" 2>/dev/null)
printf '%s\n' "$tap"
why=()
case $qrc in
0) ;;
124|137) why+=("timeout after ${TMO}s") ;;
*) why+=("qemu rc=$qrc") ;;
esac
plan=$(grep -m1 -oE '^1\.\.[0-9]+' <<<"$tap" | cut -d. -f3)
top=$(grep -cE '^(not )?ok [0-9]+' <<<"$tap")
[ -n "$plan" ] || why+=("no KTAP plan")
[ -n "$plan" ] && [ "$top" -ne "$plan" ] && why+=("$top of $plan results")
grep -q '^VMTEST-EXIT' <<<"$tap" || why+=("guest did not reach its end")
if grep -qE "$SPLAT" <<<"$con"; then
	why+=("kernel splat on the console")
	grep -nE "$SPLAT" <<<"$con" | head -5 | sed 's/^/# splat: /'
fi
# Count tests: a program's "# Totals:" line gives its subtests; otherwise
# the program's own result counts once.  Top-level failures always count.
pass=0; fail=0; skip=0; totals=""
while IFS= read -r line; do
	case "$line" in
	"# # Totals: pass:"*)
		totals=$(sed -E 's/.*pass:([0-9]+) fail:([0-9]+) xfail:([0-9]+) xpass:([0-9]+) skip:([0-9]+) error:([0-9]+).*/\1 \2 \3 \4 \5 \6/' <<<"$line") ;;
	"ok "*|"not ok "*)
		if [ -n "$totals" ]; then
			read -r p f xf xp s e <<<"$totals"
			pass=$((pass + p + xf)); fail=$((fail + f + xp + e)); skip=$((skip + s))
			case "$line" in "not ok "*) [ $((f + xp + e)) -eq 0 ] && fail=$((fail + 1)) ;; esac
		else
			case "$line" in
			"not ok "*) fail=$((fail + 1)) ;;
			*"# SKIP"*) skip=$((skip + 1)) ;;
			*) pass=$((pass + 1)) ;;
			esac
		fi
		totals="" ;;
	esac
done <<<"$tap"
missing=0
[ -n "$plan" ] && [ "$top" -lt "$plan" ] && missing=$((plan - top))
fail=$((fail + missing))
[ ${#why[@]} -gt 0 ] && [ "$fail" -eq 0 ] && fail=1
echo "# guest wall time ${wall}s, attempt $attempt"
echo "$pass passed, $fail failed, $skip skipped"
if [ ${#why[@]} -gt 0 ] || [ "$fail" -gt 0 ]; then
	echo "VM TEST FAILED: ${why[*]:-test failures}"
	echo "---- $OUTDIR/console.log (last 30 lines) ----"
	tail -30 "$OUTDIR/console.log" | tr -d '\r'
	exit 1
fi
exit 0
