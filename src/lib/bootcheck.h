/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bootcheck.h — checks of the running system (sysfs, procfs) that a trial boot and the first boot
 *  after its commit must pass: the trial's intent, and what the host needs to stay reachable.
 *  Owns: struct run_checks, bootcheck_run(), and the running-system reads verify shares
 *  (running_module_loaded, running_read). Must not: write anything or talk to the journal. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "hw.h"

struct run_check {
	char *id;		/* "trial-cmdline", "modules-load", "blacklist", "vfio-ids", "vfio-bind", "root-rw",
				 * "network", "console-gpu" */
	bool ok;
	char *message;
};

struct run_checks {
	struct run_check *v;
	size_t n;
	size_t failed;
	bool oom;
};
void run_checks_clear(struct run_checks *c);

/* The content of <dir>/<name>, malloc'd; NULL when it cannot be read. */
char *running_read(const char *dir, const char *name);
/* Loaded: a line of <procfs>/modules, or built in with a <sysfs>/module/NAME directory ('-' and
 * '_' equal). procmods: <procfs>/modules' content (may be NULL). */
bool running_module_loaded(const char *sysfs, const char *procmods, const char *module);

/* Check the running system against the intent of a trial's command-line additions (cmdline_add:
 * modules-load=, modprobe.blacklist=, vfio-pci.ids=, iommuctl.bind=) and what the host needs:
 * / mounted read-write, the default-route NIC up, the console GPU on a host driver when the
 * trial did not give it to vfio-pci. booted: <procfs>/cmdline's content; with trial_boot, each
 * token of cmdline_add must be on it (the trial entry is the one that booted). hw: the scan of
 * this boot. */
int bootcheck_run(const char *sysfs, const char *procfs, const struct hw *hw, const char *booted,
		  const char *cmdline_add, bool trial_boot, struct run_checks *ret);
