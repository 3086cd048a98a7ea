/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modload.c — what systemd-modules-load loads at boot, read the way systemd 252 reads it.
 *  Owns: modules-load= on the command line and the modules-load.d directories in systemd's
 *  order. A reader above rootfs on purpose: it lists and reads the directories under --root
 *  through rootfs.c (never directly) and parses each file with modfile_modules_read().
 *  Must not: edit or write anything, open a path itself, print. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "modfile.h"
#include "modload.h"
#include "strbuf.h"

/*
 * systemd 252, src/modules-load/modules-load.c, run(): first every modules-load= entry of the
 * command line, then conf_files_list_nulstr(".conf", CONF_PATHS_NULSTR("modules-load.d")):
 * every *.conf in these directories (Debian 12's build has split-usr, so /lib too; its binary
 * holds all five paths), sorted by file name; a name found in an earlier directory hides the
 * same name in later ones (src/basic/conf-files.c, files_add()). The flags are 0, so a link to
 * /dev/null is not filtered but reads as nothing, and a dangling link still takes its name
 * (apply_file() ignores ENOENT). Hidden files (".x.conf") are skipped by FOREACH_DIRENT.
 */
static const char *const modload_dirs[] = {
	"/etc/modules-load.d",
	"/run/modules-load.d",
	"/usr/local/lib/modules-load.d",
	"/usr/lib/modules-load.d",
	"/lib/modules-load.d",
};

const char *modload_file_state_name(enum modload_file_state s)
{
	switch (s) {
	case MODLOAD_READ:
		return "read";
	case MODLOAD_MASKED:
		return "masked";
	case MODLOAD_OVERRIDDEN:
		return "overridden";
	case MODLOAD_MISSING:
		return "dangling-link";
	}
	return "unknown";
}

