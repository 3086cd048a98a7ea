/* SPDX-License-Identifier: GPL-2.0-or-later */
/* diff.c — Myers' O(ND) line diff (linear-space middle snake) printed as GNU-style `diff -u`. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

/* Past this many edits in one middle-snake search we stop looking for the minimal
 * split and cut at the furthest point reached instead: the patch stays valid, may be
 * longer than minimal, and the time stays near O((N+M) * limit) for huge rewrites. */
#define DIFF_COST_LIMIT 2048

struct line {
	const char *p;
	size_t len;		/* includes the '\n'; only a last line may lack one */
	uint64_t hash;
};

struct lines {
	struct line *v;
	size_t n;
};

struct diff_ctx {
	struct lines a, b;	/* old, new */
	bool *del;		/* old line i is not in new */
	bool *ins;		/* new line j is not in old */
	ptrdiff_t *fwd;		/* per diagonal k = x - y, at [k + off]: furthest x forward */
	ptrdiff_t *bwd;		/* ... and nearest x searching backward from the end */
	ptrdiff_t off;
};

/* A sub-problem: old lines [x0, x1) against new lines [y0, y1). */
struct box {
	ptrdiff_t x0, x1, y0, y1;
};

/* Diagonals in use by one search direction after d edits; empty while lo > hi. */
struct range {
	ptrdiff_t lo, hi;
};

/* A run of old lines replaced by a run of new lines (either may be empty). */
struct change {
	size_t a, na, b, nb;
};

static inline ptrdiff_t min_p(ptrdiff_t x, ptrdiff_t y) { return x < y ? x : y; }
static inline ptrdiff_t max_p(ptrdiff_t x, ptrdiff_t y) { return x > y ? x : y; }
static inline size_t min_z(size_t x, size_t y) { return x < y ? x : y; }

/* FNV-1a: cheap, and a collision only costs one memcmp. */
static uint64_t line_hash(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h;
}

static size_t lines_count(const char *s, size_t len)
{
	size_t n = 0;
	const char *nl;

	for (size_t at = 0; at < len; n++) {
		nl = memchr(s + at, '\n', len - at);
		at = nl ? (size_t)(nl - s) + 1 : len;
	}
	return n;
}

static int lines_split(struct lines *l, const char *s, size_t len)
{
	const char *nl;
	size_t at = 0;

	l->n = len ? lines_count(s, len) : 0;
	l->v = calloc(l->n ? l->n : 1, sizeof(*l->v));
	if (!l->v)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		nl = memchr(s + at, '\n', len - at);
		l->v[i].p = s + at;
		l->v[i].len = nl ? (size_t)(nl - s) + 1 - at : len - at;
		l->v[i].hash = line_hash(l->v[i].p, l->v[i].len);
		at += l->v[i].len;
	}
	return 0;
}

static bool line_eq(const struct diff_ctx *c, ptrdiff_t x, ptrdiff_t y)
{
	const struct line *p = &c->a.v[x], *q = &c->b.v[y];

	return p->hash == q->hash && p->len == q->len && memcmp(p->p, q->p, p->len) == 0;
}

static void diff_ctx_done(struct diff_ctx *c)
{
	free(c->a.v);
	free(c->b.v);
	free(c->del);
	free(c->ins);
	free(c->fwd);
	free(c->bwd);
}

static int diff_ctx_init(struct diff_ctx *c, const char *old, size_t old_len,
			 const char *new, size_t new_len)
{
	size_t diags;
	int r;

	r = lines_split(&c->a, old, old_len);
	if (r < 0)
		return r;
	r = lines_split(&c->b, new, new_len);
	if (r < 0)
		return r;
	/* Diagonals run from -M to N; indices must stay representable as ptrdiff_t. */
	if (c->a.n + c->b.n >= (size_t)PTRDIFF_MAX / 2)
		return -ENOMEM;
	diags = c->a.n + c->b.n + 1;
	c->off = (ptrdiff_t)c->b.n;
	c->del = calloc(c->a.n + 1, sizeof(*c->del));
	c->ins = calloc(c->b.n + 1, sizeof(*c->ins));
	c->fwd = calloc(diags, sizeof(*c->fwd));
	c->bwd = calloc(diags, sizeof(*c->bwd));
	if (!c->del || !c->ins || !c->fwd || !c->bwd)
		return -ENOMEM;
	return 0;
}

static bool range_has(const struct range *r, ptrdiff_t k)
{
	return k >= r->lo && k <= r->hi;
}

