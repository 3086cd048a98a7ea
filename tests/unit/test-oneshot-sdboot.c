/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-oneshot-sdboot.c — the systemd-boot back end of the trial boot (oneshot-sdboot.c) on
 *  sandbox trees: an ESP directory with loader entries as kernel-install and proxmox-boot-tool
 *  write them, and a fake efivarfs under a sandbox sysfs (never the machine's EFI variables).
 *  Checks the entry chosen as the default (LoaderEntryDefault, loader.conf, systemd-boot 252's
 *  order), the trial entry's text, LoaderEntryOneShot's bytes, disarm, the refusals, and on
 *  proxmox-boot-tool hosts the ESP at its mount point and the kernel pin. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oneshot.h"
#include "tap.h"

#define GUID "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

static char base[4096];

static void put(const char *rel, const char *text)
{
	char path[8192], cmd[8400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	if (system(cmd) != 0)
		abort();
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

/* An EFI variable as efivarfs shows it: 4 bytes of attributes, UTF-16LE, NUL. */
static void put_var(const char *name, const char *value)
{
	char path[8192];
	unsigned char buf[512] = { 7, 0, 0, 0 };
	size_t n = strlen(value);
	FILE *f;

	snprintf(path, sizeof(path), "%s/sys/firmware/efi/efivars/%s-" GUID, base, name);
	f = fopen(path, "w");
	if (!f)
		abort();
	for (size_t i = 0; i < n; i++)
		buf[4 + 2 * i] = (unsigned char)value[i];
	fwrite(buf, 1, 4 + 2 * (n + 1), f);
	fclose(f);
}

static char *slurp(const char *rel, size_t *len)
{
	char path[8192];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static bool exists(const char *rel)
{
	char path[8192];

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	return access(path, F_OK) == 0;
}

static void reset(void)
{
	char cmd[20000];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/root' '%s/sys'; mkdir -p '%s/root' '%s/sys/firmware/efi/efivars'",
		 base, base, base, base);
	if (system(cmd) != 0)
		abort();
	put_var("LoaderInfo", "systemd-boot 252.39-1~deb12u2");
}

static struct rootfs *open_root(void)
{
	char path[4200];
	struct rootfs *r = NULL;
	struct error e = { 0 };

	snprintf(path, sizeof(path), "%s/root", base);
	if (rootfs_open(path, &r, &e) < 0)
		abort();
	return r;
}

/* Entries as Debian 12's kernel-install (90-loaderentry.install, systemd 252) writes them. */
static void plain_esp(void)
{
	put("root/etc/kernel/cmdline", "root=UUID=1111 ro quiet\n");
	put("root/boot/efi/loader/loader.conf", "timeout 3\n#console-mode keep\n");
	put("root/boot/efi/loader/entries/0123abcd-6.1.0-27-amd64.conf",
	    "title      Debian GNU/Linux 12 (bookworm)\nversion    6.1.0-27-amd64\nmachine-id 0123abcd\n"
	    "sort-key   debian\noptions    root=UUID=1111 ro quiet\n"
	    "linux      /0123abcd/6.1.0-27-amd64/linux\ninitrd     /0123abcd/6.1.0-27-amd64/initrd.img-6.1.0-27-amd64\n");
	put("root/boot/efi/loader/entries/0123abcd-6.1.0-26-amd64.conf",
	    "title      Debian GNU/Linux 12 (bookworm)\nversion    6.1.0-26-amd64\nmachine-id 0123abcd\n"
	    "sort-key   debian\noptions    root=UUID=1111 ro quiet\n"
	    "linux      /0123abcd/6.1.0-26-amd64/linux\ninitrd     /0123abcd/6.1.0-26-amd64/initrd.img-6.1.0-26-amd64\n");
}

static const struct bootloader sdboot = { .kind = BOOT_SYSTEMD_BOOT, .cmdline_file = "/etc/kernel/cmdline" };
static const struct bootloader pmx = { .kind = BOOT_PROXMOX_SYSTEMD_BOOT, .cmdline_file = "/etc/kernel/cmdline" };

static void test_plain(struct oneshot_env *env)
{
	struct rootfs *r;
	struct oneshot_armed a = { 0 };
	struct error e = { 0 };
	struct trial_boot t = { .txn = 7, .cmdline_add = "intel_iommu=on iommu=pt iommuctl.trial=7 panic=10" };
	char *where = NULL, *text, *var;
	size_t len = 0;
	int k;

	reset();
	plain_esp();
	r = open_root();
	k = oneshot_sdboot_check(r, &sdboot, env, &where, &e);
	ok(k == 0 && where && strstr(where, "/boot/efi"), "check: systemd-boot with the ESP at /boot/efi (%s%s)",
	   where ? where : "", e.text);
	free(where);

	k = oneshot_arm(r, &sdboot, env, &t, &a, &e);
	ok(k == 0, "arm: exit %d %s", e.exit_code, e.text);
	is_str(a.entry_id, "iommuctl-trial-7.conf", "arm: the one-shot names the entry file, .conf included");
	ok(a.files.n == 1 && strcmp(a.files.v[0], "/boot/efi/loader/entries/iommuctl-trial-7.conf") == 0,
	   "arm: one file written, on the ESP");
	text = slurp("root/boot/efi/loader/entries/iommuctl-trial-7.conf", NULL);
	ok(text && strstr(text, "linux      /0123abcd/6.1.0-27-amd64/linux\n") &&
		   strstr(text, "initrd     /0123abcd/6.1.0-27-amd64/initrd.img-6.1.0-27-amd64\n"),
	   "entry: the newest version's kernel and initrd (systemd-boot 252 sorts by version, newest first)");
	ok(text && strstr(text, "\noptions    root=UUID=1111 ro quiet\n") &&
		   strlen(text) > 60 && strcmp(text + strlen(text) - 59, "\noptions intel_iommu=on iommu=pt iommuctl.trial=7 panic=10\n") == 0,
	   "entry: the default's options line, then the trial's (systemd-boot joins them with a space)");
	ok(text && !strstr(text, "sort-key") && strstr(text, "title Debian GNU/Linux 12 (bookworm) (iommuctl trial 7)\n"),
	   "entry: no sort-key (it would sort before every entry without one), a title that says trial");
	for (char *l = text, *nl; l && *l; l = nl + 1) {
		nl = strchrnul(l, '\n');
		printf("# %.*s\n", (int)(nl - l), l);
		if (!*nl)
			break;
	}
	free(text);
	var = slurp("sys/firmware/efi/efivars/LoaderEntryOneShot-" GUID, &len);
	{
		static const char want[] = "\x07\0\0\0i\0o\0m\0m\0u\0c\0t\0l\0-\0t\0r\0i\0a\0l\0-\0" "7\0.\0c\0o\0n\0f\0\0\0";
		ok(var && len == sizeof(want) - 1 && memcmp(var, want, len) == 0,
		   "LoaderEntryOneShot: attributes NV|BS|RT, UTF-16LE, NUL-terminated (%zu bytes)", len);
		for (size_t i = 0; var && i < len; i++)
			if (var[i] != want[i])
				printf("# byte %zu: %02x, want %02x\n", i, (unsigned char)var[i], (unsigned char)want[i]);
	}
	free(var);
	oneshot_armed_clear(&a);

	k = oneshot_disarm(r, &sdboot, env, 7, &e);
	ok(k == 0 && !exists("root/boot/efi/loader/entries/iommuctl-trial-7.conf") &&
		   !exists("sys/firmware/efi/efivars/LoaderEntryOneShot-" GUID),
	   "disarm: the entry and the one-shot are gone");
	ok(exists("root/boot/efi/loader/entries/0123abcd-6.1.0-27-amd64.conf") &&
		   exists("root/boot/efi/loader/entries/0123abcd-6.1.0-26-amd64.conf"),
	   "disarm: the host's own entries stay");
	k = oneshot_disarm(r, &sdboot, env, 7, &e);
	ok(k == 0, "disarm twice: nothing to remove is success");

	/* A one-shot that names another entry (bootctl set-oneshot by the admin) is not ours. */
	put_var("LoaderEntryOneShot", "0123abcd-6.1.0-26-amd64.conf");
	k = oneshot_disarm(r, &sdboot, env, 7, &e);
	ok(k == 0 && exists("sys/firmware/efi/efivars/LoaderEntryOneShot-" GUID),
	   "disarm: a one-shot naming another entry is left alone");

	/* LoaderEntryDefault (bootctl set-default) decides the entry copied. */
	put_var("LoaderEntryDefault", "0123abcd-6.1.0-26-amd64.conf");
	k = oneshot_arm(r, &sdboot, env, &t, &a, &e);
	text = slurp("root/boot/efi/loader/entries/iommuctl-trial-7.conf", NULL);
	ok(k == 0 && text && strstr(text, "/0123abcd/6.1.0-26-amd64/linux"),
	   "default: LoaderEntryDefault picks the entry the trial copies");
	free(text);
	oneshot_armed_clear(&a);
	oneshot_disarm(r, &sdboot, env, 7, &e);
	rootfs_free(r);
}

/* Old-style entries (no sort-key): loader.conf's default pattern; a counted entry with no tries
 * left sorts last. */
static void test_order(struct oneshot_env *env)
{
	struct rootfs *r;
	struct oneshot_armed a = { 0 };
	struct error e = { 0 };
	struct trial_boot t = { .txn = 3, .cmdline_add = "iommuctl.trial=3" };
	char *text;
	int k;

	reset();
	put("root/etc/kernel/cmdline", "root=/dev/sda2\n");
	put("root/efi/loader/entries/b-6.1+0-3.conf", "title B\nlinux /b\noptions root=/dev/sda2\n");
	put("root/efi/loader/entries/a-6.1.conf", "title A\nlinux /a\noptions root=/dev/sda2\n");
	r = open_root();
	k = oneshot_arm(r, &sdboot, env, &t, &a, &e);
	text = slurp("root/efi/loader/entries/iommuctl-trial-3.conf", NULL);
	ok(k == 0 && text && strstr(text, "linux /a\n"),
	   "order: an entry with no tries left (+0-3) sorts last; the ESP at /efi is found (%s)", e.text);
	free(text);
	oneshot_armed_clear(&a);
	oneshot_disarm(r, &sdboot, env, 3, &e);
	put("root/efi/loader/loader.conf", "default b-*\n");
	k = oneshot_arm(r, &sdboot, env, &t, &a, &e);
	text = slurp("root/efi/loader/entries/iommuctl-trial-3.conf", NULL);
	ok(k == 0 && text && strstr(text, "linux /b\n"), "order: loader.conf's default pattern matches ids with their counter");
	free(text);
	oneshot_armed_clear(&a);
	oneshot_disarm(r, &sdboot, env, 3, &e);
	rootfs_free(r);
}

static void test_refusals(struct oneshot_env *env)
{
	struct rootfs *r;
	struct oneshot_armed a = { 0 };
	struct error e = { 0 };
	struct trial_boot t = { .txn = 9, .cmdline_add = "iommuctl.trial=9" };
	char cmd[8400];
	int k;

	reset();
	plain_esp();
	r = open_root();
	snprintf(cmd, sizeof(cmd), "rm -f '%s/sys/firmware/efi/efivars/LoaderInfo-" GUID "'", base);
	if (system(cmd) != 0)
		abort();
	put_var("Boot0000", "x");
	k = oneshot_arm(r, &sdboot, env, &t, &a, &e);
	ok(k < 0 && e.exit_code == EXIT_REFUSED && strstr(e.text, "LoaderInfo") && !exists("root/boot/efi/loader/entries/iommuctl-trial-9.conf"),
	   "refused (exit 3) when systemd-boot did not start this boot (no LoaderInfo): %s", e.text);
	snprintf(cmd, sizeof(cmd), "rm -f '%s'/sys/firmware/efi/efivars/*", base);
	if (system(cmd) != 0)
		abort();
	memset(&e, 0, sizeof(e));
	k = oneshot_sdboot_check(r, &sdboot, env, NULL, &e);
	ok(k < 0 && e.exit_code == EXIT_REFUSED && strstr(e.text, "mount -t efivarfs"),
	   "refused when efivarfs is not mounted (empty efivars): %s", e.text);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/sys/firmware'", base);
	if (system(cmd) != 0)
		abort();
	memset(&e, 0, sizeof(e));
	k = oneshot_sdboot_check(r, &sdboot, env, NULL, &e);
	ok(k < 0 && e.exit_code == EXIT_REFUSED && strstr(e.text, "did not start by UEFI"),
	   "refused when the host did not boot by UEFI: %s", e.text);
	rootfs_free(r);

	reset();
	put("root/etc/kernel/cmdline", "root=/dev/sda2\n");
	r = open_root();
	memset(&e, 0, sizeof(e));
	k = oneshot_sdboot_check(r, &sdboot, env, NULL, &e);
	ok(k < 0 && e.exit_code == EXIT_REFUSED && strstr(e.text, "/efi, /boot or /boot/efi"),
	   "refused when no ESP is found: %s", e.text);
	put("root/boot/efi/loader/entries/uki.conf", "title UKI\nefi /EFI/Linux/debian.efi\n");
	memset(&e, 0, sizeof(e));
	k = oneshot_arm(r, &sdboot, env, &t, &a, &e);
	ok(k < 0 && e.exit_code == EXIT_REFUSED && strstr(e.text, "EFI image") &&
		   !exists("sys/firmware/efi/efivars/LoaderEntryOneShot-" GUID),
	   "refused when the default entry boots an EFI image (no command line to add to): %s", e.text);
	rootfs_free(r);
}

/* proxmox-boot-tool: two ESPs by UUID, at its own mount point (mounted here as tmpfs in a private
 * mount namespace: a mounted ESP is used as it is), entries as proxmox-boot-tool writes them, and
 * the trial kernel kept on the manual kernel list while the trial is pending. */
static void test_proxmox(struct oneshot_env *env)
{
	static const char *const uuids[] = { "AAAA-0001", "BBBB-0002" };
	struct rootfs *r;
	struct oneshot_armed a = { 0 };
	struct error e = { 0 };
	struct trial_boot t = { .txn = 12, .cmdline_add = "iommu=pt iommuctl.trial=12" };
	char path[8192], rel[8400], *text;
	int k;

	reset();
	if (unshare(CLONE_NEWNS) < 0 && (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)) {
		printf("ok %d # SKIP proxmox-boot-tool ESPs: no private mount namespace (%s)\n", ++tap_n, strerror(errno));
		return;
	}
	mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	put("root/etc/kernel/proxmox-boot-uuids", "AAAA-0001\nBBBB-0002\n");
	put("root/etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n");
	put("root/etc/kernel/proxmox-boot-manual-kernels", "6.2.16-3-pve\n");
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/root/var/tmp/espmounts/%s", base, uuids[i]);
		snprintf(rel, sizeof(rel), "mkdir -p '%s'", path);
		if (system(rel) != 0 || mount("tmpfs", path, "tmpfs", 0, NULL) < 0) {
			printf("ok %d # SKIP proxmox-boot-tool ESPs: cannot mount a tmpfs (%s)\n", ++tap_n, strerror(errno));
			return;
		}
		snprintf(rel, sizeof(rel), "root/var/tmp/espmounts/%s/loader/loader.conf", uuids[i]);
		put(rel, "timeout 3\ndefault proxmox-*\n");
		snprintf(rel, sizeof(rel), "root/var/tmp/espmounts/%s/loader/entries/proxmox-6.8.12-4-pve.conf", uuids[i]);
		put(rel, "title    Proxmox Virtual Environment\nversion  6.8.12-4-pve\noptions  root=ZFS=rpool/ROOT/pve-1 boot=zfs\n"
			 "linux    /EFI/proxmox/6.8.12-4-pve/vmlinuz-6.8.12-4-pve\ninitrd   /EFI/proxmox/6.8.12-4-pve/initrd.img-6.8.12-4-pve\n");
		snprintf(rel, sizeof(rel), "root/var/tmp/espmounts/%s/loader/entries/proxmox-6.5.13-6-pve.conf", uuids[i]);
		put(rel, "title    Proxmox Virtual Environment\nversion  6.5.13-6-pve\noptions  root=ZFS=rpool/ROOT/pve-1 boot=zfs\n"
			 "linux    /EFI/proxmox/6.5.13-6-pve/vmlinuz-6.5.13-6-pve\ninitrd   /EFI/proxmox/6.5.13-6-pve/initrd.img-6.5.13-6-pve\n");
	}
	r = open_root();
	k = oneshot_arm(r, &pmx, env, &t, &a, &e);
	ok(k == 0 && a.files.n == 2, "proxmox: an entry on each of the two ESPs (%s)", e.text);
	for (size_t i = 0; i < 2; i++) {
		snprintf(rel, sizeof(rel), "root/var/tmp/espmounts/%s/loader/entries/iommuctl-trial-12.conf", uuids[i]);
		text = slurp(rel, NULL);
		ok(text && strstr(text, "linux    /EFI/proxmox/6.8.12-4-pve/vmlinuz-6.8.12-4-pve\n") &&
			   strstr(text, "options iommu=pt iommuctl.trial=12\n"),
		   "proxmox: ESP %s: the newest kernel's entry with the trial options", uuids[i]);
		free(text);
	}
	text = slurp("root/etc/kernel/proxmox-boot-manual-kernels", NULL);
	is_str(text, "6.2.16-3-pve\n6.8.12-4-pve\n", "proxmox: the trial kernel is added to the manual kernel list");
	free(text);
	ok(a.notes.n >= 2, "proxmox: the notes say which entry was copied and that the kernel is kept");
	oneshot_armed_clear(&a);
	k = oneshot_disarm(r, &pmx, env, 12, &e);
	text = slurp("root/etc/kernel/proxmox-boot-manual-kernels", NULL);
	is_str(text, "6.2.16-3-pve\n", "proxmox: disarm takes the pin out again and leaves the admin's line");
	free(text);
	ok(k == 0 && !exists("root/var/tmp/espmounts/AAAA-0001/loader/entries/iommuctl-trial-12.conf") &&
		   !exists("root/var/tmp/espmounts/BBBB-0002/loader/entries/iommuctl-trial-12.conf"),
	   "proxmox: disarm removes the entry from both ESPs");
	/* A kernel the admin listed already stays listed after disarm. */
	put("root/etc/kernel/proxmox-boot-manual-kernels", "6.8.12-4-pve\n");
	oneshot_arm(r, &pmx, env, &t, &a, &e);
	oneshot_armed_clear(&a);
	oneshot_disarm(r, &pmx, env, 12, &e);
	text = slurp("root/etc/kernel/proxmox-boot-manual-kernels", NULL);
	is_str(text, "6.8.12-4-pve\n", "proxmox: a kernel the admin pinned stays pinned after disarm");
	free(text);
	rootfs_free(r);
	/* Not mounted, and no such disk: refused with what to do. */
	snprintf(path, sizeof(path), "%s/root/var/tmp/espmounts/BBBB-0002", base);
	umount(path);
	r = open_root();
	memset(&e, 0, sizeof(e));
	k = oneshot_sdboot_check(r, &pmx, env, NULL, &e);
	ok(k < 0 && e.exit_code == EXIT_REFUSED && strstr(e.text, "/dev/disk/by-uuid/BBBB-0002"),
	   "proxmox: refused when a listed ESP's disk is missing: %s", e.text);
	rootfs_free(r);
	snprintf(path, sizeof(path), "%s/root/var/tmp/espmounts/AAAA-0001", base);
	umount(path);
}

int main(void)
{
	char sysfs[4200];
	struct oneshot_env env = { .sysfs = sysfs };
	char tmpl[] = "/tmp/test-oneshot-sdboot.XXXXXX";
	char cmd[4200];

	if (!mkdtemp(tmpl))
		return 99;
	snprintf(base, sizeof(base), "%s", tmpl);
	snprintf(sysfs, sizeof(sysfs), "%s/sys", base);
	test_plain(&env);
	test_order(&env);
	test_refusals(&env);
	test_proxmox(&env);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	(void)!system(cmd);
	return tap_done();
}
