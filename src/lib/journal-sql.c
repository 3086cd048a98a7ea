/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal-sql.c — the few helpers every journal file talks SQL through: prepare, exec, and
 *  the message of a failed statement (SQLite's text, the errno behind it, what to do).
 *  Owns: journal_error, db_error, prepare, exec. Must not: know a table, open a file, or call
 *  another journal file: it is the bottom of the module (journal-read.c, journal-write.c and
 *  journal-open.c call it). */
#include <errno.h>
#include <string.h>

#include "journal-internal.h"

/* SQLite's message, the errno behind it (sqlite3_system_errno: "disk I/O error" alone does not
 * say that the disk is full), and what to do about that kind of failure. */
void journal_error(struct journal *j, struct error *e, const char *what, const char *msg)
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

int db_error(struct journal *j, struct error *e, const char *what)
{
	journal_error(j, e, what, sqlite3_errmsg(j->db));
	return -EIO;
}

int prepare(struct journal *j, const char *sql, sqlite3_stmt **st, struct error *e)
{
	if (sqlite3_prepare_v2(j->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_error(j, e, "cannot prepare a query");
	return 0;
}

int exec(struct journal *j, const char *sql, struct error *e)
{
	char *msg = NULL;

	if (sqlite3_exec(j->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		journal_error(j, e, NULL, msg ? msg : sqlite3_errmsg(j->db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}
