/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal-internal.h — what the journal's own files share and no other file sees.
 *  Owns: struct journal, the embedded schema steps, the statement cleanup, and the functions
 *  one journal file calls in another. Layers inside the module, top to bottom: journal-open.c
 *  (open, lock, migrate; its migration reuses the two below it) and journal-trial.c (trial
 *  boots' rows; its file rows and change sets come from the two below it), journal-read.c and
 *  journal-write.c (they do not call each other), journal-sql.c and journal-blob.c.
 *  Must not: be included outside src/lib/journal*.c (and the journal's unit test): only the
 *  journal module talks SQL to the journal. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "journal.h"
#include "util.h"

/* schema/NNNN-*.sql, embedded by tools/embed-schema.py. */
struct schema_step {
	unsigned version;
	const char *name;
	const char *sql;
};
extern const struct schema_step schema_steps[];
extern const unsigned schema_steps_count;

struct journal {
	sqlite3 *db;
	char *path;
	int lock_fd;
	bool readonly;		/* opened by a reader: nothing is ever written through it */
	char boot_id[40];	/* recorded with each new transaction; "" when unknown */
};

static inline void finalizep(sqlite3_stmt **s)
{
	sqlite3_finalize(*s);
}
#define _cleanup_stmt_ _cleanup_(finalizep)

/* journal-sql.c */
/* The error message of a failed statement: see journal-sql.c. */
void journal_error(struct journal *j, struct error *e, const char *what, const char *msg);
/* journal_error with SQLite's own message; returns -EIO. */
int db_error(struct journal *j, struct error *e, const char *what);
int prepare(struct journal *j, const char *sql, sqlite3_stmt **st, struct error *e);
int exec(struct journal *j, const char *sql, struct error *e);

/* journal-read.c */
/* The file rows that sql selects for transaction txn (see journal-read.c); also the reader
 * of schema 3's rows in schema 4's migration. */
int file_rows_read(struct journal *j, const char *sql, int64_t txn, bool with_sizes, const char *what,
		   struct file_change **ret, size_t *ret_n, struct error *e);

/* journal-write.c */
/* The id of the change set of files, stored now if the journal does not hold it yet (see
 * journal-write.c); also schema 4's migration stores its change sets through it. */
int change_set_put(struct journal *j, const struct file_change *files, size_t n, bool store_contents,
		   int64_t *ret, struct error *e);
