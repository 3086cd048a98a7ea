/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hw.h — facts about the machine read from procfs and sysfs (the host's, not the root's). */
#pragma once

#include <stddef.h>

/* The vendor_id of the first CPU in <procfs>/cpuinfo ("GenuineIntel", "AuthenticAMD"):
 * 0 and the name; -ENOENT when the file or the field is missing. */
int hw_cpu_vendor(const char *procfs, char *buf, size_t size);
