/* SPDX-License-Identifier: GPL-2.0-or-later */
/* safety.h — which devices a profile hands to vfio-pci and how, and what its change would take
 * away from the host (DESIGN.md §7). Pure: reads the hardware snapshot, writes findings.
 *  Owns: struct vfio_plan and the safety API. Must not: include plan.h. */
#pragma once

#include "hw.h"
#include "profile.h"

struct vfio_plan {
	size_t *targets;	/* indexes into hw->devs of the functions vfio-pci is to take */
	size_t n_targets;
	struct strv ids;	/* for "options vfio-pci ids=": the profile's, then the targets' */
	struct strv override;	/* addresses bound by driver_override, where ids= would catch a device the host keeps */
	struct strv softdeps;	/* modules that need "softdep M pre: vfio-pci" */
	int disable_vga;	/* -1 leave alone, 0 or 1 */
};

/* From the profile's [vfio-pci] devices (slots grow to every function of the slot) and ids.
 * Without hardware (hw NULL) only the profile's ids are used. An address that is not on this
 * machine: EXIT_USAGE naming it. Explanations go to findings. */
int vfio_plan_make(const struct hw *hw, const struct profile *p, struct vfio_plan *ret, struct finding **f,
		   size_t *nf, struct error *e);
void vfio_plan_clear(struct vfio_plan *v);

/* The findings of DESIGN.md §7 that depend on the hardware: blacklists and vfio-pci claims
 * that take the console, the root disk's controller, the default-route NIC or another host
 * device; ids= that match more than the chosen devices; groups shared with devices that stay;
 * no IOMMU in the firmware, no virtualization in the CPU. */
int safety_check(const struct hw *hw, const struct profile *p, const struct vfio_plan *v, bool allow_console,
		 struct finding **f, size_t *nf);

/* The id of a console finding that allow_console (--allow-console-gpu) turned into a warning: a
 * device or chain whose only role is the console. With allow_console, a device that is the
 * console and also the root disk's controller or the default-route NIC still blocks, under the
 * id of that other role. */
#define SAFETY_CONSOLE_ALLOWED "console-gpu-allowed"

/* The entries of an ids= list vfio-pci gets besides the plan's own (an administrator's list on the
 * kernel command line that apply extends and keeps): one that matches a device the host needs
 * (console, root disk, default-route NIC) is a blocking finding, as check_claims() makes for the
 * plan's ids. source names where the list is, for the message. */
int safety_check_ids_list(const struct hw *hw, const char *list, const char *source, const struct vfio_plan *v,
			  bool allow_console, struct finding **f, size_t *nf);

