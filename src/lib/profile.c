/* SPDX-License-Identifier: GPL-2.0-or-later */
/* profile.c — loading a profile by name (a local file or a built-in, includes resolved) and
 *  listing them. Owns: profile_load() and profile_list(). Must not: parse INI text
 *  (profile-ini.c) or hold the built-ins' contents (profile-builtin.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile-internal.h"
#include "strbuf.h"

/* Includes nest at most this deep; a cycle is caught long before, this only
 * bounds the work a tangle of diamond includes could cause. */
#define INCLUDE_DEPTH_MAX 16

/* ======================================================================
 * Loading
 * ====================================================================== */

struct loader {
	const struct rootfs *r;
	const struct host_facts *facts;
	bool fill_builtins;	/* false while listing: built-ins need host facts */
};

/* One local profile being resolved. The chain of frames is the include path,
 * walked upwards to find a cycle and to name it. */
struct frame {
	const char *name;
	const char *path;
	int line;		/* the include being resolved, in this frame's file */
	unsigned depth;
	const struct frame *parent;
};

static int load_any(const struct loader *l, const char *name, const struct frame *parent,
		    struct profile **ret, struct error *e);

static int load_builtin(const struct loader *l, const struct profile_builtin *b, struct profile **ret,
			struct error *e)
{
	_cleanup_(profile_freep) struct profile *p = profile_new(b->name, "built-in");
	int k;

	if (!p || profile_set_string(&p->description, b->description) < 0)
		return -ENOMEM;
	if (l->fill_builtins && (k = b->fill(p, l->facts, e)) < 0)
		return k;
	*ret = TAKE_PTR(p);
	return 0;
}

/* A profile decides the kernel command line and which drivers load, so only
 * a file no one but root can change is read. */
static int check_owner(const struct loader *l, const char *path, const struct file_state *fs,
		       struct error *e)
{
	return rootfs_check_trusted(l->r, path, fs, "profile",
				    "a profile decides the kernel command line and which drivers load", e);
}

/* "... (included from b.conf:2, a.conf:1)": each level on the way up adds its
 * place to one list. */
