/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rootfs.c — confined file access below --root: openat2(RESOLVE_IN_ROOT) from one root fd.
 *  Owns: every open of a path under --root (the only openat2 caller; SQLite opens the journal
 *  by the name journal-open.c reads back from a directory fd opened here), reading, listing and
 *  atomically replacing files there, and struct file_state. Must not: know which files are
 *  managed or what they mean, talk to the journal, or open by name anything but the root itself. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rootfs.h"
#include "strbuf.h"

#define TEMP_SUFFIX ".iommuctl-new"

void file_state_clear(struct file_state *fs)
{
	free(fs->data);
	memset(fs, 0, sizeof(*fs));
}

bool file_state_equal(const struct file_state *a, const struct file_state *b)
{
	if (a->present != b->present)
		return false;
	if (!a->present)
		return true;
	return streq(a->hash, b->hash) && a->mode == b->mode && a->uid == b->uid && a->gid == b->gid;
}

int file_state_copy(struct file_state *dst, const struct file_state *src)
{
	*dst = *src;
	dst->data = NULL;
	if (src->data) {
		dst->data = malloc(src->len + 1);
		if (!dst->data)
			return -ENOMEM;
		memcpy(dst->data, src->data, src->len);
		dst->data[src->len] = '\0';
	}
	return 0;
}

void file_state_set_content(struct file_state *fs, char *data, size_t len)
{
	free(fs->data);
	fs->data = data;
	fs->len = len;
	fs->present = true;
	sha256_hex(data ? data : "", len, fs->hash);
}

int rootfs_open(const char *path, struct rootfs **ret, struct error *e)
{
	struct rootfs *r;
	struct stat st;
	int fd;

	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return error_set(e, errno == ENOENT || errno == ENOTDIR ? EXIT_USAGE : EXIT_IO,
				 "cannot open root directory '%s': %s; pass an existing directory to --root",
				 path, strerror(errno)), negative_errno();
	if (fstat(fd, &st) < 0) {
		int r0 = negative_errno();
		close(fd);
		return r0;
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->path = strdup(path))) {
		free(r);
		close(fd);
		return -ENOMEM;
	}
	r->fd = fd;
	*ret = r;
	return 0;
}

void rootfs_free(struct rootfs *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r->path);
	free(r);
}

const char *rootfs_display(const struct rootfs *r, const char *path, char *buf, size_t size)
{
	const char *root = r ? r->path : "/";
	size_t lr = strlen(root);

	while (lr > 1 && root[lr - 1] == '/')
		lr--;
	if (lr == 1 && root[0] == '/')
		snprintf(buf, size, "%s", path);
	else
		snprintf(buf, size, "%.*s%s", (int)lr, root, path);
	return buf;
}

int rootfs_openat(const struct rootfs *r, const char *path, int flags, mode_t mode, enum rootfs_links links)
{
	struct open_how how = {
		.flags = (unsigned)flags | O_CLOEXEC,
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (links == ROOTFS_NO_LINKS)
		how.resolve |= RESOLVE_NO_SYMLINKS;
	fd = syscall(SYS_openat2, r->fd, path, &how, sizeof(how));
	return fd < 0 ? negative_errno() : (int)fd;
}

int rootfs_stat(const struct rootfs *r, const char *path, struct stat *ret)
{
	int fd = rootfs_openat(r, path, O_PATH, 0, ROOTFS_LINKS_IN_ROOT), k = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, ret) < 0)
		k = negative_errno();
	close(fd);
	return k;
}

/* Read everything from fd; the result is NUL-terminated for the editors' convenience. */
static int read_all(int fd, char **ret, size_t *ret_len)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	char buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		if (strbuf_append(&sb, buf, (size_t)n) < 0)
			return -ENOMEM;
	}
	*ret_len = sb.len;
	*ret = strbuf_steal(&sb);
	return *ret ? 0 : -ENOMEM;
}

static int link_refusal(const struct rootfs *r, const char *path, struct error *e)
{
	char shown[4096];

	error_set(e, EXIT_BAD_INPUT,
		  "%s is a symbolic link or lies below one; iommuctl never follows links in "
		  "managed paths. Replace the link with the file or directory it points to, then run the command again",
		  rootfs_display(r, path, shown, sizeof(shown)));
	return -ELOOP;
}

