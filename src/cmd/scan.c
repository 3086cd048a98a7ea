/* SPDX-License-Identifier: GPL-2.0-or-later */
/* scan.c — `iommuctl scan`: CPU, firmware tables, IOMMU state, IOMMU groups and their devices,
 * GPUs with their companion functions, and the devices the host itself needs. Read-only. */
#include <libsmartcols.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "hw-chain.h"
#include "hw-read.h"
#include "hw.h"
#include "modload.h"
#include "plan.h"
#include "pve-vms.h"
#include "strbuf.h"
#include "vm-usage.h"

static const char *virt_text(const struct hw *hw)
{
	if (!hw->cpuinfo_read)
		return "unknown (cpuinfo unreadable)";
	if (hw->vmx)
		return "VT-x (vmx flag)";
	if (hw->svm)
		return "AMD-V (svm flag)";
	return "none: no vmx/svm flag (disabled in the firmware setup?)";
}

static const char *firmware_text(const struct hw *hw)
{
	if (!hw->acpi_tables_read)
		return "unknown (ACPI tables not readable; run as root)";
	if (hw->dmar && hw->ivrs)
		return "DMAR and IVRS tables";
	if (hw->dmar)
		return "DMAR table (Intel VT-d)";
	if (hw->ivrs)
		return "IVRS table (AMD-Vi)";
	return "no DMAR or IVRS table: the firmware offers no IOMMU (enable VT-d / AMD-Vi / IOMMU in its setup)";
}

static void slot_short(const struct pci_function *d, char *buf, size_t size)
{
	snprintf(buf, size, "%s", d->domain ? d->slot : d->slot + 5);
}

static char *ids_text(const struct pci_function *d)
{
	char *s = NULL;

	if (asprintf(&s, "%04x:%04x", d->vendor_id, d->device_id) < 0)
		return NULL;
	return s;
}

/* "boot VGA; root disk" — the short flags column. */
static void flags_text(const struct pci_function *d, const struct hw *hw, struct strbuf *sb)
{
	if (d->roles & HW_ROLE_CONSOLE)
		strbuf_appends(sb, "console ");
	if (d->roles & HW_ROLE_ROOT_DISK)
		strbuf_appends(sb, "root-disk ");
	if (d->roles & HW_ROLE_NETWORK)
		strbuf_appends(sb, "default-route ");
	if (pci_is_gpu(d))
		strbuf_appends(sb, "gpu ");
	for (size_t i = 0; i < hw->n_devs; i++)
		if (pci_is_gpu(&hw->devs[i]) && !pci_is_gpu(d) && hw_same_slot(&hw->devs[i], d)) {
			strbuf_appends(sb, "gpu-companion ");
			break;
		}
	if (sb->len)
		sb->buf[--sb->len] = '\0';
}

static void print_summary(const struct hw *hw)
{
	printf("CPU:        %s, %s\n", hw->cpu_vendor[0] ? hw->cpu_vendor : "unknown vendor", virt_text(hw));
	printf("Firmware:   %s\n", firmware_text(hw));
	if (hw->iommus.n) {
		printf("IOMMU:      active (");
		for (size_t i = 0; i < hw->iommus.n; i++)
			printf("%s%s", i ? " " : "", hw->iommus.v[i]);
		printf("), %zu groups\n", hw->n_groups);
	} else {
		printf("IOMMU:      not active (no %s/class/iommu entries)\n", hw->sysfs);
	}
	printf("Interrupt remapping: %s\n",
	       hw->interrupt_remapping < 0 ? "unknown (interrupts unreadable)"
	       : hw->interrupt_remapping ? "on (IR- interrupts)" : "off (no IR- interrupts)");
}

