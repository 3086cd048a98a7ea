/* SPDX-License-Identifier: GPL-2.0-or-later */
/* modload-journal.c — what systemd-modules-load failed to load in the current boot, from the
 *  systemd journal through sd-journal (libsystemd, loaded with dlopen).
 *  Owns: the journal query and matching its messages to module names. Reads the live system:
 *  the systemd journal (or the test seam's directory) and <procfs>/sys/kernel/random/boot_id,
 *  not files under --root. Must not: write anything, print, touch iommuctl's own journal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-journal.h>

#include "dl.h"
#include "modload.h"

/* Only the header is needed at build time (libsystemd-dev); libsystemd.so.0 is loaded here, on
 * first use, so that iommuctl runs where it is missing (a rescue system) and says so. */
static typeof(sd_journal_open) *sym_sd_journal_open;
static typeof(sd_journal_open_directory) *sym_sd_journal_open_directory;
static typeof(sd_journal_close) *sym_sd_journal_close;
static typeof(sd_journal_add_match) *sym_sd_journal_add_match;
static typeof(sd_journal_add_disjunction) *sym_sd_journal_add_disjunction;
static typeof(sd_journal_next) *sym_sd_journal_next;
static typeof(sd_journal_get_data) *sym_sd_journal_get_data;

static const struct dl_symbol sd_symbols[] = {
	DL_SYMBOL(sd_journal_open),
	DL_SYMBOL(sd_journal_open_directory),
	DL_SYMBOL(sd_journal_close),
	DL_SYMBOL(sd_journal_add_match),
	DL_SYMBOL(sd_journal_add_disjunction),
	DL_SYMBOL(sd_journal_next),
	DL_SYMBOL(sd_journal_get_data),
};

static struct dl_library libsystemd = {
	.soname = "libsystemd.so.0",
	.package = "libsystemd0",
	.symbols = sd_symbols,
	.n_symbols = ARRAY_SIZE(sd_symbols),
};

/* The test seam: a directory of journal files (made by systemd-journal-remote in the tests). */
#define JOURNAL_DIR_ENV "IOMMUCTL_JOURNAL_DIRECTORY"

static const char *journal_dir(void)
{
	const char *d = getenv(JOURNAL_DIR_ENV);

	return d && *d ? d : NULL;
}

bool modload_journal_wanted(const struct rootfs *r)
{
	return streq(r->path, "/") || journal_dir();
}

/* <procfs>/sys/kernel/random/boot_id ("0d2c…-…") as the journal's _BOOT_ID (32 hex digits). */
static int boot_id(const char *procfs, char out[33])
{
	_cleanup_free_ char *path = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	char line[64];
	size_t n = 0;

	if (asprintf(&path, "%s/sys/kernel/random/boot_id", procfs) < 0)
		return -ENOMEM;
	if (!(f = fopen(path, "re")) || !fgets(line, sizeof(line), f))
		return -ENOENT;
	for (const char *c = line; *c && *c != '\n'; c++) {
		if (*c == '-')
			continue;
		if (n == 32 || !strchr("0123456789abcdef", *c))
			return -EINVAL;
		out[n++] = *c;
	}
	out[n] = '\0';
	return n == 32 ? 0 : -EINVAL;
}

/* systemd 252, src/shared/module-util.c, module_load_and_warn(): the messages of a name that
 * loads nothing ("Failed to find module 'X'", "Failed to look up module alias 'X': …") and of
 * one the kernel refused ("Failed to insert module 'X': …"); all at LOG_ERR. */
static bool is_failure(const char *msg, size_t len)
{
	static const char *const prefixes[] = {
		"Failed to find module '",
		"Failed to insert module '",
		"Failed to look up module alias '",
	};

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (len >= strlen(prefixes[i]) && !strncmp(msg, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static int add_matches(sd_journal *j, const char *boot)
{
	char b[64];
	int k;

	snprintf(b, sizeof(b), "_BOOT_ID=%s", boot);
	/* (this boot AND the unit) OR (this boot AND the identifier): the unit's field is absent
	 * from messages logged before journald knew the unit. */
	if ((k = sym_sd_journal_add_match(j, b, 0)) < 0 ||
	    (k = sym_sd_journal_add_match(j, "_SYSTEMD_UNIT=systemd-modules-load.service", 0)) < 0 ||
	    (k = sym_sd_journal_add_disjunction(j)) < 0 || (k = sym_sd_journal_add_match(j, b, 0)) < 0 ||
	    (k = sym_sd_journal_add_match(j, "SYSLOG_IDENTIFIER=systemd-modules-load", 0)) < 0)
		return k;
	return 0;
}

int modload_journal_failures(const char *procfs, char ***ret_messages, size_t *ret_n, struct error *e)
{
	const char *dir = journal_dir();
	char boot[33], **v = NULL;
	sd_journal *j = NULL;
	size_t n = 0;
	int k;

	if (dl_load(&libsystemd, e) < 0)
		return -ENOENT;
	k = boot_id(procfs, boot);
	if (k < 0)
		return error_set(e, EXIT_IO, "%s/sys/kernel/random/boot_id cannot be read, so the current boot is "
				 "unknown", procfs), k;
	k = dir ? sym_sd_journal_open_directory(&j, dir, 0)
			: sym_sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
	if (k < 0)
		return error_set(e, EXIT_IO, "cannot open the systemd journal%s%s: %s", dir ? " in " : "",
				 dir ? dir : "", strerror(-k)), k;
	k = add_matches(j, boot);
	while (k >= 0 && (k = sym_sd_journal_next(j)) > 0) {
		const void *data;
		size_t len;
		_cleanup_free_ char *msg = NULL;

		if (sym_sd_journal_get_data(j, "MESSAGE", &data, &len) < 0 || len < 8)
			continue;
		if (!is_failure((const char *)data + 8, len - 8))
			continue;
		if (!(msg = strndup((const char *)data + 8, len - 8)) || strv_push(&v, &n, msg) < 0)
			k = -ENOMEM;
	}
	sym_sd_journal_close(j);
	if (k < 0) {
		strv_free(v, n);
		return error_set(e, EXIT_IO, "cannot read the systemd journal: %s", strerror(-k)), k;
	}
	*ret_messages = v;
	*ret_n = n;
	return 0;
}