int rootfs_read_file(const struct rootfs *r, const char *path, struct file_state *ret, struct error *e)
{
	_cleanup_close_ int fd = -1;
	char shown[4096];
	struct stat st;
	char *data;
	size_t len;
	int k;

	memset(ret, 0, sizeof(*ret));
	fd = rootfs_openat(r, path, O_RDONLY | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, 0, ROOTFS_NO_LINKS);
	if (fd == -ENOENT)
		return 0;
	if (fd == -ELOOP)
		return link_refusal(r, path, e);
	if (fd < 0)
		return error_set(e, EXIT_IO, "cannot open %s: %s",
				 rootfs_display(r, path, shown, sizeof(shown)), strerror(-fd)), fd;
	if (fstat(fd, &st) < 0)
		return error_set(e, EXIT_IO, "cannot stat %s: %s",
				 rootfs_display(r, path, shown, sizeof(shown)), strerror(errno)), negative_errno();
	if (!S_ISREG(st.st_mode))
		return error_set(e, EXIT_BAD_INPUT, "%s is not a regular file; move it away, then run the command again",
				 rootfs_display(r, path, shown, sizeof(shown))), -EINVAL;
	/* Configuration files are kilobytes; one of megabytes is damage, not something to edit or
	 * to keep a copy of in every transaction. */
	if (st.st_size > ROOTFS_MAX_FILE)
		return error_set(e, EXIT_BAD_INPUT, "%s is %lld bytes, more than the %d MiB a configuration file "
				 "may have; look at what it holds and shrink or move it, then run the command again",
				 rootfs_display(r, path, shown, sizeof(shown)), (long long)st.st_size,
				 ROOTFS_MAX_FILE >> 20), -EFBIG;
	k = read_all(fd, &data, &len);
	if (k < 0)
		return error_set(e, EXIT_IO, "cannot read %s: %s",
				 rootfs_display(r, path, shown, sizeof(shown)), strerror(-k)), k;
	file_state_set_content(ret, data, len);
	ret->mode = st.st_mode & 07777;
	ret->uid = st.st_uid;
	ret->gid = st.st_gid;
	return 0;
}

int rootfs_check_trusted(const struct rootfs *r, const char *path, const struct file_state *fs, const char *what,
			 const char *why, struct error *e)
{
	_cleanup_strbuf_ struct strbuf fix = STRBUF_INIT;
	char shown[4096];

	if (fs->uid == 0 && !(fs->mode & 022))
		return 0;
	rootfs_display(r, path, shown, sizeof(shown));
	if (fs->uid != 0)
		strbuf_appendf(&fix, "chown root:root %s", shown);
	if (fs->mode & 022)
		strbuf_appendf(&fix, "%schmod go-w %s", fix.len ? " && " : "", shown);
	error_set(e, EXIT_REFUSED,
		  "refusing %s %s: it is owned by uid %u and has mode %04o, so someone other than root can "
		  "change it, and %s; check its content, then run: %s",
		  what, shown, (unsigned)fs->uid, (unsigned)fs->mode, why, strbuf_str(&fix));
	return -EPERM;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(const struct rootfs *r, const char *dir, const char *suffix, enum rootfs_links dir_links,
		    char ***ret_names, size_t *ret_n, char ***ret_links, size_t *ret_nlinks,
		    struct error *e)
{
	char **names = NULL, **links = NULL;
	size_t n = 0, nl = 0;
	char shown[4096];
	struct dirent *de;
	DIR *d;
	int fd, k = 0;

	fd = rootfs_openat(r, dir, O_RDONLY | O_DIRECTORY, 0, dir_links);
	if (fd == -ENOENT || (fd == -ENOTDIR && dir_links == ROOTFS_LINKS_IN_ROOT)) {
		*ret_names = NULL;
		*ret_n = 0;
		if (ret_links)
			*ret_links = NULL, *ret_nlinks = 0;
		return 0;
	}
	if (fd == -ELOOP)
		return link_refusal(r, dir, e);
	if (fd < 0)
		return error_set(e, EXIT_IO, "cannot open directory %s: %s",
				 rootfs_display(r, dir, shown, sizeof(shown)), strerror(-fd)), fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.' || !str_has_suffix(de->d_name, suffix))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISLNK(st.st_mode))
			k = strv_push(&links, &nl, de->d_name);
		else if (S_ISREG(st.st_mode))
			k = strv_push(&names, &n, de->d_name);
		if (k < 0)
			break;
	}
	if (k == 0 && errno) {
		k = negative_errno();
		error_set(e, EXIT_IO, "cannot list %s: %s", rootfs_display(r, dir, shown, sizeof(shown)), strerror(-k));
	}
	closedir(d);
	if (k < 0) {
		strv_free(names, n);
		strv_free(links, nl);
		return k;
	}
	if (n)
		qsort(names, n, sizeof(char *), cmp_str);
	if (nl)
		qsort(links, nl, sizeof(char *), cmp_str);
	*ret_names = names;
	*ret_n = n;
	if (ret_links) {
		*ret_links = links;
		*ret_nlinks = nl;
	} else {
		strv_free(links, nl);
	}
	return 0;
}

