/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modfile.c — pure editors and a kmod-faithful reader for /etc/modules and /etc/modprobe.d. */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "modfile.h"
#include "strbuf.h"
#include "strv.h"

#define MODULE_NAME_MAX 55 /* the kernel's MODULE_NAME_LEN, less its NUL */

/* ======================================================================
 * Small helpers
 * ====================================================================== */

/* The C locale's isspace(), which kmod's softdep parser and the kernel's
 * argument parser use; spelled out so that a caller's setlocale() cannot
 * change what we see. */
static bool is_c_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* kmod splits directive words with strtok(" \t"): nothing else separates. */
static bool is_kmod_sep(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static bool name_valid(const char *s)
{
	size_t n;

	if (!s || !*s)
		return false;
	for (n = 0; s[n]; n++)
		if (!is_name_char(s[n]))
			return false;
	return n <= MODULE_NAME_MAX;
}

static char dash_fold(char c)
{
	return c == '-' ? '_' : c;
}

/* Module and parameter names: '-' and '_' are the same to kmod and the kernel. */
static bool names_equal_n(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (dash_fold(a[i]) != dash_fold(b[i]))
			return false;
	return true;
}

static bool names_equal(const char *a, const char *b)
{
	return names_equal_n(a, strlen(a), b, strlen(b));
}

/* kmod's underscores(): '-' becomes '_', except inside a [...] glob range. */
static void name_underscore(char *s)
{
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '[') {
			i += strcspn(s + i, "]");
			if (!s[i])
				return;
		} else if (s[i] == '-') {
			s[i] = '_';
		}
	}
}

static char *name_normalized(const char *module)
{
	char *s = strdup(module);

	if (s)
		for (char *p = s; *p; p++)
			*p = dash_fold(*p);
	return s;
}

static int error_set(struct modfile_error *err, unsigned line, const char *fmt, ...) _printf_(3, 4);
static int error_set(struct modfile_error *err, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->line = line;
		va_start(ap, fmt);
		vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* A list of words from an intent ("a b c"), each checked by the caller. */
static int words_split(const char *s, struct strv *ret)
{
	while (s && *s) {
		size_t n;
		int r;

		s += strspn(s, " ");
		n = strcspn(s, " ");
		if (!n)
			break;
		r = strv_add_n(ret, s, n);
		if (r < 0)
			return r;
		s += n;
	}
	return 0;
}

/* Module lists in an intent: valid names, none twice. */
static int names_split(const char *s, struct strv *ret)
{
	int r = words_split(s, ret);

	if (r < 0)
		return r;
	for (size_t i = 0; i < ret->n; i++) {
		if (!name_valid(ret->v[i]))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (names_equal(ret->v[i], ret->v[j]))
				return -EINVAL;
	}
	return 0;
}

static bool strv_has_name(const struct strv *s, const char *p, size_t n)
{
	for (size_t i = 0; i < s->n; i++)
		if (names_equal_n(s->v[i], strlen(s->v[i]), p, n))
			return true;
	return false;
}

/* ======================================================================
 * Edits: byte ranges of the old text replaced in one pass, so that every
 * byte outside them is copied unchanged.
 * ====================================================================== */

struct edit {
	size_t start, end, seq;
	char *text;
};

struct edits {
	struct edit *v;
	size_t n, cap;
};

static void edits_release(struct edits *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].text);
	free(e->v);
	e->v = NULL;
	e->n = e->cap = 0;
}

static inline void edits_releasep(struct edits *e)
{
	edits_release(e);
}
#define _cleanup_edits_ _cleanup_(edits_releasep)

static int edits_push(struct edits *e, size_t start, size_t end, const char *text)
{
	char *t;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;
		struct edit *v = realloc(e->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		e->v = v;
		e->cap = cap;
	}
	t = strdup(text);
	if (!t)
		return -ENOMEM;
	e->v[e->n] = (struct edit){ .start = start, .end = end, .seq = e->n, .text = t };
	e->n++;
	return 0;
}

static int edits_delete(struct edits *e, size_t start, size_t end)
{
	return edits_push(e, start, end, "");
}

static int edit_cmp(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Returns 1 when the result differs from text, 0 when it does not. */
static int edits_apply(const char *text, struct edits *e, char **ret_text)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	size_t pos = 0, len = strlen(text);
	int r, changed;

	if (e->n)
		qsort(e->v, e->n, sizeof(*e->v), edit_cmp);
	for (size_t i = 0; i < e->n; i++) {
		const struct edit *ed = &e->v[i];

		if (ed->start > pos) {
			r = strbuf_append(&out, text + pos, ed->start - pos);
			if (r < 0)
				return r;
			pos = ed->start;
		}
		r = strbuf_appends(&out, ed->text);
		if (r < 0)
			return r;
		if (ed->end > pos)
			pos = ed->end;
	}
	r = strbuf_append(&out, text + pos, len - pos);
	if (r < 0)
		return r;
	changed = out.len != len || memcmp(strbuf_str(&out), text, len) != 0;
	*ret_text = strbuf_steal(&out);
	if (!*ret_text)
		return -ENOMEM;
	return changed;
}

/* A line's raw bytes, its terminator included. */
struct span {
	size_t start, end;
};

/*
 * Delete whole lines. When the file's last line has no terminator and goes,
 * the last kept line before it gives up its terminator, so that the file still
 * ends without one (remove(add(x)) == x). kmod keeps a '\r' as line content,
 * so in modprobe.d only the '\n' goes; in /etc/modules a CRLF goes whole.
 */
static int lines_delete(const char *text, const struct span *lines, size_t n, const bool *del,
			bool crlf_is_eol, struct edits *e)
{
	size_t len = strlen(text);
	int r;

	for (size_t i = 0; i < n; i++) {
		if (!del[i])
			continue;
		r = edits_delete(e, lines[i].start, lines[i].end);
		if (r < 0)
			return r;
	}
	if (!n || !del[n - 1] || !len || text[len - 1] == '\n')
		return 0;
	for (size_t k = n - 1; k-- > 0;) {
		size_t t;

		if (del[k])
			continue;
		t = lines[k].end - 1;
		if (crlf_is_eol && t > lines[k].start && text[t - 1] == '\r')
			t--;
		return edits_delete(e, t, lines[k].end);
	}
	return 0;
}

