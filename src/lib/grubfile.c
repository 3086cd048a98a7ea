/* SPDX-License-Identifier: GPL-2.0-or-later */
/* grubfile.c — edits the effective GRUB_CMDLINE_LINUX[_DEFAULT] across /etc/default/grub and grub.d. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "grubfile.h"
#include "macros.h"
#include "shfrag.h"
#include "strbuf.h"

enum {
	VAR_DEFAULT,
	VAR_LINUX,
	N_VARS,
};

static const char *const var_names[N_VARS] = {
	[VAR_DEFAULT] = "GRUB_CMDLINE_LINUX_DEFAULT",
	[VAR_LINUX] = "GRUB_CMDLINE_LINUX",
};

/* One piece of an assignment's value: literal bytes, or the $VAR self-reference. */
struct piece {
	bool self;
	enum sh_quote quote;
	unsigned group;
	size_t start, end;	/* literal: its bytes; self: the whole $VAR or ${VAR} */
	struct strbuf out;	/* literal: the bytes after the edit */
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

/* A literal stretch of the effective value and the piece it comes from. */
struct run {
	struct assignment *a;
	struct piece *p;
	size_t off, len;	/* in the effective value */
};

struct grub_ctx {
	const struct grub_file *files;
	size_t n_files;
	struct sh_fragment *frags;
	struct var_state vars[N_VARS];
	struct cmdline_error *err;
};

/* Where a scan is inside one file: nesting of compound commands and case. */
struct scan_state {
	unsigned depth;
	unsigned case_depth;
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

static int no_memory(struct grub_ctx *c)
{
	return cmdline_error_set(c->err, -ENOMEM, CMDLINE_NO_MEMORY, NULL, 0, "out of memory");
}

static bool is_name_char(char ch)
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
	const char *name = var_names[var];

	return p->kind == SH_PARAM && p->name_len == strlen(name) &&
	       memcmp(frag_text(c, fi) + p->name_start, name, p->name_len) == 0;
}

/* Whether [start, end) of the file holds the variable's name as a whole identifier. */
static bool text_has_name(const struct grub_ctx *c, size_t fi, size_t start, size_t end, int var)
{
	const char *s = frag_text(c, fi), *name = var_names[var];
	size_t n = strlen(name);

	for (size_t i = start; i + n <= end; i++) {
		if (memcmp(s + i, name, n) != 0)
			continue;
		bool left = i == 0 || !is_name_char(s[i - 1]);
		bool right = i + n >= c->files[fi].len || !is_name_char(s[i + n]);

		if (left && right)
			return true;
	}
	return false;
}

/*
 * Whether a word could change the variable: its name as literal text (an
 * argument to unset, read, export …) or an expansion that assigns
 * (${VAR:=x}). Plain reads ($VAR, ${VAR:-x}) cannot; $( … ) runs in a
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
	const char *name = var_names[var];
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
		if (!is_name_char(s[i]))
			return false;
	return w->end > w->start && !(s[w->start] >= '0' && s[w->start] <= '9');
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
	const char *name = var_names[var];
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
			return no_memory(c);
	}
	return 0;
}

static int statement_refuse_context(struct grub_ctx *c, size_t fi, const struct sh_command *cmd,
				    int var, enum sh_op before, enum sh_op after)
{
	const char *name = var_names[var];

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
	const char *name = var_names[var];
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
		return no_memory(c);
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
		size_t skip = i == aw ? strlen(var_names[var]) + 1 : 0;

		if (i == aw || !word_may_change(c, fi, &cmd->words[i], var, skip))
			continue;
		if (aw == (size_t)-1 && command_exports_names(c, fi, cmd, w))
			continue;
		return refuse_at(c, fi, cmd->words[i].start, CMDLINE_UNSAFE,
				 "%s is changed by a command the editor does not follow (unset, read, readonly, ${%s:=…} or similar)",
				 var_names[var], var_names[var]);
	}
	if (aw == (size_t)-1)
		return 0;
	return assignment_scan(c, fi, cmd, w, aw, st, var, before, after);
}

static bool word_in(const struct sh_fragment *f, const struct sh_word *w,
		    const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (sh_word_is(f, w, list[i]))
			return true;
	return false;
}

/* Words inside a case … esac: only count nesting; any mention is refused by the caller. */
static void case_words(const struct sh_fragment *f, const struct sh_command *cmd, size_t from,
		       struct scan_state *st)
{
	for (size_t i = from; i < cmd->n_words && st->case_depth > 0; i++) {
		if (sh_word_is(f, &cmd->words[i], "case"))
			st->case_depth++;
		else if (sh_word_is(f, &cmd->words[i], "esac") && --st->case_depth == 0)
			st->depth--;
	}
}

static int mentions_refuse(struct grub_ctx *c, size_t fi, const struct sh_command *cmd,
			   size_t from)
{
	for (int var = 0; var < N_VARS; var++)
		for (size_t i = from; i < cmd->n_words; i++)
			if (word_may_change(c, fi, &cmd->words[i], var, 0) ||
			    word_assigns(c, fi, &cmd->words[i], var))
				return refuse_at(c, fi, cmd->words[i].start, CMDLINE_UNSAFE,
						 "%s is set inside if/case/while/for, { }, ( ) or a function; which value wins depends on how it runs",
						 var_names[var]);
	return 0;
}

/* Leading reserved words open and close compound commands; returns the first other word. */
static int keywords_skip(struct grub_ctx *c, size_t fi, const struct sh_command *cmd,
			 struct scan_state *st, size_t *ret_w, bool *ret_done)
{
	static const char *const open[] = { "if", "while", "until", "{", NULL };
	static const char *const close[] = { "fi", "done", "}", NULL };
	static const char *const pass[] = { "then", "do", "else", "elif", "!", NULL };
	const struct sh_fragment *f = &c->frags[fi];
	size_t w = 0;

