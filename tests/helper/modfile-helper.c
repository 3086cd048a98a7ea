/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modfile-helper.c — test-only front end to the modfile editors and kmod-config reader, for shell tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "modfile.h"
#include "strbuf.h"

#define EXIT_USAGE 2
#define EXIT_BADINPUT 5
#define EXIT_IO 6

static int file_read(const char *path, char **ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;
	int r;

	if (!f)
		return negative_errno();
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if ((r = strbuf_append(&sb, buf, n)) < 0)
			return r;
	if (ferror(f))
		return -EIO;
	if (memchr(strbuf_str(&sb), '\0', sb.len))
		return -EBADMSG; /* the editors take C strings */
	*ret = strbuf_steal(&sb);
	return *ret ? 0 : -ENOMEM;
}

struct sources {
	struct modfile_source *v;
	char **texts;
	size_t n;
};

static void sources_release(struct sources *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->texts[i]);
	free(s->texts);
	free(s->v);
}

static int sources_read(char **paths, size_t n, struct sources *s)
{
	s->v = calloc(n + 1, sizeof(*s->v));
	s->texts = calloc(n + 1, sizeof(*s->texts));
	if (!s->v || !s->texts)
		return -ENOMEM;
	for (; s->n < n; s->n++) {
		int r = file_read(paths[s->n], &s->texts[s->n]);

		if (r < 0) {
			fprintf(stderr, "modfile-helper: cannot read '%s': %s\n", paths[s->n], strerror(-r));
			return r;
		}
		s->v[s->n] = (struct modfile_source){ .name = paths[s->n], .text = s->texts[s->n] };
	}
	return 0;
}

/* "--cmdline STRING" before the other arguments; NULL when absent. */
static const char *opt_cmdline(int *argc, char ***argv)
{
	const char *c = NULL;

	if (*argc >= 2 && strcmp((*argv)[0], "--cmdline") == 0) {
		c = (*argv)[1];
		*argc -= 2;
		*argv += 2;
	}
	return c;
}

static int config_load(int argc, char **argv, const char *cmdline, struct sources *s,
		       struct modfile_config **ret)
{
	int r = sources_read(argv, (size_t)argc, s);

	if (r < 0)
		return EXIT_IO;
	r = modfile_config_parse(s->v, s->n, cmdline, ret);
	if (r < 0) {
		fprintf(stderr, "modfile-helper: %s\n", strerror(-r));
		return EXIT_IO;
	}
	return 0;
}

/* dump [--cmdline S] FILE...: like the config part of `modprobe -c`. */
static int cmd_dump(int argc, char **argv)
{
	const char *cmdline = opt_cmdline(&argc, &argv);
	_cleanup_modfile_config_ struct modfile_config *c = NULL;
	_cleanup_free_ char *out = NULL;
	struct sources s = {};
	int r;

	r = config_load(argc, argv, cmdline, &s, &c);
	if (r == 0 && modfile_config_dump(c, &out) < 0)
		r = EXIT_IO;
	if (r == 0)
		fputs(out, stdout);
	sources_release(&s);
	return r;
}

static void where_print(const struct modfile_entry *en)
{
	if (en->line)
		printf(" %s:%u", en->source, en->line);
	else
		printf(" (%s)", en->source);
}

static void query_print(const struct modfile_config *c, const char *module)
{
	const struct modfile_entry *bl = modfile_config_find_blacklist(c, module);
	const struct modfile_entry *sd = modfile_config_find_softdep(c, module);
	_cleanup_free_ char *opts = NULL;

	printf("blacklisted %s", bl ? "yes" : "no");
	if (bl)
		where_print(bl);
	printf("\noptions %s\n", modfile_config_get_options(c, module, &opts) > 0 ? opts : "");
	printf("softdep-pre");
	for (size_t i = 0; sd && i < sd->n_pre; i++)
		printf(" %s", sd->pre[i]);
	printf("\nsoftdep-post");
	for (size_t i = 0; sd && i < sd->n_post; i++)
		printf(" %s", sd->post[i]);
	printf("\n");
}

/* query [--cmdline S] MODULE [--param KEY] FILE... */
static int cmd_query(int argc, char **argv)
{
	const char *cmdline = opt_cmdline(&argc, &argv), *module, *key = NULL;
	_cleanup_modfile_config_ struct modfile_config *c = NULL;
	struct sources s = {};
	int r;

	if (argc < 1)
		return EXIT_USAGE;
	module = argv[0];
	argc--, argv++;
	if (argc >= 2 && strcmp(argv[0], "--param") == 0) {
		key = argv[1];
		argc -= 2, argv += 2;
	}
	r = config_load(argc, argv, cmdline, &s, &c);
	if (r == 0 && !key)
		query_print(c, module);
	if (r == 0 && key) {
		_cleanup_free_ char *v = NULL;
		const struct modfile_entry *en = NULL;

		if (modfile_config_get_param(c, module, key, &v, &en) > 0) {
			printf("param %s=%s", key, v ? v : "(flag)");
			where_print(en);
			printf("\n");
		} else {
			printf("param %s unset\n", key);
		}
	}
	sources_release(&s);
	return r;
}

