/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rollback.c — `iommuctl rollback [TXN]`: restore a transaction's files to their state before it. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "planning.h"
#include "strbuf.h"
#include "trials.h"

static int pick_target(struct ctx *ctx, const struct cmd_args *args, struct txn_info *t)
{
	int64_t id;
	int k;

	if (args->argc)
		return ctx_parse_txn(ctx, args->argv[0], t);
	k = journal_last_undoable(ctx->journal, &id, &ctx->err);
	if (k < 0)
		return ctx->err.exit_code;
	if (!id)
		return error_set(&ctx->err, EXIT_USAGE,
				 "nothing to roll back: no apply or snapshot in %s changed a file that is not undone yet",
				 journal_path(ctx->journal));
	k = journal_txn_get(ctx->journal, id, t, &ctx->err);
	return k < 0 ? ctx->err.exit_code : 0;
}

/* Each file of the transaction must still hold the state the transaction left, else
 * something changed it since, and rolling back would silently discard that change. */
static int find_conflicts(struct ctx *ctx, const struct file_change *files, size_t n, struct file_state *cur,
			  struct strbuf *conflicts)
{
	char shown[4096];
	int k;

	for (size_t i = 0; i < n; i++) {
		k = rootfs_read_file(ctx->root, files[i].path, &cur[i], &ctx->err);
		if (k < 0)
			return k;
		if (!file_state_equal(&cur[i], &files[i].after))
			strbuf_appendf(conflicts, "  %s\n", rootfs_display(ctx->root, files[i].path, shown, sizeof(shown)));
	}
	return 0;
}

static int refuse_conflicts(struct ctx *ctx, const struct txn_info *t, const struct strbuf *conflicts)
{
	fprintf(stderr, "iommuctl: these files changed after transaction %lld, by a later transaction or by hand:\n%s",
		(long long)t->id, strbuf_str(conflicts));
	return error_set(&ctx->err, EXIT_REFUSED,
			 "refusing to roll back transaction %lld, which would discard those changes; roll back the "
			 "later transactions first (`iommuctl history`), or pass --force (the current content is "
			 "kept in the journal as the rollback's before-state)", (long long)t->id);
}

static void report(const struct ctx *ctx, const struct txn_info *t, int64_t id, const struct file_change *c,
		   size_t n)
{
	if (ctx->json) {
		output_txn_result(id, n > 0, c, n);
		return;
	}
	if (!id) {
		printf("the files of transaction %lld already hold their state before it; nothing to do\n",
		       (long long)t->id);
		return;
	}
	printf("rolled back transaction %lld (%s) as transaction %lld:\n", (long long)t->id, t->kind, (long long)id);
	print_changes(c, n, "  ");
}

/* DESIGN.md §6: a writing command runs the hooks for what it changed. After a rollback that
 * matters most: the initramfs keeps its own copy of modprobe.d, so a rolled-back blacklist
 * still stops the next boot until update-initramfs has run. A hook that fails does not undo
 * the rollback (that would bring back the change being undone); the user is told what to run. */
static int regenerate(struct ctx *ctx, int64_t undone, int64_t id, const struct file_change *c, size_t n)
{
	_cleanup_(strv_clear) struct strv hooks = { 0 };
	struct hook_config hc = { 0 };
	struct bootloader boot = { 0 };
	bool unrefreshed = false;
	const char *failed = NULL;
	int status = 0, k;

	k = bootloader_detect(ctx->root, ctx->sysfs, &boot, &ctx->err);
	if (k == 0)
		k = plan_hooks_for(&boot, c, n, &hooks, &unrefreshed);
	if (k == 0)
		k = hook_config_load(ctx->root, &hc, &ctx->err);
	if (k < 0) {
		hook_config_clear(&hc);
		return ctx->err.exit_code ? -1 : (error_set(&ctx->err, EXIT_IO, "out of memory"), -1);
	}
	if (unrefreshed && !ctx->json)
		printf("the kernel command line changed and %s has no refresh command: run `kernel-install add "
		       "KERNEL-VERSION /boot/vmlinuz-KERNEL-VERSION` for each installed kernel\n",
		       bootloader_name(boot.kind));
	if (hooks.n && ctx->no_hooks && !ctx->json) {
		printf("hooks not run (--no-hooks); run these before rebooting:\n");
		hooks_print(ctx, &hooks, &hc, stdout);
	} else if (hooks.n && !ctx->no_hooks) {
		failed = hooks_run(ctx, id, &hooks, &hc, &status);
	}
	if (failed) {
		_cleanup_free_ char *cmd = hook_config_command_line(&hc, failed);

		fprintf(stderr, "iommuctl: run these by hand before rebooting:\n");
		hooks_print(ctx, &hooks, &hc, stderr);
		error_set(&ctx->err, EXIT_HOOK,
			  "the files are rolled back (transaction %lld), but %s exited with status %d, so the boot "
			  "files still hold the old state; `iommuctl show %lld` has its output",
			  (long long)id, cmd ? cmd : failed, status, (long long)id);
		k = -1;
	}
	_cleanup_free_ char *msg = NULL;
	if (asprintf(&msg, "iommuctl rollback of transaction %lld (transaction %lld)", (long long)undone, (long long)id) > 0)
		etckeeper_commit(ctx, id, (int)hooks.n + 1, &hc, msg);
	hook_config_clear(&hc);
	return k;
}

