/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modfile-names.c — module and parameter names as kmod and the kernel compare them.
 *  Owns: the character classes kmod and the kernel split on, valid module names, '-'/'_'
 *  folding, kmod's underscores(), and the word and name lists of an editor's intent.
 *  Must not: know a file format, open files, print. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "modfile-internal.h"
#include "strv.h"

/* The C locale's isspace(), which kmod's softdep parser and the kernel's
 * argument parser use; spelled out so that a caller's setlocale() cannot
 * change what we see. */
bool is_c_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* kmod splits directive words with strtok(" \t"): nothing else separates. */
bool is_kmod_sep(char c)
{
	return c == ' ' || c == '\t';
}

bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

bool name_valid(const char *s)
{
	size_t n;

	if (!s || !*s)
		return false;
	for (n = 0; s[n]; n++)
		if (!is_name_char(s[n]))
			return false;
	return n <= MODULE_NAME_MAX;
}

static char dash_fold(char c)
{
	return c == '-' ? '_' : c;
}

/* Module and parameter names: '-' and '_' are the same to kmod and the kernel. */
bool names_equal_n(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (dash_fold(a[i]) != dash_fold(b[i]))
			return false;
	return true;
}

bool names_equal(const char *a, const char *b)
{
	return names_equal_n(a, strlen(a), b, strlen(b));
}

/* kmod's underscores(): '-' becomes '_', except inside a [...] glob range. */
void name_underscore(char *s)
{
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '[') {
			i += strcspn(s + i, "]");
			if (!s[i])
				return;
		} else if (s[i] == '-') {
			s[i] = '_';
		}
	}
}

char *name_normalized(const char *module)
{
	char *s = strdup(module);

	if (s)
		for (char *p = s; *p; p++)
			*p = dash_fold(*p);
	return s;
}

/* A list of words from an intent ("a b c"), each checked by the caller. */
int words_split(const char *s, struct strv *ret)
{
	while (s && *s) {
		size_t n;
		int r;

		s += strspn(s, " ");
		n = strcspn(s, " ");
		if (!n)
			break;
		r = strv_add_n(ret, s, n);
		if (r < 0)
			return r;
		s += n;
	}
	return 0;
}

/* Module lists in an intent: valid names, none twice. */
int names_split(const char *s, struct strv *ret)
{
	int r = words_split(s, ret);

	if (r < 0)
		return r;
	for (size_t i = 0; i < ret->n; i++) {
		if (!name_valid(ret->v[i]))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (names_equal(ret->v[i], ret->v[j]))
				return -EINVAL;
	}
	return 0;
}

bool strv_has_name(const struct strv *s, const char *p, size_t n)
{
	for (size_t i = 0; i < s->n; i++)
		if (names_equal_n(s->v[i], strlen(s->v[i]), p, n))
			return true;
	return false;
}
