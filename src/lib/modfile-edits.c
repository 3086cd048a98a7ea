/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modfile-edits.c — edits: byte ranges of the old text replaced in one pass, so that every byte
 *  outside them is copied unchanged; whole lines deleted or appended the way remove(add(x)) == x
 *  needs; the editors' error report. Must not: parse a file format, open files, print. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "modfile-internal.h"
#include "strbuf.h"

int modfile_error_set(struct modfile_error *err, unsigned line, const char *fmt, ...)
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

/* ======================================================================
 * Edits: byte ranges of the old text replaced in one pass, so that every
 * byte outside them is copied unchanged.
 * ====================================================================== */

void edits_release(struct edits *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].text);
	free(e->v);
	e->v = NULL;
	e->n = e->cap = 0;
}

int edits_push(struct edits *e, size_t start, size_t end, const char *text)
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

int edits_delete(struct edits *e, size_t start, size_t end)
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
int edits_apply(const char *text, struct edits *e, char **ret_text)
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

/*
 * Delete whole lines. When the file's last line has no terminator and goes,
 * the last kept line before it gives up its terminator, so that the file still
 * ends without one (remove(add(x)) == x). kmod keeps a '\r' as line content,
 * so in modprobe.d only the '\n' goes; in /etc/modules a CRLF goes whole.
 */
int lines_delete(const char *text, const struct span *lines, size_t n, const bool *del,
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
int text_append_line(const char *text, const char *line, const char *eol, struct edits *e)
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

int result_copy(const char *text, char **ret_text)
{
	char *s = strdup(text);

	if (!s)
		return -ENOMEM;
	*ret_text = s;
	return 0;
}
