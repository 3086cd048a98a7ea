/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-diff.c — diff_unified against GNU `diff -u` output, a patch applier, and an LCS oracle. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "strbuf.h"
#include "tap.h"

/* The files in the GNU cases: lines "1\n" .. "n\n". */
static char *seq_lines(int n)
{
	struct strbuf sb = STRBUF_INIT;

	for (int i = 1; i <= n; i++)
		if (strbuf_appendf(&sb, "%d\n", i) < 0)
			abort();
	return strbuf_steal(&sb);
}

/* Print text as TAP comment lines, so a multi-line diff cannot confuse the harness. */
static void diag_text(const char *what, const char *text)
{
	const char *nl;

	printf("#   %s:\n", what);
	for (; *text; text = nl ? nl + 1 : text + strlen(text)) {
		nl = strchr(text, '\n');
		printf("#   |%.*s\n", nl ? (int)(nl - text) : (int)strlen(text), text);
	}
}

/* Not tap.h's is_str(): it expands ok(_c, ...) inside its own _c, so ok() reads its own
 * uninitialized _c (and -Wshadow rejects it). */
static void expect_str(const char *got, const char *want, const char *name)
{
	bool same = strcmp(got, want) == 0;

	ok(same, "%s: same as GNU diff -u", name);
	if (!same) {
		diag_text("got", got);
		diag_text("want", want);
	}
}

/* Every expected text below was produced by `diff -u --label a/x --label b/x old new`
 * (GNU diffutils 3.8) on inputs whose minimal diff is unique. */
static void check(const char *name, const char *old, const char *new, const char *want)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	int r;

	r = diff_unified(&out, "a/x", old, strlen(old), "b/x", new, strlen(new));
	ok(r == 0, "%s: returns 0", name);
	expect_str(strbuf_str(&out), want, name);
}

static void test_equal(void)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;

	ok(diff_unified(&out, "a/x", "a\nb", 3, "b/x", "a\nb", 3) == 0 && out.len == 0,
	   "equal: appends nothing");
	ok(diff_unified(&out, "a/x", NULL, 0, "b/x", "", 0) == 0 && out.len == 0,
	   "both empty (one NULL): appends nothing");
	strbuf_appends(&out, "kept\n");
	ok(diff_unified(&out, "a/x", "q\n", 2, "b/x", "q\n", 2) == 0 && out.len == 5,
	   "equal: leaves existing contents alone");
	ok(diff_unified(&out, "a/x", "q\n", 2, "b/x", "r\n", 2) == 0 &&
	   strncmp(strbuf_str(&out), "kept\n--- a/x\n", 13) == 0, "appends after existing contents");
}

static void test_gnu_seq(void)
{
	_cleanup_free_ char *ten = seq_lines(10), *thirty = seq_lines(30);

	check("insert", ten, "1\n2\n3\n4\n5\nX\n6\n7\n8\n9\n10\n",
	      "--- a/x\n+++ b/x\n@@ -3,6 +3,7 @@\n 3\n 4\n 5\n+X\n 6\n 7\n 8\n");
	check("delete", ten, "1\n2\n3\n4\n6\n7\n8\n9\n10\n",
	      "--- a/x\n+++ b/x\n@@ -2,7 +2,6 @@\n 2\n 3\n 4\n-5\n 6\n 7\n 8\n");
	check("change at start", ten, "X\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
	      "--- a/x\n+++ b/x\n@@ -1,4 +1,4 @@\n-1\n+X\n 2\n 3\n 4\n");
	check("change in middle", ten, "1\n2\n3\n4\nX\n6\n7\n8\n9\n10\n",
	      "--- a/x\n+++ b/x\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+X\n 6\n 7\n 8\n");
	check("change at end", ten, "1\n2\n3\n4\n5\n6\n7\n8\n9\nX\n",
	      "--- a/x\n+++ b/x\n@@ -7,4 +7,4 @@\n 7\n 8\n 9\n-10\n+X\n");
	/* A gap of exactly 2 * 3 unchanged lines still makes one hunk; 7 makes two. */
	check("gap of 6 merges", thirty,
	      "1\n2\n3\n4\nX\n6\n7\n8\n9\n10\n11\nY\n13\n14\n15\n16\n17\n18\n19\n20\n"
	      "21\n22\n23\n24\n25\n26\n27\n28\n29\n30\n",
	      "--- a/x\n+++ b/x\n@@ -2,14 +2,14 @@\n 2\n 3\n 4\n-5\n+X\n 6\n 7\n 8\n 9\n 10\n"
	      " 11\n-12\n+Y\n 13\n 14\n 15\n");
	check("gap of 7 splits", thirty,
	      "1\n2\n3\n4\nX\n6\n7\n8\n9\n10\n11\n12\nY\n14\n15\n16\n17\n18\n19\n20\n"
	      "21\n22\n23\n24\n25\n26\n27\n28\n29\n30\n",
	      "--- a/x\n+++ b/x\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+X\n 6\n 7\n 8\n"
	      "@@ -10,7 +10,7 @@\n 10\n 11\n 12\n-13\n+Y\n 14\n 15\n 16\n");
}

