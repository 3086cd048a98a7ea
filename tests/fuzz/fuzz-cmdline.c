/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-cmdline.c — libFuzzer target: the kernel command line tokenizer, cmdline_has() and cmdline_edit(). */
/*
 * Input: "+add<TAB>-remove..." on the first line, then the command line (as
 * /etc/kernel/cmdline holds it; up to a NUL). Checked:
 *  - cmdline_tokenize() agrees token by token with the kernel's own
 *    next_arg()/parse_args(), rewritten below from lib/cmdline.c and
 *    kernel/params.c as an oracle, and "--" ends the kernel part where the
 *    kernel stops;
 *  - cmdline_has() says what the oracle's tokens say;
 *  - on a successful edit: every add is present with its key exactly once,
 *    no removal matches, untouched tokens keep their text and order, the
 *    part after "--" is byte-identical, the length limit holds, and the
 *    same edit on the result returns the result unchanged;
 *  - vfio_cmdline_ids() finds the last vfio-pci ids list the oracle sees;
 *    vfio_id_valid() never accepts an entry the kernel's sscanf() would
 *    reject, and vfio_ids_extend() keeps the list as a prefix and ends up
 *    holding every id;
 *  - on a refusal: the errno and the reason agree and a message is set;
 *    CMDLINE_UNSTABLE (the editor's own "result would not re-read" guard)
 *    counts as a failure, since it means the editor computed a wrong text.
 */
#include <errno.h>

#include "cmdline.h"
#include "fuzz-common.h"
#include "vfioids.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the oracle: the kernel's tokenizer, on a writable copy as the kernel does ---- */

/* The kernel's isspace(): its ctype table is Latin-1, where 0xA0 is a blank too. */
static bool k_isspace(char c)
{
	unsigned char u = (unsigned char)c;

	return u == ' ' || (u >= '\t' && u <= '\r') || u == 0xA0;
}

static char *k_skip_spaces(char *s)
{
	while (k_isspace(*s))
		s++;
	return s;
}

/* lib/cmdline.c next_arg(), step for step: it writes NULs into args. */
static char *k_next_arg(char *args, char **param, char **val)
{
	unsigned int i, equals = 0;
	int in_quote = 0, quoted = 0;

	if (*args == '"') {
		args++;
		in_quote = 1;
		quoted = 1;
	}
	for (i = 0; args[i]; i++) {
		if (k_isspace(args[i]) && !in_quote)
			break;
		if (equals == 0 && args[i] == '=')
			equals = i;
		if (args[i] == '"')
			in_quote = !in_quote;
	}
	*param = args;
	if (!equals) {
		*val = NULL;
	} else {
		args[equals] = '\0';
		*val = args + equals + 1;
		if (**val == '"') {
			(*val)++;
			if (args[i - 1] == '"')
				args[i - 1] = '\0';
		}
	}
	if (quoted && i > 0 && args[i - 1] == '"')
		args[i - 1] = '\0';
	if (args[i]) {
		args[i] = '\0';
		args += i + 1;
	} else {
		args += i;
	}
	return k_skip_spaces(args);
}

struct k_token {
	char *param, *val;
};

/* kernel/params.c parse_args(): the tokens up to and including a bare "--",
 * which ends the kernel's part. Returns the count; *ret_dashes tells whether
 * it stopped at "--". */
static size_t k_parse(char *line, struct k_token **ret, bool *ret_dashes)
{
	size_t n = 0, cap = 0;
	struct k_token *v = NULL;
	char *args = k_skip_spaces(line);

	*ret_dashes = false;
	while (*args) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				abort();
		}
		args = k_next_arg(args, &v[n].param, &v[n].val);
		n++;
		if (!v[n - 1].val && strcmp(v[n - 1].param, "--") == 0) {
			*ret_dashes = true;
			break;
		}
	}
	*ret = v;
	return n;
}

static bool k_key_equal(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if ((*a == '-' ? '_' : *a) != (*b == '-' ? '_' : *b))
			return false;
	return *a == *b;
}

/* Whether the kernel part of line has param, by the oracle: a bare key
 * matches any value, key=value that value. */
static bool k_has(const char *line, const char *param)
{
	char *lcopy = strdup(line), *pcopy = strdup(param);
	struct k_token *t = NULL, *pt = NULL;
	bool dashes, pdashes, found = false;
	size_t n, pn;

	if (!lcopy || !pcopy)
		abort();
	n = k_parse(lcopy, &t, &dashes);
	pn = k_parse(pcopy, &pt, &pdashes);
	if (pn == 1)
		for (size_t i = 0; i < n - (dashes ? 1 : 0) && !found; i++)
			found = k_key_equal(t[i].param, pt[0].param) &&
				(!pt[0].val || (t[i].val && strcmp(t[i].val, pt[0].val) == 0));
	free(t);
	free(pt);
	free(lcopy);
	free(pcopy);
	return found;
}

