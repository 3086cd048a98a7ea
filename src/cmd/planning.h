/* SPDX-License-Identifier: GPL-2.0-or-later */
/* planning.h — a profile resolved against this host and planned against its files. */
#pragma once

#include <stdio.h>

#include "cmd.h"
#include "hooks.h"
#include "hw.h"
#include "plan.h"
#include "strbuf.h"

struct planned {
	struct hw hw;
	struct profile *profile;
	struct plan plan;
};

/* Read the host's facts (CPU vendor, installed kernels), load the profile, plan it. */
int planned_make(struct ctx *ctx, const char *name, struct planned *ret);
void planned_clear(struct planned *pl);
int planned_diff(const struct planned *pl, struct strbuf *out);
void planned_print_findings(const struct planned *pl, FILE *f);
/* Print hook command lines, one per line, noting the chroot when the root is not "/". */
void hooks_print(const struct ctx *ctx, const struct strv *hooks, const struct hook_config *hc, FILE *f);
/* Run hooks in order, each recorded under txn; stop at the first that fails and return its
 * name (its exit status in *ret_status, its output on stderr), or NULL when all succeeded. */
const char *hooks_run(struct ctx *ctx, int64_t txn, const struct strv *hooks, const struct hook_config *hc,
		      int *ret_status);
/* Where etckeeper manages the root's /etc: commit what is uncommitted, with message, so that
 * /etc's git history and the journal agree (etckeeper would otherwise stop the next apt run on
 * uncommitted changes). Recorded as hook run seq of txn when txn is not 0. Failures warn. */
void etckeeper_commit(struct ctx *ctx, int64_t txn, int seq, const struct hook_config *hc, const char *message);
void planned_print_hooks(const struct ctx *ctx, const struct planned *pl, const struct hook_config *hc, FILE *f);
struct json_object *planned_json(const struct ctx *ctx, const struct planned *pl, const struct hook_config *hc);
/* Make changes[] hold their after-states as transaction req (etckeeper first), then run hooks
 * (unless --no-hooks); a failing hook undoes the transaction, runs the hooks again on the
 * restored files and fails with EXIT_HOOK. -1 with ctx->err set. */
int changes_apply(struct ctx *ctx, const struct txn_request *req, const struct file_change *changes, size_t n,
		  const struct strv *hooks, const struct hook_config *hc, int64_t *ret_id);
