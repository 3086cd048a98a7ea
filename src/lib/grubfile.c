/* SPDX-License-Identifier: GPL-2.0-or-later */
/* grubfile.c — edits the effective GRUB_CMDLINE_LINUX[_DEFAULT] across /etc/default/grub and grub.d.
 *  Owns: the intent split over the two variables, locating and rewriting tokens in the values
 *  grubscan.c found, rendering the new file texts, and re-reading them to verify the result.
 *  Must not: decide which statements count (grubscan.c does), open files, print.
 *  Kept whole (about 900 lines): it is one concern, intent to verified texts, and its steps share
 *  the grub_ctx runs and renderers; split, each half would only make sense beside the other. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "grubfile.h"
#include "grubscan.h"
#include "macros.h"
#include "shfrag.h"
#include "strbuf.h"

/* A literal stretch of the effective value and the piece it comes from. */
struct run {
	struct assignment *a;
	struct piece *p;
	size_t off, len;	/* in the effective value */
};

static int run_add(struct run **runs, size_t *n, size_t *cap, const struct run *r)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct run *p = realloc(*runs, ncap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*runs = p;
		*cap = ncap;
	}
	(*runs)[(*n)++] = *r;
	return 0;
}

/*
 * Lay out the effective value: assignment k's pieces in order, its
 * self-reference replaced by assignment k-1's value, back to the chain's start.
 */
static int runs_expand(const struct grub_ctx *c, struct var_state *vs, size_t k,
		       struct strbuf *value, struct run **runs, size_t *n, size_t *cap)
{
	struct assignment *a = &vs->v[k];
	int r;

	for (size_t i = 0; i < a->n_pieces; i++) {
		struct piece *p = &a->pieces[i];

		if (p->self) {
			if (k > vs->first) {
				r = runs_expand(c, vs, k - 1, value, runs, n, cap);
				if (r < 0)
					return r;
			}
			continue;
		}
		r = run_add(runs, n, cap, &(struct run) {
			.a = a, .p = p, .off = value->len, .len = p->end - p->start,
		});
		if (r >= 0)
			r = strbuf_append(value, c->files[a->file].text + p->start, p->end - p->start);
		if (r < 0)
			return r;
	}
	return 0;
}

static int runs_build(struct grub_ctx *c, int var, struct strbuf *value, struct run **ret,
		      size_t *ret_n)
{
	struct var_state *vs = &c->vars[var];
	size_t cap = 0;
	int r = 0;

	*ret = NULL;
	*ret_n = 0;
	if (vs->n > 0)
		r = runs_expand(c, vs, vs->n - 1, value, ret, ret_n, &cap);
	if (r >= 0 && !value->buf)
		r = strbuf_append(value, "", 0);
	if (r < 0) {
		free(*ret);
		*ret = NULL;
		return grub_ctx_no_memory(c);
	}
	return 0;
}

static const struct run *run_at(const struct run *runs, size_t n, size_t off, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (off >= runs[i].off && off + len <= runs[i].off + runs[i].len &&
		    (len > 0 || off < runs[i].off + runs[i].len))
			return &runs[i];
	return NULL;
}

/* Bytes a word may hold unquoted without the shell reading anything into them. */
static bool unquoted_safe(const char *s)
{
	for (; *s; s++)
		if (!grub_is_name_char(*s) && !strchr(".,:=/+@%^-", *s))
			return false;
	return true;
}

/* Check that every token the plan touches lies inside one piece, and mark what goes. */
static int plan_locate(struct grub_ctx *c, int var, const struct cmdline_plan *p,
		       const struct strbuf *value, const struct run *runs, size_t n_runs,
		       bool *del)
{
	for (size_t i = 0; i < p->n_tokens; i++) {
		const struct cmdline_token *t = &p->tokens[i];
		const struct run *run;
		size_t s, e;

		if (p->action[i] == CMDLINE_KEEP)
			continue;
		run = run_at(runs, n_runs, t->start, t->len);
		if (!run) {
			/* name the assignment where the expansion meets the rest of the token */
			const struct run *at = run_at(runs, n_runs, t->start + t->len - 1, 0);
			const struct assignment *a = at ? at->a : &c->vars[var].v[c->vars[var].n - 1];

			return cmdline_error_set(c->err, -EBADMSG, CMDLINE_UNSAFE, c->files[a->file].name,
						 a->line,
						 "'%.*s' in %s is split across a $%s expansion; edit it by hand",
						 (int)t->len, value->buf + t->start, grub_var_names[var],
						 grub_var_names[var]);
		}
		if (p->action[i] == CMDLINE_REPLACE) {
			if (run->p->quote == SH_UNQUOTED && !unquoted_safe(p->replace[i]))
				run->a->requote = true;
			continue;
		}
		cmdline_plan_drop_range(p, value->buf, value->len, i, &s, &e);
		if (s < run->off)
			s = run->off;
		if (e > run->off + run->len)
			e = run->off + run->len;
		memset(del + s, true, e - s);
	}
	return 0;
}

