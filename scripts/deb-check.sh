#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deb-check.sh: `make deb-check` (root; CI runs it).  Builds the Debian
# packages (scripts/deb-build.sh), runs lintian on them, installs them with
# apt-get, checks that their dkms hook built blksnap.ko for an installed
# kernel's headers, that blksnapctl, the udev rule, the attach unit and
# libblksnap (pkg-config, a program linked with -lblksnap) are in place,
# then purges them and checks that nothing is left.
#
# The kernel: the first kernel with headers under /lib/modules; on a
# machine without one (a container, CI), Debian 12's 6.12 from the test
# bench's cache (tests/vm/fetch-kernel.sh, as dkms-check.sh uses it),
# lent for the run as /lib/modules/<release>/build and removed after.
# Refuses to run where any of the packages or a dkms blksnap is installed.
# Prints ok/not ok lines and "N passed, N failed".
set -uo pipefail
TOP=$(realpath "$(dirname "$0")/..")
VER=$("$TOP/scripts/version.sh") || exit 2
PKGS="blksnap-dkms blksnapctl libblksnap0 libblksnap-dev"
LOG=$(mktemp)
pass=0; fail=0
check() { # description command...
	local d=$1; shift
	if "$@" > "$LOG" 2>&1; then
		echo "ok - $d"; pass=$((pass + 1))
	else
		echo "not ok - $d"; sed 's/^/#   /' "$LOG" | tail -30
		fail=$((fail + 1))
	fi
}
finish() {
	rm -f "$LOG"
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}
[ "$(id -u)" = 0 ] || { echo "deb-check: needs root (it installs and purges packages)" >&2; exit 2; }
for p in $PKGS; do
	if dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^[a-z]i'; then
		echo "deb-check: $p is installed on this machine; refusing to replace and purge it" >&2
		echo "0 passed, 1 failed"; exit 1
	fi
done
if command -v dkms >/dev/null && [ -n "$(dkms status -m blksnap 2>/dev/null)" ]; then
	echo "deb-check: blksnap is installed in dkms ($(dkms status -m blksnap | head -n1)); refusing to touch it" >&2
	echo "0 passed, 1 failed"; exit 1
fi
"$TOP/scripts/host-deps.sh" deb dkms || exit 2
export DEBIAN_FRONTEND=noninteractive

check "dpkg-buildpackage -us -uc -b (blksnap $VER)" "$TOP/scripts/deb-build.sh"
D=$TOP/build/deb
changes=$D/blksnap_${VER}_amd64.changes
[ -f "$changes" ] || finish
check "lintian: no errors or warnings" bash -c \
	"lintian -I --fail-on error,warning '$changes' > $D/lintian.log 2>&1; rc=\$?; cat $D/lintian.log; exit \$rc"
grep -v 'running with root privileges' "$D/lintian.log" | sed 's/^/# lintian: /'

# a kernel with headers, installed or lent
kver=""; lent=""; made_dir=""
for b in /lib/modules/*/build; do
	[ -d "$b/include" ] && { kver=$(basename "$(dirname "$b")"); break; }
done
if [ -z "$kver" ]; then
	for _ in 1 2; do	# another checkout may be refreshing the shared apt lists
		read -r kver dir _ <<<"$("$TOP/tests/vm/fetch-kernel.sh" 6.12 cloud | tail -n1)"
		[ -n "$kver" ] && break
		sleep 10
	done
	if [ -z "$kver" ] || [ -e "/lib/modules/$kver" ]; then
		echo "not ok - a kernel with headers (none installed, none fetched)"; fail=$((fail + 1)); finish
	fi
	[ -d /lib/modules ] || made_dir=1
	mkdir -p "/lib/modules/$kver"
	ln -s "$dir/usr/src/linux-headers-$kver" "/lib/modules/$kver/build"
	lent=/lib/modules/$kver
fi
echo "# kernel: $kver${lent:+ (headers lent from the test cache)}"

debs=()
for p in $PKGS; do debs+=("$D/${p}_${VER}_$([ $p = blksnap-dkms ] && echo all || echo amd64).deb"); done
check "apt-get install the four packages" bash -c \
	"apt-get install -y -q --no-install-recommends ${debs[*]} > $D/install.log 2>&1; rc=\$?; cat $D/install.log; exit \$rc"
check "dkms built and installed blksnap $VER for $kver" bash -c \
	"dkms status -m blksnap -v $VER -k $kver | grep -q ': installed'"
ko=$(ls /lib/modules/"$kver"/updates/dkms/blksnap.ko* 2>/dev/null | head -n1)
check "blksnap.ko for $kver: vermagic $kver, version 2.0.0.0" bash -c \
	"[ -n '$ko' ] && modinfo -F vermagic '$ko' | grep -q '^$kver ' && modinfo -F version '$ko' | grep -qx 2.0.0.0"
check "no 'bad exit status' in the dkms build log" bash -c \
	"! grep -rq 'bad exit status' /var/lib/dkms/blksnap/$VER/$kver/*/log/make.log $D/install.log 2>/dev/null"
