#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kapt.sh SUITE apt-get|apt-cache ARGS...: run apt-get or apt-cache against
# the project's own apt configuration for one Debian suite, never the
# host's: its own sources.list, trusted keys, lists and archives under
# $VMTEST_CACHE/apt/SUITE.  Nothing is installed on the host (the
# configuration has no dpkg status of its own, so only `apt-cache` queries
# and `apt-get download` make sense).  The lists are refreshed when older
# than VMTEST_APT_MAXAGE seconds (default 3600), so "the newest kernel" is
# resolved at run time.
#
# SUITE: bookworm, trixie, trixie-backports, sid (a stable suite brings its
# -updates and -security suites, a backports suite its base suite too).
# Keys: the Debian archive keys of the debian-archive-keyring package,
# copied into the configuration (apt verifies every Release file).
# Env: VMTEST_CACHE (/var/cache/blksnap-vmtest for root, else ~/.cache/blksnap), VMTEST_MIRROR
# (http://deb.debian.org/debian), VMTEST_SECURITY_MIRROR.
set -euo pipefail
CACHE=${VMTEST_CACHE:-$([ "$(id -u)" = 0 ] && echo /var/cache/blksnap-vmtest || echo "$HOME/.cache/blksnap")}
MIRROR=${VMTEST_MIRROR:-http://deb.debian.org/debian}
SECMIRROR=${VMTEST_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
SUITE=$1
shift
R=$CACHE/apt/$SUITE
KEYS=/usr/share/keyrings/debian-archive-keyring.gpg

case $SUITE in
bookworm|trixie|forky)
	suites="$SUITE $SUITE-updates"; sec="$SUITE-security" ;;
*-backports)
	b=${SUITE%-backports}
	suites="$b $b-updates $SUITE"; sec="$b-security" ;;
sid|unstable)
	suites=sid; sec="" ;;
*)
	echo "kapt: unknown suite '$SUITE'" >&2; exit 2 ;;
esac
[ -f "$KEYS" ] || { echo "kapt: $KEYS missing (apt-get install debian-archive-keyring)" >&2; exit 2; }

mkdir -p "$R"/{etc/trusted.gpg.d,etc/preferences.d,etc/apt.conf.d,etc/sources.list.d,state/lists/partial,cache/archives/partial,log}
# Several checkouts share the cache: the configuration is rewritten and the
# lists refreshed under an exclusive lock, and apt runs under a shared one,
# so no apt-cache reads lists that an apt-get update is replacing.
exec 9> "$R/lock"
flock 9
: > "$R/status"
cp "$KEYS" "$R/etc/trusted.gpg.d/debian-archive-keyring.gpg"
{
	for s in $suites; do echo "deb $MIRROR $s main"; done
	[ -z "$sec" ] || echo "deb $SECMIRROR $sec main"
} > "$R/etc/sources.list.tmp.$$"
mv "$R/etc/sources.list.tmp.$$" "$R/etc/sources.list"
cat > "$R/apt.conf.tmp.$$" <<END
Dir "/";
Dir::Etc "$R/etc";
Dir::Etc::sourcelist "$R/etc/sources.list";
Dir::Etc::sourceparts "$R/etc/sources.list.d";
Dir::Etc::trusted "$R/etc/trusted.gpg";
Dir::Etc::trustedparts "$R/etc/trusted.gpg.d";
Dir::Etc::preferences "$R/etc/preferences";
Dir::Etc::preferencesparts "$R/etc/preferences.d";
Dir::Etc::main "$R/etc/apt.conf";
Dir::Etc::parts "$R/etc/apt.conf.d";
Dir::State "$R/state";
Dir::State::status "$R/status";
Dir::Cache "$R/cache";
Dir::Log "$R/log";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Sandbox::User "root";
Acquire::Languages "none";
// a mirror may be a dated snapshot whose Release files have expired
// (signatures are still checked)
Acquire::Check-Valid-Until "false";
Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled "false";
quiet "2";
END
mv "$R/apt.conf.tmp.$$" "$R/apt.conf"
export APT_CONFIG=$R/apt.conf

stamp=$R/state/.updated
age=$(( $(date +%s) - $(stat -c %Y "$stamp" 2>/dev/null || echo 0) ))
if [ "$age" -gt "${VMTEST_APT_MAXAGE:-3600}" ]; then
	if ! apt-get update > "$R/update.log" 2>&1 || grep -qE '^(W|E): ' "$R/update.log"; then
		echo "kapt: apt-get update for $SUITE failed:" >&2
		cat "$R/update.log" >&2
		exit 1
	fi
	touch "$stamp"
fi
flock -s 9
exec "$@"
