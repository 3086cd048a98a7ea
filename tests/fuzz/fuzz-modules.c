/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-modules.c — libFuzzer target: the /etc/modules reader and editor (modfile_modules_*). */
/*
 * Input: "OP<TAB>MODULE" on the first line (OP is "+" add, "-" remove,
 * anything else both in turn), then the file (up to a NUL). Checked:
 *  - modfile_modules_has() agrees with an oracle written below from
 *    systemd-modules-load's reading (blanks and '\r' stripped, '#' and ';'
 *    comments, first word the module, '-' equal to '_');
 *  - -EINVAL exactly for a module name that is not [A-Za-z0-9_-]{1,55};
 *  - add: listed afterwards; 0 means it was listed and the text is the same;
 *    every old line kept in order, one line more at most; add again is a
 *    no-op; when it was not listed, remove(add(x)) == x byte for byte;
 *  - remove: not listed afterwards; lines not naming the module kept in
 *    order; remove again is a no-op; 0 means the text is the same.
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
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
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

/* What one line lists, the oracle's way: 1 alone, 2 with arguments, 0 not. */
static int oracle_line(const char *s, size_t len, const char *module)
{
	size_t a = 0, b = len, w;

	while (a < b && oracle_blank(s[a]))
		a++;
	while (b > a && oracle_blank(s[b - 1]))
		b--;
	if (a == b || s[a] == '#' || s[a] == ';')
		return 0;
	for (w = a; w < b && !oracle_blank(s[w]); w++)
		;
	if (!same_name(s + a, w - a, module))
		return 0;
	return w == b ? 1 : 2;
}

static int oracle_has(const char *text, const char *module)
{
	size_t len = strlen(text), pos = 0;
	int best = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		int k = oracle_line(text + pos, end - pos, module);

		if (k == 1)
			return 1;
		if (k == 2)
			best = 2;
		pos = end + 1;
	}
	return best;
}

static bool skip_module_lines(const char *line, size_t len, void *data)
{
	return oracle_line(line, len, data) != 0;
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
	FUZZ_CHECK(oracle_has(new, module) != 0, "added '%s' is not listed", module);
	FUZZ_CHECK(modfile_modules_has(new, module) == oracle_has(new, module), "has() disagrees after add");
	FUZZ_CHECK((r == 0) == (before != 0), "add returned %d, but it was %s listed", r, before ? "" : "not");
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
	int before = oracle_has(old, module), r;
	const char *lost;

	r = modfile_modules_remove(old, module, &new, &err);
	if (!module_valid(module)) {
		FUZZ_CHECK(r == -EINVAL, "remove of invalid '%s' returned %d", module, r);
		return;
	}
	FUZZ_CHECK(r == 0 || r == 1, "remove '%s' returned %d (line %u: %s)", module, r, err.line, err.reason);
	FUZZ_CHECK(oracle_has(new, module) == 0, "removed '%s' still listed", module);
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
