/* SPDX-License-Identifier: GPL-2.0-or-later */
/* managed.h — the set of boot-configuration files iommuctl records and edits (DESIGN.md §3).
 *  Owns: struct managed_set. Must not: carry file descriptors; a set is plain data. */
#pragma once

#include "rootfs.h"

/* The trial boot's static GRUB script (oneshot.h): iommuctl writes it through a transaction like
 * the others, so it is managed too; otherwise snapshot and status took it for deleted. */
#define MANAGED_GRUB_TRIAL_SCRIPT "/etc/grub.d/45_iommuctl_trial"

struct managed_file {
	char *path;
	struct file_state state;
};

struct managed_set {
	struct managed_file *files;	/* present regular files, sorted by path */
	size_t n;
	char **links;			/* symlinks met in managed directories: read by the boot tools, never edited */
	size_t nlinks;
};

/* Read every managed file present under the root. A managed path that is itself a
 * symlink (or lies below one) is refused with EXIT_BAD_INPUT. */
int managed_scan(const struct rootfs *r, struct managed_set *ret, struct error *e);
void managed_set_clear(struct managed_set *s);
/* The state of path in the set, or NULL when absent. */
const struct file_state *managed_find(const struct managed_set *s, const char *path);