/* Write each run's new bytes into its piece. */
static int runs_apply(const struct grub_ctx *c, const struct cmdline_plan *p,
		      const struct run *runs, size_t n_runs, const bool *del)
{
	size_t t = 0;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < n_runs; i++) {
		const struct run *run = &runs[i];
		const char *src = c->files[run->a->file].text + run->p->start;
		struct strbuf *out = &run->p->out;

		for (size_t k = 0; r >= 0 && k < run->len; k++) {
			size_t off = run->off + k;

			while (t < p->n_tokens && p->tokens[t].start < off)
				t++;
			if (t < p->n_tokens && p->tokens[t].start == off &&
			    p->action[t] == CMDLINE_REPLACE) {
				r = strbuf_appends(out, p->replace[t]);
				k += p->tokens[t].len - 1;
				continue;
			}
			if (!del[off])
				r = strbuf_appendc(out, src[k]);
		}
		if (r >= 0 && !out->buf)
			r = strbuf_append(out, "", 0);
		if (r >= 0 && (out->len != run->len || memcmp(out->buf, src, run->len) != 0))
			run->a->changed = true;
	}
	return r;
}

static bool is_blank_byte(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r' ||
	       (unsigned char)ch == 0xA0;
}

/* The effective value after the edit of the pieces (appends not included). */
static int value_after(const struct grub_ctx *c, const struct var_state *vs, size_t k,
		       struct strbuf *out)
{
	const struct assignment *a = &vs->v[k];
	int r = 0;

	for (size_t i = 0; r >= 0 && i < a->n_pieces; i++) {
		const struct piece *p = &a->pieces[i];

		if (p->self && k > vs->first)
			r = value_after(c, vs, k - 1, out);
		else if (!p->self && p->out.buf)
			r = strbuf_append(out, p->out.buf, p->out.len);
		else if (!p->self)
			r = strbuf_append(out, c->files[a->file].text + p->start, p->end - p->start);
	}
	return r;
}

static const char *piece_bytes(const struct grub_ctx *c, const struct assignment *a,
			       const struct piece *p, size_t *ret_len)
{
	if (!p->self && p->out.buf) {
		*ret_len = p->out.len;
		return p->out.buf;
	}
	*ret_len = p->end - p->start;
	return c->files[a->file].text + p->start;
}

/* The last piece that writes anything (or $VAR): appended words follow it directly. */
static const struct piece *tail_piece(const struct grub_ctx *c, const struct assignment *a)
{
	for (size_t i = a->n_pieces; i-- > 0;) {
		size_t n;

		piece_bytes(c, a, &a->pieces[i], &n);
		if (a->pieces[i].self || n > 0)
			return &a->pieces[i];
	}
	return NULL;
}

/* New parameters go at the end of the last assignment's own text. */
static int appends_place(struct grub_ctx *c, int var, const struct cmdline_plan *p)
{
	struct var_state *vs = &c->vars[var];
	struct assignment *a = &vs->v[vs->n - 1];
	_cleanup_strbuf_ struct strbuf now = STRBUF_INIT;
	const struct piece *last = a->n_pieces ? &a->pieces[a->n_pieces - 1] : NULL;
	int r;

	r = value_after(c, vs, vs->n - 1, &now);
	/* never let a word follow $VAR directly: "$VARiommu" would be another variable;
	 * nor when the words after $VAR were all removed ("iommu $VAR iommu") */
	const struct piece *tail = tail_piece(c, a);
	bool sep = (now.len > 0 && !is_blank_byte(now.buf[now.len - 1])) || (tail && tail->self);

	for (size_t i = 0; r >= 0 && i < p->n_append; i++) {
		if (sep || i > 0)
			r = strbuf_appendc(&a->append, ' ');
		if (r >= 0)
			r = strbuf_appends(&a->append, p->append[i]);
	}
	if (r < 0)
		return grub_ctx_no_memory(c);
	if (!last || last->quote == SH_UNQUOTED)
		a->requote = true;
	a->changed = true;
	return 0;
}

