/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modules-read.h — the lines of /etc/modules as systemd-modules-load 252 reads them (modules-read.c).
 *  Internal to the modfile files: modules-edit.c builds on it; everything else uses modfile.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* One line systemd acts on: [start, end) of the stripped text, and its '\n'-counted line. */
struct sdline {
	size_t start, end;
	unsigned lineno;
};

/* Calls fn for every line systemd-modules-load would look up, in file order; stops at the
 * first non-zero return of fn and returns it. */
int sdlines_each(const char *text, int (*fn)(const char *text, const struct sdline *l, void *data),
		 void *data);
/* The line holds a blank: more than one word, so it loads nothing. */
bool sdline_broken(const char *text, const struct sdline *l);
/* Whether word w of the line (split at blanks; SIZE_MAX: any word) is the module. */
bool sdline_word_is(const char *text, const struct sdline *l, size_t w, const char *module);
