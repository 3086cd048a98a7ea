/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan.c — compute what applying a profile changes, with the pure editors; nothing is written.
 *  Owns: plan_make(), plan_vfio_ids() and the command line, /etc/modules, blacklist and hook parts of a
 *  plan. Must not: write anything, or hold the vfio-pci ids planning (plan-vfio.c) or the workspace
 *  (plan-ws.c). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmdline.h"
#include "console-gpu.h"
#include "grubfile.h"
#include "hooks.h"
#include "managed.h"
#include "modfile.h"
#include "modload.h"
#include "plan.h"
#include "safety.h"
#include "strbuf.h"
#include "vfioids.h"

static const char **strv_terminated(const struct strv *s)
{
	const char **v = calloc(s->n + 1, sizeof(char *));

	for (size_t i = 0; v && i < s->n; i++)
		v[i] = s->v[i];
	return v;
}

static int cmdline_refusal(const struct rootfs *r, const struct cmdline_error *ce, const char *fallback_file,
			   struct error *e)
{
	char shown[4096];
	const char *file = ce->file ? ce->file : fallback_file;

	rootfs_display(r, file, shown, sizeof(shown));
	if (ce->line)
		return error_set(e, EXIT_BAD_INPUT, "%s:%u: %s; iommuctl edits only what it can read exactly: "
				 "simplify that line by hand, then run the command again", shown, ce->line, ce->message);
	return error_set(e, EXIT_BAD_INPUT, "%s: %s", shown, ce->message);
}

static int edit_grub(const struct rootfs *r, struct workspace *w, const char **add, const char **rm,
		     struct error *e)
{
	struct cmdline_error ce = { 0 };
	struct grub_file files[64];
	struct ws_file *owners[64];
	char **texts = NULL;
	size_t n;
	int k;

	n = ws_grub_files(w, files, owners, ARRAY_SIZE(files));
	if (!n)
		return -ENOMEM;
	k = grub_edit_cmdline(files, n, add, rm, &texts, &ce);
	if (k < 0)
		return k == -ENOMEM ? k : (cmdline_refusal(r, &ce, GRUB_MAIN, e), -EBADMSG);
	for (size_t i = 0; i < n; i++)
		if (texts[i]) {
			ws_set(owners[i], texts[i]);
			texts[i] = NULL;
		}
	grub_texts_free(texts, n);
	return 0;
}

/* /etc/kernel/cmdline is one line; proxmox-boot-tool and kernel-install read exactly that. */
static int edit_kernel_cmdline(const struct rootfs *r, struct workspace *w, const char **add, const char **rm,
			       struct error *e)
{
	_cleanup_free_ char *line = NULL, *edited = NULL;
	struct ws_file *f = ws_get(w, KERNEL_CMDLINE);
	struct cmdline_error ce = { 0 };
	char shown[4096], *text;
	const char *old, *nl;
	size_t len;
	int k;

	if (!f)
		return -ENOMEM;
	rootfs_display(r, KERNEL_CMDLINE, shown, sizeof(shown));
	if (!f->before.present)
		return error_set(e, EXIT_BAD_INPUT, "%s does not exist, but the boot loader reads the kernel command "
				 "line from it; write the current one there (without BOOT_IMAGE=), then run the command again",
				 shown), -ENOENT;
	old = ws_text(f);
	len = strlen(old);
	nl = memchr(old, '\n', len);
	if (nl && old + len > nl + 1 && strspn(nl + 1, "\n") != strlen(nl + 1))
		return error_set(e, EXIT_BAD_INPUT, "%s:2: the file has more than one line, but only the first is the "
				 "command line; join them into one line, then run the command again", shown), -EBADMSG;
	line = strndup(old, nl ? (size_t)(nl - old) : len);
	if (!line)
		return -ENOMEM;
	k = cmdline_edit(line, add, rm, &edited, &ce);
	if (k < 0)
		return k == -ENOMEM ? k : (cmdline_refusal(r, &ce, KERNEL_CMDLINE, e), -EBADMSG);
	if (asprintf(&text, "%s%s", edited, nl ? nl : "") < 0)
		return -ENOMEM;
	ws_set(f, text);
	return 0;
}

