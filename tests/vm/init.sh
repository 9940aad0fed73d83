#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the test guest: loads the guest kernel modules, then runs the
# blksnap tests kselftest-runner style, KTAP on the second serial port:
#   test 1          insmod /ko/blksnap.ko
#   tests 2..N-1    /tests/<name> in /tests/order, each under a timeout
#   test N          rmmod blksnap
#   test N+1        kmemleak: no unreferenced object (only on kernels with
#                   CONFIG_DEBUG_KMEMLEAK; suspects from boot are cleared
#                   before blksnap is loaded)
# The tests find the module through BLKSNAP_KO (tests/lib/module.h).
# Guest kernel modules not preloaded are in /lib/modules/<name>.ko for the
# tests to insmod with their own parameters (brd, null_blk, dm_flakey, ...).
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox --install -s /bin
mount -t tmpfs tmp /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
set -o pipefail
log() { echo "VMTEST: $* t=$(cut -d' ' -f1 /proc/uptime)" > /dev/console; }
exec 3>/dev/ttyS1 || exec 3>/dev/console
log "init started, kernel $(uname -r)"
echo 30 > /proc/sys/kernel/hung_task_timeout_secs 2>/dev/null
for m in $(cat /lib/modules/preload); do
	insmod /lib/modules/$m.ko || log "insmod $m failed"
done
i=0
while [ ! -b /dev/vdb ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

# env.NAME=VALUE on the kernel command line (EXTRA_APPEND) reaches the tests
for w in $(cat /proc/cmdline); do
	case $w in env.*=*) w=${w#env.}; export "${w%%=*}=${w#*=}" ;; esac
done
export BLKSNAP_KO=/ko/blksnap.ko
TMO=$(sed -n 's/.*vmtest.timeout=\([0-9]*\).*/\1/p' /proc/cmdline)
TMO=${TMO:-300}
N=$(wc -l < /tests/order)
KML=/sys/kernel/debug/kmemleak
K=0
if [ -e $KML ]; then
	K=1
	echo scan=off > $KML	# no periodic scan: its report would race ours
	echo scan > $KML
	echo clear > $KML
fi
echo "TAP version 13" >&3
echo "1..$((N + 2 + K))" >&3
n=1
if insmod "$BLKSNAP_KO"; then
	echo "ok $n insmod blksnap.ko" >&3
else
	echo "not ok $n insmod blksnap.ko" >&3
fi
log "tests start"
for t in $(cat /tests/order); do
	n=$((n + 1))
	echo "# selftests: blksnap: $t" >&3
	log "test $t start"
	echo "blksnap-test: $t start" > /dev/kmsg
	# output through a file, not a pipe: a process the test leaves behind
	# must not keep the runner waiting
	(cd /tmp && timeout -s KILL $TMO /tests/$t > /tmp/.out 2>&1)
	rc=$?
	if [ $rc = 137 ]; then	# timed out: show where tasks are stuck
		echo 1 > /proc/sys/kernel/sysrq
		echo w > /proc/sysrq-trigger
		echo t > /proc/sysrq-trigger
	fi
	sed 's/^/# /' /tmp/.out >&3
	# a test killed between rmmod and insmod must not fail all the others
	if [ ! -d /sys/module/blksnap ]; then
		echo "# blksnap was left unloaded: loading it again" >&3
		insmod "$BLKSNAP_KO"
	fi
	echo "blksnap-test: $t done rc=$rc" > /dev/kmsg
	case $rc in
	0) echo "ok $n selftests: blksnap: $t" >&3 ;;
	4) echo "ok $n selftests: blksnap: $t # SKIP" >&3 ;;
	137) echo "not ok $n selftests: blksnap: $t # TIMEOUT $TMO seconds" >&3 ;;
	*) echo "not ok $n selftests: blksnap: $t # exit=$rc" >&3 ;;
	esac
done
log "tests done"
# scan while blksnap is loaded (its symbols resolve in the backtraces) and
# again after rmmod (leaks at teardown); objects younger than 5 s are never
# reported, hence the sleeps
kmemleak_scan() {
	sleep 6
	echo scan > $KML
	echo scan > $KML
	cat $KML >> /tmp/.kml
}
[ $K = 0 ] || kmemleak_scan
n=$((n + 1))
if rmmod blksnap; then
	echo "ok $n rmmod blksnap" >&3
else
	echo "not ok $n rmmod blksnap" >&3
fi
if [ $K = 1 ]; then
	kmemleak_scan
	n=$((n + 1))
	if [ -s /tmp/.kml ]; then
		cat /tmp/.kml > /dev/console
		sed 's/^/# /' /tmp/.kml | head -200 >&3
		echo "not ok $n kmemleak: $(grep -c 'unreferenced object' /tmp/.kml) unreferenced objects" >&3
	else
		echo "ok $n kmemleak: no unreferenced object" >&3
	fi
fi
echo "VMTEST-EXIT" >&3
sync
reboot -f
