/* SPDX-License-Identifier: GPL-2.0-or-later */
/* apply.c — `iommuctl apply PROFILE`: one transaction, then the hooks; a failing hook undoes it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "planning.h"
#include "strbuf.h"

static bool confirmed(struct ctx *ctx, const struct planned *pl)
{
	_cleanup_strbuf_ struct strbuf d = STRBUF_INIT;
	char answer[16] = "";

	if (ctx->yes)
		return true;
	if (!isatty(STDIN_FILENO)) {
		error_set(&ctx->err, EXIT_USAGE,
			  "apply asks for confirmation, but standard input is not a terminal; look at "
			  "`iommuctl plan %s`, then run `iommuctl apply -y %s`", pl->profile->name, pl->profile->name);
		return false;
	}
	planned_diff(pl, &d);
	fprintf(stderr, "%sApply these changes? [y/N] ", strbuf_str(&d));
	if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
		error_set(&ctx->err, EXIT_USAGE, "not applied: no confirmation");
		return false;
	}
	return true;
}

/* The reverse of the applied changes, as a rollback transaction (shallow copies). */
static int undo_changes(struct ctx *ctx, int64_t applied, const struct planned *pl, const char *why,
			int64_t *ret_id)
{
	_cleanup_free_ struct file_change *rev = calloc(pl->plan.n_changes + 1, sizeof(*rev));
	struct txn_request req = { .kind = "rollback", .profile = pl->profile->name, .note = why, .undoes = applied };

	if (!rev)
		return -ENOMEM;
	for (size_t i = 0; i < pl->plan.n_changes; i++) {
		rev[i].path = pl->plan.changes[i].path;
		rev[i].before = pl->plan.changes[i].after;
		rev[i].after = pl->plan.changes[i].before;
	}
	return txn_execute(ctx->journal, ctx->root, &req, rev, pl->plan.n_changes, ret_id, &ctx->err);
}

static int hook_failed(struct ctx *ctx, int64_t id, const struct planned *pl, const struct hook_config *hc,
		       const char *failed, int status)
{
	_cleanup_free_ char *why = NULL, *cmd = hook_config_command_line(hc, failed);
	int64_t undo = 0;
	int st2 = 0;

	if (asprintf(&why, "hook %s failed (exit status %d); files restored", cmd ? cmd : failed, status) < 0)
		return error_set(&ctx->err, EXIT_IO, "out of memory");
	if (undo_changes(ctx, id, pl, why, &undo) < 0)
		return ctx->err.exit_code;
	journal_txn_finish(ctx->journal, id, "failed", why, &ctx->err);
	/* Regenerate the boot files from the restored configuration, so they match it again. */
	if (hooks_run(ctx, undo, &pl->plan.hooks, hc, &st2))
		fprintf(stderr, "iommuctl: the hooks failed again on the restored files; run them by hand "
			"(`iommuctl show %lld` has their output)\n", (long long)undo);
	return error_set(&ctx->err, EXIT_HOOK,
			 "%s exited with status %d, so transaction %lld was undone by transaction %lld and every "
			 "file is as before; `iommuctl show %lld` has the hook's output",
			 cmd ? cmd : failed, status, (long long)id, (long long)undo, (long long)id);
}

static void report(const struct ctx *ctx, const struct planned *pl, const struct hook_config *hc, int64_t id)
{
	if (ctx->json) {
		output_txn_result(id, id > 0, pl->plan.changes, pl->plan.n_changes);
		return;
	}
	if (!id) {
		printf("nothing to change: the files already say what profile %s intends\n", pl->profile->name);
		return;
	}
	printf("applied profile %s as transaction %lld:\n", pl->profile->name, (long long)id);
	print_changes(pl->plan.changes, pl->plan.n_changes, "  ");
	if (ctx->no_hooks && pl->plan.hooks.n) {
		printf("hooks not run (--no-hooks); run these before rebooting:\n");
		planned_print_hooks(ctx, pl, hc, stdout);
	}
	printf("`iommuctl rollback %lld` undoes it\n", (long long)id);
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	struct hook_config hc = { 0 };
	struct planned pl = { 0 };
	int64_t id = 0;
	int r = 0, status = 0;

	if (planned_make(ctx, args->argv[0], &pl) < 0 || hook_config_load(ctx->root, &hc, &ctx->err) < 0) {
		r = ctx_fail(ctx);
		goto out;
	}
	if (pl.plan.n_findings && !ctx->json) {
		fprintf(stderr, "findings:\n");
		planned_print_findings(&pl, stderr);
	}
	if (plan_blocked(&pl.plan) && !ctx->force) {
		error_set(&ctx->err, EXIT_REFUSED, "not applied: a blocking finding above; fix its cause, or pass "
			  "--force if you are sure");
		r = ctx_fail(ctx);
		goto out;
	}
	if (pl.plan.n_changes) {
		_cleanup_strbuf_ struct strbuf note = STRBUF_INIT;
		struct txn_request req = { .kind = "apply", .profile = pl.profile->name };
		const char *failed;

		/* verify chooses the same devices from this note. */
		for (size_t i = 0; i < ctx->n_devices; i++)
			strbuf_appendf(&note, "%s--device %s", i ? " " : "", ctx->devices[i]);
		if (ctx->allow_console_gpu)
			strbuf_appendf(&note, "%s--allow-console-gpu", note.len ? " " : "");
		req.note = note.len ? note.buf : NULL;
		if (!confirmed(ctx, &pl)) {
			r = ctx_fail(ctx);
			goto out;
		}
		_cleanup_free_ char *pre = NULL;
		if (asprintf(&pre, "saving uncommitted changes in /etc before iommuctl apply %s", pl.profile->name) > 0)
			etckeeper_commit(ctx, 0, 0, &hc, pre);
		if (txn_execute(ctx->journal, ctx->root, &req, pl.plan.changes, pl.plan.n_changes, &id, &ctx->err) < 0) {
			r = ctx_fail(ctx);
			goto out;
		}
		failed = ctx->no_hooks ? NULL : hooks_run(ctx, id, &pl.plan.hooks, &hc, &status);
		if (failed) {
			hook_failed(ctx, id, &pl, &hc, failed, status);
			r = ctx_fail(ctx);
			goto out;
		}
		_cleanup_free_ char *msg = NULL;
		if (asprintf(&msg, "iommuctl apply %s (transaction %lld)", pl.profile->name, (long long)id) > 0)
			etckeeper_commit(ctx, id, (int)pl.plan.hooks.n + 1, &hc, msg);
	}
	report(ctx, &pl, &hc, id);
out:
	hook_config_clear(&hc);
	planned_clear(&pl);
	return r;
}

const struct cmd cmd_apply = {
	.name = "apply",
	.options = planning_options,
	.synopsis = "[--device SLOT]... [--allow-console-gpu] PROFILE",
	.summary = "apply a profile as one transaction, run the hooks, print the transaction id",
	.help = "Asks for confirmation on a terminal (-y skips it; without a terminal -y is required).\n"
		"Refuses (exit 3) when a finding blocks, unless --force. Applying a profile whose\n"
		"changes are all in place changes nothing and records nothing. When a hook fails,\n"
		"the files are restored, the hooks run again on them, and the exit status is 7.\n\n" PLANNING_OPTIONS_HELP,
	.min_args = 1,
	.max_args = 1,
	.flags = CMD_WRITES,
	.run = run,
};
