#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# inroot.sh ROOT DIR[,DIR...] COMMAND...: run COMMAND inside the build root
# ROOT (scripts/buildroot.sh) with each DIR visible at its own path, in the
# current directory.  Everything happens in a private mount namespace, so
# the mounts vanish with the command and several runs may share one root:
#   /proc  a fresh procfs (objtool reads /proc/self; without it every
#          kernel build step, compile probes included, fails)
#   /dev   the host's
#   DIRs   bind mounts (the module source, the kernel root)
set -euo pipefail
ROOT=$(realpath "$1")
DIRS=$2
shift 2
[ -f "$ROOT/.done" ] || { echo "inroot: $ROOT is not a build root" >&2; exit 2; }
IFS=, read -r -a dirs <<<"$DIRS"
for d in "${dirs[@]}"; do
	[ -n "$d" ] && mkdir -p "$ROOT$(realpath "$d")"
done
# shellcheck disable=SC2016
exec unshare --mount --propagation private --pid --fork -- /bin/bash -c '
	set -e
	R=$1 DIRS=$2 CWD=$3
	shift 3
	mount -t proc proc "$R/proc"
	mount --rbind /dev "$R/dev"
	IFS=, read -r -a dirs <<<"$DIRS"
	for d in "${dirs[@]}"; do
		[ -n "$d" ] && mount --bind "$d" "$R$(realpath "$d")"
	done
	exec chroot "$R" /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$CWD" "$@"
' inroot "$ROOT" "$DIRS" "$(pwd -P)" "$@"
