/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modprobe-edit.c — the modprobe.d editors for blacklist, options and install, pure text in, text
 *  out, on the lines modprobe-read.c reads; and the line edits all modprobe.d editors share.
 *  Must not: read lines another way than modprobe-read.c, open files, print. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "modfile-internal.h"
#include "modprobe-edit.h"
#include "modprobe-read.h"
#include "strbuf.h"
#include "strv.h"

/* Words appended to the line that ends the file inside a '\' continuation would
 * be glued to the byte kmod reads for that backslash (0xff, see mline_scan). */
int mline_check_extendable(const struct mline *l, struct modfile_error *err)
{
	if (!l->open_at_eof)
		return 0;
	return modfile_error_set(err, l->lineno,
			 "the file ends inside a '\\' line continuation; words added to this line would be "
			 "glued to the backslash");
}

/* New lines must not be swallowed by a continuation left open at EOF. */
int mfile_append_line(const struct mfile *f, const char *line, struct edits *e,
		      struct modfile_error *err)
{
	if (f->n && f->lines[f->n - 1].open_at_eof)
		return modfile_error_set(err, f->lines[f->n - 1].lineno,
				 "the file ends inside a '\\' line continuation; a line added after it "
				 "would become part of it");
	return text_append_line(f->raw, line, "\n", e);
}

int mfile_delete_lines(const struct mfile *f, const bool *del, struct edits *e)
{
	_cleanup_free_ struct span *spans = calloc(f->n + 1, sizeof(*spans));

	if (!spans)
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++)
		spans[i] = f->lines[i].span;
	return lines_delete(f->raw, spans, f->n, del, false, e);
}

/* ======================================================================
 * modprobe.d: blacklist
 * ====================================================================== */

int modfile_add_blacklist(const char *text, const char *module, char **ret_text,
			  struct modfile_error *err)
{
	_cleanup_mfile_ struct mfile f = {};
	_cleanup_edits_ struct edits e = {};
	_cleanup_free_ char *norm = NULL, *line = NULL;
	int r;

	if (!name_valid(module))
		return -EINVAL;
	norm = name_normalized(module);
	if (!norm)
		return -ENOMEM;
	r = mfile_parse(text, &f);
	if (r < 0)
		return r;
	for (size_t i = 0; i < f.n; i++) {
		struct directive d;

		directive_parse(&f.lines[i], &d);
		if (directive_is(&f.lines[i], &d, "blacklist", norm))
			return result_copy(text, ret_text);
	}
	if (asprintf(&line, "blacklist %s", module) < 0)
		return -ENOMEM;
	r = mfile_append_line(&f, line, &e, err);
	if (r < 0)
		return r;
	return edits_apply(text, &e, ret_text);
}

/* Also the CRLF spelling, which kmod reads as "M\r" and so ignores. */
static bool blacklist_line_is(const struct mline *l, const struct directive *d, const char *norm)
{
	struct word w = d->mod;

	if (!d->has_mod || !word_is(l, &d->cmd, "blacklist"))
		return false;
	if (w.b > w.a && l->text[w.b - 1] == '\r')
		w.b--;
	return names_equal_n(l->text + w.a, w.b - w.a, norm, strlen(norm));
}

int modfile_remove_blacklist(const char *text, const char *module, char **ret_text,
			     struct modfile_error *err)
{
	_cleanup_mfile_ struct mfile f = {};
	_cleanup_edits_ struct edits e = {};
	_cleanup_free_ char *norm = NULL;
	_cleanup_free_ bool *del = NULL;
	int r;

	(void)err;
	if (!name_valid(module))
		return -EINVAL;
	norm = name_normalized(module);
	r = norm ? mfile_parse(text, &f) : -ENOMEM;
	if (r < 0)
		return r;
	del = calloc(f.n + 1, sizeof(*del));
	if (!del)
		return -ENOMEM;
	for (size_t i = 0; i < f.n; i++) {
		struct directive d;

		directive_parse(&f.lines[i], &d);
		del[i] = blacklist_line_is(&f.lines[i], &d, norm);
	}
	r = mfile_delete_lines(&f, del, &e);
	if (r < 0)
		return r;
	return edits_apply(text, &e, ret_text);
}


