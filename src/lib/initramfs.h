/* SPDX-License-Identifier: GPL-2.0-or-later */
/* initramfs.h — what a Debian initramfs image holds, read with libarchive.
 *  Owns: the initramfs listing API. Must not: know plans or modules. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "rootfs.h"
#include "util.h"

/*
 * A Debian initramfs is several cpio archives one after the other: uncompressed early
 * ones (CPU microcode under kernel/x86/microcode) padded with zeros, then the main one,
 * compressed with zstd, gzip or xz (initramfs-tools' COMPRESS). libarchive reads one
 * archive per open, so each member archive is opened where the previous one ended.
 */
struct initramfs_entry {
	char *path;		/* without a leading "./" or "/" */
	char *data;		/* content of regular files up to INITRAMFS_MAX_CONTENT, else NULL */
	size_t size;
};

#define INITRAMFS_MAX_CONTENT (256 * 1024)

struct initramfs {
	struct initramfs_entry *v;
	size_t n;
	unsigned archives;	/* how many member archives were read */
};

/* Read the image at path inside the root. Errors: EXIT_IO naming the file and what libarchive said. */
int initramfs_read(const struct rootfs *r, const char *path, struct initramfs *ret, struct error *e);
void initramfs_clear(struct initramfs *ir);
/* The entry for path ("etc/modprobe.d/x.conf"), or NULL. */
const struct initramfs_entry *initramfs_find(const struct initramfs *ir, const char *path);
/* The first entry whose file name is MODULE.ko, .ko.xz, .ko.zst or .ko.gz under lib/modules or
 * usr/lib/modules ('-' and '_' alike), or NULL. */
const struct initramfs_entry *initramfs_find_module(const struct initramfs *ir, const char *module);
