/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-iomem.c — /proc/iomem as the kernel's r_show() prints it: depth, addresses and names, the
 * zeroed view of an unprivileged reader, and a firmware framebuffer placed inside a card (TAP).
 * The texts are excerpts of what Debian's 6.1 and 6.12 printed under OVMF
 * (fixtures/iomem/console-gpu-efi). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iomem.h"
#include "tap.h"

static const char before[] = "b0000000-bfffffff : PCI ECAM 0000 [bus 00-ff]\n"
			     "    b0000000-bfffffff : pnp 00:04\n"
			     "c0000000-febfffff : PCI Bus 0000:00\n"
			     "  c0000000-c0ffffff : 0000:00:01.0\n"
			     "    c0000000-c03e7fff : efifb\n"
			     "  c1010000-c1010fff : 0000:00:1f.2\n"
			     "  c1011000-c1011fff : 0000:00:01.0\n"
			     "100000000-8ffffffff : PCI Bus 0000:00\n";

static void test_parse(void)
{
	struct iomem m = { 0 };

	ok(iomem_parse(before, &m) == 0 && m.n == 8, "8 entries (%zu)", m.n);
	ok(m.v[3].depth == 1 && m.v[3].start == 0xc0000000 && m.v[3].end == 0xc0ffffff, "depth 1, the BAR's range");
	is_str(m.v[3].name, "0000:00:01.0", "the BAR is named after the slot");
	ok(m.v[4].depth == 2, "efifb is nested under it");
	ok(m.v[7].start == 0x100000000ULL && m.v[7].end == 0x8ffffffffULL, "addresses above 4 GiB");
	ok(!m.zeroed, "real addresses");
	iomem_clear(&m);
	ok(iomem_parse("not a line\n\n  zz : x\n", &m) == 0 && m.n == 0 && !m.zeroed, "lines that are no ranges are skipped");
	iomem_clear(&m);
}

static void test_framebuffer(void)
{
	const struct iomem_entry *fb = NULL, *bar = NULL;
	struct iomem m = { 0 };
	char *flat;

	iomem_parse(before, &m);
	ok(iomem_framebuffer_in(&m, "0000:00:01.0", &fb, &bar) == IOMEM_FB_INSIDE, "efifb inside 00:01.0");
	ok(fb && bar && !strcmp(fb->name, "efifb") && bar->start == 0xc0000000, "the entries for the message");
	ok(iomem_framebuffer_in(&m, "0000:00:1f.2", NULL, NULL) == IOMEM_FB_NONE, "not inside 00:1f.2");
	iomem_clear(&m);

	/* The same range at the top level, as a sysfb BOOTFB may be: placed by its address. */
	flat = strdup("c0000000-c0ffffff : 0000:00:01.0\nc0000000-c03e7fff : BOOTFB\n");
	iomem_parse(flat, &m);
	ok(iomem_framebuffer_in(&m, "0000:00:01.0", NULL, NULL) == IOMEM_FB_INSIDE, "BOOTFB overlapping the BAR");
	iomem_clear(&m);
	free(flat);

	/* As uid 65534 reads it: zeroes everywhere, names and nesting kept. */
	iomem_parse("00000000-00000000 : PCI Bus 0000:00\n  00000000-00000000 : 0000:00:01.0\n"
		    "    00000000-00000000 : efifb\n", &m);
	ok(m.zeroed, "zeroed addresses are seen");
	ok(iomem_framebuffer_in(&m, "0000:00:01.0", NULL, NULL) == IOMEM_FB_INSIDE, "zeroed: nesting still places it");
	iomem_clear(&m);
	iomem_parse("00000000-00000000 : PCI Bus 0000:00\n  00000000-00000000 : 0000:00:01.0\n"
		    "00000000-00000000 : efifb\n", &m);
	ok(iomem_framebuffer_in(&m, "0000:00:01.0", NULL, NULL) == IOMEM_FB_UNKNOWN,
	   "zeroed, elsewhere in the tree: unknown (an overlap of zeroes proves nothing)");
	iomem_clear(&m);
	iomem_parse("00000000-00000000 : PCI Bus 0000:00\n  00000000-00000000 : 0000:00:01.0\n", &m);
	ok(iomem_framebuffer_in(&m, "0000:00:01.0", NULL, NULL) == IOMEM_FB_NONE, "zeroed, no framebuffer at all: none");
	iomem_clear(&m);

	ok(iomem_is_framebuffer("simple-framebuffer.0") && iomem_is_framebuffer("vesafb") &&
	   !iomem_is_framebuffer("bochs-drm") && !iomem_is_framebuffer("0000:00:01.0"), "framebuffer names");
}

int main(void)
{
	test_parse();
	test_framebuffer();
	return tap_done();
}