/* Append one line: after the final newline, or — when the file lacks one —
 * after a new terminator, the new line then lacking one in turn. */
static int text_append_line(const char *text, const char *line, const char *eol, struct edits *e)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	size_t len = strlen(text);
	bool open = len && text[len - 1] != '\n';
	int r;

	r = strbuf_appendf(&sb, "%s%s%s", open ? eol : "", line, open ? "" : eol);
	if (r < 0)
		return r;
	return edits_push(e, len, len, strbuf_str(&sb));
}

static int result_copy(const char *text, char **ret_text)
{
	char *s = strdup(text);

	if (!s)
		return -ENOMEM;
	*ret_text = s;
	return 0;
}

/* ======================================================================
 * /etc/modules
 * ====================================================================== */

/*
 * How systemd-modules-load reads a file (systemd 252, Debian 12 and Proxmox VE 8; Debian links
 * /etc/modules-load.d/modules.conf to ../modules, so this is how /etc/modules is read):
 *   - src/modules-load/modules-load.c, apply_file(): read_line(), then strstrip(); an empty
 *     line or one whose first byte is in COMMENTS ("#;", src/basic/def.h) is skipped; every
 *     other line goes whole to module_load_and_warn() as ONE name;
 *   - src/basic/fileio.c, read_line_full(): '\n', '\r' and '\0' end a line ("\r\n" and
 *     "\n\r" are one ending);
 *   - src/basic/string-util.c, strstrip(): strips WHITESPACE, " \t\n\r", at both ends;
 *   - src/shared/module-util.c, module_load_and_warn(): kmod_module_new_from_lookup() on the
 *     name; nothing found → "Failed to find module '%s'" and -ENOENT, which apply_file()
 *     ignores, so the unit still succeeds.
 * Measured with Debian 12's /lib/systemd/systemd-modules-load on a file holding
 * "vfio_pci ids=10de:1b80,10de:10f0": "Failed to find module 'vfio_pci ids=10de:1b80,10de:10f0'",
 * exit status 0.
 */
static bool is_sd_whitespace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_sd_eol(char c)
{
	return c == '\n' || c == '\r';
}

/* One line systemd acts on: [start, end) of the stripped text, and its '\n'-counted line. */
struct sdline {
	size_t start, end;
	unsigned lineno;
};

/* Calls fn for every line systemd-modules-load would look up, in file order. */
static int sdlines_each(const char *text, int (*fn)(const char *text, const struct sdline *l, void *data),
			void *data)
{
	unsigned lineno = 1;
	size_t i = 0, len = strlen(text);

	while (i < len) {
		size_t a = i, b, next;
		unsigned at = lineno;
		int r;

		while (i < len && !is_sd_eol(text[i]))
			i++;
		b = i;
		next = i;
		/* the line ends here; '\n' counts as a line for the messages, a lone '\r' does not */
		if (next < len) {
			lineno += text[next] == '\n';
			next++;
		}
		i = next;
		while (a < b && is_sd_whitespace(text[a]))
			a++;
		while (b > a && is_sd_whitespace(text[b - 1]))
			b--;
		if (a == b || text[a] == '#' || text[a] == ';')
			continue;
		r = fn(text, &(struct sdline){ a, b, at }, data);
		if (r != 0)
			return r;
	}
	return 0;
}

static bool sdline_broken(const char *text, const struct sdline *l)
{
	for (size_t i = l->start; i < l->end; i++)
		if (text[i] == ' ' || text[i] == '\t')
			return true;
	return false;
}

/* Whether word w of the line (split at blanks) is the module. */
static bool sdline_word_is(const char *text, const struct sdline *l, size_t w, const char *module)
{
	size_t i = l->start, n = 0;

	while (i < l->end) {
		size_t a = i;

		while (i < l->end && text[i] != ' ' && text[i] != '\t')
			i++;
		if (i > a && (w == SIZE_MAX || n == w) && names_equal_n(text + a, i - a, module, strlen(module)))
			return true;
		n += i > a;
		while (i < l->end && (text[i] == ' ' || text[i] == '\t'))
			i++;
	}
	return false;
}

struct has_state {
	const char *module;
	int found;
};

static int has_one(const char *text, const struct sdline *l, void *data)
{
	struct has_state *h = data;

	if (names_equal_n(text + l->start, l->end - l->start, h->module, strlen(h->module))) {
		h->found = 1;
		return 1;
	}
	if (sdline_broken(text, l) && sdline_word_is(text, l, SIZE_MAX, h->module))
		h->found = 2;
	return 0;
}

int modfile_modules_has(const char *text, const char *module)
{
	struct has_state h = { module, 0 };

	if (!name_valid(module))
		return -EINVAL;
	sdlines_each(text, has_one, &h);
	return h.found;
}

struct read_state {
	struct modfile_modules_line *v;
	size_t n;
};

