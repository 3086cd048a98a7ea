/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rootfs.h — every file under --root is reached from one directory fd with openat2, confined to it.
 *  Owns: struct rootfs and struct file_state. Must not: hand out a path name for a caller to
 *  open by itself; callers get fds, contents or names for messages (rootfs_display). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "strv.h"
#include "util.h"

/* One file as the journal knows it: content (or absence), mode and owner. */
struct file_state {
	bool present;
	char *data;		/* content; NULL when absent or not loaded */
	size_t len;
	mode_t mode;		/* permission bits only (07777) */
	uid_t uid;
	gid_t gid;
	char hash[SHA256_HEX_LEN + 1];	/* SHA-256 of the content; "" when absent */
};

void file_state_clear(struct file_state *fs);
/* Same presence, content, mode and owner. */
bool file_state_equal(const struct file_state *a, const struct file_state *b);
int file_state_copy(struct file_state *dst, const struct file_state *src);
/* Fill data/len/hash from a buffer the state takes over. */
void file_state_set_content(struct file_state *fs, char *data, size_t len);

struct rootfs {
	int fd;			/* O_PATH directory fd of the root */
	char *path;		/* as given, for messages; "/" for the live system */
};

/* How far a path may lead: managed files allow no symlink at all; other
 * paths (the journal directory, /lib/modules on merged-/usr) may follow
 * symlinks, which openat2 resolves as if the root were "/". */
enum rootfs_links { ROOTFS_NO_LINKS, ROOTFS_LINKS_IN_ROOT };

int rootfs_open(const char *path, struct rootfs **ret, struct error *e);
void rootfs_free(struct rootfs *r);
static inline void rootfs_freep(struct rootfs **r) { rootfs_free(*r); }

/* "<root>/etc/modules" for messages, or "/etc/modules" when the root is "/". */
const char *rootfs_display(const struct rootfs *r, const char *path, char *buf, size_t size);

/* openat2() below the root; path is absolute inside the root. Returns an fd or -errno. */
int rootfs_openat(const struct rootfs *r, const char *path, int flags, mode_t mode, enum rootfs_links links);

struct stat;
/* stat() of a path below the root, following links inside it (mtimes of /boot files): 0 or -errno. */
int rootfs_stat(const struct rootfs *r, const char *path, struct stat *ret);

#define ROOTFS_MAX_FILE (4 << 20)

/* Read a managed file. A missing file gives present=false and 0. Not a regular file, or
 * more than ROOTFS_MAX_FILE bytes: EXIT_BAD_INPUT. */
int rootfs_read_file(const struct rootfs *r, const char *path, struct file_state *ret, struct error *e);

/* Files that decide what iommuctl does as root (profiles, the hook configuration) must be
 * owned by root and not writable by group or others: else EXIT_REFUSED with the chown/chmod
 * that fixes it. what: "profile"; why: what the file decides, for the message. */
int rootfs_check_trusted(const struct rootfs *r, const char *path, const struct file_state *fs, const char *what,
			 const char *why, struct error *e);

/* Names of the regular files in dir ending with suffix (sorted, dot files skipped);
 * a missing dir is an empty list. Symlinks are reported through *ret_links (may be NULL). */
int rootfs_list_dir(const struct rootfs *r, const char *dir, const char *suffix,
		    char ***ret_names, size_t *ret_n, char ***ret_links, size_t *ret_nlinks,
		    struct error *e);

/* The same for a directory iommuctl only reads (modules-load.d): it may be reached through
 * symlinks inside the root, as /lib/modules-load.d is on merged-/usr. */
int rootfs_list_dir_in_root(const struct rootfs *r, const char *dir, const char *suffix,
			    char ***ret_names, size_t *ret_n, char ***ret_links, size_t *ret_nlinks,
			    struct error *e);

/* Read a file iommuctl only reads, following symlinks as a program on that root would, but
 * never out of it (RESOLVE_IN_ROOT: an absolute target is taken inside the root). Missing, or a
 * dangling link: present=false and 0. Not a regular file (a link to /dev/null): empty content. */
int rootfs_read_file_in_root(const struct rootfs *r, const char *path, struct file_state *ret, struct error *e);

/* The target of the symlink at path, as stored; its directory is resolved inside the root.
 * -EINVAL when path is not a symlink, -ENOENT when it does not exist. */
int rootfs_readlink(const struct rootfs *r, const char *path, char **ret);

/* Open (creating missing components with dir_mode) a directory below the root,
 * O_RDONLY so that it can be fsync'ed. */
int rootfs_open_dir(const struct rootfs *r, const char *dir, bool create, mode_t dir_mode,
		    enum rootfs_links links, int *ret_fd, struct error *e);

/* Make dirfd/name hold target: write a temp file beside it with target's mode and
 * owner, fsync it, rename it over name; or unlink name when target is absent.
 * The directory itself is not fsync'ed here (the caller does it once per directory). */
int rootfs_replace_at(const struct rootfs *r, int dirfd, const char *path, const struct file_state *target,
		      struct error *e);

/* Remove a temp file an interrupted run may have left beside path. */
int rootfs_remove_temp_at(int dirfd, const char *path);