/* ---- checks ---- */

/* cmdline_tokenize() against the oracle; also its own layout promises. */
static void check_tokenize(const char *line)
{
	size_t len = strlen(line), n, n_kernel, kn, prev_end = 0;
	struct cmdline_token *tok = NULL;
	struct k_token *kt = NULL;
	char *copy = strdup(line);
	bool dashes;

	if (!copy)
		abort();
	FUZZ_CHECK(cmdline_tokenize(line, len, &tok, &n, &n_kernel) == 0, "cmdline_tokenize failed");
	FUZZ_CHECK(n_kernel <= n, "n_kernel %zu > n %zu", n_kernel, n);
	for (size_t i = 0; i < n; i++) {
		const struct cmdline_token *t = &tok[i];

		FUZZ_CHECK(t->len > 0 && t->start >= prev_end && t->start + t->len <= len,
			   "token %zu [%zu,+%zu) out of order or bounds", i, t->start, t->len);
		for (size_t k = prev_end; k < t->start; k++)
			FUZZ_CHECK(k_isspace(line[k]), "non-blank byte between tokens at %zu", k);
		FUZZ_CHECK(t->key_start >= t->start && t->key_start + t->key_len <= t->start + t->len,
			   "token %zu key outside the token", i);
		FUZZ_CHECK(!t->has_value || (t->value_start >= t->key_start + t->key_len &&
					      t->value_start + t->value_len <= t->start + t->len),
			   "token %zu value outside the token", i);
		prev_end = t->start + t->len;
	}
	for (size_t k = prev_end; k < len; k++)
		FUZZ_CHECK(k_isspace(line[k]), "non-blank byte after the last token at %zu", k);

	kn = k_parse(copy, &kt, &dashes);
	FUZZ_CHECK(kn == (dashes ? n_kernel + 1 : n_kernel),
		   "kernel sees %zu tokens%s, tokenizer %zu kernel tokens", kn, dashes ? " up to --" : "", n_kernel);
	for (size_t i = 0; i < kn && i < n; i++) {
		const struct cmdline_token *t = &tok[i];

		FUZZ_CHECK(strlen(kt[i].param) == t->key_len && memcmp(kt[i].param, line + t->key_start, t->key_len) == 0,
			   "token %zu: kernel key '%s', tokenizer '%.*s'", i, kt[i].param, (int)t->key_len,
			   line + t->key_start);
		FUZZ_CHECK(!!kt[i].val == t->has_value, "token %zu: value presence differs from the kernel", i);
		FUZZ_CHECK(!t->has_value || (strlen(kt[i].val) == t->value_len &&
					     memcmp(kt[i].val, line + t->value_start, t->value_len) == 0),
			   "token %zu: kernel value '%s', tokenizer '%.*s'", i, kt[i].val, (int)t->value_len,
			   line + t->value_start);
	}
	free(kt);
	free(copy);
	free(tok);
}

/* Kernel tokens of line whose key equals param's key. */
static size_t key_count(const char *line, const char *param)
{
	char *lcopy = strdup(line), *pcopy = strdup(param);
	struct k_token *t = NULL, *pt = NULL;
	bool dashes, pdashes;
	size_t n, pn, count = 0;

	if (!lcopy || !pcopy)
		abort();
	n = k_parse(lcopy, &t, &dashes);
	pn = k_parse(pcopy, &pt, &pdashes);
	for (size_t i = 0; pn == 1 && i < n - (dashes ? 1 : 0); i++)
		count += k_key_equal(t[i].param, pt[0].param);
	free(t);
	free(pt);
	free(lcopy);
	free(pcopy);
	return count;
}

/* The kernel's key and value of one parameter written alone; false unless it is one token. */
static bool k_param(const char *param, char **ret_copy, struct k_token *ret)
{
	struct k_token *t = NULL;
	bool dashes;
	size_t n;

	*ret_copy = strdup(param);
	if (!*ret_copy)
		abort();
	n = k_parse(*ret_copy, &t, &dashes);
	if (n == 1)
		*ret = t[0];
	free(t);
	return n == 1;
}