/* Apply one variable's plan to the pieces of its chain of assignments. */
static int var_edit(struct grub_ctx *c, int var, const char *const *add,
		    const char *const *remove)
{
	_cleanup_strbuf_ struct strbuf value = STRBUF_INIT;
	_cleanup_free_ struct run *runs = NULL;
	_cleanup_free_ bool *del = NULL;
	struct cmdline_plan p = {0};
	size_t n_runs;
	int r;

	if (c->vars[var].n == 0)
		return 0;	/* the caller appends a new assignment */
	r = runs_build(c, var, &value, &runs, &n_runs);
	if (r < 0)
		return r;
	r = cmdline_plan_make(value.buf, value.len, add, remove, &p, c->err);
	if (r < 0)
		return r;
	del = calloc(value.len + 1, sizeof(bool));
	if (!del) {
		r = grub_ctx_no_memory(c);
		goto out;
	}
	r = plan_locate(c, var, &p, &value, runs, n_runs, del);
	if (r < 0)
		goto out;
	if (runs_apply(c, &p, runs, n_runs, del) < 0) {
		r = grub_ctx_no_memory(c);
		goto out;
	}
	if (p.n_append > 0)
		r = appends_place(c, var, &p);
out:
	cmdline_plan_release(&p);
	return r;
}

static char group_delimiter(enum sh_quote q)
{
	return q == SH_DOUBLE ? '"' : q == SH_SINGLE ? '\'' : '\0';
}


/* Write the value back with its own quoting, each quoted string as it was. */
static int value_render_kept(const struct grub_ctx *c, const struct assignment *a,
			     struct strbuf *out)
{
	char open = '\0';
	int r = 0;

	for (size_t i = 0; r >= 0 && i < a->n_pieces; i++) {
		const struct piece *p = &a->pieces[i];
		size_t n;
		const char *b = piece_bytes(c, a, p, &n);

		if (i == 0 || p->group != a->pieces[i - 1].group) {
			if (open)
				r = strbuf_appendc(out, open);
			open = group_delimiter(p->quote);
			if (r >= 0 && open)
				r = strbuf_appendc(out, open);
		}
		if (r >= 0)
			r = strbuf_append(out, b, n);
	}
	if (r >= 0 && a->append.len)
		r = strbuf_append(out, a->append.buf, a->append.len);
	if (r >= 0 && open)
		r = strbuf_appendc(out, open);
	return r;
}

/* $VAR as written, unless a name byte follows it in the new text: then ${VAR}. */
static int self_render(const struct grub_ctx *c, const struct assignment *a, size_t i, int var,
		       struct strbuf *out)
{
	const struct piece *p = &a->pieces[i];
	char next = '\0';

	for (size_t k = i + 1; k < a->n_pieces && !next; k++) {
		size_t n;
		const char *b = piece_bytes(c, a, &a->pieces[k], &n);

		if (n > 0)
			next = b[0];
	}
	if (!next && a->append.len)
		next = a->append.buf[0];
	if (grub_is_name_char(next))
		return strbuf_appendf(out, "${%s}", grub_var_names[var]);
	return strbuf_append(out, c->files[a->file].text + p->start, p->end - p->start);
}

/* Write the value back as one "…" string (an unquoted value that must now hold a blank). */
static int value_render_requoted(struct grub_ctx *c, const struct assignment *a, int var,
				 struct strbuf *out)
{
	int r = strbuf_appendc(out, '"');

	for (size_t i = 0; r >= 0 && i < a->n_pieces; i++) {
		const struct piece *p = &a->pieces[i];
		size_t n;
		const char *b = piece_bytes(c, a, p, &n);

		if (p->self) {
			r = self_render(c, a, i, var, out);
			continue;
		}
		for (size_t k = 0; k < n; k++)
			if (strchr("\"$`\\", b[k]) || (p->quote == SH_UNQUOTED && b[k] == '~'))
				return cmdline_error_set(c->err, -EBADMSG, CMDLINE_UNSAFE,
							 c->files[a->file].name, a->line,
							 "the value of %s would need double quotes, but it holds '%c'; edit it by hand",
							 grub_var_names[var], b[k]);
		r = strbuf_append(out, b, n);
	}
	if (r >= 0 && a->append.len)
		r = strbuf_append(out, a->append.buf, a->append.len);
	if (r >= 0)
		r = strbuf_appendc(out, '"');
	return r < 0 ? grub_ctx_no_memory(c) : 0;
}

