/* SPDX-License-Identifier: GPL-2.0-or-later */
/* grubcfg.c — GRUB's generated files as a trial boot needs them: the default entry of grub.cfg,
 *  the per-trial menu entry, the environment block (grubenv).
 *  Owns: grubcfg.h. Must not: do I/O, or edit /etc/default/grub (grubfile.c does).
 *
 *  Measured (grub-common 2.06-13+deb12u2): `grub-editenv FILE create` writes 1024 bytes, the two
 *  header lines of grubcfg.h, then '#' to the end; `set` rewrites the whole block with the
 *  variables as name=value lines after the header (open O_TRUNC, write 1024 bytes, fsync: in
 *  place). GRUB's load_env reads lines that do not start with '#'; its save_env writes the
 *  same 1024 bytes into the file's blocks on disk. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grubcfg.h"
#include "macros.h"
#include "strbuf.h"
#include "util.h"

/* Each line of text: start and length without the newline. Two nested loops: leave it with
 * return or goto, never break. */
#define FOR_LINES(text, len, l, ll)                                                                         \
	for (const char *l = (text), *_end = (text) + (len), *_nl; l < _end; l = _nl ? _nl + 1 : _end)     \
		for (size_t ll = (size_t)(((_nl = memchr(l, '\n', (size_t)(_end - l))) ? _nl : _end) - l),  \
			    _once = 1; _once; _once = 0)

static bool env_valid(const char *old, size_t len)
{
	return len == GRUBENV_SIZE && !strncmp(old, GRUBENV_HEADER, strlen(GRUBENV_HEADER));
}

char *grubenv_get(const char *env, size_t len, const char *name)
{
	size_t nl = strlen(name);
	char *v = NULL;

	if (!env || !env_valid(env, len))
		return NULL;
	FOR_LINES(env, len, l, ll) {
		if (!ll || *l == '#')
			continue;
		if (ll > nl && !strncmp(l, name, nl) && l[nl] == '=') {
			free(v);
			v = strndup(l + nl + 1, ll - nl - 1);
		}
	}
	return v;
}

int grubenv_set(const char *old, size_t len, const char *name, const char *value, char **ret)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	size_t nl = strlen(name);

	if (old && len && !env_valid(old, len))
		return -EBADMSG;
	if (!nl || strpbrk(name, "=\n\\#") || (value && strpbrk(value, "\n\\")))
		return -EINVAL;
	strbuf_appends(&sb, GRUBENV_HEADER GRUBENV_WARNING);
	if (old && len) {
		FOR_LINES(old, len, l, ll) {
			if (!ll || *l == '#')
				continue;
			if (ll > nl && !strncmp(l, name, nl) && l[nl] == '=')
				continue;
			strbuf_append(&sb, l, ll);
			strbuf_appendc(&sb, '\n');
		}
	}
	if (value)
		strbuf_appendf(&sb, "%s=%s\n", name, value);
	if (!sb.buf)
		return -ENOMEM;
	if (sb.len > GRUBENV_SIZE)
		return -E2BIG;
	while (sb.len < GRUBENV_SIZE)
		if (strbuf_appendc(&sb, '#') < 0)
			return -ENOMEM;
	*ret = strbuf_steal(&sb);
	return 0;
}

void grubcfg_entry_clear(struct grubcfg_entry *e)
{
	free(e->title);
	free(e->body);
	free(e->args);
	free(e->kernel);
	memset(e, 0, sizeof(*e));
}