static const char *arg_or_null(int argc, char **argv, int i)
{
	return i < argc && strcmp(argv[i], "-") != 0 ? argv[i] : NULL;
}

static int edit_run(const char *op, const char *text, int argc, char **argv, char **out,
		    struct modfile_error *err)
{
	const char *m = argv[0], *a = arg_or_null(argc, argv, 1), *b = arg_or_null(argc, argv, 2);

	if (!strcmp(op, "modules-add"))
		return modfile_modules_add(text, m, out, err);
	if (!strcmp(op, "modules-remove"))
		return modfile_modules_remove(text, m, out, err);
	if (!strcmp(op, "blacklist-add"))
		return modfile_add_blacklist(text, m, out, err);
	if (!strcmp(op, "blacklist-remove"))
		return modfile_remove_blacklist(text, m, out, err);
	if (!strcmp(op, "options-set"))
		return modfile_set_options(text, m, a, out, err);
	if (!strcmp(op, "options-remove"))
		return modfile_remove_options(text, m, a, out, err);
	if (!strcmp(op, "softdep-add"))
		return modfile_add_softdep(text, m, a, b, out, err);
	if (!strcmp(op, "softdep-remove"))
		return modfile_remove_softdep(text, m, a, b, out, err);
	return -EOPNOTSUPP;
}

/* edit OP FILE MODULE [ARG [ARG]]: prints the new text; "-" stands for NULL. */
static int cmd_edit(int argc, char **argv)
{
	_cleanup_free_ char *text = NULL, *out = NULL;
	struct modfile_error err = {};
	int r;

	if (argc < 3)
		return EXIT_USAGE;
	r = file_read(argv[1], &text);
	if (r < 0) {
		fprintf(stderr, "modfile-helper: cannot read '%s': %s\n", argv[1], strerror(-r));
		return EXIT_IO;
	}
	r = edit_run(argv[0], text, argc - 2, argv + 2, &out, &err);
	if (r == -EBADMSG) {
		fprintf(stderr, "%s:%u: %s\n", argv[1], err.line, err.reason);
		return EXIT_BADINPUT;
	}
	if (r < 0) {
		fprintf(stderr, "modfile-helper: %s: %s\n", argv[0], strerror(-r));
		return r == -EOPNOTSUPP || r == -EINVAL ? EXIT_USAGE : EXIT_IO;
	}
	fputs(out, stdout);
	return 0;
}

/* modules-read FILE: one line per name systemd-modules-load looks up: "LINE<TAB>NAME". */
static int cmd_modules_read(int argc, char **argv)
{
	_cleanup_free_ char *text = NULL;
	struct modfile_modules_line *v = NULL;
	size_t n = 0;
	int r;

	if (argc != 1)
		return EXIT_USAGE;
	r = file_read(argv[0], &text);
	if (r < 0) {
		fprintf(stderr, "modfile-helper: cannot read '%s': %s\n", argv[0], strerror(-r));
		return EXIT_IO;
	}
	if (modfile_modules_read(text, &v, &n) < 0)
		return EXIT_IO;
	for (size_t i = 0; i < n; i++)
		printf("%u\t%s\n", v[i].line, v[i].name);
	modfile_modules_lines_free(v, n);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "modules-read", cmd_modules_read },
	{ "dump", cmd_dump },
	{ "query", cmd_query },
	{ "edit", cmd_edit },
};

int main(int argc, char **argv)
{
	for (size_t i = 0; argc >= 2 && i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 2, argv + 2);
	fprintf(stderr,
		"usage: modfile-helper dump [--cmdline S] FILE...\n"
		"       modfile-helper query [--cmdline S] MODULE [--param KEY] FILE...\n"
		"       modfile-helper edit OP FILE MODULE [ARG [ARG]]   ('-' = none)\n"
		"       modfile-helper modules-read FILE   (LINE<TAB>NAME systemd-modules-load looks up)\n"
		"  OP: modules-add modules-remove blacklist-add blacklist-remove options-set\n"
		"      options-remove softdep-add softdep-remove\n");
	return EXIT_USAGE;
}
