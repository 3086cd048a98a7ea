/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan-vfio.c — the vfio-pci ids planning: where the next boot's ids= list is (the command line's
 *  list vs modprobe.d) and the vfio-pci options line, softdeps and install line in modprobe.d.
 *  Owns: plan-vfio.h. Must not: write anything, include plan.h, or decide the targets
 *  (safety.c's vfio_plan_make() does). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "findings.h"
#include "grubfile.h"
#include "macros.h"
#include "modfile.h"
#include "plan-vfio.h"
#include "plan-ws.h"
#include "strbuf.h"
#include "vfioids.h"

/* The install command that binds devices by address: kmod runs it (through sh) instead of
 * loading vfio-pci, which happens first whenever a softdep "pre: vfio-pci" of a GPU or audio
 * driver fires — so driver_override is set before any driver can claim the device, the way
 * driverctl's overrides are in place before drivers probe. Addresses are checked hex, so the
 * line holds nothing the shell could read as more than words. */
static int override_command(const struct strv *addrs, char **ret)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	strbuf_appends(&sb, "for d in");
	for (size_t i = 0; i < addrs->n; i++)
		strbuf_appendf(&sb, " %s", addrs->v[i]);
	strbuf_appends(&sb, "; do [ -e /sys/bus/pci/devices/$d/driver_override ] && echo vfio-pci > "
			    "/sys/bus/pci/devices/$d/driver_override; done; exec /sbin/modprobe --ignore-install "
			    "vfio-pci $CMDLINE_OPTS");
	if (!sb.buf)
		return -ENOMEM;
	*ret = strbuf_steal(&sb);
	return 0;
}

/* A modprobe.d "options vfio-pci ids=" that the command line's list overrides takes nothing. */
static int shadowed_ids_check(struct workspace *w, const struct vfio_ids_origin *ids, struct finding **f, size_t *nf)
{
	_cleanup_modfile_config_ struct modfile_config *cfg = NULL;
	_cleanup_free_ char *dead = NULL;
	const struct modfile_entry *where = NULL;
	int k = ws_modprobe_config(w, NULL, &cfg);

	if (k < 0)
		return k;
	k = modfile_config_get_param(cfg, "vfio_pci", "ids", &dead, &where);
	if (k <= 0 || !where)
		return k;
	return finding_add(f, nf, FINDING_WARNING, "vfio-ids-shadowed",
			   "remove ids= from that options line: the command line's list is the one vfio-pci gets",
			   "%s:%u sets vfio-pci ids=%s, but the kernel command line's %s= comes after it and wins; "
			   "those ids take nothing", where->source, where->line, dead ? dead : "",
			   ids->key ? ids->key : "vfio-pci.ids");
}

/* Returns 1 when the ids are not to go to modprobe.d: the command line holds the list (plan_cmdline()
 * has put the targets on it). */
static int vfio_ids_checks(struct workspace *w, const char *cmdline, const char *file,
			   const struct vfio_ids_origin *ids, struct finding **f, size_t *nf)
{
	_cleanup_modfile_config_ struct modfile_config *cfg = NULL;
	_cleanup_free_ char *current = NULL;
	const struct modfile_entry *where = NULL;
	int k;

	if (ids->on_cmdline)
		return shadowed_ids_check(w, ids, f, nf) < 0 ? -ENOMEM : 1;
	k = ws_modprobe_config(w, cmdline, &cfg);
	if (k < 0)
		return k;
	k = modfile_config_get_param(cfg, "vfio_pci", "ids", &current, &where);
	if (k > 0 && where && !streq(where->source, file))
		k = finding_add(f, nf, FINDING_WARNING, "vfio-ids-elsewhere",
				"remove that options line so that one file says which devices vfio-pci takes",
				"%s:%u also sets vfio-pci ids=%s; kmod joins both and the later one wins",
				where->source, where->line, current ? current : "");
	return k < 0 ? k : 0;
}

