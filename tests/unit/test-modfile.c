/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-modfile.c — the /etc/modules and modprobe.d editors and the kmod-config reader, on the fixtures. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "modfile.h"
#include "strbuf.h"
#include "tap.h"
#include "util.h"

/* The fixtures live in the source tree; meson passes the path as argv[1]
 * (or the build defines FIXTURES_DIR); "fixtures" works from the top. */
#ifndef FIXTURES_DIR
#define FIXTURES_DIR "fixtures"
#endif
static const char *fixtures = FIXTURES_DIR;

static char *fixture_read(const char *rel)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;

	if (asprintf(&path, "%s/%s", fixtures, rel) < 0)
		return NULL;
	f = fopen(path, "re");
	if (!f) {
		printf("# cannot read %s\n", path);
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_append(&sb, buf, n);
	return strbuf_steal(&sb);
}

/* Sorted file names of a fixture directory, as kmod orders them (strcmp). */
static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t fixture_list(const char *dir, char ***ret)
{
	_cleanup_free_ char *path = NULL;
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	if (asprintf(&path, "%s/%s", fixtures, dir) < 0 || !(d = opendir(path)))
		return 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		/* SOURCES.md documents the corpus; kmod reads only *.conf in modprobe.d */
		if (de->d_name[0] == '.' || (len > 3 && !strcmp(de->d_name + len - 3, ".md")))
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		if (asprintf(&v[n], "%s/%s", dir, de->d_name) < 0)
			abort();
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), name_cmp);
	*ret = v;
	return n;
}

static void list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- edits as one calling shape, so that the generic checks can loop ---- */

enum op {
	OP_MODULES_ADD,
	OP_MODULES_REMOVE,
	OP_BLACKLIST_ADD,
	OP_BLACKLIST_REMOVE,
	OP_OPTIONS_SET,
	OP_OPTIONS_REMOVE,
	OP_SOFTDEP_ADD,
	OP_SOFTDEP_REMOVE,
	OP_INSTALL_SET,
};

static int edit(enum op op, const char *text, const char *m, const char *a, const char *b, char **out,
		struct modfile_error *err)
{
	switch (op) {
	case OP_MODULES_ADD:
		return modfile_modules_add(text, m, out, err);
	case OP_MODULES_REMOVE:
		return modfile_modules_remove(text, m, out, err);
	case OP_BLACKLIST_ADD:
		return modfile_add_blacklist(text, m, out, err);
	case OP_BLACKLIST_REMOVE:
		return modfile_remove_blacklist(text, m, out, err);
	case OP_OPTIONS_SET:
		return modfile_set_options(text, m, a, out, err);
	case OP_OPTIONS_REMOVE:
		return modfile_remove_options(text, m, a, out, err);
	case OP_SOFTDEP_ADD:
		return modfile_add_softdep(text, m, a, b, out, err);
	case OP_SOFTDEP_REMOVE:
		return modfile_remove_softdep(text, m, a, b, out, err);
	case OP_INSTALL_SET:
		return modfile_set_install(text, m, a, out, err);
	}
	return -EINVAL;
}

/* One edit with its expected result; then the same edit again must change nothing. */
static void check_edit(const char *what, enum op op, const char *text, const char *m, const char *a,
		       const char *b, const char *want)
{
	_cleanup_free_ char *out = NULL, *again = NULL;
	struct modfile_error err = {};
	int r = edit(op, text, m, a, b, &out, &err);

	if (r == -EBADMSG)
		printf("# line %u: %s\n", err.line, err.reason);
	ok(r == (strcmp(text, want) != 0), "%s: returns %s", what, strcmp(text, want) ? "changed" : "unchanged");
	is_str(out, want, "%s: text", what);
	r = out ? edit(op, out, m, a, b, &again, &err) : -1;
	ok(r == 0 && again && strcmp(again, out) == 0, "%s: a second identical edit changes nothing", what);
}

static void check_refused(const char *what, enum op op, const char *text, const char *m, const char *a,
			  const char *b, unsigned line, const char *reason_part)
{
	_cleanup_free_ char *out = NULL;
	struct modfile_error err = {};
	int r = edit(op, text, m, a, b, &out, &err);

	ok(r == -EBADMSG && !out, "%s: refused", what);
	ok(err.line == line, "%s: at line %u (got %u)", what, line, err.line);
	ok(strstr(err.reason, reason_part) != NULL, "%s: reason mentions \"%s\" (got \"%s\")", what,
	   reason_part, err.reason);
}

static void check_invalid(const char *what, enum op op, const char *m, const char *a, const char *b)
{
	_cleanup_free_ char *out = NULL;

	ok(edit(op, "blacklist x\n", m, a, b, &out, NULL) == -EINVAL && !out, "%s: -EINVAL", what);
}

/* add then remove of a module the file does not mention: byte-exact round
 * trip, old bytes a prefix of the added text, both idempotent. */
static void check_roundtrip(const char *name, const char *text, enum op add, enum op del,
			    const char *m, const char *a, const char *b, const char *da, const char *db)
{
	_cleanup_free_ char *added = NULL, *again = NULL, *back = NULL, *back2 = NULL;
	int r1, r2, r3, r4;

	r1 = edit(add, text, m, a, b, &added, NULL);
	ok(r1 == 1 && added && has_prefix(added, text), "%s: add %s keeps every old byte", name, m);
	r2 = added ? edit(add, added, m, a, b, &again, NULL) : -1;
	ok(r2 == 0 && again && !strcmp(again, added), "%s: add %s twice changes nothing", name, m);
	r3 = added ? edit(del, added, m, da, db, &back, NULL) : -1;
	ok(r3 == 1 && back && !strcmp(back, text), "%s: remove %s gives the file back byte for byte", name, m);
	r4 = back ? edit(del, back, m, da, db, &back2, NULL) : -1;
	ok(r4 == 0 && back2 && !strcmp(back2, text), "%s: remove %s twice changes nothing", name, m);
}

