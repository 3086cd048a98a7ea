/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan-ws.h — the plan's workspace: every managed file as it is on disk and the text the plan
 *  gives it so far; internal to plan.c and plan-vfio.c, not a public API. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cmdline.h"
#include "grubfile.h"
#include "managed.h"
#include "modfile.h"
#include "rootfs.h"

#define GRUB_MAIN "/etc/default/grub"
#define GRUB_DROPIN_DIR "/etc/default/grub.d/"
#define KERNEL_CMDLINE "/etc/kernel/cmdline"
#define ETC_MODULES "/etc/modules"
#define MODPROBE_DIR "/etc/modprobe.d/"

/* Every managed file with its state on disk and the text the plan gives it. */
struct ws_file {
	char *path;
	struct file_state before;
	char *text;		/* NULL: as before (or absent) */
	size_t len;
	bool remove;		/* the plan deletes it */
};

struct workspace {
	struct ws_file *v;
	size_t n;
};

void ws_clear(struct workspace *w);
struct ws_file *ws_find(struct workspace *w, const char *path);
/* The file at path, added as absent when the root does not have it; NULL: -ENOMEM. */
struct ws_file *ws_get(struct workspace *w, const char *path);
/* The text the plan has for f so far: its edit, or what is on disk ("" when absent). */
const char *ws_text(const struct ws_file *f);
/* Give f the new text (taken over). */
void ws_set(struct ws_file *f, char *text);
/* Every managed file of the root (managed.h), as it is now. */
int ws_load(const struct rootfs *r, struct workspace *w, struct error *e);

/* GRUB's files in the order grub-mkconfig sources them, with the workspace file of each; 0: -ENOMEM. */
size_t ws_grub_files(struct workspace *w, struct grub_file *files, struct ws_file **owners, size_t max);
/* The command line GRUB's files give the next boot (GRUB_CMDLINE_LINUX, then _DEFAULT). */
int ws_grub_cmdline(struct workspace *w, char **ret, struct cmdline_error *ce);

/* Whether f exists after the plan's edits so far. */
bool ws_present(const struct ws_file *f);
/* A .conf file of /etc/modprobe.d. */
bool ws_is_modprobe_file(const struct ws_file *f);
/* What kmod makes of the managed modprobe.d files as they are now and the next boot's command line. */
int ws_modprobe_config(struct workspace *w, const char *cmdline, struct modfile_config **ret);
/* The editors' refusal of a modprobe.d line, as EXIT_BAD_INPUT "FILE:LINE: reason"; -EBADMSG. */
int ws_modprobe_refusal(const struct rootfs *r, const char *path, const struct modfile_error *me,
			struct error *e);
