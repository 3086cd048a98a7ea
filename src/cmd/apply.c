/* SPDX-License-Identifier: GPL-2.0-or-later */
/* apply.c — `iommuctl apply PROFILE`: one transaction, then the hooks; a failing hook undoes it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "planning.h"
#include "strbuf.h"
#include "trials.h"

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
	fprintf(stderr, "%s%s [y/N] ", strbuf_str(&d),
		ctx->trial ? "Try these changes for one boot (no file changes until the boot check commits them)?"
			   : "Apply these changes?");
	if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
		error_set(&ctx->err, EXIT_USAGE, "not applied: no confirmation");
		return false;
	}
	return true;
}

/* ---- apply --trial ---- */

/* The one-shot back end's static file (GRUB's /etc/grub.d script), installed once as a journaled
 * file with the boot loader's refresh hook, so that the boot loader's menu can hold the trial. */
static int install_script(struct ctx *ctx, const struct bootloader *boot, const struct hook_config *hc,
			  int64_t *ret_id)
{
	const char *path = oneshot_script_path(boot);
	_cleanup_(strv_clear) struct strv hooks = { 0 };
	struct txn_request req = { .kind = "apply", .note = "iommuctl trial boot: the boot loader script, installed once" };
	struct file_change c = { 0 };
	const char *text;
	mode_t mode;
	int k;

	*ret_id = 0;
	if (!path)
		return 0;
	text = oneshot_script(boot, &mode);
	if (rootfs_read_file(ctx->root, path, &c.before, &ctx->err) < 0)
		return -1;
	if (c.before.present && c.before.len == strlen(text) && !memcmp(c.before.data, text, c.before.len) &&
	    c.before.mode == mode) {
		file_state_clear(&c.before);
		return 0;
	}
	c.path = (char *)path;
	c.after.present = true;
	c.after.mode = mode;
	c.after.uid = c.before.present ? c.before.uid : 0;
	c.after.gid = c.before.present ? c.before.gid : 0;
	file_state_set_content(&c.after, strdup(text), strlen(text));
	k = c.after.data ? 0 : error_set(&ctx->err, EXIT_IO, "out of memory");
	if (k == 0 && boot->refresh_hook && strv_add(&hooks, boot->refresh_hook) < 0)
		k = error_set(&ctx->err, EXIT_IO, "out of memory");
	if (k == 0 && !ctx->json)
		printf("installing %s (once, as its own transaction) and running the boot loader's refresh\n", path);
	if (k == 0)
		k = changes_apply(ctx, &req, &c, 1, &hooks, hc, ret_id);
	file_state_clear(&c.before);
	file_state_clear(&c.after);
	return k ? -1 : 0;
}

static char *join(const struct strv *v, const char *sep)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < v->n; i++)
		strbuf_appendf(&sb, "%s%s", i ? sep : "", v->v[i]);
	return sb.buf ? strbuf_steal(&sb) : strdup("");
}

/* The trial transaction and its row, in one SQL transaction: its id is on its own command line. */
static int record_trial(struct ctx *ctx, const struct planned *pl, const char *note, struct trial_line *ret_line,
			int64_t *ret_id)
{
	struct txn_record rec = { .kind = "trial", .state = "committed", .profile = pl->profile->name, .note = note };
	struct cmdline_error ce = { 0 };
	_cleanup_free_ char *drop = NULL, *unex = NULL;
	int64_t id = 0;

	if (journal_begin(ctx->journal, &ctx->err) < 0)
		return -1;
	if (journal_txn_insert(ctx->journal, &rec, NULL, 0, &id, &ctx->err) < 0)
		goto fail;
	if (trialline_make(pl->profile, &pl->plan, &pl->hw, id, 0, ret_line, &ce) < 0) {
		error_set(&ctx->err, ce.reason == CMDLINE_NO_MEMORY ? EXIT_IO : EXIT_BAD_INPUT,
			  "profile %s (%s) cannot travel on a command line: %s", pl->profile->name, pl->profile->origin,
			  ce.message);
		goto fail;
	}
	drop = join(&ret_line->drop, " ");
	unex = join(&ret_line->unexercised, "\n");
	if (!drop || !unex) {
		error_set(&ctx->err, EXIT_IO, "out of memory");
		goto fail;
	}
	{
		struct trial_record tr = { .cmdline_add = ret_line->add, .cmdline_drop = drop, .unexercised = unex,
					   .no_commit = ctx->no_commit };

		if (journal_trial_insert(ctx->journal, id, &tr, pl->plan.changes, pl->plan.n_changes, &ctx->err) < 0)
			goto fail;
	}
	if (journal_commit(ctx->journal, &ctx->err) < 0) {
		trial_line_clear(ret_line);
		return -1;
	}
	*ret_id = id;
	return 0;
fail:
	journal_rollback_sql(ctx->journal);
	trial_line_clear(ret_line);
	return -1;
}

