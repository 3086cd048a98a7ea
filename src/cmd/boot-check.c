/* SPDX-License-Identifier: GPL-2.0-or-later */
/* boot-check.c — `iommuctl boot-check`, what iommuctl-boot-check.service runs at every boot: a trial
 *  boot (iommuctl.trial=TXN on the command line) is checked, then committed or left by a reboot
 *  into the old configuration; the first boot after a commit is checked again and rolled back
 *  when it fails. */
#include <stdio.h>
#include <string.h>

#include "bootcheck.h"
#include "hw.h"
#include "strbuf.h"
#include "trials.h"

static void print_checks(const struct ctx *ctx, const struct run_checks *c)
{
	if (ctx->json)
		return;
	for (size_t i = 0; i < c->n; i++)
		printf("  %s %-13s %s\n", c->v[i].ok ? "ok  " : "FAIL", c->v[i].id, c->v[i].message);
}

static char *failures(const struct run_checks *c)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < c->n; i++)
		if (!c->v[i].ok)
			strbuf_appendf(&sb, "%s%s", sb.len ? "; " : "", c->v[i].message);
	return sb.buf ? strbuf_steal(&sb) : strdup("");
}

static void json_report(const char *what, int64_t trial, const char *outcome, bool ok, int64_t txn,
			const struct run_checks *c)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	json_object_object_add(o, "check", json_object_new_string(what));
	json_object_object_add(o, "trial", trial ? json_object_new_int64(trial) : NULL);
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "outcome", json_object_new_string(outcome));
	json_object_object_add(o, "txn", txn ? json_object_new_int64(txn) : NULL);
	for (size_t i = 0; c && i < c->n; i++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "id", json_object_new_string(c->v[i].id));
		json_object_object_add(x, "ok", json_object_new_boolean(c->v[i].ok));
		json_object_object_add(x, "message", json_object_new_string(c->v[i].message));
		json_object_array_add(a, x);
	}
	json_object_object_add(o, "checks", a);
	output_json(o);
	json_object_put(o);
}

static int checks_of(struct ctx *ctx, const char *booted, const struct trial_info *tr, bool trial_boot,
		     struct run_checks *ret)
{
	struct hw hw = { 0 };
	int k;

	k = hw_scan(ctx->sysfs, ctx->procfs, &hw, &ctx->err);
	if (k == 0 && bootcheck_run(ctx->sysfs, ctx->procfs, &hw, booted, tr->cmdline_add, trial_boot, ret) < 0)
		k = error_set(&ctx->err, EXIT_IO, "out of memory");
	hw_clear(&hw);
	return k;
}

static int record_state(struct ctx *ctx, int64_t txn, const char *state, const char *outcome, const char *boot_id,
			const char *txn_state)
{
	if (journal_begin(ctx->journal, &ctx->err) < 0)
		return -1;
	if (journal_trial_set_state(ctx->journal, txn, state, outcome, boot_id, &ctx->err) < 0 ||
	    (txn_state && journal_txn_finish(ctx->journal, txn, txn_state, outcome, &ctx->err) < 0) ||
	    journal_commit(ctx->journal, &ctx->err) < 0) {
		journal_rollback_sql(ctx->journal);
		return -1;
	}
	return 0;
}

