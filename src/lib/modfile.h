/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modfile.h — pure editors and a kmod-faithful reader for /etc/modules and /etc/modprobe.d.
 *  The one public header of: modules-read.c and modules-edit.c (/etc/modules, as systemd 252
 *  reads it), modprobe-read.c and modprobe-config.c (modprobe.d, as libkmod 30 reads it),
 *  modprobe-edit.c and modprobe-softdep.c (the modprobe.d editors); modfile-internal.h holds
 *  what they share. Must not: open files, print — callers read and write the files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macros.h"

/*
 * Every editor takes the whole old text (a C string) and an intent, and
 * returns the whole new text in *ret_text (malloc'd, owned by the caller):
 *
 *   1   the text changed
 *   0   nothing to do; *ret_text is an identical copy (so applying twice is a no-op)
 *   -EINVAL   the intent itself is bad (a module name with odd characters, ...)
 *   -EBADMSG  the file has a line the edit must touch but cannot change safely;
 *             *err says which line (1-based, the first physical line of the
 *             logical line) and why
 *   -ENOMEM
 *
 * Outputs are filled only on success (err only on -EBADMSG; it may be NULL).
 * Bytes the intent does not need are never touched: comments, blank lines,
 * unknown directives, CRLF, a missing final newline all survive. A removed
 * line takes its own terminator with it; when the last line of a file without
 * a final newline goes, the previous line gives up its terminator instead, so
 * that remove(add(x)) == x.
 *
 * Module names compare with '-' and '_' as equal, as kmod does. Names given
 * as intent must be plain kernel module names ([A-Za-z0-9_-], at most 55
 * bytes); the editors write them as given.
 */

struct modfile_error {
	unsigned line;
	char reason[256];
};

/* ---- /etc/modules and modules-load.d: one module name per line ------- */

/*
 * Lines are read exactly as systemd-modules-load reads them (systemd 252, the
 * rules and their sources are cited in modules-read.c; Debian's systemd links
 * /etc/modules-load.d/modules.conf to ../modules): '\n' and '\r' end lines,
 * blanks (" \t") are stripped at both ends, empty lines and lines starting
 * with '#' or ';' are skipped, and the WHOLE remaining line is one module
 * name. So "vfio_pci ids=10de:1b80" and "vfio vfio_iommu_type1 vfio_pci"
 * load nothing: systemd looks each up as one name, logs "Failed to find
 * module '...'" and still succeeds. Parameters after the name only ever
 * worked with Debian's old sysvinit script (/etc/init.d/kmod).
 * New lines use the file's line ending (CRLF when its first line has one).
 */
struct modfile_modules_line {
	unsigned line;	/* 1-based, counted in '\n' as an editor shows it */
	char *name;	/* the whole stripped line: the one name systemd looks up */
	bool broken;	/* it holds a blank: more than one word, so it loads nothing */
};

/* Every line systemd-modules-load looks up, in file order. 0 or -ENOMEM. */
int modfile_modules_read(const char *text, struct modfile_modules_line **ret, size_t *ret_n);
void modfile_modules_lines_free(struct modfile_modules_line *v, size_t n);

/* 1: a line of exactly the module (systemd loads it); 2: only a broken line
 * names it among other words (systemd loads nothing); 0: not named. */
int modfile_modules_has(const char *text, const char *module);
/* Adds the module on a line of its own unless has() is 1: a broken line that
 * names it is left as the admin wrote it (the plan reports it with the fix). */
int modfile_modules_add(const char *text, const char *module, char **ret_text,
			struct modfile_error *err);
/* Removes every line that is the module, and every broken line whose first
 * word is the module ("vfio_pci ids=..."). A line that a lone '\r' splits
 * into the module and something else is refused (-EBADMSG). */
int modfile_modules_remove(const char *text, const char *module, char **ret_text,
			   struct modfile_error *err);

/* ---- one file in /etc/modprobe.d ------------------------------------------ */

/*
 * Lines are read exactly as libkmod's config parser (kmod 30, Debian 12)
 * reads them: a backslash joins the next physical line when it precedes '\n'
 * and otherwise escapes the next byte; only '#' in the first column starts a
 * comment; words are separated by spaces and tabs only — so a CRLF line
 * "blacklist nouveau\r" blacklists "nouveau\r" for kmod, i.e. nothing. Such
 * a line does not count as present; lines this editor adds always end in
 * "\n" alone, which is the only line ending kmod understands.
 */
int modfile_add_blacklist(const char *text, const char *module, char **ret_text,
			  struct modfile_error *err);
/* Removes every "blacklist M" line (also a CRLF one, which kmod ignores anyway). */
int modfile_remove_blacklist(const char *text, const char *module, char **ret_text,
			     struct modfile_error *err);

/*
 * options: "key=value key2=value2 flag" (space-separated; no quotes,
 * backslashes or control characters). kmod concatenates every "options M"
 * line in file order (then the kernel command line's M.key=value) and the
 * kernel applies them left to right, so the last occurrence of a key wins.
 * Policy: every occurrence of a key for M in this file is rewritten to the new
 * value (so no stale, contradicting value is left for a later edit to
 * uncover); keys not present are appended to the last "options M" line of the
 * file, or a new "options M ..." line is added when there is none. Keys
 * compare with '-' and '_' as equal, as the kernel's parameq() does; values
 * compare after the kernel strips their double quotes.
 * An "options M" line with an unbalanced double quote is refused (-EBADMSG):
 * kmod joins every options line for M, so the kernel would take the rest of
 * that line and every later option for M (ours too) as one value.
 */
