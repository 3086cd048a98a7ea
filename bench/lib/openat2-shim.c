/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * openat2-shim.c — LD_PRELOAD helper for counting instructions under valgrind only.
 *
 * Valgrind 3.19 (Debian 12) does not know syscall 437, openat2(2), and answers ENOSYS, so
 * iommuctl cannot run under callgrind. This library replaces glibc's syscall() wrapper:
 * SYS_openat2 becomes openat(2) on the same directory fd with the leading slashes of the
 * path removed (what RESOLVE_IN_ROOT means for a tree without absolute symlinks, which is
 * what the bench roots are) and O_NOFOLLOW where RESOLVE_NO_SYMLINKS was asked; every other
 * number goes to the real syscall(). The confinement of RESOLVE_IN_ROOT is not emulated:
 * never use this outside bench/run. The user-space instructions this adds are a few dozen
 * per open, far below the counts it is used to measure.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

struct bench_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

#define BENCH_RESOLVE_NO_SYMLINKS 0x04

long syscall(long number, ...)
{
	static long (*real_syscall)(long, ...);
	long a[6];
	va_list ap;

	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);

	if (number == SYS_openat2) {
		const struct bench_open_how *how = (const struct bench_open_how *)a[2];
		const char *path = (const char *)a[1];
		int flags = (int)how->flags;

		while (*path == '/')
			path++;
		if (*path == '\0')
			path = ".";
		if (how->resolve & BENCH_RESOLVE_NO_SYMLINKS)
			flags |= O_NOFOLLOW;
		return openat((int)a[0], path, flags, (mode_t)how->mode);
	}
	if (!real_syscall)
		real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
