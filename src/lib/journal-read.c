/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal-read.c — the journal's queries: transactions, their files and contents, hook runs,
 *  saved contents; what history, show, diff, rollback, recover and verify ask of it.
 *  Owns: the queries of journal.h and freeing what they return. Must not: write a row, begin
 *  or end a transaction, open the journal (journal-open.c does, and its schema 4 migration
 *  reads schema 3's rows through file_rows_read). */
#include <stdlib.h>
#include <string.h>

#include "journal-blob.h"
#include "journal-internal.h"

static char *dup_column(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? strdup((const char *)s) : NULL;
}

static void copy_column(sqlite3_stmt *st, int i, char *buf, size_t size)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(buf, size, "%s", s ? (const char *)s : "");
}

static void read_state(sqlite3_stmt *st, int first, struct file_state *fs)
{
	memset(fs, 0, sizeof(*fs));
	if (sqlite3_column_type(st, first) == SQLITE_NULL)
		return;
	fs->present = true;
	copy_column(st, first, fs->hash, sizeof(fs->hash));
	fs->mode = (mode_t)sqlite3_column_int(st, first + 1);
	fs->uid = (uid_t)sqlite3_column_int64(st, first + 2);
	fs->gid = (gid_t)sqlite3_column_int64(st, first + 3);
}

void file_change_clear(struct file_change *c)
{
	free(c->path);
	file_state_clear(&c->before);
	file_state_clear(&c->after);
	memset(c, 0, sizeof(*c));
}

void file_changes_free(struct file_change *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		file_change_clear(&v[i]);
	free(v);
}

void txn_info_clear(struct txn_info *t)
{
	free(t->profile);
	free(t->note);
	free(t->user);
	free(t->version);
	memset(t, 0, sizeof(*t));
}

/* The file rows that sql selects for transaction txn: its columns are the path,
 * the before state (hash, mode, uid, gid), the after state and, with sizes,
 * the sizes of the two contents. what names the rows in an error message. */
int file_rows_read(struct journal *j, const char *sql, int64_t txn, bool with_sizes, const char *what,
		   struct file_change **ret, size_t *ret_n, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct file_change *v = NULL;
	size_t n = 0;
	int rc, k = 0;

	if (prepare(j, sql, &st, e) < 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, txn);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct file_change *nv = realloc(v, (n + 1) * sizeof(*v));

		if (!nv) {
			k = -ENOMEM;
			break;
		}
		v = nv;
		memset(&v[n], 0, sizeof(v[n]));
		v[n].path = dup_column(st, 0);
		read_state(st, 1, &v[n].before);
		read_state(st, 5, &v[n].after);
		if (with_sizes) {
			v[n].before.len = (size_t)sqlite3_column_int64(st, 9);
			v[n].after.len = (size_t)sqlite3_column_int64(st, 10);
		}
		if (!v[n++].path) {
			k = -ENOMEM;
			break;
		}
	}
	if (k == 0 && rc != SQLITE_DONE)
		k = db_error(j, e, what);
	if (k < 0) {
		file_changes_free(v, n);
		return k;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Times are stored as Unix seconds and shown as ISO 8601; a rollback's note starts
 * with the transaction it undid, which the row keeps only in undoes (schema 4). */
#define TXN_COLUMNS \
	"SELECT t.id, t.kind, t.state, t.profile, " \
	"CASE WHEN t.kind = 'rollback' AND t.undoes IS NOT NULL " \
	"THEN 'undo transaction ' || t.undoes || ifnull('; ' || t.note, '') ELSE t.note END, " \
	"t.undoes, strftime('%Y-%m-%dT%H:%M:%SZ', t.started_at, 'unixepoch'), " \
	"strftime('%Y-%m-%dT%H:%M:%SZ', t.finished_at, 'unixepoch'), t.user, t.version, " \
	"(SELECT count(*) FROM change_set_file f WHERE f.change_set = t.change_set), t.boot_id FROM txn t "

static void read_txn_row(sqlite3_stmt *st, struct txn_info *t)
{
	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, 0);
	copy_column(st, 1, t->kind, sizeof(t->kind));
	copy_column(st, 2, t->state, sizeof(t->state));
	t->profile = dup_column(st, 3);
	t->note = dup_column(st, 4);
	t->undoes = sqlite3_column_int64(st, 5);
	copy_column(st, 6, t->started_at, sizeof(t->started_at));
	copy_column(st, 7, t->finished_at, sizeof(t->finished_at));
	t->user = dup_column(st, 8);
	t->version = dup_column(st, 9);
	t->nfiles = (unsigned)sqlite3_column_int(st, 10);
	copy_column(st, 11, t->boot_id, sizeof(t->boot_id));
}

