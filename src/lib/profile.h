/* SPDX-License-Identifier: GPL-2.0-or-later */
/* profile.h — profiles: the state a passthrough setup intends, built in or from INI files.
 *  Owns: struct profile, host_facts, profile_load()/profile_list(). Must not: define the findings
 *  (findings.h) or depend on hardware headers (struct hw is only named). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "findings.h"
#include "rootfs.h"
#include "strv.h"
#include "util.h"

struct hw;

/* What a profile intends, after includes are merged (every list deduplicated, order kept). */
struct profile {
	char *name;
	char *description;
	char *origin;			/* "built-in", or the profile file's path inside the root */
	struct strv kernel_add;		/* kernel parameters: "key=value" or "flag" */
	struct strv kernel_remove;	/* by key ("iommu") or exact token ("iommu=pt") */
	struct strv modules_add;	/* /etc/modules */
	struct strv modules_remove;
	struct strv blacklist_add;	/* blacklist lines in modprobe.d */
	struct strv blacklist_remove;
	char *blacklist_file;		/* where new blacklist lines go */
	struct strv vfio_devices;	/* PCI addresses "0000:01:00.0" (used by the hardware issue) */
	struct strv vfio_ids;		/* "10de:1b80" or "10de:1b80:1458:3702" */
	int disable_vga;		/* -1 unset, 0 or 1 */
	char *vfio_file;		/* where the vfio-pci options line goes */
	struct finding *findings;	/* explanations and warnings gathered while resolving */
	size_t n_findings;
};

/* Facts about the host a built-in profile depends on. */
struct host_facts {
	const char *cpu_vendor;		/* "GenuineIntel", "AuthenticAMD", or NULL when unknown */
	const char *const *kernels;	/* installed kernel versions (<root>/lib/modules/NAME) */
	size_t n_kernels;
	/* 1 when kernel has module (a .ko or built in), 0 when not, <0 when unknown. May be NULL. */
	int (*kernel_has_module)(void *data, const char *kernel, const char *module);
	/* 1 when module of kernel declares param, 0 when not, <0 unknown (see kmods_module_has_param). May be NULL. */
	int (*kernel_has_param)(void *data, const char *kernel, const char *module, const char *param);
	void *data;
	const char *cpuinfo;		/* where cpu_vendor was looked for, for messages; NULL: "/proc/cpuinfo" */
	int cpuinfo_errno;		/* why cpu_vendor is NULL when the file could not be read; 0 otherwise */
	const struct hw *hw;		/* the PCI devices, for gpu; NULL when not read */
	const char *const *devices;	/* --device values, for gpu */
	size_t n_devices;
};

#define PROFILE_DIR "/etc/iommuctl/profiles"
#define PROFILE_DEFAULT_BLACKLIST_FILE "/etc/modprobe.d/iommuctl-blacklist.conf"
#define PROFILE_DEFAULT_VFIO_FILE "/etc/modprobe.d/iommuctl-vfio.conf"

/* Load NAME: a local profile <root>/etc/iommuctl/profiles/NAME.conf if there is one, else a
 * built-in one; includes resolved (cycles refused). Errors: unknown profile EXIT_USAGE;
 * a file that does not parse, an unknown section or key, a bad value, an include of an
 * unknown profile, an include cycle EXIT_BAD_INPUT with "FILE:LINE: reason; what to do"
 * (FILE inside the root); a profile file not owned by root or writable by group or others
 * EXIT_REFUSED. facts NULL: nothing known about the host (built-ins needing the CPU vendor
 * fail, no module checks). blacklist_file and vfio_file are never NULL in the result. */
int profile_load(const struct rootfs *r, const char *name, const struct host_facts *facts,
		 struct profile **ret, struct error *e);
void profile_free(struct profile *p);
static inline void profile_freep(struct profile **p) { profile_free(*p); }

struct profile_info {
	char *name;
	char *description;
	char *origin;
	bool builtin;
	bool shadows_builtin;	/* a local profile with a built-in's name (the local one wins) */
	bool broken;		/* a local file that cannot be used; description says why */
};
/* Built-in and local profiles, sorted by name. A local file that does not parse is listed
 * with its error as description rather than failing the whole listing. */
int profile_list(const struct rootfs *r, struct profile_info **ret, size_t *ret_n, struct error *e);
void profile_infos_free(struct profile_info *v, size_t n);