static void test_gnu_newline(void)
{
	check("old lacks final newline", "a\nb\nc", "a\nb\nc\n",
	      "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n b\n-c\n\\ No newline at end of file\n+c\n");
	check("new lacks final newline", "a\nb\nc\n", "a\nb\nc",
	      "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n b\n-c\n+c\n\\ No newline at end of file\n");
	check("both lack final newline", "a\nb\nc", "a\nb\nd",
	      "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n b\n-c\n\\ No newline at end of file\n"
	      "+d\n\\ No newline at end of file\n");
	check("context lacks final newline", "1\n2\n3\n4", "1\nX\n3\n4",
	      "--- a/x\n+++ b/x\n@@ -1,4 +1,4 @@\n 1\n-2\n+X\n 3\n 4\n\\ No newline at end of file\n");
	check("CRLF lines", "a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\n",
	      "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\r\n-b\r\n+B\r\n c\r\n");
	check("CRLF to LF", "a\r\nb\r\n", "a\r\nb\n",
	      "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\r\n-b\r\n+b\n");
	check("create without newline", "", "a",
	      "--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n+a\n\\ No newline at end of file\n");
}

static void test_gnu_files(void)
{
	_cleanup_strbuf_ struct strbuf c = STRBUF_INIT, d = STRBUF_INIT, z = STRBUF_INIT;
	static const char nul_want[] = "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-k=1\0z\n+k=2\0z\n q\n";

	ok(diff_unified(&c, "/dev/null", "", 0, "b/x", "a\nb\n", 4) == 0, "created: returns 0");
	expect_str(strbuf_str(&c), "--- /dev/null\n+++ b/x\n@@ -0,0 +1,2 @@\n+a\n+b\n",
		   "created file");
	ok(diff_unified(&d, "a/x", "a\nb\n", 4, "/dev/null", NULL, 0) == 0, "deleted: returns 0");
	expect_str(strbuf_str(&d), "--- a/x\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n",
		   "deleted file");
	/* From `diff -a -u`: GNU calls the file binary otherwise. */
	ok(diff_unified(&z, "a/x", "k=1\0z\nq\n", 8, "b/x", "k=2\0z\nq\n", 8) == 0 &&
	   z.len == sizeof(nul_want) - 1 && memcmp(z.buf, nul_want, z.len) == 0,
	   "NUL bytes: same as GNU diff -a -u");
}

struct tline {
	const char *p;
	size_t len;
};

/* Split like the diff does: at '\n', keeping it; a last line may lack it. */
static size_t tlines_split(const char *s, size_t len, struct tline *v, size_t max)
{
	size_t n = 0, at = 0;
	const char *nl;

	while (at < len && n < max) {
		nl = memchr(s + at, '\n', len - at);
		v[n].p = s + at;
		v[n].len = nl ? (size_t)(nl - s) + 1 - at : len - at;
		at += v[n++].len;
	}
	return n;
}

struct patch_state {
	const char *d, *end;	/* the diff text left to read */
	struct tline *old;
	size_t old_n, cur;	/* old lines, and the next one to use */
	struct strbuf out;
	size_t out_lines, plus, minus;
};

/* The next diff line: its prefix, and its text as it stands in the file, which keeps
 * the '\n' unless a "\ No newline" line follows (that one is consumed here). */
static bool patch_next(struct patch_state *s, char *ret_prefix, struct tline *ret)
{
	const char *nl;

	if (s->d >= s->end)
		return false;
	nl = memchr(s->d, '\n', (size_t)(s->end - s->d));
	if (!nl)
		return false;
	*ret_prefix = s->d[0];
	ret->p = s->d + 1;
	ret->len = (size_t)(nl - s->d);
	s->d = nl + 1;
	if (s->d < s->end && s->d[0] == '\\') {
		ret->len--;
		nl = memchr(s->d, '\n', (size_t)(s->end - s->d));
		s->d = nl ? nl + 1 : s->end;
	}
	return true;
}

static bool patch_copy_old(struct patch_state *s, size_t upto)
{
	if (upto < s->cur || upto > s->old_n)
		return false;
	for (; s->cur < upto; s->cur++, s->out_lines++)
		strbuf_append(&s->out, s->old[s->cur].p, s->old[s->cur].len);
	return true;
}