/* "103 106": the VMs given the function (hostpciN), for the VM column. */
static void vms_text(const struct pve_vms *vms, const struct pci_function *d, struct strbuf *sb)
{
	struct vm_use *u = NULL;
	size_t n = 0;

	if (vm_usage_of(vms, d->slot, &u, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		strbuf_appendf(sb, "%s%u%s", i ? " " : "", u[i].vm->vmid, u[i].vm->onboot ? "*" : "");
	free(u);
}

static void add_device_line(struct libscols_table *tb, struct libscols_line *parent, const struct hw *hw,
			    const struct pci_function *d, const struct pve_vms *vms)
{
	struct libscols_line *ln = scols_table_new_line(tb, parent);
	_cleanup_strbuf_ struct strbuf flags = STRBUF_INIT, name = STRBUF_INIT;
	_cleanup_free_ char *ids = ids_text(d);
	char slot[16];

	slot_short(d, slot, sizeof(slot));
	flags_text(d, hw, &flags);
	strbuf_appendf(&name, "%s: %s %s", d->class_name, d->vendor_name, d->device_name);
	scols_line_set_data(ln, 0, slot);
	scols_line_set_data(ln, 1, ids ? ids : "");
	scols_line_set_data(ln, 2, d->driver ? d->driver : "-");
	scols_line_set_data(ln, 3, strbuf_str(&flags));
	scols_line_set_data(ln, 4, strbuf_str(&name));
	if (vms->source) {
		_cleanup_strbuf_ struct strbuf used = STRBUF_INIT;

		vms_text(vms, d, &used);
		scols_line_set_data(ln, 5, used.len ? strbuf_str(&used) : "-");
	}
}

static void print_groups(const struct hw *hw, const struct pve_vms *vms)
{
	struct libscols_table *tb = scols_new_table();
	int max_group = -1;

	scols_table_new_column(tb, "GROUP/DEVICE", 0, SCOLS_FL_TREE);
	scols_table_new_column(tb, "ID", 0, 0);
	scols_table_new_column(tb, "DRIVER", 0, 0);
	scols_table_new_column(tb, "ROLE", 0, 0);
	scols_table_new_column(tb, "NAME", 0, SCOLS_FL_TRUNC);
	if (vms->source)
		scols_table_new_column(tb, "VM", 0, 0);
	for (size_t i = 0; i < hw->n_devs; i++)
		if (hw->devs[i].iommu_group > max_group)
			max_group = hw->devs[i].iommu_group;
	for (int g = 0; g <= max_group; g++) {
		struct libscols_line *gl = NULL;

		for (size_t i = 0; i < hw->n_devs; i++) {
			char label[32];

			if (hw->devs[i].iommu_group != g)
				continue;
			if (!gl) {
				gl = scols_table_new_line(tb, NULL);
				snprintf(label, sizeof(label), "group %d", g);
				scols_line_set_data(gl, 0, label);
			}
			add_device_line(tb, gl, hw, &hw->devs[i], vms);
		}
	}
	/* Devices outside any group: the IOMMU is off, or the device is not translated. */
	struct libscols_line *none = NULL;
	for (size_t i = 0; i < hw->n_devs; i++) {
		if (hw->devs[i].iommu_group >= 0)
			continue;
		if (!none) {
			none = scols_table_new_line(tb, NULL);
			scols_line_set_data(none, 0, "no group");
		}
		add_device_line(tb, none, hw, &hw->devs[i], vms);
	}
	scols_print_table(tb);
	scols_unref_table(tb);
}

/* What a blacklist of any module on the way would take: "chain: root disk vda: 00:03.0 ...". */
static void print_chains(const struct hw *hw, size_t dev)
{
	for (size_t c = 0; c < hw->n_chains; c++) {
		_cleanup_free_ char *text = NULL;

		if (hw->chains[c].dev != dev)
			continue;
		text = hw_chain_describe(&hw->chains[c], hw_role_name(hw->chains[c].role));
		printf("    chain: %s\n", text ? text : "(out of memory)");
	}
}

static void print_gpus_and_roles(const struct hw *hw)
{
	bool any = false;

	for (size_t i = 0; i < hw->n_devs; i++) {
		const struct pci_function *g = &hw->devs[i];
		char slot[16];

		if (!pci_is_gpu(g))
			continue;
		if (!any)
			printf("\nGPUs:\n");
		any = true;
		slot_short(g, slot, sizeof(slot));
		printf("  %s %04x:%04x %s %s\n", slot, g->vendor_id, g->device_id, g->device_name,
		       g->roles & HW_ROLE_CONSOLE ? "(the host's console: not a passthrough candidate)" : "(passthrough candidate)");
		for (size_t j = 0; j < hw->n_devs; j++) {
			const struct pci_function *c = &hw->devs[j];

			if (c == g || !hw_same_slot(c, g) || pci_is_gpu(c))
				continue;
			slot_short(c, slot, sizeof(slot));
			printf("    companion %s %04x:%04x %s (%s)\n", slot, c->vendor_id, c->device_id, c->class_name,
			       c->driver ? c->driver : "no driver");
		}
	}
	any = false;
	for (size_t i = 0; i < hw->n_devs; i++) {
		const struct pci_function *d = &hw->devs[i];
		char slot[16];

		if (!d->roles)
			continue;
		if (!any)
			printf("\nThe host needs:\n");
		any = true;
		slot_short(d, slot, sizeof(slot));
		printf("  %s %s: %s\n", slot, d->driver ? d->driver : "no driver", d->role_why);
		print_chains(hw, i);
	}
	for (size_t i = 0; i < hw->notes.n; i++)
		printf("%snote: %s\n", i ? "" : "\n", hw->notes.v[i]);
	if (hw->holes.n)
		printf("\nwarning: %u hardware file(s) could not be read (first %s); what is shown may be incomplete\n",
		       hw->holes.n, hw->holes.first ? hw->holes.first : "unknown");
}

static struct json_object *json_hex(unsigned v, int width)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%0*x", width, v);
	return json_object_new_string(buf);
}

static struct json_object *json_strv(const struct strv *s)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < s->n; i++)
		json_object_array_add(a, json_object_new_string(s->v[i]));
	return a;
}

