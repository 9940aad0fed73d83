#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-linux-source.sh: print a directory holding the few files blksnap
# takes from Debian's linux-source-6.12 package at build time (checkpatch
# and its data files, kernel-doc, the kselftest headers).  The .deb is
# fetched with apt-get download through the project's own apt
# configuration (scripts/kapt.sh) and cached; nothing is installed and nothing
# from it is committed to the tree.
#
# Env: VMTEST_CACHE (default /var/cache/blksnap-vmtest for root, else ~/.cache/blksnap).
set -euo pipefail
CACHE=${VMTEST_CACHE:-$([ "$(id -u)" = 0 ] && echo /var/cache/blksnap-vmtest || echo "$HOME/.cache/blksnap")}
PKG=linux-source-6.12
KAPT=$(dirname "$(realpath "$0")")/kapt.sh
ver=$("$KAPT" bookworm apt-cache show --no-all-versions "$PKG" | sed -n 's/^Version: //p' | head -n1)
[ -n "$ver" ] || { echo "fetch-linux-source: no $PKG in bookworm" >&2; exit 1; }
DEST=$CACHE/$PKG/$ver
if [ -f "$DEST/.done" ]; then
	echo "$DEST"
	exit 0
fi
rm -rf "$DEST"
mkdir -p "$DEST"
DL=$(mktemp -d)
chmod 755 "$DL"
trap 'rm -rf "$DL"' EXIT
(cd "$DL" && "$KAPT" bookworm apt-get download -q=2 "$PKG=$ver") >&2
want=(scripts/checkpatch.pl scripts/spelling.txt scripts/const_structs.checkpatch
      scripts/kernel-doc tools/testing/selftests/kselftest.h
      tools/testing/selftests/kselftest_harness.h)
dpkg-deb --fsys-tarfile "$DL"/*.deb |
	tar -xO --wildcards './usr/src/linux-source-*.tar.xz' |
	tar -xJ -C "$DEST" --strip-components=1 \
		"${want[@]/#/linux-source-6.12/}"
for f in "${want[@]}"; do
	[ -f "$DEST/$f" ] || { echo "missing $f in $PKG" >&2; exit 1; }
done
touch "$DEST/.done"
echo "$DEST"
