/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bootloader.c — GRUB or systemd-boot, through proxmox-boot-tool or not.
 *  Owns: bootloader_detect(). Must not: edit files or run the refresh commands (hooks.c does), or
 *  open paths except through rootfs. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootloader.h"

#define ESP_LIST "/etc/kernel/proxmox-boot-uuids"
#define EFIVAR_SECURE_BOOT "firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

const char *bootloader_name(enum bootloader_kind kind)
{
	switch (kind) {
	case BOOT_GRUB: return "GRUB";
	case BOOT_PROXMOX_GRUB: return "GRUB through proxmox-boot-tool";
	case BOOT_PROXMOX_SYSTEMD_BOOT: return "systemd-boot through proxmox-boot-tool";
	case BOOT_SYSTEMD_BOOT: return "systemd-boot";
	}
	return "unknown";
}

/* proxmox-boot-tool lists the ESPs it keeps in sync, one UUID per line. */
static int count_esps(const struct file_state *fs)
{
	int n = 0;
	bool in_word = false;

	for (size_t i = 0; i < fs->len; i++) {
		char c = fs->data[i];

		if (c == '\n') {
			n += in_word;
			in_word = false;
		} else if (c != ' ' && c != '\t' && c != '\r' && c != '#') {
			in_word = true;
		}
	}
	return n + in_word;
}

static bool host_path_exists(const char *sysfs, const char *rel)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", sysfs, rel);
	return access(path, F_OK) == 0;
}

/* The SecureBoot EFI variable: 4 bytes of attributes, then 1 when enabled. */
static bool secure_boot_enabled(const char *sysfs)
{
	unsigned char buf[5];
	char path[4096];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/" EFIVAR_SECURE_BOOT, sysfs);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == 5 && buf[4] == 1;
}

int bootloader_detect(const struct rootfs *r, const char *sysfs, struct bootloader *ret, struct error *e)
{
	struct file_state esps, grub, cmdline;
	bool efi = host_path_exists(sysfs, "firmware/efi");
	int k, n_esps;

	memset(ret, 0, sizeof(*ret));
	k = rootfs_read_file(r, ESP_LIST, &esps, e);
	if (k == 0)
		k = rootfs_read_file(r, "/etc/default/grub", &grub, e);
	if (k == 0)
		k = rootfs_read_file(r, "/etc/kernel/cmdline", &cmdline, e);
	if (k < 0)
		return k;
	n_esps = esps.present ? count_esps(&esps) : 0;

	if (n_esps > 0 && efi && !secure_boot_enabled(sysfs)) {
		ret->kind = BOOT_PROXMOX_SYSTEMD_BOOT;
		snprintf(ret->reason, sizeof(ret->reason),
			 "%s lists %d ESP(s) and the host boots by UEFI without Secure Boot: proxmox-boot-tool "
			 "installs systemd-boot there, which reads /etc/kernel/cmdline", ESP_LIST, n_esps);
	} else if (n_esps > 0) {
		ret->kind = BOOT_PROXMOX_GRUB;
		snprintf(ret->reason, sizeof(ret->reason),
			 "%s lists %d ESP(s) and the host boots %s: proxmox-boot-tool installs GRUB there, "
			 "which reads /etc/default/grub", ESP_LIST, n_esps,
			 efi ? "by UEFI with Secure Boot (shim and GRUB)" : "by legacy BIOS");
	} else if (!grub.present && cmdline.present) {
		ret->kind = BOOT_SYSTEMD_BOOT;
		snprintf(ret->reason, sizeof(ret->reason),
			 "there is no /etc/default/grub and no %s, but /etc/kernel/cmdline exists: systemd-boot "
			 "with kernel-install reads it", ESP_LIST);
	} else {
		ret->kind = BOOT_GRUB;
		snprintf(ret->reason, sizeof(ret->reason),
			 "%s lists no ESP, so proxmox-boot-tool is not in use: GRUB reads /etc/default/grub",
			 ESP_LIST);
	}
	ret->cmdline_file = ret->kind == BOOT_PROXMOX_SYSTEMD_BOOT || ret->kind == BOOT_SYSTEMD_BOOT
				    ? "/etc/kernel/cmdline" : "/etc/default/grub";
	ret->refresh_hook = ret->kind == BOOT_GRUB ? "update-grub"
			    : ret->kind == BOOT_SYSTEMD_BOOT ? NULL : "proxmox-boot-tool";
	file_state_clear(&esps);
	file_state_clear(&grub);
	file_state_clear(&cmdline);
	return 0;
}
