# SPDX-License-Identifier: GPL-2.0-or-later
# test-lib.sh — TAP helpers and sandbox roots for the shell tests (sourced, not run).
# Environment from tests/meson.build: IOMMUCTL (the binary), SRCDIR (source tree).
set -u

: "${IOMMUCTL:?IOMMUCTL must point at the iommuctl binary}"
: "${SRCDIR:?SRCDIR must point at the source tree}"
FIXTURES="$SRCDIR/fixtures"
# Debian's own interpreter: a version-manager shim in PATH can cost a third of a second per call.
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
export LC_ALL=C

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/iommuctl-test.XXXXXX")
trap 'rm -rf "$TEST_TMP"' EXIT
tap_n=0
tap_failed=0

plan() { echo "1..$1"; }
plan_late() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	local desc=$1; shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# run_cmd CMD...: run, keeping status, stdout and stderr in $rc, $out, $err.
run_cmd() {
	"$@" >"$TEST_TMP/.out" 2>"$TEST_TMP/.err"
	rc=$?
	out=$(cat "$TEST_TMP/.out")
	err=$(cat "$TEST_TMP/.err")
}

# expect_exit CODE DESCRIPTION CMD...: the command must exit with CODE.
expect_exit() {
	local want=$1 desc=$2; shift 2
	run_cmd "$@"
	if [ "$rc" -eq "$want" ]; then
		ok "$desc (exit $want)"
	else
		not_ok "$desc: exit $rc, wanted $want"
		diag "stdout: $out" "stderr: $err"
	fi
}

# contains DESCRIPTION HAYSTACK NEEDLE
contains() {
	case "$2" in
	*"$3"*) ok "$1" ;;
	*) not_ok "$1"; diag "wanted: $3" "in: $2" ;;
	esac
}

# new_root FIXTURE: copy fixtures/roots/FIXTURE into a fresh directory, print its path.
new_root() {
	local dir
	dir=$(mktemp -d "$TEST_TMP/root.XXXXXX")
	cp -a "$FIXTURES/roots/$1/." "$dir/"
	echo "$dir"
}

# kernels_or_skip: Debian's 6.1 and 6.12 module trees in $cache ($BUILDDIR/kernel-cache, fetched
# once by tests/kernels/fetch-kernels.sh); the whole script skips where they cannot be had.
kernels_or_skip() {
	cache=${BUILDDIR:?}/kernel-cache
	sh "$SRCDIR/tests/kernels/fetch-kernels.sh" "$cache" >/dev/null 2>"$TEST_TMP/fetch.log"
	case $? in
	0) ;;
	77) echo "1..0 # SKIP no Debian kernel packages: $(tail -n 1 "$TEST_TMP/fetch.log")"; exit 0 ;;
	*) echo "1..1"; echo "not ok 1 - fetch-kernels.sh failed"; diag "$(tail -n 5 "$TEST_TMP/fetch.log")"; exit 1 ;;
	esac
}

# kernel_root FIXTURE [GRUB-FIXTURE]: new_root FIXTURE with both kernels' module trees (hard links
# into $cache, merged-/usr like Debian 12), and the etc/ of a fixtures/grub root laid over it.
kernel_root() {
	local r
	r=$(new_root "$1")
	cp -al "$cache/root/usr" "$r/usr"
	rm -rf "$r/lib"; ln -s usr/lib "$r/lib"
	[ -z "${2:-}" ] || cp -a "$FIXTURES/grub/$2/etc/." "$r/etc/"
	echo "$r"
}

# nobody_copy PATH...: copies the binary and each PATH into a directory the unprivileged user
# "nobody" can reach (a checkout may sit in a 0700 directory) and prints it; empty when there is
# no nobody to be (not root, no setpriv). The binary is $dir/iommuctl, PATH's copy $dir/NAME.
nobody_copy() {
	command -v setpriv >/dev/null && [ "$(id -u)" = 0 ] || return 0
	local dir=$TEST_TMP/nobody
	mkdir -p "$dir"
	chmod 0755 "$TEST_TMP" "$dir"
	cp "$IOMMUCTL" "$dir/iommuctl"
	for p in "$@"; do cp -a "$p" "$dir/"; done
	chmod -R a+rX "$dir"
	echo "$dir"
}
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }

# manifest ROOT: every file under ROOT/etc with content hash, mode and owner, for exact comparison.
manifest() {
	(cd "$1" && find etc \( -type f -o -type l \) -printf '%p %m %U %G %y\n' | sort &&
		find etc -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

journal_of() { echo "$1/var/lib/iommuctl/journal.db"; }

# sql ROOT QUERY: a query against the root's journal, with sqlite3 (an oracle we did not write).
sql() { sqlite3 -batch -noheader "$(journal_of "$1")" "$2"; }

# json_check FILE PYTHON-EXPR: evaluate an assertion over the parsed JSON document `d`.
json_check() {
	"$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}
