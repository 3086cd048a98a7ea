/* SPDX-License-Identifier: GPL-2.0-or-later */
/* profiles.c — `iommuctl profiles`: the built-in and local profiles. */
#include <libsmartcols.h>
#include <stdio.h>

#include "cmd.h"
#include "profile.h"

static void print_table(const struct profile_info *v, size_t n)
{
	struct libscols_table *tb = scols_new_table();

	scols_table_new_column(tb, "NAME", 0, 0);
	scols_table_new_column(tb, "ORIGIN", 0, 0);
	scols_table_new_column(tb, "DESCRIPTION", 0, SCOLS_FL_TRUNC);
	for (size_t i = 0; i < n; i++) {
		struct libscols_line *ln = scols_table_new_line(tb, NULL);

		scols_line_set_data(ln, 0, v[i].name);
		scols_line_set_data(ln, 1, v[i].builtin ? "built-in" : v[i].origin);
		scols_line_set_data(ln, 2, v[i].description ? v[i].description : "");
	}
	scols_print_table(tb);
	scols_unref_table(tb);
}

static void print_json(const struct profile_info *v, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(v[i].name));
		json_object_object_add(o, "builtin", json_object_new_boolean(v[i].builtin));
		json_object_object_add(o, "origin", json_object_new_string(v[i].origin ? v[i].origin : "built-in"));
		json_object_object_add(o, "description", v[i].description ? json_object_new_string(v[i].description) : NULL);
		json_object_object_add(o, "shadows_builtin", json_object_new_boolean(v[i].shadows_builtin));
		json_object_array_add(a, o);
	}
	output_json(a);
	json_object_put(a);
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	struct profile_info *v = NULL;
	size_t n = 0;

	if (profile_list(ctx->root, &v, &n, &ctx->err) < 0)
		return ctx_fail(ctx);
	if (ctx->json)
		print_json(v, n);
	else
		print_table(v, n);
	profile_infos_free(v, n);
	return 0;
}

const struct cmd cmd_profiles = {
	.name = "profiles",
	.synopsis = "",
	.summary = "list built-in and local profiles",
	.help = "Local profiles are <root>/etc/iommuctl/profiles/NAME.conf; one with a built-in's name\n"
		"replaces it. See iommuctl(8), PROFILES, for the format.\n",
	.max_args = 0,
	.flags = 0,
	.run = run,
};
