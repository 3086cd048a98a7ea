/* SPDX-License-Identifier: GPL-2.0-or-later */
/* profile-ini.c — one local profile file, read with libinih, into checked lists with file:line errors.
 *  Owns: profile_file_parse(). Must not: resolve includes, know the built-ins, or read files
 *  (profile.c hands it the text). */
#include <ini.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "profile-internal.h"
#include "strbuf.h"

#define NO_FIELD SIZE_MAX
#define FIELD(m) offsetof(struct profile, m)
#define SECTIONS_TEXT "[profile], [kernel], [modules], [blacklist] and [vfio-pci]"
#define MODPROBE_DIR "/etc/modprobe.d/"

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
/* What a kernel parameter may contain. Parameters end up in /etc/default/grub,
 * which grub-mkconfig sources with sh: anything beyond these (quotes, $, `, \,
 * ;, |, &, <, >, globs, ~, #, spaces) would need quoting or be interpreted. */
#define KERNEL_CHARS ALNUM "_-.,:=+/@%"
#define MODULE_CHARS ALNUM "_-"
#define HEX_CHARS "0123456789abcdefABCDEF"

enum key_kind { KEY_TEXT, KEY_INCLUDE, KEY_KERNEL, KEY_MODULE, KEY_FILE, KEY_DEVICE, KEY_ID, KEY_BOOL };

struct ini_key {
	const char *section;
	const char *key;
	enum key_kind kind;
	size_t field;		/* offset in struct profile */
	size_t opposite;	/* the other list of an add/remove pair, or NO_FIELD */
	bool is_remove;
};

static const struct ini_key ini_keys[] = {
	{ "profile", "description", KEY_TEXT, FIELD(description), NO_FIELD, false },
	{ "profile", "include", KEY_INCLUDE, NO_FIELD, NO_FIELD, false },
	{ "kernel", "add", KEY_KERNEL, FIELD(kernel_add), FIELD(kernel_remove), false },
	{ "kernel", "remove", KEY_KERNEL, FIELD(kernel_remove), FIELD(kernel_add), true },
	{ "modules", "add", KEY_MODULE, FIELD(modules_add), FIELD(modules_remove), false },
	{ "modules", "remove", KEY_MODULE, FIELD(modules_remove), FIELD(modules_add), true },
	{ "blacklist", "add", KEY_MODULE, FIELD(blacklist_add), FIELD(blacklist_remove), false },
	{ "blacklist", "remove", KEY_MODULE, FIELD(blacklist_remove), FIELD(blacklist_add), true },
	{ "blacklist", "file", KEY_FILE, FIELD(blacklist_file), NO_FIELD, false },
	{ "vfio-pci", "devices", KEY_DEVICE, FIELD(vfio_devices), NO_FIELD, false },
	{ "vfio-pci", "ids", KEY_ID, FIELD(vfio_ids), NO_FIELD, false },
	{ "vfio-pci", "disable_vga", KEY_BOOL, FIELD(disable_vga), NO_FIELD, false },
	{ "vfio-pci", "file", KEY_FILE, FIELD(vfio_file), NO_FIELD, false },
};

/* What the reader and the handler share. libinih tells the handler neither
 * the line nor stops at its first error, so the reader counts lines as it
 * hands them out (the handler always runs on the last line handed out) and
 * stops handing them out once an error is recorded. */
struct ini_ctx {
	const char *path;
	const char *pos, *end;
	int line;
	bool key_in_section;	/* a key line since the last header: an indented line continues it */
	unsigned set_once;	/* bit i: single-valued ini_keys[i] was given */
	int err_line;		/* first error: line, reason and -errno */
	int err;
	char reason[1536];
	struct profile_file *file;
};