static int check_target(struct ctx *ctx, const struct txn_info *t, bool *done)
{
	int64_t by;
	int k;

	*done = false;
	if (!streq(t->state, "committed"))
		return error_set(&ctx->err, EXIT_USAGE,
				 "transaction %lld is %s: its changes are not on disk, so there is nothing to roll back",
				 (long long)t->id, t->state);
	if (streq(t->kind, "recover"))
		return error_set(&ctx->err, EXIT_USAGE,
				 "transaction %lld is a recovery; roll back the transaction before the interrupted one instead",
				 (long long)t->id);
	k = journal_undone_by(ctx->journal, t->id, &by, &ctx->err);
	if (k < 0)
		return ctx->err.exit_code;
	if (by) {
		*done = true;
		if (ctx->json)
			output_txn_result(0, false, NULL, 0);
		else
			printf("transaction %lld is already undone (by transaction %lld); nothing to do\n",
			       (long long)t->id, (long long)by);
	}
	return 0;
}

static int rollback(struct ctx *ctx, const struct txn_info *t, struct file_change *files, size_t n)
{
	_cleanup_strbuf_ struct strbuf conflicts = STRBUF_INIT;
	struct file_change *todo;
	struct file_state *cur;
	size_t ntodo = 0;
	int64_t id = 0;
	int k;

	cur = calloc(n ? n : 1, sizeof(*cur));
	todo = calloc(n ? n : 1, sizeof(*todo));
	if (!cur || !todo) {
		free(cur);
		free(todo);
		return error_set(&ctx->err, EXIT_IO, "out of memory");
	}
	k = find_conflicts(ctx, files, n, cur, &conflicts);
	if (k == 0 && conflicts.len && !ctx->force) {
		refuse_conflicts(ctx, t, &conflicts);
		k = -EBUSY;
	}
	for (size_t i = 0; k == 0 && i < n; i++) {
		if (file_state_equal(&cur[i], &files[i].before))
			continue;
		/* Shallow copies: files[] and cur[] keep ownership. */
		todo[ntodo].path = files[i].path;
		todo[ntodo].before = cur[i];
		todo[ntodo++].after = files[i].before;
	}
	if (k == 0 && ntodo) {
		/* No note: the journal shows "undo transaction N" from undoes. */
		struct txn_request req = { .kind = "rollback", .profile = t->profile, .undoes = t->id };
		struct hook_config hc = { 0 };
		_cleanup_free_ char *pre = NULL;

		if (hook_config_load(ctx->root, &hc, &ctx->err) < 0)
			k = -1;
		else if (asprintf(&pre, "saving uncommitted changes in /etc before iommuctl rollback %lld", (long long)t->id) > 0)
			etckeeper_commit(ctx, 0, 0, &hc, pre);
		hook_config_clear(&hc);
		if (k == 0)
			k = txn_execute(ctx->journal, ctx->root, &req, todo, ntodo, &id, &ctx->err);
	}
	if (k == 0)
		report(ctx, t, id, todo, ntodo);
	if (k == 0 && id)
		k = regenerate(ctx, t->id, id, todo, ntodo);
	for (size_t i = 0; i < n; i++)
		file_state_clear(&cur[i]);
	free(cur);
	free(todo);
	return k < 0 ? ctx_fail(ctx) : 0;
}

/* Rollback of a trial that is not committed cancels it: the trial entry and its one-shot go,
 * nothing else was written. 1 when tr was such a trial (done or failed), 0 when it is not. */
