/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal-blob.c — content-addressed, zlib-compressed storage of file contents: the journal's
 *  blob table (part of the journal module, which alone talks SQL to the journal).
 *  Owns: the blob table's two statements, compression, and the check that a stored content
 *  inflates to its recorded size and hash. Must not: know any other table, or report errors
 *  in words (its callers in journal-read.c and journal-write.c do, naming the journal). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "journal-blob.h"
#include "journal-internal.h"
#include "macros.h"
#include "util.h"

int blob_put(sqlite3 *db, const char *hash, const char *data, size_t len)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ Bytef *z = NULL;
	uLongf zlen = compressBound(len);

	/* Most contents are already stored (every apply/rollback cycle repeats them),
	 * so look before paying for compression. */
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM blob WHERE hash = ?", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		return 0;
	sqlite3_finalize(st);
	st = NULL;

	z = malloc(zlen ? zlen : 1);
	if (!z)
		return -ENOMEM;
	if (compress2(z, &zlen, (const Bytef *)(data ? data : ""), len, Z_BEST_COMPRESSION) != Z_OK)
		return -ENOMEM;
	if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO blob(hash, size, zdata) VALUES (?, ?, ?)", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)len);
	sqlite3_bind_blob(st, 3, z, (int)zlen, SQLITE_STATIC);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

int blob_get(sqlite3 *db, const char *hash, char **ret, size_t *ret_len)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *out = NULL;
	char check[SHA256_HEX_LEN + 1];
	sqlite3_int64 size;
	uLongf outlen;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT size, zdata FROM blob WHERE hash = ?", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return -EIO;
	size = sqlite3_column_int64(st, 0);
	if (size < 0 || (unsigned long long)size > (1ULL << 31))
		return -EBADMSG;
	out = malloc((size_t)size + 1);
	if (!out)
		return -ENOMEM;
	outlen = (uLongf)size;
	if (uncompress((Bytef *)out, &outlen, sqlite3_column_blob(st, 1), (uLong)sqlite3_column_bytes(st, 1)) != Z_OK ||
	    outlen != (uLongf)size)
		return -EBADMSG;
	out[size] = '\0';
	sha256_hex(out, (size_t)size, check);
	if (strcmp(check, hash) != 0)
		return -EBADMSG;
	*ret_len = (size_t)size;
	*ret = TAKE_PTR(out);
	return 0;
}