static int read_one(const char *text, const struct sdline *l, void *data)
{
	struct read_state *st = data;
	struct modfile_modules_line *nv = realloc(st->v, (st->n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	st->v = nv;
	nv[st->n] = (struct modfile_modules_line){ .line = l->lineno, .broken = sdline_broken(text, l),
						   .name = strndup(text + l->start, l->end - l->start) };
	if (!nv[st->n].name)
		return -ENOMEM;
	st->n++;
	return 0;
}

int modfile_modules_read(const char *text, struct modfile_modules_line **ret, size_t *ret_n)
{
	struct read_state st = { 0 };
	int r = sdlines_each(text, read_one, &st);

	if (r < 0) {
		modfile_modules_lines_free(st.v, st.n);
		return r;
	}
	*ret = st.v;
	*ret_n = st.n;
	return 0;
}

void modfile_modules_lines_free(struct modfile_modules_line *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* The file's own line ending, so that a CRLF file stays CRLF. */
static const char *modules_eol(const char *text)
{
	const char *nl = strchr(text, '\n');

	return nl && nl > text && nl[-1] == '\r' ? "\r\n" : "\n";
}

int modfile_modules_add(const char *text, const char *module, char **ret_text,
			struct modfile_error *err)
{
	_cleanup_edits_ struct edits e = {};
	size_t len = strlen(text);
	int r;

	(void)err; /* every line can be read: a name, a comment or nothing */
	r = modfile_modules_has(text, module);
	if (r < 0)
		return r;
	/* Only a line of exactly the module loads it; one that names it among other words
	 * (r == 2) loads nothing, so the module gets a line of its own. */
	if (r == 1)
		return result_copy(text, ret_text);
	/* A last line ending in a stray '\r' and then a '\n' would end in CRLF, which
	 * remove() takes away whole: terminate it with a CRLF of its own, so that
	 * remove(add(x)) == x. */
	r = text_append_line(text, module, len && text[len - 1] == '\r' ? "\r\n" : modules_eol(text), &e);
	if (r < 0)
		return r;
	return edits_apply(text, &e, ret_text);
}

/* A physical ('\n') line remove() deletes: one whose only systemd line is the module, or a
 * broken line whose first word is (the admin's line for that module). */
struct remove_state {
	const char *module;
	unsigned hits, others;
};

static int remove_probe(const char *text, const struct sdline *l, void *data)
{
	struct remove_state *st = data;

	if (names_equal_n(text + l->start, l->end - l->start, st->module, strlen(st->module)) ||
	    (sdline_broken(text, l) && sdline_word_is(text, l, 0, st->module)))
		st->hits++;
	else
		st->others++;
	return 0;
}

int modfile_modules_remove(const char *text, const char *module, char **ret_text,
			   struct modfile_error *err)
{
	_cleanup_free_ struct span *spans = NULL;
	_cleanup_free_ bool *del = NULL;
	_cleanup_edits_ struct edits e = {};
	size_t n = 0, cap = 0, i = 0, len = strlen(text);
	int r;

	if (!name_valid(module))
		return -EINVAL;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) + 1 : len;
		_cleanup_free_ char *one = strndup(text + i, end - i);
		struct remove_state st = { module, 0, 0 };

		if (!one)
			return -ENOMEM;
		if (n == cap) {
			struct span *ns = realloc(spans, (cap = cap * 2 + 16) * sizeof(*ns));
			bool *nd = ns ? realloc(del, cap * sizeof(*nd)) : NULL;

			if (ns)
				spans = ns;
			if (!nd)
				return -ENOMEM;
			del = nd;
		}
		sdlines_each(one, remove_probe, &st);
		/* A lone '\r' inside the line makes it two lines for systemd: deleting the whole
		 * line would take the other one too. */
		if (st.hits && st.others) {
			if (err) {
				err->line = (unsigned)n + 1;
				snprintf(err->reason, sizeof(err->reason), "a carriage return splits this line in two "
					 "for systemd-modules-load, and only one of them names %s", module);
			}
			return -EBADMSG;
		}
		spans[n] = (struct span){ i, end };
		del[n++] = st.hits > 0;
		i = end;
	}
	r = lines_delete(text, spans, n, del, true, &e);
	if (r < 0)
		return r;
	return edits_apply(text, &e, ret_text);
}

/* ======================================================================
 * modprobe.d: logical lines as libkmod's getline_wrapped() builds them
 * ====================================================================== */

/* The raw bytes that produced one logical character ("\x" is two). */
struct lchar {
	size_t start, end;
};

struct mline {
	struct span span;
	unsigned lineno;   /* first physical line, 1-based */
	char *text;        /* logical text */
	struct lchar *map; /* one per logical character */
	size_t len;
	bool open_at_eof;  /* ends in a continuation at EOF: text appended would join it */
};

struct mfile {
	const char *raw;
	struct mline *lines;
	size_t n;
};

static void mfile_release(struct mfile *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->lines[i].text);
		free(f->lines[i].map);
	}
	free(f->lines);
	f->lines = NULL;
	f->n = 0;
}

static inline void mfile_releasep(struct mfile *f)
{
	mfile_release(f);
}
#define _cleanup_mfile_ _cleanup_(mfile_releasep)

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

static int mfile_parse(const char *raw, struct mfile *f)
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
static size_t mline_raw_start(const struct mline *l, size_t a)
{
	return l->map[a].start;
}

static size_t mline_raw_end(const struct mline *l, size_t b)
{
	return l->map[b - 1].end;
}

/* Logical [a, b) of a line. */
struct word {
	size_t a, b;
};

/* strtok_r(" \t") from logical offset from. */
static bool word_next(const struct mline *l, size_t from, struct word *w)
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

static bool word_is(const struct mline *l, const struct word *w, const char *s)
{
	size_t n = strlen(s);

	return w->b - w->a == n && memcmp(l->text + w->a, s, n) == 0;
}

/* "cmd module rest..." as kmod_config_parse() splits it. */
struct directive {
	struct word cmd, mod;
	bool has_mod;
	size_t rest;   /* strtok_r(NULL, "\0"): after the ONE separator following mod */
	bool has_rest; /* kmod rejects options/install/remove/softdep without it */
};

static void directive_parse(const struct mline *l, struct directive *d)
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
static bool directive_is(const struct mline *l, const struct directive *d, const char *cmd,
			 const char *module_norm)
{
	return d->has_mod && word_is(l, &d->cmd, cmd) &&
	       names_equal_n(l->text + d->mod.a, d->mod.b - d->mod.a, module_norm, strlen(module_norm));
}

static char *word_dup(const struct mline *l, const struct word *w)
{
	return strndup(l->text + w->a, w->b - w->a);
}

/* Words appended to the line that ends the file inside a '\' continuation would
 * be glued to the byte kmod reads for that backslash (0xff, see mline_scan). */
static int mline_check_extendable(const struct mline *l, struct modfile_error *err)
{
	if (!l->open_at_eof)
		return 0;
	return error_set(err, l->lineno,
			 "the file ends inside a '\\' line continuation; words added to this line would be "
			 "glued to the backslash");
}

