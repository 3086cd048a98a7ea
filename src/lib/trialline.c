/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trialline.c — the trial boot's command line: every part of a plan that has a command-line
 *  form, in that form, and a list of the parts that have none.
 *  Owns: trialline.h. Must not: do I/O or arm a boot entry; it composes text only.
 *
 *  The forms (measured on Debian 12, systemd 252, kernel 6.1; issue 15):
 *   - kernel parameters as they are; the keys they set and kernel_remove are dropped from the
 *     default entry's line first, as the committed edit of the boot loader's file would;
 *   - modules to load: modules-load=a,b, read by systemd-modules-load after switch_root (as
 *     /etc/modules is; initramfs-tools does not read either);
 *   - blacklists: modprobe.blacklist=a,b, which libkmod reads from /proc/cmdline like a
 *     "blacklist" line of modprobe.d (alias lookups only, so udev's loads honour it);
 *   - vfio-pci's options: vfio-pci.ids=…, vfio-pci.disable_vga=1 (kmod passes MODULE.PARAM= of
 *     the command line to the module, after modprobe.d's options: the command line's list wins);
 *   - functions bound by address (driver_override through modprobe.d's install line, or the
 *     softdeps that order vfio-pci before a GPU driver): iommuctl.bind=ADDR,… which iommuctl's
 *     udev rule reads (data/udev), unbinding a driver that took the function first;
 *   - iommuctl.trial=TXN, which the boot check and the emergency/rescue drop-ins look for;
 *   - panic=N (trialline.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "macros.h"
#include "strbuf.h"
#include "trialline.h"

void trial_line_clear(struct trial_line *t)
{
	free(t->add);
	strv_clear(&t->drop);
	strv_clear(&t->bind);
	strv_clear(&t->unexercised);
	memset(t, 0, sizeof(*t));
}

/* GRUB reads the linux line as shell-like words: a token with quotes, '$', '\\', ';', '&', '|',
 * '<', '>', braces or '#' would not reach the kernel as written. The kernel checks come from
 * cmdline_param_check(). */
static int token_check(const char *tok, struct cmdline_error *err)
{
	int k = cmdline_param_check(tok, err);

	if (k < 0)
		return k;
	if (strpbrk(tok, "\"'$\\;&|<>{}#`"))
		return cmdline_error_set(err, -EINVAL, CMDLINE_BAD_PARAM, NULL, 0,
					 "'%s' has a character GRUB's script reader would take (quote, '$', '\\', ';', "
					 "'#', braces …); a trial line carries plain tokens only", tok);
	return 0;
}

static int add_token(struct strbuf *sb, const char *tok, struct cmdline_error *err)
{
	if (token_check(tok, err) < 0)
		return -EINVAL;
	if (strbuf_appendf(sb, "%s%s", sb->len ? " " : "", tok) < 0)
		return cmdline_error_set(err, -ENOMEM, CMDLINE_NO_MEMORY, NULL, 0, "out of memory");
	return 0;
}

/* key=a,b,c from a list; nothing for an empty one. */
static int add_list(struct strbuf *sb, const char *key, const struct strv *v, struct cmdline_error *err)
{
	_cleanup_strbuf_ struct strbuf t = STRBUF_INIT;

	if (!v || !v->n)
		return 0;
	strbuf_appendf(&t, "%s=", key);
	for (size_t i = 0; i < v->n; i++)
		strbuf_appendf(&t, "%s%s", i ? "," : "", v->v[i]);
	if (!t.buf)
		return cmdline_error_set(err, -ENOMEM, CMDLINE_NO_MEMORY, NULL, 0, "out of memory");
	return add_token(sb, t.buf, err);
}

/* The key of a "key=value" or bare "key" parameter, malloc'd. */
static char *param_key(const char *param)
{
	const char *eq = strchr(param + (*param ? 1 : 0), '=');

	return strndup(param, eq ? (size_t)(eq - param) : strlen(param));
}

static int note(struct strv *u, const char *fmt, ...) _printf_(2, 3);
static int note(struct strv *u, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&s, fmt, ap);
	va_end(ap);
	return k < 0 ? -ENOMEM : strv_put(u, s);
}

