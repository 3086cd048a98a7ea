/* SPDX-License-Identifier: GPL-2.0-or-later */
/* shfrag.c — a reader for sourced sh fragments (/etc/default/grub): words, quotes, operators.
 *  Owns: the sh tokenizer (commands, words and their quoted parts, operators, here-documents).
 *  Must not: know what GRUB's variables mean (grubscan.c does), edit text, open files, print. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "shfrag.h"

struct lexer {
	const char *s;
	size_t len, pos;
	unsigned group;		/* last quote group handed out in the current word */
	struct sh_item *items;
	size_t n_items, cap_items;
	struct sh_command cur;	/* the command being read */
	size_t cap_words;
	size_t err_offset;
	const char *why;
	size_t multiline_quote;	/* where the first quoted string spanning lines began, or SIZE_MAX */
};

static bool is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_operator_char(char c)
{
	return c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '<' || c == '>';
}

static bool at_newline(const struct lexer *lx, size_t p)
{
	if (p >= lx->len)
		return false;
	return lx->s[p] == '\n' || (lx->s[p] == '\r' && p + 1 < lx->len && lx->s[p + 1] == '\n');
}

static size_t newline_length(const struct lexer *lx, size_t p)
{
	return lx->s[p] == '\r' ? 2 : 1;
}

/* A backslash followed by a line ending joins the lines (outside single quotes). */
static bool at_continuation(const struct lexer *lx, size_t p)
{
	return p + 1 < lx->len && lx->s[p] == '\\' && lx->s[p + 1] == '\n';
}

static int fail(struct lexer *lx, size_t offset, const char *why)
{
	lx->err_offset = offset;
	lx->why = why;
	return -EBADMSG;
}

static void word_release(struct sh_word *w)
{
	free(w->parts);
	w->parts = NULL;
	w->n_parts = 0;
}

static void command_release(struct sh_command *c)
{
	for (size_t i = 0; i < c->n_words; i++)
		word_release(&c->words[i]);
	free(c->words);
	*c = (struct sh_command) {0};
}

void sh_fragment_release(struct sh_fragment *f)
{
	for (size_t i = 0; i < f->n_items; i++)
		if (f->items[i].kind == SH_ITEM_COMMAND)
			command_release(&f->items[i].command);
	free(f->items);
	free(f->line_starts);
	*f = (struct sh_fragment) {0};
}

