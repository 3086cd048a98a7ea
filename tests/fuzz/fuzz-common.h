/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-common.h — what the libFuzzer targets share: splitting an input into intent and text, invariant checks. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Every target reads its input the same way, so that a reproducer is a
 * readable text file: a header line (the intent, target specific), then the
 * text the editor works on. The seeds, which run-fuzzers.sh makes from
 * fixtures/ on every run, are fixture files with such a line put in front.
 */

/* An invariant broke. abort() and not a return value: libFuzzer then saves the
 * input as a crash file, and the sanitizers print the stack that led here. */
static void fuzz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz invariant violated: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define FUZZ_CHECK(cond, ...)                  \
	do {                                   \
		if (!(cond))                   \
			fuzz_fail(__VA_ARGS__); \
	} while (0)

/* malloc that cannot fail quietly: an allocation failure in the harness itself is not a finding. */
static inline void *fuzz_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

/* A copy of data[0..n) with a NUL after it; the copy ends at an embedded NUL,
 * like the C strings the editors take. */
static inline char *fuzz_strndup(const uint8_t *data, size_t n)
{
	char *s = fuzz_xmalloc(n + 1);

	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/* The header line (without its '\n') and where the rest begins. No '\n': all header. */
static inline void fuzz_split_header(const uint8_t *data, size_t size, char **ret_header,
				     const uint8_t **ret_body, size_t *ret_body_len)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : size;

	*ret_header = fuzz_strndup(data, hlen);
	*ret_body = nl ? nl + 1 : data + size;
	*ret_body_len = nl ? size - hlen - 1 : 0;
}

/*
 * A kernel-parameter intent: the header holds items separated by tabs (a tab
 * is a blank to the kernel, so no valid parameter has one), "+p" adds p, "-p"
 * removes p, anything else is added as written so that odd first bytes reach
 * the editors' checks too. At most FUZZ_MAX_ITEMS of each; the arrays end in NULL.
 */
#define FUZZ_MAX_ITEMS 16

struct fuzz_intent {
	char *buf;
	const char *add[FUZZ_MAX_ITEMS + 1];
	const char *remove[FUZZ_MAX_ITEMS + 1];
	size_t n_add, n_remove;
};

static inline void fuzz_intent_parse(const char *header, struct fuzz_intent *in)
{
	char *save = NULL;

	memset(in, 0, sizeof(*in));
	in->buf = strdup(header);
	if (!in->buf)
		abort();
	for (char *t = strtok_r(in->buf, "\t", &save); t; t = strtok_r(NULL, "\t", &save)) {
		if (t[0] == '-' && in->n_remove < FUZZ_MAX_ITEMS)
			in->remove[in->n_remove++] = t + 1;
		else if (t[0] != '-' && in->n_add < FUZZ_MAX_ITEMS)
			in->add[in->n_add++] = t[0] == '+' ? t + 1 : t;
	}
}

static inline void fuzz_intent_free(struct fuzz_intent *in)
{
	free(in->buf);
	in->buf = NULL;
}

/* Which old lines the edit may touch: true means "do not check this one". */
typedef bool (*fuzz_line_skip)(const char *line, size_t len, void *data);

/*
 * Every line of old that skip() does not exclude must still be in new, in the
 * same order (each found after the previous one). Lines are compared without
 * their '\n': an edit may give the last line a terminator it lacked, or take
 * one away (modfile's remove(add(x)) == x rule). With join_continuations, a
 * line ending in '\' and the next one are one line (modprobe.d's logical
 * lines), so that skip() sees the whole of it. A greedy leftmost search is
 * enough: if any in-order placement exists, it finds one.
 */
static inline const char *fuzz_lines_kept(const char *old, size_t old_len, const char *new, size_t new_len,
					  bool join_continuations, fuzz_line_skip skip, void *data)
{
	size_t pos = 0, cursor = 0;

	while (pos < old_len) {
		size_t end = pos;

		for (;;) {
			const char *nl = memchr(old + end, '\n', old_len - end);

			end = nl ? (size_t)(nl - old) : old_len;
			if (!join_continuations || !nl || end == pos || old[end - 1] != '\\')
				break;
			end++;
		}
		if (!skip || !skip(old + pos, end - pos, data)) {
			const char *hit = end == pos ? new + cursor
					  : memmem(new + cursor, new_len - cursor, old + pos, end - pos);

			if (!hit)
				return old + pos;
			cursor = (size_t)(hit - new) + (end - pos);
		}
		pos = end + 1;
	}
	return NULL;
}

/* How often byte c occurs in s[0..n). */
static inline size_t fuzz_count_byte(const char *s, size_t n, char c)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += s[i] == c;
	return k;
}
