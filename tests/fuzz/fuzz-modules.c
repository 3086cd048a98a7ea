/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-modules.c — libFuzzer target: the /etc/modules reader and editor (modfile_modules_*). */
/*
 * Input: "OP<TAB>MODULE" on the first line (OP is "+" add, "-" remove,
 * anything else both in turn), then the file (up to a NUL). Checked:
 *  - modfile_modules_has() agrees with an oracle written below from
 *    systemd-modules-load 252's reading (lines end at '\n' and '\r', " \t"
 *    stripped, '#' and ';' comments, the WHOLE line one name, '-' equal to
 *    '_'; 2 when only a line with blanks names the module among its words);
 *  - modfile_modules_read() gives exactly the oracle's names, in order;
 *  - -EINVAL exactly for a module name that is not [A-Za-z0-9_-]{1,55};
 *  - add: on a line of its own afterwards; 0 means it already was and the
 *    text is the same;
 *    every old line kept in order, one line more at most; add again is a
 *    no-op; when it was not listed, remove(add(x)) == x byte for byte;
 *  - remove: no line is the module or starts a broken line with it
 *    afterwards; other lines kept in order; remove again is a no-op; 0 means
 *    the text is the same; -EBADMSG only where a lone '\r' splits a line
 *    into the module and another name.
 */
#include <errno.h>

#include "fuzz-common.h"
#include "modfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-';
}

static bool module_valid(const char *m)
{
	size_t n = strlen(m);

	if (n == 0 || n > 55)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(m[i]))
			return false;
	return true;
}

static bool oracle_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool same_name(const char *a, size_t an, const char *b)
{
	if (an != strlen(b))
		return false;
	for (size_t i = 0; i < an; i++)
		if ((a[i] == '-' ? '_' : a[i]) != (b[i] == '-' ? '_' : b[i]))
			return false;
	return true;
}

/* One systemd line [a, b) after stripping; false for an empty or comment line. */
static bool oracle_strip(const char *s, size_t len, size_t *ra, size_t *rb)
{
	size_t a = 0, b = len;

	while (a < b && oracle_blank(s[a]))
		a++;
	while (b > a && oracle_blank(s[b - 1]))
		b--;
	*ra = a, *rb = b;
	return a < b && s[a] != '#' && s[a] != ';';
}

/* What one systemd line does for the module: 1 loads it; 2 a line with blanks names it as a
 * word (3 when that word is the first: remove() takes such a line); 0 nothing. */
static int oracle_line(const char *s, size_t len, const char *module)
{
	size_t a, b, w, first = 1;

	if (!oracle_strip(s, len, &a, &b))
		return 0;
	if (same_name(s + a, b - a, module))
		return 1;
	while (a < b) {
		for (w = a; w < b && s[w] != ' ' && s[w] != '\t'; w++)
			;
		if (w > a && same_name(s + a, w - a, module))
			return first ? 3 : 2;
		first = 0;
		for (a = w; a < b && (s[a] == ' ' || s[a] == '\t'); a++)
			;
	}
	return 0;
}

/* Calls fn on every systemd line of text (split at '\n' and '\r'); stops at a nonzero return. */
static int oracle_each(const char *text, size_t len, int (*fn)(const char *s, size_t n, void *d), void *d)
{
	size_t pos = 0;

	while (pos < len) {
		size_t end = pos;
		int k;

		while (end < len && text[end] != '\n' && text[end] != '\r')
			end++;
		k = fn(text + pos, end - pos, d);
		if (k)
			return k;
		pos = end + 1;
	}
	return 0;
}

struct oracle_q {
	const char *module;
	int best, removable;
};

static int oracle_one(const char *s, size_t n, void *d)
{
	struct oracle_q *q = d;
	int k = oracle_line(s, n, q->module);

	if (k == 1 || k == 3)
		q->removable = 1;
	if (k == 1)
		q->best = 1;
	else if (k && q->best == 0)
		q->best = 2;
	return 0;
}

static int oracle_has(const char *text, const char *module)
{
	struct oracle_q q = { module, 0, 0 };

	oracle_each(text, strlen(text), oracle_one, &q);
	return q.best;
}

static bool oracle_removable(const char *text, size_t len, const char *module)
{
	struct oracle_q q = { module, 0, 0 };

	oracle_each(text, len, oracle_one, &q);
	return q.removable;
}

static bool skip_module_lines(const char *line, size_t len, void *data)
{
	return oracle_removable(line, len, data);
}

/* modfile_modules_read() against the oracle's names, in order. */
struct names_q {
	const struct modfile_modules_line *v;
	size_t n, i;
	bool bad;
};

static int names_one(const char *s, size_t n, void *d)
{
	struct names_q *q = d;
	size_t a, b;

	if (!oracle_strip(s, n, &a, &b))
		return 0;
	if (q->i >= q->n || strlen(q->v[q->i].name) != b - a || memcmp(q->v[q->i].name, s + a, b - a) != 0 ||
	    q->v[q->i].broken != (memchr(s + a, ' ', b - a) || memchr(s + a, '\t', b - a)))
		q->bad = true;
	q->i++;
	return 0;
}

