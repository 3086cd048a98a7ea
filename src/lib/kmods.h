/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmods.h — the installed kernels of a root and their module trees, read through libkmod.
 *  Owns: the kmods API. Must not: pull in hardware or profile headers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "rootfs.h"
#include "util.h"

/*
 * A root may carry several kernels; a profile is only right when it is right
 * for each of them (vfio_virqfd is a module on 6.1 and gone on 6.2+). Each
 * kernel gets its own libkmod context over <root>/lib/modules/KVER, with the
 * root's modprobe.d, never the host's.
 *
 * What libkmod 30 still takes from the running system, whatever the root:
 * /proc/cmdline (modprobe.blacklist=, MODULE.PARAM=). So on a rescue system a
 * module the rescue kernel's command line blacklists reads as blacklisted
 * here too; the root's own command line is read by the cmdline editor instead.
 */

struct kmods;

/* Kernel versions under <root>/lib/modules that depmod has indexed (a
 * modules.dep or modules.dep.bin), sorted oldest first (strverscmp).
 * No /lib/modules at all is an empty list, not an error. */
int kmods_list_kernels(const struct rootfs *r, char ***ret, size_t *ret_n, struct error *e);

/* A libkmod context for <root>/lib/modules/KERNEL and the root's modprobe.d
 * directories (etc, run, usr/local/lib, lib — libkmod's own order). libkmod's
 * messages are dropped, unless KMOD_LOG is set in the environment (debugging). */
int kmods_open(const struct rootfs *r, const char *kernel, struct kmods **ret, struct error *e);
void kmods_free(struct kmods *k);
static inline void kmods_freep(struct kmods **k) { kmods_free(*k); }

/* The kernel version and the directory as the user knows it, for messages. */
const char *kmods_kernel(const struct kmods *k);
const char *kmods_dir(const struct kmods *k);

/* 1 when the kernel has the module as a .ko (modules.dep) or built in
 * (modules.builtin); 0 when not; -errno. '-' and '_' are the same. Aliases do
 * not count: "aes" is not a module even though modules answer to it. */
int kmods_has_module(struct kmods *k, const char *name);

/* 1 when the kernel has the module built in (modules.builtin): a modprobe.d blacklist cannot
 * stop it; 0 when it is a .ko or absent; -errno. */
int kmods_module_builtin(struct kmods *k, const char *name);

/* 1 when the module declares the parameter (modinfo "parm", from the .ko or, built in, from
 * modules.builtin.modinfo), 0 when it does not; -ENOENT: no such module; -EIO and others: its
 * modinfo cannot be read (a tree without the .ko files). */
int kmods_module_has_param(struct kmods *k, const char *module, const char *param);

/* The modules that would claim a device with this modalias (what udev's
 * `modprobe -b MODALIAS` considers), in libkmod's order, each once, '-' spelled
 * '_' as the kernel names them. When ret_blacklisted is not NULL it gets a
 * parallel array: true where the root's config blacklists that module (so
 * modprobe -b would skip it). No match is 0 with an empty list. */
int kmods_resolve_alias(struct kmods *k, const char *modalias, char ***ret_modules, size_t *ret_n,
			bool **ret_blacklisted);
