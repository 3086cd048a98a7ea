#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# replicate.sh TEMPLATE.db OUT.db N K — a journal of exactly N transactions built from a real one.
#
# TEMPLATE.db was written by iommuctl itself: transactions 1..K are apply/rollback pairs that
# leave the files as they found them, K+1 and K+2 are two applies whose result is on disk.
# OUT.db is a copy of TEMPLATE.db (same schema, same blobs, same user_version) whose txn,
# file_change and hook_run rows are replaced: the pairs 1..K are repeated with new ids until
# N-2 rows, then the two applies follow as N-1 and N. Every copied row keeps every column of
# its original; only ids, the references to ids (undoes, and the id in a rollback's note
# "undo transaction N") and the times (shifted so that they grow with the id) change.
set -euo pipefail
tpl=$1 out=$2 n=$3 k=$4
(( n >= 4 && n % 2 == 0 && k % 2 == 0 )) || { echo "replicate.sh: N and K must be even" >&2; exit 2; }
pairs=$(( n - 2 ))
rm -f "$out" "$out-wal" "$out-shm"
cp "$tpl" "$out"
sqlite3 "$out" <<SQL
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TEMP TABLE t_txn AS SELECT * FROM main.txn;
CREATE TEMP TABLE t_fc AS SELECT * FROM main.file_change;
CREATE TEMP TABLE t_hr AS SELECT * FROM main.hook_run;
DELETE FROM main.hook_run;
DELETE FROM main.salvage;
DELETE FROM main.file_change;
DELETE FROM main.txn;
-- m(new, old, off): new id, template id, offset added to ids the row refers to.
CREATE TEMP TABLE m AS
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $pairs)
SELECT i + 1 AS new, (i % $k) + 1 AS old, i - (i % $k) AS off FROM s
UNION ALL SELECT $n - 1, $k + 1, 0
UNION ALL SELECT $n, $k + 2, 0;
INSERT INTO main.txn (id, kind, state, profile, note, undoes, started_at, finished_at, user, version)
SELECT m.new, t.kind, t.state, t.profile,
       CASE WHEN t.note LIKE 'undo transaction %' THEN 'undo transaction ' || (t.undoes + m.off) ELSE t.note END,
       t.undoes + m.off,
       strftime('%Y-%m-%dT%H:%M:%SZ', t.started_at, '-' || ($n - m.new) || ' seconds'),
       CASE WHEN t.finished_at IS NULL THEN NULL
            ELSE strftime('%Y-%m-%dT%H:%M:%SZ', t.finished_at, '-' || ($n - m.new) || ' seconds') END,
       t.user, t.version
FROM m JOIN t_txn t ON t.id = m.old ORDER BY m.new;
INSERT INTO main.file_change
SELECT m.new, f.path, f.before_hash, f.before_mode, f.before_uid, f.before_gid,
       f.after_hash, f.after_mode, f.after_uid, f.after_gid
FROM m JOIN t_fc f ON f.txn = m.old ORDER BY m.new, f.path;
INSERT INTO main.hook_run
SELECT m.new, h.seq, h.argv, h.status, h.output_hash,
       strftime('%Y-%m-%dT%H:%M:%SZ', h.started_at, '-' || ($n - m.new) || ' seconds'),
       CASE WHEN h.finished_at IS NULL THEN NULL
            ELSE strftime('%Y-%m-%dT%H:%M:%SZ', h.finished_at, '-' || ($n - m.new) || ' seconds') END
FROM m JOIN t_hr h ON h.txn = m.old ORDER BY m.new, h.seq;
UPDATE main.sqlite_sequence SET seq = $n WHERE name = 'txn';
COMMIT;
PRAGMA foreign_keys = ON;
VACUUM;
SQL
