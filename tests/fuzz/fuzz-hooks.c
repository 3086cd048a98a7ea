/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-hooks.c — libFuzzer target: the [hooks] section of iommuctl.conf (hook_config_load). */
/*
 * Input: the file, as is; it is written to <root>/etc/iommuctl/iommuctl.conf
 * in a private temporary root made once. Checked:
 *  - a refusal is EXIT_BAD_INPUT, "FILE:LINE: reason; ..." with LINE inside
 *    the file, and leaves nothing allocated (LeakSanitizer);
 *  - an accepted file gives every hook an argv: not empty, argv[0] an
 *    absolute path, no empty word, no blank inside a word;
 *  - hooks the file does not name keep their defaults;
 *  - round trip: the configuration written back as "name=words" lines
 *    loads to the same argvs, and hook_config_command_line() is those words.
 */
#include <ctype.h>
#include <errno.h>

#include "fuzz-common.h"
#include "fuzz-root.h"
#include "hooks.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* hook_run() records in the journal; this target never runs a hook, so the
 * journal is left out of the build and these stand in for it. */
int journal_begin(struct journal *j, struct error *e)
{
	abort();
}

int journal_commit(struct journal *j, struct error *e)
{
	abort();
}

void journal_rollback_sql(struct journal *j)
{
	abort();
}

int journal_hook_insert(struct journal *j, int64_t txn, int seq, const char *argv, int status, const char *output,
			size_t output_len, const char *started_at, struct error *e)
{
	abort();
}

static const char *const names[] = { HOOK_UPDATE_GRUB, HOOK_PROXMOX_BOOT_TOOL, HOOK_UPDATE_INITRAMFS };
static const char *const defaults[] = {
	"/usr/sbin/update-grub",
	"/usr/sbin/proxmox-boot-tool refresh",
	"/usr/sbin/update-initramfs -u -k all",
};

static struct rootfs *root;

static void root_free(void)
{
	rootfs_free(root);
}

static void root_make(void)
{
	struct error e;

	if (root)
		return;
	if (rootfs_open(fuzz_root_make("hooks", "etc/iommuctl"), &root, &e) < 0)
		abort();
	atexit(root_free);
}

static char *joined(char *const *argv)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; argv && argv[i]; i++)
		strbuf_appendf(&sb, "%s%s", i ? " " : "", argv[i]);
	return strbuf_steal(&sb);
}

/* Whether a line of the text has name as its key (before '=' or ':', blanks
 * stripped as libinih strips them); errs towards yes. */
static bool names_key(const uint8_t *data, size_t size, const char *name)
{
	size_t pos = size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0, n = strlen(name);

	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t end = nl ? (size_t)(nl - data) : size, a = pos;

		while (a < end && strchr(" \t\r\v\f", data[a]) && data[a])
			a++;
		if (end - a > n && memcmp(data + a, name, n) == 0) {
			size_t b = a + n;

			while (b < end && strchr(" \t\r\v\f", data[b]) && data[b])
				b++;
			if (b < end && (data[b] == '=' || data[b] == ':'))
				return true;
		}
		pos = end + 1;
	}
	return false;
}

static void check_config(const struct hook_config *c, const uint8_t *data, size_t size)
{
	for (size_t h = 0; h < 3; h++) {
		char *const *argv = hook_config_argv(c, names[h]);
		char *line;

		FUZZ_CHECK(argv && argv[0], "%s has no argv", names[h]);
		FUZZ_CHECK(argv[0][0] == '/', "%s: argv[0] '%s' is not absolute", names[h], argv[0]);
		for (size_t i = 0; argv[i]; i++)
			FUZZ_CHECK(argv[i][0] && !strpbrk(argv[i], " \t"), "%s: bad word '%s'", names[h], argv[i]);
		line = hook_config_command_line(c, names[h]);
		{
			char *j = joined(argv);

			FUZZ_CHECK(strcmp(line, j) == 0, "%s: command line '%s' is not the argv '%s'", names[h], line, j);
			if (!names_key(data, size, names[h]))
				FUZZ_CHECK(strcmp(j, defaults[h]) == 0, "%s not named, yet '%s'", names[h], j);
			free(j);
		}
		free(line);
	}
	FUZZ_CHECK(!hook_config_argv(c, "no-such-hook"), "an unknown hook has an argv");
}

/* Whether libinih would take part of s, on the first line of a value, for an
 * inline comment: a ';' after a byte isspace() accepts. */
static bool ini_comment_inside(const char *s)
{
	for (size_t i = 1; s[i]; i++)
		if (s[i] == ';' && isspace((unsigned char)s[i - 1]))
			return true;
	return false;
}

static void check_round_trip(const struct hook_config *c)
{
	struct strbuf sb = STRBUF_INIT;
	struct hook_config d = { 0 };
	struct error e = { 0 };
	char *text;
	int r;

	strbuf_appends(&sb, "[hooks]\n");
	for (size_t h = 0; h < 3; h++) {
		char *j = joined(hook_config_argv(c, names[h]));
		size_t len = strlen(names[h]) + 1 + strlen(j);

		/* No blanks around '=', so the line is no longer than the one it came from,
		 * which had to fit the reader's 198 characters. A value continued on
		 * indented lines (libinih's multi-line values) can be longer: such a
		 * configuration has no one-line form, and the round trip is skipped. So is
		 * one with a ';' after any isspace() byte (a blank, or \f or \v inside a
		 * word): libinih keeps it on a continuation line but strips it and the rest
		 * from a first line as a comment. */
		if (len > 198 || ini_comment_inside(j)) {
			free(j);
			strbuf_release(&sb);
			return;
		}
		strbuf_appendf(&sb, "%s=%s\n", names[h], j);
		free(j);
	}
	text = strbuf_steal(&sb);
	fuzz_root_write(HOOKS_CONFIG, text, strlen(text));
	r = hook_config_load(root, &d, &e);
	FUZZ_CHECK(r == 0, "written-back configuration refused: %s\n%s", e.text, text);
	for (size_t h = 0; h < 3; h++) {
		char *a = joined(hook_config_argv(c, names[h])), *b = joined(hook_config_argv(&d, names[h]));

		FUZZ_CHECK(strcmp(a, b) == 0, "%s: '%s' became '%s'", names[h], a, b);
		free(a);
		free(b);
	}
	hook_config_clear(&d);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hook_config c = { 0 };
	struct error e = { 0 };
	int r;

	root_make();
	fuzz_root_write(HOOKS_CONFIG, data, size);
	r = hook_config_load(root, &c, &e);
	if (r < 0) {
		char prefix[sizeof(fuzz_root_path) + 64], *end;
		unsigned long line;

		snprintf(prefix, sizeof(prefix), "%s%s:", fuzz_root_path, HOOKS_CONFIG);
		FUZZ_CHECK(r == -EBADMSG && e.exit_code == EXIT_BAD_INPUT, "refused with %d, exit %d: %s", r,
			   e.exit_code, e.text);
		FUZZ_CHECK(strncmp(e.text, prefix, strlen(prefix)) == 0, "message without the file: %s", e.text);
		line = strtoul(e.text + strlen(prefix), &end, 10);
		FUZZ_CHECK(*end == ':' && line >= 1 && line <= fuzz_count_byte((const char *)data, size, '\n') + 1,
			   "message names no line of the file: %s", e.text);
		return 0;
	}
	check_config(&c, data, size);
	check_round_trip(&c);
	hook_config_clear(&c);
	return 0;
}
