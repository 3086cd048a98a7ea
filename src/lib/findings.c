/* SPDX-License-Identifier: GPL-2.0-or-later */
/* findings.c — lists of findings (findings.h).
 *  Owns: adding and freeing findings. Must not: decide what is a finding (profile.c, plan.c and
 *  safety.c do), print, or include any header above shared/. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"

int finding_add(struct finding **v, size_t *n, enum finding_severity sev, const char *id, const char *hint,
		const char *fmt, ...)
{
	struct finding *nv = realloc(*v, (*n + 1) * sizeof(**v));
	va_list ap;
	int k;

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = (struct finding){ .severity = sev, .id = strdup(id), .hint = hint ? strdup(hint) : NULL };
	va_start(ap, fmt);
	k = vasprintf(&nv[*n].message, fmt, ap);
	va_end(ap);
	(*n)++;
	return k < 0 || !nv[*n - 1].id ? -ENOMEM : 0;
}

void finding_clear(struct finding *f)
{
	free(f->id);
	free(f->message);
	free(f->hint);
}

void findings_free(struct finding *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].message);
		free(v[i].hint);
	}
	free(v);
}
