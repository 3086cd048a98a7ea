/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal-blob.h — file contents in the journal: stored once per SHA-256, zlib-compressed.
 *  Owns: blob_put and blob_get on a journal's SQLite handle. Must not: be used outside the
 *  journal module (its unit test and fuzz target aside). */
#pragma once

#include <sqlite3.h>
#include <stddef.h>

/* Store data under hash unless a blob with that hash exists. */
int blob_put(sqlite3 *db, const char *hash, const char *data, size_t len);
/* Load and inflate the blob; the result is NUL-terminated. -ENOENT if missing,
 * -EBADMSG if it does not inflate to its recorded size and hash. */
int blob_get(sqlite3 *db, const char *hash, char **ret, size_t *ret_len);
