/* SPDX-License-Identifier: GPL-2.0-or-later */
/* profile-core.c — one profile in memory: its string lists, its findings, merging an include.
 *  Owns: what profile-internal.h lists under profile-core.c. Must not: read files, know the
 *  built-ins or the INI syntax (profile-ini.c, profile-builtin.c and profile.c look down to it). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile-internal.h"
#include "strbuf.h"

/* ======================================================================
 * String lists of a profile
 * ====================================================================== */

/* Remove item i, keeping the order of the rest and the NULL after the last. */
static void strv_remove_at(struct strv *s, size_t i)
{
	free(s->v[i]);
	memmove(&s->v[i], &s->v[i + 1], (s->n - i) * sizeof(char *));
	s->n--;
}

static char dash_fold(char c)
{
	return c == '-' ? '_' : c;
}

bool module_name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (dash_fold(*a) != dash_fold(*b))
			return false;
	return *a == *b;
}

int module_list_put(struct strv *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (module_name_eq(s->v[i], name))
			return 0;
	return strv_add(s, name);
}

/* The key of a kernel parameter: "iommu" for "iommu=pt" and for "iommu".
 * The kernel compares __setup() keys byte for byte, so no '-'/'_' folding. */
static size_t kernel_key_len(const char *param)
{
	return strcspn(param, "=");
}

static bool kernel_same_key(const char *a, const char *b)
{
	size_t la = kernel_key_len(a);

	return la == kernel_key_len(b) && strncmp(a, b, la) == 0;
}

bool kernel_remove_matches(const char *remove, const char *add)
{
	if (streq(remove, add))
		return true;
	return !strchr(remove, '=') && kernel_same_key(remove, add);
}

int kernel_list_put(struct strv *s, const char *param)
{
	for (size_t i = 0; i < s->n; i++) {
		char *copy;

		if (!kernel_same_key(s->v[i], param))
			continue;
		if (streq(s->v[i], param))
			return 0;
		copy = strdup(param);
		if (!copy)
			return -ENOMEM;
		free(s->v[i]);
		s->v[i] = copy;
		return 0;
	}
	return strv_add(s, param);
}

/* ======================================================================
 * Profiles and findings
 * ====================================================================== */

int profile_set_string(char **dst, const char *src)
{
	char *copy = NULL;

	if (src && !(copy = strdup(src)))
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

struct profile *profile_new(const char *name, const char *origin)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->disable_vga = -1;
	if (profile_set_string(&p->name, name) < 0 || profile_set_string(&p->origin, origin) < 0 ||
	    profile_set_string(&p->description, "") < 0) {
		profile_free(p);
		return NULL;
	}
	return p;
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->description);
	free(p->origin);
	strv_clear(&p->kernel_add);
	strv_clear(&p->kernel_remove);
	strv_clear(&p->modules_add);
	strv_clear(&p->modules_remove);
	strv_clear(&p->blacklist_add);
	strv_clear(&p->blacklist_remove);
	free(p->blacklist_file);
	strv_clear(&p->vfio_devices);
	strv_clear(&p->vfio_ids);
	free(p->vfio_file);
	for (size_t i = 0; i < p->n_findings; i++)
		finding_clear(&p->findings[i]);
	free(p->findings);
	free(p);
}

static bool findings_have(const struct profile *p, const char *id, const char *message)
{
	for (size_t i = 0; i < p->n_findings; i++)
		if (streq(p->findings[i].id, id) && streq(p->findings[i].message, message))
			return true;
	return false;
}

/* Diamond includes (two profiles both including vfio) bring the same finding
 * twice; it is said once. */
static int finding_push(struct profile *p, enum finding_severity severity, const char *id,
			const char *message, const char *hint)
{
	struct finding *nv, *f;

	if (findings_have(p, id, message))
		return 0;
	nv = realloc(p->findings, (p->n_findings + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	p->findings = nv;
	f = &nv[p->n_findings];
	*f = (struct finding){ .severity = severity };
	f->id = strdup(id);
	f->message = strdup(message);
	f->hint = hint ? strdup(hint) : NULL;
	if (!f->id || !f->message || (hint && !f->hint)) {
		finding_clear(f);
		return -ENOMEM;
	}
	p->n_findings++;
	return 0;
}

int profile_add_finding(struct profile *p, enum finding_severity severity, const char *id,
			const char *hint, const char *fmt, ...)
{
	_cleanup_free_ char *message = NULL;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&message, fmt, ap);
	va_end(ap);
	if (k < 0) {
		message = NULL;
		return -ENOMEM;
	}
	return finding_push(p, severity, id, message, hint);
}

bool profile_name_valid(const char *name)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t n = strlen(name);

	return n > 0 && n <= PROFILE_NAME_MAX && name[0] != '.' && strspn(name, chars) == n;
}

