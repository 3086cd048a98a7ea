/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal.c — the SQLite journal: open, migrate, lock, and the rows of transactions and files. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blob.h"
#include "config.h"
#include "journal.h"
#include "journal-vfs.h"
#include "strbuf.h"

static void finalizep(sqlite3_stmt **s)
{
	sqlite3_finalize(*s);
}
#define _cleanup_stmt_ _cleanup_(finalizep)

/* SQLite's message, the errno behind it (sqlite3_system_errno: "disk I/O error" alone does not
 * say that the disk is full), and what to do about that kind of failure. */
static void journal_error(struct journal *j, struct error *e, const char *what, const char *msg)
{
	int err = sqlite3_system_errno(j->db);
	int code = sqlite3_errcode(j->db) & 0xff;
	const char *hint;

	if (err == EROFS)
		hint = "the file system that holds it is mounted read-only";
	else if (err == ENOSPC || code == SQLITE_FULL)
		hint = "free space on the file system that holds the journal, then run the command again "
		       "(the files were not changed, or were put back)";
	else if (err == EACCES || err == EPERM || code == SQLITE_READONLY || code == SQLITE_PERM)
		hint = "run as root, or check the journal's permissions";
	else
		hint = "if the journal is damaged, move it away and keep it for inspection";
	error_set_errno(e, EXIT_IO, err, "journal %s: %s%s%s%s%s; %s", j->path, what ? what : "", what ? ": " : "",
			msg, err ? " — " : "", err ? strerror(err) : "", hint);
}

static int db_error(struct journal *j, struct error *e, const char *what)
{
	journal_error(j, e, what, sqlite3_errmsg(j->db));
	return -EIO;
}

