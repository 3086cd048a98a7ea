/* SPDX-License-Identifier: GPL-2.0-or-later */
/* verify.c — `iommuctl verify [PROFILE]`: does the running system (sysfs, procfs) show what the
 * profile intends? Parameters on the booted command line, an active IOMMU with groups and
 * interrupt remapping, the profile's modules loaded and its blacklisted ones not, every target
 * function bound to vfio-pci, every target's group wholly passed through. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "cmdline.h"
#include "initramfs.h"
#include "kmods.h"
#include "modload.h"
#include "bootcheck.h"
#include "planning.h"
#include "strbuf.h"
#include "vfioids.h"

struct check {
	char *id, *message, *hint;
	bool ok;
	bool next_boot;		/* about the next boot, not the running system */
};

struct checks {
	struct check *v;
	size_t n;
	bool oom;
	bool next_boot;		/* checks added now are about the next boot */
};

static void check_add(struct checks *c, bool ok, const char *id, const char *hint, const char *fmt, ...)
	_printf_(5, 6);
static void check_add(struct checks *c, bool ok, const char *id, const char *hint, const char *fmt, ...)
{
	struct check *nv = realloc(c->v, (c->n + 1) * sizeof(*nv));
	va_list ap;
	int k;

	if (!nv) {
		c->oom = true;
		return;
	}
	c->v = nv;
	nv[c->n] = (struct check){ .ok = ok, .id = strdup(id), .hint = hint && !ok ? strdup(hint) : NULL,
				   .next_boot = c->next_boot };
	va_start(ap, fmt);
	k = vasprintf(&nv[c->n].message, fmt, ap);
	va_end(ap);
	if (k < 0)
		nv[c->n].message = NULL;
	c->oom |= k < 0 || !nv[c->n].id;
	c->n++;
}

static void checks_clear(struct checks *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].id);
		free(c->v[i].message);
		free(c->v[i].hint);
	}
	free(c->v);
}

/* ---- the booted command line ---- */

static void check_cmdline(struct checks *c, const struct ctx *ctx, const struct profile *p)
{
	_cleanup_free_ char *line = running_read(ctx->procfs, "cmdline");

	if (!line) {
		check_add(c, false, "cmdline", "run verify with --procfs pointing at a mounted procfs",
			  "%s/cmdline cannot be read", ctx->procfs);
		return;
	}
	line[strcspn(line, "\n")] = '\0';
	for (size_t i = 0; i < p->kernel_add.n; i++) {
		const char *want = p->kernel_add.v[i];

		check_add(c, cmdline_has(line, want), "cmdline-param",
			  "the boot did not use the new command line: check that the hooks ran (iommuctl show), "
			  "then reboot; on systemd-boot run proxmox-boot-tool refresh",
			  "the booted command line %s %s", cmdline_has(line, want) ? "has" : "lacks", want);
	}
	for (size_t i = 0; i < p->kernel_remove.n; i++) {
		const char *gone = p->kernel_remove.v[i];

		check_add(c, !cmdline_has(line, gone), "cmdline-removed",
			  "the boot did not use the new command line: check that the hooks ran, then reboot",
			  "the booted command line %s %s", cmdline_has(line, gone) ? "still has" : "does not have", gone);
	}
}

/* ---- IOMMU ---- */

static void check_iommu(struct checks *c, const struct hw *hw, bool passes)
{
	check_add(c, hw->iommus.n > 0, "iommu-active",
		  hw->dmar || hw->ivrs ? "the firmware has the table but the kernel did not start the IOMMU: "
					 "look for DMAR or AMD-Vi lines in dmesg"
				       : "enable VT-d / AMD-Vi / IOMMU in the firmware setup",
		  "an IOMMU is %s (%s/class/iommu: %zu entries)", hw->iommus.n ? "active" : "not active", hw->sysfs,
		  hw->iommus.n);
	check_add(c, hw->n_groups > 0, "iommu-groups", "no groups means no device can be passed through",
		  "%zu IOMMU groups", hw->n_groups);
	if (passes || hw->interrupt_remapping >= 0)
		check_add(c, hw->interrupt_remapping == 1, "interrupt-remapping",
			  "without interrupt remapping vfio refuses devices unless allow_unsafe_interrupts=1; enable "
			  "x2APIC / interrupt remapping in the firmware setup",
			  "interrupt remapping is %s (IR- lines in %s/interrupts)",
			  hw->interrupt_remapping == 1 ? "on" : hw->interrupt_remapping == 0 ? "off" : "unknown",
			  hw->procfs);
}