/* One "key[=value]" of an intent. */
struct opt {
	const char *token;
	size_t key_len;
	const char *val; /* NULL for a flag */
	bool found;
};

static bool opt_value_valid(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v <= ' ' || *v == 0x7f || *v == '"' || *v == '\\')
			return false;
	return true;
}

static int opts_parse(const struct strv *words, struct opt **ret)
{
	_cleanup_free_ struct opt *o = calloc(words->n + 1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < words->n; i++) {
		const char *t = words->v[i], *eq = strchr(t, '=');

		o[i].token = t;
		o[i].key_len = eq ? (size_t)(eq - t) : strlen(t);
		o[i].val = eq ? eq + 1 : NULL;
		if (!o[i].key_len || (o[i].val && !opt_value_valid(o[i].val)))
			return -EINVAL;
		for (size_t k = 0; k < o[i].key_len; k++)
			if (!is_name_char(t[k]))
				return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (names_equal_n(t, o[i].key_len, o[j].token, o[j].key_len))
				return -EINVAL;
	}
	*ret = TAKE_PTR(o);
	return 0;
}

static bool param_matches(const char *s, const struct param *p, const struct opt *o)
{
	size_t va, vb;

	if (!p->has_val || !o->val)
		return p->has_val == !!o->val;
	param_value(s, p, &va, &vb);
	return vb - va == strlen(o->val) && memcmp(s + va, o->val, vb - va) == 0;
}

/* The parameters of an "options M" line; refused when a quote is left open. */
static int options_line_params(const struct mline *l, const struct directive *d,
			       const char *module, struct params *ret, struct modfile_error *err)
{
	int r = params_split(l->text, d->rest, l->len, ret);

	if (r < 0)
		return r;
	if (ret->unterminated) {
		params_release(ret);
		return modfile_error_set(err, l->lineno,
				 "unterminated double quote in \"options %s\": the kernel would take "
				 "the rest of the line, and every later option for %s, as one value",
				 module, module);
	}
	return 0;
}

/* The new token for an occurrence: the file's own spelling of the key
 * ("disable-vga" stays so) when it is a plain name, and the new value. */
static int param_token(const struct mline *l, const struct param *p, const struct opt *o, char **ret)
{
	const char *key = l->text + p->key_a;
	int n = (int)(p->key_b - p->key_a);

	for (int i = 0; i < n; i++)
		if (!is_name_char(key[i])) {
			key = o->token;
			n = (int)o->key_len;
			break;
		}
	if (asprintf(ret, "%.*s%s%s", n, key, o->val ? "=" : "", o->val ? o->val : "") < 0)
		return -ENOMEM;
	return 0;
}