	*ret_done = false;
	for (; w < cmd->n_words; w++) {
		const struct sh_word *word = &cmd->words[w];

		if (word_in(f, word, open)) {
			st->depth++;
		} else if (word_in(f, word, close)) {
			if (st->depth == 0)
				return refuse_at(c, fi, word->start, CMDLINE_SYNTAX,
						 "'%.*s' without the start of its block",
						 (int)(word->end - word->start), f->text + word->start);
			st->depth--;
		} else if (sh_word_is(f, word, "case")) {
			st->depth++;
			st->case_depth = 1;
			case_words(f, cmd, w + 1, st);
			*ret_done = true;
			break;
		} else if (sh_word_is(f, word, "for") || sh_word_is(f, word, "select")) {
			st->depth++;	/* closed by its "done" */
			*ret_done = true;
			break;
		} else if (!word_in(f, word, pass)) {
			break;
		}
	}
	*ret_w = w;
	return 0;
}

static int command_scan(struct grub_ctx *c, size_t fi, const struct sh_command *cmd,
			struct scan_state *st, enum sh_op before, enum sh_op after)
{
	static const char *const opaque[] = {
		".", "source", "eval", "exec", "exit", "return", "alias", NULL,
	};
	const struct sh_fragment *f = &c->frags[fi];
	size_t w = 0;
	bool done;
	int r;