/* ---- /etc/modules ---- */

static void test_modules_every_fixture(void)
{
	char **names = NULL;
	size_t n = fixture_list("modules", &names);

	ok(n >= 8, "fixtures/modules has the corpus (%zu files)", n);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *text = fixture_read(names[i]), *out = NULL;

		if (!text)
			continue;
		check_roundtrip(names[i], text, OP_MODULES_ADD, OP_MODULES_REMOVE, "iommuctl-test", NULL,
				NULL, NULL, NULL);
		/* vfio_pci: listed in some, absent in others; either way the result lists it once */
		ok(modfile_modules_add(text, "vfio-pci", &out, NULL) >= 0 &&
			   modfile_modules_has(out, "vfio_pci") == 1,
		   "%s: after adding vfio-pci the file lists vfio_pci", names[i]);
	}
	list_free(names, n);
}

static void test_modules_specific(void)
{
	_cleanup_free_ char *deb = fixture_read("modules/debian-default");
	_cleanup_free_ char *pve = fixture_read("modules/proxmox-vfio");
	_cleanup_free_ char *crlf = fixture_read("modules/crlf");
	_cleanup_free_ char *nonl = fixture_read("modules/no-final-newline");
	_cleanup_free_ char *dups = fixture_read("modules/dash-underscore-dups");
	_cleanup_free_ char *params = fixture_read("modules/params");
	_cleanup_free_ char *want = NULL;

	if (!deb || !pve || !crlf || !nonl || !dups || !params)
		return;
	if (asprintf(&want, "%svfio\n", deb) > 0)
		check_edit("debian default + vfio", OP_MODULES_ADD, deb, "vfio", NULL, NULL, want);
	check_edit("proxmox: vfio_pci already there", OP_MODULES_ADD, pve, "vfio_pci", NULL, NULL, pve);
	check_edit("proxmox: vfio-pci is vfio_pci", OP_MODULES_ADD, pve, "vfio-pci", NULL, NULL, pve);
	free(want);
	want = strndup(pve, strlen(pve) - strlen("vfio_virqfd\n"));
	check_edit("proxmox: drop vfio_virqfd (gone in kernel 6.2)", OP_MODULES_REMOVE, pve, "vfio_virqfd",
		   NULL, NULL, want);

	check_edit("crlf: new line is CRLF too", OP_MODULES_ADD, crlf, "vfio_iommu_type1", NULL, NULL,
		   "# /etc/modules: kernel modules to load at boot time.\r\n#\r\n"
		   "# edited with a Windows editor over SMB\r\n\r\nloop\r\nvfio-pci\r\nvfio_iommu_type1\r\n");
	check_edit("crlf: remove vfio_pci takes its CRLF", OP_MODULES_REMOVE, crlf, "vfio_pci", NULL, NULL,
		   "# /etc/modules: kernel modules to load at boot time.\r\n#\r\n"
		   "# edited with a Windows editor over SMB\r\n\r\nloop\r\n");

	check_edit("no final newline: still none after add", OP_MODULES_ADD, nonl, "kvmgt", NULL, NULL,
		   "# /etc/modules: kernel modules to load at boot time.\n\nvfio\nvfio_iommu_type1\nvfio_pci\nkvmgt");
	check_edit("no final newline: still none after removing the last line", OP_MODULES_REMOVE, nonl,
		   "vfio-pci", NULL, NULL,
		   "# /etc/modules: kernel modules to load at boot time.\n\nvfio\nvfio_iommu_type1");

	check_edit("dups: vfio_pci present as vfio-pci", OP_MODULES_ADD, dups, "vfio_pci", NULL, NULL, dups);
	check_edit("dups: remove takes both spellings", OP_MODULES_REMOVE, dups, "vfio_pci", NULL, NULL,
		   "# both spellings, as found on a host edited by two guides\nvfio_iommu_type1\n"
		   "snd-hda-intel\nvfio-iommu-type1\n");
	check_edit("dups: remove vfio-iommu-type1 takes both", OP_MODULES_REMOVE, dups, "vfio-iommu-type1",
		   NULL, NULL,
		   "# both spellings, as found on a host edited by two guides\nvfio-pci\nvfio_pci\n"
		   "snd-hda-intel\n");

	ok(modfile_modules_has(params, "kvm-intel") == 2,
	   "params: 'kvm_intel nested=1 ' lists kvm-intel only with arguments");
	ok(modfile_modules_has(params, "lp") == 1, "params: 'lp' on a line of its own");
	ok(modfile_modules_has(params, "loop") == 2, "params: 'loop max_loop=64' has arguments");
	ok(modfile_modules_has(params, "vfio_iommu_type1") == 2, "params: indented line counts");
	ok(modfile_modules_has("vfio-pci ids=1:2\nvfio_pci\r\n", "vfio_pci") == 1,
	   "a plain line wins over one with arguments; '\\r' is a blank");
	/* systemd-modules-load looks "kvm_intel nested=1" up as one name and loads nothing */
	if (asprintf(&want, "%skvm_intel\n", params) > 0)
		check_edit("params: a line with arguments loads nothing, so the module gets its own line",
			   OP_MODULES_ADD, params, "kvm_intel", NULL, NULL, want);
	free(want);
	want = NULL;
	ok(modfile_modules_has(params, "tun") == 1, "params: tab-indented line counts");
	ok(modfile_modules_has(params, "rtc") == 0, "params: ';rtc' is a comment (systemd)");
	ok(modfile_modules_has(params, "i2c-dev") == 0, "params: '# i2c-dev' is a comment");
	ok(modfile_modules_has(params, "max_loop") == 0, "params: arguments are not modules");
	check_edit("params: remove the line with arguments", OP_MODULES_REMOVE, params, "kvm-intel", NULL,
		   NULL,
		   "# /etc/modules: kernel modules to load at boot time.\n#\n"
		   "# Parameters can be specified after the module name.\n\nloop max_loop=64\nlp\n;rtc\n"
		   "# i2c-dev\n  vfio_iommu_type1   allow_unsafe_interrupts=1\n\ttun\n");
	check_edit("empty file", OP_MODULES_ADD, "", "vfio", NULL, NULL, "vfio\n");
	check_invalid("modules: name with a blank", OP_MODULES_ADD, "vfio pci", NULL, NULL);
	check_invalid("modules: name with a newline", OP_MODULES_ADD, "vfio\nnouveau", NULL, NULL);
	check_invalid("modules: empty name", OP_MODULES_REMOVE, "", NULL, NULL);
}

