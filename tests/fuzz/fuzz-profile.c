/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-profile.c — libFuzzer target: the INI profile reader (profile_file_parse) and profile_load() with includes. */
/*
 * Input: a local profile file, as is. Checked:
 *  - a refusal is "PATH:LINE: reason" with LINE inside the file;
 *  - what the reader accepts is clean: every kernel parameter, module name,
 *    PCI address and id, file name and include passes the rules the reader
 *    promises (written again below), no list holds an item twice, an add
 *    and a remove of one file never contradict each other, ids and
 *    addresses are lowercase;
 *  - round trip: the parsed profile written back as canonical INI (one item
 *    per line) parses to the same profile;
 *  - the file installed as <root>/etc/iommuctl/profiles/fuzz.conf (a private
 *    temporary root, made once) loads with profile_load() exactly when every
 *    include names a built-in profile, and the merged profile keeps the
 *    file's own settings on top (the including profile wins); this part
 *    needs root, since profile_load() reads only root-owned files.
 */
#include <errno.h>

#include "fuzz-common.h"
#include "fuzz-root.h"
#include "profile-internal.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PATH "/etc/iommuctl/profiles/fuzz.conf"
#define LETTERS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

static bool all_of(const char *s, const char *set)
{
	return strspn(s, set) == strlen(s);
}

static bool hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]) || !s[i])
			return false;
	return true;
}

static bool id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n != 9 && n != 19)
		return false;
	for (size_t i = 0; i < n; i += 5)
		if (!hex_run(s + i, 4) || (i + 4 < n && s[i + 4] != ':'))
			return false;
	return true;
}

static bool device_ok(const char *s)
{
	return strlen(s) == 12 && hex_run(s, 4) && s[4] == ':' && hex_run(s + 5, 2) && s[7] == ':' &&
	       hex_run(s + 8, 2) && strtoul(s + 8, NULL, 16) < 0x20 && s[10] == '.' && s[11] >= '0' && s[11] <= '7';
}

static bool file_ok(const char *s)
{
	const char *base = s + strlen("/etc/modprobe.d/");

	return s && strncmp(s, "/etc/modprobe.d/", strlen("/etc/modprobe.d/")) == 0 && strlen(base) > 5 &&
	       strcmp(base + strlen(base) - 5, ".conf") == 0 && base[0] != '.' && !strstr(s, "..") &&
	       all_of(base, LETTERS "_.-");
}

static bool module_ok(const char *s)
{
	return s[0] && s[0] != '-' && strlen(s) <= PROFILE_MODULE_NAME_MAX && all_of(s, LETTERS "_-");
}

static bool kernel_ok(const char *s)
{
	return s[0] && strchr(LETTERS "_", s[0]) && all_of(s, LETTERS "_-.,:=+/@%");
}

static void check_list(const struct strv *s, bool (*ok)(const char *), const char *what)
{
	for (size_t i = 0; i < s->n; i++) {
		FUZZ_CHECK(ok(s->v[i]), "%s '%s' accepted", what, s->v[i]);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(s->v[i], s->v[j]) != 0, "%s '%s' listed twice", what, s->v[i]);
	}
	FUZZ_CHECK(!s->v || !s->v[s->n], "%s list not NULL-terminated", what);
}

static const char *key_of(const char *param, size_t *ret_len)
{
	const char *eq = strchr(param, '=');

	*ret_len = eq ? (size_t)(eq - param) : strlen(param);
	return param;
}

