/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmdline.c — kernel command line tokenizer (after the kernel's next_arg()) and a pure editor.
 *  Owns: tokens as the kernel splits them, parameter checks, the edit plan (which tokens go,
 *  which are added) and applying it to one line. Must not: know where a command line is stored
 *  (grubfile.c, the caller), open files, print. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "macros.h"
#include "strbuf.h"

int cmdline_error_set(struct cmdline_error *err, int r, enum cmdline_reason reason,
		      const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return r;
	err->reason = reason;
	err->file = file;
	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return r;
}

static void error_clear(struct cmdline_error *err)
{
	if (!err)
		return;
	err->reason = CMDLINE_OK;
	err->file = NULL;
	err->line = 0;
	err->message[0] = '\0';
}

/*
 * The kernel's isspace(): its ctype table is Latin-1, so besides the ASCII
 * blanks it also counts 0xA0 (no-break space) as a separator.
 */
static bool kernel_isspace(char c)
{
	unsigned char u = (unsigned char)c;

	return u == ' ' || (u >= '\t' && u <= '\r') || u == 0xA0;
}

static size_t blanks_skip(const char *s, size_t len, size_t pos)
{
	while (pos < len && kernel_isspace(s[pos]))
		pos++;
	return pos;
}

/* One next_arg() step from pos (not a blank); returns where the token ends. */
static size_t token_read(const char *s, size_t len, size_t pos, struct cmdline_token *t)
{
	size_t body = pos, i, equals = 0;
	bool in_quote = false, quoted = false, have_eq = false;

	if (s[pos] == '"') {
		body = pos + 1;
		in_quote = quoted = true;
	}
	for (i = body; i < len; i++) {
		if (kernel_isspace(s[i]) && !in_quote)
			break;
		/* next_arg() ignores a '=' at the very first byte of the body */
		if (!have_eq && s[i] == '=' && i > body) {
			equals = i;
			have_eq = true;
		}
		if (s[i] == '"')
			in_quote = !in_quote;
	}

	*t = (struct cmdline_token) {
		.start = pos,
		.len = i - pos,
		.key_start = body,
		.has_value = have_eq,
		.open_quote = in_quote,
	};
	/* A token that began with '"' loses its last byte when that is '"'. */
	bool strip_tail = quoted && i > body && s[i - 1] == '"';

	if (!have_eq) {
		t->key_len = (strip_tail ? i - 1 : i) - body;
		return i;
	}
	t->key_len = equals - body;
	size_t vs = equals + 1, ve = i;

	if (vs < i && s[vs] == '"') {
		vs++;
		if (s[i - 1] == '"')
			ve = i - 1;
	}
	if (strip_tail)
		ve = i - 1;
	if (ve < vs)
		ve = vs;
	t->value_start = vs;
	t->value_len = ve - vs;
	return i;
}

static bool token_is_dashes(const char *s, const struct cmdline_token *t)
{
	return !t->has_value && t->key_len == 2 && memcmp(s + t->key_start, "--", 2) == 0;
}

int cmdline_tokenize(const char *line, size_t len, struct cmdline_token **ret_tokens,
		     size_t *ret_n, size_t *ret_n_kernel)
{
	_cleanup_free_ struct cmdline_token *v = NULL;
	size_t n = 0, cap = 0, n_kernel = (size_t)-1;
	size_t pos = blanks_skip(line, len, 0);

	while (pos < len) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct cmdline_token *p = realloc(v, ncap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			v = p;
			cap = ncap;
		}
		pos = token_read(line, len, pos, &v[n]);
		if (n_kernel == (size_t)-1 && token_is_dashes(line, &v[n]))
			n_kernel = n;
		n++;
		pos = blanks_skip(line, len, pos);
	}
	*ret_tokens = TAKE_PTR(v);
	*ret_n = n;
	*ret_n_kernel = n_kernel == (size_t)-1 ? n : n_kernel;
	return 0;
}

bool cmdline_key_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		char x = a[i] == '-' ? '_' : a[i];
		char y = b[i] == '-' ? '_' : b[i];

		if (x != y)
			return false;
	}
	return true;
}

/* Both as the kernel sees them: same key, and same value (or both without one). */
static bool token_same(const char *a, const struct cmdline_token *ta,
		       const char *b, const struct cmdline_token *tb)
{
	if (!cmdline_key_equal(a + ta->key_start, ta->key_len, b + tb->key_start, tb->key_len))
		return false;
	if (ta->has_value != tb->has_value)
		return false;
	return !ta->has_value || (ta->value_len == tb->value_len &&
				  memcmp(a + ta->value_start, b + tb->value_start, ta->value_len) == 0);
}

