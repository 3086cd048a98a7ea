/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-blob.c — libFuzzer target: journal blobs (blob_put/blob_get) over an in-memory SQLite table. */
/*
 * Input: a mode byte, then either content (round trip) or a blob row as a
 * damaged or hostile journal could hold it. The table is the journal's own
 * shape (schema/0001-initial.sql), in one in-memory database made once.
 *  - mode bit 0 set, round trip: blob_put(sha256(content), content), then
 *    blob_get() gives the content back byte for byte, NUL-terminated; a
 *    second blob_put() of the same hash is a no-op;
 *  - bit 0 clear, decoding: the next 8 bytes are the recorded size (little
 *    endian int64; sizes between 1 MiB and 2 GiB are folded below 1 MiB so
 *    that an honest allocation stays cheap, the rest are kept to test the
 *    range check), the rest is the zlib data. Bit 1: record the size the
 *    data really inflates to. Bit 2: record the hash of what it inflates
 *    to, else a hash made of input bytes. Bit 3: record the size as text
 *    with junk after it ("123x"; SQLite reads the number in front).
 *    blob_get() must succeed exactly when an independent inflate() of the
 *    data ends a stream with the recorded size and hash, and give those
 *    bytes; otherwise -EBADMSG.
 */
#include <errno.h>
#include <sqlite3.h>
#include <zlib.h>

#include "fuzz-common.h"
#include "journal-blob.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FOLD_LIMIT (1 << 20)
#define ORACLE_MAX (1 << 20)

static sqlite3 *db;

static sqlite3 *db_get(void)
{
	if (db)
		return db;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_exec(db,
			 "CREATE TABLE blob (hash TEXT PRIMARY KEY, size INTEGER NOT NULL, zdata BLOB NOT NULL) "
			 "WITHOUT ROWID",
			 NULL, NULL, NULL) != SQLITE_OK)
		abort();
	return db;
}

static void db_empty(void)
{
	if (sqlite3_exec(db_get(), "DELETE FROM blob", NULL, NULL, NULL) != SQLITE_OK)
		abort();
}

/* The stream inflated with inflate() (not uncompress()), up to ORACLE_MAX
 * bytes; -1 when it is not one complete zlib stream within that. */
static long oracle_inflate(const uint8_t *z, size_t zlen, uint8_t *out)
{
	z_stream s = { 0 };
	long n;
	int k;

	if (inflateInit(&s) != Z_OK)
		abort();
	s.next_in = (Bytef *)z;
	s.avail_in = (uInt)zlen;
	s.next_out = out;
	s.avail_out = ORACLE_MAX;
	do
		k = inflate(&s, Z_NO_FLUSH);
	while (k == Z_OK && s.avail_out > 0);
	if (k == Z_OK && s.avail_out == 0) {
		/* full: it ends here only if nothing more comes out */
		uint8_t extra;

		s.next_out = &extra;
		s.avail_out = 1;
		k = inflate(&s, Z_NO_FLUSH);
		n = k == Z_STREAM_END && s.avail_out == 1 ? ORACLE_MAX : -1;
		inflateEnd(&s);
		return n;
	}
	n = k == Z_STREAM_END ? (long)s.total_out : -1;
	inflateEnd(&s);
	return n;
}

static void check_round_trip(const uint8_t *data, size_t size)
{
	char hash[SHA256_HEX_LEN + 1], *out = NULL;
	size_t out_len = 0;
	int r;

	db_empty();
	sha256_hex(data, size, hash);
	r = blob_put(db_get(), hash, (const char *)data, size);
	FUZZ_CHECK(r == 0, "blob_put returned %d", r);
	r = blob_put(db_get(), hash, (const char *)data, size);
	FUZZ_CHECK(r == 0, "second blob_put returned %d", r);
	r = blob_get(db_get(), hash, &out, &out_len);
	FUZZ_CHECK(r == 0, "blob_get of a stored blob returned %d", r);
	FUZZ_CHECK(out_len == size && memcmp(out, data, size) == 0 && out[size] == '\0',
		   "round trip changed %zu bytes into %zu", size, out_len);
	free(out);
}

static void row_insert(const char *hash, int64_t recorded, bool as_text, const uint8_t *z, size_t zlen)
{
	sqlite3_stmt *st = NULL;
	char text[32];

	if (sqlite3_prepare_v2(db_get(), "INSERT INTO blob(hash, size, zdata) VALUES (?, ?, ?)", -1, &st, NULL) !=
	    SQLITE_OK)
		abort();
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	if (as_text) {
		snprintf(text, sizeof(text), "%lldx", (long long)recorded);
		sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_int64(st, 2, recorded);
	}
	sqlite3_bind_blob(st, 3, zlen ? (const void *)z : "", (int)zlen, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		abort();
	sqlite3_finalize(st);
}

static void check_decode(uint8_t mode, const uint8_t *data, size_t size)
{
	static uint8_t inflated[ORACLE_MAX];
	char hash[SHA256_HEX_LEN + 1], *out = NULL;
	const uint8_t *z = data + 8;
	size_t zlen = size - 8, out_len = 0;
	int64_t recorded;
	long n;
	bool expect;
	int r;

	memcpy(&recorded, data, 8);
	if (recorded > FOLD_LIMIT && recorded <= ((int64_t)1 << 31))
		recorded &= FOLD_LIMIT - 1;
	n = oracle_inflate(z, zlen, inflated);
	if ((mode & 2) && n >= 0)
		recorded = n;
	if ((mode & 4) && n >= 0) {
		sha256_hex(inflated, (size_t)n, hash);
	} else {
		for (size_t i = 0; i < SHA256_HEX_LEN; i++)
			hash[i] = "0123456789abcdef"[i < zlen ? z[i] & 15 : i & 15];
		hash[SHA256_HEX_LEN] = '\0';
	}
	expect = n >= 0 && recorded == n;
	if (expect) {
		char check[SHA256_HEX_LEN + 1];

		sha256_hex(inflated, (size_t)n, check);
		expect = strcmp(check, hash) == 0;
	}

	db_empty();
	row_insert(hash, recorded, mode & 8, z, zlen);
	r = blob_get(db_get(), hash, &out, &out_len);
	if (expect) {
		FUZZ_CHECK(r == 0, "blob_get refused a sound blob of %ld bytes: %d", n, r);
		FUZZ_CHECK(out_len == (size_t)n && memcmp(out, inflated, out_len) == 0 && out[out_len] == '\0',
			   "blob_get gave other bytes than the stream holds");
		free(out);
	} else {
		FUZZ_CHECK(r == -EBADMSG, "blob_get returned %d for a blob that does not check out (inflates to %ld, "
			   "recorded %lld)", r, n, (long long)recorded);
	}
	FUZZ_CHECK(blob_get(db_get(), "no-such-hash", &out, &out_len) == -ENOENT, "missing blob not -ENOENT");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		check_round_trip(data + 1, size - 1);
	else if (size >= 9)
		check_decode(data[0], data + 1, size - 1);
	return 0;
}