struct edit_span {
	size_t start, end;
	const struct assignment *a;
	int var;
};

static int span_compare(const void *x, const void *y)
{
	const struct edit_span *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

/* Line ending of the main file, for a line the editor adds to it. */
static const char *file_eol(const struct grub_file *f)
{
	const char *nl = memchr(f->text, '\n', f->len);

	return nl && nl > f->text && nl[-1] == '\r' ? "\r\n" : "\n";
}

/* The 1-based number of the file's last line (the one a final newline ends). */
static unsigned last_line_number(const struct grub_file *f)
{
	unsigned n = f->len == 0 || f->text[f->len - 1] != '\n';

	for (const char *p = f->text, *end = f->text + f->len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		n++;
	return n;
}

/* How many backslashes end text[0..end). */
static size_t trailing_backslashes(const char *text, size_t end)
{
	size_t n = 0;

	while (n < end && text[end - 1 - n] == '\\')
		n++;
	return n;
}

static int new_assignment_add(struct grub_ctx *c, const struct grub_file *f, const struct cmdline_plan *p,
			      struct strbuf *out)
{
	const char *eol = file_eol(f);
	bool final_newline = f->len == 0 || f->text[f->len - 1] == '\n';
	size_t last = final_newline ? f->len - (f->len > 0) : f->len;
	int r = 0;

	/* A lone '\r' that ends the file is part of the last word; the newline added after
	 * it would make "\r\n", a line end (CRLF files are read as such), and change what
	 * the last line says: "a |\r" would become a pipeline open onto the new line. */
	if (!final_newline && f->text[f->len - 1] == '\r')
		return cmdline_error_set(c->err, -EBADMSG, CMDLINE_UNSAFE, f->name, last_line_number(f),
					 "the file ends in a carriage return without a newline, so a line "
					 "added after it would change this one; end the file with a newline "
					 "(or remove the carriage return), then run the command again");
	/* Likewise a backslash that ends the file (an odd run, so not itself escaped): there it
	 * is part of the last word, and with a newline after it, it joins the line added after
	 * it, or the empty line below, to this one. */
	if (!final_newline && trailing_backslashes(f->text, f->len) % 2 == 1)
		return cmdline_error_set(c->err, -EBADMSG, CMDLINE_UNSAFE, f->name, last_line_number(f),
					 "the file ends in a backslash without a newline, so a line added "
					 "after it would join this one; end the file with a newline (or remove "
					 "the backslash), then run the command again");
	if (!final_newline)
		r = strbuf_appends(out, eol);
	/* A last line ending in a backslash would continue onto the new line (sh
	 * joins backslash-newline): an empty line ends that statement first. The
	 * reader has already refused a file whose last statement the end of the file
	 * leaves open ("a |\\", "! \\", "f() \\"), which the empty line would not end. */
	if (r >= 0 && last > 0 && f->text[last - 1] == '\\')
		r = strbuf_appends(out, eol);
	if (r >= 0)
		r = strbuf_appendf(out, "%s=\"", grub_var_names[GRUB_VAR_DEFAULT]);
	for (size_t i = 0; r >= 0 && i < p->n_append; i++)
		r = strbuf_appendf(out, "%s%s", i ? " " : "", p->append[i]);
	if (r >= 0)
		r = strbuf_appendc(out, '"');
	if (r >= 0 && final_newline)
		r = strbuf_appends(out, eol);
	return r;
}

static int file_render(struct grub_ctx *c, size_t fi, const struct cmdline_plan *new_default,
		       char **ret)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	_cleanup_free_ struct edit_span *spans = NULL;
	const struct grub_file *f = &c->files[fi];
	size_t n = 0, pos = 0;
	int r = 0;

	spans = calloc(c->vars[0].n + c->vars[1].n + 1, sizeof(*spans));
	if (!spans)
		return grub_ctx_no_memory(c);
	for (int var = 0; var < GRUB_N_VARS; var++)
		for (size_t i = 0; i < c->vars[var].n; i++) {
			const struct assignment *a = &c->vars[var].v[i];

			if (a->file == fi && a->changed)
				spans[n++] = (struct edit_span) { a->value_start, a->value_end, a, var };
		}
	if (n == 0 && !new_default) {
		*ret = NULL;
		return 0;
	}
	qsort(spans, n, sizeof(*spans), span_compare);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = strbuf_append(&out, f->text + pos, spans[i].start - pos);
		if (r < 0)
			break;
		if (spans[i].a->requote)
			r = value_render_requoted(c, spans[i].a, spans[i].var, &out);
		else
			r = value_render_kept(c, spans[i].a, &out);
		pos = spans[i].end;
	}
	if (r >= 0)
		r = strbuf_append(&out, f->text + pos, f->len - pos);
	if (r >= 0 && new_default)
		r = new_assignment_add(c, f, new_default, &out);
	if (r == -EBADMSG)
		return r;
	if (r < 0)
		return grub_ctx_no_memory(c);
	*ret = strbuf_steal(&out);
	return *ret ? 0 : grub_ctx_no_memory(c);
}

