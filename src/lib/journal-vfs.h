/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal-vfs.h — the VFS the journal opens its file with (journal-vfs.c says how it differs).
 *  Owns: its name for sqlite3_open_v2. Must not: be used outside journal-open.c. */
#pragma once

#include <sqlite3.h>

/* Its name for sqlite3_open_v2, registered on first use; NULL (SQLite's default VFS) if it cannot be. */
const char *journal_vfs_name(void);
