/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hw-roles.c — which PCI devices the host cannot lose: the console, the root disk's controller,
 * the default route's NIC. A passthrough change that takes one of them away leaves a host that
 * boots to a black screen, cannot mount its root or cannot be reached.
 *  Owns: hw_find_roles() and the marks on the devices. Must not: be called by hw.c (the caller
 *  asks for the tree, then for the roles: hw-read.c), or write anything. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw-chain.h"
#include "hw-roles.h"
#include "hw.h"
#include "macros.h"
#include "strbuf.h"

/* Stacked devices (dm on md on partitions, bridge on bond on VLAN) nest only a few deep. */
#define MAX_DEPTH 8

/* A PCI address as a path component: "0000:00:1f.2". */
static bool is_pci_name(const char *s, size_t len)
{
	unsigned dom, bus, dev, func;
	int end = 0;
	char buf[32];

	if (len >= sizeof(buf) || len != 12)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return sscanf(buf, "%4x:%2x:%2x.%1x%n", &dom, &bus, &dev, &func, &end) == 4 && end == 12;
}

/* The PCI device nearest to the sysfs object a path leads to: the last PCI address among
 * the components of its resolved path. Relative links of a captured tree resolve inside it. */
static struct pci_function *pci_ancestor(struct hw *hw, const char *path)
{
	char real[PATH_MAX];
	const char *best = NULL;

	if (!realpath(path, real)) {
		sysfs_hole(&hw->holes, path, errno);
		return NULL;
	}
	for (char *c = real; (c = strchr(c, '/')); c++) {
		size_t len = strcspn(c + 1, "/");

		if (is_pci_name(c + 1, len))
			best = c + 1;
	}
	if (!best)
		return NULL;
	for (size_t i = 0; i < hw->n_devs; i++)
		if (!strncmp(hw->devs[i].slot, best, 12))
			return &hw->devs[i];
	return NULL;
}

static int mark(struct pci_function *d, unsigned role, const char *why)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	if (!d)
		return 0;
	if (d->role_why) {
		if (strstr(d->role_why, why))
			return 0;
		strbuf_appendf(&sb, "%s; ", d->role_why);
	}
	if (strbuf_appends(&sb, why) < 0)
		return -ENOMEM;
	free(d->role_why);
	d->role_why = strbuf_steal(&sb);
	d->roles |= role;
	return 0;
}

/* Follow d down to what path names (hw-chain.c) and keep the chain, once per role and device
 * served. via: how the device serves the role ("under dm-0"), or NULL. */
static int add_chain(struct hw *hw, const char *path, struct pci_function *d, unsigned role, const char *via)
{
	struct hw_chain c, *v;
	_cleanup_free_ char *hole = NULL;
	int err, k;

	k = hw_chain_follow(hw->sysfs, path, d->slot, &c, &err, &hole);
	if (err)
		sysfs_hole(&hw->holes, hole, err);
	if (k == -ENOENT)
		return 0;
	if (k < 0)
		return k;
	c.role = role;
	c.dev = (size_t)(d - hw->devs);
	for (size_t i = 0; i < hw->n_chains; i++)
		if (hw->chains[i].role == role && hw->chains[i].dev == c.dev && streq(hw->chains[i].leaf, c.leaf)) {
			hw_chain_clear(&c);
			return 0;
		}
	if ((via && !(c.via = strdup(via))) || !(v = realloc(hw->chains, (hw->n_chains + 1) * sizeof(*v)))) {
		hw_chain_clear(&c);
		return -ENOMEM;
	}
	hw->chains = v;
	hw->chains[hw->n_chains++] = c;
	return 0;
}

/* "dm-0" for <sysfs>/dev/block/254:0 or <sysfs>/class/net/vmbr0: the name the kernel gives
 * the object a path leads to. */
static const char *object_name(const char *path, char *buf, size_t size)
{
	char real[PATH_MAX];
	const char *base;

	if (!realpath(path, real))
		snprintf(real, sizeof(real), "%s", path);
	base = strrchr(real, '/');
	base = base ? base + 1 : real;
	if (strlen(base) >= size)
		return "";
	memcpy(buf, base, strlen(base) + 1);
	return buf;
}

