/* SPDX-License-Identifier: GPL-2.0-or-later */
/* status.c — `iommuctl status`: where the host stands, on one screen. The last applied profile,
 * hand edits of the managed files since the journal last saw them, an interrupted transaction,
 * a reboot that is pending, a hook that failed and has not succeeded since, and a one-line verify
 * summary. It only reads: no lock, no recovery, the journal opened read-only; what it cannot read
 * it names, and it goes on. Exit 0 when nothing needs attention, 1 otherwise. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bootloader.h"
#include "cmd.h"
#include "cmdline.h"
#include "hooks.h"
#include "hw.h"
#include "kmods.h"
#include "managed.h"
#include "planning.h"
#include "strbuf.h"
#include "verify-checks.h"

struct status {
	bool attention;
	bool journal_read;		/* a journal exists and was read */
	bool journal_failed;		/* one exists but could not be opened */
	struct txn_info last;		/* the newest transaction; id 0 when none */
	struct txn_info applied;	/* the newest apply not undone; id 0 when none */
	struct txn_info interrupted;	/* the oldest pending transaction; id 0 when none */
	struct file_change *edits;	/* before: what the journal last saw; after: the disk */
	size_t n_edits;
	bool edits_checked;
	struct strv reboot;		/* why a reboot is pending, one sentence each */
	char *booted, *next;		/* the command lines compared, NULL when unknown */
	const char *next_from;		/* the file the next one was read from */
	struct hook_run hook;		/* a hook that failed and has not succeeded since; seq 0 when none */
	int64_t hook_txn;
	char *hook_txn_kind;
	struct trial_info trial;	/* the newest trial boot; txn 0 when none */
	char *trial_profile;
	bool verify_ran, verify_ok;
	size_t verify_pass, verify_fail;
	struct strv verify_failing;	/* "id: message" of each failing check */
	struct strv unread;		/* what could not be read, and why */
};

static void status_clear(struct status *s)
{
	txn_info_clear(&s->last);
	txn_info_clear(&s->applied);
	txn_info_clear(&s->interrupted);
	trial_info_clear(&s->trial);
	free(s->trial_profile);
	file_changes_free(s->edits, s->n_edits);
	strv_clear(&s->reboot);
	free(s->booted);
	free(s->next);
	free(s->hook.argv);
	free(s->hook.output);
	free(s->hook_txn_kind);
	strv_clear(&s->verify_failing);
	strv_clear(&s->unread);
}

static int unread(struct status *s, const char *fmt, ...) _printf_(2, 3);
static int unread(struct status *s, const char *fmt, ...)
{
	_cleanup_free_ char *m = NULL;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&m, fmt, ap);
	va_end(ap);
	return k < 0 ? -ENOMEM : strv_add(&s->unread, m);
}

static int reboot_reason(struct status *s, const char *fmt, ...) _printf_(2, 3);
static int reboot_reason(struct status *s, const char *fmt, ...)
{
	_cleanup_free_ char *m = NULL;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&m, fmt, ap);
	va_end(ap);
	s->attention = true;
	return k < 0 ? -ENOMEM : strv_add(&s->reboot, m);
}

/* ---- the journal: transactions, the interrupted one, hooks ---- */

/* The newest transaction, the interrupted one, and the last apply not undone. */
static int read_transactions(struct ctx *ctx, struct status *s)
{
	struct txn_info *v = NULL;
	int64_t pending = 0;
	size_t n = 0;
	int k;

	if (journal_txn_list(ctx->journal, 1, &v, &n, &ctx->err) < 0)
		return unread(s, "the transactions in %s: %s", journal_path(ctx->journal), ctx->err.text);
	if (n) {
		s->last = v[0];
		memset(&v[0], 0, sizeof(v[0]));
	}
	free(v);
	if (journal_pending(ctx->journal, &pending, &ctx->err) < 0)
		return unread(s, "pending transactions in %s: %s", journal_path(ctx->journal), ctx->err.text);
	if (pending) {
		s->attention = true;
		if (journal_txn_get(ctx->journal, pending, &s->interrupted, &ctx->err) < 0)
			return unread(s, "transaction %lld: %s", (long long)pending, ctx->err.text);
	}
	k = verify_last_applied(ctx->journal, &s->applied, &ctx->err);
	if (k == -EIO)
		return unread(s, "the last apply in %s: %s", journal_path(ctx->journal), ctx->err.text);
	return 0;
}