void grub_texts_free(char **texts, size_t n)
{
	if (!texts)
		return;
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
}

static int effective_value(struct grub_ctx *c, int var, char **ret)
{
	_cleanup_strbuf_ struct strbuf value = STRBUF_INIT;
	_cleanup_free_ struct run *runs = NULL;
	size_t n_runs;
	int r = runs_build(c, var, &value, &runs, &n_runs);

	if (r < 0)
		return r;
	*ret = strbuf_steal(&value);
	return *ret ? 0 : grub_ctx_no_memory(c);
}

int grub_read_cmdline(const struct grub_file *files, size_t n_files, char **ret_default,
		      char **ret_linux, struct cmdline_error *err)
{
	struct grub_ctx c = { .err = err };
	_cleanup_free_ char *def = NULL, *lin = NULL;
	int r;

	if (err)
		*err = (struct cmdline_error) {0};
	r = grub_ctx_load(&c, files, n_files);
	if (r >= 0)
		r = effective_value(&c, GRUB_VAR_DEFAULT, &def);
	if (r >= 0)
		r = effective_value(&c, GRUB_VAR_LINUX, &lin);
	grub_ctx_release(&c);
	if (r < 0)
		return r;
	*ret_default = TAKE_PTR(def);
	*ret_linux = TAKE_PTR(lin);
	return 0;
}

int grub_cmdline_where(const struct grub_file *files, size_t n_files, bool linux_var, size_t offset,
		       size_t *ret_file, unsigned *ret_line, struct cmdline_error *err)
{
	struct grub_ctx c = { .err = err };
	_cleanup_strbuf_ struct strbuf value = STRBUF_INIT;
	_cleanup_free_ struct run *runs = NULL;
	const struct run *hit;
	size_t n_runs;
	int r;

	if (err)
		*err = (struct cmdline_error) {0};
	r = grub_ctx_load(&c, files, n_files);
	if (r >= 0)
		r = runs_build(&c, linux_var ? GRUB_VAR_LINUX : GRUB_VAR_DEFAULT, &value, &runs, &n_runs);
	if (r >= 0 && (hit = run_at(runs, n_runs, offset, 0))) {
		*ret_file = hit->a->file;
		*ret_line = hit->a->line;
		r = 1;
	} else if (r >= 0)
		r = 0;
	grub_ctx_release(&c);
	return r;
}

