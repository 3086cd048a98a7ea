/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modprobe-edit.h — the line edits every modprobe.d editor makes (modprobe-edit.c): an appended
 *  line, deleted lines, words appended to a line. Internal: modprobe-softdep.c uses it too. */
#pragma once

#include <stdbool.h>

#include "modfile-internal.h"
#include "modprobe-read.h"

int mline_check_extendable(const struct mline *l, struct modfile_error *err);
/* New lines must not be swallowed by a continuation left open at EOF. */
int mfile_append_line(const struct mfile *f, const char *line, struct edits *e,
		      struct modfile_error *err);
int mfile_delete_lines(const struct mfile *f, const bool *del, struct edits *e);
