/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-modprobe.c — libFuzzer target: the modprobe.d editors and the kmod-faithful reader (modfile_config_*). */
/*
 * Input: "OP<TAB>MODULE<TAB>ARG1<TAB>ARG2" on the first line, then one
 * modprobe.d file, then (after a NUL, optional) a kernel command line for
 * the reader. OP: "b+" "b-" blacklist, "o+" options (ARG1 the options),
 * "o-" (ARG1 the keys, none: all), "s+" "s-" softdep (ARG1 pre, ARG2 post,
 * missing: NULL). Checked:
 *  - the reader takes any text and command line, and dumps what it read;
 *  - an invalid module name is -EINVAL; -EBADMSG names a line of the file;
 *  - on success the edited file, read back the way kmod reads it, says what
 *    the intent asked for (blacklisted or not; each option's value; each
 *    key gone; each softdep on its side, or gone);
 *  - 0 means the text is the same; the same edit again changes nothing;
 *  - logical lines that do not name the module are kept, in order.
 */
#include <errno.h>

#include "fuzz-common.h"
#include "modfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct intent {
	char op[3];
	const char *module, *arg1, *arg2;
};

typedef int (*edit_fn)(const char *text, const struct intent *in, char **ret, struct modfile_error *err);

static int do_blacklist_add(const char *t, const struct intent *in, char **ret, struct modfile_error *err)
{
	return modfile_add_blacklist(t, in->module, ret, err);
}

static int do_blacklist_remove(const char *t, const struct intent *in, char **ret, struct modfile_error *err)
{
	return modfile_remove_blacklist(t, in->module, ret, err);
}

static int do_options_set(const char *t, const struct intent *in, char **ret, struct modfile_error *err)
{
	return modfile_set_options(t, in->module, in->arg1 ? in->arg1 : "", ret, err);
}

static int do_options_remove(const char *t, const struct intent *in, char **ret, struct modfile_error *err)
{
	return modfile_remove_options(t, in->module, in->arg1, ret, err);
}

static int do_softdep_add(const char *t, const struct intent *in, char **ret, struct modfile_error *err)
{
	return modfile_add_softdep(t, in->module, in->arg1, in->arg2, ret, err);
}

static int do_softdep_remove(const char *t, const struct intent *in, char **ret, struct modfile_error *err)
{
	return modfile_remove_softdep(t, in->module, in->arg1, in->arg2, ret, err);
}

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

static char *folded(const char *s, size_t n)
{
	char *f = fuzz_strndup((const uint8_t *)s, n);

	for (char *p = f; *p; p++)
		if (*p == '-')
			*p = '_';
	return f;
}

static bool names_equal(const char *a, const char *b)
{
	char *fa = folded(a, strlen(a)), *fb = folded(b, strlen(b));
	bool eq = strcmp(fa, fb) == 0;

	free(fa);
	free(fb);
	return eq;
}

/* A logical line that mentions the module (either spelling, and as kmod reads
 * it: a backslash escapes the next byte, backslash-newline joins) may change. */
static bool skip_module_lines(const char *line, size_t len, void *data)
{
	const char *module = data;
	char *fl = folded(line, len), *fm = folded(module, strlen(module)), *w = fl;
	bool hit;

	for (const char *r = fl; *r; r++) {
		if (*r == '\\' && r[1] == '\n')
			r++;
		else if (*r == '\\' && r[1])
			*w++ = *++r;
		else
			*w++ = *r;
	}
	*w = '\0';
	hit = strstr(fl, fm) != NULL;

	free(fl);
	free(fm);
	return hit;
}

/* The words of s (space separated), each a malloc'd string; NULL-terminated. */
static char **words(const char *s, size_t *ret_n)
{
	size_t n = 0, cap = 8;
	char **v = fuzz_xmalloc(cap * sizeof(char *));
	char *copy = strdup(s ? s : ""), *save = NULL;

	if (!copy)
		abort();
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n + 1 >= cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(char *));
			if (!v)
				abort();
		}
		v[n] = strdup(w);
		if (!v[n++])
			abort();
	}
	v[n] = NULL;
	free(copy);
	*ret_n = n;
	return v;
}