/* What systemd-modules-load looks up, on the real files that carry parameters or several names
 * (fixtures/modules/SOURCES.md); t0620 checks the same reader against the real binary. */
static void test_modules_systemd_reading(void)
{
	_cleanup_free_ char *ids = fixture_read("modules/real-vfio-pci-ids");
	_cleanup_free_ char *one = fixture_read("modules/real-vfio-one-line");
	_cleanup_free_ char *want = NULL;
	struct modfile_modules_line *v = NULL;
	struct modfile_error err = { 0 };
	char *out = NULL;
	size_t n = 0;

	if (!ids || !one)
		return;
	ok(modfile_modules_read(ids, &v, &n) == 0 && n == 3 && streq(v[2].name, "vfio_pci ids=10de:1b80,10de:10f0") &&
		   v[2].line == 8 && v[2].broken && !v[0].broken && streq(v[0].name, "vfio"),
	   "real-vfio-pci-ids: line 8 is the one name 'vfio_pci ids=10de:1b80,10de:10f0', broken");
	modfile_modules_lines_free(v, n);
	ok(modfile_modules_has(ids, "vfio_pci") == 2, "real-vfio-pci-ids: vfio_pci is named only on a broken line");
	if (asprintf(&want, "%svfio_pci\n", ids) > 0)
		check_edit("real-vfio-pci-ids: add vfio_pci puts it on a line of its own", OP_MODULES_ADD, ids,
			   "vfio_pci", NULL, NULL, want);
	free(want);
	want = NULL;
	ok(modfile_modules_read(one, &v, &n) == 0 && n == 4 && v[1].line == 6 && v[1].broken &&
		   streq(v[1].name, "vfio vfio_iommu_type1 vfio_pci ids=1002:731f,1002:ab38") && streq(v[0].name, "vendor-reset"),
	   "real-vfio-one-line: line 6 holds three names and a parameter, looked up as one");
	modfile_modules_lines_free(v, n);
	ok(modfile_modules_has(one, "vfio") == 2 && modfile_modules_has(one, "vfio_iommu_type1") == 2 &&
		   modfile_modules_has(one, "vendor_reset") == 1,
	   "real-vfio-one-line: vfio and vfio_iommu_type1 only on the broken line; vendor-reset loads");
	if (asprintf(&want, "%svfio\n", one) > 0)
		check_edit("real-vfio-one-line: add vfio appends it", OP_MODULES_ADD, one, "vfio", NULL, NULL, want);

	/* read_line() ends lines at '\r' too, and strstrip() strips only " \t\n\r" */
	ok(modfile_modules_read("loop\rvfio_pci\r\n \t;x\n\fvfio\n  a b  \n", &v, &n) == 0 && n == 4 &&
		   streq(v[0].name, "loop") && streq(v[1].name, "vfio_pci") && v[1].line == 1 &&
		   streq(v[2].name, "\fvfio") && v[2].line == 3 && streq(v[3].name, "a b") && v[3].broken,
	   "a lone CR ends a line; ';' comments; a form feed is part of the name; inner blanks make it broken");
	modfile_modules_lines_free(v, n);
	ok(modfile_modules_has("\fvfio\n", "vfio") == 0, "'\\fvfio' is not vfio for systemd");
	ok(modfile_modules_remove("loop\rvfio_pci\n", "vfio_pci", &out, &err) == -EBADMSG && err.line == 1,
	   "remove refuses a line a CR splits into vfio_pci and another module");
	free(out);
}

/* ---- modprobe.d: generic invariants on every fixture ---- */

static void test_modprobe_every_fixture(void)
{
	char **names = NULL;
	size_t n = fixture_list("modprobe.d", &names);

	ok(n >= 12, "fixtures/modprobe.d has the corpus (%zu files)", n);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *text = fixture_read(names[i]);

		if (!text)
			continue;
		check_roundtrip(names[i], text, OP_BLACKLIST_ADD, OP_BLACKLIST_REMOVE, "iommuctl-test", NULL,
				NULL, NULL, NULL);
		check_roundtrip(names[i], text, OP_OPTIONS_SET, OP_OPTIONS_REMOVE, "iommuctl_test",
				"ids=1234:1111 disable_vga=1", NULL, NULL, NULL);
		check_roundtrip(names[i], text, OP_SOFTDEP_ADD, OP_SOFTDEP_REMOVE, "iommuctl_test",
				"vfio-pci", "snd-hda-intel", NULL, NULL);
	}
	list_free(names, n);
}

