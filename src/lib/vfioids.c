/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vfioids.c — vfio-pci's ids= list on the kernel command line and its entries (see vfioids.h).
 *  Owns: where the command line sets vfio_pci.ids (on cmdline.c's tokens), which entries are
 *  valid ids, and extending the list. Must not: edit a file (callers hand the new value to the
 *  command line editors), open files, print. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "macros.h"
#include "strbuf.h"
#include "vfioids.h"

#define IDS_PARAM "vfio_pci.ids"

int vfio_cmdline_ids(const char *cmdline, char **ret_key, char **ret_value, unsigned *ret_count,
		     size_t *ret_offset)
{
	_cleanup_free_ struct cmdline_token *t = NULL;
	const struct cmdline_token *last = NULL;
	size_t n, n_kernel;
	unsigned count = 0;
	char *key, *value;

	if (cmdline_tokenize(cmdline, strlen(cmdline), &t, &n, &n_kernel) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n_kernel; i++)
		if (t[i].has_value &&
		    cmdline_key_equal(cmdline + t[i].key_start, t[i].key_len, IDS_PARAM, strlen(IDS_PARAM))) {
			last = &t[i];
			count++;
		}
	if (!last)
		return 0;
	key = strndup(cmdline + last->key_start, last->key_len);
	value = strndup(cmdline + last->value_start, last->value_len);
	if (!key || !value) {
		free(key);
		free(value);
		return -ENOMEM;
	}
	*ret_key = key;
	*ret_value = value;
	*ret_count = count;
	if (ret_offset)
		*ret_offset = last->start;
	return 1;
}

/* One field: 1..max hex digits. */
static bool hex_field(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return true;
}

bool vfio_id_valid(const char *entry)
{
	/* vendor, device, subvendor, subdevice: 16 bits (the subsystem ones may be PCI_ANY_ID) */
	static const size_t max_digits[] = { 4, 4, 8, 8, 8, 8 };
	size_t field = 0;

	for (const char *p = entry;; field++) {
		size_t len = strcspn(p, ":");

		if (field >= ARRAY_SIZE(max_digits) || !hex_field(p, len, max_digits[field]))
			return false;
		if ((field == 2 || field == 3) && len > 4 && (len != 8 || strncasecmp(p, "ffffffff", 8) != 0))
			return false;
		if (!p[len])
			return field >= 1;
		p += len + 1;
	}
}

/* Calls fn for each non-empty comma-separated entry; stops at a negative return. */
static int entries_each(const char *list, int (*fn)(const char *entry, void *data), void *data)
{
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");

		if (len) {
			_cleanup_free_ char *e = strndup(p, len);
			int k = e ? fn(e, data) : -ENOMEM;

			if (k != 0)
				return k;
		}
		p += len + (p[len] == ',');
	}
	return 0;
}

static int add_if_invalid(const char *entry, void *data)
{
	return vfio_id_valid(entry) ? 0 : strv_add(data, entry);
}

int vfio_ids_invalid(const char *list, struct strv *ret)
{
	struct strv v = { 0 };
	int k = entries_each(list, add_if_invalid, &v);

	if (k < 0) {
		strv_clear(&v);
		return k;
	}
	*ret = v;
	return 0;
}

/* Both valid and the same numbers field by field. */
static bool id_same(const char *a, const char *b)
{
	if (!vfio_id_valid(a) || !vfio_id_valid(b))
		return strcmp(a, b) == 0;
	for (;;) {
		char *ea, *eb;
		unsigned long x = strtoul(a, &ea, 16), y = strtoul(b, &eb, 16);

		if (x != y || (*ea == ':') != (*eb == ':'))
			return false;
		if (*ea != ':')
			return true;
		a = ea + 1;
		b = eb + 1;
	}
}

struct has_data {
	const char *id;
	bool found;
};

static int match_entry(const char *entry, void *data)
{
	struct has_data *h = data;

	h->found = id_same(entry, h->id);
	return h->found;
}

bool vfio_ids_has(const char *list, const char *id)
{
	struct has_data h = { .id = id };

	entries_each(list, match_entry, &h);
	return h.found;
}

int vfio_ids_extend(const char *list, const struct strv *ids, char **ret)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	int changed = 0, k = strbuf_append(&sb, list, strlen(list));

	for (size_t i = 0; k >= 0 && i < ids->n; i++) {
		if (vfio_ids_has(strbuf_str(&sb), ids->v[i]))
			continue;
		k = strbuf_appendf(&sb, "%s%s", sb.len && sb.buf[sb.len - 1] != ',' ? "," : "", ids->v[i]);
		changed = 1;
	}
	if (k < 0 || !(*ret = strbuf_steal(&sb)))
		return -ENOMEM;
	return changed;
}
