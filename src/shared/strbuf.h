/* SPDX-License-Identifier: GPL-2.0-or-later */
/* strbuf.h — a growable byte buffer, always NUL-terminated, that may hold NUL bytes. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "macros.h"

struct strbuf {
	char *buf;	/* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
};

#define STRBUF_INIT { NULL, 0, 0 }

int strbuf_reserve(struct strbuf *sb, size_t extra);
int strbuf_append(struct strbuf *sb, const void *data, size_t len);
int strbuf_appends(struct strbuf *sb, const char *s);
int strbuf_appendc(struct strbuf *sb, char c);
int strbuf_appendf(struct strbuf *sb, const char *fmt, ...) _printf_(2, 3);
int strbuf_vappendf(struct strbuf *sb, const char *fmt, va_list ap) _printf_(2, 0);
void strbuf_reset(struct strbuf *sb);
/* The buffer's string ("" when empty); stays owned by sb. */
const char *strbuf_str(const struct strbuf *sb);
/* Hand the buffer to the caller (never NULL on success) and reset sb. */
char *strbuf_steal(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);

static inline void strbuf_releasep(struct strbuf *sb) { strbuf_release(sb); }
#define _cleanup_strbuf_ _cleanup_(strbuf_releasep)