static int cancel_trial(struct ctx *ctx, struct trial_info *tr, int *ret)
{
	const char *why = "cancelled by `iommuctl rollback`";

	*ret = 0;
	if (streq(tr->state, "committed"))
		return 0;
	if (streq(tr->state, "cancelled") || streq(tr->state, "failed")) {
		if (ctx->json)
			output_txn_result(0, false, NULL, 0);
		else
			printf("trial %lld is %s already; nothing to do\n", (long long)tr->txn, tr->state);
		return 1;
	}
	if (trial_disarm(ctx, tr->txn) < 0 || journal_begin(ctx->journal, &ctx->err) < 0) {
		*ret = ctx_fail(ctx);
		return 1;
	}
	if (journal_trial_set_state(ctx->journal, tr->txn, "cancelled", why, NULL, &ctx->err) < 0 ||
	    journal_txn_finish(ctx->journal, tr->txn, "rolled-back", why, &ctx->err) < 0 ||
	    journal_commit(ctx->journal, &ctx->err) < 0) {
		journal_rollback_sql(ctx->journal);
		*ret = ctx_fail(ctx);
		return 1;
	}
	int64_t id = tr->txn;

	trial_info_clear(tr);
	if (journal_trial_get(ctx->journal, id, tr, &ctx->err) < 0) {
		*ret = ctx_fail(ctx);
		return 1;
	}
	if (ctx->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "txn", NULL);
		json_object_object_add(o, "changed", json_object_new_boolean(false));
		json_object_object_add(o, "files", json_object_new_array());
		json_object_object_add(o, "trial", json_trial(tr));
		output_json(o);
		json_object_put(o);
	} else {
		printf("cancelled trial %lld: its boot entry and one-shot are removed; no managed file had changed\n",
		       (long long)tr->txn);
	}
	return 1;
}

/* A trial named on the command line, or without TXN the newest trial not yet decided. */
static int trial_target(struct ctx *ctx, const struct cmd_args *args, int *ret)
{
	struct txn_info t = { 0 };
	struct trial_info tr = { 0 };
	int64_t id = 0;
	int done = 0, k;

	*ret = 0;
	if (!ctx->journal)
		return 0;
	if (args->argc) {
		if (ctx_parse_txn(ctx, args->argv[0], &t) || !streq(t.kind, "trial")) {
			txn_info_clear(&t);
			return 0;	/* the usual path reports it */
		}
		id = t.id;
	} else {
		k = journal_trial_latest(ctx->journal, "armed", &id, &ctx->err);
		if (k == 0 && !id)
			k = journal_trial_latest(ctx->journal, "passed", &id, &ctx->err);
		if (k < 0) {
			*ret = ctx_fail(ctx);
			return 1;
		}
	}
	txn_info_clear(&t);
	if (!id)
		return 0;
	/* A committed trial is rolled back through its commit transaction, below. */
	tr.txn = id;
	if (journal_trial_get(ctx->journal, id, &tr, &ctx->err) < 0) {
		*ret = ctx_fail(ctx);
		return 1;
	}
	done = cancel_trial(ctx, &tr, ret);
	trial_info_clear(&tr);
	return done;
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	struct txn_info t = { 0 };
	struct file_change *files = NULL;
	size_t n = 0;
	bool done;
	int r;

	if (trial_target(ctx, args, &r))
		return r;
	r = pick_target(ctx, args, &t);
	if (r == 0)
		r = check_target(ctx, &t, &done);
	if (r) {
		txn_info_clear(&t);
		return ctx_fail(ctx);
	}
	if (!done) {
		if (journal_txn_files(ctx->journal, t.id, true, &files, &n, &ctx->err) < 0)
			r = ctx_fail(ctx);
		else
			r = rollback(ctx, &t, files, n);
	}
	file_changes_free(files, n);
	txn_info_clear(&t);
	return r;
}

const struct cmd cmd_rollback = {
	.name = "rollback",
	.synopsis = "[TXN]",
	.summary = "restore every file of a transaction to its state before it, as a new transaction",
	.help = "Without TXN, rolls back the newest apply or snapshot that changed a file and is not\n"
		"undone yet. Refuses (exit 3) when a file was changed after TXN, unless --force; the\n"
		"content it replaces is kept in the journal either way. Rolling back a rollback redoes\n"
		"the transaction it undid. Works against a mounted root from a rescue shell:\n"
		"  iommuctl --root /mnt rollback\n",
	.max_args = 1,
	.flags = CMD_WRITES,
	.run = run,
};
