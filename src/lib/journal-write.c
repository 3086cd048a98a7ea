/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal-write.c — the journal's writes: SQL transactions (begin, commit, rollback), the
 *  intent row of a transaction and its change set, its later state, hook runs, salvaged
 *  contents, and the contents (blobs) they name.
 *  Owns: the INSERTs and UPDATEs that record transactions, change sets, hook runs, salvage.
 *  Must not: read rows back for callers (journal-read.c), open or migrate the journal
 *  (journal-open.c, whose schema 4 step stores change sets through change_set_put), touch a
 *  file under the root. */
#include <string.h>
#include <time.h>

#include "config.h"
#include "journal-blob.h"
#include "journal-internal.h"
#include "strbuf.h"

int journal_begin(struct journal *j, struct error *e)
{
	return exec(j, "BEGIN IMMEDIATE", e);
}

int journal_commit(struct journal *j, struct error *e)
{
	if (exec(j, "COMMIT", e) < 0) {
		journal_rollback_sql(j);
		return -EIO;
	}
	return 0;
}

void journal_rollback_sql(struct journal *j)
{
	if (!sqlite3_get_autocommit(j->db))
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static int put_state(struct journal *j, const struct file_state *fs, struct error *e)
{
	if (!fs->present)
		return 0;
	if (blob_put(j->db, fs->hash, fs->data, fs->len) < 0)
		return db_error(j, e, "cannot store file content");
	return 0;
}

static int path_cmp(const void *a, const void *b)
{
	const struct file_change *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

static int state_append(struct strbuf *sb, const struct file_state *fs)
{
	if (!fs->present)
		return strbuf_appendc(sb, '-');
	return strbuf_appendf(sb, "%s %o %lu %lu", fs->hash, (unsigned)fs->mode, (unsigned long)fs->uid,
			      (unsigned long)fs->gid);
}

/* The canonical form of a change set, hashed: its files sorted by path, each as
 * "path NUL before NUL after LF", a state being "hash mode uid gid" or "-" for
 * absent. Two transactions that made the same change share one change set. */
static int change_set_hash(const struct file_change *files, size_t n, char out[SHA256_HEX_LEN + 1])
{
	_cleanup_free_ const struct file_change **sorted = calloc(n ? n : 1, sizeof(*sorted));
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	int k = 0;

	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		sorted[i] = &files[i];
	qsort(sorted, n, sizeof(*sorted), path_cmp);
	for (size_t i = 0; k >= 0 && i < n; i++) {
		k = strbuf_append(&sb, sorted[i]->path, strlen(sorted[i]->path) + 1);
		if (k >= 0)
			k = state_append(&sb, &sorted[i]->before);
		if (k >= 0)
			k = strbuf_appendc(&sb, '\0');
		if (k >= 0)
			k = state_append(&sb, &sorted[i]->after);
		if (k >= 0)
			k = strbuf_appendc(&sb, '\n');
	}
	if (k < 0)
		return -ENOMEM;
	sha256_hex(strbuf_str(&sb), sb.len, out);
	return 0;
}

static void bind_state(sqlite3_stmt *st, int first, const struct file_state *fs)
{
	if (!fs->present) {
		for (int i = 0; i < 4; i++)
			sqlite3_bind_null(st, first + i);
		return;
	}
	sqlite3_bind_text(st, first, fs->hash, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, first + 1, (int)fs->mode);
	sqlite3_bind_int64(st, first + 2, fs->uid);
	sqlite3_bind_int64(st, first + 3, fs->gid);
}

static int change_set_file_insert(struct journal *j, int64_t set, const struct file_change *c, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (prepare(j,
		    "INSERT INTO change_set_file(change_set, path, before_hash, before_mode, before_uid, before_gid, "
		    "after_hash, after_mode, after_uid, after_gid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st, e) < 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, set);
	sqlite3_bind_text(st, 2, c->path, -1, SQLITE_STATIC);
	bind_state(st, 3, &c->before);
	bind_state(st, 7, &c->after);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(j, e, "cannot record a file");
	return 0;
}

/* The id of the change set of files, stored now if the journal does not hold it yet,
 * with the contents it names when store_contents (a known change set's contents are
 * stored already; the migration's rows name contents already in the blob table, and
 * a missing one must fail its reference check, not be stored empty); 0 for no files. */
int change_set_put(struct journal *j, const struct file_change *files, size_t n, bool store_contents,
		   int64_t *ret, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char hash[SHA256_HEX_LEN + 1];
	int rc;

	*ret = 0;
	if (n == 0)
		return 0;
	if (change_set_hash(files, n, hash) < 0)
		return -ENOMEM;
	if (prepare(j, "SELECT id FROM change_set WHERE hash = ?", &st, e) < 0)
		return -EIO;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret = sqlite3_column_int64(st, 0);
		return 0;
	}
	if (rc != SQLITE_DONE)
		return db_error(j, e, "cannot look up a change set");
	sqlite3_finalize(st);
	st = NULL;
	for (size_t i = 0; store_contents && i < n; i++)
		if (put_state(j, &files[i].before, e) < 0 || put_state(j, &files[i].after, e) < 0)
			return -EIO;
	if (prepare(j, "INSERT INTO change_set(hash) VALUES (?)", &st, e) < 0)
		return -EIO;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(j, e, "cannot record a change set");
	*ret = sqlite3_last_insert_rowid(j->db);
	for (size_t i = 0; i < n; i++)
		if (change_set_file_insert(j, *ret, &files[i], e) < 0)
			return -EIO;
	return 0;
}

/* Keep change_set.last_committed current: txn has just become committed. */
static int change_set_committed(struct journal *j, int64_t txn, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (prepare(j,
		    "UPDATE change_set SET last_committed = max(ifnull(last_committed, 0), ?1) "
		    "WHERE id = (SELECT change_set FROM txn WHERE id = ?1)", &st, e) < 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, txn);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(j, e, "cannot update a change set");
	return 0;
}

int journal_txn_insert(struct journal *j, const struct txn_record *t, const struct file_change *files, size_t n,
		       int64_t *ret_id, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int64_t now = (int64_t)time(NULL), set;
	char user[64];

	if (change_set_put(j, files, n, true, &set, e) < 0)
		return -EIO;
	user_name(user, sizeof(user));
	if (prepare(j,
		    "INSERT INTO txn(kind, state, profile, note, undoes, change_set, started_at, finished_at, user, "
		    "version, boot_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st, e) < 0)
		return -EIO;
	sqlite3_bind_text(st, 1, t->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->state, -1, SQLITE_STATIC);
	bind_text_or_null(st, 3, t->profile);
	bind_text_or_null(st, 4, t->note);
	if (t->undoes > 0)
		sqlite3_bind_int64(st, 5, t->undoes);
	else
		sqlite3_bind_null(st, 5);
	if (set)
		sqlite3_bind_int64(st, 6, set);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, now);
	if (streq(t->state, "pending"))
		sqlite3_bind_null(st, 8);
	else
		sqlite3_bind_int64(st, 8, now);
	sqlite3_bind_text(st, 9, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, PACKAGE_VERSION, -1, SQLITE_STATIC);
	bind_text_or_null(st, 11, j->boot_id[0] ? j->boot_id : NULL);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(j, e, "cannot record a transaction");
	*ret_id = sqlite3_last_insert_rowid(j->db);
	return streq(t->state, "committed") ? change_set_committed(j, *ret_id, e) : 0;
}

int journal_txn_finish(struct journal *j, int64_t txn, const char *state, const char *note_suffix,
		       struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	bool outermost;
	int k = 0;

	if (prepare(j,
		    "UPDATE txn SET state = ?, finished_at = ?, "
		    "note = CASE WHEN ?3 IS NULL THEN note WHEN note IS NULL THEN ?3 ELSE note || '; ' || ?3 END "
		    "WHERE id = ?4", &st, e) < 0)
		return -EIO;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	bind_text_or_null(st, 3, note_suffix);
	sqlite3_bind_int64(st, 4, txn);
	/* A savepoint: one SQLite transaction (one sync) whether or not the caller opened one. */
	outermost = sqlite3_get_autocommit(j->db);
	if (exec(j, "SAVEPOINT finish", e) < 0)
		return -EIO;
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(j, e, "cannot update a transaction");
		k = -EIO;
	}
	if (k == 0 && streq(state, "committed"))
		k = change_set_committed(j, txn, e);
	if (k < 0) {
		sqlite3_exec(j->db, "ROLLBACK TO finish; RELEASE finish", NULL, NULL, NULL);
		return k;
	}
	if (exec(j, "RELEASE finish", e) < 0) {
		if (outermost)
			journal_rollback_sql(j);
		return -EIO;
	}
	return 0;
}

int journal_salvage_insert(struct journal *j, int64_t txn, const char *path, const struct file_state *fs,
			   struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char now[32];

	time_now_iso(now);
	if (put_state(j, fs, e) < 0)
		return -EIO;
	if (prepare(j,
		    "INSERT OR IGNORE INTO salvage(txn, path, hash, mode, uid, gid, found_at) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?)", &st, e) < 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, txn);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, fs->hash, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)fs->mode);
	sqlite3_bind_int64(st, 5, fs->uid);
	sqlite3_bind_int64(st, 6, fs->gid);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(j, e, "cannot save a file's content");
	return 0;
}

int journal_hook_insert(struct journal *j, int64_t txn, int seq, const char *argv, int status, const char *output,
			size_t output_len, const char *started_at, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char hash[SHA256_HEX_LEN + 1], now[32];

	sha256_hex(output ? output : "", output_len, hash);
	if (blob_put(j->db, hash, output, output_len) < 0)
		return db_error(j, e, "cannot store a hook's output");
	time_now_iso(now);
	if (prepare(j, "INSERT INTO hook_run(txn, seq, argv, status, output_hash, started_at, finished_at) "
		       "VALUES (?, ?, ?, ?, ?, ?, ?)", &st, e) < 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, txn);
	sqlite3_bind_int(st, 2, seq);
	sqlite3_bind_text(st, 3, argv, -1, SQLITE_STATIC);
	if (status >= 0)
		sqlite3_bind_int(st, 4, status);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_text(st, 5, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, started_at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(j, e, "cannot record a hook run");
	return 0;
}
