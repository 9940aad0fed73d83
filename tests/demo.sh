#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The blksnap demo (guest side of `make demo`; also a test of `make check`):
# a full and an incremental backup of a live, mounted ext4 file system with
# blksnapctl, then both backups "restored" and checked.
#
#   /dev/vda   the device backed up: ext4 on /tmp/demo/data, a writer
#              rewriting files in it all the time
#   /dev/vdb   ext4 on /tmp/demo/store: the difference storage files
#   /tmp       (tmpfs) the backup files
#
# Steps: attach; snapshot 1 (storage: a file on vdb) -> backup full ->
# compared byte for byte with the image; the writer goes on; snapshot 2 ->
# backup incremental (only the blocks the CBT map shows changed) ->
# compared with image 2; then both backup files are checked with e2fsck -n,
# mounted read-only (loop) and listed.  Lines "SUMMARY: ..." are what the
# host prints.  Exit 0: passed, 1: failed, 4: skipped (no mkfs.ext4).
#
# Env: DEMO_STORAGE (first storage file's size, default 32M), DEMO_GAP (seconds of
# writing between the snapshots, default 3).
#
# Alone in the guest (`make demo`) the backups are compared with the images
# by md5sum (about 15 s per 256 MiB under TCG).  Inside the whole suite
# (`make check`: more programs in /tests/order) blksnapctl --verify does the
# comparison instead (memcmp of the image and the file), the gap is 1 s and
# fewer files are made first, to keep the suite fast; on a debug kernel
# (make check-debug) it is skipped.
PATH=/usr/sbin:/sbin:/usr/bin:/bin
T=/tmp/demo
DATA=$T/data
STORE=$T/store
STORAGE=${DEMO_STORAGE:-32M}
GAP=${DEMO_GAP:-3}
QUICK=0
NBASE=40
if [ "$(wc -l < /tests/order 2>/dev/null)" -gt 1 ]; then
	QUICK=1
	GAP=${DEMO_GAP:-1}
	NBASE=8
	# on the KASAN/kmemleak kernel (make check-debug) copying 256 MiB
	# several times takes minutes; the other tests cover those paths there
	if [ -e /sys/kernel/debug/kmemleak ] || [ -e /sys/kernel/debug/kasan ] ||
	   uname -r | grep -q debug; then
		echo "demo: SKIP: debug kernel (run it alone: KERNELS=debug make demo)"
		exit 4
	fi
fi
PARAM=/sys/module/blksnap/parameters/diff_storage_minimum
OLDMIN=$(cat $PARAM 2>/dev/null)
FAILED=0
ID=""

say() { echo "demo: $*"; }
summary() { echo "SUMMARY: $*"; }
fail() { echo "demo: FAILED: $*"; FAILED=1; }
now() { cut -d' ' -f1 /proc/uptime; }
# seconds between two now() values, 2 decimals
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# "$ cmd" echoed, then run
run() { echo "\$ $*"; "$@"; }
# a field of a one-line JSON object
jget() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }

cleanup() {
	[ -f $T/writer.pid ] && kill "$(cat $T/writer.pid)" 2>/dev/null
	touch $T/stop
	sleep 0.3
	for id in $(blksnapctl snapshot collect 2>/dev/null); do
		blksnapctl snapshot destroy "$id" >/dev/null 2>&1
	done
	umount $T/r1 $T/r2 2>/dev/null
	umount $DATA 2>/dev/null
	umount $STORE 2>/dev/null
	blksnapctl detach /dev/vda >/dev/null 2>&1
	rm -f /tmp/full.img /tmp/incr.img /tmp/vda.state
	[ -n "$OLDMIN" ] && echo "$OLDMIN" > $PARAM
}

if [ ! -x /usr/sbin/mkfs.ext4 ] || [ ! -x /usr/sbin/blksnapctl ]; then
	say "SKIP: mkfs.ext4 or blksnapctl missing in the guest"
	exit 4
fi
mkdir -p $DATA $STORE $T/r1 $T/r2
rm -f $T/stop $T/writer.pid

# ---- the original: ext4 on vda, mounted, being written --------------------
say "making ext4 on /dev/vda (the device to back up) and /dev/vdb (storage)"
mkfs.ext4 -q -F -b 4096 -L demo-data /dev/vda >/dev/null || { fail "mkfs vda"; exit 1; }
mkfs.ext4 -q -F -b 4096 -L demo-store /dev/vdb >/dev/null || { fail "mkfs vdb"; exit 1; }
mount -t ext4 /dev/vda $DATA && mount -t ext4 /dev/vdb $STORE || { fail mount; cleanup; exit 1; }
mkdir -p $DATA/docs
i=0
while [ $i -lt $NBASE ]; do
	dd if=/dev/urandom of=$DATA/docs/base-$i bs=64k count=8 2>/dev/null
	i=$((i + 1))