/* ---- modules ---- */

/* The running kernel's release, from "Linux version RELEASE (...". */
static char *running_release(const struct ctx *ctx)
{
	_cleanup_free_ char *v = running_read(ctx->procfs, "version");
	char rel[256];

	if (!v || sscanf(v, "Linux version %255s", rel) != 1)
		return NULL;
	return strdup(rel);
}

static void check_modules(struct checks *c, const struct ctx *ctx, const struct profile *p)
{
	_cleanup_free_ char *procmods = running_read(ctx->procfs, "modules"), *release = running_release(ctx);
	_cleanup_(kmods_freep) struct kmods *km = NULL;
	struct error ignored = { 0 };

	/* The running kernel's tree, when the root has it: a module it lacks (vfio_virqfd on 6.2+)
	 * cannot be loaded and need not be. */
	if (release && kmods_open(ctx->root, release, &km, &ignored) < 0)
		km = NULL;
	for (size_t i = 0; i < p->modules_add.n; i++) {
		bool ok = running_module_loaded(ctx->sysfs, procmods, p->modules_add.v[i]);

		if (!ok && km && kmods_has_module(km, p->modules_add.v[i]) == 0)
			continue;
		check_add(c, ok, "module-loaded", "check 'systemctl status systemd-modules-load' and that the "
			  "running kernel has the module", "module %s is %s", p->modules_add.v[i],
			  ok ? "loaded" : "not loaded");
	}
	for (size_t i = 0; i < p->blacklist_add.n; i++) {
		bool loaded = running_module_loaded(ctx->sysfs, procmods, p->blacklist_add.v[i]);

		check_add(c, !loaded, "blacklist-not-loaded",
			  "a blacklist only stops loading by alias: something loaded it by name or as a dependency "
			  "(or the initramfs was not rebuilt: update-initramfs -u -k all)",
			  "blacklisted module %s is %s", p->blacklist_add.v[i], loaded ? "loaded" : "not loaded");
	}
}

/* ---- what systemd-modules-load does at boot ---- */

/* Lines it looks up whole and cannot load, in every file it reads (DESIGN.md §5). */
static void check_modload_lines(struct checks *c, const struct ctx *ctx, const struct modload *ml)
{
	char shown[4096];

	for (size_t i = 0; i < ml->n_lines; i++)
		if (ml->lines[i].broken)
			check_add(c, false, "modules-load-line",
				  "one module per line; parameters go in an options line in /etc/modprobe.d",
				  "%s:%u: systemd-modules-load looks up '%s' as one module name and loads nothing",
				  rootfs_display(ctx->root, ml->lines[i].file, shown, sizeof(shown)), ml->lines[i].line,
				  ml->lines[i].name);
}

/* What it logged as failed in this boot: the unit succeeds anyway, so nothing else shows it.
 * Only for the running system (or the journal the test seam names); without libsystemd, one
 * line says so and verify goes on. */
