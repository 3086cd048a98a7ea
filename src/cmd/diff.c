/* SPDX-License-Identifier: GPL-2.0-or-later */
/* diff.c — `iommuctl diff TXN`: what a transaction changed, as a unified diff per file. */
#include <stdio.h>

#include "cmd.h"
#include "diff.h"
#include "strbuf.h"

/* git's extended headers: `patch` and `git apply` both understand them, and they
 * say what a content diff cannot (a created or deleted file, a mode change). */
static int diff_one(struct strbuf *out, const struct file_change *c)
{
	const char *p = c->path + 1;	/* paths are absolute inside the root; a/ and b/ are relative */
	_cleanup_free_ char *a = NULL, *b = NULL;

	if (asprintf(&a, "a/%s", p) < 0 || asprintf(&b, "b/%s", p) < 0)
		return -ENOMEM;
	strbuf_appendf(out, "diff --git %s %s\n", a, b);
	if (!c->before.present)
		strbuf_appendf(out, "new file mode 100%03o\n", (unsigned)c->after.mode & 0777);
	else if (!c->after.present)
		strbuf_appendf(out, "deleted file mode 100%03o\n", (unsigned)c->before.mode & 0777);
	else if (c->before.mode != c->after.mode)
		strbuf_appendf(out, "old mode 100%03o\nnew mode 100%03o\n", (unsigned)c->before.mode & 0777,
			       (unsigned)c->after.mode & 0777);
	return diff_unified(out, c->before.present ? a : "/dev/null", c->before.data, c->before.len,
			    c->after.present ? b : "/dev/null", c->after.data, c->after.len);
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	struct file_change *files = NULL;
	struct txn_info t = { 0 };
	size_t n = 0;
	int k;

	k = ctx_parse_txn(ctx, args->argv[0], &t);
	if (k)
		return ctx_fail(ctx);
	k = journal_txn_files(ctx->journal, t.id, true, &files, &n, &ctx->err);
	for (size_t i = 0; k == 0 && i < n; i++)
		if (change_is_real(&files[i]))
			k = diff_one(&out, &files[i]);
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
	.synopsis = "TXN",
	.summary = "what a transaction changed, as a unified diff per file",
	.help = "Paths are relative to the root (a/etc/modules, b/etc/modules), with git's headers\n"
		"for created and deleted files and mode changes, so the output applies with\n"
		"`patch -p1` or `git apply` inside the root. Owner changes are shown by `show`.\n",
	.min_args = 1,
	.max_args = 1,
	.flags = CMD_READS_JOURNAL,
	.run = run,
};
