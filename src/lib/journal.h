/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal.h — the SQLite journal: transactions, file snapshots, migrations, the writer lock.
 *  Owns: the journal's public interface (journal-open.c, journal-read.c, journal-write.c).
 *  Must not: show SQLite to its callers: struct journal is opaque here (journal-internal.h),
 *  so that only the journal module talks SQL to the journal. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "rootfs.h"
#include "util.h"

struct journal;

/* One file of a transaction. */
struct file_change {
	char *path;		/* absolute inside the root */
	struct file_state before, after;
};

void file_change_clear(struct file_change *c);
void file_changes_free(struct file_change *v, size_t n);

struct txn_info {
	int64_t id;
	char kind[16];
	char state[16];
	char *profile;		/* NULL when none */
	char *note;
	int64_t undoes;		/* 0 when none */
	char started_at[32];
	char finished_at[32];	/* "" while pending */
	char *user;
	char *version;
	unsigned nfiles;
	char boot_id[40];	/* the boot it was recorded in; "" before schema 5 or when unknown */
};

void txn_info_clear(struct txn_info *t);

enum {
	JOURNAL_CREATE = 1 << 0,	/* make it if missing: directory 0700, file 0600 */
	JOURNAL_LOCK = 1 << 1,		/* take the writer lock first (see below) */
	JOURNAL_READONLY = 1 << 2,	/* a reader: open it read-only, never write (see below) */
};

/* Open the journal at path and bring its schema up to date. Without JOURNAL_CREATE a
 * missing journal gives -ENOENT and no message. With JOURNAL_LOCK the writer lock
 * (flock on "<journal>.lock", which holds the owner's pid) is taken before SQLite opens
 * the file, and held until journal_close(); held by another process: EXIT_LOCKED and a
 * message naming its pid. */
int journal_open(const char *path, unsigned flags, struct journal **ret, struct error *e);
/* With JOURNAL_READONLY nothing is written, not even a migration (an older schema is migrated
 * in a copy in memory), so readers work where they cannot write: as a user who may read the
 * journal but not its directory, or on a read-only mount. When even the WAL index (-shm)
 * cannot be opened there, the journal is read as an immutable file, into memory, if its WAL
 * is empty or gone (journal.db alone is then the whole journal, see journal_checkpoint);
 * a WAL with content that cannot be read is an error, never a stale history. */
/* The journal at <root>/var/lib/iommuctl/journal.db, its directory reached through the root fd. */
int journal_open_in_root(const struct rootfs *r, unsigned flags, struct journal **ret, struct error *e);
void journal_close(struct journal *j);
/* Fold the WAL into journal.db and cut it to zero bytes (a TRUNCATE checkpoint), so that
 * journal.db alone holds every transaction once the command ends: it is the file people
 * copy to recover a host. A writer calls it last, with its lock held; a reader that is
 * reading at that moment is waited for up to a few seconds, never for long, and then the
 * WAL stays as it is (still consistent: journal.db and its WAL together are the journal)
 * for the next writer to fold in. A no-op on a reader's journal. */
int journal_checkpoint(struct journal *j, struct error *e);
/* The boot id recorded with every transaction inserted from now on (NULL: none). */
void journal_set_boot_id(struct journal *j, const char *boot_id);
/* The journal's file name, as opened (for messages). */
const char *journal_path(const struct journal *j);
/* The version of the SQLite library the journal runs on (for --version). */
const char *journal_sqlite_version(void);
static inline void journal_closep(struct journal **j) { journal_close(*j); }

int journal_begin(struct journal *j, struct error *e);
int journal_commit(struct journal *j, struct error *e);
void journal_rollback_sql(struct journal *j);

/* A transaction's own row. */
struct txn_record {
	const char *kind;	/* snapshot, apply, rollback, recover, trial */
	const char *state;	/* pending or committed */
	const char *profile;	/* NULL when none */
	const char *note;	/* NULL when none; a rollback's "undo transaction N" is implied */
	int64_t undoes;		/* 0 when none */
};

/* Inserts; call between journal_begin and journal_commit. journal_txn_insert stores
 * the contents of files and their change set (once per distinct change), then the row. */
int journal_txn_insert(struct journal *j, const struct txn_record *t, const struct file_change *files, size_t n,
		       int64_t *ret_id, struct error *e);
int journal_txn_finish(struct journal *j, int64_t txn, const char *state, const char *note_suffix,
		       struct error *e);
int journal_salvage_insert(struct journal *j, int64_t txn, const char *path, const struct file_state *fs,
			   struct error *e);

/* Queries. */
int journal_txn_get(struct journal *j, int64_t id, struct txn_info *ret, struct error *e);
/* Transactions newest first; limit 0 means all. */
int journal_txn_list(struct journal *j, unsigned limit, struct txn_info **ret, size_t *ret_n, struct error *e);
/* Files of a transaction sorted by path; with_content loads and inflates the blobs. */
int journal_txn_files(struct journal *j, int64_t id, bool with_content, struct file_change **ret,
		      size_t *ret_n, struct error *e);
/* The oldest pending transaction, 0 if none. */
int journal_pending(struct journal *j, int64_t *ret_id, struct error *e);
/* Last committed state of path: *ret_known=false if no committed transaction recorded it. */
int journal_known_state(struct journal *j, const char *path, bool with_content, struct file_state *ret,
			bool *ret_known, struct error *e);
