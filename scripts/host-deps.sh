#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host-deps.sh [--list] [GROUP...]: the Debian packages the host needs, in
# one place (`make demo`, `make check` and .ci/run use this list).
# GROUP: check (default: make demo, make check, make tests-host), debug
# (make check-debug, make style: the debug kernel's build), dkms (make
# dkms-check), deb (make deb, make deb-check), ci (all of them).
#
# --list: print the packages and exit.  Otherwise, when some are not
# installed: as root on Debian or Ubuntu, install them with apt-get (as CI
# does); as anyone else, print the one apt-get command to run and exit 1.
# HOST_DEPS_NO_INSTALL=1: only print what is missing, even as root.
set -uo pipefail

pkgs_check="make gcc gcc-multilib libc6-dev qemu-system-x86 busybox-static
	cpio kmod xz-utils lz4 zstd pahole e2fsprogs util-linux
	debian-archive-keyring debootstrap"
pkgs_debug="perl git g++ bc flex bison libelf-dev libssl-dev"
pkgs_dkms="dkms"
pkgs_deb="dpkg-dev debhelper dh-dkms fakeroot lintian pkg-config"

list=0
[ "${1:-}" = --list ] && { list=1; shift; }
groups=${*:-check}
want=()
# shellcheck disable=SC2206 # the lists are words
for g in $groups; do
	case $g in
	check) want+=($pkgs_check) ;;
	debug) want+=($pkgs_debug) ;;
	dkms) want+=($pkgs_dkms) ;;
	deb) want+=($pkgs_deb) ;;
	ci) want+=($pkgs_check $pkgs_debug $pkgs_dkms $pkgs_deb) ;;
	*) echo "host-deps: unknown group '$g' (check, debug, dkms, deb, ci)" >&2; exit 2 ;;
	esac
done
if [ $list = 1 ]; then
	echo "${want[*]}"
	exit 0
fi

if ! command -v dpkg-query >/dev/null; then
	echo "host-deps: not a Debian-like host; make sure the equivalents of these are installed: ${want[*]}" >&2
	exit 0
fi
missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ] || [ "${HOST_DEPS_NO_INSTALL:-}" = 1 ]; then
	echo "blksnap: missing host packages; run:" >&2
	echo "  sudo $cmd" >&2
	exit 1
fi
echo "host-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } > "$log" 2>&1; then
	tail -n 20 "$log" >&2
	echo "host-deps: apt-get failed (log above): $cmd" >&2
	rm -f "$log"
	exit 1
fi
rm -f "$log"
