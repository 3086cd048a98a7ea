/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vfioids.h — vfio-pci's ids= list: where the kernel command line sets it, what its entries mean, and
 * extending it. Pure: strings in, strings out. */
#pragma once

#include <stdbool.h>

#include "strv.h"

/*
 * The command line's vfio-pci ids list as kmod and the kernel take it: the
 * parameter "vfio-pci.ids" with '-' and '_' equal anywhere in the name (the
 * kernel's parameq(); kmod turns the module name's '-' into '_'), in the
 * kernel part of the line (before "--"). With several occurrences the last
 * wins: kmod passes every one to the module in order ("ids=A ids=B",
 * measured with kmod 30's modprobe --showconfig), and vfio-pci's ids is a
 * module_param_string, which each occurrence overwrites; a built-in vfio-pci
 * gets them from the kernel's own parse_args(), in the same order.
 * Returns 1 with *ret_key (as written, e.g. "vfio_pci.ids"), *ret_value
 * (quotes stripped as the kernel strips them), *ret_count (how many there
 * are) and *ret_offset (where the last one starts in cmdline; may be NULL),
 * 0 when the line has none, or -ENOMEM. Outputs only on 1.
 */
int vfio_cmdline_ids(const char *cmdline, char **ret_key, char **ret_value, unsigned *ret_count,
		     size_t *ret_offset);

/*
 * An entry vfio-pci's vfio_pci_fill_ids() reads as it is meant:
 * vendor:device[:subvendor[:subdevice[:class[:class_mask]]]], each field
 * hex. The kernel's sscanf("%x:%x:...") stops at the first byte that is not
 * hex, so "02:00.0" (a PCI address) still gives two fields and becomes the
 * id 0002:0000, which matches no device: accepted without a word, binding
 * nothing. Here vendor and device are 1–4 hex digits, the subsystem fields
 * 1–4 (or ffffffff, PCI_ANY_ID), class and mask 1–8, and nothing else.
 */
bool vfio_id_valid(const char *entry);

/* The entries of list (comma-separated, as vfio-pci splits it; empty ones skipped) that are not
 * valid ids, in order. Returns 0 or -ENOMEM. */
int vfio_ids_invalid(const char *list, struct strv *ret);

/* Whether list holds id (hex compared as numbers: 10DE:1B80 is 10de:1b80). */
bool vfio_ids_has(const char *list, const char *id);

/* list followed by each of ids that it does not hold yet, comma-separated, in order. Returns 1 and
 * *ret when something was added, 0 (and *ret a copy) when list holds them all, or -ENOMEM. */
int vfio_ids_extend(const char *list, const struct strv *ids, char **ret);