int rootfs_list_dir(const struct rootfs *r, const char *dir, const char *suffix,
		    char ***ret_names, size_t *ret_n, char ***ret_links, size_t *ret_nlinks,
		    struct error *e)
{
	return list_dir(r, dir, suffix, ROOTFS_NO_LINKS, ret_names, ret_n, ret_links, ret_nlinks, e);
}

int rootfs_list_dir_in_root(const struct rootfs *r, const char *dir, const char *suffix,
			    char ***ret_names, size_t *ret_n, char ***ret_links, size_t *ret_nlinks,
			    struct error *e)
{
	return list_dir(r, dir, suffix, ROOTFS_LINKS_IN_ROOT, ret_names, ret_n, ret_links, ret_nlinks, e);
}

int rootfs_read_file_in_root(const struct rootfs *r, const char *path, struct file_state *ret, struct error *e)
{
	_cleanup_close_ int fd = -1;
	char shown[4096];
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int k;

	memset(ret, 0, sizeof(*ret));
	fd = rootfs_openat(r, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, ROOTFS_LINKS_IN_ROOT);
	if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP)
		return 0;
	if (fd < 0)
		return error_set(e, EXIT_IO, "cannot open %s: %s",
				 rootfs_display(r, path, shown, sizeof(shown)), strerror(-fd)), fd;
	if (fstat(fd, &st) < 0)
		return error_set(e, EXIT_IO, "cannot stat %s: %s",
				 rootfs_display(r, path, shown, sizeof(shown)), strerror(errno)), negative_errno();
	if (S_ISREG(st.st_mode)) {
		if (st.st_size > ROOTFS_MAX_FILE)
			return error_set(e, EXIT_BAD_INPUT, "%s is %lld bytes, more than the %d MiB a configuration "
					 "file may have; look at what it holds", rootfs_display(r, path, shown, sizeof(shown)),
					 (long long)st.st_size, ROOTFS_MAX_FILE >> 20), -EFBIG;
		k = read_all(fd, &data, &len);
		if (k < 0)
			return error_set(e, EXIT_IO, "cannot read %s: %s",
					 rootfs_display(r, path, shown, sizeof(shown)), strerror(-k)), k;
	} else if (!(data = strdup(""))) {
		/* /dev/null (a masked file) and other non-files read as nothing */
		return -ENOMEM;
	}
	file_state_set_content(ret, data, len);
	ret->mode = st.st_mode & 07777;
	ret->uid = st.st_uid;
	ret->gid = st.st_gid;
	return 0;
}

int rootfs_readlink(const struct rootfs *r, const char *path, char **ret)
{
	_cleanup_free_ char *dir = strdup(path);
	_cleanup_close_ int dfd = -1;
	char buf[4096], *slash;
	ssize_t n;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash || !slash[1])
		return -EINVAL;
	*slash = '\0';
	dfd = rootfs_openat(r, *dir ? dir : "/", O_PATH | O_DIRECTORY, 0, ROOTFS_LINKS_IN_ROOT);
	if (dfd < 0)
		return dfd;
	n = readlinkat(dfd, slash + 1, buf, sizeof(buf) - 1);
	if (n < 0)
		return negative_errno();
	buf[n] = '\0';
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

int rootfs_open_dir(const struct rootfs *r, const char *dir, bool create, mode_t dir_mode,
		    enum rootfs_links links, int *ret_fd, struct error *e)
{
	_cleanup_strbuf_ struct strbuf prefix = STRBUF_INIT;
	char shown[4096];
	const char *p = dir;
	int fd;

	fd = rootfs_openat(r, dir, O_RDONLY | O_DIRECTORY, 0, links);
	if (fd >= 0) {
		*ret_fd = fd;
		return 0;
	}
	if (fd == -ELOOP && links == ROOTFS_NO_LINKS)
		return link_refusal(r, dir, e);
	if (fd != -ENOENT || !create)
		return error_set(e, EXIT_IO, "cannot open directory %s: %s",
				 rootfs_display(r, dir, shown, sizeof(shown)), strerror(-fd)), fd;

