/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hw.c — read the CPU vendor from procfs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hw.h"
#include "macros.h"

int hw_cpu_vendor(const char *procfs, char *buf, size_t size)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[4096], line[512];

	snprintf(path, sizeof(path), "%s/cpuinfo", procfs);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *colon;
		size_t len;

		if (strncmp(line, "vendor_id", 9) != 0 || !(colon = strchr(line, ':')))
			continue;
		colon += 1 + strspn(colon + 1, " \t");
		len = strcspn(colon, "\r\n");
		snprintf(buf, size, "%.*s", (int)len, colon);
		return len ? 0 : -ENOENT;
	}
	return -ENOENT;
}
