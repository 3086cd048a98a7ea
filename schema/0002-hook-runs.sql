-- SPDX-License-Identifier: GPL-2.0-or-later
-- Schema 2: the boot-loader and initramfs hooks a transaction ran, with their output,
-- so that `show` can tell why a transaction failed long after the terminal is gone.

CREATE TABLE hook_run (
	txn         INTEGER NOT NULL REFERENCES txn(id) ON DELETE CASCADE,
	seq         INTEGER NOT NULL,           -- order within the transaction
	argv        TEXT NOT NULL,              -- the command as run, words separated by spaces
	status      INTEGER,                    -- exit status; NULL if it could not be started
	output_hash TEXT REFERENCES blob(hash), -- stdout and stderr together
	started_at  TEXT NOT NULL,
	finished_at TEXT,
	PRIMARY KEY (txn, seq)
) WITHOUT ROWID;