/* The fix for a line systemd-modules-load looks up whole: parameters (words with '=') go to an
 * options line in modprobe.d, further names to lines of their own. */
static char *broken_line_fix(const char *text)
{
	_cleanup_strbuf_ struct strbuf params = STRBUF_INIT, names = STRBUF_INIT, out = STRBUF_INIT;
	_cleanup_free_ char *copy = strdup(text);
	char *save = NULL, *first;

	if (!copy || !(first = strtok_r(copy, " \t", &save)))
		return NULL;
	for (char *w = strtok_r(NULL, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		strbuf_appendf(strchr(w, '=') ? &params : &names, " %s", w);
	if (params.len)
		strbuf_appendf(&out, "its parameters belong in a file in /etc/modprobe.d, as 'options %s%s'; ", first,
			       strbuf_str(&params));
	if (names.len)
		strbuf_appendf(&out, "put each module on a line of its own (%s%s); ", first, strbuf_str(&names));
	strbuf_appendf(&out, "then the line '%s' alone loads %s", first, first);
	return out.buf ? strbuf_steal(&out) : NULL;
}

static int broken_line_finding(const struct rootfs *r, const char *file, unsigned line, const char *name,
			       struct plan *out)
{
	_cleanup_free_ char *fix = broken_line_fix(name);
	char shown[4096];

	if (!fix)
		return -ENOMEM;
	return finding_add(&out->findings, &out->n_findings, FINDING_WARNING, "modules-line-not-loaded", fix,
			   "%s:%u: systemd-modules-load looks up '%s' as one module name and loads nothing",
			   rootfs_display(r, file, shown, sizeof(shown)), line, name);
}

/* DESIGN.md §5: every line systemd-modules-load reads whole and cannot load is a warning that
 * names the file and line, what systemd does with it, and the fix. /etc/modules is read from
 * the plan's own copy, also where no modules-load.d link leads to it (a root without systemd's
 * files installed); the other files as systemd finds them. */
static int broken_line_findings(const struct rootfs *r, const struct modload *ml, const char *etc_modules,
				struct plan *out)
{
	struct modfile_modules_line *lines = NULL;
	size_t n = 0;
	int k = modfile_modules_read(etc_modules, &lines, &n);

	for (size_t i = 0; k == 0 && i < n; i++)
		if (lines[i].broken)
			k = broken_line_finding(r, ETC_MODULES, lines[i].line, lines[i].name, out);
	modfile_modules_lines_free(lines, n);
	for (size_t i = 0; k == 0 && i < ml->n_lines; i++)
		if (ml->lines[i].broken && !streq(ml->lines[i].file, ETC_MODULES))
			k = broken_line_finding(r, ml->lines[i].file, ml->lines[i].line, ml->lines[i].name, out);
	return k;
}

static int plan_modules(const struct rootfs *r, struct workspace *w, const struct profile *p, struct plan *out,
			struct error *e)
{
	_cleanup_modload_ struct modload *ml = NULL;
	char shown[4096];
	struct ws_file *f;
	int k = 0;

	if (!p->modules_add.n && !p->modules_remove.n)
		return 0;
	if (!(f = ws_get(w, ETC_MODULES)))
		return -ENOMEM;
	/* What already loads at boot, from files iommuctl reads but does not manage. */
	k = modload_read(r, out->effective_cmdline, &ml, e);
	if (k < 0)
		return k == -ENOMEM ? k : -EIO;
	for (size_t i = 0; k >= 0 && i < p->modules_add.n + p->modules_remove.n; i++) {
		struct modfile_error me = { 0 };
		bool adding = i < p->modules_add.n;
		const char *m = adding ? p->modules_add.v[i] : p->modules_remove.v[i - p->modules_add.n];
		/* Already on a line of its own in /etc/modules: the editor keeps it, nothing to say. */
		const struct modload_line *elsewhere =
			adding && modfile_modules_has(ws_text(f), m) != 1 ? modload_find(ml, m, ETC_MODULES) : NULL;
		char *text = NULL;

		if (elsewhere) {
			k = elsewhere->line
				    ? finding_add(&out->findings, &out->n_findings, FINDING_INFO, "module-loaded-elsewhere",
						  NULL, "%s already loads at boot from %s:%u; not adding it to %s", m,
						  rootfs_display(r, elsewhere->file, shown, sizeof(shown)), elsewhere->line,
						  ETC_MODULES)
				    : finding_add(&out->findings, &out->n_findings, FINDING_INFO, "module-loaded-elsewhere",
						  NULL, "%s already loads at boot from %s; not adding it to %s", m,
						  elsewhere->file, ETC_MODULES);
			continue;
		}
		k = adding ? modfile_modules_add(ws_text(f), m, &text, &me)
			   : modfile_modules_remove(ws_text(f), m, &text, &me);
		if (k == -EBADMSG)
			return error_set(e, EXIT_BAD_INPUT, "%s:%u: %s; fix that line by hand, then run the command again",
					 rootfs_display(r, ETC_MODULES, shown, sizeof(shown)), me.line, me.reason), k;
		if (k > 0)
			ws_set(f, text);
		else
			free(text);
	}
	if (k >= 0)
		k = broken_line_findings(r, ml, f->before.present ? f->before.data : "", out);
	/* Debian's systemd package ships the link; without it systemd never reads /etc/modules. */
	if (k >= 0 && p->modules_add.n && ml->has_modules_load && !ml->etc_modules_read)
		k = finding_add(&out->findings, &out->n_findings, FINDING_WARNING, "etc-modules-not-read",
				"restore Debian's link: ln -s ../modules /etc/modules-load.d/modules.conf",
				"systemd-modules-load does not read %s: no file in modules-load.d links to it, so the "
				"modules listed there do not load at boot", rootfs_display(r, ETC_MODULES, shown, sizeof(shown)));
	return k < 0 ? k : 0;
}

static int plan_blacklist(const struct rootfs *r, struct workspace *w, const struct profile *p, const char *cmdline,
			  struct plan *out, struct error *e)
{
	_cleanup_modfile_config_ struct modfile_config *cfg = NULL;
	struct ws_file *target;
	int k;

	if (!p->blacklist_add.n && !p->blacklist_remove.n)
		return 0;
	k = ws_modprobe_config(w, cmdline, &cfg);
	if (k < 0)
		return k;
	target = ws_get(w, p->blacklist_file ? p->blacklist_file : PROFILE_DEFAULT_BLACKLIST_FILE);
	if (!target)
		return -ENOMEM;
	for (size_t i = 0; i < p->blacklist_add.n; i++) {
		const struct modfile_entry *hit = modfile_config_find_blacklist(cfg, p->blacklist_add.v[i]);
		struct modfile_error me = { 0 };
		char *text = NULL;

		if (hit) {
			k = hit->line ? finding_add(&out->findings, &out->n_findings, FINDING_INFO, "already-blacklisted",
						    NULL, "%s is already blacklisted in %s:%u; not adding it again",
						    p->blacklist_add.v[i], hit->source, hit->line)
				      : finding_add(&out->findings, &out->n_findings, FINDING_INFO, "already-blacklisted",
						    NULL, "%s is already blacklisted on the kernel command line "
						    "(modprobe.blacklist=); not adding it again", p->blacklist_add.v[i]);
			if (k < 0)
				return k;
			continue;
		}
		k = modfile_add_blacklist(ws_text(target), p->blacklist_add.v[i], &text, &me);
		if (k == -EBADMSG)
			return ws_modprobe_refusal(r, target->path, &me, e);
		if (k < 0)
			return k;
		if (k > 0)
			ws_set(target, text);
		else
			free(text);
	}
	/* A removal must reach every file that blacklists the module, or it stays blacklisted. */
	for (size_t i = 0; i < p->blacklist_remove.n; i++)
		for (size_t j = 0; j < w->n; j++) {
			struct modfile_error me = { 0 };
			char *text = NULL;

			if (!ws_is_modprobe_file(&w->v[j]) || (!w->v[j].before.present && !w->v[j].text))
				continue;
			k = modfile_remove_blacklist(ws_text(&w->v[j]), p->blacklist_remove.v[i], &text, &me);
			if (k == -EBADMSG)
				return ws_modprobe_refusal(r, w->v[j].path, &me, e);
			if (k < 0)
				return k;
			if (k > 0)
				ws_set(&w->v[j], text);
			else
				free(text);
		}
	return 0;
}

static bool ws_changed(const struct ws_file *f)
{
	if (!f->text)
		return false;
	if (!f->before.present)
		return true;
	return f->len != f->before.len || memcmp(f->text, f->before.data, f->len) != 0;
}

/* The editors work on C strings: a NUL byte would cut the file short on the rewrite. A file
 * with one is not a text file iommuctl should edit, so the plan stops, naming its line. */
static int refuse_binary_edits(const struct rootfs *r, struct workspace *w, struct error *e)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct ws_file *f = &w->v[i];
		const char *nul;
		char shown[4096];
		unsigned line = 1;

		if (!ws_changed(f) || !f->before.present || !(nul = memchr(f->before.data, '\0', f->before.len)))
			continue;
		for (const char *c = f->before.data; c < nul; c++)
			line += *c == '\n';
		rootfs_display(r, f->path, shown, sizeof(shown));
		return error_set(e, EXIT_BAD_INPUT,
				 "%s:%u: a NUL byte: this is not a text file, and iommuctl edits text files only; "
				 "restore the file from a backup (iommuctl history, dpkg) or remove the byte, then run "
				 "the command again", shown, line), -EBADMSG;
	}
	return 0;
}

