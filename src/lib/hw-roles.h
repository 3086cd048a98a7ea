/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hw-roles.h — which PCI devices the host cannot lose (console, root disk, default-route NIC),
 *  marked on a scanned struct hw. */
#pragma once

#include "hw.h"

/* Mark the devices the host needs: console (boot_vga, fb0, DRM connectors, the firmware
 * framebuffer), root disk controllers (mountinfo → block device → PCI ancestor, through
 * device-mapper and md slaves), default-route NICs (through bridges, bonds and VLANs); and
 * follow each down to the card, disk or interface it serves (hw->chains, hw-chain.h). */
int hw_find_roles(struct hw *hw);
