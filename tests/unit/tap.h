/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tap.h — the few TAP helpers the C unit tests print for meson's `protocol: 'tap'`. */
#pragma once

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) do {                                                \
	int _c = !!(cond);                                                \
	printf("%sok %d - ", _c ? "" : "not ", ++tap_n);                  \
	printf(__VA_ARGS__);                                              \
	printf("\n");                                                     \
	if (!_c) {                                                        \
		tap_failed++;                                             \
		printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	}                                                                 \
} while (0)

#define is_str(got, want, ...) do {                                       \
	const char *_g = (got), *_w = (want);                             \
	int _same = _g && _w && strcmp(_g, _w) == 0;                      \
	ok(_same, __VA_ARGS__);                                           \
	if (!_same)                                                       \
		printf("#   got:\n%s\n#   want:\n%s\n", _g ? _g : "(null)", _w ? _w : "(null)"); \
} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