/* Every path any committed transaction recorded, sorted. */
int journal_known_paths(struct journal *j, char ***ret, size_t *ret_n, struct error *e);
/* Whether a committed snapshot exists, i.e. the journal has seen the whole managed set once. */
int journal_has_baseline(struct journal *j, bool *ret, struct error *e);
/* The committed rollback that undid id and is not itself undone; 0 if none. */
int journal_undone_by(struct journal *j, int64_t id, int64_t *ret, struct error *e);
/* Newest committed apply or snapshot that changed a file and is not undone; 0 if none. */
int journal_last_undoable(struct journal *j, int64_t *ret, struct error *e);

/* Fill a state's content from the blob store (state must carry its hash). */
int journal_load_content(struct journal *j, struct file_state *fs, struct error *e);

int journal_schema_version(struct journal *j);

struct hook_run {
	int seq;
	char *argv;
	int status;		/* -1 when it could not be started */
	char *output;		/* stdout and stderr, NUL-terminated */
	size_t output_len;
	char started_at[32];
	char finished_at[32];
};

struct salvage_entry {
	char *path;
	struct file_state state;	/* content not loaded */
	char found_at[32];
};

int journal_hook_runs(struct journal *j, int64_t txn, struct hook_run **ret, size_t *ret_n, struct error *e);
void hook_runs_free(struct hook_run *v, size_t n);
int journal_salvaged(struct journal *j, int64_t txn, struct salvage_entry **ret, size_t *ret_n, struct error *e);
void salvage_entries_free(struct salvage_entry *v, size_t n);
int journal_hook_insert(struct journal *j, int64_t txn, int seq, const char *argv, int status, const char *output,
			size_t output_len, const char *started_at, struct error *e);

/* ---- trial boots (schema 6; iommuctl(8), TRIAL BOOT) ---- */

/* What apply --trial records with its 'trial' transaction. */
struct trial_record {
	const char *cmdline_add;	/* appended to the default entry's command line */
	const char *cmdline_drop;	/* tokens of that line dropped, space-separated; NULL: none */
	const char *unexercised;	/* one item a line; NULL: none */
	bool no_commit;
};

struct trial_info {
	int64_t txn;
	char state[16];			/* armed, passed, failed, committed, cancelled */
	char *cmdline_add;
	char *cmdline_drop;		/* "" when none */
	char *unexercised;		/* "" when none */
	bool no_commit;
	char *armed_where;		/* "" until armed */
	char *entry_id;
	char *files;			/* one a line */
	char *outcome;			/* "" until decided */
	char boot_id[40];		/* the boot that ran the check; "" before */
	char checked_at[32];
	int64_t commit_txn;		/* 0 until committed */
	char first_boot_id[40];
	int first_boot_ok;		/* -1 not checked yet, 0 failed, 1 passed */
	char *first_boot_outcome;
	int64_t rollback_txn;		/* 0 unless the first boot failed and was rolled back */
	unsigned nfiles;		/* files commit writes */
};
void trial_info_clear(struct trial_info *t);

/* Between journal_begin and journal_commit: the trial row of txn (a 'trial' transaction just
 * inserted), state 'armed', with the changes commit is to write (stored as a change set). */
int journal_trial_insert(struct journal *j, int64_t txn, const struct trial_record *t, const struct file_change *planned,
			 size_t n, struct error *e);
/* Where the one-shot was armed (after oneshot_arm). files: one a line. */
int journal_trial_set_armed(struct journal *j, int64_t txn, const char *where, const char *entry_id, const char *files,
			    struct error *e);
/* A new state with why; boot_id (may be NULL) the boot whose check decided it. */
int journal_trial_set_state(struct journal *j, int64_t txn, const char *state, const char *outcome,
			    const char *boot_id, struct error *e);
/* commit made transaction commit_txn of it: state 'committed'. */
int journal_trial_set_commit(struct journal *j, int64_t txn, int64_t commit_txn, struct error *e);
/* The first boot after the commit was checked: ok or not (then rolled back by rollback_txn, 0: none). */
int journal_trial_set_first_boot(struct journal *j, int64_t txn, const char *boot_id, bool ok, const char *outcome,
				 int64_t rollback_txn, struct error *e);
/* -ENOENT (no message) when txn has no trial row. */
int journal_trial_get(struct journal *j, int64_t txn, struct trial_info *ret, struct error *e);
/* The newest trial in state (NULL: any state); *ret 0 when none. */
int journal_trial_latest(struct journal *j, const char *state, int64_t *ret, struct error *e);
/* The newest committed trial whose first boot is not checked yet; 0 when none. */
int journal_trial_unchecked_commit(struct journal *j, int64_t *ret, struct error *e);
/* The trial whose commit made transaction commit_txn; 0 when none. */
int journal_trial_of_commit(struct journal *j, int64_t commit_txn, int64_t *ret, struct error *e);
/* The changes commit is to write, sorted by path; with_content loads them. */
int journal_trial_changes(struct journal *j, int64_t txn, bool with_content, struct file_change **ret, size_t *ret_n,
			  struct error *e);
