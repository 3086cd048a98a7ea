/* SPDX-License-Identifier: GPL-2.0-or-later */
/* safety.c — vfio-pci targets (ids= or bind by address) and the safety findings of DESIGN.md §7.
 *  Owns: vfio_plan_make() and the safety checks. Must not: include plan.h or call into the plan
 *  (findings go through findings.h), or read the system (the hw snapshot is all it looks at). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "hw-chain.h"
#include "safety.h"
#include "strbuf.h"

/* ---- matching ---- */

/* "vvvv:dddd" or "vvvv:dddd:ssss:ssss" as vfio-pci's ids= takes them (ffff: any). */
static bool id_matches(const char *id, const struct pci_function *d)
{
	unsigned v[4] = { 0xffff, 0xffff, 0xffff, 0xffff };
	int n = sscanf(id, "%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3]);

	if (n != 2 && n != 4)
		return false;
	return (v[0] == 0xffff || v[0] == d->vendor_id) && (v[1] == 0xffff || v[1] == d->device_id) &&
	       (v[2] == 0xffff || v[2] == d->subsys_vendor_id) && (v[3] == 0xffff || v[3] == d->subsys_id);
}

static bool is_target(const struct vfio_plan *v, size_t idx)
{
	for (size_t i = 0; i < v->n_targets; i++)
		if (v->targets[i] == idx)
			return true;
	return false;
}

static int target_add(struct vfio_plan *v, size_t idx)
{
	size_t *nv;

	if (is_target(v, idx))
		return 0;
	if (!(nv = realloc(v->targets, (v->n_targets + 1) * sizeof(*nv))))
		return -ENOMEM;
	v->targets = nv;
	v->targets[v->n_targets++] = idx;
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- targets ---- */

static int add_profile_devices(const struct hw *hw, const struct profile *p, struct vfio_plan *v, struct error *e)
{
	for (size_t i = 0; i < p->vfio_devices.n; i++) {
		const char *addr = p->vfio_devices.v[i];
		_cleanup_free_ size_t *found = NULL;
		size_t n = 0;
		int k = hw_find(hw, addr, &found, &n);

		if (k == -ENOMEM)
			return k;
		if (k < 0 || n == 0)
			return error_set(e, EXIT_USAGE,
					 "%s: no PCI device %s on this machine (profile %s); 'iommuctl scan' lists the "
					 "devices and their slots", k < 0 ? "not a PCI address" : "unknown device", addr,
					 p->name),
			       -ENODEV;
		/* A function brings its whole slot: the GPU's audio, USB and UCSI functions reset with
		 * it and share its group, so they go to the same guest. */
		for (size_t j = 0; j < n; j++)
			for (size_t m = 0; m < hw->n_devs; m++)
				if (hw_same_slot(&hw->devs[m], &hw->devs[found[j]]) && (k = target_add(v, m)) < 0)
					return k;
	}
	return 0;
}

/* A target's vendor:device also names a device the host keeps: ids= would take both. */
static const struct pci_function *twin_kept(const struct hw *hw, const struct vfio_plan *v, size_t t)
{
	const struct pci_function *d = &hw->devs[t];

	for (size_t i = 0; i < hw->n_devs; i++)
		if (!is_target(v, i) && hw->devs[i].vendor_id == d->vendor_id && hw->devs[i].device_id == d->device_id)
			return &hw->devs[i];
	return NULL;
}

static int explain_target(const struct hw *hw, const struct vfio_plan *v, size_t t, const struct pci_function *twin,
			  struct finding **f, size_t *nf)
{
	const struct pci_function *d = &hw->devs[t];
	const struct pci_function *gpu = NULL;

	for (size_t i = 0; i < v->n_targets; i++)
		if (pci_is_gpu(&hw->devs[v->targets[i]]) && hw_same_slot(&hw->devs[v->targets[i]], d))
			gpu = &hw->devs[v->targets[i]];
	if (twin)
		return finding_add(f, nf, FINDING_INFO, "vfio-by-address",
				   "nothing to do; 'iommuctl verify' checks after the reboot that only this device went to vfio-pci",
				   "%s [%04x:%04x] %s goes to vfio-pci by address (driver_override): %s has the same "
				   "vendor:device and stays with the host, so ids=%04x:%04x would take it too",
				   d->slot, d->vendor_id, d->device_id, d->class_name, twin->slot, d->vendor_id, d->device_id);
	return finding_add(f, nf, FINDING_INFO, "vfio-id", NULL, "ids=%04x:%04x: %s %s: %s %s%s%s", d->vendor_id,
			   d->device_id, d->slot, d->class_name, d->vendor_name, d->device_name,
			   gpu && gpu != d ? ", a function of the GPU's slot " : "",
			   gpu && gpu != d ? gpu->slot : "");
}

/* vfio-pci's disable_vga=1 keeps the passed GPU out of the host's VGA arbitration, which the
 * host needs when it keeps a VGA device of its own (legacy VGA ranges go to one card only). */
static bool host_keeps_vga(const struct hw *hw, const struct vfio_plan *v)
{
	bool target_vga = false, kept_vga = false;

	for (size_t i = 0; i < hw->n_devs; i++) {
		if ((hw->devs[i].class_code >> 8) != 0x0300)
			continue;
		if (is_target(v, i))
			target_vga = true;
		else
			kept_vga = true;
	}
	return target_vga && kept_vga;
}

static int add_softdeps(const struct hw *hw, struct vfio_plan *v)
{
	for (size_t i = 0; i < v->n_targets; i++) {
		const struct pci_function *d = &hw->devs[v->targets[i]];

		for (size_t m = 0; m < d->modules.n; m++) {
			const char *mod = d->modules.v[m];
			int k;

			if (streq(mod, "vfio_pci") || streq(mod, "vfio-pci"))
				continue;
			if ((k = strv_put(&v->softdeps, mod)) < 0)
				return k;
		}
	}
	return 0;
}

int vfio_plan_make(const struct hw *hw, const struct profile *p, struct vfio_plan *ret, struct finding **f,
		   size_t *nf, struct error *e)
{
	struct vfio_plan v = { .disable_vga = p->disable_vga };
	int k = 0;

	for (size_t i = 0; k == 0 && i < p->vfio_ids.n; i++)
		k = strv_put(&v.ids, p->vfio_ids.v[i]);
	if (k == 0 && hw && p->vfio_devices.n)
		k = add_profile_devices(hw, p, &v, e);
	else if (k == 0 && p->vfio_devices.n) {
		error_set(e, EXIT_IO, "profile %s names PCI devices, but the PCI devices could not be read", p->name);
		k = -EIO;
	}
	if (k == 0 && v.n_targets)
		qsort(v.targets, v.n_targets, sizeof(*v.targets), cmp_size);
	for (size_t i = 0; k == 0 && i < v.n_targets; i++) {
		const struct pci_function *d = &hw->devs[v.targets[i]], *twin = twin_kept(hw, &v, v.targets[i]);
		char id[16];

		snprintf(id, sizeof(id), "%04x:%04x", d->vendor_id, d->device_id);
		k = twin ? strv_put(&v.override, d->slot) : strv_put(&v.ids, id);
		if (k == 0)
			k = explain_target(hw, &v, v.targets[i], twin, f, nf);
	}
	/* A profile with ids= and no devices: the targets are what the ids match. */
	for (size_t i = 0; k == 0 && hw && !p->vfio_devices.n && i < hw->n_devs; i++)
		for (size_t j = 0; k == 0 && j < p->vfio_ids.n; j++)
			if (id_matches(p->vfio_ids.v[j], &hw->devs[i]))
				k = target_add(&v, i);
	if (k == 0 && hw)
		k = add_softdeps(hw, &v);
	if (k == 0 && hw && v.disable_vga < 0 && host_keeps_vga(hw, &v)) {
		v.disable_vga = 1;
		k = finding_add(f, nf, FINDING_INFO, "disable-vga", NULL,
				"disable_vga=1: a VGA device goes to the guest while the host keeps its own; this keeps "
				"the guest's card out of the host's VGA arbitration");
	}
	if (k < 0) {
		if (k == -ENOMEM)
			error_set(e, EXIT_IO, "out of memory");
		vfio_plan_clear(&v);
		return k;
	}
	*ret = v;
	return 0;
}

void vfio_plan_clear(struct vfio_plan *v)
{
	free(v->targets);
	strv_clear(&v->ids);
	strv_clear(&v->override);
	strv_clear(&v->softdeps);
	memset(v, 0, sizeof(*v));
}

/* ---- findings ---- */

static const char *role_finding_id(unsigned roles)
{
	if (roles & HW_ROLE_CONSOLE)
		return "takes-console";
	if (roles & HW_ROLE_ROOT_DISK)
		return "takes-root-disk";
	return "takes-network";
}

static const char *role_hint(unsigned roles)
{
	if (roles & HW_ROLE_CONSOLE)
		return "the host would boot to a black screen: keep a GPU for the host (pass another one, or use the "
		       "gpu profile, which binds only the chosen card); to pass the console GPU on purpose, plan again "
		       "with --allow-console-gpu, which lifts only this finding and asks for a way back";
	if (roles & HW_ROLE_ROOT_DISK)
		return "the host would not find its root file system and stop in the initramfs: do not blacklist or "
		       "pass through that controller's driver, nor any driver of its chain ('iommuctl scan' shows it)";
	return "the host would boot without its network: keep that NIC's driver, or pass through a different NIC";
}

/* --allow-console-gpu lifts the console role and nothing else: a finding about a device (or chain)
 * that is only the console becomes a warning with its own id; one whose device the host also needs
 * for its root disk or network keeps blocking, under the id of that other role. */
static int role_finding(struct finding **f, size_t *nf, unsigned roles, bool allow_console, const char *fmt, ...)
	_printf_(5, 6);
static int role_finding(struct finding **f, size_t *nf, unsigned roles, bool allow_console, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (k < 0)
		return -ENOMEM;
	if (allow_console && roles == HW_ROLE_CONSOLE)
		return finding_add(f, nf, FINDING_WARNING, SAFETY_CONSOLE_ALLOWED,
				   "the host's screen goes dark when vfio-pci binds the card; keep the way back below",
				   "allowed by --allow-console-gpu: %s", msg);
	if (allow_console && (roles & HW_ROLE_CONSOLE))
		roles &= ~(unsigned)HW_ROLE_CONSOLE;
	return finding_add(f, nf, FINDING_BLOCKING, role_finding_id(roles), role_hint(roles), "%s", msg);
}

/* The module a device is driven by now, or would be by its first candidate. */
static bool driven_by(const struct pci_function *d, const char *module)
{
	_cleanup_free_ char *drv = NULL;

	if (d->driver_module)
		return streq(d->driver_module, module);
	if (d->driver && (drv = strdup(d->driver))) {
		for (char *c = drv; *c; c++)
			if (*c == '-')
				*c = '_';
		if (streq(drv, module))
			return true;
	}
	return !d->driver && pci_function_has_module(d, module);
}

/* What the host loses when the device a chain ends in does not appear. */
static const char *role_loss(unsigned role)
{
	if (role & HW_ROLE_CONSOLE)
		return "the console's card";
	if (role & HW_ROLE_ROOT_DISK)
		return "the root disk";
	return "the interface of the default route";
}

/* Blacklisting a module anywhere in the chain of a device the host needs. udev (and the
 * initramfs's udev) loads these drivers by modalias with the blacklist applied, so the child
 * device (virtioN, the SCSI disk) never gets its driver and the disk, interface or card never
 * appears (measured in QEMU on Debian's kernels: fixtures/hw/BLACKLIST.md). A module that is
 * only a dependency (libahci, virtio_ring, nvme_core) is loaded with its user whatever the
 * blacklist says, so it is not in the chain. Marks in reported the devices it found. */
static int check_blacklist_chains(const struct hw *hw, const struct vfio_plan *v, const char *m, bool *reported,
				  bool allow_console, struct finding **f, size_t *nf)
{
	for (size_t c = 0; c < hw->n_chains; c++) {
		const struct hw_chain *ch = &hw->chains[c];
		const struct pci_function *d = &hw->devs[ch->dev];
		_cleanup_free_ char *chain = NULL;
		const struct hw_link *l;
		int k;

		if (is_target(v, ch->dev) || !(l = hw_chain_find_module(ch, m)))
			continue;
		if (!(chain = hw_chain_describe(ch, hw_role_name(ch->role))))
			return -ENOMEM;
		k = role_finding(f, nf, ch->role, allow_console,
				"%s: blacklisting %s stops %s from appearing (udev loads it by the modalias of %s%s, and "
				"that is the load a blacklist stops)%s; the host needs %s: %s", chain, m, role_loss(ch->role),
				l->driver ? "" : "the unbound ", l->node,
				l->builtin ? ". It is built into the running kernel, where the blacklist does nothing, "
					     "but an installed kernel that has it as a module would not load it" : "",
				d->slot, d->role_why);
		if (k < 0)
			return k;
		reported[ch->dev] = true;
	}
	return 0;
}

static int check_blacklist(const struct hw *hw, const struct profile *p, const struct vfio_plan *v, bool allow_console,
			   struct finding **f, size_t *nf)
{
	_cleanup_free_ bool *reported = calloc(hw->n_devs ? hw->n_devs : 1, sizeof(bool));

	if (!reported)
		return -ENOMEM;
	for (size_t b = 0; b < p->blacklist_add.n; b++) {
		_cleanup_free_ char *m = strdup(p->blacklist_add.v[b]);
		int k;

		if (!m)
			return -ENOMEM;
		for (char *c = m; *c; c++)
			if (*c == '-')
				*c = '_';
		memset(reported, 0, hw->n_devs * sizeof(bool));
		if ((k = check_blacklist_chains(hw, v, m, reported, allow_console, f, nf)) < 0)
			return k;
		for (size_t i = 0; i < hw->n_devs; i++) {
			const struct pci_function *d = &hw->devs[i];

			if (is_target(v, i) || reported[i] || !driven_by(d, m))
				continue;
			if (d->roles)
				k = role_finding(f, nf, d->roles, allow_console,
						"blacklisting %s takes the driver of %s %s %s, which the host needs: %s", m,
						d->slot, d->vendor_name, d->device_name, d->role_why);
			else
				k = finding_add(f, nf, FINDING_WARNING, "takes-host-device",
						"if the host uses that device, bind only the guest's functions to vfio-pci "
						"(the gpu profile, or [vfio-pci] devices) instead of blacklisting the driver",
						"blacklisting %s also takes %s %s: %s %s from the host", m, d->slot,
						d->class_name, d->vendor_name, d->device_name);
			if (k < 0)
				return k;
		}
	}
	return 0;
}

/* "; root disk vda: 00:03.0 virtio-pci (virtio_pci) → virtio0 virtio_blk (virtio_blk)" for each
 * chain of device dev: what goes with it when vfio-pci takes it. */
static int chains_of(const struct hw *hw, size_t dev, struct strbuf *sb)
{
	for (size_t c = 0; c < hw->n_chains; c++) {
		_cleanup_free_ char *text = NULL;

		if (hw->chains[c].dev != dev)
			continue;
		if (!(text = hw_chain_describe(&hw->chains[c], hw_role_name(hw->chains[c].role))) ||
		    strbuf_appendf(sb, "; %s", text) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int check_claims(const struct hw *hw, const struct profile *p, const struct vfio_plan *v, bool allow_console,
			struct finding **f, size_t *nf)
{
	for (size_t i = 0; i < hw->n_devs; i++) {
		const struct pci_function *d = &hw->devs[i];
		const char *by = NULL;
		int k = 0;

		if (is_target(v, i)) {
			by = "is to go to vfio-pci";
		} else {
			for (size_t j = 0; j < v->ids.n && !by; j++)
				if (id_matches(v->ids.v[j], d))
					by = v->ids.v[j];
			if (by && p->vfio_devices.n)
				k = finding_add(f, nf, FINDING_BLOCKING, "ids-match-other",
						"bind the chosen devices by address instead: list them under [vfio-pci] "
						"devices and drop the ids",
						"vfio-pci ids=%s also matches %s %s %s, which was not chosen", by, d->slot,
						d->vendor_name, d->device_name);
		}
		if (k == 0 && by && d->roles) {
			_cleanup_strbuf_ struct strbuf chains = STRBUF_INIT;

			k = chains_of(hw, i, &chains);
			if (k == 0)
				k = role_finding(f, nf, d->roles, allow_console,
						"vfio-pci would take %s %s %s (%s%s), which the host needs: %s%s", d->slot,
						d->vendor_name, d->device_name, is_target(v, i) ? "" : "ids=",
						is_target(v, i) ? "chosen" : by, d->role_why, strbuf_str(&chains));
		}
		if (k < 0)
			return k;
	}
	return 0;
}

/* Only whole groups can be given to a guest (Documentation/driver-api/vfio.rst): every endpoint
 * in a target's group must go too. Bridges and root ports do not count. */
static int check_groups(const struct hw *hw, const struct vfio_plan *v, struct finding **f, size_t *nf)
{
	for (size_t t = 0; t < v->n_targets; t++) {
		const struct pci_function *d = &hw->devs[v->targets[t]];
		_cleanup_strbuf_ struct strbuf others = STRBUF_INIT;
		bool first_of_group = true;
		int k;

		if (d->iommu_group < 0)
			continue;
		for (size_t u = 0; u < t; u++)
			if (hw->devs[v->targets[u]].iommu_group == d->iommu_group)
				first_of_group = false;
		if (!first_of_group)
			continue;
		for (size_t i = 0; i < hw->n_devs; i++) {
			const struct pci_function *o = &hw->devs[i];

			if (o->iommu_group != d->iommu_group || is_target(v, i) || pci_is_bridge(o))
				continue;
			strbuf_appendf(&others, "%s%s %s (%s)", others.len ? ", " : "", o->slot, o->class_name,
				       o->driver ? o->driver : "no driver");
		}
		if (!others.len)
			continue;
		k = finding_add(f, nf, FINDING_BLOCKING, "group-not-isolated",
				"a guest gets whole IOMMU groups only: pass those devices through too, or move the card "
				"to a slot whose root port has its own group (ACS: Access Control Services lets the "
				"IOMMU keep devices apart; slots without it share a group). pcie_acs_override= hides "
				"the problem without isolating anything",
				"IOMMU group %d of %s also holds %s, which would stay with the host", d->iommu_group,
				d->slot, strbuf_str(&others));
		if (k < 0)
			return k;
	}
	return 0;
}

static int check_platform(const struct hw *hw, const struct profile *p, const struct vfio_plan *v, struct finding **f,
			  size_t *nf)
{
	bool passes = v->n_targets > 0 || v->ids.n > 0 || v->override.n > 0;
	bool relevant = passes || p->kernel_add.n || p->modules_add.n;
	enum finding_severity sev = passes ? FINDING_BLOCKING : FINDING_WARNING;
	int k = 0;

	if (!relevant)
		return 0;
	if (hw->acpi_tables_read && !hw->dmar && !hw->ivrs)
		k = finding_add(f, nf, sev, "no-iommu-firmware",
				"enable VT-d (Intel) or IOMMU / AMD-Vi (AMD) in the firmware setup, then plan again",
				"the firmware has no DMAR or IVRS ACPI table (%s/firmware/acpi/tables): this machine "
				"offers no IOMMU, so no device can be passed through", hw->sysfs);
	if (k == 0 && hw->cpuinfo_read && !hw->vmx && !hw->svm)
		k = finding_add(f, nf, sev, "no-virtualization",
				"enable Intel VT-x or AMD SVM in the firmware setup",
				"the CPU shows neither the vmx nor the svm flag (%s/cpuinfo): hardware virtualization "
				"is off or missing, so KVM cannot run guests", hw->procfs);
	if (k == 0 && !hw->iommus.n && (hw->dmar || hw->ivrs))
		k = finding_add(f, nf, passes ? FINDING_WARNING : FINDING_INFO, "iommu-inactive",
				"reboot after the apply, then run 'iommuctl verify'",
				"no IOMMU is active now (%s/class/iommu is empty), so %s", hw->sysfs,
				passes ? "the IOMMU groups cannot be checked before the reboot"
				       : "the parameters take effect at the next boot");
	return k;
}

int safety_check(const struct hw *hw, const struct profile *p, const struct vfio_plan *v, bool allow_console,
		 struct finding **f, size_t *nf)
{
	int k;

	if (!hw)
		return 0;
	if (hw->holes.n && (v->n_targets || v->ids.n || p->blacklist_add.n) &&
	    (k = finding_add(f, nf, FINDING_BLOCKING, "hardware-unreadable",
			     "find out why the file cannot be read (dmesg), then plan again",
			     "%u of the hardware files could not be read (first %s), so the analysis cannot tell "
			     "which devices the host needs", hw->holes.n,
			     hw->holes.first ? hw->holes.first : "unknown")) < 0)
		return k;
	if ((k = check_platform(hw, p, v, f, nf)) < 0 || (k = check_blacklist(hw, p, v, allow_console, f, nf)) < 0 ||
	    (k = check_claims(hw, p, v, allow_console, f, nf)) < 0)
		return k;
	return check_groups(hw, v, f, nf);
}

int safety_check_ids_list(const struct hw *hw, const char *list, const char *source, const struct vfio_plan *v,
			  bool allow_console, struct finding **f, size_t *nf)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL;
	int k = 0;

	if (!copy)
		return -ENOMEM;
	if (!hw)
		return 0;
	for (char *e = strtok_r(copy, ",", &save); k == 0 && e; e = strtok_r(NULL, ",", &save)) {
		if (strv_contains(&v->ids, e))
			continue;	/* the plan's own: check_claims() has looked at it */
		for (size_t i = 0; k == 0 && i < hw->n_devs; i++) {
			const struct pci_function *d = &hw->devs[i];

			if (d->roles && !is_target(v, i) && id_matches(e, d))
				k = role_finding(f, nf, d->roles, allow_console,
						"vfio-pci would take %s %s %s (ids=%s, from %s), which the host needs: %s",
						d->slot, d->vendor_name, d->device_name, e, source, d->role_why);
		}
	}
	return k;
}

