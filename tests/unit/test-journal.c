/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-journal.c — the journal: blob dedup, migrations from schema 1, integrity, state queries. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal-blob.h"
#include "journal-internal.h"
#include "tap.h"

static char dir[] = "/tmp/iommuctl-unit.XXXXXX";

static long long scalar(struct journal *j, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static const char *text(struct journal *j, const char *sql)
{
	static char buf[256];
	sqlite3_stmt *st;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

static void state_of(struct file_state *fs, const char *content, size_t len, mode_t mode)
{
	memset(fs, 0, sizeof(*fs));
	if (!content)
		return;
	char *copy = malloc(len + 1);
	memcpy(copy, content, len);
	copy[len] = '\0';
	file_state_set_content(fs, copy, len);
	fs->mode = mode;
}

static int64_t add_txn(struct journal *j, const char *kind, const char *state, int64_t undoes, const char *path,
		       const char *before, const char *after)
{
	struct error e = { 0 };
	struct file_change c = { .path = (char *)path };
	int64_t id = 0;

	state_of(&c.before, before, before ? strlen(before) : 0, 0644);
	state_of(&c.after, after, after ? strlen(after) : 0, 0644);
	journal_begin(j, &e);
	journal_txn_insert(j, &(struct txn_record){ .kind = kind, .state = state, .undoes = undoes }, &c, 1, &id, &e);
	journal_commit(j, &e);
	file_state_clear(&c.before);
	file_state_clear(&c.after);
	return id;
}

static char *path_in(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static void test_create(void)
{
	struct journal *j = NULL;
	struct error e = { 0 };
	struct stat st;

	ok(journal_open(path_in("new.db"), JOURNAL_CREATE, &j, &e) == 0, "a new journal is created");
	ok(journal_schema_version(j) == (int)schema_steps_count, "a new journal is at the newest schema (%u)",
	   schema_steps_count);
	ok(stat(path_in("new.db"), &st) == 0 && (st.st_mode & 0777) == 0600, "the journal file is 0600");
	is_str(text(j, "PRAGMA journal_mode"), "wal", "the journal uses WAL");
	ok(scalar(j, "PRAGMA foreign_keys") == 1, "foreign keys are enforced");
	ok(scalar(j, "PRAGMA synchronous") == 2, "synchronous is FULL");
	journal_close(j);
	j = NULL;
	ok(journal_open(path_in("absent.db"), 0, &j, &e) == -ENOENT && !j,
	   "opening a missing journal without create gives -ENOENT");
}

static void test_blobs(void)
{
	static const char odd[] = "line one\r\nwith a NUL \0 inside and no final newline";
	struct journal *j = NULL;
	struct error e = { 0 };
	struct file_state fs;
	char *back = NULL;
	size_t len = 0;

	journal_open(path_in("blobs.db"), JOURNAL_CREATE, &j, &e);
	for (int i = 0; i < 1000; i++)
		add_txn(j, i % 2 ? "apply" : "rollback", "committed", 0, "/etc/modules", i % 2 ? "a\n" : "b\n",
			i % 2 ? "b\n" : "a\n");
	ok(scalar(j, "SELECT count(*) FROM blob") == 2, "1000 cycles between two contents store two blobs");
	ok(scalar(j, "SELECT count(*) FROM file_change") == 1000, "and one file row per transaction");
	ok(scalar(j, "SELECT count(*) FROM change_set") == 2 && scalar(j, "SELECT count(*) FROM change_set_file") == 2,
	   "in two change sets, one per direction, that every cycle shares");

	state_of(&fs, odd, sizeof(odd) - 1, 0600);
	ok(blob_put(j->db, fs.hash, fs.data, fs.len) == 0, "a blob with CR, NUL and no final newline is stored");
	ok(blob_get(j->db, fs.hash, &back, &len) == 0 && len == sizeof(odd) - 1 && memcmp(back, odd, len) == 0,
	   "and reads back byte for byte");
	free(back);
	ok(scalar(j, "SELECT size FROM blob WHERE hash = (SELECT hash FROM blob ORDER BY length(zdata) DESC LIMIT 1)")
	   == (long long)(sizeof(odd) - 1), "the blob records the uncompressed size");

	sqlite3_exec(j->db, "UPDATE blob SET zdata = x'0011223344' WHERE size > 10", NULL, NULL, NULL);
	back = NULL;
	ok(blob_get(j->db, fs.hash, &back, &len) == -EBADMSG && !back, "a damaged blob is reported, not returned");
	ok(blob_get(j->db, "0000000000000000000000000000000000000000000000000000000000000000", &back, &len) == -ENOENT,
	   "a missing blob gives -ENOENT");
	is_str(text(j, "PRAGMA integrity_check"), "ok", "integrity_check passes");
	file_state_clear(&fs);
	journal_close(j);
}

/* A journal written by schema 1 alone, as the first release made it, must open. */
static void test_migration(void)
{
	struct journal *j = NULL;
	struct txn_info t = { 0 };
	struct error e = { 0 };
	sqlite3 *db;

	sqlite3_open(path_in("v1.db"), &db);
	sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
	ok(sqlite3_exec(db, schema_steps[0].sql, NULL, NULL, NULL) == SQLITE_OK, "schema 1 applies on its own");
	sqlite3_exec(db, "PRAGMA user_version = 1;"
		     "INSERT INTO txn(kind, state, started_at, finished_at, user, version) "
		     "VALUES ('snapshot', 'committed', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', 'root', '0.0.1')",
		     NULL, NULL, NULL);
	sqlite3_close(db);

	ok(journal_open(path_in("v1.db"), 0, &j, &e) == 0, "a schema-1 journal opens: %s", e.text);
	ok(j && journal_schema_version(j) == (int)schema_steps_count, "and is migrated to schema %u",
	   schema_steps_count);
	ok(j && scalar(j, "SELECT count(*) FROM sqlite_master WHERE name = 'hook_run'") == 1,
	   "schema 2's hook_run table exists");
	ok(j && journal_txn_get(j, 1, &t, &e) == 0 && streq(t.version, "0.0.1"), "old transactions are kept");
	txn_info_clear(&t);
	journal_close(j);
	j = NULL;
	ok(journal_open(path_in("v1.db"), 0, &j, &e) == 0 && journal_schema_version(j) == (int)schema_steps_count,
	   "opening again is a no-op");
	journal_close(j);
	j = NULL;

	sqlite3_open(path_in("future.db"), &db);
	sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	ok(journal_open(path_in("future.db"), 0, &j, &e) < 0 && strstr(e.text, "newer iommuctl"),
	   "a journal from a newer schema is refused with a message: %s", e.text);

	int fd = open(path_in("garbage.db"), O_WRONLY | O_CREAT, 0600);
	ok(write(fd, "this is not a database, it is a text file that got here by mistake\n", 68) == 68,
	   "a garbage journal is written");
	close(fd);
	memset(&e, 0, sizeof(e));
	ok(journal_open(path_in("garbage.db"), 0, &j, &e) < 0 && e.exit_code == EXIT_IO && strstr(e.text, "garbage.db"),
	   "a file that is not a database gives exit 6 and names the file: %s", e.text);
}

static void test_states(void)
{
	struct journal *j = NULL;
	struct error e = { 0 };
	struct file_state fs;
	bool known, baseline;
	int64_t id, t1, t2, t3, t4;

	journal_open(path_in("states.db"), JOURNAL_CREATE, &j, &e);
	journal_has_baseline(j, &baseline, &e);
	ok(!baseline, "an empty journal has no baseline");
	t1 = add_txn(j, "snapshot", "committed", 0, "/etc/modules", "A", "A");
	journal_has_baseline(j, &baseline, &e);
	ok(baseline, "a committed snapshot is the baseline");
	t2 = add_txn(j, "apply", "committed", 0, "/etc/modules", "A", "B");
	journal_known_state(j, "/etc/modules", true, &fs, &known, &e);
	ok(known && fs.len == 1 && fs.data[0] == 'B', "the known state is the newest committed after-state");
	file_state_clear(&fs);
	add_txn(j, "apply", "failed", 0, "/etc/modules", "B", "C");
	id = add_txn(j, "apply", "pending", 0, "/etc/modules", "B", "D");
	journal_known_state(j, "/etc/modules", true, &fs, &known, &e);
	ok(known && fs.data[0] == 'B', "failed and pending transactions do not define the known state");
	file_state_clear(&fs);
	journal_pending(j, &id, &e);
	ok(id == t2 + 2, "the pending transaction is found");
	sqlite3_exec(j->db, "UPDATE txn SET state = 'rolled-back' WHERE state = 'pending'", NULL, NULL, NULL);

	journal_last_undoable(j, &id, &e);
	ok(id == t2, "the last undoable transaction is the apply");
	t3 = add_txn(j, "rollback", "committed", t2, "/etc/modules", "B", "A");
	journal_undone_by(j, t2, &id, &e);
	ok(id == t3, "the apply is undone by the rollback");
	journal_last_undoable(j, &id, &e);
	ok(id == 0, "a baseline that changed nothing is not undoable");
	t4 = add_txn(j, "rollback", "committed", t3, "/etc/modules", "A", "B");
	journal_undone_by(j, t2, &id, &e);
	ok(id == 0, "rolling back the rollback re-does the apply");
	journal_last_undoable(j, &id, &e);
	ok(id == t2 && t4 > t3 && t1 == 1, "so the apply is undoable again");
	ok(scalar(j, "SELECT count(DISTINCT change_set) FROM txn WHERE id IN (2, 6)") == 1 && t2 == 2 && t4 == 6,
	   "the apply and the rollback that re-did it share one change set");
	ok(scalar(j, "SELECT last_committed FROM change_set WHERE id = (SELECT change_set FROM txn WHERE id = 2)") == t4,
	   "whose last_committed is the newer of the two");
	journal_known_state(j, "/etc/other", false, &fs, &known, &e);
	ok(!known, "a path never recorded is unknown");
	is_str(text(j, "PRAGMA integrity_check"), "ok", "integrity_check passes");
	ok(scalar(j, "SELECT count(*) FROM pragma_foreign_key_check") == 0, "foreign keys are consistent");
	journal_close(j);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 99;
	test_create();
	test_blobs();
	test_migration();
	test_states();
	if (!tap_failed) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return tap_done();
}
