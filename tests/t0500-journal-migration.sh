#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0500 — a journal made by schema 1 (with sqlite3 and schema/0001-initial.sql alone, as the
# first release wrote it) opens with this binary, keeps its history and is migrated; a
# damaged or future journal gives a clean error (exit 6) and is left alone.
. "$(dirname "$0")/test-lib.sh"

root=$(new_root pve8-grub)
mkdir -p "$root/var/lib/iommuctl"
j=$(journal_of "$root")
sqlite3 "$j" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
.read $SRCDIR/schema/0001-initial.sql
PRAGMA user_version = 1;
INSERT INTO blob(hash, size, zdata) VALUES ('$(printf 'old\n' | sha256sum | cut -d' ' -f1)', 4, zeroblob(0));
INSERT INTO txn(kind, state, note, started_at, finished_at, user, version)
  VALUES ('snapshot', 'committed', 'written by schema 1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', 'root', '0.0.1');
SQL

check "the schema-1 journal reports version 1" test "$(sql "$root" 'PRAGMA user_version')" = 1
expect_exit 0 "history opens the schema-1 journal" "$IOMMUCTL" --root "$root" --json history
check "the old transaction is listed" json_check "$TEST_TMP/.out" 'd[0]["note"] == "written by schema 1" and d[0]["version"] == "0.0.1"'
check "the journal is migrated to the newest schema" test "$(sql "$root" 'PRAGMA user_version')" = "$(ls "$SRCDIR"/schema/*.sql | wc -l)"
check "schema 2's table exists" test "$(sql "$root" "SELECT count(*) FROM sqlite_master WHERE name = 'hook_run'")" = 1
expect_exit 0 "a snapshot on the migrated journal" "$IOMMUCTL" --root "$root" snapshot
expect_exit 0 "show of the new transaction" "$IOMMUCTL" --root "$root" show 2
contains "show prints the hooks section from schema 2" "$out" "hooks: none run"
check "integrity_check passes" test "$(sql "$root" 'PRAGMA integrity_check')" = ok

future=$(new_root pve8-grub)
mkdir -p "$future/var/lib/iommuctl"
sqlite3 "$(journal_of "$future")" 'PRAGMA user_version = 42; CREATE TABLE x(y);'
expect_exit 6 "a journal from a newer iommuctl is refused" "$IOMMUCTL" --root "$future" snapshot
contains "the message says which version and what to do" "$err" "schema version 42"
check "the future journal is left alone" test "$(sqlite3 "$(journal_of "$future")" 'PRAGMA user_version')" = 42

bad=$(new_root pve8-grub)
mkdir -p "$bad/var/lib/iommuctl"
head -c 8192 /dev/urandom >"$(journal_of "$bad")"
cp "$(journal_of "$bad")" "$TEST_TMP/bad.copy"
expect_exit 6 "a damaged journal gives exit 6" "$IOMMUCTL" --root "$bad" snapshot
contains "the message names the journal" "$err" "$(journal_of "$bad")"
contains "the message says what to do" "$err" "move it away"
expect_exit 6 "history on a damaged journal gives exit 6 too" "$IOMMUCTL" --root "$bad" history
check "the damaged journal is not modified" cmp "$(journal_of "$bad")" "$TEST_TMP/bad.copy"
check "no managed file was touched" test "$(manifest "$bad")" = "$(manifest "$(new_root pve8-grub)")"
plan_late
