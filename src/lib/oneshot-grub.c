/* SPDX-License-Identifier: GPL-2.0-or-later */
/* oneshot-grub.c — the GRUB back end of the trial boot's one-shot: the static /etc/grub.d script,
 *  the per-trial file $prefix/iommuctl-trial.cfg, next_entry in $prefix/grubenv, and the check
 *  that GRUB can clear that one-shot by itself (grub-probe).
 *  Owns: oneshot_grub_*(). Must not: run update-grub (the caller installs the script once, as a
 *  journaled file, with its hooks), touch /etc/default/grub or the existing entries, or talk to
 *  the journal.
 *
 *  Measured (issue 15, grub-pc 2.06 on Debian 12, GRUB_DEFAULT=0): an entry from an /etc/grub.d
 *  script with next_entry=ID set booted once; GRUB cleared next_entry (00_header: "set
 *  next_entry=; save_env next_entry") and the next boot was the default again. On a btrfs /boot
 *  GRUB never clears it and the trial boots forever; a script sorting before 10_linux makes its
 *  entry number 0. GRUB_DEFAULT=saved: 00_header takes next_entry in the same branch before
 *  saved_entry, so the one-shot works too; the copied entry leaves out "savedefault" so that
 *  the trial never becomes the saved default. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grubcfg.h"
#include "hooks.h"
#include "macros.h"
#include "oneshot.h"
#include "strbuf.h"
#include "trialline.h"

static const char script[] =
	"#!/bin/sh\n"
	"# " ONESHOT_GRUB_SCRIPT " - installed by iommuctl for trial boots (iommuctl(8), TRIAL BOOT).\n"
	"# It adds no entry by itself. While a trial is armed, iommuctl writes\n"
	"# " ONESHOT_GRUB_TRIAL_FILE " (one menuentry --id " ONESHOT_GRUB_ENTRY_ID ") and\n"
	"# next_entry=" ONESHOT_GRUB_ENTRY_ID " in grubenv; GRUB boots that entry once and clears\n"
	"# next_entry. It sorts after 10_linux, so that its entry is never entry 0, the default.\n"
	"# `iommuctl rollback` of the transaction that installed it removes it.\n"
	"set -e\n"
	"cat <<'EOF'\n"
	"### iommuctl trial boot (iommuctl(8), TRIAL BOOT) ###\n"
	"if [ -f \"$prefix/iommuctl-trial.cfg\" ]; then\n"
	"  source \"$prefix/iommuctl-trial.cfg\"\n"
	"fi\n"
	"EOF\n";
#define SOURCE_LINE "source \"$prefix/iommuctl-trial.cfg\""

const char *oneshot_grub_script(void)
{
	return script;
}

static char *root_path(const struct rootfs *r, const char *path)
{
	char *p = NULL;

	if (streq(r->path, "/"))
		return strdup(path);
	return asprintf(&p, "%s%s", r->path, path) < 0 ? NULL : p;
}

/* The first word grub-probe printed for target; its warnings ("grub-probe: warning: …") are
 * skipped. */
static int probe(const char *dir, const char *target, char **ret, struct error *e)
{
	const char *prog = getenv(ONESHOT_GRUB_PROBE_ENV);
	_cleanup_free_ char *opt = NULL;
	struct hook_result h = { 0 };
	char *argv[4];
	int k;

	if (!prog || !*prog)
		prog = ONESHOT_GRUB_PROBE;
	if (asprintf(&opt, "--target=%s", target) < 0)
		return error_set(e, EXIT_IO, "out of memory"), -ENOMEM;
	argv[0] = (char *)prog;
	argv[1] = opt;
	argv[2] = (char *)dir;
	argv[3] = NULL;
	k = program_run(argv, &h);
	if (k < 0)
		return error_set(e, EXIT_IO, "out of memory"), k;
	if (h.status != 0) {
		error_set(e, EXIT_IO, "cannot tell whether GRUB can clear a one-shot: `%s --target=%s %s` %s %d: %s",
			  prog, target, dir, h.status < 0 ? "could not run, status" : "exited with status", h.status,
			  h.output && *h.output ? h.output : "(no output)");
		hook_result_clear(&h);
		return -EIO;
	}
	*ret = NULL;
	for (char *l = h.output, *nl; l && *l; l = nl ? nl + 1 : NULL) {
		nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		if (!strncmp(l, "grub-probe:", 11))
			continue;
		*ret = strdup(l);
		break;
	}
	hook_result_clear(&h);
	if (!*ret && !(*ret = strdup("")))
		return error_set(e, EXIT_IO, "out of memory"), -ENOMEM;
	return 0;
}

