/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modules-edit.c — the /etc/modules editors: modfile_modules_add() and _remove(), pure text in,
 *  text out, on the lines modules-read.c finds. Must not: read lines another way, open files, print. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "modfile-internal.h"
#include "modules-read.h"

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
