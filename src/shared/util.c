/* SPDX-License-Identifier: GPL-2.0-or-later */
/* util.c — error reports, time stamps, hashing. */
#include <pwd.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <sha2.h>

#include "util.h"

static int error_vset(struct error *e, int exit_code, int err, const char *fmt, va_list ap)
{
	int saved = errno;	/* callers write `return error_set(...), negative_errno();` */

	if (!e)
		return exit_code;
	e->exit_code = exit_code;
	e->sys_errno = err;
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	errno = saved;
	return exit_code;
}

int error_set(struct error *e, int exit_code, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = error_vset(e, exit_code, 0, fmt, ap);
	va_end(ap);
	return k;
}

int error_set_errno(struct error *e, int exit_code, int err, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = error_vset(e, exit_code, err, fmt, ap);
	va_end(ap);
	return k;
}

int exit_code_for_errno(int negerrno)
{
	switch (-negerrno) {
	case ELOOP:
		return EXIT_BAD_INPUT;
	default:
		return EXIT_IO;
	}
}

void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
	SHA2_CTX ctx;

	SHA256Init(&ctx);
	SHA256Update(&ctx, data, len);
	SHA256End(&ctx, out);
}

void time_now_iso(char out[32])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void user_name(char *out, size_t size)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw && pw->pw_name)
		snprintf(out, size, "%s", pw->pw_name);
	else
		snprintf(out, size, "uid %u", (unsigned)getuid());
}

bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

int parse_uint(const char *s, unsigned long *ret)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}