static int refuse(char **fs, char **abstraction, const char *why, struct error *e)
{
	error_set(e, EXIT_REFUSED,
		  "no trial boot on this host: %s holds GRUB's environment block (%s) on %s%s%s, which GRUB %s, so it "
		  "could not clear the one-shot at boot and the trial would boot forever. A trial needs /boot/grub "
		  "on ext2/3/4 or FAT without LVM, mdraid or encryption (e.g. a small ext4 /boot partition). "
		  "Without it: `iommuctl apply PROFILE` (undone by `iommuctl rollback`), with README's 'After "
		  "a failed boot' at hand", ONESHOT_GRUB_DIR, ONESHOT_GRUB_ENV, *fs, **abstraction ? " over " : "",
		  *abstraction, why);
	free(*fs);
	free(*abstraction);
	return -EOPNOTSUPP;
}

/* 0: GRUB writes its env file there; *ret_fs the file system grub-probe named. */
static int grub_writes_env(const struct rootfs *r, char **ret_fs, struct error *e)
{
	_cleanup_free_ char *dir = root_path(r, ONESHOT_GRUB_DIR);
	char *fs = NULL, *abstraction = NULL;

	if (!dir)
		return error_set(e, EXIT_IO, "out of memory"), -ENOMEM;
	if (probe(dir, "fs", &fs, e) < 0)
		return -EIO;
	if (probe(dir, "abstraction", &abstraction, e) < 0) {
		free(fs);
		return -EIO;
	}
	/* GRUB's save_env writes the file's own blocks through the disk layer: not through LVM,
	 * mdraid or cryptodisk (diskfilter writes are not supported), and only on file systems whose
	 * blocks hold the bytes as they are (ext2/3/4, which grub-probe calls "ext2", and FAT). */
	if (*abstraction)
		return refuse(&fs, &abstraction, "cannot write through that layer", e);
	if (!streq(fs, "ext2") && !streq(fs, "fat"))
		return refuse(&fs, &abstraction, "does not write (btrfs, ZFS, XFS …)", e);
	free(abstraction);
	*ret_fs = fs;
	return 0;
}

static int read_text(const struct rootfs *r, const char *path, bool need, struct file_state *fs, struct error *e)
{
	char shown[4096];

	if (rootfs_read_file(r, path, fs, e) < 0)
		return -EIO;
	if (need && !fs->present)
		return error_set(e, EXIT_IO, "%s does not exist; run update-grub", rootfs_display(r, path, shown,
												   sizeof(shown))), -ENOENT;
	return 0;
}

/* grub.cfg's default entry, with grubenv's saved_entry. */
static int default_entry(const struct rootfs *r, const struct file_state *env, struct grubcfg_entry *ret,
			 struct error *e)
{
	_cleanup_free_ char *saved = env->present ? grubenv_get(env->data, env->len, "saved_entry") : NULL;
	struct file_state cfg = { 0 };
	char why[512] = "";
	int k;

	if (read_text(r, ONESHOT_GRUB_CFG, true, &cfg, e) < 0) {
		file_state_clear(&cfg);
		return -EIO;
	}
	k = grubcfg_default_entry(cfg.data ? cfg.data : "", saved, ret, why, sizeof(why));
	file_state_clear(&cfg);
	if (k == -EOPNOTSUPP)
		return error_set(e, EXIT_REFUSED,
				 "no trial boot on this host: %s; the trial entry copies the entry GRUB boots by default "
				 "and iommuctl reads only the first one. Set GRUB_DEFAULT=0 in /etc/default/grub and run "
				 "update-grub, or apply without --trial", why), k;
	if (k == -ENOENT)
		return error_set(e, EXIT_IO, "%s has no menuentry with a linux line to copy; run update-grub",
				 ONESHOT_GRUB_CFG), k;
	if (k < 0)
		return error_set(e, EXIT_IO, "out of memory"), k;
	return 0;
}

