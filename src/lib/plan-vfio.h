/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan-vfio.h — the vfio-pci part of a plan: its options in modprobe.d, and where the next boot's
 *  ids= list comes from (the command line's list wins over modprobe.d). Internal to plan.c but
 *  struct vfio_ids_origin, which scan shows. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "findings.h"
#include "plan-ws.h"
#include "profile.h"
#include "safety.h"

/* Where the next boot's vfio-pci ids= list comes from (iommuctl(8), VFIO-PCI IDS). */
struct vfio_ids_origin {
	char *list;		/* the list vfio-pci gets; NULL: no ids= anywhere */
	bool on_cmdline;	/* from the kernel command line, which kmod applies after modprobe.d */
	char *key;		/* on the command line: the parameter as written ("vfio-pci.ids") */
	unsigned count;		/* on the command line: how many there are (the last one wins) */
	char *file;		/* the file that sets it: the boot loader's, or a modprobe.d file */
	const char *variable;	/* GRUB_CMDLINE_LINUX or GRUB_CMDLINE_LINUX_DEFAULT; NULL otherwise */
	unsigned line;		/* 1-based; 0 when unknown */
	struct strv invalid;	/* entries that are not vendor:device (vfioids.h) */
};

void vfio_ids_origin_clear(struct vfio_ids_origin *o);

/* The profile's vfio-pci options, softdeps and bind-by-address install line in its vfio file,
 * edited in w; ids= goes there unless the command line holds the list (ids->on_cmdline, after
 * plan_ids_origin_cmdline()). Explanations go to f. */
int plan_vfio(const struct rootfs *r, struct workspace *w, const struct profile *p, const struct vfio_plan *v,
	      const char *cmdline, const struct vfio_ids_origin *ids, struct finding **f, size_t *nf, struct error *e);
/* The list on the next boot's command line (cmdline; grub: GRUB's files set it), if it has one, and
 * the file (and variable) that sets it. o is cleared first. */
int plan_ids_origin_cmdline(struct workspace *w, const char *cmdline, bool grub, struct vfio_ids_origin *o);
/* Without one on the command line: the list modprobe.d gives, after the plan's edits. */
int plan_ids_origin_modprobe(struct workspace *w, struct vfio_ids_origin *o);
/* Entries of o's list that are not vendor:device, and repeated lists on the command line. */
int plan_ids_findings(struct vfio_ids_origin *o, struct finding **f, size_t *nf);
