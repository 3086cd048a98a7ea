/* SPDX-License-Identifier: GPL-2.0-or-later */
/* grubscan.h — internal to the grub editor: which statements of the sourced files set the command line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cmdline.h"
#include "grubinput.h"
#include "shfrag.h"
#include "strbuf.h"

enum {
	GRUB_VAR_DEFAULT,	/* GRUB_CMDLINE_LINUX_DEFAULT */
	GRUB_VAR_LINUX,		/* GRUB_CMDLINE_LINUX */
	GRUB_N_VARS,
};

extern const char *const grub_var_names[GRUB_N_VARS];

/* One piece of an assignment's value: literal bytes, or the $VAR self-reference. */
struct piece {
	bool self;
	enum sh_quote quote;
	unsigned group;		/* the quoted string (or unquoted run) it belongs to */
	size_t start, end;	/* literal: its bytes; self: the whole $VAR or ${VAR} */
	struct strbuf out;	/* literal: the bytes after the edit (NULL buffer: unchanged) */
};

/* A plain `VAR=value` (or `export VAR=value`) statement the editor can follow. */
struct assignment {
	size_t file;
	unsigned line;
	size_t value_start, value_end;	/* the value word, after "VAR=" */
	struct piece *pieces;
	size_t n_pieces;
	bool self;		/* the value refers to the variable's previous value */
	bool exported;
	bool changed;
	bool requote;		/* write the value back as one "…" string */
	struct strbuf append;	/* added at the end of the value */
};

struct var_state {
	struct assignment *v;	/* in the order sh runs them */
	size_t n, cap;
	size_t first;		/* first assignment whose text reaches the effective value */
};

struct grub_ctx {
	const struct grub_file *files;
	size_t n_files;
	struct sh_fragment *frags;
	struct var_state vars[GRUB_N_VARS];
	struct cmdline_error *err;
};

/*
 * Read every file, refuse what cannot be followed (err filled, -EBADMSG),
 * and record each variable's assignments in sourcing order, with the start
 * of the chain that makes its effective value. Release with grub_ctx_release().
 */
int grub_ctx_load(struct grub_ctx *c, const struct grub_file *files, size_t n_files);
void grub_ctx_release(struct grub_ctx *c);

/* Fill c->err for an allocation failure and return -ENOMEM. */
int grub_ctx_no_memory(struct grub_ctx *c);

bool grub_is_name_char(char ch);
