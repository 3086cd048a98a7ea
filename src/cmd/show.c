/* SPDX-License-Identifier: GPL-2.0-or-later */
/* show.c — `iommuctl show TXN`: one transaction, its files, hook runs and saved contents. */
#include <stdio.h>

#include "trials.h"

static struct json_object *json_state(const struct file_state *fs)
{
	struct json_object *o;
	char mode[8];

	if (!fs->present)
		return NULL;
	o = json_object_new_object();
	snprintf(mode, sizeof(mode), "%04o", (unsigned)fs->mode);
	json_object_object_add(o, "size", json_object_new_int64((int64_t)fs->len));
	json_object_object_add(o, "sha256", json_object_new_string(fs->hash));
	json_object_object_add(o, "mode", json_object_new_string(mode));
	json_object_object_add(o, "uid", json_object_new_int64(fs->uid));
	json_object_object_add(o, "gid", json_object_new_int64(fs->gid));
	return o;
}

static void print_state(const char *label, const struct file_state *fs)
{
	if (!fs->present)
		printf("    %-7s absent\n", label);
	else
		printf("    %-7s %zu bytes, mode %04o, owner %u:%u, sha256 %s\n", label, fs->len, (unsigned)fs->mode,
		       (unsigned)fs->uid, (unsigned)fs->gid, fs->hash);
}

struct details {
	struct file_change *files;
	size_t nfiles;
	struct hook_run *hooks;
	size_t nhooks;
	struct salvage_entry *salvaged;
	size_t nsalvaged;
	bool is_trial;			/* t is a trial: trial holds its row */
	struct trial_info trial;
	int64_t trial_of_commit;	/* t is the commit of this trial; 0 when not */
};

static void show_json(const struct txn_info *t, const struct details *d)
{
	struct json_object *o = json_object_new_object(), *a;

	json_object_object_add(o, "id", json_object_new_int64(t->id));
	json_object_object_add(o, "kind", json_object_new_string(t->kind));
	json_object_object_add(o, "state", json_object_new_string(t->state));
	json_object_object_add(o, "profile", t->profile ? json_object_new_string(t->profile) : NULL);
	json_object_object_add(o, "note", t->note ? json_object_new_string(t->note) : NULL);
	json_object_object_add(o, "undoes", t->undoes ? json_object_new_int64(t->undoes) : NULL);
	json_object_object_add(o, "started_at", json_object_new_string(t->started_at));
	json_object_object_add(o, "finished_at", *t->finished_at ? json_object_new_string(t->finished_at) : NULL);
	json_object_object_add(o, "user", t->user ? json_object_new_string(t->user) : NULL);
	json_object_object_add(o, "version", t->version ? json_object_new_string(t->version) : NULL);
	a = json_object_new_array();
	for (size_t i = 0; i < d->nfiles; i++) {
		struct json_object *f = json_object_new_object();

		json_object_object_add(f, "path", json_object_new_string(d->files[i].path));
		json_object_object_add(f, "change", json_object_new_string(change_kind(&d->files[i])));
		json_object_object_add(f, "before", json_state(&d->files[i].before));
		json_object_object_add(f, "after", json_state(&d->files[i].after));
		json_object_array_add(a, f);
	}
	json_object_object_add(o, "files", a);
	a = json_object_new_array();
	for (size_t i = 0; i < d->nhooks; i++) {
		struct json_object *h = json_object_new_object();

		json_object_object_add(h, "argv", json_object_new_string(d->hooks[i].argv));
		json_object_object_add(h, "status", d->hooks[i].status < 0 ? NULL : json_object_new_int(d->hooks[i].status));
		json_object_object_add(h, "output", json_object_new_string_len(d->hooks[i].output ? d->hooks[i].output : "",
									 (int)d->hooks[i].output_len));
		json_object_array_add(a, h);
	}
	json_object_object_add(o, "hooks", a);
	a = json_object_new_array();
	for (size_t i = 0; i < d->nsalvaged; i++) {
		struct json_object *s = json_state(&d->salvaged[i].state);

		json_object_object_add(s, "path", json_object_new_string(d->salvaged[i].path));
		json_object_object_add(s, "found_at", json_object_new_string(d->salvaged[i].found_at));
		json_object_array_add(a, s);
	}
	json_object_object_add(o, "salvaged", a);
	json_object_object_add(o, "trial", d->is_trial ? json_trial(&d->trial) : NULL);
	json_object_object_add(o, "commit_of_trial", d->trial_of_commit ? json_object_new_int64(d->trial_of_commit) : NULL);
	output_json(o);
	json_object_put(o);
}

