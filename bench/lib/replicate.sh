#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# replicate.sh TEMPLATE.db OUT.db N K — a journal of exactly N transactions built from a real one.
#
# TEMPLATE.db was written by iommuctl itself: transactions 1..K are apply/rollback pairs that
# leave the files as they found them, K+1 and K+2 are two applies whose result is on disk.
# OUT.db is a copy of TEMPLATE.db (same schema, same blobs and change sets, same user_version)
# whose txn and hook_run rows are replaced: the pairs 1..K are repeated with new ids until N-2
# rows, then the two applies follow as N-1 and N. Every copied row keeps every column of its
# original, its change set included; only ids, the references to ids (undoes) and the times
# (shifted so that they grow with the id) change, and each change set's last_committed is
# recomputed. (Schema 4: file rows belong to change sets, which transactions share.)
set -euo pipefail
tpl=$1 out=$2 n=$3 k=$4
(( n >= 4 && n % 2 == 0 && k % 2 == 0 )) || { echo "replicate.sh: N and K must be even" >&2; exit 2; }
pairs=$(( n - 2 ))
rm -f "$out" "$out-wal" "$out-shm"
# iommuctl keeps its WAL; fold it into the template before copying the one file.
sqlite3 "$tpl" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
cp "$tpl" "$out"
sqlite3 "$out" <<SQL
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TEMP TABLE t_txn AS SELECT * FROM main.txn;
CREATE TEMP TABLE t_hr AS SELECT * FROM main.hook_run;
DELETE FROM main.hook_run;
DELETE FROM main.salvage;
DELETE FROM main.txn;
-- m(new, old, off): new id, template id, offset added to ids the row refers to.
CREATE TEMP TABLE m AS
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $pairs)
SELECT i + 1 AS new, (i % $k) + 1 AS old, i - (i % $k) AS off FROM s
UNION ALL SELECT $n - 1, $k + 1, 0
UNION ALL SELECT $n, $k + 2, 0;
INSERT INTO main.txn (id, kind, state, profile, note, undoes, change_set, started_at, finished_at, user, version)
SELECT m.new, t.kind, t.state, t.profile, t.note, t.undoes + m.off, t.change_set,
       t.started_at - ($n - m.new), t.finished_at - ($n - m.new), t.user, t.version
FROM m JOIN t_txn t ON t.id = m.old ORDER BY m.new;
INSERT INTO main.hook_run
SELECT m.new, h.seq, h.argv, h.status, h.output_hash,
       strftime('%Y-%m-%dT%H:%M:%SZ', h.started_at, '-' || ($n - m.new) || ' seconds'),
       CASE WHEN h.finished_at IS NULL THEN NULL
            ELSE strftime('%Y-%m-%dT%H:%M:%SZ', h.finished_at, '-' || ($n - m.new) || ' seconds') END
FROM m JOIN t_hr h ON h.txn = m.old ORDER BY m.new, h.seq;
UPDATE main.change_set SET last_committed =
       (SELECT max(t.id) FROM main.txn t WHERE t.change_set = change_set.id AND t.state = 'committed');
UPDATE main.sqlite_sequence SET seq = $n WHERE name = 'txn';
COMMIT;
PRAGMA foreign_keys = ON;
VACUUM;
SQL