static int compose_unexercised(const struct profile *p, const struct plan *plan, struct strv *u)
{
	int k = 0;

	for (size_t i = 0; k == 0 && i < p->modules_remove.n; i++)
		k = note(u, "removing %s from /etc/modules: the trial boot still loads it from there", p->modules_remove.v[i]);
	for (size_t i = 0; k == 0 && i < p->blacklist_remove.n; i++)
		k = note(u, "lifting the blacklist of %s: modprobe.d still blacklists it in the trial boot",
			 p->blacklist_remove.v[i]);
	for (size_t i = 0; k == 0 && i < plan->vfio.softdeps.n; i++)
		k = note(u, "'softdep %s pre: vfio-pci' in %s: no command-line form; the trial binds the functions "
			 "by address (iommuctl.bind=) instead", plan->vfio.softdeps.v[i],
			 p->vfio_file ? p->vfio_file : PROFILE_DEFAULT_VFIO_FILE);
	if (k == 0 && plan->vfio.override.n)
		k = note(u, "the 'install vfio-pci' line in %s that writes driver_override: no command-line form; "
			 "the trial's udev rule does the same from iommuctl.bind=",
			 p->vfio_file ? p->vfio_file : PROFILE_DEFAULT_VFIO_FILE);
	if (k == 0 && strv_contains(&plan->hooks, HOOK_UPDATE_INITRAMFS))
		k = note(u, "the initramfs: commit runs update-initramfs, which copies modprobe.d (blacklists, "
			 "options, softdeps) into it; the trial boots the old one");
	return k;
}

int trialline_make(const struct profile *p, const struct plan *plan, const struct hw *hw, int64_t txn,
		   unsigned panic_s, struct trial_line *ret, struct cmdline_error *err)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	struct trial_line t = { 0 };
	char buf[64];
	int k = 0;

	for (size_t i = 0; k == 0 && i < p->kernel_add.n; i++) {
		_cleanup_free_ char *key = param_key(p->kernel_add.v[i]);

		k = key ? add_token(&sb, p->kernel_add.v[i], err) : -ENOMEM;
		if (k == 0)
			k = strv_put(&t.drop, key);
	}
	for (size_t i = 0; k == 0 && i < p->kernel_remove.n; i++) {
		k = token_check(p->kernel_remove.v[i], err);
		if (k == 0)
			k = strv_put(&t.drop, p->kernel_remove.v[i]);
	}
	if (k == 0)
		k = add_list(&sb, "modules-load", &p->modules_add, err);
	if (k == 0)
		k = add_list(&sb, "modprobe.blacklist", &p->blacklist_add, err);
	/* The list vfio-pci gets after the change: the command line's whole list when the plan puts
	 * the targets there (it keeps an administrator's own entries), else what the plan writes to
	 * "options vfio-pci ids=". The trial's vfio-pci.ids= comes last on the line, and kmod hands
	 * the module the last value of a parameter. */
	if (k == 0 && plan->vfio.ids.n) {
		_cleanup_strbuf_ struct strbuf ids = STRBUF_INIT;

		strbuf_appends(&ids, "vfio-pci.ids=");
		if (plan->ids.on_cmdline && plan->ids.list)
			strbuf_appends(&ids, plan->ids.list);
		else
			for (size_t i = 0; i < plan->vfio.ids.n; i++)
				strbuf_appendf(&ids, "%s%s", i ? "," : "", plan->vfio.ids.v[i]);
		k = ids.buf ? add_token(&sb, ids.buf, err) : -ENOMEM;
	}
	if (k == 0 && plan->vfio.disable_vga == 1 && (plan->vfio.ids.n || plan->vfio.override.n))
		k = add_token(&sb, "vfio-pci.disable_vga=1", err);
	/* By address: what modprobe.d's install line overrides, and every target when softdeps order
	 * vfio-pci before their drivers (the command line cannot order module loads). */
	for (size_t i = 0; k == 0 && i < plan->vfio.override.n; i++)
		k = strv_put(&t.bind, plan->vfio.override.v[i]);
	for (size_t i = 0; k == 0 && hw && plan->vfio.softdeps.n && i < plan->vfio.n_targets; i++)
		k = strv_put(&t.bind, hw->devs[plan->vfio.targets[i]].slot);
	if (k == 0)
		k = add_list(&sb, TRIAL_BIND_MARKER, &t.bind, err);
	if (k == 0) {
		snprintf(buf, sizeof(buf), TRIAL_MARKER "=%lld", (long long)txn);
		k = add_token(&sb, buf, err);
	}
	if (k == 0) {
		snprintf(buf, sizeof(buf), "panic=%u", panic_s ? panic_s : TRIAL_PANIC_SECONDS);
		k = add_token(&sb, buf, err);
	}
	if (k == 0)
		k = compose_unexercised(p, plan, &t.unexercised);
	if (k == 0 && sb.len > CMDLINE_MAX)
		k = cmdline_error_set(err, -E2BIG, CMDLINE_TOO_LONG, NULL, 0,
				      "the trial's additions alone are %zu bytes, over the kernel's %d", sb.len, CMDLINE_MAX);
	if (k == 0 && !(t.add = strbuf_steal(&sb)))
		k = -ENOMEM;
	if (k == -ENOMEM)
		cmdline_error_set(err, -ENOMEM, CMDLINE_NO_MEMORY, NULL, 0, "out of memory");
	if (k < 0) {
		trial_line_clear(&t);
		return k;
	}
	*ret = t;
	return 0;
}

