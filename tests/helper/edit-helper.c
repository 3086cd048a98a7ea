/* SPDX-License-Identifier: GPL-2.0-or-later */
/* edit-helper.c — test-only front end that exposes the pure editors to shell tests. */
#ifndef _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmdline.h"
#include "grubfile.h"
#include "macros.h"
#include "strbuf.h"

/* Exit codes follow iommuctl's: 2 usage, 5 bad input, 6 I/O. */
enum {
	EXIT_USAGE = 2,
	EXIT_BADINPUT = 5,
	EXIT_IO = 6,
};

#define MAX_PARAMS 64

struct intent {
	const char *add[MAX_PARAMS + 1];
	const char *remove[MAX_PARAMS + 1];
	size_t n_add, n_remove;
};

static int usage(void)
{
	fputs("usage: edit-helper cmdline LINE [--add P]... [--remove P]...\n"
	      "       edit-helper grub ROOTDIR [--add P]... [--remove P]...\n"
	      "       edit-helper grub-read ROOTDIR\n",
	      stderr);
	return EXIT_USAGE;
}

static int intent_parse(int argc, char **argv, struct intent *in)
{
	for (int i = 0; i < argc; i++) {
		bool add = strcmp(argv[i], "--add") == 0;

		if ((!add && strcmp(argv[i], "--remove") != 0) || i + 1 >= argc)
			return -EINVAL;
		if ((add ? in->n_add : in->n_remove) >= MAX_PARAMS)
			return -E2BIG;
		if (add)
			in->add[in->n_add++] = argv[++i];
		else
			in->remove[in->n_remove++] = argv[++i];
	}
	return 0;
}

/* One line, like the product will print it: "FILE:LINE: MESSAGE". */
static int error_report(int r, const struct cmdline_error *err)
{
	if (r == -ENOMEM) {
		fputs("edit-helper: out of memory\n", stderr);
		return EXIT_IO;
	}
	if (err->file && err->line)
		fprintf(stderr, "%s:%u: %s\n", err->file, err->line, err->message);
	else if (err->file)
		fprintf(stderr, "%s: %s\n", err->file, err->message);
	else
		fprintf(stderr, "edit-helper: %s\n", err->message);
	return EXIT_BADINPUT;
}

static int cmd_cmdline(int argc, char **argv)
{
	struct intent in = {0};
	struct cmdline_error err;
	_cleanup_free_ char *out = NULL;
	int r;

	if (argc < 1 || intent_parse(argc - 1, argv + 1, &in) < 0)
		return usage();
	r = cmdline_edit(argv[0], in.add, in.remove, &out, &err);
	if (r < 0)
		return error_report(r, &err);
	fputs(out, stdout);
	return 0;
}

static int file_slurp(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char buf[8192];
	size_t n;

	if (!f)
		return -errno;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (strbuf_append(&sb, buf, n) < 0)
			return -ENOMEM;
	if (ferror(f))
		return -EIO;
	*ret_len = sb.len;
	*ret = strbuf_steal(&sb);
	return *ret ? 0 : -ENOMEM;
}

/* Replace path's contents through a temporary file and rename, keeping its mode. */
static int file_replace(const char *path, const char *text)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text), done = 0;
	struct stat st;

	if (stat(path, &st) < 0)
		st.st_mode = 0644;
	if (asprintf(&tmp, "%s.edit-helper.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);

		if (w < 0) {
			unlink(tmp);
			return -errno;
		}
		done += (size_t)w;
	}
	if (fchmod(fd, st.st_mode & 07777) < 0 || rename(tmp, path) < 0) {
		int e = -errno;

		unlink(tmp);
		return e;
	}
	return 0;
}

struct grub_tree {
	struct grub_file *files;
	char **paths;
	char **texts;
	size_t n;
	glob_t g;
	bool have_glob;
};

static void grub_tree_release(struct grub_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->paths[i]);
		free(t->texts[i]);
	}
	free(t->files);
	free(t->paths);
	free(t->texts);
	if (t->have_glob)
		globfree(&t->g);
}