int oneshot_grub_check(const struct rootfs *r, const struct oneshot_env *env, char **ret_where, struct error *e)
{
	struct file_state grubenv = { 0 };
	struct grubcfg_entry def = { 0 };
	_cleanup_free_ char *fs = NULL, *next = NULL;
	int k;

	if (grub_writes_env(r, &fs, e) < 0)
		return -EOPNOTSUPP;
	if (read_text(r, ONESHOT_GRUB_ENV, false, &grubenv, e) < 0)
		return -EIO;
	if (grubenv.present && grubenv.len != GRUBENV_SIZE) {
		file_state_clear(&grubenv);
		return error_set(e, EXIT_BAD_INPUT, "%s is not GRUB's 1024-byte environment block; recreate it with "
				 "`grub-editenv %s create`", ONESHOT_GRUB_ENV, ONESHOT_GRUB_ENV), -EBADMSG;
	}
	next = grubenv.present ? grubenv_get(grubenv.data, grubenv.len, "next_entry") : NULL;
	if (next && *next && !streq(next, ONESHOT_GRUB_ENTRY_ID)) {
		file_state_clear(&grubenv);
		return error_set(e, EXIT_REFUSED, "%s already names a one-shot, next_entry=%s (a pending "
				 "grub-reboot?); boot it first, or clear it with `grub-editenv %s unset next_entry`",
				 ONESHOT_GRUB_ENV, next, ONESHOT_GRUB_ENV), -EBUSY;
	}
	k = default_entry(r, &grubenv, &def, e);
	file_state_clear(&grubenv);
	grubcfg_entry_clear(&def);
	if (k < 0)
		return k;
	if (ret_where && asprintf(ret_where, "GRUB next_entry in %s (%s)", ONESHOT_GRUB_ENV, fs) < 0)
		return error_set(e, EXIT_IO, "out of memory"), -ENOMEM;
	return 0;
}

int oneshot_grub_sourced(const struct rootfs *r, bool *ret, struct error *e)
{
	struct file_state cfg = { 0 };

	if (read_text(r, ONESHOT_GRUB_CFG, false, &cfg, e) < 0)
		return -EIO;
	*ret = cfg.present && grubcfg_has_line(cfg.data ? cfg.data : "", SOURCE_LINE);
	file_state_clear(&cfg);
	return 0;
}

/* Make path hold data (or remove it when data is NULL): temp file, fsync, rename, fsync the directory. */
static int put_file(const struct rootfs *r, const char *path, const char *data, size_t len, const struct file_state *like,
		    struct error *e)
{
	struct file_state st = { .present = data != NULL, .mode = 0644, .uid = like->uid, .gid = like->gid };
	_cleanup_close_ int dirfd = -1;
	char shown[4096];
	int k;

	if (data) {
		st.data = (char *)data;
		st.len = len;
	}
	k = rootfs_open_dir(r, ONESHOT_GRUB_DIR, false, 0755, ROOTFS_NO_LINKS, &dirfd, e);
	if (k < 0)
		return k;
	k = rootfs_replace_at(r, dirfd, path, &st, e);
	if (k < 0)
		return k;
	if (fsync(dirfd) < 0)
		return error_set_errno(e, EXIT_IO, errno, "cannot fsync %s: %s",
				       rootfs_display(r, ONESHOT_GRUB_DIR, shown, sizeof(shown)), strerror(errno)), -EIO;
	return 0;
}

/* grubenv with next_entry set to value (NULL: unset). */
static int put_next_entry(const struct rootfs *r, const struct file_state *env, const char *value, struct error *e)
{
	_cleanup_free_ char *block = NULL;
	struct file_state like = *env;
	int k;

	k = grubenv_set(env->present ? env->data : NULL, env->present ? env->len : 0, "next_entry", value, &block);
	if (k == -EBADMSG)
		return error_set(e, EXIT_BAD_INPUT, "%s is not GRUB's environment block; recreate it with "
				 "`grub-editenv %s create`", ONESHOT_GRUB_ENV, ONESHOT_GRUB_ENV), k;
	if (k == -E2BIG)
		return error_set(e, EXIT_IO, "%s has no room left in its 1024 bytes for next_entry; remove variables "
				 "with `grub-editenv %s unset NAME`", ONESHOT_GRUB_ENV, ONESHOT_GRUB_ENV), k;
	if (k < 0)
		return error_set(e, EXIT_IO, "out of memory"), k;
	if (!env->present)
		like.uid = like.gid = 0;
	return put_file(r, ONESHOT_GRUB_ENV, block, GRUBENV_SIZE, &like, e);
}

int oneshot_grub_arm(const struct rootfs *r, const struct oneshot_env *env, const struct trial_boot *t,
		     struct oneshot_armed *ret, struct error *e)
{
	struct file_state grubenv = { 0 }, cfg = { 0 };
	struct grubcfg_entry def = { 0 };
	struct cmdline_error ce = { 0 };
	struct oneshot_armed a = { 0 };
	_cleanup_free_ char *args = NULL, *text = NULL, *title = NULL, *comment = NULL;
	bool sourced = false;
	int k;

