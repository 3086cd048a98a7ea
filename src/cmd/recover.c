/* SPDX-License-Identifier: GPL-2.0-or-later */
/* recover.c — `iommuctl recover`: finish an interrupted transaction (main already did the work). */
#include <stdio.h>

#include "cmd.h"

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	const struct recover_result *r = &ctx->recovered;

	/* Every writing command recovers under the lock before it runs, so by now the
	 * journal has no pending transaction; this command reports what that did. */
	if (ctx->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "txn", r->recover ? json_object_new_int64(r->recover) : NULL);
		json_object_object_add(o, "changed", json_object_new_boolean(r->restored > 0));
		json_object_object_add(o, "recovered", r->pending ? json_object_new_int64(r->pending) : NULL);
		json_object_object_add(o, "restored", json_object_new_int64((int64_t)r->restored));
		json_object_object_add(o, "salvaged", json_object_new_int64((int64_t)r->salvaged));
		output_json(o);
		json_object_put(o);
	} else if (!r->pending) {
		printf("no interrupted transaction; nothing to recover\n");
	}
	return 0;
}

const struct cmd cmd_recover = {
	.name = "recover",
	.synopsis = "",
	.summary = "finish an interrupted transaction (every writing command does this first)",
	.help = "Puts every file of an interrupted (pending) transaction back to its state before it.\n"
		"Content found in neither the before nor the after state was edited by hand meanwhile:\n"
		"it is saved in the journal first (see `iommuctl show`), never lost.\n",
	.max_args = 0,
	.flags = CMD_WRITES,
	.run = run,
};
