/* SPDX-License-Identifier: GPL-2.0-or-later */
/* grubscan.c — reads the sourced grub files and finds the statements that set the kernel command line.
 *  Owns: the scan of shfrag.c's commands (blocks, reserved words, assignments, refusals) into the
 *  grub_ctx the editor works on. Must not: edit text (grubfile.c does), tokenize sh (shfrag.c
 *  does), open files, print.
 *  Kept whole (about 970 lines): it is one scan, one state machine (struct scan_state) over one
 *  command stream; its block tracking and its assignment reading call each other per word, so
 *  split they would read worse than together. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grubscan.h"
#include "macros.h"

const char *const grub_var_names[GRUB_N_VARS] = {
	[GRUB_VAR_DEFAULT] = "GRUB_CMDLINE_LINUX_DEFAULT",
	[GRUB_VAR_LINUX] = "GRUB_CMDLINE_LINUX",
};

enum block {
	BLOCK_IF,
	BLOCK_LOOP,	/* while, until, for, select: closed by done */
	BLOCK_BRACE,
	BLOCK_PAREN,
	BLOCK_CASE,
};

#define MAX_NESTING 64

/* Where a scan is inside an open block. */
enum block_part {
	PART_HEAD,	/* the condition of if/elif/while/until, a for header */
	PART_BODY,	/* after then/do, or inside { }, ( ), case */
	PART_ELSE,	/* after else */
};

/* Where a scan is inside one file. */
struct scan_state {
	enum block open[MAX_NESTING];	/* the compound commands not yet closed */
	enum block_part part[MAX_NESTING];
	bool filled[MAX_NESTING];	/* a command since the block's last reserved word */
	unsigned depth;
	unsigned case_depth;		/* inside case … esac: cases nested in it */
	enum sh_op prev;		/* the operator before the next command */
	bool cmd_since_op;		/* a command came after the last operator */
	size_t func_header;		/* offset of a "name()" still waiting for its body, or -1 */
};

static int refuse_at(struct grub_ctx *c, size_t fi, size_t offset, enum cmdline_reason reason,
		     const char *fmt, ...) _printf_(5, 6);