/* New lines must not be swallowed by a continuation left open at EOF. */
static int mfile_append_line(const struct mfile *f, const char *line, struct edits *e,
			     struct modfile_error *err)
{
	if (f->n && f->lines[f->n - 1].open_at_eof)
		return error_set(err, f->lines[f->n - 1].lineno,
				 "the file ends inside a '\\' line continuation; a line added after it "
				 "would become part of it");
	return text_append_line(f->raw, line, "\n", e);
}

static int mfile_delete_lines(const struct mfile *f, const bool *del, struct edits *e)
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

/* ======================================================================
 * modprobe.d: options, split as the kernel's next_arg() splits them
 * ====================================================================== */

struct param {
	size_t a, b;         /* the whole token */
	size_t key_a, key_b; /* the name */
	size_t val_a;        /* after '=' when has_val */
	bool has_val;
};

struct params {
	struct param *v;
	size_t n;
	bool unterminated; /* a double quote left open: the rest is one value */
};

static void params_release(struct params *p)
{
	free(p->v);
	*p = (struct params){};
}

static inline void params_releasep(struct params *p)
{
	params_release(p);
}
#define _cleanup_params_ _cleanup_(params_releasep)

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

static int params_split(const char *s, size_t from, size_t to, struct params *ret)
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
static void param_value(const char *s, const struct param *p, size_t *va, size_t *vb)
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

