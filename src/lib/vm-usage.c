/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vm-usage.c — Proxmox VE's VMs against this host: which VM uses which PCI function, the VMs that
 * start at boot with a device a plan passes through (the guide's advice: not before the
 * passthrough works, or a host that hangs when the VM starts hangs on every boot), and whether
 * each hostpci device can be given to its VM when it starts.
 *
 * What qemu-server does when a VM starts (PVE::QemuServer::PCI, PVE::SysFSTools): it unbinds each
 * hostpci function from its driver and binds it to vfio-pci, so a function not on vfio-pci before
 * the VM starts is expected; an mdev= device (GVT-g, NVIDIA vGPU) stays on its host driver, which
 * creates the mediated device. vfio then needs the whole IOMMU group viable: every other endpoint
 * in it bound to vfio-pci (or pci-stub) or to no driver. And vfio_iommu_type1 refuses to attach a
 * group without interrupt remapping (vfio_iommu_type1_attach_group: "No interrupt remapping
 * support.  Use the module param \"allow_unsafe_interrupts\" ...", -EPERM) unless that parameter
 * is set. Reads nothing and prints nothing: findings and checks are data. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "vm-usage.h"

int vm_usage_of(const struct pve_vms *vms, const char *slot, struct vm_use **ret, size_t *ret_n)
{
	struct vm_use *v = NULL;
	size_t n = 0;

	for (size_t i = 0; vms && i < vms->n; i++)
		for (size_t p = 0; p < vms->v[i].n_pci; p++) {
			struct vm_use *nv;

			if (!pve_pci_covers(&vms->v[i].pci[p], slot))
				continue;
			if (!(nv = realloc(v, (n + 1) * sizeof(*nv)))) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			v[n++] = (struct vm_use){ .vm = &vms->v[i], .pci = &vms->v[i].pci[p] };
		}
	*ret = v;
	*ret_n = n;
	return 0;
}

static const char *vm_name(const struct pve_vm *vm)
{
	return vm->name ? vm->name : "no name";
}

int vm_usage_findings(const struct pve_vms *vms, const struct hw *hw, const struct vfio_plan *v,
		      struct finding **f, size_t *nf)
{
	bool any_pci = false;
	int k = 0;

	for (size_t i = 0; vms && i < vms->notes.n && k == 0; i++)
		k = finding_add(f, nf, FINDING_WARNING, "vm-config", "fix the line in the VM's configuration (qm set)",
				"%s", vms->notes.v[i]);
	for (size_t i = 0; vms && i < vms->n && k == 0; i++) {
		const struct pve_vm *vm = &vms->v[i];
		_cleanup_strbuf_ struct strbuf which = STRBUF_INIT;
		_cleanup_free_ char *hint = NULL;

		any_pci |= vm->n_pci > 0 && !vm->is_template;
		if (!vm->onboot || vm->is_template)
			continue;
		for (size_t t = 0; v && t < v->n_targets; t++)
			for (size_t p = 0; p < vm->n_pci; p++)
				if (pve_pci_covers(&vm->pci[p], hw->devs[v->targets[t]].slot))
					strbuf_appendf(&which, "%s%s (hostpci%u)", which.len ? ", " : "",
						       hw->devs[v->targets[t]].slot, vm->pci[p].index);
		if (!which.len)
			continue;
		if (asprintf(&hint, "qm set %u --onboot 0 before the reboot; once `iommuctl verify` passes and the VM "
			     "started by hand works, qm set %u --onboot 1", vm->vmid, vm->vmid) < 0)
			return -ENOMEM;
		k = finding_add(f, nf, FINDING_WARNING, "vm-onboot", hint,
				"VM %u (%s) starts at boot (onboot: 1) and is given %s: if passing it through hangs the "
				"host when the VM starts, the host hangs on every boot", vm->vmid, vm_name(vm),
				strbuf_str(&which));
	}
	if (k == 0 && hw->interrupt_remapping == 0 && ((v && v->n_targets) || any_pci))
		k = finding_add(f, nf, FINDING_WARNING, "interrupt-remapping-off",
				"enable interrupt remapping (x2APIC, VT-d/AMD-Vi) in the firmware setup; only if you trust "
				"every guest and device with the host, set it yourself: 'options vfio_iommu_type1 "
				"allow_unsafe_interrupts=1' in /etc/modprobe.d (iommuctl never sets it)",
				"interrupt remapping is off (no IR- lines in %s/interrupts): devices bind to vfio-pci, but "
				"when a VM starts vfio_iommu_type1 refuses to attach the group (\"No interrupt remapping "
				"support\", EPERM) unless allow_unsafe_interrupts=1 is set; that parameter lets a passed "
				"device send interrupts (MSI writes) the host cannot tell from its own, so a malicious or "
				"broken guest can inject interrupts into the host", hw->procfs);
	return k;
}

/* ---- verify ---- */

static int check(struct vm_check **v, size_t *n, bool ok, const char *id, const char *hint, const char *fmt, ...)
	_printf_(6, 7);
static int check(struct vm_check **v, size_t *n, bool ok, const char *id, const char *hint, const char *fmt, ...)
{
	struct vm_check *nv = realloc(*v, (*n + 1) * sizeof(*nv));
	va_list ap;
	int k;

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = (struct vm_check){ .ok = ok, .id = strdup(id), .hint = !ok && hint ? strdup(hint) : NULL };
	va_start(ap, fmt);
	k = vasprintf(&nv[*n].message, fmt, ap);
	va_end(ap);
	if (k < 0)
		nv[*n].message = NULL;
	(*n)++;
	return k < 0 || !nv[*n - 1].id || (!ok && hint && !nv[*n - 1].hint) ? -ENOMEM : 0;
}