/* ---- console ---- */

/* The console's chain ends in the DRM card under it (card0 of bochs-drm, or of virtio_gpu under
 * virtio0), or at the PCI function itself when no DRM driver has a card there (efifb, vesafb). */
static int chain_console(struct hw *hw)
{
	char path[PATH_MAX];
	int k = 0;

	for (size_t i = 0; k == 0 && i < hw->n_devs; i++) {
		struct pci_function *d = &hw->devs[i];
		size_t before = hw->n_chains;
		struct dirent *de;
		DIR *dir;

		if (!(d->roles & HW_ROLE_CONSOLE))
			continue;
		snprintf(path, sizeof(path), "%s/class/drm", hw->sysfs);
		if ((dir = opendir(path))) {
			while (k == 0 && (de = readdir(dir))) {
				unsigned n;
				int end = 0;

				if (sscanf(de->d_name, "card%u%n", &n, &end) != 1 || de->d_name[end])
					continue;
				snprintf(path, sizeof(path), "%s/class/drm/%s", hw->sysfs, de->d_name);
				if (pci_ancestor(hw, path) == d)
					k = add_chain(hw, path, d, HW_ROLE_CONSOLE, NULL);
			}
			closedir(dir);
		}
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", hw->sysfs, d->slot);
		if (k == 0 && hw->n_chains == before)
			k = add_chain(hw, path, d, HW_ROLE_CONSOLE, NULL);
	}
	return k;
}

/* The console is the device the firmware brought up: boot_vga, or the PCI device the firmware
 * framebuffer (efifb, vesafb, simpledrm) lives in — the kernel (6.7+) places that platform
 * device under it. On hybrid and many server boards boot_vga reads 0 everywhere and older
 * kernels leave the framebuffer at the platform root; only then do the devices that drive a
 * console now count: fb0's device and DRM cards with a connected connector. Not before: a
 * second GPU whose driver loaded first often owns fb0 and a (virtual) connected output, yet the
 * host keeps its console on the boot GPU once that card goes to vfio-pci. */
static int find_console_device(struct hw *hw)
{
	static const char *const fb_platform[] = { "efi-framebuffer.0", "vesa-framebuffer.0", "simple-framebuffer.0" };
	char path[PATH_MAX], buf[64];
	struct dirent *de;
	DIR *dir;
	int k = 0;

	for (size_t i = 0; k == 0 && i < hw->n_devs; i++)
		if (hw->devs[i].boot_vga == 1)
			k = mark(&hw->devs[i], HW_ROLE_CONSOLE, "boot VGA (boot_vga is 1)");
	for (size_t i = 0; k == 0 && i < ARRAY_SIZE(fb_platform); i++) {
		snprintf(path, sizeof(path), "%s/bus/platform/devices/%s", hw->sysfs, fb_platform[i]);
		k = mark(pci_ancestor(hw, path), HW_ROLE_CONSOLE, "holds the firmware framebuffer");
	}
	for (size_t i = 0; i < hw->n_devs; i++)
		if (k < 0 || hw->devs[i].roles & HW_ROLE_CONSOLE)
			return k;
	snprintf(path, sizeof(path), "%s/class/graphics/fb0/device", hw->sysfs);
	k = mark(pci_ancestor(hw, path), HW_ROLE_CONSOLE, "drives the console framebuffer fb0 (no boot VGA is marked)");
	snprintf(path, sizeof(path), "%s/class/drm", hw->sysfs);
	if (k == 0 && (dir = opendir(path))) {
		while (k == 0 && (de = readdir(dir))) {
			if (strncmp(de->d_name, "card", 4) || !strchr(de->d_name, '-'))
				continue;
			snprintf(path, sizeof(path), "%s/class/drm/%s/status", hw->sysfs, de->d_name);
			if (!sysfs_read_line(&hw->holes, path, buf, sizeof(buf)) || !streq(buf, "connected"))
				continue;
			snprintf(path, sizeof(path), "%s/class/drm/%s", hw->sysfs, de->d_name);
			k = mark(pci_ancestor(hw, path), HW_ROLE_CONSOLE,
				 "has a connected display (DRM; no boot VGA is marked)");
		}
		closedir(dir);
	}
	return k;
}

