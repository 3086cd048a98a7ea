/* SPDX-License-Identifier: GPL-2.0-or-later */
/* txn.c — crash-safe multi-file transactions over the journal and the confined root.
 *  Owns: the order of DESIGN.md §6 (intent committed first, files through temp file, fsync and
 *  rename, each directory fsync'ed once, then committed) and recovery of a pending
 *  transaction. Must not: talk SQL (it records through journal.h), open a path under the
 *  root other than through rootfs, or decide what the files should hold (its callers do). */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "txn.h"

/* Directory fds opened while writing, each fsync'ed once at the end. */
struct dir_set {
	char **paths;
	int *fds;
	size_t n;
};

static void dir_set_clear(struct dir_set *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->paths[i]);
		close(d->fds[i]);
	}
	free(d->paths);
	free(d->fds);
	memset(d, 0, sizeof(*d));
}

static char *parent_of(const char *path)
{
	const char *s = strrchr(path, '/');

	if (!s || s == path)
		return strdup("/");
	return strndup(path, (size_t)(s - path));
}

/* The fd of path's directory, opened (and created when create) on first use. */
static int dir_set_get(struct dir_set *d, const struct rootfs *r, const char *path, bool create, int *ret_fd,
		       struct error *e)
{
	_cleanup_free_ char *dir = parent_of(path);
	char **np;
	int *nf;
	int fd, k;

	if (!dir)
		return -ENOMEM;
	for (size_t i = 0; i < d->n; i++)
		if (streq(d->paths[i], dir)) {
			*ret_fd = d->fds[i];
			return 0;
		}
	k = rootfs_open_dir(r, dir, create, 0755, ROOTFS_NO_LINKS, &fd, e);
	if (k < 0)
		return k;
	np = realloc(d->paths, (d->n + 1) * sizeof(*np));
	if (np)
		d->paths = np;
	nf = np ? realloc(d->fds, (d->n + 1) * sizeof(*nf)) : NULL;
	if (nf)
		d->fds = nf;
	if (!np || !nf) {
		close(fd);
		return -ENOMEM;
	}
	d->paths[d->n] = TAKE_PTR(dir);
	d->fds[d->n] = fd;
	d->n++;
	*ret_fd = fd;
	return 0;
}

static int dir_set_sync(const struct dir_set *d, const struct rootfs *r, struct error *e)
{
	char shown[4096];

	for (size_t i = 0; i < d->n; i++)
		if (fsync(d->fds[i]) < 0)
			return error_set(e, EXIT_IO, "cannot fsync directory %s: %s",
					 rootfs_display(r, d->paths[i], shown, sizeof(shown)), strerror(errno)),
			       negative_errno();
	return 0;
}

/* Write one state per file (targets[i] for paths[i]), then fsync the directories. */
static int write_states(const struct rootfs *r, char *const *paths, const struct file_state *const *targets,
			size_t n, struct error *e)
{
	struct dir_set dirs = { 0 };
	int k = 0;

	for (size_t i = 0; k == 0 && i < n; i++) {
		int dirfd;

		/* A file to delete whose directory is gone is already absent. */
		k = dir_set_get(&dirs, r, paths[i], targets[i]->present, &dirfd, e);
		if (k == -ENOENT && !targets[i]->present) {
			k = 0;
			continue;
		}
		if (k == 0)
			k = rootfs_replace_at(r, dirfd, paths[i], targets[i], e);
	}
	if (k == 0)
		k = dir_set_sync(&dirs, r, e);
	dir_set_clear(&dirs);
	return k;
}

static int journal_intent(struct journal *j, const struct txn_request *req, const char *state,
			  const struct file_change *changes, size_t n, int64_t *ret_id, struct error *e)
{
	int k;

	k = journal_begin(j, e);
	if (k < 0)
		return k;
	k = journal_txn_insert(j,
			       &(struct txn_record){ .kind = req->kind, .state = state, .profile = req->profile,
						     .note = req->note, .undoes = req->undoes },
			       changes, n, ret_id, e);
	if (k < 0) {
		journal_rollback_sql(j);
		return k;
	}
	return journal_commit(j, e);
}

