/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan.c — `iommuctl plan PROFILE`: the diffs, hooks and findings of an apply; changes nothing. */
#include <stdio.h>

#include "planning.h"

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	_cleanup_strbuf_ struct strbuf d = STRBUF_INIT;
	struct hook_config hc = { 0 };
	struct planned pl = { 0 };
	bool blocked;

	if (planned_make(ctx, args->argv[0], &pl) < 0 || hook_config_load(ctx->root, &hc, &ctx->err) < 0) {
		planned_clear(&pl);
		return ctx_fail(ctx);
	}
	blocked = plan_blocked(&pl.plan);
	if (ctx->json) {
		struct json_object *o = planned_json(ctx, &pl, &hc);

		output_json(o);
		json_object_put(o);
	} else {
		printf("profile %s (%s): %s\n", pl.profile->name, pl.profile->origin,
		       pl.profile->description ? pl.profile->description : "");
		printf("boot loader: %s, command line in %s\n  because %s\n", bootloader_name(pl.plan.boot.kind),
		       pl.plan.boot.cmdline_file, pl.plan.boot.reason);
		if (pl.plan.n_findings) {
			printf("findings:\n");
			planned_print_findings(&pl, stdout);
		}
		if (!pl.plan.n_changes) {
			printf("nothing to change: the files already say what profile %s intends\n", pl.profile->name);
		} else {
			planned_diff(&pl, &d);
			printf("changes:\n%s", strbuf_str(&d));
			printf("hooks apply would run:\n");
			planned_print_hooks(ctx, &pl, &hc, stdout);
			if (pl.plan.effective_cmdline)
				printf("kernel command line of the next boot: %s\n", pl.plan.effective_cmdline);
		}
		if (blocked)
			printf("apply would refuse: a finding above blocks it (--force overrides)\n");
	}
	hook_config_clear(&hc);
	planned_clear(&pl);
	return blocked ? EXIT_REFUSED : 0;
}

const struct cmd cmd_plan = {
	.name = "plan",
	.options = planning_options,
	.synopsis = "[--device SLOT]... [--allow-console-gpu] PROFILE",
	.summary = "what apply would do: a diff per file, the hooks, the findings; changes nothing",
	.help = "Exit 3 when a finding would make apply refuse.\n\n" PLANNING_OPTIONS_HELP,
	.min_args = 1,
	.max_args = 1,
	.flags = 0,
	.run = run,
};
