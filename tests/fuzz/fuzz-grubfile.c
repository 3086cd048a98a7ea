/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-grubfile.c — libFuzzer target: grub_edit_cmdline() and grub_read_cmdline() over /etc/default/grub and drop-ins. */
/*
 * Input: "+add<TAB>-remove..." on the first line, then /etc/default/grub, then
 * each drop-in, the files separated by NUL bytes (at most 8 files). Each file
 * is handed over in a buffer of exactly its length, without a terminating
 * NUL, as struct grub_file allows, so that AddressSanitizer sees a read past
 * its end. Checked:
 *  - a file grub_read_cmdline() refuses is refused by the editor too;
 *  - on success the edited files read back: every add's key exactly once
 *    in GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT together (the
 *    normal entry's kernel gets both as one line), with the add's value, in
 *    GRUB_CMDLINE_LINUX when that held the add before and in
 *    GRUB_CMDLINE_LINUX_DEFAULT otherwise; no removal left in either,
 *    the untouched parameters of both in their old order, the length limit;
 *  - bytes outside the edit: every line not naming GRUB_CMDLINE_LINUX* is
 *    kept in order, no new shell metacharacter appears, no line is added
 *    except the one new assignment at the end of /etc/default/grub;
 *  - the same edit on the result changes nothing;
 *  - refusals: -EINVAL only for a bad intent, -EBADMSG names a file and a
 *    line inside it, CMDLINE_UNSTABLE (the editor's "would not read back"
 *    guard) counts as a failure.
 */
#include <errno.h>

#include "cmdline.h"
#include "fuzz-common.h"
#include "grubfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILES 8
#define VAR_PREFIX "GRUB_CMDLINE_LINUX"

static const char *const names[MAX_FILES] = {
	"/etc/default/grub",	       "/etc/default/grub.d/10-a.cfg", "/etc/default/grub.d/20-b.cfg",
	"/etc/default/grub.d/30-c.cfg", "/etc/default/grub.d/40-d.cfg", "/etc/default/grub.d/50-e.cfg",
	"/etc/default/grub.d/60-f.cfg", "/etc/default/grub.d/70-g.cfg",
};

/* The body split at NUL bytes into exact-size, unterminated copies. */
static size_t files_split(const uint8_t *body, size_t len, struct grub_file *files)
{
	size_t n = 0, pos = 0;

	do {
		const uint8_t *nul = memchr(body + pos, '\0', len - pos);
		size_t end = nul && n + 1 < MAX_FILES ? (size_t)(nul - body) : len;
		char *copy = fuzz_xmalloc(end - pos);

		memcpy(copy, body + pos, end - pos);
		files[n] = (struct grub_file){ .name = names[n], .text = copy, .len = end - pos };
		n++;
		pos = end + 1;
	} while (pos <= len && n < MAX_FILES);
	return n;
}

/* Kernel tokens of value with param's key, and whether each has param's exact value. */
static size_t key_matches(const char *value, const char *param, size_t *ret_same)
{
	struct cmdline_token *t = NULL, *p = NULL;
	size_t n, n_kernel, pn, pk, count = 0;

	*ret_same = 0;
	if (cmdline_tokenize(value, strlen(value), &t, &n, &n_kernel) < 0 ||
	    cmdline_tokenize(param, strlen(param), &p, &pn, &pk) < 0 || pn != 1)
		abort();
	for (size_t i = 0; i < n_kernel; i++) {
		if (!cmdline_key_equal(value + t[i].key_start, t[i].key_len, param + p->key_start, p->key_len))
			continue;
		count++;
		*ret_same += t[i].has_value == p->has_value &&
			     (!p->has_value || (t[i].value_len == p->value_len &&
						memcmp(value + t[i].value_start, param + p->value_start, p->value_len) == 0));
	}
	free(t);
	free(p);
	return count;
}

static bool key_of_add(const char *value, const struct cmdline_token *t, const struct fuzz_intent *in)
{
	for (size_t i = 0; i < in->n_add; i++) {
		struct cmdline_token *p = NULL;
		size_t pn, pk;
		bool hit;

		if (cmdline_tokenize(in->add[i], strlen(in->add[i]), &p, &pn, &pk) < 0 || pn != 1)
			abort();
		hit = cmdline_key_equal(value + t->key_start, t->key_len, in->add[i] + p->key_start, p->key_len);
		free(p);
		if (hit)
			return true;
	}
	return false;
}