static int prepare(struct journal *j, const char *sql, sqlite3_stmt **st, struct error *e)
{
	if (sqlite3_prepare_v2(j->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_error(j, e, "cannot prepare a query");
	return 0;
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

int journal_schema_version(struct journal *j)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(j->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	return sqlite3_column_int(st, 0);
}

static int exec(struct journal *j, const char *sql, struct error *e)
{
	char *msg = NULL;

	if (sqlite3_exec(j->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		journal_error(j, e, NULL, msg ? msg : sqlite3_errmsg(j->db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static char *dup_column(sqlite3_stmt *st, int i);
static void read_state(sqlite3_stmt *st, int first, struct file_state *fs);
static int change_set_put(struct journal *j, const struct file_change *files, size_t n, bool store_contents,
			  int64_t *ret, struct error *e);

/* The file rows that sql selects for transaction txn: its columns are the path,
 * the before state (hash, mode, uid, gid), the after state and, with sizes,
 * the sizes of the two contents. what names the rows in an error message. */
static int file_rows_read(struct journal *j, const char *sql, int64_t txn, bool with_sizes, const char *what,
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

/* iommuctl_change_set_of(TXN), for schema 4's migration: the change set of the
 * transaction's rows in schema 3's file_change table, found or stored by the
 * same code that records new transactions; NULL when it had no rows. */
static void sql_change_set_of(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct journal *j = sqlite3_user_data(ctx);
	struct file_change *v = NULL;
	struct error e = { 0 };
	size_t n = 0;
	int64_t set = 0;
	int k;

	(void)argc;
	k = file_rows_read(j,
			   "SELECT path, before_hash, before_mode, before_uid, before_gid, "
			   "after_hash, after_mode, after_uid, after_gid FROM file_change WHERE txn = ? ORDER BY path",
			   sqlite3_value_int64(argv[0]), false, "cannot read schema 3's file rows", &v, &n, &e);
	if (k == 0) {
		k = change_set_put(j, v, n, false, &set, &e);
		file_changes_free(v, n);
	}
	if (k == -ENOMEM)
		sqlite3_result_error_nomem(ctx);
	else if (k < 0)
		sqlite3_result_error(ctx, e.text, -1);
	else if (set)
		sqlite3_result_int64(ctx, set);
	else
		sqlite3_result_null(ctx);
}

/* A schema step must leave every reference intact; enforcement is off while the
 * steps run (schema 4 rebuilds txn), so check by hand before committing. */
static int foreign_keys_intact(struct journal *j, unsigned version, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc;

	if (prepare(j, "PRAGMA foreign_key_check", &st, e) < 0)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_error(j, e, "cannot check references");
	return error_set(e, EXIT_IO,
			 "journal %s: migrating to schema %u would leave a row of %s pointing at a missing row of %s; "
			 "the journal was left as it was: keep a copy and report it",
			 j->path, version, (const char *)sqlite3_column_text(st, 0),
			 (const char *)sqlite3_column_text(st, 2)), -EBADMSG;
}

/* Apply every schema step newer than the journal, all in one transaction: an
 * interrupted migration leaves the journal at its old version, and a new journal
 * is created with one commit (one sync) instead of one per step. */
static int migrate(struct journal *j, struct error *e)
{
	char sql[64];
	int v;

	if (exec(j, "BEGIN IMMEDIATE", e) < 0)
		return -EIO;
	v = journal_schema_version(j);
	if (v < 0) {
		journal_rollback_sql(j);
		return db_error(j, e, "cannot read the schema version");
	}
	if ((unsigned)v > schema_steps_count) {
		journal_rollback_sql(j);
		return error_set(e, EXIT_IO,
				 "journal %s has schema version %d but this iommuctl knows only up to %u; "
				 "use the newer iommuctl that wrote it",
				 j->path, v, schema_steps_count), -EPROTO;
	}
	for (; (unsigned)v < schema_steps_count; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %u", schema_steps[v].version);
		if (exec(j, schema_steps[v].sql, e) < 0 || foreign_keys_intact(j, schema_steps[v].version, e) < 0 ||
		    exec(j, sql, e) < 0) {
			journal_rollback_sql(j);
			return -EIO;
		}
	}
	if (exec(j, "COMMIT", e) < 0) {
		journal_rollback_sql(j);
		return -EIO;
	}
	return 0;
}

#define WAL_CHECKPOINT_PAGES 256
/* How long a command waits for another one's SQLite lock before it gives up. */
#define BUSY_TIMEOUT_MS 10000
/* How long the checkpoint at the end of a writing command waits for readers to finish. A
 * reader holds its read transaction only while it loads rows (history, show and diff load,
 * then print), milliseconds even at 100 000 transactions; a writer must not hang on one. */
#define CHECKPOINT_WAIT_MS 2000

/* PRAGMA journal_mode = WAL. SQLite can answer SQLITE_BUSY here without calling the
 * busy handler, when another connection opens or closes the journal at that moment
 * (t0300's load test saw it about once in 40 000 commands, between two writers, before
 * writers took their lock first); a reader may still meet a writer so, hence the retry. */
static int switch_to_wal(struct journal *j, struct error *e)
{
	for (int waited_ms = 0;; waited_ms += 5) {
		_cleanup_stmt_ sqlite3_stmt *st = NULL;
		int rc;

		if (prepare(j, "PRAGMA journal_mode = WAL", &st, e) < 0)
			return -EIO;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			if (strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
				return error_set(e, EXIT_IO, "journal %s: the file system does not support SQLite's "
						 "WAL mode", j->path), -EIO;
			return 0;
		}
		if ((rc & 0xff) != SQLITE_BUSY || waited_ms >= BUSY_TIMEOUT_MS)
			return db_error(j, e, "cannot switch to WAL mode");
		sqlite3_sleep(5);
	}
}

static int configure(struct journal *j, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char sql[160];

	sqlite3_busy_timeout(j->db, BUSY_TIMEOUT_MS);
	/* 1 KiB pages for a new journal (a no-op on one that has content): a transaction
	 * changes about ten pages, and its rows are 60 to 150 bytes, so with 4 KiB pages
	 * most of what each command writes to the WAL, and copies back at checkpoints,
	 * would be bytes it did not change. Must come before the switch to WAL. */
	if (exec(j, "PRAGMA page_size = 1024", e) < 0 || switch_to_wal(j, e) < 0)
		return -EIO;
	/* Keep the WAL file between commands, empty: journal_checkpoint() folds it into
	 * journal.db and cuts it to zero bytes at the end of each writing command. At close
	 * SQLite would otherwise checkpoint and delete it, and the next command would create
	 * it again and pay a sync of the directory. WAL_CHECKPOINT_PAGES bounds the WAL
	 * within one long command. */
	if (sqlite3_db_config(j->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL) != SQLITE_OK)
		return db_error(j, e, "cannot configure the journal");
	/* Journals made before schema 4 keep their 4 KiB pages. */
	if (prepare(j, "PRAGMA page_size", &st, e) < 0)
		return -EIO;
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_error(j, e, "cannot read the page size");
	snprintf(sql, sizeof(sql),
		 "PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = %d; PRAGMA journal_size_limit = %lld",
		 WAL_CHECKPOINT_PAGES, (long long)WAL_CHECKPOINT_PAGES * sqlite3_column_int64(st, 0));
	return exec(j, sql, e);
}

/* Take the writer lock: flock on "<journal>.lock", which holds the owner's pid. */
static int lock_take(const char *path, int *ret_fd, struct error *e)
{
	_cleanup_free_ char *lock_path = NULL;
	char pidbuf[32] = "";
	ssize_t n;
	int fd;

	if (asprintf(&lock_path, "%s.lock", path) < 0)
		return -ENOMEM;
	fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set_errno(e, EXIT_IO, errno, "cannot open lock file %s: %s", lock_path, strerror(errno)),
		       negative_errno();
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		n = pread(fd, pidbuf, sizeof(pidbuf) - 1, 0);
		pidbuf[n > 0 ? n : 0] = '\0';
		pidbuf[strcspn(pidbuf, "\n")] = '\0';
		close(fd);
		if (err != EWOULDBLOCK)
			return error_set(e, EXIT_IO, "cannot lock %s: %s", lock_path, strerror(err)), -err;
		return error_set(e, EXIT_LOCKED,
				 "another iommuctl (pid %s) holds the lock %s; wait for it to finish, then run the command again",
				 *pidbuf ? pidbuf : "unknown", lock_path), -EBUSY;
	}
	n = snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)getpid());
	/* The pid is only a hint for the message above; failing to write it is not fatal. */
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pidbuf, (size_t)n, 0) < 0)
		(void)0;
	*ret_fd = fd;
	return 0;
}

/* What every connection needs: extended result codes, and the function schema 4's migration calls. */
static int connection_setup(struct journal *j, struct error *e)
{
	sqlite3_extended_result_codes(j->db, 1);
	sqlite3_busy_timeout(j->db, BUSY_TIMEOUT_MS);
	if (sqlite3_create_function(j->db, "iommuctl_change_set_of", 1, SQLITE_UTF8, j, sql_change_set_of, NULL,
				    NULL) != SQLITE_OK)
		return error_set(e, EXIT_IO, "cannot open journal %s: %s", j->path, sqlite3_errmsg(j->db)), -EIO;
	return 0;
}

static struct journal *journal_new(const char *path, int lock_fd)
{
	struct journal *j = calloc(1, sizeof(*j));

	if (!j || !(j->path = strdup(path))) {
		free(j);
		return NULL;
	}
	j->lock_fd = lock_fd;
	return j;
}

/* Replace a reader's connection by one to a copy of its database in memory (sqlite3_backup
 * reads it in one read transaction: a consistent snapshot), where a migration may write. */
static int copy_to_memory(struct journal *j, struct error *e)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	sqlite3_backup *b;
	sqlite3 *mem = NULL;
	char sql[64];
	int rc;

	if (prepare(j, "PRAGMA page_size", &st, e) < 0)
		return -EIO;
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_error(j, e, "cannot read the page size");
	/* An in-memory destination must have the source's page size, or the backup fails. */
	snprintf(sql, sizeof(sql), "PRAGMA page_size = %d", sqlite3_column_int(st, 0));
	if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
	    sqlite3_exec(mem, sql, NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(mem);
		return -ENOMEM;
	}
	b = sqlite3_backup_init(mem, "main", j->db, "main");
	rc = b ? sqlite3_backup_step(b, -1) : sqlite3_errcode(mem);
	if (b)
		sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		sqlite3_close(mem);
		return db_error(j, e, "cannot read it");
	}
	sqlite3_close(j->db);
	j->db = mem;
	return connection_setup(j, e);
}

/* The size of path's WAL, 0 when it is empty or absent. */
static off_t wal_size(const char *path)
{
	_cleanup_free_ char *wal = NULL;
	struct stat st;

	if (asprintf(&wal, "%s-wal", path) < 0)
		return -ENOMEM;
	return stat(wal, &st) == 0 ? st.st_size : 0;
}

/* A file's identity and last change, to tell whether it changed while it was read. */
static bool same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The state of journal.db and its WAL; a missing WAL reads as all zeros. */
static int files_stat(const char *path, struct stat *db, struct stat *wal)
{
	_cleanup_free_ char *w = NULL;

	memset(wal, 0, sizeof(*wal));
	if (asprintf(&w, "%s-wal", path) < 0)
		return -ENOMEM;
	if (stat(path, db) < 0 || (stat(w, wal) < 0 && errno != ENOENT))
		return negative_errno();
	return 0;
}

/* "file:PATH?immutable=1", PATH with the characters a URI gives meaning to escaped. */
static char *immutable_uri(const char *path)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	if (strbuf_appendf(&sb, "file:") < 0)
		return NULL;
	for (const char *p = path; *p; p++)
		if ((*p == '%' || *p == '?' || *p == '#') ? strbuf_appendf(&sb, "%%%02X", (unsigned char)*p) < 0
							     : strbuf_appendc(&sb, *p) < 0)
			return NULL;
	if (strbuf_appendf(&sb, "?immutable=1") < 0)
		return NULL;
	return strbuf_steal(&sb);
}

/*
 * Read journal.db alone, as an immutable file, into memory. Only for a reader that cannot
 * open the WAL index (-shm): it cannot be created in a directory this user may not write,
 * or on a read-only mount. SQLite then takes no lock and reads no WAL; the caller has made
 * sure that the WAL is empty or absent, i.e. journal.db alone is complete (every writing
 * command ends with a TRUNCATE checkpoint). A writer could still be at work beside it
 * where someone else may write the directory, so the copy is kept only if journal.db and
 * its WAL did not change while it was read.
 */
static int immutable_snapshot(struct journal *j, struct error *e)
{
	_cleanup_free_ char *uri = immutable_uri(j->path);

	if (!uri)
		return -ENOMEM;
	for (int attempt = 0; attempt < 3; attempt++) {
		struct stat db0, wal0, db1, wal1;
		int k;

		k = files_stat(j->path, &db0, &wal0);
		if (k < 0)
			return error_set(e, EXIT_IO, "cannot open journal %s: %s", j->path, strerror(-k)), k;
		if (wal0.st_size > 0)
			break;
		sqlite3_close(j->db);
		j->db = NULL;
		if (sqlite3_open_v2(uri, &j->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOFOLLOW, NULL) !=
		    SQLITE_OK)
			return error_set(e, EXIT_IO, "cannot open journal %s: %s", j->path,
					 j->db ? sqlite3_errmsg(j->db) : "out of memory"), -EIO;
		if (connection_setup(j, e) < 0 || copy_to_memory(j, e) < 0)
			return -EIO;
		k = files_stat(j->path, &db1, &wal1);
		if (k < 0)
			return error_set(e, EXIT_IO, "cannot open journal %s: %s", j->path, strerror(-k)), k;
		if (same_stat(&db0, &db1) && wal1.st_size == 0)
			return 0;
	}
	return error_set(e, EXIT_IO, "journal %s changed while it was being read (a writing command is running "
			 "beside); run the command again", j->path), -EAGAIN;
}

/* The schema version, or SQLite's error code when even that cannot be read. */
static int probe_version(struct journal *j, int *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(j->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ret = sqlite3_column_int(st, 0);
		return SQLITE_OK;
	}
	return rc == SQLITE_DONE ? SQLITE_CORRUPT : rc;
}

/* journal_open for readers: see JOURNAL_READONLY in journal.h. */
static int reader_open(const char *path, struct journal **ret, struct error *e)
{
	struct journal *j;
	struct stat st;
	off_t wal;
	int rc, v = 0;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return error_set(e, EXIT_IO, "cannot open journal %s: %s", path, strerror(errno)), negative_errno();
	}
	j = journal_new(path, -1);
	if (!j)
		return -ENOMEM;
	j->readonly = true;
	if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, journal_vfs_name()) !=
	    SQLITE_OK) {
		error_set(e, EXIT_IO, "cannot open journal %s: %s", path,
			  j->db ? sqlite3_errmsg(j->db) : "out of memory");
		goto fail;
	}
	if (connection_setup(j, e) < 0)
		goto fail;
	rc = probe_version(j, &v);
	/* No WAL index here: it cannot be created (CANTOPEN) or, read-only, it cannot be
	 * brought up to date (READONLY_CANTINIT, READONLY_RECOVERY). */
	if ((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_READONLY) {
		wal = wal_size(path);
		if (wal != 0) {
			error_set(e, EXIT_IO,
				  "journal %s: its WAL %s-wal holds %lld bytes of transactions that are not in "
				  "journal.db yet, and this process cannot read them (it cannot open or update the "
				  "WAL index %s-shm: %s); run the command as root, or where the directory is writable "
				  "(copy journal.db, -wal and -shm together), rather than read a history without them",
				  path, path, (long long)wal, path, sqlite3_errmsg(j->db));
			goto fail;
		}
		if (immutable_snapshot(j, e) < 0)
			goto fail;
		rc = probe_version(j, &v);
	}
	if (rc != SQLITE_OK) {
		db_error(j, e, "cannot read it");
		goto fail;
	}
	if ((unsigned)v != schema_steps_count) {
		/* An older journal is migrated in a copy in memory: a reader never writes. */
		const char *file = sqlite3_db_filename(j->db, "main");

		if (file && *file && copy_to_memory(j, e) < 0)
			goto fail;
		if (migrate(j, e) < 0)
			goto fail;
	}
	if (exec(j, "PRAGMA foreign_keys = ON", e) < 0)
		goto fail;
	*ret = j;
	return 0;
fail:
	journal_close(j);
	return -EIO;
}