static int find_console(struct hw *hw)
{
	int k = find_console_device(hw);

	return k < 0 ? k : chain_console(hw);
}

/* ---- root disk ---- */

/* The controller(s) behind a block device: its PCI ancestor, or, for device-mapper, md and
 * other stacked devices, those of every device in its slaves/ directory. via: the stacked
 * device above this one ("under dm-0"), NULL for the root's own device. */
static int mark_block(struct hw *hw, const char *path, const char *what, const char *via, int depth)
{
	char sub[PATH_MAX], name[NAME_MAX + 1], under[NAME_MAX + 8];
	struct pci_function *d;
	struct dirent *de;
	DIR *dir;
	int k = 0;

	if (depth > MAX_DEPTH)
		return 0;
	if ((d = pci_ancestor(hw, path))) {
		k = mark(d, HW_ROLE_ROOT_DISK, what);
		return k < 0 ? k : add_chain(hw, path, d, HW_ROLE_ROOT_DISK, via);
	}
	snprintf(under, sizeof(under), "under %s", object_name(path, name, sizeof(name)));
	snprintf(sub, sizeof(sub), "%s/slaves", path);
	if (!(dir = opendir(sub)))
		return 0;
	while (k == 0 && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/slaves/%s", path, de->d_name);
		k = mark_block(hw, sub, what, under, depth + 1);
	}
	closedir(dir);
	return k;
}

/* Every mass-storage controller, when the root's disks cannot be told (ZFS, btrfs, NFS), and
 * the chain of every disk behind one (<sysfs>/block): any of them may hold the root. */
static int mark_all_storage(struct hw *hw, const char *why)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int k = 0;

	for (size_t i = 0; k == 0 && i < hw->n_devs; i++)
		if ((hw->devs[i].class_code >> 16) == 0x01)
			k = mark(&hw->devs[i], HW_ROLE_ROOT_DISK, why);
	snprintf(path, sizeof(path), "%s/block", hw->sysfs);
	if (k < 0 || !(dir = opendir(path)))
		return k;
	while (k == 0 && (de = readdir(dir))) {
		struct pci_function *d;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/block/%s", hw->sysfs, de->d_name);
		if ((d = pci_ancestor(hw, path)) && (d->class_code >> 16) == 0x01)
			k = add_chain(hw, path, d, HW_ROLE_ROOT_DISK, "may hold the root");
	}
	closedir(dir);
	return k;
}

/* mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS". The
 * last line for "/" is the mount that is visible. */
static int find_root_disk(struct hw *hw)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	char path[PATH_MAX], devno[32] = "", fstype[64] = "", source[256] = "", what[400];
	size_t cap = 0;
	unsigned maj = 0, min = 0;
	bool found;

	snprintf(path, sizeof(path), "%s/self/mountinfo", hw->procfs);
	if (!(f = fopen(path, "re"))) {
		sysfs_hole(&hw->holes, path, errno);
		return 0;
	}
	while (getline(&line, &cap, f) > 0) {
		char mnt[PATH_MAX], dn[32], *sep;

		if (sscanf(line, "%*u %*u %31s %*s %4095s", dn, mnt) != 2 || !streq(mnt, "/"))
			continue;
		snprintf(devno, sizeof(devno), "%s", dn);
		if ((sep = strstr(line, " - ")) && sscanf(sep, " - %63s %255s", fstype, source) != 2)
			fstype[0] = source[0] = '\0';
	}
	if (!devno[0] || sscanf(devno, "%u:%u", &maj, &min) != 2)
		return 0;
	snprintf(what, sizeof(what), "controller of the root file system (%s %s, %s)", fstype, source, devno);
	snprintf(path, sizeof(path), "%s/dev/block/%s", hw->sysfs, devno);
	found = maj != 0 && access(path, F_OK) == 0;
	if (found) {
		int k = mark_block(hw, path, what, NULL, 0);

		if (k < 0)
			return k;
		for (size_t i = 0; i < hw->n_devs; i++)
			if (hw->devs[i].roles & HW_ROLE_ROOT_DISK)
				return 0;
	}
	snprintf(what, sizeof(what),
		 "may hold the root file system (%s %s: its disks cannot be told from sysfs, so every storage "
		 "controller counts)", fstype, source);
	return mark_all_storage(hw, what);
}

