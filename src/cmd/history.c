/* SPDX-License-Identifier: GPL-2.0-or-later */
/* history.c — `iommuctl history`: the transactions, newest first. */
#include <libsmartcols.h>
#include <stdio.h>

#include "trials.h"

static struct json_object *json_str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static int history_json(struct ctx *ctx, const struct txn_info *v, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		struct file_change *files = NULL;
		size_t nf = 0;

		if (journal_txn_files(ctx->journal, v[i].id, false, &files, &nf, &ctx->err) < 0) {
			json_object_put(o);
			json_object_put(a);
			return -EIO;
		}
		json_object_object_add(o, "id", json_object_new_int64(v[i].id));
		json_object_object_add(o, "kind", json_object_new_string(v[i].kind));
		json_object_object_add(o, "state", json_object_new_string(v[i].state));
		json_object_object_add(o, "profile", json_str_or_null(v[i].profile));
		json_object_object_add(o, "note", json_str_or_null(v[i].note));
		json_object_object_add(o, "undoes", v[i].undoes ? json_object_new_int64(v[i].undoes) : NULL);
		json_object_object_add(o, "started_at", json_object_new_string(v[i].started_at));
		json_object_object_add(o, "finished_at", *v[i].finished_at ? json_object_new_string(v[i].finished_at) : NULL);
		json_object_object_add(o, "user", json_str_or_null(v[i].user));
		json_object_object_add(o, "version", json_str_or_null(v[i].version));
		json_object_object_add(o, "files", json_txn_files(files, nf));
		if (streq(v[i].kind, "trial")) {
			struct trial_info t = { 0 };
			int k = journal_trial_get(ctx->journal, v[i].id, &t, &ctx->err);

			if (k < 0 && k != -ENOENT) {
				json_object_put(o);
				json_object_put(a);
				file_changes_free(files, nf);
				return -EIO;
			}
			json_object_object_add(o, "trial", k == 0 ? json_trial(&t) : NULL);
			trial_info_clear(&t);
		}
		json_object_array_add(a, o);
		file_changes_free(files, nf);
	}
	output_json(a);
	json_object_put(a);
	return 0;
}

static void history_table(struct ctx *ctx, const struct txn_info *v, size_t n)
{
	static const char *const columns[] = { "ID", "KIND", "STATE", "STARTED", "USER", "PROFILE", "FILES", "NOTE" };
	struct libscols_table *tb = scols_new_table();

	for (size_t i = 0; i < ARRAY_SIZE(columns); i++)
		scols_table_new_column(tb, columns[i], 0,
				       i == 0 || i == 6 ? SCOLS_FL_RIGHT : i == 7 ? SCOLS_FL_TRUNC : 0);
	for (size_t i = 0; i < n; i++) {
		struct libscols_line *ln = scols_table_new_line(tb, NULL);
		char id[24], files[16];

		snprintf(id, sizeof(id), "%lld", (long long)v[i].id);
		snprintf(files, sizeof(files), "%u", v[i].nfiles);
		scols_line_set_data(ln, 0, id);
		scols_line_set_data(ln, 1, v[i].kind);
		scols_line_set_data(ln, 2, v[i].state);
		scols_line_set_data(ln, 3, v[i].started_at);
		scols_line_set_data(ln, 4, v[i].user ? v[i].user : "-");
		scols_line_set_data(ln, 5, v[i].profile ? v[i].profile : "-");
		scols_line_set_data(ln, 6, files);
		scols_line_set_data(ln, 7, v[i].note ? v[i].note : "");
		if (streq(v[i].kind, "trial")) {
			struct trial_info t = { 0 };
			_cleanup_free_ char *sum = NULL;

			/* The trial's own state tells more than its transaction's (committed = recorded). */
			if (journal_trial_get(ctx->journal, v[i].id, &t, &ctx->err) == 0 && (sum = trial_summary(&t))) {
				scols_line_set_data(ln, 2, t.state);
				scols_line_set_data(ln, 7, sum);
			}
			trial_info_clear(&t);
		}
	}
	scols_print_table(tb);
	scols_unref_table(tb);
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	struct txn_info *v = NULL;
	size_t n = 0;
	int k = 0;

	if (!ctx->journal) {
		if (ctx->json)
			puts("[]");
		else
			printf("no transactions recorded yet; `iommuctl snapshot` records the current state\n");
		return 0;
	}
	if (journal_txn_list(ctx->journal, (unsigned)args->limit, &v, &n, &ctx->err) < 0)
		return ctx_fail(ctx);
	if (ctx->json)
		k = history_json(ctx, v, n);
	else if (n)
		history_table(ctx, v, n);
	else
		printf("no transactions recorded yet; `iommuctl snapshot` records the current state\n");
	for (size_t i = 0; i < n; i++)
		txn_info_clear(&v[i]);
	free(v);
	return k < 0 ? ctx_fail(ctx) : 0;
}

static const struct option options[] = {
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ 0 },
};

const struct cmd cmd_history = {
	.name = "history",
	.synopsis = "[--limit N]",
	.summary = "list transactions, newest first",
	.help = "Columns: ID KIND STATE STARTED USER PROFILE FILES NOTE. KIND is snapshot, apply,\n"
		"rollback, recover or trial; STATE is pending, committed, rolled-back or failed, and for\n"
		"a trial armed, passed, failed, committed or cancelled (its outcome in NOTE).\n\n"
		"  --limit N  show only the N newest transactions\n",
	.options = options,
	.max_args = 0,
	.flags = CMD_READS_JOURNAL,
	.run = run,
};