int journal_txn_get(struct journal *j, int64_t id, struct txn_info *ret, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc;

	if (prepare(j, TXN_COLUMNS "WHERE t.id = ?", &st, e) < 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_error(j, e, "cannot read a transaction");
	read_txn_row(st, ret);
	return 0;
}

int journal_txn_list(struct journal *j, unsigned limit, struct txn_info **ret, size_t *ret_n, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct txn_info *v = NULL;
	size_t n = 0;
	int rc;

	if (prepare(j, TXN_COLUMNS "ORDER BY t.id DESC LIMIT ?", &st, e) < 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, limit ? (sqlite3_int64)limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct txn_info *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		read_txn_row(st, &v[n++]);
	}
	if (rc != SQLITE_DONE) {
		for (size_t i = 0; i < n; i++)
			txn_info_clear(&v[i]);
		free(v);
		return db_error(j, e, "cannot list transactions");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int journal_load_content(struct journal *j, struct file_state *fs, struct error *e)
{
	char *data;
	size_t len;
	int k;

	if (!fs->present || fs->data)
		return 0;
	k = blob_get(j->db, fs->hash, &data, &len);
	if (k < 0)
		return error_set(e, EXIT_IO, "journal %s: the content %s is %s; the journal is damaged",
				 j->path, fs->hash, k == -ENOENT ? "missing" : "corrupt"), k;
	fs->data = data;
	fs->len = len;
	return 0;
}

int change_set_files_read(struct journal *j, const char *owner, int64_t id, bool with_content, const char *what,
			  struct file_change **ret, size_t *ret_n, struct error *e)
{
	_cleanup_free_ char *sql = NULL;
	struct file_change *v = NULL;
	size_t n = 0;
	int k;

	if (asprintf(&sql,
		     "SELECT f.path, f.before_hash, f.before_mode, f.before_uid, f.before_gid, "
		     "f.after_hash, f.after_mode, f.after_uid, f.after_gid, "
		     "(SELECT size FROM blob WHERE hash = f.before_hash), "
		     "(SELECT size FROM blob WHERE hash = f.after_hash) "
		     "FROM %s o JOIN change_set_file f ON f.change_set = o.change_set WHERE o.%s = ? "
		     "ORDER BY f.path", owner, streq(owner, "txn") ? "id" : "txn") < 0)
		return error_set(e, EXIT_IO, "out of memory"), -ENOMEM;
	k = file_rows_read(j, sql, id, true, what, &v, &n, e);
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

int journal_txn_files(struct journal *j, int64_t id, bool with_content, struct file_change **ret,
		      size_t *ret_n, struct error *e)
{
	return change_set_files_read(j, "txn", id, with_content, "cannot read the files of a transaction", ret, ret_n, e);
}

static int single_id(struct journal *j, const char *sql, int64_t arg, int64_t *ret, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc;

	if (prepare(j, sql, &st, e) < 0)
		return -EIO;
	if (arg)
		sqlite3_bind_int64(st, 1, arg);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(j, e, "cannot query transactions");
	*ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	return 0;
}

int journal_pending(struct journal *j, int64_t *ret_id, struct error *e)
{
	return single_id(j, "SELECT id FROM txn WHERE state = 'pending' ORDER BY id LIMIT 1", 0, ret_id, e);
}

int journal_has_baseline(struct journal *j, bool *ret, struct error *e)
{
	int64_t id;
	int k = single_id(j, "SELECT id FROM txn WHERE kind = 'snapshot' AND state = 'committed' LIMIT 1", 0, &id, e);

	if (k == 0)
		*ret = id > 0;
	return k;
}

int journal_known_state(struct journal *j, const char *path, bool with_content, struct file_state *ret,
			bool *ret_known, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc;

	/* A transaction that failed or was rolled back by recovery left its files as
	 * they were before it; only committed ones define what is on disk. */
	if (prepare(j,
		    "SELECT f.after_hash, f.after_mode, f.after_uid, f.after_gid FROM change_set_file f "
		    "JOIN change_set c ON c.id = f.change_set WHERE f.path = ? AND c.last_committed IS NOT NULL "
		    "ORDER BY c.last_committed DESC LIMIT 1", &st, e) < 0)
		return -EIO;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	memset(ret, 0, sizeof(*ret));
	if (rc == SQLITE_DONE) {
		*ret_known = false;
		return 0;
	}
	if (rc != SQLITE_ROW)
		return db_error(j, e, "cannot read the last known state of a file");
	read_state(st, 0, ret);
	*ret_known = true;
	return with_content ? journal_load_content(j, ret, e) : 0;
}

int journal_known_paths(struct journal *j, char ***ret, size_t *ret_n, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char **v = NULL;
	size_t n = 0;
	int rc;

	if (prepare(j,
		    "SELECT DISTINCT f.path FROM change_set_file f JOIN change_set c ON c.id = f.change_set "
		    "WHERE c.last_committed IS NOT NULL ORDER BY f.path", &st, e) < 0)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char **nv = realloc(v, (n + 1) * sizeof(char *));
		if (!nv || !(nv[n] = dup_column(st, 0))) {
			if (nv)
				v = nv;
			strv_free(v, n);
			return -ENOMEM;
		}
		v = nv;
		n++;
	}
	if (rc != SQLITE_DONE) {
		strv_free(v, n);
		return db_error(j, e, "cannot list recorded files");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int journal_undone_by(struct journal *j, int64_t id, int64_t *ret, struct error *e)
{
	int64_t r, redone;
	int k;

	k = single_id(j,
		      "SELECT id FROM txn WHERE kind = 'rollback' AND state = 'committed' AND undoes = ? "
		      "ORDER BY id DESC LIMIT 1", id, &r, e);
	if (k < 0 || r == 0) {
		*ret = 0;
		return k;
	}
	/* A rollback that was itself rolled back re-did id: follow the chain. */
	k = journal_undone_by(j, r, &redone, e);
	if (k < 0)
		return k;
	*ret = redone ? 0 : r;
	return 0;
}

int journal_last_undoable(struct journal *j, int64_t *ret, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc;

	if (prepare(j,
		    "SELECT t.id FROM txn t WHERE t.kind IN ('apply', 'snapshot') AND t.state = 'committed' "
		    "AND EXISTS (SELECT 1 FROM change_set_file f WHERE f.change_set = t.change_set AND "
		    "(f.before_hash IS NOT f.after_hash OR f.before_mode IS NOT f.after_mode OR "
		    " f.before_uid IS NOT f.after_uid OR f.before_gid IS NOT f.after_gid)) "
		    "ORDER BY t.id DESC", &st, e) < 0)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0), by;
		int k = journal_undone_by(j, id, &by, e);

		if (k < 0)
			return k;
		if (!by) {
			*ret = id;
			return 0;
		}
	}
	if (rc != SQLITE_DONE)
		return db_error(j, e, "cannot query transactions");
	*ret = 0;
	return 0;
}

void hook_runs_free(struct hook_run *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].argv);
		free(v[i].output);
	}
	free(v);
}