done
sync
# the writer: 256 KiB files written one after the other, 48 names reused
# (so old data is overwritten: copy-on-write), plus a log appended to
(
	n=0
	while [ ! -e $T/stop ]; do
		dd if=/dev/urandom of=$DATA/file-$((n % 48)) bs=64k count=4 2>/dev/null
		echo "write $n at $(now)" >> $DATA/writer.log
		n=$((n + 1))
		sleep 0.2
	done
) &
echo $! > $T/writer.pid
say "writer started (pid $(cat $T/writer.pid))"
sleep 1

SIZE=$(blockdev --getsize64 /dev/vda)
# ask for more storage when less than 16 MiB is free (the default, 1 GiB,
# suits real disks, not this 256 MiB one)
echo "\$ echo 65536 > $PARAM"
echo 65536 > $PARAM || { fail "diff_storage_minimum"; cleanup; exit 1; }
run blksnapctl attach /dev/vda || { fail attach; cleanup; exit 1; }
blksnapctl cbtinfo /dev/vda

# ---- snapshot 1 + full backup ---------------------------------------------
snap() { # -> ID, IMAGE
	ID=$(blksnapctl snapshot create /dev/vda) || { fail "snapshot create"; return 1; }
	echo "\$ blksnapctl snapshot create /dev/vda  -> $ID"
	run blksnapctl snapshot append "$ID" $STORE/diff-$1 --size "$STORAGE" || { fail "snapshot append"; return 1; }
	if rm -f $STORE/diff-$1 2>/dev/null || [ ! -f $STORE/diff-$1 ]; then
		fail "the storage file is not immutable"; return 1
	fi
	say "rm $STORE/diff-$1 refused: the storage file is immutable"
	# more storage on low free space: files of 32 MiB in $STORE
	echo "\$ blksnapctl watch $ID --dir $STORE --step 32M --limit 160M &"
	blksnapctl watch "$ID" --dir $STORE --step 32M --limit 160M > $T/watch-$1.log 2>&1 &
	WATCH=$!
	t0=$(now)
	run blksnapctl snapshot take "$ID" || { fail "snapshot take"; return 1; }
	TAKE=$(secs "$t0" "$(now)")
	IMAGE=$(blksnapctl snapshot info /dev/vda | sed -n 's/^image //p')
	[ -b "$IMAGE" ] || { fail "no image device ($IMAGE)"; return 1; }
	say "snapshot $1 taken in ${TAKE}s: image $IMAGE"
}
# compare backup file $1 with image $2 byte for byte
same() {
	if [ $QUICK = 1 ]; then
		HOW="blksnapctl backup --verify"
		say "(inside the suite: the backup itself was verified with --verify)"
		return 0
	fi
	HOW=md5sum
	echo "\$ md5sum $2 $1"
	t=$(now)
	md5sum "$2" "$1" | tee $T/md5
	T_CMP=$(secs "$t" "$(now)")
	if [ "$(cut -d' ' -f1 $T/md5 | uniq | wc -l)" = 1 ]; then
		say "$1 is byte-identical to $2 (md5sum: ${T_CMP}s)"
		return 0
	fi
	fail "$1 differs from $2"
	return 1
}
VERIFY=""
[ $QUICK = 1 ] && VERIFY=--verify

# the watch exits 0 when its snapshot is destroyed
endwatch() {
	[ -n "$WATCH" ] || return 0
	wait "$WATCH"
	wrc=$?
	WATCH=""
	sed 's/^/watch: /' $T/watch-$1.log
	ADDED=$((ADDED + $(grep -c '^appended ' $T/watch-$1.log)))
	for b in $(sed -n 's/^appended .*: \([0-9]*\) bytes.*/\1/p' $T/watch-$1.log); do
		ADDEDB=$((ADDEDB + b))
	done
	[ $wrc = 0 ] || { fail "watch exited $wrc"; return 1; }
}
WATCH=""
ADDED=0
ADDEDB=0
ok=1
snap 1 || ok=0
if [ $ok = 1 ]; then
	t0=$(now)
	run blksnapctl --json backup full /dev/vda -o /tmp/full.img --state /tmp/vda.state $VERIFY > $T/full.json
	rc=$?
	T_FULL=$(secs "$t0" "$(now)")
	cat $T/full.json
	[ $rc = 0 ] || { fail "backup full (exit $rc)"; ok=0; }
fi
ID1_FILES=$(ls $DATA | wc -l)
if [ $ok = 1 ]; then
	same /tmp/full.img "$IMAGE" || ok=0
	TAKE1=$TAKE
	FULL_COPIED=$(jget blocks_copied < $T/full.json)
	FULL_TOTAL=$(jget blocks_total < $T/full.json)
	BSIZE=$(jget block_size < $T/full.json)
	cat /tmp/vda.state