void vm_checks_free(struct vm_check *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].message);
		free(v[i].hint);
	}
	free(v);
}

static bool vm_gets(const struct pve_vm *vm, const char *slot)
{
	for (size_t p = 0; p < vm->n_pci; p++)
		if (pve_pci_covers(&vm->pci[p], slot))
			return true;
	return false;
}

static bool viable_driver(const char *drv)
{
	return !drv || streq(drv, "vfio-pci") || streq(drv, "pci-stub");
}

/* One function of a hostpci line: present, not needed by the host, and a group vfio can take. */
static int check_function(const struct pve_vm *vm, const struct pve_pci *p, const struct hw *hw,
			  const struct pci_function *d, bool group_checked, struct vm_check **v, size_t *n)
{
	_cleanup_strbuf_ struct strbuf needs = STRBUF_INIT, stray = STRBUF_INIT;
	int k;

	if (d->roles)
		return check(v, n, false, "vm-host-device",
			     "give the VM another device, or move what the host uses for it elsewhere",
			     "VM %u hostpci%u: %s is what the host uses as its %s (%s)", vm->vmid, p->index, d->slot,
			     hw_role_name(d->roles), d->role_why ? d->role_why : "");
	if (p->mdev)
		k = check(v, n, true, "vm-driver", NULL, "VM %u hostpci%u: %s makes mediated devices (mdev=%s) and stays "
			  "on its host driver %s by design", vm->vmid, p->index, d->slot, p->mdev,
			  d->driver ? d->driver : "(none bound)");
	else
		k = check(v, n, true, "vm-driver", NULL, "VM %u hostpci%u: %s is on %s%s", vm->vmid, p->index, d->slot,
			  d->driver ? d->driver : "no driver",
			  d->driver && streq(d->driver, "vfio-pci") ? ""
								    : "; qemu-server binds it to vfio-pci when the VM starts");
	if (k < 0 || p->mdev || group_checked)
		return k;
	if (d->iommu_group < 0)
		return check(v, n, false, "vm-group", "enable the IOMMU (iommuctl apply iommu) and reboot",
			     "VM %u hostpci%u: %s is in no IOMMU group, so vfio cannot take it", vm->vmid, p->index,
			     d->slot);
	for (size_t j = 0; j < hw->n_devs; j++) {
		const struct pci_function *o = &hw->devs[j];

		if (o == d || o->iommu_group != d->iommu_group || pci_is_bridge(o) || vm_gets(vm, o->slot))
			continue;
		if (o->roles)
			strbuf_appendf(&needs, "%s%s (%s, the host's %s)", needs.len ? ", " : "", o->slot,
				       o->driver ? o->driver : "no driver", hw_role_name(o->roles));
		else if (!viable_driver(o->driver))
			strbuf_appendf(&stray, "%s%s (%s)", stray.len ? ", " : "", o->slot, o->driver);
	}
	if (needs.len)
		return check(v, n, false, "vm-group",
			     "the group cannot be split: put the card in a slot with a group of its own, or give the "
			     "VM another device",
			     "VM %u hostpci%u: IOMMU group %d of %s also holds %s, which the host needs", vm->vmid,
			     p->index, d->iommu_group, d->slot, strbuf_str(&needs));
	if (stray.len)
		return check(v, n, false, "vm-group",
			     "give the VM those functions too (another hostpci line, or the slot without .N for all "
			     "functions), or bind them to vfio-pci (iommuctl apply with --device)",
			     "VM %u hostpci%u: IOMMU group %d of %s also holds %s, which neither the host keeps for "
			     "itself nor the VM gets: vfio refuses a group that is not wholly its own", vm->vmid,
			     p->index, d->iommu_group, d->slot, strbuf_str(&stray));
	return check(v, n, true, "vm-group", NULL, "VM %u hostpci%u: IOMMU group %d of %s holds nothing else the VM "
		     "does not get (bridges aside)", vm->vmid, p->index, d->iommu_group, d->slot);
}

int vm_usage_checks(const struct pve_vms *vms, const struct hw *hw, struct vm_check **ret, size_t *ret_n)
{
	int k = 0;

	for (size_t i = 0; vms && i < vms->n && k == 0; i++) {
		const struct pve_vm *vm = &vms->v[i];

		if (vm->is_template)
			continue;
		for (size_t p = 0; p < vm->n_pci && k == 0; p++) {
			const struct pve_pci *pci = &vm->pci[p];
			bool found = false;

			if (pci->unresolved) {
				k = check(ret, ret_n, false, "vm-mapping",
					  "add this node to the mapping (Datacenter > Resource Mappings) or fix the name",
					  "VM %u hostpci%u: mapping '%s' has no device on node %s, so the VM does not start "
					  "here", vm->vmid, pci->index, pci->mapping, vms->node ? vms->node : "(unknown)");
				continue;
			}
			for (size_t j = 0; j < hw->n_devs && k == 0; j++) {
				bool seen = false;

				if (!pve_pci_covers(pci, hw->devs[j].slot))
					continue;
				/* The group once per line: a whole slot's functions share one. */
				for (size_t o = 0; o < j; o++)
					seen |= pve_pci_covers(pci, hw->devs[o].slot) &&
						hw->devs[o].iommu_group == hw->devs[j].iommu_group && hw->devs[j].iommu_group >= 0;
				found = true;
				k = check_function(vm, pci, hw, &hw->devs[j], seen, ret, ret_n);
			}
			if (k == 0 && !found)
				k = check(ret, ret_n, false, "vm-device", "fix the address in the VM's configuration (lspci -D "
					  "lists the host's devices)",
					  "VM %u hostpci%u: %s is not on this host", vm->vmid, pci->index, pci->value);
		}
	}
	return k;
}
