/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan.h — from a profile and the files on disk to the exact new contents, hooks and findings. */
#pragma once

#include "bootloader.h"
#include "journal.h"
#include "hw.h"
#include "profile.h"
#include "safety.h"

/* Where the next boot's vfio-pci ids= list comes from (iommuctl(8), VFIO-PCI IDS). */
struct vfio_ids_origin {
	char *list;		/* the list vfio-pci gets; NULL: no ids= anywhere */
	bool on_cmdline;	/* from the kernel command line, which kmod applies after modprobe.d */
	char *key;		/* on the command line: the parameter as written ("vfio-pci.ids") */
	unsigned count;		/* on the command line: how many there are (the last one wins) */
	char *file;		/* the file that sets it: the boot loader's, or a modprobe.d file */
	const char *variable;	/* GRUB_CMDLINE_LINUX or GRUB_CMDLINE_LINUX_DEFAULT; NULL otherwise */
	unsigned line;		/* 1-based; 0 when unknown */
	struct strv invalid;	/* entries that are not vendor:device (vfioids.h) */
};

struct plan {
	struct bootloader boot;
	struct file_change *changes;	/* only files whose state changes, sorted by path */
	size_t n_changes;
	struct strv hooks;		/* hook names to run after the change, in order */
	struct finding *findings;	/* the profile's, then the plan's own */
	size_t n_findings;
	char *effective_cmdline;	/* the kernel command line the next boot gets after the change */
	struct vfio_plan vfio;		/* the devices vfio-pci is to take, and how */
	struct vfio_ids_origin ids;	/* the ids= list the next boot gives vfio-pci, after the change */
};

/* Pure with respect to the system: reads the managed files, changes nothing. hw: the machine
 * (vfio-pci targets and the safety findings); NULL leaves both out. Errors: a
 * file the editors cannot edit safely (EXIT_BAD_INPUT, with file and line), I/O. */
int plan_make(const struct rootfs *r, const char *sysfs, const struct hw *hw, const struct profile *p,
	      struct plan *ret, struct error *e);
void plan_clear(struct plan *p);
/* The ids= list the next boot gives vfio-pci with the files as they are (for scan). */
int plan_vfio_ids(const struct rootfs *r, const char *sysfs, struct vfio_ids_origin *ret, struct error *e);
void vfio_ids_origin_clear(struct vfio_ids_origin *o);
/* The hooks that regenerate what reads these files, in the order to run them: update-initramfs
 * for /etc/modules and modprobe.d, then the boot loader's refresh for the command line.
 * *ret_cmdline_unrefreshed (may be NULL): the command line changed and no hook refreshes it. */
int plan_hooks_for(const struct bootloader *boot, const struct file_change *changes, size_t n, struct strv *hooks,
		   bool *ret_cmdline_unrefreshed);
/* Whether a finding blocks (needs --force). */
bool plan_blocked(const struct plan *p);
int finding_add(struct finding **v, size_t *n, enum finding_severity sev, const char *id, const char *hint,
		const char *fmt, ...) _printf_(6, 7);
void findings_free(struct finding *v, size_t n);
