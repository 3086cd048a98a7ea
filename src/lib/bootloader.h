/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bootloader.h — which file holds the kernel command line the host boots with, and what regenerates it.
 *  Owns: struct bootloader. Must not: pull in the editors. */
#pragma once

#include "rootfs.h"

enum bootloader_kind {
	BOOT_GRUB,			/* plain GRUB: /etc/default/grub, update-grub */
	BOOT_PROXMOX_GRUB,		/* GRUB on ESPs managed by proxmox-boot-tool */
	BOOT_PROXMOX_SYSTEMD_BOOT,	/* systemd-boot on ESPs managed by proxmox-boot-tool */
	BOOT_SYSTEMD_BOOT,		/* systemd-boot without proxmox-boot-tool */
};

struct bootloader {
	enum bootloader_kind kind;
	const char *cmdline_file;	/* "/etc/default/grub" or "/etc/kernel/cmdline" */
	const char *refresh_hook;	/* hook name in iommuctl.conf: "update-grub" or "proxmox-boot-tool"; NULL if none */
	char reason[512];		/* why, for plan */
};

/* Decide as proxmox-boot-tool does (see iommuctl(8), BOOT LOADER). sysfs is the host's. */
int bootloader_detect(const struct rootfs *r, const char *sysfs, struct bootloader *ret, struct error *e);
const char *bootloader_name(enum bootloader_kind kind);
