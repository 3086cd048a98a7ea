/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modprobe-read.c — reads one modprobe.d file exactly as libkmod 30 does.
 *  Owns: the logical-line tokenizer (getline_wrapped()), the directive words
 *  (kmod_config_parse()), options split as the kernel's next_arg() splits them, and softdep
 *  words as kmod_config_add_softdep() sees them. Must not: edit text, open files, print. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "modfile-internal.h"
#include "modprobe-read.h"
#include "strbuf.h"

/* ======================================================================
 * modprobe.d: logical lines as libkmod's getline_wrapped() builds them
 * ====================================================================== */

void mfile_release(struct mfile *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->lines[i].text);
		free(f->lines[i].map);
	}
	free(f->lines);
	f->lines = NULL;
	f->n = 0;
}

static int mline_putc(struct mline *l, struct strbuf *sb, size_t *cap, char c, size_t start,
		      size_t end)
{
	if (sb->len == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct lchar *m = realloc(l->map, ncap * sizeof(*m));

		if (!m)
			return -ENOMEM;
		l->map = m;
		*cap = ncap;
	}
	l->map[sb->len] = (struct lchar){ start, end };
	return strbuf_appendc(sb, c);
}

/*
 * One logical line from *pos. As in kmod: "\\\n" joins lines; a backslash
 * before any other byte yields that byte (so "\\\r\n" is a '\r' and an end of
 * line, not a continuation); a backslash at EOF yields the byte 0xff, since
 * kmod stores getc()'s EOF in a char.
 */
static int mline_scan(const char *raw, size_t len, size_t *pos, unsigned *lineno,
		      struct mline *l)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	size_t i = *pos, cap = 0;
	int r = 0;

	while (i < len && r >= 0) {
		if (raw[i] == '\n') {
			i++;
			(*lineno)++;
			break;
		}
		if (raw[i] != '\\') {
			r = mline_putc(l, &sb, &cap, raw[i], i, i + 1);
			i++;
		} else if (i + 1 == len) {
			r = mline_putc(l, &sb, &cap, (char)0xff, i, i + 1);
			i++;
			l->open_at_eof = true;
		} else if (raw[i + 1] == '\n') {
			i += 2;
			(*lineno)++;
			l->open_at_eof = i == len;
		} else {
			r = mline_putc(l, &sb, &cap, raw[i + 1], i, i + 2);
			i += 2;
		}
	}
	if (r < 0)
		return r;
	l->len = sb.len;
	l->text = strbuf_steal(&sb);
	if (!l->text)
		return -ENOMEM;
	*pos = i;
	return 0;
}