/* Stricter than the kernel: an added parameter lands in a file that sh sources. */
static int grub_param_check(const char *param, struct cmdline_error *err)
{
	int r = cmdline_param_check(param, err);

	if (r < 0)
		return r;
	for (const char *s = param; *s; s++)
		if (strchr("$`\\\"';|&<> \t", *s))
			return cmdline_error_set(err, -EINVAL, CMDLINE_BAD_PARAM, NULL, 0,
						 "kernel parameter '%s' has '%c', which the shell would interpret; it is never written into /etc/default/grub",
						 param, *s);
	/* The reader takes either variable's name anywhere in a statement for a
	 * change to it, so the edited file would not read back. */
	for (int var = 0; var < GRUB_N_VARS; var++) {
		const char *name = grub_var_names[var];
		size_t n = strlen(name);

		for (const char *hit = strstr(param, name); hit; hit = strstr(hit + 1, name))
			if ((hit == param || !grub_is_name_char(hit[-1])) && !grub_is_name_char(hit[n]))
				return cmdline_error_set(err, -EINVAL, CMDLINE_BAD_PARAM, NULL, 0,
							 "kernel parameter '%s' names %s, which would read as a change of that variable; it is never written into /etc/default/grub",
							 param, name);
	}
	return 0;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/*
 * The intent split over the two variables. grub-mkconfig (Debian 12's
 * grub-common 2.06-13+deb12u2, /etc/grub.d/10_linux) gives the normal entry
 * "${GRUB_CMDLINE_LINUX} ${GRUB_CMDLINE_LINUX_DEFAULT}" and the recovery entry
 * "${GRUB_CMDLINE_LINUX_RECOVERY} ${GRUB_CMDLINE_LINUX}", so the kernel of a
 * normal boot sees both as one line, and each added key must stand in it
 * once. An add that GRUB_CMDLINE_LINUX already holds exactly stays there (where
 * the admin put it, for the recovery entry too) and every token of its key
 * leaves GRUB_CMDLINE_LINUX_DEFAULT; any other add goes to
 * GRUB_CMDLINE_LINUX_DEFAULT and every token of its key leaves
 * GRUB_CMDLINE_LINUX. A bare key counts as the same parameter as key=value,
 * as in cmdline_plan_make(). Each array is NULL-terminated and owns its strings.
 */
struct grub_intent {
	char **def_add, **def_remove;
	char **lin_add, **lin_remove;
};

static void grub_intent_release(struct grub_intent *gi)
{
	strv_free(gi->def_add);
	strv_free(gi->def_remove);
	strv_free(gi->lin_add);
	strv_free(gi->lin_remove);
	*gi = (struct grub_intent) {0};
}

/* The token itself, or its bare key when the token is no plain parameter that
 * a removal could name (a quoted value with blanks, a control or non-ASCII
 * byte): every value of that key then goes. */
static char *linux_removal(const char *value, const struct cmdline_token *t)
{
	char *tok = strndup(value + t->start, t->len);

	if (tok && cmdline_param_check(tok, NULL) < 0) {
		free(tok);
		tok = strndup(value + t->key_start, t->key_len);
	}
	return tok;
}

static int strv_push(char **v, size_t *n, char *s)
{
	if (!s)
		return -ENOMEM;
	v[(*n)++] = s;
	return 0;
}

/* An add GRUB_CMDLINE_LINUX does not hold as it is: every token of its key leaves it. */
static int linux_drop_key(const char *lin, const struct cmdline_token *tokens, size_t n_kernel,
			  const char *add, char **lin_remove, size_t *n)
{
	size_t key_len = strcspn(add, "=");

	for (size_t i = 0; i < n_kernel; i++)
		if (cmdline_key_equal(add, key_len, lin + tokens[i].key_start, tokens[i].key_len) &&
		    strv_push(lin_remove, n, linux_removal(lin, &tokens[i])) < 0)
			return -ENOMEM;
	return 0;
}

static int intent_split(const char *lin, const char *const *add, const char *const *remove,
			struct grub_intent *ret)
{
	_cleanup_free_ struct cmdline_token *tokens = NULL;
	struct grub_intent gi = {0};
	size_t n, n_kernel, n_add = 0, n_remove = 0, da = 0, dr = 0, la = 0, lr = 0;
	int r = 0;

	while (add && add[n_add])
		n_add++;
	while (remove && remove[n_remove])
		n_remove++;
	if (cmdline_tokenize(lin, strlen(lin), &tokens, &n, &n_kernel) < 0)
		return -ENOMEM;
	gi.def_add = calloc(n_add + 1, sizeof(char *));
	gi.def_remove = calloc(n_remove + n_add + 1, sizeof(char *));
	gi.lin_add = calloc(n_add + 1, sizeof(char *));
	gi.lin_remove = calloc(n_remove + n_add * n_kernel + 1, sizeof(char *));
	if (!gi.def_add || !gi.def_remove || !gi.lin_add || !gi.lin_remove)
		r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < n_remove; i++) {
		r = strv_push(gi.def_remove, &dr, strdup(remove[i]));
		if (r >= 0)
			r = strv_push(gi.lin_remove, &lr, strdup(remove[i]));
	}
	for (size_t i = 0; r >= 0 && i < n_add; i++) {
		if (cmdline_has_exactly(lin, add[i])) {
			r = strv_push(gi.lin_add, &la, strdup(add[i]));
			if (r >= 0)
				r = strv_push(gi.def_remove, &dr, strndup(add[i], strcspn(add[i], "=")));
			continue;
		}
		r = strv_push(gi.def_add, &da, strdup(add[i]));
		if (r >= 0)
			r = linux_drop_key(lin, tokens, n_kernel, add[i], gi.lin_remove, &lr);
	}
	if (r < 0) {
		grub_intent_release(&gi);
		return r;
	}
	*ret = gi;
	return 0;
}

