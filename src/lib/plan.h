/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan.h — from a profile and the files on disk to the exact new contents, hooks and findings.
 *  Owns: struct plan and the planning API the commands call. Must not: be included by anything
 *  plan.c calls (safety, findings, plan-vfio, plan-ws). */
#pragma once

#include "bootloader.h"
#include "findings.h"
#include "journal.h"
#include "hw.h"
#include "profile.h"
#include "plan-vfio.h"
#include "safety.h"

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
 * (vfio-pci targets and the safety findings); NULL leaves both out. allow_console_gpu
 * (--allow-console-gpu): the console finding becomes a warning, and console-gpu.h's findings
 * (the way back, the framebuffer) are added. Errors: a
 * file the editors cannot edit safely (EXIT_BAD_INPUT, with file and line), I/O. */
int plan_make(const struct rootfs *r, const char *sysfs, const struct hw *hw, const struct profile *p,
	      bool allow_console_gpu, struct plan *ret, struct error *e);
void plan_clear(struct plan *p);
/* The ids= list the next boot gives vfio-pci with the files as they are (for scan). */
int plan_vfio_ids(const struct rootfs *r, const char *sysfs, struct vfio_ids_origin *ret, struct error *e);
/* The hooks that regenerate what reads these files, in the order to run them: update-initramfs
 * for /etc/modules and modprobe.d, then the boot loader's refresh for the command line.
 * *ret_cmdline_unrefreshed (may be NULL): the command line changed and no hook refreshes it. */
int plan_hooks_for(const struct bootloader *boot, const struct file_change *changes, size_t n, struct strv *hooks,
		   bool *ret_cmdline_unrefreshed);
/* Whether a finding blocks (needs --force). */
bool plan_blocked(const struct plan *p);
