/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-vfioids.c — the command line's vfio-pci ids list: found as kmod and the kernel find it, its
 * entries judged as vfio_pci_fill_ids() reads them, extended without duplicates (TAP). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "tap.h"
#include "vfioids.h"

static void test_find_one(const char *line, int want, const char *want_key, const char *want_value,
			  unsigned want_count)
{
	char *key = NULL, *value = NULL;
	unsigned count = 0;
	size_t at = 0;
	int k = vfio_cmdline_ids(line, &key, &value, &count, &at);

	ok(k == want, "'%s': %s", line, want ? "has a list" : "has none");
	if (k == 1 && want == 1) {
		is_str(key, want_key, "'%s': key as written", line);
		is_str(value, want_value, "'%s': the last list wins", line);
		ok(count == want_count, "'%s': %u occurrences (want %u)", line, count, want_count);
		ok(strncmp(line + at, want_key, strlen(want_key)) == 0, "'%s': the offset of the last one", line);
	}
	free(key);
	free(value);
}

static void test_find(void)
{
	/* From real files (fixtures/grub/SOURCES.md) and kmod's reading of the name. */
	test_find_one("quiet amd_iommu=on iommu=pt vfio-pci.ids=10de:1b80,10de:10f0", 1, "vfio-pci.ids",
		      "10de:1b80,10de:10f0", 1);
	test_find_one("quiet vfio_pci.ids=1002:67df,1002:aaf0 video=efifb:off", 1, "vfio_pci.ids",
		      "1002:67df,1002:aaf0", 1);
	test_find_one("vfio-pci.ids=10de:1b80 quiet vfio_pci.ids=02:00.0,02:00.1", 1, "vfio_pci.ids",
		      "02:00.0,02:00.1", 2);
	test_find_one("vfio-pci.ids=\"10de:1b80\"", 1, "vfio-pci.ids", "10de:1b80", 1);
	test_find_one("vfio_pci-ids=10de:1b80", 0, NULL, NULL, 0);	/* no "." : no module parameter */
	test_find_one("quiet -- vfio-pci.ids=10de:1b80", 0, NULL, NULL, 0);
	test_find_one("vfio-pci.ids vfio-pci.disable_vga=1 vfio.ids=1:2", 0, NULL, NULL, 0);
	test_find_one("", 0, NULL, NULL, 0);
}

static void test_valid(void)
{
	static const char *const good[] = { "10de:1b80", "10DE:1B80", "8086:1533:ffffffff:ffffffff",
					    "1002:67df:1682:9588", "10de:1b80:ffff:ffff:030000:ff0000", "1:2" };
	static const char *const bad[] = { "02:00.0", "0000:02:00.0", "10de", "10de:", ":1b80", "10de:1b80:",
					   "10de-1b80", "10de:1b80x", "10de1:1b80", "10de:1b80:1:2:3:4:5", "" };

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		ok(vfio_id_valid(good[i]), "'%s' is an id", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ok(!vfio_id_valid(bad[i]), "'%s' is not an id", bad[i]);
}

/* What the kernel makes of a PCI address: vfio_pci_fill_ids() uses sscanf("%x:%x:%x:%x:%x:%x")
 * and only refuses fewer than two fields. The C library's %x stops at the same bytes. */
static void test_kernel_reading(void)
{
	unsigned v = 0, d = 0, sv = 0, sd = 0, c = 0, cm = 0;
	int fields = sscanf("02:00.0", "%x:%x:%x:%x:%x:%x", &v, &d, &sv, &sd, &c, &cm);

	ok(fields == 2 && v == 0x2 && d == 0x0, "'02:00.0' reads as 2 fields, %04x:%04x: no warning, no device", v, d);
}

static void test_invalid_list(void)
{
	struct strv bad = { 0 };

	ok(vfio_ids_invalid("10de:1b80,02:00.0,,0000:02:00.1,10de:10f0", &bad) == 0, "invalid entries listed");
	ok(bad.n == 2, "two of them (%zu)", bad.n);
	if (bad.n == 2) {
		is_str(bad.v[0], "02:00.0", "first");
		is_str(bad.v[1], "0000:02:00.1", "second");
	}
	strv_clear(&bad);
	ok(vfio_ids_invalid("10de:1b80,10de:10f0", &bad) == 0 && bad.n == 0, "a good list has none");
	strv_clear(&bad);
}

static void test_extend(void)
{
	char *ids_v[] = { "10de:1b80", "10de:10f0" };
	struct strv ids = { .v = ids_v, .n = 2 };
	char *out = NULL;

	ok(vfio_ids_extend("02:00.0,02:00.1", &ids, &out) == 1, "targets added to a list of addresses");
	is_str(out, "02:00.0,02:00.1,10de:1b80,10de:10f0", "the admin's entries kept, the targets after them");
	free(out);
	ok(vfio_ids_extend("10DE:1B80,10de:10f0", &ids, &out) == 0, "a list holding the targets is left alone");
	is_str(out, "10DE:1B80,10de:10f0", "as written");
	free(out);
	ok(vfio_ids_extend("10de:10f0,", &ids, &out) == 1, "a trailing comma");
	is_str(out, "10de:10f0,10de:1b80", "no empty entry made");
	free(out);
	ok(vfio_ids_extend("", &ids, &out) == 1, "an empty list");
	is_str(out, "10de:1b80,10de:10f0", "gets the targets");
	free(out);
	ok(vfio_ids_has("1002:67df,10de:1b80:ffff:ffff", "10de:1b80") == false,
	   "a subsystem-qualified entry is another id");
}

int main(void)
{
	test_find();
	test_valid();
	test_kernel_reading();
	test_invalid_list();
	test_extend();
	return tap_done();
}