static void report_trial(const struct ctx *ctx, const struct planned *pl, const struct trial_info *t,
			 const struct oneshot_armed *a, int64_t script_txn)
{
	if (ctx->json) {
		struct json_object *o = json_object_new_object(), *notes = json_object_new_array();

		json_object_object_add(o, "txn", json_object_new_int64(t->txn));
		json_object_object_add(o, "changed", json_object_new_boolean(false));
		json_object_object_add(o, "files", json_object_new_array());
		json_object_object_add(o, "script_txn", script_txn ? json_object_new_int64(script_txn) : NULL);
		json_object_object_add(o, "trial", json_trial(t));
		for (size_t i = 0; i < a->notes.n; i++)
			json_object_array_add(notes, json_object_new_string(a->notes.v[i]));
		json_object_object_add(o, "notes", notes);
		output_json(o);
		json_object_put(o);
		return;
	}
	printf("trial of profile %s armed as transaction %lld; no managed file changed\n", pl->profile->name,
	       (long long)t->txn);
	print_trial(t, "  ");
	for (size_t i = 0; i < a->notes.n; i++)
		printf("  note: %s\n", a->notes.v[i]);
	printf("next: reboot. Only the next boot runs the trial; iommuctl-boot-check.service then checks it and\n"
	       "%s. A failed check reboots into the old configuration by itself; so does a panic (panic=%d).\n"
	       "A boot that hangs comes back on the next power cycle. `iommuctl rollback` cancels the trial.\n",
	       t->no_commit ? "records the outcome (then `iommuctl commit` makes it permanent)"
			    : "commits it (the files are written as a normal apply, with its hooks)",
	       TRIAL_PANIC_SECONDS);
}

