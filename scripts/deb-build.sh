#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deb-build.sh: `make deb`.  Builds the Debian packages (blksnap-dkms,
# blksnapctl, libblksnap0, libblksnap-dev) from a copy of the tree in
# build/deb/blksnap-<release> (git's files, with uncommitted changes; the
# tree itself stays clean), unsigned, binary only.  The .debs and the
# .changes land in build/deb/.  Needs dpkg-dev, debhelper, dh-dkms
# (scripts/host-deps.sh deb).  Prints the path of the .changes file last.
set -euo pipefail
TOP=$(realpath "$(dirname "$0")/..")
VER=$("$TOP/scripts/version.sh")
OUT=$TOP/build/deb
SRC=$OUT/blksnap-$VER
rm -rf "$OUT"
mkdir -p "$SRC"
if git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$TOP" && git ls-files -z -co --exclude-standard | grep -zv '^build/' |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		cpio --null -pdm --quiet "$SRC")
else
	tar -C "$TOP" --exclude=./build --exclude='*.o' --exclude='*.ko' -cf - . | tar -C "$SRC" -xf -
fi
cd "$SRC"
dpkg-buildpackage -us -uc -b > "$OUT/build.log" 2>&1 || { tail -n 40 "$OUT/build.log" >&2; exit 1; }
ls "$OUT"/*.deb
ls "$OUT"/*.changes
