-- SPDX-License-Identifier: GPL-2.0-or-later
-- shape.sql — one line per distinct row shape of a journal: every column's type and, where
-- the value is not an id or a time, the value itself (the id in a rollback's note written N). Two journals
-- whose rows have the same shapes print the same lines. file_change is schema 4's view: a
-- transaction's rows through its change set.
SELECT DISTINCT 'txn', kind, state, quote(profile), quote(CASE WHEN undoes IS NULL THEN note ELSE replace(note, undoes, 'N') END),
       typeof(undoes), (undoes IS NULL OR undoes < id), typeof(started_at), typeof(finished_at), user, version
  FROM txn
UNION ALL
SELECT DISTINCT 'file_change', path, quote(before_hash), before_mode, before_uid, before_gid,
       quote(after_hash), after_mode, after_uid, after_gid, typeof(txn)
  FROM file_change
UNION ALL
SELECT DISTINCT 'hook_run', argv, status, quote(output_hash), typeof(seq), NULL, NULL, NULL, NULL, NULL, NULL
  FROM hook_run
ORDER BY 1, 2, 3, 4, 5, 6, 7;