static struct json_object *json_str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *link_json(const struct hw *hw, const struct hw_link *l)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "node", json_object_new_string(l->node));
	json_object_object_add(o, "subsystem", json_str_or_null(l->subsystem));
	json_object_object_add(o, "driver", json_str_or_null(l->driver));
	json_object_object_add(o, "module", json_str_or_null(l->module));
	json_object_object_add(o, "builtin", json_object_new_boolean(l->builtin));
	json_object_object_add(o, "modalias", json_str_or_null(l->modalias));
	json_object_object_add(o, "modules",
			       (!l->driver || !l->module) && (hw->modules_resolved || l->candidates.n) ? json_strv(&l->candidates) : NULL);
	return o;
}

/* The chains of device dev: [{"role", "device", "via", "links": [...]}]. */
static struct json_object *chains_json(const struct hw *hw, size_t dev)
{
	struct json_object *a = json_object_new_array();

	for (size_t c = 0; c < hw->n_chains; c++) {
		const struct hw_chain *ch = &hw->chains[c];
		struct json_object *o, *links;

		if (ch->dev != dev)
			continue;
		o = json_object_new_object();
		links = json_object_new_array();
		json_object_object_add(o, "role", json_object_new_string(hw_role_name(ch->role)));
		json_object_object_add(o, "device", json_object_new_string(ch->leaf));
		json_object_object_add(o, "via", json_str_or_null(ch->via));
		for (size_t i = 0; i < ch->n_links; i++)
			json_object_array_add(links, link_json(hw, &ch->links[i]));
		json_object_object_add(o, "links", links);
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *vms_json(const struct pve_vms *vms, const struct pci_function *d)
{
	struct json_object *a = json_object_new_array();
	struct vm_use *u = NULL;
	size_t n = 0;

	if (vm_usage_of(vms, d->slot, &u, &n) < 0)
		return a;
	for (size_t i = 0; i < n; i++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "vmid", json_object_new_int64(u[i].vm->vmid));
		json_object_object_add(x, "name", json_str_or_null(u[i].vm->name));
		json_object_object_add(x, "hostpci", json_object_new_int64(u[i].pci->index));
		json_object_object_add(x, "onboot", json_object_new_boolean(u[i].vm->onboot));
		json_object_object_add(x, "mapping", json_str_or_null(u[i].pci->mapping));
		json_object_object_add(x, "mdev", json_str_or_null(u[i].pci->mdev));
		json_object_array_add(a, x);
	}
	free(u);
	return a;
}

static struct json_object *device_json(const struct hw *hw, const struct pci_function *d, const struct pve_vms *vms)
{
	struct json_object *o = json_object_new_object(), *roles = json_object_new_array(), *comp;
	static const unsigned role_bits[] = { HW_ROLE_CONSOLE, HW_ROLE_ROOT_DISK, HW_ROLE_NETWORK };