static bool param_key_is(const char *s, const struct param *p, const char *key, size_t key_len)
{
	return names_equal_n(s + p->key_a, p->key_b - p->key_a, key, key_len);
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
		return error_set(err, l->lineno,
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

/* ======================================================================
 * modprobe.d: softdep, words as kmod_config_add_softdep() sees them
 * ====================================================================== */

enum sd_kind { SD_IGNORED, SD_PRE_MARK, SD_POST_MARK, SD_PRE, SD_POST };

struct sdword {
	size_t a, b; /* logical; a glued word starts with the blank kmod kept */
	enum sd_kind kind;
	bool glued;
};

struct sdwords {
	struct sdword *v;
	size_t n;
};

static void sdwords_release(struct sdwords *w)
{
	free(w->v);
	*w = (struct sdwords){};
}

static inline void sdwords_releasep(struct sdwords *w)
{
	sdwords_release(w);
}
#define _cleanup_sdwords_ _cleanup_(sdwords_releasep)

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
static int softdep_words(const char *r, size_t base, size_t len, struct sdwords *ret)
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

static int softdep_line_words(const struct mline *l, const struct directive *d, struct sdwords *ret,
			      struct modfile_error *err)
{
	int r = softdep_words(l->text + d->rest, d->rest, l->len - d->rest, ret);

	if (r < 0)
		return r;
	for (size_t i = 0; i < ret->n; i++) {
		const struct sdword *w = &ret->v[i];
		const char *t = l->text + w->a + 1;
		size_t n = w->b - w->a - 1;

		if (w->glued && ((n == 4 && !memcmp(t, "pre:", 4)) || (n == 5 && !memcmp(t, "post:", 5)))) {
			sdwords_release(ret);
			return error_set(err, l->lineno,
					 "kmod does not see this \"%.*s\": with two blanks after the module "
					 "name it keeps one as part of the word; use one blank",
					 (int)n, t);
		}
	}
	return 0;
}

/* The first "softdep PATTERN" line (with deps) whose pattern matches the
 * module, in *ret (NULL when none). */
static int softdep_first_line(const struct mfile *f, const char *norm, const struct mline **ret,
			      struct directive *ret_d)
{
	*ret = NULL;
	for (size_t i = 0; i < f->n; i++) {
		const struct mline *l = &f->lines[i];
		_cleanup_free_ char *pat = NULL;

		directive_parse(l, ret_d);
		if (!ret_d->has_rest || !word_is(l, &ret_d->cmd, "softdep"))
			continue;
		pat = word_dup(l, &ret_d->mod);
		if (!pat)
			return -ENOMEM;
		name_underscore(pat);
		if (fnmatch(pat, norm, 0) == 0) {
			*ret = l;
			return 0;
		}
	}
	return 0;
}

/* Plan of a softdep line edit: which words go, where new deps go. */
struct sdplan {
	const struct mline *l;
	const struct directive *d;
	struct sdwords w;
	bool *drop;
};

static size_t sdplan_prev_end(const struct sdplan *s, size_t i)
{
	return mline_raw_end(s->l, i ? s->w.v[i - 1].b : s->d->mod.b);
}

static bool sdword_dep_in(const struct sdplan *s, size_t i, enum sd_kind kind, const struct strv *names)
{
	const struct sdword *w = &s->w.v[i];

	return w->kind == kind && strv_has_name(names, s->l->text + w->a, w->b - w->a);
}

/* Markers whose deps all went (and that get none) go too; keep is a marker
 * index that receives new deps, or SIZE_MAX. */
static void sdplan_drop_empty_markers(struct sdplan *s, size_t keep)
{
	for (size_t i = 0; i < s->w.n; i++) {
		size_t had = 0, left = 0;

		if (s->w.v[i].kind != SD_PRE_MARK && s->w.v[i].kind != SD_POST_MARK)
			continue;
		for (size_t j = i + 1; j < s->w.n; j++) {
			enum sd_kind k = s->w.v[j].kind;

			if (k == SD_PRE_MARK || k == SD_POST_MARK)
				break;
			had++;
			left += !s->drop[j];
		}
		if (had && !left && i != keep)
			s->drop[i] = true;
	}
}

static size_t sdplan_deps_left(const struct sdplan *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->w.n; i++)
		n += (s->w.v[i].kind == SD_PRE || s->w.v[i].kind == SD_POST) && !s->drop[i];
	return n;
}

static int sdplan_push_drops(const struct sdplan *s, struct edits *e)
{
	for (size_t i = 0; i < s->w.n; i++) {
		int r;

		if (!s->drop[i])
			continue;
		r = edits_delete(e, sdplan_prev_end(s, i), mline_raw_end(s->l, s->w.v[i].b));
		if (r < 0)
			return r;
	}
	return 0;
}

/* The marker of the last section of that kind, or SIZE_MAX; *ret_last is
 * the last word in that section (the marker itself when it has none). */
static size_t sdplan_last_section(const struct sdplan *s, enum sd_kind mark, size_t *ret_last)
{
	size_t m = SIZE_MAX;
	enum sd_kind dep = mark == SD_PRE_MARK ? SD_PRE : SD_POST;

	for (size_t i = 0; i < s->w.n; i++) {
		if (s->w.v[i].kind == mark)
			m = i;
		if (s->w.v[i].kind == mark || s->w.v[i].kind == dep)
			*ret_last = i;
	}
	return m;
}

static int sdplan_init(struct sdplan *s, const struct mline *l, const struct directive *d,
		       struct modfile_error *err)
{
	int r;

	s->l = l;
	s->d = d;
	r = softdep_line_words(l, d, &s->w, err);
	if (r < 0)
		return r;
	s->drop = calloc(s->w.n + 1, sizeof(*s->drop));
	return s->drop ? 0 : -ENOMEM;
}

static void sdplan_release(struct sdplan *s)
{
	sdwords_release(&s->w);
	free(s->drop);
	s->drop = NULL;
}

static inline void sdplan_releasep(struct sdplan *s)
{
	sdplan_release(s);
}
#define _cleanup_sdplan_ _cleanup_(sdplan_releasep)

/* Deps of want not yet on their side, as " a b"; those on the other side drop. */
static int sdplan_merge_side(struct sdplan *s, const struct strv *want, enum sd_kind side,
			     struct strbuf *missing)
{
	enum sd_kind other = side == SD_PRE ? SD_POST : SD_PRE;

	for (size_t k = 0; k < want->n; k++) {
		const char *dep = want->v[k];
		struct strv one = { .v = (char *[]){ (char *)dep, NULL }, .n = 1 };
		bool present = false;
		int r;

		for (size_t i = 0; i < s->w.n; i++) {
			present = present || sdword_dep_in(s, i, side, &one);
			if (sdword_dep_in(s, i, other, &one))
				s->drop[i] = true;
		}
		if (present)
			continue;
		r = strbuf_appendf(missing, " %s", dep);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Where the new deps of one side go: after the last word of its last section,
 * or as a new section after the line's last word. */
static int sdplan_insert_side(const struct sdplan *s, enum sd_kind mark, const char *missing,
			      size_t mark_idx, size_t last, struct edits *e)
{
	_cleanup_free_ char *t = NULL;
	size_t at;

	if (!*missing)
		return 0;
	if (mark_idx != SIZE_MAX)
		return edits_push(e, mline_raw_end(s->l, s->w.v[last].b),
				  mline_raw_end(s->l, s->w.v[last].b), missing);
	at = sdplan_prev_end(s, s->w.n);
	if (asprintf(&t, " %s%s", mark == SD_PRE_MARK ? "pre:" : "post:", missing) < 0)
		return -ENOMEM;
	return edits_push(e, at, at, t);
}

static int softdep_merge(const struct mline *l, const struct directive *d, const struct strv *pre,
			 const struct strv *post, struct edits *e, struct modfile_error *err)
{
	_cleanup_sdplan_ struct sdplan s = {};
	_cleanup_strbuf_ struct strbuf add_pre = STRBUF_INIT, add_post = STRBUF_INIT;
	size_t last_pre = 0, last_post = 0, m_pre, m_post;
	int r;

	r = sdplan_init(&s, l, d, err);
	if (r >= 0)
		r = sdplan_merge_side(&s, pre, SD_PRE, &add_pre);
	if (r >= 0)
		r = sdplan_merge_side(&s, post, SD_POST, &add_post);
	if (r < 0)
		return r;
	if (add_pre.len || add_post.len) {
		r = mline_check_extendable(l, err);
		if (r < 0)
			return r;
	}
	m_pre = sdplan_last_section(&s, SD_PRE_MARK, &last_pre);
	m_post = sdplan_last_section(&s, SD_POST_MARK, &last_post);
	sdplan_drop_empty_markers(&s, add_pre.len ? m_pre : add_post.len ? m_post : SIZE_MAX);
	if (add_pre.len && add_post.len && m_post != SIZE_MAX && s.drop[m_post])
		s.drop[m_post] = false; /* both sides receive deps: keep both markers */
	r = sdplan_push_drops(&s, e);
	/* Deps for an existing section first: a new section goes at the end of
	 * the line, which may be the same byte as the other section's end. */
	for (int new_section = 0; new_section < 2 && r >= 0; new_section++) {
		if (r >= 0 && (m_pre == SIZE_MAX) == new_section)
			r = sdplan_insert_side(&s, SD_PRE_MARK, strbuf_str(&add_pre), m_pre, last_pre, e);
		if (r >= 0 && (m_post == SIZE_MAX) == new_section)
			r = sdplan_insert_side(&s, SD_POST_MARK, strbuf_str(&add_post), m_post, last_post, e);
	}
	return r;
}

static int softdep_new_line(const char *module, const struct strv *pre, const struct strv *post,
			    struct strbuf *sb)
{
	int r = strbuf_appendf(sb, "softdep %s", module);

	for (size_t side = 0; side < 2 && r >= 0; side++) {
		const struct strv *v = side ? post : pre;

		if (v->n)
			r = strbuf_appends(sb, side ? " post:" : " pre:");
		for (size_t i = 0; i < v->n && r >= 0; i++)
			r = strbuf_appendf(sb, " %s", v->v[i]);
	}
	return r;
}

static int softdep_intent(const char *module, const char *pre, const char *post, struct strv *p,
			  struct strv *q)
{
	int r;

	if (!name_valid(module))
		return -EINVAL;
	r = names_split(pre, p);
	if (r >= 0)
		r = names_split(post, q);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n; i++)
		if (strv_has_name(q, p->v[i], strlen(p->v[i])))
			return -EINVAL;
	return 0;
}

int modfile_add_softdep(const char *text, const char *module, const char *pre, const char *post,
			char **ret_text, struct modfile_error *err)
{
	_cleanup_mfile_ struct mfile f = {};
	_cleanup_edits_ struct edits e = {};
	_cleanup_strv_ struct strv p = {}, q = {};
	_cleanup_strbuf_ struct strbuf line = STRBUF_INIT;
	_cleanup_free_ char *norm = NULL;
	const struct mline *l = NULL;
	struct directive d;
	int r;

	r = softdep_intent(module, pre, post, &p, &q);
	if (r < 0)
		return r;
	if (!p.n && !q.n)
		return -EINVAL;
	norm = name_normalized(module);
	r = norm ? mfile_parse(text, &f) : -ENOMEM;
	if (r >= 0)
		r = softdep_first_line(&f, norm, &l, &d);
	if (r < 0)
		return r;
	if (l && !names_equal_n(l->text + d.mod.a, d.mod.b - d.mod.a, norm, strlen(norm)))
		return error_set(err, l->lineno,
				 "\"softdep %.*s\" matches %s first, and kmod reads only the first "
				 "matching softdep: a line for %s would be ignored",
				 (int)(d.mod.b - d.mod.a), l->text + d.mod.a, module, module);
	if (l)
		r = softdep_merge(l, &d, &p, &q, &e, err);
	else {
		r = softdep_new_line(module, &p, &q, &line);
		if (r >= 0)
			r = mfile_append_line(&f, strbuf_str(&line), &e, err);
	}
	if (r < 0)
		return r;
	return edits_apply(text, &e, ret_text);
}

/* Drop the listed deps from one "softdep M" line; *gone when none is left. */
static int softdep_line_drop(const struct mline *l, const struct directive *d, const struct strv *p,
			     const struct strv *q, struct edits *e, bool *gone,
			     struct modfile_error *err)
{
	_cleanup_sdplan_ struct sdplan s = {};
	bool any = false;
	int r;

	r = sdplan_init(&s, l, d, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s.w.n; i++) {
		s.drop[i] = sdword_dep_in(&s, i, SD_PRE, p) || sdword_dep_in(&s, i, SD_POST, q);
		any = any || s.drop[i];
	}
	if (!any)
		return 0;
	sdplan_drop_empty_markers(&s, SIZE_MAX);
	*gone = sdplan_deps_left(&s) == 0;
	return *gone ? 0 : sdplan_push_drops(&s, e);
}

int modfile_remove_softdep(const char *text, const char *module, const char *pre, const char *post,
			   char **ret_text, struct modfile_error *err)
{
	_cleanup_mfile_ struct mfile f = {};
	_cleanup_edits_ struct edits e = {};
	_cleanup_strv_ struct strv p = {}, q = {};
	_cleanup_free_ char *norm = NULL;
	_cleanup_free_ bool *del = NULL;
	bool all = !pre && !post;
	int r;

	r = softdep_intent(module, pre, post, &p, &q);
	if (r < 0)
		return r;
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
		if (!directive_is(&f.lines[i], &d, "softdep", norm))
			continue;
		if (all)
			del[i] = true;
		else if (d.has_rest &&
			 (r = softdep_line_drop(&f.lines[i], &d, &p, &q, &e, &del[i], err)) < 0)
			return r;
	}
	r = mfile_delete_lines(&f, del, &e);
	if (r < 0)
		return r;
	return edits_apply(text, &e, ret_text);
}

/* ======================================================================
 * The set of files plus the kernel command line, as libkmod reads them
 * ====================================================================== */

static void entry_release(struct modfile_entry *en)
{
	free(en->name);
	free(en->value);
	for (size_t i = 0; i < en->n_pre; i++)
		free(en->pre[i]);
	for (size_t i = 0; i < en->n_post; i++)
		free(en->post[i]);
	free(en->pre);
	free(en->post);
}

void modfile_config_free(struct modfile_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_entries; i++)
		entry_release(&c->entries[i]);
	for (size_t i = 0; i < c->n_names; i++)
		free(c->names[i]);
	free(c->entries);
	free(c->names);
	free(c);
}

