#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh: `make bench`.  Builds blksnap (as shipped, no test hooks) and the
# benchmark driver tests/bench/bench.c, boots each Debian kernel once in QEMU
# through the test runner (tests/vm/vmtest.sh with VMTEST_SUITE=bench) and
# prints the scenario table P1..P6 for every kernel side by side; then
# tests/bench/bigbench.c (16 TiB and 1 PiB null_blk: first writes, TAKE,
# memory, CBT block size).
#
# Env: KERNELS      "6.1 6.12" (default)
#      TESTS        "bench bigbench" (default): the guest programs to run
#      VAL_SRC      a checkout of github.com/veeam/blksnap, branch VAL-7.0,
#                   outside this project (only read): its module/ is built in
#                   build/bench-vm/val/<kver>/ for each kernel it builds
#                   for (6.1; not 6.12), put into that kernel's guest as
#                   /ko/bdevfilter.ko + /ko/veeamblksnap.ko, and bench
#                   (the VAL-7.0 column) and bigbench measure it next to
#                   blksnap in the same boot
#      BENCH_ICOUNT (0): QEMU -icount shift (deterministic instruction time);
#                   empty: wall-clock time (see below)
#      BENCH_ROUNDS (3 with icount, 7 without), BENCH_MIB (384), BENCH_THREADS (4), BENCH_OPS (32768),
#      BENCH_PASSES (4), BENCH_PROFILE (1): passed to the guest driver
#                   (see tests/bench/bench.c)
#      VMTEST_MEM   guest MiB (default 4096 here: the brd devices live in RAM)
#      VMTEST_TIMEOUT, VMTEST_TEST_TIMEOUT (default 1500 / 1400 s here)
# Output: build/bench-vm/<kver>/run/{tap,console}.log, build/bench-vm/results.txt
# (one "BENCH|..." row per metric and kernel), build/bench-vm/profile.txt
# ("PROF|kver|phase|depth|function|calls|total ms|avg us|% of top") and the
# table on stdout.
set -uo pipefail
TOP=$(realpath "$(dirname "$(realpath "$0")")/..")
OUT=$TOP/build/bench-vm
export VMTEST_SUITE=bench
export VMTEST_MEM=${VMTEST_MEM:-4096}
export VMTEST_TIMEOUT=${VMTEST_TIMEOUT:-1500}
export VMTEST_TEST_TIMEOUT=${VMTEST_TEST_TIMEOUT:-1400}
# BENCH_ICOUNT=N (default 0): deterministic virtual time, QEMU -icount
# shift=N with one TCG thread: guest time counts emulated instructions
# (2^N ns each), not host seconds, so the load of a shared host does not
# reach the figures.  BENCH_ICOUNT= (empty): wall-clock time, multi-threaded
# TCG, every figure as noisy as the host is busy.
ICOUNT=${BENCH_ICOUNT-0}
if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo && [ ! -d /sys/module/kvm_pvm ]; then
	ICOUNT=""	# runvm.sh uses KVM there; -icount is TCG only
fi
if [ -n "$ICOUNT" ]; then
	export VMTEST_TCG_THREAD=single
	export EXTRA_QEMU="${EXTRA_QEMU:-} -icount shift=$ICOUNT"
	# one vCPU: one TCG thread runs them in turn anyway, and Debian's 6.1
	# hangs bringing up a second CPU under -icount (QEMU 7.2)
	export VMTEST_SMP=${VMTEST_SMP:-1}
	MODE="icount shift=$ICOUNT, $VMTEST_SMP vCPU: time = emulated instructions x $((1 << ICOUNT)) ns (deterministic)"
	: "${BENCH_ROUNDS:=3}"
else
	MODE="wall clock, multi-threaded TCG, ${VMTEST_SMP:-2} vCPUs (noisy on a shared host)"
	: "${BENCH_ROUNDS:=7}"
fi
export BENCH_ROUNDS
app=""
for v in BENCH_ROUNDS BENCH_MIB BENCH_THREADS BENCH_OPS BENCH_PASSES BENCH_SLICES BENCH_PROFILE BENCH_SKIP_P5 BENCH_COLUMNS BENCH_COL_OPS \
	BENCH_BIG_OPS BENCH_BIG_SECS BENCH_BIG_SEQ_MIB BENCH_BIG_ROUNDS BENCH_BIG_FULL BENCH_BIG_FULL_SECS BENCH_BIG_PROF; do
	[ -n "${!v:-}" ] && app="$app env.$v=${!v}"
