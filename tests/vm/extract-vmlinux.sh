#!/bin/bash
# extract-vmlinux.sh BZIMAGE OUT : unpack the ELF vmlinux from a bzImage (Debian: 6.1 generic=xz,
# 6.1 cloud=lz4, 6.12=zstd) so QEMU can boot it through its PVH entry, skipping the slow in-guest
# decompression under TCG. Same idea as the kernel's scripts/extract-vmlinux.
set -uo pipefail
img=$1; out=$2
for spec in "28b52ffd zstd" "fd377a585a00 xz" "02214c18 lz4" "1f8b0800 gzip"; do
  set -- $spec
  pat=$(sed 's/../\\x&/g' <<<"$1")
  for off in $(LC_ALL=C grep -obUaP "$pat" "$img" | cut -d: -f1); do
    tail -c +$((off + 1)) "$img" | $2 -dc 2>/dev/null > "$out"
    [ "$(head -c4 "$out" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] && exit 0
  done
done
rm -f "$out"; echo "no vmlinux found in $img" >&2; exit 1
