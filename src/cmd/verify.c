/* SPDX-License-Identifier: GPL-2.0-or-later */
/* verify.c — `iommuctl verify [PROFILE]`: does the running system (sysfs, procfs) show what the
 * profile intends? Parameters on the booted command line, an active IOMMU with groups and
 * interrupt remapping, the profile's modules loaded and its blacklisted ones not, every target
 * function bound to vfio-pci, every target's group wholly passed through, no firmware
 * framebuffer left in a GPU target (/proc/iomem). The checks themselves are data in
 * src/lib/verify-checks.c (status runs them too); this file prints them. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "planning.h"
#include "verify-checks.h"

/* ---- output ---- */

static void print_checks(const struct verify_checks *c, bool asked)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].next_boot && (i == 0 || !c->v[i - 1].next_boot))
			printf("%s\n", asked ? "the next boot (--next-boot):"
			       : "the running system booted before the last apply; the next boot gets:");
		printf("%s  %-22s %s\n", c->v[i].ok ? "pass" : c->v[i].unknown ? "????" : "FAIL", c->v[i].id,
		       c->v[i].message);
		if (!c->v[i].ok && c->v[i].hint)
			printf("      %-22s next: %s\n", "", c->v[i].hint);
	}
}

static void print_json(const struct verify_checks *c, bool all_ok, const char *profile, const struct vfio_ids_origin *running,
		       const struct vfio_ids_origin *next)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	json_object_object_add(o, "ok", json_object_new_boolean(all_ok));
	json_object_object_add(o, "profile", json_object_new_string(profile));
	for (size_t i = 0; i < c->n; i++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "id", json_object_new_string(c->v[i].id));
		json_object_object_add(x, "ok", json_object_new_boolean(c->v[i].ok));
		json_object_object_add(x, "status", json_object_new_string(c->v[i].ok ? "pass" : c->v[i].unknown ? "unknown"
													     : "fail"));
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

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	struct txn_info last = { 0 };
	struct vfio_ids_origin ids = { 0 };
	struct planned pl = { 0 };
	struct verify_checks c = { 0 };
	const char *name;
	struct verify_env env;
	bool all_ok;
	int k;

	if (args->argc) {
		name = args->argv[0];
	} else {
		k = verify_last_applied(ctx->journal, &last, &ctx->err);
		if (k == -ENOENT) {
			error_set(&ctx->err, EXIT_USAGE, "no profile has been applied to %s; name the profile to verify "
				  "(iommuctl verify PROFILE)", ctx->root->path);
			return ctx_fail(ctx);
		}
		if (k < 0)
			return ctx_fail(ctx);
		name = last.profile;
		if (!ctx->n_devices)
			verify_devices_from_note(last.note, ctx->devices, ARRAY_SIZE(ctx->devices), &ctx->n_devices);
	}
	if (planned_make(ctx, name, &pl) < 0) {
		txn_info_clear(&last);
		return ctx_fail(ctx);
	}
	env = (struct verify_env){ .root = ctx->root, .sysfs = ctx->sysfs, .procfs = ctx->procfs, .hw = &pl.hw,
				   .profile = pl.profile, .plan = &pl.plan, .vms = &pl.vms };
	verify_run(&env, ctx->next_boot || (last.id && verify_applied_after_boot(ctx->procfs, &last)), &c, &ids);
	if (c.oom) {
		error_set(&ctx->err, EXIT_IO, "out of memory");
		k = ctx_fail(ctx);
	} else {
		/* An unknown check is not passed, and not a failure either (verify_all_ok). */
		all_ok = verify_all_ok(&c);
		for (size_t i = 0; i < c.n_notes; i++)
			fprintf(ctx->json ? stderr : stdout, "note: %s\n", c.notes[i]);
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
	verify_checks_clear(&c);
	vfio_ids_origin_clear(&ids);
	planned_clear(&pl);
	txn_info_clear(&last);
	return k;
}

static const struct option options[] = {
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "next-boot", no_argument, NULL, OPT_NEXT_BOOT },
	{ "allow-console-gpu", no_argument, NULL, OPT_ALLOW_CONSOLE_GPU },
	{ 0 },
};

const struct cmd cmd_verify = {
	.name = "verify",
	.synopsis = "[--next-boot] [--device SLOT]... [--allow-console-gpu] [PROFILE]",
	.summary = "check the running system against the last applied (or the named) profile",
	.help = "From sysfs and procfs only: the booted command line has the profile's parameters, an\n"
		"IOMMU is active with groups and interrupt remapping, the profile's modules are loaded\n"
		"and its blacklisted ones are not, each target function is bound to vfio-pci and its\n"
		"group holds nothing else, and a GPU target holds no firmware framebuffer range in\n"
		"/proc/iomem any more (unknown, not passed, where this user sees zeroed addresses and\n"
		"the range cannot be placed). With --next-boot, or by itself when the machine booted before\n"
		"the last apply: the default grub entry carries the parameters and each installed kernel's\n"
		"initramfs holds the profile's modprobe.d files and modules. One line per check; exit 1\n"
		"when one fails.\n\n"
		"  --next-boot    also check what the next boot gets\n" PLANNING_OPTIONS_HELP
		"                 (verify takes it as apply did; it changes no check)\n",
	.options = options,
	.min_args = 0,
	.max_args = 1,
	.flags = CMD_READS_JOURNAL,
	.run = run,
};
