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
# A reader never writes (it may not be able to): it migrates a copy in memory.
check "history leaves the journal at schema 1 on disk" test "$(sql "$root" 'PRAGMA user_version')" = 1
expect_exit 0 "recover (a writing command) on the schema-1 journal" "$IOMMUCTL" --root "$root" recover
check "the journal is migrated to the newest schema" test "$(sql "$root" 'PRAGMA user_version')" = "$(ls "$SRCDIR"/schema/*.sql | wc -l)"
check "schema 2's table exists" test "$(sql "$root" "SELECT count(*) FROM sqlite_master WHERE name = 'hook_run'")" = 1
expect_exit 0 "a snapshot on the migrated journal" "$IOMMUCTL" --root "$root" snapshot
expect_exit 0 "show of the new transaction" "$IOMMUCTL" --root "$root" show 2
contains "show prints the hooks section from schema 2" "$out" "hooks: none run"
check "integrity_check passes" test "$(sql "$root" 'PRAGMA integrity_check')" = ok

# ---- schema 3 → 4: change sets, Unix times, rollback notes ----
# A schema-3 journal as iommuctl wrote it (rows in the shapes its code made): a snapshot
# of two files, an apply and its rollback twice (so two change sets are shared), a rollback
# whose note got a suffix, a failed apply, a hook run and a salvaged content. Every row of
# the old file_change table must come back through the file_change view, and nothing that
# references txn may be lost when schema 4 rebuilds it (with foreign keys on, DROP TABLE txn
# would have deleted the hook runs by cascade).
v3=$(new_root pve8-grub)
mkdir -p "$v3/var/lib/iommuctl"
h() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
A=$(h a) B=$(h b) C=$(h c) O=$(h output)
sqlite3 "$(journal_of "$v3")" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
.read $SRCDIR/schema/0001-initial.sql
.read $SRCDIR/schema/0002-hook-runs.sql
.read $SRCDIR/schema/0003-indexes.sql
PRAGMA user_version = 3;
INSERT INTO blob(hash, size, zdata) VALUES ('$A', 1, x'78da4b040000620062'), ('$B', 1, x'78da4b020000630063'),
  ('$C', 1, x'78da4b060000640064'), ('$O', 6, x'78dacb2f2d29282d0100096702b2');
INSERT INTO txn(id, kind, state, profile, note, undoes, started_at, finished_at, user, version) VALUES
  (1, 'snapshot', 'committed', NULL, 'baseline', NULL, '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', 'root', '0.1.0'),
  (2, 'apply', 'committed', 'vfio', NULL, NULL, '2026-01-02T10:00:00Z', '2026-01-02T10:00:02Z', 'root', '0.1.0'),
  (3, 'rollback', 'committed', 'vfio', 'undo transaction 2', 2, '2026-01-03T10:00:00Z', '2026-01-03T10:00:01Z', 'root', '0.1.0'),
  (4, 'apply', 'committed', 'vfio', NULL, NULL, '2026-01-04T10:00:00Z', '2026-01-04T10:00:01Z', 'root', '0.1.0'),
  (5, 'rollback', 'committed', 'vfio', 'undo transaction 4; update-initramfs failed', 4, '2026-01-05T10:00:00Z', '2026-01-05T10:00:01Z', 'admin', '0.1.0'),
  (6, 'apply', 'failed', 'nvidia', 'disk full', NULL, '2026-01-06T10:00:00Z', '2026-01-06T10:00:01Z', 'root', '0.1.0');