static void check_modload_journal(struct checks *c, const struct ctx *ctx)
{
	struct error e = { 0 };
	char **msgs = NULL;
	size_t n = 0;

	if (!modload_journal_wanted(ctx->root))
		return;
	if (modload_journal_failures(ctx->procfs, &msgs, &n, &e) < 0) {
		fprintf(ctx->json ? stderr : stdout, "note: the journal of this boot was not checked for modules "
			"systemd-modules-load failed to load: %s\n", e.text);
		return;
	}
	for (size_t i = 0; i < n; i++)
		check_add(c, false, "modules-load-journal",
			  "the unit still reports success: fix the line the name comes from (iommuctl scan shows "
			  "where each module is listed), then reboot",
			  "systemd-modules-load in this boot: %s", msgs[i]);
	if (!n)
		check_add(c, true, "modules-load-journal", NULL,
			  "systemd-modules-load logged no failure in this boot");
	strv_free(msgs, n);
}

/* Where the module is configured to load at boot, for the hint of a module that is not loaded. */
static void check_modload(struct checks *c, const struct ctx *ctx)
{
	_cleanup_modload_ struct modload *ml = NULL;
	_cleanup_free_ char *line = running_read(ctx->procfs, "cmdline");
	struct error e = { 0 };

	if (line)
		line[strcspn(line, "\n")] = '\0';
	if (modload_read(ctx->root, line, &ml, &e) < 0)
		check_add(c, false, "modules-load-files", "check the permissions of the modules-load.d directories",
			  "what systemd-modules-load reads could not be read: %s", e.text);
	else
		check_modload_lines(c, ctx, ml);
	check_modload_journal(c, ctx);
}

/* ---- devices ---- */

static void check_devices(struct checks *c, const struct hw *hw, const struct vfio_plan *v)
{
	for (size_t i = 0; i < v->n_targets; i++) {
		const struct pci_function *d = &hw->devs[v->targets[i]];
		bool ok = d->driver && streq(d->driver, "vfio-pci");

		check_add(c, ok, "vfio-bound",
			  "another driver claimed it first: check the softdep and options lines in modprobe.d "
			  "and that the initramfs was rebuilt",
			  "%s %s is bound to %s", d->slot, d->class_name, d->driver ? d->driver : "no driver");
	}
	for (size_t i = 0; i < v->n_targets; i++) {
		const struct pci_function *d = &hw->devs[v->targets[i]];
		_cleanup_strbuf_ struct strbuf others = STRBUF_INIT;
		bool first = true;

		for (size_t j = 0; j < i; j++)
			first &= hw->devs[v->targets[j]].iommu_group != d->iommu_group;
		if (!first)
			continue;
		if (d->iommu_group < 0) {
			check_add(c, false, "group-isolated", "the IOMMU is not translating this device: is it active?",
				  "%s is in no IOMMU group", d->slot);
			continue;
		}
		for (size_t j = 0; j < hw->n_devs; j++) {
			const struct pci_function *o = &hw->devs[j];

			bool target = false;

			for (size_t t = 0; t < v->n_targets; t++)
				target |= v->targets[t] == j;
			/* Targets are checked by vfio-bound; here: endpoints that stay with the host. */
			if (o->iommu_group == d->iommu_group && !target && !pci_is_bridge(o) &&
			    !(o->driver && streq(o->driver, "vfio-pci")))
				strbuf_appendf(&others, "%s%s (%s)", others.len ? ", " : "", o->slot,
					       o->driver ? o->driver : "no driver");
		}
		if (others.len)
			check_add(c, false, "group-isolated",
				  "every endpoint of the group must go to the guest: pass those devices through too, or "
				  "move the card to a slot with a group of its own",
				  "IOMMU group %d of %s also holds %s, not bound to vfio-pci", d->iommu_group, d->slot,
				  strbuf_str(&others));
		else
			check_add(c, true, "group-isolated", NULL, "IOMMU group %d of %s holds only the passed devices "
				  "(and bridges)", d->iommu_group, d->slot);
	}
}

/* ---- vfio-pci's ids list ---- */

/* The list the running system gave vfio-pci: the booted command line's when it has one (it wins),
 * else the modprobe.d files' (the plan's view of them). */
