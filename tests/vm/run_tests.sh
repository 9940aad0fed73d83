#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh DIR TEST...: run the blksnap selftests the way the kselftest
# runner does (tools/testing/selftests/kselftest/runner.sh): KTAP on
# stdout, "# selftests: blksnap: <name>" before each program, its output
# prefixed with "# ", exit code 4 a skip, each under the timeout of
# tests/settings.  `make -C tests run_tests` calls this; run it as root on
# the kernel under test.  blksnap is loaded first unless it is: from
# $BLKSNAP_KO (default DIR/blksnap.ko, as kselftest installs a test's
# module), else with modprobe.
DIR=$(cd "$1" && pwd)
shift
HERE=$(dirname "$0")
TMO=$(sed -n 's/^timeout=//p' "$HERE/../settings" 2>/dev/null)
TMO=${TMO:-300}
[ -n "${BLKSNAP_KO:-}" ] || [ ! -f "$DIR/blksnap.ko" ] || BLKSNAP_KO=$DIR/blksnap.ko
export BLKSNAP_KO
echo "TAP version 13"
echo "1..$#"
if [ ! -d /sys/module/blksnap ]; then
	if [ -n "$BLKSNAP_KO" ]; then
		insmod "$BLKSNAP_KO" || { echo "Bail out! insmod $BLKSNAP_KO failed"; exit 1; }
	else
		modprobe blksnap || { echo "Bail out! blksnap is not loaded and modprobe blksnap failed (set BLKSNAP_KO)"; exit 1; }
	fi
fi
n=0
fail=0
out=$(mktemp)
work=$(mktemp -d)
for t in "$@"; do
	n=$((n + 1))
	echo "# selftests: blksnap: $t"
	(cd "$work" && timeout -s KILL "$TMO" "$DIR/$t") > "$out" 2>&1
	rc=$?
	sed 's/^/# /' "$out"
	case $rc in
	0) echo "ok $n selftests: blksnap: $t" ;;
	4) echo "ok $n selftests: blksnap: $t # SKIP" ;;
	137) echo "not ok $n selftests: blksnap: $t # TIMEOUT $TMO seconds"; fail=1 ;;
	*) echo "not ok $n selftests: blksnap: $t # exit=$rc"; fail=1 ;;
	esac
done
rm -rf "$out" "$work"
exit $fail