static const char *skip_blanks(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/* The first word of a line (after blanks) is word. */
static bool first_word(const char *l, size_t ll, const char *word)
{
	const char *t = skip_blanks(l, l + ll);
	size_t wl = strlen(word), rest = ll - (size_t)(t - l);

	return rest >= wl && !strncmp(t, word, wl) && (rest == wl || t[wl] == ' ' || t[wl] == '\t');
}

/* What 00_header sets as default outside the next_entry branch: the value of the last
 * "set default=..." line, quotes removed. */
static char *default_setting(const char *cfg, size_t len)
{
	char *v = NULL;

	FOR_LINES(cfg, len, l, ll) {
		const char *t = skip_blanks(l, l + ll), *end = l + ll;

		if ((size_t)(end - t) < 12 || strncmp(t, "set default=", 12))
			continue;
		t += 12;
		if (t < end && (*t == '"' || *t == '\'')) {
			const char *q = memchr(t + 1, *t, (size_t)(end - t - 1));

			end = q ? q : end;
			t++;
		}
		free(v);
		v = strndup(t, (size_t)(end - t));
		if (v && streq(v, "${next_entry}")) {	/* the one-shot branch */
			free(v);
			v = NULL;
		}
	}
	return v;
}

static int entry_from(const char *start, const char *cfg_end, struct grubcfg_entry *ret)
{
	_cleanup_strbuf_ struct strbuf body = STRBUF_INIT;
	const char *open_end = memchr(start, '\n', (size_t)(cfg_end - start)), *t, *q;
	struct grubcfg_entry e = { 0 };
	int depth = 1;

	if (!open_end)
		return -ENOENT;
	t = skip_blanks(start, open_end) + strlen("menuentry");
	t = skip_blanks(t, open_end);
	if (t < open_end && (*t == '\'' || *t == '"') && (q = memchr(t + 1, *t, (size_t)(open_end - t - 1))))
		e.title = strndup(t + 1, (size_t)(q - t - 1));
	FOR_LINES(open_end + 1, (size_t)(cfg_end - open_end - 1), l, ll) {
		const char *lt = skip_blanks(l, l + ll), *le = l + ll;

		while (le > lt && (le[-1] == ' ' || le[-1] == '\t'))
			le--;
		if (le - lt == 1 && *lt == '}' && --depth == 0)
			goto closed;	/* FOR_LINES is two loops: break would leave only the inner one */
		if (le > lt && le[-1] == '{')
			depth++;
		if (!e.kernel && (first_word(l, ll, "linux") || first_word(l, ll, "linuxefi"))) {
			const char *w = lt + strcspn(lt, " \t"), *k0 = skip_blanks(w, le), *k1 = k0;

			while (k1 < le && *k1 != ' ' && *k1 != '\t')
				k1++;
			e.kernel = strndup(k0, (size_t)(k1 - k0));
			e.args = strndup(skip_blanks(k1, le), (size_t)(le - skip_blanks(k1, le)));
			strbuf_append(&body, l, (size_t)(k1 - l));
			strbuf_appends(&body, " @ARGS@\n");
			continue;
		}
		strbuf_append(&body, l, ll);
		strbuf_appendc(&body, '\n');
	}
closed:
	if (depth != 0 || !e.kernel) {
		grubcfg_entry_clear(&e);
		return -ENOENT;
	}
	e.body = strbuf_steal(&body);
	if (!e.body || !e.args || !e.kernel || !e.title) {
		grubcfg_entry_clear(&e);
		return -ENOMEM;
	}
	*ret = e;
	return 0;
}

int grubcfg_default_entry(const char *cfg, const char *saved_entry, struct grubcfg_entry *ret, char *why,
			  size_t why_size)
{
	size_t len = strlen(cfg);
	_cleanup_free_ char *def = default_setting(cfg, len);
	int depth = 0;

	if (def && !streq(def, "0") &&
	    !(streq(def, "${saved_entry}") && (!saved_entry || !*saved_entry || streq(saved_entry, "0")))) {
		snprintf(why, why_size, "grub.cfg boots '%s' by default%s%s%s, not its first entry", def,
			 saved_entry ? " (saved_entry=" : "", saved_entry ? saved_entry : "", saved_entry ? ")" : "");
		return -EOPNOTSUPP;
	}
	/* The first menuentry at the top level: submenus ("Advanced options") come after it. */
	FOR_LINES(cfg, len, l, ll) {
		const char *t = skip_blanks(l, l + ll), *le = l + ll;

		while (le > t && (le[-1] == ' ' || le[-1] == '\t'))
			le--;
		if (depth == 0 && first_word(l, ll, "menuentry"))
			return entry_from(l, cfg + len, ret);
		if (le > t && le[-1] == '{')
			depth++;
		else if (le - t == 1 && *t == '}' && depth > 0)
			depth--;
	}
	snprintf(why, why_size, "grub.cfg has no menuentry");
	return -ENOENT;
}

int grubcfg_has_line(const char *cfg, const char *line)
{
	size_t want = strlen(line);

	FOR_LINES(cfg, strlen(cfg), l, ll) {
		const char *t = skip_blanks(l, l + ll);

		if ((size_t)(l + ll - t) == want && !strncmp(t, line, want))
			return 1;
	}
	return 0;
}

char *grubcfg_trial_file(const struct grubcfg_entry *def, const char *id, const char *title, const char *args,
			 const char *comment)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	strbuf_appendf(&sb, "%s", comment ? comment : "");
	strbuf_appendf(&sb, "menuentry '%s' --id %s {\n", title, id);
	FOR_LINES(def->body, strlen(def->body), l, ll) {
		const char *at;

		if (first_word(l, ll, "savedefault"))
			continue;
		if ((at = memmem(l, ll, "@ARGS@", 6))) {
			strbuf_append(&sb, l, (size_t)(at - l));
			strbuf_appends(&sb, args);
			strbuf_append(&sb, at + 6, ll - (size_t)(at - l) - 6);
		} else {
			strbuf_append(&sb, l, ll);
		}
		strbuf_appendc(&sb, '\n');
	}
	strbuf_appends(&sb, "}\n");
	return strbuf_steal(&sb);
}
