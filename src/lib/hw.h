/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hw.h — the machine as sysfs and procfs show it: CPU, IOMMU, PCI devices and their groups,
 * and which devices the host itself cannot lose (console, root disk, default-route NIC). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw-chain.h"
#include "profile.h"
#include "rootfs.h"
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
	unsigned unreadable;		/* reads that failed other than by absence (EIO, EACCES...) */
	char *first_unreadable;		/* "PATH: reason" of the first one */
};

/* Count a failed read of path whose errno is not plain absence; the analysis cannot trust a
 * snapshot with holes (a boot_vga it could not read is not a 0). */
void hw_unreadable(struct hw *hw, const char *path, int err);

/* Read everything but the modules. Missing files are facts (no IOMMU, no PCI bus), not errors;
 * errors are out of memory and a sysfs whose PCI bus libpci cannot read (EXIT_IO). */
int hw_scan(const char *sysfs, const char *procfs, struct hw *ret, struct error *e);
/* Fill each device's modules: its modalias resolved with libkmod in every installed kernel of
 * the root (blacklists do not hide a module: a blacklisted driver still serves the device when
 * loaded by hand or as a dependency), and the candidates of every unbound link of the chains.
 * No kernels: nothing filled, not an error. */
int hw_resolve_modules(struct hw *hw, const struct rootfs *r, struct error *e);
void hw_clear(struct hw *hw);

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

/* ---- hw-roles.c ---- */
/* Mark the devices the host needs: console (boot_vga, fb0, DRM connectors, the firmware
 * framebuffer), root disk controllers (mountinfo → block device → PCI ancestor, through
 * device-mapper and md slaves), default-route NICs (through bridges, bonds and VLANs); and
 * follow each down to the card, disk or interface it serves (hw->chains, hw-chain.h). */
int hw_find_roles(struct hw *hw);