static void words_free(char **v)
{
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

static bool in_list(char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (names_equal(list[i], name))
			return true;
	return false;
}

/* What kmod makes of the edited file says what the intent asked for. */
static void check_meaning(const char *text, const struct intent *in)
{
	struct modfile_source src = { "/etc/modprobe.d/fuzz.conf", text };
	struct modfile_config *c = NULL;
	const struct modfile_entry *en;
	char **w, *value = NULL;
	size_t n;

	FUZZ_CHECK(modfile_config_parse(&src, 1, NULL, &c) == 0, "the edited file does not parse");
	switch (in->op[0]) {
	case 'b':
		en = modfile_config_find_blacklist(c, in->module);
		FUZZ_CHECK(in->op[1] == '+' ? en != NULL : en == NULL, "'%s' is %sblacklisted after the edit",
			   in->module, en ? "" : "not ");
		break;
	case 'o':
		w = words(in->arg1, &n);
		for (size_t i = 0; i < n; i++) {
			char *eq = strchr(w[i], '=');
			int k;

			if (eq)
				*eq = '\0';
			k = modfile_config_get_param(c, in->module, w[i], &value, NULL);
			if (in->op[1] == '+') {
				FUZZ_CHECK(k == 1, "option '%s' of '%s' not set", w[i], in->module);
				FUZZ_CHECK(eq ? value && strcmp(value, eq + 1) == 0 : !value,
					   "option '%s' of '%s' is '%s', not '%s'", w[i], in->module,
					   value ? value : "(flag)", eq ? eq + 1 : "(flag)");
			} else {
				FUZZ_CHECK(k == 0, "option '%s' of '%s' still set", w[i], in->module);
			}
			free(value);
			value = NULL;
		}
		if (in->op[1] == '-' && !in->arg1) {
			FUZZ_CHECK(modfile_config_get_options(c, in->module, &value) == 0,
				   "options for '%s' left: '%s'", in->module, value);
		}
		words_free(w);
		break;
	case 's':
		en = NULL;
		if (in->op[1] == '+') {
			en = modfile_config_find_softdep(c, in->module);
			FUZZ_CHECK(en, "no softdep for '%s' after adding one", in->module);
		} else {
			char *norm = folded(in->module, strlen(in->module));

			for (size_t i = 0; i < c->n_entries; i++)
				if (c->entries[i].kind == MODFILE_SOFTDEP && strcmp(c->entries[i].name, norm) == 0) {
					FUZZ_CHECK(in->arg1 || in->arg2, "a softdep line for '%s' is left", in->module);
					en = &c->entries[i];
					w = words(in->arg1, &n);
					for (size_t k = 0; k < n; k++)
						FUZZ_CHECK(!in_list(en->pre, en->n_pre, w[k]), "'%s' still a pre: of '%s'",
							   w[k], in->module);
					words_free(w);
					w = words(in->arg2, &n);
					for (size_t k = 0; k < n; k++)
						FUZZ_CHECK(!in_list(en->post, en->n_post, w[k]),
							   "'%s' still a post: of '%s'", w[k], in->module);
					words_free(w);
				}
			free(norm);
			break;
		}
		w = words(in->arg1, &n);
		for (size_t k = 0; k < n; k++)
			FUZZ_CHECK(in_list(en->pre, en->n_pre, w[k]), "'%s' is not a pre: of '%s' (%s)", w[k],
				   in->module, en->value);
		words_free(w);
		w = words(in->arg2, &n);
		for (size_t k = 0; k < n; k++)
			FUZZ_CHECK(in_list(en->post, en->n_post, w[k]), "'%s' is not a post: of '%s' (%s)", w[k],
				   in->module, en->value);
		words_free(w);
		break;
	}
	modfile_config_free(c);
}

static void check_edit(const char *old, const struct intent *in, edit_fn fn)
{
	struct modfile_error err = { 0 };
	char *new = NULL, *again = NULL;
	const char *lost;
	int r;

	r = fn(old, in, &new, &err);
	if (!module_valid(in->module)) {
		FUZZ_CHECK(r == -EINVAL, "%s of invalid module '%s' returned %d", in->op, in->module, r);
		return;
	}
	if (r == -EINVAL)
		return;
	if (r == -EBADMSG) {
		FUZZ_CHECK(err.line >= 1 && err.line <= fuzz_count_byte(old, strlen(old), '\n') + 1,
			   "%s refused at line %u, outside the file", in->op, err.line);
		FUZZ_CHECK(err.reason[0], "%s refused without a reason", in->op);
		return;
	}
	FUZZ_CHECK(r == 0 || r == 1, "%s returned %d", in->op, r);
	if (r == 0)
		FUZZ_CHECK(strcmp(new, old) == 0, "%s returned 0 and changed the text", in->op);
	lost = fuzz_lines_kept(old, strlen(old), new, strlen(new), true, skip_module_lines, (void *)in->module);
	FUZZ_CHECK(!lost, "%s lost line '%.60s'", in->op, lost);
	check_meaning(new, in);

	r = fn(new, in, &again, &err);
	FUZZ_CHECK(r == 0, "second %s returned %d (line %u: %s)", in->op, r, err.line, err.reason);
	FUZZ_CHECK(strcmp(again, new) == 0, "second %s changed the text", in->op);
	free(again);
	free(new);
}

static void check_reader(const char *text, const char *cmdline)
{
	struct modfile_source src = { "/etc/modprobe.d/fuzz.conf", text };
	struct modfile_config *c = NULL;
	char *dump = NULL, *opts = NULL, *value = NULL;

	FUZZ_CHECK(modfile_config_parse(&src, 1, cmdline, &c) == 0, "the reader failed");
	FUZZ_CHECK(modfile_config_dump(c, &dump) == 0, "dump failed");
	for (size_t i = 0; i < c->n_entries; i++) {
		const struct modfile_entry *en = &c->entries[i];

		FUZZ_CHECK(en->name, "entry %zu without a name", i);
		FUZZ_CHECK(en->line == 0 || en->line <= fuzz_count_byte(text, strlen(text), '\n') + 1,
			   "entry %zu at line %u, past the end", i, en->line);
		if (en->kind == MODFILE_OPTIONS && modfile_config_get_options(c, en->name, &opts) == 1) {
			FUZZ_CHECK(strstr(opts, en->value), "options of '%s' lack '%s'", en->name, en->value);
			free(opts);
			opts = NULL;
		}
		if (en->kind == MODFILE_SOFTDEP)
			FUZZ_CHECK(modfile_config_find_softdep(c, en->name) || strpbrk(en->name, "*?[\\"),
				   "softdep of '%s' not found by its own name", en->name);
	}
	(void)value;
	free(dump);
	modfile_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		const char *op;
		edit_fn fn;
	} ops[] = {
		{ "b+", do_blacklist_add }, { "b-", do_blacklist_remove }, { "o+", do_options_set },
		{ "o-", do_options_remove }, { "s+", do_softdep_add },	    { "s-", do_softdep_remove },
	};
	const uint8_t *body, *nul;
	size_t body_len;
	char *header, *text, *cmdline = NULL, *fields[4] = { 0 }, *save = NULL;
	struct intent in = { 0 };
	size_t nf = 0;

	fuzz_split_header(data, size, &header, &body, &body_len);
	nul = memchr(body, '\0', body_len);
	text = fuzz_strndup(body, nul ? (size_t)(nul - body) : body_len);
	if (nul)
		cmdline = fuzz_strndup(nul + 1, body_len - (size_t)(nul + 1 - body));
	for (char *f = strtok_r(header, "\t", &save); f && nf < 4; f = strtok_r(NULL, "\t", &save))
		fields[nf++] = f;

	check_reader(text, cmdline);
	snprintf(in.op, sizeof(in.op), "%s", fields[0] ? fields[0] : "");
	in.module = fields[1] ? fields[1] : "";
	in.arg1 = fields[2];
	in.arg2 = fields[3];
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(in.op, ops[i].op) == 0)
			check_edit(text, &in, ops[i].fn);

	free(cmdline);
	free(text);
	free(header);
	return 0;
}