static void check_read(const char *text)
{
	struct modfile_modules_line *v = NULL;
	size_t n = 0;
	struct names_q q;

	FUZZ_CHECK(modfile_modules_read(text, &v, &n) == 0, "read failed");
	q = (struct names_q){ v, n, 0, false };
	oracle_each(text, strlen(text), names_one, &q);
	FUZZ_CHECK(!q.bad && q.i == n, "read() gives %zu names, the oracle %zu (or another name)", n, q.i);
	modfile_modules_lines_free(v, n);
}

static void check_add(const char *old, const char *module)
{
	struct modfile_error err = { 0 };
	char *new = NULL, *again = NULL, *back = NULL;
	int before = oracle_has(old, module), r;
	size_t old_len = strlen(old), new_len;
	const char *lost;

	r = modfile_modules_add(old, module, &new, &err);
	if (!module_valid(module)) {
		FUZZ_CHECK(r == -EINVAL, "add of invalid '%s' returned %d", module, r);
		return;
	}
	FUZZ_CHECK(r == 0 || r == 1, "add '%s' returned %d (line %u: %s)", module, r, err.line, err.reason);
	new_len = strlen(new);
	FUZZ_CHECK(oracle_has(new, module) == 1, "added '%s' is not on a line of its own", module);
	FUZZ_CHECK(modfile_modules_has(new, module) == oracle_has(new, module), "has() disagrees after add");
	FUZZ_CHECK((r == 0) == (before == 1), "add returned %d, but has() was %d", r, before);
	if (r == 0)
		FUZZ_CHECK(strcmp(new, old) == 0, "add returned 0 and changed the text");
	lost = fuzz_lines_kept(old, old_len, new, new_len, false, NULL, NULL);
	FUZZ_CHECK(!lost, "add lost line '%.40s'", lost);
	FUZZ_CHECK(fuzz_count_byte(new, new_len, '\n') <= fuzz_count_byte(old, old_len, '\n') + 1,
		   "add made more than one line");

	r = modfile_modules_add(new, module, &again, &err);
	FUZZ_CHECK(r == 0 && strcmp(again, new) == 0, "second add changed the text (%d)", r);
	if (before == 0) {
		r = modfile_modules_remove(new, module, &back, &err);
		FUZZ_CHECK(r == 1, "remove after add returned %d", r);
		FUZZ_CHECK(strcmp(back, old) == 0, "remove(add(x)) != x");
	}
	free(back);
	free(again);
	free(new);
}

/* A copy with every "\r\n" made "\n": when the last line goes, the line before
 * gives up its whole CRLF, which line comparison must not count as a loss. */
static char *crlf_folded(const char *s)
{
	char *c = fuzz_strndup((const uint8_t *)s, strlen(s)), *w = c;

	for (const char *r = s; *r; r++)
		if (!(r[0] == '\r' && r[1] == '\n'))
			*w++ = *r;
	*w = '\0';
	return c;
}

static void check_remove(const char *old, const char *module)
{
	struct modfile_error err = { 0 };
	char *new = NULL, *again = NULL;
	int before = oracle_removable(old, strlen(old), module), r;
	const char *lost;

	r = modfile_modules_remove(old, module, &new, &err);
	if (!module_valid(module)) {
		FUZZ_CHECK(r == -EINVAL, "remove of invalid '%s' returned %d", module, r);
		return;
	}
	if (r == -EBADMSG) {
		FUZZ_CHECK(strchr(old, '\r') != NULL, "remove refused a file without a carriage return");
		return;
	}
	FUZZ_CHECK(r == 0 || r == 1, "remove '%s' returned %d (line %u: %s)", module, r, err.line, err.reason);
	FUZZ_CHECK(!oracle_removable(new, strlen(new), module), "removed '%s' still listed", module);
	FUZZ_CHECK((r == 1) == (before != 0), "remove returned %d, but it was %s listed", r, before ? "" : "not");
	if (r == 0)
		FUZZ_CHECK(strcmp(new, old) == 0, "remove returned 0 and changed the text");
	{
		char *o = crlf_folded(old), *n = crlf_folded(new);

		lost = fuzz_lines_kept(o, strlen(o), n, strlen(n), false, skip_module_lines, (void *)module);
		FUZZ_CHECK(!lost, "remove lost line '%.40s'", lost);
		free(o);
		free(n);
	}
	FUZZ_CHECK(strlen(new) <= strlen(old), "remove made the text longer");

	r = modfile_modules_remove(new, module, &again, &err);
	FUZZ_CHECK(r == 0 && strcmp(again, new) == 0, "second remove changed the text (%d)", r);
	free(again);
	free(new);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *body;
	size_t body_len;
	char *header, *text, *module, *op;

	fuzz_split_header(data, size, &header, &body, &body_len);
	text = fuzz_strndup(body, body_len);
	module = strchr(header, '\t');
	module = module ? (*module = '\0', module + 1) : header + strlen(header);
	op = header;

	check_read(text);
	if (module_valid(module))
		FUZZ_CHECK(modfile_modules_has(text, module) == oracle_has(text, module),
			   "has('%s') is %d, the oracle says %d", module, modfile_modules_has(text, module),
			   oracle_has(text, module));
	if (strcmp(op, "-") != 0)
		check_add(text, module);
	if (strcmp(op, "+") != 0)
		check_remove(text, module);

	free(text);
	free(header);
	return 0;
}
