/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hw-chain.h — the drivers between a PCI function the host needs and the block, net or DRM
 * device it serves: the PCI driver, then the driver of each child device down to the disk,
 * the interface or the card (virtio-pci → virtio_blk; ahci → sd; xhci_hcd → usb-storage → sd). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "kmods.h"
#include "profile.h"

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

/* Follow the sysfs object at path (a link is resolved; relative links of a captured tree resolve
 * inside it) from its PCI ancestor pci_slot ("0000:00:1f.2") down to itself. Every directory on
 * the way that is a device on a bus (it has a driver or a modalias) becomes a link, with its driver
 * and that driver's module (<dev>/driver/module); the PCI function is always the first.
 * -ENOENT: path does not resolve or pci_slot is not on its way; -ENOMEM. ret_errno gets the errno
 * of a read that failed other than by absence (0 when none), ret_hole that path (freed by caller). */
int hw_chain_follow(const char *sysfs, const char *path, const char *pci_slot, struct hw_chain *ret,
		    int *ret_errno, char **ret_hole);

/* Add to the candidates of every link whose module sysfs does not name (unbound, or no
 * driver/module link) what its modalias resolves to in this kernel. */
int hw_chain_resolve(struct hw_chain *c, struct kmods *km);

/* The link of the chain whose driver a blacklist line for module (either spelling) would stop
 * from loading by alias: the module of a bound link that udev would load by its modalias (the
 * PCI function, virtioN, a SCSI disk, a USB interface; its driver's name when sysfs does not
 * name the module), or a candidate of a link whose module sysfs does not name. A module built into the running kernel counts: an
 * installed kernel may have it as a module (virtio_pci is built into Debian's 6.12, a module in
 * 6.1). NULL when none. */
const struct hw_link *hw_chain_find_module(const struct hw_chain *c, const char *module);

/* "root disk vda: 00:03.0 virtio-pci (virtio_pci) → virtio0 virtio_blk (virtio_blk) → vda", with
 * role_name "root disk"; an unbound link reads "00:1f.2 no driver (modalias: ahci)". NULL: -ENOMEM. */
char *hw_chain_describe(const struct hw_chain *c, const char *role_name);

void hw_chain_clear(struct hw_chain *c);