static void error_add_context(struct error *e, const struct frame *f)
{
	static const char tag[] = " (included from ";
	size_t len;

	if (!e)
		return;
	len = strlen(e->text);
	if (strstr(e->text, tag) && len && e->text[len - 1] == ')')
		snprintf(e->text + len - 1, sizeof(e->text) - len + 1, ", %s:%d)", f->path, f->line);
	else
		snprintf(e->text + len, sizeof(e->text) - len, "%s%s:%d)", tag, f->path, f->line);
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "amd, intel, iommu, mine, nvidia, vfio": built-ins and valid local names. */
static int available_names(const struct rootfs *r, struct strbuf *out)
{
	_cleanup_(strv_clear) struct strv names = { 0 };
	const struct profile_builtin *b;
	char **files = NULL;
	size_t n_b, n_files = 0;
	struct error ignored;
	int k = 0;

	b = profile_builtins(&n_b);
	for (size_t i = 0; i < n_b && k >= 0; i++)
		k = strv_put(&names, b[i].name);
	if (rootfs_list_dir(r, PROFILE_DIR, ".conf", &files, &n_files, NULL, NULL, &ignored) < 0)
		n_files = 0;
	for (size_t i = 0; i < n_files && k >= 0; i++) {
		files[i][strlen(files[i]) - strlen(".conf")] = '\0';
		if (profile_name_valid(files[i]))
			k = strv_put(&names, files[i]);
	}
	strv_free(files, n_files);
	if (k < 0)
		return k;
	qsort(names.v, names.n, sizeof(char *), cmp_strp);
	for (size_t i = 0; i < names.n; i++)
		if (strbuf_appendf(out, "%s%s", i ? ", " : "", names.v[i]) < 0)
			return -ENOMEM;
	return 0;
}

static int include_cycle(const struct frame *frame, const struct frame *start, const char *name,
			 struct error *e)
{
	_cleanup_strbuf_ struct strbuf chain = STRBUF_INIT;
	const struct frame *path[INCLUDE_DEPTH_MAX + 1];
	size_t n = 0;

	for (const struct frame *f = frame; n < ARRAY_SIZE(path); f = f->parent) {
		path[n++] = f;
		if (f == start)
			break;
	}
	while (n-- > 0)
		strbuf_appendf(&chain, "%s -> ", path[n]->name);
	strbuf_appends(&chain, name);
	error_set(e, EXIT_BAD_INPUT, "%s:%d: include cycle: %s; remove one of these includes",
		  frame->path, frame->line, strbuf_str(&chain));
	return -ELOOP;
}

static int include_check(const struct frame *frame, const char *name, struct error *e)
{
	for (const struct frame *f = frame; f; f = f->parent)
		if (streq(f->name, name))
			return include_cycle(frame, f, name, e);
	if (frame->depth + 1 >= INCLUDE_DEPTH_MAX)
		return error_set(e, EXIT_BAD_INPUT, "%s:%d: includes nest deeper than %d profiles; flatten them",
				 frame->path, frame->line, INCLUDE_DEPTH_MAX), -ELOOP;
	return 0;
}

static int include_unknown(const struct loader *l, const struct frame *frame, const char *name,
			   struct error *e)
{
	_cleanup_strbuf_ struct strbuf names = STRBUF_INIT;

	if (available_names(l->r, &names) < 0)
		return -ENOMEM;
	error_set(e, EXIT_BAD_INPUT,
		  "%s:%d: include names no profile '%s' (available: %s); fix the name or create " PROFILE_DIR
		  "/%s.conf",
		  frame->path, frame->line, name, strbuf_str(&names), name);
	return -EINVAL;
}

/* Resolve one include of the file in frame and lay it over acc. Inside
 * NAME.conf, "include = NAME" means the built-in NAME that the file shadows:
 * that is how a local profile extends a built-in under the built-in's name
 * (any other reading would be a cycle of one). */
static int include_one(const struct loader *l, const struct frame *frame, const char *name,
		       struct profile *acc, struct error *e)
{
	_cleanup_(profile_freep) struct profile *inner = NULL;
	const struct profile_builtin *b = profile_builtin_find(name);
	int k;

	if (b && streq(name, frame->name)) {
		k = load_builtin(l, b, &inner, e);
	} else {
		if ((k = include_check(frame, name, e)) < 0)
			return k;
		k = load_any(l, name, frame, &inner, e);
	}
	if (k == -ENOENT)
		return include_unknown(l, frame, name, e);
	if (k == -ENOMEM)
		return k;
	if (k < 0) {
		error_add_context(e, frame);
		return k;
	}
	return profile_merge(acc, inner);
}

/* Load <root>/etc/iommuctl/profiles/NAME.conf with its includes merged;
 * -ENOENT (e untouched) when there is no such file. */
static int load_local(const struct loader *l, const char *name, const struct frame *parent,
		      struct profile **ret, struct error *e)
{
	_cleanup_(file_state_clear) struct file_state fs = { 0 };
	_cleanup_(profile_file_clear) struct profile_file pf = { 0 };
	_cleanup_(profile_freep) struct profile *acc = NULL;
	_cleanup_free_ char *path = NULL;
	struct frame frame;
	int k;

	if (asprintf(&path, PROFILE_DIR "/%s.conf", name) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	if ((k = rootfs_read_file(l->r, path, &fs, e)) < 0)
		return k;
	if (!fs.present)
		return -ENOENT;
	if ((k = check_owner(l, path, &fs, e)) < 0 ||
	    (k = profile_file_parse(name, path, fs.data, fs.len, &pf, e)) < 0)
		return k;
	if (!(acc = profile_new(name, path)))
		return -ENOMEM;
	frame = (struct frame){ .name = name, .path = path, .parent = parent,
				.depth = parent ? parent->depth + 1 : 0 };
	for (size_t i = 0; i < pf.includes.n; i++) {
		frame.line = pf.include_lines[i];
		if ((k = include_one(l, &frame, pf.includes.v[i], acc, e)) < 0)
			return k;
	}
	if ((k = profile_merge(acc, pf.own)) < 0 || (k = profile_set_string(&acc->description, pf.own->description)) < 0)
		return k;
	*ret = TAKE_PTR(acc);
	return 0;
}

/* A local file shadows the built-in of the same name. */
static int load_any(const struct loader *l, const char *name, const struct frame *parent,
		    struct profile **ret, struct error *e)
{
	const struct profile_builtin *b;
	int k = load_local(l, name, parent, ret, e);

	if (k != -ENOENT)
		return k;
	b = profile_builtin_find(name);
	return b ? load_builtin(l, b, ret, e) : -ENOENT;
}

static int unknown_profile(const struct rootfs *r, const char *name, struct error *e)
{
	_cleanup_strbuf_ struct strbuf names = STRBUF_INIT;

	if (available_names(r, &names) < 0)
		return -ENOMEM;
	error_set(e, EXIT_USAGE,
		  "unknown profile '%s'; available: %s (a local profile is a file " PROFILE_DIR "/NAME.conf)",
		  name, strbuf_str(&names));
	return -ENOENT;
}

/* What every resolved profile gets once, at the top: default file names
 * (set here, not per layer, so that an inner profile's file survives an
 * outer one that names none) and the host-dependent findings. */
static int profile_finish(struct profile *p, const struct host_facts *facts)
{
	if (!p->blacklist_file && profile_set_string(&p->blacklist_file, PROFILE_DEFAULT_BLACKLIST_FILE) < 0)
		return -ENOMEM;
	if (!p->vfio_file && profile_set_string(&p->vfio_file, PROFILE_DEFAULT_VFIO_FILE) < 0)
		return -ENOMEM;
	return facts ? profile_check_host(p, facts) : 0;
}

int profile_load(const struct rootfs *r, const char *name, const struct host_facts *facts,
		 struct profile **ret, struct error *e)
{
	static const struct host_facts unknown_host = { 0 };
	const struct loader l = { .r = r, .facts = facts ? facts : &unknown_host, .fill_builtins = true };
	_cleanup_(profile_freep) struct profile *p = NULL;
	int k;

	if (!profile_name_valid(name))
		return error_set(e, EXIT_USAGE,
				 "'%s' is not a profile name: names use letters, digits, '_', '.' and '-' and do "
				 "not start with '.'; run 'iommuctl profiles' to list them",
				 name), -EINVAL;
	k = load_any(&l, name, NULL, &p, e);
	if (k == -ENOENT)
		return unknown_profile(r, name, e);
	if (k >= 0)
		k = profile_finish(p, facts);
	if (k == -ENOMEM)
		return error_set(e, EXIT_IO, "out of memory while loading profile '%s'", name), k;
	if (k < 0)
		return k;
	*ret = TAKE_PTR(p);
	return 0;
}

/* ======================================================================
 * Listing
 * ====================================================================== */

struct info_list {
	struct profile_info *v;
	size_t n;
};

static struct profile_info *info_push(struct info_list *l)
{
	struct profile_info *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));

	if (!nv)
		return NULL;
	l->v = nv;
	nv[l->n] = (struct profile_info){ 0 };
	return &nv[l->n++];
}

