/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal-trial.c — the journal's rows of trial boots (schema 6): what apply --trial recorded,
 *  where it armed the one-shot, the boot check's outcome, the commit and its first boot.
 *  Owns: the trial table's INSERTs, UPDATEs and queries (journal.h, "trial boots"). Must not:
 *  touch a file under the root, or know boot loaders; it sits above journal-read.c and
 *  journal-write.c (their file rows and change sets) and below nothing else of the journal. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal-internal.h"

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s && *s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static char *dup_column(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return strdup(s ? (const char *)s : "");
}

static void copy_column(sqlite3_stmt *st, int i, char *buf, size_t size)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(buf, size, "%s", s ? (const char *)s : "");
}

void trial_info_clear(struct trial_info *t)
{
	free(t->cmdline_add);
	free(t->cmdline_drop);
	free(t->unexercised);
	free(t->armed_where);
	free(t->entry_id);
	free(t->files);
	free(t->outcome);
	free(t->first_boot_outcome);
	memset(t, 0, sizeof(*t));
}

/* One UPDATE or INSERT whose parameters the caller has bound: it must change one row. */
static int step_one(struct journal *j, sqlite3_stmt *st, int64_t txn, struct error *e)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(j, e, "cannot record a trial");
	if (sqlite3_changes(j->db) != 1)
		return error_set(e, EXIT_USAGE, "journal %s: transaction %lld is not a trial", j->path, (long long)txn),
		       -ENOENT;
	return 0;
}

int journal_trial_insert(struct journal *j, int64_t txn, const struct trial_record *t, const struct file_change *planned,
			 size_t n, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int64_t set;

	if (change_set_put(j, planned, n, true, &set, e) < 0)
		return -EIO;
	if (prepare(j,
		    "INSERT INTO trial(txn, state, change_set, cmdline_add, cmdline_drop, unexercised, no_commit) "
		    "VALUES (?, 'armed', ?, ?, ?, ?, ?)", &st, e) < 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, txn);
	if (set)
		sqlite3_bind_int64(st, 2, set);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, t->cmdline_add, -1, SQLITE_STATIC);
	bind_text_or_null(st, 4, t->cmdline_drop);
	bind_text_or_null(st, 5, t->unexercised);
	sqlite3_bind_int(st, 6, t->no_commit);
	return step_one(j, st, txn, e);
}

int journal_trial_set_armed(struct journal *j, int64_t txn, const char *where, const char *entry_id, const char *files,
			    struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (prepare(j, "UPDATE trial SET armed_where = ?, entry_id = ?, files = ? WHERE txn = ?", &st, e) < 0)
		return -EIO;
	bind_text_or_null(st, 1, where);
	bind_text_or_null(st, 2, entry_id);
	bind_text_or_null(st, 3, files);
	sqlite3_bind_int64(st, 4, txn);
	return step_one(j, st, txn, e);
}

int journal_trial_set_state(struct journal *j, int64_t txn, const char *state, const char *outcome,
			    const char *boot_id, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (prepare(j,
		    "UPDATE trial SET state = ?1, outcome = ?2, boot_id = coalesce(?3, boot_id), "
		    "checked_at = CASE WHEN ?1 IN ('passed', 'failed') THEN ?4 ELSE checked_at END WHERE txn = ?5",
		    &st, e) < 0)
		return -EIO;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	bind_text_or_null(st, 2, outcome);
	bind_text_or_null(st, 3, boot_id);
	sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
	sqlite3_bind_int64(st, 5, txn);
	return step_one(j, st, txn, e);
}

int journal_trial_set_commit(struct journal *j, int64_t txn, int64_t commit_txn, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (prepare(j, "UPDATE trial SET state = 'committed', commit_txn = ? WHERE txn = ?", &st, e) < 0)
		return -EIO;
	if (commit_txn)
		sqlite3_bind_int64(st, 1, commit_txn);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_int64(st, 2, txn);
	return step_one(j, st, txn, e);
}

int journal_trial_set_first_boot(struct journal *j, int64_t txn, const char *boot_id, bool ok, const char *outcome,
				 int64_t rollback_txn, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (prepare(j,
		    "UPDATE trial SET first_boot_id = ?, first_boot_ok = ?, first_boot_outcome = ?, rollback_txn = ? "
		    "WHERE txn = ?", &st, e) < 0)
		return -EIO;
	bind_text_or_null(st, 1, boot_id);
	sqlite3_bind_int(st, 2, ok);
	bind_text_or_null(st, 3, outcome);
	if (rollback_txn)
		sqlite3_bind_int64(st, 4, rollback_txn);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, txn);
	return step_one(j, st, txn, e);
}

