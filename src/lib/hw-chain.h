/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hw-chain.h — the drivers between a PCI function the host needs and the block, net or DRM
 * device it serves: the PCI driver, then the driver of each child device down to the disk,
 * the interface or the card (virtio-pci → virtio_blk; ahci → sd; xhci_hcd → usb-storage → sd).
 *  Owns: the chain API above the scan (the types live in hw.h). Must not: be included by hw.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "hw.h"
#include "kmods.h"

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