static void test_blacklist(void)
{
	_cleanup_free_ char *bl = fixture_read("modprobe.d/blacklist.conf");
	_cleanup_free_ char *pve = fixture_read("modprobe.d/pve-blacklist.conf");
	_cleanup_free_ char *crlf = fixture_read("modprobe.d/crlf.conf");
	_cleanup_free_ char *messy = fixture_read("modprobe.d/zz-messy.conf");
	_cleanup_free_ char *cont = fixture_read("modprobe.d/vfio-continuation.conf");
	_cleanup_free_ char *want = NULL;

	if (!bl || !pve || !crlf || !messy || !cont)
		return;
	check_edit("guide blacklist: nouveau present", OP_BLACKLIST_ADD, bl, "nouveau", NULL, NULL, bl);
	if (asprintf(&want, "%sblacklist nouveau\n", pve) > 0)
		check_edit("pve-blacklist + nouveau", OP_BLACKLIST_ADD, pve, "nouveau", NULL, NULL, want);
	check_edit("guide blacklist: remove radeon", OP_BLACKLIST_REMOVE, bl, "radeon", NULL, NULL,
		   "blacklist nouveau\nblacklist nvidia\nblacklist nvidiafb\nblacklist amdgpu\n");
	check_edit("messy: snd_hda_codec_hdmi present as indented snd-hda-codec-hdmi", OP_BLACKLIST_ADD,
		   messy, "snd_hda_codec_hdmi", NULL, NULL, messy);
	check_edit("messy: 'blacklist i915 # the iGPU' counts", OP_BLACKLIST_ADD, messy, "i915", NULL, NULL,
		   messy);
	/* kmod reads "blacklist nouveau\r": that blacklists nothing, so the LF line is added */
	check_edit("crlf: kmod does not see nouveau, so it is added with LF", OP_BLACKLIST_ADD, crlf,
		   "nouveau", NULL, NULL,
		   "# edited on Windows\r\nblacklist nouveau\r\noptions nouveau modeset=0\r\n"
		   "softdep nouveau pre: vfio-pci\r\nblacklist nouveau\n");
	check_edit("crlf: remove drops the CRLF line too", OP_BLACKLIST_REMOVE, crlf, "nouveau", NULL, NULL,
		   "# edited on Windows\r\noptions nouveau modeset=0\r\nsoftdep nouveau pre: vfio-pci\r\n");
	free(want);
	want = NULL;
	if (asprintf(&want, "%sblacklist still-part-of-the-comment\n", cont) < 0)
		return;
	check_edit("continuation: a '\\' comment swallows the next line", OP_BLACKLIST_ADD, cont,
		   "still-part-of-the-comment", NULL, NULL, want);
	check_edit("continuation: remove a line continued onto a blank one", OP_BLACKLIST_REMOVE, cont,
		   "radeon", NULL, NULL,
		   "# VFIO binding for the GTX 1080 and its HDMI audio function\noptions vfio-pci \\\n"
		   "\tids=10de:1b80,10de:10f0 \\\n\tdisable_vga=1\nsoftdep snd_hda_intel pre: \\\n"
		   "    vfio-pci\n# a continued comment \\\nblacklist still-part-of-the-comment\n");
	check_refused("open continuation at EOF", OP_BLACKLIST_ADD, "blacklist a\noptions foo a=1 \\\n", "x",
		      NULL, NULL, 2, "continuation");
	check_refused("backslash at EOF", OP_BLACKLIST_ADD, "blacklist a\\", "x", NULL, NULL, 1,
		      "continuation");
	/* Found by fuzz-modprobe: deps appended to a softdep line that ends the file in a
	 * backslash were glued to it, and a second add then changed the text again. */
	check_refused("softdep extended at a backslash at EOF", OP_SOFTDEP_ADD,
		      "blacklist a\nsoftdep snd_hda_intel pre: \\\n  vfio-pci\\", "snd_hda_intel", "b", "c", 2,
		      "glued to the backslash");
	check_refused("options extended at a backslash at EOF", OP_OPTIONS_SET, "options vfio-pci ids=1:2\\",
		      "vfio-pci", "disable_vga=1", NULL, 1, "glued to the backslash");
	check_edit("no final newline: blacklist added without one", OP_BLACKLIST_ADD, "blacklist a", "b",
		   NULL, NULL, "blacklist a\nblacklist b");
	check_edit("no final newline: removing the last line", OP_BLACKLIST_REMOVE,
		   "blacklist a\nblacklist b", "b", NULL, NULL, "blacklist a");
	check_invalid("blacklist: odd characters", OP_BLACKLIST_ADD, "nouveau;rm", NULL, NULL);
	check_invalid("blacklist: glob", OP_BLACKLIST_ADD, "nvidia*", NULL, NULL);
}

