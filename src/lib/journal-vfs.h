/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal-vfs.h — the VFS the journal opens its file with (journal-vfs.c says how it differs). */
#pragma once

#include <sqlite3.h>

/* Its name for sqlite3_open_v2, registered on first use; NULL (SQLite's default VFS) if it cannot be. */
const char *journal_vfs_name(void);
