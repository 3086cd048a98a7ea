/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modprobe-softdep.c — the modprobe.d softdep editor, pure text in, text out: merges deps into
 *  the first line kmod uses for the module, or drops them. Apart from the other editors because
 *  it plans word by word (kmod's softdep word quirks). Must not: open files, print. */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "modfile-internal.h"
#include "modprobe-edit.h"
#include "modprobe-read.h"
#include "strbuf.h"
#include "strv.h"

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
			return modfile_error_set(err, l->lineno,
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
		return modfile_error_set(err, l->lineno,
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
