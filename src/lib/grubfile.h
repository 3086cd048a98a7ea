/* SPDX-License-Identifier: GPL-2.0-or-later */
/* grubfile.h — pure editor for the kernel command line in /etc/default/grub and its drop-ins. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cmdline.h"
#include "grubinput.h"

/*
 * grub-mkconfig sources /etc/default/grub and then every
 * /etc/default/grub.d/NAME.cfg in glob order; the kernel gets
 * GRUB_CMDLINE_LINUX followed by GRUB_CMDLINE_LINUX_DEFAULT (the latter only
 * for normal, not recovery, entries). The editor reads the files the way sh
 * would, finds the assignments that decide the *effective* values, and edits
 * those, leaving every byte outside the edited values as it was.
 *
 * It follows: VAR="…", VAR='…', VAR=…, `export VAR=…`, values made of
 * several quoted pieces, and a self-reference such as
 * VAR="$VAR iommu=pt" (the effective value is then the concatenation of the
 * chain of assignments). Comments, blank lines and unrelated commands are
 * ignored, including command substitutions in other variables
 * (GRUB_DISTRIBUTOR=`lsb_release …`). Anything that could change the edited
 * variables in a way it cannot follow is refused with file, line and reason
 * (-EBADMSG, reason CMDLINE_UNSAFE or CMDLINE_SYNTAX): command substitution
 * or another variable in their value, backslashes and line continuations,
 * an assignment inside if/case/while/for/{ }/( ) or a function, one joined by
 * && || | & ; to another command, several assignments or a command in one
 * statement, a redirection, ${VAR:=…}/unset/readonly/read of the variable,
 * a value spanning lines, `.`/source/eval/exec/exit/return/alias
 * anywhere (they could run or skip code the editor cannot see), a statement
 * naming the variables that is joined with backslash-newline, and text sh
 * itself would stop at: here-documents, unterminated quotes, then/fi/done/
 * esac/;;/&&/|/( out of place, a file ending inside a block or after &&.
 * Adding is also refused when "--" or an open '"' would carry the new
 * parameters away from the kernel.
 */

/* struct grub_file, the files given to every function here, is in grubinput.h. */

/*
 * Edit the command line: files[0] is /etc/default/grub, files[1..] the
 * drop-ins in the order grub-mkconfig sources them. The normal entry's
 * kernel gets "$GRUB_CMDLINE_LINUX $GRUB_CMDLINE_LINUX_DEFAULT" as one line
 * (Debian 12's /etc/grub.d/10_linux), so each added key ends up in it
 * exactly once, as the add says (a bare "key" and "key=value" are the same
 * key, as in cmdline_plan_make()):
 *  - an add that GRUB_CMDLINE_LINUX already holds exactly (same key and
 *    value, or both bare) stays there, once, and every token of its key
 *    leaves GRUB_CMDLINE_LINUX_DEFAULT;
 *  - any other add goes to the effective GRUB_CMDLINE_LINUX_DEFAULT (into
 *    the literal text of the last assignment, or a new line at the end of
 *    files[0] when there is none), and every token of its key leaves
 *    GRUB_CMDLINE_LINUX, so the recovery entry (GRUB_CMDLINE_LINUX only)
 *    boots without what iommuctl added.
 * remove applies to both variables, in whichever assignment holds the
 * parameter. Token semantics are cmdline_plan_make()'s.
 *
 * Parameters must be plain words: besides cmdline_param_check(), none of
 * $ ` \ " ' ; | & < > or blanks (nothing the shell would interpret).
 * The combined line must stay within CMDLINE_MAX minus GRUB_CMDLINE_RESERVE
 * (room for BOOT_IMAGE=, root= and ro that grub-mkconfig puts in front).
 *
 * On success *ret_texts is an array of n_files entries: the new text of each
 * file that changed (malloc'd, NUL-terminated) or NULL where nothing
 * changed; free with grub_texts_free(). Errors: -EINVAL (bad intent),
 * -EBADMSG (a file it cannot edit safely; err names file and line),
 * -E2BIG, -ENOMEM.
 */
int grub_edit_cmdline(const struct grub_file *files, size_t n_files, const char *const *add,
		      const char *const *remove, char ***ret_texts, struct cmdline_error *err);

/*
 * The effective values as sh would leave them (for plan and verify), each
 * malloc'd; refuses the same files grub_edit_cmdline() refuses.
 */
int grub_read_cmdline(const struct grub_file *files, size_t n_files, char **ret_default,
		      char **ret_linux, struct cmdline_error *err);

/*
 * Which assignment wrote the byte at offset of the effective value of
 * GRUB_CMDLINE_LINUX (linux_var) or GRUB_CMDLINE_LINUX_DEFAULT, as
 * grub_read_cmdline() gives it: the index into files and the 1-based line.
 * Returns 1 and fills them, 0 when no assignment wrote it, or what
 * grub_read_cmdline() returns on error.
 */
int grub_cmdline_where(const struct grub_file *files, size_t n_files, bool linux_var, size_t offset,
		       size_t *ret_file, unsigned *ret_line, struct cmdline_error *err);

void grub_texts_free(char **texts, size_t n);

#define GRUB_CMDLINE_RESERVE 256
