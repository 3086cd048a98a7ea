/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modload.h — what systemd-modules-load loads at boot: modules-load= on the command line, then every
 * modules-load.d file (/etc/modules through Debian's link). Read, never managed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "rootfs.h"

#define MODLOAD_SOURCE_CMDLINE "the kernel command line (modules-load=)"

/* One name systemd-modules-load looks up, in the order it does. */
struct modload_line {
	char *name;	/* the whole stripped line (or one modules-load= entry) */
	char *file;	/* the file that holds the line, e.g. "/etc/modules"; MODLOAD_SOURCE_CMDLINE */
	unsigned line;	/* 1-based; 0 for the command line */
	bool broken;	/* more than one word: looked up as one name, loads nothing */
};

enum modload_file_state {
	MODLOAD_READ,		/* read; its lines are in the list */
	MODLOAD_MASKED,		/* a symlink to /dev/null (or an empty file): nothing */
	MODLOAD_OVERRIDDEN,	/* an earlier directory has a file of that name, which systemd reads instead */
	MODLOAD_MISSING,	/* a dangling symlink: systemd skips it, but it still takes the name */
};

struct modload_file {
	char *path;	/* the entry systemd lists, e.g. "/etc/modules-load.d/modules.conf" */
	char *reads;	/* the file its lines are reported against: path, or the target of its symlink
			 * ("/etc/modules"); NULL when masked or missing */
	enum modload_file_state state;
	char *by;	/* overridden: the entry that wins the name */
};

struct modload {
	struct modload_line *lines;
	size_t n_lines;
	struct modload_file *files;	/* every *.conf entry of every directory, in systemd's order */
	size_t n_files;
	bool etc_modules_read;		/* a modules-load.d entry leads to /etc/modules */
	bool has_modules_load;		/* the root has /lib/systemd/systemd-modules-load */
};

/*
 * cmdline: the kernel command line systemd-modules-load sees (the booted one, or the one the next
 * boot gets), or NULL. Files are reached through r: symlinks are followed inside the root, never
 * out of it. Errors: I/O on a directory or file (EXIT_IO), a file over ROOTFS_MAX_FILE.
 */
int modload_read(const struct rootfs *r, const char *cmdline, struct modload **ret, struct error *e);
void modload_free(struct modload *m);
static inline void modload_freep(struct modload **m)
{
	if (*m)
		modload_free(*m);
}
#define _cleanup_modload_ _cleanup_(modload_freep)

/* The first line that loads the module (its whole name is the module, '-' equal to '_'), or NULL.
 * skip_file (may be NULL): lines of this file do not count. */
const struct modload_line *modload_find(const struct modload *m, const char *module, const char *skip_file);

/* modules-load= entries of a command line as systemd 252 reads them after switch_root (pure):
 * keys compare with '-' and '_' equal, values split at ',' (empty entries dropped), "rd." keys
 * only in the initrd. Appends copies to *v (n entries). 0 or -ENOMEM. */
int modload_cmdline_modules(const char *cmdline, bool in_initrd, char ***v, size_t *n);

/* "masked", "overridden", ... for messages and JSON. */
const char *modload_file_state_name(enum modload_file_state s);

/* What systemd-modules-load logged as failed in the current boot, read from the systemd journal
 * with sd-journal (libsystemd.so.0, loaded with dlopen: a rescue system without it still works).
 * The boot is <procfs>/sys/kernel/random/boot_id. The journal is the local system journal, or, as a
 * documented test seam, the directory named by $IOMMUCTL_JOURNAL_DIRECTORY. Each failure is the
 * message as logged ("Failed to find module 'vfio_pci ids=…'"). Errors: libsystemd missing
 * (-ENOENT), no boot id (-ENOENT), the journal cannot be opened; e says which, in one line. */
int modload_journal_failures(const char *procfs, char ***ret_messages, size_t *ret_n, struct error *e);
/* Whether the journal check applies: on the running system, or where the test seam names a journal. */
bool modload_journal_wanted(const struct rootfs *r);
