/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c — global options, the command table, and the set-up every command shares. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "cmd/cmd.h"
#include "config.h"
#include "hw.h"

static const struct cmd *const commands[] = {
	&cmd_scan, &cmd_profiles, &cmd_plan, &cmd_apply, &cmd_verify, &cmd_diff, &cmd_history, &cmd_show, &cmd_rollback, &cmd_snapshot,
	&cmd_recover, &cmd_commit, &cmd_boot_check,
};

enum {
	OPT_ROOT = 0x200, OPT_JOURNAL, OPT_SYSFS, OPT_PROCFS, OPT_JSON, OPT_NO_HOOKS, OPT_FORCE, OPT_VERSION,
};

static const struct option global_options[] = {
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "journal", required_argument, NULL, OPT_JOURNAL },
	{ "sysfs", required_argument, NULL, OPT_SYSFS },
	{ "procfs", required_argument, NULL, OPT_PROCFS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "no-hooks", no_argument, NULL, OPT_NO_HOOKS },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "yes", no_argument, NULL, 'y' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ 0 },
};

static void print_usage(FILE *f)
{
	fprintf(f,
		"Usage: iommuctl [--root DIR] [--journal FILE] [--sysfs DIR] [--procfs DIR]\n"
		"                [--json] [--no-hooks] [--force] [-y] COMMAND [ARGS]\n\n"
		"Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f,
		"\nOptions:\n"
		"  --root DIR      work on the system mounted at DIR (configuration, journal, /lib/modules, /boot)\n"
		"  --journal FILE  use FILE as the journal instead of DIR/var/lib/iommuctl/journal.db\n"
		"  --sysfs DIR     read hardware from DIR instead of /sys\n"
		"  --procfs DIR    read processes and interrupts from DIR instead of /proc\n"
		"  --json          print one JSON document on standard output\n"
		"  --no-hooks      do not run update-grub/update-initramfs; say which to run\n"
		"  --force         override a refusal by the safety checks\n"
		"  -y, --yes       do not ask for confirmation\n"
		"  -h, --help      show this help, or a command's help after its name\n"
		"  --version       show the version\n\n"
		"See iommuctl(8).\n");
}

static void print_cmd_help(const struct cmd *c)
{
	printf("Usage: iommuctl [GLOBAL OPTIONS] %s%s%s\n\n%s\n\n%s", c->name, *c->synopsis ? " " : "", c->synopsis,
	       c->summary, c->help);
}

static int usage_error(const char *cmd)
{
	fprintf(stderr, "Try 'iommuctl %s%s--help' for more information.\n", cmd ? cmd : "", cmd ? " " : "");
	return EXIT_USAGE;
}

static void print_version(void)
{
	printf("iommuctl %s (%s; sqlite %s, zlib %s)\n", PACKAGE_VERSION, IOMMUCTL_FEATURES, journal_sqlite_version(),
	       zlibVersion());
}

/* A global option; returns 1 if it ends the program (help, version), <0 on error. */
static int handle_global(struct ctx *ctx, int c, const struct cmd *cmd)
{
	switch (c) {
	case OPT_ROOT: ctx->root_path = optarg; return 0;
	case OPT_JOURNAL: ctx->journal_path = optarg; return 0;
	case OPT_SYSFS: ctx->sysfs = optarg; return 0;
	case OPT_PROCFS: ctx->procfs = optarg; return 0;
	case OPT_JSON: ctx->json = true; return 0;
	case OPT_NO_HOOKS: ctx->no_hooks = true; return 0;
	case OPT_FORCE: ctx->force = true; return 0;
	case 'y': ctx->yes = true; return 0;
	case 'h':
		if (cmd)
			print_cmd_help(cmd);
		else
			print_usage(stdout);
		return 1;
	case OPT_VERSION: print_version(); return 1;
	default: return -EINVAL;
	}
}

static const struct cmd *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (streq(commands[i]->name, name))
			return commands[i];
	return NULL;
}

static int handle_cmd_option(struct ctx *ctx, struct cmd_args *a, int c)
{
	unsigned long v;

	switch (c) {
	case 'm':
		a->note = optarg;
		return 0;
	case OPT_LIMIT:
		if (parse_uint(optarg, &v) < 0 || v == 0) {
			fprintf(stderr, "iommuctl: --limit wants a positive number, not '%s'\n", optarg);
			return -EINVAL;
		}
		a->limit = v;
		return 0;
	case OPT_DEVICE:
		if (ctx->n_devices == ARRAY_SIZE(ctx->devices)) {
			fprintf(stderr, "iommuctl: at most %zu --device options\n", ARRAY_SIZE(ctx->devices));
			return -EINVAL;
		}
		ctx->devices[ctx->n_devices++] = optarg;
		return 0;
	case OPT_NEXT_BOOT:
		ctx->next_boot = true;
		return 0;
	case OPT_TRIAL:
		ctx->trial = true;
		return 0;
	case OPT_NO_COMMIT:
		ctx->no_commit = true;
		return 0;
	default:
		return -EINVAL;
	}
}