int modfile_set_options(const char *text, const char *module, const char *options,
			char **ret_text, struct modfile_error *err);
/* keys: space-separated parameter names to drop from every "options M" line
 * (a line left empty goes); NULL drops every "options M" line. */
int modfile_remove_options(const char *text, const char *module, const char *keys,
			   char **ret_text, struct modfile_error *err);

/*
 * softdep: pre and post are space-separated module lists (either may be NULL
 * or empty, not both). kmod uses only the FIRST softdep line whose pattern
 * (fnmatch) matches a module, so deps are merged into that line: missing ones
 * are appended to its last pre: (post:) section, one listed on the wrong side
 * is moved. When the first matching line is a glob ("softdep nouv* ...") the
 * edit is refused, since kmod would never read a line for M after it. A line
 * whose "pre:" kmod cannot see (exactly two blanks after the module name:
 * kmod glues one of them to the word) is refused as malformed.
 */
int modfile_add_softdep(const char *text, const char *module, const char *pre,
			const char *post, char **ret_text, struct modfile_error *err);
/* Drops the listed deps from every "softdep M" line (empty sections and
 * empty lines go); pre == post == NULL drops every "softdep M" line. */
int modfile_remove_softdep(const char *text, const char *module, const char *pre,
			   const char *post, char **ret_text, struct modfile_error *err);

/*
 * install: "install M COMMAND" — kmod runs COMMAND through sh instead of
 * loading M. The first such line for M in the file is replaced (kept when it
 * already says COMMAND), later ones go, and one is appended when there is
 * none; command NULL removes every "install M" line. COMMAND must be one line.
 */
int modfile_set_install(const char *text, const char *module, const char *command, char **ret_text,
			struct modfile_error *err);

/* ---- what kmod makes of a set of files plus the kernel command line ---- */

enum modfile_kind {
	MODFILE_BLACKLIST,
	MODFILE_INSTALL,
	MODFILE_REMOVE,
	MODFILE_ALIAS,
	MODFILE_OPTIONS,
	MODFILE_SOFTDEP,
};

#define MODFILE_SOURCE_CMDLINE "kernel command line"

struct modfile_entry {
	enum modfile_kind kind;
	/* The module (for alias: the alias) as kmod stores it: '-' turned into
	 * '_' outside [...] — except blacklist names from modprobe.blacklist=,
	 * which kmod keeps verbatim (so "modprobe.blacklist=vfio-pci" does not
	 * blacklist vfio_pci; checked against kmod 30). */
	char *name;
	/* options (tabs turned into spaces), install/remove command, alias
	 * target; softdep: "pre: a b post: c"; NULL for blacklist. */
	char *value;
	char **pre, **post; /* softdep only, NULL-terminated */
	size_t n_pre, n_post;
	const char *source; /* file name as given, or MODFILE_SOURCE_CMDLINE */
	unsigned line;      /* first physical line; 0 for the command line */
};

struct modfile_source {
	const char *name; /* used for messages only, e.g. "/etc/modprobe.d/vfio.conf" */
	const char *text;
};

struct modfile_config {
	struct modfile_entry *entries; /* in kmod's order: files, then command line */
	size_t n_entries;
	char **names;                  /* owned copies of the source names */
	size_t n_names;
};

/*
 * files: in the order kmod reads them (the caller sorts /etc/modprobe.d,
 * /run/modprobe.d, /lib/modprobe.d by file name, first directory winning a
 * name); cmdline: the kernel command line (e.g. /proc/cmdline, or the one the
 * next boot gets), parsed as kmod 30 does (modprobe.blacklist=a,b and
 * MODULE.param[=value], quotes honoured), or NULL. Lines kmod would ignore
 * are ignored; this never fails on file content.
 */
int modfile_config_parse(const struct modfile_source *files, size_t n_files, const char *cmdline,
			 struct modfile_config **ret);
void modfile_config_free(struct modfile_config *c);
static inline void modfile_config_freep(struct modfile_config **c)
{
	if (*c)
		modfile_config_free(*c);
}
#define _cleanup_modfile_config_ _cleanup_(modfile_config_freep)

/* The first entry that blacklists the module, or NULL. */
const struct modfile_entry *modfile_config_find_blacklist(const struct modfile_config *c,
							 const char *module);
/* The softdep kmod uses for the module: the first whose pattern matches, or NULL. */
const struct modfile_entry *modfile_config_find_softdep(const struct modfile_config *c,
						       const char *module);
/* What kmod passes to init_module(): every options entry for the module joined
 * by one space. Returns 1 and the string, or 0 and NULL when there is none. */
int modfile_config_get_options(const struct modfile_config *c, const char *module,
			       char **ret_options);
/* The value the kernel ends up with for one parameter (the last occurrence in
 * the joined options, quotes stripped as the kernel strips them). Returns 1
 * when set (*ret_value NULL for a bare flag), 0 when not; ret_entry (optional)
 * is the entry that set it. */
int modfile_config_get_param(const struct modfile_config *c, const char *module, const char *key,
			     char **ret_value, const struct modfile_entry **ret_entry);
/* The configuration part of `modprobe --showconfig` (blacklist, install,
 * remove, alias, options, softdep; each in order), for tests against kmod. */
int modfile_config_dump(const struct modfile_config *c, char **ret_text);
