/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kmods.c — libkmod contexts over the module trees of a root, reached without leaving the root.
 *  Owns: kmods_*: listing kernels, opening their indexes, aliases, builtins, parameters.
 *  Must not: know devices or profiles; open paths outside rootfs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libkmod.h>

#include "dl.h"
#include "kmods.h"
#include "macros.h"
#include "rootfs.h"
#include "util.h"

/* libkmod is loaded by kmods_open() (dl.h says why); every call below goes
 * through these pointers, kmod_list_foreach's kmod_list_next included. */
static typeof(kmod_new) *sym_kmod_new;
static typeof(kmod_unref) *sym_kmod_unref;
static typeof(kmod_set_log_fn) *sym_kmod_set_log_fn;
static typeof(kmod_load_resources) *sym_kmod_load_resources;
static typeof(kmod_list_next) *sym_kmod_list_next;
static typeof(kmod_module_new_from_lookup) *sym_kmod_module_new_from_lookup;
static typeof(kmod_module_new_from_name) *sym_kmod_module_new_from_name;
static typeof(kmod_module_new_from_name_lookup) *sym_kmod_module_new_from_name_lookup;
static typeof(kmod_module_unref) *sym_kmod_module_unref;
static typeof(kmod_module_unref_list) *sym_kmod_module_unref_list;
static typeof(kmod_module_get_name) *sym_kmod_module_get_name;
static typeof(kmod_module_get_module) *sym_kmod_module_get_module;
static typeof(kmod_module_apply_filter) *sym_kmod_module_apply_filter;
static typeof(kmod_module_get_info) *sym_kmod_module_get_info;
static typeof(kmod_module_info_get_key) *sym_kmod_module_info_get_key;
static typeof(kmod_module_info_get_value) *sym_kmod_module_info_get_value;
static typeof(kmod_module_info_free_list) *sym_kmod_module_info_free_list;
static typeof(kmod_module_get_initstate) *sym_kmod_module_get_initstate;

static const struct dl_symbol kmod_symbols[] = {
	DL_SYMBOL(kmod_new),
	DL_SYMBOL(kmod_unref),
	DL_SYMBOL(kmod_set_log_fn),
	DL_SYMBOL(kmod_load_resources),
	DL_SYMBOL(kmod_list_next),
	DL_SYMBOL(kmod_module_new_from_lookup),
	DL_SYMBOL(kmod_module_new_from_name),
	DL_SYMBOL(kmod_module_new_from_name_lookup),
	DL_SYMBOL(kmod_module_unref),
	DL_SYMBOL(kmod_module_unref_list),
	DL_SYMBOL(kmod_module_get_name),
	DL_SYMBOL(kmod_module_get_module),
	DL_SYMBOL(kmod_module_apply_filter),
	DL_SYMBOL(kmod_module_get_info),
	DL_SYMBOL(kmod_module_info_get_key),
	DL_SYMBOL(kmod_module_info_get_value),
	DL_SYMBOL(kmod_module_info_free_list),
	DL_SYMBOL(kmod_module_get_initstate),
};

static struct dl_library libkmod = {
	.soname = "libkmod.so.2",
	.package = "libkmod2",
	.symbols = kmod_symbols,
	.n_symbols = ARRAY_SIZE(kmod_symbols),
};

#define kmod_new sym_kmod_new
#define kmod_unref sym_kmod_unref
#define kmod_set_log_fn sym_kmod_set_log_fn
#define kmod_load_resources sym_kmod_load_resources
#define kmod_list_next sym_kmod_list_next
#define kmod_module_new_from_lookup sym_kmod_module_new_from_lookup
#define kmod_module_new_from_name sym_kmod_module_new_from_name
#define kmod_module_new_from_name_lookup sym_kmod_module_new_from_name_lookup
#define kmod_module_unref sym_kmod_module_unref
#define kmod_module_unref_list sym_kmod_module_unref_list
#define kmod_module_get_name sym_kmod_module_get_name
#define kmod_module_get_module sym_kmod_module_get_module
#define kmod_module_apply_filter sym_kmod_module_apply_filter
#define kmod_module_get_info sym_kmod_module_get_info
#define kmod_module_info_get_key sym_kmod_module_info_get_key
#define kmod_module_info_get_value sym_kmod_module_info_get_value
#define kmod_module_info_free_list sym_kmod_module_info_free_list
#define kmod_module_get_initstate sym_kmod_module_get_initstate