	if (st->case_depth > 0) {
		case_words(f, cmd, 0, st);
		return mentions_refuse(c, fi, cmd, 0);
	}
	r = keywords_skip(c, fi, cmd, st, &w, &done);
	if (r < 0)
		return r;
	if (done)
		return mentions_refuse(c, fi, cmd, w);
	if (w == cmd->n_words)
		return 0;
	if (word_in(f, &cmd->words[w], opaque))
		return refuse_at(c, fi, cmd->words[w].start, CMDLINE_UNSAFE,
				 "'%.*s' can run or skip code the editor cannot see; it cannot tell what the kernel command line will be",
				 (int)(cmd->words[w].end - cmd->words[w].start), f->text + cmd->words[w].start);
	for (int var = 0; var < N_VARS; var++) {
		r = var_scan(c, fi, cmd, w, st, var, before, after);
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

/* `name ( )`: a function definition, not a subshell. */
static bool is_function_header(const struct sh_fragment *f, size_t i)
{
	return i > 0 && f->items[i - 1].kind == SH_ITEM_COMMAND &&
	       f->items[i - 1].command.n_words == 1 && i + 1 < f->n_items &&
	       f->items[i + 1].kind == SH_ITEM_OP && f->items[i + 1].op == SH_OP_RPAREN;
}

static int op_scan(struct grub_ctx *c, size_t fi, size_t *i, struct scan_state *st,
		   enum sh_op *prev, bool *cmd_since_op)
{
	const struct sh_fragment *f = &c->frags[fi];
	const struct sh_item *it = &f->items[*i];

	switch (it->op) {
	case SH_OP_LPAREN:
		if (st->case_depth > 0)
			break;
		if (is_function_header(f, *i))
			(*i)++;
		else
			st->depth++;
		break;
	case SH_OP_RPAREN:
		if (st->case_depth > 0)
			break;
		if (st->depth == 0)
			return refuse_at(c, fi, it->offset, CMDLINE_SYNTAX,
					 "')' without its '('");
		st->depth--;
		break;
	case SH_OP_NEWLINE:
		/* a newline right after && || | continues the list */
		if (*cmd_since_op || (*prev != SH_OP_AND && *prev != SH_OP_OR && *prev != SH_OP_PIPE))
			*prev = SH_OP_NEWLINE;
		break;
	default:
		*prev = it->op;
		break;
	}
	*cmd_since_op = false;
	return 0;
}

static int fragment_scan(struct grub_ctx *c, size_t fi)
{
	const struct sh_fragment *f = &c->frags[fi];
	struct scan_state st = {0};
	enum sh_op prev = SH_OP_NEWLINE;
	bool cmd_since_op = false;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < f->n_items; i++) {
		if (f->items[i].kind == SH_ITEM_OP) {
			r = op_scan(c, fi, &i, &st, &prev, &cmd_since_op);
			continue;
		}
		r = command_scan(c, fi, &f->items[i].command, &st, prev, op_after(f, i));
		cmd_since_op = true;
	}
	if (r >= 0 && (st.depth > 0 || st.case_depth > 0))
		return refuse_at(c, fi, f->len, CMDLINE_SYNTAX,
				 "the file ends inside an if/case/loop or { } block");
	return r;
}

static void ctx_release(struct grub_ctx *c)
{
	for (int var = 0; var < N_VARS; var++) {
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

static int ctx_load(struct grub_ctx *c, const struct grub_file *files, size_t n_files)
{
	int r;

	c->files = files;
	c->n_files = n_files;
	c->frags = calloc(n_files ? n_files : 1, sizeof(*c->frags));
	if (!c->frags)
		return no_memory(c);
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
			return no_memory(c);
		r = fragment_scan(c, fi);
		if (r < 0)
			return r;
	}
	for (int var = 0; var < N_VARS; var++)
		chain_find(&c->vars[var]);
	return 0;
}

static int run_add(struct run **runs, size_t *n, size_t *cap, const struct run *r)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct run *p = realloc(*runs, ncap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*runs = p;
		*cap = ncap;
	}
	(*runs)[(*n)++] = *r;
	return 0;
}

/*
 * Lay out the effective value: assignment k's pieces in order, its
 * self-reference replaced by assignment k-1's value, back to the chain's start.
 */
static int runs_expand(const struct grub_ctx *c, struct var_state *vs, size_t k,
		       struct strbuf *value, struct run **runs, size_t *n, size_t *cap)
{
	struct assignment *a = &vs->v[k];
	int r;

