#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# t0420-kmods-real-kernels.sh — libkmod access (src/lib/kmods.c) against Debian 12's real 6.1 and 6.12 module trees.
#
# Environment (from tests/meson.build):
#   BUILDDIR    the build tree; the kernels are cached in $BUILDDIR/kernel-cache
#               (about 170 MB of .deb and 12 MB of indexed trees, made once)
#   TEST_KMODS  the built tests/unit/test-kmods binary
#   SRCDIR      the source tree (default: the parent of this script's directory)
# Prints TAP: the unit binary's own, or "1..0 # SKIP" where the kernels cannot be
# downloaded (no apt-get, no network, apt lists without them) and none are cached.
# The first run downloads and runs depmod on both trees: give it a few minutes.

set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${SRCDIR:-$here/..}
fetch=$srcdir/tests/kernels/fetch-kernels.sh

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

[ -n "${BUILDDIR:-}" ] || skip_all "BUILDDIR is not set (run through meson test)"
if [ -z "${TEST_KMODS:-}" ] || [ ! -x "$TEST_KMODS" ]; then
	skip_all "TEST_KMODS does not name the built test-kmods"
fi
[ -f "$fetch" ] || skip_all "$fetch is missing"

cache=$BUILDDIR/kernel-cache
log=$(mktemp "${TMPDIR:-/tmp}/t0420.XXXXXX")
trap 'rm -f "$log" "$log.out"' EXIT

sh "$fetch" "$cache" >"$log.out" 2>"$log"
rc=$?
case $rc in
0) ;;
77)
	reason=$(tail -n 1 "$log")
	skip_all "cannot download Debian's kernels: ${reason#fetch-kernels: }"
	;;
*)
	echo "1..1"
	echo "not ok 1 - fetch-kernels.sh $cache failed (exit $rc)"
	sed 's/^/# /' "$log"
	exit 1
	;;
esac
sed 's/^/# /' "$log" "$log.out"

"$TEST_KMODS" "$cache/root"