/*
 * libkmod only takes path names. A path such as "<root>/lib/modules/KVER"
 * would be resolved by the host: on Debian 12, /lib is a symlink to usr/lib
 * that must resolve inside the root, and any symlink in the root could point
 * libkmod at the host's tree. So every directory is opened below the root
 * with openat2 (RESOLVE_IN_ROOT) and libkmod is handed "/proc/self/fd/N" for
 * it: the kernel follows that to exactly the directory we opened, for as
 * long as we hold N, whatever happens to the names meanwhile. (readlink of
 * the same link would give a name that can be swapped under us again.)
 */

/* libkmod's default configuration directories (kmod 30), taken inside the root. */
static const char *const config_dirs[] = {
	"/etc/modprobe.d",
	"/run/modprobe.d",
	"/usr/local/lib/modprobe.d",
	"/lib/modprobe.d",
};

struct kmods {
	struct kmod_ctx *ctx;
	int dirfd;		/* <root>/lib/modules/KVER; libkmod opens its indexes lazily through it */
	char *kernel;
	char *dir;		/* <root>/lib/modules/KVER as the user wrote the root, for messages */
};

#define MODULE_NAME_MAX 64	/* MODULE_NAME_LEN of the kernel, NUL included */

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static inline void kmod_module_unref_listp(struct kmod_list **l)
{
	kmod_module_unref_list(*l);
}

