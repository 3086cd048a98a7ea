/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modprobe-config.c — what libkmod 30 makes of a set of modprobe.d files plus the kernel command
 *  line: modfile_config_parse() and its queries (blacklist, softdep, options, one parameter,
 *  --showconfig). Owns: kmod's kcmdline parser. Must not: edit text, open files, print; the
 *  caller reads the files and sorts them as kmod does. */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "modfile-internal.h"
#include "modprobe-read.h"
#include "strbuf.h"

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
