/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hw.c — CPU, firmware IOMMU tables, IOMMU state and the PCI devices, read from a sysfs and a
 * procfs that may be the host's or a captured tree (tests, rescue systems).
 *  Owns: hw_scan() and the queries on its result; freeing the tree. Must not: find roles, follow
 *  chains or resolve modules (hw-roles.c, hw-chain.c and hw-read.c sit above it and call down). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pci/pci.h>

#include "hw.h"
#include "macros.h"

int hw_cpu_vendor(const char *procfs, char *buf, size_t size)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[PATH_MAX], line[512];

	snprintf(path, sizeof(path), "%s/cpuinfo", procfs);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *colon;
		size_t len;

		if (strncmp(line, "vendor_id", 9) != 0 || !(colon = strchr(line, ':')))
			continue;
		colon += 1 + strspn(colon + 1, " \t");
		len = strcspn(colon, "\r\n");
		snprintf(buf, size, "%.*s", (int)len, colon);
		return len ? 0 : -ENOENT;
	}
	return -ENOENT;
}

int hw_boot_id(const char *procfs, char buf[static 37])
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[PATH_MAX], line[64];

	snprintf(path, sizeof(path), "%s/sys/kernel/random/boot_id", procfs);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f))
		return -ENOENT;
	line[strcspn(line, "\n")] = '\0';
	if (strlen(line) != 36 || strspn(line, "0123456789abcdef-") != 36)
		return -EBADMSG;
	memcpy(buf, line, 37);
	return 0;
}

/* ---- CPU ---- */

/* The "flags" line of the first CPU: vmx (Intel VT-x) or svm (AMD-V). The kernel clears
 * them when the firmware disabled virtualization, so their absence is what the user must fix. */
static void read_cpu(struct hw *hw)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	char path[PATH_MAX];
	size_t cap = 0;

	if (hw_cpu_vendor(hw->procfs, hw->cpu_vendor, sizeof(hw->cpu_vendor)) < 0)
		hw->cpu_vendor[0] = '\0';
	snprintf(path, sizeof(path), "%s/cpuinfo", hw->procfs);
	if (!(f = fopen(path, "re"))) {
		sysfs_hole(&hw->holes, path, errno);
		return;
	}
	hw->cpuinfo_read = true;
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *colon;

		if (strncmp(line, "flags", 5) != 0 || !(colon = strchr(line, ':')))
			continue;
		for (char *w = strtok_r(colon + 1, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
			hw->vmx |= streq(w, "vmx");
			hw->svm |= streq(w, "svm");
		}
		return;
	}
}

/* ---- firmware and IOMMU ---- */

int hw_note(struct hw *hw, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (k < 0)
		return -ENOMEM;
	return strv_add(&hw->notes, s);
}

/* ACPI table names in sysfs are the signature, with a number for a second instance (SSDT1). */
static void read_acpi_tables(struct hw *hw)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/firmware/acpi/tables", hw->sysfs);
	/* Unreadable as non-root (EACCES) is common and scan says "unknown"; not a hole. */
	if (!(d = opendir(path)))
		return;
	hw->acpi_tables_read = true;
	while ((de = readdir(d))) {
		hw->dmar |= strncmp(de->d_name, "DMAR", 4) == 0;
		hw->ivrs |= strncmp(de->d_name, "IVRS", 4) == 0;
	}
	closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

static int read_iommus(struct hw *hw)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int k = 0;

	snprintf(path, sizeof(path), "%s/class/iommu", hw->sysfs);
	if (!(d = opendir(path))) {
		sysfs_hole(&hw->holes, path, errno);
		return 0;
	}
	while (k == 0 && (de = readdir(d)))
		if (de->d_name[0] != '.')
			k = strv_add(&hw->iommus, de->d_name);
	closedir(d);
	if (hw->iommus.n)
		qsort(hw->iommus.v, hw->iommus.n, sizeof(char *), cmp_str);
	return k;
}

/* Remapped interrupts are listed as "IR-PCI-MSI", "IR-IO-APIC" in /proc/interrupts. */
static void read_interrupts(struct hw *hw)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	char path[PATH_MAX];
	size_t cap = 0;

	snprintf(path, sizeof(path), "%s/interrupts", hw->procfs);
	hw->interrupt_remapping = -1;
	if (!(f = fopen(path, "re"))) {
		sysfs_hole(&hw->holes, path, errno);
		return;
	}
	hw->interrupt_remapping = 0;
	while (getline(&line, &cap, f) > 0)
		if (strstr(line, " IR-")) {
			hw->interrupt_remapping = 1;
			return;
		}
}

static void count_groups(struct hw *hw)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/kernel/iommu_groups", hw->sysfs);
	if (!(d = opendir(path))) {
		sysfs_hole(&hw->holes, path, errno);
		return;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			hw->n_groups++;
	closedir(d);
}

/* ---- PCI devices through libpci ---- */

/* libpci reports fatal errors through a callback that must not return. */
static jmp_buf pci_fail_jump;
static char pci_fail_text[512];

