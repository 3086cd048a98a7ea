/* SPDX-License-Identifier: GPL-2.0-or-later */
/* managed.c — enumerate and read the managed files below the root.
 *  Owns: the list of managed paths and directories (DESIGN.md §3). Must not: open a path
 *  itself (rootfs reads and lists), write a file, or touch the journal. */
#include <string.h>

#include "managed.h"

static const char *const managed_paths[] = {
	"/etc/default/grub",
	"/etc/kernel/cmdline",
	"/etc/modules",
	MANAGED_GRUB_TRIAL_SCRIPT,
};

/* Directories whose files the boot tools read by suffix: grub-mkconfig sources
 * every .cfg in /etc/default/grub.d, kmod reads every .conf in /etc/modprobe.d. */
static const struct {
	const char *dir;
	const char *suffix;
} managed_dirs[] = {
	{ "/etc/default/grub.d", ".cfg" },
	{ "/etc/modprobe.d", ".conf" },
};

void managed_set_clear(struct managed_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->files[i].path);
		file_state_clear(&s->files[i].state);
	}
	free(s->files);
	strv_free(s->links, s->nlinks);
	memset(s, 0, sizeof(*s));
}

static int add_file(const struct rootfs *r, struct managed_set *s, const char *path, struct error *e)
{
	struct file_state st;
	struct managed_file *nv;
	int k;

	k = rootfs_read_file(r, path, &st, e);
	if (k < 0)
		return k;
	if (!st.present)
		return 0;
	nv = realloc(s->files, (s->n + 1) * sizeof(*nv));
	if (!nv) {
		file_state_clear(&st);
		return -ENOMEM;
	}
	s->files = nv;
	nv[s->n].state = st;
	if (!(nv[s->n].path = strdup(path))) {
		file_state_clear(&st);
		return -ENOMEM;
	}
	s->n++;
	return 0;
}

static int scan_dir(const struct rootfs *r, struct managed_set *s, const char *dir, const char *suffix,
		    struct error *e)
{
	char **names = NULL, **links = NULL;
	size_t n = 0, nl = 0;
	int k;

	k = rootfs_list_dir(r, dir, suffix, &names, &n, &links, &nl, e);
	if (k < 0)
		return k;
	for (size_t i = 0; k == 0 && i < n; i++) {
		_cleanup_free_ char *path = NULL;

		if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
			k = -ENOMEM;
		else
			k = add_file(r, s, path, e);
	}
	for (size_t i = 0; k == 0 && i < nl; i++) {
		char **nv = realloc(s->links, (s->nlinks + 1) * sizeof(char *));

		if (!nv || asprintf(&nv[s->nlinks], "%s/%s", dir, links[i]) < 0) {
			if (nv)
				s->links = nv;
			k = -ENOMEM;
			break;
		}
		s->links = nv;
		s->nlinks++;
	}
	strv_free(names, n);
	strv_free(links, nl);
	return k;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct managed_file *)a)->path, ((const struct managed_file *)b)->path);
}

int managed_scan(const struct rootfs *r, struct managed_set *ret, struct error *e)
{
	struct managed_set s = { 0 };
	int k = 0;

	for (size_t i = 0; k == 0 && i < ARRAY_SIZE(managed_paths); i++)
		k = add_file(r, &s, managed_paths[i], e);
	for (size_t i = 0; k == 0 && i < ARRAY_SIZE(managed_dirs); i++)
		k = scan_dir(r, &s, managed_dirs[i].dir, managed_dirs[i].suffix, e);
	if (k < 0) {
		managed_set_clear(&s);
		return k;
	}
	if (s.n)
		qsort(s.files, s.n, sizeof(*s.files), cmp_file);
	*ret = s;
	return 0;
}

const struct file_state *managed_find(const struct managed_set *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->files[i].path, path))
			return &s->files[i].state;
	return NULL;
}