static int collect_changes(struct workspace *w, struct plan *out)
{
	for (size_t i = 0; i < w->n; i++) {
		struct ws_file *f = &w->v[i];
		struct file_change *c, *nv;

		if (!ws_changed(f))
			continue;
		nv = realloc(out->changes, (out->n_changes + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		out->changes = nv;
		c = &nv[out->n_changes++];
		memset(c, 0, sizeof(*c));
		c->path = strdup(f->path);
		if (!c->path || file_state_copy(&c->before, &f->before) < 0)
			return -ENOMEM;
		/* A new file gets what Debian's own files in /etc have: 0644 root:root. */
		c->after.mode = f->before.present ? f->before.mode : 0644;
		c->after.uid = f->before.present ? f->before.uid : 0;
		c->after.gid = f->before.present ? f->before.gid : 0;
		file_state_set_content(&c->after, TAKE_PTR(f->text), f->len);
	}
	return 0;
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const struct file_change *)a)->path, ((const struct file_change *)b)->path);
}

int plan_hooks_for(const struct bootloader *boot, const struct file_change *changes, size_t n, struct strv *hooks,
		   bool *ret_cmdline_unrefreshed)
{
	bool cmdline = false, initramfs = false;
	int k = 0;

	for (size_t i = 0; i < n; i++) {
		const char *path = changes[i].path;

		if (streq(path, boot->cmdline_file) ||
		    (streq(boot->cmdline_file, GRUB_MAIN) && strncmp(path, GRUB_DROPIN_DIR, strlen(GRUB_DROPIN_DIR)) == 0))
			cmdline = true;
		if (streq(path, ETC_MODULES) || strncmp(path, MODPROBE_DIR, strlen(MODPROBE_DIR)) == 0)
			initramfs = true;
	}
	/* The initramfs first: proxmox-boot-tool refresh copies it to the ESPs. */
	if (initramfs)
		k = strv_add(hooks, HOOK_UPDATE_INITRAMFS);
	if (k == 0 && cmdline && boot->refresh_hook)
		k = strv_add(hooks, boot->refresh_hook);
	if (ret_cmdline_unrefreshed)
		*ret_cmdline_unrefreshed = cmdline && !boot->refresh_hook;
	return k;
}

