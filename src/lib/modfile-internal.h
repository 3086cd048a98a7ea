/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modfile-internal.h — what the readers and editors of /etc/modules and modprobe.d share.
 *  Owns: the name rules (valid module names, '-' and '_' as one, kmod's separators; in
 *  modfile-names.c) and edits (byte ranges of the old text replaced in one pass, whole lines
 *  deleted or appended; in modfile-edits.c). Must not: know a file format, open files, print.
 *  Internal to the modfile files; everything else uses modfile.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macros.h"
#include "modfile.h"
#include "strv.h"

#define MODULE_NAME_MAX 55 /* the kernel's MODULE_NAME_LEN, less its NUL */

/* ---- names (modfile-names.c) --------------------------------------------- */

bool is_c_space(char c);
bool is_kmod_sep(char c);
bool is_name_char(char c);
bool name_valid(const char *s);
bool names_equal_n(const char *a, size_t an, const char *b, size_t bn);
bool names_equal(const char *a, const char *b);
void name_underscore(char *s);
char *name_normalized(const char *module);
int words_split(const char *s, struct strv *ret);
int names_split(const char *s, struct strv *ret);
bool strv_has_name(const struct strv *s, const char *p, size_t n);

/* ---- edits (modfile-edits.c) --------------------------------------------- */

struct edit {
	size_t start, end, seq;
	char *text;
};

struct edits {
	struct edit *v;
	size_t n, cap;
};

void edits_release(struct edits *e);
static inline void edits_releasep(struct edits *e)
{
	edits_release(e);
}
#define _cleanup_edits_ _cleanup_(edits_releasep)

/* A line's raw bytes, its terminator included. */
struct span {
	size_t start, end;
};

/* Fills err (when not NULL) and returns -EBADMSG. */
int modfile_error_set(struct modfile_error *err, unsigned line, const char *fmt, ...) _printf_(3, 4);
int edits_push(struct edits *e, size_t start, size_t end, const char *text);
int edits_delete(struct edits *e, size_t start, size_t end);
int edits_apply(const char *text, struct edits *e, char **ret_text);
int lines_delete(const char *text, const struct span *lines, size_t n, const bool *del,
		 bool crlf_is_eol, struct edits *e);
int text_append_line(const char *text, const char *line, const char *eol, struct edits *e);
int result_copy(const char *text, char **ret_text);
