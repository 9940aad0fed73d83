#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-kernel.sh NAME [FLAVOUR]: fetch a Debian kernel (image, modules and
# headers) by name into the test bench's cache and print, on the last line,
#   <kernel release> <kernel root> <suite>
# NAME:
#   6.1           Debian 12's kernel        (bookworm, linux-image-cloud-amd64)
#   6.12          Debian 12's 6.12 kernel   (bookworm, linux-image-6.12-cloud-amd64)
#   trixie-6.12   Debian 13's kernel        (trixie, linux-image-cloud-amd64)
#   latest        the newest backport       (trixie-backports, linux-image-cloud-amd64)
#   sid           unstable's kernel         (sid, linux-image-cloud-amd64)
#   X.Y (7.3, 7.2 ...)  the newest X.Y.* kernel found in trixie-backports,
#                 sid, trixie or bookworm
# FLAVOUR: cloud (default) or generic (amd64).
#
# Packages come through the project's own apt configuration (scripts/kapt.sh),
# never the host's sources; the metapackages are resolved at run time, so a
# new ABI is picked up without an edit here.  Everything named linux-* that
# the image and headers metapackages pull in is downloaded with apt-get
# download and unpacked with dpkg-deb -x (no maintainer scripts: no
# initramfs, no bootloader, the host's /boot untouched).  The kernel root:
#   <root>/boot/vmlinuz-<release>  (or usr/lib/modules/<release>/vmlinuz, 7.x)
#   <root>/lib/modules/<release>/  modules, depmod run
#   <root>/usr/src/linux-headers-<release>/  the build tree (KDIR)
#   <root>/vmlinux.pvh             the ELF kernel QEMU boots directly
#   <root>/build-deps              what building a module needs from the
#                                  kernel's own release (compiler, pahole ...)
#   <root>/suite                   the suite it came from
# Cache: $VMTEST_CACHE/kernels/<release>, written once (made in a temporary
# directory and renamed), never rewritten; an entry of the older layout
# ($VMTEST_CACHE/<NAME>-<FLAVOUR>/.fetched-<release>) is used when it holds
# the same release.
set -euo pipefail
# depmod and modprobe are in /sbin, outside a user's PATH on Debian
PATH=$PATH:/usr/sbin:/sbin
HERE=$(dirname "$(realpath "$0")")
TOP=$(realpath "$HERE/../..")
CACHE=${VMTEST_CACHE:-$([ "$(id -u)" = 0 ] && echo /var/cache/blksnap-vmtest || echo "$HOME/.cache/blksnap")}
NAME=$1
FLAVOUR=${2:-cloud}
KAPT=$TOP/scripts/kapt.sh
case $FLAVOUR in
cloud) f=cloud-amd64 ;;
generic) f=amd64 ;;
*) echo "fetch-kernel: unknown flavour '$FLAVOUR' (cloud or generic)" >&2; exit 2 ;;
esac

# deps SUITE PKG: the first alternative of each dependency, without versions
deps() {
	"$KAPT" "$1" apt-cache show "$2" | awk '/^$/ { exit } /^(Pre-)?Depends: / { sub(/^[^:]*: /, ""); print }' |
		tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | grep -v '^$' || true
}
# ver SUITE PKG: the version apt would pick from SUITE (backports included)
newest() { # SUITE PKG: the newest version of PKG in the suite's lists
	"$KAPT" "$1" apt-cache madison "$2" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | sort -V | tail -n1
}

suite=""; img=""; hdr=""
case $NAME in
6.1) suite=bookworm; img=linux-image-$f; hdr=linux-headers-$f ;;
6.12) suite=bookworm; img=linux-image-6.12-$f; hdr=linux-headers-6.12-$f ;;
trixie-6.12|trixie) suite=trixie; img=linux-image-$f; hdr=linux-headers-$f ;;
latest) suite=trixie-backports; img=linux-image-$f; hdr=linux-headers-$f ;;
sid) suite=sid; img=linux-image-$f; hdr=linux-headers-$f ;;
[0-9]*.[0-9]*)
	re="^linux-image-${NAME//./\\.}\\.[0-9]+(-[0-9]+|\\+deb[0-9]+)-$f\$"
	best=""
	for s in trixie-backports sid trixie bookworm; do
		cand=$("$KAPT" "$s" apt-cache pkgnames linux-image- | grep -E "$re" | sort -V | tail -n1 || true)
		[ -n "$cand" ] || continue
		# the newest release wins (sid's 7.2.13 over a stale backport 7.2.12)
		if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best" "$cand" | sort -V | tail -n1)" = "$cand" ] && [ "$cand" != "$best" ]; then
			best=$cand; suite=$s
		fi
	done
	if [ -n "$best" ]; then img=$best; hdr=linux-headers-${best#linux-image-}; fi
	[ -n "$suite" ] || { echo "fetch-kernel: no Debian suite has a $NAME kernel (tried trixie-backports, sid, trixie, bookworm)" >&2; exit 1; }
	;;
*)
	echo "fetch-kernel: unknown kernel '$NAME' (6.1, 6.12, trixie-6.12, latest, sid or a version X.Y)" >&2
	exit 2 ;;
esac

