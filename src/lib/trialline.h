/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trialline.h — the command line of a trial boot, composed from a profile and its plan, and what
 *  a trial cannot exercise (iommuctl(8), TRIAL BOOT; DESIGN §11).
 *  Owns: struct trial_line, trialline_make(), trialline_apply(). Must not: do I/O, arm anything,
 *  or know boot loaders (oneshot*.c puts the line into an entry). */
#pragma once

#include <stdint.h>

#include "cmdline.h"
#include "hw.h"
#include "plan.h"
#include "profile.h"
#include "strv.h"

/* panic=N on the trial line: the kernel reboots N seconds after a panic, and initramfs-tools'
 * panic() (/usr/share/initramfs-tools/scripts/functions, initramfs-tools 0.142) sleeps N seconds
 * and runs `reboot -f` when panic= is set (without it, it drops to a shell and waits forever). */
#define TRIAL_PANIC_SECONDS 10
/* The marker parameters the boot check and the udev rule read. */
#define TRIAL_MARKER "iommuctl.trial"
#define TRIAL_BIND_MARKER "iommuctl.bind"

struct trial_line {
	char *add;			/* appended to the default entry's line: "iommu=pt modules-load=… iommuctl.trial=7 panic=10" */
	struct strv drop;		/* dropped from it first: kernel_remove entries and the keys kernel_add sets */
	struct strv bind;		/* addresses iommuctl.bind= carries */
	struct strv unexercised;	/* what the trial boot does not run, one sentence each */
};
void trial_line_clear(struct trial_line *t);

/* Compose the trial's additions. hw (may be NULL) names the plan's targets by address.
 * Errors: a parameter that is not one plain token GRUB and the kernel read the same way
 * (quotes, '$', '\\', ';' …), or a line over CMDLINE_MAX: -EINVAL / -E2BIG with err filled. */
int trialline_make(const struct profile *p, const struct plan *plan, const struct hw *hw, int64_t txn,
		   unsigned panic_s, struct trial_line *ret, struct cmdline_error *err);

/* The trial entry's arguments: default_args (the default entry's command line, without the
 * kernel image) with the drop entries removed ("key" every token with that key, "key=value"
 * exactly that token, as cmdline_edit() removes) and add appended. -E2BIG when the result is
 * over CMDLINE_MAX, -EINVAL when default_args has an open quote. */
int trialline_apply(const char *default_args, const char *add, const char *const *drop, char **ret,
		    struct cmdline_error *err);

/* The value of key on the kernel part of line (the last one, as most parameters take it);
 * NULL when absent or no memory. */
char *trialline_value(const char *line, const char *key);