static void test_options(void)
{
	_cleanup_free_ char *vfio = fixture_read("modprobe.d/vfio.conf");
	_cleanup_free_ char *cont = fixture_read("modprobe.d/vfio-continuation.conf");
	_cleanup_free_ char *messy = fixture_read("modprobe.d/zz-messy.conf");
	_cleanup_free_ char *nonl = fixture_read("modprobe.d/no-final-newline.conf");
	const char *two = "options snd-hda-intel power_save=1\n# tuned later:\noptions snd_hda_intel power_save=0 model=auto\n";

	if (!vfio || !cont || !messy || !nonl)
		return;
	check_edit("vfio.conf: same ids, nothing to do", OP_OPTIONS_SET, vfio, "vfio-pci",
		   "ids=10de:1b80,10de:10f0 disable_vga=1", NULL, vfio);
	check_edit("vfio.conf: key order of the intent does not matter", OP_OPTIONS_SET, vfio, "vfio_pci",
		   "disable-vga=1 ids=10de:1b80,10de:10f0", NULL, vfio);
	check_edit("vfio.conf: ids= replaces ids=, no duplicate", OP_OPTIONS_SET, vfio, "vfio-pci",
		   "ids=10de:2204,10de:1aef", NULL,
		   "options vfio-pci ids=10de:2204,10de:1aef disable_vga=1\nsoftdep nouveau pre: vfio-pci\n"
		   "softdep nvidia pre: vfio-pci\n");
	check_edit("vfio.conf: file's key spelling kept", OP_OPTIONS_SET, vfio, "vfio-pci", "disable-vga=0",
		   NULL,
		   "options vfio-pci ids=10de:1b80,10de:10f0 disable_vga=0\nsoftdep nouveau pre: vfio-pci\n"
		   "softdep nvidia pre: vfio-pci\n");
	check_edit("vfio.conf: new key appended to the line", OP_OPTIONS_SET, vfio, "vfio-pci",
		   "nointxmask=1", NULL,
		   "options vfio-pci ids=10de:1b80,10de:10f0 disable_vga=1 nointxmask=1\n"
		   "softdep nouveau pre: vfio-pci\nsoftdep nvidia pre: vfio-pci\n");
	check_edit("vfio.conf: quoted value equals the plain one", OP_OPTIONS_SET,
		   "options vfio-pci ids=\"10de:1b80\"\n", "vfio-pci", "ids=10de:1b80", NULL,
		   "options vfio-pci ids=\"10de:1b80\"\n");
	check_edit("vfio.conf: remove one key", OP_OPTIONS_REMOVE, vfio, "vfio-pci", "disable_vga", NULL,
		   "options vfio-pci ids=10de:1b80,10de:10f0\nsoftdep nouveau pre: vfio-pci\n"
		   "softdep nvidia pre: vfio-pci\n");
	check_edit("vfio.conf: remove every key drops the line", OP_OPTIONS_REMOVE, vfio, "vfio_pci",
		   "ids disable-vga", NULL, "softdep nouveau pre: vfio-pci\nsoftdep nvidia pre: vfio-pci\n");
	check_edit("vfio.conf: remove all options lines", OP_OPTIONS_REMOVE, vfio, "vfio-pci", NULL, NULL,
		   "softdep nouveau pre: vfio-pci\nsoftdep nvidia pre: vfio-pci\n");

	check_edit("continuation: value replaced in place, continuations kept", OP_OPTIONS_SET, cont,
		   "vfio-pci", "ids=1002:73bf,1002:ab28 x-vga=on", NULL,
		   "# VFIO binding for the GTX 1080 and its HDMI audio function\noptions vfio-pci \\\n"
		   "\tids=1002:73bf,1002:ab28 \\\n\tdisable_vga=1 x-vga=on\nsoftdep snd_hda_intel pre: \\\n"
		   "    vfio-pci\n# a continued comment \\\nblacklist still-part-of-the-comment\n"
		   "blacklist radeon\\\n\n");
	check_edit("continuation: drop the first key after the module", OP_OPTIONS_REMOVE, cont, "vfio-pci",
		   "ids", NULL,
		   "# VFIO binding for the GTX 1080 and its HDMI audio function\noptions vfio-pci \\\n"
		   "\tdisable_vga=1\nsoftdep snd_hda_intel pre: \\\n"
		   "    vfio-pci\n# a continued comment \\\nblacklist still-part-of-the-comment\n"
		   "blacklist radeon\\\n\n");

	/* several lines for one module: every occurrence follows, the last line grows */
	check_edit("two lines: every occurrence of the key set", OP_OPTIONS_SET, two, "snd_hda_intel",
		   "power_save=0", NULL,
		   "options snd-hda-intel power_save=0\n# tuned later:\noptions snd_hda_intel power_save=0 model=auto\n");
	check_edit("two lines: new key goes to the last line", OP_OPTIONS_SET, two, "snd-hda-intel",
		   "enable_msi=1", NULL,
		   "options snd-hda-intel power_save=1\n# tuned later:\n"
		   "options snd_hda_intel power_save=0 model=auto enable_msi=1\n");
	check_edit("two lines: remove a key from both", OP_OPTIONS_REMOVE, two, "snd-hda-intel", "power_save",
		   NULL, "# tuned later:\noptions snd_hda_intel model=auto\n");

	check_edit("no final newline: new options line without one", OP_OPTIONS_SET, nonl, "nouveau",
		   "modeset=0", NULL,
		   "blacklist snd_hda_codec_hdmi\noptions snd_hda_intel power_save=0\noptions nouveau modeset=0");
	check_edit("no final newline: change the last line in place", OP_OPTIONS_SET, nonl, "snd-hda-intel",
		   "power_save=1", NULL, "blacklist snd_hda_codec_hdmi\noptions snd_hda_intel power_save=1");
	check_edit("messy: flag parameter", OP_OPTIONS_SET, "options foo verbose\n", "foo", "verbose", NULL,
		   "options foo verbose\n");
	check_edit("messy: flag becomes a value", OP_OPTIONS_SET, "options foo verbose\n", "foo",
		   "verbose=2", NULL, "options foo verbose=2\n");

	check_refused("unterminated quote", OP_OPTIONS_SET, messy, "i915", "enable_guc=3", NULL, 13,
		      "unterminated double quote");
	check_refused("unterminated quote (remove a key)", OP_OPTIONS_REMOVE, messy, "i915", "enable_guc",
		      NULL, 13, "unterminated double quote");
	check_edit("unterminated quote: dropping the whole line is fine", OP_OPTIONS_REMOVE,
		   "options i915 enable_guc=\"3\nblacklist x\n", "i915", NULL, NULL, "blacklist x\n");
	check_refused("new options line after an open continuation", OP_OPTIONS_SET,
		      "blacklist a\nblacklist b \\\n", "vfio-pci", "ids=1:2", NULL, 2, "continuation");

	check_invalid("options: quote in value", OP_OPTIONS_SET, "vfio-pci", "ids=\"a b\"", NULL);
	check_invalid("options: backslash in value", OP_OPTIONS_SET, "vfio-pci", "ids=a\\", NULL);
	check_invalid("options: newline in value", OP_OPTIONS_SET, "vfio-pci", "ids=a\nblacklist", NULL);
	check_invalid("options: empty intent", OP_OPTIONS_SET, "vfio-pci", "", NULL);
	check_invalid("options: key twice", OP_OPTIONS_SET, "vfio-pci", "ids=1 ids=2", NULL);
	check_invalid("options: key twice, other spelling", OP_OPTIONS_SET, "x", "a_b=1 a-b=2", NULL);
	check_invalid("options: odd key", OP_OPTIONS_SET, "vfio-pci", "=1", NULL);
}

