#!/bin/bash
# fetch-kernel.sh FLAVOUR_META HEADERS_META DESTROOT
#   e.g. fetch-kernel.sh linux-image-cloud-amd64      linux-headers-cloud-amd64      /var/cache/vmtest/6.1-cloud
#        fetch-kernel.sh linux-image-6.12-cloud-amd64 linux-headers-6.12-cloud-amd64 /var/cache/vmtest/6.12-cloud
# Resolves the metapackages to the current ABI, downloads image+headers(+common, kbuild) with apt-get download,
# unpacks them with dpkg-deb -x (no maintainer scripts: no initramfs, no bootloader, host /boot untouched),
# runs depmod -b, and prints the kernel release. Needs: apt-get update done, kmod (depmod).
set -euo pipefail
IMGMETA=$1; HDRMETA=$2; DEST=$3
deps() { apt-cache show --no-all-versions "$1" | sed -n 's/^Depends: //p' | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g'; }
IMG=$(deps "$IMGMETA" | grep -m1 '^linux-image-')
HDR=$(deps "$HDRMETA" | grep -m1 '^linux-headers-')
EXTRA=$(deps "$HDR" | grep -E '^linux-(headers|kbuild)-' || true)
KVER=${IMG#linux-image-}; KVER=${KVER%-unsigned}
if [ -f "$DEST/.fetched-$KVER" ]; then echo "$KVER"; exit 0; fi     # cache hit
DL=$(mktemp -d); chmod 755 "$DL"; trap 'rm -rf "$DL"' EXIT
( cd "$DL" && apt-get download -q=2 -o APT::Sandbox::User=root $IMG $HDR $EXTRA ) >&2
rm -rf "$DEST"; mkdir -p "$DEST"
for f in "$DL"/*.deb; do dpkg-deb -x "$f" "$DEST"; done
# the flavour Makefile includes the -common tree by ABSOLUTE path (/usr/src/...): point it into DEST,
# otherwise builds silently use (or fail without) the host's installed headers
sed -i "s|^include /usr/src/|include $(realpath "$DEST")/usr/src/|" "$DEST/usr/src/linux-headers-$KVER/Makefile"
depmod -b "$DEST" "$KVER"
touch "$DEST/.fetched-$KVER"
echo "$KVER"
