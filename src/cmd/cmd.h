/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd.h — what every command gets from main: parsed options, the root, the journal. */
#pragma once

#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>

#include "journal.h"
#include "rootfs.h"
#include "txn.h"
#include "util.h"

/* Values of the command-specific options; each command's table says which it takes. */
struct cmd_args {
	const char *note;	/* snapshot -m */
	unsigned long limit;	/* history --limit */
	int argc;		/* positional arguments after the options */
	char **argv;
};

struct ctx {
	const char *root_path;
	const char *journal_path;	/* --journal, or NULL for the default under the root */
	const char *sysfs;
	const char *procfs;
	bool json, yes, no_hooks, force;
	const char *devices[32];	/* --device SLOT of plan, apply and diff (the gpu profile) */
	size_t n_devices;
	bool next_boot;			/* verify --next-boot */
	bool trial;			/* plan/apply --trial */
	bool no_commit;			/* apply --trial --no-commit */

	struct rootfs *root;
	struct journal *journal;	/* NULL when the command reads and no journal exists yet */
	struct recover_result recovered;	/* what the start-up recovery did */
	struct error err;
};

enum {
	CMD_READS_JOURNAL = 1 << 0,	/* open the journal if there is one */
	CMD_WRITES = 1 << 1,		/* create the journal, take the lock, recover first */
};

struct cmd {
	const char *name;
	const char *synopsis;	/* arguments after the name, for usage lines */
	const char *summary;	/* one line for `iommuctl --help` */
	const char *help;	/* the rest of `iommuctl NAME --help` */
	const struct option *options;	/* command-specific long options, ending with {0} */
	const char *shortopts;
	int min_args, max_args;
	unsigned flags;
	int (*run)(struct ctx *ctx, const struct cmd_args *args);
};

/* Long-option values above the byte range, so they never clash with short ones. */
enum {
	OPT_LIMIT = 0x100,
	OPT_DEVICE,
	OPT_NEXT_BOOT,
	OPT_TRIAL,
	OPT_NO_COMMIT,
};

/* --device SLOT, for the commands that plan a profile. */
extern const struct option planning_options[];
#define PLANNING_OPTIONS_HELP \
	"  --device SLOT  for the gpu profile: pass this device's slot (01:00 or 0000:01:00.0; repeatable)\n" \
	"                 instead of every GPU the host does not use for its console\n"

extern const struct cmd cmd_snapshot, cmd_history, cmd_show, cmd_diff, cmd_rollback, cmd_recover, cmd_profiles,
	cmd_plan, cmd_apply, cmd_scan, cmd_verify, cmd_commit, cmd_boot_check;

/* Print the error once, in the tool's voice, and give its exit code. */
int ctx_fail(struct ctx *ctx);
/* Look up a transaction given on the command line; unknown → EXIT_USAGE. */
int ctx_parse_txn(struct ctx *ctx, const char *arg, struct txn_info *ret);
/* Print a JSON document on stdout. */
void output_json(struct json_object *o);
/* {"txn": N|null, "changed": bool, "files": [..]} of apply/rollback/snapshot. */
void output_txn_result(int64_t txn, bool changed, const struct file_change *files, size_t n);
struct json_object *json_txn_files(const struct file_change *files, size_t n);
void output_recovered(const struct ctx *ctx);
/* "created", "deleted", "modified", "attributes" (mode/owner only) or "unchanged". */
const char *change_kind(const struct file_change *c);
bool change_is_real(const struct file_change *c);
void print_changes(const struct file_change *files, size_t n, const char *indent);
struct vfio_ids_origin;
/* vfio-pci's ids= list and where it comes from: {"value", "ids", "on_cmdline", "parameter", "file",
 * "variable", "line", "occurrences", "invalid"}, or NULL (JSON null) when nothing sets one. */
struct json_object *json_vfio_ids(const struct vfio_ids_origin *o);
/* The same in words, one or two lines starting with indent. */
void print_vfio_ids(const struct vfio_ids_origin *o, const char *indent);
struct strbuf;
/* A unified diff of one file with git's headers for created/deleted files and mode changes. */
int diff_file_change(struct strbuf *out, const struct file_change *c);
