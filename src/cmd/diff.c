/* SPDX-License-Identifier: GPL-2.0-or-later */
/* diff.c — `iommuctl diff TXN`: what a transaction changed, as a unified diff per file. */
#include <stdio.h>
#include <string.h>

#include "planning.h"
#include "diff.h"
#include "strbuf.h"

static bool txn_arg_is_number(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* diff PROFILE: the files as they are against what the profile intends. */
static int diff_profile(struct ctx *ctx, const char *name)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	struct planned pl = { 0 };

	if (planned_make(ctx, name, &pl) < 0)
		return ctx_fail(ctx);
	if (planned_diff(&pl, &out) < 0) {
		planned_clear(&pl);
		return error_set(&ctx->err, EXIT_IO, "out of memory"), ctx_fail(ctx);
	}
	fwrite(strbuf_str(&out), 1, out.len, stdout);
	planned_clear(&pl);
	return 0;
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	struct file_change *files = NULL;
	struct txn_info t = { 0 };
	size_t n = 0;
	int k;

	if (!txn_arg_is_number(args->argv[0]))
		return diff_profile(ctx, args->argv[0]);
	k = ctx_parse_txn(ctx, args->argv[0], &t);
	if (k)
		return ctx_fail(ctx);
	k = journal_txn_files(ctx->journal, t.id, true, &files, &n, &ctx->err);
	for (size_t i = 0; k == 0 && i < n; i++)
		if (change_is_real(&files[i]))
			k = diff_file_change(&out, &files[i]);
	if (k == 0)
		fwrite(out.buf ? out.buf : "", 1, out.len, stdout);
	if (k == -ENOMEM)
		error_set(&ctx->err, EXIT_IO, "out of memory");
	file_changes_free(files, n);
	txn_info_clear(&t);
	return k < 0 ? ctx_fail(ctx) : 0;
}

const struct cmd cmd_diff = {
	.name = "diff",
	.options = planning_options,
	.synopsis = "TXN|PROFILE",
	.summary = "what a transaction changed, or current files against what a profile intends",
	.help = "Paths are relative to the root (a/etc/modules, b/etc/modules), with git's headers\n"
		"for created and deleted files and mode changes, so the output applies with\n"
		"`patch -p1` or `git apply` inside the root. Owner changes are shown by `show`.\n"
		"With a PROFILE name instead of a number: the current files against the state the\n"
		"profile intends (empty when they already match).\n\n" PLANNING_OPTIONS_HELP,
	.min_args = 1,
	.max_args = 1,
	.flags = CMD_READS_JOURNAL,
	.run = run,
};