static int part_add(struct sh_word *w, size_t *cap, const struct sh_part *p)
{
	if (w->n_parts == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct sh_part *np = realloc(w->parts, ncap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		w->parts = np;
		*cap = ncap;
	}
	w->parts[w->n_parts++] = *p;
	return 0;
}

/* Extend the last literal part when the byte continues it, else start one. */
static int literal_add(struct sh_word *w, size_t *cap, enum sh_quote q, unsigned group,
		       size_t start, size_t end)
{
	struct sh_part *last = w->n_parts ? &w->parts[w->n_parts - 1] : NULL;

	if (last && last->kind == SH_LITERAL && last->quote == q && last->group == group &&
	    last->end == start) {
		last->end = end;
		return 0;
	}
	return part_add(w, cap, &(struct sh_part) {
		.kind = SH_LITERAL, .quote = q, .group = group, .start = start, .end = end,
	});
}

static int skip_single_quoted(struct lexer *lx, size_t *p);
static int skip_double_quoted(struct lexer *lx, size_t *p);
static int skip_backquoted(struct lexer *lx, size_t *p);

/* From just after "$(" (or "${"), find the closing byte, honouring nesting and quotes. */
static int skip_nested(struct lexer *lx, size_t *p, char open, char close, size_t from)
{
	unsigned depth = 1;
	int r;

	while (*p < lx->len) {
		char c = lx->s[*p];

		if (c == '\\') {
			*p += 2;
		} else if (c == '\'') {
			r = skip_single_quoted(lx, p);
			if (r < 0)
				return r;
		} else if (c == '"') {
			r = skip_double_quoted(lx, p);
			if (r < 0)
				return r;
		} else if (c == '`') {
			r = skip_backquoted(lx, p);
			if (r < 0)
				return r;
		} else if (c == open) {
			depth++;
			(*p)++;
		} else if (c == close) {
			(*p)++;
			if (--depth == 0)
				return 0;
		} else {
			(*p)++;
		}
	}
	return fail(lx, from, open == '(' ? "unterminated $( … )" : "unterminated ${ … }");
}

static int skip_single_quoted(struct lexer *lx, size_t *p)
{
	const char *q = memchr(lx->s + *p + 1, '\'', lx->len - *p - 1);

	if (!q)
		return fail(lx, *p, "unterminated single quote");
	*p = (size_t)(q - lx->s) + 1;
	return 0;
}

static int skip_backquoted(struct lexer *lx, size_t *p)
{
	size_t from = *p;

	for ((*p)++; *p < lx->len; (*p)++) {
		if (lx->s[*p] == '\\')
			(*p)++;
		else if (lx->s[*p] == '`') {
			(*p)++;
			return 0;
		}
	}
	return fail(lx, from, "unterminated backquote");
}

static int skip_double_quoted(struct lexer *lx, size_t *p)
{
	size_t from = *p;
	int r;

	for ((*p)++; *p < lx->len;) {
		char c = lx->s[*p];

		if (c == '\\') {
			*p += 2;
		} else if (c == '"') {
			(*p)++;
			return 0;
		} else if (c == '`') {
			r = skip_backquoted(lx, p);
			if (r < 0)
				return r;
		} else if (c == '$' && *p + 1 < lx->len && (lx->s[*p + 1] == '(' || lx->s[*p + 1] == '{')) {
			char open = lx->s[*p + 1];
			size_t at = *p;

			*p += 2;
			r = skip_nested(lx, p, open, open == '(' ? ')' : '}', at);
			if (r < 0)
				return r;
		} else {
			(*p)++;
		}
	}
	return fail(lx, from, "unterminated double quote");
}

/* ${name…}: which operator follows the name decides whether it can assign. */
static void param_operator(const struct lexer *lx, size_t after_name, size_t end,
			   struct sh_part *part)
{
	const char *s = lx->s + after_name;
	size_t n = end - 1 - after_name;	/* up to, not including, the closing '}' */

	part->plain = n == 0;
	if (part->plain) {
		part->reads_only = true;
		return;
	}
	if (s[0] == ':')
		s++, n--;
	/* ${x-w} ${x+w} ${x#w} ${x%w} only read; ${x=w} assigns and ${x?w} may exit. */
	part->reads_only = n > 0 && (s[0] == '-' || s[0] == '+' || s[0] == '#' || s[0] == '%');
}

static int dollar_read(struct lexer *lx, struct sh_word *w, size_t *cap, enum sh_quote q,
		       unsigned group)
{
	size_t at = lx->pos, p = lx->pos + 1;
	struct sh_part part = { .quote = q, .group = group, .start = at };
	int r;

	if (p < lx->len && lx->s[p] == '(') {
		p++;
		r = skip_nested(lx, &p, '(', ')', at);
		if (r < 0)
			return r;
		part.kind = SH_SUBST;
	} else if (p < lx->len && lx->s[p] == '{') {
		size_t name = ++p;

		r = skip_nested(lx, &p, '{', '}', at);
		if (r < 0)
			return r;
		part.kind = SH_PARAM;
		if (name < p - 1 && lx->s[name] == '#' && name + 1 < p - 1) {
			name++;	/* ${#x}: the length of x */
			part.reads_only = true;
		}
		size_t e = name;

		while (e < p - 1 && is_name_char(lx->s[e]))
			e++;
		if (e == name && e < p - 1)
			e++;	/* a special parameter such as ${?} */
		part.name_start = name;
		part.name_len = e - name;
		if (!part.reads_only)
			param_operator(lx, e, p, &part);
	} else if (p < lx->len && is_name_start(lx->s[p])) {
		part.kind = SH_PARAM;
		part.name_start = p;
		while (p < lx->len && is_name_char(lx->s[p]))
			p++;
		part.name_len = p - part.name_start;
		part.plain = part.reads_only = true;
	} else if (p < lx->len && strchr("0123456789@*#?-$!", lx->s[p]) && lx->s[p]) {
		part.kind = SH_PARAM;
		part.name_start = p++;
		part.name_len = 1;
		part.plain = part.reads_only = true;
	} else {
		lx->pos = p;
		return literal_add(w, cap, q, group, at, p);	/* a lone '$' is literal */
	}
	part.end = p;
	lx->pos = p;
	return part_add(w, cap, &part);
}

static int backquote_read(struct lexer *lx, struct sh_word *w, size_t *cap, enum sh_quote q,
			  unsigned group)
{
	size_t at = lx->pos, p = lx->pos;
	int r = skip_backquoted(lx, &p);

	if (r < 0)
		return r;
	lx->pos = p;
	return part_add(w, cap, &(struct sh_part) {
		.kind = SH_SUBST, .quote = q, .group = group, .start = at, .end = p,
	});
}

static int escape_add(struct lexer *lx, struct sh_word *w, size_t *cap, enum sh_quote q,
		      unsigned group)
{
	size_t at = lx->pos;

	lx->pos = at + 2 <= lx->len ? at + 2 : lx->len;
	return part_add(w, cap, &(struct sh_part) {
		.kind = SH_ESCAPE, .quote = q, .group = group, .start = at, .end = lx->pos,
	});
}

/*
 * Remember the first quoted string that runs over a line end: when the file
 * later turns out unreadable, a quote left open there is the likely cause.
 */
static void quote_note_lines(struct lexer *lx, size_t from, size_t to)
{
	if (lx->multiline_quote == SIZE_MAX && memchr(lx->s + from, '\n', to - from))
		lx->multiline_quote = from;
}

static int single_read(struct lexer *lx, struct sh_word *w, size_t *cap)
{
	size_t p = lx->pos;
	unsigned group = ++lx->group;
	int r = skip_single_quoted(lx, &p);

	if (r < 0)
		return r;
	quote_note_lines(lx, lx->pos, p);
	r = part_add(w, cap, &(struct sh_part) {
		.kind = SH_LITERAL, .quote = SH_SINGLE, .group = group,
		.start = lx->pos + 1, .end = p - 1,
	});
	lx->pos = p;
	lx->group++;	/* what follows the quote is a new group */
	return r;
}

static int double_read(struct lexer *lx, struct sh_word *w, size_t *cap)
{
	size_t from = lx->pos, first_part = w->n_parts;
	unsigned group = ++lx->group;
	int r = 0;

	lx->pos++;
	while (r >= 0) {
		if (lx->pos >= lx->len)
			return fail(lx, from, "unterminated double quote");
		char c = lx->s[lx->pos];

		if (c == '"') {
			lx->pos++;
			break;
		}
		if (at_continuation(lx, lx->pos)) {
			lx->cur.continued = true;
			lx->pos += 2;
		} else if (c == '\\')
			r = escape_add(lx, w, cap, SH_DOUBLE, group);
		else if (c == '$')
			r = dollar_read(lx, w, cap, SH_DOUBLE, group);
		else if (c == '`')
			r = backquote_read(lx, w, cap, SH_DOUBLE, group);
		else {
			r = literal_add(w, cap, SH_DOUBLE, group, lx->pos, lx->pos + 1);
			lx->pos++;
		}
	}
	if (r >= 0)
		quote_note_lines(lx, from, lx->pos);
	/* Keep "" visible as an empty part, so the word can be written back as it was. */
	if (r >= 0 && w->n_parts == first_part)
		r = part_add(w, cap, &(struct sh_part) {
			.kind = SH_LITERAL, .quote = SH_DOUBLE, .group = group,
			.start = lx->pos - 1, .end = lx->pos - 1,
		});
	lx->group++;
	return r;
}

static bool at_word_end(const struct lexer *lx)
{
	char c = lx->s[lx->pos];

	return is_blank(c) || is_operator_char(c) || at_newline(lx, lx->pos);
}

static int word_read(struct lexer *lx, struct sh_word *w)
{
	size_t cap = 0;
	int r = 0;

	*w = (struct sh_word) { .start = lx->pos };
	lx->group = 0;
	while (r >= 0 && lx->pos < lx->len && !at_word_end(lx)) {
		char c = lx->s[lx->pos];

		if (at_continuation(lx, lx->pos)) {
			lx->cur.continued = true;
			lx->pos += 2;
		} else if (c == '\'')
			r = single_read(lx, w, &cap);
		else if (c == '"')
			r = double_read(lx, w, &cap);
		else if (c == '\\')
			r = escape_add(lx, w, &cap, SH_UNQUOTED, lx->group);
		else if (c == '$')
			r = dollar_read(lx, w, &cap, SH_UNQUOTED, lx->group);
		else if (c == '`')
			r = backquote_read(lx, w, &cap, SH_UNQUOTED, lx->group);
		else {
			r = literal_add(w, &cap, SH_UNQUOTED, lx->group, lx->pos, lx->pos + 1);
			lx->pos++;
		}
	}
	w->end = lx->pos;
	if (r < 0)
		word_release(w);
	return r;
}

static int item_push(struct lexer *lx, const struct sh_item *it)
{
	if (lx->n_items == lx->cap_items) {
		size_t ncap = lx->cap_items ? lx->cap_items * 2 : 32;
		struct sh_item *p = realloc(lx->items, ncap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		lx->items = p;
		lx->cap_items = ncap;
	}
	lx->items[lx->n_items++] = *it;
	return 0;
}

/* The command read so far becomes an item (when it has anything in it). */
static int command_finish(struct lexer *lx)
{
	int r;

	if (lx->cur.n_words == 0 && !lx->cur.redirect) {
		command_release(&lx->cur);
		lx->cap_words = 0;
		return 0;
	}
	r = item_push(lx, &(struct sh_item) { .kind = SH_ITEM_COMMAND, .command = lx->cur });
	if (r < 0)
		return r;
	lx->cur = (struct sh_command) {0};
	lx->cap_words = 0;
	return 0;
}

static int word_push(struct lexer *lx, const struct sh_word *w)
{
	struct sh_command *c = &lx->cur;

	if (c->n_words == lx->cap_words) {
		size_t ncap = lx->cap_words ? lx->cap_words * 2 : 4;
		struct sh_word *p = realloc(c->words, ncap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->words = p;
		lx->cap_words = ncap;
	}
	if (c->n_words == 0 && !c->redirect)
		c->start = w->start;
	c->words[c->n_words++] = *w;
	c->end = w->end;
	return 0;
}

static void blanks_skip(struct lexer *lx)
{
	while (lx->pos < lx->len) {
		if (is_blank(lx->s[lx->pos]))
			lx->pos++;
		else if (at_continuation(lx, lx->pos)) {
			lx->cur.continued = true;
			lx->pos += 2;
		} else
			break;
	}
}

/* "2>" and friends: a word of digits right before '<' or '>' is a file descriptor. */
static bool word_is_io_number(const struct lexer *lx, const struct sh_word *w)
{
	if (w->end >= lx->len || (lx->s[w->end] != '<' && lx->s[w->end] != '>'))
		return false;
	for (size_t i = w->start; i < w->end; i++)
		if (lx->s[i] < '0' || lx->s[i] > '9')
			return false;
	return w->end > w->start;
}

static int redirect_read(struct lexer *lx)
{
	size_t at = lx->pos;
	struct sh_word target;
	int r;

	if (lx->pos + 1 < lx->len && lx->s[at] == '<' && lx->s[at + 1] == '<')
		return fail(lx, at, "here-document (<<), which this reader does not follow");
	lx->pos++;
	if (lx->pos < lx->len && strchr("<>&|", lx->s[lx->pos]) && lx->s[lx->pos])
		lx->pos++;
	lx->cur.redirect = true;
	if (lx->cur.n_words == 0)
		lx->cur.start = at;
	blanks_skip(lx);
	if (lx->pos >= lx->len || at_word_end(lx))
		return fail(lx, at, "redirection without a target");
	r = word_read(lx, &target);
	if (r < 0)
		return r;
	lx->cur.end = target.end;
	word_release(&target);
	return 0;
}

static int op_read(struct lexer *lx)
{
	size_t at = lx->pos;
	char c = lx->s[at], n = at + 1 < lx->len ? lx->s[at + 1] : '\0';
	enum sh_op op;
	int r;

	if (c == '<' || c == '>')
		return redirect_read(lx);
	if (c == ';')
		op = n == ';' ? SH_OP_DSEMI : SH_OP_SEMI;
	else if (c == '&')
		op = n == '&' ? SH_OP_AND : SH_OP_AMP;
	else if (c == '|')
		op = n == '|' ? SH_OP_OR : SH_OP_PIPE;
	else
		op = c == '(' ? SH_OP_LPAREN : SH_OP_RPAREN;
	lx->pos += (op == SH_OP_DSEMI || op == SH_OP_AND || op == SH_OP_OR) ? 2 : 1;
	r = command_finish(lx);
	if (r < 0)
		return r;
	return item_push(lx, &(struct sh_item) { .kind = SH_ITEM_OP, .op = op, .offset = at });
}

static int lex_step(struct lexer *lx)
{
	struct sh_word w;
	int r;

	blanks_skip(lx);
	if (lx->pos >= lx->len)
		return 0;
	char c = lx->s[lx->pos];

	if (at_newline(lx, lx->pos)) {
		size_t at = lx->pos;

		lx->pos += newline_length(lx, at);
		r = command_finish(lx);
		if (r < 0)
			return r;
		return item_push(lx, &(struct sh_item) {
			.kind = SH_ITEM_OP, .op = SH_OP_NEWLINE, .offset = at,
		});
	}
	if (c == '#') {	/* a comment runs to the end of the line */
		while (lx->pos < lx->len && lx->s[lx->pos] != '\n')
			lx->pos++;
		if (lx->pos > 0 && lx->s[lx->pos - 1] == '\r' && lx->pos < lx->len)
			lx->pos--;
		return 0;
	}
	if (is_operator_char(c))
		return op_read(lx);
	r = word_read(lx, &w);
	if (r < 0)
		return r;
	if (word_is_io_number(lx, &w)) {
		word_release(&w);
		return 0;
	}
	r = word_push(lx, &w);
	if (r < 0)
		word_release(&w);
	return r;
}

static int lines_index(struct sh_fragment *f)
{
	size_t n = 1;

	for (size_t i = 0; i < f->len; i++)
		if (f->text[i] == '\n')
			n++;
	f->line_starts = malloc(n * sizeof(size_t));
	if (!f->line_starts)
		return -ENOMEM;
	f->n_lines = 0;
	f->line_starts[f->n_lines++] = 0;
	for (size_t i = 0; i < f->len; i++)
		if (f->text[i] == '\n')
			f->line_starts[f->n_lines++] = i + 1;
	return 0;
}

unsigned sh_fragment_line(const struct sh_fragment *f, size_t offset)
{
	size_t lo = 0, hi = f->n_lines;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->line_starts[mid] <= offset)
			lo = mid;
		else
			hi = mid;
	}
	return (unsigned)lo + 1;
}

bool sh_word_is(const struct sh_fragment *f, const struct sh_word *w, const char *s)
{
	size_t n = strlen(s);

	return w->n_parts == 1 && w->parts[0].kind == SH_LITERAL &&
	       w->parts[0].quote == SH_UNQUOTED && w->end - w->start == n &&
	       w->parts[0].end - w->parts[0].start == n && memcmp(f->text + w->start, s, n) == 0;
}

int sh_fragment_parse(const char *text, size_t len, struct sh_fragment *ret,
		      unsigned *ret_line, const char **ret_why)
{
	struct lexer lx = { .s = text, .len = len, .multiline_quote = SIZE_MAX };
	struct sh_fragment f = { .text = text, .len = len };
	int r;

	r = lines_index(&f);
	if (r < 0)
		return r;
	while (lx.pos < lx.len) {
		r = lex_step(&lx);
		if (r < 0)
			break;
	}
	if (r >= 0)
		r = command_finish(&lx);
	f.items = lx.items;
	f.n_items = lx.n_items;
	if (r < 0) {
		if (r == -EBADMSG && lx.multiline_quote < lx.err_offset) {
			*ret_line = sh_fragment_line(&f, lx.multiline_quote);
			*ret_why = "a quote opened here runs over several lines and the rest of the file does not read (an unterminated quote?)";
		} else if (r == -EBADMSG) {
			*ret_line = sh_fragment_line(&f, lx.err_offset);
			*ret_why = lx.why;
		}
		command_release(&lx.cur);
		sh_fragment_release(&f);
		return r;
	}
	*ret = f;
	return 0;
}