#define CV(v) ((const char *const *)(v))

/*
 * Before editing: parameters appended after "--" or an open quote would not
 * reach the kernel. Only asked when the edit has something to append.
 */
static int appends_refuse(struct grub_ctx *c, const char *def, const char *lin,
			  const char *const *add, const char *const *remove)
{
	const char *values[GRUB_N_VARS] = { [GRUB_VAR_DEFAULT] = def, [GRUB_VAR_LINUX] = lin };
	struct cmdline_plan p = {0};
	int r = cmdline_plan_make(def, strlen(def), add, remove, &p, c->err);
	bool appends = r >= 0 && p.n_append > 0;

	cmdline_plan_release(&p);
	if (r < 0 || !appends)
		return r;

	for (int var = 0; var < GRUB_N_VARS; var++) {
		_cleanup_free_ struct cmdline_token *t = NULL;
		size_t n, n_kernel;
		const struct var_state *vs = &c->vars[var];
		const struct assignment *a = vs->n ? &vs->v[vs->n - 1] : NULL;

		if (cmdline_tokenize(values[var], strlen(values[var]), &t, &n, &n_kernel) < 0)
			return grub_ctx_no_memory(c);
		if (n_kernel < n || (n > 0 && t[n - 1].open_quote))
			return cmdline_error_set(c->err, -EBADMSG, CMDLINE_UNSAFE,
						 a ? c->files[a->file].name : c->files[0].name,
						 a ? a->line : 0,
						 "%s has %s; parameters added after it would not reach the kernel",
						 grub_var_names[var], n_kernel < n ? "'--'" : "an open '\"'");
	}
	return 0;
}

/* The result must read back to exactly the values the edit computed, and be stable. */
static int result_verify(struct grub_ctx *c, char **texts, const struct grub_intent *gi)
{
	_cleanup_free_ struct grub_file *files = calloc(c->n_files + 1, sizeof(*files));
	_cleanup_free_ char *def = NULL, *lin = NULL;
	struct cmdline_plan p = {0};
	struct cmdline_error scratch;
	bool stable;
	int r;

	if (!files)
		return grub_ctx_no_memory(c);
	for (size_t i = 0; i < c->n_files; i++) {
		files[i] = c->files[i];
		if (texts[i]) {
			files[i].text = texts[i];
			files[i].len = strlen(texts[i]);
		}
	}
	r = grub_read_cmdline(files, c->n_files, &def, &lin, &scratch);
	if (r == -ENOMEM)
		return grub_ctx_no_memory(c);
	stable = r >= 0;
	if (stable && cmdline_plan_make(def, strlen(def), CV(gi->def_add), CV(gi->def_remove), &p, &scratch) >= 0) {
		stable = !p.changes;
		cmdline_plan_release(&p);
	}
	if (stable && cmdline_plan_make(lin, strlen(lin), CV(gi->lin_add), CV(gi->lin_remove), &p, &scratch) >= 0) {
		stable = !p.changes;
		cmdline_plan_release(&p);
	}
	if (!stable)
		return cmdline_error_set(c->err, -EBADMSG, CMDLINE_UNSTABLE, c->files[0].name, 0,
					 "the edited files would not read back as intended (%s); nothing was changed",
					 r < 0 ? scratch.message : "parameters still differ");
	return 0;
}

