/* SPDX-License-Identifier: GPL-2.0-or-later */
/* boot-state.h — whether a reboot is pending, and whether a hook's files were remade since a time.
 *  Owns: struct boot_state. Must not: write anything, or print. */
#pragma once

#include <stdbool.h>

#include "journal.h"
#include "rootfs.h"
#include "strv.h"

struct boot_state {
	struct strv reasons;	/* why a reboot is pending, one sentence each; empty: none */
	char *booted;		/* <procfs>/cmdline, NULL when unreadable */
	char *next;		/* the next boot's command line, NULL when unknown */
	const char *next_from;	/* the file it was read from: /boot/grub/grub.cfg or /etc/kernel/cmdline */
	struct strv notes;	/* what could not be read, and why */
};

/* The reasons: the transactions of j (may be NULL) recorded in the running boot changed a managed
 * file, netted out over all of them; the next boot's command line adds or drops parameters against
 * the booted one; /boot/grub/grub.cfg is older than /etc/default/grub or a grub.d/ *.cfg; an
 * installed kernel's /boot/initrd.img is older than /etc/modules, /etc/initramfs-tools/modules or
 * a modprobe.d/ *.conf. Only -ENOMEM; what cannot be read goes into notes. */
int boot_state_read(struct journal *j, const struct rootfs *r, const char *sysfs, const char *procfs,
		    struct boot_state *ret);
void boot_state_clear(struct boot_state *s);
/* Whether what hook name (update-grub, update-initramfs) makes is newer than started
 * ("2026-01-01T00:00:00Z"): grub.cfg, every installed kernel's initrd.img. Others: false. */
bool boot_state_regenerated_since(const struct rootfs *r, const char *name, const char *started);