	for (size_t i = 0; i < a->n_pieces; i++) {
		struct piece *p = &a->pieces[i];

		if (p->self) {
			if (k > vs->first) {
				r = runs_expand(c, vs, k - 1, value, runs, n, cap);
				if (r < 0)
					return r;
			}
			continue;
		}
		r = run_add(runs, n, cap, &(struct run) {
			.a = a, .p = p, .off = value->len, .len = p->end - p->start,
		});
		if (r >= 0)
			r = strbuf_append(value, c->files[a->file].text + p->start, p->end - p->start);
		if (r < 0)
			return r;
	}
	return 0;
}

static int runs_build(struct grub_ctx *c, int var, struct strbuf *value, struct run **ret,
		      size_t *ret_n)
{
	struct var_state *vs = &c->vars[var];
	size_t cap = 0;
	int r = 0;

	*ret = NULL;
	*ret_n = 0;
	if (vs->n > 0)
		r = runs_expand(c, vs, vs->n - 1, value, ret, ret_n, &cap);
	if (r >= 0 && !value->buf)
		r = strbuf_append(value, "", 0);
	if (r < 0) {
		free(*ret);
		*ret = NULL;
		return no_memory(c);
	}
	return 0;
}

static const struct run *run_at(const struct run *runs, size_t n, size_t off, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (off >= runs[i].off && off + len <= runs[i].off + runs[i].len &&
		    (len > 0 || off < runs[i].off + runs[i].len))
			return &runs[i];
	return NULL;
}

/* Bytes a word may hold unquoted without the shell reading anything into them. */
static bool unquoted_safe(const char *s)
{
	for (; *s; s++)
		if (!is_name_char(*s) && !strchr(".,:=/+@%^-", *s))
			return false;
	return true;
}

/* Check that every token the plan touches lies inside one piece, and mark what goes. */
static int plan_locate(struct grub_ctx *c, int var, const struct cmdline_plan *p,
		       const struct strbuf *value, const struct run *runs, size_t n_runs,
		       bool *del)
{
	for (size_t i = 0; i < p->n_tokens; i++) {
		const struct cmdline_token *t = &p->tokens[i];
		const struct run *run;
		size_t s, e;

		if (p->action[i] == CMDLINE_KEEP)
			continue;
		run = run_at(runs, n_runs, t->start, t->len);
		if (!run) {
			const struct run *at = run_at(runs, n_runs, t->start, 0);
			const struct assignment *a = at ? at->a : &c->vars[var].v[c->vars[var].n - 1];

			return cmdline_error_set(c->err, -EBADMSG, CMDLINE_UNSAFE, c->files[a->file].name,
						 a->line,
						 "'%.*s' in %s is split across a $%s expansion; edit it by hand",
						 (int)t->len, value->buf + t->start, var_names[var],
						 var_names[var]);
		}
		if (p->action[i] == CMDLINE_REPLACE) {
			if (run->p->quote == SH_UNQUOTED && !unquoted_safe(p->replace[i]))
				run->a->requote = true;
			continue;
		}
		cmdline_plan_drop_range(p, value->buf, value->len, i, &s, &e);
		if (s < run->off)
			s = run->off;
		if (e > run->off + run->len)
			e = run->off + run->len;
		memset(del + s, true, e - s);
	}
	return 0;
}

/* Write each run's new bytes into its piece. */
static int runs_apply(const struct grub_ctx *c, const struct cmdline_plan *p,
		      const struct run *runs, size_t n_runs, const bool *del)
{
	size_t t = 0;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < n_runs; i++) {
		const struct run *run = &runs[i];
		const char *src = c->files[run->a->file].text + run->p->start;
		struct strbuf *out = &run->p->out;

		for (size_t k = 0; r >= 0 && k < run->len; k++) {
			size_t off = run->off + k;

			while (t < p->n_tokens && p->tokens[t].start < off)
				t++;
			if (t < p->n_tokens && p->tokens[t].start == off &&
			    p->action[t] == CMDLINE_REPLACE) {
				r = strbuf_appends(out, p->replace[t]);
				k += p->tokens[t].len - 1;
				continue;
			}
			if (!del[off])
				r = strbuf_appendc(out, src[k]);
		}
		if (r >= 0 && !out->buf)
			r = strbuf_append(out, "", 0);
		if (r >= 0 && (out->len != run->len || memcmp(out->buf, src, run->len) != 0))
			run->a->changed = true;
	}
	return r;
}

static bool is_blank_byte(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r' ||
	       (unsigned char)ch == 0xA0;
}

/* The effective value after the edit of the pieces (appends not included). */
static int value_after(const struct grub_ctx *c, const struct var_state *vs, size_t k,
		       struct strbuf *out)
{
	const struct assignment *a = &vs->v[k];
	int r = 0;

