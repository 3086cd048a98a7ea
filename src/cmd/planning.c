/* SPDX-License-Identifier: GPL-2.0-or-later */
/* planning.c — shared by plan, apply and diff PROFILE: host facts, the profile, the plan, its output. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "safety.h"
#include "diff.h"
#include "hw-read.h"
#include "hw.h"
#include "kmods.h"
#include "planning.h"
#include "strbuf.h"

struct kernel_facts {
	const struct rootfs *root;
	char **kernels;
	size_t n;
	struct kmods **ctx;	/* opened on first use */
};

/* The libkmod context of an installed kernel, opened on first use; NULL with *err. */
static struct kmods *kernel_ctx(struct kernel_facts *kf, const char *kernel, int *err)
{
	for (size_t i = 0; i < kf->n; i++) {
		struct error ignored = { 0 };

		if (!streq(kf->kernels[i], kernel))
			continue;
		if (!kf->ctx[i] && kmods_open(kf->root, kernel, &kf->ctx[i], &ignored) < 0) {
			*err = -EIO;
			return NULL;
		}
		return kf->ctx[i];
	}
	*err = -ENOENT;
	return NULL;
}

static int kernel_has_module(void *data, const char *kernel, const char *module)
{
	int err = 0;
	struct kmods *k = kernel_ctx(data, kernel, &err);

	return k ? kmods_has_module(k, module) : err;
}

static int kernel_has_param(void *data, const char *kernel, const char *module, const char *param)
{
	int err = 0;
	struct kmods *k = kernel_ctx(data, kernel, &err);

	/* -ENOENT from here would read as "no such module": an unknown kernel is -EIO. */
	return k ? kmods_module_has_param(k, module, param) : -EIO;
}

static void kernel_facts_clear(struct kernel_facts *kf)
{
	for (size_t i = 0; kf->ctx && i < kf->n; i++)
		kmods_free(kf->ctx[i]);
	free(kf->ctx);
	strv_free(kf->kernels, kf->n);
	memset(kf, 0, sizeof(*kf));
}

const struct option planning_options[] = {
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ 0 },
};

void planned_clear(struct planned *pl)
{
	plan_clear(&pl->plan);
	hw_clear(&pl->hw);
	profile_free(pl->profile);
	memset(pl, 0, sizeof(*pl));
}

int planned_make(struct ctx *ctx, const char *name, struct planned *ret)
{
	struct kernel_facts kf = { .root = ctx->root };
	struct host_facts facts = { .kernel_has_module = kernel_has_module, .kernel_has_param = kernel_has_param,
				   .data = &kf };
	struct planned pl = { 0 };
	_cleanup_free_ char *cpuinfo = NULL;
	char vendor[64];
	int k;

	if (asprintf(&cpuinfo, "%s/cpuinfo", ctx->procfs) < 0)
		return error_set(&ctx->err, EXIT_IO, "out of memory"), -ENOMEM;
	facts.cpuinfo = cpuinfo;
	k = hw_cpu_vendor(ctx->procfs, vendor, sizeof(vendor));
	if (k == 0)
		facts.cpu_vendor = vendor;
	else if (k != -ENOENT)
		facts.cpuinfo_errno = -k;
	k = kmods_list_kernels(ctx->root, &kf.kernels, &kf.n, &ctx->err);
	if (k == 0 && !(kf.ctx = calloc(kf.n + 1, sizeof(*kf.ctx)))) {
		error_set(&ctx->err, EXIT_IO, "out of memory");
		k = -ENOMEM;
	}
	facts.kernels = (const char *const *)kf.kernels;
	facts.n_kernels = kf.n;
	facts.devices = ctx->devices;
	facts.n_devices = ctx->n_devices;
	/* The hardware: the gpu profile's choice and the safety findings (DESIGN.md §7). */
	if (k == 0)
		k = hw_read_all(ctx->sysfs, ctx->procfs, ctx->root, &pl.hw, &ctx->err);
	facts.hw = &pl.hw;
	if (k == 0)
		k = profile_load(ctx->root, name, &facts, &pl.profile, &ctx->err);
	if (k == 0 && ctx->n_devices && !pl.profile->vfio_devices.n) {
		error_set(&ctx->err, EXIT_USAGE, "--device is for the gpu profile (or a profile with [vfio-pci] "
			  "devices); profile %s passes no device", name);
		k = -EINVAL;
	}
	if (k == 0)
		k = plan_make(ctx->root, ctx->sysfs, &pl.hw, pl.profile, &pl.plan, &ctx->err);
	kernel_facts_clear(&kf);
	if (k < 0) {
		planned_clear(&pl);
		return k;
	}
	*ret = pl;
	return 0;
}

static const char *severity_name(enum finding_severity s)
{
	return s == FINDING_BLOCKING ? "blocking" : s == FINDING_WARNING ? "warning" : "info";
}

int planned_diff(const struct planned *pl, struct strbuf *out)
{
	for (size_t i = 0; i < pl->plan.n_changes; i++) {
		int k = diff_file_change(out, &pl->plan.changes[i]);

		if (k < 0)
			return k;
	}
	return 0;
}

