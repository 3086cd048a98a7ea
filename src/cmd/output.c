/* SPDX-License-Identifier: GPL-2.0-or-later */
/* output.c — shared output of the commands: errors, JSON documents, transaction arguments. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "diff.h"
#include "plan.h"
#include "strbuf.h"

void output_error_json(int exit_code, const char *text, const char *hint)
{
	struct json_object *o = json_object_new_object(), *x = json_object_new_object();
	const char *sep = hint ? NULL : strstr(text, "; ");

	json_object_object_add(x, "exit", json_object_new_int(exit_code));
	json_object_object_add(x, "message", json_object_new_string_len(text, sep ? (int)(sep - text) : (int)strlen(text)));
	json_object_object_add(x, "hint", hint ? json_object_new_string(hint) : sep ? json_object_new_string(sep + 2) : NULL);
	json_object_object_add(o, "error", x);
	output_json(o);
	json_object_put(o);
	fflush(stdout);
}

int ctx_fail(struct ctx *ctx)
{
	if (!ctx->err.exit_code)
		error_set(&ctx->err, EXIT_IO, "internal error: a failure without a message; please report it");
	fprintf(stderr, "iommuctl: %s\n", ctx->err.text);
	/* A root mounted read-only (a rescue boot, a failing disk the kernel remounted): say
	 * so plainly, with the command that fixes it. Files are written only after the journal
	 * recorded the intent and are put back on failure, so nothing was changed or lost. */
	if (ctx->err.sys_errno == EROFS) {
		_cleanup_free_ char *what = NULL;

		if (asprintf(&what, "%s is mounted read-only, so nothing was changed; remount it read-write with "
			     "`mount -o remount,rw %s` and run the command again",
			     streq(ctx->root_path, "/") ? "the root file system" : ctx->root_path, ctx->root_path) < 0)
			what = NULL;
		fprintf(stderr, "iommuctl: %s\n", what ? what : "the root is mounted read-only");
		if (ctx->json)
			output_error_json(EXIT_IO, ctx->err.text, what ? strstr(what, "; ") + 2 : NULL);
		return EXIT_IO;
	}
	if (ctx->json)
		output_error_json(ctx->err.exit_code, ctx->err.text, NULL);
	return ctx->err.exit_code;
}

int ctx_parse_txn(struct ctx *ctx, const char *arg, struct txn_info *ret)
{
	unsigned long id;
	int k;

	if (parse_uint(arg, &id) < 0 || id == 0)
		return error_set(&ctx->err, EXIT_USAGE,
				 "'%s' is not a transaction id; `iommuctl history` lists them", arg);
	if (!ctx->journal)
		return error_set(&ctx->err, EXIT_USAGE,
				 "no transaction %lu: no journal exists yet; `iommuctl snapshot` starts one", id);
	k = journal_txn_get(ctx->journal, (int64_t)id, ret, &ctx->err);
	if (k == -ENOENT)
		return error_set(&ctx->err, EXIT_USAGE,
				 "no transaction %lu in %s; `iommuctl history` lists them", id, journal_path(ctx->journal));
	return k < 0 ? ctx->err.exit_code : 0;
}

void output_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

struct json_object *json_txn_files(const struct file_change *files, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(files[i].path));
	return a;
}

void output_txn_result(int64_t txn, bool changed, const struct file_change *files, size_t n)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "txn", txn > 0 ? json_object_new_int64(txn) : NULL);
	json_object_object_add(o, "changed", json_object_new_boolean(changed));
	json_object_object_add(o, "files", json_txn_files(files, n));
	output_json(o);
	json_object_put(o);
}

void output_recovered(const struct ctx *ctx)
{
	const struct recover_result *r = &ctx->recovered;

	if (!r->pending)
		return;
	fprintf(stderr,
		"iommuctl: transaction %" PRId64 " had been interrupted; %zu file(s) put back to their state before it"
		"%s (recorded as transaction %" PRId64 ")\n",
		r->pending, r->restored,
		r->salvaged ? ", after saving hand-edited content in the journal" : "", r->recover);
}

const char *change_kind(const struct file_change *c)
{
	if (!c->before.present && c->after.present)
		return "created";
	if (c->before.present && !c->after.present)
		return "deleted";
	if (!c->before.present && !c->after.present)
		return "absent";
	if (!streq(c->before.hash, c->after.hash))
		return "modified";
	if (c->before.mode != c->after.mode || c->before.uid != c->after.uid || c->before.gid != c->after.gid)
		return "attributes";
	return "unchanged";
}

bool change_is_real(const struct file_change *c)
{
	return !file_state_equal(&c->before, &c->after);
}

void print_changes(const struct file_change *files, size_t n, const char *indent)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%-10s %s\n", indent, change_kind(&files[i]), files[i].path);
}

/* git's extended headers: `patch` and `git apply` both understand them, and they
 * say what a content diff cannot (a created or deleted file, a mode change). */
int diff_file_change(struct strbuf *out, const struct file_change *c)
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

struct json_object *json_vfio_ids(const struct vfio_ids_origin *o)
{
	struct json_object *x, *ids, *bad;

	if (!o->list)
		return NULL;
	x = json_object_new_object();
	ids = json_object_new_array();
	bad = json_object_new_array();
	for (const char *p = o->list; *p;) {
		size_t len = strcspn(p, ",");

		if (len)
			json_object_array_add(ids, json_object_new_string_len(p, (int)len));
		p += len + (p[len] == ',');
	}
	for (size_t i = 0; i < o->invalid.n; i++)
		json_object_array_add(bad, json_object_new_string(o->invalid.v[i]));
	json_object_object_add(x, "value", json_object_new_string(o->list));
	json_object_object_add(x, "ids", ids);
	json_object_object_add(x, "on_cmdline", json_object_new_boolean(o->on_cmdline));
	json_object_object_add(x, "parameter", o->key ? json_object_new_string(o->key) : NULL);
	json_object_object_add(x, "file", o->file ? json_object_new_string(o->file) : NULL);
	json_object_object_add(x, "variable", o->variable ? json_object_new_string(o->variable) : NULL);
	json_object_object_add(x, "line", o->line ? json_object_new_int((int)o->line) : NULL);
	json_object_object_add(x, "occurrences", json_object_new_int(o->on_cmdline ? (int)o->count : 1));
	json_object_object_add(x, "invalid", bad);
	return x;
}

void print_vfio_ids(const struct vfio_ids_origin *o, const char *indent)
{
	if (!o->list) {
		printf("%svfio-pci ids: none (neither the kernel command line nor modprobe.d sets ids=)\n", indent);
		return;
	}
	char where[4200];

	if (o->line)
		snprintf(where, sizeof(where), "%s:%u", o->file ? o->file : "?", o->line);
	else
		snprintf(where, sizeof(where), "%s", o->file ? o->file : "?");
	printf("%svfio-pci ids: %s\n", indent, o->list);
	if (o->on_cmdline)
		printf("%s  from the kernel command line: %s= in %s%s%s, which wins over modprobe.d%s\n", indent, o->key,
		       where, o->variable ? " " : "", o->variable ? o->variable : "",
		       o->count > 1 ? " (it is there more than once; the last one counts)" : "");
	else
		printf("%s  from %s (options vfio-pci ids=)\n", indent, where);
	for (size_t i = 0; i < o->invalid.n; i++)
		printf("%s  '%s' is not vendor:device, so it binds nothing\n", indent, o->invalid.v[i]);
}