/* Whether the edit may touch token t of old: it shares a key with an add, or a removal matches it. */
static bool token_touched(const char *old, const struct cmdline_token *t, const struct fuzz_intent *in)
{
	char *tok = strndup(old + t->start, t->len), *tcopy, *acopy;
	struct k_token kt, ka;
	bool touched = false;

	if (!tok)
		abort();
	if (!k_param(tok, &tcopy, &kt))
		fuzz_fail("token '%s' is not one kernel token", tok);
	for (size_t i = 0; i < in->n_add && !touched; i++) {
		if (k_param(in->add[i], &acopy, &ka))
			touched = k_key_equal(kt.param, ka.param);
		free(acopy);
	}
	for (size_t i = 0; i < in->n_remove && !touched; i++)
		touched = k_has(tok, in->remove[i]);
	free(tcopy);
	free(tok);
	return touched;
}

static size_t effective_length(const char *s)
{
	size_t len = strlen(s);

	if (len > 0 && s[len - 1] == '\n') {
		len--;
		if (len > 0 && s[len - 1] == '\r')
			len--;
	}
	return len;
}

static void check_edit_result(const char *old, const char *new, const struct fuzz_intent *in)
{
	struct cmdline_token *tok = NULL;
	size_t n, n_kernel, cursor = 0, new_len = strlen(new);
	struct cmdline_error err;
	char *again = NULL;
	int r;

	for (size_t i = 0; i < in->n_add; i++) {
		FUZZ_CHECK(cmdline_has(new, in->add[i]) && k_has(new, in->add[i]), "added '%s' is missing", in->add[i]);
		FUZZ_CHECK(key_count(new, in->add[i]) == 1, "added '%s': its key is there %zu times", in->add[i],
			   key_count(new, in->add[i]));
	}
	for (size_t i = 0; i < in->n_remove; i++)
		FUZZ_CHECK(!cmdline_has(new, in->remove[i]) && !k_has(new, in->remove[i]),
			   "removed '%s' is still there", in->remove[i]);
	FUZZ_CHECK(effective_length(new) <= CMDLINE_MAX || effective_length(new) <= effective_length(old),
		   "result is %zu bytes, over the limit and longer than before", effective_length(new));

	/* untouched tokens keep their bytes and order; after "--" nothing changes */
	if (cmdline_tokenize(old, strlen(old), &tok, &n, &n_kernel) < 0)
		abort();
	for (size_t i = 0; i < n_kernel; i++) {
		const char *hit;

		if (token_touched(old, &tok[i], in))
			continue;
		hit = memmem(new + cursor, new_len - cursor, old + tok[i].start, tok[i].len);
		FUZZ_CHECK(hit, "untouched token '%.*s' lost or reordered", (int)tok[i].len, old + tok[i].start);
		cursor = (size_t)(hit - new) + tok[i].len;
	}
	if (n_kernel < n) {
		size_t tail = strlen(old) - tok[n_kernel].start;

		FUZZ_CHECK(new_len >= tail && memcmp(new + new_len - tail, old + tok[n_kernel].start, tail) == 0,
			   "the part from \"--\" on changed");
	}
	free(tok);

	/* idempotence */
	r = cmdline_edit(new, in->add, in->remove, &again, &err);
	FUZZ_CHECK(r == 0, "second edit failed: %d %s", r, err.message);
	FUZZ_CHECK(strcmp(again, new) == 0, "second edit changed the text again");
	free(again);
}

/* Whether the line's last token leaves a '"' open (so an append would join it). */
static bool last_quote_open(const char *line)
{
	struct cmdline_token *tok = NULL;
	size_t n, n_kernel;
	bool open;

	if (cmdline_tokenize(line, strlen(line), &tok, &n, &n_kernel) < 0)
		abort();
	open = n > 0 && tok[n - 1].open_quote;
	free(tok);
	return open;
}

static void check_refusal(int r, const struct cmdline_error *err, const char *old)
{
	FUZZ_CHECK(err->message[0], "refusal %d without a message", r);
	switch (r) {
	case -EINVAL:
		FUZZ_CHECK(err->reason == CMDLINE_BAD_PARAM || err->reason == CMDLINE_CONFLICT ||
			   err->reason == CMDLINE_UNTERMINATED, "-EINVAL with reason %d", err->reason);
		FUZZ_CHECK(err->reason != CMDLINE_UNTERMINATED || last_quote_open(old),
			   "refused for an open quote the line does not have");
		break;
	case -E2BIG:
		FUZZ_CHECK(err->reason == CMDLINE_TOO_LONG, "-E2BIG with reason %d", err->reason);
		break;
	case -EBADMSG:
		fuzz_fail("the editor's own guard fired (reason %d): %s", err->reason, err->message);
	default:
		fuzz_fail("unexpected return %d (%s)", r, err->message);
	}
}