static int running_ids(const struct ctx *ctx, const struct plan *plan, struct vfio_ids_origin *ret)
{
	_cleanup_free_ char *line = running_read(ctx->procfs, "cmdline");
	char path[4200];
	int k;

	*ret = (struct vfio_ids_origin){ 0 };
	if (line) {
		line[strcspn(line, "\n")] = '\0';
		k = vfio_cmdline_ids(line, &ret->key, &ret->list, &ret->count, NULL);
		if (k < 0)
			return k;
		if (k > 0) {
			ret->on_cmdline = true;
			snprintf(path, sizeof(path), "%s/cmdline", ctx->procfs);
			if (!(ret->file = strdup(path)))
				return -ENOMEM;
			return vfio_ids_invalid(ret->list, &ret->invalid);
		}
	}
	if (plan->ids.on_cmdline || !plan->ids.list)
		return 0;
	ret->list = strdup(plan->ids.list);
	ret->file = plan->ids.file ? strdup(plan->ids.file) : NULL;
	ret->line = plan->ids.line;
	if (!ret->list || (plan->ids.file && !ret->file))
		return -ENOMEM;
	return vfio_ids_invalid(ret->list, &ret->invalid);
}

/* The targets' ids are on the list vfio-pci got; its entries that are no ids are named. */
static void check_ids(struct checks *c, const struct vfio_ids_origin *o, const struct vfio_plan *v)
{
	_cleanup_strbuf_ struct strbuf missing = STRBUF_INIT;
	const char *from = o->on_cmdline ? "the booted command line" : o->file ? o->file : "modprobe.d";

	for (size_t i = 0; i < v->ids.n; i++)
		if (!o->list || !vfio_ids_has(o->list, v->ids.v[i]))
			strbuf_appendf(&missing, "%s%s", missing.len ? "," : "", v->ids.v[i]);
	if (v->ids.n && missing.len)
		check_add(c, false, "vfio-ids",
			  "the boot did not use the new configuration: check that the hooks ran (iommuctl show), then reboot",
			  "vfio-pci ids=%s from %s lacks %s", o->list ? o->list : "(none)", from, strbuf_str(&missing));
	else if (v->ids.n)
		check_add(c, true, "vfio-ids", NULL, "vfio-pci ids=%s from %s holds the targets' ids", o->list, from);
}

/* ---- the next boot: boot loader configuration and initramfs ---- */

/* The kernel line of grub.cfg's first menuentry (the default on Debian and Proxmox, which
 * set default="0"); NULL when there is none. */
static char *grub_default_linux(const char *cfg)
{
	bool in_entry = false;

	for (const char *l = cfg; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		const char *t = l + strspn(l, " \t");

		if (!in_entry && !strncmp(t, "menuentry ", 10))
			in_entry = true;
		else if (in_entry && (!strncmp(t, "linux ", 6) || !strncmp(t, "linux\t", 6) || !strncmp(t, "linuxefi ", 9)))
			return strndup(t, len - (size_t)(t - l));
		else if (in_entry && *t == '}')
			return NULL;
		l = end ? end + 1 : NULL;
	}
	return NULL;
}

