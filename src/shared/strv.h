/* SPDX-License-Identifier: GPL-2.0-or-later */
/* strv.h — lists of strings: the one place every layer takes them from. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macros.h"

/* A growing list of malloc'd strings; v[n] is NULL once something was added, so v can be
 * handed to what wants a NULL-terminated array. A zeroed struct is the empty list. */
struct strv {
	char **v;
	size_t n;
};

void strv_clear(struct strv *s);
static inline void strv_clearp(struct strv *s) { strv_clear(s); }
#define _cleanup_strv_ __attribute__((cleanup(strv_clearp)))
/* Append a copy of str (duplicates too); -ENOMEM. */
int strv_add(struct strv *s, const char *str);
/* Append the printf-formatted string; -ENOMEM. */
int strv_addf(struct strv *s, const char *fmt, ...) _printf_(2, 3);
/* Append a copy of the n bytes at str; -ENOMEM. */
int strv_add_n(struct strv *s, const char *str, size_t n);
bool strv_contains(const struct strv *s, const char *str);
/* strv_add unless an equal string is already there: 0 either way, or -ENOMEM. */
int strv_put(struct strv *s, const char *str);

/* The older form, a bare array and its count, which some readers fill. */
void strv_free(char **v, size_t n);
/* Append a copy of s to the array v of n strings; -ENOMEM. */
int strv_push(char ***v, size_t *n, const char *s);
bool strv_array_contains(char *const *v, size_t n, const char *s);
