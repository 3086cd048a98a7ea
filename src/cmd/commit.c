/* SPDX-License-Identifier: GPL-2.0-or-later */
/* commit.c — `iommuctl commit [TXN]`: make a trial that passed permanent; the files are written as a
 *  normal apply transaction with its hooks, and the trial entry goes. */
#include <stdio.h>

#include "trials.h"

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	struct txn_info t = { 0 };
	struct trial_info tr = { 0 };
	int64_t id = 0;
	int r;

	r = trial_pick(ctx, args->argc ? args->argv[0] : NULL, &t, &tr);
	if (r)
		return ctx_fail(ctx);
	if (streq(tr.state, "committed")) {
		if (ctx->json)
			output_txn_result(tr.commit_txn, false, NULL, 0);
		else
			printf("trial %lld is committed already (transaction %lld); nothing to do\n", (long long)tr.txn,
			       (long long)tr.commit_txn);
		goto out;
	}
	if (streq(tr.state, "cancelled")) {
		error_set(&ctx->err, EXIT_USAGE, "trial %lld was cancelled (%s); `iommuctl apply --trial %s` tries again",
			  (long long)tr.txn, tr.outcome, t.profile ? t.profile : "PROFILE");
		r = ctx_fail(ctx);
		goto out;
	}
	if (!streq(tr.state, "passed") && !ctx->force) {
		if (streq(tr.state, "failed"))
			error_set(&ctx->err, EXIT_REFUSED, "trial %lld failed its boot check (%s); not committed. Fix the "
				  "cause and try again, or pass --force to commit it anyway", (long long)tr.txn, tr.outcome);
		else
			error_set(&ctx->err, EXIT_REFUSED, "trial %lld has not been booted yet; reboot to try it, or pass "
				  "--force to commit it untried", (long long)tr.txn);
		r = ctx_fail(ctx);
		goto out;
	}
	if (trial_commit(ctx, &t, &tr, &id) < 0) {
		r = ctx_fail(ctx);
		goto out;
	}
	trial_info_clear(&tr);
	if (journal_trial_get(ctx->journal, t.id, &tr, &ctx->err) < 0) {
		r = ctx_fail(ctx);
		goto out;
	}
	if (ctx->json) {
		struct file_change *files = NULL;
		size_t n = 0;
		struct json_object *o;

		if (id && journal_txn_files(ctx->journal, id, false, &files, &n, &ctx->err) < 0) {
			r = ctx_fail(ctx);
			goto out;
		}
		o = json_object_new_object();
		json_object_object_add(o, "txn", id ? json_object_new_int64(id) : NULL);
		json_object_object_add(o, "changed", json_object_new_boolean(id > 0));
		json_object_object_add(o, "files", json_txn_files(files, n));
		json_object_object_add(o, "trial", json_trial(&tr));
		output_json(o);
		json_object_put(o);
		file_changes_free(files, n);
	} else {
		printf("committed trial %lld as transaction %lld; the trial entry is removed\n", (long long)tr.txn,
		       (long long)id);
		printf("the next boot runs the committed files; iommuctl-boot-check.service checks that first boot "
		       "again and rolls the commit back if it fails. `iommuctl rollback %lld` undoes it by hand\n",
		       (long long)id);
	}
out:
	trial_info_clear(&tr);
	txn_info_clear(&t);
	return r;
}

const struct cmd cmd_commit = {
	.name = "commit",
	.synopsis = "[TXN]",
	.summary = "make a trial that passed permanent: its files are written as a normal apply",
	.help = "Without TXN, the newest trial. Only a trial whose boot check passed is committed\n"
		"(exit 3 otherwise; --force commits an armed or failed one anyway). Refused (exit 3)\n"
		"when a file changed after the trial was recorded. The hooks run as for apply; a\n"
		"failing hook restores the files (exit 7).\n",
	.max_args = 1,
	.flags = CMD_WRITES,
	.run = run,
};