int mfile_parse(const char *raw, struct mfile *f)
{
	size_t len = strlen(raw), i = 0, cap = 0;
	unsigned lineno = 1;
	int r;

	*f = (struct mfile){ .raw = raw };
	while (i < len) {
		struct mline *l;

		if (f->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct mline *v = realloc(f->lines, ncap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			f->lines = v;
			cap = ncap;
		}
		l = &f->lines[f->n++];
		*l = (struct mline){ .span.start = i, .lineno = lineno };
		r = mline_scan(raw, len, &i, &lineno, l);
		if (r < 0)
			return r;
		l->span.end = i;
	}
	return 0;
}

/* Raw offsets of logical [a, b), b > a. */
size_t mline_raw_start(const struct mline *l, size_t a)
{
	return l->map[a].start;
}

size_t mline_raw_end(const struct mline *l, size_t b)
{
	return l->map[b - 1].end;
}

/* strtok_r(" \t") from logical offset from. */
bool word_next(const struct mline *l, size_t from, struct word *w)
{
	size_t i = from;

	while (i < l->len && is_kmod_sep(l->text[i]))
		i++;
	if (i >= l->len)
		return false;
	w->a = i;
	while (i < l->len && !is_kmod_sep(l->text[i]))
		i++;
	w->b = i;
	return true;
}

bool word_is(const struct mline *l, const struct word *w, const char *s)
{
	size_t n = strlen(s);

	return w->b - w->a == n && memcmp(l->text + w->a, s, n) == 0;
}

void directive_parse(const struct mline *l, struct directive *d)
{
	*d = (struct directive){};
	if (l->len == 0 || l->text[0] == '#')
		return;
	if (!word_next(l, 0, &d->cmd) || !word_next(l, d->cmd.b, &d->mod))
		return;
	d->has_mod = true;
	d->rest = d->mod.b < l->len ? d->mod.b + 1 : l->len;
	d->has_rest = d->rest < l->len;
}

/* A "cmd M" line for module_norm; names as kmod compares them after underscores(). */
bool directive_is(const struct mline *l, const struct directive *d, const char *cmd,
		  const char *module_norm)
{
	return d->has_mod && word_is(l, &d->cmd, cmd) &&
	       names_equal_n(l->text + d->mod.a, d->mod.b - d->mod.a, module_norm, strlen(module_norm));
}

char *word_dup(const struct mline *l, const struct word *w)
{
	return strndup(l->text + w->a, w->b - w->a);
}

/* ======================================================================
 * modprobe.d: options, split as the kernel's next_arg() splits them
 * ====================================================================== */

void params_release(struct params *p)
{
	free(p->v);
	*p = (struct params){};
}

/* One token from *i, as next_arg(): blanks end it only outside quotes; a
 * leading quote is not part of the name; the first '=' splits. */
static void param_scan(const char *s, size_t to, size_t *i, struct param *p, bool *open)
{
	bool in_quote = false;
	size_t k = *i;

	*p = (struct param){ .a = k, .key_a = k };
	if (s[k] == '"') {
		in_quote = true;
		p->key_a = ++k;
	}
	for (; k < to; k++) {
		if (is_c_space(s[k]) && !in_quote)
			break;
		if (!p->has_val && s[k] == '=' && k > p->key_a) {
			p->has_val = true;
			p->key_b = k;
			p->val_a = k + 1;
		}
		if (s[k] == '"')
			in_quote = !in_quote;
	}
	p->b = k;
	if (!p->has_val)
		p->key_b = k > p->key_a && p->key_a > p->a && s[k - 1] == '"' ? k - 1 : k;
	*open = in_quote;
	*i = k;
}

int params_split(const char *s, size_t from, size_t to, struct params *ret)
{
	size_t i = from;

	*ret = (struct params){};
	for (;;) {
		struct param *v;
		bool open;

		while (i < to && is_c_space(s[i]))
			i++;
		if (i >= to)
			return 0;
		v = realloc(ret->v, (ret->n + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ret->v = v;
		param_scan(s, to, &i, &v[ret->n++], &open);
		ret->unterminated = ret->unterminated || open;
	}
}

/* The value as the kernel hands it to the module: one pair of quotes gone. */
void param_value(const char *s, const struct param *p, size_t *va, size_t *vb)
{
	*va = p->val_a;
	*vb = p->b;
	if (*va < *vb && s[*va] == '"') {
		(*va)++;
		if (*vb > *va && s[*vb - 1] == '"')
			(*vb)--;
	} else if (p->key_a > p->a && *vb > *va && s[*vb - 1] == '"') {
		(*vb)--;
	}
}


bool param_key_is(const char *s, const struct param *p, const char *key, size_t key_len)
{
	return names_equal_n(s + p->key_a, p->key_b - p->key_a, key, key_len);
}

/* ======================================================================
 * modprobe.d: softdep, words as kmod_config_add_softdep() sees them
 * ====================================================================== */

void sdwords_release(struct sdwords *w)
{
	free(w->v);
	*w = (struct sdwords){};
}

static int sdwords_push(struct sdwords *w, size_t a, size_t b, enum sd_kind kind, bool glued)
{
	struct sdword *v = realloc(w->v, (w->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	w->v = v;
	v[w->n++] = (struct sdword){ a, b, kind, glued };
	return 0;
}

static enum sd_kind sd_classify(const char *w, size_t n, enum sd_kind *mode)
{
	if (n == 4 && memcmp(w, "pre:", 4) == 0)
		return *mode = SD_PRE, SD_PRE_MARK;
	if (n == 5 && memcmp(w, "post:", 5) == 0)
		return *mode = SD_POST, SD_POST_MARK;
	return *mode;
}

/*
 * kmod's word loop, quirk included: a word ends at a blank that follows a
 * non-blank, and a run of blanks moves the word start past itself — except
 * when the text begins with exactly one blank, which then stays glued to the
 * first word (" pre:" is no marker). That happens on "softdep M  pre: x",
 * with two blanks after the module name.
 */
int softdep_words(const char *r, size_t base, size_t len, struct sdwords *ret)
{
	enum sd_kind mode = SD_IGNORED;
	size_t p = 0;
	bool was_space = false;

	*ret = (struct sdwords){};
	for (size_t s = 0;; s++) {
		bool end = s >= len;
		int k;

		if (!end) {
			if (!is_c_space(r[s])) {
				was_space = false;
				continue;
			}
			if (was_space) {
				p = s + 1;
				continue;
			}
			was_space = true;
			if (p >= s)
				continue;
		}
		if (s > p && (!end || !was_space)) {
			enum sd_kind kind = sd_classify(r + p, s - p, &mode);

			k = sdwords_push(ret, base + p, base + s, kind, is_c_space(r[p]));
			if (k < 0)
				return k;
		}
		p = s + 1;
		if (end)
			return 0;
	}
}
