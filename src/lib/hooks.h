/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hooks.h — the commands that regenerate the boot configuration after a change.
 *  Owns: the hooks API and its test seam. Must not: know plans or profiles. */
#pragma once

#include <stdbool.h>

#include "journal.h"
#include "rootfs.h"

/* The hooks iommuctl knows, by the name used in iommuctl.conf's [hooks] section. */
#define HOOK_UPDATE_GRUB "update-grub"
#define HOOK_PROXMOX_BOOT_TOOL "proxmox-boot-tool"
#define HOOK_UPDATE_INITRAMFS "update-initramfs"
#define HOOK_ETCKEEPER "etckeeper"
#define HOOKS_CONFIG "/etc/iommuctl/iommuctl.conf"

struct hook_config {
	char **argv[4];		/* per hook, in the order of the names above; NULL-terminated */
};

/* Defaults, overridden by <root>/etc/iommuctl/iommuctl.conf:
 *   [hooks]
 *   update-grub = /usr/sbin/update-grub
 *   proxmox-boot-tool = /usr/sbin/proxmox-boot-tool refresh
 *   update-initramfs = /usr/sbin/update-initramfs -u -k all
 *   etckeeper = /usr/bin/etckeeper
 * Values are split at blanks into argv (no shell). Errors name file and line (EXIT_BAD_INPUT). */
int hook_config_load(const struct rootfs *r, struct hook_config *ret, struct error *e);
void hook_config_clear(struct hook_config *c);
/* The argv of a hook by name, or NULL for an unknown name. */
char *const *hook_config_argv(const struct hook_config *c, const char *name);
/* "update-grub" → "/usr/sbin/update-grub", for messages. */
char *hook_config_command_line(const struct hook_config *c, const char *name);

struct hook_result {
	int status;		/* exit status; -1 when it could not be started or was killed */
	char *output;		/* stdout and stderr together */
	size_t output_len;
};

/* Run one hook with posix_spawn: fixed argv, PATH=/usr/sbin:/usr/bin:/sbin:/bin, an
 * environment of nothing else, stdin /dev/null, and inside the root (chroot) when the
 * root is not "/". Record it in the journal as a hook run of txn. */
int hook_run(struct journal *j, int64_t txn, int seq, const struct rootfs *r, const struct hook_config *c,
	     const char *name, struct hook_result *ret, struct error *e);
void hook_result_clear(struct hook_result *h);
/* hook_run with more arguments after the configured argv ("commit", "message"); j NULL: the
 * run is not recorded (there is no transaction yet). */
int hook_run_args(struct journal *j, int64_t txn, int seq, const struct rootfs *r, const struct hook_config *c,
		  const char *name, const char *const *extra, struct hook_result *ret, struct error *e);
/* Whether the hook's program exists in the root (an executable regular file). */
bool hook_installed(const struct rootfs *r, const struct hook_config *c, const char *name);
/* Run a program on the host itself (no chroot: grub-probe asks the running kernel about the
 * disks under the root), with the same fixed PATH and clean environment as the hooks; its
 * stdout and stderr together in ret. Not recorded. -ENOMEM only; a program that cannot be
 * started has status -1 and says why in its output. */
int program_run(char *const *argv, struct hook_result *ret);