static void test_options_messy_value(void)
{
	_cleanup_free_ char *messy = fixture_read("modprobe.d/zz-messy.conf");
	_cleanup_free_ char *out = NULL;

	if (!messy)
		return;
	ok(modfile_set_options(messy, "snd_hda_intel", "probe_mask=8", &out, NULL) == 1 && out &&
		   strstr(out, "options snd-hda-intel\tenable_msi=1\tprobe_mask=8\n"),
	   "messy: tabs kept, only the value changed");
}

static void test_softdep(void)
{
	_cleanup_free_ char *vfio = fixture_read("modprobe.d/vfio.conf");
	_cleanup_free_ char *cont = fixture_read("modprobe.d/vfio-continuation.conf");
	_cleanup_free_ char *messy = fixture_read("modprobe.d/zz-messy.conf");
	const char *ab = "softdep a pre: b c post: d\n";

	if (!vfio || !cont || !messy)
		return;
	check_edit("vfio.conf: nouveau pre vfio-pci present", OP_SOFTDEP_ADD, vfio, "nouveau", "vfio_pci",
		   NULL, vfio);
	check_edit("vfio.conf: merge into the existing line", OP_SOFTDEP_ADD, vfio, "nouveau",
		   "vfio-pci snd-hda-intel", "nvidia-drm",
		   "options vfio-pci ids=10de:1b80,10de:10f0 disable_vga=1\n"
		   "softdep nouveau pre: vfio-pci snd-hda-intel post: nvidia-drm\n"
		   "softdep nvidia pre: vfio-pci\n");
	check_edit("vfio.conf: new module, new line", OP_SOFTDEP_ADD, vfio, "amdgpu", "vfio-pci", NULL,
		   "options vfio-pci ids=10de:1b80,10de:10f0 disable_vga=1\nsoftdep nouveau pre: vfio-pci\n"
		   "softdep nvidia pre: vfio-pci\nsoftdep amdgpu pre: vfio-pci\n");
	check_edit("move a dep from pre to post", OP_SOFTDEP_ADD, ab, "a", NULL, "c", "softdep a pre: b post: d c\n");
	check_edit("move the only post dep to pre", OP_SOFTDEP_ADD, "softdep a post: d\n", "a", "d", NULL,
		   "softdep a pre: d\n");
	check_edit("post deps stay post when 'pre:' is new", OP_SOFTDEP_ADD, "softdep a post: c x\n", "a",
		   "b c", "d", "softdep a post: x d pre: b c\n");
	check_edit("swap sides", OP_SOFTDEP_ADD, "softdep a pre: b post: c\n", "a", "c", "b",
		   "softdep a pre: c post: b\n");
	check_edit("remove one pre dep", OP_SOFTDEP_REMOVE, ab, "a", "b", NULL, "softdep a pre: c post: d\n");
	check_edit("remove every pre dep drops 'pre:'", OP_SOFTDEP_REMOVE, ab, "a", "b c", NULL,
		   "softdep a post: d\n");
	check_edit("remove every dep drops the line", OP_SOFTDEP_REMOVE, ab, "a", "b c", "d", "");
	check_edit("remove whole softdep lines", OP_SOFTDEP_REMOVE, vfio, "nvidia", NULL, NULL,
		   "options vfio-pci ids=10de:1b80,10de:10f0 disable_vga=1\nsoftdep nouveau pre: vfio-pci\n");
	check_edit("continuation: present across lines", OP_SOFTDEP_ADD, cont, "snd-hda-intel", "vfio-pci",
		   NULL, cont);
	check_edit("continuation: removing drops both physical lines", OP_SOFTDEP_REMOVE, cont,
		   "snd_hda_intel", "vfio-pci", NULL,
		   "# VFIO binding for the GTX 1080 and its HDMI audio function\noptions vfio-pci \\\n"
		   "\tids=10de:1b80,10de:10f0 \\\n\tdisable_vga=1\n# a continued comment \\\n"
		   "blacklist still-part-of-the-comment\nblacklist radeon\\\n\n");
	check_refused("glob softdep first", OP_SOFTDEP_ADD, messy, "nvidia-drm", "vfio-pci", NULL, 12,
		      "only the first matching softdep");
	check_refused("two blanks hide 'pre:' from kmod", OP_SOFTDEP_ADD, messy, "amdgpu", "vfio-pci", NULL,
		      11, "two blanks");
	check_invalid("softdep: nothing to add", OP_SOFTDEP_ADD, "nouveau", "", NULL);
	check_invalid("softdep: same dep on both sides", OP_SOFTDEP_ADD, "nouveau", "a", "a");
	check_invalid("softdep: odd dep name", OP_SOFTDEP_ADD, "nouveau", "vfio-pci;x", NULL);
}

/* ---- the set of files and the kernel command line ---- */

