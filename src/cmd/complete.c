/* SPDX-License-Identifier: GPL-2.0-or-later */
/* complete.c — `iommuctl complete KIND [ARG]`, hidden: the words shell completion offers, one a line.
 *  Owns: what the completion script (data/bash-completion/iommuctl) may offer, taken from the
 *  command table, the profiles, the journal and the PCI scan, so that the script never parses
 *  iommuctl's other output. Must not: write anything, or print to stdout when it cannot read
 *  what was asked (the script then offers nothing; stderr is the script's to drop). */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "hw.h"
#include "profile.h"

static void print_options(const struct option *o)
{
	for (; o && o->name; o++)
		printf("--%s%s\n", o->name,
		       o->has_arg == required_argument ? "=" : o->has_arg == optional_argument ? "[=]" : "");
}

static int list_commands(const struct ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_commands; i++)
		if (!ctx->commands[i]->hidden)
			puts(ctx->commands[i]->name);
	return 0;
}

/* The options after COMMAND (the command's own, then the global ones), or before any command. */
static int list_options(struct ctx *ctx, const char *name)
{
	if (name) {
		for (size_t i = 0; i < ctx->n_commands; i++)
			if (streq(ctx->commands[i]->name, name)) {
				print_options(ctx->commands[i]->options);
				break;
			}
	}
	print_options(ctx->global_options);
	return 0;
}

static int list_profiles(struct ctx *ctx)
{
	struct profile_info *v = NULL;
	size_t n = 0;

	if (profile_list(ctx->root, &v, &n, &ctx->err) < 0)
		return ctx_fail(ctx);
	for (size_t i = 0; i < n; i++)
		if (!v[i].broken)
			puts(v[i].name);
	profile_infos_free(v, n);
	return 0;
}

/* which: NULL every transaction; "undoable" applies and snapshots not undone yet (rollback);
 * any other word: transactions of that kind ("trial" for commit). Newest first. */
static int list_txns(struct ctx *ctx, const char *which)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct txn_info *v = NULL;
	size_t n = 0;
	int k;

	if (ctx->journal_path)
		k = journal_open(ctx->journal_path, JOURNAL_READONLY, &j, &ctx->err);
	else
		k = journal_open_in_root(ctx->root, JOURNAL_READONLY, &j, &ctx->err);
	if (k == -ENOENT)
		return 0;	/* no journal yet: no transaction to offer */
	if (k < 0 || journal_txn_list(j, 0, &v, &n, &ctx->err) < 0)
		return ctx_fail(ctx);
	for (size_t i = 0; i < n; i++) {
		bool want = !which;

		if (which && streq(which, "undoable")) {
			int64_t by = 0;

			want = (streq(v[i].kind, "apply") || streq(v[i].kind, "snapshot")) &&
			       streq(v[i].state, "committed") && journal_undone_by(j, v[i].id, &by, &ctx->err) == 0 &&
			       by == 0;
		} else if (which) {
			want = streq(v[i].kind, which);
		}
		if (want)
			printf("%lld\n", (long long)v[i].id);
		txn_info_clear(&v[i]);
	}
	free(v);
	return 0;
}

/* The GPUs of --sysfs, for --device: every display controller, by its sysfs address. */
static int list_gpus(struct ctx *ctx)
{
	struct hw hw;

	if (hw_scan(ctx->sysfs, ctx->procfs, &hw, &ctx->err) < 0)
		return ctx_fail(ctx);
	for (size_t i = 0; i < hw.n_devs; i++)
		if (pci_is_gpu(&hw.devs[i]))
			puts(hw.devs[i].slot);
	hw_clear(&hw);
	return 0;
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	const char *kind = args->argv[0], *arg = args->argc > 1 ? args->argv[1] : NULL;

	if (streq(kind, "commands"))
		return list_commands(ctx);
	if (streq(kind, "options"))
		return list_options(ctx, arg);
	if (streq(kind, "profiles"))
		return list_profiles(ctx);
	if (streq(kind, "txns"))
		return list_txns(ctx, arg);
	if (streq(kind, "gpus"))
		return list_gpus(ctx);
	error_set(&ctx->err, EXIT_USAGE, "complete: unknown kind '%s'; one of commands, options, profiles, txns, gpus",
		  kind);
	return ctx_fail(ctx);
}

const struct cmd cmd_complete = {
	.name = "complete",
	.synopsis = "commands | options [COMMAND] | profiles | txns [undoable|KIND] | gpus",
	.summary = "the words shell completion offers, one a line (for the completion script)",
	.help = "Prints nothing on stdout when it cannot read what was asked (a journal the user may\n"
		"not read); the message goes to stderr. Options that take a value end in '=', those\n"
		"whose value is optional in '[=]'.\n",
	.min_args = 1,
	.max_args = 2,
	.flags = 0,
	.hidden = true,
	.run = run,
};
