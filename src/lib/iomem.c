/* SPDX-License-Identifier: GPL-2.0-or-later */
/* iomem.c — /proc/iomem as text, and the firmware framebuffer ranges inside a PCI device's.
 *  Owns: iomem_parse() and iomem_framebuffer_in(). Must not: read a file (the caller passes the
 *  text) or know anything about profiles or plans. The format is the kernel's r_show() in
 *  kernel/resource.c: two spaces of indent per level, "%0*llx-%0*llx : %s". */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "iomem.h"
#include "macros.h"
#include "util.h"

static int parse_line(const char *l, size_t len, struct iomem_entry *e)
{
	size_t sp = 0;
	char *end;
	const char *colon;

	while (sp < len && l[sp] == ' ')
		sp++;
	if (sp == len || !strchr("0123456789abcdefABCDEF", l[sp]))
		return 0;
	e->depth = (unsigned)(sp / 2);
	errno = 0;
	e->start = strtoull(l + sp, &end, 16);
	if (errno || *end != '-')
		return 0;
	e->end = strtoull(end + 1, &end, 16);
	if (errno || (size_t)(end - l) > len || strncmp(end, " : ", 3))
		return 0;
	colon = end + 3;
	if (!(e->name = strndup(colon, len - (size_t)(colon - l))))
		return -ENOMEM;
	return 1;
}

int iomem_parse(const char *text, struct iomem *ret)
{
	struct iomem m = { .zeroed = true };

	for (const char *l = text; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		struct iomem_entry e = { 0 }, *nv;
		int k = parse_line(l, len, &e);

		if (k < 0 || (k > 0 && !(nv = realloc(m.v, (m.n + 1) * sizeof(*nv))))) {
			free(e.name);
			iomem_clear(&m);
			return -ENOMEM;
		}
		if (k > 0) {
			m.v = nv;
			m.v[m.n++] = e;
			m.zeroed &= e.start == 0 && e.end == 0;
		}
		l = nl ? nl + 1 : NULL;
	}
	if (!m.n)
		m.zeroed = false;
	*ret = m;
	return 0;
}

void iomem_clear(struct iomem *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].name);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

bool iomem_is_framebuffer(const char *name)
{
	/* BOOTFB: the resource sysfb gives the simple-framebuffer device; efifb, vesafb and simplefb
	 * request their range under their own names; simpledrm as "simpledrm". */
	static const char *const names[] = { "BOOTFB", "efifb", "simple-framebuffer", "simplefb", "simpledrm",
					     "vesafb", "EFI VGA", "VESA VGA" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strncmp(name, names[i], strlen(names[i])))
			return true;
	return false;
}

enum iomem_fb iomem_framebuffer_in(const struct iomem *m, const char *slot, const struct iomem_entry **ret_fb,
				   const struct iomem_entry **ret_bar)
{
	bool elsewhere = false;

	for (size_t i = 0; i < m->n; i++) {
		const struct iomem_entry *fb = &m->v[i];
		const struct iomem_entry *parent = NULL;

		if (!iomem_is_framebuffer(fb->name))
			continue;
		/* Nested: the nearest entry above at each smaller depth is an ancestor. */
		for (size_t j = i, depth = fb->depth; j-- > 0 && depth > 0;) {
			if (m->v[j].depth >= depth)
				continue;
			depth = m->v[j].depth;
			if (streq(m->v[j].name, slot)) {
				parent = &m->v[j];
				break;
			}
		}
		for (size_t j = 0; !parent && !m->zeroed && j < m->n; j++)
			if (streq(m->v[j].name, slot) && fb->start <= m->v[j].end && m->v[j].start <= fb->end)
				parent = &m->v[j];
		if (parent) {
			if (ret_fb)
				*ret_fb = fb;
			if (ret_bar)
				*ret_bar = parent;
			return IOMEM_FB_INSIDE;
		}
		elsewhere = true;
		if (ret_fb)
			*ret_fb = fb;
	}
	return m->zeroed && elsewhere ? IOMEM_FB_UNKNOWN : IOMEM_FB_NONE;
}