static struct modfile_config *config_of(const char *const *rel, size_t n, const char *cmdline,
					char **texts)
{
	struct modfile_source src[16];
	struct modfile_config *c = NULL;

	for (size_t i = 0; i < n && i < ARRAY_SIZE(src); i++) {
		texts[i] = fixture_read(rel[i]);
		src[i] = (struct modfile_source){ .name = rel[i], .text = texts[i] ? texts[i] : "" };
	}
	if (modfile_config_parse(src, n, cmdline, &c) < 0)
		return NULL;
	return c;
}

static void texts_free(char **texts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
}

static void check_entry(const struct modfile_entry *en, const char *source, unsigned line,
			const char *what)
{
	ok(en && !strcmp(en->source, source) && en->line == line, "%s: from %s:%u (got %s:%u)", what,
	   source, line, en ? en->source : "-", en ? en->line : 0);
}

static void check_param(const struct modfile_config *c, const char *m, const char *key,
			const char *want, const char *source, unsigned line)
{
	_cleanup_free_ char *v = NULL;
	const struct modfile_entry *en = NULL;
	int r = modfile_config_get_param(c, m, key, &v, &en);

	ok(r == 1, "%s.%s is set", m, key);
	is_str(v, want, "%s.%s value", m, key);
	check_entry(r == 1 ? en : NULL, source, line, key);
}

/* install lines: kmod runs the first one for a module, so ours takes its place. */
static void test_install(void)
{
	const char *cmd = "for d in 0000:01:00.0; do echo vfio-pci > /sys/bus/pci/devices/$d/driver_override; done";

	check_edit("install: appended", OP_INSTALL_SET, "# vfio\noptions vfio-pci ids=1234:1111\n", "vfio-pci", cmd,
		   NULL, "# vfio\noptions vfio-pci ids=1234:1111\ninstall vfio-pci for d in 0000:01:00.0; do echo "
		   "vfio-pci > /sys/bus/pci/devices/$d/driver_override; done\n");
	check_edit("install: replaces the first, drops later ones, keeps others", OP_INSTALL_SET,
		   "install vfio_pci /bin/true\n# keep\ninstall snd-hda-intel /bin/false\ninstall vfio-pci /bin/old\n",
		   "vfio-pci", "/sbin/new", NULL,
		   "install vfio-pci /sbin/new\n# keep\ninstall snd-hda-intel /bin/false\n");
	check_edit("install: a continued line is one line to kmod", OP_INSTALL_SET,
		   "install vfio-pci /bin/a \\\n  --b\nblacklist x\n", "vfio-pci", "/bin/c", NULL,
		   "install vfio-pci /bin/c\nblacklist x\n");
	check_edit("install: no final newline", OP_INSTALL_SET, "blacklist x", "vfio-pci", "/bin/c", NULL,
		   "blacklist x\ninstall vfio-pci /bin/c");
	check_edit("install: NULL removes", OP_INSTALL_SET, "install vfio-pci /bin/a\nblacklist x\n", "vfio-pci", NULL,
		   NULL, "blacklist x\n");
	check_edit("install: the same command is kept", OP_INSTALL_SET, "install vfio-pci /bin/c\n", "vfio-pci",
		   "/bin/c", NULL, "install vfio-pci /bin/c\n");
	check_invalid("install: a newline in the command", OP_INSTALL_SET, "vfio-pci", "a\nb", NULL);
	check_invalid("install: an empty command", OP_INSTALL_SET, "vfio-pci", "", NULL);
	check_invalid("install: a bad module name", OP_INSTALL_SET, "vfio pci", "/bin/c", NULL);
}

static void test_query_files(void)
{
	char **names = NULL, *texts[16] = {};
	size_t n = fixture_list("modprobe.d", &names);
	_cleanup_modfile_config_ struct modfile_config *c = NULL;
	_cleanup_free_ char *opts = NULL;
	const struct modfile_entry *en;

	c = config_of((const char *const *)names, n, NULL, texts);
	ok(c != NULL, "whole fixture dir parses");
	if (!c)
		goto out;
	check_entry(modfile_config_find_blacklist(c, "nouveau"), "modprobe.d/blacklist.conf", 1,
		    "nouveau blacklisted");
	check_entry(modfile_config_find_blacklist(c, "snd-hda-codec-hdmi"),
		    "modprobe.d/no-final-newline.conf", 1, "snd-hda-codec-hdmi blacklisted (as _)");
	check_entry(modfile_config_find_blacklist(c, "microcode"),
		    "modprobe.d/intel-microcode-blacklist.conf", 3, "microcode blacklisted");
	check_entry(modfile_config_find_blacklist(c, "radeon"), "modprobe.d/blacklist.conf", 4,
		    "radeon blacklisted");
	ok(!modfile_config_find_blacklist(c, "still-part-of-the-comment"),
	   "a line continued from a comment is a comment");
	ok(!modfile_config_find_blacklist(c, "vfio-pci"), "vfio-pci not blacklisted");

	ok(modfile_config_get_options(c, "vfio-pci", &opts) == 1, "vfio-pci has options");
	is_str(opts,
	       " ids=10de:1b80,10de:10f0  disable_vga=1 ids=10de:1b80,10de:10f0 disable_vga=1 "
	       "ids=1002:67df,1002:aaf0,",
	       "vfio-pci options joined as kmod joins them");
	check_param(c, "vfio_pci", "ids", "1002:67df,1002:aaf0,", "modprobe.d/zz-messy.conf", 9);
	check_param(c, "vfio_pci", "disable-vga", "1", "modprobe.d/vfio.conf", 1);
	check_param(c, "nouveau", "modeset", "0", "modprobe.d/nvidia-installer-disable-nouveau.conf", 3);

	en = modfile_config_find_softdep(c, "nouveau");
	check_entry(en, "modprobe.d/crlf.conf", 4, "nouveau softdep: the first one");
	ok(en && en->n_pre == 1 && !strcmp(en->pre[0], "vfio-pci") && en->n_post == 0,
	   "nouveau softdep: pre vfio-pci ('\\r' is a blank to kmod here)");
	en = modfile_config_find_softdep(c, "nvidia_drm");
	check_entry(en, "modprobe.d/zz-messy.conf", 12, "nvidia_drm softdep comes from 'nvidia*'");
	en = modfile_config_find_softdep(c, "amdgpu");
	ok(en && en->n_pre == 0 && en->n_post == 0, "amdgpu softdep: kmod sees no deps ('  pre:')");
	en = modfile_config_find_softdep(c, "snd_hda_intel");
	ok(en && en->n_pre == 1 && !strcmp(en->pre[0], "vfio-pci"), "continued softdep line read whole");
out:
	texts_free(texts, n);
	list_free(names, n);
}