/* One edit of the vfio file's text; the editors' refusals name the file and line. */
static int vfio_edit(const struct rootfs *r, struct ws_file *target, const char *file, int k, char *text,
		     const struct modfile_error *me, struct error *e)
{
	if (k == -EBADMSG) {
		free(text);
		return ws_modprobe_refusal(r, file, me, e);
	}
	if (k > 0)
		ws_set(target, text);
	else
		free(text);
	return k < 0 ? k : 0;
}

int plan_vfio(const struct rootfs *r, struct workspace *w, const struct profile *p, const struct vfio_plan *v,
	      const char *cmdline, const struct vfio_ids_origin *ids, struct finding **f, size_t *nf, struct error *e)
{
	_cleanup_strbuf_ struct strbuf opts = STRBUF_INIT;
	const char *file = p->vfio_file ? p->vfio_file : PROFILE_DEFAULT_VFIO_FILE;
	struct modfile_error me = { 0 };
	struct ws_file *target;
	char *text = NULL;
	int k = 0;

	if (!v->ids.n && !v->override.n && !v->softdeps.n)
		return 0;
	if (!(target = ws_get(w, file)))
		return -ENOMEM;
	/* 1 from the checks: the command line holds the list (with the targets); softdeps,
	 * overrides and disable_vga still go to modprobe.d. */
	if (v->ids.n && (k = vfio_ids_checks(w, cmdline, file, ids, f, nf)) >= 0) {
		if (k == 0) {
			strbuf_appends(&opts, "ids=");
			for (size_t i = 0; i < v->ids.n; i++)
				strbuf_appendf(&opts, "%s%s", i ? "," : "", v->ids.v[i]);
		}
		if (v->disable_vga == 1)
			strbuf_appendf(&opts, "%sdisable_vga=1", k == 0 ? " " : "");
		k = opts.len ? modfile_set_options(ws_text(target), "vfio-pci", opts.buf, &text, &me) : 0;
		k = opts.len ? vfio_edit(r, target, file, k, text, &me, e) : 0;
	}
	if (k < 0)
		return k;
	k = 0;
	for (size_t i = 0; k == 0 && i < v->softdeps.n; i++) {
		k = modfile_add_softdep(ws_text(target), v->softdeps.v[i], "vfio-pci", NULL, &text, &me);
		k = vfio_edit(r, target, file, k, text, &me, e);
	}
	if (k == 0 && v->override.n) {
		_cleanup_free_ char *cmd = NULL;

		if ((k = override_command(&v->override, &cmd)) == 0) {
			k = modfile_set_install(ws_text(target), "vfio-pci", cmd, &text, &me);
			k = vfio_edit(r, target, file, k, text, &me, e);
		}
	}
	return k;
}

void vfio_ids_origin_clear(struct vfio_ids_origin *o)
{
	free(o->list);
	free(o->key);
	free(o->file);
	strv_clear(&o->invalid);
	memset(o, 0, sizeof(*o));
}

/* Which grub assignment wrote the byte at offset of "LINUX DEFAULT" as ws_grub_cmdline() joins them. */
static int grub_ids_where(struct workspace *w, size_t offset, struct vfio_ids_origin *o)
{
	struct grub_file files[64];
	struct ws_file *owners[64];
	struct cmdline_error ce = { 0 };
	_cleanup_free_ char *def = NULL, *lin = NULL;
	size_t n = ws_grub_files(w, files, owners, ARRAY_SIZE(files)), fi = 0, len;
	bool in_linux;
	int k;

	if (!n)
		return -ENOMEM;
	k = grub_read_cmdline(files, n, &def, &lin, &ce);
	if (k < 0)
		return k == -ENOMEM ? k : 0;
	len = strlen(lin);
	in_linux = offset < len;
	if (!in_linux)
		offset -= len + (len && *def);
	o->variable = in_linux ? "GRUB_CMDLINE_LINUX" : "GRUB_CMDLINE_LINUX_DEFAULT";
	k = grub_cmdline_where(files, n, in_linux, offset, &fi, &o->line, &ce);
	if (k == -ENOMEM)
		return k;
	return (o->file = strdup(k > 0 ? files[fi].name : GRUB_MAIN)) ? 0 : -ENOMEM;
}