static int choose_hooks(struct plan *out)
{
	bool unrefreshed = false;
	int k = plan_hooks_for(&out->boot, out->changes, out->n_changes, &out->hooks, &unrefreshed);

	if (k == 0 && unrefreshed)
		k = finding_add(&out->findings, &out->n_findings, FINDING_WARNING, "no-refresh-hook",
				"run `kernel-install add KERNEL-VERSION /boot/vmlinuz-KERNEL-VERSION` for each installed kernel",
				"systemd-boot without proxmox-boot-tool: the boot entries take the new command line only "
				"when they are regenerated");
	return k;
}

/* DESIGN.md §7: parameters in a file the boot loader in use does not read do nothing. */
static int check_unread_file(struct workspace *w, const struct profile *p, struct plan *out)
{
	bool grub_in_use = streq(out->boot.cmdline_file, GRUB_MAIN);
	_cleanup_free_ char *other = NULL;
	struct cmdline_error ce = { 0 };
	struct ws_file *f;

	if (grub_in_use) {
		f = ws_find(w, KERNEL_CMDLINE);
		if (!f || !f->before.present)
			return 0;
		other = strndup(f->before.data, strcspn(f->before.data, "\n"));
	} else {
		f = ws_find(w, GRUB_MAIN);
		if (!f || !f->before.present || ws_grub_cmdline(w, &other, &ce) < 0)
			return 0;
	}
	for (size_t i = 0; other && i < p->kernel_add.n; i++) {
		_cleanup_free_ char *key = strndup(p->kernel_add.v[i], strcspn(p->kernel_add.v[i], "="));

		if (key && cmdline_has(other, key))
			return finding_add(&out->findings, &out->n_findings, FINDING_WARNING, "cmdline-in-unread-file",
					   "keep the parameters in the file the boot loader reads; the other one is ignored",
					   "%s also sets %s, but %s does not read it (%s)",
					   grub_in_use ? KERNEL_CMDLINE : GRUB_MAIN, key, bootloader_name(out->boot.kind),
					   out->boot.reason);
	}
	return 0;
}

