#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vmtest.sh: build blksnap and its tests, boot each Debian kernel in QEMU and
# run the tests there.  `make check` calls this.
#
# Env: KERNELS   "6.1 6.12" (default); names tests/vm/fetch-kernel.sh knows:
#                6.1, 6.12 (Debian 12), trixie-6.12 (Debian 13), latest
#                (trixie-backports, resolved at run time), sid, or a version
#                such as 7.3 or 7.2 (found in trixie-backports, sid or
#                trixie); each fetched through the project's own apt
#                configuration and built in a debootstrap root of its own
#                release (scripts/buildroot.sh) unless that is the host's;
#                "debug": the KASAN/lockdep/kmemleak kernel built from
#                linux-source-6.12 by scripts/build-debug-kernel.sh
#      KERNEL, KDIR  a kernel the project did not fetch (`make check
#                KERNEL=/path/to/bzImage KDIR=/path/to/build-tree`, or
#                KDIR=/lib/modules/<release>): KERNELS is ignored, the
#                module is built on the host against KDIR and the guest's
#                modules come from the modules directory (or, for a build
#                tree, from the .ko files in it; built-in ones need none);
#                MODULES=<modules directory> names it when KDIR is a build
#                tree elsewhere (an unpacked, not installed kernel)
#      FLAVOUR   cloud (default) or generic
#      TESTS     test program names (default: all of tests/*.c and
#                tests/*.sh, without the suffix)
#      VMTEST_CACHE  kernel cache (/var/cache/blksnap-vmtest for root, else
#                    ~/.cache/blksnap)
#      VMTEST_TIMEOUT, VMTEST_TEST_TIMEOUT, EXTRA_APPEND: see runvm.sh
#      VMTEST_SUITE  tests (default): tests/*.c, module built with
#                    BLKSNAP_TESTING=y, output in build/vmtest;
#                    bench: tests/bench (TESTS default "bench"), module
#                    built as shipped, output in build/bench-vm
#                    (scripts/bench.sh, `make bench`)
# Output: build/vmtest/<kver>/{src,initrd.gz,run/{console,tap,qemu}.log};
# last line "N passed, N failed" over all kernels.  Exit 1 on any failure.
set -euo pipefail
# depmod and modprobe are in /sbin, outside a user's PATH on Debian
PATH=$PATH:/usr/sbin:/sbin
HERE=$(dirname "$(realpath "$0")")
TOP=$(realpath "$HERE/../..")
SUITE=${VMTEST_SUITE:-tests}
OUT=$TOP/build/vmtest
TESTING=BLKSNAP_TESTING=y
[ "$SUITE" = bench ] && { OUT=$TOP/build/bench-vm; TESTING=BLKSNAP_TESTING=; }
KERNELS=${KERNELS:-"6.1 6.12"}
FLAVOUR=${FLAVOUR:-cloud}
# the per-test timeout of the kselftest settings file, unless given
VMTEST_TEST_TIMEOUT=${VMTEST_TEST_TIMEOUT:-$(sed -n 's/^timeout=//p' "$TOP/tests/settings" 2>/dev/null)}
export VMTEST_TEST_TIMEOUT=${VMTEST_TEST_TIMEOUT:-300}
PRELOAD="virtio_pci virtio_blk loop dm_mod configfs"
EXTRA="brd null_blk dm_snapshot dm_flakey ext4 dm_delay nd_pmem nd_e820"

need=()
for c in qemu-system-x86_64 busybox cpio modprobe depmod xz lz4 zstd pahole; do
	command -v $c >/dev/null || need+=("$c")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "vmtest: missing tools: ${need[*]} (apt-get install qemu-system-x86 busybox-static cpio kmod xz-utils lz4 zstd pahole)" >&2
	exit 2
fi

. /etc/os-release 2>/dev/null || true
HOST_RELEASE=${VERSION_CODENAME:-}

