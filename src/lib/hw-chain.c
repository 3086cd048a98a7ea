/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hw-chain.c — the driver chain of a device the host needs, read from sysfs one device at a time
 * down from its PCI function. Every bus shows a bound driver the same way (<dev>/driver, and
 * <dev>/driver/module for the module it lives in), so one walk serves virtio (virtioN →
 * virtio_blk), SCSI (host → target → H:C:T:L, driver sd in module sd_mod), USB (usb-storage,
 * uas), NVMe and DRM. A blacklist stops what udev would load by modalias, and on these chains the
 * driver that serves the host often sits on a child device, not on the PCI function.
 *  Owns: following a chain and the modules its links would load. Must not: be called by hw.c,
 *  or write anything. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw-chain.h"
#include "macros.h"
#include "strbuf.h"

/* What the reads found: a failure other than absence is remembered (the first one), for the caller. */
struct walk {
	const char *sysfs;
	struct sysfs_holes holes;
};

/* ---- one device ---- */

/* The last component of the link dir/name points at (a driver's, bus's or module's name);
 * NULL when there is no such link. */
static char *link_target_name(struct walk *w, const char *dir, const char *name)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return NULL;
	return sysfs_link_name(&w->holes, path);
}

/* A one-line attribute without its newline; NULL when absent. */
static char *read_attr(struct walk *w, const char *dir, const char *name)
{
	char path[PATH_MAX], buf[512];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return NULL;
	return sysfs_read_line(&w->holes, path, buf, sizeof(buf)) ? strdup(buf) : NULL;
}

/* A module the running kernel has built in shows in <sysfs>/module without the initstate a
 * loaded module has: a modprobe.d blacklist cannot stop it. */
static bool module_builtin(const struct walk *w, const char *module)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/module/%s", w->sysfs, module);
	if (access(path, F_OK) < 0)
		return false;
	snprintf(path, sizeof(path), "%s/module/%s/initstate", w->sysfs, module);
	return access(path, F_OK) < 0;
}

/* The driver bound to the device at dir, and the module it lives in (<dev>/driver/module). */
static int link_read_driver(struct walk *w, const char *dir, struct hw_link *l)
{
	if (!(l->driver = link_target_name(w, dir, "driver")))
		return 0;
	l->module = link_target_name(w, dir, "driver/module");
	sysfs_module_underscores(l->module);
	l->builtin = l->module && module_builtin(w, l->module);
	return 0;
}

/* dir as a link of the chain; *ret_is_device false when it is no device on a bus (the class
 * directories "block", "net", "drm", an ATA port, a SCSI target without a driver or alias). */
static int link_read(struct walk *w, const char *dir, const char *node, bool first, struct hw_link *l,
		     bool *ret_is_device)
{
	*l = (struct hw_link){ 0 };
	if (!(l->node = strdup(node)))
		return -ENOMEM;
	l->subsystem = link_target_name(w, dir, "subsystem");
	link_read_driver(w, dir, l);
	l->modalias = read_attr(w, dir, "modalias");
	*ret_is_device = first || l->driver || l->modalias;
	return 0;
}

/* ---- the way down ---- */

