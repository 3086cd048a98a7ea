/* SPDX-License-Identifier: GPL-2.0-or-later */
/* status.c — `iommuctl status`: where the host stands, on one screen. The last applied profile,
 * hand edits of the managed files since the journal last saw them, an interrupted transaction,
 * the newest trial boot, a reboot that is pending (boot-state.h), a hook that failed and has not succeeded since, and a one-line verify
 * summary. It only reads: no lock, no recovery, the journal opened read-only; what it cannot read
 * it names, and it goes on. Exit 0 when nothing needs attention, 1 otherwise. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot-state.h"
#include "cmd.h"
#include "hooks.h"
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
	struct boot_state boot;		/* whether a reboot is pending, and why */
	struct hook_run hook;		/* a hook that failed and has not succeeded since; seq 0 when none */
	int64_t hook_txn;
	char *hook_txn_kind;
	struct trial_info trial;	/* the newest trial boot; txn 0 when none */
	char *trial_profile;
	bool verify_ran, verify_ok;
	size_t verify_pass, verify_fail;
	size_t verify_unknown;		/* checks this user cannot decide: not passed, not failed */
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
	boot_state_clear(&s->boot);
	free(s->hook.argv);
	free(s->hook.output);
	free(s->hook_txn_kind);
	strv_clear(&s->verify_failing);
	strv_clear(&s->unread);
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
		return strv_addf(&s->unread, "the transactions in %s: %s", journal_path(ctx->journal), ctx->err.text);
	if (n) {
		s->last = v[0];
		memset(&v[0], 0, sizeof(v[0]));
	}
	free(v);
	if (journal_pending(ctx->journal, &pending, &ctx->err) < 0)
		return strv_addf(&s->unread, "pending transactions in %s: %s", journal_path(ctx->journal), ctx->err.text);
	if (pending) {
		s->attention = true;
		if (journal_txn_get(ctx->journal, pending, &s->interrupted, &ctx->err) < 0)
			return strv_addf(&s->unread, "transaction %lld: %s", (long long)pending, ctx->err.text);
	}
	k = verify_last_applied(ctx->journal, &s->applied, &ctx->err);
	if (k == -EIO)
		return strv_addf(&s->unread, "the last apply in %s: %s", journal_path(ctx->journal), ctx->err.text);
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

