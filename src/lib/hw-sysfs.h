/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hw-sysfs.h — the small reads every hardware reader makes in sysfs: a one-line attribute, the
 *  name a link points at, and the holes (reads that failed other than by absence).
 *  Owns: those reads and the count of holes. Must not: know devices, roles or chains (hw.c,
 *  hw-roles.c and hw-chain.c look down to it), or write anything. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Reads that failed other than by absence (EIO, EACCES...): the analysis cannot trust a
 * snapshot with holes (a boot_vga it could not read is not a 0). A zeroed struct is none. */
struct sysfs_holes {
	unsigned n;	/* how many */
	int err;	/* the first one's errno */
	char *path;	/* the first one's path */
	char *first;	/* "PATH: reason" of the first one */
};

/* Count a failed read of path whose errno is not plain absence (0, ENOENT and ENOTDIR are not
 * counted). */
void sysfs_hole(struct sysfs_holes *h, const char *path, int err);
void sysfs_holes_clear(struct sysfs_holes *h);

/* The first line of the file at path without its newline, into buf (size bytes; a longer line
 * is cut); false when absent or unreadable (a hole then). */
bool sysfs_read_line(struct sysfs_holes *h, const char *path, char *buf, size_t size);
/* The last component of the target of the symlink at path: a driver's, bus's or module's name.
 * NULL when there is no such link (not a hole) or out of memory. */
char *sysfs_link_name(struct sysfs_holes *h, const char *path);

/* A module name in the kernel's '_' spelling, in place (s may be NULL). */
void sysfs_module_underscores(char *s);
/* Module names: '-' and '_' are the same to kmod and the kernel. */
bool sysfs_module_eq(const char *a, const char *b);