static int chain_add_link(struct hw_chain *c, struct hw_link *l)
{
	struct hw_link *v = realloc(c->links, (c->n_links + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	c->links = v;
	c->links[c->n_links++] = *l;
	*l = (struct hw_link){ 0 };
	return 0;
}

/* Where the walk starts: the component of the resolved path that is the PCI function. */
static char *find_pci_component(char *real, const char *pci_slot)
{
	size_t len = strlen(pci_slot);

	for (char *c = real; (c = strchr(c, '/')); c++)
		if (!strncmp(c + 1, pci_slot, len) && (c[1 + len] == '/' || c[1 + len] == '\0'))
			return c + 1;
	return NULL;
}

/* The device the host uses: the last component, or for a partition (it has a "partition"
 * attribute) the disk that holds it. */
static char *chain_leaf(const char *real)
{
	char path[PATH_MAX];
	const char *last = strrchr(real, '/');

	if (last && last != real && snprintf(path, sizeof(path), "%s/partition", real) < (int)sizeof(path) &&
	    access(path, F_OK) == 0) {
		const char *end = last, *prev = last - 1;

		while (prev > real && *prev != '/')
			prev--;
		return strndup(prev + 1, (size_t)(end - prev - 1));
	}
	return strdup(last ? last + 1 : real);
}

/* virtio-gpu registers its DRM card under the PCI function, beside the virtioN device whose
 * driver (virtio_gpu) serves it: when the path passed through no device below the PCI function,
 * the virtio devices the function carries are the rest of the chain. */
static int chain_add_virtio_child(struct walk *w, struct hw_chain *c, const char *pci_dir)
{
	struct dirent *de;
	DIR *dir;
	int k = 0;

	if (c->n_links != 1 || !(dir = opendir(pci_dir)))
		return 0;
	while (k == 0 && (de = readdir(dir))) {
		char sub[PATH_MAX];
		struct hw_link l;
		bool is_device;

		if (strncmp(de->d_name, "virtio", 6) || snprintf(sub, sizeof(sub), "%s/%s", pci_dir, de->d_name) >= (int)sizeof(sub))
			continue;
		k = link_read(w, sub, de->d_name, false, &l, &is_device);
		if (k == 0 && is_device && l.subsystem && streq(l.subsystem, "virtio"))
			k = chain_add_link(c, &l);
		else if (k == 0)
			hw_link_clear(&l);
	}
	closedir(dir);
	return k;
}

int hw_chain_follow(const char *sysfs, const char *path, const char *pci_slot, struct hw_chain *ret,
		    int *ret_errno, char **ret_hole)
{
	struct walk w = { .sysfs = sysfs };
	struct hw_chain c = { 0 };
	char real[PATH_MAX];
	char *start, *next;
	int k = 0;

	*ret_errno = 0;
	*ret_hole = NULL;
	if (!realpath(path, real))
		return -ENOENT;
	if (!(start = find_pci_component(real, pci_slot)))
		return -ENOENT;
	if (!(c.leaf = chain_leaf(real)))
		return -ENOMEM;
	/* Each step reads the directory the path names up to and including one more component. */
	for (char *comp = start; k == 0 && comp; comp = next) {
		struct hw_link l;
		bool is_device;

		if ((next = strchr(comp, '/')))
			*next = '\0';
		k = link_read(&w, real, comp, comp == start, &l, &is_device);
		if (next)
			*next++ = '/';
		if (k == 0 && is_device)
			k = chain_add_link(&c, &l);
		else if (k == 0)
			hw_link_clear(&l);
	}
	if (k == 0) {
		char *end = start + strcspn(start, "/");

		*end = '\0';
		k = chain_add_virtio_child(&w, &c, real);
	}
	if (k < 0) {
		hw_chain_clear(&c);
		sysfs_holes_clear(&w.holes);
		return k;
	}
	*ret = c;
	*ret_errno = w.holes.err;
	*ret_hole = TAKE_PTR(w.holes.path);
	sysfs_holes_clear(&w.holes);
	return 0;
}

/* ---- what would load ---- */

/* The candidates of the links whose module sysfs does not tell: unbound ones, and bound ones
 * without a driver/module link. */

int hw_chain_resolve(struct hw_chain *c, struct kmods *km)
{
	for (size_t i = 0; i < c->n_links; i++) {
		struct hw_link *l = &c->links[i];
		char **mods = NULL;
		size_t n = 0;
		int k = 0;

		if ((l->driver && l->module) || !l->modalias || kmods_resolve_alias(km, l->modalias, &mods, &n, NULL) < 0)
			continue;
		for (size_t m = 0; k == 0 && m < n; m++)
			if (!strv_contains(&l->candidates, mods[m]))
				k = strv_add(&l->candidates, mods[m]);
		strv_free(mods, n);
		if (k < 0)
			return k;
	}
	return 0;
}

const struct hw_link *hw_chain_find_module(const struct hw_chain *c, const char *module)
{
	for (size_t i = 0; i < c->n_links; i++) {
		const struct hw_link *l = &c->links[i];

		/* udev loads a driver by its device's modalias; a device without one (a USB device
		 * as opposed to its interfaces) gets a driver of a module loaded anyway (usbcore). */
		if (l->driver && (i == 0 || l->modalias) && sysfs_module_eq(l->module ? l->module : l->driver, module))
			return l;
		/* Unbound, or bound by a driver whose module sysfs does not name (a tree captured
		 * without bus/X/drivers): the modules its modalias resolves to. */
		for (size_t m = 0; m < l->candidates.n; m++)
			if (sysfs_module_eq(l->candidates.v[m], module))
				return l;
	}
	return NULL;
}

/* "00:03.0" for a PCI function in domain 0, as lspci prints it; other nodes as sysfs names them. */
static const char *node_short(const struct hw_link *l)
{
	if (l->subsystem && streq(l->subsystem, "pci") && !strncmp(l->node, "0000:", 5))
		return l->node + 5;
	return l->node;
}

static int describe_link(struct strbuf *sb, const struct hw_link *l)
{
	int k = strbuf_appendf(sb, "%s ", node_short(l));

	if (l->driver) {
		if (k >= 0)
			k = strbuf_appends(sb, l->driver);
		if (k >= 0 && l->module)
			k = strbuf_appendf(sb, " (%s%s)", l->module, l->builtin ? ", built into the running kernel" : "");
		return k;
	}
	if (k >= 0)
		k = strbuf_appends(sb, "no driver");
	for (size_t m = 0; k >= 0 && m < l->candidates.n; m++)
		k = strbuf_appendf(sb, "%s%s", m ? ", " : " (modalias: ", l->candidates.v[m]);
	if (k >= 0 && l->candidates.n)
		k = strbuf_appends(sb, ")");
	return k;
}

char *hw_chain_describe(const struct hw_chain *c, const char *role_name)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	int k;

	k = strbuf_appendf(&sb, "%s %s%s%s%s: ", role_name, c->leaf, c->via ? " (" : "", c->via ? c->via : "",
			   c->via ? ")" : "");
	for (size_t i = 0; k >= 0 && i < c->n_links; i++) {
		if (i)
			k = strbuf_appends(&sb, " → ");
		if (k >= 0)
			k = describe_link(&sb, &c->links[i]);
	}
	return k < 0 ? NULL : strbuf_steal(&sb);
}