static int refuse_at(struct grub_ctx *c, size_t fi, size_t offset, enum cmdline_reason reason,
		     const char *fmt, ...)
{
	char msg[sizeof(c->err->message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cmdline_error_set(c->err, -EBADMSG, reason, c->files[fi].name,
				 sh_fragment_line(&c->frags[fi], offset), "%s", msg);
}

int grub_ctx_no_memory(struct grub_ctx *c)
{
	return cmdline_error_set(c->err, -ENOMEM, CMDLINE_NO_MEMORY, NULL, 0, "out of memory");
}

bool grub_is_name_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

static const char *frag_text(const struct grub_ctx *c, size_t fi)
{
	return c->files[fi].text;
}

static bool part_names(const struct grub_ctx *c, size_t fi, const struct sh_part *p, int var)
{
	const char *name = grub_var_names[var];

	return p->kind == SH_PARAM && p->name_len == strlen(name) &&
	       memcmp(frag_text(c, fi) + p->name_start, name, p->name_len) == 0;
}

/* Whether [start, end) of the file holds the variable's name as a whole identifier. */
static bool text_has_name(const struct grub_ctx *c, size_t fi, size_t start, size_t end, int var)
{
	const char *s = frag_text(c, fi), *name = grub_var_names[var];
	size_t n = strlen(name);

	for (size_t i = start; i + n <= end; i++) {
		if (memcmp(s + i, name, n) != 0)
			continue;
		bool left = i == 0 || !grub_is_name_char(s[i - 1]);
		bool right = i + n >= c->files[fi].len || !grub_is_name_char(s[i + n]);

		if (left && right)
			return true;
	}
	return false;
}

/*
 * Whether a word could change the variable: its name as literal text (an
 * argument to unset, read, export …) or an expansion that assigns
 * (${VAR:=x}), or an arithmetic expansion that names it ($((VAR=5)) assigns
 * in the shell itself). Plain reads ($VAR, ${VAR:-x}) cannot; $( … ) runs in a
 * subshell and cannot either. skip bytes of the first part are not looked at.
 */
static bool word_may_change(const struct grub_ctx *c, size_t fi, const struct sh_word *w,
			    int var, size_t skip)
{
	for (size_t i = 0; i < w->n_parts; i++) {
		const struct sh_part *p = &w->parts[i];
		size_t start = p->start + (i == 0 ? skip : 0);

		if (p->kind == SH_LITERAL && text_has_name(c, fi, start, p->end, var))
			return true;
		if (p->kind == SH_SUBST && p->end - p->start >= 3 &&
		    memcmp(frag_text(c, fi) + p->start, "$((", 3) == 0 &&
		    text_has_name(c, fi, p->start, p->end, var))
			return true;
		if (p->kind != SH_PARAM)
			continue;
		if (part_names(c, fi, p, var) && !p->reads_only)
			return true;
		/* the word of ${X:-…} may hide ${VAR:=…}; do not try to tell */
		if (text_has_name(c, fi, p->name_start + p->name_len, p->end, var))
			return true;
	}
	return false;
}

/* A word "VAR=…" whose first bytes are unquoted, as sh needs to see an assignment. */
static bool word_assigns(const struct grub_ctx *c, size_t fi, const struct sh_word *w, int var)
{
	const char *name = grub_var_names[var];
	size_t n = strlen(name);
	const struct sh_part *p = w->n_parts ? &w->parts[0] : NULL;

	return p && p->kind == SH_LITERAL && p->quote == SH_UNQUOTED && p->end - p->start > n &&
	       memcmp(frag_text(c, fi) + p->start, name, n) == 0 && frag_text(c, fi)[p->start + n] == '=';
}

static bool word_is_name(const struct grub_ctx *c, size_t fi, const struct sh_word *w)
{
	const char *s = frag_text(c, fi);

	if (w->n_parts != 1 || w->parts[0].kind != SH_LITERAL || w->parts[0].quote != SH_UNQUOTED)
		return false;
	for (size_t i = w->start; i < w->end; i++)
		if (!grub_is_name_char(s[i]))
			return false;
	return w->end > w->start && !(s[w->start] >= '0' && s[w->start] <= '9');
}

/* A word "NAME=…" (any name) that sh takes as an assignment before a command's name. */
static bool word_is_assignment(const struct grub_ctx *c, size_t fi, const struct sh_word *w)
{
	const char *s = frag_text(c, fi);
	const struct sh_part *p = w->n_parts ? &w->parts[0] : NULL;
	size_t i;

	if (!p || p->kind != SH_LITERAL || p->quote != SH_UNQUOTED || p->start == p->end ||
	    s[p->start] == '=' || (s[p->start] >= '0' && s[p->start] <= '9'))
		return false;
	for (i = p->start; i < p->end && grub_is_name_char(s[i]); i++)
		;
	return i < p->end && s[i] == '=';
}

/* Whether a word has an expansion ($x, ${x}, $(…), `…`), so its value is not in the text. */
static bool word_expands(const struct sh_word *w)
{
	for (size_t i = 0; i < w->n_parts; i++)
		if (w->parts[i].kind == SH_PARAM || w->parts[i].kind == SH_SUBST)
			return true;
	return false;
}

/*
 * Whether a word without expansions is s once sh has removed its quotes and
 * backslashes: sh finds a builtin by that value, so '.', "ev"al and \exec
 * all run what they spell.
 */
static bool word_value_is(const struct grub_ctx *c, size_t fi, const struct sh_word *w, const char *s)
{
	const char *t = frag_text(c, fi);
	size_t n = strlen(s), k = 0;

	if (word_expands(w))
		return false;
	for (size_t i = 0; i < w->n_parts; i++) {
		const struct sh_part *p = &w->parts[i];
		size_t start = p->start, end = p->end;

		if (p->kind == SH_ESCAPE) {	/* "\x" is x; a backslash-newline is nothing */
			start++;
			if (start < end && t[start] == '\n')
				continue;
		}
		if (end - start > n - k || memcmp(t + start, s + k, end - start) != 0)
			return false;
		k += end - start;
	}
	return k == n;
}

/* The entry of list that the word's value is, or NULL. */
static const char *word_value_in(const struct grub_ctx *c, size_t fi, const struct sh_word *w,
				 const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (word_value_is(c, fi, w, list[i]))
			return list[i];
	return NULL;
}

/*
 * The word sh runs as the command: past assignments ("X=1 . file") and the
 * "command" builtin with its options ("command . file", "command -p exec x"),
 * which runs even special builtins. n_words when nothing runs ("command -v x"
 * only prints what x is).
 */
static size_t command_name_index(const struct grub_ctx *c, size_t fi, const struct sh_command *cmd,
				 size_t w)
{
	const char *s = frag_text(c, fi);

	while (w < cmd->n_words && word_is_assignment(c, fi, &cmd->words[w]))
		w++;
	while (w < cmd->n_words && word_value_is(c, fi, &cmd->words[w], "command")) {
		for (w++; w < cmd->n_words && s[cmd->words[w].start] == '-'; w++)
			if (memchr(s + cmd->words[w].start, 'v', cmd->words[w].end - cmd->words[w].start) ||
			    memchr(s + cmd->words[w].start, 'V', cmd->words[w].end - cmd->words[w].start))
				return cmd->n_words;
	}
	return w;
}

/* `export NAME…`: marks variables for export and changes no value. */
static bool command_exports_names(const struct grub_ctx *c, size_t fi,
				  const struct sh_command *cmd, size_t w)
{
	if (!sh_word_is(&c->frags[fi], &cmd->words[w], "export"))
		return false;
	for (size_t i = w + 1; i < cmd->n_words; i++)
		if (!word_is_name(c, fi, &cmd->words[i]))
			return false;
	return true;
}

static struct assignment *assignment_new(struct grub_ctx *c, int var)
{
	struct var_state *vs = &c->vars[var];

	if (vs->n == vs->cap) {
		size_t ncap = vs->cap ? vs->cap * 2 : 4;
		struct assignment *p = realloc(vs->v, ncap * sizeof(*p));

		if (!p)
			return NULL;
		vs->v = p;
		vs->cap = ncap;
	}
	vs->v[vs->n] = (struct assignment) { .append = STRBUF_INIT };
	return &vs->v[vs->n++];
}

static void assignment_release(struct assignment *a)
{
	for (size_t i = 0; i < a->n_pieces; i++)
		strbuf_release(&a->pieces[i].out);
	free(a->pieces);
	strbuf_release(&a->append);
	a->pieces = NULL;
	a->n_pieces = 0;
}

static int piece_add(struct assignment *a, const struct piece *p)
{
	struct piece *np = realloc(a->pieces, (a->n_pieces + 1) * sizeof(*np));

	if (!np)
		return -ENOMEM;
	a->pieces = np;
	a->pieces[a->n_pieces++] = *p;
	return 0;
}

/* Turn the value parts of `VAR=…` into pieces, refusing what cannot be followed. */
static int value_read(struct grub_ctx *c, size_t fi, const struct sh_word *w, int var,
		      struct assignment *a)
{
	const char *name = grub_var_names[var];
	size_t skip = strlen(name) + 1;
	int r;

	for (size_t i = 0; i < w->n_parts; i++) {
		const struct sh_part *p = &w->parts[i];
		struct piece pc = { .quote = p->quote, .group = p->group, .start = p->start,
				    .end = p->end, .out = STRBUF_INIT };

		if (i == 0)
			pc.start += skip;
		if (p->kind == SH_SUBST)
			return refuse_at(c, fi, p->start, CMDLINE_UNSAFE,
					 "%s is set from a command substitution; its value is only known when it runs",
					 name);
		if (p->kind == SH_ESCAPE)
			return refuse_at(c, fi, p->start, CMDLINE_UNSAFE,
					 "%s has a backslash in its value; edit it by hand", name);
		if (p->kind == SH_PARAM && !(part_names(c, fi, p, var) && p->plain))
			return refuse_at(c, fi, p->start, CMDLINE_UNSAFE,
					 "%s uses the expansion %.*s; only a plain $%s can be followed",
					 name, (int)(p->end - p->start), frag_text(c, fi) + p->start, name);
		if (p->kind == SH_PARAM) {
			if (a->self)
				return refuse_at(c, fi, p->start, CMDLINE_UNSAFE,
						 "%s refers to itself more than once", name);
			if (a->exported && p->quote == SH_UNQUOTED)
				return refuse_at(c, fi, p->start, CMDLINE_UNSAFE,
						 "`export %s=$%s` without quotes is split into words by older shells",
						 name, name);
			a->self = pc.self = true;
		} else if (i == 0 && pc.start == pc.end) {
			continue;	/* nothing after "VAR=" in this part */
		}
		r = piece_add(a, &pc);
		if (r < 0)
			return grub_ctx_no_memory(c);
	}
	return 0;
}

static int statement_refuse_context(struct grub_ctx *c, size_t fi, const struct sh_command *cmd,
				    int var, enum sh_op before, enum sh_op after)
{
	const char *name = grub_var_names[var];

	if (before == SH_OP_AND || before == SH_OP_OR || after == SH_OP_AND || after == SH_OP_OR)
		return refuse_at(c, fi, cmd->start, CMDLINE_UNSAFE,
				 "%s is set in a && / || list; whether it applies depends on another command",
				 name);
	if (before == SH_OP_PIPE || after == SH_OP_PIPE || after == SH_OP_AMP)
		return refuse_at(c, fi, cmd->start, CMDLINE_UNSAFE,
				 "%s is set in a pipeline or in the background, where the assignment is lost",
				 name);
	if (before != SH_OP_NEWLINE || after != SH_OP_NEWLINE)
		return refuse_at(c, fi, cmd->start, CMDLINE_UNSAFE,
				 "%s shares its line with another command; put the assignment on a line of its own",
				 name);
	return 0;
}

/* A statement that assigns the variable: check it is one we can follow, then record it. */
static int assignment_scan(struct grub_ctx *c, size_t fi, const struct sh_command *cmd,
			   size_t w, size_t aw, const struct scan_state *st, int var,
			   enum sh_op before, enum sh_op after)
{
	const char *name = grub_var_names[var];
	bool exported = sh_word_is(&c->frags[fi], &cmd->words[w], "export");
	size_t expect = exported ? w + 1 : w;
	struct assignment *a;
	int r;

	if (st->depth > 0 || st->case_depth > 0 || w > 0)
		return refuse_at(c, fi, cmd->words[aw].start, CMDLINE_UNSAFE,
				 "%s is set inside if/case/while/for, { }, ( ) or a function; which value wins depends on how it runs",
				 name);
	r = statement_refuse_context(c, fi, cmd, var, before, after);
	if (r < 0)
		return r;
	if (aw == w && cmd->n_words > w + 1 && !exported)
		return refuse_at(c, fi, cmd->words[aw].start, CMDLINE_UNSAFE,
				 "%s is set as a prefix of a command, which keeps it only for that command",
				 name);
	if (aw == w + 1 && !exported)
		return refuse_at(c, fi, cmd->words[aw].start, CMDLINE_UNSAFE,
				 "%s is set with '%.*s'; only %s=… and export %s=… are followed",
				 name, (int)(cmd->words[w].end - cmd->words[w].start),
				 frag_text(c, fi) + cmd->words[w].start, name, name);
	if (aw != expect || cmd->n_words != expect + 1)
		return refuse_at(c, fi, cmd->words[aw].start, CMDLINE_UNSAFE,
				 "%s is set in a statement with other assignments or words; put it on a line of its own",
				 name);
	if (cmd->redirect)
		return refuse_at(c, fi, cmd->start, CMDLINE_UNSAFE,
				 "the assignment of %s has a redirection", name);
	if (cmd->continued)
		return refuse_at(c, fi, cmd->start, CMDLINE_UNSAFE,
				 "the assignment of %s is continued over several lines with a backslash",
				 name);

	const struct sh_word *word = &cmd->words[aw];

	if (sh_fragment_line(&c->frags[fi], word->start) != sh_fragment_line(&c->frags[fi], word->end - 1))
		return refuse_at(c, fi, word->start, CMDLINE_UNSAFE,
				 "the value of %s spans several lines", name);
	a = assignment_new(c, var);
	if (!a)
		return grub_ctx_no_memory(c);
	a->file = fi;
	a->line = sh_fragment_line(&c->frags[fi], word->start);
	a->value_start = word->start + strlen(name) + 1;
	a->value_end = word->end;
	a->exported = exported;
	return value_read(c, fi, word, var, a);
}

static int var_scan(struct grub_ctx *c, size_t fi, const struct sh_command *cmd, size_t w,
		    const struct scan_state *st, int var, enum sh_op before, enum sh_op after)
{
	size_t aw = (size_t)-1;

	for (size_t i = w; i < cmd->n_words; i++)
		if (word_assigns(c, fi, &cmd->words[i], var)) {
			aw = i;
			break;
		}
	for (size_t i = w; i < cmd->n_words; i++) {
		size_t skip = i == aw ? strlen(grub_var_names[var]) + 1 : 0;

		if (i == aw || !word_may_change(c, fi, &cmd->words[i], var, skip))
			continue;
		if (aw == (size_t)-1 && command_exports_names(c, fi, cmd, w))
			continue;
		return refuse_at(c, fi, cmd->words[i].start, CMDLINE_UNSAFE,
				 "%s is changed by a command the editor does not follow (unset, read, readonly, ${%s:=…} or similar)",
				 grub_var_names[var], grub_var_names[var]);
	}
	if (aw == (size_t)-1)
		return 0;
	return assignment_scan(c, fi, cmd, w, aw, st, var, before, after);
}

/* A command in the innermost block, which sh needs between its reserved words. */
static void block_fill(struct scan_state *st)
{
	if (st->depth > 0)
		st->filled[st->depth - 1] = true;
}

static int block_push(struct grub_ctx *c, size_t fi, size_t offset, struct scan_state *st,
		      enum block b)
{
	if (st->depth == MAX_NESTING)
		return refuse_at(c, fi, offset, CMDLINE_SYNTAX, "blocks nested more than %d deep",
				 MAX_NESTING);
	block_fill(st);	/* the compound command is a command of the block around it */
	st->open[st->depth] = b;
	st->part[st->depth] = b == BLOCK_IF || b == BLOCK_LOOP ? PART_HEAD : PART_BODY;
	st->filled[st->depth] = false;
	st->depth++;
	return 0;
}

static bool block_top(const struct scan_state *st, enum block b)
{
	return st->depth > 0 && st->open[st->depth - 1] == b;
}

/* Words inside a case … esac: only count nesting; any mention is refused by the caller. */
static void case_words(const struct sh_fragment *f, const struct sh_command *cmd, size_t from,
		       struct scan_state *st)
{
	for (size_t i = from; i < cmd->n_words && st->case_depth > 0; i++) {
		if (sh_word_is(f, &cmd->words[i], "case"))
			st->case_depth++;
		else if (sh_word_is(f, &cmd->words[i], "esac") && --st->case_depth == 0)
			st->depth--;	/* the BLOCK_CASE pushed at "case" */
	}
}

static int mentions_refuse(struct grub_ctx *c, size_t fi, const struct sh_command *cmd,
			   size_t from)
{
	for (int var = 0; var < GRUB_N_VARS; var++)
		for (size_t i = from; i < cmd->n_words; i++)
			if (word_may_change(c, fi, &cmd->words[i], var, 0) ||
			    word_assigns(c, fi, &cmd->words[i], var))
				return refuse_at(c, fi, cmd->words[i].start, CMDLINE_UNSAFE,
						 "%s is set inside if/case/while/for, { }, ( ) or a function; which value wins depends on how it runs",
						 grub_var_names[var]);
	return 0;
}

enum keyword_kind {
	KW_OPEN,	/* starts a block */
	KW_CLOSE,	/* ends the innermost block, which must be of its kind */
	KW_INSIDE,	/* only valid directly inside its kind of block */
	KW_HEADER,	/* for/select: opens a loop; the rest of the command is its header */
	KW_CASE,
	KW_PASS,	/* "!" */
};

struct keyword {
	const char *word;
	enum keyword_kind kind;
	enum block block;
};

static const struct keyword keywords[] = {
	{ "if", KW_OPEN, BLOCK_IF },
	{ "then", KW_INSIDE, BLOCK_IF },
	{ "elif", KW_INSIDE, BLOCK_IF },
	{ "else", KW_INSIDE, BLOCK_IF },
	{ "fi", KW_CLOSE, BLOCK_IF },
	{ "while", KW_OPEN, BLOCK_LOOP },
	{ "until", KW_OPEN, BLOCK_LOOP },
	{ "for", KW_HEADER, BLOCK_LOOP },
	{ "select", KW_HEADER, BLOCK_LOOP },
	{ "do", KW_INSIDE, BLOCK_LOOP },
	{ "done", KW_CLOSE, BLOCK_LOOP },
	{ "{", KW_OPEN, BLOCK_BRACE },
	{ "}", KW_CLOSE, BLOCK_BRACE },
	{ "case", KW_CASE, BLOCK_CASE },
	{ "esac", KW_CLOSE, BLOCK_CASE },
	{ "!", KW_PASS, BLOCK_IF },
};

static const struct keyword *keyword_find(const struct sh_fragment *f, const struct sh_word *w)
{
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++)
		if (sh_word_is(f, w, keywords[i].word))
			return &keywords[i];
	return NULL;
}

/* Whether a command that follows a function header is a compound command (if, while,
 * for, case, { … }), whose block the scan follows like any other. */
static bool function_body_compound(const struct sh_fragment *f, const struct sh_command *cmd)
{
	const struct keyword *k = cmd->n_words ? keyword_find(f, &cmd->words[0]) : NULL;

	return k && (k->kind == KW_OPEN || k->kind == KW_HEADER || k->kind == KW_CASE);
}

/*
 * A reserved word that goes on with the innermost block (then, elif, else, do)
 * or ends it (fi, done, }): sh wants it in its place (then after the
 * condition, else after then …) and a command before it.
 */
static int block_word(struct grub_ctx *c, size_t fi, size_t offset, struct scan_state *st,
		      const struct keyword *k)
{
	unsigned top = st->depth - 1;
	enum block_part next = PART_BODY;
	bool placed;

	if (!block_top(st, k->block))
		placed = false;
	else if (k->kind == KW_CLOSE)
		placed = st->part[top] != PART_HEAD;
	else if (strcmp(k->word, "then") == 0 || strcmp(k->word, "do") == 0)
		placed = st->part[top] == PART_HEAD;
	else {	/* elif, else */
		placed = st->part[top] == PART_BODY;
		next = strcmp(k->word, "elif") == 0 ? PART_HEAD : PART_ELSE;
	}
	if (!placed)
		return refuse_at(c, fi, offset, CMDLINE_SYNTAX,
				 "'%s' out of place (sh stops reading the file here)", k->word);
	if (!st->filled[top])
		return refuse_at(c, fi, offset, CMDLINE_SYNTAX,
				 "'%s' with no command before it (sh stops reading the file here)", k->word);
	if (k->kind == KW_CLOSE)
		st->depth--;
	else {
		st->part[top] = next;
		st->filled[top] = false;
	}
	return 0;
}

/*
 * Inside a case the scan only counts nesting, so the reserved words at the
 * start of a command in its body are skipped here. False when the command is
 * a for or case header, which runs nothing by itself.
 */
static bool case_body_words_skip(const struct sh_fragment *f, const struct sh_command *cmd,
				 size_t *ret_w)
{
	size_t w = 0;

	for (const struct keyword *k; w < cmd->n_words && (k = keyword_find(f, &cmd->words[w])); w++)
		if (k->kind == KW_HEADER || k->kind == KW_CASE)
			return false;
	*ret_w = w;
	return true;
}

/*
 * Reserved words at the start of a command open and close blocks; a word out
 * of place is a syntax error that would stop sh, so the file is refused.
 * Returns the index of the first other word; *ret_done when the rest of the
 * command is not a command (a for header, a case).
 */
static int keywords_skip(struct grub_ctx *c, size_t fi, const struct sh_command *cmd,
			 struct scan_state *st, size_t *ret_w, bool *ret_done)
{
	const struct sh_fragment *f = &c->frags[fi];
	size_t w = 0;
	int r = 0;

	*ret_done = false;
	for (; r >= 0 && w < cmd->n_words; w++) {
		const struct sh_word *word = &cmd->words[w];
		const struct keyword *k = keyword_find(f, word);

		if (!k)
			break;
		if (k->kind == KW_CLOSE || k->kind == KW_INSIDE)
			r = block_word(c, fi, word->start, st, k);
		else if (k->kind == KW_OPEN)
			r = block_push(c, fi, word->start, st, k->block);
		else if (k->kind == KW_HEADER || k->kind == KW_CASE) {
			r = block_push(c, fi, word->start, st, k->block);
			if (r >= 0)
				block_fill(st);	/* a for header stands for the condition */
			if (r >= 0 && k->kind == KW_CASE) {
				st->case_depth = 1;
				case_words(f, cmd, w + 1, st);
			}
			*ret_done = true;
			break;
		}
	}
	*ret_w = w;
	return r;
}

/*
 * sh removes backslash-newline before it splits words, so
 * "GRUB_CMDLINE_LINUX_D\<newline>EFAULT=x" assigns the variable: a command
 * joined that way that names a variable at all is refused.
 */
static int continued_refuse(struct grub_ctx *c, size_t fi, const struct sh_command *cmd)
{
	_cleanup_strbuf_ struct strbuf joined = STRBUF_INIT;
	const char *s = frag_text(c, fi);

	if (!cmd->continued)
		return 0;
	for (size_t i = cmd->start; i < cmd->end; i++) {
		if (s[i] == '\\' && i + 1 < cmd->end && s[i + 1] == '\n') {
			i++;
			continue;
		}
		if (strbuf_appendc(&joined, s[i]) < 0)
			return grub_ctx_no_memory(c);
	}
	for (int var = 0; var < GRUB_N_VARS; var++) {
		const char *name = grub_var_names[var], *at = strbuf_str(&joined);
		size_t n = strlen(name);

		while ((at = strstr(at, name))) {
			bool left = at == strbuf_str(&joined) || !grub_is_name_char(at[-1]);

			if (left && !grub_is_name_char(at[n]))
				return refuse_at(c, fi, cmd->start, CMDLINE_UNSAFE,
						 "a statement naming %s is continued over several lines with a backslash",
						 name);
			at += n;
		}
	}
	return 0;
}

/* Refuse a command whose name the editor cannot know, or a builtin that runs or skips code it cannot see. */
static int command_name_refuse(struct grub_ctx *c, size_t fi, const struct sh_command *cmd, size_t name)
{
	static const char *const opaque[] = {
		".", "source", "eval", "exec", "exit", "return", "alias", "break", "continue", NULL,
	};
	const char *text = frag_text(c, fi), *builtin;
	const struct sh_word *nw;

	if (name == cmd->n_words)
		return 0;
	nw = &cmd->words[name];
	if (word_expands(nw)) {
		const char *nl = memchr(text + nw->start, '\n', nw->end - nw->start);
		size_t shown = nl ? (size_t)(nl - (text + nw->start)) : nw->end - nw->start;

		return refuse_at(c, fi, nw->start, CMDLINE_UNSAFE,
				 "the command's name (%.*s) comes from an expansion, so the editor cannot tell what it runs",
				 (int)shown, text + nw->start);
	}
	builtin = word_value_in(c, fi, nw, opaque);
	if (builtin)
		return refuse_at(c, fi, nw->start, CMDLINE_UNSAFE,
				 "'%s' can run or skip code the editor cannot see; it cannot tell what the kernel command line will be",
				 builtin);
	return 0;
}

static int command_scan(struct grub_ctx *c, size_t fi, const struct sh_command *cmd,
			struct scan_state *st, enum sh_op after)
{
	const struct sh_fragment *f = &c->frags[fi];
	size_t w = 0, name;
	bool done;
	int r;

	r = continued_refuse(c, fi, cmd);
	if (r < 0)
		return r;
	st->cmd_since_op = true;
	if (st->case_depth > 0) {
		case_words(f, cmd, 0, st);
		r = mentions_refuse(c, fi, cmd, 0);
		/* "a)" and "a|b)" are patterns; a command in a pipeline runs in a subshell */
		if (r >= 0 && after != SH_OP_RPAREN && after != SH_OP_PIPE &&
		    case_body_words_skip(f, cmd, &w))
			r = command_name_refuse(c, fi, cmd, command_name_index(c, fi, cmd, w));
		return r;
	}
	if (st->func_header != (size_t)-1 && cmd->n_words > 0 && keyword_find(f, &cmd->words[0]) &&
	    !function_body_compound(f, cmd))
		return refuse_at(c, fi, cmd->words[0].start, CMDLINE_SYNTAX,
				 "'%.*s' cannot start a function's body (sh stops reading the file here)",
				 (int)(cmd->words[0].end - cmd->words[0].start), f->text + cmd->words[0].start);
	if (st->func_header != (size_t)-1 && !function_body_compound(f, cmd)) {
		/* dash takes a simple command as a function's body ("f() X=1"): it runs
		 * only when f is called, so whatever it sets is not the file's value. */
		st->func_header = (size_t)-1;
		r = mentions_refuse(c, fi, cmd, 0);
		if (r >= 0)	/* "f() . ./x" then "f" reads x */
			r = command_name_refuse(c, fi, cmd, command_name_index(c, fi, cmd, 0));
		return r;
	}
	st->func_header = (size_t)-1;
	r = keywords_skip(c, fi, cmd, st, &w, &done);
	if (r < 0)
		return r;
	if (done)
		return mentions_refuse(c, fi, cmd, w);
	if (w == cmd->n_words && w > 0) {
		/* Only reserved words: "if", "then", "{", "!" … want a command next, which
		 * may be a ( … ) subshell; "fi", "}" … end one. */
		const struct keyword *k = keyword_find(f, &cmd->words[w - 1]);

		st->cmd_since_op = k->kind == KW_CLOSE;
		if (k->kind == KW_PASS && after != SH_OP_LPAREN)
			return refuse_at(c, fi, cmd->words[w - 1].start, CMDLINE_SYNTAX,
					 "'!' without a command after it (sh stops reading the file here)");
		return 0;
	}
	block_fill(st);	/* a command, or only redirections */
	if (w == cmd->n_words)
		return 0;
	name = command_name_index(c, fi, cmd, w);
	r = command_name_refuse(c, fi, cmd, name);
	if (r < 0)
		return r;
	for (int var = 0; var < GRUB_N_VARS; var++) {
		r = var_scan(c, fi, cmd, w, st, var, st->prev, after);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The operator after item i, as the statement sees it ("x;" at a line's end is "x"). */
static enum sh_op op_after(const struct sh_fragment *f, size_t i)
{
	if (i + 1 >= f->n_items)
		return SH_OP_NEWLINE;
	enum sh_op op = f->items[i + 1].op;

	if (op == SH_OP_SEMI && (i + 2 >= f->n_items ||
				 (f->items[i + 2].kind == SH_ITEM_OP && f->items[i + 2].op == SH_OP_NEWLINE)))
		return SH_OP_NEWLINE;
	return op;
}

/* `name ( )`: a function definition, not a subshell, also right after a reserved
 * word ("then f() …"). sh wants a name there ("X=f()" is no function). */
static bool is_function_header(const struct grub_ctx *c, size_t fi, size_t i)
{
	const struct sh_fragment *f = &c->frags[fi];
	const struct sh_command *cmd = i > 0 && f->items[i - 1].kind == SH_ITEM_COMMAND ?
					       &f->items[i - 1].command : NULL;

	if (!cmd || cmd->n_words == 0 || !word_is_name(c, fi, &cmd->words[cmd->n_words - 1]))
		return false;
	for (size_t w = 0; w + 1 < cmd->n_words; w++) {
		const struct keyword *k = keyword_find(f, &cmd->words[w]);

		if (!k || k->kind == KW_CLOSE || k->kind == KW_HEADER || k->kind == KW_CASE)
			return false;
	}
	return i + 1 < f->n_items &&
	       f->items[i + 1].kind == SH_ITEM_OP && f->items[i + 1].op == SH_OP_RPAREN;
}

static const char *op_name(enum sh_op op)
{
	switch (op) {
	case SH_OP_SEMI:
		return ";";
	case SH_OP_DSEMI:
		return ";;";
	case SH_OP_AMP:
		return "&";
	case SH_OP_AND:
		return "&&";
	case SH_OP_OR:
		return "||";
	case SH_OP_PIPE:
		return "|";
	case SH_OP_LPAREN:
		return "(";
	case SH_OP_RPAREN:
		return ")";
	default:
		return "newline";
	}
}

static int parens_scan(struct grub_ctx *c, size_t fi, size_t *i, struct scan_state *st)
{
	const struct sh_fragment *f = &c->frags[fi];
	const struct sh_item *it = &f->items[*i];

	if (it->op == SH_OP_LPAREN) {
		if (is_function_header(c, fi, *i)) {
			st->func_header = f->items[*i - 1].command.start;
			(*i)++;
			return 0;
		}
		st->func_header = (size_t)-1;	/* "f() ( … )": the body is a subshell */
		if (st->cmd_since_op)
			return refuse_at(c, fi, it->offset, CMDLINE_SYNTAX,
					 "'(' in the middle of a command (sh stops reading the file here)");
		return block_push(c, fi, it->offset, st, BLOCK_PAREN);
	}
	if (!block_top(st, BLOCK_PAREN))
		return refuse_at(c, fi, it->offset, CMDLINE_SYNTAX,
				 "')' without its '(' (sh stops reading the file here)");
	if (!st->filled[st->depth - 1])
		return refuse_at(c, fi, it->offset, CMDLINE_SYNTAX,
				 "')' with no command before it (sh stops reading the file here)");
	st->depth--;
	return 0;
}

static int op_scan(struct grub_ctx *c, size_t fi, size_t *i, struct scan_state *st)
{
	const struct sh_item *it = &c->frags[fi].items[*i];
	int r = 0;

	if (st->case_depth > 0) {	/* patterns use ')' and ';;'; only esac matters */
		st->cmd_since_op = false;
		return 0;
	}
	if (st->func_header != (size_t)-1 && it->op != SH_OP_NEWLINE && it->op != SH_OP_LPAREN)
		return refuse_at(c, fi, st->func_header, CMDLINE_SYNTAX,
				 "a function header without its body (sh stops reading the file here)");
	switch (it->op) {
	case SH_OP_LPAREN:
	case SH_OP_RPAREN:
		r = parens_scan(c, fi, i, st);
		st->cmd_since_op = it->op == SH_OP_RPAREN;	/* ( … ) is a command */
		return r;
	case SH_OP_NEWLINE:
		/* a newline right after && || | continues the list */
		if (st->cmd_since_op ||
		    (st->prev != SH_OP_AND && st->prev != SH_OP_OR && st->prev != SH_OP_PIPE))
			st->prev = SH_OP_NEWLINE;
		break;
	case SH_OP_DSEMI:
		return refuse_at(c, fi, it->offset, CMDLINE_SYNTAX,
				 "';;' outside case (sh stops reading the file here)");
	default:
		if (!st->cmd_since_op)
			return refuse_at(c, fi, it->offset, CMDLINE_SYNTAX,
					 "'%s' without a command before it (sh stops reading the file here)",
					 op_name(it->op));
		st->prev = it->op;
		break;
	}
	st->cmd_since_op = false;
	return 0;
}

static int fragment_scan(struct grub_ctx *c, size_t fi)
{
	const struct sh_fragment *f = &c->frags[fi];
	struct scan_state st = { .prev = SH_OP_NEWLINE, .func_header = (size_t)-1 };
	int r = 0;

	for (size_t i = 0; r >= 0 && i < f->n_items; i++) {
		if (f->items[i].kind == SH_ITEM_OP) {
			r = op_scan(c, fi, &i, &st);
			continue;
		}
		r = command_scan(c, fi, &f->items[i].command, &st, op_after(f, i));
	}
	if (r < 0)
		return r;
	/* A line added at the end would become the body ("f()" then "X=1" sets X only when f runs). */
	if (st.func_header != (size_t)-1)
		return refuse_at(c, fi, st.func_header, CMDLINE_SYNTAX,
				 "the file ends after a function header, without its body; write the body or remove the header");
	if (st.depth > 0 || st.case_depth > 0)
		return refuse_at(c, fi, f->len, CMDLINE_SYNTAX,
				 "the file ends inside an if/case/loop, { } or ( ) block");
	if (!st.cmd_since_op && (st.prev == SH_OP_AND || st.prev == SH_OP_OR || st.prev == SH_OP_PIPE))
		return refuse_at(c, fi, f->len, CMDLINE_SYNTAX, "the file ends after '%s'",
				 op_name(st.prev));
	return 0;
}

void grub_ctx_release(struct grub_ctx *c)
{
	for (int var = 0; var < GRUB_N_VARS; var++) {
		for (size_t i = 0; i < c->vars[var].n; i++)
			assignment_release(&c->vars[var].v[i]);
		free(c->vars[var].v);
		c->vars[var] = (struct var_state) {0};
	}
	for (size_t i = 0; c->frags && i < c->n_files; i++)
		sh_fragment_release(&c->frags[i]);
	free(c->frags);
	c->frags = NULL;
}

/* The effective value starts at the last assignment and goes back while each refers to itself. */
static void chain_find(struct var_state *vs)
{
	size_t k = vs->n ? vs->n - 1 : 0;

	while (k > 0 && vs->v[k].self)
		k--;
	vs->first = k;
}

int grub_ctx_load(struct grub_ctx *c, const struct grub_file *files, size_t n_files)
{
	int r;

	c->files = files;
	c->n_files = n_files;
	c->frags = calloc(n_files ? n_files : 1, sizeof(*c->frags));
	if (!c->frags)
		return grub_ctx_no_memory(c);
	for (size_t fi = 0; fi < n_files; fi++) {
		unsigned line = 0;
		const char *why = NULL;

		if (memchr(files[fi].text, '\0', files[fi].len))
			return cmdline_error_set(c->err, -EBADMSG, CMDLINE_SYNTAX, files[fi].name, 0,
						 "the file contains a NUL byte; it is not a shell fragment");
		r = sh_fragment_parse(files[fi].text, files[fi].len, &c->frags[fi], &line, &why);
		if (r == -EBADMSG)
			return cmdline_error_set(c->err, r, CMDLINE_SYNTAX, files[fi].name, line,
						 "cannot read the file as sh: %s", why);
		if (r < 0)
			return grub_ctx_no_memory(c);
		r = fragment_scan(c, fi);
		if (r < 0)
			return r;
	}
	for (int var = 0; var < GRUB_N_VARS; var++)
		chain_find(&c->vars[var]);
	return 0;
}

