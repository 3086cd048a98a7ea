/* SPDX-License-Identifier: GPL-2.0-or-later */
/* verify-checks.h — the checks of `verify` as data, for verify and status.
 *  Owns: struct verify_check(s), verify_run. Must not: print, write, or know commands. */
#pragma once

#include <stdbool.h>

#include "hw.h"
#include "journal.h"
#include "plan.h"
#include "profile.h"
#include "pve-vms.h"

struct verify_check {
	char *id, *message, *hint;
	bool ok;
	bool unknown;		/* could not be decided from what this user can read: not ok, not a failure */
	bool next_boot;		/* about the next boot, not the running system */
};

struct verify_checks {
	struct verify_check *v;
	size_t n;
	char **notes;		/* what was not checked, and why: for the reader, not a failure */
	size_t n_notes;
	bool oom;
	bool next_boot;		/* checks added now are about the next boot */
};

/* What the checks read: the root, the hardware trees, and the profile as planned against them. */
struct verify_env {
	const struct rootfs *root;
	const char *sysfs, *procfs;
	const struct hw *hw;
	const struct profile *profile;
	const struct plan *plan;
	const struct pve_vms *vms;	/* may be NULL: no VM checks */
};

/* Every check of DESIGN.md §8 for the running system; with next_boot also grub.cfg's default
 * entry and each installed kernel's initramfs. ids gets the vfio-pci ids= list the running
 * system gave vfio-pci. Out of memory: c->oom. */
void verify_run(const struct verify_env *env, bool next_boot, struct verify_checks *c, struct vfio_ids_origin *ids);
/* No check failed: each passed or is unknown (an unknown check is not passed, and not a failure). */
bool verify_all_ok(const struct verify_checks *c);
void verify_checks_clear(struct verify_checks *c);

/* The kernel line of grub.cfg's first menuentry (the default on Debian and Proxmox, which set
 * default="0"); NULL when there is none. */
char *verify_grub_default_linux(const char *cfg);
/* Whether the running boot (procfs) is the one transaction t was recorded in. */
bool verify_applied_after_boot(const char *procfs, const struct txn_info *t);
/* The newest apply that is committed and not undone: 0; none: -ENOENT; journal error: -EIO. */
int verify_last_applied(struct journal *j, struct txn_info *ret, struct error *e);
/* apply notes "--device SLOT" for each device it was given: those slots (pointing into note). */
void verify_devices_from_note(char *note, const char **devices, size_t max, size_t *n);