int trialline_apply(const char *default_args, const char *add, const char *const *drop, char **ret,
		    struct cmdline_error *err)
{
	_cleanup_free_ char *kept = NULL;
	_cleanup_free_ struct cmdline_token *tok = NULL;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	size_t len, n = 0, nk = 0, at;
	int k;

	k = cmdline_edit(default_args, NULL, drop && drop[0] ? drop : NULL, &kept, err);
	if (k < 0)
		return k;
	len = strlen(kept);
	while (len && (kept[len - 1] == ' ' || kept[len - 1] == '\t' || kept[len - 1] == '\n'))
		kept[--len] = '\0';
	/* The additions go after the last kernel token: what follows a bare "--" is init's. */
	k = cmdline_tokenize(kept, len, &tok, &n, &nk);
	if (k < 0)
		return cmdline_error_set(err, -ENOMEM, CMDLINE_NO_MEMORY, NULL, 0, "out of memory");
	at = nk < n ? tok[nk].start : len;
	while (at && (kept[at - 1] == ' ' || kept[at - 1] == '\t'))
		at--;
	strbuf_append(&sb, kept, at);
	if (add && *add)
		strbuf_appendf(&sb, "%s%s", sb.len ? " " : "", add);
	if (at < len)
		strbuf_appendf(&sb, "%s%s", sb.len ? " " : "", kept + at + strspn(kept + at, " \t"));
	if (sb.buf && (sb.buf[0] == ' ' || sb.buf[0] == '\t')) {
		size_t lead = strspn(sb.buf, " \t");

		memmove(sb.buf, sb.buf + lead, sb.len - lead + 1);
		sb.len -= lead;
	}
	if (!sb.buf && !(sb.buf = strdup("")))
		return cmdline_error_set(err, -ENOMEM, CMDLINE_NO_MEMORY, NULL, 0, "out of memory");
	if (sb.len > CMDLINE_MAX)
		return cmdline_error_set(err, -E2BIG, CMDLINE_TOO_LONG, NULL, 0,
					 "the trial's command line would be %zu bytes, over the kernel's %d; the kernel "
					 "would cut it", sb.len, CMDLINE_MAX);
	*ret = strbuf_steal(&sb);
	return 0;
}

char *trialline_value(const char *line, const char *key)
{
	_cleanup_free_ struct cmdline_token *tok = NULL;
	size_t n = 0, nk = 0, klen = strlen(key);
	char *v = NULL;

	if (!line || cmdline_tokenize(line, strlen(line), &tok, &n, &nk) < 0)
		return NULL;
	for (size_t i = 0; i < nk; i++) {
		if (!tok[i].has_value || !cmdline_key_equal(line + tok[i].key_start, tok[i].key_len, key, klen))
			continue;
		free(v);
		v = strndup(line + tok[i].value_start, tok[i].value_len);
	}
	return v;
}
