/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trials.c — the trial boot's steps that several commands take: pick a trial, disarm it, commit
 *  it, undo its commit, reboot, and show it.
 *  Owns: trials.h. Must not: print a command's own report, or arm (apply --trial does). */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "strbuf.h"
#include "trials.h"

extern char **environ;

int trial_pick(struct ctx *ctx, const char *arg, struct txn_info *ret_txn, struct trial_info *ret)
{
	int64_t id = 0;
	int k;

	if (!ctx->journal)
		return error_set(&ctx->err, EXIT_USAGE, "no trial: no journal exists yet");
	if (arg) {
		k = ctx_parse_txn(ctx, arg, ret_txn);
		if (k)
			return k;
		id = ret_txn->id;
	} else {
		if (journal_trial_latest(ctx->journal, NULL, &id, &ctx->err) < 0)
			return ctx->err.exit_code;
		if (!id)
			return error_set(&ctx->err, EXIT_USAGE, "no trial in %s; `iommuctl apply --trial PROFILE` makes one",
					 journal_path(ctx->journal));
		if (journal_txn_get(ctx->journal, id, ret_txn, &ctx->err) < 0)
			return ctx->err.exit_code;
	}
	k = journal_trial_get(ctx->journal, id, ret, &ctx->err);
	if (k == -ENOENT) {
		txn_info_clear(ret_txn);
		return error_set(&ctx->err, EXIT_USAGE, "transaction %lld is no trial; `iommuctl history` lists them",
				 (long long)id);
	}
	if (k < 0) {
		txn_info_clear(ret_txn);
		return ctx->err.exit_code;
	}
	return 0;
}

int trial_disarm(struct ctx *ctx, int64_t txn)
{
	struct bootloader boot = { 0 };
	struct oneshot_env env = { .sysfs = ctx->sysfs };

	if (bootloader_detect(ctx->root, ctx->sysfs, &boot, &ctx->err) < 0)
		return -1;
	return oneshot_disarm(ctx->root, &boot, &env, txn, &ctx->err) < 0 ? -1 : 0;
}

/* What commit writes: each planned change whose file still holds its before-state; a file
 * that already holds the after-state is skipped; anything else is a conflict. */
static int commit_changes(struct ctx *ctx, struct file_change *planned, size_t n, struct file_change *todo,
			  size_t *ntodo, struct file_state *cur, struct strbuf *conflicts)
{
	char shown[4096];

	*ntodo = 0;
	for (size_t i = 0; i < n; i++) {
		if (rootfs_read_file(ctx->root, planned[i].path, &cur[i], &ctx->err) < 0)
			return -1;
		if (file_state_equal(&cur[i], &planned[i].after))
			continue;
		if (!file_state_equal(&cur[i], &planned[i].before)) {
			strbuf_appendf(conflicts, "  %s\n", rootfs_display(ctx->root, planned[i].path, shown, sizeof(shown)));
			continue;
		}
		todo[(*ntodo)++] = planned[i];	/* shallow */
	}
	return 0;
}

int trial_commit(struct ctx *ctx, const struct txn_info *t, const struct trial_info *tr, int64_t *ret_commit)
{
	_cleanup_strbuf_ struct strbuf conflicts = STRBUF_INIT;
	_cleanup_(strv_clear) struct strv hooks = { 0 };
	struct file_change *planned = NULL, *todo = NULL;
	struct file_state *cur = NULL;
	struct hook_config hc = { 0 };
	struct bootloader boot = { 0 };
	struct txn_request req = { .kind = "apply", .profile = t->profile, .note = t->note };
	size_t n = 0, ntodo = 0;
	int64_t id = 0;
	int k;

	*ret_commit = 0;
	k = journal_trial_changes(ctx->journal, tr->txn, true, &planned, &n, &ctx->err);
	if (k == 0 && (!(cur = calloc(n + 1, sizeof(*cur))) || !(todo = calloc(n + 1, sizeof(*todo)))))
		k = error_set(&ctx->err, EXIT_IO, "out of memory");
	if (k == 0)
		k = commit_changes(ctx, planned, n, todo, &ntodo, cur, &conflicts);
	if (k == 0 && conflicts.len) {
		fprintf(stderr, "iommuctl: these files changed after trial %lld was recorded:\n%s", (long long)tr->txn,
			strbuf_str(&conflicts));
		k = error_set(&ctx->err, EXIT_REFUSED,
			      "not committed: trial %lld tried those files as they were; run `iommuctl apply --trial "
			      "%s` again for the files as they are now, or `iommuctl apply %s`", (long long)tr->txn,
			      t->profile ? t->profile : "PROFILE", t->profile ? t->profile : "PROFILE");
	}
	if (k == 0)
		k = bootloader_detect(ctx->root, ctx->sysfs, &boot, &ctx->err);
	if (k == 0 && plan_hooks_for(&boot, todo, ntodo, &hooks, NULL) < 0)
		k = error_set(&ctx->err, EXIT_IO, "out of memory");
	if (k == 0)
		k = hook_config_load(ctx->root, &hc, &ctx->err);
	if (k == 0 && ntodo)
		k = changes_apply(ctx, &req, todo, ntodo, &hooks, &hc, &id);
	/* The files are written: the trial entry goes, and the journal links the two. */
	if (k == 0)
		k = trial_disarm(ctx, tr->txn);
	if (k == 0 && (journal_begin(ctx->journal, &ctx->err) < 0 ||
		       journal_trial_set_commit(ctx->journal, tr->txn, id, &ctx->err) < 0 ||
		       journal_commit(ctx->journal, &ctx->err) < 0)) {
		journal_rollback_sql(ctx->journal);
		k = -1;
	}
	if (k == 0)
		*ret_commit = id;
	hook_config_clear(&hc);
	for (size_t i = 0; cur && i < n; i++)
		file_state_clear(&cur[i]);
	free(cur);
	free(todo);
	file_changes_free(planned, n);
	return k ? -1 : 0;
}

