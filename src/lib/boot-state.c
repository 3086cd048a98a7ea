/* SPDX-License-Identifier: GPL-2.0-or-later */
/* boot-state.c — whether the next boot differs from the running one, for status: the managed
 * files changed by the transactions recorded in the running boot (netted out), the next boot's
 * command line against the booted one, and grub.cfg or an initramfs older than the files they
 * are made from (mtimes under the root); and whether a hook's output was made after a time.
 * Reads the root, procfs and the journal; must not write, print, or take the journal's lock. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "boot-state.h"
#include "bootcheck.h"
#include "bootloader.h"
#include "cmdline.h"
#include "hooks.h"
#include "hw.h"
#include "kmods.h"
#include "strbuf.h"
#include "verify-checks.h"

struct bs_ctx {
	struct journal *journal;	/* NULL: no journal */
	const struct rootfs *root;
	const char *sysfs, *procfs;
	struct error err;
};

void boot_state_clear(struct boot_state *s)
{
	strv_clear(&s->reasons);
	strv_clear(&s->notes);
	free(s->booted);
	free(s->next);
	memset(s, 0, sizeof(*s));
}

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
static int compare_cmdlines(struct bs_ctx *ctx, struct boot_state *s, const struct bootloader *bl)
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
	s->booted = running_read(ctx->procfs, "cmdline");
	if (!s->booted)
		return strv_addf(&s->notes, "the booted command line, %s/cmdline: %s", ctx->procfs, strerror(errno));
	s->booted[strcspn(s->booted, "\n")] = '\0';
	s->next_from = grub ? "/boot/grub/grub.cfg" : "/etc/kernel/cmdline";
	if ((k = rootfs_read_file_in_root(ctx->root, s->next_from, &fs, &e)) < 0) {
		s->next_from = NULL;
		return strv_addf(&s->notes, "the next boot's command line: %s", e.text);
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
		return strv_addf(&s->reasons, "the next boot's command line (%s) %s", s->next_from, strbuf_str(&d));
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
static int compare_mtimes(struct bs_ctx *ctx, struct boot_state *s, const struct bootloader *bl)
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
			k = strv_addf(&s->reasons, "/boot/grub/grub.cfg is older than %s: run update-grub, then reboot", in);
	}
	if (k < 0 || kmods_list_kernels(ctx->root, &kernels, &n, &e) < 0)
		return k;
	t = newest_input(ctx->root, initramfs_in, "/etc/modprobe.d", ".conf", &in, which, sizeof(which));
	for (size_t i = 0; k == 0 && i < n; i++) {
		snprintf(path, sizeof(path), "/boot/initrd.img-%s", kernels[i]);
		if (rootfs_stat(ctx->root, path, &st) == 0 && t > st.st_mtime)
			k = strv_addf(&s->reasons, "%s is older than %s: run update-initramfs -u -k %s, then reboot", path, in,
					  kernels[i]);
	}
	strv_free(kernels, n);
	return k;
}

/* Whether the running boot can be told: its boot id, or its boot time. */
static bool boot_known(const char *procfs)
{
	_cleanup_free_ char *stat = running_read(procfs, "stat");
	char id[37];

	return hw_boot_id(procfs, id) == 0 || (stat && strstr(stat, "\nbtime "));
}

/* The transactions recorded in the running boot, taken together: a managed file whose state
 * before the oldest of them differs from its state after the newest is one the booted kernel did
 * not see. An apply undone in the same boot (a failed hook's restore, a rollback) nets out. */
static int changed_this_boot(struct bs_ctx *ctx, struct boot_state *s)
{
	struct txn_info *v = NULL;
	struct file_change *net = NULL;
	size_t n = 0, nnet = 0, ntx = 0;
	_cleanup_strbuf_ struct strbuf paths = STRBUF_INIT;
	int64_t newest = 0;
	int k = 0;

	if (journal_txn_list(ctx->journal, 50, &v, &n, &ctx->err) < 0)
		return strv_addf(&s->notes, "the transactions of this boot: %s", ctx->err.text);
	if (n && !boot_known(ctx->procfs))
		k = strv_addf(&s->notes, "whether the running boot came before or after transaction %lld: %s has neither "
			   "sys/kernel/random/boot_id nor a btime line in stat", (long long)v[0].id, ctx->procfs);
	for (size_t i = 0; i < n && k == 0 && verify_applied_after_boot(ctx->procfs, &v[i]); i++) {
		struct file_change *f = NULL;
		size_t nf = 0;

		if (streq(v[i].state, "pending"))
			continue;
		if (journal_txn_files(ctx->journal, v[i].id, false, &f, &nf, &ctx->err) < 0) {
			k = strv_addf(&s->notes, "the files of transaction %lld: %s", (long long)v[i].id, ctx->err.text);
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
		k = strv_addf(&s->reasons, "%zu transaction(s) of the running boot, the newest %lld, changed %s", ntx,
				  (long long)newest, strbuf_str(&paths));
	file_changes_free(net, nnet);
	for (size_t i = 0; i < n; i++)
		txn_info_clear(&v[i]);
	free(v);
	return k;
}

static int read_reboot(struct bs_ctx *ctx, struct boot_state *s)
{
	struct bootloader bl = { 0 };
	struct error e = { 0 };
	int k;

	if (ctx->journal && (k = changed_this_boot(ctx, s)) < 0)
		return k;
	if (bootloader_detect(ctx->root, ctx->sysfs, &bl, &e) < 0)
		return strv_addf(&s->notes, "the boot loader: %s", e.text);
	if ((k = compare_cmdlines(ctx, s, &bl)) < 0)
		return k;
	return compare_mtimes(ctx, s, &bl);
}

bool boot_state_regenerated_since(const struct rootfs *root, const char *name, const char *started)
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
		return rootfs_stat(root, "/boot/grub/grub.cfg", &st) == 0 && st.st_mtime > t;
	if (!streq(name, HOOK_UPDATE_INITRAMFS) || kmods_list_kernels(root, &kernels, &n, &e) < 0)
		return false;
	newer = n > 0;
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/boot/initrd.img-%s", kernels[i]);
		newer &= rootfs_stat(root, path, &st) == 0 && st.st_mtime > t;
	}
	strv_free(kernels, n);
	return newer;
}

int boot_state_read(struct journal *j, const struct rootfs *r, const char *sysfs, const char *procfs,
		    struct boot_state *ret)
{
	struct bs_ctx ctx = { .journal = j, .root = r, .sysfs = sysfs, .procfs = procfs };
	struct boot_state s = { 0 };
	int k = read_reboot(&ctx, &s);

	if (k < 0) {
		boot_state_clear(&s);
		return k;
	}
	*ret = s;
	return 0;
}
