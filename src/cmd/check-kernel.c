/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check-kernel.c — `iommuctl check-kernel KVER`: the configuration on disk against a newly installed
 *  kernel's modules (libkmod over <root>/lib/modules/KVER), for the kernel hook zz-iommuctl.
 *  Owns: three checks — modules systemd-modules-load would not find, blacklisted modules that are
 *  built in, softdeps naming modules the kernel does not have — and their warnings with the fix.
 *  Must not: write anything, or fail because the journal or /boot cannot be read (it notes that
 *  and checks the files as they are: a kernel install must never stop on iommuctl). */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "kmods.h"
#include "managed.h"
#include "modfile.h"
#include "modload.h"
#include "strv.h"

#define MODPROBE_D "/etc/modprobe.d/"

struct warning {
	const char *id;		/* "missing-module", "builtin-blacklisted", "softdep-missing" */
	char *file;		/* as the user sees it */
	unsigned line;
	char *module;
	char *message;
	char *hint;
};

struct report {
	struct warning *v;
	size_t n;
	struct strv notes;	/* what could not be looked at */
};

static void report_clear(struct report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].file);
		free(r->v[i].module);
		free(r->v[i].message);
		free(r->v[i].hint);
	}
	free(r->v);
	strv_clear(&r->notes);
}

static int warn(struct report *r, const char *id, const char *file, unsigned line, const char *module, char *message,
		char *hint)
{
	struct warning *v = realloc(r->v, (r->n + 1) * sizeof(*v));

	if (!v || !message || !hint) {
		free(message);
		free(hint);
		return -ENOMEM;
	}
	r->v = v;
	v[r->n++] = (struct warning){ .id = id, .file = strdup(file), .line = line, .module = strdup(module),
				      .message = message, .hint = hint };
	return 0;
}