void planned_print_findings(const struct planned *pl, FILE *f)
{
	for (size_t i = 0; i < pl->plan.n_findings; i++) {
		const struct finding *x = &pl->plan.findings[i];

		fprintf(f, "  %-8s %s\n", severity_name(x->severity), x->message);
		if (x->hint)
			fprintf(f, "           next: %s\n", x->hint);
	}
}

void hooks_print(const struct ctx *ctx, const struct strv *hooks, const struct hook_config *hc, FILE *f)
{
	bool chrooted = !streq(ctx->root->path, "/");

	for (size_t i = 0; i < hooks->n; i++) {
		_cleanup_free_ char *cmd = hook_config_command_line(hc, hooks->v[i]);

		fprintf(f, "  %s%s%s%s\n", cmd ? cmd : hooks->v[i], chrooted ? "  (chrooted into " : "",
			chrooted ? ctx->root->path : "", chrooted ? ")" : "");
	}
}

void planned_print_hooks(const struct ctx *ctx, const struct planned *pl, const struct hook_config *hc, FILE *f)
{
	hooks_print(ctx, &pl->plan.hooks, hc, f);
}

void etckeeper_commit(struct ctx *ctx, int64_t txn, int seq, const struct hook_config *hc, const char *message)
{
	const char *const unclean[] = { "unclean", NULL }, *const commit[] = { "commit", message, NULL };
	struct hook_result hr = { 0 };
	struct error e = { 0 };
	int fd;

	if (ctx->no_hooks || !hook_installed(ctx->root, hc, HOOK_ETCKEEPER))
		return;
	/* Only an /etc that etckeeper manages ("etckeeper init" leaves /etc/.etckeeper). */
	fd = rootfs_openat(ctx->root, "/etc/.etckeeper", O_PATH | O_CLOEXEC, 0, ROOTFS_NO_LINKS);
	if (fd < 0)
		return;
	close(fd);
	/* "etckeeper unclean" exits 0 when /etc has uncommitted changes. */
	if (hook_run_args(NULL, 0, 0, ctx->root, hc, HOOK_ETCKEEPER, unclean, &hr, &e) < 0 || hr.status != 0) {
		hook_result_clear(&hr);
		return;
	}
	hook_result_clear(&hr);
	if (hook_run_args(txn ? ctx->journal : NULL, txn, seq, ctx->root, hc, HOOK_ETCKEEPER, commit, &hr, &e) < 0)
		fprintf(stderr, "iommuctl: warning: %s\n", e.text);
	else if (hr.status != 0)
		fprintf(stderr, "iommuctl: warning: etckeeper commit exited with status %d; /etc's git history "
			"misses this change (run etckeeper commit by hand):\n%s", hr.status, hr.output ? hr.output : "");
	hook_result_clear(&hr);
}

const char *hooks_run(struct ctx *ctx, int64_t txn, const struct strv *hooks, const struct hook_config *hc,
		      int *ret_status)
{
	const char *failed = NULL;

	for (size_t i = 0; i < hooks->n; i++) {
		struct hook_result hr;
		struct error e = { 0 };
		_cleanup_free_ char *cmd = hook_config_command_line(hc, hooks->v[i]);

		if (!ctx->json)
			printf("running %s\n", cmd ? cmd : hooks->v[i]);
		if (hook_run(ctx->journal, txn, (int)i + 1, ctx->root, hc, hooks->v[i], &hr, &e) < 0)
			fprintf(stderr, "iommuctl: %s\n", e.text);
		if (hr.status != 0 && !failed) {
			failed = hooks->v[i];
			*ret_status = hr.status;
			fprintf(stderr, "%s", hr.output ? hr.output : "");
		}
		hook_result_clear(&hr);
		/* After a failure, the remaining hooks would regenerate from files about to be restored. */
		if (failed)
			break;
	}
	return failed;
}

struct json_object *planned_json(const struct ctx *ctx, const struct planned *pl, const struct hook_config *hc)
{
	struct json_object *o = json_object_new_object(), *a, *b;