/* A new entry; name and value are taken over (freed on failure too). */
static int config_push(struct modfile_config *c, enum modfile_kind kind, char *name, char *value,
		       const char *source, unsigned line, struct modfile_entry **ret)
{
	struct modfile_entry *v;

	if (!name)
		return free(value), -ENOMEM;
	v = realloc(c->entries, (c->n_entries + 1) * sizeof(*v));
	if (!v)
		return free(name), free(value), -ENOMEM;
	c->entries = v;
	v[c->n_entries] = (struct modfile_entry){
		.kind = kind, .name = name, .value = value, .source = source, .line = line,
	};
	if (ret)
		*ret = &v[c->n_entries];
	c->n_entries++;
	return 0;
}

static char *dup_underscored(const char *s, size_t n)
{
	char *t = strndup(s, n);

	if (t)
		name_underscore(t);
	return t;
}

static int strings_push(char ***v, size_t *n, const char *s, size_t len)
{
	char **t = realloc(*v, (*n + 2) * sizeof(*t));

	if (!t)
		return -ENOMEM;
	*v = t;
	t[*n] = strndup(s, len);
	if (!t[*n])
		return -ENOMEM;
	t[++*n] = NULL;
	return 0;
}

/* "pre: a b post: c", the way a person reads kmod's lists. */
static int softdep_value(const struct modfile_entry *en, char **ret)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	int r = 0;

	for (size_t i = 0; i < en->n_pre && r >= 0; i++)
		r = strbuf_appendf(&sb, "%s%s", i ? " " : "pre: ", en->pre[i]);
	for (size_t i = 0; i < en->n_post && r >= 0; i++)
		r = strbuf_appendf(&sb, "%s%s", i ? " " : en->n_pre ? " post: " : "post: ", en->post[i]);
	if (r < 0)
		return r;
	*ret = strbuf_steal(&sb);
	return *ret ? 0 : -ENOMEM;
}

static int config_add_softdep(struct modfile_config *c, const struct mline *l,
			      const struct directive *d, const char *source)
{
	_cleanup_sdwords_ struct sdwords w = {};
	struct modfile_entry *en;
	int r;

	r = softdep_words(l->text + d->rest, d->rest, l->len - d->rest, &w);
	if (r < 0)
		return r;
	r = config_push(c, MODFILE_SOFTDEP, dup_underscored(l->text + d->mod.a, d->mod.b - d->mod.a),
			NULL, source, l->lineno, &en);
	for (size_t i = 0; i < w.n && r >= 0; i++) {
		const char *t = l->text + w.v[i].a;
		size_t n = w.v[i].b - w.v[i].a;

		if (w.v[i].kind == SD_PRE)
			r = strings_push(&en->pre, &en->n_pre, t, n);
		else if (w.v[i].kind == SD_POST)
			r = strings_push(&en->post, &en->n_post, t, n);
	}
	return r < 0 ? r : softdep_value(en, &en->value);
}