static char *fmt(const char *f, ...) _printf_(1, 2);
static char *fmt(const char *f, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static void note(struct report *r, char *text)
{
	if (text)
		strv_add(&r->notes, text);
	free(text);
}

/* What the journal says is in place: a line for the report, or a note why it cannot say. */
static void journal_context(struct ctx *ctx, struct report *r, char **ret_basis)
{
	_cleanup_(journal_closep) struct journal *j = NULL;
	struct error e = { 0 };
	struct txn_info t = { 0 };
	int64_t id = 0;
	int k;

	*ret_basis = NULL;
	k = ctx->journal_path ? journal_open(ctx->journal_path, JOURNAL_READONLY, &j, &e)
			      : journal_open_in_root(ctx->root, JOURNAL_READONLY, &j, &e);
	if (k == -ENOENT) {
		note(r, fmt("no journal: iommuctl has not recorded a change here; the files were checked as they are"));
		return;
	}
	if (k < 0) {
		note(r, fmt("the journal could not be read (%s); the files were checked as they are, without the "
			    "transaction that wrote them", e.text));
		return;
	}
	if (journal_last_undoable(j, &id, &e) < 0 || (id && journal_txn_get(j, id, &t, &e) < 0)) {
		note(r, fmt("the journal could not be read (%s); the files were checked as they are", e.text));
		return;
	}
	if (id)
		*ret_basis = fmt("transaction %" PRId64 " (%s%s%s, %s)", id, t.kind, t.profile ? " " : "",
				 t.profile ? t.profile : "", t.started_at);
	txn_info_clear(&t);
}

/* /boot is not needed for the checks; say when the kernel's image is not where it should be. */
static void boot_context(struct ctx *ctx, struct report *r, const char *kernel)
{
	_cleanup_free_ char *image = fmt("/boot/vmlinuz-%s", kernel);
	char shown[4096];
	int fd;

	if (!image)
		return;
	fd = rootfs_openat(ctx->root, image, O_RDONLY | O_CLOEXEC, 0, ROOTFS_LINKS_IN_ROOT);
	if (fd >= 0) {
		close(fd);
		return;
	}
	note(r, fmt("%s cannot be read (%s): /boot may not be mounted; the modules were checked, the boot files "
		    "were not (mount /boot and run `update-initramfs -u -k %s` if the install could not write them)",
		    rootfs_display(ctx->root, image, shown, sizeof(shown)), strerror(-fd), kernel));
}

static int warn_missing(struct report *r, struct kmods *km, const char *file, unsigned line, const char *name,
			bool systemd_reads)
{
	const char *kernel = kmods_kernel(km);
	int k = kmods_has_module(km, name);

	if (k != 0)	/* there, or not a module name libkmod takes: not this check's business */
		return 0;
	return warn(r, "missing-module", file, line, name,
		    fmt("%s:%u: kernel %s has no module %s (%s has neither %s.ko nor a built-in %s)%s", file, line,
			kernel, name, kmods_dir(km), name, name,
			systemd_reads ? "; systemd-modules-load will log \"Failed to find module\" for it at every boot "
					"of that kernel" : ""),
		    streq(name, "vfio_virqfd")
			    ? fmt("remove line %u (vfio_virqfd) from %s: since Linux 6.2 it is part of vfio, and on older "
				  "kernels vfio_pci loads it as a dependency (modules.dep of Debian's 6.1)", line, file)
			    : fmt("remove line %u (%s) from %s, or keep it only if an older kernel you still boot needs "
				  "it (the boot goes on either way)", line, name, file));
}

/* /etc/modules and modules-load.d as systemd-modules-load reads them; /etc/modules also where no
 * modules-load.d entry leads to it (a root without Debian's modules.conf link, the old kmod script). */
static int check_modules_load(struct ctx *ctx, struct kmods *km, struct report *r)
{
	_cleanup_modload_ struct modload *ml = NULL;
	struct modfile_modules_line *lines = NULL;
	struct file_state fs = { 0 };
	struct error e = { 0 };
	size_t n = 0;
	int k = 0;

	/* No command line: modules-load= on it is the boot entry's, not the new kernel's business. */
	if (modload_read(ctx->root, NULL, &ml, &e) < 0) {
		note(r, fmt("what systemd-modules-load reads could not be read (%s); /etc/modules was not checked", e.text));
		return 0;
	}
	/* Lines of several words load nothing on any kernel: `iommuctl scan` names those. */
	for (size_t i = 0; i < ml->n_lines && k >= 0; i++)
		if (!ml->lines[i].broken)
			k = warn_missing(r, km, ml->lines[i].file, ml->lines[i].line, ml->lines[i].name, true);
	if (k < 0 || ml->etc_modules_read)
		return k;
	if (rootfs_read_file(ctx->root, "/etc/modules", &fs, &e) < 0) {
		note(r, fmt("/etc/modules could not be read (%s)", e.text));
		return 0;
	}
	if (fs.present && modfile_modules_read(fs.data, &lines, &n) < 0)
		k = -ENOMEM;
	for (size_t i = 0; i < n && k >= 0; i++)
		if (!lines[i].broken)
			k = warn_missing(r, km, "/etc/modules", lines[i].line, lines[i].name, false);
	modfile_modules_lines_free(lines, n);
	file_state_clear(&fs);
	return k;
}

static int check_modprobe(struct ctx *ctx, struct kmods *km, struct report *r)
{
	_cleanup_modfile_config_ struct modfile_config *cfg = NULL;
	_cleanup_free_ struct modfile_source *src = NULL;
	struct managed_set set = { 0 };
	const char *kernel = kmods_kernel(km);
	size_t n = 0;
	int k = 0;

	if (managed_scan(ctx->root, &set, &ctx->err) < 0) {
		note(r, fmt("the modprobe.d files could not be read (%s); blacklists and softdeps were not checked",
			    ctx->err.text));
		return 0;
	}
	src = calloc(set.n + 1, sizeof(*src));
	if (!src) {
		managed_set_clear(&set);
		return -ENOMEM;
	}
	for (size_t i = 0; i < set.n; i++)
		if (strncmp(set.files[i].path, MODPROBE_D, strlen(MODPROBE_D)) == 0 &&
		    str_has_suffix(set.files[i].path, ".conf") && set.files[i].state.data)
			src[n++] = (struct modfile_source){ .name = set.files[i].path, .text = set.files[i].state.data };
	if (modfile_config_parse(src, n, NULL, &cfg) < 0) {
		managed_set_clear(&set);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_entries && k >= 0; i++) {
		const struct modfile_entry *x = &cfg->entries[i];

		if (x->kind == MODFILE_BLACKLIST && kmods_module_builtin(km, x->name) > 0)
			k = warn(r, "builtin-blacklisted", x->source, x->line, x->name,
				 fmt("%s:%u: %s is built into kernel %s (modules.builtin), so this blacklist cannot stop "
				     "it: it takes its devices at boot, before vfio-pci can", x->source, x->line, x->name,
				     kernel),
				 fmt("keep %s off with a kernel parameter instead: video=%s:off for a framebuffer, or "
				     "initcall_blacklist= with its init function (the kernel's admin-guide, "
				     "kernel-parameters), or boot a kernel that has %s as a module", x->name, x->name,
				     x->name));
		if (x->kind != MODFILE_SOFTDEP)
			continue;
		/* The module the softdep is for, then each it names before or after it. */
		for (size_t m = 0; m < 1 + x->n_pre + x->n_post && k >= 0; m++) {
			const char *name = m == 0 ? x->name : m <= x->n_pre ? x->pre[m - 1] : x->post[m - 1 - x->n_pre];

			if (kmods_has_module(km, name) != 0)
				continue;
			k = warn(r, "softdep-missing", x->source, x->line, name,
				 m == 0 ? fmt("%s:%u: softdep for %s, which kernel %s does not have: the line does nothing "
					      "there, and the device it was for may now be claimed by a driver of "
					      "another name", x->source, x->line, name, kernel)
					: fmt("%s:%u: the softdep of %s names %s, which kernel %s does not have, so it is "
					      "not loaded %s %s there", x->source, x->line, x->name, name, kernel,
					      m <= x->n_pre ? "before" : "after", x->name),
				 fmt("see which drivers would claim the device on %s with `iommuctl scan` after "
				     "booting it, or run `iommuctl plan gpu` (it finds them by modalias in every "
				     "installed kernel) and remove the line from %s if nothing needs it", kernel,
				     x->source));
		}
	}
	managed_set_clear(&set);
	return k;
}

static void print_text(const char *kernel, const char *basis, const struct report *r)
{
	for (size_t i = 0; i < r->notes.n; i++)
		printf("note: %s\n", r->notes.v[i]);
	for (size_t i = 0; i < r->n; i++)
		printf("warning: %s\n  fix: %s\n", r->v[i].message, r->v[i].hint);
	if (!r->n)
		printf("kernel %s: the configuration%s%s fits its modules\n", kernel, basis ? " of " : "",
		       basis ? basis : "");
	else
		printf("kernel %s: %zu warning(s) above for the configuration%s%s; the kernel is installed either way\n",
		       kernel, r->n, basis ? " of " : "", basis ? basis : "");
}

static void print_json(const char *kernel, const char *basis, const struct report *r)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array(), *notes = json_object_new_array();

	json_object_object_add(o, "kernel", json_object_new_string(kernel));
	json_object_object_add(o, "ok", json_object_new_boolean(r->n == 0));
	json_object_object_add(o, "basis", basis ? json_object_new_string(basis) : NULL);
	for (size_t i = 0; i < r->n; i++) {
		struct json_object *w = json_object_new_object();

		json_object_object_add(w, "id", json_object_new_string(r->v[i].id));
		json_object_object_add(w, "file", json_object_new_string(r->v[i].file));
		json_object_object_add(w, "line", json_object_new_int((int)r->v[i].line));
		json_object_object_add(w, "module", json_object_new_string(r->v[i].module));
		json_object_object_add(w, "message", json_object_new_string(r->v[i].message));
		json_object_object_add(w, "hint", json_object_new_string(r->v[i].hint));
		json_object_array_add(a, w);
	}
	json_object_object_add(o, "warnings", a);
	for (size_t i = 0; i < r->notes.n; i++)
		json_object_array_add(notes, json_object_new_string(r->notes.v[i]));
	json_object_object_add(o, "notes", notes);
	output_json(o);
	json_object_put(o);
}

