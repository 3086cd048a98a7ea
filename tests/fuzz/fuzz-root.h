/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-root.h — a private temporary root for the targets that must read through the rootfs layer. */
#pragma once

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * hook_config_load() and profile_load() read only through a struct rootfs,
 * so their targets write every input to a file in a root made once per
 * process. The root lives under $TMPDIR (run-fuzzers.sh points it at
 * /dev/shm): on a disk file system every truncate-and-rewrite of the same
 * file starts write-back (ext4's auto_da_alloc), which made these targets
 * several times slower than the parsers they test.
 */

static char fuzz_root_path[256];

static int fuzz_root_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void fuzz_root_remove(void)
{
	if (fuzz_root_path[0])
		nftw(fuzz_root_path, fuzz_root_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Makes $TMPDIR/iommuctl-fuzz-NAME.XXXXXX and the directories of dirs (a
 * relative path such as "etc/iommuctl") inside it, removed again at exit.
 * Returns the root's path. */
static inline const char *fuzz_root_make(const char *name, const char *dirs)
{
	const char *tmp = getenv("TMPDIR");
	char path[sizeof(fuzz_root_path) + 64];
	size_t len;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if ((size_t)snprintf(fuzz_root_path, sizeof(fuzz_root_path), "%s/iommuctl-fuzz-%s.XXXXXX", tmp, name) >=
		    sizeof(fuzz_root_path) ||
	    !mkdtemp(fuzz_root_path))
		abort();
	atexit(fuzz_root_remove);
	len = (size_t)snprintf(path, sizeof(path), "%s/%s/", fuzz_root_path, dirs);
	if (len >= sizeof(path))
		abort();
	for (char *slash = path + strlen(fuzz_root_path) + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = '\0';
		if (mkdir(path, 0755) < 0)
			abort();
		*slash = '/';
	}
	return fuzz_root_path;
}

/* Replaces the file at rel (an absolute path inside the root) with data. */
static inline void fuzz_root_write(const char *rel, const void *data, size_t size)
{
	char path[sizeof(fuzz_root_path) + 128];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s%s", fuzz_root_path, rel) >= sizeof(path))
		abort();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) < 0)
		abort();
}
