/* SPDX-License-Identifier: GPL-2.0-or-later */
/* iomem.h — /proc/iomem as text, and the firmware framebuffer ranges inside a PCI device's.
 *  Owns: the parser and the question "does a framebuffer still sit in this card". Must not: read a
 *  file (the caller passes the text) or know anything about profiles or plans. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One line: "  c0000000-c0ffffff : 0000:00:01.0" is depth 1 (two spaces a level). */
struct iomem_entry {
	uint64_t start, end;
	unsigned depth;
	char *name;
};

struct iomem {
	struct iomem_entry *v;
	size_t n;
	bool zeroed;	/* every address reads 0: a reader without CAP_SYS_ADMIN (measured on 6.1 and
			 * 6.12: names and nesting stay, the addresses are 00000000-00000000) */
};

/* Parse the text; lines that are not "START-END : NAME" are skipped. 0 or -ENOMEM. */
int iomem_parse(const char *text, struct iomem *ret);
void iomem_clear(struct iomem *m);

/* Whether name is a firmware framebuffer's: BOOTFB (sysfb), efifb, simple-framebuffer, simplefb,
 * simpledrm, vesafb, "EFI VGA"/"VESA VGA". */
bool iomem_is_framebuffer(const char *name);

enum iomem_fb { IOMEM_FB_NONE, IOMEM_FB_INSIDE, IOMEM_FB_UNKNOWN };

/* Whether a firmware framebuffer range lies inside a range the kernel names after the PCI device
 * slot ("0000:00:01.0": its BARs). INSIDE when one is nested under such a range, or (real
 * addresses) overlaps one; UNKNOWN when the addresses are zeroed and a framebuffer range sits
 * elsewhere in the tree, so that it cannot be placed; NONE otherwise. *ret_fb and *ret_bar
 * (may be NULL) point at the entries for the message. */
enum iomem_fb iomem_framebuffer_in(const struct iomem *m, const char *slot, const struct iomem_entry **ret_fb,
				   const struct iomem_entry **ret_bar);