/* The diagonals a search that started on diagonal mid can reach with d edits:
 * every other one from mid - d to mid + d, clipped to the box keeping that parity. */
static struct range range_at(const struct box *b, ptrdiff_t mid, ptrdiff_t d)
{
	ptrdiff_t kmin = b->x0 - b->y1, kmax = b->x1 - b->y0;
	struct range r = { mid - d, mid + d };

	if (r.lo < kmin)
		r.lo = kmin + ((kmin - r.lo) & 1);
	if (r.hi > kmax)
		r.hi = kmax - ((r.hi - kmax) & 1);
	return r;
}

/* Forward round d: the furthest x on each diagonal after one more edit and its snake.
 * The edit is clamped to the box: stopping at an edge is never further than allowed,
 * because edit distance only grows by 0 or 2 along a diagonal. */
static void fwd_round(struct diff_ctx *c, const struct box *b, ptrdiff_t d, struct range *r)
{
	ptrdiff_t *v = c->fwd + c->off;
	struct range prev = *r;
	ptrdiff_t x, y;

	*r = range_at(b, b->x0 - b->y0, d);
	for (ptrdiff_t k = r->lo; k <= r->hi; k += 2) {
		x = b->x0;
		if (d > 0) {
			x = PTRDIFF_MIN;
			if (range_has(&prev, k - 1))
				x = v[k - 1] + 1;
			if (range_has(&prev, k + 1) && v[k + 1] > x)
				x = v[k + 1];
			x = min_p(x, min_p(b->x1, b->y1 + k));
		}
		for (y = x - k; x < b->x1 && y < b->y1 && line_eq(c, x, y); x++, y++)
			;
		v[k] = x;
	}
}

/* Backward round d: the mirror of fwd_round, from the box's end towards its start. */
static void bwd_round(struct diff_ctx *c, const struct box *b, ptrdiff_t d, struct range *r)
{
	ptrdiff_t *v = c->bwd + c->off;
	struct range prev = *r;
	ptrdiff_t x, y;

	*r = range_at(b, b->x1 - b->y1, d);
	for (ptrdiff_t k = r->lo; k <= r->hi; k += 2) {
		x = b->x1;
		if (d > 0) {
			x = PTRDIFF_MAX;
			if (range_has(&prev, k + 1))
				x = v[k + 1] - 1;
			if (range_has(&prev, k - 1) && v[k - 1] < x)
				x = v[k - 1];
			x = max_p(x, max_p(b->x0, b->y0 + k));
		}
		for (y = x - k; x > b->x0 && y > b->y0 && line_eq(c, x - 1, y - 1); x--, y--)
			;
		v[k] = x;
	}
}

/* Where the two searches meet on a diagonal, the forward point lies on a shortest path. */
static bool meet_find(const struct diff_ctx *c, const struct range *f, const struct range *b,
		      ptrdiff_t *ret_x, ptrdiff_t *ret_y)
{
	const ptrdiff_t *fv = c->fwd + c->off, *bv = c->bwd + c->off;

	for (ptrdiff_t k = max_p(f->lo, b->lo); k <= min_p(f->hi, b->hi); k++) {
		if (((k - f->lo) & 1) || ((k - b->lo) & 1))
			continue;
		if (fv[k] >= bv[k]) {
			*ret_x = fv[k];
			*ret_y = fv[k] - k;
			return true;
		}
	}
	return false;
}

/* A cut strictly inside the box, so that both halves are smaller than it. */
static bool cut_ok(const struct box *b, ptrdiff_t x, ptrdiff_t y)
{
	return x + y > b->x0 + b->y0 && x + y < b->x1 + b->y1;
}

/* Too expensive to finish: cut at whichever search got furthest from its own corner. */
static bool cut_furthest(const struct diff_ctx *c, const struct box *b, const struct range *f,
			 const struct range *r, ptrdiff_t *ret_x, ptrdiff_t *ret_y)
{
	const ptrdiff_t *fv = c->fwd + c->off, *bv = c->bwd + c->off;
	ptrdiff_t fk = f->lo, bk = r->lo;

	for (ptrdiff_t k = f->lo; k <= f->hi; k += 2)
		if (2 * fv[k] - k > 2 * fv[fk] - fk)
			fk = k;
	for (ptrdiff_t k = r->lo; k <= r->hi; k += 2)
		if (2 * bv[k] - k < 2 * bv[bk] - bk)
			bk = k;
	/* Progress of each, measured in x + y from where it started. */
	if ((2 * fv[fk] - fk) - (b->x0 + b->y0) < (b->x1 + b->y1) - (2 * bv[bk] - bk))
		fk = bk, fv = bv;
	*ret_x = fv[fk];
	*ret_y = fv[fk] - fk;
	return cut_ok(b, *ret_x, *ret_y);
}

