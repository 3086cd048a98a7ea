/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal-open.c — opening the journal: the writer lock taken before SQLite opens the file,
 *  the WAL switch and pragmas, the schema migrations, the read-only (or immutable) reader
 *  open, the TRUNCATE checkpoint at the end of a writing command, and close.
 *  Owns: struct journal's life, the lock file, the schema version. Must not: read or write a
 *  transaction's rows itself (schema 4's iommuctl_change_set_of goes through journal-read.c
 *  and journal-write.c, the code that records new transactions), or reach the journal's
 *  directory under --root other than through rootfs. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal-internal.h"
#include "journal-vfs.h"
#include "strbuf.h"

int journal_schema_version(struct journal *j)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(j->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		return -EIO;
	return sqlite3_column_int(st, 0);
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

/* How long a writer waits for another one's lock (journal_set_lock_wait): -1 not at all (the
 * default: exit 4 at once), 0 without limit, else milliseconds. One command per process, so
 * one setting per process, like SQLite's own busy timeout. */
static long lock_wait_ms = -1;
static void (*lock_waiting)(const char *owner_pid, const char *lock_path);
/* How often a waiting writer tries again. apt waits for dpkg's lock the same way: it polls
 * (once a second), so that it can say whom it waits for and stop at its timeout. */
#define LOCK_POLL_MS 100

void journal_set_lock_wait(long ms, void (*waiting)(const char *owner_pid, const char *lock_path))
{
	lock_wait_ms = ms;
	lock_waiting = waiting;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void read_owner(int fd, char pidbuf[static 32])
{
	ssize_t n = pread(fd, pidbuf, 31, 0);

	pidbuf[n > 0 ? n : 0] = '\0';
	pidbuf[strcspn(pidbuf, "\n")] = '\0';
}

/* Take the writer lock: flock on "<journal>.lock", which holds the owner's pid. Held by another
 * process: wait as journal_set_lock_wait() said, telling its callback once whom it waits for. */
static int lock_take(const char *path, int *ret_fd, struct error *e)
{
	_cleanup_free_ char *lock_path = NULL;
	char pidbuf[32] = "";
	long start = now_ms();
	bool told = false;
	ssize_t n;
	int fd;

	if (asprintf(&lock_path, "%s.lock", path) < 0)
		return -ENOMEM;
	fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set_errno(e, EXIT_IO, errno, "cannot open lock file %s: %s", lock_path, strerror(errno)),
		       negative_errno();
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		long waited = now_ms() - start;
		struct timespec pause = { 0, LOCK_POLL_MS * 1000000L };

		if (err == EINTR)
			continue;
		read_owner(fd, pidbuf);
		if (err != EWOULDBLOCK) {
			close(fd);
			return error_set(e, EXIT_IO, "cannot lock %s: %s", lock_path, strerror(err)), -err;
		}
		if (lock_wait_ms < 0 || (lock_wait_ms > 0 && waited >= lock_wait_ms)) {
			close(fd);
			if (lock_wait_ms > 0)
				return error_set(e, EXIT_LOCKED,
						 "another iommuctl (pid %s) still holds the lock %s after %ld s of waiting; "
						 "wait for it to finish (or pass a longer --wait), then run the command again",
						 *pidbuf ? pidbuf : "unknown", lock_path, lock_wait_ms / 1000), -EBUSY;
			return error_set(e, EXIT_LOCKED,
					 "another iommuctl (pid %s) holds the lock %s; wait for it to finish, then run "
					 "the command again (or pass --wait)", *pidbuf ? pidbuf : "unknown", lock_path),
			       -EBUSY;
		}
		if (!told && lock_waiting)
			lock_waiting(*pidbuf ? pidbuf : "unknown", lock_path);
		told = true;
		nanosleep(&pause, NULL);
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

const char *journal_path(const struct journal *j)
{
	return j->path;
}

const char *journal_sqlite_version(void)
{
	return sqlite3_libversion();
}