int trial_undo_commit(struct ctx *ctx, const struct trial_info *tr, const char *why, int64_t *ret_rollback)
{
	_cleanup_(strv_clear) struct strv hooks = { 0 };
	struct file_change *files = NULL, *todo = NULL;
	struct file_state *cur = NULL;
	struct hook_config hc = { 0 };
	struct bootloader boot = { 0 };
	struct txn_request req = { .kind = "rollback", .note = why, .undoes = tr->commit_txn };
	_cleanup_strbuf_ struct strbuf conflicts = STRBUF_INIT;
	size_t n = 0, ntodo = 0;
	const char *failed = NULL;
	char shown[4096];
	int64_t id = 0;
	int status = 0, k;

	*ret_rollback = 0;
	k = journal_txn_files(ctx->journal, tr->commit_txn, true, &files, &n, &ctx->err);
	if (k == 0 && (!(cur = calloc(n + 1, sizeof(*cur))) || !(todo = calloc(n + 1, sizeof(*todo)))))
		k = error_set(&ctx->err, EXIT_IO, "out of memory");
	for (size_t i = 0; k == 0 && i < n; i++) {
		if (rootfs_read_file(ctx->root, files[i].path, &cur[i], &ctx->err) < 0) {
			k = -1;
			break;
		}
		if (file_state_equal(&cur[i], &files[i].before))
			continue;
		if (!file_state_equal(&cur[i], &files[i].after)) {
			strbuf_appendf(&conflicts, " %s", rootfs_display(ctx->root, files[i].path, shown, sizeof(shown)));
			continue;
		}
		todo[ntodo].path = files[i].path;
		todo[ntodo].before = cur[i];
		todo[ntodo++].after = files[i].before;
	}
	/* A file changed by hand since the commit is the administrator's: nothing is undone. */
	if (k == 0 && conflicts.len)
		k = error_set(&ctx->err, EXIT_REFUSED, "transaction %lld is not rolled back: these files changed after "
			      "it:%s; look at them, then `iommuctl rollback --force %lld`", (long long)tr->commit_txn,
			      strbuf_str(&conflicts), (long long)tr->commit_txn);
	if (k == 0 && ntodo)
		k = txn_execute(ctx->journal, ctx->root, &req, todo, ntodo, &id, &ctx->err) < 0 ? -1 : 0;
	if (k == 0 && id && bootloader_detect(ctx->root, ctx->sysfs, &boot, &ctx->err) == 0 &&
	    plan_hooks_for(&boot, todo, ntodo, &hooks, NULL) == 0 && hook_config_load(ctx->root, &hc, &ctx->err) == 0 &&
	    !ctx->no_hooks)
		failed = hooks_run(ctx, id, &hooks, &hc, &status);
	if (failed)
		fprintf(stderr, "iommuctl: the files are rolled back (transaction %lld), but %s exited with status %d; "
			"`iommuctl show %lld` has its output\n", (long long)id, failed, status, (long long)id);
	if (k == 0)
		*ret_rollback = id;
	hook_config_clear(&hc);
	for (size_t i = 0; cur && i < n; i++)
		file_state_clear(&cur[i]);
	free(cur);
	free(todo);
	file_changes_free(files, n);
	return k ? -1 : 0;
}