/* Find a point on a shortest edit path through the box (which has no common prefix or
 * suffix and two non-empty sides), or a valid cut when that costs too much. */
static bool box_split(struct diff_ctx *c, const struct box *b, ptrdiff_t *ret_x, ptrdiff_t *ret_y)
{
	bool odd = ((b->x1 - b->y1) - (b->x0 - b->y0)) & 1;
	struct range f = { 1, 0 }, r = { 1, 0 };
	ptrdiff_t dmax = (b->x1 - b->x0) + (b->y1 - b->y0);

	for (ptrdiff_t d = 0; d <= dmax; d++) {
		fwd_round(c, b, d, &f);
		/* With an odd delta, paths meet right after a forward round, else after a backward one. */
		if (odd && meet_find(c, &f, &r, ret_x, ret_y))
			return cut_ok(b, *ret_x, *ret_y);
		bwd_round(c, b, d, &r);
		if (!odd && meet_find(c, &f, &r, ret_x, ret_y))
			return cut_ok(b, *ret_x, *ret_y);
		if (d >= DIFF_COST_LIMIT)
			return cut_furthest(c, b, &f, &r, ret_x, ret_y);
	}
	return false;
}

static void box_trim(const struct diff_ctx *c, struct box *b)
{
	while (b->x0 < b->x1 && b->y0 < b->y1 && line_eq(c, b->x0, b->y0))
		b->x0++, b->y0++;
	while (b->x0 < b->x1 && b->y0 < b->y1 && line_eq(c, b->x1 - 1, b->y1 - 1))
		b->x1--, b->y1--;
}

/* Everything left in the box is changed: always correct, minimal when one side is empty. */
static void box_mark(struct diff_ctx *c, const struct box *b)
{
	for (ptrdiff_t x = b->x0; x < b->x1; x++)
		c->del[x] = true;
	for (ptrdiff_t y = b->y0; y < b->y1; y++)
		c->ins[y] = true;
}

static ptrdiff_t box_size(const struct box *b)
{
	return (b->x1 - b->x0) + (b->y1 - b->y0);
}

/* Recurse into the smaller half and loop on the larger, so the stack stays O(log(N+M)). */
static void box_diff(struct diff_ctx *c, struct box b)
{
	struct box lo, hi;
	ptrdiff_t x, y;

	for (;;) {
		box_trim(c, &b);
		if (b.x0 == b.x1 || b.y0 == b.y1 || !box_split(c, &b, &x, &y)) {
			box_mark(c, &b);
			return;
		}
		lo = (struct box){ b.x0, x, b.y0, y };
		hi = (struct box){ x, b.x1, y, b.y1 };
		if (box_size(&lo) <= box_size(&hi)) {
			box_diff(c, lo);
			b = hi;
		} else {
			box_diff(c, hi);
			b = lo;
		}
	}
}

/* From old line *i and new line *j, which are in step, find the next change. */
static bool change_next(const struct diff_ctx *c, size_t *i, size_t *j, struct change *ch)
{
	while (*i < c->a.n && *j < c->b.n && !c->del[*i] && !c->ins[*j])
		(*i)++, (*j)++;
	ch->a = *i;
	ch->b = *j;
	while (*i < c->a.n && c->del[*i])
		(*i)++;
	while (*j < c->b.n && c->ins[*j])
		(*j)++;
	ch->na = *i - ch->a;
	ch->nb = *j - ch->b;
	return ch->na || ch->nb;
}

static int changes_collect(const struct diff_ctx *c, struct change **ret, size_t *ret_n)
{
	_cleanup_free_ struct change *v = NULL;
	size_t n = 0, cap = 0, i = 0, j = 0;
	struct change ch;
	struct change *p;

	while (change_next(c, &i, &j, &ch)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			p = reallocarray(v, cap, sizeof(*v));
			if (!p)
				return -ENOMEM;
			v = p;
		}
		v[n++] = ch;
	}
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

