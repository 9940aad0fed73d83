#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms-check.sh: dkms add, build and install blksnap for Debian 12's 6.1
# and 6.12 kernels (DKMS_KERNELS) without booting them (headers from the test bench's
# cache), check that the module landed, then remove everything again.
# Prints ok/not ok lines and "N passed, N failed".
set -uo pipefail
TOP=$(realpath "$(dirname "$0")/..")
CACHE=${VMTEST_CACHE:-$([ "$(id -u)" = 0 ] && echo /var/cache/blksnap-vmtest || echo "$HOME/.cache/blksnap")}
NAME=blksnap
VER=$("$TOP/scripts/version.sh") || exit 2
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

# never touch an installed blksnap (this check removes what it adds)
if [ -n "$(dkms status -m $NAME 2>/dev/null)" ] || [ -e "/usr/src/$NAME-$VER" ] || [ -e "/var/lib/dkms/$NAME" ]; then
	echo "dkms-check: blksnap is already known to dkms on this machine:" >&2
	dkms status -m $NAME >&2
	echo "dkms-check: refusing to replace and remove it; run it where blksnap is not installed (or remove it: make dkms-uninstall, or apt-get purge blksnap-dkms)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
made_dir=""
[ -d /lib/modules ] || { mkdir -p /lib/modules; made_dir=1; }
check "make dkms-source $NAME/$VER" make -s -C "$TOP" dkms-source
check "no build products or tools in /usr/src/$NAME-$VER" bash -c \
	"! find /usr/src/$NAME-$VER -name '*.o' -o -name '*.ko' -o -name compat-gen.h -o -name tools | grep ."
check "dkms add $NAME/$VER" dkms add -m $NAME -v "$VER"

for k in ${DKMS_KERNELS:-6.1 6.12}; do
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
	check "dkms build for $kver (its clean step succeeds)" bash -c \
		"dkms build -m $NAME -v '$VER' -k '$kver' --kernelsourcedir '$hdr' > /tmp/dkms-build.log 2>&1;
		 rc=\$?; cat /tmp/dkms-build.log; [ \$rc -eq 0 ] && ! grep -q 'bad exit status' /tmp/dkms-build.log"
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
rm -rf "/usr/src/$NAME-$VER"
D=$(mktemp -d)
check "make dkms-install DESTDIR=: tree, blksnapctl, udev rule, unit" bash -c \
	"make -s -C '$TOP' dkms-install DESTDIR=$D >/dev/null && cd $D &&
	 ls usr/src/$NAME-$VER/dkms.conf usr/sbin/blksnapctl lib/udev/rules.d/59-blksnap-image.rules \
	    lib/systemd/system/blksnap-attach.service etc/blksnap/attach.conf &&
	 grep -qx 'PACKAGE_VERSION=\"$VER\"' usr/src/$NAME-$VER/dkms.conf"
check "make dkms-uninstall DESTDIR=: nothing left" bash -c \
	"make -s -C '$TOP' dkms-uninstall DESTDIR=$D >/dev/null && [ -z \"\$(find $D -type f)\" ]"
rm -rf "$D"
[ -n "$made_dir" ] && rmdir /lib/modules
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
