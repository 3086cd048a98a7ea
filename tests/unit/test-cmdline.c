/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-cmdline.c — the kernel command line tokenizer and editor, case by case (TAP). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "macros.h"
#include "tap.h"

#define V(...) ((const char *const[]) { __VA_ARGS__, NULL })
#define NONE ((const char *const *)NULL)

/* Test text in a TAP description must stay on one line: show blanks as escapes. */
static const char *esc(const char *s)
{
	static char bufs[4][512];
	static unsigned next;
	char *b = bufs[next++ % 4];
	size_t k = 0;

	for (; *s && k + 5 < sizeof(bufs[0]); s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n' || c == '\t' || c == '\r')
			k += (size_t)snprintf(b + k, 3, "\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
		else if (c < 0x20 || c >= 0x7f)
			k += (size_t)snprintf(b + k, 5, "\\x%02x", c);
		else
			b[k++] = (char)c;
	}
	b[k] = '\0';
	return b;
}

/* The i-th token's key, value or raw text, copied so is_str() can show it. */
static char tok_buf[3][256];

static const char *slice(int slot, const char *s, size_t start, size_t len)
{
	snprintf(tok_buf[slot], sizeof(tok_buf[slot]), "%.*s", (int)len, s + start);
	return tok_buf[slot];
}

static void test_tokenize_one(const char *line, size_t want_n, size_t want_kernel,
			      const char *want_key0, const char *want_val0)
{
	_cleanup_free_ struct cmdline_token *t = NULL;
	size_t n = 0, nk = 0;
	int r = cmdline_tokenize(line, strlen(line), &t, &n, &nk);

	ok(r == 0 && n == want_n && nk == want_kernel, "tokenize '%s': %zu tokens, %zu for the kernel",
	   esc(line), want_n, want_kernel);
	if (!want_key0 || n == 0)
		return;
	is_str(slice(0, line, t[0].key_start, t[0].key_len), want_key0, "  first key of '%s'", esc(line));
	if (want_val0)
		is_str(t[0].has_value ? slice(1, line, t[0].value_start, t[0].value_len) : "(none)",
		       want_val0, "  first value of '%s'", esc(line));
}

static void test_tokenize(void)
{
	_cleanup_free_ struct cmdline_token *t = NULL;
	size_t n, nk;

	test_tokenize_one("", 0, 0, NULL, NULL);
	test_tokenize_one(" \t\n ", 0, 0, NULL, NULL);
	test_tokenize_one("quiet splash", 2, 2, "quiet", "(none)");
	test_tokenize_one("  quiet\tsplash\n", 2, 2, "quiet", "(none)");
	test_tokenize_one("iommu=pt", 1, 1, "iommu", "pt");
	test_tokenize_one("dyndbg=\"file x +p\" quiet", 2, 2, "dyndbg", "file x +p");
	test_tokenize_one("\"acpi_osi=Windows 2015\" quiet", 2, 2, "acpi_osi", "Windows 2015");
	test_tokenize_one("\"quoted\"", 1, 1, "quoted", "(none)");
	test_tokenize_one("=foo", 1, 1, "=foo", "(none)");
	test_tokenize_one("=a=b", 1, 1, "=a", "b");
	test_tokenize_one("a=", 1, 1, "a", "");
	test_tokenize_one("a=\"", 1, 1, "a", "");
	test_tokenize_one("a=b=c", 1, 1, "a", "b=c");
	test_tokenize_one("quiet -- single", 3, 1, "quiet", NULL);
	test_tokenize_one("-- single", 2, 0, "--", NULL);
	test_tokenize_one("a\xa0" "b", 2, 2, "a", NULL);	/* the kernel's ctype counts 0xA0 as space */

	ok(cmdline_tokenize("x a=\"b c", 8, &t, &n, &nk) == 0 && n == 2 && t[1].open_quote &&
	   t[1].len == 6, "an open quote runs to the end of the line");
	ok(cmdline_key_equal("vfio-pci.ids", 12, "vfio_pci.ids", 12), "'-' and '_' are the same in keys");
	ok(!cmdline_key_equal("iommu", 5, "iommv", 5), "other keys differ");
}

static void test_has(void)
{
	ok(cmdline_has("quiet splash", "quiet"), "has a bare key");
	ok(cmdline_has("quiet=1 splash", "quiet"), "a bare key matches any value");
	ok(cmdline_has("iommu=pt", "iommu=pt"), "has key=value");
	ok(!cmdline_has("iommu=pt", "iommu=soft"), "another value is not there");
	ok(cmdline_has("intel-iommu=on", "intel_iommu=on"), "dash and underscore match");
	ok(cmdline_has("iommu=\"pt\"", "iommu=pt"), "quotes the kernel strips do not matter");
	ok(!cmdline_has("quiet -- iommu=pt", "iommu=pt"), "after -- is init's, not the kernel's");
	ok(cmdline_has("dyndbg=\"file x +p\"", "dyndbg=\"file x +p\""), "a quoted value with blanks");
	ok(!cmdline_has("quiet", "qu iet"), "an invalid parameter is never present");
	ok(!cmdline_has("", "quiet"), "empty line has nothing");
	ok(cmdline_has_exactly("ro intel-iommu=on", "intel_iommu=on"), "exactly: dash and underscore match");
	ok(cmdline_has_exactly("iommu=\"pt\"", "iommu=pt"), "exactly: quotes the kernel strips do not matter");
	ok(!cmdline_has_exactly("iommu=soft", "iommu"), "exactly: a bare key is not key=value");
	ok(!cmdline_has_exactly("iommu", "iommu=pt"), "exactly: key=value is not a bare key");
	ok(!cmdline_has_exactly("iommu=", "iommu"), "exactly: an empty value is a value");
	ok(cmdline_has_exactly("quiet iommu", "iommu"), "exactly: a bare key");
	ok(!cmdline_has_exactly("quiet -- iommu=pt", "iommu=pt"), "exactly: after -- is init's");
}

struct edit_case {
	const char *desc;
	const char *old;
	const char *const *add;
	const char *const *remove;
	const char *want;
};

static void test_edit_cases(void)
{
	const struct edit_case cases[] = {
		{ "append with one space", "quiet splash", V("intel_iommu=on", "iommu=pt"), NONE,
		  "quiet splash intel_iommu=on iommu=pt" },
		{ "replace key=value in place", "quiet iommu=soft splash", V("iommu=pt"), NONE,
		  "quiet iommu=pt splash" },
		{ "later duplicates of the key go", "iommu=soft quiet iommu=on", V("iommu=pt"), NONE,
		  "iommu=pt quiet" },
		{ "already there: unchanged", "quiet  intel_iommu=on\tiommu=pt", V("iommu=pt", "intel_iommu=on"),
		  NONE, "quiet  intel_iommu=on\tiommu=pt" },
		{ "exact duplicates collapse", "iommu=pt quiet iommu=pt", V("iommu=pt"), NONE, "iommu=pt quiet" },
		{ "remove by key", "quiet intel_iommu=on,igfx_off iommu=pt", NONE, V("intel_iommu"),
		  "quiet iommu=pt" },
		{ "remove by exact token only", "iommu=pt quiet", NONE, V("iommu=soft"), "iommu=pt quiet" },
		{ "remove exact token", "iommu=soft quiet", NONE, V("iommu=soft"), "quiet" },
		{ "remove keeps others' spacing", "a  b\tc", NONE, V("b"), "a\tc" },
		{ "remove first keeps leading blanks", "  quiet splash", NONE, V("quiet"), "  splash" },
		{ "remove leading run", "quiet iommu=soft intel_iommu=off net.ifnames=0", NONE,
		  V("quiet", "iommu", "intel_iommu"), "net.ifnames=0" },
		{ "remove everything", "quiet splash", NONE, V("quiet", "splash"), "" },
		{ "remove last keeps newline", "quiet splash\n", NONE, V("splash"), "quiet\n" },
		{ "add before the trailing newline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n", V("iommu=pt"),
		  NONE, "root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt\n" },
		{ "add keeps CRLF last", "quiet\r\n", V("iommu=pt"), NONE, "quiet iommu=pt\r\n" },
		{ "add to an empty line", "", V("iommu=pt"), NONE, "iommu=pt" },
		{ "add to a bare newline", "\n", V("iommu=pt"), NONE, "iommu=pt\n" },
		{ "add goes before --", "quiet -- single", V("iommu=pt"), NONE, "quiet iommu=pt -- single" },
		{ "add before a leading --", "-- single", V("iommu=pt"), NONE, "iommu=pt -- single" },
		{ "removal stops at --", "quiet -- quiet", NONE, V("quiet"), "-- quiet" },
		{ "bare add replaces key=value", "quiet=1 splash", V("quiet"), NONE, "quiet splash" },
		{ "key=value add replaces a bare key", "iommu quiet", V("iommu=pt"), NONE, "iommu=pt quiet" },
		{ "dash/underscore key replaced", "vfio-pci.ids=10de:1b80 quiet", V("vfio_pci.ids=10de:1b81"),
		  NONE, "vfio_pci.ids=10de:1b81 quiet" },
		{ "dash/underscore same value kept", "vfio-pci.ids=10de:1b80", V("vfio_pci.ids=10de:1b80"),
		  NONE, "vfio-pci.ids=10de:1b80" },
		{ "quoted value added", "quiet", V("dyndbg=\"file x +p\""), NONE, "quiet dyndbg=\"file x +p\"" },
		{ "quoted token replaced", "dyndbg=\"a b\" quiet", V("dyndbg=c"), NONE, "dyndbg=c quiet" },
		{ "remove then add same key elsewhere", "iommu=soft quiet", V("iommu=pt"), V("iommu=soft"),
		  "quiet iommu=pt" },
		{ "same add twice", "quiet", V("iommu=pt", "iommu=pt"), NONE, "quiet iommu=pt" },
		{ "open quote, removal only", "quiet a=\"b c", NONE, V("quiet"), "a=\"b c" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct edit_case *t = &cases[i];
		_cleanup_free_ char *once = NULL, *twice = NULL;
		struct cmdline_error err;
		int r = cmdline_edit(t->old, t->add, t->remove, &once, &err);

		ok(r == 0, "%s: edit succeeds (%s)", t->desc, r < 0 ? esc(err.message) : "ok");
		if (r < 0)
			continue;
		is_str(once, t->want, "%s", t->desc);
		r = cmdline_edit(once, t->add, t->remove, &twice, &err);
		ok(r == 0 && strcmp(once, twice) == 0, "%s: a second edit changes nothing", t->desc);
	}
}

struct refuse_case {
	const char *desc;
	const char *old;
	const char *const *add;
	const char *const *remove;
	int want_r;
	enum cmdline_reason want_reason;
};

static void test_edit_refusals(void)
{
	const struct refuse_case cases[] = {
		{ "empty parameter", "quiet", V(""), NONE, -EINVAL, CMDLINE_BAD_PARAM },
		{ "blank in parameter", "quiet", V("a b"), NONE, -EINVAL, CMDLINE_BAD_PARAM },
		{ "tab in parameter", "quiet", V("a\tb"), NONE, -EINVAL, CMDLINE_BAD_PARAM },
		{ "newline in parameter", "quiet", V("a\nb"), NONE, -EINVAL, CMDLINE_BAD_PARAM },
		{ "non-ASCII parameter", "quiet", V("caf\xc3\xa9"), NONE, -EINVAL, CMDLINE_BAD_PARAM },
		{ "open quote in parameter", "quiet", V("a=\"b"), NONE, -EINVAL, CMDLINE_BAD_PARAM },
		{ "no name", "quiet", V("=x"), NONE, -EINVAL, CMDLINE_BAD_PARAM },
		{ "the -- separator", "quiet", V("--"), NONE, -EINVAL, CMDLINE_BAD_PARAM },
		{ "removing --", "quiet", NONE, V("--"), -EINVAL, CMDLINE_BAD_PARAM },
		{ "add and remove same key", "quiet", V("iommu=pt"), V("iommu"), -EINVAL, CMDLINE_CONFLICT },
		{ "add and remove same token", "quiet", V("iommu=pt"), V("iommu=pt"), -EINVAL, CMDLINE_CONFLICT },
		{ "two values for one key", "quiet", V("iommu=pt", "iommu=soft"), NONE, -EINVAL,
		  CMDLINE_CONFLICT },
		{ "append after an open quote", "quiet a=\"b c", V("iommu=pt"), NONE, -EINVAL,
		  CMDLINE_UNTERMINATED },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct refuse_case *t = &cases[i];
		char *out = NULL;
		struct cmdline_error err;
		int r = cmdline_edit(t->old, t->add, t->remove, &out, &err);

		ok(r == t->want_r && err.reason == t->want_reason && !out && err.message[0] &&
		   !err.file && err.line == 0,
		   "refused: %s (%s)", t->desc, esc(err.message));
		free(out);
	}
}

/* A line of exactly len bytes made of "xN" tokens. */
static char *line_of_length(size_t len)
{
	char *s = malloc(len + 1);

	for (size_t i = 0; i < len; i++)
		s[i] = i % 8 == 7 ? ' ' : 'x';
	s[len] = '\0';
	return s;
}

static void test_limit(void)
{
	_cleanup_free_ char *near = line_of_length(CMDLINE_MAX - 9);	/* + " iommu=pt" = 2047 */
	_cleanup_free_ char *full = line_of_length(CMDLINE_MAX - 8);
	_cleanup_free_ char *over = line_of_length(2100);
	_cleanup_free_ char *nl = NULL;
	char *out = NULL;
	struct cmdline_error err;
	int r;

	r = cmdline_edit(near, V("iommu=pt"), NONE, &out, &err);
	ok(r == 0 && out && strlen(out) == CMDLINE_MAX, "a result of exactly %d bytes is accepted",
	   CMDLINE_MAX);
	free(out);
	out = NULL;

	r = cmdline_edit(full, V("iommu=pt"), NONE, &out, &err);
	ok(r == -E2BIG && err.reason == CMDLINE_TOO_LONG && !out, "one byte more is refused: %s",
	   err.message);

	nl = malloc(strlen(near) + 2);
	strcpy(nl, near);
	strcat(nl, "\n");
	r = cmdline_edit(nl, V("iommu=pt"), NONE, &out, &err);
	ok(r == 0 && strlen(out) == CMDLINE_SIZE, "the file's trailing newline does not count");
	free(out);
	out = NULL;

	r = cmdline_edit(over, NONE, V("xxxxxxx"), &out, &err);
	ok(r == 0 && strlen(out) < strlen(over), "an edit that shortens an over-long line is allowed");
	free(out);
	out = NULL;

	r = cmdline_edit(over, V("iommu=pt"), NONE, &out, &err);
	ok(r == -E2BIG, "an edit that lengthens an over-long line is refused");
}

static void test_plan(void)
{
	struct cmdline_plan p;
	struct cmdline_error err;
	const char *line = "quiet iommu=soft splash";
	int r = cmdline_plan_make(line, strlen(line), V("iommu=pt", "intel_iommu=on"), V("quiet"), &p,
				  &err);

	ok(r == 0 && p.n_tokens == 3, "plan has the three tokens");
	if (r < 0)
		return;
	ok(p.action[0] == CMDLINE_DROP && p.action[1] == CMDLINE_REPLACE && p.action[2] == CMDLINE_KEEP,
	   "drop, replace, keep");
	is_str(p.replace[1], "iommu=pt", "replacement text");
	ok(p.n_append == 1 && strcmp(p.append[0], "intel_iommu=on") == 0, "one append");
	ok(p.changes, "plan reports changes");
	cmdline_plan_release(&p);

	r = cmdline_plan_make(line, strlen(line), V("splash"), NONE, &p, &err);
	ok(r == 0 && !p.changes, "nothing to do is no change");
	cmdline_plan_release(&p);
}

int main(void)
{
	test_tokenize();
	test_has();
	test_edit_cases();
	test_edit_refusals();
	test_limit();
	test_plan();
	return tap_done();
}
