/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hw-sysfs.c — one-line attributes, link names and holes, for the readers of the hardware.
 *  Owns: the sysfs reads hw.c, hw-roles.c and hw-chain.c share (hw-sysfs.h). Must not: include
 *  any hw header above it, or write anything. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw-sysfs.h"
#include "macros.h"

void sysfs_hole(struct sysfs_holes *h, const char *path, int err)
{
	if (err == ENOENT || err == ENOTDIR || err == 0)
		return;
	if (h->n++ == 0) {
		h->err = err;
		h->path = strdup(path);
		if (asprintf(&h->first, "%s: %s", path, strerror(err)) < 0)
			h->first = NULL;
	}
}

void sysfs_holes_clear(struct sysfs_holes *h)
{
	free(h->path);
	free(h->first);
	*h = (struct sysfs_holes){ 0 };
}

bool sysfs_read_line(struct sysfs_holes *h, const char *path, char *buf, size_t size)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");

	if (!f || !fgets(buf, (int)size, f)) {
		sysfs_hole(h, path, f ? (ferror(f) ? EIO : 0) : errno);
		return false;
	}
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

char *sysfs_link_name(struct sysfs_holes *h, const char *path)
{
	char target[PATH_MAX];
	ssize_t n;
	const char *base;

	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0) {
		/* EINVAL: there, but not a link. */
		sysfs_hole(h, path, n < 0 && errno != EINVAL ? errno : 0);
		return NULL;
	}
	target[n] = '\0';
	base = strrchr(target, '/');
	return strdup(base ? base + 1 : target);
}

void sysfs_module_underscores(char *s)
{
	for (; s && *s; s++)
		if (*s == '-')
			*s = '_';
}

bool sysfs_module_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
			return false;
	return !*a && !*b;
}
