-- SPDX-License-Identifier: GPL-2.0-or-later
-- Schema 1: transactions, the state of every file before and after each, and
-- file contents stored once per distinct content (zlib), keyed by SHA-256.

CREATE TABLE blob (
	hash  TEXT PRIMARY KEY,     -- SHA-256 of the uncompressed content, lowercase hex
	size  INTEGER NOT NULL,     -- uncompressed size in bytes
	zdata BLOB NOT NULL         -- zlib stream (compress2) of the content
) WITHOUT ROWID;

CREATE TABLE txn (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	kind        TEXT NOT NULL CHECK (kind IN ('snapshot', 'apply', 'rollback', 'recover')),
	state       TEXT NOT NULL CHECK (state IN ('pending', 'committed', 'rolled-back', 'failed')),
	profile     TEXT,
	note        TEXT,
	undoes      INTEGER REFERENCES txn(id),   -- rollback: the transaction it undoes; recover: the one it finished
	started_at  TEXT NOT NULL,               -- UTC, ISO 8601
	finished_at TEXT,
	user        TEXT NOT NULL,
	version     TEXT NOT NULL                -- iommuctl version that wrote the row
);
CREATE INDEX txn_undoes ON txn(undoes);

-- One row per file a transaction recorded. A NULL hash means "the file did not exist".
CREATE TABLE file_change (
	txn         INTEGER NOT NULL REFERENCES txn(id) ON DELETE CASCADE,
	path        TEXT NOT NULL,              -- absolute inside the root, e.g. /etc/modules
	before_hash TEXT REFERENCES blob(hash),
	before_mode INTEGER,
	before_uid  INTEGER,
	before_gid  INTEGER,
	after_hash  TEXT REFERENCES blob(hash),
	after_mode  INTEGER,
	after_uid   INTEGER,
	after_gid   INTEGER,
	PRIMARY KEY (txn, path)
) WITHOUT ROWID;
CREATE INDEX file_change_by_path ON file_change(path, txn);

-- Content that recovery found in neither the before nor the after state of an
-- interrupted transaction (edited by hand meanwhile), saved before it is overwritten.
CREATE TABLE salvage (
	txn      INTEGER NOT NULL REFERENCES txn(id),
	path     TEXT NOT NULL,
	hash     TEXT NOT NULL REFERENCES blob(hash),
	mode     INTEGER NOT NULL,
	uid      INTEGER NOT NULL,
	gid      INTEGER NOT NULL,
	found_at TEXT NOT NULL,
	PRIMARY KEY (txn, path, hash)
) WITHOUT ROWID;