UPDATE sqlite_sequence SET seq = 9 WHERE name = 'txn';
INSERT INTO file_change VALUES
  (1, '/etc/modules', '$A', 420, 0, 0, '$A', 420, 0, 0),
  (1, '/etc/default/grub', '$B', 420, 0, 0, '$B', 420, 0, 0),
  (2, '/etc/modules', '$A', 420, 0, 0, '$C', 420, 0, 0),
  (2, '/etc/modprobe.d/vfio.conf', NULL, NULL, NULL, NULL, '$B', 384, 0, 0),
  (3, '/etc/modules', '$C', 420, 0, 0, '$A', 420, 0, 0),
  (3, '/etc/modprobe.d/vfio.conf', '$B', 384, 0, 0, NULL, NULL, NULL, NULL),
  (4, '/etc/modules', '$A', 420, 0, 0, '$C', 420, 0, 0),
  (4, '/etc/modprobe.d/vfio.conf', NULL, NULL, NULL, NULL, '$B', 384, 0, 0),
  (5, '/etc/modprobe.d/vfio.conf', '$B', 384, 0, 0, NULL, NULL, NULL, NULL),
  (5, '/etc/modules', '$C', 420, 0, 0, '$A', 420, 0, 0),
  (6, '/etc/modules', '$A', 420, 0, 0, '$B', 420, 1000, 1000);
INSERT INTO hook_run VALUES (4, 1, '/usr/sbin/update-initramfs -u -k all', 0, '$O', '2026-01-04T10:00:01Z', '2026-01-04T10:00:02Z');
INSERT INTO salvage VALUES (6, '/etc/modules', '$C', 420, 0, 0, '2026-01-06T10:00:01Z');
SQL
rows_before=$(sql "$v3" 'SELECT * FROM file_change ORDER BY txn, path')
expect_exit 0 "history opens the schema-3 journal" "$IOMMUCTL" --root "$v3" --json history
cp "$TEST_TMP/.out" "$TEST_TMP/v3-history.json"
check "history leaves it at schema 3 on disk" test "$(sql "$v3" 'PRAGMA user_version')" = 3
expect_exit 0 "recover (a writing command) migrates it" "$IOMMUCTL" --root "$v3" recover
check "it is migrated to schema 4 or later" test "$(sql "$v3" 'PRAGMA user_version')" -ge 4
check "every file row reads back the same through the file_change view" \
	test "$(sql "$v3" 'SELECT * FROM file_change ORDER BY txn, path')" = "$rows_before"
check "identical changes share a change set (6 transactions with files, 4 distinct changes)" \
	test "$(sql "$v3" "SELECT count(*) || '/' || count(DISTINCT change_set) FROM txn WHERE change_set IS NOT NULL")" = 6/4
check "the hook run survives the rebuild of txn" test "$(sql "$v3" 'SELECT txn || " " || argv FROM hook_run')" = "4 /usr/sbin/update-initramfs -u -k all"
check "the salvaged content survives" test "$(sql "$v3" 'SELECT txn || " " || path FROM salvage')" = "6 /etc/modules"
check "times are Unix seconds" test "$(sql "$v3" 'SELECT typeof(started_at) || " " || started_at FROM txn WHERE id = 2')" = "integer 1767348000"
check "a rollback keeps only the suffix of its note" test "$(sql "$v3" "SELECT quote(note) FROM txn WHERE id IN (3, 5) ORDER BY id")" = "NULL
'update-initramfs failed'"
check "last_committed ignores the failed apply" \
	test "$(sql "$v3" "SELECT last_committed FROM change_set c JOIN change_set_file f ON f.change_set = c.id WHERE f.path = '/etc/modules' AND f.after_hash = '$B'")" = ""
check "integrity_check passes" test "$(sql "$v3" 'PRAGMA integrity_check')" = ok
check "foreign_key_check finds nothing" test -z "$(sql "$v3" 'PRAGMA foreign_key_check')"
check "history shows the old times, notes and file counts as before" json_check "$TEST_TMP/v3-history.json" '(lambda by:
by[2]["started_at"] == "2026-01-02T10:00:00Z" and by[2]["finished_at"] == "2026-01-02T10:00:02Z" and
by[3]["note"] == "undo transaction 2" and by[5]["note"] == "undo transaction 4; update-initramfs failed" and
by[5]["user"] == "admin" and [len(by[i]["files"]) for i in range(1, 7)] == [2, 2, 2, 2, 2, 1] and
by[6]["state"] == "failed")({t["id"]: t for t in d})'
expect_exit 0 "show of a migrated transaction" "$IOMMUCTL" --root "$v3" --json show 4
check "show lists its files and its hook run" json_check "$TEST_TMP/.out" '
sorted(f["path"] for f in d["files"]) == ["/etc/modprobe.d/vfio.conf", "/etc/modules"] and len(d["hooks"]) == 1'
expect_exit 0 "a snapshot after the migration" "$IOMMUCTL" --root "$v3" snapshot
check "the new transaction continues the old id sequence (10, not 7)" test "$(sql "$v3" 'SELECT max(id) FROM txn')" = 10
check "schema 5: the transactions from before it have no boot id" \
	test "$(sql "$v3" 'SELECT count(*) FROM txn WHERE id < 10 AND boot_id IS NULL')" = 6