# own_kernel KERNEL KDIR OUTDIR: a kernel root for a kernel given by path;
# prints "<release> <root> <headers>"
own_kernel() {
	local img=$1 kd mods="" kver root
	kd=$(realpath "$2")
	[ -f "$img" ] || { echo "vmtest: KERNEL=$img: no such file" >&2; return 1; }
	if [ ! -f "$kd/include/generated/utsrelease.h" ] && { [ -f "$kd/modules.dep" ] || [ -d "$kd/kernel" ]; }; then
		mods=$kd; kd=$(realpath -m "$kd/build")	# a modules directory
	fi
	if [ -n "${MODULES:-}" ]; then
		[ -d "$MODULES" ] || { echo "vmtest: MODULES=$MODULES: no such directory" >&2; return 1; }
		mods=$(realpath "$MODULES")
	fi
	[ -f "$kd/include/generated/utsrelease.h" ] || {
		echo "vmtest: KDIR=$2 is neither a kernel build tree (include/generated/utsrelease.h) nor a modules directory with a build link" >&2
		return 1; }
	# the release modules are built for (Debian's headers override
	# include/config/kernel.release with their ABI name)
	kver=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' "$kd/include/generated/utsrelease.h")
	[ -n "$mods" ] || [ ! -d "/lib/modules/$kver/kernel" ] || mods=/lib/modules/$kver
	if ! LC_ALL=C grep -aqF "$kver (" "$img" && ! { "$HERE/extract-vmlinux.sh" "$img" "$3/vmlinux.chk" 2>/dev/null &&
		LC_ALL=C grep -aqF "Linux version $kver " "$3/vmlinux.chk"; }; then
		echo "vmtest: KERNEL=$img is not release $kver of KDIR=$2" >&2
		rm -f "$3/vmlinux.chk"
		return 1
	fi
	rm -f "$3/vmlinux.chk"
	root=$3/kroot
	rm -rf "$root"
	mkdir -p "$root/lib/modules/$kver" "$root/usr/src"
	if [ -n "$mods" ]; then
		cp -a "$mods/." "$root/lib/modules/$kver/"
		rm -f "$root/lib/modules/$kver/build" "$root/lib/modules/$kver/source"
	else	# a build tree: its modules, not installed
		(cd "$kd" && find . -name '*.ko' -print0 | cpio --null -pdm --quiet "$root/lib/modules/$kver/kernel")
		cp "$kd"/modules.builtin* "$kd/modules.order" "$root/lib/modules/$kver/" 2>/dev/null || true
	fi
	depmod -b "$root" "$kver"
	ln -s "$kd" "$root/usr/src/linux-headers-$kver"
	echo "$kver $root $kd"
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
if [ -n "${KERNEL:-}" ]; then
	[ -n "${KDIR:-}" ] || { echo "vmtest: KERNEL= needs KDIR= (its build tree or modules directory)" >&2; exit 2; }
	KERNELS=own
fi
for k in $KERNELS; do
	inroot=()
	if [ "$k" = own ]; then
		mkdir -p "$OUT/own"
		read -r kver dir kd <<<"$(own_kernel "$KERNEL" "$KDIR" "$OUT/own" | tail -n1)"
		[ -n "$kd" ] || exit 2
		kimg=$(realpath "$KERNEL")
	elif [ "$k" = debug ]; then
		dir=$("$TOP/scripts/build-debug-kernel.sh" | tail -n1)
		kver=$(cat "$dir/kver")
		kimg=$dir/bzImage
		kd=$dir/usr/src/linux-headers-$kver
	else
		read -r kver dir suite <<<"$("$HERE/fetch-kernel.sh" "$k" "$FLAVOUR" | tail -n1)"
		[ -n "$suite" ] || { echo "not ok fetch kernel $k"; total_fail=$((total_fail + 1)); rc=1; continue; }
		kimg=$dir/vmlinux.pvh
		kd=$dir/usr/src/linux-headers-$kver
		# build in a root of the kernel's own release, with its compiler
		if [ "${suite%-*}" != "$HOST_RELEASE" ]; then
			deps=$(cat "$dir/build-deps" 2>/dev/null || true)
			root=$("$TOP/scripts/buildroot.sh" "$suite" $deps | tail -n1)
			inroot=("$TOP/scripts/inroot.sh" "$root" "$OUT/$kver/src,$(realpath "$dir")")
		fi
	fi
	b=$OUT/$kver
	rm -rf "$b/src" "$b/run"
	mkdir -p "$b/src"
	cp -r "$TOP"/{Makefile,Kbuild,module,include} "$b/src/"
	[ -d "$TOP/scripts" ] && cp -r "$TOP/scripts" "$b/src/"
	rm -f "$b/src/module/compat-gen.h"
	echo "=== $k ($kver)"
	if ! (cd "$b/src" && "${inroot[@]}" make -s module KDIR="$kd" \
		"$TESTING") > "$b/build.log" 2>&1; then
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
echo "# kernels: ${KERNEL:-$KERNELS} ($FLAVOUR); skipped: $total_skip"
echo "$total_pass passed, $total_fail failed"
exit $rc