static bool token_key_same(const char *a, const struct cmdline_token *ta,
			   const char *b, const struct cmdline_token *tb)
{
	return cmdline_key_equal(a + ta->key_start, ta->key_len, b + tb->key_start, tb->key_len);
}

/* A removal "key" matches by key, "key=value" only that value. */
static bool removal_matches(const char *r, const struct cmdline_token *tr,
			    const char *s, const struct cmdline_token *t)
{
	if (tr->has_value)
		return token_same(r, tr, s, t);
	return token_key_same(r, tr, s, t);
}

/* Tokenize a parameter of the intent; it must be exactly one token covering all of it. */
static int param_token(const char *param, struct cmdline_token *ret)
{
	size_t len = strlen(param);

	if (len == 0 || kernel_isspace(param[0]))
		return -EINVAL;
	if (token_read(param, len, 0, ret) != len)
		return -EINVAL;
	return 0;
}

int cmdline_param_check(const char *param, struct cmdline_error *err)
{
	struct cmdline_token t;
	size_t len = strlen(param);

	if (len == 0)
		return cmdline_error_set(err, -EINVAL, CMDLINE_BAD_PARAM, NULL, 0,
					 "empty kernel parameter");
	if (len > CMDLINE_MAX)
		return cmdline_error_set(err, -EINVAL, CMDLINE_BAD_PARAM, NULL, 0,
					 "kernel parameter is %zu bytes long, more than the %d a command line holds",
					 len, CMDLINE_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)param[i];

		if (c < 0x20 || c > 0x7e)
			return cmdline_error_set(err, -EINVAL, CMDLINE_BAD_PARAM, NULL, 0,
						 "kernel parameter '%s' has a control or non-ASCII byte (0x%02x)",
						 param, c);
	}
	if (param_token(param, &t) < 0 || t.open_quote)
		return cmdline_error_set(err, -EINVAL, CMDLINE_BAD_PARAM, NULL, 0,
					 "'%s' is not one kernel parameter (blanks outside quotes, or an open quote)",
					 param);
	if (param[0] == '=' || t.key_len == 0)
		return cmdline_error_set(err, -EINVAL, CMDLINE_BAD_PARAM, NULL, 0,
					 "kernel parameter '%s' has no name", param);
	if (token_is_dashes(param, &t))
		return cmdline_error_set(err, -EINVAL, CMDLINE_BAD_PARAM, NULL, 0,
					 "'--' separates kernel parameters from init's; it cannot be added or removed");
	return 0;
}

/* Whether a kernel parameter of line (before "--") matches param, by match. */
static bool cmdline_find(const char *line, const char *param,
			 bool (*match)(const char *param, const struct cmdline_token *tp, const char *line,
				       const struct cmdline_token *t))
{
	_cleanup_free_ struct cmdline_token *tokens = NULL;
	struct cmdline_token tp;
	size_t n, n_kernel;

	if (cmdline_param_check(param, NULL) < 0 || param_token(param, &tp) < 0)
		return false;
	if (cmdline_tokenize(line, strlen(line), &tokens, &n, &n_kernel) < 0)
		return false;
	for (size_t i = 0; i < n_kernel; i++)
		if (match(param, &tp, line, &tokens[i]))
			return true;
	return false;
}

bool cmdline_has(const char *line, const char *param)
{
	return cmdline_find(line, param, removal_matches);
}

bool cmdline_has_exactly(const char *line, const char *param)
{
	return cmdline_find(line, param, token_same);
}

void cmdline_plan_release(struct cmdline_plan *plan)
{
	free(plan->tokens);
	free(plan->action);
	free(plan->replace);
	free(plan->append);
	*plan = (struct cmdline_plan) {0};
}