/* ---- default-route NIC ---- */

/* A network interface's PCI device, or those of its lower devices: bridge ports, bond slaves,
 * the parent of a VLAN (sysfs links "lower_NAME"; bridges also list ports in brif/). */
static int mark_netdev(struct hw *hw, const char *ifname, const char *what, const char *upper, int depth)
{
	static const char *const lists[] = { "brif", "" };
	char path[PATH_MAX], under[NAME_MAX + 8];
	struct pci_function *d;
	int k = 0;

	if (depth > MAX_DEPTH)
		return 0;
	snprintf(path, sizeof(path), "%s/class/net/%s/device", hw->sysfs, ifname);
	if ((d = pci_ancestor(hw, path))) {
		char via[NAME_MAX + 8];

		k = mark(d, HW_ROLE_NETWORK, what);
		snprintf(via, sizeof(via), "under %s", upper ? upper : "");
		snprintf(path, sizeof(path), "%s/class/net/%s", hw->sysfs, ifname);
		return k < 0 ? k : add_chain(hw, path, d, HW_ROLE_NETWORK, upper ? via : NULL);
	}
	snprintf(under, sizeof(under), "%s", ifname);
	for (size_t l = 0; k == 0 && l < ARRAY_SIZE(lists); l++) {
		struct dirent *de;
		DIR *dir;

		snprintf(path, sizeof(path), "%s/class/net/%s/%s", hw->sysfs, ifname, lists[l]);
		if (!(dir = opendir(path)))
			continue;
		while (k == 0 && (de = readdir(dir))) {
			const char *lower = de->d_name;

			if (*lists[l] == '\0') {
				if (strncmp(lower, "lower_", 6))
					continue;
				lower += 6;
			} else if (lower[0] == '.') {
				continue;
			}
			k = mark_netdev(hw, lower, what, under, depth + 1);
		}
		closedir(dir);
	}
	return k;
}

static int find_default_route(struct hw *hw)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	char path[PATH_MAX];
	size_t cap = 0;
	int k = 0;

	/* "Iface Destination Gateway Flags RefCnt Use Metric Mask ...", hexadecimal; RTF_UP is 1. */
	snprintf(path, sizeof(path), "%s/net/route", hw->procfs);
	if (!(f = fopen(path, "re")))
		sysfs_hole(&hw->holes, path, errno);
	if (f) {
		while (k == 0 && getline(&line, &cap, f) > 0) {
			char iface[64], what[160];
			unsigned long dest, gw, flags, mask;

			if (sscanf(line, "%63s %lx %lx %lx %*d %*d %*d %lx", iface, &dest, &gw, &flags, &mask) != 5)
				continue;
			if (dest != 0 || mask != 0 || !(flags & 1))
				continue;
			snprintf(what, sizeof(what), "carries the default route (%s)", iface);
			k = mark_netdev(hw, iface, what, NULL, 0);
		}
		fclose(TAKE_PTR(f));
	}
	/* IPv6: "DEST PLEN SRC SLEN NEXTHOP METRIC REF USE FLAGS IFACE", ::/0 is the default. */
	snprintf(path, sizeof(path), "%s/net/ipv6_route", hw->procfs);
	if (k == 0 && (f = fopen(path, "re"))) {
		while (k == 0 && getline(&line, &cap, f) > 0) {
			char dest[33], iface[64], what[160];
			unsigned plen, flags;

			if (sscanf(line, "%32s %x %*s %*s %*s %*s %*s %*s %x %63s", dest, &plen, &flags, iface) != 4)
				continue;
			if (plen != 0 || strspn(dest, "0") != 32 || streq(iface, "lo") || !(flags & 1))
				continue;
			snprintf(what, sizeof(what), "carries the IPv6 default route (%s)", iface);
			k = mark_netdev(hw, iface, what, NULL, 0);
		}
	}
	return k;
}

int hw_find_roles(struct hw *hw)
{
	int k = find_console(hw);

	if (k == 0)
		k = find_root_disk(hw);
	if (k == 0)
		k = find_default_route(hw);
	return k;
}
