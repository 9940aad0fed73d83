#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-debug-kernel.sh: build the blksnap debug kernel (KASAN, lockdep,
# kmemleak, debug objects, UBSAN) from Debian's linux-source-6.12 with the
# config fragment tests/vm/debug.config on top of tinyconfig, once, into a
# cache.  Prints the kernel directory on its last line, laid out like an
# unpacked Debian kernel so tests/vm/vmtest.sh can boot it:
#   <dir>/bzImage                     the kernel
#   <dir>/lib/modules/<kver>/         modules_install output (depmod run)
#   <dir>/usr/src/linux-headers-<kver> -> the build tree (KDIR for blksnap)
#   <dir>/kver                        the kernel release string
# The cache key is the source package version plus a hash of the fragment
# and of KEY_REV below: bump KEY_REV when a change here changes the kernel.
#
# Env: VMTEST_CACHE (default /var/cache/blksnap-vmtest for root, else ~/.cache/blksnap), JOBS (nproc).
set -euo pipefail
HERE=$(dirname "$(realpath "$0")")
TOP=$(realpath "$HERE/..")
CACHE=${VMTEST_CACHE:-$([ "$(id -u)" = 0 ] && echo /var/cache/blksnap-vmtest || echo "$HOME/.cache/blksnap")}
FRAG=$TOP/tests/vm/debug.config
PKG=linux-source-6.12
JOBS=${JOBS:-$(nproc)}
KEY_REV=1

need=()
for c in flex bison bc gcc make perl xz; do
	command -v $c >/dev/null || need+=("$c")
done
[ -f /usr/include/libelf.h ] || need+=(libelf-dev)
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
if [ ${#need[@]} -gt 0 ]; then
	echo "build-debug-kernel: missing: ${need[*]} (apt-get install flex bison bc libelf-dev libssl-dev)" >&2
	exit 2
fi

ver=$("$HERE/kapt.sh" bookworm apt-cache show --no-all-versions "$PKG" | sed -n 's/^Version: //p' | head -n1)
[ -n "$ver" ] || { echo "build-debug-kernel: no $PKG in bookworm" >&2; exit 1; }
key=$( (cat "$FRAG"; echo "$KEY_REV") | sha256sum | cut -c1-12)
SRC=$CACHE/debug-kernel/src-$ver
KD=$CACHE/debug-kernel/$ver-$key
if [ -f "$KD/.done" ]; then
	echo "$KD"
	exit 0
fi

if [ ! -f "$SRC/.done" ]; then
	echo "build-debug-kernel: unpacking $PKG $ver" >&2
	rm -rf "$SRC"
	mkdir -p "$SRC"
	DL=$(mktemp -d)
	chmod 755 "$DL"
	(cd "$DL" && "$HERE/kapt.sh" bookworm apt-get download -q=2 "$PKG=$ver") >&2
	dpkg-deb --fsys-tarfile "$DL"/*.deb |
		tar -xO --wildcards './usr/src/linux-source-*.tar.xz' |
		tar -xJ -C "$SRC" --strip-components=1
	rm -rf "$DL"
	touch "$SRC/.done"
fi

# an interrupted build resumes in its build tree
rm -rf "$KD/lib" "$KD/usr" "$KD/bzImage"
B=$KD/build
mkdir -p "$B"
mk() { make -s -C "$SRC" O="$B" -j"$JOBS" LOCALVERSION=-blksnap-debug "$@"; }
echo "build-debug-kernel: configuring (tinyconfig + $(basename "$FRAG"))" >&2
mk tinyconfig >/dev/null
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$B" "$B/.config" "$FRAG" >/dev/null
mk olddefconfig >/dev/null
# every option asked for must have stuck (a silent drop would make this
# kernel check less than it claims)
bad=0
while IFS= read -r l; do
	case $l in
	CONFIG_*=*) grep -qxF "$l" "$B/.config" || { echo "build-debug-kernel: $l did not stick" >&2; bad=1; } ;;
	"# CONFIG_"*" is not set")
		o=${l#\# }; o=${o%% *}
		! grep -q "^$o=" "$B/.config" || { echo "build-debug-kernel: $o is still set" >&2; bad=1; } ;;
	esac
done < "$FRAG"
[ $bad -eq 0 ] || exit 1
grep -qE '^CONFIG_DYNAMIC_FTRACE_WITH_(REGS|ARGS)=y' "$B/.config" || {
	echo "build-debug-kernel: no DYNAMIC_FTRACE_WITH_REGS/ARGS" >&2; exit 1; }

echo "build-debug-kernel: building with -j$JOBS (about 10 minutes on 2 cores; log: $KD/build.log)" >&2
t0=$(date +%s)
if ! mk bzImage modules > "$KD/build.log" 2>&1; then
	tail -n 40 "$KD/build.log" >&2
	exit 1
fi
mk INSTALL_MOD_PATH="$KD" INSTALL_MOD_STRIP=1 modules_install >/dev/null
kver=$(cat "$B/include/config/kernel.release")
cp "$B/arch/x86/boot/bzImage" "$KD/bzImage"
rm -f "$KD/lib/modules/$kver/build" "$KD/lib/modules/$kver/source"
mkdir -p "$KD/usr/src"
ln -sfn ../../build "$KD/usr/src/linux-headers-$kver"
echo "$kver" > "$KD/kver"
echo "build-debug-kernel: $kver built in $(( $(date +%s) - t0 )) s" >&2
touch "$KD/.done"
echo "$KD"