static int ini_fail(struct ini_ctx *c, const char *fmt, ...) _printf_(2, 3);
static int ini_fail(struct ini_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err_line)
		return -EINVAL;
	c->err_line = c->line;
	c->err = -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int ini_nomem(struct ini_ctx *c)
{
	if (!c->err_line) {
		c->err_line = c->line;
		c->err = -ENOMEM;
	}
	return -ENOMEM;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

static bool section_known(const char *s, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(ini_keys); i++)
		if (strlen(ini_keys[i].section) == n && !strncmp(ini_keys[i].section, s, n))
			return true;
	return false;
}

/* ======================================================================
 * The reader: lines to libinih, checked first for what libinih cannot
 * report (an empty unknown section, a line longer than its buffer, which
 * it would silently split into two, a NUL byte, which would cut the line)
 * ====================================================================== */

static int check_header(struct ini_ctx *c, const char *start, const char *end)
{
	const char *close = memchr(start, ']', (size_t)(end - start));
	const char *after;

	if (!close)
		return ini_fail(c, "section header without ']'; write it like [kernel]");
	c->key_in_section = false;
	if (!section_known(start + 1, (size_t)(close - start - 1)))
		return ini_fail(c, "unknown section [%.*s]; the sections are " SECTIONS_TEXT,
				(int)(close - start - 1), start + 1);
	for (after = close + 1; after < end && is_blank(*after); after++)
		;
	if (after < end && *after != ';' && *after != '#')
		return ini_fail(c, "text after the section header; put '%.*s' on a line of its own",
				(int)(end - after), after);
	return 0;
}

/* Classify the line the way libinih will (comment, continuation, header,
 * key = value) so that a mistake gets a precise reason. */