/* The caller's pattern: a module blacklisted in another file is not added again. */
static void test_blacklisted_elsewhere(void)
{
	const char *const files[] = { "modprobe.d/nvidia-installer-disable-nouveau.conf",
				      "modprobe.d/pve-blacklist.conf" };
	char *texts[2] = {};
	_cleanup_modfile_config_ struct modfile_config *c = config_of(files, 2, NULL, texts);
	const char *wanted[] = { "nouveau", "nvidia", "nvidiafb" };
	_cleanup_strbuf_ struct strbuf ours = STRBUF_INIT;

	for (size_t i = 0; c && i < ARRAY_SIZE(wanted); i++) {
		_cleanup_free_ char *out = NULL;

		if (modfile_config_find_blacklist(c, wanted[i]))
			continue;
		if (modfile_add_blacklist(strbuf_str(&ours), wanted[i], &out, NULL) > 0) {
			strbuf_reset(&ours);
			strbuf_appends(&ours, out);
		}
	}
	is_str(strbuf_str(&ours), "blacklist nvidia\n",
	       "only nvidia is added: nouveau and nvidiafb are blacklisted in other files");
	texts_free(texts, 2);
}

static void test_query_cmdline(void)
{
	const char *const files[] = { "modprobe.d/vfio.conf" };
	char *texts[1] = {};
	_cleanup_modfile_config_ struct modfile_config *c = config_of(
		files, 1,
		"BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/mapper/pve-root ro quiet "
		"intel_iommu=on iommu=pt modprobe.blacklist=nouveau,vfio-pci,snd_hda_codec_hdmi "
		"vfio-pci.ids=10de:2204,10de:1aef nouveau.modeset=0 \"snd-hda-intel.model=a b\" "
		"kvm.ignore_msrs\n",
		texts);
	_cleanup_free_ char *opts = NULL, *dump = NULL;
	const struct modfile_entry *en;

	ok(c != NULL, "cmdline parses");
	if (!c)
		goto out;
	en = modfile_config_find_blacklist(c, "nouveau");
	ok(en && !strcmp(en->source, MODFILE_SOURCE_CMDLINE) && en->line == 0,
	   "modprobe.blacklist=nouveau counts as blacklisted, from the command line");
	ok(modfile_config_find_blacklist(c, "snd-hda-codec-hdmi") != NULL,
	   "modprobe.blacklist=snd_hda_codec_hdmi matches snd-hda-codec-hdmi");
	ok(!modfile_config_find_blacklist(c, "vfio_pci"),
	   "modprobe.blacklist=vfio-pci does not blacklist vfio_pci (kmod keeps the dash)");
	check_param(c, "vfio-pci", "ids", "10de:2204,10de:1aef", MODFILE_SOURCE_CMDLINE, 0);
	check_param(c, "vfio_pci", "disable_vga", "1", "modprobe.d/vfio.conf", 1);
	ok(modfile_config_get_options(c, "vfio_pci", &opts) == 1, "vfio_pci options");
	is_str(opts, "ids=10de:1b80,10de:10f0 disable_vga=1 ids=10de:2204,10de:1aef",
	       "files first, then the command line");
	check_param(c, "snd_hda_intel", "model", "a b", MODFILE_SOURCE_CMDLINE, 0);
	{
		_cleanup_free_ char *v = NULL;

		ok(modfile_config_get_param(c, "kvm", "ignore_msrs", &v, NULL) == 1 && !v,
		   "kvm.ignore_msrs is a bare flag");
		ok(modfile_config_get_param(c, "kvm", "report_ignored_msrs", &v, NULL) == 0,
		   "unset parameter");
	}
	ok(modfile_config_dump(c, &dump) == 0, "dump");
	is_str(dump,
	       "blacklist nouveau\nblacklist vfio-pci\nblacklist snd_hda_codec_hdmi\n"
	       "options vfio_pci ids=10de:1b80,10de:10f0 disable_vga=1\n"
	       "options vfio_pci ids=10de:2204,10de:1aef\noptions nouveau modeset=0\n"
	       "options snd_hda_intel model=\"a b\"\noptions kvm ignore_msrs\n"
	       "softdep nouveau pre: vfio-pci\nsoftdep nvidia pre: vfio-pci\n",
	       "dump in modprobe -c order (BOOT_IMAGE=..., root.. are no module options)");
out:
	texts_free(texts, 1);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		fixtures = argv[1];
	else if (getenv("IOMMUCTL_FIXTURES"))
		fixtures = getenv("IOMMUCTL_FIXTURES");
	test_modules_every_fixture();
	test_modules_specific();
	test_modules_systemd_reading();
	test_modprobe_every_fixture();
	test_blacklist();
	test_options();
	test_options_messy_value();
	test_softdep();
	test_install();
	test_query_files();
	test_blacklisted_elsewhere();
	test_query_cmdline();
	return tap_done();
}
