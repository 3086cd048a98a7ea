-- SPDX-License-Identifier: GPL-2.0-or-later
-- Schema 6: trial boots (iommuctl(8), TRIAL BOOT; DESIGN §11).
--
-- `apply --trial` records a transaction of kind 'trial' that changes no file: the change rides
-- on the command line of a boot entry that only the next boot runs. The trial's own row below
-- keeps what the boot check and `commit` need: the command-line additions, where the one-shot
-- was armed, the planned file changes (a change set, so that commit writes exactly what was
-- tried), what the trial could not exercise, and its outcome. `commit` writes the files as a
-- normal 'apply' transaction (commit_txn); the first boot after it is checked again
-- (first_boot_*), and a failed first boot is rolled back (rollback_txn).
--
-- txn.kind's CHECK gains 'trial': SQLite cannot alter a CHECK, so txn is rebuilt as schema 4
-- did (foreign keys are off while journal-open.c migrates; ids, sequence and indexes kept).

CREATE TABLE txn_new (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	kind        TEXT NOT NULL CHECK (kind IN ('snapshot', 'apply', 'rollback', 'recover', 'trial')),
	state       TEXT NOT NULL CHECK (state IN ('pending', 'committed', 'rolled-back', 'failed')),
	profile     TEXT,
	note        TEXT,
	undoes      INTEGER REFERENCES txn(id),
	change_set  INTEGER REFERENCES change_set(id),
	started_at  INTEGER NOT NULL,
	finished_at INTEGER,
	user        TEXT NOT NULL,
	version     TEXT NOT NULL,
	boot_id     TEXT
);
INSERT INTO txn_new(id, kind, state, profile, note, undoes, change_set, started_at, finished_at, user, version, boot_id)
SELECT id, kind, state, profile, note, undoes, change_set, started_at, finished_at, user, version, boot_id
  FROM txn ORDER BY id;
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'txn') WHERE name = 'txn_new';
DROP VIEW file_change;
DROP TABLE txn;
ALTER TABLE txn_new RENAME TO txn;
CREATE INDEX txn_undoes ON txn(undoes) WHERE undoes IS NOT NULL;
CREATE INDEX txn_pending ON txn(id) WHERE state = 'pending';
CREATE INDEX txn_committed_snapshot ON txn(id) WHERE kind = 'snapshot' AND state = 'committed';
CREATE VIEW file_change AS
SELECT t.id AS txn, f.path, f.before_hash, f.before_mode, f.before_uid, f.before_gid,
       f.after_hash, f.after_mode, f.after_uid, f.after_gid
  FROM txn t JOIN change_set_file f ON f.change_set = t.change_set;

CREATE TABLE trial (
	txn          INTEGER PRIMARY KEY REFERENCES txn(id),   -- the 'trial' transaction
	state        TEXT NOT NULL CHECK (state IN ('armed', 'passed', 'failed', 'committed', 'cancelled')),
	change_set   INTEGER REFERENCES change_set(id),         -- what commit writes; NULL: no file changes
	cmdline_add  TEXT NOT NULL,       -- appended to the default entry's command line
	cmdline_drop TEXT,                -- tokens of the default entry's line dropped (kernel_remove), space-separated
	unexercised  TEXT,                -- what the trial cannot exercise, one item a line
	no_commit    INTEGER NOT NULL DEFAULT 0,   -- 1: the boot check does not commit (apply --trial --no-commit)
	armed_where  TEXT,                -- "GRUB next_entry in /boot/grub/grubenv (ext2)"
	entry_id     TEXT,                -- the id the one-shot names
	files        TEXT,                -- files written for the trial (removed at disarm), one a line
	outcome      TEXT,                -- why it passed, failed or was cancelled
	boot_id      TEXT,                -- the boot that ran the trial's check
	checked_at   INTEGER,             -- Unix seconds
	commit_txn   INTEGER REFERENCES txn(id),   -- the 'apply' transaction commit made
	first_boot_id      TEXT,          -- the first boot after commit that was checked
	first_boot_ok      INTEGER,       -- NULL: not checked yet; 1 passed; 0 failed
	first_boot_outcome TEXT,
	rollback_txn INTEGER REFERENCES txn(id)    -- the rollback made when the first boot failed
);
CREATE INDEX trial_by_commit ON trial(commit_txn) WHERE commit_txn IS NOT NULL;
