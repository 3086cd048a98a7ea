/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hw-read.h — the whole machine in one call: the scan, then the roles and their driver chains,
 *  then the modules that would claim each device. The top of the hardware layer. */
#pragma once

#include "hw.h"
#include "rootfs.h"

/* hw_scan(), hw_find_roles(), then every device's modules: its modalias resolved with libkmod in
 * every installed kernel of the root (blacklists do not hide a module: a blacklisted driver still
 * serves the device when loaded by hand or as a dependency), and the candidates of every unbound
 * link of the chains (no kernels: nothing filled, not an error). Errors as hw_scan(); out of
 * memory EXIT_IO. ret is filled only on success. */
int hw_read_all(const char *sysfs, const char *procfs, const struct rootfs *r, struct hw *ret, struct error *e);