/* ======================================================================
 * Merging
 *
 * acc holds what the included profiles intend, already merged in include
 * order; outer is the including profile's own settings, laid over it:
 *  - lists keep the first position of each item; a later "key=value" in
 *    kernel_add replaces the earlier value of that key where it stands;
 *  - when outer adds what an inner profile removes, or removes what it adds,
 *    the OUTER profile wins: the item leaves the inner list. The including
 *    profile is the one the user wrote on top, and an include is a starting
 *    point to adjust, not a constraint (this is how a local profile takes
 *    iommu=pt back out of the built-in vfio);
 *  - blacklist_file, vfio_file and disable_vga set in outer replace inner's.
 * Within one file, adding and removing the same item is refused by the parser.
 * ====================================================================== */

struct list_rules {
	int (*put_add)(struct strv *s, const char *item);
	int (*put_remove)(struct strv *s, const char *item);
	bool (*matches)(const char *remove, const char *add);
};

static const struct list_rules kernel_rules = { kernel_list_put, strv_put, kernel_remove_matches };
static const struct list_rules module_rules = { module_list_put, module_list_put, module_name_eq };

static int merge_pair(struct strv *acc_add, struct strv *acc_remove, const struct strv *add,
		      const struct strv *remove, const struct list_rules *rules)
{
	int k;

	for (size_t i = 0; i < add->n; i++) {
		for (size_t j = acc_remove->n; j-- > 0;)
			if (rules->matches(acc_remove->v[j], add->v[i]))
				strv_remove_at(acc_remove, j);
		if ((k = rules->put_add(acc_add, add->v[i])) < 0)
			return k;
	}
	for (size_t i = 0; i < remove->n; i++) {
		for (size_t j = acc_add->n; j-- > 0;)
			if (rules->matches(remove->v[i], acc_add->v[j]))
				strv_remove_at(acc_add, j);
		if ((k = rules->put_remove(acc_remove, remove->v[i])) < 0)
			return k;
	}
	return 0;
}

static int merge_union(struct strv *acc, const struct strv *outer)
{
	for (size_t i = 0; i < outer->n; i++) {
		int k = strv_put(acc, outer->v[i]);
		if (k < 0)
			return k;
	}
	return 0;
}

static int merge_scalars(struct profile *acc, const struct profile *outer)
{
	if (outer->disable_vga >= 0)
		acc->disable_vga = outer->disable_vga;
	if (outer->blacklist_file && profile_set_string(&acc->blacklist_file, outer->blacklist_file) < 0)
		return -ENOMEM;
	if (outer->vfio_file && profile_set_string(&acc->vfio_file, outer->vfio_file) < 0)
		return -ENOMEM;
	return 0;
}

int profile_merge(struct profile *acc, const struct profile *outer)
{
	int k;

	if ((k = merge_pair(&acc->kernel_add, &acc->kernel_remove, &outer->kernel_add,
			    &outer->kernel_remove, &kernel_rules)) < 0 ||
	    (k = merge_pair(&acc->modules_add, &acc->modules_remove, &outer->modules_add,
			    &outer->modules_remove, &module_rules)) < 0 ||
	    (k = merge_pair(&acc->blacklist_add, &acc->blacklist_remove, &outer->blacklist_add,
			    &outer->blacklist_remove, &module_rules)) < 0 ||
	    (k = merge_union(&acc->vfio_devices, &outer->vfio_devices)) < 0 ||
	    (k = merge_union(&acc->vfio_ids, &outer->vfio_ids)) < 0 ||
	    (k = merge_scalars(acc, outer)) < 0)
		return k;
	for (size_t i = 0; i < outer->n_findings; i++) {
		const struct finding *f = &outer->findings[i];
		if ((k = finding_push(acc, f->severity, f->id, f->message, f->hint)) < 0)
			return k;
	}
	return 0;
}