static int line_emit(struct strbuf *out, char prefix, const struct line *l)
{
	int r;

	r = strbuf_appendc(out, prefix);
	if (r < 0)
		return r;
	r = strbuf_append(out, l->p, l->len);
	if (r < 0)
		return r;
	if (l->p[l->len - 1] != '\n')
		return strbuf_appends(out, "\n\\ No newline at end of file\n");
	return 0;
}

static int lines_emit(struct strbuf *out, char prefix, const struct lines *l, size_t from, size_t to)
{
	int r;

	for (size_t i = from; i < to; i++) {
		r = line_emit(out, prefix, &l->v[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* GNU omits ",1", and names an empty range by the line before it. */
static int range_emit(struct strbuf *out, char sign, size_t start, size_t count)
{
	if (count == 1)
		return strbuf_appendf(out, "%c%zu", sign, start + 1);
	return strbuf_appendf(out, "%c%zu,%zu", sign, count ? start + 1 : start, count);
}

static int hunk_header(struct strbuf *out, size_t a0, size_t na, size_t b0, size_t nb)
{
	int r;

	r = strbuf_appends(out, "@@ ");
	if (r >= 0)
		r = range_emit(out, '-', a0, na);
	if (r >= 0)
		r = strbuf_appends(out, " ");
	if (r >= 0)
		r = range_emit(out, '+', b0, nb);
	if (r >= 0)
		r = strbuf_appends(out, " @@\n");
	return r;
}

/* One hunk: changes ch[0..n) with context around them. Lines before a change are
 * in step in both files, so the same amount of context exists on both sides. */
static int hunk_emit(const struct diff_ctx *c, struct strbuf *out, const struct change *ch, size_t n)
{
	const struct change *last = &ch[n - 1];
	size_t pre = min_z(DIFF_CONTEXT, min_z(ch[0].a, ch[0].b));
	size_t a_end = last->a + last->na, b_end = last->b + last->nb;
	size_t post = min_z(DIFF_CONTEXT, min_z(c->a.n - a_end, c->b.n - b_end));
	size_t a = ch[0].a - pre;
	int r;

	r = hunk_header(out, a, a_end + post - a, ch[0].b - pre, b_end + post - (ch[0].b - pre));
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = lines_emit(out, ' ', &c->a, a, ch[i].a);
		if (r >= 0)
			r = lines_emit(out, '-', &c->a, ch[i].a, ch[i].a + ch[i].na);
		if (r >= 0)
			r = lines_emit(out, '+', &c->b, ch[i].b, ch[i].b + ch[i].nb);
		a = ch[i].a + ch[i].na;
	}
	if (r >= 0)
		r = lines_emit(out, ' ', &c->a, a, a_end + post);
	return r;
}

/* Changes whose gap is at most twice the context share a hunk, as in GNU diff. */
static int hunks_emit(const struct diff_ctx *c, struct strbuf *out, const struct change *ch, size_t n)
{
	size_t s = 0, e;
	int r;

	while (s < n) {
		for (e = s + 1; e < n && ch[e].a - (ch[e - 1].a + ch[e - 1].na) <= 2 * DIFF_CONTEXT; e++)
			;
		r = hunk_emit(c, out, ch + s, e - s);
		if (r < 0)
			return r;
		s = e;
	}
	return 0;
}

static int diff_emit(struct strbuf *out, const char *old_label, const char *new_label,
		     const struct diff_ctx *c)
{
	_cleanup_free_ struct change *ch = NULL;
	size_t n;
	int r;

	r = changes_collect(c, &ch, &n);
	if (r < 0)
		return r;
	r = strbuf_appendf(out, "--- %s\n+++ %s\n", old_label, new_label);
	if (r < 0)
		return r;
	return hunks_emit(c, out, ch, n);
}

int diff_unified(struct strbuf *out, const char *old_label, const char *old, size_t old_len,
		 const char *new_label, const char *new, size_t new_len)
{
	_cleanup_(diff_ctx_done) struct diff_ctx c = {};
	size_t start = out->len;
	int r;

	if (old_len == new_len && (old_len == 0 || memcmp(old, new, old_len) == 0))
		return 0;
	r = diff_ctx_init(&c, old, old_len, new, new_len);
	if (r < 0)
		return r;
	box_diff(&c, (struct box){ 0, (ptrdiff_t)c.a.n, 0, (ptrdiff_t)c.b.n });
	r = diff_emit(out, old_label, new_label, &c);
	if (r < 0 && out->buf) {
		/* Leave no half-written diff behind. */
		out->len = start;
		out->buf[start] = '\0';
	}
	return r;
}