	for (size_t i = 0; r >= 0 && i < a->n_pieces; i++) {
		const struct piece *p = &a->pieces[i];

		if (p->self && k > vs->first)
			r = value_after(c, vs, k - 1, out);
		else if (!p->self && p->out.buf)
			r = strbuf_append(out, p->out.buf, p->out.len);
		else if (!p->self)
			r = strbuf_append(out, c->files[a->file].text + p->start, p->end - p->start);
	}
	return r;
}

/* New parameters go at the end of the last assignment's own text. */
static int appends_place(struct grub_ctx *c, int var, const struct cmdline_plan *p)
{
	struct var_state *vs = &c->vars[var];
	struct assignment *a = &vs->v[vs->n - 1];
	_cleanup_strbuf_ struct strbuf now = STRBUF_INIT;
	const struct piece *last = a->n_pieces ? &a->pieces[a->n_pieces - 1] : NULL;
	int r;

	r = value_after(c, vs, vs->n - 1, &now);
	/* never let a word follow $VAR directly: "$VARiommu" would be another variable */
	bool sep = (now.len > 0 && !is_blank_byte(now.buf[now.len - 1])) || (last && last->self);

	for (size_t i = 0; r >= 0 && i < p->n_append; i++) {
		if (sep || i > 0)
			r = strbuf_appendc(&a->append, ' ');
		if (r >= 0)
			r = strbuf_appends(&a->append, p->append[i]);
	}
	if (r < 0)
		return no_memory(c);
	if (!last || last->quote == SH_UNQUOTED)
		a->requote = true;
	a->changed = true;
	return 0;
}

/* Apply one variable's plan to the pieces of its chain of assignments. */
static int var_edit(struct grub_ctx *c, int var, const char *const *add,
		    const char *const *remove)
{
	_cleanup_strbuf_ struct strbuf value = STRBUF_INIT;
	_cleanup_free_ struct run *runs = NULL;
	_cleanup_free_ bool *del = NULL;
	struct cmdline_plan p = {0};
	size_t n_runs;
	int r;

	if (c->vars[var].n == 0)
		return 0;	/* the caller appends a new assignment */
	r = runs_build(c, var, &value, &runs, &n_runs);
	if (r < 0)
		return r;
	r = cmdline_plan_make(value.buf, value.len, add, remove, &p, c->err);
	if (r < 0)
		return r;
	del = calloc(value.len + 1, sizeof(bool));
	if (!del) {
		r = no_memory(c);
		goto out;
	}
	r = plan_locate(c, var, &p, &value, runs, n_runs, del);
	if (r < 0)
		goto out;
	if (runs_apply(c, &p, runs, n_runs, del) < 0) {
		r = no_memory(c);
		goto out;
	}
	if (p.n_append > 0)
		r = appends_place(c, var, &p);
out:
	cmdline_plan_release(&p);
	return r;
}

static char group_delimiter(enum sh_quote q)
{
	return q == SH_DOUBLE ? '"' : q == SH_SINGLE ? '\'' : '\0';
}

static const char *piece_bytes(const struct grub_ctx *c, const struct assignment *a,
			       const struct piece *p, size_t *ret_len)
{
	if (!p->self && p->out.buf) {
		*ret_len = p->out.len;
		return p->out.buf;
	}
	*ret_len = p->end - p->start;
	return c->files[a->file].text + p->start;
}

/* Write the value back with its own quoting, each quoted string as it was. */
static int value_render_kept(const struct grub_ctx *c, const struct assignment *a,
			     struct strbuf *out)
{
	char open = '\0';
	int r = 0;

	for (size_t i = 0; r >= 0 && i < a->n_pieces; i++) {
		const struct piece *p = &a->pieces[i];
		size_t n;
		const char *b = piece_bytes(c, a, p, &n);

		if (i == 0 || p->group != a->pieces[i - 1].group) {
			if (open)
				r = strbuf_appendc(out, open);
			open = group_delimiter(p->quote);
			if (r >= 0 && open)
				r = strbuf_appendc(out, open);
		}
		if (r >= 0)
			r = strbuf_append(out, b, n);
	}
	if (r >= 0 && a->append.len)
		r = strbuf_append(out, a->append.buf, a->append.len);
	if (r >= 0 && open)
		r = strbuf_appendc(out, open);
	return r;
}

/* $VAR as written, unless a name byte follows it in the new text: then ${VAR}. */
static int self_render(const struct grub_ctx *c, const struct assignment *a, size_t i, int var,
		       struct strbuf *out)
{
	const struct piece *p = &a->pieces[i];
	char next = '\0';

	for (size_t k = i + 1; k < a->n_pieces && !next; k++) {
		size_t n;
		const char *b = piece_bytes(c, a, &a->pieces[k], &n);

		if (n > 0)
			next = b[0];
	}
	if (!next && a->append.len)
		next = a->append.buf[0];
	if (is_name_char(next))
		return strbuf_appendf(out, "${%s}", var_names[var]);
	return strbuf_append(out, c->files[a->file].text + p->start, p->end - p->start);
}

/* Write the value back as one "…" string (an unquoted value that must now hold a blank). */
static int value_render_requoted(struct grub_ctx *c, const struct assignment *a, int var,
				 struct strbuf *out)
{
	int r = strbuf_appendc(out, '"');

