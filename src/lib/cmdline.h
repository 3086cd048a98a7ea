/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmdline.h — the kernel command line as the kernel tokenizes it, and a pure editor for it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * x86 COMMAND_LINE_SIZE, including the terminating NUL: the boot loader
 * truncates anything longer, so the editor refuses to write it.
 */
#define CMDLINE_SIZE 2048
#define CMDLINE_MAX (CMDLINE_SIZE - 1)

/* Why an edit was refused; the caller maps every reason to exit 5 (bad input). */
enum cmdline_reason {
	CMDLINE_OK = 0,
	CMDLINE_TOO_LONG,	/* result over CMDLINE_MAX bytes */
	CMDLINE_BAD_PARAM,	/* a parameter of the intent is not one plain kernel token */
	CMDLINE_CONFLICT,	/* the intent adds and removes the same thing, or adds a key twice */
	CMDLINE_UNTERMINATED,	/* an open quote would swallow what the editor appends */
	CMDLINE_SYNTAX,		/* (grub) text the shell reader cannot follow */
	CMDLINE_UNSAFE,		/* (grub) a construct that makes the effective value unknowable */
	CMDLINE_UNSTABLE,	/* the result would not re-read as intended (a bug guard) */
	CMDLINE_NO_MEMORY,
};

/*
 * What went wrong, for the one message the front end prints as
 * "FILE:LINE: MESSAGE". Filled by every editor on failure (and cleared on
 * success) when the caller passes one; the editors never print.
 */
struct cmdline_error {
	enum cmdline_reason reason;
	const char *file;	/* a name the caller passed in (not copied), NULL for a bare line */
	unsigned line;		/* 1-based; 0 when the problem is not tied to a line */
	char message[320];	/* lowercase, no "file:line:" prefix, no trailing newline */
};

/* One token as the kernel's next_arg() splits it: raw bytes and the key/value it sees. */
struct cmdline_token {
	size_t start, len;		/* raw text in the line, quotes included */
	size_t key_start, key_len;	/* the parameter name */
	bool has_value;			/* there was a '=' after the first byte */
	size_t value_start, value_len;	/* value with the quotes the kernel strips removed */
	bool open_quote;		/* a '"' was still open at the end of the line */
};

/*
 * Split line[0..len) like the kernel (spaces separate, double quotes group,
 * the first '=' after the first byte splits key from value). *ret_n_kernel is
 * the number of tokens before a bare "--", after which the kernel hands the
 * rest to init. Returns 0 or -ENOMEM.
 */
int cmdline_tokenize(const char *line, size_t len, struct cmdline_token **ret_tokens,
		     size_t *ret_n, size_t *ret_n_kernel);

/* Parameter names compare with '-' and '_' equal, as the kernel's parameq() does. */
bool cmdline_key_equal(const char *a, size_t alen, const char *b, size_t blen);

/*
 * Whether the kernel part of the line (before "--") has param: a bare
 * "key" matches any token with that key, "key=value" matches that value
 * (quotes stripped as the kernel does). An invalid param is never present.
 */
bool cmdline_has(const char *line, const char *param);

/*
 * Whether the kernel part of the line has param exactly as the kernel sees
 * it: the same key ('-' and '_' equal), and the same value, or no value on
 * both sides ("iommu" does not match "iommu=soft", nor the other way round).
 */
bool cmdline_has_exactly(const char *line, const char *param);

/*
 * Check that param is one plain kernel token fit to add or remove: not empty,
 * printable ASCII, no whitespace, no key starting with '=', not "--",
 * at most CMDLINE_MAX bytes. Quotes are allowed here (the kernel groups with
 * them); the grub editor is stricter. Returns 0 or -EINVAL with err filled.
 */
int cmdline_param_check(const char *param, struct cmdline_error *err);

/* What an edit does to each existing token. */
enum cmdline_action {
	CMDLINE_KEEP,
	CMDLINE_DROP,
	CMDLINE_REPLACE,
};

/*
 * The edit decided on the tokens of one line, shared by cmdline_edit() and
 * the grub editor (which applies it to the pieces of shell assignments).
 */
struct cmdline_plan {
	struct cmdline_token *tokens;
	size_t n_tokens;
	size_t n_kernel;		/* tokens before "--" */
	enum cmdline_action *action;	/* one per token */
	const char **replace;		/* one per token; the add entry for CMDLINE_REPLACE */
	const char **append;		/* add entries to append, in intent order */
	size_t n_append;
	bool changes;			/* anything but KEEP, or something to append */
};

/*
 * Decide the edit. Semantics, in this order:
 *  - remove "key" drops every token with that key; remove "key=value" drops
 *    exactly the tokens with that key and value;
 *  - add "key=value" (or bare "key") keeps the first surviving token with the
 *    same key in place (replacing its text when it differs) and drops later
 *    ones, so the add ends up exactly once; with no such token it is appended.
 *    A bare "key" and "key=value" are one setting of one name: for module
 *    and core parameters the kernel's parse_one() hands both to the same
 *    handler, with and without a value (an early or __setup handler
 *    registered as "name=" ignores the bare form, which then does nothing
 *    the admin meant). A line with both says two things about one name, so
 *    an add of either replaces the other: the key is counted once. The grub
 *    editor follows the same rule across GRUB_CMDLINE_LINUX and
 *    GRUB_CMDLINE_LINUX_DEFAULT (grubfile.h).
 * Only tokens before "--" are considered. Adds and removes are checked with
 * cmdline_param_check(); an add that a removal also matches, or two adds with
 * the same key, are refused (-EINVAL). Keys the kernel accepts repeatedly
 * (console=) collapse to one: do not add those through this editor.
 */
int cmdline_plan_make(const char *line, size_t len, const char *const *add,
		      const char *const *remove, struct cmdline_plan *ret_plan,
		      struct cmdline_error *err);
void cmdline_plan_release(struct cmdline_plan *plan);

/*
 * The bytes of line that dropping token i removes: the token and the blank
 * run before it, or the run after it when no kept token precedes it, so that
 * the other tokens keep their spacing.
 */
void cmdline_plan_drop_range(const struct cmdline_plan *plan, const char *line, size_t len,
			     size_t i, size_t *ret_start, size_t *ret_end);

/*
 * Edit a kernel command line (e.g. /etc/kernel/cmdline): old text in, new
 * text out (malloc'd, NUL-terminated), following cmdline_plan_make().
 * Untouched bytes stay as they are; new tokens go after the last kernel
 * token (before a "--"), separated by one space, so a trailing newline stays
 * last. A result longer than CMDLINE_MAX (not counting one trailing newline)
 * is refused with -E2BIG unless the edit makes the line shorter. Applying
 * the same edit twice gives the same text. Errors: -EINVAL (bad intent or an
 * unterminated quote where something must be appended), -E2BIG, -ENOMEM.
 */
int cmdline_edit(const char *old, const char *const *add, const char *const *remove,
		 char **ret_new, struct cmdline_error *err);

/* Fill err (when not NULL); returns r so callers can `return cmdline_error_set(...)`. */
int cmdline_error_set(struct cmdline_error *err, int r, enum cmdline_reason reason,
		      const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