static int length_check(struct grub_ctx *c, const char *old_def, const char *old_lin,
			char **texts)
{
	_cleanup_free_ struct grub_file *files = calloc(c->n_files + 1, sizeof(*files));
	_cleanup_free_ char *def = NULL, *lin = NULL;
	struct cmdline_error scratch;
	size_t limit = CMDLINE_MAX - GRUB_CMDLINE_RESERVE;

	if (!files)
		return grub_ctx_no_memory(c);
	for (size_t i = 0; i < c->n_files; i++) {
		files[i] = c->files[i];
		if (texts[i]) {
			files[i].text = texts[i];
			files[i].len = strlen(texts[i]);
		}
	}
	if (grub_read_cmdline(files, c->n_files, &def, &lin, &scratch) < 0)
		return 0;	/* result_verify() reports it */
	size_t now = strlen(lin) + 1 + strlen(def), before = strlen(old_lin) + 1 + strlen(old_def);

	if (now > limit && now > before)
		return cmdline_error_set(c->err, -E2BIG, CMDLINE_TOO_LONG, c->files[0].name, 0,
					 "GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT would be %zu bytes together, more than the %zu that fit on the kernel command line beside BOOT_IMAGE= and root=",
					 now, limit);
	return 0;
}

static int texts_render(struct grub_ctx *c, const char *const *add, char ***ret)
{
	struct cmdline_plan p = {0};
	bool append_line = c->vars[GRUB_VAR_DEFAULT].n == 0 && add && add[0];
	char **texts = calloc(c->n_files + 1, sizeof(char *));
	int r = 0;

	if (!texts)
		return grub_ctx_no_memory(c);
	if (append_line)
		r = cmdline_plan_make("", 0, add, NULL, &p, c->err);
	for (size_t fi = 0; r >= 0 && fi < c->n_files; fi++)
		r = file_render(c, fi, fi == 0 && append_line ? &p : NULL, &texts[fi]);
	cmdline_plan_release(&p);
	if (r < 0) {
		grub_texts_free(texts, c->n_files);
		return r;
	}
	*ret = texts;
	return 0;
}

static int params_check(const char *const *add, const char *const *remove,
			struct cmdline_error *err)
{
	int r;

	for (size_t i = 0; add && add[i]; i++) {
		r = grub_param_check(add[i], err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; remove && remove[i]; i++) {
		r = cmdline_param_check(remove[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The intent must not contradict itself, whichever variable each part lands in. */
static int intent_check(const char *const *add, const char *const *remove, struct cmdline_error *err)
{
	struct cmdline_plan p = {0};
	int r = cmdline_plan_make("", 0, add, remove, &p, err);

	cmdline_plan_release(&p);
	return r;
}

int grub_edit_cmdline(const struct grub_file *files, size_t n_files, const char *const *add,
		      const char *const *remove, char ***ret_texts, struct cmdline_error *err)
{
	struct grub_ctx c = { .err = err };
	_cleanup_free_ char *def = NULL, *lin = NULL;
	struct grub_intent gi = {0};
	char **texts = NULL;
	int r;

	if (err)
		*err = (struct cmdline_error) {0};
	if (n_files == 0)
		return cmdline_error_set(err, -EINVAL, CMDLINE_BAD_PARAM, NULL, 0,
					 "no /etc/default/grub to edit");
	r = params_check(add, remove, err);
	if (r >= 0)
		r = intent_check(add, remove, err);
	if (r >= 0)
		r = grub_ctx_load(&c, files, n_files);
	if (r >= 0)
		r = effective_value(&c, GRUB_VAR_DEFAULT, &def);
	if (r >= 0)
		r = effective_value(&c, GRUB_VAR_LINUX, &lin);
	if (r >= 0 && intent_split(lin, add, remove, &gi) < 0)
		r = grub_ctx_no_memory(&c);
	if (r >= 0)
		r = appends_refuse(&c, def, lin, CV(gi.def_add), CV(gi.def_remove));
	if (r >= 0)
		r = var_edit(&c, GRUB_VAR_DEFAULT, CV(gi.def_add), CV(gi.def_remove));
	if (r >= 0)
		r = var_edit(&c, GRUB_VAR_LINUX, CV(gi.lin_add), CV(gi.lin_remove));
	if (r >= 0)
		r = texts_render(&c, CV(gi.def_add), &texts);
	if (r >= 0)
		r = length_check(&c, def, lin, texts);
	if (r >= 0)
		r = result_verify(&c, texts, &gi);
	grub_intent_release(&gi);
	if (r < 0 || !texts) {
		grub_texts_free(texts, n_files);
		grub_ctx_release(&c);
		return r;
	}
	grub_ctx_release(&c);
	*ret_texts = texts;
	return 0;
}