	for (size_t i = 0; r >= 0 && i < a->n_pieces; i++) {
		const struct piece *p = &a->pieces[i];
		size_t n;
		const char *b = piece_bytes(c, a, p, &n);

		if (p->self) {
			r = self_render(c, a, i, var, out);
			continue;
		}
		for (size_t k = 0; k < n; k++)
			if (strchr("\"$`\\", b[k]) || (p->quote == SH_UNQUOTED && b[k] == '~'))
				return cmdline_error_set(c->err, -EBADMSG, CMDLINE_UNSAFE,
							 c->files[a->file].name, a->line,
							 "the value of %s would need double quotes, but it holds '%c'; edit it by hand",
							 var_names[var], b[k]);
		r = strbuf_append(out, b, n);
	}
	if (r >= 0 && a->append.len)
		r = strbuf_append(out, a->append.buf, a->append.len);
	if (r >= 0)
		r = strbuf_appendc(out, '"');
	return r < 0 ? no_memory(c) : 0;
}

struct edit_span {
	size_t start, end;
	const struct assignment *a;
	int var;
};

static int span_compare(const void *x, const void *y)
{
	const struct edit_span *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

/* Line ending of the main file, for a line the editor adds to it. */
static const char *file_eol(const struct grub_file *f)
{
	const char *nl = memchr(f->text, '\n', f->len);

	return nl && nl > f->text && nl[-1] == '\r' ? "\r\n" : "\n";
}

static int new_assignment_add(const struct grub_file *f, const struct cmdline_plan *p,
			      struct strbuf *out)
{
	const char *eol = file_eol(f);
	bool final_newline = f->len == 0 || f->text[f->len - 1] == '\n';
	int r = 0;

	if (!final_newline)
		r = strbuf_appends(out, eol);
	if (r >= 0)
		r = strbuf_appendf(out, "%s=\"", var_names[VAR_DEFAULT]);
	for (size_t i = 0; r >= 0 && i < p->n_append; i++)
		r = strbuf_appendf(out, "%s%s", i ? " " : "", p->append[i]);
	if (r >= 0)
		r = strbuf_appendc(out, '"');
	if (r >= 0 && final_newline)
		r = strbuf_appends(out, eol);
	return r;
}

static int file_render(struct grub_ctx *c, size_t fi, const struct cmdline_plan *new_default,
		       char **ret)
{
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	_cleanup_free_ struct edit_span *spans = NULL;
	const struct grub_file *f = &c->files[fi];
	size_t n = 0, pos = 0;
	int r = 0;

	spans = calloc(c->vars[0].n + c->vars[1].n + 1, sizeof(*spans));
	if (!spans)
		return no_memory(c);
	for (int var = 0; var < N_VARS; var++)
		for (size_t i = 0; i < c->vars[var].n; i++) {
			const struct assignment *a = &c->vars[var].v[i];

			if (a->file == fi && a->changed)
				spans[n++] = (struct edit_span) { a->value_start, a->value_end, a, var };
		}
	if (n == 0 && !new_default) {
		*ret = NULL;
		return 0;
	}
	qsort(spans, n, sizeof(*spans), span_compare);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = strbuf_append(&out, f->text + pos, spans[i].start - pos);
		if (r < 0)
			break;
		if (spans[i].a->requote)
			r = value_render_requoted(c, spans[i].a, spans[i].var, &out);
		else
			r = value_render_kept(c, spans[i].a, &out);
		pos = spans[i].end;
	}
	if (r >= 0)
		r = strbuf_append(&out, f->text + pos, f->len - pos);
	if (r >= 0 && new_default)
		r = new_assignment_add(f, new_default, &out);
	if (r == -EBADMSG)
		return r;
	if (r < 0)
		return no_memory(c);
	*ret = strbuf_steal(&out);
	return *ret ? 0 : no_memory(c);
}

void grub_texts_free(char **texts, size_t n)
{
	if (!texts)
		return;
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
}

static int effective_value(struct grub_ctx *c, int var, char **ret)
{
	_cleanup_strbuf_ struct strbuf value = STRBUF_INIT;
	_cleanup_free_ struct run *runs = NULL;
	size_t n_runs;
	int r = runs_build(c, var, &value, &runs, &n_runs);

	if (r < 0)
		return r;
	*ret = strbuf_steal(&value);
	return *ret ? 0 : no_memory(c);
}

int grub_read_cmdline(const struct grub_file *files, size_t n_files, char **ret_default,
		      char **ret_linux, struct cmdline_error *err)
{
	struct grub_ctx c = { .err = err };
	_cleanup_free_ char *def = NULL, *lin = NULL;
	int r;

	if (err)
		*err = (struct cmdline_error) {0};
	r = ctx_load(&c, files, n_files);
	if (r >= 0)
		r = effective_value(&c, VAR_DEFAULT, &def);
	if (r >= 0)
		r = effective_value(&c, VAR_LINUX, &lin);
	ctx_release(&c);
	if (r < 0)
		return r;
	*ret_default = TAKE_PTR(def);
	*ret_linux = TAKE_PTR(lin);
	return 0;
}

/* Stricter than the kernel: an added parameter lands in a file that sh sources. */
static int grub_param_check(const char *param, struct cmdline_error *err)
{
	int r = cmdline_param_check(param, err);

	if (r < 0)
		return r;
	for (const char *s = param; *s; s++)
		if (strchr("$`\\\"';|&<> \t", *s))
			return cmdline_error_set(err, -EINVAL, CMDLINE_BAD_PARAM, NULL, 0,
						 "kernel parameter '%s' has '%c', which the shell would interpret; it is never written into /etc/default/grub",
						 param, *s);
	return 0;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void strv_freep(char ***v)
{
	strv_free(*v);
}

/*
 * What GRUB_CMDLINE_LINUX loses: the removals, and any other value of a key
 * the edit adds to GRUB_CMDLINE_LINUX_DEFAULT (the kernel would get both).
 */
static int linux_removals(const char *linux_value, const char *const *add,
			  const char *const *remove, char ***ret)
{
	_cleanup_free_ struct cmdline_token *tokens = NULL;
	size_t n, n_kernel, n_add = 0, n_remove = 0, k = 0;
	char **v;
	int r;

	while (add && add[n_add])
		n_add++;
	while (remove && remove[n_remove])
		n_remove++;
	r = cmdline_tokenize(linux_value, strlen(linux_value), &tokens, &n, &n_kernel);
	if (r < 0)
		return r;
	v = calloc(n_remove + n_kernel + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n_remove; i++)
		if (!(v[k++] = strdup(remove[i])))
			goto oom;
	for (size_t i = 0; i < n_kernel; i++) {
		const struct cmdline_token *t = &tokens[i];

		for (size_t j = 0; j < n_add; j++) {
			const char *eq = strchr(add[j], '=');

			if (!eq || !cmdline_key_equal(add[j], (size_t)(eq - add[j]),
						      linux_value + t->key_start, t->key_len))
				continue;
			if (t->has_value && t->len == strlen(add[j]) &&
			    memcmp(linux_value + t->start, add[j], t->len) == 0)
				continue;
			if (!(v[k++] = strndup(linux_value + t->start, t->len)))
				goto oom;
			break;
		}
	}
	*ret = v;
	return 0;
oom:
	strv_free(v);
	return -ENOMEM;
}

/* Before editing: parameters appended after "--" or an open quote would not reach the kernel. */
static int appends_refuse(struct grub_ctx *c, const char *def, const char *lin)
{
	const char *values[N_VARS] = { [VAR_DEFAULT] = def, [VAR_LINUX] = lin };

	for (int var = 0; var < N_VARS; var++) {
		_cleanup_free_ struct cmdline_token *t = NULL;
		size_t n, n_kernel;
		const struct var_state *vs = &c->vars[var];
		const struct assignment *a = vs->n ? &vs->v[vs->n - 1] : NULL;

		if (cmdline_tokenize(values[var], strlen(values[var]), &t, &n, &n_kernel) < 0)
			return no_memory(c);
		if (n_kernel < n || (n > 0 && t[n - 1].open_quote))
			return cmdline_error_set(c->err, -EBADMSG, CMDLINE_UNSAFE,
						 a ? c->files[a->file].name : c->files[0].name,
						 a ? a->line : 0,
						 "%s has %s; parameters added after it would not reach the kernel",
						 var_names[var], n_kernel < n ? "'--'" : "an open '\"'");
	}
	return 0;
}

/* The result must read back to exactly the values the edit computed, and be stable. */
static int result_verify(struct grub_ctx *c, char **texts, const char *const *add,
			 const char *const *linux_remove, const char *const *remove)
{
	_cleanup_free_ struct grub_file *files = calloc(c->n_files + 1, sizeof(*files));
	_cleanup_free_ char *def = NULL, *lin = NULL;
	struct cmdline_plan p = {0};
	struct cmdline_error scratch;
	bool stable;
	int r;

	if (!files)
		return no_memory(c);
	for (size_t i = 0; i < c->n_files; i++) {
		files[i] = c->files[i];
		if (texts[i]) {
			files[i].text = texts[i];
			files[i].len = strlen(texts[i]);
		}
	}
	r = grub_read_cmdline(files, c->n_files, &def, &lin, &scratch);
	if (r == -ENOMEM)
		return no_memory(c);
	stable = r >= 0;
	if (stable && cmdline_plan_make(def, strlen(def), add, remove, &p, &scratch) >= 0) {
		stable = !p.changes;
		cmdline_plan_release(&p);
	}
	if (stable && cmdline_plan_make(lin, strlen(lin), NULL, linux_remove, &p, &scratch) >= 0) {
		stable = !p.changes;
		cmdline_plan_release(&p);
	}
	if (!stable)
		return cmdline_error_set(c->err, -EBADMSG, CMDLINE_UNSTABLE, c->files[0].name, 0,
					 "the edited files would not read back as intended (%s); nothing was changed",
					 r < 0 ? scratch.message : "parameters still differ");
	return 0;
}

static int length_check(struct grub_ctx *c, const char *old_def, const char *old_lin,
			char **texts)
{
	_cleanup_free_ struct grub_file *files = calloc(c->n_files + 1, sizeof(*files));
	_cleanup_free_ char *def = NULL, *lin = NULL;
	struct cmdline_error scratch;
	size_t limit = CMDLINE_MAX - GRUB_CMDLINE_RESERVE;

	if (!files)
		return no_memory(c);
	for (size_t i = 0; i < c->n_files; i++) {
		files[i] = c->files[i];
		if (texts[i]) {
			files[i].text = texts[i];
			files[i].len = strlen(texts[i]);
		}
	}
	if (grub_read_cmdline(files, c->n_files, &def, &lin, &scratch) < 0)
		return 0;	/* result_verify() reports it */
	size_t now = strlen(lin) + 1 + strlen(def), before = strlen(old_lin) + 1 + strlen(old_def);

	if (now > limit && now > before)
		return cmdline_error_set(c->err, -E2BIG, CMDLINE_TOO_LONG, c->files[0].name, 0,
					 "GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT would be %zu bytes together, more than the %zu that fit on the kernel command line beside BOOT_IMAGE= and root=",
					 now, limit);
	return 0;
}

static int texts_render(struct grub_ctx *c, const char *const *add, char ***ret)
{
	struct cmdline_plan p = {0};
	bool append_line = c->vars[VAR_DEFAULT].n == 0 && add && add[0];
	char **texts = calloc(c->n_files + 1, sizeof(char *));
	int r = 0;

	if (!texts)
		return no_memory(c);
	if (append_line)
		r = cmdline_plan_make("", 0, add, NULL, &p, c->err);
	for (size_t fi = 0; r >= 0 && fi < c->n_files; fi++)
		r = file_render(c, fi, fi == 0 && append_line ? &p : NULL, &texts[fi]);
	cmdline_plan_release(&p);
	if (r < 0) {
		grub_texts_free(texts, c->n_files);
		return r;
	}
	*ret = texts;
	return 0;
}

static int params_check(const char *const *add, const char *const *remove,
			struct cmdline_error *err)
{
	int r;

	for (size_t i = 0; add && add[i]; i++) {
		r = grub_param_check(add[i], err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; remove && remove[i]; i++) {
		r = cmdline_param_check(remove[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

int grub_edit_cmdline(const struct grub_file *files, size_t n_files, const char *const *add,
		      const char *const *remove, char ***ret_texts, struct cmdline_error *err)
{
	struct grub_ctx c = { .err = err };
	_cleanup_free_ char *def = NULL, *lin = NULL;
	_cleanup_(strv_freep) char **lin_remove = NULL;
	char **texts = NULL;
	int r;

	if (err)
		*err = (struct cmdline_error) {0};
	if (n_files == 0)
		return cmdline_error_set(err, -EINVAL, CMDLINE_BAD_PARAM, NULL, 0,
					 "no /etc/default/grub to edit");
	r = params_check(add, remove, err);
	if (r >= 0)
		r = ctx_load(&c, files, n_files);
	if (r >= 0)
		r = effective_value(&c, VAR_DEFAULT, &def);
	if (r >= 0)
		r = effective_value(&c, VAR_LINUX, &lin);
	if (r >= 0 && linux_removals(lin, add, remove, &lin_remove) < 0)
		r = no_memory(&c);
	if (r >= 0 && add && add[0])
		r = appends_refuse(&c, def, lin);
	if (r >= 0)
		r = var_edit(&c, VAR_DEFAULT, add, remove);
	if (r >= 0)
		r = var_edit(&c, VAR_LINUX, NULL, (const char *const *)lin_remove);
	if (r >= 0)
		r = texts_render(&c, add, &texts);
	if (r >= 0)
		r = length_check(&c, def, lin, texts);
	if (r >= 0)
		r = result_verify(&c, texts, add, (const char *const *)lin_remove, remove);
	if (r < 0 || !texts) {
		grub_texts_free(texts, n_files);
		ctx_release(&c);
		return r;
	}
	ctx_release(&c);
	*ret_texts = texts;
	return 0;
}
