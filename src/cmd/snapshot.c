/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapshot.c — `iommuctl snapshot`: record hand edits of the managed files as a transaction. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "managed.h"

struct change_list {
	struct file_change *v;
	size_t n;
};

static int push_change(struct change_list *l, const char *path, const struct file_state *before,
		       const struct file_state *after)
{
	struct file_change *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	struct file_change *c;

	if (!nv)
		return -ENOMEM;
	l->v = nv;
	c = &nv[l->n];
	memset(c, 0, sizeof(*c));
	l->n++;
	if (!(c->path = strdup(path)) || file_state_copy(&c->before, before) < 0 ||
	    file_state_copy(&c->after, after) < 0)
		return -ENOMEM;
	return 0;
}

/* Compare one path on disk with the journal's last known state of it. Without a
 * baseline, a file the journal has never seen is recorded as it is (before = after):
 * nothing is known of its past, and inventing "created" would make rollback delete it. */
static int compare_path(struct ctx *ctx, const char *path, const struct file_state *cur, bool baseline,
			struct change_list *out)
{
	static const struct file_state absent = { 0 };
	struct file_state known;
	bool is_known;
	int k;

	k = journal_known_state(ctx->journal, path, true, &known, &is_known, &ctx->err);
	if (k < 0)
		return k;
	if (!cur)
		cur = &absent;
	if (is_known)
		k = file_state_equal(&known, cur) ? 0 : push_change(out, path, &known, cur);
	else if (cur->present)
		k = push_change(out, path, baseline ? &absent : cur, cur);
	file_state_clear(&known);
	return k;
}

static int collect_changes(struct ctx *ctx, const struct managed_set *set, bool baseline, struct change_list *out)
{
	char **known = NULL;
	size_t nknown = 0;
	int k;

	k = journal_known_paths(ctx->journal, &known, &nknown, &ctx->err);
	for (size_t i = 0; k == 0 && i < set->n; i++)
		k = compare_path(ctx, set->files[i].path, &set->files[i].state, baseline, out);
	/* Files the journal knows that are gone from disk now. */
	for (size_t i = 0; k == 0 && i < nknown; i++)
		if (!managed_find(set, known[i]))
			k = compare_path(ctx, known[i], NULL, baseline, out);
	strv_free(known, nknown);
	return k;
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const struct file_change *)a)->path, ((const struct file_change *)b)->path);
}

static void report(const struct ctx *ctx, int64_t id, bool baseline, const struct change_list *l, bool changed)
{
	size_t first_seen = 0;

	if (ctx->json) {
		output_txn_result(id, changed, l->v, l->n);
		return;
	}
	if (!id) {
		printf("no managed file changed since the last recorded state; nothing recorded\n");
		return;
	}
	printf("recorded transaction %lld (snapshot)%s\n", (long long)id, changed ? ":" : "");
	for (size_t i = 0; i < l->n; i++) {
		if (change_is_real(&l->v[i]))
			printf("  %-10s %s\n", change_kind(&l->v[i]), l->v[i].path);
		else
			first_seen++;
	}
	if (!baseline)
		printf("it is the journal's first view of %zu managed file(s); later snapshots record changes "
		       "against it\n", first_seen);
	if (changed)
		printf("`iommuctl diff %lld` shows the changes; `iommuctl rollback %lld` undoes them\n", (long long)id,
		       (long long)id);
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	struct managed_set set = { 0 };
	struct change_list changes = { 0 };
	int64_t id = 0;
	bool baseline, changed = false;
	int k;

	k = journal_has_baseline(ctx->journal, &baseline, &ctx->err);
	if (k == 0)
		k = managed_scan(ctx->root, &set, &ctx->err);
	for (size_t i = 0; k == 0 && i < set.nlinks; i++)
		fprintf(stderr, "iommuctl: note: %s is a symbolic link; it is not recorded (iommuctl records and "
			"edits regular files only)\n", set.links[i]);
	if (k == 0)
		k = collect_changes(ctx, &set, baseline, &changes);
	if (k == 0 && changes.n)
		qsort(changes.v, changes.n, sizeof(*changes.v), cmp_change);
	for (size_t i = 0; i < changes.n; i++)
		changed |= change_is_real(&changes.v[i]);
	/* The first snapshot is recorded even when no managed file exists: it is the
	 * baseline that lets later snapshots call a new file "created". */
	if (k == 0 && (changes.n || !baseline)) {
		struct txn_request req = { .kind = "snapshot", .note = args->note };

		k = txn_record(ctx->journal, &req, changes.v, changes.n, &id, &ctx->err);
	}
	if (k == 0)
		report(ctx, id, baseline, &changes, changed);
	file_changes_free(changes.v, changes.n);
	managed_set_clear(&set);
	if (k == -ENOMEM)
		error_set(&ctx->err, EXIT_IO, "out of memory");
	return k < 0 ? ctx_fail(ctx) : 0;
}

static const struct option options[] = {
	{ "message", required_argument, NULL, 'm' },
	{ 0 },
};

const struct cmd cmd_snapshot = {
	.name = "snapshot",
	.synopsis = "[-m NOTE]",
	.summary = "record manual edits of the managed files as a transaction",
	.help = "Compares every managed file (/etc/default/grub, /etc/default/grub.d/*.cfg,\n"
		"/etc/kernel/cmdline, /etc/modules, /etc/modprobe.d/*.conf) with the journal's last\n"
		"known state and records the differences. The first snapshot records every file as it\n"
		"is. Nothing changed: says so and records nothing.\n\n"
		"  -m, --message NOTE  a note to keep with the transaction\n",
	.options = options,
	.shortopts = "m:",
	.max_args = 0,
	.flags = CMD_WRITES,
	.run = run,
};
