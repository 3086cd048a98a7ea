/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vm-usage.h — the Proxmox VE VMs (pve-vms.h) against this host's hardware and a plan: which VM
 * uses which device, the VMs that start at boot with a device the plan passes through, and
 * whether each hostpci device can really be given to its VM.
 *  Owns: the VM findings and checks as data. Must not: read files (pve-vms does) or print. */
#pragma once

#include <stdbool.h>

#include "findings.h"
#include "hw.h"
#include "plan-vfio.h"
#include "pve-vms.h"

/* One use of a PCI function by a VM's hostpci line. */
struct vm_use {
	const struct pve_vm *vm;
	const struct pve_pci *pci;
};

/* The VMs whose current configuration gives them the function at slot, in vmid order; -ENOMEM. */
int vm_usage_of(const struct pve_vms *vms, const char *slot, struct vm_use **ret, size_t *ret_n);

/* plan and apply: a warning for each VM with onboot: 1 that is given a target of v; a warning
 * when interrupt remapping is off and something is to be passed through (v's targets or a VM's
 * hostpci); what could not be read of the VM configurations. -ENOMEM. */
int vm_usage_findings(const struct pve_vms *vms, const struct hw *hw, const struct vfio_plan *v,
		      struct finding **f, size_t *nf);

/* verify: one result per hostpci line of every VM that is not a template. */
struct vm_check {
	bool ok;
	char *id;		/* "vm-group", "vm-device", "vm-mapping", "vm-driver" */
	char *message, *hint;	/* hint NULL when ok */
};
/* -ENOMEM; the checks are appended to *ret. */
int vm_usage_checks(const struct pve_vms *vms, const struct hw *hw, struct vm_check **ret, size_t *ret_n);
void vm_checks_free(struct vm_check *v, size_t n);
