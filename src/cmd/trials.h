/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trials.h — what apply --trial, commit, rollback, boot-check, history and show share about trial
 *  boots (iommuctl(8), TRIAL BOOT). */
#pragma once

#include "planning.h"
#include "oneshot.h"
#include "trialline.h"

/* The command boot-check runs to reboot (split at blanks, no shell); tests name a script. */
#define REBOOT_COMMAND_ENV "IOMMUCTL_REBOOT_COMMAND"
#define REBOOT_COMMAND_DEFAULT "/usr/bin/systemctl reboot"

/* The trial named by arg (a transaction id), or the newest trial when arg is NULL. EXIT_USAGE
 * when there is none or arg is no trial. */
int trial_pick(struct ctx *ctx, const char *arg, struct txn_info *ret_txn, struct trial_info *ret);
/* Remove the trial entry and clear its one-shot (idempotent). */
int trial_disarm(struct ctx *ctx, int64_t txn);
/* Write the files the trial planned as an 'apply' transaction, with its hooks; disarm; record
 * the commit. Refused (EXIT_REFUSED) when a file changed since the trial was recorded. */
int trial_commit(struct ctx *ctx, const struct txn_info *t, const struct trial_info *tr, int64_t *ret_commit);
/* Undo the commit transaction of a trial whose first boot failed (files, then hooks), as a
 * rollback transaction; record why. */
int trial_undo_commit(struct ctx *ctx, const struct trial_info *tr, const char *why, int64_t *ret_rollback);
/* Run the reboot command (REBOOT_COMMAND_ENV); why goes to stderr first. */
int trial_reboot(struct ctx *ctx, const char *why);
/* {"txn", "state", "cmdline_add", "cmdline_drop", "unexercised", "no_commit", "armed_where", "entry_id",
 *  "files", "outcome", "boot_id", "checked_at", "commit_txn", "first_boot": {...}|null} */
struct json_object *json_trial(const struct trial_info *t);
void print_trial(const struct trial_info *t, const char *indent);
/* One line for history's NOTE column. */
char *trial_summary(const struct trial_info *t);
