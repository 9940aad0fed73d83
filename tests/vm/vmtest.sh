#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vmtest.sh: build blksnap and its tests, boot each Debian kernel in QEMU and
# run the tests there.  `make check` calls this.
#
# Env: KERNELS   "6.1 6.12" (default): Debian 12's kernels, resolved from the
#                metapackages at run time (never a hard-coded ABI);
#                "debug": the KASAN/lockdep/kmemleak kernel built from
#                linux-source-6.12 by scripts/build-debug-kernel.sh
#      FLAVOUR   cloud (default) or generic
#      TESTS     test program names (default: all of tests/*.c and
#                tests/*.sh, without the suffix)
#      VMTEST_CACHE  kernel cache (/var/cache/blksnap-vmtest)
#      VMTEST_TIMEOUT, VMTEST_TEST_TIMEOUT, EXTRA_APPEND: see runvm.sh
#      VMTEST_SUITE  tests (default): tests/*.c, module built with
#                    BLKSNAP_TESTING=y, output in build/vmtest;
#                    bench: tests/bench (TESTS default "bench"), module
#                    built as shipped, output in build/bench-vm
#                    (scripts/bench.sh, `make bench`)
# Output: build/vmtest/<kver>/{src,initrd.gz,run/{console,tap,qemu}.log};
# last line "N passed, N failed" over all kernels.  Exit 1 on any failure.
set -euo pipefail
HERE=$(dirname "$(realpath "$0")")
TOP=$(realpath "$HERE/../..")
CACHE=${VMTEST_CACHE:-/var/cache/blksnap-vmtest}
SUITE=${VMTEST_SUITE:-tests}
OUT=$TOP/build/vmtest
TESTING=BLKSNAP_TESTING=y
[ "$SUITE" = bench ] && { OUT=$TOP/build/bench-vm; TESTING=BLKSNAP_TESTING=; }
KERNELS=${KERNELS:-"6.1 6.12"}
FLAVOUR=${FLAVOUR:-cloud}
PRELOAD="virtio_pci virtio_blk loop dm_mod configfs"
EXTRA="brd null_blk dm_snapshot dm_flakey ext4 dm_delay"

need=()
for c in qemu-system-x86_64 busybox cpio modprobe depmod xz lz4 zstd pahole; do
	command -v $c >/dev/null || need+=("$c")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "vmtest: missing tools: ${need[*]} (apt-get install qemu-system-x86 busybox-static cpio kmod xz-utils lz4 zstd pahole)" >&2
	exit 2
fi

meta() { # kernel flavour -> "image-meta headers-meta"
	local f=$2 s=""
	[ "$f" = generic ] && f=amd64 || f=cloud-amd64
	[ "$1" = 6.12 ] && s=6.12-
	case $1 in
	6.1|6.12) echo "linux-image-$s$f linux-headers-$s$f" ;;
	*) echo "vmtest: unknown kernel '$1' (6.1 or 6.12)" >&2; return 1 ;;
	esac
}

mkdir -p "$OUT"
if [ "$SUITE" = bench ]; then
	make -s -C "$TOP/tests/bench" OUT="$OUT/tests"
	TESTS=${TESTS:-bench}
else
	KSFT=$("$TOP/scripts/fetch-linux-source.sh")/tools/testing/selftests
	make -s -C "$TOP/tests" OUT="$OUT/tests" KSFT="$KSFT"
fi
if [ -z "${TESTS:-}" ]; then
	TESTS=$(cd "$TOP/tests" && ls *.c *.sh | sed -E 's/\.(c|sh)$//' | sort | tr '\n' ' ')
fi
for t in $TESTS; do
	[ -x "$OUT/tests/$t" ] || { echo "vmtest: no test named '$t'" >&2; exit 2; }
done

total_pass=0; total_fail=0; total_skip=0; rc=0
for k in $KERNELS; do
	if [ "$k" = debug ]; then
		dir=$("$TOP/scripts/build-debug-kernel.sh" | tail -n1)
		kver=$(cat "$dir/kver")
		kimg=$dir/bzImage
	else
		read -r img hdr <<<"$(meta "$k" "$FLAVOUR")"
		dir=$CACHE/$k-$FLAVOUR
		kver=$("$HERE/fetch-kernel.sh" "$img" "$hdr" "$dir" | tail -n1)
		[ -f "$dir/vmlinux.pvh" ] || "$HERE/extract-vmlinux.sh" "$dir/boot/vmlinuz-$kver" "$dir/vmlinux.pvh"
		kimg=$dir/vmlinux.pvh
	fi
	b=$OUT/$kver
	rm -rf "$b/src" "$b/run"
	mkdir -p "$b/src"
	cp -r "$TOP"/{Makefile,Kbuild,module,include} "$b/src/"
	[ -d "$TOP/scripts" ] && cp -r "$TOP/scripts" "$b/src/"
	rm -f "$b/src/module/compat-gen.h"
	echo "=== $k ($kver)"
	if ! make -s -C "$b/src" module KDIR="$dir/usr/src/linux-headers-$kver" \
		"$TESTING" > "$b/build.log" 2>&1; then
		cat "$b/build.log"
		echo "not ok build blksnap.ko for $kver"
		total_fail=$((total_fail + 1)); rc=1
		continue
	fi
	grep -E 'warning|error' "$b/build.log" || true
	"$HERE/mkinitramfs.sh" "$dir" "$kver" "$b/initrd.gz" "$b/src/blksnap.ko" \
		"$OUT/tests" "$TESTS" "$PRELOAD" "$EXTRA"
	r=0
	"$HERE/runvm.sh" "$kimg" "$b/initrd.gz" "$b/run" > "$b/result.txt" || r=1
	grep -E '^(ok|not ok) |^# selftests|^# (not )?ok |^# # (not )?ok|^# guest|^VM TEST|^# splat|passed, ' "$b/result.txt" \
		| grep -vE '^# (# )?(ok|not ok) [0-9]+ .*(RUN|OK)' || true
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$b/result.txt" | tail -n1)
	p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
	s=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$line")
	total_pass=$((total_pass + ${p:-0}))
	total_fail=$((total_fail + ${f:-1}))
	total_skip=$((total_skip + ${s:-0}))
	[ $r -eq 0 ] || rc=1
done
echo "# kernels: $KERNELS ($FLAVOUR); skipped: $total_skip"
echo "$total_pass passed, $total_fail failed"
exit $rc