static void check_boot_config(struct checks *c, const struct ctx *ctx, const struct planned *pl)
{
	struct file_state fs = { 0 };
	struct error e = { 0 };
	_cleanup_free_ char *line = NULL;

	if (!streq(pl->plan.boot.cmdline_file, "/etc/default/grub")) {
		printf("note: %s: the loader entries proxmox-boot-tool writes live on the ESPs, which are not "
		       "mounted; 'proxmox-boot-tool refresh' regenerates them\n", bootloader_name(pl->plan.boot.kind));
		return;
	}
	if (rootfs_read_file(ctx->root, "/boot/grub/grub.cfg", &fs, &e) < 0 || !fs.present) {
		check_add(c, false, "next-boot-grub", "run update-grub", "/boot/grub/grub.cfg %s",
			  fs.present ? "cannot be read" : "does not exist");
		file_state_clear(&fs);
		return;
	}
	line = grub_default_linux(fs.data);
	file_state_clear(&fs);
	if (!line) {
		check_add(c, false, "next-boot-grub", "run update-grub", "/boot/grub/grub.cfg has no menuentry with a linux line");
		return;
	}
	for (size_t i = 0; i < pl->profile->kernel_add.n; i++) {
		bool has = cmdline_has(line, pl->profile->kernel_add.v[i]);

		check_add(c, has, "next-boot-grub", "run update-grub (apply runs it unless --no-hooks)",
			  "the default grub entry %s %s", has ? "has" : "lacks", pl->profile->kernel_add.v[i]);
	}
	if (pl->plan.ids.on_cmdline && pl->plan.vfio.ids.n) {
		_cleanup_free_ char *want = NULL;
		bool has;

		if (asprintf(&want, "%s=%s", pl->plan.ids.key, pl->plan.ids.list) < 0) {
			c->oom = true;
			return;
		}
		has = cmdline_has(line, want);
		check_add(c, has, "next-boot-grub", "run update-grub (apply runs it unless --no-hooks)",
			  "the default grub entry %s %s", has ? "has" : "lacks", want);
	}
}

/* A modprobe.d file of the plan: the same bytes in the image as on disk. */
static void check_image_file(struct checks *c, const struct ctx *ctx, const struct initramfs *ir, const char *kernel,
			     const char *path)
{
	struct file_state fs = { 0 };
	struct error e = { 0 };
	const struct initramfs_entry *x = initramfs_find(ir, path);
	bool same;

	if (rootfs_read_file(ctx->root, path, &fs, &e) < 0 || !fs.present) {
		file_state_clear(&fs);
		return;
	}
	same = x && x->data && x->size == fs.len && !memcmp(x->data, fs.data, fs.len);
	check_add(c, same, "initramfs-file", "run update-initramfs -u -k all (apply runs it unless --no-hooks)",
		  "initrd.img-%s %s %s", kernel, !x ? "lacks" : same ? "has the current" : "has an older", path);
	file_state_clear(&fs);
}

static void check_initramfs(struct checks *c, struct ctx *ctx, const struct planned *pl)
{
	const struct profile *p = pl->profile;
	char **kernels = NULL;
	size_t n = 0;

	if (kmods_list_kernels(ctx->root, &kernels, &n, &ctx->err) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		_cleanup_(kmods_freep) struct kmods *km = NULL;
		struct initramfs ir = { 0 };
		struct error e = { 0 };
		char path[512];

		snprintf(path, sizeof(path), "/boot/initrd.img-%s", kernels[i]);
		if (initramfs_read(ctx->root, path, &ir, &e) < 0) {
			check_add(c, false, "initramfs", "run update-initramfs -u -k all", "%s", e.text);
			continue;
		}
		if (p->blacklist_add.n)
			check_image_file(c, ctx, &ir, kernels[i], p->blacklist_file);
		if (pl->plan.vfio.ids.n || pl->plan.vfio.override.n || pl->plan.vfio.softdeps.n)
			check_image_file(c, ctx, &ir, kernels[i], p->vfio_file);
		if (kmods_open(ctx->root, kernels[i], &km, &e) < 0)
			km = NULL;
		for (size_t m = 0; m < p->modules_add.n; m++) {
			const char *mod = p->modules_add.v[m];
			bool in = initramfs_find_module(&ir, mod) != NULL;

			/* A module the kernel does not have (vfio_virqfd on 6.12) cannot be in its image. */
			if (!in && km && kmods_has_module(km, mod) == 0)
				continue;
			check_add(c, in, "initramfs-module",
				  "list the VFIO modules in /etc/initramfs-tools/modules too, so that vfio-pci is there "
				  "before the GPU drivers the initramfs loads; then update-initramfs -u -k all",
				  "initrd.img-%s %s %s", kernels[i], in ? "has" : "lacks", mod);
		}
		initramfs_clear(&ir);
	}
	strv_free(kernels, n);
}