static int check_line(struct ini_ctx *c, const char *s, size_t len)
{
	const char *start = s, *end = s + len;

	if (c->line == 1 && len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
		start += 3;
	while (end > start && is_blank(end[-1]))
		end--;
	while (start < end && is_blank(*start))
		start++;
	if (start == end || *start == ';' || *start == '#')
		return 0;
	if (start > s && c->key_in_section)
		return 0;
	if (*start == '[')
		return check_header(c, start, end);
	if (!memchr(start, '=', (size_t)(end - start)) && !memchr(start, ':', (size_t)(end - start)))
		return ini_fail(c, "'%.*s' is not a [section], a 'key = value' line or a comment; "
				"comments start with '#' or ';'", (int)(end - start), start);
	return 0;
}

static char *ini_read_line(char *buf, int size, void *stream)
{
	struct ini_ctx *c = stream;
	const char *nl;
	size_t len;

	if (c->err_line || c->pos >= c->end)
		return NULL;
	nl = memchr(c->pos, '\n', (size_t)(c->end - c->pos));
	len = nl ? (size_t)(nl - c->pos) + 1 : (size_t)(c->end - c->pos);
	c->line++;
	if (size < 3 || len > (size_t)size - 1) {
		ini_fail(c, "line is longer than %d characters; split the list over several lines "
			 "with the same key (a key may repeat)", size - 3);
		return NULL;
	}
	if (memchr(c->pos, '\0', len)) {
		ini_fail(c, "line contains a NUL byte; a profile is a text file");
		return NULL;
	}
	if (check_line(c, c->pos, len) < 0)
		return NULL;
	memcpy(buf, c->pos, len);
	buf[len] = '\0';
	c->pos += len;
	return buf;
}

/* ======================================================================
 * Values
 * ====================================================================== */

static const char *char_name(char ch, char buf[8])
{
	if (ch > ' ' && ch < 0x7f)
		snprintf(buf, 8, "'%c'", ch);
	else
		snprintf(buf, 8, "0x%02x", (unsigned char)ch);
	return buf;
}

static int check_kernel_param(struct ini_ctx *c, const char *tok)
{
	size_t ok = strspn(tok, KERNEL_CHARS);
	char name[8];

	if (tok[ok])
		return ini_fail(c, "kernel parameter '%s' contains %s; iommuctl writes only plain parameters "
				"(letters, digits and _ - . , : = + / @ %%) because /etc/default/grub is read "
				"by a shell; set such a parameter by hand", tok, char_name(tok[ok], name));
	if (!strchr(ALNUM "_", tok[0]))
		return ini_fail(c, "kernel parameter '%s' must start with a letter, a digit or '_'", tok);
	return 0;
}

static int check_module(struct ini_ctx *c, const char *tok)
{
	size_t n = strlen(tok);

	if (strspn(tok, MODULE_CHARS) != n || tok[0] == '-')
		return ini_fail(c, "'%s' is not a module name; module names use letters, digits, '_' and '-' "
				"(separate several with spaces)", tok);
	if (n > PROFILE_MODULE_NAME_MAX)
		return ini_fail(c, "'%s' is longer than the kernel's %d-character limit for module names",
				tok, PROFILE_MODULE_NAME_MAX);
	return 0;
}

/* n hex digits at *p, then the separator sep ('\0' for the end). */
static bool hex_field(const char **p, size_t n, char sep)
{
	if (strspn(*p, HEX_CHARS) != n || (*p)[n] != sep)
		return false;
	*p += n + (sep ? 1 : 0);
	return true;
}

static int check_id(struct ini_ctx *c, const char *tok)
{
	const char *p = tok;

	if (hex_field(&p, 4, ':') && (hex_field(&p, 4, '\0') ||
				      (hex_field(&p, 4, ':') && hex_field(&p, 4, ':') && hex_field(&p, 4, '\0'))))
		return 0;
	return ini_fail(c, "'%s' is not a PCI vendor:device id; write it as 'lspci -nn' shows it, "
			"e.g. 10de:1b80, or 10de:1b80:1458:3702 with the subsystem ids, %s", tok,
			strchr(tok, ',') ? "and separate ids with spaces, not commas" : "one per word");
}

static int check_device(struct ini_ctx *c, const char *tok)
{
	const char *p = tok;

	/* DDDD:BB:DD.F: a device number is 5 bits, a function 3 */
	if (hex_field(&p, 4, ':') && hex_field(&p, 2, ':') && strspn(p, HEX_CHARS) == 2 &&
	    strtoul(p, NULL, 16) < 0x20 && p[2] == '.' && p[3] >= '0' && p[3] <= '7' && !p[4])
		return 0;
	return ini_fail(c, "'%s' is not a PCI address; write it with its domain as 'lspci -D' shows it, "
			"e.g. 0000:01:00.0", tok);
}

/* kmod reads only the files directly in /etc/modprobe.d that end in .conf. */
static int check_file(struct ini_ctx *c, const char *tok)
{
	const char *base = tok + strlen(MODPROBE_DIR);

	if (!strncmp(tok, MODPROBE_DIR, strlen(MODPROBE_DIR)) && str_has_suffix(base, ".conf") &&
	    strlen(base) > strlen(".conf") && base[0] != '.' && !strstr(tok, "..") &&
	    strspn(base, ALNUM "_.-") == strlen(base))
		return 0;
	return ini_fail(c, "'%s' is not a file modprobe reads; give a path like " MODPROBE_DIR "NAME.conf "
			"(directly in " MODPROBE_DIR ", letters, digits, '_', '.', '-', no '..')", tok);
}

static int parse_bool(struct ini_ctx *c, const char *tok, int *ret)
{
	static const char *const yes[] = { "yes", "true", "1" }, *const no[] = { "no", "false", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(tok, yes[i]))
			return *ret = 1, 0;
		if (!strcasecmp(tok, no[i]))
			return *ret = 0, 0;
	}
	return ini_fail(c, "disable_vga is yes or no (or 1/0, true/false), not '%s'", tok);
}

static void lowercase(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'F')
			*s = (char)(*s - 'A' + 'a');
}

/* ======================================================================
 * Keys
 * ====================================================================== */

static struct strv *field_strv(struct profile *p, size_t field)
{
	return (struct strv *)((char *)p + field);
}

static char **field_string(struct profile *p, size_t field)
{
	return (char **)((char *)p + field);
}

/* Adding and removing the same item in one file is a contradiction; between
 * a file and what it includes, the file wins (see profile_merge()). */