int trial_reboot(struct ctx *ctx, const char *why)
{
	const char *cmd = getenv(REBOOT_COMMAND_ENV);
	_cleanup_free_ char *copy = NULL;
	char *argv[16], *save = NULL;
	size_t n = 0;
	pid_t pid;
	int status = 0, k;

	if (!cmd || !*cmd)
		cmd = REBOOT_COMMAND_DEFAULT;
	if (!(copy = strdup(cmd)))
		return error_set(&ctx->err, EXIT_IO, "out of memory");
	for (char *w = strtok_r(copy, " \t", &save); w && n < ARRAY_SIZE(argv) - 1; w = strtok_r(NULL, " \t", &save))
		argv[n++] = w;
	argv[n] = NULL;
	fprintf(stderr, "iommuctl: rebooting (%s): %s\n", cmd, why);
	fflush(NULL);
	k = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
	if (k != 0)
		return error_set(&ctx->err, EXIT_IO, "cannot run %s to reboot: %s; reboot by hand", cmd, strerror(k));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return error_set(&ctx->err, EXIT_IO, "%s failed (status %d); reboot by hand", cmd,
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

static struct json_object *str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

/* The pieces of s between sep characters, empty ones left out. */
static struct json_object *split_array(const char *s, char sep)
{
	struct json_object *a = json_object_new_array();

	for (const char *l = s; l && *l;) {
		const char *nl = strchr(l, sep);
		size_t len = nl ? (size_t)(nl - l) : strlen(l);

		if (len)
			json_object_array_add(a, json_object_new_string_len(l, (int)len));
		l = nl ? nl + 1 : NULL;
	}
	return a;
}
#define lines_array(s) split_array((s), '\n')

struct json_object *json_trial(const struct trial_info *t)
{
	struct json_object *o = json_object_new_object(), *f = NULL;

	json_object_object_add(o, "txn", json_object_new_int64(t->txn));
	json_object_object_add(o, "state", json_object_new_string(t->state));
	json_object_object_add(o, "cmdline_add", json_object_new_string(t->cmdline_add));
	json_object_object_add(o, "cmdline_drop", split_array(t->cmdline_drop, ' '));
	json_object_object_add(o, "unexercised", lines_array(t->unexercised));
	json_object_object_add(o, "no_commit", json_object_new_boolean(t->no_commit));
	json_object_object_add(o, "armed_where", str_or_null(t->armed_where));
	json_object_object_add(o, "entry_id", str_or_null(t->entry_id));
	json_object_object_add(o, "files", lines_array(t->files));
	json_object_object_add(o, "outcome", str_or_null(t->outcome));
	json_object_object_add(o, "boot_id", str_or_null(t->boot_id));
	json_object_object_add(o, "checked_at", str_or_null(t->checked_at));
	json_object_object_add(o, "commit_txn", t->commit_txn ? json_object_new_int64(t->commit_txn) : NULL);
	if (t->first_boot_ok >= 0) {
		f = json_object_new_object();
		json_object_object_add(f, "ok", json_object_new_boolean(t->first_boot_ok == 1));
		json_object_object_add(f, "boot_id", str_or_null(t->first_boot_id));
		json_object_object_add(f, "outcome", str_or_null(t->first_boot_outcome));
		json_object_object_add(f, "rollback_txn", t->rollback_txn ? json_object_new_int64(t->rollback_txn) : NULL);
	}
	json_object_object_add(o, "first_boot", f);
	return o;
}

void print_trial(const struct trial_info *t, const char *indent)
{
	printf("%strial:     %s%s\n", indent, t->state, t->no_commit ? " (--no-commit: `iommuctl commit` makes it permanent)" : "");
	printf("%s  command line added: %s\n", indent, t->cmdline_add);
	if (*t->cmdline_drop)
		printf("%s  dropped from the default entry's line: %s\n", indent, t->cmdline_drop);
	if (*t->armed_where)
		printf("%s  one-shot: %s, entry %s\n", indent, t->armed_where, t->entry_id);
	if (*t->unexercised) {
		printf("%s  not exercised by the trial:\n", indent);
		for (const char *l = t->unexercised; l && *l;) {
			const char *nl = strchr(l, '\n');

			printf("%s    - %.*s\n", indent, (int)(nl ? nl - l : (long)strlen(l)), l);
			l = nl ? nl + 1 : NULL;
		}
	}
	if (*t->outcome)
		printf("%s  outcome: %s%s%s%s\n", indent, t->outcome, *t->checked_at ? " (checked " : "", t->checked_at,
		       *t->checked_at ? ")" : "");
	if (t->commit_txn)
		printf("%s  committed as transaction %lld\n", indent, (long long)t->commit_txn);
	if (t->first_boot_ok >= 0)
		printf("%s  first boot after the commit: %s%s%s\n", indent, t->first_boot_ok ? "passed" : "failed",
		       *t->first_boot_outcome ? ": " : "", t->first_boot_outcome);
	if (t->rollback_txn)
		printf("%s  rolled back by transaction %lld\n", indent, (long long)t->rollback_txn);
}

char *trial_summary(const struct trial_info *t)
{
	char *s = NULL;

	if (asprintf(&s, "trial %s%s%s%s", t->state, *t->outcome ? ": " : "", t->outcome,
		     t->rollback_txn ? " (first boot failed; rolled back)" : "") < 0)
		return NULL;
	return s;
}