int journal_open(const char *path, unsigned flags, struct journal **ret, struct error *e)
{
	struct journal *j;
	struct stat st;
	int k, lock_fd = -1;

	if (flags & JOURNAL_READONLY)
		return reader_open(path, ret, e);
	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return error_set(e, EXIT_IO, "cannot open journal %s: %s", path, strerror(errno)), negative_errno();
		if (!(flags & JOURNAL_CREATE))
			return -ENOENT;
		/* SQLite would create it 0644; the journal holds whole config files, so make it 0600
		 * first. The WAL and shm files inherit the database file's mode. */
		k = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (k < 0 && errno != EEXIST)
			return error_set_errno(e, EXIT_IO, errno, "cannot create journal %s: %s", path,
					       strerror(errno)), negative_errno();
		if (k >= 0)
			close(k);
	}
	/* A writer takes its lock before SQLite opens the file: then no two writers are ever
	 * inside SQLite on this journal at once, not even while each sets up its connection
	 * (see switch_to_wal). */
	if ((flags & JOURNAL_LOCK) && (k = lock_take(path, &lock_fd, e)) < 0)
		return k;
	j = journal_new(path, lock_fd);
	if (!j) {
		if (lock_fd >= 0)
			close(lock_fd);
		return -ENOMEM;
	}
	if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, journal_vfs_name()) !=
	    SQLITE_OK) {
		error_set(e, EXIT_IO, "cannot open journal %s: %s", path, j->db ? sqlite3_errmsg(j->db) : "out of memory");
		journal_close(j);
		return -EIO;
	}
	if (connection_setup(j, e) < 0) {
		journal_close(j);
		return -EIO;
	}
	/* Foreign keys are enforced only after the migration: PRAGMA foreign_keys is
	 * ignored inside a transaction, and schema 4 drops and rebuilds txn. */
	if (configure(j, e) < 0 || migrate(j, e) < 0 || exec(j, "PRAGMA foreign_keys = ON", e) < 0) {
		journal_close(j);
		return -EIO;
	}
	*ret = j;
	return 0;
}