static bool patch_old_matches(const struct patch_state *s, const struct tline *l)
{
	return s->cur < s->old_n && s->old[s->cur].len == l->len &&
	       memcmp(s->old[s->cur].p, l->p, l->len) == 0;
}

/* One hunk body: checks that context and removed lines match old and the counts. */
static bool patch_body(struct patch_state *s, unsigned long na, unsigned long nb)
{
	struct tline l;
	char c;

	while ((na || nb) && patch_next(s, &c, &l)) {
		if ((c == ' ' || c == '-') && (!na-- || !patch_old_matches(s, &l)))
			return false;
		if ((c == ' ' || c == '+') && !nb--)
			return false;
		if (c == ' ' || c == '-')
			s->cur++;
		if (c == ' ' || c == '+') {
			strbuf_append(&s->out, l.p, l.len);
			s->out_lines++;
		}
		s->minus += c == '-';
		s->plus += c == '+';
		if (c != ' ' && c != '-' && c != '+')
			return false;
	}
	return !na && !nb;
}

/* "@@ -a[,b] +c[,d] @@": an empty range names the line before it. */
static bool patch_hunk(struct patch_state *s)
{
	unsigned long a, na = 1, b, nb = 1;
	char *e;

	if (s->end - s->d < 4 || strncmp(s->d, "@@ -", 4) != 0)
		return false;
	a = strtoul(s->d + 4, &e, 10);
	if (*e == ',')
		na = strtoul(e + 1, &e, 10);
	if (strncmp(e, " +", 2) != 0)
		return false;
	b = strtoul(e + 2, &e, 10);
	if (*e == ',')
		nb = strtoul(e + 1, &e, 10);
	if (strncmp(e, " @@\n", 4) != 0)
		return false;
	s->d = e + 4;
	if (!patch_copy_old(s, na ? a - 1 : a) || (nb ? b - 1 : b) != s->out_lines)
		return false;
	return patch_body(s, na, nb);
}

/* A tiny `patch`: rebuild new from old and the diff, strictly; false when it does not fit. */
static bool patch_apply(struct patch_state *s, const char *old, size_t old_len,
			const char *diff, size_t diff_len)
{
	s->d = diff;
	s->end = diff + diff_len;
	s->old = calloc(old_len + 1, sizeof(*s->old));
	s->old_n = tlines_split(old, old_len, s->old, old_len + 1);
	if (diff_len == 0)
		return patch_copy_old(s, s->old_n);
	for (int i = 0; i < 2; i++) {
		const char *nl = memchr(s->d, '\n', (size_t)(s->end - s->d));

		if (!nl || strncmp(s->d, i ? "+++ " : "--- ", 4) != 0)
			return false;
		s->d = nl + 1;
	}
	while (s->d < s->end)
		if (!patch_hunk(s))
			return false;
	return patch_copy_old(s, s->old_n);
}

static void patch_state_done(struct patch_state *s)
{
	free(s->old);
	strbuf_release(&s->out);
}