static int grub_tree_add(struct grub_tree *t, const char *path, bool may_be_missing)
{
	size_t len = 0;
	char *text = NULL;
	int r = file_slurp(path, &text, &len);

	if (r == -ENOENT && may_be_missing) {
		text = strdup("");
		r = text ? 0 : -ENOMEM;
	}
	if (r < 0)
		return r;
	t->paths[t->n] = strdup(path);
	if (!t->paths[t->n]) {
		free(text);
		return -ENOMEM;
	}
	t->texts[t->n] = text;
	t->files[t->n] = (struct grub_file) { .name = t->paths[t->n], .text = text, .len = len };
	t->n++;
	return 0;
}

/* /etc/default/grub, then the grub.d drop-ins (NAME.cfg) in the order the shell's glob gives. */
static int grub_tree_load(const char *root, struct grub_tree *t)
{
	_cleanup_free_ char *main_path = NULL, *pattern = NULL;
	int r;

	if (asprintf(&main_path, "%s/etc/default/grub", root) < 0 ||
	    asprintf(&pattern, "%s/etc/default/grub.d/*.cfg", root) < 0)
		return -ENOMEM;
	r = glob(pattern, 0, NULL, &t->g);
	if (r != 0 && r != GLOB_NOMATCH)
		return -EIO;
	t->have_glob = r == 0;
	size_t cap = 1 + (t->have_glob ? t->g.gl_pathc : 0);

	t->files = calloc(cap, sizeof(*t->files));
	t->paths = calloc(cap, sizeof(*t->paths));
	t->texts = calloc(cap, sizeof(*t->texts));
	if (!t->files || !t->paths || !t->texts)
		return -ENOMEM;
	r = grub_tree_add(t, main_path, true);
	for (size_t i = 0; r >= 0 && t->have_glob && i < t->g.gl_pathc; i++)
		r = grub_tree_add(t, t->g.gl_pathv[i], false);
	return r;
}

static int cmd_grub(int argc, char **argv)
{
	struct grub_tree t = {0};
	struct intent in = {0};
	struct cmdline_error err;
	char **texts = NULL;
	int r, ret = 0;

	if (argc < 1 || intent_parse(argc - 1, argv + 1, &in) < 0)
		return usage();
	r = grub_tree_load(argv[0], &t);
	if (r < 0) {
		fprintf(stderr, "edit-helper: cannot read %s: %s\n", argv[0], strerror(-r));
		grub_tree_release(&t);
		return EXIT_IO;
	}
	r = grub_edit_cmdline(t.files, t.n, in.add, in.remove, &texts, &err);
	if (r < 0) {
		ret = error_report(r, &err);	/* err.file points into the tree */
		grub_tree_release(&t);
		return ret;
	}
	for (size_t i = 0; i < t.n && ret == 0; i++) {
		if (!texts[i])
			continue;
		r = file_replace(t.paths[i], texts[i]);
		if (r < 0) {
			fprintf(stderr, "edit-helper: cannot write %s: %s\n", t.paths[i], strerror(-r));
			ret = EXIT_IO;
		} else
			printf("changed %s\n", t.paths[i]);
	}
	grub_texts_free(texts, t.n);
	grub_tree_release(&t);
	return ret;
}

static int cmd_grub_read(int argc, char **argv)
{
	struct grub_tree t = {0};
	struct cmdline_error err;
	_cleanup_free_ char *def = NULL, *lin = NULL;
	int r;

	if (argc != 1)
		return usage();
	r = grub_tree_load(argv[0], &t);
	if (r < 0) {
		fprintf(stderr, "edit-helper: cannot read %s: %s\n", argv[0], strerror(-r));
		grub_tree_release(&t);
		return EXIT_IO;
	}
	r = grub_read_cmdline(t.files, t.n, &def, &lin, &err);
	if (r < 0)
		r = error_report(r, &err);	/* err.file points into the tree */
	grub_tree_release(&t);
	if (r > 0)
		return r;
	printf("GRUB_CMDLINE_LINUX_DEFAULT=%s\nGRUB_CMDLINE_LINUX=%s\n", def, lin);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "cmdline") == 0)
		return cmd_cmdline(argc - 2, argv + 2);
	if (strcmp(argv[1], "grub") == 0)
		return cmd_grub(argc - 2, argv + 2);
	if (strcmp(argv[1], "grub-read") == 0)
		return cmd_grub_read(argc - 2, argv + 2);
	return usage();
}