static bool conflicts(const struct ini_key *k, const struct strv *opposite, const char *tok)
{
	for (size_t i = 0; i < opposite->n; i++) {
		const char *other = opposite->v[i];
		if (k->kind == KEY_KERNEL ? (k->is_remove ? kernel_remove_matches(tok, other)
							  : kernel_remove_matches(other, tok))
					  : module_name_eq(tok, other))
			return true;
	}
	return false;
}

static int put_include(struct ini_ctx *c, const char *tok)
{
	struct profile_file *f = c->file;
	int *nl;

	if (!profile_name_valid(tok))
		return ini_fail(c, "'%s' is not a profile name; names use letters, digits, '_', '.' and '-' "
				"and do not start with '.'", tok);
	if (strv_contains(&f->includes, tok))
		return 0;
	nl = realloc(f->include_lines, (f->includes.n + 1) * sizeof(int));
	if (!nl)
		return ini_nomem(c);
	f->include_lines = nl;
	nl[f->includes.n] = c->line;
	return strv_add(&f->includes, tok) < 0 ? ini_nomem(c) : 0;
}

static int check_token(struct ini_ctx *c, const struct ini_key *k, char *tok)
{
	/* inih takes ';' after a blank as a comment, '#' only at the start of a line */
	if (tok[0] == '#')
		return ini_fail(c, "'#' starts a comment only at the beginning of a line; "
				"write ' ; comment' after a value, or put the comment on its own line");
	switch (k->kind) {
	case KEY_KERNEL:
		return check_kernel_param(c, tok);
	case KEY_MODULE:
		return check_module(c, tok);
	case KEY_ID:
		lowercase(tok);
		return check_id(c, tok);
	case KEY_DEVICE:
		lowercase(tok);
		return check_device(c, tok);
	case KEY_FILE:
		return check_file(c, tok);
	default:
		return 0;
	}
}

static int put_token(struct ini_ctx *c, const struct ini_key *k, char *tok)
{
	struct profile *p = c->file->own;
	struct strv *list;
	int r;

	if ((r = check_token(c, k, tok)) < 0)
		return r;
	if (k->kind == KEY_INCLUDE)
		return put_include(c, tok);
	list = field_strv(p, k->field);
	if (k->opposite != NO_FIELD && conflicts(k, field_strv(p, k->opposite), tok))
		return ini_fail(c, "'%s' is both added and removed in [%s]; keep one of them", tok, k->section);
	if (k->kind == KEY_KERNEL)
		r = k->is_remove ? strv_put(list, tok) : kernel_list_put(list, tok);
	else if (k->kind == KEY_MODULE)
		r = module_list_put(list, tok);
	else
		r = strv_put(list, tok);
	return r < 0 ? ini_nomem(c) : 0;
}

static int set_single(struct ini_ctx *c, const struct ini_key *k, char *tok)
{
	struct profile *p = c->file->own;
	char *copy;
	int r;

	if (k->kind == KEY_BOOL)
		return parse_bool(c, tok, (int *)((char *)p + k->field));
	if ((r = check_token(c, k, tok)) < 0)
		return r;
	if (!(copy = strdup(tok)))
		return ini_nomem(c);
	free(*field_string(p, k->field));
	*field_string(p, k->field) = copy;
	return 0;
}

/* A value is a list of words; description is free text. */
static int set_value(struct ini_ctx *c, const struct ini_key *k, const char *value)
{
	_cleanup_free_ char *copy = NULL;
	char *save = NULL, *tok;
	size_t idx = (size_t)(k - ini_keys), n = 0;
	bool single = k->kind == KEY_FILE || k->kind == KEY_BOOL;
	int r = 0;

	if (single) {
		if (c->set_once & (1u << idx))
			return ini_fail(c, "%s is given twice in [%s]; keep one line", k->key, k->section);
		c->set_once |= 1u << idx;
	}
	if (!(copy = strdup(value)))
		return ini_nomem(c);
	for (tok = strtok_r(copy, " \t\r\v\f", &save); tok && r >= 0; tok = strtok_r(NULL, " \t\r\v\f", &save)) {
		if (single && n > 0)
			return ini_fail(c, "%s takes one value; remove '%s'", k->key, tok);
		r = single ? set_single(c, k, tok) : put_token(c, k, tok);
		n++;
	}
	if (r >= 0 && n == 0)
		return ini_fail(c, "%s has no value; give one or remove the line", k->key);
	return r;
}

