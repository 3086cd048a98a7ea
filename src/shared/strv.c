/* SPDX-License-Identifier: GPL-2.0-or-later */
/* strv.c — lists of strings (see strv.h). Knows nothing of modules, parameters or files. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

void strv_clear(struct strv *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* Takes copy: appended, or freed on failure. */
static int strv_take(struct strv *s, char *copy)
{
	char **nv;

	if (!copy)
		return -ENOMEM;
	nv = realloc(s->v, (s->n + 2) * sizeof(char *));
	if (!nv) {
		free(copy);
		return -ENOMEM;
	}
	nv[s->n++] = copy;
	nv[s->n] = NULL;
	s->v = nv;
	return 0;
}

int strv_add(struct strv *s, const char *str)
{
	return strv_take(s, strdup(str));
}

int strv_addf(struct strv *s, const char *fmt, ...)
{
	char *m;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&m, fmt, ap);
	va_end(ap);
	return strv_take(s, k < 0 ? NULL : m);
}

int strv_add_n(struct strv *s, const char *str, size_t n)
{
	return strv_take(s, strndup(str, n));
}

bool strv_contains(const struct strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return true;
	return false;
}

int strv_put(struct strv *s, const char *str)
{
	return strv_contains(s, str) ? 0 : strv_add(s, str);
}

void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(char *));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

bool strv_array_contains(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}