static size_t strv_length(const char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* Refuse an intent that contradicts itself, before looking at the line. */
static int intent_check(const char *const *add, const char *const *remove,
			struct cmdline_error *err)
{
	size_t n_add = strv_length(add), n_remove = strv_length(remove);
	struct cmdline_token ta, tb;
	int r;

	for (size_t i = 0; i < n_add; i++) {
		r = cmdline_param_check(add[i], err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n_remove; i++) {
		r = cmdline_param_check(remove[i], err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n_add; i++) {
		param_token(add[i], &ta);
		for (size_t j = 0; j < n_remove; j++) {
			param_token(remove[j], &tb);
			if (removal_matches(remove[j], &tb, add[i], &ta))
				return cmdline_error_set(err, -EINVAL, CMDLINE_CONFLICT, NULL, 0,
							 "'%s' is both added and removed (by '%s')",
							 add[i], remove[j]);
		}
		for (size_t j = 0; j < i; j++) {
			param_token(add[j], &tb);
			if (token_key_same(add[i], &ta, add[j], &tb) &&
			    !token_same(add[i], &ta, add[j], &tb))
				return cmdline_error_set(err, -EINVAL, CMDLINE_CONFLICT, NULL, 0,
							 "'%s' and '%s' set the same parameter",
							 add[j], add[i]);
		}
	}
	return 0;
}

static bool add_is_duplicate(const char *const *add, size_t i)
{
	struct cmdline_token ta, tb;

	param_token(add[i], &ta);
	for (size_t j = 0; j < i; j++) {
		param_token(add[j], &tb);
		if (token_same(add[i], &ta, add[j], &tb))
			return true;
	}
	return false;
}

static void plan_removals(struct cmdline_plan *p, const char *line, const char *const *remove)
{
	struct cmdline_token tr;

	for (size_t j = 0; remove && remove[j]; j++) {
		param_token(remove[j], &tr);
		for (size_t i = 0; i < p->n_kernel; i++)
			if (removal_matches(remove[j], &tr, line, &p->tokens[i]))
				p->action[i] = CMDLINE_DROP;
	}
}

/* The first surviving token with the add's key stays (rewritten if needed); later ones go. */
static void plan_add(struct cmdline_plan *p, const char *line, const char *add)
{
	struct cmdline_token ta;
	bool found = false;

	param_token(add, &ta);
	for (size_t i = 0; i < p->n_kernel; i++) {
		if (p->action[i] == CMDLINE_DROP ||
		    !token_key_same(add, &ta, line, &p->tokens[i]))
			continue;
		if (found) {
			p->action[i] = CMDLINE_DROP;
			continue;
		}
		found = true;
		if (!token_same(add, &ta, line, &p->tokens[i])) {
			p->action[i] = CMDLINE_REPLACE;
			p->replace[i] = add;
		}
	}
	if (!found)
		p->append[p->n_append++] = add;
}

int cmdline_plan_make(const char *line, size_t len, const char *const *add,
		      const char *const *remove, struct cmdline_plan *ret_plan,
		      struct cmdline_error *err)
{
	struct cmdline_plan p = {0};
	size_t n_add = strv_length(add);
	int r;

	error_clear(err);
	r = intent_check(add, remove, err);
	if (r < 0)
		return r;
	r = cmdline_tokenize(line, len, &p.tokens, &p.n_tokens, &p.n_kernel);
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	p.action = calloc(p.n_tokens + 1, sizeof(*p.action));
	p.replace = calloc(p.n_tokens + 1, sizeof(*p.replace));
	p.append = calloc(n_add + 1, sizeof(*p.append));
	if (!p.action || !p.replace || !p.append)
		goto fail;

	plan_removals(&p, line, remove);
	for (size_t i = 0; i < n_add; i++)
		if (!add_is_duplicate(add, i))
			plan_add(&p, line, add[i]);

	p.changes = p.n_append > 0;
	for (size_t i = 0; i < p.n_tokens; i++)
		if (p.action[i] != CMDLINE_KEEP)
			p.changes = true;
	*ret_plan = p;
	return 0;
fail:
	cmdline_plan_release(&p);
	return cmdline_error_set(err, r, CMDLINE_NO_MEMORY, NULL, 0, "out of memory");
}

void cmdline_plan_drop_range(const struct cmdline_plan *plan, const char *line, size_t len,
			     size_t i, size_t *ret_start, size_t *ret_end)
{
	const struct cmdline_token *t = &plan->tokens[i];
	size_t end = t->start + t->len;
	bool kept_before = false;

	(void)line;
	(void)len;
	for (size_t j = 0; j < i && !kept_before; j++)
		kept_before = plan->action[j] != CMDLINE_DROP;
	if (kept_before) {
		const struct cmdline_token *prev = &plan->tokens[i - 1];

		*ret_start = prev->start + prev->len;
		*ret_end = end;
		return;
	}
	/*
	 * Nothing stays before it: take the blanks after it instead, up to the
	 * next token, so the line does not start with a new blank.
	 */
	*ret_start = t->start;
	*ret_end = i + 1 < plan->n_tokens ? plan->tokens[i + 1].start : end;
}

/* The length the kernel gets: the file's one trailing newline is not part of it. */
static size_t effective_length(const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '\n') {
		len--;
		if (len > 0 && s[len - 1] == '\r')
			len--;
	}
	return len;
}

/* Where new tokens go: after the last kernel token, or before "--". */
static size_t insert_point(const struct cmdline_plan *p, bool *ret_before_dashes)
{
	*ret_before_dashes = p->n_kernel < p->n_tokens;
	if (*ret_before_dashes)
		return p->tokens[p->n_kernel].start;
	if (p->n_kernel == 0)
		return 0;
	return p->tokens[p->n_kernel - 1].start + p->tokens[p->n_kernel - 1].len;
}

static int appends_emit(struct strbuf *out, const struct cmdline_plan *p, bool before_dashes)
{
	int r = 0;

	if (out->len > 0 && !kernel_isspace(out->buf[out->len - 1]))
		r = strbuf_appendc(out, ' ');
	for (size_t i = 0; r >= 0 && i < p->n_append; i++) {
		if (i > 0)
			r = strbuf_appendc(out, ' ');
		if (r >= 0)
			r = strbuf_appends(out, p->append[i]);
	}
	if (r >= 0 && before_dashes)
		r = strbuf_appendc(out, ' ');
	return r;
}

static int plan_apply(const struct cmdline_plan *p, const char *old, size_t len,
		      struct strbuf *out)
{
	_cleanup_free_ bool *del = calloc(len + 1, sizeof(bool));
	bool before_dashes;
	size_t ip = insert_point(p, &before_dashes);
	size_t next_tok = 0;
	int r = 0;

	if (!del)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_tokens; i++) {
		size_t s, e;

		if (p->action[i] != CMDLINE_DROP)
			continue;
		cmdline_plan_drop_range(p, old, len, i, &s, &e);
		memset(del + s, true, e - s);
	}
	for (size_t k = 0; r >= 0 && k < len; k++) {
		if (k == ip && p->n_append > 0)
			r = appends_emit(out, p, before_dashes);
		while (next_tok < p->n_tokens && p->tokens[next_tok].start < k)
			next_tok++;
		if (r >= 0 && next_tok < p->n_tokens && p->tokens[next_tok].start == k &&
		    p->action[next_tok] == CMDLINE_REPLACE) {
			r = strbuf_appends(out, p->replace[next_tok]);
			k += p->tokens[next_tok].len - 1;
			continue;
		}
		if (r >= 0 && !del[k])
			r = strbuf_appendc(out, old[k]);
	}
	if (r >= 0 && ip == len && p->n_append > 0)
		r = appends_emit(out, p, before_dashes);
	if (r >= 0 && !out->buf)
		r = strbuf_append(out, "", 0);
	return r;
}

/* An edit must re-read as done: applying the intent again changes nothing. */
static int result_verify(const char *text, const char *const *add, const char *const *remove,
			 struct cmdline_error *err)
{
	struct cmdline_plan again = {0};
	int r = cmdline_plan_make(text, strlen(text), add, remove, &again, err);

	if (r < 0)
		return r;
	bool changes = again.changes;

	cmdline_plan_release(&again);
	if (changes)
		return cmdline_error_set(err, -EBADMSG, CMDLINE_UNSTABLE, NULL, 0,
					 "the edited command line would not read back as intended; nothing was changed");
	return 0;
}

int cmdline_edit(const char *old, const char *const *add, const char *const *remove,
		 char **ret_new, struct cmdline_error *err)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	struct cmdline_plan p = {0};
	size_t len = strlen(old);
	int r;

	r = cmdline_plan_make(old, len, add, remove, &p, err);
	if (r < 0)
		return r;
	if (p.n_append > 0 && p.n_kernel == p.n_tokens && p.n_kernel > 0 &&
	    p.tokens[p.n_kernel - 1].open_quote) {
		cmdline_plan_release(&p);
		return cmdline_error_set(err, -EINVAL, CMDLINE_UNTERMINATED, NULL, 0,
					 "the command line ends inside an open '\"'; a parameter added after it would become part of that value");
	}
	r = plan_apply(&p, old, len, &out);
	cmdline_plan_release(&p);
	if (r < 0)
		return cmdline_error_set(err, r, CMDLINE_NO_MEMORY, NULL, 0, "out of memory");

	size_t new_len = effective_length(out.buf, out.len);

	if (new_len > CMDLINE_MAX && new_len > effective_length(old, len))
		return cmdline_error_set(err, -E2BIG, CMDLINE_TOO_LONG, NULL, 0,
					 "the command line would be %zu bytes, %zu more than the kernel's limit of %d",
					 new_len, new_len - CMDLINE_MAX, CMDLINE_MAX);
	r = result_verify(out.buf, add, remove, err);
	if (r < 0)
		return r;
	*ret_new = strbuf_steal(&out);
	if (!*ret_new)
		return cmdline_error_set(err, -ENOMEM, CMDLINE_NO_MEMORY, NULL, 0, "out of memory");
	return 0;
}