done
export EXTRA_APPEND="${EXTRA_APPEND:-}$app"
export TESTS=${TESTS:-bench bigbench}
if [ -n "${VAL_SRC:-}" ]; then
	VAL_SRC=$(realpath "$VAL_SRC")
	[ -f "$VAL_SRC/module/veeamblksnap.h" ] || { echo "bench: $VAL_SRC is not a VAL-7.0 checkout (no module/veeamblksnap.h)" >&2; exit 2; }
	export VAL_INC=$VAL_SRC/include
	export VMTEST_EXTRA_KO_DIR=$OUT/val
	for k in ${KERNELS:-6.1 6.12}; do
		for h in "${VMTEST_CACHE:-$([ "$(id -u)" = 0 ] && echo /var/cache/blksnap-vmtest || echo "$HOME/.cache/blksnap")}/$k-${FLAVOUR:-cloud}"/usr/src/linux-headers-*; do
			case $h in *-common) continue ;; esac
			[ -d "$h" ] || { echo "bench: no headers for $k yet (run make bench once without VAL_SRC)" >&2; continue; }
			kver=${h##*/linux-headers-}
			d=$VMTEST_EXTRA_KO_DIR/$kver
			rm -rf "$d"
			mkdir -p "$d/src"
			cp -r "$VAL_SRC/module/." "$d/src/"
			if make -s -C "$h" M="$d/src" modules > "$d/build.log" 2>&1; then
				cp "$d/src/bdevfilter.ko" "$d/src/veeamblksnap.ko" "$d/"
				echo "bench: VAL built for $kver"
			else
				echo "bench: VAL does not build for $kver (see $d/build.log): no VAL column there"
			fi
		done
	done
fi
mkdir -p "$OUT"
rm -f "$OUT"/*/run/tap.log
"$TOP/tests/vm/vmtest.sh"
rc=$?
: > "$OUT/results.txt"
: > "$OUT/profile.txt"
kernels=()
for t in "$OUT"/*/run/tap.log; do
	[ -f "$t" ] || continue
	tr -d '\r' < "$t" | sed -n 's/^# BENCH|/BENCH|/p' >> "$OUT/results.txt"
	tr -d '\r' < "$t" | sed -n 's/^# PROF|/PROF|'"$(basename "$(dirname "$(dirname "$t")")")"'|/p' >> "$OUT/profile.txt"
	k=$(tr -d '\r' < "$t" | sed -n 's/^# BENCH|.*|\([^|]*\)$/\1/p' | head -n1)
	[ -n "$k" ] && kernels+=("$k")
done
if [ ${#kernels[@]} -eq 0 ]; then
	echo "bench: no results (see $OUT/*/run/console.log)" >&2
	exit 1
fi
echo
echo "blksnap bench: median over rounds; ratio = median of per-round value/reference (same boot)"
echo "# mode: $MODE"
echo "# mode: $MODE" > "$OUT/mode.txt"
for t in "$OUT"/*/run/tap.log; do
	tr -d '\r' < "$t" | grep -E '^# (# )?(params|prefill|setup|bench total|blksnap bench|bigbench|16T|1P|CBT|VAL)' | sed 's/^# //'
	tr -d '\r' < "$t" | sed -n 's/^# T|//p'
done
awk -F'|' -v kernels="${kernels[*]}" '
BEGIN { nk = split(kernels, K, " ") }
{
	id = $2; if (!(id in seen)) { seen[id] = 1; order[++n] = id; what[id] = $3; unit[id] = $5; tgt[id] = $9; ch[id] = $11 }
	val[id, $12] = $4; ref[id, $12] = $6; rat[id, $12] = $7; rng[id, $12] = $8; ok[id, $12] = $10
}
END {
	printf "%-10s %-62s %-6s %-6s %-5s", "id", "scenario", "unit", "target", "chunk"
	for (k = 1; k <= nk; k++) { split(K[k], a, "-"); printf " | %-30s", a[1] " value  ratio (range) ok" }
	printf "\n"
	for (i = 1; i <= n; i++) {
		id = order[i]
		printf "%-10s %-62s %-6s %-6s %-5s", id, substr(what[id], 1, 62), unit[id], tgt[id], ch[id]
		for (k = 1; k <= nk; k++) {
			kk = K[k]
			if (!((id, kk) in val)) { printf " | %-30s", "n/a"; continue }
			if (ref[id, kk] + 0 > 0)
				s = sprintf("%9.1f %5.2f (%s) %s", val[id, kk], rat[id, kk], rng[id, kk], ok[id, kk])
			else
				s = sprintf("%9.1f %s", val[id, kk], ok[id, kk] == "-" ? "" : ok[id, kk])
			printf " | %-30s", s
		}
		printf "\n"
	}
}' "$OUT/results.txt"
# a bar chart of the ratios, if gnuplot is there (apt-get install gnuplot-nox)
if command -v gnuplot >/dev/null; then
	awk -F'|' -v kernels="${kernels[*]}" '
	BEGIN { nk = split(kernels, K, " ") }
	$6 + 0 > 0 && $2 !~ /emu$/ { id = $2; if (!(id in seen)) { seen[id] = 1; order[++n] = id } r[id, $12] = $7 }
	END {
		printf "id"; for (k = 1; k <= nk; k++) { split(K[k], a, "-"); printf " %s", a[1] } printf "\n"
		for (i = 1; i <= n; i++) {
			printf "%s", order[i]
			for (k = 1; k <= nk; k++) printf " %s", ((order[i], K[k]) in r) ? r[order[i], K[k]] : "NaN"
			printf "\n"
		}
	}' "$OUT/results.txt" > "$OUT/ratios.dat"
	gnuplot <<-GP 2>/dev/null && echo "chart: $OUT/bench.png"
	set terminal pngcairo size 1200,560 font ",10"
	set output "$OUT/bench.png"
	set title "blksnap bench: median ratio to the reference in the same boot (QEMU TCG, brd)"
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set key top left autotitle columnheader
	set xtics rotate by -45 scale 0
	set grid ytics
	set logscale y
	set yrange [0.004:4]
	set ytics ("0.005" 0.005, "0.01" 0.01, "0.02" 0.02, "0.05" 0.05, "0.1" 0.1, "0.2" 0.2, "0.5" 0.5, "1" 1, "2" 2, "4" 4)
	set ylabel "ratio (log scale)"
	plot for [c=2:$((${#kernels[@]} + 1))] "$OUT/ratios.dat" using c:xtic(1)
	GP
fi
if [ -s "$OUT/profile.txt" ]; then
	echo
	echo "profiles (function_graph, traced functions only; build/bench-vm/profile.txt):"
	awk -F'|' '$7 + 0 >= 1 || $4 <= 1 { printf "%-28s %-9s d%s %-28s calls %7s total %9s ms avg %9s us %6s%%\n", $2, $3, $4, $5, $6, $7, $8, $9 }' "$OUT/profile.txt"
fi
exit $rc