/* The boot that runs the trial entry. */
static int check_trial(struct ctx *ctx, int64_t id, const char *booted, const char *boot_id)
{
	struct txn_info t = { 0 };
	struct trial_info tr = { 0 };
	struct run_checks c = { 0 };
	_cleanup_free_ char *why = NULL, *outcome = NULL, *arg = NULL;
	int64_t commit = 0;
	int r = 0;

	if (asprintf(&arg, "%lld", (long long)id) < 0 || trial_pick(ctx, arg, &t, &tr)) {
		r = ctx_fail(ctx);
		goto out;
	}
	if (!streq(tr.state, "armed")) {
		if (ctx->json)
			json_report("trial", id, "already decided", true, 0, NULL);
		else
			printf("trial %lld is %s already; nothing to check\n", (long long)id, tr.state);
		goto out;
	}
	if (checks_of(ctx, booted, &tr, true, &c) < 0) {
		r = ctx_fail(ctx);
		goto out;
	}
	if (!ctx->json)
		printf("boot check of trial %lld:\n", (long long)id);
	print_checks(ctx, &c);
	if (c.failed) {
		why = failures(&c);
		if (asprintf(&outcome, "boot check failed: %s", why ? why : "") < 0)
			outcome = NULL;
		/* Nothing was written: record, remove what is left of the trial entry, and leave this
		 * boot for the old configuration (the one-shot is used up). */
		if (record_state(ctx, id, "failed", outcome, boot_id, "failed") < 0 || trial_disarm(ctx, id) < 0) {
			r = ctx_fail(ctx);
			goto out;
		}
		if (ctx->json)
			json_report("trial", id, outcome ? outcome : "boot check failed", false, 0, &c);
		if (trial_reboot(ctx, "the trial boot failed its check; the next boot runs the old configuration") < 0)
			ctx_fail(ctx);
		r = EXIT_CHECK_FAILED;
		goto out;
	}
	if (asprintf(&outcome, "boot check passed (%zu checks)", c.n) < 0 ||
	    record_state(ctx, id, "passed", outcome, boot_id, NULL) < 0) {
		r = ctx_fail(ctx);
		goto out;
	}
	if (tr.no_commit) {
		if (ctx->json)
			json_report("trial", id, outcome, true, 0, &c);
		else
			printf("trial %lld passed; it was armed with --no-commit: `iommuctl commit %lld` makes it permanent, "
			       "`iommuctl rollback` cancels it\n", (long long)id, (long long)id);
		trial_disarm(ctx, id);
		goto out;
	}
	if (trial_commit(ctx, &t, &tr, &commit) < 0) {
		r = ctx_fail(ctx);
		goto out;
	}
	if (ctx->json)
		json_report("trial", id, outcome, true, commit, &c);
	else
		printf("trial %lld passed and is committed as transaction %lld; the next boot runs the files and is "
		       "checked again\n", (long long)id, (long long)commit);
out:
	run_checks_clear(&c);
	trial_info_clear(&tr);
	txn_info_clear(&t);
	return r;
}

/* The first boot after a commit: softdeps and the initramfs take effect only now. */
static int check_first_boot(struct ctx *ctx, int64_t id, const char *booted, const char *boot_id)
{
	struct txn_info commit = { 0 };
	struct trial_info tr = { 0 };
	struct run_checks c = { 0 };
	_cleanup_free_ char *why = NULL, *outcome = NULL;
	int64_t rb = 0;
	int r = 0;

	if (journal_trial_get(ctx->journal, id, &tr, &ctx->err) < 0 ||
	    (tr.commit_txn && journal_txn_get(ctx->journal, tr.commit_txn, &commit, &ctx->err) < 0)) {
		r = ctx_fail(ctx);
		goto out;
	}
	/* The boot that made the commit runs the old initramfs: only a later boot tells. */
	if (!tr.commit_txn || (*commit.boot_id && boot_id && streq(commit.boot_id, boot_id))) {
		if (ctx->json)
			json_report("none", 0, "nothing to check in this boot", true, 0, NULL);
		else
			printf("nothing to check: trial %lld was committed in this boot; the next boot is checked\n",
			       (long long)id);
		goto out;
	}
	if (checks_of(ctx, booted, &tr, false, &c) < 0) {
		r = ctx_fail(ctx);
		goto out;
	}
	if (!ctx->json)
		printf("first boot after the commit of trial %lld (transaction %lld):\n", (long long)id,
		       (long long)tr.commit_txn);
	print_checks(ctx, &c);
	if (!c.failed) {
		if (asprintf(&outcome, "passed (%zu checks)", c.n) < 0 || journal_begin(ctx->journal, &ctx->err) < 0 ||
		    journal_trial_set_first_boot(ctx->journal, id, boot_id, true, outcome, 0, &ctx->err) < 0 ||
		    journal_commit(ctx->journal, &ctx->err) < 0) {
			journal_rollback_sql(ctx->journal);
			r = ctx_fail(ctx);
			goto out;
		}
		if (ctx->json)
			json_report("first-boot", id, outcome, true, 0, &c);
		goto out;
	}
	why = failures(&c);
	if (asprintf(&outcome, "first boot after the commit failed its check: %s", why ? why : "") < 0)
		outcome = NULL;
	r = EXIT_CHECK_FAILED;
	if (trial_undo_commit(ctx, &tr, outcome, &rb) < 0) {
		/* Recorded all the same, and no reboot: it would come back to the same files. */
		fprintf(stderr, "iommuctl: %s\n", ctx->err.text);
		r = ctx->err.exit_code;
	}
	if (journal_begin(ctx->journal, &ctx->err) < 0 ||
	    journal_trial_set_first_boot(ctx->journal, id, boot_id, false, outcome, rb, &ctx->err) < 0 ||
	    journal_commit(ctx->journal, &ctx->err) < 0) {
		journal_rollback_sql(ctx->journal);
		r = ctx_fail(ctx);
		goto out;
	}
	if (ctx->json)
		json_report("first-boot", id, outcome ? outcome : "failed", false, rb, &c);
	else if (rb)
		printf("rolled back transaction %lld as transaction %lld\n", (long long)tr.commit_txn, (long long)rb);
	if (rb && trial_reboot(ctx, "the first boot after the commit failed its check; the commit is rolled back") < 0)
		ctx_fail(ctx);
out:
	run_checks_clear(&c);
	trial_info_clear(&tr);
	txn_info_clear(&commit);
	return r;
}

