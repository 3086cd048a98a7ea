/* SPDX-License-Identifier: GPL-2.0-or-later */
/* findings.h — what `plan` prints next to the diff: explanations, warnings and what blocks.
 *  Owns: struct finding, its severities, adding one to a list and freeing them. Must not: know
 *  profiles, plans or hardware (profile, plan and safety all look down to it). */
#pragma once

#include <stddef.h>

#include "macros.h"

/* One explanation or finding that `plan` prints next to the diff. */
enum finding_severity { FINDING_INFO, FINDING_WARNING, FINDING_BLOCKING };
struct finding {
	enum finding_severity severity;
	char *id;	/* stable, for --json: "amd-iommu-on-invalid", "kernel-lacks-module", ... */
	char *message;	/* what and why, one sentence or two */
	char *hint;	/* what to do; may be NULL */
};

/* Append a finding to the array *v of *n: id and hint (may be NULL) copied, the message
 * formatted; -ENOMEM. */
int finding_add(struct finding **v, size_t *n, enum finding_severity sev, const char *id, const char *hint,
		const char *fmt, ...) _printf_(6, 7);
/* Free one finding's strings (not the finding itself). */
void finding_clear(struct finding *f);
void findings_free(struct finding *v, size_t n);