static int copy_findings(const struct profile *p, struct plan *out)
{
	for (size_t i = 0; i < p->n_findings; i++) {
		const struct finding *f = &p->findings[i];
		int k = finding_add(&out->findings, &out->n_findings, f->severity, f->id, f->hint, "%s", f->message);

		if (k < 0)
			return k;
	}
	return 0;
}

static int next_boot_cmdline(struct workspace *w, struct plan *out)
{
	struct cmdline_error ce = { 0 };
	struct ws_file *f;

	if (streq(out->boot.cmdline_file, GRUB_MAIN))
		return ws_grub_cmdline(w, &out->effective_cmdline, &ce) == -ENOMEM ? -ENOMEM : 0;
	f = ws_find(w, KERNEL_CMDLINE);
	if (f && (f->text || f->before.present))
		out->effective_cmdline = strndup(ws_text(f), strcspn(ws_text(f), "\n"));
	return 0;
}

static bool boots_grub(const struct plan *out)
{
	return streq(out->boot.cmdline_file, GRUB_MAIN);
}

/* Forget the plan's edits of the files the boot loader reads the command line from. */
static void cmdline_files_reset(struct workspace *w, bool grub)
{
	for (size_t i = 0; i < w->n; i++) {
		struct ws_file *f = &w->v[i];
		bool ours = grub ? streq(f->path, GRUB_MAIN) ||
					   strncmp(f->path, GRUB_DROPIN_DIR, strlen(GRUB_DROPIN_DIR)) == 0
				 : streq(f->path, KERNEL_CMDLINE);

		if (ours) {
			free(f->text);
			f->text = NULL;
			f->len = 0;
		}
	}
}

