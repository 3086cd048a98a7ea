/* SPDX-License-Identifier: GPL-2.0-or-later */
/* txn.h — the transaction protocol of DESIGN.md §6: intent, files, commit; and recovery.
 *  Owns: txn_execute, txn_record, txn_recover. Must not: expose the journal's SQL or a file
 *  descriptor under the root to its callers. */
#pragma once

#include "journal.h"

struct txn_request {
	const char *kind;	/* snapshot, apply, rollback */
	const char *profile;	/* may be NULL */
	const char *note;	/* may be NULL */
	int64_t undoes;		/* rollback: the transaction undone */
};

/* Make every file of changes[] hold its after-state, as one transaction:
 * journal the intent (pending, before and after) and commit it; write each file
 * through a temp file, fsync, rename; fsync each directory once; mark it committed.
 * If a write fails, the files are put back and the transaction is marked failed. */
int txn_execute(struct journal *j, const struct rootfs *r, const struct txn_request *req,
		const struct file_change *changes, size_t n, int64_t *ret_id, struct error *e);

/* Record changes that are already on disk (snapshot): one committed transaction. */
int txn_record(struct journal *j, const struct txn_request *req, const struct file_change *changes, size_t n,
	       int64_t *ret_id, struct error *e);

struct recover_result {
	int64_t pending;	/* the interrupted transaction, 0 if there was none */
	int64_t recover;	/* the recover transaction that documents what was done */
	size_t restored;	/* files put back to their state before the pending transaction */
	size_t salvaged;	/* files found in neither state, saved in the journal first */
};

/* Put every file of each pending transaction back to its before-state. Content found in
 * neither state is saved in the journal before it is overwritten. Idempotent: a kill
 * at any point leaves the transaction pending and a second run finishes it. */
int txn_recover(struct journal *j, const struct rootfs *r, struct recover_result *ret, struct error *e);