static int lines_push(struct modload *m, const char *name, size_t len, const char *file, unsigned line,
		      bool broken)
{
	struct modload_line *nv = realloc(m->lines, (m->n_lines + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	m->lines = nv;
	nv[m->n_lines] = (struct modload_line){ .name = strndup(name, len), .file = strdup(file), .line = line,
					       .broken = broken };
	m->n_lines++;
	return nv[m->n_lines - 1].name && nv[m->n_lines - 1].file ? 0 : -ENOMEM;
}

/*
 * systemd 252: proc_cmdline_parse(parse_proc_cmdline_item, NULL, PROC_CMDLINE_STRIP_RD_PREFIX)
 * (src/basic/proc-cmdline.c): outside the initrd "rd." words are skipped, inside it their prefix
 * goes; proc_cmdline_key_streq(key, "modules_load") takes '-' and '_' as equal; a key without a
 * value is ignored; add_modules() is strv_split(value, ","), which drops empty entries. Debian's
 * initramfs-tools runs no systemd in the initrd, so there only modules-load= counts.
 */
int modload_cmdline_modules(const char *cmdline, bool in_initrd, char ***v, size_t *n)
{
	_cleanup_free_ struct cmdline_token *t = NULL;
	size_t nt = 0, nk = 0;
	int r = cmdline_tokenize(cmdline, strlen(cmdline), &t, &nt, &nk);

	for (size_t i = 0; r == 0 && i < nt; i++) {
		const char *key = cmdline + t[i].key_start, *val = cmdline + t[i].value_start;
		size_t klen = t[i].key_len;

		if (klen > 3 && !strncmp(key, "rd.", 3)) {
			if (!in_initrd)
				continue;
			key += 3, klen -= 3;
		}
		if (!t[i].has_value || !cmdline_key_equal(key, klen, "modules_load", strlen("modules_load")))
			continue;
		for (size_t a = 0; r == 0 && a < t[i].value_len;) {
			size_t b = a;

			while (b < t[i].value_len && val[b] != ',')
				b++;
			if (b > a) {
				_cleanup_free_ char *one = strndup(val + a, b - a);

				r = one ? strv_push(v, n, one) : -ENOMEM;
			}
			a = b + 1;
		}
	}
	return r;
}

/* "/etc/modules-load.d" + "../modules" → "/etc/modules": the path a relative link names. */
static char *path_resolve_lexically(const char *dir, const char *target)
{
	_cleanup_free_ char *joined = NULL;
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	char *save = NULL;
	const char *parts[256];
	size_t n = 0;

	if (asprintf(&joined, "%s/%s", target[0] == '/' ? "" : dir, target) < 0)
		return NULL;
	for (char *w = strtok_r(joined, "/", &save); w; w = strtok_r(NULL, "/", &save)) {
		if (streq(w, "."))
			continue;
		if (streq(w, "..")) {
			n -= n > 0;
			continue;
		}
		if (n == ARRAY_SIZE(parts))
			return NULL;
		parts[n++] = w;
	}
	for (size_t i = 0; i < n; i++)
		strbuf_appendf(&out, "/%s", parts[i]);
	if (!n)
		strbuf_appends(&out, "/");
	return out.buf ? strbuf_steal(&out) : NULL;
}

struct entry {
	const char *name;
	size_t dir;
	bool link;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->dir > y->dir) - (x->dir < y->dir);
}

static int file_push(struct modload *m, const char *path, const char *reads, enum modload_file_state st,
		     const char *by)
{
	struct modload_file *nv = realloc(m->files, (m->n_files + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	m->files = nv;
	nv[m->n_files++] = (struct modload_file){ .path = strdup(path), .reads = reads ? strdup(reads) : NULL,
						 .state = st, .by = by ? strdup(by) : NULL };
	return nv[m->n_files - 1].path ? 0 : -ENOMEM;
}

/* One entry systemd reads: where it leads, and its lines. */
static int read_entry(const struct rootfs *r, struct modload *m, const char *path, const char *dir, bool link,
		      struct error *e)
{
	_cleanup_free_ char *target = NULL, *reads = NULL;
	struct modfile_modules_line *lines = NULL;
	struct file_state fs = { 0 };
	size_t n = 0;
	int k;

	if (link) {
		k = rootfs_readlink(r, path, &target);
		if (k < 0)
			return error_set(e, EXIT_IO, "cannot read the link %s: %s", path, strerror(-k)), k;
		if (streq(target, "/dev/null"))
			return file_push(m, path, NULL, MODLOAD_MASKED, NULL);
		reads = path_resolve_lexically(dir, target);
		if (!reads)
			return -ENOMEM;
	}
	k = rootfs_read_file_in_root(r, path, &fs, e);
	if (k < 0)
		return k;
	if (!fs.present)
		return file_push(m, path, NULL, MODLOAD_MISSING, NULL);
	k = file_push(m, path, reads ? reads : path, fs.len ? MODLOAD_READ : MODLOAD_MASKED, NULL);
	if (k == 0)
		k = modfile_modules_read(fs.data, &lines, &n);
	for (size_t i = 0; k == 0 && i < n; i++)
		k = lines_push(m, lines[i].name, strlen(lines[i].name), reads ? reads : path, lines[i].line,
			       lines[i].broken);
	if (reads && streq(reads, "/etc/modules"))
		m->etc_modules_read = true;
	modfile_modules_lines_free(lines, n);
	file_state_clear(&fs);
	return k;
}

static int read_dirs(const struct rootfs *r, struct modload *m, struct error *e)
{
	char **names[ARRAY_SIZE(modload_dirs)] = { 0 }, **links[ARRAY_SIZE(modload_dirs)] = { 0 };
	size_t nn[ARRAY_SIZE(modload_dirs)] = { 0 }, nl[ARRAY_SIZE(modload_dirs)] = { 0 }, total = 0, k = 0;
	_cleanup_free_ struct entry *all = NULL;
	int ret = 0;

	for (size_t d = 0; ret == 0 && d < ARRAY_SIZE(modload_dirs); d++) {
		ret = rootfs_list_dir_in_root(r, modload_dirs[d], ".conf", &names[d], &nn[d], &links[d], &nl[d], e);
		total += nn[d] + nl[d];
	}
	if (ret == 0 && !(all = calloc(total + 1, sizeof(*all))))
		ret = -ENOMEM;
	for (size_t d = 0; ret == 0 && d < ARRAY_SIZE(modload_dirs); d++) {
		for (size_t i = 0; i < nn[d]; i++)
			all[k++] = (struct entry){ names[d][i], d, false };
		for (size_t i = 0; i < nl[d]; i++)
			all[k++] = (struct entry){ links[d][i], d, true };
	}
	if (ret == 0)
		qsort(all, k, sizeof(*all), entry_cmp);
	for (size_t i = 0; ret == 0 && i < k; i++) {
		_cleanup_free_ char *path = NULL, *by = NULL;

		if (asprintf(&path, "%s/%s", modload_dirs[all[i].dir], all[i].name) < 0)
			ret = -ENOMEM;
		else if (i > 0 && streq(all[i - 1].name, all[i].name)) {
			size_t first = i;

			while (first > 0 && streq(all[first - 1].name, all[i].name))
				first--;
			ret = asprintf(&by, "%s/%s", modload_dirs[all[first].dir], all[i].name) < 0 ? -ENOMEM
				: file_push(m, path, NULL, MODLOAD_OVERRIDDEN, by);
		} else
			ret = read_entry(r, m, path, modload_dirs[all[i].dir], all[i].link, e);
	}
	for (size_t d = 0; d < ARRAY_SIZE(modload_dirs); d++) {
		strv_free(names[d], nn[d]);
		strv_free(links[d], nl[d]);
	}
	return ret;
}

int modload_read(const struct rootfs *r, const char *cmdline, struct modload **ret, struct error *e)
{
	struct modload *m = calloc(1, sizeof(*m));
	char **mods = NULL;
	size_t n = 0;
	int k = m ? 0 : -ENOMEM;

	if (k == 0 && cmdline)
		k = modload_cmdline_modules(cmdline, false, &mods, &n);
	for (size_t i = 0; k == 0 && i < n; i++)
		k = lines_push(m, mods[i], strlen(mods[i]), MODLOAD_SOURCE_CMDLINE, 0, false);
	strv_free(mods, n);
	if (k == 0) {
		int fd = rootfs_openat(r, "/lib/systemd/systemd-modules-load", O_PATH, 0, ROOTFS_LINKS_IN_ROOT);

		m->has_modules_load = fd >= 0;
		if (fd >= 0)
			close(fd);
		k = read_dirs(r, m, e);
	}
	if (k < 0) {
		if (k == -ENOMEM)
			error_set(e, EXIT_IO, "out of memory");
		if (m)
			modload_free(m);
		return k;
	}
	*ret = m;
	return 0;
}

void modload_free(struct modload *m)
{
	for (size_t i = 0; i < m->n_lines; i++) {
		free(m->lines[i].name);
		free(m->lines[i].file);
	}
	for (size_t i = 0; i < m->n_files; i++) {
		free(m->files[i].path);
		free(m->files[i].reads);
		free(m->files[i].by);
	}
	free(m->lines);
	free(m->files);
	free(m);
}

const struct modload_line *modload_find(const struct modload *m, const char *module, const char *skip_file)
{
	for (size_t i = 0; i < m->n_lines; i++)
		if (cmdline_key_equal(m->lines[i].name, strlen(m->lines[i].name), module, strlen(module)) &&
		    !(skip_file && streq(m->lines[i].file, skip_file)))
			return &m->lines[i];
	return NULL;
}