/* Rewrite each occurrence of an intended key that has another value. */
static int options_line_update(const struct mline *l, const struct params *ps, struct opt *o,
			       size_t n_opts, struct edits *e)
{
	for (size_t i = 0; i < ps->n; i++) {
		const struct param *p = &ps->v[i];

		for (size_t k = 0; k < n_opts; k++) {
			_cleanup_free_ char *t = NULL;
			int r;

			if (!param_key_is(l->text, p, o[k].token, o[k].key_len))
				continue;
			o[k].found = true;
			if (param_matches(l->text, p, &o[k]))
				continue;
			r = param_token(l, p, &o[k], &t);
			if (r >= 0)
				r = edits_push(e, mline_raw_start(l, p->a), mline_raw_end(l, p->b), t);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Keys the file does not have yet, as " k=v k2". */
static int opts_missing(const struct opt *o, size_t n, struct strbuf *sb)
{
	for (size_t k = 0; k < n; k++) {
		int r;

		if (o[k].found)
			continue;
		r = strbuf_appendf(sb, " %s", o[k].token);
		if (r < 0)
			return r;
	}
	return 0;
}

int modfile_set_options(const char *text, const char *module, const char *options,
			char **ret_text, struct modfile_error *err)
{
	_cleanup_mfile_ struct mfile f = {};
	_cleanup_edits_ struct edits e = {};
	_cleanup_strv_ struct strv words = {};
	_cleanup_strbuf_ struct strbuf add = STRBUF_INIT;
	_cleanup_free_ struct opt *o = NULL;
	_cleanup_free_ char *norm = NULL;
	const struct mline *append_line = NULL;
	size_t append_at = 0;
	bool have_line = false;
	int r;

	if (!name_valid(module))
		return -EINVAL;
	r = words_split(options, &words);
	if (r < 0)
		return r;
	if (!words.n)
		return -EINVAL;
	r = opts_parse(&words, &o);
	if (r < 0)
		return r;
	norm = name_normalized(module);
	r = norm ? mfile_parse(text, &f) : -ENOMEM;
	if (r < 0)
		return r;
	for (size_t i = 0; i < f.n; i++) {
		const struct mline *l = &f.lines[i];
		_cleanup_params_ struct params ps = {};
		struct directive d;

		directive_parse(l, &d);
		if (!directive_is(l, &d, "options", norm) || !d.has_rest)
			continue;
		r = options_line_params(l, &d, module, &ps, err);
		if (r < 0)
			return r;
		r = options_line_update(l, &ps, o, words.n, &e);
		if (r < 0)
			return r;
		have_line = true;
		append_line = l;
		append_at = ps.n ? mline_raw_end(l, ps.v[ps.n - 1].b) : mline_raw_end(l, d.mod.b);
	}
	if (!have_line)
		r = strbuf_appendf(&add, "options %s", module);
	if (r >= 0)
		r = opts_missing(o, words.n, &add);
	if (r >= 0 && have_line && add.len)
		r = mline_check_extendable(append_line, err);
	if (r >= 0 && have_line && add.len)
		r = edits_push(&e, append_at, append_at, strbuf_str(&add));
	else if (r >= 0 && !have_line)
		r = mfile_append_line(&f, strbuf_str(&add), &e, err);
	if (r < 0)
		return r;
	return edits_apply(text, &e, ret_text);
}

/* Drop the parameters named in keys from one line; true in *gone when the
 * line is left with none. */
static int options_line_drop(const struct mline *l, const struct directive *d,
			     const struct params *ps, const struct strv *keys, struct edits *e,
			     bool *gone)
{
	size_t kept = 0;

	for (size_t i = 0; i < ps->n; i++) {
		const struct param *p = &ps->v[i];
		size_t prev_end = i ? ps->v[i - 1].b : d->mod.b;
		bool drop = false;
		int r;

		for (size_t k = 0; k < keys->n && !drop; k++)
			drop = param_key_is(l->text, p, keys->v[k], strlen(keys->v[k]));
		if (!drop) {
			kept++;
			continue;
		}
		r = edits_delete(e, mline_raw_end(l, prev_end), mline_raw_end(l, p->b));
		if (r < 0)
			return r;
	}
	*gone = ps->n && !kept;
	return 0;
}

static int keys_parse(const char *keys, struct strv *ret)
{
	int r = words_split(keys, ret);

	if (r < 0)
		return r;
	if (!ret->n)
		return -EINVAL;
	for (size_t i = 0; i < ret->n; i++)
		for (const char *c = ret->v[i]; *c; c++)
			if (!is_name_char(*c))
				return -EINVAL;
	return 0;
}

int modfile_remove_options(const char *text, const char *module, const char *keys,
			   char **ret_text, struct modfile_error *err)
{
	_cleanup_mfile_ struct mfile f = {};
	_cleanup_edits_ struct edits e = {}, line_edits = {};
	_cleanup_strv_ struct strv k = {};
	_cleanup_free_ char *norm = NULL;
	_cleanup_free_ bool *del = NULL;
	int r;

	if (!name_valid(module))
		return -EINVAL;
	if (keys && (r = keys_parse(keys, &k)) < 0)
		return r;
	norm = name_normalized(module);
	r = norm ? mfile_parse(text, &f) : -ENOMEM;
	if (r < 0)
		return r;
	del = calloc(f.n + 1, sizeof(*del));
	if (!del)
		return -ENOMEM;
	for (size_t i = 0; i < f.n; i++) {
		const struct mline *l = &f.lines[i];
		_cleanup_params_ struct params ps = {};
		struct directive d;

		directive_parse(l, &d);
		if (!directive_is(l, &d, "options", norm))
			continue;
		if (!keys || !d.has_rest) {
			del[i] = !keys;
			continue;
		}
		r = options_line_params(l, &d, module, &ps, err);
		if (r >= 0)
			r = options_line_drop(l, &d, &ps, &k, &line_edits, &del[i]);
		if (r < 0)
			return r;
	}
	/* token edits of a line that goes entirely are moot */
	for (size_t i = 0; i < line_edits.n; i++) {
		bool inside = false;

		for (size_t j = 0; j < f.n && !inside; j++)
			inside = del[j] && line_edits.v[i].start >= f.lines[j].span.start &&
				 line_edits.v[i].end <= f.lines[j].span.end;
		if (!inside && (r = edits_delete(&e, line_edits.v[i].start, line_edits.v[i].end)) < 0)
			return r;
	}
	r = mfile_delete_lines(&f, del, &e);
	if (r < 0)
		return r;
	return edits_apply(text, &e, ret_text);
}

/* ======================================================================
 * modprobe.d: install
 * ====================================================================== */

/* kmod runs the FIRST "install M" command it read (kmod_module_get_install_commands()
 * stops at the first match), so ours replaces the first one in the file and the others
 * for M go. The command is compared with kmod's view of the line: the rest after one
 * separator, continuations joined. */
int modfile_set_install(const char *text, const char *module, const char *command, char **ret_text,
			struct modfile_error *err)
{
	_cleanup_mfile_ struct mfile f = {};
	_cleanup_edits_ struct edits e = {};
	_cleanup_free_ char *norm = NULL, *line = NULL;
	_cleanup_free_ bool *del = NULL;
	bool first = true, changed = false;
	int r;

	if (!name_valid(module) || (command && (!*command || strchr(command, '\n'))))
		return -EINVAL;
	if (!(norm = name_normalized(module)))
		return -ENOMEM;
	if (command && asprintf(&line, "install %s %s", module, command) < 0)
		return -ENOMEM;
	if ((r = mfile_parse(text, &f)) < 0)
		return r;
	if (!(del = calloc(f.n + 1, sizeof(*del))))
		return -ENOMEM;
	for (size_t i = 0; i < f.n; i++) {
		const struct mline *l = &f.lines[i];
		struct directive d;

		directive_parse(l, &d);
		if (!directive_is(l, &d, "install", norm))
			continue;
		if (first && command) {
			size_t n = l->len - d.rest;

			first = false;
			if (d.has_rest && n == strlen(command) && !memcmp(l->text + d.rest, command, n))
				continue;
			/* The whole logical line, continuations too, but not its final '\n'. */
			size_t end = l->span.end;
			if (end > l->span.start && text[end - 1] == '\n')
				end--;
			if ((r = edits_push(&e, l->span.start, end, line)) < 0)
				return r;
			changed = true;
			continue;
		}
		del[i] = changed = true;
	}
	if (first && command) {
		if ((r = mfile_append_line(&f, line, &e, err)) < 0)
			return r;
		changed = true;
	}
	if (!changed)
		return result_copy(text, ret_text);
	if ((r = mfile_delete_lines(&f, del, &e)) < 0)
		return r;
	return edits_apply(text, &e, ret_text);
}
