#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# version.sh: print the project's release number, X.Y.Z from the first
# "blksnap X.Y.Z (date)" line of NEWS.  It versions the packages and the
# DKMS tree; the interface level (2.0.0.0, module/version.h) is separate.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd -P)
v=$(sed -n 's/^blksnap \([0-9][0-9.]*[0-9]\) (.*)$/\1/p' "$TOP/NEWS" | head -n1)
[ -n "$v" ] || { echo "version.sh: no \"blksnap X.Y.Z (date)\" line in $TOP/NEWS" >&2; exit 1; }
echo "$v"