static int edit_cmdline(const struct rootfs *r, struct workspace *w, const struct plan *out, const struct strv *add,
			const struct strv *rm, struct error *e)
{
	_cleanup_free_ const char **a = strv_terminated(add);
	_cleanup_free_ const char **d = strv_terminated(rm);

	if (!a || !d)
		return -ENOMEM;
	if (!add->n && !rm->n)
		return 0;
	return boots_grub(out) ? edit_grub(r, w, a, d, e) : edit_kernel_cmdline(r, w, a, d, e);
}

static bool is_ids_param(const char *param)
{
	static const char ids[] = "vfio_pci.ids";

	return cmdline_key_equal(param, strcspn(param, "="), ids, strlen(ids));
}

/* The profile's parameters, the profile's vfio-pci ids list left out. */
static int params_without_ids(const struct strv *params, struct strv *ret)
{
	for (size_t i = 0; i < params->n; i++)
		if (!is_ids_param(params->v[i]) && strv_add(ret, params->v[i]) < 0)
			return -ENOMEM;
	return 0;
}

/*
 * The profile's kernel parameters. Then, when the next boot's command line carries vfio-pci's ids
 * list, that list wins over modprobe.d (kmod applies the command line's options last; a built-in
 * vfio-pci reads nothing else): the targets' ids go onto it, in one edit of the files as they were,
 * so that there is one list and it is the one vfio-pci gets (iommuctl(8), VFIO-PCI IDS).
 */
static int plan_cmdline(const struct rootfs *r, struct workspace *w, const struct profile *p, struct plan *out,
			struct error *e)
{
	_cleanup_free_ char *key = NULL, *list = NULL, *extended = NULL, *param = NULL;
	struct strv add = { 0 };
	unsigned count = 0;
	int k = edit_cmdline(r, w, out, &p->kernel_add, &p->kernel_remove, e);

	if (k == 0)
		k = next_boot_cmdline(w, out);
	if (k < 0 || !out->vfio.ids.n || !out->effective_cmdline)
		return k;
	k = vfio_cmdline_ids(out->effective_cmdline, &key, &list, &count, NULL);
	if (k > 0)
		k = vfio_ids_extend(list, &out->vfio.ids, &extended);
	if (k <= 0)
		return k;
	if (asprintf(&param, "%s=%s", key, extended) < 0 || params_without_ids(&p->kernel_add, &add) < 0 ||
	    strv_add(&add, param) < 0) {
		strv_clear(&add);
		return -ENOMEM;
	}
	cmdline_files_reset(w, boots_grub(out));
	free(out->effective_cmdline);
	out->effective_cmdline = NULL;
	k = edit_cmdline(r, w, out, &add, &p->kernel_remove, e);
	strv_clear(&add);
	if (k == 0)
		k = next_boot_cmdline(w, out);
	if (k == 0)
		k = finding_add(&out->findings, &out->n_findings, FINDING_INFO, "vfio-ids-cmdline", NULL,
				"the kernel command line sets %s=%s, which wins over modprobe.d: the targets go onto that "
				"list (%s=%s)%s", key, list, key, extended,
				count > 1 ? "; the earlier lists there took nothing (the last one wins) and go" : "");
	return k;
}

int plan_vfio_ids(const struct rootfs *r, const char *sysfs, struct vfio_ids_origin *ret, struct error *e)
{
	struct workspace w = { 0 };
	struct plan out = { 0 };
	int k = bootloader_detect(r, sysfs, &out.boot, e);

	if (k == 0)
		k = ws_load(r, &w, e);
	if (k == 0)
		k = next_boot_cmdline(&w, &out);
	if (k == 0)
		k = plan_ids_origin_cmdline(&w, out.effective_cmdline, boots_grub(&out), &out.ids);
	if (k == 0)
		k = plan_ids_origin_modprobe(&w, &out.ids);
	if (k == 0)
		k = vfio_ids_invalid(out.ids.list ? out.ids.list : "", &out.ids.invalid);
	ws_clear(&w);
	if (k == 0) {
		*ret = out.ids;
		memset(&out.ids, 0, sizeof(out.ids));
	} else if (k == -ENOMEM)
		error_set(e, EXIT_IO, "out of memory");
	plan_clear(&out);
	return k;
}

