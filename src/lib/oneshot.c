/* SPDX-License-Identifier: GPL-2.0-or-later */
/* oneshot.c — the trial boot's one-shot, dispatched to the back end of the host's boot loader.
 *  Owns: oneshot_check/arm/disarm and oneshot_armed_clear. Must not: know a boot loader's files
 *  (oneshot-grub.c, oneshot-sdboot.c do) or talk to the journal. */
#include <stdlib.h>
#include <string.h>

#include "oneshot.h"

void oneshot_armed_clear(struct oneshot_armed *a)
{
	free(a->where);
	free(a->entry_id);
	strv_clear(&a->files);
	strv_clear(&a->notes);
	memset(a, 0, sizeof(*a));
}

/* GRUB on ESPs that proxmox-boot-tool manages: grub.cfg and grubenv live on each ESP, which is
 * not mounted; the GRUB back end writes /boot/grub only. */
static int proxmox_grub_refused(struct error *e)
{
	return error_set(e, EXIT_REFUSED,
			 "no trial boot on this host: GRUB boots from ESPs that proxmox-boot-tool manages "
			 "(/etc/kernel/proxmox-boot-uuids), and its grubenv and grub.cfg live on each ESP, which "
			 "is not mounted; iommuctl arms a GRUB one-shot only in /boot/grub. Apply without "
			 "--trial (`iommuctl apply PROFILE`, undone by `iommuctl rollback`), and keep README's "
			 "'After a failed boot' at hand"), -EOPNOTSUPP;
}

/* systemd-boot: its back end (LoaderEntryOneShot, oneshot-sdboot.c) comes with its own branch;
 * until this build has it, such hosts are refused like any host with no one-shot place. When
 * oneshot-sdboot.c is in meson.build, the cases below call oneshot_sdboot_*() instead. */
static int sdboot_refused(const struct bootloader *b, struct error *e)
{
	return error_set(e, EXIT_REFUSED,
			 "no trial boot on this host: it boots with %s, and this iommuctl arms a one-shot only "
			 "in GRUB's grubenv. Apply without --trial (`iommuctl apply PROFILE`, undone by "
			 "`iommuctl rollback`)", bootloader_name(b->kind)), -EOPNOTSUPP;
}

int oneshot_check(const struct rootfs *r, const struct bootloader *b, const struct oneshot_env *env,
		  char **ret_where, struct error *e)
{
	switch (b->kind) {
	case BOOT_GRUB:
		return oneshot_grub_check(r, env, ret_where, e);
	case BOOT_PROXMOX_GRUB:
		return proxmox_grub_refused(e);
	case BOOT_PROXMOX_SYSTEMD_BOOT:
	case BOOT_SYSTEMD_BOOT:
		return sdboot_refused(b, e);
	}
	return error_set(e, EXIT_REFUSED, "no trial boot: unknown boot loader"), -EOPNOTSUPP;
}

int oneshot_arm(const struct rootfs *r, const struct bootloader *b, const struct oneshot_env *env,
		const struct trial_boot *t, struct oneshot_armed *ret, struct error *e)
{
	switch (b->kind) {
	case BOOT_GRUB:
		return oneshot_grub_arm(r, env, t, ret, e);
	case BOOT_PROXMOX_GRUB:
		return proxmox_grub_refused(e);
	case BOOT_PROXMOX_SYSTEMD_BOOT:
	case BOOT_SYSTEMD_BOOT:
		return sdboot_refused(b, e);
	}
	return error_set(e, EXIT_REFUSED, "no trial boot: unknown boot loader"), -EOPNOTSUPP;
}

int oneshot_disarm(const struct rootfs *r, const struct bootloader *b, const struct oneshot_env *env,
		   int64_t txn, struct error *e)
{
	switch (b->kind) {
	case BOOT_GRUB:
		return oneshot_grub_disarm(r, env, txn, e);
	case BOOT_PROXMOX_GRUB:
		return 0;	/* nothing was ever armed there */
	case BOOT_PROXMOX_SYSTEMD_BOOT:
	case BOOT_SYSTEMD_BOOT:
		return 0;	/* nothing was ever armed there by this build */
	}
	return 0;
}

const char *oneshot_script_path(const struct bootloader *b)
{
	return b->kind == BOOT_GRUB ? ONESHOT_GRUB_SCRIPT : NULL;
}

const char *oneshot_script(const struct bootloader *b, mode_t *ret_mode)
{
	*ret_mode = 0755;
	return b->kind == BOOT_GRUB ? oneshot_grub_script() : NULL;
}
