/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan.c — `iommuctl plan PROFILE`: the diffs, hooks and findings of an apply; changes nothing. */
#include <stdio.h>
#include <string.h>

#include "planning.h"
#include "trials.h"

/* What apply --trial would put on the trial entry's command line, and where its one-shot would
 * live; the transaction id is not known yet, so the marker shows TXN. 1: refused. */
static int plan_trial(struct ctx *ctx, const struct planned *pl, struct json_object *o)
{
	struct oneshot_env env = { .sysfs = ctx->sysfs };
	struct trial_line t = { 0 };
	struct cmdline_error ce = { 0 };
	struct error refusal = { 0 };
	_cleanup_free_ char *where = NULL, *shown = NULL;
	const char *marker = TRIAL_MARKER "=0";
	char *at;
	int refused;

	if (trialline_make(pl->profile, &pl->plan, &pl->hw, 0, 0, &t, &ce) < 0) {
		error_set(&ctx->err, EXIT_BAD_INPUT, "profile %s cannot travel on a command line: %s", pl->profile->name,
			  ce.message);
		return -1;
	}
	refused = oneshot_check(ctx->root, &pl->plan.boot, &env, &where, &refusal) < 0;
	if ((at = strstr(t.add, marker)) && asprintf(&shown, "%.*s" TRIAL_MARKER "=TXN%s", (int)(at - t.add), t.add,
						      at + strlen(marker)) < 0)
		shown = NULL;
	if (o) {
		struct json_object *x = json_object_new_object(), *a = json_object_new_array(), *u = json_object_new_array();

		json_object_object_add(x, "cmdline_add", json_object_new_string(shown ? shown : t.add));
		for (size_t i = 0; i < t.drop.n; i++)
			json_object_array_add(a, json_object_new_string(t.drop.v[i]));
		json_object_object_add(x, "cmdline_drop", a);
		for (size_t i = 0; i < t.unexercised.n; i++)
			json_object_array_add(u, json_object_new_string(t.unexercised.v[i]));
		json_object_object_add(x, "unexercised", u);
		json_object_object_add(x, "oneshot", where ? json_object_new_string(where) : NULL);
		json_object_object_add(x, "refused", refused ? json_object_new_string(refusal.text) : NULL);
		json_object_object_add(o, "trial", x);
	} else {
		printf("trial (apply --trial): no file changes; only the next boot runs the change, adding to the "
		       "default entry's command line:\n  %s\n", shown ? shown : t.add);
		if (t.drop.n) {
			printf("  and dropping from it:");
			for (size_t i = 0; i < t.drop.n; i++)
				printf(" %s", t.drop.v[i]);
			printf("\n");
		}
		if (t.unexercised.n) {
			printf("the trial cannot exercise (the first boot after commit is checked again):\n");
			for (size_t i = 0; i < t.unexercised.n; i++)
				printf("  - %s\n", t.unexercised.v[i]);
		}
		if (refused)
			printf("apply --trial would refuse: %s\n", refusal.text);
		else
			printf("one-shot: %s\n", where);
	}
	trial_line_clear(&t);
	return refused;
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	_cleanup_strbuf_ struct strbuf d = STRBUF_INIT;
	struct hook_config hc = { 0 };
	struct planned pl = { 0 };
	bool blocked;
	int trial = 0;

	if (planned_make(ctx, args->argv[0], &pl) < 0 || hook_config_load(ctx->root, &hc, &ctx->err) < 0) {
		planned_clear(&pl);
		return ctx_fail(ctx);
	}
	blocked = plan_blocked(&pl.plan);
	if (ctx->json) {
		struct json_object *o = planned_json(ctx, &pl, &hc);

		if (ctx->trial)
			trial = plan_trial(ctx, &pl, o);
		if (trial < 0) {
			json_object_put(o);
			hook_config_clear(&hc);
			planned_clear(&pl);
			return ctx_fail(ctx);
		}
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
		if (ctx->trial && pl.plan.n_changes)
			trial = plan_trial(ctx, &pl, NULL);
	}
	hook_config_clear(&hc);
	planned_clear(&pl);
	if (trial < 0)
		return ctx_fail(ctx);
	return blocked || trial > 0 ? EXIT_REFUSED : 0;
}

static const struct option options[] = {
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "trial", no_argument, NULL, OPT_TRIAL },
	{ 0 },
};

const struct cmd cmd_plan = {
	.name = "plan",
	.options = options,
	.synopsis = "[--device SLOT]... [--trial] PROFILE",
	.summary = "what apply would do: a diff per file, the hooks, the findings; changes nothing",
	.help = "Exit 3 when a finding would make apply refuse.\n\n"
		"  --trial        also what apply --trial would do: the trial entry's command line, what the\n"
		"                 trial cannot exercise, and where the one-shot lives (exit 3 where refused)\n"
		PLANNING_OPTIONS_HELP,
	.min_args = 1,
	.max_args = 1,
	.flags = 0,
	.run = run,
};