/* The list on the next boot's command line, if it has one, and the file (and variable) that sets it. */
int plan_ids_origin_cmdline(struct workspace *w, const char *cmdline, bool grub, struct vfio_ids_origin *o)
{
	size_t at = 0;
	int k;

	vfio_ids_origin_clear(o);
	if (!cmdline)
		return 0;
	k = vfio_cmdline_ids(cmdline, &o->key, &o->list, &o->count, &at);
	if (k <= 0)
		return k;
	o->on_cmdline = true;
	if (grub)
		return grub_ids_where(w, at, o);
	o->line = 1;
	return (o->file = strdup(KERNEL_CMDLINE)) ? 0 : -ENOMEM;
}

/* Without one on the command line: the list modprobe.d gives, after the plan's edits. */
int plan_ids_origin_modprobe(struct workspace *w, struct vfio_ids_origin *o)
{
	_cleanup_modfile_config_ struct modfile_config *cfg = NULL;
	const struct modfile_entry *where = NULL;
	int k;

	if (o->on_cmdline)
		return 0;
	k = ws_modprobe_config(w, NULL, &cfg);
	if (k == 0)
		k = modfile_config_get_param(cfg, "vfio_pci", "ids", &o->list, &where);
	if (k > 0 && where) {
		o->line = where->line;
		if (!(o->file = strdup(where->source)))
			return -ENOMEM;
	}
	return k < 0 ? k : 0;
}

/* What vfio-pci makes of an entry that is not vendor:device (vfio_pci_fill_ids()'s sscanf). */
static void entry_reading(const char *entry, char *buf, size_t size)
{
	unsigned v = 0, d = 0, f[4];
	int n = sscanf(entry, "%x:%x:%x:%x:%x:%x", &v, &d, &f[0], &f[1], &f[2], &f[3]);

	if (n >= 2)
		snprintf(buf, size, "vfio-pci reads it as the id %04x:%04x and takes whatever that matches", v & 0xffff,
			 d & 0xffff);
	else
		snprintf(buf, size, "vfio-pci skips it (\"invalid id string\" in the kernel log)");
}

int plan_ids_findings(struct vfio_ids_origin *o, struct finding **f, size_t *nf)
{
	char where[4200] = "", reading[160];
	int k = 0;

	if (!o->list)
		return 0;
	if (o->file && o->variable)
		snprintf(where, sizeof(where), "%s:%u (%s)", o->file, o->line, o->variable);
	else if (o->file)
		snprintf(where, sizeof(where), "%s:%u", o->file, o->line);
	if ((k = vfio_ids_invalid(o->list, &o->invalid)) < 0)
		return k;
	for (size_t i = 0; k == 0 && i < o->invalid.n; i++) {
		entry_reading(o->invalid.v[i], reading, sizeof(reading));
		k = finding_add(f, nf, FINDING_WARNING, "vfio-ids-not-ids",
				"ids= takes vendor:device pairs as lspci -nn shows them, e.g. 10de:1b80; to bind one "
				"device by its address, give it to the gpu profile (--device SLOT) or list it under "
				"[vfio-pci] devices in a local profile, and drop the entry",
				"%s: vfio-pci ids entry '%s' is not vendor:device%s: %s", where, o->invalid.v[i],
				strchr(o->invalid.v[i], '.') ? " (it looks like a PCI address)" : "", reading);
	}
	if (k == 0 && o->on_cmdline && o->count > 1)
		k = finding_add(f, nf, FINDING_WARNING, "vfio-ids-repeated",
				"join them into one list",
				"the kernel command line has %u vfio-pci ids lists; only the last counts (%s=%s, %s), "
				"the others take nothing", o->count, o->key, o->list, where);
	return k;
}