static int run_trial(struct ctx *ctx, struct planned *pl, const struct hook_config *hc, const char *note)
{
	struct oneshot_env env = { .sysfs = ctx->sysfs };
	struct oneshot_armed armed = { 0 };
	struct trial_line line = { 0 };
	struct trial_info t = { 0 };
	_cleanup_free_ char *where = NULL, *files = NULL;
	int64_t script_txn = 0, id = 0;
	int k;

	if (!pl->plan.n_changes) {
		if (ctx->json)
			output_txn_result(0, false, NULL, 0);
		else
			printf("nothing to try: the files already say what profile %s intends\n", pl->profile->name);
		return 0;
	}
	if (journal_trial_latest(ctx->journal, "armed", &id, &ctx->err) < 0)
		return ctx_fail(ctx);
	if (id) {
		error_set(&ctx->err, EXIT_REFUSED, "trial %lld is armed and not booted yet; boot it, or cancel it with "
			  "`iommuctl rollback %lld`, before another trial", (long long)id, (long long)id);
		return ctx_fail(ctx);
	}
	if (oneshot_check(ctx->root, &pl->plan.boot, &env, &where, &ctx->err) < 0)
		return ctx_fail(ctx);
	if (!confirmed(ctx, pl))
		return ctx_fail(ctx);
	if (install_script(ctx, &pl->plan.boot, hc, &script_txn) < 0)
		return ctx_fail(ctx);
	if (record_trial(ctx, pl, note, &line, &id) < 0)
		return ctx_fail(ctx);
	{
		struct trial_boot tb = { .txn = id, .cmdline_add = line.add,
					 .cmdline_drop = (const char *const *)line.drop.v };

		k = oneshot_arm(ctx->root, &pl->plan.boot, &env, &tb, &armed, &ctx->err);
	}
	if (k < 0) {
		struct error e2 = { 0 };
		_cleanup_free_ char *why = NULL;

		if (asprintf(&why, "could not arm: %s", ctx->err.text) > 0 && journal_begin(ctx->journal, &e2) == 0 &&
		    journal_trial_set_state(ctx->journal, id, "cancelled", why, NULL, &e2) == 0 &&
		    journal_txn_finish(ctx->journal, id, "failed", why, &e2) == 0)
			journal_commit(ctx->journal, &e2);
		else
			journal_rollback_sql(ctx->journal);
		trial_line_clear(&line);
		return ctx_fail(ctx);
	}
	files = join(&armed.files, "\n");
	k = files ? 0 : error_set(&ctx->err, EXIT_IO, "out of memory");
	if (k == 0 && (journal_begin(ctx->journal, &ctx->err) < 0 ||
		       journal_trial_set_armed(ctx->journal, id, armed.where, armed.entry_id, files, &ctx->err) < 0 ||
		       journal_commit(ctx->journal, &ctx->err) < 0)) {
		journal_rollback_sql(ctx->journal);
		k = -1;
	}
	if (k == 0)
		k = journal_trial_get(ctx->journal, id, &t, &ctx->err);
	if (k == 0)
		report_trial(ctx, pl, &t, &armed, script_txn);
	trial_info_clear(&t);
	trial_line_clear(&line);
	oneshot_armed_clear(&armed);
	return k < 0 ? ctx_fail(ctx) : 0;
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
	int r = 0;

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
	if (ctx->trial) {
		_cleanup_strbuf_ struct strbuf note = STRBUF_INIT;

		for (size_t i = 0; i < ctx->n_devices; i++)
			strbuf_appendf(&note, "%s--device %s", i ? " " : "", ctx->devices[i]);
		r = run_trial(ctx, &pl, &hc, note.len ? note.buf : NULL);
		goto out;
	}
	if (ctx->no_commit) {
		error_set(&ctx->err, EXIT_USAGE, "--no-commit is for apply --trial");
		r = ctx_fail(ctx);
		goto out;
	}
	if (pl.plan.n_changes) {
		_cleanup_strbuf_ struct strbuf note = STRBUF_INIT;
		struct txn_request req = { .kind = "apply", .profile = pl.profile->name };

		/* verify chooses the same devices from this note. */
		for (size_t i = 0; i < ctx->n_devices; i++)
			strbuf_appendf(&note, "%s--device %s", i ? " " : "", ctx->devices[i]);
		req.note = note.len ? note.buf : NULL;
		if (!confirmed(ctx, &pl)) {
			r = ctx_fail(ctx);
			goto out;
		}
		if (changes_apply(ctx, &req, pl.plan.changes, pl.plan.n_changes, &pl.plan.hooks, &hc, &id) < 0) {
			r = ctx_fail(ctx);
			goto out;
		}
	}
	report(ctx, &pl, &hc, id);
out:
	hook_config_clear(&hc);
	planned_clear(&pl);
	return r;
}

static const struct option options[] = {
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "trial", no_argument, NULL, OPT_TRIAL },
	{ "no-commit", no_argument, NULL, OPT_NO_COMMIT },
	{ 0 },
};

const struct cmd cmd_apply = {
	.name = "apply",
	.options = options,
	.synopsis = "[--device SLOT]... [--trial [--no-commit]] PROFILE",
	.summary = "apply a profile as one transaction, run the hooks, print the transaction id",
	.help = "Asks for confirmation on a terminal (-y skips it; without a terminal -y is required).\n"
		"Refuses (exit 3) when a finding blocks, unless --force. Applying a profile whose\n"
		"changes are all in place changes nothing and records nothing. When a hook fails,\n"
		"the files are restored, the hooks run again on them, and the exit status is 7.\n\n"
		"  --trial        change no file: only the next boot runs the change, on its command line;\n"
		"                 the boot check commits it or reboots into the old configuration\n"
		"                 (iommuctl(8), TRIAL BOOT). Exit 3 where the boot loader cannot clear a one-shot.\n"
		"  --no-commit    with --trial: the boot check records the outcome; `iommuctl commit` commits\n"
		PLANNING_OPTIONS_HELP,
	.min_args = 1,
	.max_args = 1,
	.flags = CMD_WRITES,
	.run = run,
};