int txn_record(struct journal *j, const struct txn_request *req, const struct file_change *changes, size_t n,
	       int64_t *ret_id, struct error *e)
{
	return journal_intent(j, req, "committed", changes, n, ret_id, e);
}

/* Bring every file of pending transaction id back to its before-state; see txn_recover(). */
static int restore_before(struct journal *j, const struct rootfs *r, int64_t id, const char *final_state,
			  const char *why, bool document, struct recover_result *res, struct error *e);

int txn_execute(struct journal *j, const struct rootfs *r, const struct txn_request *req,
		const struct file_change *changes, size_t n, int64_t *ret_id, struct error *e)
{
	_cleanup_free_ const struct file_state **targets = NULL;
	_cleanup_free_ char **paths = NULL;
	struct recover_result res = { 0 };
	struct error restore_err = { 0 };
	int64_t id;
	int k;

	targets = calloc(n ? n : 1, sizeof(*targets));
	paths = calloc(n ? n : 1, sizeof(*paths));
	if (!targets || !paths)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		paths[i] = changes[i].path;
		targets[i] = &changes[i].after;
	}

	k = journal_intent(j, req, "pending", changes, n, &id, e);
	if (k < 0)
		return k;
	k = write_states(r, paths, targets, n, e);
	if (k == 0)
		k = journal_txn_finish(j, id, "committed", NULL, e);
	if (k == 0) {
		*ret_id = id;
		return 0;
	}
	/* Put back what was written, while we still can; if that fails too, the
	 * transaction stays pending and the next command's recovery finishes it. */
	if (restore_before(j, r, id, "failed", e->text, false, &res, &restore_err) < 0) {
		size_t len = strlen(e->text);
		snprintf(e->text + len, sizeof(e->text) - len,
			 "; restoring the files failed too (%s): transaction %lld stays pending, "
			 "and the next iommuctl command (or `iommuctl recover`) finishes restoring them",
			 restore_err.text, (long long)id);
	} else {
		size_t len = strlen(e->text);
		snprintf(e->text + len, sizeof(e->text) - len,
			 "; no file was changed (transaction %lld is marked failed)", (long long)id);
	}
	return k;
}

/* Temp files a killed writer left beside the transaction's files are garbage: the
 * journal holds every state they could carry. */
static int remove_temps(const struct rootfs *r, const struct file_change *files, size_t n, struct error *e)
{
	struct dir_set dirs = { 0 };
	char shown[4096];
	int k = 0;

	for (size_t i = 0; k == 0 && i < n; i++) {
		int dirfd;

		k = dir_set_get(&dirs, r, files[i].path, false, &dirfd, e);
		if (k == -ENOENT) {
			k = 0;
			continue;
		}
		if (k == 0 && (k = rootfs_remove_temp_at(dirfd, files[i].path)) < 0)
			error_set(e, EXIT_IO, "cannot remove the temporary file beside %s: %s",
				  rootfs_display(r, files[i].path, shown, sizeof(shown)), strerror(-k));
	}
	dir_set_clear(&dirs);
	return k;
}

/* Read what is on disk now for each file; save in the journal any content that is
 * neither the before nor the after state, before anything overwrites it. */
static int inspect_files(struct journal *j, const struct rootfs *r, int64_t id, const struct file_change *files,
			 size_t n, struct file_state *found, size_t *ret_salvaged, struct error *e)
{
	size_t salvaged = 0;
	int k;

	for (size_t i = 0; i < n; i++) {
		k = rootfs_read_file(r, files[i].path, &found[i], e);
		if (k < 0)
			return k;
	}
	k = journal_begin(j, e);
	for (size_t i = 0; k == 0 && i < n; i++) {
		if (file_state_equal(&found[i], &files[i].before) || file_state_equal(&found[i], &files[i].after) ||
		    !found[i].present)
			continue;
		k = journal_salvage_insert(j, id, files[i].path, &found[i], e);
		salvaged++;
	}
	if (k < 0) {
		journal_rollback_sql(j);
		return k;
	}
	*ret_salvaged = salvaged;
	return journal_commit(j, e);
}