/* options/install/remove/softdep: the rest of the line is the value. */
static int config_add_rest(struct modfile_config *c, const struct mline *l,
			   const struct directive *d, enum modfile_kind kind, const char *source)
{
	char *value, *name;

	if (!d->has_rest)
		return 0; /* kmod: "ignoring bad line" */
	if (kind == MODFILE_SOFTDEP)
		return config_add_softdep(c, l, d, source);
	value = strndup(l->text + d->rest, l->len - d->rest);
	if (value && kind == MODFILE_OPTIONS)
		for (char *p = value; *p; p++)
			if (*p == '\t')
				*p = ' ';
	name = dup_underscored(l->text + d->mod.a, d->mod.b - d->mod.a);
	if (!value)
		return free(name), -ENOMEM;
	return config_push(c, kind, name, value, source, l->lineno, NULL);
}

static int config_add_line(struct modfile_config *c, const struct mline *l, const char *source)
{
	static const struct {
		const char *cmd;
		enum modfile_kind kind;
	} rest_kinds[] = {
		{ "options", MODFILE_OPTIONS }, { "install", MODFILE_INSTALL },
		{ "remove", MODFILE_REMOVE },   { "softdep", MODFILE_SOFTDEP },
	};
	struct directive d;
	struct word target;

	directive_parse(l, &d);
	if (!d.has_mod)
		return 0;
	if (word_is(l, &d.cmd, "blacklist"))
		return config_push(c, MODFILE_BLACKLIST, dup_underscored(l->text + d.mod.a, d.mod.b - d.mod.a),
				   NULL, source, l->lineno, NULL);
	if (word_is(l, &d.cmd, "alias")) {
		if (!word_next(l, d.mod.b, &target))
			return 0;
		return config_push(c, MODFILE_ALIAS, dup_underscored(l->text + d.mod.a, d.mod.b - d.mod.a),
				   dup_underscored(l->text + target.a, target.b - target.a), source,
				   l->lineno, NULL);
	}
	for (size_t i = 0; i < ARRAY_SIZE(rest_kinds); i++)
		if (word_is(l, &d.cmd, rest_kinds[i].cmd))
			return config_add_rest(c, l, &d, rest_kinds[i].kind, source);
	return 0; /* include/config (deprecated), unknown words: kmod ignores them */
}

static int config_add_file(struct modfile_config *c, const struct modfile_source *src)
{
	_cleanup_mfile_ struct mfile f = {};
	char **names;
	int r;

	names = realloc(c->names, (c->n_names + 1) * sizeof(*names));
	if (!names)
		return -ENOMEM;
	c->names = names;
	names[c->n_names] = strdup(src->name ? src->name : "");
	if (!names[c->n_names])
		return -ENOMEM;
	c->n_names++;
	r = mfile_parse(src->text ? src->text : "", &f);
	for (size_t i = 0; i < f.n && r >= 0; i++)
		r = config_add_line(c, &f.lines[i], names[c->n_names - 1]);
	return r;
}

/* kcmdline_parse_result(): modprobe.blacklist=a,b (names kept verbatim), or
 * options for MODULE (underscored) with "param[=value]". */
static int cmdline_result(struct modfile_config *c, const char *modname, const char *param,
			  const char *value)
{
	if (strcmp(modname, "modprobe") == 0 && strncmp(param, "blacklist=", 10) == 0) {
		for (const char *t = value ? value : param + 10;;) {
			size_t n = strcspn(t, ",");
			int r = config_push(c, MODFILE_BLACKLIST, strndup(t, n), NULL,
					    MODFILE_SOURCE_CMDLINE, 0, NULL);

			if (r < 0 || !t[n])
				return r;
			t += n + 1;
		}
	}
	return config_push(c, MODFILE_OPTIONS, dup_underscored(modname, strlen(modname)),
			   strdup(param), MODFILE_SOURCE_CMDLINE, 0, NULL);
}

enum kstate { KS_IGNORE, KS_MODNAME, KS_PARAM, KS_VALUE, KS_COMPLETE };

struct kparse {
	char *modname, *param, *value, *quote_start;
	bool quoted;
	enum kstate st;
};

static void kparse_quote(struct kparse *k, char *p)
{
	k->quoted = !k->quoted;
	/* a quote may open a word (grub writes "mod.p=a b" for mod.p="a b");
	 * anywhere but in a value it spoils the word */
	if (k->quoted && k->st == KS_MODNAME && p == k->modname) {
		k->quote_start = p;
		k->modname = p + 1;
	} else if (k->st != KS_VALUE) {
		k->st = KS_IGNORE;
	}
}

static void kparse_blank(struct kparse *k, char *p)
{
	if (k->quoted && k->st == KS_VALUE)
		return; /* a blank inside a quoted value */
	if (k->quoted) {
		k->st = KS_IGNORE;
	} else if (k->st == KS_VALUE || k->st == KS_PARAM) {
		*p = '\0';
		k->st = KS_COMPLETE;
	} else {
		k->modname = p + 1;
		k->st = KS_MODNAME;
		k->quote_start = NULL;
	}
}

static void kparse_char(struct kparse *k, char *p)
{
	if (*p == '"')
		kparse_quote(k, p);
	else if (*p == '\0' || is_c_space(*p))
		kparse_blank(k, p);
	else if (*p == '.' && k->st == KS_MODNAME) {
		*p = '\0';
		k->param = p + 1;
		k->st = KS_PARAM;
	} else if (*p == '.' && k->st == KS_PARAM)
		k->st = KS_IGNORE;
	else if (*p == '=' && k->st == KS_PARAM) {
		k->value = p + 1;
		k->st = KS_VALUE;
	} else if (*p == '=' && k->st == KS_MODNAME)
		k->st = KS_IGNORE;
}