static int cmp_version(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

static bool is_regular_at(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* A kernel directory counts once depmod has been run in it. A symlinked entry
 * is skipped: it would name a kernel twice, or lead somewhere we do not look. */
static bool is_indexed_kernel_dir(int modules_fd, const char *name)
{
	_cleanup_close_ int fd = -1;

	fd = openat(modules_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	return is_regular_at(fd, "modules.dep.bin") || is_regular_at(fd, "modules.dep");
}

int kmods_list_kernels(const struct rootfs *r, char ***ret, size_t *ret_n, struct error *e)
{
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_close_ int fd = -1;
	char **names = NULL;
	size_t n = 0;
	char shown[PATH_MAX];
	struct dirent *de;
	int k = 0;

	fd = rootfs_openat(r, "/lib/modules", O_RDONLY | O_DIRECTORY, 0, ROOTFS_LINKS_IN_ROOT);
	if (fd == -ENOENT) {
		/* A root without kernels (a container, a bare test tree) is not an error. */
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (fd < 0)
		return error_set(e, EXIT_IO, "cannot open %s: %s",
				 rootfs_display(r, "/lib/modules", shown, sizeof(shown)), strerror(-fd)), fd;
	d = fdopendir(fd);
	if (!d)
		return -ENOMEM;
	fd = -1;	/* the DIR owns it now */

	while ((errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!is_indexed_kernel_dir(dirfd(d), de->d_name))
			continue;
		k = strv_push(&names, &n, de->d_name);
		if (k < 0)
			break;
	}
	if (k == 0 && errno) {
		k = negative_errno();
		error_set(e, EXIT_IO, "cannot list %s: %s",
			  rootfs_display(r, "/lib/modules", shown, sizeof(shown)), strerror(-k));
	}
	if (k < 0) {
		strv_free(names, n);
		return k;
	}
	if (n > 1)
		qsort(names, n, sizeof(char *), cmp_version);
	*ret = names;
	*ret_n = n;
	return 0;
}

/* libkmod reports to stderr by default; library code here never prints. What
 * it would say (a bad modprobe.d line) the modfile reader reports itself. */
static void log_quiet(void *data _unused_, int priority _unused_, const char *file _unused_,
		      int line _unused_, const char *fn _unused_, const char *format _unused_,
		      va_list args _unused_)
{
}

/*
 * kmod_new() parses the configuration at once and reports bad lines with its
 * default logger (stderr, naming our /proc/self/fd path) before a log function
 * can be set. The only earlier switch is the KMOD_LOG variable it reads first:
 * set it to 0 (nothing) around the call. Someone who sets KMOD_LOG (to debug)
 * gets libkmod's own logging untouched, before and after.
 */
static struct kmod_ctx *kmod_new_quiet(const char *dirname, const char *const *config_paths)
{
	struct kmod_ctx *ctx;

	if (getenv("KMOD_LOG"))
		return kmod_new(dirname, config_paths);
	if (setenv("KMOD_LOG", "0", 1) < 0)
		return NULL;
	ctx = kmod_new(dirname, config_paths);
	unsetenv("KMOD_LOG");
	if (ctx)
		kmod_set_log_fn(ctx, log_quiet, NULL);
	return ctx;
}

static bool kernel_name_valid(const char *s)
{
	return s && *s && !strchr(s, '/') && !streq(s, ".") && !streq(s, "..");
}

/* "/proc/self/fd/N" for fd, after checking that it really leads to the directory
 * fd refers to: without procfs (a bare chroot) libkmod would see nothing there and
 * report every module missing. */
static int fd_path(int fd, char *buf, size_t size)
{
	struct stat a, b;

	snprintf(buf, size, "/proc/self/fd/%d", fd);
	if (fstat(fd, &a) < 0)
		return negative_errno();
	if (stat(buf, &b) < 0)
		return negative_errno();
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return -EXDEV;
	return 0;
}

void kmods_free(struct kmods *k)
{
	if (!k)
		return;
	kmod_unref(k->ctx);
	if (k->dirfd >= 0)
		close(k->dirfd);
	free(k->kernel);
	free(k->dir);
	free(k);
}

const char *kmods_kernel(const struct kmods *k)
{
	return k->kernel;
}

const char *kmods_dir(const struct kmods *k)
{
	return k->dir;
}

/* Open the root's modprobe.d directories that exist; their fds stay open until
 * kmod_new() has read them (it parses the configuration at once). */
static int open_config_dirs(const struct rootfs *r, int fds[], char paths[][32], const char *ptrs[],
			    struct error *e)
{
	char shown[PATH_MAX];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(config_dirs); i++) {
		int fd = rootfs_openat(r, config_dirs[i], O_RDONLY | O_DIRECTORY, 0, ROOTFS_LINKS_IN_ROOT);
		int k;

		if (fd == -ENOENT || fd == -ENOTDIR)
			continue;
		if (fd < 0)
			return error_set(e, EXIT_IO, "cannot open %s: %s",
					 rootfs_display(r, config_dirs[i], shown, sizeof(shown)),
					 strerror(-fd)), fd;
		fds[n] = fd;
		k = fd_path(fd, paths[n], sizeof(paths[n]));
		if (k < 0)
			return error_set(e, EXIT_IO, "cannot reach %s through /proc/self/fd: %s; is /proc mounted?",
					 rootfs_display(r, config_dirs[i], shown, sizeof(shown)),
					 strerror(-k)), k;
		ptrs[n] = paths[n];
		n++;
	}
	/* An empty list, not NULL: NULL would make libkmod read the host's directories. */
	ptrs[n] = NULL;
	return 0;
}

int kmods_open(const struct rootfs *r, const char *kernel, struct kmods **ret, struct error *e)
{
	_cleanup_(kmods_freep) struct kmods *k = NULL;
	int conf_fds[ARRAY_SIZE(config_dirs)];
	char conf_paths[ARRAY_SIZE(config_dirs)][32];
	const char *conf_ptrs[ARRAY_SIZE(config_dirs) + 1];
	char path[PATH_MAX], shown[PATH_MAX], dir_path[32];
	int fd, rc;

	if (!kernel_name_valid(kernel))
		return error_set(e, EXIT_BAD_INPUT, "'%s' is not a kernel version: name a directory of %s",
				 kernel ? kernel : "", rootfs_display(r, "/lib/modules", shown, sizeof(shown))),
		       -EINVAL;
	if (dl_load(&libkmod, e) < 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "/lib/modules/%s", kernel);
	rootfs_display(r, path, shown, sizeof(shown));

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->dirfd = -1;
	if (!(k->kernel = strdup(kernel)) || !(k->dir = strdup(shown)))
		return -ENOMEM;

	fd = rootfs_openat(r, path, O_RDONLY | O_DIRECTORY, 0, ROOTFS_LINKS_IN_ROOT);
	if (fd == -ENOENT)
		return error_set(e, EXIT_BAD_INPUT, "kernel %s is not installed: %s does not exist",
				 kernel, shown), fd;
	if (fd < 0)
		return error_set(e, EXIT_IO, "cannot open %s: %s", shown, strerror(-fd)), fd;
	k->dirfd = fd;

	/* libkmod 30 finds modules only through the binary index; without it every
	 * lookup would quietly say "no such module". */
	if (!is_regular_at(k->dirfd, "modules.dep.bin"))
		return error_set(e, EXIT_IO, "%s has no modules.dep.bin: run 'depmod %s' in that root",
				 shown, kernel), -ENOENT;

	rc = fd_path(k->dirfd, dir_path, sizeof(dir_path));
	if (rc < 0)
		return error_set(e, EXIT_IO, "cannot reach %s through /proc/self/fd: %s; is /proc mounted?",
				 shown, strerror(-rc)), rc;

	for (size_t i = 0; i < ARRAY_SIZE(conf_fds); i++)
		conf_fds[i] = -1;
	rc = open_config_dirs(r, conf_fds, conf_paths, conf_ptrs, e);
	if (rc == 0) {
		k->ctx = kmod_new_quiet(dir_path, conf_ptrs);
		if (!k->ctx) {
			error_set(e, EXIT_IO, "cannot read the module tree %s (libkmod)", shown);
			rc = -ENOMEM;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(conf_fds); i++)
		if (conf_fds[i] >= 0)
			close(conf_fds[i]);
	if (rc < 0)
		return rc;
	/* Map every index once instead of opening one per lookup. It fails when an
	 * optional index is missing (older depmod: no modules.builtin.alias.bin);
	 * lookups then open what exists on demand, so that is not an error. */
	(void)kmod_load_resources(k->ctx);

	*ret = TAKE_PTR(k);
	return 0;
}

/* The kernel's own spelling: '-' becomes '_'. Returns false for what cannot be a module name. */
static bool module_name_normalize(const char *name, char out[MODULE_NAME_MAX])
{
	size_t i;

	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (i + 1 >= MODULE_NAME_MAX)
			return false;
		if (c == '-')
			c = '_';
		else if (!(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
		out[i] = c;
	}
	out[i] = '\0';
	return i > 0;
}

int kmods_has_module(struct kmods *k, const char *name)
{
	char norm[MODULE_NAME_MAX];
	struct kmod_module *mod = NULL;
	int rc;

	if (!name || !module_name_normalize(name, norm))
		return -EINVAL;
	/* Looks in modules.dep, then modules.builtin; never in aliases or config. */
	rc = kmod_module_new_from_name_lookup(k->ctx, norm, &mod);
	if (rc < 0)
		return rc;
	if (!mod)
		return 0;
	/* The last index it consults (modules.builtin.alias.bin) maps aliases of
	 * built-in modules: only an exact name is the module itself. */
	rc = streq(kmod_module_get_name(mod), norm);
	kmod_module_unref(mod);
	return rc;
}

int kmods_module_builtin(struct kmods *k, const char *name)
{
	char norm[MODULE_NAME_MAX];
	struct kmod_module *mod = NULL;
	int rc;

	rc = kmods_has_module(k, name);
	if (rc <= 0)
		return rc;
	if (!module_name_normalize(name, norm) || (rc = kmod_module_new_from_name(k->ctx, norm, &mod)) < 0)
		return rc < 0 ? rc : -EINVAL;
	/* libkmod 30 answers KMOD_MODULE_BUILTIN from the context's own modules.builtin index (the
	 * tree of k, not the running kernel) before it looks at /sys/module. */
	rc = kmod_module_get_initstate(mod) == KMOD_MODULE_BUILTIN;
	kmod_module_unref(mod);
	return rc;
}

int kmods_module_has_param(struct kmods *k, const char *module, const char *param)
{
	char norm[MODULE_NAME_MAX], want[MODULE_NAME_MAX];
	struct kmod_module *mod = NULL;
	struct kmod_list *info = NULL, *it;
	int rc, found = 0;

	if (!module_name_normalize(module, norm) || !module_name_normalize(param, want))
		return -EINVAL;
	rc = kmods_has_module(k, norm);
	if (rc <= 0)
		return rc < 0 ? rc : -ENOENT;
	if ((rc = kmod_module_new_from_name(k->ctx, norm, &mod)) < 0)
		return rc;
	/* modinfo of the .ko file, or of modules.builtin.modinfo for a built-in module. A .ko that
	 * is listed but cannot be read leaves the answer unknown, not "no such module". */
	rc = kmod_module_get_info(mod, &info);
	kmod_module_unref(mod);
	if (rc < 0)
		return rc == -ENOENT ? -EIO : rc;
	kmod_list_foreach(it, info) {
		const char *key = kmod_module_info_get_key(it), *value = kmod_module_info_get_value(it);
		size_t n = value ? strcspn(value, ":") : 0;
		char head[MODULE_NAME_MAX], got[MODULE_NAME_MAX];

		if (!key || !value || !streq(key, "parm") || n >= sizeof(head))
			continue;
		/* "name:description"; the kernel compares names with '-' and '_' alike. */
		memcpy(head, value, n);
		head[n] = '\0';
		if (!module_name_normalize(head, got) || !streq(got, want))
			continue;
		found = 1;
		break;
	}
	kmod_module_info_free_list(info);
	return found;
}

static bool list_has_module(const struct kmod_list *list, const struct kmod_module *mod)
{
	const struct kmod_list *it;

	bool found = false;

	/* libkmod keeps one object per module name in a context, so identity will do. */
	kmod_list_foreach(it, list) {
		struct kmod_module *m = kmod_module_get_module(it);

		found = m == mod;
		kmod_module_unref(m);
		if (found)
			break;
	}
	return found;
}

int kmods_resolve_alias(struct kmods *k, const char *modalias, char ***ret_modules, size_t *ret_n,
			bool **ret_blacklisted)
{
	_cleanup_(kmod_module_unref_listp) struct kmod_list *all = NULL;
	_cleanup_(kmod_module_unref_listp) struct kmod_list *allowed = NULL;
	_cleanup_free_ bool *black = NULL;
	struct kmod_list *it;
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (!modalias || !*modalias)
		return -EINVAL;
	/* The lookup modprobe does: config aliases first, then the module indexes. */
	rc = kmod_module_new_from_lookup(k->ctx, modalias, &all);
	if (rc < 0)
		return rc;
	/* What udev's `modprobe -b` would keep: blacklist applies to alias lookups. */
	rc = kmod_module_apply_filter(k->ctx, KMOD_FILTER_BLACKLIST, all, &allowed);
	if (rc < 0)
		return rc;

	kmod_list_foreach(it, all) {
		struct kmod_module *mod = kmod_module_get_module(it);
		const char *name = kmod_module_get_name(mod);
		bool *nb;

		/* One module can answer to several of the patterns that match. */
		if (strv_array_contains(names, n, name)) {
			kmod_module_unref(mod);
			continue;
		}
		nb = realloc(black, (n + 1) * sizeof(*black));
		if (!nb)
			rc = -ENOMEM;
		else {
			black = nb;
			black[n] = !list_has_module(allowed, mod);
			rc = strv_push(&names, &n, name);
		}
		kmod_module_unref(mod);
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		strv_free(names, n);
		return rc;
	}
	*ret_modules = names;
	*ret_n = n;
	if (ret_blacklisted)
		*ret_blacklisted = TAKE_PTR(black);
	return 0;
}
