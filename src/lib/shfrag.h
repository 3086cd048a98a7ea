/* SPDX-License-Identifier: GPL-2.0-or-later */
/* shfrag.h — reads a sourced sh fragment into commands, words and operators, running nothing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * This is a reader, not a shell: it splits text the way POSIX sh would into
 * words and control operators, so that an editor can see which commands
 * assign what and where. It understands quotes, expansions and command
 * substitutions well enough to skip over them; it refuses what it cannot
 * follow (here-documents, unterminated quotes) instead of guessing.
 * A CR right before a LF counts as part of the line ending, so a file with
 * CRLF line endings reads like one with LF endings.
 */

enum sh_part_kind {
	SH_LITERAL,	/* bytes taken as they are (unquoted, or inside '…' or "…") */
	SH_PARAM,	/* $name, ${name}, ${name<op>word}, $1, $? … */
	SH_SUBST,	/* $(…), $((…)) or `…` */
	SH_ESCAPE,	/* a backslash and the byte it quotes */
};

enum sh_quote {
	SH_UNQUOTED,
	SH_SINGLE,
	SH_DOUBLE,
};

struct sh_part {
	enum sh_part_kind kind;
	enum sh_quote quote;
	unsigned group;		/* parts of one quoted string share it; serialize by group */
	size_t start, end;	/* SH_LITERAL: the bytes inside the quotes; else the whole construct */
	size_t name_start, name_len;	/* SH_PARAM: the parameter's name */
	bool plain;		/* SH_PARAM: $name or ${name}, no operator */
	bool reads_only;	/* SH_PARAM: plain, or an operator that cannot assign or exit */
};

struct sh_word {
	size_t start, end;	/* raw bytes of the word, quotes included */
	struct sh_part *parts;
	size_t n_parts;
};

struct sh_command {
	struct sh_word *words;
	size_t n_words;
	size_t start, end;	/* raw bytes from the first word to the end of the last */
	bool redirect;		/* has a redirection such as 2>/dev/null */
	bool continued;		/* a backslash-newline joined lines inside it */
};

enum sh_op {
	SH_OP_NEWLINE,
	SH_OP_SEMI,	/* ; */
	SH_OP_DSEMI,	/* ;; */
	SH_OP_AMP,	/* & */
	SH_OP_AND,	/* && */
	SH_OP_OR,	/* || */
	SH_OP_PIPE,	/* | */
	SH_OP_LPAREN,
	SH_OP_RPAREN,
};

enum sh_item_kind {
	SH_ITEM_COMMAND,
	SH_ITEM_OP,
};

/* The fragment in order: commands and the operators between them. */
struct sh_item {
	enum sh_item_kind kind;
	enum sh_op op;			/* SH_ITEM_OP */
	size_t offset;			/* SH_ITEM_OP: where the operator is */
	struct sh_command command;	/* SH_ITEM_COMMAND */
};

struct sh_fragment {
	const char *text;
	size_t len;
	struct sh_item *items;
	size_t n_items;
	size_t *line_starts;	/* offsets where each line begins */
	size_t n_lines;
};

/*
 * Read text[0..len). On success fills *ret (release with sh_fragment_release)
 * and returns 0. On text it cannot follow returns -EBADMSG with *ret_line
 * (1-based) and *ret_why (a static, lowercase phrase) set; or -ENOMEM.
 */
int sh_fragment_parse(const char *text, size_t len, struct sh_fragment *ret,
		      unsigned *ret_line, const char **ret_why);
void sh_fragment_release(struct sh_fragment *f);

/* The 1-based line of a byte offset. */
unsigned sh_fragment_line(const struct sh_fragment *f, size_t offset);

/* Whether the word is one unquoted literal equal to s (a keyword or a builtin's name). */
bool sh_word_is(const struct sh_fragment *f, const struct sh_word *w, const char *s);
