/* SPDX-License-Identifier: GPL-2.0-or-later */
/* oneshot.h — a trial boot entry that only the next boot runs, armed where the boot loader itself
 *  clears the one-shot at boot (iommuctl(8), TRIAL BOOT; DESIGN §11).
 *  Owns: the interface every boot-loader back end implements (oneshot-grub.c, oneshot-sdboot.c)
 *  and the dispatcher by boot loader (oneshot.c). Must not: touch the managed files, the
 *  initramfs or the existing boot entries; talk to the journal. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bootloader.h"
#include "rootfs.h"
#include "strv.h"
#include "util.h"

/* What the trial boot runs: the default entry's kernel, initrd and command line, with
 * cmdline_add appended (trialline.h composes it; it already holds iommuctl.trial=TXN). */
struct trial_boot {
	int64_t txn;
	const char *cmdline_add;
	const char *const *cmdline_drop;	/* tokens of the default entry's line to drop first (NULL-terminated;
						 * NULL: none): trialline_apply() */
};

/* Where the host's boot loader and firmware are; seams for tests and rescue use. */
struct oneshot_env {
	const char *sysfs;	/* efivarfs is <sysfs>/firmware/efi/efivars */
};

/* What arming did, for the journal and for the user. */
struct oneshot_armed {
	char *where;		/* one line: "GRUB next_entry in /boot/grub/grubenv (ext4)" */
	char *entry_id;		/* the id the one-shot names: GRUB menu entry id or loader entry file name */
	struct strv files;	/* files written for the trial, absolute inside the root (removed on disarm) */
	struct strv notes;	/* what the user should know: e.g. "kernel 6.1.0-27-amd64 is pinned" */
};
void oneshot_armed_clear(struct oneshot_armed *a);

/* Whether this host has a place for a one-shot the boot loader clears by itself. 0: yes (where
 * is said in *ret_where when not NULL, caller frees). EXIT_REFUSED with the reason and what the
 * admin can do otherwise (btrfs/LVM/mdraid/ZFS /boot on BIOS, …); EXIT_IO when it cannot tell. */
int oneshot_check(const struct rootfs *r, const struct bootloader *b, const struct oneshot_env *env,
		  char **ret_where, struct error *e);
/* Write the trial entry and set the one-shot. Nothing is left behind on error. */
int oneshot_arm(const struct rootfs *r, const struct bootloader *b, const struct oneshot_env *env,
		const struct trial_boot *t, struct oneshot_armed *ret, struct error *e);
/* Remove the trial entry and clear a one-shot that is still set (commit, cancel). Idempotent:
 * nothing to remove is success. */
int oneshot_disarm(const struct rootfs *r, const struct bootloader *b, const struct oneshot_env *env,
		   int64_t txn, struct error *e);

/* The back ends; oneshot_*() above picks one by b->kind. */
int oneshot_grub_check(const struct rootfs *r, const struct oneshot_env *env, char **ret_where, struct error *e);
int oneshot_grub_arm(const struct rootfs *r, const struct oneshot_env *env, const struct trial_boot *t,
		     struct oneshot_armed *ret, struct error *e);
int oneshot_grub_disarm(const struct rootfs *r, const struct oneshot_env *env, int64_t txn, struct error *e);

int oneshot_sdboot_check(const struct rootfs *r, const struct bootloader *b, const struct oneshot_env *env,
			 char **ret_where, struct error *e);
int oneshot_sdboot_arm(const struct rootfs *r, const struct bootloader *b, const struct oneshot_env *env,
		       const struct trial_boot *t, struct oneshot_armed *ret, struct error *e);
int oneshot_sdboot_disarm(const struct rootfs *r, const struct bootloader *b, const struct oneshot_env *env,
			  int64_t txn, struct error *e);

/* ---- GRUB (oneshot-grub.c) ----
 * A static script sorting after 10_linux, installed once (journaled, then update-grub) by the
 * command that arms the first trial, makes grub.cfg source $prefix/iommuctl-trial.cfg when it
 * exists; each trial writes that file (one menuentry --id iommuctl-trial, made from grub.cfg's
 * default entry) and next_entry=iommuctl-trial in $prefix/grubenv, which Debian's 00_header
 * clears when it boots it. */
#define ONESHOT_GRUB_SCRIPT "/etc/grub.d/45_iommuctl_trial"
#define ONESHOT_GRUB_DIR "/boot/grub"
#define ONESHOT_GRUB_CFG "/boot/grub/grub.cfg"
#define ONESHOT_GRUB_ENV "/boot/grub/grubenv"
#define ONESHOT_GRUB_TRIAL_FILE "/boot/grub/iommuctl-trial.cfg"
#define ONESHOT_GRUB_ENTRY_ID "iommuctl-trial"
/* The program that says which file system and which abstraction (LVM, RAID) hold a directory;
 * an environment variable naming another one is the seam tests use. */
#define ONESHOT_GRUB_PROBE_ENV "IOMMUCTL_GRUB_PROBE"
#define ONESHOT_GRUB_PROBE "/usr/sbin/grub-probe"

/* The script's text (mode 0755). */
const char *oneshot_grub_script(void);
/* Whether this host's grub.cfg sources the trial file already (update-grub ran with the script). */
int oneshot_grub_sourced(const struct rootfs *r, bool *ret, struct error *e);
/* The static file the back end needs in place before it can arm (GRUB: the /etc/grub.d script),
 * NULL when it needs none. The caller installs it as a journaled file, with the mode and text
 * oneshot_script() gives, and runs the boot loader's refresh before oneshot_arm(). */
const char *oneshot_script_path(const struct bootloader *b);
const char *oneshot_script(const struct bootloader *b, mode_t *ret_mode);
