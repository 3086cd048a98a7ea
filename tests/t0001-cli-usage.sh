#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0001 — global options, per-command help, and usage errors (exit 2) as DESIGN.md §2 says.
. "$(dirname "$0")/test-lib.sh"

root=$(new_root pve8-grub)

expect_exit 0 "--version" "$IOMMUCTL" --version
contains "--version names the program and version" "$out" "iommuctl 0."
expect_exit 0 "--help" "$IOMMUCTL" --help
for c in snapshot history show diff rollback recover; do
	contains "--help lists $c" "$out" "  $c "
done
for c in snapshot history show diff rollback recover; do
	expect_exit 0 "$c --help" "$IOMMUCTL" "$c" --help
	contains "$c --help shows its usage" "$out" "Usage: iommuctl [GLOBAL OPTIONS] $c"
done
expect_exit 2 "no command" "$IOMMUCTL"
expect_exit 2 "unknown command" "$IOMMUCTL" --root "$root" frobnicate
contains "unknown command is named" "$err" "unknown command 'frobnicate'"
expect_exit 2 "unknown global option" "$IOMMUCTL" --frob history
contains "unknown option is named" "$err" "unrecognized option '--frob'"
expect_exit 2 "unknown command option" "$IOMMUCTL" --root "$root" history --frob
expect_exit 2 "missing argument of a global option" "$IOMMUCTL" history --root
contains "missing argument is named" "$err" "missing argument for option '--root'"
expect_exit 2 "missing argument of a command option" "$IOMMUCTL" --root "$root" snapshot -m
expect_exit 2 "missing TXN for show" "$IOMMUCTL" --root "$root" show
expect_exit 2 "too many arguments" "$IOMMUCTL" --root "$root" rollback 1 2
expect_exit 2 "--limit 0 is refused" "$IOMMUCTL" --root "$root" history --limit 0
expect_exit 2 "--limit with junk is refused" "$IOMMUCTL" --root "$root" history --limit 3x
expect_exit 2 "a root that does not exist" "$IOMMUCTL" --root "$TEST_TMP/nonexistent" history
contains "the missing root is named" "$err" "$TEST_TMP/nonexistent"

# Global options are accepted after the command and after its arguments too.
expect_exit 0 "first snapshot" "$IOMMUCTL" snapshot --root "$root"
expect_exit 0 "global options after positional arguments" "$IOMMUCTL" --root "$root" show 1 --json
check "show --json parses" "$PYTHON" -c 'import json,sys; json.loads(sys.argv[1])' "$out"
expect_exit 2 "show of an unknown transaction" "$IOMMUCTL" --root "$root" show 99
contains "unknown transaction message says what to do" "$err" "iommuctl history"
expect_exit 2 "show of a non-number" "$IOMMUCTL" --root "$root" show abc
expect_exit 2 "diff of an unknown transaction" "$IOMMUCTL" --root "$root" diff 99

# Read-only commands on a root without a journal create nothing.
fresh=$(new_root pve8-zfs)
expect_exit 0 "history without a journal" "$IOMMUCTL" --root "$fresh" history
contains "history without a journal says so" "$out" "no transactions recorded yet"
expect_exit 0 "history --json without a journal" "$IOMMUCTL" --root "$fresh" --json history
check "history --json without a journal is []" test "$out" = "[]"
expect_exit 2 "show without a journal" "$IOMMUCTL" --root "$fresh" show 1
check "read-only commands did not create a journal" test ! -e "$fresh/var"
plan_late
