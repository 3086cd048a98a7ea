/* SPDX-License-Identifier: GPL-2.0-or-later */
/* diff.h — line-based unified diff of two in-memory buffers, for previews and the journal. */
#pragma once

#include <stddef.h>

#include "strbuf.h"

/* Lines of unchanged context around each change, as GNU `diff -u` uses by default. */
#define DIFF_CONTEXT 3

/* Append to out a unified diff (3 lines of context) of old -> new, with headers
 * "--- OLDLABEL\n+++ NEWLABEL\n" then "@@ -a,b +c,d @@\n" hunks, like GNU `diff -u`
 * but without timestamps. Returns 0 and appends nothing when the contents are equal,
 * a negative errno on allocation failure. old/new may contain any bytes incl. NUL and
 * CR; they need not end with a newline. */
int diff_unified(struct strbuf *out, const char *old_label, const char *old, size_t old_len,
                 const char *new_label, const char *new, size_t new_len);