/* Continuation lines of a description are joined with a space. The text is
 * printed on terminals, so no control characters. */
static int set_description(struct ini_ctx *c, const char *value)
{
	char **d = &c->file->own->description;
	char *joined;

	for (const char *s = value; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return ini_fail(c, "description contains a control character; use plain text");
	if (asprintf(&joined, "%s%s%s", *d, **d && *value ? " " : "", value) < 0)
		return ini_nomem(c);
	free(*d);
	*d = joined;
	return 0;
}

static const struct ini_key *key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(ini_keys); i++)
		if (streq(ini_keys[i].section, section) && streq(ini_keys[i].key, name))
			return &ini_keys[i];
	return NULL;
}

static int unknown_key(struct ini_ctx *c, const char *section, const char *name)
{
	_cleanup_strbuf_ struct strbuf keys = STRBUF_INIT;

	if (!*section)
		return ini_fail(c, "'%s' comes before any section; put it under one of " SECTIONS_TEXT, name);
	if (!section_known(section, strlen(section)))
		return ini_fail(c, "unknown section [%s]; the sections are " SECTIONS_TEXT, section);
	for (size_t i = 0; i < ARRAY_SIZE(ini_keys); i++)
		if (streq(ini_keys[i].section, section))
			strbuf_appendf(&keys, "%s%s", keys.len ? ", " : "", ini_keys[i].key);
	return ini_fail(c, "unknown key '%s' in [%s]; the keys there are %s", name, section, strbuf_str(&keys));
}

/* libinih's handler: nonzero means the line was fine. */
static int ini_on_value(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *c = user;
	const struct ini_key *k;

	if (c->err_line)
		return 0;
	c->key_in_section = true;
	k = key_find(section, name);
	if (!k)
		return unknown_key(c, section, name), 0;
	if (k->kind == KEY_TEXT)
		return set_description(c, value) == 0;
	return set_value(c, k, value) == 0;
}

/* ======================================================================
 * A file
 * ====================================================================== */

void profile_file_clear(struct profile_file *f)
{
	profile_free(f->own);
	strv_clear(&f->includes);
	free(f->include_lines);
	*f = (struct profile_file){ 0 };
}

int profile_file_parse(const char *name, const char *path, const char *text, size_t len,
		       struct profile_file *ret, struct error *e)
{
	_cleanup_(profile_file_clear) struct profile_file f = { 0 };
	struct ini_ctx c = { .path = path, .pos = text, .end = text + len, .file = &f };
	int r;

	if (!(f.own = profile_new(name, path)))
		return -ENOMEM;
	r = ini_parse_stream(ini_read_line, &c, ini_on_value, &c);
	if (r == -2 || c.err == -ENOMEM)
		return -ENOMEM;
	/* libinih's own first error (one our reader did not foresee) or ours */
	if (r > 0 && (!c.err_line || r < c.err_line))
		return error_set(e, EXIT_BAD_INPUT, "%s:%d: cannot parse this line; write a [section], "
				 "a 'key = value' line or a comment starting with '#' or ';'", path, r), -EINVAL;
	if (c.err_line)
		return error_set(e, EXIT_BAD_INPUT, "%s:%d: %s", path, c.err_line, c.reason), -EINVAL;
	if (r < 0)
		return error_set(e, EXIT_IO, "%s: libinih failed (%d)", path, r), -EIO;
	*ret = f;
	f = (struct profile_file){ 0 };
	return 0;
}
