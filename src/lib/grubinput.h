/* SPDX-License-Identifier: GPL-2.0-or-later */
/* grubinput.h — struct grub_file: one sourced grub file as the caller hands it in.
 *  The input of both grubscan.c (which reads it) and grubfile.c (which edits it); here so that
 *  the scanner need not include the editor's header. Must not: hold anything but the input. */
#pragma once

#include <stddef.h>

struct grub_file {
	const char *name;	/* for messages, e.g. "/etc/default/grub" */
	const char *text;	/* contents (need not be NUL-terminated); "" for a missing file */
	size_t len;
};