/* An armed trial, armed in an earlier boot, and this boot has no marker: the trial boot never
 * reached its check (a panic, a root that did not mount, emergency mode, a power cycle), and
 * GRUB has used up the one-shot, so this boot runs the old configuration. Record it and remove
 * what is left of the trial entry; nothing else to do in this boot. 1 when one was found. */
static int trial_lost(struct ctx *ctx, const char *boot_id, int *ret)
{
	struct txn_info t = { 0 };
	int64_t id = 0;
	int found = 0;
	const char *why = "the trial boot did not reach its check (a panic, a root that did not mount, emergency "
			  "mode, a hang and a power cycle); this boot runs the old configuration";

	*ret = 0;
	if (!boot_id || journal_trial_latest(ctx->journal, "armed", &id, &ctx->err) < 0 || !id)
		return 0;
	if (journal_txn_get(ctx->journal, id, &t, &ctx->err) < 0) {
		*ret = ctx_fail(ctx);
		return 1;
	}
	/* Armed in this very boot: the trial has not been booted yet. Unknown boot: cannot tell. */
	if (*t.boot_id && !streq(t.boot_id, boot_id)) {
		found = 1;
		if (record_state(ctx, id, "failed", why, boot_id, "failed") < 0 || trial_disarm(ctx, id) < 0)
			*ret = ctx_fail(ctx);
		else if (ctx->json)
			json_report("lost-trial", id, why, false, 0, NULL);
		else
			printf("trial %lld failed: %s\n", (long long)id, why);
	}
	txn_info_clear(&t);
	return found;
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	_cleanup_free_ char *booted = running_read(ctx->procfs, "cmdline"), *marker = NULL;
	char boot_id[37] = "";
	bool have_boot_id = hw_boot_id(ctx->procfs, boot_id) == 0;
	unsigned long id = 0;
	int64_t unchecked = 0;
	int r = 0;

	if (!booted) {
		error_set(&ctx->err, EXIT_IO, "cannot read %s/cmdline: %s", ctx->procfs, strerror(errno));
		return ctx_fail(ctx);
	}
	marker = trialline_value(booted, TRIAL_MARKER);
	if (marker) {
		if (parse_uint(marker, &id) < 0 || id == 0) {
			error_set(&ctx->err, EXIT_USAGE, "%s/cmdline has %s=%s, which is no transaction id", ctx->procfs,
				  TRIAL_MARKER, marker);
			return ctx_fail(ctx);
		}
		return check_trial(ctx, (int64_t)id, booted, have_boot_id ? boot_id : NULL);
	}
	if (trial_lost(ctx, have_boot_id ? boot_id : NULL, &r))
		return r;
	if (journal_trial_unchecked_commit(ctx->journal, &unchecked, &ctx->err) < 0)
		return ctx_fail(ctx);
	if (unchecked)
		return check_first_boot(ctx, unchecked, booted, have_boot_id ? boot_id : NULL);
	if (ctx->json)
		json_report("none", 0, "no trial and no unchecked commit", true, 0, NULL);
	else
		printf("nothing to check: this is no trial boot, and no committed trial waits for its first boot\n");
	return 0;
}

const struct cmd cmd_boot_check = {
	.name = "boot-check",
	.synopsis = "",
	.summary = "check a trial boot, then commit it or reboot (run by iommuctl-boot-check.service)",
	.help = "With iommuctl.trial=TXN on <procfs>/cmdline: check the running system against the\n"
		"trial and what the host needs (/ read-write, the default-route NIC up, the console GPU\n"
		"kept); pass: commit (unless apply --trial --no-commit); fail: record it, remove the\n"
		"trial entry and reboot into the old configuration (exit 1). Without it: check the first\n"
		"boot after a trial's commit once; fail: roll the commit back and reboot (exit 1). An armed\n"
		"trial from an earlier boot that never reached its check is recorded as failed.\n"
		"The reboot runs $IOMMUCTL_REBOOT_COMMAND (default: systemctl reboot).\n",
	.max_args = 0,
	.flags = CMD_WRITES,
	.run = run,
};