int journal_checkpoint(struct journal *j, struct error *e)
{
	int rc;

	if (!j || !j->db || j->readonly)
		return 0;
	journal_rollback_sql(j);
	sqlite3_busy_timeout(j->db, CHECKPOINT_WAIT_MS);
	rc = sqlite3_wal_checkpoint_v2(j->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_busy_timeout(j->db, BUSY_TIMEOUT_MS);
	if (rc == SQLITE_OK)
		return 0;
	if ((rc & 0xff) == SQLITE_BUSY)
		return error_set(e, EXIT_IO, "journal %s: a reader (iommuctl history, show, diff or verify, or a "
				 "sqlite3 shell) was still reading it, so its newest transactions stay in %s-wal for "
				 "now (journal.db and its -wal together hold them; the next writing command folds "
				 "them into journal.db): copy both if you copy it now", j->path, j->path), -EBUSY;
	journal_error(j, e, "cannot fold the WAL into journal.db", sqlite3_errmsg(j->db));
	return -EIO;
}

void journal_set_boot_id(struct journal *j, const char *boot_id)
{
	snprintf(j->boot_id, sizeof(j->boot_id), "%s", boot_id ? boot_id : "");
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	sqlite3_close(j->db);
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	free(j->path);
	free(j);
}

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
static int change_set_put(struct journal *j, const struct file_change *files, size_t n, bool store_contents,
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

int journal_txn_files(struct journal *j, int64_t id, bool with_content, struct file_change **ret,
		      size_t *ret_n, struct error *e)
{
	struct file_change *v = NULL;
	size_t n = 0;
	int k;

	k = file_rows_read(j,
			   "SELECT f.path, f.before_hash, f.before_mode, f.before_uid, f.before_gid, "
			   "f.after_hash, f.after_mode, f.after_uid, f.after_gid, "
			   "(SELECT size FROM blob WHERE hash = f.before_hash), "
			   "(SELECT size FROM blob WHERE hash = f.after_hash) "
			   "FROM txn t JOIN change_set_file f ON f.change_set = t.change_set WHERE t.id = ? "
			   "ORDER BY f.path",
			   id, true, "cannot read the files of a transaction", &v, &n, e);
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

#define JOURNAL_DIR "/var/lib/iommuctl"
#define JOURNAL_NAME "journal.db"

/* SQLite opens by name, so turn the confined directory fd back into a name the
 * kernel resolved for us: /proc/self/fd gives the real path, free of links. */
static int dir_fd_path(const struct rootfs *r, int dirfd, char **ret)
{
	char link[64], target[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		return asprintf(ret, "%s/" JOURNAL_NAME, target) < 0 ? -ENOMEM : 0;
	}
	/* No /proc (a bare rescue shell): the literal path is safe only if it has no link. */
	{
		_cleanup_close_ int fd = rootfs_openat(r, JOURNAL_DIR, O_PATH | O_DIRECTORY, 0, ROOTFS_NO_LINKS);
		char shown[4096];

		if (fd < 0)
			return -ELOOP;
		return asprintf(ret, "%s/" JOURNAL_NAME, rootfs_display(r, JOURNAL_DIR, shown, sizeof(shown))) < 0
			       ? -ENOMEM : 0;
	}
}

int journal_open_in_root(const struct rootfs *r, unsigned flags, struct journal **ret, struct error *e)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int dirfd = -1;
	char shown[4096];
	int k;

	if (!(flags & JOURNAL_CREATE)) {
		dirfd = rootfs_openat(r, JOURNAL_DIR, O_RDONLY | O_DIRECTORY, 0, ROOTFS_LINKS_IN_ROOT);
		if (dirfd == -ENOENT)
			return -ENOENT;
		if (dirfd < 0)
			return error_set(e, EXIT_IO, "cannot open %s: %s",
					 rootfs_display(r, JOURNAL_DIR, shown, sizeof(shown)), strerror(-dirfd)), dirfd;
	} else {
		k = rootfs_open_dir(r, JOURNAL_DIR, true, 0700, ROOTFS_LINKS_IN_ROOT, &dirfd, e);
		if (k < 0)
			return k;
	}
	k = dir_fd_path(r, dirfd, &path);
	if (k == -ELOOP)
		return error_set(e, EXIT_IO, "cannot name the journal directory %s safely without /proc; "
				 "mount /proc or pass --journal FILE",
				 rootfs_display(r, JOURNAL_DIR, shown, sizeof(shown))), k;
	if (k < 0)
		return k;
	return journal_open(path, flags, ret, e);
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