check "the new transaction records the id of this boot (/proc/sys/kernel/random/boot_id)" \
	test "$(sql "$v3" 'SELECT boot_id FROM txn WHERE id = 10')" = "$(cat /proc/sys/kernel/random/boot_id)"

# ---- schema 5 → 6: txn is rebuilt for kind 'trial' (a CHECK cannot be altered), trial table ----
check "schema 6: the rebuilt txn keeps every row, id and boot id" \
	test "$(sql "$v3" 'SELECT count(*) || "/" || max(id) || "/" || count(boot_id) FROM txn')" = "7/10/1"
check "schema 6: the id sequence survives the rebuild" test "$(sql "$v3" "SELECT seq FROM sqlite_sequence WHERE name = 'txn'")" = 10
check "schema 6: txn accepts kind 'trial' and still refuses an unknown kind" sh -c "
	sqlite3 '$(journal_of "$v3")' \"INSERT INTO txn(kind, state, started_at, user, version) VALUES ('trial', 'committed', 0, 'root', 'x')\" &&
	! sqlite3 '$(journal_of "$v3")' \"INSERT INTO txn(kind, state, started_at, user, version) VALUES ('bogus', 'committed', 0, 'root', 'x')\" 2>/dev/null"
check "schema 6: the trial table exists with its state CHECK" sh -c "
	sqlite3 '$(journal_of "$v3")' \"INSERT INTO trial(txn, state, cmdline_add) VALUES (11, 'armed', 'iommuctl.trial=11')\" &&
	! sqlite3 '$(journal_of "$v3")' \"INSERT INTO trial(txn, state, cmdline_add) VALUES (11, 'bogus', '')\" 2>/dev/null"
check "schema 6: the file_change view reads the rebuilt txn" \
	test "$(sql "$v3" 'SELECT * FROM file_change WHERE txn < 10 ORDER BY txn, path')" = "$rows_before"
check "schema 6: indexes on txn are back" \
	test "$(sql "$v3" "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'txn' AND name IN ('txn_undoes', 'txn_pending', 'txn_committed_snapshot')")" = 3
check "schema 6: the hook run still points at its transaction" test -z "$(sql "$v3" 'PRAGMA foreign_key_check')"

# A schema-3 journal whose file row names content the blob table lacks: the migration must
# refuse (its reference check), not store the content empty, and leave the journal as it was.
gap=$(new_root pve8-grub)
mkdir -p "$gap/var/lib/iommuctl"
sqlite3 "$(journal_of "$gap")" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
.read $SRCDIR/schema/0001-initial.sql
.read $SRCDIR/schema/0002-hook-runs.sql
.read $SRCDIR/schema/0003-indexes.sql
PRAGMA user_version = 3;
INSERT INTO txn(id, kind, state, started_at, finished_at, user, version)
  VALUES (1, 'snapshot', 'committed', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', 'root', '0.1.0');
INSERT INTO file_change VALUES (1, '/etc/modules', '$A', 420, 0, 0, '$A', 420, 0, 0);
SQL
expect_exit 6 "a schema-3 journal naming a missing content is not migrated" "$IOMMUCTL" --root "$gap" history
contains "the message says which reference would break" "$err" "would leave a row of change_set_file pointing at a missing row of blob"
check "the journal stays at schema 3" test "$(sql "$gap" 'PRAGMA user_version')" = 3
check "and no content was made up for it" test "$(sql "$gap" 'SELECT count(*) FROM blob')" = 0

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