static int finish_restore(struct journal *j, int64_t id, const char *final_state, const char *why, bool document,
			  const struct file_change *files, const struct file_state *found, size_t n,
			  struct recover_result *res, struct error *e)
{
	int k;

	k = journal_begin(j, e);
	if (k == 0)
		k = journal_txn_finish(j, id, final_state, why, e);
	if (k == 0 && document) {
		_cleanup_free_ struct file_change *put_back = calloc(n ? n : 1, sizeof(*put_back));
		_cleanup_free_ char *note = NULL;
		size_t np = 0;

		if (!put_back || asprintf(&note, "finished interrupted transaction %lld: %zu file(s) put back, "
					  "%zu saved first", (long long)id, res->restored, res->salvaged) < 0)
			k = -ENOMEM;
		/* The files recovery changed, from what it found to the before-state; the
		 * structs borrow the strings of files and found. */
		for (size_t i = 0; k == 0 && i < n; i++)
			if (!file_state_equal(&found[i], &files[i].before))
				put_back[np++] = (struct file_change){ .path = files[i].path, .before = found[i],
								       .after = files[i].before };
		if (k == 0)
			k = journal_txn_insert(j,
					       &(struct txn_record){ .kind = "recover", .state = "committed",
								     .note = note, .undoes = id },
					       put_back, np, &res->recover, e);
	}
	if (k < 0) {
		journal_rollback_sql(j);
		return k;
	}
	return journal_commit(j, e);
}

static int restore_before(struct journal *j, const struct rootfs *r, int64_t id, const char *final_state,
			  const char *why, bool document, struct recover_result *res, struct error *e)
{
	struct file_change *files = NULL;
	struct file_state *found = NULL;
	_cleanup_free_ const struct file_state **targets = NULL;
	_cleanup_free_ char **paths = NULL;
	size_t n = 0, nw = 0;
	int k;

	k = journal_txn_files(j, id, true, &files, &n, e);
	if (k < 0)
		return k;
	found = calloc(n ? n : 1, sizeof(*found));
	targets = calloc(n ? n : 1, sizeof(*targets));
	paths = calloc(n ? n : 1, sizeof(*paths));
	if (!found || !targets || !paths) {
		k = -ENOMEM;
		goto out;
	}
	res->pending = id;
	k = inspect_files(j, r, id, files, n, found, &res->salvaged, e);
	if (k < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (file_state_equal(&found[i], &files[i].before))
			continue;
		paths[nw] = files[i].path;
		targets[nw++] = &files[i].before;
	}
	res->restored = nw;
	k = write_states(r, paths, targets, nw, e);
	if (k == 0)
		k = remove_temps(r, files, n, e);
	if (k == 0)
		k = finish_restore(j, id, final_state, why, document, files, found, n, res, e);
out:
	for (size_t i = 0; found && i < n; i++)
		file_state_clear(&found[i]);
	free(found);
	file_changes_free(files, n);
	return k;
}

int txn_recover(struct journal *j, const struct rootfs *r, struct recover_result *ret, struct error *e)
{
	memset(ret, 0, sizeof(*ret));
	for (;;) {
		struct recover_result one = { 0 };
		int64_t id;
		int k;

		k = journal_pending(j, &id, e);
		if (k < 0 || id == 0)
			return k;
		k = restore_before(j, r, id, "rolled-back", "interrupted; files restored by recovery", true, &one, e);
		if (k < 0)
			return k;
		ret->pending = one.pending;
		ret->recover = one.recover;
		ret->restored += one.restored;
		ret->salvaged += one.salvaged;
	}
}