/*
 * The kernel tokens of old that the edit must leave alone appear in new, same
 * bytes, same order. Touched: a removal matches it, or it has an add's key
 * (in either variable: a bare key and key=value are one key).
 */
static void check_untouched(const char *old, const char *new, const struct fuzz_intent *in, bool is_linux)
{
	struct cmdline_token *t = NULL;
	size_t n, n_kernel, cursor = 0, new_len = strlen(new);

	if (cmdline_tokenize(old, strlen(old), &t, &n, &n_kernel) < 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		char *tok = strndup(old + t[i].start, t[i].len);
		bool touched = false;
		const char *hit;

		if (!tok)
			abort();
		if (i < n_kernel) {
			touched = key_of_add(old, &t[i], in);
			for (size_t k = 0; k < in->n_remove && !touched; k++)
				touched = cmdline_has(tok, in->remove[k]);
		}
		free(tok);
		if (touched)
			continue;
		hit = memmem(new + cursor, new_len - cursor, old + t[i].start, t[i].len);
		FUZZ_CHECK(hit, "%s: untouched parameter '%.*s' lost or reordered", is_linux ? "LINUX" : "DEFAULT",
			   (int)t[i].len, old + t[i].start);
		cursor = (size_t)(hit - new) + t[i].len;
	}
	free(t);
}

static bool skip_var_lines(const char *line, size_t len, void *data)
{
	(void)data;
	return memmem(line, len, VAR_PREFIX, strlen(VAR_PREFIX)) != NULL;
}

/* Whether the last line ends in a backslash: the new assignment then comes after an empty line. */
static size_t ends_in_backslash(const struct grub_file *f)
{
	size_t last = f->len > 0 && f->text[f->len - 1] == '\n' ? f->len - 1 : f->len;

	return last > 0 && f->text[last - 1] == '\\';
}

static void check_bytes_outside(const struct grub_file *old, size_t i, const char *new)
{
	size_t new_len = strlen(new), nl_old = fuzz_count_byte(old->text, old->len, '\n');
	size_t nl_new = fuzz_count_byte(new, new_len, '\n');
	const char *lost = fuzz_lines_kept(old->text, old->len, new, new_len, false, skip_var_lines, NULL);

	FUZZ_CHECK(!lost, "%s: line '%.40s' lost or reordered", old->name, lost);
	for (const char *c = "$`\\;|&<>'"; *c; c++)
		FUZZ_CHECK(fuzz_count_byte(new, new_len, *c) <= fuzz_count_byte(old->text, old->len, *c),
			   "%s: the edit wrote a new '%c'", old->name, *c);
	FUZZ_CHECK(nl_new >= nl_old && nl_new <= nl_old + (i == 0 ? 1 + ends_in_backslash(old) : 0),
		   "%s: %zu newlines became %zu", old->name, nl_old, nl_new);
}

static void check_success(const struct grub_file *files, size_t n, char **texts, const struct fuzz_intent *in,
			  const char *old_def, const char *old_lin)
{
	struct grub_file now[MAX_FILES];
	struct cmdline_error err;
	char *def = NULL, *lin = NULL, **again = NULL;
	int r;

	for (size_t i = 0; i < n; i++) {
		now[i] = files[i];
		if (texts[i]) {
			now[i].text = texts[i];
			now[i].len = strlen(texts[i]);
			check_bytes_outside(&files[i], i, texts[i]);
		}
	}
	r = grub_read_cmdline(now, n, &def, &lin, &err);
	FUZZ_CHECK(r == 0, "edited files do not read back: %s:%u: %s", err.file, err.line, err.message);
	for (size_t i = 0; i < in->n_add; i++) {
		bool in_linux = cmdline_has_exactly(old_lin, in->add[i]);
		size_t same_def, same_lin, n_def = key_matches(def, in->add[i], &same_def);
		size_t n_lin = key_matches(lin, in->add[i], &same_lin);

		FUZZ_CHECK(n_def + n_lin == 1, "added '%s' not exactly once in LINUX '%s' DEFAULT '%s'", in->add[i],
			   lin, def);
		FUZZ_CHECK(in_linux ? same_lin == 1 : same_def == 1, "added '%s' not in %s (LINUX '%s' DEFAULT '%s')",
			   in->add[i], in_linux ? "LINUX, which held it" : "DEFAULT", lin, def);
	}
	for (size_t i = 0; i < in->n_remove; i++)
		FUZZ_CHECK(!cmdline_has(def, in->remove[i]) && !cmdline_has(lin, in->remove[i]),
			   "removed '%s' still in DEFAULT '%s' or LINUX '%s'", in->remove[i], def, lin);
	check_untouched(old_def, def, in, false);
	check_untouched(old_lin, lin, in, true);
	{
		size_t now_len = strlen(lin) + 1 + strlen(def), before = strlen(old_lin) + 1 + strlen(old_def);

		FUZZ_CHECK(now_len <= CMDLINE_MAX - GRUB_CMDLINE_RESERVE || now_len <= before,
			   "command line grew to %zu bytes", now_len);
	}

	r = grub_edit_cmdline(now, n, in->add, in->remove, &again, &err);
	FUZZ_CHECK(r == 0, "second edit refused: %d %s:%u: %s", r, err.file, err.line, err.message);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(!again[i], "second edit changed %s again", now[i].name);
	grub_texts_free(again, n);
	free(def);
	free(lin);
}