	json_object_object_add(o, "slot", json_object_new_string(d->slot));
	json_object_object_add(o, "class", json_hex(d->class_code >> 8, 4));
	json_object_object_add(o, "prog_if", json_hex(d->class_code & 0xff, 2));
	json_object_object_add(o, "class_name", json_object_new_string(d->class_name));
	json_object_object_add(o, "vendor_id", json_hex(d->vendor_id, 4));
	json_object_object_add(o, "device_id", json_hex(d->device_id, 4));
	json_object_object_add(o, "subsystem_vendor_id", json_hex(d->subsys_vendor_id, 4));
	json_object_object_add(o, "subsystem_device_id", json_hex(d->subsys_id, 4));
	json_object_object_add(o, "vendor", json_object_new_string(d->vendor_name));
	json_object_object_add(o, "device", json_object_new_string(d->device_name));
	json_object_object_add(o, "driver", d->driver ? json_object_new_string(d->driver) : NULL);
	json_object_object_add(o, "modalias", d->modalias ? json_object_new_string(d->modalias) : NULL);
	json_object_object_add(o, "modules", hw->modules_resolved || d->modules.n ? json_strv(&d->modules) : NULL);
	json_object_object_add(o, "iommu_group", d->iommu_group >= 0 ? json_object_new_int(d->iommu_group) : NULL);
	json_object_object_add(o, "boot_vga", json_object_new_boolean(d->boot_vga == 1));
	json_object_object_add(o, "gpu", json_object_new_boolean(pci_is_gpu(d)));
	for (size_t i = 0; i < ARRAY_SIZE(role_bits); i++)
		if (d->roles & role_bits[i])
			json_object_array_add(roles, json_object_new_string(hw_role_name(role_bits[i])));
	json_object_object_add(o, "roles", roles);
	json_object_object_add(o, "roles_why", d->role_why ? json_object_new_string(d->role_why) : NULL);
	json_object_object_add(o, "chains", chains_json(hw, (size_t)(d - hw->devs)));
	json_object_object_add(o, "vms", vms_json(vms, d));
	if (pci_is_gpu(d)) {
		comp = json_object_new_array();
		for (size_t j = 0; j < hw->n_devs; j++)
			if (&hw->devs[j] != d && hw_same_slot(&hw->devs[j], d))
				json_object_array_add(comp, json_object_new_string(hw->devs[j].slot));
		json_object_object_add(o, "companions", comp);
	}
	return o;
}

/* The booted command line, for its modules-load=; NULL when procfs has none. */
static char *booted_cmdline(const char *procfs)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;

	if (asprintf(&path, "%s/cmdline", procfs) < 0 || !(f = fopen(path, "re")) || getline(&line, &cap, f) < 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\n")] = '\0';
	return line;
}

static void print_modload(const struct ctx *ctx, const struct modload *ml)
{
	char shown[4096];
	bool any = false;

	for (size_t i = 0; i < ml->n_lines; i++) {
		const struct modload_line *l = &ml->lines[i];

		if (l->broken)
			continue;
		if (!any)
			printf("\nsystemd-modules-load loads at boot:\n");
		any = true;
		rootfs_display(ctx->root, l->file, shown, sizeof(shown));
		if (l->line)
			printf("  %-20s %s:%u\n", l->name, shown, l->line);
		else
			printf("  %-20s %s\n", l->name, l->file);
	}
	if (!any)
		printf("\nsystemd-modules-load loads nothing at boot (no module in modules-load.d, /etc/modules or "
		       "modules-load=)\n");
	for (size_t i = 0; i < ml->n_lines; i++)
		if (ml->lines[i].broken)
			printf("warning: %s:%u: systemd-modules-load looks up '%s' as one module name and loads nothing; "
			       "one module per line, parameters in an options line in /etc/modprobe.d\n",
			       rootfs_display(ctx->root, ml->lines[i].file, shown, sizeof(shown)), ml->lines[i].line,
			       ml->lines[i].name);
	for (size_t i = 0; i < ml->n_files; i++)
		if (ml->files[i].state != MODLOAD_READ)
			printf("note: %s is %s%s%s\n", rootfs_display(ctx->root, ml->files[i].path, shown, sizeof(shown)),
			       modload_file_state_name(ml->files[i].state), ml->files[i].by ? " by " : "",
			       ml->files[i].by ? ml->files[i].by : "");
	if (ml->has_modules_load && !ml->etc_modules_read)
		printf("note: no file in modules-load.d links to /etc/modules, so systemd-modules-load does not read it\n");
}

static struct json_object *modload_json(const struct modload *ml)
{
	struct json_object *o = json_object_new_object(), *files = json_object_new_array(),
			   *mods = json_object_new_array(), *broken = json_object_new_array();