_printf_(1, 2) __attribute__((noreturn)) static void pci_fail(char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pci_fail_text, sizeof(pci_fail_text), fmt, ap);
	va_end(ap);
	longjmp(pci_fail_jump, 1);
}

_printf_(1, 2) static void pci_quiet(char *fmt, ...)
{
	(void)fmt;
}

/* A small sysfs attribute of a device, without its newline; NULL when absent or unreadable. */
static char *read_attr(struct hw *hw, const char *slot, const char *attr)
{
	char path[PATH_MAX], buf[256];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/%s", hw->sysfs, slot, attr);
	return sysfs_read_line(&hw->holes, path, buf, sizeof(buf)) ? strdup(buf) : NULL;
}

/* The last component of a symlink's target: the driver's or module's name. */
static char *link_name(struct hw *hw, const char *slot, const char *link)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/%s", hw->sysfs, slot, link);
	return sysfs_link_name(&hw->holes, path);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* libpci hands sysfs attributes over as read, so "modalias" keeps its final newline; the
 * value is a single line and the kernel's own alias strings have none. */
static char *dup_line_or_null(const char *s)
{
	return s ? strndup(s, strcspn(s, "\n")) : NULL;
}

static int fill_function(struct hw *hw, struct pci_access *pa, struct pci_dev *p, struct pci_function *d)
{
	char name[256];
	_cleanup_free_ char *bv = NULL, *group = NULL;

	pci_fill_info(p, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_CLASS_EXT | PCI_FILL_SUBSYS |
			 PCI_FILL_MODULE_ALIAS | PCI_FILL_IOMMU_GROUP | PCI_FILL_DRIVER);
	snprintf(d->slot, sizeof(d->slot), "%04x:%02x:%02x.%x", (unsigned)p->domain, p->bus, p->dev, p->func);
	d->domain = (unsigned)p->domain;
	d->bus = p->bus;
	d->dev = p->dev;
	d->func = p->func;
	d->vendor_id = p->vendor_id;
	d->device_id = p->device_id;
	d->subsys_vendor_id = p->subsys_vendor_id;
	d->subsys_id = p->subsys_id;
	d->class_code = (uint32_t)p->device_class << 8 | p->prog_if;
	d->vendor_name = strdup(pci_lookup_name(pa, name, sizeof(name), PCI_LOOKUP_VENDOR, p->vendor_id));
	d->device_name = strdup(pci_lookup_name(pa, name, sizeof(name), PCI_LOOKUP_DEVICE, p->vendor_id, p->device_id));
	d->class_name = strdup(pci_lookup_name(pa, name, sizeof(name), PCI_LOOKUP_CLASS, p->device_class));
	d->driver = dup_or_null(pci_get_string_property(p, PCI_FILL_DRIVER));
	d->modalias = dup_line_or_null(p->module_alias);
	group = dup_or_null(pci_get_string_property(p, PCI_FILL_IOMMU_GROUP));
	d->iommu_group = group ? atoi(group) : -1;
	bv = read_attr(hw, d->slot, "boot_vga");
	d->boot_vga = bv ? streq(bv, "1") : -1;
	if (d->driver) {
		d->driver_module = link_name(hw, d->slot, "driver/module");
		sysfs_module_underscores(d->driver_module);
	}
	if (!d->vendor_name || !d->device_name || !d->class_name)
		return -ENOMEM;
	return 0;
}

static int cmp_function(const void *a, const void *b)
{
	const struct pci_function *x = a, *y = b;

	if (x->domain != y->domain)
		return x->domain < y->domain ? -1 : 1;
	if (x->bus != y->bus)
		return x->bus < y->bus ? -1 : 1;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return (int)x->func - (int)y->func;
}

/* Everything libpci may fail in, so that nothing live here is clobbered by its longjmp. */
static int scan_pci_bus(struct hw *hw, struct pci_access *pa)
{
	char bus[PATH_MAX];
	size_t n = 0;
	int k = 0;

	/* libpci's sysfs.path is the PCI bus directory (default /sys/bus/pci), not sysfs itself. */
	snprintf(bus, sizeof(bus), "%s/bus/pci", hw->sysfs);
	pci_set_param(pa, "sysfs.path", bus);
	pci_init(pa);
	pci_scan_bus(pa);
	for (struct pci_dev *p = pa->devices; p; p = p->next)
		n++;
	if (n && !(hw->devs = calloc(n, sizeof(*hw->devs))))
		k = -ENOMEM;
	for (struct pci_dev *p = pa->devices; k == 0 && p; p = p->next)
		k = fill_function(hw, pa, p, &hw->devs[hw->n_devs++]);
	return k;
}