static void info_clear(struct profile_info *i)
{
	free(i->name);
	free(i->description);
	free(i->origin);
	*i = (struct profile_info){ 0 };
}

void profile_infos_free(struct profile_info *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		info_clear(&v[i]);
	free(v);
}

static int list_builtins(struct info_list *l)
{
	size_t n;
	const struct profile_builtin *b = profile_builtins(&n);

	for (size_t i = 0; i < n; i++) {
		struct profile_info *info = info_push(l);
		if (!info)
			return -ENOMEM;
		info->builtin = true;
		if (profile_set_string(&info->name, b[i].name) < 0 || profile_set_string(&info->description, b[i].description) < 0 ||
		    profile_set_string(&info->origin, "built-in") < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The slot for a local profile: the built-in it shadows, or a new one. */
static struct profile_info *info_slot(struct info_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].builtin && streq(l->v[i].name, name)) {
			info_clear(&l->v[i]);
			l->v[i].shadows_builtin = true;
			return &l->v[i];
		}
	}
	return info_push(l);
}

/* Describe a local file: its description, or why it cannot be used. Includes
 * are followed (cycles, unknown names and broken included files show), but
 * built-ins are not filled in: that needs the host's facts. */
static int describe_local(const struct rootfs *r, const char *name, char **ret)
{
	const struct loader l = { .r = r, .fill_builtins = false };
	_cleanup_(profile_freep) struct profile *p = NULL;
	struct error err = { 0 };
	int k;

	if (!profile_name_valid(name)) {
		if (asprintf(ret, "'%s' is not a profile name; rename the file to NAME.conf, NAME made of "
			     "letters, digits, '_', '.' and '-'", name) < 0)
			return *ret = NULL, -ENOMEM;
		return 1;
	}
	k = load_local(&l, name, NULL, &p, &err);
	if (k == -ENOMEM || k == -ENOENT)
		return k;
	if (k < 0)
		return (*ret = strdup(err.text)) ? 1 : -ENOMEM;
	return (*ret = strdup(p->description)) ? 0 : -ENOMEM;
}

