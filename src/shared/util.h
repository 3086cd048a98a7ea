/* SPDX-License-Identifier: GPL-2.0-or-later */
/* util.h — error reports, exit codes, time stamps, hashing: helpers every layer uses. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "macros.h"

/* Exit codes of DESIGN.md §2. */
enum {
	EXIT_CHECK_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_REFUSED = 3,
	EXIT_LOCKED = 4,
	EXIT_BAD_INPUT = 5,
	EXIT_IO = 6,
	EXIT_HOOK = 7,
};

/* A message for the person at the terminal, and the exit code it deserves.
 * Library code fills it once, where the operand (file, transaction) is known. */
struct error {
	int exit_code;
	int sys_errno;		/* the errno behind it where the caller said (error_set_errno), else 0 */
	char text[2048];
};

int error_set(struct error *e, int exit_code, const char *fmt, ...) _printf_(3, 4);
/* The same, and keeps err (a positive errno) for the caller: EROFS gets its own advice. */
int error_set_errno(struct error *e, int exit_code, int err, const char *fmt, ...) _printf_(4, 5);
/* Exit code for an errno met while doing I/O: -ENOSPC, -EIO… → EXIT_IO. */
int exit_code_for_errno(int negerrno);

#define SHA256_HEX_LEN 64
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);

/* UTC, ISO 8601 with seconds: 2026-11-25T11:05:00Z. */
void time_now_iso(char out[32]);
/* The invoking user's name ("root", or "uid 1000" when it has none). */
void user_name(char *out, size_t size);

bool streq(const char *a, const char *b);
bool str_has_suffix(const char *s, const char *suffix);
int parse_uint(const char *s, unsigned long *ret);