check "blksnapctl and its man page" bash -c \
	"/usr/sbin/blksnapctl --help >/dev/null 2>&1; [ -x /usr/sbin/blksnapctl ] && [ -f /usr/share/man/man8/blksnapctl.8.gz ]"
check "udev rule, attach unit (enabled), script, attach.conf" bash -c \
	"[ -f /lib/udev/rules.d/59-blksnap-image.rules ] && [ -f /lib/systemd/system/blksnap-attach.service ] &&
	 [ -L /etc/systemd/system/sysinit.target.wants/blksnap-attach.service ] &&
	 [ -x /usr/libexec/blksnap/blksnap-attach ] && [ -f /etc/blksnap/attach.conf ] &&
	 /usr/libexec/blksnap/blksnap-attach /etc/blksnap/attach.conf"
check "modules-load.d file only as an example" bash -c \
	"[ -f /usr/share/doc/blksnap-dkms/examples/modules-load.d/blksnap.conf ] && ! ls /etc/modules-load.d/*blksnap* /usr/lib/modules-load.d/*blksnap* 2>/dev/null"
check "pkg-config --cflags --libs blksnap" bash -c \
	"pkg-config --cflags blksnap | grep -q -- -I/usr/include/blksnap && pkg-config --libs blksnap | grep -q -- -lblksnap"
T=$(mktemp -d)
cat > "$T/t.c" <<'END'
#include <stdio.h>
#include <blksnap.h>

int main(void)
{
	int fd = blksnap_ctl_open();

	printf("blksnap_ctl_open: %d\n", fd);
	return 0;
}
END
check "a program using libblksnap builds, links -lblksnap.so.0, runs" bash -c \
	"gcc -Wall -Werror -o $T/t $T/t.c \$(pkg-config --cflags --libs blksnap) && ldd $T/t | grep -qE 'libblksnap.so.0 => (/usr)?/lib/' && $T/t"
check "a static link with libblksnap.a" bash -c \
	"gcc -o $T/ts $T/t.c \$(pkg-config --cflags blksnap) /usr/lib/\$(dpkg-architecture -qDEB_HOST_MULTIARCH)/libblksnap.a && ! ldd $T/ts | grep -q libblksnap"
rm -rf "$T"

check "apt-get purge the four packages" bash -c \
	"apt-get purge -y -q $PKGS > $D/purge.log 2>&1; rc=\$?; cat $D/purge.log; exit \$rc"
check "dpkg knows none of them (not even config files)" bash -c \
	"! dpkg-query -W -f='\${db:Status-Abbrev} \${Package}\n' $PKGS 2>/dev/null | grep -v '^un '| grep ."
check "dkms knows no blksnap; no /usr/src/blksnap-*, /var/lib/dkms/blksnap" bash -c \
	"[ -z \"\$(dkms status -m blksnap)\" ] && ! ls -d /usr/src/blksnap-* /var/lib/dkms/blksnap 2>/dev/null"
check "no blksnap.ko left under /lib/modules" bash -c \
	"! find /lib/modules/ -name 'blksnap.ko*' | grep ."
check "no files left (blksnapctl, libblksnap, udev rule, unit, /etc/blksnap)" bash -c \
	"! ls -d /usr/sbin/blksnapctl /usr/lib/*/libblksnap* /usr/lib/*/pkgconfig/blksnap.pc /usr/include/blksnap \
	   /lib/udev/rules.d/59-blksnap-image.rules /lib/systemd/system/blksnap-attach.service \
	   /etc/systemd/system/*/blksnap-attach.service /usr/libexec/blksnap /etc/blksnap 2>/dev/null"
[ -n "$lent" ] && rm -rf "$lent"
[ -n "$made_dir" ] && rmdir /lib/modules
finish