static void check_clean(const struct profile_file *f)
{
	const struct profile *p = f->own;
	size_t ka, kb;

	check_list(&p->kernel_add, kernel_ok, "kernel add");
	check_list(&p->kernel_remove, kernel_ok, "kernel remove");
	check_list(&p->modules_add, module_ok, "module add");
	check_list(&p->modules_remove, module_ok, "module remove");
	check_list(&p->blacklist_add, module_ok, "blacklist add");
	check_list(&p->blacklist_remove, module_ok, "blacklist remove");
	check_list(&p->vfio_devices, device_ok, "device");
	check_list(&p->vfio_ids, id_ok, "id");
	check_list(&f->includes, profile_name_valid, "include");
	FUZZ_CHECK(!p->blacklist_file || file_ok(p->blacklist_file), "blacklist file '%s'", p->blacklist_file);
	FUZZ_CHECK(!p->vfio_file || file_ok(p->vfio_file), "vfio file '%s'", p->vfio_file);
	FUZZ_CHECK(p->disable_vga >= -1 && p->disable_vga <= 1, "disable_vga %d", p->disable_vga);
	FUZZ_CHECK(p->description, "no description string");
	for (const char *c = p->description; *c; c++)
		FUZZ_CHECK((unsigned char)*c >= ' ' && *c != 0x7f, "control character in the description");

	/* one key at most once among the adds; no add taken away by a remove */
	for (size_t i = 0; i < p->kernel_add.n; i++) {
		const char *a = key_of(p->kernel_add.v[i], &ka);

		for (size_t j = 0; j < i; j++) {
			const char *b = key_of(p->kernel_add.v[j], &kb);

			FUZZ_CHECK(ka != kb || memcmp(a, b, ka) != 0, "kernel key of '%s' added twice", a);
		}
		for (size_t j = 0; j < p->kernel_remove.n; j++)
			FUZZ_CHECK(!kernel_remove_matches(p->kernel_remove.v[j], a), "'%s' added and removed by '%s'", a,
				   p->kernel_remove.v[j]);
	}
	for (size_t i = 0; i < p->modules_add.n; i++)
		for (size_t j = 0; j < p->modules_remove.n; j++)
			FUZZ_CHECK(!module_name_eq(p->modules_add.v[i], p->modules_remove.v[j]),
				   "module '%s' added and removed", p->modules_add.v[i]);
	for (size_t i = 0; i < p->blacklist_add.n; i++)
		for (size_t j = 0; j < p->blacklist_remove.n; j++)
			FUZZ_CHECK(!module_name_eq(p->blacklist_add.v[i], p->blacklist_remove.v[j]),
				   "blacklist '%s' added and removed", p->blacklist_add.v[i]);
}

/* The reader's limit (libinih's line buffer less the newline and NUL). An
 * item from a continuation line may be too long for "key=item"; then the
 * round trip is not tried. */
#define LINE_MAX_CHARS 197

static void list_write(struct strbuf *sb, const char *key, const struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		strbuf_appendf(sb, "%s=%s\n", key, s->v[i]);
}

static bool lines_fit(const char *text)
{
	for (const char *nl; (nl = strchr(text, '\n')); text = nl + 1)
		if (nl - text > LINE_MAX_CHARS)
			return false;
	return true;
}

/* One item per line, "key=value" with no blanks. */
static char *canonical(const struct profile_file *f, bool *ret_with_description)
{
	const struct profile *p = f->own;
	struct strbuf sb = STRBUF_INIT;

	/* libinih cuts " ;comment" from a first line but not from a continuation
	 * line, so a joined description may hold one that a single line would lose */
	*ret_with_description = strlen(p->description) < 150 && !strstr(p->description, " ;") &&
				!strstr(p->description, "\t;");
	strbuf_appends(&sb, "[profile]\n");
	if (*ret_with_description && p->description[0])
		strbuf_appendf(&sb, "description=%s\n", p->description);
	list_write(&sb, "include", &f->includes);
	strbuf_appends(&sb, "[kernel]\n");
	list_write(&sb, "add", &p->kernel_add);
	list_write(&sb, "remove", &p->kernel_remove);
	strbuf_appends(&sb, "[modules]\n");
	list_write(&sb, "add", &p->modules_add);
	list_write(&sb, "remove", &p->modules_remove);
	strbuf_appends(&sb, "[blacklist]\n");
	list_write(&sb, "add", &p->blacklist_add);
	list_write(&sb, "remove", &p->blacklist_remove);
	if (p->blacklist_file)
		strbuf_appendf(&sb, "file=%s\n", p->blacklist_file);
	strbuf_appends(&sb, "[vfio-pci]\n");
	list_write(&sb, "devices", &p->vfio_devices);
	list_write(&sb, "ids", &p->vfio_ids);
	if (p->disable_vga >= 0)
		strbuf_appendf(&sb, "disable_vga=%d\n", p->disable_vga);
	if (p->vfio_file)
		strbuf_appendf(&sb, "file=%s\n", p->vfio_file);
	if (!strbuf_str(&sb))
		abort();
	return strbuf_steal(&sb);
}

