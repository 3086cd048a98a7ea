/* SPDX-License-Identifier: GPL-2.0-or-later */
/* initramfs.c — list a Debian initramfs (concatenated cpio archives, the last compressed).
 *  Owns: listing an image's members through libarchive (dl.h). Must not: write
 *  anything or decide what an image must hold (verify does). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "dl.h"
#include "initramfs.h"
#include "macros.h"
#include "strbuf.h"

/* libarchive is loaded by initramfs_read(), the one entry point (dl.h says why). */
static typeof(archive_read_new) *sym_archive_read_new;
static typeof(archive_read_free) *sym_archive_read_free;
static typeof(archive_read_support_filter_all) *sym_archive_read_support_filter_all;
static typeof(archive_read_support_format_cpio) *sym_archive_read_support_format_cpio;
static typeof(archive_read_open_memory) *sym_archive_read_open_memory;
static typeof(archive_read_next_header) *sym_archive_read_next_header;
static typeof(archive_read_data) *sym_archive_read_data;
static typeof(archive_error_string) *sym_archive_error_string;
static typeof(archive_filter_bytes) *sym_archive_filter_bytes;
static typeof(archive_entry_pathname) *sym_archive_entry_pathname;
static typeof(archive_entry_size) *sym_archive_entry_size;
static typeof(archive_entry_filetype) *sym_archive_entry_filetype;

static const struct dl_symbol archive_symbols[] = {
	DL_SYMBOL(archive_read_new),
	DL_SYMBOL(archive_read_free),
	DL_SYMBOL(archive_read_support_filter_all),
	DL_SYMBOL(archive_read_support_format_cpio),
	DL_SYMBOL(archive_read_open_memory),
	DL_SYMBOL(archive_read_next_header),
	DL_SYMBOL(archive_read_data),
	DL_SYMBOL(archive_error_string),
	DL_SYMBOL(archive_filter_bytes),
	DL_SYMBOL(archive_entry_pathname),
	DL_SYMBOL(archive_entry_size),
	DL_SYMBOL(archive_entry_filetype),
};

static struct dl_library libarchive = {
	.soname = "libarchive.so.13",
	.package = "libarchive13",
	.symbols = archive_symbols,
	.n_symbols = ARRAY_SIZE(archive_symbols),
};

#define archive_read_new sym_archive_read_new
#define archive_read_free sym_archive_read_free
#define archive_read_support_filter_all sym_archive_read_support_filter_all
#define archive_read_support_format_cpio sym_archive_read_support_format_cpio
#define archive_read_open_memory sym_archive_read_open_memory
#define archive_read_next_header sym_archive_read_next_header
#define archive_read_data sym_archive_read_data
#define archive_error_string sym_archive_error_string
#define archive_filter_bytes sym_archive_filter_bytes
#define archive_entry_pathname sym_archive_entry_pathname
#define archive_entry_size sym_archive_entry_size
#define archive_entry_filetype sym_archive_entry_filetype

/* Images are tens of MB; more than this is not an initramfs. */
#define MAX_IMAGE (1024L * 1024 * 1024)

static int slurp(int fd, char **ret, size_t *ret_len)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	struct stat st;
	char buf[65536];
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size > MAX_IMAGE)
		return -EFBIG;
	if (strbuf_reserve(&sb, (size_t)st.st_size + 1) < 0)
		return -ENOMEM;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (strbuf_append(&sb, buf, (size_t)n) < 0)
			return -ENOMEM;
	}
	*ret_len = sb.len;
	*ret = sb.buf ? strbuf_steal(&sb) : strdup("");
	return *ret ? 0 : -ENOMEM;
}

static const char *strip_prefix(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	while (*p == '/')
		p++;
	return p;
}

static int add_entry(struct initramfs *ir, struct archive *a, struct archive_entry *ent)
{
	struct initramfs_entry *nv, *x;
	la_int64_t size = archive_entry_size(ent);

	if (!(nv = realloc(ir->v, (ir->n + 1) * sizeof(*nv))))
		return -ENOMEM;
	ir->v = nv;
	x = &nv[ir->n];
	*x = (struct initramfs_entry){ .path = strdup(strip_prefix(archive_entry_pathname(ent))),
				       .size = size > 0 ? (size_t)size : 0 };
	if (!x->path)
		return -ENOMEM;
	ir->n++;
	if (archive_entry_filetype(ent) != AE_IFREG || x->size > INITRAMFS_MAX_CONTENT)
		return 0;
	if (!(x->data = malloc(x->size + 1)))
		return -ENOMEM;
	if (archive_read_data(a, x->data, x->size) != (la_ssize_t)x->size) {
		free(x->data);
		x->data = NULL;
		return -EIO;
	}
	x->data[x->size] = '\0';
	return 0;
}