/* The booted command line predates the transaction when the machine has not booted since
 * it: the running boot is the one the transaction was recorded in. */
static bool applied_after_boot(const struct ctx *ctx, const struct txn_info *t)
{
	_cleanup_free_ char *stat = NULL;
	struct tm tm = { 0 };
	long long btime;
	const char *b;
	char now[37];

	if (t->boot_id[0] && hw_boot_id(ctx->procfs, now) == 0)
		return streq(now, t->boot_id);
	/* A transaction from before schema 5 has no boot id (nor one whose procfs had none):
	 * compare the boot time with its finish time. Both are whole seconds, so a boot in
	 * the same second as the apply counts as before it; that is the case the boot id
	 * settles exactly. */
	stat = running_read(ctx->procfs, "stat");
	b = stat ? strstr(stat, "\nbtime ") : NULL;
	if (!b || sscanf(b, "\nbtime %lld", &btime) != 1 || !t->finished_at[0] ||
	    !strptime(t->finished_at, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return false;
	return (long long)timegm(&tm) >= btime;
}

/* ---- output ---- */

static void print_checks(const struct checks *c, bool asked)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].next_boot && (i == 0 || !c->v[i - 1].next_boot))
			printf("%s\n", asked ? "the next boot (--next-boot):"
			       : "the running system booted before the last apply; the next boot gets:");
		printf("%s  %-22s %s\n", c->v[i].ok ? "pass" : "FAIL", c->v[i].id, c->v[i].message);
		if (!c->v[i].ok && c->v[i].hint)
			printf("      %-22s next: %s\n", "", c->v[i].hint);
	}
}

static void print_json(const struct checks *c, bool all_ok, const char *profile, const struct vfio_ids_origin *running,
		       const struct vfio_ids_origin *next)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	json_object_object_add(o, "ok", json_object_new_boolean(all_ok));
	json_object_object_add(o, "profile", json_object_new_string(profile));
	for (size_t i = 0; i < c->n; i++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "id", json_object_new_string(c->v[i].id));
		json_object_object_add(x, "ok", json_object_new_boolean(c->v[i].ok));
		json_object_object_add(x, "message", json_object_new_string(c->v[i].message ? c->v[i].message : ""));
		json_object_object_add(x, "hint", c->v[i].hint ? json_object_new_string(c->v[i].hint) : NULL);
		json_object_object_add(x, "next_boot", json_object_new_boolean(c->v[i].next_boot));
		json_object_array_add(a, x);
	}
	json_object_object_add(o, "checks", a);
	json_object_object_add(o, "vfio_ids", json_vfio_ids(running));
	json_object_object_add(o, "next_boot_vfio_ids", json_vfio_ids(next));
	output_json(o);
	json_object_put(o);
}

/* The last apply that is committed and not undone, with the --device values its note kept. */
static int last_applied(struct ctx *ctx, struct txn_info *ret)
{
	struct txn_info *v = NULL;
	size_t n = 0;
	int k = -ENOENT;

	if (!ctx->journal || journal_txn_list(ctx->journal, 0, &v, &n, &ctx->err) < 0)
		return ctx->journal ? -EIO : -ENOENT;
	for (size_t i = 0; i < n && k == -ENOENT; i++) {
		int64_t undone = 0;

		if (!streq(v[i].kind, "apply") || !streq(v[i].state, "committed") || !v[i].profile)
			continue;
		if (journal_undone_by(ctx->journal, v[i].id, &undone, &ctx->err) < 0)
			k = -EIO;
		else if (!undone) {
			*ret = v[i];
			memset(&v[i], 0, sizeof(v[i]));
			k = 0;
		}
	}
	for (size_t i = 0; i < n; i++)
		txn_info_clear(&v[i]);
	free(v);
	return k;
}

