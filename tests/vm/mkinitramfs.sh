#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh KROOT KVER OUT KO TESTDIR "TESTS" "PRELOAD" "EXTRA"
#   KROOT    a Debian linux-image .deb unpacked with dpkg-deb -x (depmod run)
#   KO       our blksnap.ko
#   TESTDIR  directory of static test binaries; TESTS the names to run
#   PRELOAD  guest modules loaded at boot (with their dependencies)
#   EXTRA    guest modules only copied to /lib/modules/<name>.ko
# Builtin modules are fine; compressed modules are unpacked (busybox insmod
# cannot read them).
set -euo pipefail
KROOT=$(realpath "$1"); KVER=$2; OUT=$(realpath -m "$3"); KO=$4; TESTDIR=$5
TESTS=$6; PRELOAD=$7; EXTRA=$8
HERE=$(dirname "$(realpath "$0")")
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
mkdir -p "$D"/{bin,dev,proc,sys,tmp,lib/modules,ko,tests}
cp /bin/busybox "$D/bin/busybox"
cp "$HERE/init.sh" "$D/init"
cp "$KO" "$D/ko/blksnap.ko"
# more modules for /ko/, built for this kernel (make bench VAL_SRC=...)
if [ -n "${VMTEST_EXTRA_KO_DIR:-}" ] && [ -d "$VMTEST_EXTRA_KO_DIR/$KVER" ]; then
	cp "$VMTEST_EXTRA_KO_DIR/$KVER"/*.ko "$D/ko/"
fi
: > "$D/tests/order"
for t in $TESTS; do
	cp "$TESTDIR/$t" "$D/tests/$t"
	echo "$t" >> "$D/tests/order"
done

# A few host programs the tests use (with their shared libraries):
# e2fsprogs' mke2fs as /usr/sbin/mkfs.ext4 (busybox only makes ext2) and
# e2fsck (the demo checks the restored images with it).
mkdir -p "$D/usr/sbin" "$D/etc" "$D/lib64"
[ -x "$TESTDIR/blksnapctl-bin" ] && cp "$TESTDIR/blksnapctl-bin" "$D/usr/sbin/blksnapctl"
[ -x "$TESTDIR/minimal-agent" ] && cp "$TESTDIR/minimal-agent" "$D/usr/sbin/minimal-agent"
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$D/etc/"
for p in mke2fs:mkfs.ext4 e2fsck:e2fsck; do
	command -v "${p%%:*}" >/dev/null || continue
	cp "$(command -v "${p%%:*}")" "$D/usr/sbin/${p#*:}"
	ldd "$(command -v "${p%%:*}")" | awk '/=> \// { print $3 } /^\t\/lib64/ { print $1 }' |
	while read -r lib; do
		mkdir -p "$D$(dirname "$lib")"
		cp -L "$lib" "$D$lib"
	done
done

declare -A seen
: > "$D/lib/modules/preload"
add_module() { # name preload(0/1)
	local deps kind path b
	deps=$(modprobe -d "$KROOT" -S "$KVER" --show-depends "$1" 2>/dev/null) || {
		echo "mkinitramfs: module $1 not available for $KVER" >&2; return 1; }
	while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		b=$(basename "$path"); b=${b%.xz}; b=${b%.zst}; b=${b%.gz}; b=${b%.ko}
		if [ -z "${seen[$b]:-}" ]; then
			case "$path" in
			*.xz) xz -dc "$path" > "$D/lib/modules/$b.ko" ;;
			*.zst) zstd -qdc "$path" > "$D/lib/modules/$b.ko" ;;
			*.gz) gzip -dc "$path" > "$D/lib/modules/$b.ko" ;;
			*) cp "$path" "$D/lib/modules/$b.ko" ;;
			esac
			seen[$b]=copied
		fi
		if [ "$2" = 1 ] && [ "${seen[$b]}" != loaded ]; then
			echo "$b" >> "$D/lib/modules/preload"
			seen[$b]=loaded
		fi
	done <<<"$deps"
}
for m in $PRELOAD; do add_module "$m" 1; done
for m in $EXTRA; do add_module "$m" 0 || true; done
# owned by root whoever builds it (a user's uid would own / in the guest), / 0755
chmod 755 "$D"
(cd "$D" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 > "$OUT"