# A metapackage of a backports suite is only the candidate with the
# backports version pinned: pick it by version.
pick() { # PKG -> PKG=VERSION (the newest of the suite)
	local v
	v=$(newest "$suite" "$1")
	[ -n "$v" ] || { echo "fetch-kernel: $1 is not in $suite" >&2; return 1; }
	echo "$1=$v"
}
# closure of linux-* packages from the two metapackages
declare -A seen
todo=("$(pick "$img")" "$(pick "$hdr")")
pkgs=(); other=()
while [ ${#todo[@]} -gt 0 ]; do
	p=${todo[0]}; todo=("${todo[@]:1}")
	n=${p%%=*}
	[ -z "${seen[$n]:-}" ] || continue
	seen[$n]=1
	pkgs+=("$p")
	for d in $(deps "$suite" "$p"); do
		case $d in
		linux-base|linux-initramfs-tool) ;;	# host tools, not the kernel
		linux-image-*-unsigned) ;;		# an alternative of the signed image
		linux-*) [ -n "${seen[$d]:-}" ] || todo+=("$(pick "$d")") ;;
		*) other+=("$d") ;;
		esac
	done
done
# the concrete image package names the release
kimg=""
for p in "${pkgs[@]}"; do
	n=${p%%=*}
	case $n in
	linux-image-[0-9]*) kimg=$n ;;
	esac
done
[ -n "$kimg" ] || { echo "fetch-kernel: $img names no versioned linux-image package" >&2; exit 1; }
KVER=${kimg#linux-image-}; KVER=${KVER%-unsigned}
# what building a module needs besides the linux-* packages: the
# dependencies of the headers and kbuild packages (compiler, pahole, libs)
bdeps=$(for p in "${pkgs[@]}"; do
	case ${p%%=*} in
	linux-headers-*|linux-kbuild-*|linux-compiler-*) deps "$suite" "$p" ;;
	esac
done | grep -vE '^linux-' | sort -u | tr '\n' ' ')

legacy=$CACHE/$NAME-$FLAVOUR
if [ -f "$legacy/.fetched-$KVER" ]; then
	[ -f "$legacy/vmlinux.pvh" ] || "$HERE/extract-vmlinux.sh" "$legacy/boot/vmlinuz-$KVER" "$legacy/vmlinux.pvh"
	echo "$KVER $legacy $suite"
	exit 0
fi
DEST=$CACHE/kernels/$KVER
if [ -f "$DEST/.done" ]; then
	echo "$KVER $DEST $suite"
	exit 0
fi
echo "fetch-kernel: $NAME is $KVER from $suite: downloading ${pkgs[*]}" >&2
mkdir -p "$CACHE/kernels"
T=$(mktemp -d "$CACHE/kernels/.$KVER.XXXXXX")
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
mkdir "$T/dl" "$T/root"
( cd "$T/dl" && "$KAPT" "$suite" apt-get download -q=2 "${pkgs[@]}" ) >&2
for d in "$T"/dl/*.deb; do dpkg-deb -x "$d" "$T/root"; done
R=$T/root
# 7.x puts everything under usr/lib (merged /usr): give depmod, modprobe
# and the initramfs builder the /lib they look in
if [ ! -d "$R/lib/modules/$KVER" ] && [ -d "$R/usr/lib/modules/$KVER" ]; then
	[ -e "$R/lib" ] && rmdir "$R/lib" 2>/dev/null || true
	ln -s usr/lib "$R/lib"
fi
H=$R/usr/src/linux-headers-$KVER
[ -d "$H" ] || { echo "fetch-kernel: no usr/src/linux-headers-$KVER in ${pkgs[*]}" >&2; exit 1; }
# The flavour Makefile includes the -common tree by ABSOLUTE path
# (/usr/src/...) and, since 7.x, sets KBUILD_OUTPUT=/usr/src/...: point
# both into the kernel root, otherwise builds silently use (or fail
# without) the host's installed headers.
sed -i -E "s#^(include[[:space:]]+|KBUILD_OUTPUT[[:space:]]*:?=[[:space:]]*)/usr/src/#\\1$DEST/usr/src/#" "$H/Makefile"
if grep -nE '(^|[ =])/usr/src/' "$H/Makefile" | grep -v "$DEST" >&2; then
	echo "fetch-kernel: $H/Makefile still points at the host's /usr/src (above)" >&2
	exit 1
fi
vmlinuz=$R/boot/vmlinuz-$KVER
[ -f "$vmlinuz" ] || vmlinuz=$R/usr/lib/modules/$KVER/vmlinuz
[ -f "$vmlinuz" ] || { echo "fetch-kernel: no vmlinuz in ${pkgs[*]}" >&2; exit 1; }
depmod -b "$R" "$KVER"
"$HERE/extract-vmlinux.sh" "$vmlinuz" "$R/vmlinux.pvh"
echo "$bdeps" > "$R/build-deps"
echo "$suite" > "$R/suite"
printf '%s\n' "${pkgs[@]}" > "$R/packages"
rm -rf "$T/dl"
touch "$R/.done"
# the Makefile rewrite names DEST: the rename must land exactly there
if ! mv -T "$R" "$DEST" 2>/dev/null; then
	[ -f "$DEST/.done" ] || { echo "fetch-kernel: cannot create $DEST" >&2; exit 1; }
fi
echo "$KVER $DEST $suite"
