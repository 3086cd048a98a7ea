/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bootcheck.c — the boot check's view of the running system: does this boot show what the trial
 *  intends, and can the host still be reached (root writable, default-route NIC up, console GPU
 *  kept)? Read from sysfs and procfs, as verify reads them.
 *  Owns: bootcheck.h. Must not: write, reboot or decide what follows a failure (boot-check.c
 *  does), or know boot loaders. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootcheck.h"
#include "cmdline.h"
#include "macros.h"
#include "strbuf.h"
#include "strv.h"
#include "trialline.h"
#include "util.h"

void run_checks_clear(struct run_checks *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].id);
		free(c->v[i].message);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static void add(struct run_checks *c, bool ok, const char *id, const char *fmt, ...) _printf_(4, 5);
static void add(struct run_checks *c, bool ok, const char *id, const char *fmt, ...)
{
	struct run_check *nv = realloc(c->v, (c->n + 1) * sizeof(*nv));
	va_list ap;
	char *msg = NULL;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (!nv || k < 0) {
		if (nv)
			c->v = nv;
		free(k < 0 ? NULL : msg);
		c->oom = true;
		return;
	}
	c->v = nv;
	c->v[c->n].id = strdup(id);
	c->v[c->n].ok = ok;
	c->v[c->n].message = msg;
	if (!c->v[c->n].id)
		c->oom = true;
	c->n++;
	if (!ok)
		c->failed++;
}

char *running_read(const char *dir, const char *name)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	char path[4096], buf[4096];
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(f = fopen(path, "re")))
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (strbuf_append(&sb, buf, n) < 0)
			return NULL;
	return sb.buf ? strbuf_steal(&sb) : strdup("");
}

bool running_module_loaded(const char *sysfs, const char *procmods, const char *module)
{
	char name[128], path[4096];
	size_t n = strlen(module);

	snprintf(name, sizeof(name), "%s", module);
	for (char *x = name; *x; x++)
		if (*x == '-')
			*x = '_';
	for (const char *l = procmods; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
		if (!strncmp(l, name, n) && l[n] == ' ')
			return true;
	snprintf(path, sizeof(path), "%s/module/%s", sysfs, name);
	return access(path, F_OK) == 0;
}

/* The comma-separated value of key in line, split. */
static int list_of(const char *line, const char *key, struct strv *ret)
{
	_cleanup_free_ char *v = trialline_value(line, key);
	char *save = NULL;

	for (char *w = v ? strtok_r(v, ",", &save) : NULL; w; w = strtok_r(NULL, ",", &save))
		if (strv_put(ret, w) < 0)
			return -ENOMEM;
	return 0;
}

static bool same_module(const char *a, const char *b)
{
	return a && b && cmdline_key_equal(a, strlen(a), b, strlen(b));
}

static void check_cmdline(struct run_checks *c, const char *booted, const char *add_line)
{
	_cleanup_free_ struct cmdline_token *tok = NULL;
	size_t n = 0, nk = 0, missing = 0;
	_cleanup_strbuf_ struct strbuf miss = STRBUF_INIT;

	if (cmdline_tokenize(add_line, strlen(add_line), &tok, &n, &nk) < 0) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < nk; i++) {
		_cleanup_free_ char *t = strndup(add_line + tok[i].start, tok[i].len);

		if (t && !cmdline_has_exactly(booted, t)) {
			strbuf_appendf(&miss, " %s", t);
			missing++;
		}
	}
	if (missing)
		add(c, false, "trial-cmdline", "the booted command line lacks%s: this is not the trial entry's boot",
		    strbuf_str(&miss));
	else
		add(c, true, "trial-cmdline", "the booted command line has the trial's %zu additions", nk);
}

static void check_modules(struct run_checks *c, const char *sysfs, const char *procmods, const char *add_line)
{
	_cleanup_(strv_clear) struct strv load = { 0 };

	if (list_of(add_line, "modules-load", &load) < 0) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < load.n; i++) {
		bool ok = running_module_loaded(sysfs, procmods, load.v[i]);

		add(c, ok, "modules-load", "module %s is %s", load.v[i], ok ? "loaded" : "not loaded");
	}
}

static void check_blacklist(struct run_checks *c, const struct hw *hw, const char *add_line)
{
	_cleanup_(strv_clear) struct strv bl = { 0 };

	if (list_of(add_line, "modprobe.blacklist", &bl) < 0) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < bl.n; i++) {
		const struct pci_function *took = NULL;

		for (size_t d = 0; d < hw->n_devs && !took; d++)
			if (same_module(hw->devs[d].driver_module, bl.v[i]) || same_module(hw->devs[d].driver, bl.v[i]))
				took = &hw->devs[d];
		if (took)
			add(c, false, "blacklist", "blacklisted %s drives %s anyway", bl.v[i], took->slot);
		else
			add(c, true, "blacklist", "blacklisted %s drives no PCI function", bl.v[i]);
	}
}