	for (size_t i = 0; i < ml->n_files; i++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "path", json_object_new_string(ml->files[i].path));
		json_object_object_add(x, "reads", ml->files[i].reads ? json_object_new_string(ml->files[i].reads) : NULL);
		json_object_object_add(x, "state", json_object_new_string(modload_file_state_name(ml->files[i].state)));
		json_object_object_add(x, "overridden_by", ml->files[i].by ? json_object_new_string(ml->files[i].by) : NULL);
		json_object_array_add(files, x);
	}
	for (size_t i = 0; i < ml->n_lines; i++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, ml->lines[i].broken ? "text" : "name", json_object_new_string(ml->lines[i].name));
		json_object_object_add(x, "file", json_object_new_string(ml->lines[i].line ? ml->lines[i].file : "cmdline"));
		json_object_object_add(x, "line", ml->lines[i].line ? json_object_new_int64(ml->lines[i].line) : NULL);
		json_object_array_add(ml->lines[i].broken ? broken : mods, x);
	}
	json_object_object_add(o, "etc_modules_read", json_object_new_boolean(ml->etc_modules_read));
	json_object_object_add(o, "systemd_modules_load", json_object_new_boolean(ml->has_modules_load));
	json_object_object_add(o, "files", files);
	json_object_object_add(o, "modules", mods);
	json_object_object_add(o, "broken", broken);
	return o;
}

/* {"source", "node", "vms": [{"vmid", "name", "onboot", "template", "hostpci": [{"index", "value",
 * "slots", "mapping", "mdev", "unresolved"}]}], "notes"}, or null on a host that is not Proxmox VE. */
static struct json_object *pve_json(const struct pve_vms *vms)
{
	struct json_object *o, *a;

	if (!vms->source)
		return NULL;
	o = json_object_new_object();
	a = json_object_new_array();
	json_object_object_add(o, "source", json_object_new_string(vms->source));
	json_object_object_add(o, "node", json_str_or_null(vms->node));
	for (size_t i = 0; i < vms->n; i++) {
		const struct pve_vm *vm = &vms->v[i];
		struct json_object *x = json_object_new_object(), *pa = json_object_new_array();

		json_object_object_add(x, "vmid", json_object_new_int64(vm->vmid));
		json_object_object_add(x, "name", json_str_or_null(vm->name));
		json_object_object_add(x, "onboot", json_object_new_boolean(vm->onboot));
		json_object_object_add(x, "template", json_object_new_boolean(vm->is_template));
		for (size_t p = 0; p < vm->n_pci; p++) {
			struct json_object *y = json_object_new_object();

			json_object_object_add(y, "index", json_object_new_int64(vm->pci[p].index));
			json_object_object_add(y, "value", json_object_new_string(vm->pci[p].value));
			json_object_object_add(y, "slots", json_strv(&vm->pci[p].slots));
			json_object_object_add(y, "mapping", json_str_or_null(vm->pci[p].mapping));
			json_object_object_add(y, "mdev", json_str_or_null(vm->pci[p].mdev));
			json_object_object_add(y, "unresolved", json_object_new_boolean(vm->pci[p].unresolved));
			json_object_array_add(pa, y);
		}
		json_object_object_add(x, "hostpci", pa);
		json_object_array_add(a, x);
	}
	json_object_object_add(o, "vms", a);
	json_object_object_add(o, "notes", json_strv(&vms->notes));
	return o;
}

static void print_vms(const struct pve_vms *vms)
{
	if (!vms->source)
		return;
	printf("\nProxmox VE VMs with PCI devices (%s, node %s; * in the VM column: onboot):\n", vms->source,
	       vms->node ? vms->node : "unknown");
	for (size_t i = 0; i < vms->n; i++) {
		const struct pve_vm *vm = &vms->v[i];

		if (!vm->n_pci)
			continue;
		printf("  VM %u %s%s%s:", vm->vmid, vm->name ? vm->name : "(no name)", vm->onboot ? ", onboot" : "",
		       vm->is_template ? ", template" : "");
		for (size_t p = 0; p < vm->n_pci; p++)
			printf("%s hostpci%u %s%s", p ? ";" : "", vm->pci[p].index, vm->pci[p].value,
			       vm->pci[p].unresolved ? " (no device on this node)" : "");
		putchar('\n');
	}
	for (size_t i = 0; i < vms->notes.n; i++)
		printf("  note: %s\n", vms->notes.v[i]);
}

