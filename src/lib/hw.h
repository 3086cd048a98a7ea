/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hw.h — the machine as sysfs and procfs show it: CPU, IOMMU, PCI devices and their groups,
 * and which devices the host itself cannot lose (console, root disk, default-route NIC).
 *  Owns: struct hw and struct pci_function, the chains' types (filled by hw-roles.c and
 *  hw-chain.c, freed here). Must not: declare what the files above the scan implement
 *  (hw-roles.h, hw-chain.h, hw-read.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw-sysfs.h"
#include "strv.h"
#include "util.h"

/* The vendor_id of the first CPU in <procfs>/cpuinfo ("GenuineIntel", "AuthenticAMD"):
 * 0 and the name; -ENOENT when the file or the field is missing. */
int hw_cpu_vendor(const char *procfs, char *buf, size_t size);

/* The kernel's id of this boot, <procfs>/sys/kernel/random/boot_id (a random UUID made at each
 * boot): 0 and the 36 characters; -ENOENT when missing, -EBADMSG when it is not a UUID. */
int hw_boot_id(const char *procfs, char buf[static 37]);

/* What the host needs a device for. A device may have several roles. */
enum hw_role {
	HW_ROLE_CONSOLE = 1 << 0,	/* the boot VGA or the device that drives the console */
	HW_ROLE_ROOT_DISK = 1 << 1,	/* a controller behind the root file system */
	HW_ROLE_NETWORK = 1 << 2,	/* the NIC (or a port of the bridge/bond) of a default route */
};

/* One device on the way down, as sysfs shows it. */
struct hw_link {
	char *node;		/* its sysfs name: "0000:03:00.0", "virtio0", "0:0:0:0", "1-1:1.0" */
	char *subsystem;	/* the bus: "pci", "virtio", "scsi", "usb"; NULL when sysfs has no link */
	char *driver;		/* the bound driver ("virtio-pci", "sd"); NULL when none */
	char *module;		/* the module that driver lives in, '_' spelling ("virtio_pci", "sd_mod");
				 * NULL when sysfs does not say (a built-in driver without a module name) */
	bool builtin;		/* module is built into the running kernel (no initstate in sysfs) */
	char *modalias;		/* NULL when the device has none */
	struct strv candidates;	/* unbound, or bound without a module link: the modules its modalias
				 * resolves to, over every installed kernel */
};

/* The whole way from the PCI function (links[0]) down to the device the host uses. */
struct hw_chain {
	unsigned role;		/* the enum hw_role bit it was found for */
	size_t dev;		/* index of the PCI function in hw->devs */
	char *leaf;		/* what the host uses: "vda", "enp2s0", "card0"; the slot when nothing below */
	char *via;		/* how it serves the role ("under dm-0", "port of vmbr0"); NULL when directly */
	struct hw_link *links;
	size_t n_links;
};

struct pci_function {
	char slot[16];			/* "0000:01:00.0", as sysfs names it */
	unsigned domain, bus, dev, func;
	uint16_t vendor_id, device_id, subsys_vendor_id, subsys_id;
	uint32_t class_code;		/* base class, subclass, prog-if: 0x030000 */
	char *vendor_name, *device_name, *class_name;	/* from pci.ids (numbers when unknown) */
	char *driver;			/* bound driver, NULL when none */
	char *driver_module;		/* the module that driver lives in, '_' spelling; NULL if built in or unknown */
	char *modalias;
	int iommu_group;		/* -1: none (IOMMU off or device not translated) */
	int boot_vga;			/* 1, 0, or -1 when the file is absent */
	struct strv modules;		/* modules that would claim it, over every installed kernel */
	unsigned roles;			/* enum hw_role bits */
	char *role_why;			/* how each role was found, for messages; NULL when no role */
};

struct hw {
	const char *sysfs, *procfs;
	/* CPU */
	char cpu_vendor[64];		/* "" when unknown */
	bool cpuinfo_read, vmx, svm;
	/* firmware and IOMMU */
	bool acpi_tables_read;		/* <sysfs>/firmware/acpi/tables could be listed */
	bool dmar, ivrs;
	struct strv iommus;		/* entries of <sysfs>/class/iommu */
	int interrupt_remapping;	/* 1 "IR-" seen in <procfs>/interrupts, 0 not, -1 unreadable */
	size_t n_groups;
	/* devices, sorted by slot */
	struct pci_function *devs;
	size_t n_devs;
	/* the driver chains of the devices the host needs, one per disk, interface or card */
	struct hw_chain *chains;
	size_t n_chains;
	bool modules_resolved;		/* modules were looked up in at least one kernel */
	struct strv notes;		/* what could not be read, for scan's output */
	struct sysfs_holes holes;	/* reads that failed other than by absence (EIO, EACCES...) */
};

/* Read everything but the roles, chains and modules (hw-read.h reads them all). Missing files are
 * facts (no IOMMU, no PCI bus), not errors; errors are out of memory and a sysfs whose PCI bus
 * libpci cannot read (EXIT_IO). */
int hw_scan(const char *sysfs, const char *procfs, struct hw *ret, struct error *e);
/* Add a line to hw->notes (what could not be read, for scan's output); -ENOMEM. */
int hw_note(struct hw *hw, const char *fmt, ...) _printf_(2, 3);
void hw_clear(struct hw *hw);
void hw_link_clear(struct hw_link *l);
void hw_chain_clear(struct hw_chain *c);

/* "0000:01:00.0", "01:00.0", "0000:01:00" or "01:00" (a whole slot): the matching functions'
 * indexes into hw->devs, in slot order. 0 and none found is possible; -EINVAL: not an address. */
int hw_find(const struct hw *hw, const char *addr, size_t **ret, size_t *ret_n);
/* Same domain, bus and device number. */
bool hw_same_slot(const struct pci_function *a, const struct pci_function *b);
bool pci_is_gpu(const struct pci_function *d);		/* display controller, class 0x03 */
bool pci_is_bridge(const struct pci_function *d);	/* host/PCI/PCIe bridges and root ports */
bool pci_function_has_module(const struct pci_function *d, const char *module);
/* "console", "root disk" or "network": the name of the lowest role bit set. */
const char *hw_role_name(unsigned role);

