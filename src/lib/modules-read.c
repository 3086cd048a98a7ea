/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modules-read.c — reads /etc/modules (and modules-load.d) exactly as systemd-modules-load 252 does.
 *  Owns: the line rules (sdlines_each) and modfile_modules_read()/_has().
 *  Must not: edit text, open files, print. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modfile-internal.h"
#include "modules-read.h"

/* ======================================================================
 * /etc/modules
 * ====================================================================== */

/*
 * How systemd-modules-load reads a file (systemd 252, Debian 12 and Proxmox VE 8; Debian links
 * /etc/modules-load.d/modules.conf to ../modules, so this is how /etc/modules is read):
 *   - src/modules-load/modules-load.c, apply_file(): read_line(), then strstrip(); an empty
 *     line or one whose first byte is in COMMENTS ("#;", src/basic/def.h) is skipped; every
 *     other line goes whole to module_load_and_warn() as ONE name;
 *   - src/basic/fileio.c, read_line_full(): '\n', '\r' and '\0' end a line ("\r\n" and
 *     "\n\r" are one ending);
 *   - src/basic/string-util.c, strstrip(): strips WHITESPACE, " \t\n\r", at both ends;
 *   - src/shared/module-util.c, module_load_and_warn(): kmod_module_new_from_lookup() on the
 *     name; nothing found → "Failed to find module '%s'" and -ENOENT, which apply_file()
 *     ignores, so the unit still succeeds.
 * Measured with Debian 12's /lib/systemd/systemd-modules-load on a file holding
 * "vfio_pci ids=10de:1b80,10de:10f0": "Failed to find module 'vfio_pci ids=10de:1b80,10de:10f0'",
 * exit status 0.
 */
static bool is_sd_whitespace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_sd_eol(char c)
{
	return c == '\n' || c == '\r';
}

/* Calls fn for every line systemd-modules-load would look up, in file order. */
int sdlines_each(const char *text, int (*fn)(const char *text, const struct sdline *l, void *data),
		 void *data)
{
	unsigned lineno = 1;
	size_t i = 0, len = strlen(text);

	while (i < len) {
		size_t a = i, b, next;
		unsigned at = lineno;
		int r;

		while (i < len && !is_sd_eol(text[i]))
			i++;
		b = i;
		next = i;
		/* the line ends here; '\n' counts as a line for the messages, a lone '\r' does not */
		if (next < len) {
			lineno += text[next] == '\n';
			next++;
		}
		i = next;
		while (a < b && is_sd_whitespace(text[a]))
			a++;
		while (b > a && is_sd_whitespace(text[b - 1]))
			b--;
		if (a == b || text[a] == '#' || text[a] == ';')
			continue;
		r = fn(text, &(struct sdline){ a, b, at }, data);
		if (r != 0)
			return r;
	}
	return 0;
}

bool sdline_broken(const char *text, const struct sdline *l)
{
	for (size_t i = l->start; i < l->end; i++)
		if (text[i] == ' ' || text[i] == '\t')
			return true;
	return false;
}

/* Whether word w of the line (split at blanks) is the module. */
bool sdline_word_is(const char *text, const struct sdline *l, size_t w, const char *module)
{
	size_t i = l->start, n = 0;

	while (i < l->end) {
		size_t a = i;

		while (i < l->end && text[i] != ' ' && text[i] != '\t')
			i++;
		if (i > a && (w == SIZE_MAX || n == w) && names_equal_n(text + a, i - a, module, strlen(module)))
			return true;
		n += i > a;
		while (i < l->end && (text[i] == ' ' || text[i] == '\t'))
			i++;
	}
	return false;
}

struct has_state {
	const char *module;
	int found;
};

static int has_one(const char *text, const struct sdline *l, void *data)
{
	struct has_state *h = data;

	if (names_equal_n(text + l->start, l->end - l->start, h->module, strlen(h->module))) {
		h->found = 1;
		return 1;
	}
	if (sdline_broken(text, l) && sdline_word_is(text, l, SIZE_MAX, h->module))
		h->found = 2;
	return 0;
}

int modfile_modules_has(const char *text, const char *module)
{
	struct has_state h = { module, 0 };

	if (!name_valid(module))
		return -EINVAL;
	sdlines_each(text, has_one, &h);
	return h.found;
}

struct read_state {
	struct modfile_modules_line *v;
	size_t n;
};

static int read_one(const char *text, const struct sdline *l, void *data)
{
	struct read_state *st = data;
	struct modfile_modules_line *nv = realloc(st->v, (st->n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	st->v = nv;
	nv[st->n] = (struct modfile_modules_line){ .line = l->lineno, .broken = sdline_broken(text, l),
						   .name = strndup(text + l->start, l->end - l->start) };
	if (!nv[st->n].name)
		return -ENOMEM;
	st->n++;
	return 0;
}

int modfile_modules_read(const char *text, struct modfile_modules_line **ret, size_t *ret_n)
{
	struct read_state st = { 0 };
	int r = sdlines_each(text, read_one, &st);

	if (r < 0) {
		modfile_modules_lines_free(st.v, st.n);
		return r;
	}
	*ret = st.v;
	*ret_n = st.n;
	return 0;
}

void modfile_modules_lines_free(struct modfile_modules_line *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}