	/* Create the missing components one by one, each from its confined parent. */
	while (*p) {
		_cleanup_close_ int parent = -1;
		const char *slash;
		size_t comp;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		slash = strchr(p, '/');
		comp = slash ? (size_t)(slash - p) : strlen(p);
		parent = rootfs_openat(r, prefix.len ? prefix.buf : "/", O_RDONLY | O_DIRECTORY, 0, links);
		if (parent < 0)
			return error_set(e, EXIT_IO, "cannot open directory %s: %s",
					 rootfs_display(r, prefix.len ? prefix.buf : "/", shown, sizeof(shown)),
					 strerror(-parent)), parent;
		if (strbuf_appendc(&prefix, '/') < 0 || strbuf_append(&prefix, p, comp) < 0)
			return -ENOMEM;
		if (mkdirat(parent, prefix.buf + prefix.len - comp, slash ? 0755 : dir_mode) < 0) {
			if (errno != EEXIST)
				return error_set_errno(e, EXIT_IO, errno, "cannot create directory %s: %s",
						       rootfs_display(r, prefix.buf, shown, sizeof(shown)),
						       strerror(errno)),
				       negative_errno();
		} else if (fsync(parent) < 0) {
			/* The new entry must be on disk before anything inside it is: a journal whose
			 * directory vanished in a power cut would lose the record of a change that stayed. */
			return error_set(e, EXIT_IO, "cannot sync the directory holding %s: %s",
					 rootfs_display(r, prefix.buf, shown, sizeof(shown)), strerror(errno)),
			       negative_errno();
		}
		p += comp;
	}
	fd = rootfs_openat(r, dir, O_RDONLY | O_DIRECTORY, 0, links);
	if (fd < 0)
		return error_set(e, EXIT_IO, "cannot open directory %s: %s",
				 rootfs_display(r, dir, shown, sizeof(shown)), strerror(-fd)), fd;
	*ret_fd = fd;
	return 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int temp_name(const char *path, char *buf, size_t size)
{
	int n = snprintf(buf, size, ".%s" TEMP_SUFFIX, base_name(path));

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int rootfs_remove_temp_at(int dirfd, const char *path)
{
	char tmp[NAME_MAX + 1];

	if (temp_name(path, tmp, sizeof(tmp)) < 0)
		return -ENAMETOOLONG;
	if (unlinkat(dirfd, tmp, 0) < 0 && errno != ENOENT) {
		struct stat st;

		/* On a read-only mount unlink fails before it looks the name up: there is
		 * nothing to remove when there is nothing there. */
		if (errno == EROFS && fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
			return 0;
		return negative_errno();
	}
	return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Give the temp file the target's content, owner and mode, and make it durable. */
static int fill_temp(int fd, const struct file_state *target)
{
	struct stat st;
	int k;

	k = write_all(fd, target->data ? target->data : "", target->len);
	if (k < 0)
		return k;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if ((st.st_uid != target->uid || st.st_gid != target->gid) && fchown(fd, target->uid, target->gid) < 0)
		return negative_errno();
	/* fchmod after fchown: chown clears set-id bits. */
	if (fchmod(fd, target->mode) < 0)
		return negative_errno();
	if (fsync(fd) < 0)
		return negative_errno();
	return 0;
}

int rootfs_replace_at(const struct rootfs *r, int dirfd, const char *path, const struct file_state *target,
		      struct error *e)
{
	const char *name = base_name(path);
	char tmp[NAME_MAX + 1], shown[4096];
	struct open_how how = {
		.flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		.mode = 0600,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_close_ int fd = -1;
	int k;

	rootfs_display(r, path, shown, sizeof(shown));
	if (!target->present) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return error_set_errno(e, EXIT_IO, errno, "cannot remove %s: %s", shown, strerror(errno)),
			       negative_errno();
		return 0;
	}
	if (temp_name(path, tmp, sizeof(tmp)) < 0)
		return error_set(e, EXIT_IO, "file name too long: %s", shown), -ENAMETOOLONG;
	k = rootfs_remove_temp_at(dirfd, path);
	if (k < 0)
		return error_set_errno(e, EXIT_IO, -k, "cannot remove the stale temporary file beside %s: %s", shown,
				       strerror(-k)), k;
	fd = (int)syscall(SYS_openat2, dirfd, tmp, &how, sizeof(how));
	if (fd < 0)
		return error_set_errno(e, EXIT_IO, errno, "cannot create a temporary file beside %s: %s", shown,
				       strerror(errno)), negative_errno();
	k = fill_temp(fd, target);
	if (k < 0) {
		unlinkat(dirfd, tmp, 0);
		return error_set_errno(e, EXIT_IO, -k, "cannot write the new content of %s: %s", shown,
				       strerror(-k)), k;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		k = negative_errno();
		unlinkat(dirfd, tmp, 0);
		return error_set_errno(e, EXIT_IO, -k, "cannot rename the new content over %s: %s", shown,
				       strerror(-k)), k;
	}
	return 0;
}
