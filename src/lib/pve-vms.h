/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pve-vms.h — Proxmox VE's VM configurations, read-only: which PCI devices each VM is given
 * (hostpciN, directly or through a mapping= of /etc/pve/mapping/pci.cfg) and whether it starts at
 * boot (onboot). Read from /etc/pve (pmxcfs) or, where that is empty (a root mounted from a rescue
 * system), from pmxcfs's own database /var/lib/pve-cluster/config.db.
 *  Owns: struct pve_vms and the parsers of qemu-server's config and the PCI mapping format. Must
 *  not: write anything, or judge what it read (pve-usage.h does that). */
#pragma once

#include <stdbool.h>

#include "rootfs.h"
#include "strv.h"

/* One hostpciN line of a VM's current configuration. */
struct pve_pci {
	unsigned index;		/* N of hostpciN */
	char *value;		/* the line's value as written, for messages */
	char *mapping;		/* mapping=NAME, or NULL for host= */
	struct strv slots;	/* "0000:01:00.0", or "0000:01:00" for every function of the slot; for a
				 * mapping, the paths of every entry for this node (qemu-server picks one) */
	char *mdev;		/* mdev=TYPE (a mediated device: GVT-g, vGPU), or NULL */
	bool pcie, x_vga;
	bool unresolved;	/* a mapping with no entry for this node (or no pci.cfg) */
};

struct pve_vm {
	unsigned vmid;
	char *name;		/* NULL when the config has none */
	bool onboot;
	bool is_template;
	struct pve_pci *pci;
	size_t n_pci;
};

struct pve_vms {
	const char *source;	/* "/etc/pve" or "/var/lib/pve-cluster/config.db"; NULL: not a Proxmox VE host */
	char *node;		/* this node's name (the short hostname, as pmxcfs uses it) */
	struct pve_vm *v;	/* by vmid */
	size_t n;
	struct strv notes;	/* what could not be read or parsed, one sentence each */
};

/* Read every VM configuration of this node. Neither /etc/pve nor config.db present: source NULL,
 * no VMs, 0. A config.db that cannot be opened or read: EXIT_IO with the file named. */
int pve_vms_read(const struct rootfs *r, struct pve_vms *ret, struct error *e);
void pve_vms_clear(struct pve_vms *v);

/* Parsers, pure (text in, data out), for the reader and for tests. */
/* The current configuration of one VM: everything before the first section header ([snapshot],
 * [PENDING], [special:cloudinit]). Mappings are left unresolved (slots empty). -ENOMEM, or
 * -EINVAL with a note in *notes for a hostpci line that cannot be parsed (the rest is kept). */
int pve_vm_parse(const char *text, unsigned vmid, struct pve_vm *ret, struct strv *notes);
void pve_vm_clear(struct pve_vm *vm);
/* Resolve vm's mapping= lines from pci.cfg's text (NULL: no pci.cfg) for node. */
int pve_vm_resolve_mappings(struct pve_vm *vm, const char *pci_cfg, const char *node);
/* Whether the line gives the VM the function at slot ("0000:01:00.0"). */
bool pve_pci_covers(const struct pve_pci *p, const char *slot);
/* "0000:01:00.0" from "01:00.0", "0000:01:00" from "01:00"; lower case. NULL: not an address. */
char *pve_pci_normalize(const char *id, size_t len);