static bool strv_same(const struct strv *a, const struct strv *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void check_round_trip(const struct profile_file *f)
{
	struct profile_file g = { 0 };
	const struct profile *p = f->own, *q;
	struct error e = { 0 };
	bool with_description;
	char *text = canonical(f, &with_description);
	int r;

	if (!lines_fit(text)) {
		free(text);
		return;
	}
	r = profile_file_parse("fuzz", PATH, text, strlen(text), &g, &e);
	FUZZ_CHECK(r == 0, "canonical text does not parse (%s):\n%s", e.text, text);
	q = g.own;
	FUZZ_CHECK(strv_same(&p->kernel_add, &q->kernel_add) && strv_same(&p->kernel_remove, &q->kernel_remove),
		   "kernel lists changed in the round trip");
	FUZZ_CHECK(strv_same(&p->modules_add, &q->modules_add) && strv_same(&p->modules_remove, &q->modules_remove),
		   "module lists changed in the round trip");
	FUZZ_CHECK(strv_same(&p->blacklist_add, &q->blacklist_add) &&
			   strv_same(&p->blacklist_remove, &q->blacklist_remove),
		   "blacklist lists changed in the round trip");
	FUZZ_CHECK(strv_same(&p->vfio_devices, &q->vfio_devices) && strv_same(&p->vfio_ids, &q->vfio_ids),
		   "vfio lists changed in the round trip");
	FUZZ_CHECK(strv_same(&f->includes, &g.includes), "includes changed in the round trip");
	FUZZ_CHECK(str_same(p->blacklist_file, q->blacklist_file) && str_same(p->vfio_file, q->vfio_file) &&
			   p->disable_vga == q->disable_vga,
		   "settings changed in the round trip");
	FUZZ_CHECK(!with_description || strcmp(p->description, q->description) == 0,
		   "description '%s' became '%s'", p->description, q->description);
	profile_file_clear(&g);
	free(text);
}

/* ---- profile_load() in a private root ---- */

static struct rootfs *root;

static void root_free(void)
{
	rootfs_free(root);
}

/* Whether the private root can be used: profile_load() reads only root-owned
 * files, so this part of the target needs root. */
static bool root_ready(void)
{
	static int state;	/* 0 not tried, 1 ready, -1 unusable */
	struct error e;

	if (state)
		return state > 0;
	state = -1;
	if (geteuid() != 0)
		return false;
	if (rootfs_open(fuzz_root_make("profile", "etc/iommuctl/profiles"), &root, &e) < 0)
		abort();
	atexit(root_free);
	state = 1;
	return true;
}

static bool any_module(const struct strv *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (module_name_eq(s->v[i], name))
			return true;
	return false;
}

static void check_load(const struct profile_file *f, const uint8_t *data, size_t size)
{
	static const char *const no_kernels[] = { NULL };
	const struct host_facts facts = { .cpu_vendor = "GenuineIntel", .kernels = no_kernels };
	const struct profile *own = f->own;
	struct profile *p = NULL;
	struct error e = { 0 };
	bool loadable = true;
	int r;

	bool needs_hw = false;

	/* "gpu" reads the PCI devices, which this target does not give */
	for (size_t i = 0; i < f->includes.n; i++) {
		loadable &= profile_builtin_find(f->includes.v[i]) != NULL;
		needs_hw |= strcmp(f->includes.v[i], "gpu") == 0;
	}
	loadable &= !needs_hw;
	fuzz_root_write(PATH, data, size);
	r = profile_load(root, "fuzz", &facts, &p, &e);
	FUZZ_CHECK((r == 0) == loadable, "profile_load returned %d (%s) for a file whose includes %s built-ins", r,
		   e.text, loadable ? "are all" : "are not all");
	if (r < 0 && needs_hw)
		return;
	if (r < 0) {
		FUZZ_CHECK(e.exit_code == EXIT_BAD_INPUT && strncmp(e.text, PATH ":", strlen(PATH ":")) == 0,
			   "include error not tied to the file: %d %s", e.exit_code, e.text);
		return;
	}
	for (size_t i = 0; i < own->kernel_add.n; i++)
		FUZZ_CHECK(strv_contains(&p->kernel_add, own->kernel_add.v[i]), "own kernel add '%s' lost in the merge",
			   own->kernel_add.v[i]);
	for (size_t i = 0; i < own->kernel_remove.n; i++) {
		FUZZ_CHECK(strv_contains(&p->kernel_remove, own->kernel_remove.v[i]), "own kernel remove '%s' lost",
			   own->kernel_remove.v[i]);
		for (size_t j = 0; j < p->kernel_add.n; j++)
			FUZZ_CHECK(!kernel_remove_matches(own->kernel_remove.v[i], p->kernel_add.v[j]),
				   "merged kernel add '%s' survives own remove '%s'", p->kernel_add.v[j],
				   own->kernel_remove.v[i]);
	}
	for (size_t i = 0; i < own->modules_add.n; i++)
		FUZZ_CHECK(any_module(&p->modules_add, own->modules_add.v[i]) &&
				   !any_module(&p->modules_remove, own->modules_add.v[i]),
			   "own module add '%s' lost in the merge", own->modules_add.v[i]);
	for (size_t i = 0; i < own->modules_remove.n; i++)
		FUZZ_CHECK(!any_module(&p->modules_add, own->modules_remove.v[i]), "merged modules keep removed '%s'",
			   own->modules_remove.v[i]);
	for (size_t i = 0; i < own->blacklist_add.n; i++)
		FUZZ_CHECK(any_module(&p->blacklist_add, own->blacklist_add.v[i]) &&
				   !any_module(&p->blacklist_remove, own->blacklist_add.v[i]),
			   "own blacklist add '%s' lost in the merge", own->blacklist_add.v[i]);
	for (size_t i = 0; i < own->blacklist_remove.n; i++)
		FUZZ_CHECK(!any_module(&p->blacklist_add, own->blacklist_remove.v[i]),
			   "merged blacklist keeps removed '%s'", own->blacklist_remove.v[i]);
	FUZZ_CHECK(p->blacklist_file && p->vfio_file, "file names unset after loading");
	FUZZ_CHECK(!own->blacklist_file || strcmp(own->blacklist_file, p->blacklist_file) == 0,
		   "own blacklist file lost");
	FUZZ_CHECK(!own->vfio_file || strcmp(own->vfio_file, p->vfio_file) == 0, "own vfio file lost");
	FUZZ_CHECK(own->disable_vga < 0 || own->disable_vga == p->disable_vga, "own disable_vga lost");
	FUZZ_CHECK(strcmp(p->description, own->description) == 0, "description not the file's own");
	profile_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile_file f = { 0 };
	struct error e = { 0 };
	int r;

	r = profile_file_parse("fuzz", PATH, (const char *)data, size, &f, &e);
	if (r < 0) {
		unsigned long line;
		char *end;

		FUZZ_CHECK(r == -EINVAL && e.exit_code == EXIT_BAD_INPUT, "refused with %d, exit %d: %s", r,
			   e.exit_code, e.text);
		FUZZ_CHECK(strncmp(e.text, PATH ":", strlen(PATH ":")) == 0, "message without the file: %s", e.text);
		line = strtoul(e.text + strlen(PATH ":"), &end, 10);
		FUZZ_CHECK(*end == ':' && line >= 1 && line <= fuzz_count_byte((const char *)data, size, '\n') + 1,
			   "message names no line of the file: %s", e.text);
		return 0;
	}
	check_clean(&f);
	check_round_trip(&f);
	if (root_ready())
		check_load(&f, data, size);
	profile_file_clear(&f);
	return 0;
}