/* The command's own options plus the global ones, which may follow the command name too. */
static int parse_cmd_options(struct ctx *ctx, const struct cmd *cmd, int argc, char **argv, struct cmd_args *a)
{
	struct option opts[32];
	char shortopts[64];
	size_t n = 0;
	int c, k;

	for (const struct option *o = cmd->options; o && o->name; o++)
		opts[n++] = *o;
	for (const struct option *o = global_options; o->name; o++)
		opts[n++] = *o;
	memset(&opts[n], 0, sizeof(opts[n]));
	snprintf(shortopts, sizeof(shortopts), ":hy%s", cmd->shortopts ? cmd->shortopts : "");

	/* 0, not 1: glibc must forget the "+" mode of the first pass and permute again,
	 * so that options may follow positional arguments ("rollback 3 --json"). */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			fprintf(stderr, "iommuctl: %s: %s '%s'\n", cmd->name,
				c == ':' ? "missing argument for option" : "unrecognized option", argv[optind - 1]);
			return usage_error(cmd->name);
		}
		k = handle_global(ctx, c, cmd);
		if (k == 1)
			return -1;	/* help shown */
		if (k == 0)
			continue;
		if (handle_cmd_option(ctx, a, c) < 0)
			return usage_error(cmd->name);
	}
	a->argc = argc - optind;
	a->argv = argv + optind;
	if (a->argc < cmd->min_args || a->argc > cmd->max_args) {
		fprintf(stderr, "iommuctl: %s: %s\nUsage: iommuctl %s %s\n", cmd->name,
			a->argc < cmd->min_args ? "missing argument" : "too many arguments", cmd->name, cmd->synopsis);
		return usage_error(cmd->name);
	}
	return 0;
}

static int open_journal(struct ctx *ctx, unsigned flags)
{
	int k;

	if (ctx->journal_path)
		k = journal_open(ctx->journal_path, flags, &ctx->journal, &ctx->err);
	else
		k = journal_open_in_root(ctx->root, flags, &ctx->journal, &ctx->err);
	if (k == -ENOENT && !(flags & JOURNAL_CREATE))
		return 0;
	return k;
}

/* Shared set-up: the root, the journal, the lock, and recovery of an interrupted transaction. */
static int prepare(struct ctx *ctx, const struct cmd *cmd)
{
	char boot_id[37];
	int k;

	k = rootfs_open(ctx->root_path, &ctx->root, &ctx->err);
	if (k < 0)
		return k;
	if (!(cmd->flags & (CMD_READS_JOURNAL | CMD_WRITES)))
		return 0;
	k = open_journal(ctx, cmd->flags & CMD_WRITES ? JOURNAL_CREATE | JOURNAL_LOCK : JOURNAL_READONLY);
	if (k < 0 || !(cmd->flags & CMD_WRITES))
		return k;
	/* verify compares it with the boot it runs in; none readable: it falls back to btime. */
	if (hw_boot_id(ctx->procfs, boot_id) == 0)
		journal_set_boot_id(ctx->journal, boot_id);
	k = txn_recover(ctx->journal, ctx->root, &ctx->recovered, &ctx->err);
	if (k < 0)
		return k;
	output_recovered(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	struct ctx ctx = { .root_path = "/", .sysfs = "/sys", .procfs = "/proc" };
	struct cmd_args args = { 0 };
	const struct cmd *cmd;
	int c, k, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hy", global_options, NULL)) != -1) {
		if (c == '?' || c == ':') {
			fprintf(stderr, "iommuctl: %s '%s'\n",
				c == ':' ? "missing argument for option" : "unrecognized option", argv[optind - 1]);
			return usage_error(NULL);
		}
		k = handle_global(&ctx, c, NULL);
		if (k == 1)
			return 0;
	}
	if (optind >= argc) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "iommuctl: unknown command '%s'\n", argv[optind]);
		return usage_error(NULL);
	}
	k = parse_cmd_options(&ctx, cmd, argc - optind, argv + optind, &args);
	if (k != 0)
		return k < 0 ? 0 : k;

	if (prepare(&ctx, cmd) < 0)
		r = ctx_fail(&ctx);
	else
		r = cmd->run(&ctx, &args);
	/* Whatever the command's outcome: what it recorded goes into journal.db, which is then
	 * the whole journal. The command's work is done and durable either way (the WAL holds
	 * it), so a failure here is a warning, not a different exit status. */
	if ((cmd->flags & CMD_WRITES) && journal_checkpoint(ctx.journal, &ctx.err) < 0)
		fprintf(stderr, "iommuctl: warning: %s\n", ctx.err.text);
	journal_close(ctx.journal);
	rootfs_free(ctx.root);
	return r;
}
