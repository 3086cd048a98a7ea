-- SPDX-License-Identifier: GPL-2.0-or-later
-- Schema 4: a journal small enough to keep every transaction for the life of a host.
--
-- Until schema 3 every transaction repeated its file rows: path and two SHA-256s in
-- hex, about 145 bytes a file. An apply/rollback cycle of the gpu profile wrote
-- 1450 bytes, 14.6 MB for 10 000 cycles (measured by bench/run). Yet the same apply
-- makes the same change every time, and its rollback the inverse one. Now a
-- transaction points at a change set, stored once per distinct content, and the
-- times are Unix seconds instead of 20-character strings: about 150 bytes a cycle.
-- A rollback no longer stores the note "undo transaction N", which `undoes` already
-- says; journal.c puts it back when it reads the row.
--
-- file_change stays, as a view with the old columns, for people reading the journal
-- with sqlite3.
--
-- Needs foreign key enforcement off (journal.c migrates before it turns it on):
-- with it on, DROP TABLE txn would delete every hook_run row by cascade.

CREATE TABLE change_set (
	id             INTEGER PRIMARY KEY,
	hash           TEXT NOT NULL UNIQUE,  -- SHA-256 of its rows in canonical form (journal.c, change_set_hash)
	last_committed INTEGER                -- the newest committed transaction that made this change;
	                                      -- NULL while none has. A committed transaction stays committed,
	                                      -- so this only grows. It answers "what did iommuctl last write
	                                      -- to this file" without an index over every transaction.
);

-- One row per file of a change set; columns as in schema 1's file_change.
CREATE TABLE change_set_file (
	change_set  INTEGER NOT NULL REFERENCES change_set(id),
	path        TEXT NOT NULL,
	before_hash TEXT REFERENCES blob(hash),
	before_mode INTEGER,
	before_uid  INTEGER,
	before_gid  INTEGER,
	after_hash  TEXT REFERENCES blob(hash),
	after_mode  INTEGER,
	after_uid   INTEGER,
	after_gid   INTEGER,
	PRIMARY KEY (change_set, path)
) WITHOUT ROWID;
CREATE INDEX change_set_file_by_path ON change_set_file(path);

CREATE TABLE txn_new (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	kind        TEXT NOT NULL CHECK (kind IN ('snapshot', 'apply', 'rollback', 'recover')),
	state       TEXT NOT NULL CHECK (state IN ('pending', 'committed', 'rolled-back', 'failed')),
	profile     TEXT,
	note        TEXT,
	undoes      INTEGER REFERENCES txn(id),
	change_set  INTEGER REFERENCES change_set(id),  -- NULL: the transaction recorded no file
	started_at  INTEGER NOT NULL,                   -- Unix time, seconds
	finished_at INTEGER,
	user        TEXT NOT NULL,
	version     TEXT NOT NULL
);

-- iommuctl_change_set_of(id) is a function journal.c registers for this step: it reads
-- the transaction's rows from the old file_change table, finds or stores their change
-- set with the same code that records new transactions, and returns its id.
INSERT INTO txn_new(id, kind, state, profile, note, undoes, change_set, started_at, finished_at, user, version)
SELECT id, kind, state, profile,
       CASE WHEN kind = 'rollback' AND note = 'undo transaction ' || undoes THEN NULL
            WHEN kind = 'rollback' AND substr(note, 1, length('undo transaction ' || undoes || '; ')) =
                                       'undo transaction ' || undoes || '; '
                 THEN substr(note, length('undo transaction ' || undoes || '; ') + 1)
            ELSE note END,
       undoes, iommuctl_change_set_of(id),
       coalesce(CAST(strftime('%s', started_at) AS INTEGER), 0),
       CAST(strftime('%s', finished_at) AS INTEGER),
       user, version
  FROM txn ORDER BY id;
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'txn') WHERE name = 'txn_new';

DROP TABLE file_change;
DROP TABLE txn;
ALTER TABLE txn_new RENAME TO txn;

CREATE INDEX txn_undoes ON txn(undoes) WHERE undoes IS NOT NULL;
CREATE INDEX txn_pending ON txn(id) WHERE state = 'pending';
CREATE INDEX txn_committed_snapshot ON txn(id) WHERE kind = 'snapshot' AND state = 'committed';
UPDATE change_set SET last_committed =
       (SELECT max(t.id) FROM txn t WHERE t.change_set = change_set.id AND t.state = 'committed');

CREATE VIEW file_change AS
SELECT t.id AS txn, f.path, f.before_hash, f.before_mode, f.before_uid, f.before_gid,
       f.after_hash, f.after_mode, f.after_uid, f.after_gid
  FROM txn t JOIN change_set_file f ON f.change_set = t.change_set;