/* kernel/params.c parameq(): '-' and '_' compare equal. */
static bool k_parameq(const char *a, const char *b)
{
	for (;; a++, b++) {
		char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;

		if (x != y)
			return false;
		if (!x)
			return true;
	}
}

/* The last "vfio_pci.ids=VALUE" (parameq: '-' and '_' alike) the oracle tokenizer sees. */
static char *k_last_ids(const char *line)
{
	char *copy = fuzz_strndup((const uint8_t *)line, strlen(line)), *args = k_skip_spaces(copy), *param, *val, *last = NULL;

	while (*args) {
		args = k_next_arg(args, &param, &val);
		if (!val && strcmp(param, "--") == 0)
			break;
		if (val && k_parameq(param, "vfio_pci.ids")) {
			free(last);
			last = fuzz_strndup((const uint8_t *)val, strlen(val));
		}
	}
	free(copy);
	return last;
}

static void check_vfio_ids(const char *line)
{
	static char *targets_v[] = { "10de:1b80", "1002:ab28", "02:00.0" };
	struct strv targets = { .v = targets_v, .n = 3 }, bad = { 0 };
	char *key = NULL, *value = NULL, *extended = NULL, *want = k_last_ids(line);
	unsigned count = 0;
	size_t at = 0;
	int k = vfio_cmdline_ids(line, &key, &value, &count, &at);

	FUZZ_CHECK(k == (want != NULL), "vfio_cmdline_ids() %s a list the kernel %s", k ? "found" : "missed",
		   want ? "sees" : "does not see");
	if (k == 1 && want)
		FUZZ_CHECK(strcmp(value, want) == 0, "ids list '%s', the kernel's '%s'", value, want);
	if (k == 1) {
		FUZZ_CHECK(vfio_ids_invalid(value, &bad) == 0, "vfio_ids_invalid() failed");
		for (const char *p = value; *p;) {
			size_t len = strcspn(p, ",");
			char *e = fuzz_strndup((const uint8_t *)p, len);
			unsigned f[6];

			if (len && vfio_id_valid(e))
				FUZZ_CHECK(sscanf(e, "%x:%x:%x:%x:%x:%x", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5]) >= 2,
					   "'%s' is called an id, but the kernel rejects it", e);
			free(e);
			p += len + (p[len] == ',');
		}
		FUZZ_CHECK(vfio_ids_extend(value, &targets, &extended) >= 0, "vfio_ids_extend() failed");
		FUZZ_CHECK(strncmp(extended, value, strlen(value)) == 0, "the list '%s' is not kept as it was in '%s'",
			   value, extended);
		for (size_t i = 0; i < targets.n; i++)
			FUZZ_CHECK(vfio_ids_has(extended, targets.v[i]), "'%s' lacks %s", extended, targets.v[i]);
	}
	strv_clear(&bad);
	free(key);
	free(value);
	free(extended);
	free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *body;
	size_t body_len;
	char *header, *line, *new = NULL;
	struct fuzz_intent in;
	struct cmdline_error err;
	int r;

	fuzz_split_header(data, size, &header, &body, &body_len);
	line = fuzz_strndup(body, body_len);
	fuzz_intent_parse(header, &in);

	check_tokenize(line);
	check_vfio_ids(line);
	for (size_t i = 0; i < in.n_add + in.n_remove; i++) {
		const char *p = i < in.n_add ? in.add[i] : in.remove[i - in.n_add];

		if (cmdline_param_check(p, NULL) == 0)
			FUZZ_CHECK(cmdline_has(line, p) == k_has(line, p), "cmdline_has('%s') disagrees with the kernel", p);
		else
			FUZZ_CHECK(!cmdline_has(line, p), "cmdline_has() found the invalid parameter '%s'", p);
	}

	memset(&err, 0xa5, sizeof(err));
	r = cmdline_edit(line, in.add, in.remove, &new, &err);
	if (r == 0) {
		FUZZ_CHECK(err.reason == CMDLINE_OK && !err.message[0], "error not cleared on success");
		check_edit_result(line, new, &in);
		free(new);
	} else {
		FUZZ_CHECK(r != -ENOMEM, "out of memory");
		check_refusal(r, &err, line);
	}

	fuzz_intent_free(&in);
	free(line);
	free(header);
	return 0;
}
