/* SPDX-License-Identifier: GPL-2.0-or-later */
/* efivar.h — systemd's loader variables (LoaderEntryOneShot, LoaderInfo, …) through efivarfs.
 *  Owns: the loader's vendor GUID and the variables' encoding (4 bytes of attributes, then
 *  UTF-16LE with a NUL). Must not: decide anything about boot entries. */
#pragma once

/* The Boot Loader Interface's vendor GUID (systemd's docs/BOOT_LOADER_INTERFACE.md). */
#define EFIVAR_LOADER_GUID "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

/* The variable NAME-EFIVAR_LOADER_GUID under <sysfs>/firmware/efi/efivars as UTF-8 (caller
 * frees). -ENOENT when it is not set, -errno otherwise. */
int efivar_read_string(const char *sysfs, const char *name, char **ret);
/* Set it to an ASCII value with attributes NV|BS|RT, in one write() as efivarfs wants; an old
 * value is removed first (chattr -i, unlink: efivarfs has no truncate). -errno. */
int efivar_write_ascii(const char *sysfs, const char *name, const char *value);
/* Remove it (chattr -i first); absent is success. -errno. */
int efivar_remove(const char *sysfs, const char *name);