/* "vvvv:dddd" or "vvvv:dddd:ssss:ssss" (ffff or missing parts match anything) matches d. */
static bool id_matches(const char *id, const struct pci_function *d)
{
	unsigned v[4] = { 0xffff, 0xffff, 0xffff, 0xffff }, w[4];
	int n = sscanf(id, "%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3]);

	w[0] = d->vendor_id;
	w[1] = d->device_id;
	w[2] = d->subsys_vendor_id;
	w[3] = d->subsys_id;
	if (n < 2)
		return false;
	for (int i = 0; i < 4; i++)
		if (v[i] != 0xffff && v[i] != w[i])
			return false;
	return true;
}

static bool on_vfio(const struct pci_function *d)
{
	return d->driver && (streq(d->driver, "vfio-pci") || streq(d->driver, "vfio_pci"));
}

static bool is_target(const struct hw *hw, size_t i, const struct strv *ids, const struct strv *bind)
{
	for (size_t k = 0; k < ids->n; k++)
		if (id_matches(ids->v[k], &hw->devs[i]))
			return true;
	return strv_contains(bind, hw->devs[i].slot);
}

static void check_vfio(struct run_checks *c, const struct hw *hw, const struct strv *ids, const struct strv *bind)
{
	for (size_t i = 0; i < hw->n_devs; i++) {
		const struct pci_function *d = &hw->devs[i];

		if (!is_target(hw, i, ids, bind))
			continue;
		add(c, on_vfio(d), strv_contains(bind, d->slot) ? "vfio-bind" : "vfio-ids", "%s (%04x:%04x) is %s%s",
		    d->slot, d->vendor_id, d->device_id, on_vfio(d) ? "on vfio-pci" : "on ",
		    on_vfio(d) ? "" : d->driver ? d->driver : "no driver");
	}
	for (size_t k = 0; k < bind->n; k++) {
		bool found = false;

		for (size_t i = 0; i < hw->n_devs && !found; i++)
			found = streq(hw->devs[i].slot, bind->v[k]);
		if (!found)
			add(c, false, "vfio-bind", "%s is not on this machine's PCI bus", bind->v[k]);
	}
}

static void check_root(struct run_checks *c, const char *procfs)
{
	_cleanup_free_ char *mounts = running_read(procfs, "mounts");
	char opts[512] = "";
	bool found = false;

	/* The last mount on / is the one in effect. Fields: device mountpoint type options … */
	for (char *l = mounts, *nl; l && *l; l = nl ? nl + 1 : NULL) {
		char dev[256], mp[256], type[64], o[512];

		nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		if (sscanf(l, "%255s %255s %63s %511s", dev, mp, type, o) == 4 && streq(mp, "/")) {
			snprintf(opts, sizeof(opts), "%s", o);
			found = true;
		}
	}
	if (!found) {
		add(c, false, "root-rw", "%s/mounts has no mount on /", procfs);
		return;
	}
	bool rw = !strncmp(opts, "rw", 2) && (opts[2] == ',' || opts[2] == '\0');

	add(c, rw, "root-rw", "/ is mounted %s", rw ? "read-write" : "read-only");
}

static void check_network(struct run_checks *c, const char *sysfs, const char *procfs)
{
	_cleanup_free_ char *route = running_read(procfs, "net/route");
	char iface[64] = "";

	/* Iface Destination Gateway Flags …: the default route has destination 00000000 and is up (flag 1). */
	for (char *l = route, *nl; l && *l && !*iface; l = nl ? nl + 1 : NULL) {
		char name[64], dest[16], gw[16];
		unsigned flags;

		nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		if (sscanf(l, "%63s %15s %15s %x", name, dest, gw, &flags) == 4 && streq(dest, "00000000") && (flags & 1))
			snprintf(iface, sizeof(iface), "%s", name);
	}
	if (!*iface) {
		add(c, false, "network", "%s/net/route has no default route: the host cannot be reached from "
		    "other networks", procfs);
		return;
	}
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/class/net/%s", sysfs, iface);
	_cleanup_free_ char *state = running_read(dir, "operstate");
	_cleanup_free_ char *carrier = running_read(dir, "carrier");
	bool up = state && !strncmp(state, "up", 2);

	/* "unknown": the driver does not report it; the carrier tells then. */
	if (!up && state && !strncmp(state, "unknown", 7) && carrier && carrier[0] == '1')
		up = true;
	add(c, up, "network", "%s, the default route's interface, is %s", iface,
	    up ? "up" : state ? strtok(state, "\n") : "gone");
}

static void check_console(struct run_checks *c, const struct hw *hw, const struct strv *ids, const struct strv *bind)
{
	for (size_t i = 0; i < hw->n_devs; i++) {
		const struct pci_function *d = &hw->devs[i];

		if (d->boot_vga != 1)
			continue;
		if (is_target(hw, i, ids, bind)) {
			add(c, true, "console-gpu", "the console GPU %s is given to vfio-pci, as intended", d->slot);
			continue;
		}
		add(c, d->driver && !on_vfio(d), "console-gpu", "the console GPU %s is %s%s", d->slot,
		    d->driver ? "on " : "on no driver", d->driver ? d->driver : "");
	}
}

int bootcheck_run(const char *sysfs, const char *procfs, const struct hw *hw, const char *booted,
		  const char *cmdline_add, bool trial_boot, struct run_checks *ret)
{
	_cleanup_free_ char *procmods = running_read(procfs, "modules");
	_cleanup_(strv_clear) struct strv ids = { 0 }, bind = { 0 };
	struct run_checks c = { 0 };

	if (list_of(cmdline_add, "vfio-pci.ids", &ids) < 0 || list_of(cmdline_add, TRIAL_BIND_MARKER, &bind) < 0)
		return -ENOMEM;
	if (trial_boot)
		check_cmdline(&c, booted ? booted : "", cmdline_add);
	check_modules(&c, sysfs, procmods, cmdline_add);
	check_blacklist(&c, hw, cmdline_add);
	check_vfio(&c, hw, &ids, &bind);
	check_root(&c, procfs);
	check_network(&c, sysfs, procfs);
	check_console(&c, hw, &ids, &bind);
	if (c.oom) {
		run_checks_clear(&c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}