int journal_hook_runs(struct journal *j, int64_t txn, struct hook_run **ret, size_t *ret_n, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct hook_run *v = NULL;
	size_t n = 0;
	int rc, k = 0;

	if (prepare(j, "SELECT seq, argv, status, output_hash, started_at, finished_at FROM hook_run "
		       "WHERE txn = ? ORDER BY seq", &st, e) < 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, txn);
	while (k == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hook_run *nv = realloc(v, (n + 1) * sizeof(*v));
		struct hook_run *h;

		if (!nv) {
			k = -ENOMEM;
			break;
		}
		v = nv;
		h = &v[n++];
		memset(h, 0, sizeof(*h));
		h->seq = sqlite3_column_int(st, 0);
		h->argv = dup_column(st, 1);
		h->status = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 2);
		copy_column(st, 4, h->started_at, sizeof(h->started_at));
		copy_column(st, 5, h->finished_at, sizeof(h->finished_at));
		if (sqlite3_column_type(st, 3) != SQLITE_NULL &&
		    blob_get(j->db, (const char *)sqlite3_column_text(st, 3), &h->output, &h->output_len) < 0) {
			error_set(e, EXIT_IO, "journal %s: the output of a hook run is missing or corrupt", j->path);
			k = -EBADMSG;
		}
	}
	if (k == 0 && rc != SQLITE_DONE)
		k = db_error(j, e, "cannot read hook runs");
	if (k < 0) {
		hook_runs_free(v, n);
		return k;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

void salvage_entries_free(struct salvage_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

int journal_salvaged(struct journal *j, int64_t txn, struct salvage_entry **ret, size_t *ret_n, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct salvage_entry *v = NULL;
	size_t n = 0;
	int rc;

	if (prepare(j, "SELECT s.path, s.hash, s.mode, s.uid, s.gid, s.found_at, b.size FROM salvage s "
		       "JOIN blob b ON b.hash = s.hash WHERE s.txn = ? ORDER BY s.path, s.found_at", &st, e) < 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, txn);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct salvage_entry *nv = realloc(v, (n + 1) * sizeof(*v));
		struct salvage_entry *s;

		if (!nv) {
			salvage_entries_free(v, n);
			return -ENOMEM;
		}
		v = nv;
		s = &v[n++];
		memset(s, 0, sizeof(*s));
		s->path = dup_column(st, 0);
		s->state.present = true;
		copy_column(st, 1, s->state.hash, sizeof(s->state.hash));
		s->state.mode = (mode_t)sqlite3_column_int(st, 2);
		s->state.uid = (uid_t)sqlite3_column_int64(st, 3);
		s->state.gid = (gid_t)sqlite3_column_int64(st, 4);
		copy_column(st, 5, s->found_at, sizeof(s->found_at));
		s->state.len = (size_t)sqlite3_column_int64(st, 6);
	}
	if (rc != SQLITE_DONE) {
		salvage_entries_free(v, n);
		return db_error(j, e, "cannot read saved contents");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