/* Newest first, the first hook run that failed and that nothing made good since: neither a later
 * successful run of the same command (a later transaction's, or the restore's in the same one)
 * nor, run by hand, the files it makes newer than the failure (boot_state_regenerated_since). */
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
		return strv_addf(&s->unread, "the hook runs in %s: %s", journal_path(ctx->journal), ctx->err.text);
	/* Only to name the hooks of recorded command lines; without it they are named by their words. */
	if (hook_config_load(ctx->root, &hc, &e) < 0)
		k = strv_addf(&s->unread, "the hook configuration: %s", e.text);
	for (size_t i = 0; i < n && k == 0 && !s->hook_txn; i++) {
		struct hook_run *runs = NULL;
		const char *name;
		size_t nr = 0;

		if (journal_hook_runs(ctx->journal, v[i].id, &runs, &nr, &ctx->err) < 0) {
			k = strv_addf(&s->unread, "the hook runs of transaction %lld: %s", (long long)v[i].id, ctx->err.text);
			break;
		}
		/* Within one transaction a later run (the restore's) counts as later too. */
		for (size_t r = nr; r-- > 0 && k == 0;) {
			if (runs[r].status == 0) {
				k = strv_put(&succeeded, runs[r].argv);
			} else if (!strv_contains(&succeeded, runs[r].argv) &&
				   !((name = hook_name_of(&hc, runs[r].argv)) && streq(name, HOOK_ETCKEEPER)) &&
				   !boot_state_regenerated_since(ctx->root, name, runs[r].started_at)) {
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
		return strv_addf(&s->unread, "the trial boots in %s: %s", journal_path(ctx->journal), ctx->err.text);
	if (!id)
		return 0;
	k = journal_trial_get(ctx->journal, id, &s->trial, &ctx->err);
	if (k < 0) {
		s->trial.txn = 0;
		return strv_addf(&s->unread, "trial %lld: %s", (long long)id, k == -ENOENT ? "no trial row" : ctx->err.text);
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
		return strv_addf(&s->unread, "the journal's state of %s: %s", path, ctx->err.text);
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
		return strv_addf(&s->unread, "the managed files: %s", e.text);
	k = journal_has_baseline(ctx->journal, &baseline, &ctx->err);
	if (k == 0)
		k = journal_known_paths(ctx->journal, &known, &nknown, &ctx->err);
	if (k < 0) {
		managed_set_clear(&set);
		return strv_addf(&s->unread, "the journal's view of the managed files: %s", ctx->err.text);
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

/* ---- a pending reboot (boot-state.h) ---- */

static int read_reboot(struct ctx *ctx, struct status *s)
{
	int k = boot_state_read(ctx->journal, ctx->root, ctx->sysfs, ctx->procfs, &s->boot);

	for (size_t i = 0; k == 0 && i < s->boot.notes.n; i++)
		k = strv_add(&s->unread, s->boot.notes.v[i]);
	s->attention |= s->boot.reasons.n > 0;
	return k;
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
		return strv_addf(&s->unread, "profile %s, to verify it: %s", s->applied.profile, ctx->err.text);
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
		if (c.v[i].unknown) {
			s->verify_unknown++;
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
	json_object_object_add(x, "pending", json_object_new_boolean(s->boot.reasons.n > 0));
	json_object_object_add(x, "reasons", json_strv(&s->boot.reasons));
	json_object_object_add(x, "booted_cmdline", json_str(s->boot.booted));
	json_object_object_add(x, "next_cmdline", json_str(s->boot.next));
	json_object_object_add(x, "next_cmdline_file", json_str(s->boot.next_from));
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
		json_object_object_add(x, "unknown", json_object_new_int64((int64_t)s->verify_unknown));
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
	if (s->boot.reasons.n) {
		printf("reboot pending:\n");
		for (size_t i = 0; i < s->boot.reasons.n; i++)
			printf("  %s\n", s->boot.reasons.v[i]);
	} else {
		printf("reboot: none pending%s\n", s->boot.next ? "; the next boot gets the booted command line" : "");
	}
	if (s->hook_txn)
		printf("FAILED HOOK: `%s` exited with status %d in transaction %lld (%s, %s) and has not succeeded "
		       "since; run it%s%s, then `iommuctl%s%s status`; `iommuctl show %lld` has its output\n",
		       s->hook.argv, s->hook.status, (long long)s->hook_txn, s->hook_txn_kind ? s->hook_txn_kind : "",
		       s->hook.started_at, *in ? " inside the root: chroot " : "", *in ? root : "", in, *in ? root : "",
		       (long long)s->hook_txn);
	if (s->verify_ran && s->verify_ok && !s->verify_unknown)
		printf("verify: all %zu checks of profile %s pass\n", s->verify_pass, s->applied.profile);
	else if (s->verify_ran && s->verify_ok)
		printf("verify: %zu of %zu checks of profile %s pass, %zu cannot be decided by this user; "
		       "`iommuctl verify` shows them\n", s->verify_pass, s->verify_pass + s->verify_unknown,
		       s->applied.profile, s->verify_unknown);
	else if (s->verify_ran)
		printf("verify: %zu of %zu checks of profile %s fail (first: %s); `iommuctl verify` shows them\n",
		       s->verify_fail, s->verify_fail + s->verify_pass + s->verify_unknown, s->applied.profile,
		       s->verify_failing.v[0]);
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
		k = strv_addf(&s.unread, "the journal: %s", ctx->err.text);
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
	.summary = "where the host stands: last apply, trial boot, hand edits, pending reboot, failed hook, verify",
	.help = "Reads only (no lock, no recovery; the journal is opened read-only, so it works as any user\n"
		"who may read it): the last applied profile and its transaction; managed files changed\n"
		"since the journal last saw them; an interrupted transaction; the newest trial boot;\n"
		"whether a reboot is pending (a change made in the running boot, the next boot's command\n"
		"line against the booted one, grub.cfg or an initramfs older than the files they are made\n"
		"from); a hook that failed and has not succeeded since, and what to run; verify's checks\n"
		"in one line. What it could not read it names. Exit 0 when nothing needs attention, 1\n"
		"otherwise.\n",
	.min_args = 0,
	.max_args = 0,
	.flags = 0,
	.run = run,
};