/* apply notes "--device SLOT" for each device it was given; verify chooses the same ones. */
static void devices_from_note(struct ctx *ctx, char *note)
{
	char *save = NULL;
	bool next = false;

	for (char *w = note ? strtok_r(note, " ", &save) : NULL; w; w = strtok_r(NULL, " ", &save)) {
		if (next && ctx->n_devices < ARRAY_SIZE(ctx->devices))
			ctx->devices[ctx->n_devices++] = w;
		next = streq(w, "--device");
	}
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	struct txn_info last = { 0 };
	struct vfio_ids_origin ids = { 0 };
	struct planned pl = { 0 };
	struct checks c = { 0 };
	const char *name;
	bool all_ok = true;
	int k;

	if (args->argc) {
		name = args->argv[0];
	} else {
		k = last_applied(ctx, &last);
		if (k == -ENOENT) {
			error_set(&ctx->err, EXIT_USAGE, "no profile has been applied to %s; name the profile to verify "
				  "(iommuctl verify PROFILE)", ctx->root->path);
			return ctx_fail(ctx);
		}
		if (k < 0)
			return ctx_fail(ctx);
		name = last.profile;
		if (!ctx->n_devices)
			devices_from_note(ctx, last.note);
	}
	if (planned_make(ctx, name, &pl) < 0) {
		txn_info_clear(&last);
		return ctx_fail(ctx);
	}
	check_cmdline(&c, ctx, pl.profile);
	check_iommu(&c, &pl.hw, pl.plan.vfio.n_targets > 0);
	check_modules(&c, ctx, pl.profile);
	check_modload(&c, ctx);
	check_devices(&c, &pl.hw, &pl.plan.vfio);
	if (running_ids(ctx, &pl.plan, &ids) < 0)
		c.oom = true;
	else
		check_ids(&c, &ids, &pl.plan.vfio);
	if (ctx->next_boot || (last.id && applied_after_boot(ctx, &last))) {
		c.next_boot = true;
		check_boot_config(&c, ctx, &pl);
		check_initramfs(&c, ctx, &pl);
	}
	if (c.oom) {
		error_set(&ctx->err, EXIT_IO, "out of memory");
		k = ctx_fail(ctx);
	} else {
		for (size_t i = 0; i < c.n; i++)
			all_ok &= c.v[i].ok;
		if (ctx->json) {
			print_json(&c, all_ok, name, &ids, &pl.plan.ids);
		} else {
			print_checks(&c, ctx->next_boot);
			print_vfio_ids(&ids, "");
		}
		if (!ctx->json && pl.plan.n_changes)
			printf("note: the files do not yet say everything profile %s intends ('iommuctl plan %s')\n",
			       name, name);
		k = all_ok ? 0 : EXIT_CHECK_FAILED;
	}
	checks_clear(&c);
	vfio_ids_origin_clear(&ids);
	planned_clear(&pl);
	txn_info_clear(&last);
	return k;
}

static const struct option options[] = {
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "next-boot", no_argument, NULL, OPT_NEXT_BOOT },
	{ 0 },
};

const struct cmd cmd_verify = {
	.name = "verify",
	.synopsis = "[--next-boot] [--device SLOT]... [PROFILE]",
	.summary = "check the running system against the last applied (or the named) profile",
	.help = "From sysfs and procfs only: the booted command line has the profile's parameters, an\n"
		"IOMMU is active with groups and interrupt remapping, the profile's modules are loaded\n"
		"and its blacklisted ones are not, each target function is bound to vfio-pci and its\n"
		"group holds nothing else. With --next-boot, or by itself when the machine booted before\n"
		"the last apply: the default grub entry carries the parameters and each installed kernel's\n"
		"initramfs holds the profile's modprobe.d files and modules. One line per check; exit 1\n"
		"when one fails.\n\n"
		"  --next-boot    also check what the next boot gets\n" PLANNING_OPTIONS_HELP,
	.options = options,
	.min_args = 0,
	.max_args = 1,
	.flags = CMD_READS_JOURNAL,
	.run = run,
};
