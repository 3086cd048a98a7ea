/* SPDX-License-Identifier: GPL-2.0-or-later */
/* profile-internal.h — what profile.c, profile-ini.c and profile-builtin.c share; not a public API.
 *  Owns: the interfaces of one module split over four files (profile-core.c is the bottom,
 *  profile-ini.c and profile-builtin.c above it, profile.c on top). Must not: be included outside profile*.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "profile.h"

/* The kernel's MODULE_NAME_LEN (64 - sizeof(unsigned long)) less its NUL. */
#define PROFILE_MODULE_NAME_MAX 55
#define PROFILE_NAME_MAX 64

/* ---- profile-core.c: lists, findings, merging ---- */

struct profile *profile_new(const char *name, const char *origin);
/* Replace *dst by a copy of src (NULL: by NULL); -ENOMEM. */
int profile_set_string(char **dst, const char *src);
int profile_add_finding(struct profile *p, enum finding_severity severity, const char *id,
			const char *hint, const char *fmt, ...) _printf_(5, 6);

bool profile_name_valid(const char *name);
/* Module names: '-' and '_' are the same to kmod and the kernel. */
bool module_name_eq(const char *a, const char *b);
/* A kernel_remove entry (a bare key or an exact token) that would take away add. */
bool kernel_remove_matches(const char *remove, const char *add);

/* Add a kernel parameter to a list: a later "key=value" replaces an earlier
 * same key in place, an identical token is not added twice. */
int kernel_list_put(struct strv *s, const char *param);
/* Add a module name unless an equal one ('-' = '_') is there. */
int module_list_put(struct strv *s, const char *name);

/* Lay outer over acc: see the rules in profile.c above profile_merge(). */
int profile_merge(struct profile *acc, const struct profile *outer);

/* ---- profile-ini.c: one local profile file as written ---- */

struct profile_file {
	struct profile *own;	/* this file's settings only, includes not merged */
	struct strv includes;	/* profile names, in file order, no duplicates */
	int *include_lines;	/* line of each include, for messages */
};

/* Parse text (len bytes, the content of path inside the root) with libinih.
 * Bad input: EXIT_BAD_INPUT "path:line: reason; what to do", -EINVAL. */
int profile_file_parse(const char *name, const char *path, const char *text, size_t len,
		       struct profile_file *ret, struct error *e);
void profile_file_clear(struct profile_file *f);

/* ---- profile-builtin.c: the compiled-in profiles ---- */

struct profile_builtin {
	const char *name;
	const char *description;
	int (*fill)(struct profile *p, const struct host_facts *f, struct error *e);
};

const struct profile_builtin *profile_builtin_find(const char *name);
const struct profile_builtin *profile_builtins(size_t *ret_n);
/* Findings that depend on the host whatever the profile's origin: modules the
 * installed kernels lack, no kernel at all, amd_iommu=on. */
int profile_check_host(struct profile *p, const struct host_facts *f);