static void print_json(const struct hw *hw, const struct modload *ml, const struct vfio_ids_origin *ids,
		       const struct pve_vms *vms)
{
	struct json_object *o = json_object_new_object(), *x, *a;

	x = json_object_new_object();
	json_object_object_add(x, "vendor", hw->cpu_vendor[0] ? json_object_new_string(hw->cpu_vendor) : NULL);
	json_object_object_add(x, "vmx", json_object_new_boolean(hw->vmx));
	json_object_object_add(x, "svm", json_object_new_boolean(hw->svm));
	json_object_object_add(o, "cpu", x);
	x = json_object_new_object();
	json_object_object_add(x, "tables_readable", json_object_new_boolean(hw->acpi_tables_read));
	json_object_object_add(x, "dmar", json_object_new_boolean(hw->dmar));
	json_object_object_add(x, "ivrs", json_object_new_boolean(hw->ivrs));
	json_object_object_add(o, "firmware", x);
	x = json_object_new_object();
	json_object_object_add(x, "active", json_object_new_boolean(hw->iommus.n > 0));
	json_object_object_add(x, "units", json_strv(&hw->iommus));
	json_object_object_add(x, "groups", json_object_new_int64((int64_t)hw->n_groups));
	json_object_object_add(x, "interrupt_remapping",
			       hw->interrupt_remapping < 0 ? NULL : json_object_new_boolean(hw->interrupt_remapping));
	json_object_object_add(o, "iommu", x);
	a = json_object_new_array();
	for (size_t i = 0; i < hw->n_devs; i++)
		json_object_array_add(a, device_json(hw, &hw->devs[i], vms));
	json_object_object_add(o, "devices", a);
	json_object_object_add(o, "notes", json_strv(&hw->notes));
	json_object_object_add(o, "unreadable", json_object_new_int64(hw->holes.n));
	json_object_object_add(o, "modules_load", ml ? modload_json(ml) : NULL);
	json_object_object_add(o, "vfio_ids", json_vfio_ids(ids));
	json_object_object_add(o, "pve", pve_json(vms));
	output_json(o);
	json_object_put(o);
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	_cleanup_modload_ struct modload *ml = NULL;
	_cleanup_free_ char *cmdline = NULL;
	struct error ml_err = { 0 };
	struct vfio_ids_origin ids = { 0 };
	struct error ids_err = { 0 }, vm_err = { 0 };
	struct pve_vms vms = { 0 };
	struct hw hw;

	if (hw_read_all(ctx->sysfs, ctx->procfs, ctx->root, &hw, &ctx->err) < 0)
		return ctx_fail(ctx);
	/* What loads at boot is part of the picture, not a reason to fail the scan. */
	cmdline = booted_cmdline(ctx->procfs);
	if (modload_read(ctx->root, cmdline, &ml, &ml_err) < 0)
		ml = NULL;
	/* The list the next boot gives vfio-pci, from the files under --root (not the running one's). */
	if (plan_vfio_ids(ctx->root, ctx->sysfs, &ids, &ids_err) < 0)
		vfio_ids_origin_clear(&ids);
	/* Which VM uses which device: a Proxmox VE host's VM configurations, read-only. */
	if (pve_vms_read(ctx->root, &vms, &vm_err) < 0)
		fprintf(stderr, "iommuctl: warning: the VM configurations were not read: %s\n", vm_err.text);
	if (ctx->json) {
		print_json(&hw, ml, &ids, &vms);
	} else {
		print_summary(&hw);
		putchar('\n');
		print_groups(&hw, &vms);
		print_gpus_and_roles(&hw);
		print_vms(&vms);
		if (ml)
			print_modload(ctx, ml);
		else
			printf("\nwarning: what systemd-modules-load loads could not be read: %s\n", ml_err.text);
		putchar('\n');
		if (ids_err.text[0])
			printf("vfio-pci ids: unknown (%s)\n", ids_err.text);
		else
			print_vfio_ids(&ids, "");
	}
	vfio_ids_origin_clear(&ids);
	pve_vms_clear(&vms);
	hw_clear(&hw);
	return 0;
}

const struct cmd cmd_scan = {
	.name = "scan",
	.synopsis = "",
	.summary = "show the CPU, the IOMMU, every IOMMU group with its devices, GPUs and what the host needs",
	.help = "Reads --sysfs and --procfs (default /sys, /proc) and the module trees of the installed\n"
		"kernels under --root; changes nothing and works without root (firmware tables need root).\n",
	.max_args = 0,
	.flags = 0,
	.run = run,
};