static int run(struct ctx *ctx, const struct cmd_args *args)
{
	const char *kernel = args->argv[0];
	_cleanup_(kmods_freep) struct kmods *km = NULL;
	_cleanup_free_ char *basis = NULL;
	struct report r = { 0 };
	char **kernels = NULL;
	size_t n = 0;
	bool indexed = false;
	int k;

	if (!*kernel || strchr(kernel, '/') || streq(kernel, ".") || streq(kernel, "..")) {
		error_set(&ctx->err, EXIT_USAGE, "'%s' is not a kernel version; give it as `uname -r` prints it", kernel);
		return ctx_fail(ctx);
	}
	if (kmods_list_kernels(ctx->root, &kernels, &n, &ctx->err) < 0)
		return ctx_fail(ctx);
	for (size_t i = 0; i < n; i++) {
		indexed = indexed || streq(kernels[i], kernel);
		free(kernels[i]);
	}
	free(kernels);
	if (!indexed) {
		char shown[4096];
		_cleanup_free_ char *dir = fmt("/lib/modules/%s", kernel);

		error_set(&ctx->err, EXIT_IO, "cannot check kernel %s: %s has no modules.dep; run `depmod %s`, then "
			  "`iommuctl check-kernel %s` again", kernel,
			  rootfs_display(ctx->root, dir ? dir : "/lib/modules", shown, sizeof(shown)), kernel, kernel);
		return ctx_fail(ctx);
	}
	if (kmods_open(ctx->root, kernel, &km, &ctx->err) < 0)
		return ctx_fail(ctx);
	journal_context(ctx, &r, &basis);
	boot_context(ctx, &r, kernel);
	k = check_modules_load(ctx, km, &r);
	if (k >= 0)
		k = check_modprobe(ctx, km, &r);
	if (k < 0) {
		report_clear(&r);
		error_set(&ctx->err, EXIT_IO, "out of memory");
		return ctx_fail(ctx);
	}
	if (ctx->json)
		print_json(kernel, basis, &r);
	else
		print_text(kernel, basis, &r);
	k = r.n ? EXIT_CHECK_FAILED : 0;
	report_clear(&r);
	return k;
}

const struct cmd cmd_check_kernel = {
	.name = "check-kernel",
	.synopsis = "KVER",
	.summary = "check the configuration against a newly installed kernel's modules (the kernel hook)",
	.help = "Reads <root>/lib/modules/KVER with libkmod: modules that /etc/modules and modules-load.d\n"
		"name but the kernel lacks (vfio_virqfd from 6.2 on), blacklisted modules built into it (a\n"
		"blacklist cannot stop those), and softdeps naming modules it does not have. Prints each\n"
		"with its fix; exit 1 when there is one. Changes nothing; a journal or /boot that cannot be\n"
		"read is noted, not an error. /etc/kernel/postinst.d/zz-iommuctl runs it for every kernel\n"
		"installed and never fails the install.\n",
	.min_args = 1,
	.max_args = 1,
	.flags = 0,
	.run = run,
};