static int list_local(const struct rootfs *r, struct info_list *l, const char *file)
{
	_cleanup_free_ char *name = strndup(file, strlen(file) - strlen(".conf"));
	_cleanup_free_ char *description = NULL;
	struct profile_info *info;
	int k;

	if (!name)
		return -ENOMEM;
	k = describe_local(r, name, &description);
	if (k == -ENOENT)	/* removed since the listing */
		return 0;
	if (k < 0)
		return k;
	if (!(info = info_slot(l, name)))
		return -ENOMEM;
	info->broken = k > 0;
	info->name = TAKE_PTR(name);
	info->description = TAKE_PTR(description);
	return asprintf(&info->origin, PROFILE_DIR "/%s", file) < 0 ? (info->origin = NULL, -ENOMEM) : 0;
}

static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct profile_info *)a)->name, ((const struct profile_info *)b)->name);
}

static int list_dir(const struct rootfs *r, struct info_list *l, struct error *e)
{
	char **files = NULL, **links = NULL;
	size_t n_files = 0, n_links = 0;
	int k;

	if ((k = rootfs_list_dir(r, PROFILE_DIR, ".conf", &files, &n_files, &links, &n_links, e)) < 0)
		return k;
	/* A symbolic link is listed too: reading it gives the reason it is refused. */
	for (size_t i = 0; i < n_files && k >= 0; i++)
		k = list_local(r, l, files[i]);
	for (size_t i = 0; i < n_links && k >= 0; i++)
		k = list_local(r, l, links[i]);
	strv_free(files, n_files);
	strv_free(links, n_links);
	return k;
}

int profile_list(const struct rootfs *r, struct profile_info **ret, size_t *ret_n, struct error *e)
{
	struct info_list l = { 0 };
	int k;

	if ((k = list_builtins(&l)) >= 0)
		k = list_dir(r, &l, e);
	if (k < 0) {
		profile_infos_free(l.v, l.n);
		if (k == -ENOMEM)
			error_set(e, EXIT_IO, "out of memory while listing profiles");
		return k;
	}
	qsort(l.v, l.n, sizeof(*l.v), cmp_info);
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}
