#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms-check.sh: dkms add, build and install blksnap for Debian 12's 6.1
# and 6.12 kernels without booting them (headers from the test bench's
# cache), check that the module landed, then remove everything again.
# Prints ok/not ok lines and "N passed, N failed".
set -uo pipefail
TOP=$(realpath "$(dirname "$0")/..")
CACHE=${VMTEST_CACHE:-/var/cache/blksnap-vmtest}
NAME=blksnap
VER=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$TOP/dkms.conf")
pass=0; fail=0
check() { # description command...
	local d=$1; shift
	if "$@" > /tmp/dkms-check.log 2>&1; then
		echo "ok - $d"; pass=$((pass + 1))
	else
		echo "not ok - $d"; sed 's/^/#   /' /tmp/dkms-check.log | tail -20
		fail=$((fail + 1))
	fi
}
command -v dkms >/dev/null || { echo "dkms-check: dkms is not installed" >&2; exit 2; }

dkms remove -m $NAME -v "$VER" --all >/dev/null 2>&1
rm -rf "/usr/src/$NAME-$VER" "/var/lib/dkms/$NAME"
made_dir=""
[ -d /lib/modules ] || { mkdir -p /lib/modules; made_dir=1; }
SRC=$(mktemp -d)
cp -r "$TOP"/{Makefile,Kbuild,dkms.conf,module,include} "$SRC/"
[ -d "$TOP/scripts" ] && cp -r "$TOP/scripts" "$SRC/"
rm -f "$SRC/module/compat-gen.h"
mkdir -p "/usr/src/$NAME-$VER"
cp -r "$SRC"/. "/usr/src/$NAME-$VER/"
rm -rf "$SRC"
check "dkms add $NAME/$VER" dkms add -m $NAME -v "$VER"

for k in 6.1 6.12; do
	read -r kver dir _ <<<"$("$TOP/tests/vm/fetch-kernel.sh" "$k" cloud | tail -n1)"
	[ -n "$kver" ] || { echo "not ok - fetch kernel $k"; fail=$((fail + 1)); continue; }
	hdr=$dir/usr/src/linux-headers-$kver
	# dkms install puts the module under /lib/modules/<kver> and runs
	# depmod there; a kernel that is not installed has no such tree, so
	# lend it the unpacked one for the duration of the check.
	if [ ! -e "/lib/modules/$kver" ]; then
		ln -s "$dir/lib/modules/$kver" "/lib/modules/$kver"
		links="${links:-} /lib/modules/$kver"
	fi
	check "dkms build for $kver" dkms build -m $NAME -v "$VER" -k "$kver" --kernelsourcedir "$hdr"
	check "dkms install for $kver" dkms install -m $NAME -v "$VER" -k "$kver" --kernelsourcedir "$hdr" --force
	check "blksnap.ko installed for $kver" bash -c "ls /lib/modules/$kver/updates/dkms/$NAME.ko*"
	check "modinfo reports version 2.0.0.0 for $kver" bash -c \
		"modinfo -F version /lib/modules/$kver/updates/dkms/$NAME.ko* | grep -qx 2.0.0.0"
	check "dkms uninstall for $kver" dkms uninstall -m $NAME -v "$VER" -k "$kver"
	check "module gone for $kver" bash -c "! ls /lib/modules/$kver/updates/dkms/$NAME.ko* 2>/dev/null"
done

check "dkms remove $NAME/$VER" dkms remove -m $NAME -v "$VER" --all
check "dkms status is empty" bash -c "[ -z \"\$(dkms status -m $NAME)\" ]"
for l in ${links:-}; do rm -f "$l"; done
rm -rf "/usr/src/$NAME-$VER" "/var/lib/dkms/$NAME"
[ -n "$made_dir" ] && rmdir /lib/modules
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