/* kmod 30's kmod_config_parse_kcmdline(), reading a string, not /proc. */
static int config_add_cmdline(struct modfile_config *c, const char *cmdline)
{
	_cleanup_free_ char *buf = strdup(cmdline);
	struct kparse k = { .st = KS_MODNAME };
	int r;

	if (!buf)
		return -ENOMEM;
	k.modname = buf;
	for (char *p = buf;; p++) {
		bool last = *p == '\0';

		kparse_char(&k, p);
		if (k.st == KS_COMPLETE) {
			if (k.quote_start && k.quote_start < k.modname && k.value) {
				/* re-quote "m.p=a b" as m.p="a b", as kmod does */
				memmove(k.quote_start, k.modname, (size_t)(k.value - k.modname));
				k.value--;
				k.modname--;
				k.param--;
				*k.value = '"';
			}
			r = cmdline_result(c, k.modname, k.param, k.value);
			if (r < 0)
				return r;
			k = (struct kparse){ .modname = p + 1, .st = KS_MODNAME, .quoted = k.quoted };
		}
		if (last)
			return 0;
	}
}

int modfile_config_parse(const struct modfile_source *files, size_t n_files, const char *cmdline,
			 struct modfile_config **ret)
{
	_cleanup_modfile_config_ struct modfile_config *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < n_files; i++) {
		r = config_add_file(c, &files[i]);
		if (r < 0)
			return r;
	}
	if (cmdline) {
		r = config_add_cmdline(c, cmdline);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(c);
	return 0;
}

const struct modfile_entry *modfile_config_find_blacklist(const struct modfile_config *c,
							 const char *module)
{
	_cleanup_free_ char *norm = name_normalized(module);

	for (size_t i = 0; norm && i < c->n_entries; i++)
		if (c->entries[i].kind == MODFILE_BLACKLIST && strcmp(c->entries[i].name, norm) == 0)
			return &c->entries[i];
	return NULL;
}

const struct modfile_entry *modfile_config_find_softdep(const struct modfile_config *c,
						       const char *module)
{
	_cleanup_free_ char *norm = name_normalized(module);

	for (size_t i = 0; norm && i < c->n_entries; i++)
		if (c->entries[i].kind == MODFILE_SOFTDEP && fnmatch(c->entries[i].name, norm, 0) == 0)
			return &c->entries[i];
	return NULL;
}

/* Where each joined options value starts, to say which entry set a parameter. */
struct seg {
	const struct modfile_entry *en;
	size_t off;
};

struct segs {
	struct seg *v;
	size_t n;
};

static int segs_push(struct segs *s, const struct modfile_entry *en, size_t off)
{
	struct seg *v = realloc(s->v, (s->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	s->v = v;
	v[s->n++] = (struct seg){ en, off };
	return 0;
}

/* kmod_module_get_options(): every non-empty options value for the module,
 * joined by one space, in order (files, then the command line). */
static int options_join(const struct modfile_config *c, const char *module, struct strbuf *sb,
			struct segs *segs)
{
	_cleanup_free_ char *norm = name_normalized(module);

	if (!norm)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_entries; i++) {
		const struct modfile_entry *en = &c->entries[i];
		int r;

		if (en->kind != MODFILE_OPTIONS || strcmp(en->name, norm) != 0 || !*en->value)
			continue;
		if (segs->n && (r = strbuf_appendc(sb, ' ')) < 0)
			return r;
		if ((r = segs_push(segs, en, sb->len)) < 0 || (r = strbuf_appends(sb, en->value)) < 0)
			return r;
	}
	return 0;
}

int modfile_config_get_options(const struct modfile_config *c, const char *module,
			       char **ret_options)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	_cleanup_free_ struct seg *keep = NULL;
	struct segs segs = {};
	int r;

	r = options_join(c, module, &sb, &segs);
	keep = segs.v;
	if (r < 0)
		return r;
	if (!segs.n) {
		*ret_options = NULL;
		return 0;
	}
	*ret_options = strbuf_steal(&sb);
	return *ret_options ? 1 : -ENOMEM;
}

int modfile_config_get_param(const struct modfile_config *c, const char *module, const char *key,
			     char **ret_value, const struct modfile_entry **ret_entry)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	_cleanup_free_ struct seg *keep = NULL;
	_cleanup_params_ struct params ps = {};
	struct segs segs = {};
	const struct param *last = NULL;
	size_t va, vb, s = 0;
	int r;

	r = options_join(c, module, &sb, &segs);
	keep = segs.v;
	if (r >= 0)
		r = params_split(strbuf_str(&sb), 0, sb.len, &ps);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ps.n; i++)
		if (param_key_is(strbuf_str(&sb), &ps.v[i], key, strlen(key)))
			last = &ps.v[i];
	if (!last)
		return 0;
	while (s + 1 < segs.n && segs.v[s + 1].off <= last->a)
		s++;
	if (ret_entry)
		*ret_entry = segs.v[s].en;
	if (!last->has_val) {
		*ret_value = NULL;
		return 1;
	}
	param_value(strbuf_str(&sb), last, &va, &vb);
	*ret_value = strndup(strbuf_str(&sb) + va, vb - va);
	return *ret_value ? 1 : -ENOMEM;
}

int modfile_config_dump(const struct modfile_config *c, char **ret_text)
{
	static const char *const kinds[] = {
		[MODFILE_BLACKLIST] = "blacklist", [MODFILE_INSTALL] = "install",
		[MODFILE_REMOVE] = "remove",       [MODFILE_ALIAS] = "alias",
		[MODFILE_OPTIONS] = "options",     [MODFILE_SOFTDEP] = "softdep",
	};
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		for (size_t i = 0; i < c->n_entries; i++) {
			const struct modfile_entry *en = &c->entries[i];
			int r;

			if (en->kind != k)
				continue;
			r = strbuf_appendf(&sb, "%s %s%s%s\n", kinds[k], en->name, en->value ? " " : "",
					   en->value ? en->value : "");
			if (r < 0)
				return r;
		}
	}
	*ret_text = strbuf_steal(&sb);
	return *ret_text ? 0 : -ENOMEM;
}
