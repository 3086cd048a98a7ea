/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-pve.c — qemu-server's VM config as pve-vms.c reads it: PCI addresses as $PCIRE of
 * PVE::QemuServer::PCI accepts them, the hostpci property string, the current section only, and
 * mapping= resolved by node from a PVE::SectionConfig pci.cfg (TAP). */
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "pve-vms.h"
#include "tap.h"

static void test_normalize_one(const char *in, const char *want)
{
	char *got = pve_pci_normalize(in, strlen(in));

	if (want)
		is_str(got, want, "'%s' is %s", in, want);
	else
		ok(!got, "'%s' is no PCI address (got %s)", in, got ? got : "NULL");
	free(got);
}

static void test_normalize(void)
{
	test_normalize_one("01:00.0", "0000:01:00.0");
	test_normalize_one("01:00", "0000:01:00");
	test_normalize_one("0000:4A:00", "0000:4a:00");
	test_normalize_one("10000:01:00.1", "10000:01:00.1");	/* $PCIRE allows 4 or more domain digits */
	test_normalize_one("000:01:00.0", NULL);
	test_normalize_one("01:00.", NULL);
	test_normalize_one("1:00.0", NULL);
	test_normalize_one("p40", NULL);
	test_normalize_one("01:0g.0", NULL);
	test_normalize_one("", NULL);
}

static const struct pve_pci *line(const struct pve_vm *vm, unsigned index)
{
	for (size_t i = 0; i < vm->n_pci; i++)
		if (vm->pci[i].index == index)
			return &vm->pci[i];
	return NULL;
}

static void test_parse(void)
{
	static const char cfg[] =
		"# a description line: hostpci9: 05:00.0\n"
		"bios: ovmf\n"
		"hostpci0: 0000:01:00,pcie=1,rombar=0,x-vga=1\n"
		"hostpci1: host=02:00.0;02:00.1,pcie=1\n"
		"hostpci2: mapping=gpu,mdev=i915-GVTg_V5_4\n"
		"hostpci3: pcie=1\n"
		"hostpci12: 0a:00.0 \r\n"
		"name: web\n"
		"onboot: 1\n"
		"\n"
		"[PENDING]\n"
		"onboot: 0\n"
		"hostpci4: 03:00.0\n"
		"[snap1]\n"
		"name: old\n"
		"hostpci5: 04:00.0\n";
	struct strv notes = { 0 };
	struct pve_vm vm;
	const struct pve_pci *p;
	int k = pve_vm_parse(cfg, 100, &vm, &notes);

	ok(k == -EINVAL, "a line that names no device is reported (%d)", k);
	ok(notes.n == 1 && strstr(notes.v[0], "hostpci3") && strstr(notes.v[0], "'pcie=1'"), "... with its line: %s",
	   notes.n ? notes.v[0] : "(none)");
	ok(vm.vmid == 100 && vm.onboot && vm.name && !strcmp(vm.name, "web"), "onboot and name of the current section");
	ok(vm.n_pci == 4, "four lines count: not hostpci3, nor [PENDING]'s or the snapshot's (%zu)", vm.n_pci);
	p = line(&vm, 0);
	ok(p && p->slots.n == 1 && !strcmp(p->slots.v[0], "0000:01:00") && p->pcie && p->x_vga && !p->mapping,
	   "hostpci0: the whole slot, pcie, x-vga");
	ok(p && pve_pci_covers(p, "0000:01:00.0") && pve_pci_covers(p, "0000:01:00.1") && !pve_pci_covers(p, "0000:01:01.0") &&
		   !pve_pci_covers(p, "0000:01:000.0"),
	   "a slot covers its functions and nothing else");
	p = line(&vm, 1);
	ok(p && p->slots.n == 2 && pve_pci_covers(p, "0000:02:00.1") && !pve_pci_covers(p, "0000:02:00.2"),
	   "hostpci1: host= with a ;-list");
	p = line(&vm, 2);
	ok(p && p->mapping && !strcmp(p->mapping, "gpu") && p->mdev && !strcmp(p->mdev, "i915-GVTg_V5_4") && !p->slots.n,
	   "hostpci2: mapping= and mdev=, unresolved until pci.cfg is read");
	p = line(&vm, 12);
	ok(p && p->slots.n == 1 && !strcmp(p->slots.v[0], "0000:0a:00.0"), "hostpci12: trailing blanks and CR dropped");
	ok(!line(&vm, 4) && !line(&vm, 5) && !line(&vm, 9), "nothing from [PENDING], the snapshot or the description");

	static const char pci_cfg[] =
		"gpu\n"
		"\tdescription the card\n"
		"\tmap id=10de:2204,iommugroup=14,node=pve2,path=0000:0a:00,subsystem-id=1458:403b\n"
		"\tmap id=10de:2204,iommugroup=15,node=pve,path=0000:01:00.0;0000:01:00.1,subsystem-id=1458:403b\n"
		"\tmdev 1\n"
		"\n"
		"gpu2\n"
		"\tmap id=10de:2204,iommugroup=16,node=pve,path=0000:09:00\n";
	ok(pve_vm_resolve_mappings(&vm, pci_cfg, "pve") == 0, "resolve against pci.cfg for node pve");
	p = line(&vm, 2);
	ok(p && !p->unresolved && p->slots.n == 2 && pve_pci_covers(p, "0000:01:00.1") && !pve_pci_covers(p, "0000:0a:00.0") &&
		   !pve_pci_covers(p, "0000:09:00.0"),
	   "mapping gpu: this node's entry only, not pve2's nor mapping gpu2's");
	pve_vm_clear(&vm);
	strv_clear(&notes);

	k = pve_vm_parse("hostpci0: mapping=gpu\n", 101, &vm, &notes);
	ok(k == 0 && pve_vm_resolve_mappings(&vm, pci_cfg, "pve3") == 0 && vm.pci[0].unresolved,
	   "a mapping without an entry for this node is unresolved");
	pve_vm_clear(&vm);
	k = pve_vm_parse("hostpci0: mapping=gpu\n", 101, &vm, &notes);
	ok(k == 0 && pve_vm_resolve_mappings(&vm, NULL, "pve") == 0 && vm.pci[0].unresolved,
	   "no pci.cfg at all: unresolved");
	pve_vm_clear(&vm);
	k = pve_vm_parse("hostpci0: 01:00.0,mapping=gpu\n", 102, &vm, &notes);
	ok(k == -EINVAL && vm.n_pci == 0, "host and mapping together are refused, as qemu-server refuses them");
	pve_vm_clear(&vm);
	strv_clear(&notes);
}

int main(void)
{
	test_normalize();
	test_parse();
	return tap_done();
}