static int read_pci(struct hw *hw, struct error *e)
{
	struct pci_access *pa;
	char path[PATH_MAX];
	int k;

	snprintf(path, sizeof(path), "%s/bus/pci/devices", hw->sysfs);
	if (access(path, F_OK) < 0)
		return hw_note(hw, "%s: no PCI bus (%m)", path);
	if (!(pa = pci_alloc()))
		return error_set(e, EXIT_IO, "out of memory"), -ENOMEM;
	pa->method = PCI_ACCESS_SYS_BUS_PCI;
	pa->error = pci_fail;
	pa->warning = pci_quiet;
	pa->debug = pci_quiet;
	if (setjmp(pci_fail_jump))
		/* libpci gave up; its structures are left as they are (the process ends soon). */
		return error_set(e, EXIT_IO, "cannot read the PCI devices in %s: %s", path, pci_fail_text), -EIO;
	k = scan_pci_bus(hw, pa);
	pci_cleanup(pa);
	if (k < 0)
		return error_set(e, EXIT_IO, "out of memory"), k;
	qsort(hw->devs, hw->n_devs, sizeof(*hw->devs), cmp_function);
	return 0;
}

int hw_scan(const char *sysfs, const char *procfs, struct hw *ret, struct error *e)
{
	struct hw hw = { .sysfs = sysfs, .procfs = procfs };
	int k;

	read_cpu(&hw);
	read_acpi_tables(&hw);
	read_interrupts(&hw);
	count_groups(&hw);
	k = read_iommus(&hw);
	if (k < 0)
		error_set(e, EXIT_IO, "out of memory");
	if (k == 0)
		k = read_pci(&hw, e);
	if (k < 0) {
		hw_clear(&hw);
		return k;
	}
	*ret = hw;
	return 0;
}

void hw_clear(struct hw *hw)
{
	for (size_t i = 0; i < hw->n_devs; i++) {
		struct pci_function *d = &hw->devs[i];

		free(d->vendor_name);
		free(d->device_name);
		free(d->class_name);
		free(d->driver);
		free(d->driver_module);
		free(d->modalias);
		free(d->role_why);
		strv_clear(&d->modules);
	}
	free(hw->devs);
	for (size_t i = 0; i < hw->n_chains; i++)
		hw_chain_clear(&hw->chains[i]);
	free(hw->chains);
	strv_clear(&hw->iommus);
	strv_clear(&hw->notes);
	sysfs_holes_clear(&hw->holes);
	memset(hw, 0, sizeof(*hw));
}

/* ---- driver chains (filled by hw-roles.c and hw-chain.c) ---- */

void hw_link_clear(struct hw_link *l)
{
	free(l->node);
	free(l->subsystem);
	free(l->driver);
	free(l->module);
	free(l->modalias);
	strv_clear(&l->candidates);
}

void hw_chain_clear(struct hw_chain *c)
{
	for (size_t i = 0; i < c->n_links; i++)
		hw_link_clear(&c->links[i]);
	free(c->links);
	free(c->leaf);
	free(c->via);
	*c = (struct hw_chain){ 0 };
}

/* ---- queries ---- */

int hw_find(const struct hw *hw, const char *addr, size_t **ret, size_t *ret_n)
{
	unsigned dom = 0, bus, dev, func = 0;
	bool whole_slot;
	int end = 0;
	size_t *v = NULL, n = 0;

	if (sscanf(addr, "%x:%x:%x.%x%n", &dom, &bus, &dev, &func, &end) == 4 && !addr[end])
		whole_slot = false;
	else if ((end = 0, dom = 0, sscanf(addr, "%x:%x.%x%n", &bus, &dev, &func, &end)) == 3 && !addr[end])
		whole_slot = false;
	else if ((end = 0, sscanf(addr, "%x:%x:%x%n", &dom, &bus, &dev, &end)) == 3 && !addr[end])
		whole_slot = true;
	else if ((end = 0, dom = 0, sscanf(addr, "%x:%x%n", &bus, &dev, &end)) == 2 && !addr[end])
		whole_slot = true;
	else
		return -EINVAL;
	if (bus > 0xff || dev > 0x1f || func > 7 || strchr(addr, ' ') || strchr(addr, '-'))
		return -EINVAL;
	for (size_t i = 0; i < hw->n_devs; i++) {
		const struct pci_function *d = &hw->devs[i];

		if (d->domain != dom || d->bus != bus || d->dev != dev || (!whole_slot && d->func != func))
			continue;
		size_t *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		v[n++] = i;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

bool hw_same_slot(const struct pci_function *a, const struct pci_function *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->dev == b->dev;
}

bool pci_is_gpu(const struct pci_function *d)
{
	return (d->class_code >> 16) == 0x03;
}

/* Class 06: host bridges, PCI-to-PCI bridges and PCIe root/downstream ports. They are
 * never passed through and do not make a group unsafe: the kernel puts them in the
 * group for its own bookkeeping (Documentation/driver-api/vfio.rst). */
bool pci_is_bridge(const struct pci_function *d)
{
	return (d->class_code >> 16) == 0x06;
}

bool pci_function_has_module(const struct pci_function *d, const char *module)
{
	for (size_t i = 0; i < d->modules.n; i++)
		if (sysfs_module_eq(d->modules.v[i], module))
			return true;
	return false;
}

const char *hw_role_name(unsigned role)
{
	if (role & HW_ROLE_CONSOLE)
		return "console";
	if (role & HW_ROLE_ROOT_DISK)
		return "root disk";
	if (role & HW_ROLE_NETWORK)
		return "network";
	return "";
}