	json_object_object_add(o, "profile", json_object_new_string(pl->profile->name));
	json_object_object_add(o, "origin", json_object_new_string(pl->profile->origin));
	b = json_object_new_object();
	json_object_object_add(b, "kind", json_object_new_string(bootloader_name(pl->plan.boot.kind)));
	json_object_object_add(b, "cmdline_file", json_object_new_string(pl->plan.boot.cmdline_file));
	json_object_object_add(b, "reason", json_object_new_string(pl->plan.boot.reason));
	json_object_object_add(o, "bootloader", b);
	json_object_object_add(o, "cmdline", pl->plan.effective_cmdline ? json_object_new_string(pl->plan.effective_cmdline) : NULL);
	a = json_object_new_array();
	for (size_t i = 0; i < pl->plan.n_changes; i++) {
		_cleanup_strbuf_ struct strbuf d = STRBUF_INIT;
		struct json_object *f = json_object_new_object();

		diff_file_change(&d, &pl->plan.changes[i]);
		json_object_object_add(f, "path", json_object_new_string(pl->plan.changes[i].path));
		json_object_object_add(f, "change", json_object_new_string(change_kind(&pl->plan.changes[i])));
		json_object_object_add(f, "diff", json_object_new_string(strbuf_str(&d)));
		json_object_array_add(a, f);
	}
	json_object_object_add(o, "files", a);
	a = json_object_new_array();
	for (size_t i = 0; i < pl->plan.hooks.n; i++) {
		_cleanup_free_ char *cmd = hook_config_command_line(hc, pl->plan.hooks.v[i]);

		json_object_array_add(a, json_object_new_string(cmd ? cmd : pl->plan.hooks.v[i]));
	}
	json_object_object_add(o, "hooks", a);
	a = json_object_new_array();
	for (size_t i = 0; i < pl->plan.n_findings; i++) {
		const struct finding *x = &pl->plan.findings[i];
		struct json_object *f = json_object_new_object();

		json_object_object_add(f, "severity", json_object_new_string(severity_name(x->severity)));
		json_object_object_add(f, "id", json_object_new_string(x->id));
		json_object_object_add(f, "message", json_object_new_string(x->message));
		json_object_object_add(f, "hint", x->hint ? json_object_new_string(x->hint) : NULL);
		json_object_array_add(a, f);
	}
	json_object_object_add(o, "findings", a);
	json_object_object_add(o, "blocked", json_object_new_boolean(plan_blocked(&pl->plan)));
	json_object_object_add(o, "changed", json_object_new_boolean(pl->plan.n_changes > 0));
	json_object_object_add(o, "root", json_object_new_string(ctx->root->path));
	return o;
}

/* The reverse of the applied changes, as a rollback transaction (shallow copies). */
static int undo_changes(struct ctx *ctx, int64_t applied, const struct txn_request *req,
			const struct file_change *changes, size_t n, const char *why, int64_t *ret_id)
{
	_cleanup_free_ struct file_change *rev = calloc(n + 1, sizeof(*rev));
	struct txn_request undo = { .kind = "rollback", .profile = req->profile, .note = why, .undoes = applied };

	if (!rev)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		rev[i].path = changes[i].path;
		rev[i].before = changes[i].after;
		rev[i].after = changes[i].before;
	}
	return txn_execute(ctx->journal, ctx->root, &undo, rev, n, ret_id, &ctx->err);
}

static int hook_failed(struct ctx *ctx, int64_t id, const struct txn_request *req, const struct file_change *changes,
		       size_t n, const struct strv *hooks, const struct hook_config *hc, const char *failed, int status)
{
	_cleanup_free_ char *why = NULL, *cmd = hook_config_command_line(hc, failed);
	int64_t undo = 0;
	int st2 = 0;

	if (asprintf(&why, "hook %s failed (exit status %d); files restored", cmd ? cmd : failed, status) < 0)
		return error_set(&ctx->err, EXIT_IO, "out of memory");
	if (undo_changes(ctx, id, req, changes, n, why, &undo) < 0)
		return ctx->err.exit_code;
	journal_txn_finish(ctx->journal, id, "failed", why, &ctx->err);
	/* Regenerate the boot files from the restored configuration, so they match it again. */
	if (hooks_run(ctx, undo, hooks, hc, &st2))
		fprintf(stderr, "iommuctl: the hooks failed again on the restored files; run them by hand "
			"(`iommuctl show %lld` has their output)\n", (long long)undo);
	return error_set(&ctx->err, EXIT_HOOK,
			 "%s exited with status %d, so transaction %lld was undone by transaction %lld and every "
			 "file is as before; `iommuctl show %lld` has the hook's output",
			 cmd ? cmd : failed, status, (long long)id, (long long)undo, (long long)id);
}

int changes_apply(struct ctx *ctx, const struct txn_request *req, const struct file_change *changes, size_t n,
		  const struct strv *hooks, const struct hook_config *hc, int64_t *ret_id)
{
	_cleanup_free_ char *pre = NULL, *msg = NULL;
	const char *what = req->profile ? req->profile : "";
	const char *failed;
	int status = 0;

	if (asprintf(&pre, "saving uncommitted changes in /etc before iommuctl apply %s", what) > 0)
		etckeeper_commit(ctx, 0, 0, hc, pre);
	if (txn_execute(ctx->journal, ctx->root, req, changes, n, ret_id, &ctx->err) < 0)
		return -1;
	failed = ctx->no_hooks ? NULL : hooks_run(ctx, *ret_id, hooks, hc, &status);
	if (failed) {
		hook_failed(ctx, *ret_id, req, changes, n, hooks, hc, failed, status);
		return -1;
	}
	if (asprintf(&msg, "iommuctl apply %s (transaction %lld)", what, (long long)*ret_id) > 0)
		etckeeper_commit(ctx, *ret_id, (int)hooks->n + 1, hc, msg);
	return 0;
}