	k = oneshot_grub_check(r, env, &a.where, e);
	if (k == 0)
		k = oneshot_grub_sourced(r, &sourced, e);
	if (k == 0 && !sourced)
		k = (error_set(e, EXIT_REFUSED, "%s does not source the trial file yet: %s is installed, but "
			      "update-grub has not run since; run update-grub, then apply --trial again",
			      ONESHOT_GRUB_CFG, ONESHOT_GRUB_SCRIPT), -ENOENT);
	if (k == 0)
		k = read_text(r, ONESHOT_GRUB_ENV, false, &grubenv, e);
	if (k == 0)
		k = read_text(r, ONESHOT_GRUB_CFG, true, &cfg, e);
	if (k == 0)
		k = default_entry(r, &grubenv, &def, e);
	if (k == 0 && trialline_apply(def.args, t->cmdline_add, t->cmdline_drop, &args, &ce) < 0)
		k = (error_set(e, EXIT_BAD_INPUT, "%s: the default entry's linux line: %s", ONESHOT_GRUB_CFG,
			       ce.message), -EINVAL);
	if (k == 0 && (asprintf(&title, "iommuctl trial %lld (%s)", (long long)t->txn, def.title) < 0 ||
		       asprintf(&comment, "# iommuctl trial boot of transaction %lld (iommuctl(8), TRIAL BOOT).\n"
				"# Made from grub.cfg's default entry '%s' with the trial's command line;\n"
				"# removed by commit, rollback or the boot check.\n", (long long)t->txn, def.title) < 0))
		k = (error_set(e, EXIT_IO, "out of memory"), -ENOMEM);
	/* The title goes between single quotes: GRUB ends it at the next one. */
	for (char *c = title; k == 0 && *c; c++)
		if (*c == '\'')
			*c = '"';
	if (k == 0 && !(text = grubcfg_trial_file(&def, ONESHOT_GRUB_ENTRY_ID, title, args, comment)))
		k = (error_set(e, EXIT_IO, "out of memory"), -ENOMEM);
	/* The entry first, then the one-shot that names it: a crash between leaves an entry no boot runs. */
	if (k == 0)
		k = put_file(r, ONESHOT_GRUB_TRIAL_FILE, text, strlen(text), &cfg, e);
	if (k == 0 && (k = put_next_entry(r, &grubenv, ONESHOT_GRUB_ENTRY_ID, e)) < 0) {
		struct error ignored = { 0 };

		put_file(r, ONESHOT_GRUB_TRIAL_FILE, NULL, 0, &cfg, &ignored);
	}
	if (k == 0 && (!(a.entry_id = strdup(ONESHOT_GRUB_ENTRY_ID)) || strv_add(&a.files, ONESHOT_GRUB_TRIAL_FILE) < 0 ||
		       strv_add(&a.files, ONESHOT_GRUB_ENV) < 0))
		k = (error_set(e, EXIT_IO, "out of memory"), -ENOMEM);
	if (k == 0) {
		_cleanup_free_ char *n = NULL;

		if (asprintf(&n, "the trial entry copies grub.cfg's default entry '%s' (kernel %s)", def.title,
			     def.kernel) < 0 || strv_add(&a.notes, n) < 0)
			k = (error_set(e, EXIT_IO, "out of memory"), -ENOMEM);
	}
	file_state_clear(&grubenv);
	file_state_clear(&cfg);
	grubcfg_entry_clear(&def);
	if (k < 0) {
		/* oneshot_armed_clear() lives in the dispatcher above this file. */
		free(a.where);
		free(a.entry_id);
		strv_clear(&a.files);
		strv_clear(&a.notes);
		return k;
	}
	*ret = a;
	return 0;
}

int oneshot_grub_disarm(const struct rootfs *r, const struct oneshot_env *env, int64_t txn, struct error *e)
{
	struct file_state grubenv = { 0 }, trial = { 0 };
	_cleanup_free_ char *next = NULL;
	int k;

	k = read_text(r, ONESHOT_GRUB_ENV, false, &grubenv, e);
	if (k == 0 && grubenv.present)
		next = grubenv_get(grubenv.data, grubenv.len, "next_entry");
	/* Only our own one-shot: another one (grub-reboot) is the administrator's. */
	if (k == 0 && next && streq(next, ONESHOT_GRUB_ENTRY_ID))
		k = put_next_entry(r, &grubenv, NULL, e);
	if (k == 0)
		k = read_text(r, ONESHOT_GRUB_TRIAL_FILE, false, &trial, e);
	if (k == 0 && trial.present)
		k = put_file(r, ONESHOT_GRUB_TRIAL_FILE, NULL, 0, &trial, e);
	file_state_clear(&grubenv);
	file_state_clear(&trial);
	return k < 0 ? k : 0;
}