/* One member archive from data[*pos]; *pos moves past it. */
static int read_member(struct initramfs *ir, const char *data, size_t len, size_t *pos, struct strbuf *why)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	int r, k = 0;

	if (!a)
		return -ENOMEM;
	archive_read_support_filter_all(a);
	archive_read_support_format_cpio(a);
	r = archive_read_open_memory(a, data + *pos, len - *pos);
	while (r == ARCHIVE_OK && k == 0) {
		r = archive_read_next_header(a, &ent);
		if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
			r = ARCHIVE_OK;
			if (!streq(archive_entry_pathname(ent), "TRAILER!!!"))
				k = add_entry(ir, a, ent);
		}
	}
	if (k == 0 && r != ARCHIVE_EOF) {
		strbuf_appendf(why, "%s", archive_error_string(a) ? archive_error_string(a) : "unreadable");
		k = -EIO;
	}
	/* The compressed bytes this member used: the raw filter's count. */
	if (k == 0)
		*pos += (size_t)archive_filter_bytes(a, -1);
	archive_read_free(a);
	return k;
}

int initramfs_read(const struct rootfs *r, const char *path, struct initramfs *ret, struct error *e)
{
	_cleanup_strbuf_ struct strbuf why = STRBUF_INIT;
	_cleanup_close_ int fd = rootfs_openat(r, path, O_RDONLY | O_CLOEXEC, 0, ROOTFS_LINKS_IN_ROOT);
	_cleanup_free_ char *data = NULL;
	struct initramfs ir = { 0 };
	char shown[4096];
	size_t len = 0, pos = 0;
	int k;

	rootfs_display(r, path, shown, sizeof(shown));
	if (dl_load(&libarchive, e) < 0)
		return -ENOENT;
	if (fd < 0)
		return error_set(e, EXIT_IO, "%s: %s", shown, strerror(-fd)), fd;
	if ((k = slurp(fd, &data, &len)) < 0)
		return error_set(e, EXIT_IO, "%s: %s", shown, strerror(-k)), k;
	while (pos < len) {
		/* Members are padded to 512 bytes (or 4) with zeros. */
		while (pos < len && data[pos] == '\0')
			pos++;
		if (pos >= len)
			break;
		size_t before = pos;
		if ((k = read_member(&ir, data, len, &pos, &why)) < 0)
			break;
		ir.archives++;
		if (pos <= before)
			break;	/* no progress: trailing garbage libarchive read as empty */
	}
	if (k == 0 && ir.archives == 0)
		k = -EINVAL, strbuf_appends(&why, "no cpio archive in it");
	if (k < 0) {
		error_set(e, EXIT_IO, "%s: not a readable initramfs (%s)", shown,
			  k == -ENOMEM ? "out of memory" : strbuf_str(&why));
		initramfs_clear(&ir);
		return k;
	}
	*ret = ir;
	return 0;
}

void initramfs_clear(struct initramfs *ir)
{
	for (size_t i = 0; i < ir->n; i++) {
		free(ir->v[i].path);
		free(ir->v[i].data);
	}
	free(ir->v);
	memset(ir, 0, sizeof(*ir));
}

const struct initramfs_entry *initramfs_find(const struct initramfs *ir, const char *path)
{
	path = strip_prefix(path);
	for (size_t i = 0; i < ir->n; i++)
		if (streq(ir->v[i].path, path))
			return &ir->v[i];
	return NULL;
}

static bool module_file_is(const char *base, const char *module)
{
	static const char *const exts[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };
	size_t n = strlen(module);

	for (size_t i = 0; i < n; i++)
		if (!base[i] || (base[i] != module[i] && !((base[i] == '-' || base[i] == '_') &&
							   (module[i] == '-' || module[i] == '_'))))
			return false;
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++)
		if (streq(base + n, exts[i]))
			return true;
	return false;
}

const struct initramfs_entry *initramfs_find_module(const struct initramfs *ir, const char *module)
{
	for (size_t i = 0; i < ir->n; i++) {
		const char *p = ir->v[i].path, *base = strrchr(p, '/');

		if (strncmp(p, "lib/modules/", 12) && strncmp(p, "usr/lib/modules/", 16))
			continue;
		if (module_file_is(base ? base + 1 : p, module))
			return &ir->v[i];
	}
	return NULL;
}
