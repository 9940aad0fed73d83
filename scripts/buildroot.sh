#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# buildroot.sh SUITE [PACKAGE...]: a minimal Debian build root of SUITE
# (debootstrap --variant=minbase plus make and the PACKAGEs: the compiler,
# pahole and libraries a kernel's headers and kbuild packages depend on),
# made once and cached; prints its directory.  blksnap is built against a
# Debian kernel in a root of the kernel's own release, with the compiler
# its headers name (trixie's gcc-14 for 6.12 and the 7.x backports, sid's
# gcc-16 for sid's kernels), not with the host's.
#   scripts/buildroot.sh trixie gcc-14-for-host pahole libelf1t64
# Run commands in it with scripts/inroot.sh.
#
# Cache: $VMTEST_CACHE/buildroot/<suite>-<hash of the package list>, made in
# a temporary directory and renamed, never rewritten.  The suite of a
# backports kernel is its base suite (trixie-backports -> trixie).
# Env: VMTEST_CACHE (/var/cache/blksnap-vmtest for root, else ~/.cache/blksnap), VMTEST_MIRROR.
set -euo pipefail
CACHE=${VMTEST_CACHE:-$([ "$(id -u)" = 0 ] && echo /var/cache/blksnap-vmtest || echo "$HOME/.cache/blksnap")}
MIRROR=${VMTEST_MIRROR:-http://deb.debian.org/debian}
SUITE=${1%-backports}
shift
command -v debootstrap >/dev/null || { echo "buildroot: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 2; }
# libc6 and the like are in every root anyway; make is what kbuild runs,
# binutils' as and ld what gcc runs (gcc-N-for-host brings only the
# target-prefixed ones)
pkgs=$(printf '%s\n' make binutils "$@" | sort -u | tr '\n' ',' | sed 's/,$//')
key=$(echo "$SUITE $pkgs" | sha256sum | cut -c1-12)
D=$CACHE/buildroot/$SUITE-$key
if [ -f "$D/.done" ]; then
	echo "$D"
	exit 0
fi
mkdir -p "$CACHE/buildroot"
T=$(mktemp -d "$CACHE/buildroot/.$SUITE-$key.XXXXXX")
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
echo "buildroot: debootstrap $SUITE with $pkgs (log: $T/debootstrap.log)" >&2
t0=$(date +%s)
if ! debootstrap --variant=minbase --include="$pkgs" \
	--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
	"$SUITE" "$T/root" "$MIRROR" > "$T/debootstrap.log" 2>&1; then
	tail -n 30 "$T/debootstrap.log" >&2
	[ -f "$T/root/debootstrap/debootstrap.log" ] && tail -n 30 "$T/root/debootstrap/debootstrap.log" >&2
	exit 1
fi
rm -rf "$T/root/var/cache/apt/archives/"*.deb "$T/root/var/lib/apt/lists/"*_Packages
echo "$SUITE $pkgs" > "$T/root/.blksnap-buildroot"
touch "$T/root/.done"
mv -T "$T/root" "$D" 2>/dev/null || [ -f "$D/.done" ] || { echo "buildroot: cannot create $D" >&2; exit 1; }
echo "buildroot: $SUITE root made in $(( $(date +%s) - t0 )) s" >&2
echo "$D"