/* Minimal number of inserted + deleted lines: N + M - 2 * LCS, by the O(NM) table. */
static size_t edit_distance(const char *a, size_t alen, const char *b, size_t blen)
{
	struct tline x[64], y[64];
	size_t n = tlines_split(a, alen, x, 64), m = tlines_split(b, blen, y, 64);
	static size_t t[65][65];

	for (size_t i = 0; i <= n; i++)
		for (size_t j = 0; j <= m; j++) {
			if (!i || !j)
				t[i][j] = 0;
			else if (x[i - 1].len == y[j - 1].len && !memcmp(x[i - 1].p, y[j - 1].p, x[i - 1].len))
				t[i][j] = t[i - 1][j - 1] + 1;
			else
				t[i][j] = t[i - 1][j] > t[i][j - 1] ? t[i - 1][j] : t[i][j - 1];
		}
	return n + m - 2 * t[n][m];
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* splitmix64: a fixed seed, so a failure reproduces. */
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Few distinct lines, so that there is much to match and many equal-cost choices. */
static void random_file(struct strbuf *sb, size_t max_lines)
{
	static const char *const words[] = { "a\n", "b\n", "c\n", "a\r\n", "\n" };
	size_t n = rng() % (max_lines + 1);

	strbuf_reset(sb);
	for (size_t i = 0; i < n; i++)
		strbuf_appends(sb, words[rng() % ARRAY_SIZE(words)]);
	/* Sometimes drop the final newline. */
	if (sb->len && rng() % 5 == 0)
		sb->buf[--sb->len] = '\0';
}

/* Like new = old with a few lines inserted, deleted or replaced. */
static void random_edit(struct strbuf *dst, const struct strbuf *src)
{
	struct tline v[64];
	size_t n = tlines_split(strbuf_str(src), src->len, v, 64);

	strbuf_reset(dst);
	for (size_t i = 0; i <= n; i++) {
		if (rng() % 6 == 0)
			strbuf_appends(dst, rng() % 2 ? "b\n" : "d\n");
		if (i < n && rng() % 5 != 0)
			strbuf_append(dst, v[i].p, v[i].len);
	}
}

/* Checks one pair; on failure prints it once as a TAP comment. */
static bool check_pair(const struct strbuf *a, const struct strbuf *b, bool *ret_minimal)
{
	_cleanup_strbuf_ struct strbuf d = STRBUF_INIT;
	struct patch_state s = {};
	bool applied;

	if (diff_unified(&d, "a/x", strbuf_str(a), a->len, "b/x", strbuf_str(b), b->len) < 0)
		return false;
	applied = patch_apply(&s, strbuf_str(a), a->len, strbuf_str(&d), d.len) &&
		  s.out.len == b->len && memcmp(strbuf_str(&s.out), strbuf_str(b), b->len) == 0;
	*ret_minimal = s.plus + s.minus == edit_distance(strbuf_str(a), a->len, strbuf_str(b), b->len);
	if (!applied || !*ret_minimal) {
		diag_text("old", strbuf_str(a));
		diag_text("new", strbuf_str(b));
		diag_text("diff", strbuf_str(&d));
	}
	patch_state_done(&s);
	return applied;
}

static void test_random_pairs(void)
{
	_cleanup_strbuf_ struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	int bad_apply = 0, bad_min = 0;
	bool minimal;

	for (int i = 0; i < 2000; i++) {
		random_file(&a, 14);
		if (i % 2)
			random_edit(&b, &a);
		else
			random_file(&b, 14);
		if (!check_pair(&a, &b, &minimal))
			bad_apply++;
		if (!minimal)
			bad_min++;
		/* One printed failure is enough to debug with. */
		if (bad_apply + bad_min > 0)
			break;
	}
	ok(bad_apply == 0, "2000 random pairs: applying the diff to old gives new");
	ok(bad_min == 0, "2000 random pairs: +/- lines equal the LCS edit distance");
}

/* A large pair: patch must still apply; with only a few edits it must stay minimal. */
static void check_large(const char *name, const struct strbuf *a, const struct strbuf *b,
			size_t want_edits)
{
	_cleanup_strbuf_ struct strbuf d = STRBUF_INIT;
	struct patch_state s = {};

	ok(diff_unified(&d, "a/x", strbuf_str(a), a->len, "b/x", strbuf_str(b), b->len) == 0,
	   "%s: returns 0", name);
	ok(patch_apply(&s, strbuf_str(a), a->len, strbuf_str(&d), d.len) && s.out.len == b->len &&
	   memcmp(strbuf_str(&s.out), strbuf_str(b), b->len) == 0, "%s: applies", name);
	if (want_edits)
		ok(s.plus + s.minus == want_edits, "%s: %zu edits, want %zu", name, s.plus + s.minus,
		   want_edits);
	patch_state_done(&s);
}

static void test_large(void)
{
	_cleanup_strbuf_ struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;

	/* 30000 distinct lines; every 97th replaced: 2 edits each, no other choice. */
	for (int i = 0; i < 30000; i++) {
		strbuf_appendf(&a, "line %d\n", i);
		strbuf_appendf(&b, i % 97 ? "line %d\n" : "changed %d\n", i);
	}
	check_large("30000 lines, 310 changed", &a, &b, 2 * 310);
	/* Nothing in common: D = 60000, far past the cost limit. */
	strbuf_reset(&b);
	for (int i = 0; i < 30000; i++)
		strbuf_appendf(&b, "other %d\n", i);
	check_large("30000 lines, all different", &a, &b, 60000);
	/* Three distinct lines at random: a huge D with matches everywhere. */
	strbuf_reset(&a);
	strbuf_reset(&b);
	for (int i = 0; i < 30000; i++) {
		strbuf_appends(&a, rng() % 3 ? "x\n" : "y\n");
		strbuf_appends(&b, rng() % 2 ? "x\n" : "z\n");
	}
	check_large("30000 random lines", &a, &b, 0);
}

int main(void)
{
	test_equal();
	test_gnu_seq();
	test_gnu_newline();
	test_gnu_files();
	test_random_pairs();
	test_large();
	return tap_done();
}
