#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host tests of blksnapctl against its fake device layer (fake_dev.c): no
# kernel, no block device.  Regular files stand in for devices, images and
# the CBT map; faults (EIO, ENOSPC, SIGINT mid-copy) come from the
# environment.  TAP output: one "ok N" / "not ok N" line per check.
#
#   tests/host.sh BLKSNAPCTL-FAKE-BINARY
set -u
if [ "$(id -u)" != 0 ] || ! command -v chattr > /dev/null; then
	echo "# SKIP blksnapctl host tests: they need root and chattr (e2fsprogs)"
	exit 0
fi
BIN=$(realpath "$1")
T=$(mktemp -d /tmp/bsc-host.XXXXXX)
# the tests make files immutable and owned by others: clean up as root can
cleanup() { chattr -R -i "$T" 2>/dev/null; rm -rf "$T" /dev/shm/bsc-host-$$; }
trap cleanup EXIT
export BLKSNAPCTL_FAKE=$T BLKSNAPCTL_RUNDIR=$T/run
unset BLKSNAPCTL_FAKE_FAULT BLKSNAPCTL_FAKE_MAXALLOC BLKSNAPCTL_FAKE_FSTYPE \
	BLKSNAPCTL_FAKE_EVENTS
n=0 failed=0
ok() { # condition-status description
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
# run the tool; rc in $rc, stdout in $out, stderr in $err
run() {
	out=$("$BIN" "$@" 2>"$T/.err"); rc=$?
	err=$(cat "$T/.err")
	local a="$*"; echo "# \$ blksnapctl ${a//$'\n'/\\n} -> $rc" >&2
	[ -n "$err" ] && printf '%s\n' "$err" | sed 's/^/#   /' | head -5 >&2
	return 0
}
runenv() { # VAR=VALUE blksnapctl args
	local e=$1; shift
	out=$(env "$e" "$BIN" "$@" 2>"$T/.err"); rc=$?
	err=$(cat "$T/.err")
	local a="$*"; echo "# \$ $e blksnapctl ${a//$'\n'/\\n} -> $rc" >&2
	[ -n "$err" ] && printf '%s\n' "$err" | sed 's/^/#   /' | head -5 >&2
	return 0
}
MIB=1048576 BS=65536
IMG="$T/blksnap-image_1:0"
GEN=11111111-2222-4333-8444-555555555555
GEN2=99999999-2222-4333-8444-555555555555
# cbt STATE: changes_number N [generation]
cbt() {
	printf 'generation_id=%s\nchanges_number=%s\nblock_size=%s\nimage=blksnap-image_1:0\n' \
		"${2:-$GEN}" "$1" $BS > "$T/dev0.cbt"
}
# change BLOCK of the image to fresh random data and mark it with number N
change() {
	dd if=/dev/urandom of="$IMG" bs=$BS seek="$1" count=1 conv=notrunc status=none
	printf "$(printf '\\%03o' "$2")" | dd of="$T/dev0.map" bs=1 seek="$1" conv=notrunc status=none
}
same() { cmp -s "$IMG" "$1"; }

mkdir -p "$T/bk" "$T/run"
chmod 700 "$T/bk"
head -c $((4 * MIB)) /dev/urandom > "$T/dev0"
cp "$T/dev0" "$IMG"
head -c 64 /dev/zero > "$T/dev0.map"
cp "$T/dev0" "$T/dev1"
cbt 1

# --- 1. full, then incremental: the plain path
run backup full "$T/dev0" -o "$T/bk/a.img" --state "$T/bk/a.state"
ok $(( rc != 0 || $(same "$T/bk/a.img"; echo $?) )) "full backup equals the image"
cbt 2; change 3 2; change 10 2
run --json backup incremental "$T/dev0" --base "$T/bk/a.img" --state "$T/bk/a.state"
ok $(( rc != 0 )) "incremental exits 0"
ok "$(same "$T/bk/a.img"; echo $?)" "incremental equals the image"
grep -q '"mode":"incremental"' <<<"$out"; ok $? "incremental took the incremental path"
grep -q '"blocks_copied":2' <<<"$out"; ok $? "incremental copied the 2 changed blocks"

# --- 2. a full backup that fails part way leaves no state that matches
fail_full() { # FAULT description
	cbt "$3"; change 20 "$3"; change 50 "$3"
	runenv BLKSNAPCTL_FAKE_FAULT="$1" backup full "$T/dev0" -o "$T/bk/a.img" --state "$T/bk/a.state"
	ok $(( rc == 0 )) "$2: the full backup fails"
	[ ! -e "$T/bk/a.state" ]; ok $? "$2: the state is gone"
	ls "$T/bk" | grep -qv '^a\.\(img\|state\)$'; ok $(( ! $? )) "$2: no temporary file left"
	cbt "$(( $3 + 1 ))"; change 21 "$(( $3 + 1 ))"
	run backup incremental "$T/dev0" --base "$T/bk/a.img" --state "$T/bk/a.state"
	ok $(( rc != 0 )) "$2: the next incremental exits 0"
	ok "$(same "$T/bk/a.img"; echo $?)" "$2: the next incremental equals the image byte for byte"
}
fail_full eio@$MIB "EIO mid-copy" 3
fail_full enospc@$MIB "ENOSPC mid-copy" 5
fail_full sigint@$MIB "SIGINT mid-copy" 7

# an incremental whose base is missing does a full copy; it fails with EIO
rm -f "$T/bk/a.img"
cbt 9; change 30 9
runenv BLKSNAPCTL_FAKE_FAULT=eio@$MIB backup incremental "$T/dev0" --base "$T/bk/a.img" --state "$T/bk/a.state"
ok $(( rc == 0 )) "missing base, full copy with EIO: fails"
cbt 10; change 31 10
run backup incremental "$T/dev0" --base "$T/bk/a.img" --state "$T/bk/a.state"
ok $(( rc != 0 || $(same "$T/bk/a.img"; echo $?) )) "missing base, EIO: the next incremental equals the image"

# --- 3. the state is bound to its base
cbt 11; change 5 11
run backup full "$T/dev0" -o "$T/bk/b.img" --state "$T/bk/b.state"
cp "$T/bk/b.img" "$T/bk/b-first.img"
cbt 12; change 6 12
run backup incremental "$T/dev0" --base "$T/bk/b.img" --state "$T/bk/b.state"
cbt 13; change 7 13
cp "$T/bk/b-first.img" "$T/bk/b.img"		# the man page's mistake
run backup incremental "$T/dev0" --base "$T/bk/b.img" --state "$T/bk/b.state"
ok $(( rc == 0 )) "wrong base (cp of the first full over the base): refused"
grep -qi "base" <<<"$err"; ok $? "wrong base: the message names the base"
cp -a "$T/bk/b-first.img" "$T/bk/b.img"
run backup incremental "$T/dev0" --base "$T/bk/b.img" --state "$T/bk/b.state"
ok $(( rc == 0 )) "wrong base (cp -a, mtime and xattrs kept): refused"

# --- 4. CBT generation and changes_number rule
run backup full "$T/dev0" -o "$T/bk/c.img" --state "$T/bk/c.state"
mode_for() { # changes_number generation
	cbt "$1" "$2"
	run --json backup incremental "$T/dev0" --base "$T/bk/c.img" --state "$T/bk/c.state"
	sed -n 's/.*"mode":"\([a-z]*\)".*/\1/p' <<<"$out"
}
m=$(mode_for 13 $GEN); [ "$m" = full ]; ok $? "same generation, same changes_number: full (got $m)"
m=$(mode_for 14 $GEN); [ "$m" = incremental ]; ok $? "same generation, changes_number + 1: incremental (got $m)"
m=$(mode_for 3 $GEN); [ "$m" = full ]; ok $? "same generation, smaller changes_number (wrap): full (got $m)"
m=$(mode_for 200 $GEN2); [ "$m" = full ]; ok $? "new generation: full (got $m)"
cbt 14

# --- 5. IMAGE must be the snapshot's image of DEVICE
run backup incremental "$T/dev0" "$T/dev1" --base "$T/bk/c.img" --state "$T/bk/c.state"
ok $(( rc == 0 )) "incremental DEV with another device as IMAGE: refused"
run backup incremental "$T/dev0" "$IMG" --base "$T/bk/c.img" --state "$T/bk/c.state"
ok $rc "incremental DEV with its own image: accepted"

# --- 6. decimal numbers
rm -f "$T/dev0.dirty"
run markdirty "$T/dev0" 0001000:8 0x10:010
grep -qx "1000 8" "$T/dev0.dirty" 2>/dev/null; ok $? "markdirty 0001000:8 is sector 1000, not octal 512"
grep -qx "16 10" "$T/dev0.dirty" 2>/dev/null; ok $? "markdirty 0x10:010 is 16 (explicit hex), 10 sectors"
run --json cbtmap "$T/dev0" --offset 010 --length 08
grep -q '"offset":10,"length":8' <<<"$out"; ok $? "cbtmap --offset 010 --length 08: 10 and 8"

# --- 7. storage files: only ever created by the tool
UUID=0123456789abcdef0123456789abcdef
echo 01234567-89ab-cdef-0123-456789abcdef > "$T/snapshots"
mkdir -p "$T/st"; chmod 755 "$T/st"
head -c $MIB /dev/zero > "$T/st/foreign"; chown 65534:65534 "$T/st/foreign"
run snapshot append $UUID "$T/st/foreign"
ok $(( rc == 0 )) "an existing file owned by another user: refused"
lsattr "$T/st/foreign" 2>/dev/null | grep -q '^[^ ]*i'; ok $(( ! $? )) "the foreign file is not made immutable"
[ ! -s "$T/append.log" ]; ok $? "no extents of the foreign file handed to the kernel"
head -c $MIB /dev/zero > "$T/st/mine"
run snapshot append $UUID "$T/st/mine"
ok $(( rc == 0 )) "an existing root-owned file: refused (never adopted)"
mkdir -p "$T/st777"; chmod 777 "$T/st777"
run snapshot append $UUID "$T/st777/new" --size 1M
ok $(( rc == 0 )) "a directory writable by others: refused"
[ ! -e "$T/st777/new" ]; ok $? "no file created in it"
mkdir -p "$T/stusr"; chown 65534 "$T/stusr"; chmod 755 "$T/stusr"
run snapshot append $UUID "$T/stusr/new" --size 1M
ok $(( rc == 0 )) "a directory owned by another user: refused"
nl=$'a\nb'
mkdir -p "$T/st/$nl"
run snapshot append $UUID "$T/st/$nl/f" --size 1M
ok $(( rc == 0 )) "a path with a newline: refused"
[ ! -e "$T/st/$nl/f" ]; ok $? "no file created under the newline path"
: > "$T/append.log"
run snapshot append $UUID "$T/st/good" --size 1M
ok $rc "a new file in a root-owned 0755 directory: accepted"
lsattr "$T/st/good" 2>/dev/null | grep -q '^[^ ]*i'; ok $? "the new file is immutable"
[ -s "$T/append.log" ]; ok $? "its extents were appended"
for fst in 0xF2F52010:f2fs 0x3434:nilfs2 0x9123683E:btrfs; do
	runenv BLKSNAPCTL_FAKE_FSTYPE=${fst%:*} snapshot append $UUID "$T/st/fs-${fst#*:}" --size 1M
	ok $(( rc == 0 )) "a file on ${fst#*:}: refused"
	[ ! -e "$T/st/fs-${fst#*:}" ]; ok $? "no file left on ${fst#*:}"
done
# a storage file on a device stacked over a device of the snapshot
sdev=$(stat -c '%d' "$T/st")
smaj=$((sdev >> 8 & 0xfff)) smin=$(( (sdev & 0xff) | (sdev >> 12 & 0xfff00) ))
mkdir -p "$T/sys/dev/block/$smaj:$smin/slaves/fakedm0" "$T/sys/class/block/fakedm0"
echo "253:77" > "$T/sys/class/block/fakedm0/dev"
mkdir -p "$T/sys/dev/block/253:77/slaves/fakesd0" "$T/sys/class/block/fakesd0"
echo "8:77" > "$T/sys/class/block/fakesd0/dev"
mkdir -p "$T/sys/dev/block/8:77"
printf '# state\ndevice 8:77 /dev/fakesd0\n' > "$T/run/01234567-89ab-cdef-0123-456789abcdef"
run snapshot append $UUID "$T/st/stacked" --size 1M
ok $(( rc == 0 )) "a file on dm over dm over a snapshot device: refused"
grep -q "device of this snapshot" <<<"$err"; ok $? "stacked: says why"
rm -rf "$T/sys/dev/block/$smaj:$smin/slaves"
mkdir -p /dev/shm/bsc-host-$$ && : > /dev/shm/bsc-host-$$/backing
bdev=$(stat -c '%d' /dev/shm/bsc-host-$$/backing)
mkdir -p "$T/sys/dev/block/$smaj:$smin/loop"
echo "/dev/shm/bsc-host-$$/backing" > "$T/sys/dev/block/$smaj:$smin/loop/backing_file"
printf '# state\ndevice %u:%u /dev/fake\n' $((bdev >> 8 & 0xfff)) $(( (bdev & 0xff) | (bdev >> 12 & 0xfff00) )) \
	> "$T/run/01234567-89ab-cdef-0123-456789abcdef"
run snapshot append $UUID "$T/st/loop" --size 1M
ok $(( rc == 0 )) "a file on a loop device backed by a file on a snapshot device: refused"
rm -rf "$T/sys" "$T/run/01234567-89ab-cdef-0123-456789abcdef"

# --- 8. the state's temporary file is not a predictable path followed
echo precious > "$T/victim"
ln -s "$T/victim" "$T/bk/d.state.tmp"
run backup full "$T/dev0" -o "$T/bk/d.img" --state "$T/bk/d.state"
[ "$(cat "$T/victim")" = precious ]; ok $? "a symlink at STATE.tmp: its target is untouched"
ok $rc "a symlink at STATE.tmp: the backup still succeeds"
echo precious > "$T/victim"
ln -s "$T/victim" "$T/bk/e.img.tmp"
run backup full "$T/dev0" -o "$T/bk/e.img"
[ "$(cat "$T/victim")" = precious ]; ok $? "a symlink near the output: its target is untouched"

# --- 9. watch
run watch fedcba98765432100123456789abcdef --dir "$T/st" --step 1M --limit 4M
ok $(( rc == 0 )) "watch with a UUID that does not exist: an error"
run --json watch $UUID --dir "$T/st" --step 1536 --limit 1M
ok $(( rc != 0 )) "watch: snapshot gone at once, exit 0"
BLKSNAPCTL_FAKE_EVENTS=lfs:3 run --json watch $UUID --dir "$T/st" --step 1536 --limit 1M
f=$(sed -n 's/.*"appended":"\([^"]*\)".*/\1/p' <<<"$out" | head -1)
sz=$([ -n "$f" ] && stat -c %s "$f" 2>/dev/null)
grep -q "\"bytes\":${sz:-x}," <<<"$out"; ok $? "watch --dir: bytes reported = the file's size (${sz:-none})"
rm -f "$T/dev2"; head -c $MIB /dev/zero > "$T/dev2"; : > "$T/append.log"
BLKSNAPCTL_FAKE_EVENTS=lfs:2 run --json watch $UUID --device "$T/dev2" --step 512 --limit 1000
grep -q '"bytes":512,' <<<"$out"; ok $? "watch --device, limit 1000: 512 bytes appended and reported"
chattr -R -i "$T/st"; rm -f "$T"/st/blksnap-*
BLKSNAPCTL_FAKE_EVENTS=lfs:8 BLKSNAPCTL_FAKE_MAXALLOC=$MIB run --json watch $UUID --dir "$T/st" --step 4M --limit 16M
ok $(( rc != 0 )) "watch: an append that fails is retried smaller (exit 0)"
grep -q "\"bytes\":$MIB," <<<"$out"; ok $? "watch: 1 MiB appended after 4 MiB and 2 MiB failed"

# --- 10. output: escaped JSON, errors as JSON, per-command --help
q="$T/q\"uo\\te"
cp "$T/dev0" "$q"
run --json attach "$q"
grep -qF '"device":"'"${T//\\/\\\\}"'/q\"uo\\te"' <<<"$out"; ok $? "--json: a device path with a quote and a backslash is escaped"
run --json snapshot take 0123
ok $(( rc != 2 )) "--json, bad snapshot id: exit 2"
grep -q '^{"error":"usage","exit_code":2,"message":"bad snapshot id' <<<"$err"; ok $? "--json: a usage error is a JSON object on stderr"
run --json attach "$T/dev0"
grep -q '^{"error":"EALREADY","exit_code":7,' <<<"$err"; ok $? "--json: a failure is a JSON object with its errno and exit code"
run attach --help
ok $rc "attach --help: exit 0"
grep -q '^usage: blksnapctl .*attach DEV' <<<"$out"; ok $? "attach --help: its usage"
run snapshot take --help
grep -q 'snapshot take UUID' <<<"$out" && ! grep -q 'snapshot add' <<<"$out"; ok $? "snapshot take --help: only its own usage"

# --- 11. JSON errors parse; the module missing on every path; version
# json_errors TEXT: every line a JSON object with an "error" member
json_errors() {
	if command -v python3 > /dev/null; then
		python3 -c 'import json, sys
lines = [l for l in sys.stdin.read().splitlines() if l]
sys.exit(0 if lines and all("error" in json.loads(l) for l in lines) else 1)' <<<"$1"
	elif perl -MJSON::PP -e 1 2> /dev/null; then
		perl -MJSON::PP -ne 'BEGIN { $n = 0 } next unless /\S/; $n++; exit 1 unless exists decode_json($_)->{error}; END { exit 1 unless $n }' <<<"$1"
	else
		jq -e 'has("error")' <<<"$1" > /dev/null
	fi
}
run --json snapshot take 0123
json_errors "$err"; ok $? "--json: a usage error parses as JSON with an \"error\" member"
run --json attach "$T/dev0"
json_errors "$err"; ok $? "--json: a failure (EALREADY) parses as JSON with an \"error\" member"
q2="$T/ctl"$'\001'"\"\\name"
run --json cbtinfo "$q2"
json_errors "$err"; ok $? "--json: an error naming a path with a control character, a quote and a backslash parses"
export BLKSNAPCTL_FAKE_NOMODULE=1
bad=0
for c in "attach $T/dev0" "detach $T/dev0" "cbtinfo $T/dev0" "cbtmap $T/dev0" \
	"markdirty $T/dev0 0:8" "snapshot create" "snapshot add $UUID $T/dev0" \
	"snapshot append $UUID $T/nomod.st --size 1M" "snapshot take $UUID" \
	"snapshot info $T/dev0" "snapshot collect" "snapshot wait $UUID --timeout 1" \
	"snapshot destroy $UUID" "watch $UUID --dir $T/st --step 1M --limit 1M" \
	"backup full $T/dev0 -o $T/bk/nomod.img"; do
	# shellcheck disable=SC2086
	run $c
	if [ $rc != 12 ] || ! grep -qF 'blksnap module not loaded: modprobe blksnap' <<<"$err"; then
		echo "# without the module: blksnapctl $c: exit $rc, $err"; bad=1
	fi
	# shellcheck disable=SC2086
	run --json $c
	json_errors "$err" || { echo "# --json $c: not a JSON error: $err"; bad=1; }
done
ok $bad "without the module every command says 'modprobe blksnap', exits 12, and --json gives a JSON error"
run version
ok $rc "version without the module: exit 0"
grep -q '^blksnapctl .*module not loaded' <<<"$out" && ! grep -q '1\.0' <<<"$out"; ok $? "version without the module: the tool's version, the module not loaded"
run --json version
grep -q '^{"tool":"[^"]*","module_loaded":false}$' <<<"$out"; ok $? "--json version without the module: tool and module_loaded false"
run -V
ok $(( rc != 0 || $(grep -c . <<<"$out") != 1 )) "-V without the module: one line, exit 0"
unset BLKSNAPCTL_FAKE_NOMODULE
run --json version
grep -q '"module":"[0-9.]*","module_loaded":true' <<<"$out"; ok $? "--json version with the module: its version"

# --- 12. a whole device as storage: signatures refused unless --force
sig() { # NAME OFFSET PRINTF-BYTES: a 1 MiB "device" with a signature
	head -c $MIB /dev/zero > "$T/$1"
	printf "$3" | dd of="$T/$1" bs=1 seek="$2" conv=notrunc status=none
}
sig s-ext4 1080 '\123\357'
sig s-xfs 0 'XFSB'
sig s-btrfs 65600 '_BHRfS_M'
sig s-swap 4086 'SWAPSPACE2'
sig s-luks 0 'LUKS\272\276'
sig s-mbr 510 '\125\252'
sig s-gpt 512 'EFI PART'
sig s-lvm 512 'LABELONE'; printf 'LVM2 001' | dd of="$T/s-lvm" bs=1 seek=536 conv=notrunc status=none
bad=0
for d in ext4 xfs btrfs swap luks mbr gpt lvm; do
	BLKSNAPCTL_FAKE_EVENTS= run --json watch $UUID --device "$T/s-$d" --step 512 --limit 4096
	if [ $rc != 6 ] || ! grep -q '"error":"EBUSY".*refusing to use the whole device.*--force' <<<"$err"; then
		echo "# $d: exit $rc: $err"; bad=1
	fi
done
ok $bad "watch --device: a whole device with ext4, xfs, btrfs, swap, LUKS, MBR, GPT or LVM2 signature is refused (EBUSY, names --force)"
: > "$T/append.log"
run --json watch $UUID --device "$T/s-ext4" --step 512 --limit 4096 --force
ok $(( rc != 0 )) "watch --device --force: a signed whole device is used"
grep -q "s-ext4" "$T/append.log"; ok $? "watch --device --force: its sectors were appended"
head -c $MIB /dev/zero > "$T/s-none"
run --json watch $UUID --device "$T/s-none" --step 512 --limit 4096
ok $(( rc != 0 )) "watch --device: a whole device without a signature is used"

# --- 13. watch appends before it reports ready; take --wait-storage
: > "$T/append.log"
export BLKSNAPCTL_FAKE_TAKE_NEEDS_STORAGE=1
run snapshot take $UUID
ok $(( rc != 9 )) "take without storage: ENOSPC (exit 9)"
run snapshot take $UUID --timeout 1
ok $(( rc != 2 )) "take --timeout without --wait-storage: a usage error"
run --json watch $UUID --dir "$T/st" --step 1M --limit 4M
first=$(head -1 <<<"$out")
grep -q '^{"event":"ready","appended":"[^"]*","bytes":1048576,"total":1048576}$' <<<"$first"; ok $? "watch: its first line is ready, after 1 MiB was appended"
: > "$T/append.log"
( sleep 1; "$BIN" watch $UUID --dir "$T/st" --step 1M --limit 4M > "$T/watch.out" 2>&1 ) &
wpid=$!
run snapshot take $UUID --wait-storage --timeout 20
wait $wpid
ok $rc "take --wait-storage started before watch: it waits for the storage and succeeds"
grep -q '^ready: appended' "$T/watch.out"; ok $? "watch: 'ready: appended ...' in text"
: > "$T/append.log"
run snapshot take $UUID --wait-storage --timeout 1
ok $(( rc != 9 )) "take --wait-storage with no watch: ENOSPC after the timeout"
unset BLKSNAPCTL_FAKE_TAKE_NEEDS_STORAGE

# --- 14. bash completion
COMPL=$(dirname "$0")/../blksnapctl.bash-completion
# complete WORDS...: the completions of the last word
complete_of() {
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _blksnapctl; echo "${COMPREPLY[*]}"' _ "$COMPL" "$@"
}
bad=0
for c in $("$BIN" --help | sed -n 's/^  \([a-z]*\).*/\1/p' | sort -u); do
	grep -qw "$c" <<<"$(complete_of blksnapctl '')" || { echo "# completion lacks command $c"; bad=1; }
done
for c in $("$BIN" --help | sed -n 's/^  \(snapshot\|backup\) \([a-z]*\).*/\1:\2/p' | sort -u); do
	grep -qw "${c#*:}" <<<"$(complete_of blksnapctl "${c%%:*}" '')" || { echo "# completion lacks ${c/:/ }"; bad=1; }
done
ok $bad "bash completion: every command and subcommand of --help"
[ "$(complete_of blksnapctl snapshot take x --w)" = "--wait-storage" ]; ok $? "bash completion: snapshot take --w -> --wait-storage"
[ "$(complete_of blksnapctl watch x --fo)" = "--force" ]; ok $? "bash completion: watch --fo -> --force"
bad=0
for c in attach detach cbtinfo cbtmap markdirty "snapshot create" "snapshot add" "snapshot append" \
	"snapshot take" "snapshot info" "snapshot collect" "snapshot wait" "snapshot destroy" watch \
	"backup full" "backup incremental" version; do
	# shellcheck disable=SC2086
	run $c --help
	[ $rc = 0 ] && grep -q "^usage: blksnapctl .*${c#* }" <<<"$out" || { echo "# $c --help: exit $rc"; bad=1; }
done
ok $bad "every command and subcommand: --help prints its usage, exit 0"

echo "1..$n"
echo "# blksnapctl host tests: $((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
