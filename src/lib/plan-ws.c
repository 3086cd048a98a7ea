/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan-ws.c — the plan's workspace (plan-ws.h): the managed files loaded once, edited in memory.
 *  Owns: the list of files and their new texts, GRUB's files in sourcing order, what kmod makes of
 *  the modprobe.d files. Must not: write anything, or know plans, profiles or findings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "plan-ws.h"

void ws_clear(struct workspace *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].path);
		file_state_clear(&w->v[i].before);
		free(w->v[i].text);
	}
	free(w->v);
	memset(w, 0, sizeof(*w));
}

struct ws_file *ws_find(struct workspace *w, const char *path)
{
	for (size_t i = 0; i < w->n; i++)
		if (streq(w->v[i].path, path))
			return &w->v[i];
	return NULL;
}

/* The file at path, added as absent when the root does not have it. */
struct ws_file *ws_get(struct workspace *w, const char *path)
{
	struct ws_file *f = ws_find(w, path), *nv;

	if (f)
		return f;
	nv = realloc(w->v, (w->n + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	w->v = nv;
	f = &nv[w->n];
	memset(f, 0, sizeof(*f));
	if (!(f->path = strdup(path)))
		return NULL;
	w->n++;
	return f;
}

/* The text the plan has for f so far: its edit, or what is on disk ("" when absent). */
const char *ws_text(const struct ws_file *f)
{
	if (f->text)
		return f->text;
	return f->before.present ? f->before.data : "";
}

void ws_set(struct ws_file *f, char *text)
{
	free(f->text);
	f->text = text;
	f->len = strlen(text);
}

int ws_load(const struct rootfs *r, struct workspace *w, struct error *e)
{
	struct managed_set set;
	int k = managed_scan(r, &set, e);

	if (k < 0)
		return k;
	for (size_t i = 0; i < set.n; i++) {
		struct ws_file *f = ws_get(w, set.files[i].path);

		if (!f) {
			managed_set_clear(&set);
			return -ENOMEM;
		}
		f->before = set.files[i].state;
		memset(&set.files[i].state, 0, sizeof(set.files[i].state));
	}
	managed_set_clear(&set);
	return 0;
}

/* GRUB's files in the order grub-mkconfig sources them: the main file, then the drop-ins. */
size_t ws_grub_files(struct workspace *w, struct grub_file *files, struct ws_file **owners, size_t max)
{
	struct ws_file *main_file = ws_get(w, GRUB_MAIN);
	size_t n = 0;

	if (!main_file)
		return 0;
	files[n] = (struct grub_file){ .name = GRUB_MAIN, .text = ws_text(main_file),
				       .len = strlen(ws_text(main_file)) };
	owners[n++] = main_file;
	for (size_t i = 0; i < w->n && n < max; i++) {
		struct ws_file *f = &w->v[i];

		if (strncmp(f->path, GRUB_DROPIN_DIR, strlen(GRUB_DROPIN_DIR)) != 0 || !f->before.present)
			continue;
		files[n] = (struct grub_file){ .name = f->path, .text = ws_text(f), .len = strlen(ws_text(f)) };
		owners[n++] = f;
	}
	return n;
}

int ws_grub_cmdline(struct workspace *w, char **ret, struct cmdline_error *ce)
{
	struct grub_file files[64];
	struct ws_file *owners[64];
	size_t n = ws_grub_files(w, files, owners, ARRAY_SIZE(files));
	_cleanup_free_ char *def = NULL, *lin = NULL;
	int k;

	if (!n)
		return -ENOMEM;
	k = grub_read_cmdline(files, n, &def, &lin, ce);
	if (k < 0)
		return k;
	return asprintf(ret, "%s%s%s", lin, *lin && *def ? " " : "", def) < 0 ? -ENOMEM : 0;
}

/* Whether f exists with the plan's edits so far: a file the plan creates counts, one it deletes
 * does not (kmod must see a vfio file this plan creates, or its ids= escape the safety check). */
bool ws_present(const struct ws_file *f)
{
	return !f->remove && (f->text || f->before.present);
}

bool ws_is_modprobe_file(const struct ws_file *f)
{
	return strncmp(f->path, MODPROBE_DIR, strlen(MODPROBE_DIR)) == 0 && str_has_suffix(f->path, ".conf");
}

/* What kmod makes of the managed modprobe.d files as they are now and the next boot's command line. */
int ws_modprobe_config(struct workspace *w, const char *cmdline, struct modfile_config **ret)
{
	_cleanup_free_ struct modfile_source *src = calloc(w->n + 1, sizeof(*src));
	size_t n = 0;

	if (!src)
		return -ENOMEM;
	for (size_t i = 0; i < w->n; i++)
		if (ws_is_modprobe_file(&w->v[i]) && ws_present(&w->v[i]))
			src[n++] = (struct modfile_source){ .name = w->v[i].path, .text = ws_text(&w->v[i]) };
	return modfile_config_parse(src, n, cmdline, ret);
}

int ws_modprobe_refusal(const struct rootfs *r, const char *path, const struct modfile_error *me,
			    struct error *e)
{
	char shown[4096];

	return error_set(e, EXIT_BAD_INPUT, "%s:%u: %s; fix that line by hand, then run the command again",
			 rootfs_display(r, path, shown, sizeof(shown)), me->line, me->reason), -EBADMSG;
}