fi
[ -n "$ID" ] && run blksnapctl snapshot destroy "$ID"
ID=""
endwatch 1 || ok=0
[ $ok = 1 ] || { cleanup; exit 1; }

# ---- the writer goes on; snapshot 2 + incremental backup ------------------
say "writing for ${GAP}s more"
sleep "$GAP"
snap 2 || { cleanup; exit 1; }
say "the CBT map now: 2 = written since snapshot 1 (first runs shown)"
run blksnapctl cbtmap /dev/vda | head -8
t0=$(now)
# the base is updated in place (the state names that very file: a copy of
# it would be refused); a copy keeps backup 1 for the restore below
run mv /tmp/full.img /tmp/incr.img
run cp /tmp/incr.img /tmp/full.img
T_CP=$(secs "$t0" "$(now)")
t0=$(now)
run blksnapctl --json backup incremental /dev/vda --base /tmp/incr.img --state /tmp/vda.state $VERIFY > $T/incr.json
rc=$?
T_INCR=$(secs "$t0" "$(now)")
cat $T/incr.json
[ $rc = 0 ] || { fail "backup incremental (exit $rc)"; ok=0; }
MODE=$(jget mode < $T/incr.json)
[ "$MODE" = incremental ] || { fail "mode $MODE, not incremental ($(jget reason < $T/incr.json))"; ok=0; }
INCR_COPIED=$(jget blocks_copied < $T/incr.json)
INCR_TOTAL=$(jget blocks_total < $T/incr.json)
[ $ok = 1 ] && { same /tmp/incr.img "$IMAGE" || ok=0; }
if [ $ok = 1 ] && [ "${INCR_COPIED:-0}" -ge "${INCR_TOTAL:-0}" ]; then
	fail "the incremental backup copied every block"
	ok=0
fi
run blksnapctl snapshot destroy "$ID"
ID=""
endwatch 2 || ok=0
ls -l $STORE

# ---- stop writing; "restore": check, mount and list both backups ----------
touch $T/stop
wait "$(cat $T/writer.pid)" 2>/dev/null
rm -f $T/writer.pid
WRITES=$(wc -l < $DATA/writer.log)
say "writer stopped after $WRITES files written"
restore() { # file mountpoint -> FILES
	if [ -x /usr/sbin/e2fsck ]; then
		run e2fsck -fn "$1" || { fail "e2fsck $1"; return 1; }
	else
		say "(no e2fsck in the guest: not checked)"
	fi
	run mount -t ext4 -o ro,loop "$1" "$2" || { fail "mount $1"; return 1; }
	ls -l "$2" | head -8
	FILES=$(find "$2" -type f | wc -l)
	LOGN=$(wc -l < "$2/writer.log")
	say "$1: $FILES files, writer.log has $LOGN lines"
	tail -1 "$2/writer.log"
	umount "$2"
}
if [ $ok = 1 ]; then
	restore /tmp/full.img $T/r1 || ok=0
	FILES1=$FILES; LOG1=$LOGN
fi
if [ $ok = 1 ]; then
	restore /tmp/incr.img $T/r2 || ok=0
	FILES2=$FILES; LOG2=$LOGN
fi
if [ $ok = 1 ] && [ "$LOG2" -le "$LOG1" ]; then
	fail "backup 2 does not have more writes than backup 1 ($LOG2 <= $LOG1)"
	ok=0
fi
cleanup
[ $ok = 1 ] && [ $FAILED = 0 ] || exit 1

MIB=$((1024 * 1024))
summary "device /dev/vda: $SIZE bytes ($((SIZE / MIB)) MiB), ext4, mounted and written during the backups"
summary "difference storage: a $STORAGE file on /dev/vdb's ext4 per snapshot (immutable while in use); blksnapctl watch added $ADDED more ($((ADDEDB / MIB)) MiB) on low free space"
summary "snapshot 1 / 2 taken in ${TAKE1}s / ${TAKE}s (file system frozen, copy-on-write started)"
summary "full backup: $FULL_COPIED of $FULL_TOTAL blocks of $BSIZE bytes ($((FULL_COPIED * BSIZE)) bytes) in ${T_FULL}s; byte-identical: yes ($HOW)"
summary "incremental backup (CBT): $INCR_COPIED of $INCR_TOTAL blocks changed and copied ($((INCR_COPIED * BSIZE)) bytes, $((INCR_COPIED * 100 / INCR_TOTAL))%) in ${T_INCR}s (+${T_CP}s to copy the base); byte-identical: yes ($HOW)"
summary "restored: e2fsck clean, mounted read-only: backup 1 has $FILES1 files ($LOG1 writes logged), backup 2 has $FILES2 files ($LOG2 writes logged)"
exit 0
