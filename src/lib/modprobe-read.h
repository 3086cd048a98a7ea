/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modprobe-read.h — one modprobe.d file as libkmod 30 reads it (modprobe-read.c): logical lines
 *  with a map back to the raw bytes, directive words, options split as the kernel splits them,
 *  softdep words as kmod sees them. Internal to the modfile files: the modprobe.d editors and
 *  modprobe-config.c build on it; everything else uses modfile.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macros.h"
#include "modfile-internal.h"

/* ---- logical lines as libkmod's getline_wrapped() builds them ------------ */

/* The raw bytes that produced one logical character ("\x" is two). */
struct lchar {
	size_t start, end;
};

struct mline {
	struct span span;
	unsigned lineno;   /* first physical line, 1-based */
	char *text;        /* logical text */
	struct lchar *map; /* one per logical character */
	size_t len;
	bool open_at_eof;  /* ends in a continuation at EOF: text appended would join it */
};

struct mfile {
	const char *raw;
	struct mline *lines;
	size_t n;
};

void mfile_release(struct mfile *f);
static inline void mfile_releasep(struct mfile *f)
{
	mfile_release(f);
}
#define _cleanup_mfile_ _cleanup_(mfile_releasep)

/* Splits raw into logical lines; *f borrows raw. 0 or -ENOMEM. */
int mfile_parse(const char *raw, struct mfile *f);
/* Raw offsets of logical [a, b), b > a. */
size_t mline_raw_start(const struct mline *l, size_t a);
size_t mline_raw_end(const struct mline *l, size_t b);

/* ---- directives -------------------------------------------------------------- */

/* Logical [a, b) of a line. */
struct word {
	size_t a, b;
};

/* "cmd module rest..." as kmod_config_parse() splits it. */
struct directive {
	struct word cmd, mod;
	bool has_mod;
	size_t rest;   /* strtok_r(NULL, "\0"): after the ONE separator following mod */
	bool has_rest; /* kmod rejects options/install/remove/softdep without it */
};

/* strtok_r(" \t") from logical offset from. */
bool word_next(const struct mline *l, size_t from, struct word *w);
bool word_is(const struct mline *l, const struct word *w, const char *s);
char *word_dup(const struct mline *l, const struct word *w);
void directive_parse(const struct mline *l, struct directive *d);
/* A "cmd M" line for module_norm; names as kmod compares them after underscores(). */
bool directive_is(const struct mline *l, const struct directive *d, const char *cmd,
		  const char *module_norm);

/* ---- options, split as the kernel's next_arg() splits them ------------------- */

struct param {
	size_t a, b;         /* the whole token */
	size_t key_a, key_b; /* the name */
	size_t val_a;        /* after '=' when has_val */
	bool has_val;
};

struct params {
	struct param *v;
	size_t n;
	bool unterminated; /* a double quote left open: the rest is one value */
};

void params_release(struct params *p);
static inline void params_releasep(struct params *p)
{
	params_release(p);
}
#define _cleanup_params_ _cleanup_(params_releasep)

int params_split(const char *s, size_t from, size_t to, struct params *ret);
/* The value as the kernel hands it to the module: one pair of quotes gone. */
void param_value(const char *s, const struct param *p, size_t *va, size_t *vb);
bool param_key_is(const char *s, const struct param *p, const char *key, size_t key_len);

/* ---- softdep, words as kmod_config_add_softdep() sees them ------------------ */

enum sd_kind { SD_IGNORED, SD_PRE_MARK, SD_POST_MARK, SD_PRE, SD_POST };

struct sdword {
	size_t a, b; /* logical; a glued word starts with the blank kmod kept */
	enum sd_kind kind;
	bool glued;
};

struct sdwords {
	struct sdword *v;
	size_t n;
};

void sdwords_release(struct sdwords *w);
static inline void sdwords_releasep(struct sdwords *w)
{
	sdwords_release(w);
}
#define _cleanup_sdwords_ _cleanup_(sdwords_releasep)

/* The words of a softdep line's rest r (len bytes, at logical offset base). */
int softdep_words(const char *r, size_t base, size_t len, struct sdwords *ret);