/* What grubfile.c requires of a parameter, written again: an -EINVAL must come from one of these. */
static bool intent_bad(const struct fuzz_intent *in)
{
	struct cmdline_plan p;

	for (size_t i = 0; i < in->n_add; i++)
		if (cmdline_param_check(in->add[i], NULL) < 0 || strpbrk(in->add[i], "$`\\\"';|&<> \t") ||
		    strstr(in->add[i], VAR_PREFIX))
			return true;
	for (size_t i = 0; i < in->n_remove; i++)
		if (cmdline_param_check(in->remove[i], NULL) < 0)
			return true;
	if (cmdline_plan_make("", 0, in->add, in->remove, &p, NULL) < 0)
		return true;
	cmdline_plan_release(&p);
	return false;
}

static void check_refusal(int r, const struct cmdline_error *err, const struct grub_file *files, size_t n,
			  const struct fuzz_intent *in)
{
	FUZZ_CHECK(err->message[0], "refusal %d without a message", r);
	switch (r) {
	case -EINVAL:
		FUZZ_CHECK(intent_bad(in), "-EINVAL (%s) for a good intent", err->message);
		break;
	case -E2BIG:
		FUZZ_CHECK(err->reason == CMDLINE_TOO_LONG, "-E2BIG with reason %d", err->reason);
		break;
	case -EBADMSG:
		FUZZ_CHECK(err->reason != CMDLINE_UNSTABLE, "the editor's own guard fired: %s", err->message);
		FUZZ_CHECK(err->reason == CMDLINE_UNSAFE || err->reason == CMDLINE_SYNTAX, "-EBADMSG with reason %d",
			   err->reason);
		for (size_t i = 0; i < n; i++)
			if (err->file && strcmp(err->file, files[i].name) == 0) {
				FUZZ_CHECK(err->line <= fuzz_count_byte(files[i].text, files[i].len, '\n') + 1,
					   "%s:%u is past the end of the file", err->file, err->line);
				return;
			}
		fuzz_fail("-EBADMSG names no file given: %s", err->file ? err->file : "(null)");
	default:
		fuzz_fail("unexpected return %d (%s)", r, err->message);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grub_file files[MAX_FILES];
	struct cmdline_error err, rerr;
	struct fuzz_intent in;
	const uint8_t *body;
	size_t body_len, n;
	char *header, *def = NULL, *lin = NULL, **texts = NULL;
	int r, rr;

	fuzz_split_header(data, size, &header, &body, &body_len);
	fuzz_intent_parse(header, &in);
	n = files_split(body, body_len, files);

	rr = grub_read_cmdline(files, n, &def, &lin, &rerr);
	FUZZ_CHECK(rr == 0 || rr == -EBADMSG, "grub_read_cmdline returned %d", rr);

	r = grub_edit_cmdline(files, n, in.add, in.remove, &texts, &err);
	if (r == 0) {
		FUZZ_CHECK(rr == 0, "edited files the reader refuses (%s:%u: %s)", rerr.file, rerr.line, rerr.message);
		check_success(files, n, texts, &in, def, lin);
		grub_texts_free(texts, n);
	} else {
		check_refusal(r, &err, files, n, &in);
	}

	free(def);
	free(lin);
	for (size_t i = 0; i < n; i++)
		free((char *)files[i].text);
	fuzz_intent_free(&in);
	free(header);
	return 0;
}