/* Which configured hook a recorded command line was: by today's iommuctl.conf, else by its name. */
static const char *hook_name_of(const struct hook_config *hc, const char *argv)
{
	static const char *const names[] = { HOOK_UPDATE_GRUB, HOOK_PROXMOX_BOOT_TOOL, HOOK_UPDATE_INITRAMFS, HOOK_ETCKEEPER };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_free_ char *cmd = hook_config_command_line(hc, names[i]);

		if (cmd && streq(cmd, argv))
			return names[i];
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strstr(argv, names[i]))
			return names[i];
	return NULL;
}

/* Whether what the hook makes was made after it failed at "started" (run by hand since):
 * update-grub's grub.cfg, update-initramfs's image of every installed kernel. proxmox-boot-tool
 * writes to ESPs that are not mounted: never known. */
static bool regenerated_since(const struct ctx *ctx, const char *name, const char *started)
{
	struct tm tm = { 0 };
	struct error e = { 0 };
	struct stat st;
	char **kernels = NULL, path[512];
	size_t n = 0;
	bool newer;
	time_t t;

	if (!name || !strptime(started, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return false;
	t = timegm(&tm);
	if (streq(name, HOOK_UPDATE_GRUB))
		return rootfs_stat(ctx->root, "/boot/grub/grub.cfg", &st) == 0 && st.st_mtime > t;
	if (!streq(name, HOOK_UPDATE_INITRAMFS) || kmods_list_kernels(ctx->root, &kernels, &n, &e) < 0)
		return false;
	newer = n > 0;
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/boot/initrd.img-%s", kernels[i]);
		newer &= rootfs_stat(ctx->root, path, &st) == 0 && st.st_mtime > t;
	}
	strv_free(kernels, n);
	return newer;
}

/* Newest first, the first hook run that failed and whose command has not succeeded in a later
 * transaction: the boot files it regenerates are still older than the configuration. */
static int read_hooks(struct ctx *ctx, struct status *s)
{
	_cleanup_strv_ struct strv succeeded = { 0 };
	struct hook_config hc = { 0 };
	struct error e = { 0 };
	struct txn_info *v = NULL;
	size_t n = 0;
	int k = 0;

	/* 50 transactions back is months of a host's life; a hook older than that is moot. */
	if (journal_txn_list(ctx->journal, 50, &v, &n, &ctx->err) < 0)
		return unread(s, "the hook runs in %s: %s", journal_path(ctx->journal), ctx->err.text);
	/* Only to name the hooks of recorded command lines; without it they are named by their words. */
	if (hook_config_load(ctx->root, &hc, &e) < 0)
		k = unread(s, "the hook configuration: %s", e.text);
	for (size_t i = 0; i < n && k == 0 && !s->hook_txn; i++) {
		struct hook_run *runs = NULL;
		const char *name;
		size_t nr = 0;

		if (journal_hook_runs(ctx->journal, v[i].id, &runs, &nr, &ctx->err) < 0) {
			k = unread(s, "the hook runs of transaction %lld: %s", (long long)v[i].id, ctx->err.text);
			break;
		}
		/* Within one transaction a later run (the restore's) counts as later too. */
		for (size_t r = nr; r-- > 0 && k == 0;) {
			if (runs[r].status == 0) {
				k = strv_put(&succeeded, runs[r].argv);
			} else if (!strv_contains(&succeeded, runs[r].argv) &&
				   !((name = hook_name_of(&hc, runs[r].argv)) && streq(name, HOOK_ETCKEEPER)) &&
				   !regenerated_since(ctx, name, runs[r].started_at)) {
				s->hook = runs[r];
				memset(&runs[r], 0, sizeof(runs[r]));
				s->hook_txn = v[i].id;
				s->hook_txn_kind = strdup(v[i].kind);
				s->attention = true;
				break;
			}
		}
		hook_runs_free(runs, nr);
	}
	for (size_t i = 0; i < n; i++)
		txn_info_clear(&v[i]);
	free(v);
	hook_config_clear(&hc);
	return k;
}

/* ---- the newest trial boot (apply --trial; iommuctl(8), TRIAL BOOT) ---- */

/* Needs attention: armed (the next boot runs it), passed but not committed (--no-commit), failed
 * or a failed first boot after its commit, while nothing newer was recorded. */
static bool trial_needs_attention(const struct status *s)
{
	const struct trial_info *t = &s->trial;
	int64_t latest = t->rollback_txn > t->commit_txn ? t->rollback_txn : t->commit_txn;

	if (streq(t->state, "armed") || streq(t->state, "passed"))
		return true;
	if (streq(t->state, "failed"))
		return s->last.id <= t->txn;
	return streq(t->state, "committed") && t->first_boot_ok == 0 && s->last.id <= (latest ? latest : t->txn);
}

static int read_trial(struct ctx *ctx, struct status *s)
{
	struct txn_info t = { 0 };
	int64_t id = 0;
	int k;

	if (journal_trial_latest(ctx->journal, NULL, &id, &ctx->err) < 0)
		return unread(s, "the trial boots in %s: %s", journal_path(ctx->journal), ctx->err.text);
	if (!id)
		return 0;
	k = journal_trial_get(ctx->journal, id, &s->trial, &ctx->err);
	if (k < 0) {
		s->trial.txn = 0;
		return unread(s, "trial %lld: %s", (long long)id, k == -ENOENT ? "no trial row" : ctx->err.text);
	}
	if (journal_txn_get(ctx->journal, id, &t, &ctx->err) == 0 && t.profile)
		s->trial_profile = strdup(t.profile);
	txn_info_clear(&t);
	s->attention |= trial_needs_attention(s);
	return 0;
}

/* ---- hand edits: the managed files against the journal's last view of them ---- */

static int add_edit(struct status *s, const char *path, const struct file_state *known, const struct file_state *now)
{
	struct file_change *nv = realloc(s->edits, (s->n_edits + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	s->edits = nv;
	memset(&nv[s->n_edits], 0, sizeof(nv[0]));
	s->n_edits++;
	if (!(nv[s->n_edits - 1].path = strdup(path)) || file_state_copy(&nv[s->n_edits - 1].before, known) < 0 ||
	    file_state_copy(&nv[s->n_edits - 1].after, now) < 0)
		return -ENOMEM;
	return 0;
}

static int compare_one(struct ctx *ctx, struct status *s, const char *path, const struct file_state *now,
		       bool baseline)
{
	static const struct file_state absent = { 0 };
	struct file_state known = { 0 };
	bool is_known = false;
	int k = 0;

	if (journal_known_state(ctx->journal, path, false, &known, &is_known, &ctx->err) < 0)
		return unread(s, "the journal's state of %s: %s", path, ctx->err.text);
	if (!now)
		now = &absent;
	/* Without a baseline a file the journal never saw is not an edit: nothing is known of it. */
	if ((is_known && !file_state_equal(&known, now)) || (!is_known && baseline && now->present))
		k = add_edit(s, path, is_known ? &known : &absent, now);
	file_state_clear(&known);
	return k;
}

static int read_edits(struct ctx *ctx, struct status *s)
{
	struct managed_set set = { 0 };
	struct error e = { 0 };
	char **known = NULL;
	size_t nknown = 0;
	bool baseline = false;
	int k;

	if (managed_scan(ctx->root, &set, &e) < 0)
		return unread(s, "the managed files: %s", e.text);
	k = journal_has_baseline(ctx->journal, &baseline, &ctx->err);
	if (k == 0)
		k = journal_known_paths(ctx->journal, &known, &nknown, &ctx->err);
	if (k < 0) {
		managed_set_clear(&set);
		return unread(s, "the journal's view of the managed files: %s", ctx->err.text);
	}
	for (size_t i = 0; k == 0 && i < set.n; i++)
		k = compare_one(ctx, s, set.files[i].path, &set.files[i].state, baseline);
	for (size_t i = 0; k == 0 && i < nknown; i++)
		if (!managed_find(&set, known[i]))
			k = compare_one(ctx, s, known[i], NULL, baseline);
	strv_free(known, nknown);
	managed_set_clear(&set);
	s->edits_checked = k == 0;
	s->attention |= s->n_edits > 0;
	return k;
}

/* ---- a pending reboot ---- */

/* The parameters of a command line as a sorted list, without what names the image (the first
 * word of a grub "linux" line, BOOT_IMAGE=, initrd=), which differs between the two forms. */
static int cmdline_params(const char *line, bool grub_linux, struct strv *ret)
{
	struct cmdline_token *t = NULL;
	size_t n = 0, nk = 0;
	int k;

	k = cmdline_tokenize(line, strlen(line), &t, &n, &nk);
	for (size_t i = grub_linux ? 2 : 0; k == 0 && i < nk; i++) {
		const char *w = line + t[i].start;

		if ((t[i].key_len == 10 && !strncmp(w, "BOOT_IMAGE", 10)) || (t[i].key_len == 6 && !strncmp(w, "initrd", 6)))
			continue;
		k = strv_add_n(ret, w, t[i].len);
	}
	free(t);
	return k;
}

/* The parameters of a that b lacks, after word ("adds "), into out. */
static void param_diff(struct strbuf *out, const struct strv *a, const struct strv *b, const char *word)
{
	bool first = true;

	for (size_t i = 0; i < a->n; i++)
		if (!strv_contains(b, a->v[i])) {
			strbuf_appendf(out, "%s%s%s", first ? (out->len ? "; " : "") : " ", first ? word : "", a->v[i]);
			first = false;
		}
}

/* The booted command line against the one the next boot gets. */
static int compare_cmdlines(struct ctx *ctx, struct status *s, const struct bootloader *bl)
{
	_cleanup_strv_ struct strv now = { 0 }, next = { 0 };
	_cleanup_strbuf_ struct strbuf d = STRBUF_INIT;
	struct file_state fs = { 0 };
	struct error e = { 0 };
	bool grub = bl->kind == BOOT_GRUB;
	int k;

	if (bl->kind == BOOT_PROXMOX_GRUB) {
		/* The grub.cfg that boots is on the ESPs proxmox-boot-tool keeps, not in /boot. */
		return 0;
	}
	s->booted = verify_read_text(ctx->procfs, "cmdline");
	if (!s->booted)
		return unread(s, "the booted command line, %s/cmdline: %s", ctx->procfs, strerror(errno));
	s->booted[strcspn(s->booted, "\n")] = '\0';
	s->next_from = grub ? "/boot/grub/grub.cfg" : "/etc/kernel/cmdline";
	if ((k = rootfs_read_file_in_root(ctx->root, s->next_from, &fs, &e)) < 0) {
		s->next_from = NULL;
		return unread(s, "the next boot's command line: %s", e.text);
	}
	if (!fs.present) {
		file_state_clear(&fs);
		s->next_from = NULL;
		return 0;
	}
	if (grub)
		s->next = verify_grub_default_linux(fs.data);
	else if ((s->next = strdup(fs.data)))
		s->next[strcspn(s->next, "\n")] = '\0';
	file_state_clear(&fs);
	if (!s->next) {
		s->next_from = NULL;
		return 0;
	}
	if (cmdline_params(s->booted, false, &now) < 0 || cmdline_params(s->next, grub, &next) < 0)
		return -ENOMEM;
	param_diff(&d, &next, &now, "adds ");
	param_diff(&d, &now, &next, "drops ");
	if (d.len)
		return reboot_reason(s, "the next boot's command line (%s) %s", s->next_from, strbuf_str(&d));
	return 0;
}

/* The newest mtime of the files that feed a generated file; 0 when none exists. */
static time_t newest_input(const struct rootfs *r, const char *const *files, const char *dir, const char *suffix,
			   const char **ret_which, char *buf, size_t size)
{
	char **names = NULL;
	size_t n = 0;
	struct error e = { 0 };
	struct stat st;
	time_t newest = 0;

	for (const char *const *f = files; *f; f++)
		if (rootfs_stat(r, *f, &st) == 0 && st.st_mtime > newest) {
			newest = st.st_mtime;
			snprintf(buf, size, "%s", *f);
		}
	if (dir && rootfs_list_dir_in_root(r, dir, suffix, &names, &n, NULL, NULL, &e) == 0)
		for (size_t i = 0; i < n; i++) {
			char p[1024];

			snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
			if (rootfs_stat(r, p, &st) == 0 && st.st_mtime > newest) {
				newest = st.st_mtime;
				snprintf(buf, size, "%s", p);
			}
		}
	strv_free(names, n);
	*ret_which = buf;
	return newest;
}

/* grub.cfg and each initrd.img older than the files update-grub and update-initramfs read. */
static int compare_mtimes(struct ctx *ctx, struct status *s, const struct bootloader *bl)
{
	static const char *const grub_in[] = { "/etc/default/grub", NULL };
	static const char *const initramfs_in[] = { "/etc/modules", "/etc/initramfs-tools/modules", NULL };
	char which[1024], path[512];
	const char *in = NULL;
	char **kernels = NULL;
	size_t n = 0;
	struct error e = { 0 };
	struct stat st;
	time_t t;
	int k = 0;

	if (bl->kind == BOOT_GRUB && rootfs_stat(ctx->root, "/boot/grub/grub.cfg", &st) == 0) {
		t = newest_input(ctx->root, grub_in, "/etc/default/grub.d", ".cfg", &in, which, sizeof(which));
		if (t > st.st_mtime)
			k = reboot_reason(s, "/boot/grub/grub.cfg is older than %s: run update-grub, then reboot", in);
	}
	if (k < 0 || kmods_list_kernels(ctx->root, &kernels, &n, &e) < 0)
		return k;
	t = newest_input(ctx->root, initramfs_in, "/etc/modprobe.d", ".conf", &in, which, sizeof(which));
	for (size_t i = 0; k == 0 && i < n; i++) {
		snprintf(path, sizeof(path), "/boot/initrd.img-%s", kernels[i]);
		if (rootfs_stat(ctx->root, path, &st) == 0 && t > st.st_mtime)
			k = reboot_reason(s, "%s is older than %s: run update-initramfs -u -k %s, then reboot", path, in,
					  kernels[i]);
	}
	strv_free(kernels, n);
	return k;
}

/* Whether the running boot can be told: its boot id, or its boot time. */
static bool boot_known(const char *procfs)
{
	_cleanup_free_ char *stat = verify_read_text(procfs, "stat");
	char id[37];

	return hw_boot_id(procfs, id) == 0 || (stat && strstr(stat, "\nbtime "));
}

/* The transactions recorded in the running boot, taken together: a managed file whose state
 * before the oldest of them differs from its state after the newest is one the booted kernel did
 * not see. An apply undone in the same boot (a failed hook's restore, a rollback) nets out. */
static int changed_this_boot(struct ctx *ctx, struct status *s)
{
	struct txn_info *v = NULL;
	struct file_change *net = NULL;
	size_t n = 0, nnet = 0, ntx = 0;
	_cleanup_strbuf_ struct strbuf paths = STRBUF_INIT;
	int64_t newest = 0;
	int k = 0;

	if (journal_txn_list(ctx->journal, 50, &v, &n, &ctx->err) < 0)
		return unread(s, "the transactions of this boot: %s", ctx->err.text);
	if (n && !boot_known(ctx->procfs))
		k = unread(s, "whether the running boot came before or after transaction %lld: %s has neither "
			   "sys/kernel/random/boot_id nor a btime line in stat", (long long)v[0].id, ctx->procfs);
	for (size_t i = 0; i < n && k == 0 && verify_applied_after_boot(ctx->procfs, &v[i]); i++) {
		struct file_change *f = NULL;
		size_t nf = 0;

		if (streq(v[i].state, "pending"))
			continue;
		if (journal_txn_files(ctx->journal, v[i].id, false, &f, &nf, &ctx->err) < 0) {
			k = unread(s, "the files of transaction %lld: %s", (long long)v[i].id, ctx->err.text);
			break;
		}
		newest = newest ? newest : v[i].id;
		ntx++;
		for (size_t j = 0; j < nf && k == 0; j++) {
			size_t x = 0;

			while (x < nnet && !streq(net[x].path, f[j].path))
				x++;
			if (x == nnet) {
				struct file_change *nv = realloc(net, (nnet + 1) * sizeof(*nv));

				if (!nv) {
					k = -ENOMEM;
					break;
				}
				net = nv;
				net[nnet++] = (struct file_change){ .path = f[j].path, .after = f[j].after };
				f[j].path = NULL;
				f[j].after = (struct file_state){ 0 };
			}
			file_state_clear(&net[x].before);
			net[x].before = f[j].before;
			f[j].before = (struct file_state){ 0 };
		}
		file_changes_free(f, nf);
	}
	for (size_t x = 0; x < nnet; x++)
		if (!file_state_equal(&net[x].before, &net[x].after))
			strbuf_appendf(&paths, "%s%s", paths.len ? ", " : "", net[x].path);
	if (k == 0 && paths.len)
		k = reboot_reason(s, "%zu transaction(s) of the running boot, the newest %lld, changed %s", ntx,
				  (long long)newest, strbuf_str(&paths));
	file_changes_free(net, nnet);
	for (size_t i = 0; i < n; i++)
		txn_info_clear(&v[i]);
	free(v);
	return k;
}

static int read_reboot(struct ctx *ctx, struct status *s)
{
	struct bootloader bl = { 0 };
	struct error e = { 0 };
	int k;

	if (ctx->journal && (k = changed_this_boot(ctx, s)) < 0)
		return k;
	if (bootloader_detect(ctx->root, ctx->sysfs, &bl, &e) < 0)
		return unread(s, "the boot loader: %s", e.text);
	if ((k = compare_cmdlines(ctx, s, &bl)) < 0)
		return k;
	return compare_mtimes(ctx, s, &bl);
}

/* ---- verify, in one line ---- */

static int read_verify(struct ctx *ctx, struct status *s)
{
	struct vfio_ids_origin ids = { 0 };
	struct verify_checks c = { 0 };
	struct planned pl = { 0 };
	struct verify_env env;
	_cleanup_free_ char *note = NULL;
	int k = 0;

	if (!s->applied.id || !s->applied.profile)
		return 0;
	if (s->applied.note && !(note = strdup(s->applied.note)))
		return -ENOMEM;
	if (!ctx->n_devices)
		verify_devices_from_note(note, ctx->devices, ARRAY_SIZE(ctx->devices), &ctx->n_devices);
	if (planned_make(ctx, s->applied.profile, &pl) < 0)
		return unread(s, "profile %s, to verify it: %s", s->applied.profile, ctx->err.text);
	env = (struct verify_env){ .root = ctx->root, .sysfs = ctx->sysfs, .procfs = ctx->procfs, .hw = &pl.hw,
				   .profile = pl.profile, .plan = &pl.plan, .vms = &pl.vms };
	verify_run(&env, verify_applied_after_boot(ctx->procfs, &s->applied), &c, &ids);
	if (c.oom)
		k = -ENOMEM;
	s->verify_ran = true;
	for (size_t i = 0; k == 0 && i < c.n; i++) {
		_cleanup_free_ char *m = NULL;

		if (c.v[i].ok) {
			s->verify_pass++;
			continue;
		}
		s->verify_fail++;
		if (asprintf(&m, "%s: %s", c.v[i].id, c.v[i].message) < 0 || strv_add(&s->verify_failing, m) < 0)
			k = -ENOMEM;
	}
	s->verify_ok = s->verify_fail == 0;
	s->attention |= !s->verify_ok;
	verify_checks_clear(&c);
	vfio_ids_origin_clear(&ids);
	planned_clear(&pl);
	return k;
}

/* ---- output ---- */

static struct json_object *json_str(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *json_strv(const struct strv *v)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < v->n; i++)
		json_object_array_add(a, json_object_new_string(v->v[i]));
	return a;
}

static struct json_object *json_txn(const struct txn_info *t)
{
	struct json_object *o;

	if (!t->id)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(t->id));
	json_object_object_add(o, "kind", json_object_new_string(t->kind));
	json_object_object_add(o, "state", json_object_new_string(t->state));
	json_object_object_add(o, "profile", json_str(t->profile));
	json_object_object_add(o, "started_at", json_object_new_string(t->started_at));
	json_object_object_add(o, "finished_at", t->finished_at[0] ? json_object_new_string(t->finished_at) : NULL);
	return o;
}

static void print_json(const struct ctx *ctx, const struct status *s)
{
	struct json_object *o = json_object_new_object(), *a, *x;

	json_object_object_add(o, "attention", json_object_new_boolean(s->attention));
	json_object_object_add(o, "journal", s->journal_read ? json_object_new_string(journal_path(ctx->journal)) : NULL);
	json_object_object_add(o, "last_transaction", json_txn(&s->last));
	json_object_object_add(o, "applied", json_txn(&s->applied));
	json_object_object_add(o, "interrupted", json_txn(&s->interrupted));
	if (s->trial.txn) {
		const struct trial_info *t = &s->trial;

		x = json_object_new_object();
		json_object_object_add(x, "txn", json_object_new_int64(t->txn));
		json_object_object_add(x, "profile", json_str(s->trial_profile));
		json_object_object_add(x, "state", json_object_new_string(t->state));
		json_object_object_add(x, "attention", json_object_new_boolean(trial_needs_attention(s)));
		json_object_object_add(x, "cmdline_add", json_str(t->cmdline_add));
		json_object_object_add(x, "cmdline_drop", t->cmdline_drop && *t->cmdline_drop ? json_object_new_string(t->cmdline_drop) : NULL);
		json_object_object_add(x, "armed_where", t->armed_where && *t->armed_where ? json_object_new_string(t->armed_where) : NULL);
		json_object_object_add(x, "outcome", t->outcome && *t->outcome ? json_object_new_string(t->outcome) : NULL);
		json_object_object_add(x, "commit_txn", t->commit_txn ? json_object_new_int64(t->commit_txn) : NULL);
		json_object_object_add(x, "first_boot_ok", t->first_boot_ok < 0 ? NULL : json_object_new_boolean(t->first_boot_ok));
		json_object_object_add(x, "rollback_txn", t->rollback_txn ? json_object_new_int64(t->rollback_txn) : NULL);
	} else {
		x = NULL;
	}
	json_object_object_add(o, "trial", x);
	if (s->edits_checked) {
		a = json_object_new_array();
		for (size_t i = 0; i < s->n_edits; i++) {
			x = json_object_new_object();
			json_object_object_add(x, "path", json_object_new_string(s->edits[i].path));
			json_object_object_add(x, "change", json_object_new_string(change_kind(&s->edits[i])));
			json_object_array_add(a, x);
		}
	} else {
		a = NULL;
	}
	json_object_object_add(o, "hand_edits", a);
	x = json_object_new_object();
	json_object_object_add(x, "pending", json_object_new_boolean(s->reboot.n > 0));
	json_object_object_add(x, "reasons", json_strv(&s->reboot));
	json_object_object_add(x, "booted_cmdline", json_str(s->booted));
	json_object_object_add(x, "next_cmdline", json_str(s->next));
	json_object_object_add(x, "next_cmdline_file", json_str(s->next_from));
	json_object_object_add(o, "reboot", x);
	if (s->hook_txn) {
		x = json_object_new_object();
		json_object_object_add(x, "txn", json_object_new_int64(s->hook_txn));
		json_object_object_add(x, "command", json_object_new_string(s->hook.argv));
		json_object_object_add(x, "status", json_object_new_int(s->hook.status));
		json_object_object_add(x, "started_at", json_object_new_string(s->hook.started_at));
		json_object_object_add(x, "chroot", streq(ctx->root->path, "/") ? NULL : json_object_new_string(ctx->root->path));
	} else {
		x = NULL;
	}
	json_object_object_add(o, "failed_hook", x);
	if (s->verify_ran) {
		x = json_object_new_object();
		json_object_object_add(x, "ok", json_object_new_boolean(s->verify_ok));
		json_object_object_add(x, "profile", json_str(s->applied.profile));
		json_object_object_add(x, "passed", json_object_new_int64((int64_t)s->verify_pass));
		json_object_object_add(x, "failed", json_object_new_int64((int64_t)s->verify_fail));
		json_object_object_add(x, "failing", json_strv(&s->verify_failing));
	} else {
		x = NULL;
	}
	json_object_object_add(o, "verify", x);
	json_object_object_add(o, "unreadable", json_strv(&s->unread));
	output_json(o);
	json_object_put(o);
}

static void print_trial(const struct status *s, const char *in, const char *root)
{
	const struct trial_info *t = &s->trial;
	const char *p = s->trial_profile ? s->trial_profile : "?";
	long long id = (long long)t->txn;

	if (streq(t->state, "armed"))
		printf("TRIAL ARMED: transaction %lld (profile %s) adds '%s' to the next boot only%s%s; reboot to try it\n",
		       id, p, t->cmdline_add, *t->armed_where ? ", armed as " : "", t->armed_where);
	else if (streq(t->state, "passed"))
		printf("TRIAL PASSED: transaction %lld (profile %s): %s; `iommuctl%s%s commit %lld` makes it permanent\n", id,
		       p, *t->outcome ? t->outcome : "its boot check passed", in, root, id);
	else if (streq(t->state, "failed"))
		printf("%s: transaction %lld (profile %s): %s; no managed file was changed\n",
		       trial_needs_attention(s) ? "TRIAL FAILED" : "trial failed", id, p, *t->outcome ? t->outcome : "its boot check failed");
	else if (streq(t->state, "committed") && t->first_boot_ok == 0)
		printf("%s: transaction %lld (profile %s) was committed as %lld, its first boot failed (%s)%s\n",
		       trial_needs_attention(s) ? "TRIAL FIRST BOOT FAILED" : "trial first boot failed", id, p,
		       (long long)t->commit_txn, t->first_boot_outcome ? t->first_boot_outcome : "",
		       t->rollback_txn ? " and was rolled back" : "");
	else if (streq(t->state, "committed"))
		printf("trial: transaction %lld (profile %s) committed as transaction %lld%s\n", id, p, (long long)t->commit_txn,
		       t->first_boot_ok == 1 ? "; its first boot passed" : "; its first boot is not checked yet");
	else
		printf("trial: transaction %lld (profile %s) %s%s%s\n", id, p, t->state, *t->outcome ? ": " : "", t->outcome);
}

static void print_text(const struct ctx *ctx, const struct status *s)
{
	const char *root = ctx->root->path, *in = streq(root, "/") ? "" : " --root ";

	if (!s->journal_read && !s->journal_failed)
		printf("journal: none yet; iommuctl has recorded nothing on %s\n", root);
	if (s->applied.id)
		printf("applied: profile %s, transaction %lld (%s)\n", s->applied.profile, (long long)s->applied.id,
		       s->applied.finished_at);
	else if (s->journal_read)
		printf("applied: no profile (nothing applied, or every apply was rolled back)\n");
	if (s->last.id && s->last.id != s->applied.id)
		printf("last transaction: %lld (%s%s%s, %s, %s)\n", (long long)s->last.id, s->last.kind,
		       s->last.profile ? " " : "", s->last.profile ? s->last.profile : "", s->last.state, s->last.started_at);
	if (s->interrupted.id)
		printf("INTERRUPTED: transaction %lld (%s%s%s, started %s) did not finish; `iommuctl%s%s recover` puts "
		       "its files back (any writing command does it first)\n", (long long)s->interrupted.id,
		       s->interrupted.kind, s->interrupted.profile ? " " : "",
		       s->interrupted.profile ? s->interrupted.profile : "", s->interrupted.started_at, in, *in ? root : "");
	if (s->trial.txn)
		print_trial(s, in, *in ? root : "");
	if (s->edits_checked && s->n_edits) {
		printf("hand edits: %zu managed file(s) changed since the journal last saw them:\n", s->n_edits);
		print_changes(s->edits, s->n_edits, "  ");
		printf("  `iommuctl diff` shows how; `iommuctl snapshot` records them\n");
	} else if (s->edits_checked) {
		printf("hand edits: none; the managed files are as the journal last saw them\n");
	}
	if (s->reboot.n) {
		printf("reboot pending:\n");
		for (size_t i = 0; i < s->reboot.n; i++)
			printf("  %s\n", s->reboot.v[i]);
	} else {
		printf("reboot: none pending%s\n", s->next ? "; the next boot gets the booted command line" : "");
	}
	if (s->hook_txn)
		printf("FAILED HOOK: `%s` exited with status %d in transaction %lld (%s, %s) and has not succeeded "
		       "since; run it%s%s, then `iommuctl%s%s status`; `iommuctl show %lld` has its output\n",
		       s->hook.argv, s->hook.status, (long long)s->hook_txn, s->hook_txn_kind ? s->hook_txn_kind : "",
		       s->hook.started_at, *in ? " inside the root: chroot " : "", *in ? root : "", in, *in ? root : "",
		       (long long)s->hook_txn);
	if (s->verify_ran && s->verify_ok)
		printf("verify: all %zu checks of profile %s pass\n", s->verify_pass, s->applied.profile);
	else if (s->verify_ran)
		printf("verify: %zu of %zu checks of profile %s fail (first: %s); `iommuctl verify` shows them\n",
		       s->verify_fail, s->verify_fail + s->verify_pass, s->applied.profile, s->verify_failing.v[0]);
	for (size_t i = 0; i < s->unread.n; i++)
		printf("not read: %s\n", s->unread.v[i]);
	printf("%s\n", s->attention ? "needs attention (exit 1)" : "nothing needs attention");
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	struct status s = { 0 };
	int k;

	(void)args;
	if (ctx->journal_path)
		k = journal_open(ctx->journal_path, JOURNAL_READONLY, &ctx->journal, &ctx->err);
	else
		k = journal_open_in_root(ctx->root, JOURNAL_READONLY, &ctx->journal, &ctx->err);
	if (k < 0 && k != -ENOENT) {
		/* Not readable (a user without access, a damaged file): say so; what does not need it goes on. */
		k = unread(&s, "the journal: %s", ctx->err.text);
		s.attention = s.journal_failed = true;
		ctx->journal = NULL;
	} else {
		k = 0;
	}
	if (ctx->journal) {
		s.journal_read = true;
		k = read_transactions(ctx, &s);
		if (k == 0)
			k = read_hooks(ctx, &s);
		if (k == 0)
			k = read_trial(ctx, &s);
		if (k == 0)
			k = read_edits(ctx, &s);
	}
	if (k == 0)
		k = read_reboot(ctx, &s);
	if (k == 0)
		k = read_verify(ctx, &s);
	if (k < 0) {
		status_clear(&s);
		error_set(&ctx->err, EXIT_IO, "out of memory");
		return ctx_fail(ctx);
	}
	if (ctx->json)
		print_json(ctx, &s);
	else
		print_text(ctx, &s);
	k = s.attention ? EXIT_CHECK_FAILED : 0;
	status_clear(&s);
	return k;
}

const struct cmd cmd_status = {
	.name = "status",
	.synopsis = "",
	.summary = "where the host stands: last apply, hand edits, pending reboot, failed hook, verify",
	.help = "Reads only (no lock, no recovery; the journal is opened read-only, so it works as any user\n"
		"who may read it): the last applied profile and its transaction; managed files changed\n"
		"since the journal last saw them; an interrupted transaction; whether a reboot is pending\n"
		"(a change made in the running boot, the next boot's command line against the booted one,\n"
		"grub.cfg or an initramfs older than the files they are made from); a hook that failed and\n"
		"has not succeeded since, and what to run; verify's checks in one line. What it could not\n"
		"read it names. Exit 0 when nothing needs attention, 1 otherwise.\n",
	.min_args = 0,
	.max_args = 0,
	.flags = 0,
	.run = run,
};