int plan_make(const struct rootfs *r, const char *sysfs, const struct hw *hw, const struct profile *p,
	      bool allow_console_gpu, struct plan *ret, struct error *e)
{
	struct workspace w = { 0 };
	struct plan out = { 0 };
	struct finding *vfio_findings = NULL;
	size_t n_vfio_findings = 0;
	int k;

	k = bootloader_detect(r, sysfs, &out.boot, e);
	if (k == 0)
		k = ws_load(r, &w, e);
	if (k == 0)
		k = copy_findings(p, &out);
	/* The targets first: their ids may go onto the command line's list. Their explanations
	 * keep their place after the blacklist's. */
	if (k == 0)
		k = vfio_plan_make(hw, p, &out.vfio, &vfio_findings, &n_vfio_findings, e);
	if (k == 0)
		k = plan_cmdline(r, &w, p, &out, e);
	if (k == 0)
		k = plan_ids_origin_cmdline(&w, out.effective_cmdline, boots_grub(&out), &out.ids);
	if (k == 0)
		k = plan_modules(r, &w, p, &out, e);
	if (k == 0)
		k = plan_blacklist(r, &w, p, out.effective_cmdline, &out, e);
	for (size_t i = 0; k == 0 && i < n_vfio_findings; i++)
		k = finding_add(&out.findings, &out.n_findings, vfio_findings[i].severity, vfio_findings[i].id,
				vfio_findings[i].hint, "%s", vfio_findings[i].message);
	if (k == 0)
		k = plan_vfio(r, &w, p, &out.vfio, out.effective_cmdline, &out.ids, &out.findings, &out.n_findings, e);
	if (k == 0)
		k = plan_ids_origin_modprobe(&w, &out.ids);
	if (k == 0)
		k = plan_ids_findings(&out.ids, &out.findings, &out.n_findings);
	if (k == 0 && out.ids.list)
		k = safety_check_ids_list(hw, out.ids.list, out.ids.on_cmdline ? "the kernel command line" : out.ids.file,
					  &out.vfio, allow_console_gpu, &out.findings, &out.n_findings);
	if (k == 0)
		k = safety_check(hw, p, &out.vfio, allow_console_gpu, &out.findings, &out.n_findings);
	if (k == 0 && allow_console_gpu)
		k = console_gpu_findings(hw, &out.vfio, out.effective_cmdline, &out.findings, &out.n_findings);
	if (k == 0)
		k = check_unread_file(&w, p, &out);
	if (k == 0)
		k = refuse_binary_edits(r, &w, e);
	if (k == 0)
		k = collect_changes(&w, &out);
	if (k == 0 && out.n_changes)
		qsort(out.changes, out.n_changes, sizeof(*out.changes), cmp_change);
	if (k == 0)
		k = choose_hooks(&out);
	ws_clear(&w);
	findings_free(vfio_findings, n_vfio_findings);
	if (k < 0) {
		if (k == -ENOMEM)
			error_set(e, EXIT_IO, "out of memory");
		plan_clear(&out);
		return k;
	}
	*ret = out;
	return 0;
}

void plan_clear(struct plan *p)
{
	file_changes_free(p->changes, p->n_changes);
	strv_clear(&p->hooks);
	findings_free(p->findings, p->n_findings);
	free(p->effective_cmdline);
	vfio_plan_clear(&p->vfio);
	vfio_ids_origin_clear(&p->ids);
	memset(p, 0, sizeof(*p));
}

bool plan_blocked(const struct plan *p)
{
	for (size_t i = 0; i < p->n_findings; i++)
		if (p->findings[i].severity == FINDING_BLOCKING)
			return true;
	return false;
}