static void show_text(const struct txn_info *t, const struct details *d)
{
	printf("transaction %lld\n", (long long)t->id);
	printf("  kind:     %s\n  state:    %s\n", t->kind, t->state);
	if (t->profile)
		printf("  profile:  %s\n", t->profile);
	if (t->undoes)
		printf("  undoes:   %lld\n", (long long)t->undoes);
	if (t->note)
		printf("  note:     %s\n", t->note);
	printf("  started:  %s\n  finished: %s\n  user:     %s\n  iommuctl: %s\n", t->started_at,
	       *t->finished_at ? t->finished_at : "-", t->user ? t->user : "-", t->version ? t->version : "-");
	if (d->trial_of_commit)
		printf("  commit of trial %lld\n", (long long)d->trial_of_commit);
	if (d->is_trial)
		print_trial(&d->trial, "  ");
	printf("files: %zu\n", d->nfiles);
	for (size_t i = 0; i < d->nfiles; i++) {
		printf("  %s (%s)\n", d->files[i].path, change_kind(&d->files[i]));
		print_state("before", &d->files[i].before);
		print_state("after", &d->files[i].after);
	}
	printf("hooks: %s\n", d->nhooks ? "" : "none run");
	for (size_t i = 0; i < d->nhooks; i++) {
		if (d->hooks[i].status < 0)
			printf("  %s: could not be started\n", d->hooks[i].argv);
		else
			printf("  %s: exit status %d\n", d->hooks[i].argv, d->hooks[i].status);
		if (d->hooks[i].output_len)
			printf("%s%s", d->hooks[i].output,
			       d->hooks[i].output[d->hooks[i].output_len - 1] == '\n' ? "" : "\n");
	}
	for (size_t i = 0; i < d->nsalvaged; i++) {
		printf("saved by recovery before overwriting: %s found %s\n", d->salvaged[i].path, d->salvaged[i].found_at);
		print_state("content", &d->salvaged[i].state);
	}
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	struct txn_info t = { 0 };
	struct details d = { 0 };
	int k;

	k = ctx_parse_txn(ctx, args->argv[0], &t);
	if (k)
		return ctx_fail(ctx);
	k = journal_txn_files(ctx->journal, t.id, false, &d.files, &d.nfiles, &ctx->err);
	if (k == 0)
		k = journal_hook_runs(ctx->journal, t.id, &d.hooks, &d.nhooks, &ctx->err);
	if (k == 0)
		k = journal_salvaged(ctx->journal, t.id, &d.salvaged, &d.nsalvaged, &ctx->err);
	if (k == 0 && streq(t.kind, "trial")) {
		k = journal_trial_get(ctx->journal, t.id, &d.trial, &ctx->err);
		d.is_trial = k == 0;
		if (k == -ENOENT)
			k = 0;
	}
	if (k == 0 && streq(t.kind, "apply"))
		k = journal_trial_of_commit(ctx->journal, t.id, &d.trial_of_commit, &ctx->err);
	if (k == 0) {
		if (ctx->json)
			show_json(&t, &d);
		else
			show_text(&t, &d);
	}
	file_changes_free(d.files, d.nfiles);
	hook_runs_free(d.hooks, d.nhooks);
	salvage_entries_free(d.salvaged, d.nsalvaged);
	trial_info_clear(&d.trial);
	txn_info_clear(&t);
	return k < 0 ? ctx_fail(ctx) : 0;
}

const struct cmd cmd_show = {
	.name = "show",
	.synopsis = "TXN",
	.summary = "one transaction: files, sizes, hashes, hook runs and their output",
	.help = "Contents saved by recovery (a file edited by hand while a transaction was\n"
		"interrupted) are listed too, with their hashes.\n",
	.min_args = 1,
	.max_args = 1,
	.flags = CMD_READS_JOURNAL,
	.run = run,
};
