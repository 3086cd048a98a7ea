/* SPDX-License-Identifier: GPL-2.0-or-later */
/* efivar.c — systemd's loader variables (Boot Loader Interface) through efivarfs under <sysfs>.
 *  Owns: reading, setting and removing one variable of the loader's vendor GUID, the immutable
 *  flag the kernel sets on efivarfs files. Must not: know what the variables mean (the back
 *  ends do) or touch anything outside <sysfs>/firmware/efi/efivars. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "efivar.h"
#include "macros.h"
#include "strbuf.h"

#define EFIVARS "firmware/efi/efivars"
/* EFI_VARIABLE_NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS, as bootctl set-oneshot writes. */
#define EFI_ATTR_NV_BS_RT 0x7u

static void efivar_path(const char *sysfs, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/" EFIVARS "/%s-" EFIVAR_LOADER_GUID, sysfs, name);
}

/* The kernel marks efivarfs files immutable so that a stray rm cannot brick firmware; clear it
 * as bootctl does (chattr -i) before a rewrite or removal. Other file systems (a test's tree)
 * may not know the flag: nothing to clear then. */
static int efivar_make_mutable(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int flags;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
		return errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL ? 0 : -errno;
	if (!(flags & FS_IMMUTABLE_FL))
		return 0;
	flags &= ~FS_IMMUTABLE_FL;
	return ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0 ? -errno : 0;
}

/* A loader variable as UTF-8 (its value is UTF-16LE, NUL-terminated, after 4 bytes of
 * attributes). -ENOENT when it is not set. */
int efivar_read_string(const char *sysfs, const char *name, char **ret)
{
	char path[4096];
	unsigned char buf[4 + 2048];
	_cleanup_close_ int fd = -1;
	struct strbuf sb = { 0 };
	ssize_t n;

	efivar_path(sysfs, name, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	for (ssize_t i = 4; i + 1 < n; i += 2) {
		unsigned c = buf[i] | (unsigned)buf[i + 1] << 8;
		char u[3];

		if (c == 0)
			break;
		if (c < 0x80) {
			u[0] = (char)c;
			strbuf_append(&sb, u, 1);
		} else if (c < 0x800) {
			u[0] = (char)(0xc0 | c >> 6);
			u[1] = (char)(0x80 | (c & 0x3f));
			strbuf_append(&sb, u, 2);
		} else {
			u[0] = (char)(0xe0 | c >> 12);
			u[1] = (char)(0x80 | (c >> 6 & 0x3f));
			u[2] = (char)(0x80 | (c & 0x3f));
			strbuf_append(&sb, u, 3);
		}
	}
	*ret = strbuf_steal(&sb);
	return *ret ? 0 : -ENOMEM;
}

int efivar_remove(const char *sysfs, const char *name)
{
	char path[4096];
	int k;

	efivar_path(sysfs, name, path, sizeof(path));
	k = efivar_make_mutable(path);
	if (k < 0)
		return k;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

/* Set a loader variable to an ASCII value, attributes NV|BS|RT, in one write() as efivarfs
 * wants. An old value is removed first (efivarfs has no truncate). */
int efivar_write_ascii(const char *sysfs, const char *name, const char *value)
{
	char path[4096];
	size_t len = strlen(value), size = 4 + 2 * (len + 1);
	_cleanup_free_ unsigned char *buf = calloc(1, size);
	_cleanup_close_ int fd = -1;
	uint32_t attr = EFI_ATTR_NV_BS_RT;
	int k;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, &attr, 4);	/* little-endian on every host systemd-boot runs on (x86, arm64) */
	for (size_t i = 0; i < len; i++)
		buf[4 + 2 * i] = (unsigned char)value[i];
	k = efivar_remove(sysfs, name);
	if (k < 0)
		return k;
	efivar_path(sysfs, name, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, size) != (ssize_t)size)
		return errno ? -errno : -EIO;
	return 0;
}