int journal_trial_get(struct journal *j, int64_t txn, struct trial_info *ret, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct trial_info t = { 0 };
	int rc;

	if (prepare(j,
		    "SELECT r.txn, r.state, r.cmdline_add, r.cmdline_drop, r.unexercised, r.no_commit, r.armed_where, "
		    "r.entry_id, r.files, r.outcome, r.boot_id, strftime('%Y-%m-%dT%H:%M:%SZ', r.checked_at, 'unixepoch'), "
		    "r.commit_txn, r.first_boot_id, r.first_boot_ok, r.first_boot_outcome, r.rollback_txn, "
		    "(SELECT count(*) FROM change_set_file f WHERE f.change_set = r.change_set) "
		    "FROM trial r WHERE r.txn = ?", &st, e) < 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, txn);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_error(j, e, "cannot read a trial");
	t.txn = sqlite3_column_int64(st, 0);
	copy_column(st, 1, t.state, sizeof(t.state));
	t.cmdline_add = dup_column(st, 2);
	t.cmdline_drop = dup_column(st, 3);
	t.unexercised = dup_column(st, 4);
	t.no_commit = sqlite3_column_int(st, 5) != 0;
	t.armed_where = dup_column(st, 6);
	t.entry_id = dup_column(st, 7);
	t.files = dup_column(st, 8);
	t.outcome = dup_column(st, 9);
	copy_column(st, 10, t.boot_id, sizeof(t.boot_id));
	copy_column(st, 11, t.checked_at, sizeof(t.checked_at));
	t.commit_txn = sqlite3_column_int64(st, 12);
	copy_column(st, 13, t.first_boot_id, sizeof(t.first_boot_id));
	t.first_boot_ok = sqlite3_column_type(st, 14) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 14) != 0;
	t.first_boot_outcome = dup_column(st, 15);
	t.rollback_txn = sqlite3_column_int64(st, 16);
	t.nfiles = (unsigned)sqlite3_column_int(st, 17);
	if (!t.cmdline_add || !t.cmdline_drop || !t.unexercised || !t.armed_where || !t.entry_id || !t.files ||
	    !t.outcome || !t.first_boot_outcome) {
		trial_info_clear(&t);
		return error_set(e, EXIT_IO, "out of memory"), -ENOMEM;
	}
	*ret = t;
	return 0;
}

static int one_id(struct journal *j, const char *sql, const char *text, int64_t arg, int64_t *ret, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc;

	if (prepare(j, sql, &st, e) < 0)
		return -EIO;
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	else if (arg)
		sqlite3_bind_int64(st, 1, arg);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(j, e, "cannot query trials");
	*ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	return 0;
}

int journal_trial_latest(struct journal *j, const char *state, int64_t *ret, struct error *e)
{
	if (!state)
		return one_id(j, "SELECT max(txn) FROM trial", NULL, 0, ret, e);
	return one_id(j, "SELECT max(txn) FROM trial WHERE state = ?", state, 0, ret, e);
}

int journal_trial_unchecked_commit(struct journal *j, int64_t *ret, struct error *e)
{
	return one_id(j,
		      "SELECT max(r.txn) FROM trial r JOIN txn t ON t.id = r.commit_txn "
		      "WHERE r.state = 'committed' AND r.first_boot_ok IS NULL AND t.state = 'committed' "
		      "AND NOT EXISTS (SELECT 1 FROM txn u WHERE u.undoes = t.id AND u.kind = 'rollback' "
		      "AND u.state = 'committed')", NULL, 0, ret, e);
}

int journal_trial_of_commit(struct journal *j, int64_t commit_txn, int64_t *ret, struct error *e)
{
	return one_id(j, "SELECT txn FROM trial WHERE commit_txn = ?", NULL, commit_txn, ret, e);
}

int journal_trial_changes(struct journal *j, int64_t txn, bool with_content, struct file_change **ret, size_t *ret_n,
			  struct error *e)
{
	struct file_change *v = NULL;
	size_t n = 0;
	int k;

	k = file_rows_read(j,
			   "SELECT f.path, f.before_hash, f.before_mode, f.before_uid, f.before_gid, "
			   "f.after_hash, f.after_mode, f.after_uid, f.after_gid, "
			   "(SELECT size FROM blob WHERE hash = f.before_hash), "
			   "(SELECT size FROM blob WHERE hash = f.after_hash) "
			   "FROM trial r JOIN change_set_file f ON f.change_set = r.change_set WHERE r.txn = ? "
			   "ORDER BY f.path",
			   txn, true, "cannot read the files of a trial", &v, &n, e);
	if (k < 0)
		return k;
	for (size_t i = 0; k == 0 && with_content && i < n; i++) {
		k = journal_load_content(j, &v[i].before, e);
		if (k == 0)
			k = journal_load_content(j, &v[i].after, e);
	}
	if (k < 0) {
		file_changes_free(v, n);
		return k;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
