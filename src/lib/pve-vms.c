/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pve-vms.c — Proxmox VE's VM configurations, read-only, from /etc/pve or from pmxcfs's
 * config.db. The one module that reads /etc/pve and the only one that talks SQL to config.db
 * (the journal module talks SQL to the journal). Must not write anything: config.db is opened
 * read-only, as an immutable file unless its WAL holds something.
 *
 * What was measured and read, not guessed:
 * - qemu-server's config parser (PVE::QemuServer::parse_vm_config) ends the current configuration
 *   at the first "[...]" section line: snapshots ("[name]"), "[PENDING]", "[special:cloudinit]";
 *   keys are "key: value" lines, '#' lines are the description.
 * - hostpciN is a property string (PVE::QemuServer::PCI, $hostpci_fmt): a default key "host" with
 *   HOSTPCIID[;HOSTPCIID...] where HOSTPCIID is [domain:]bus:dev[.func] (no .func: every function
 *   of the slot), or mapping=ID; then pcie=, x-vga=, rombar=, romfile=, mdev=, legacy-igd=,
 *   vendor-id= and the like.
 * - mapping/pci.cfg is a PVE::SectionConfig: an unindented "NAME" line, then indented property
 *   lines; each "map" line is one device on one node: "map id=V:D,iommugroup=N,node=NODE,
 *   path=0000:01:00[;...],subsystem-id=V:D"; qemu-server takes the entries whose node= is the
 *   current node (PVE::Mapping::PCI::find_on_current_node).
 * - pmxcfs keeps the whole of /etc/pve in config.db, table "tree" (src/pmxcfs/database.c in
 *   proxmox/pve-cluster): inode INTEGER PRIMARY KEY, parent, version, writer, mtime, type (4 a
 *   directory, 8 a file: DT_DIR, DT_REG), name TEXT, data BLOB; the root's children have parent 0;
 *   a VM's config is nodes/NODE/qemu-server/VMID.conf, NODE being the short host name. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pve-vms.h"
#include "strbuf.h"

#define PVE_DB_DIR "/var/lib/pve-cluster"
#define PVE_DB "/var/lib/pve-cluster/config.db"

void pve_vm_clear(struct pve_vm *vm)
{
	for (size_t i = 0; i < vm->n_pci; i++) {
		free(vm->pci[i].value);
		free(vm->pci[i].mapping);
		free(vm->pci[i].mdev);
		strv_clear(&vm->pci[i].slots);
	}
	free(vm->pci);
	free(vm->name);
	memset(vm, 0, sizeof(*vm));
}

void pve_vms_clear(struct pve_vms *v)
{
	for (size_t i = 0; i < v->n; i++)
		pve_vm_clear(&v->v[i]);
	free(v->v);
	free(v->node);
	strv_clear(&v->notes);
	memset(v, 0, sizeof(*v));
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

char *pve_pci_normalize(const char *id, size_t len)
{
	const char *colon = memchr(id, ':', len);
	size_t dom = 0;
	char buf[32];

	/* [domain:]bus:dev[.func]: the domain has 4 or more hex digits, bus and dev 2, func 1. */
	if (!colon || len >= sizeof(buf))
		return NULL;
	if (memchr(colon + 1, ':', len - (size_t)(colon + 1 - id))) {
		dom = (size_t)(colon - id) + 1;
		if (dom < 5 || !all_hex(id, dom - 1))
			return NULL;
	}
	if (len - dom != 5 && len - dom != 7)
		return NULL;
	if (!all_hex(id + dom, 2) || id[dom + 2] != ':' || !all_hex(id + dom + 3, 2) ||
	    (len - dom == 7 && (id[dom + 5] != '.' || !all_hex(id + dom + 6, 1))))
		return NULL;
	snprintf(buf, sizeof(buf), "%s%.*s", dom ? "" : "0000:", (int)len, id);
	for (char *c = buf; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return strdup(buf);
}

bool pve_pci_covers(const struct pve_pci *p, const char *slot)
{
	for (size_t i = 0; i < p->slots.n; i++) {
		size_t n = strlen(p->slots.v[i]);

		if (streq(p->slots.v[i], slot) || (!strchr(p->slots.v[i], '.') && !strncmp(p->slots.v[i], slot, n) &&
						     slot[n] == '.'))
			return true;
	}
	return false;
}

/* "a;b;c" → normalized addresses into slots; -EINVAL at the first that is none. */
static int add_ids(struct strv *slots, const char *v, size_t len)
{
	while (len) {
		const char *semi = memchr(v, ';', len);
		size_t n = semi ? (size_t)(semi - v) : len;
		_cleanup_free_ char *id = pve_pci_normalize(v, n);

		if (!id)
			return -EINVAL;
		if (strv_put(slots, id) < 0)
			return -ENOMEM;
		v += n;
		len -= n;
		if (semi) {
			v++;
			len--;
		}
	}
	return 0;
}

static bool bool_value(const char *v, size_t n)
{
	return (n == 1 && *v == '1') || (n == 3 && !strncmp(v, "yes", 3)) || (n == 2 && !strncmp(v, "on", 2)) ||
	       (n == 4 && !strncmp(v, "true", 4));
}

/* A hostpciN value: -EINVAL when it names no device it can read. */
static int parse_hostpci(const char *value, struct pve_pci *p)
{
	const char *s = value;
	bool first = true;

	while (*s) {
		size_t n = strcspn(s, ",");
		const char *eq = memchr(s, '=', n);
		size_t klen = eq ? (size_t)(eq - s) : 0;
		const char *v = eq ? eq + 1 : s;
		size_t vlen = eq ? n - klen - 1 : n;
		int k = 0;

		if (!eq && first)
			k = add_ids(&p->slots, v, vlen);
		else if (!eq)
			return -EINVAL;
		else if (klen == 4 && !strncmp(s, "host", 4))
			k = add_ids(&p->slots, v, vlen);
		else if (klen == 7 && !strncmp(s, "mapping", 7))
			k = (p->mapping = strndup(v, vlen)) ? 0 : -ENOMEM;
		else if (klen == 4 && !strncmp(s, "mdev", 4))
			k = (p->mdev = strndup(v, vlen)) ? 0 : -ENOMEM;
		else if (klen == 4 && !strncmp(s, "pcie", 4))
			p->pcie = bool_value(v, vlen);
		else if (klen == 5 && !strncmp(s, "x-vga", 5))
			p->x_vga = bool_value(v, vlen);
		/* rombar, romfile, legacy-igd, vendor-id, device-id, sub-*-id: nothing iommuctl needs. */
		if (k < 0)
			return k;
		first = false;
		s += n;
		if (*s == ',')
			s++;
	}
	return (p->slots.n || p->mapping) && !(p->slots.n && p->mapping) ? 0 : -EINVAL;
}

static int add_pci(struct pve_vm *vm, unsigned index, const char *value, struct strv *notes)
{
	struct pve_pci *nv = realloc(vm->pci, (vm->n_pci + 1) * sizeof(*nv));
	struct pve_pci *p;
	int k;

	if (!nv)
		return -ENOMEM;
	vm->pci = nv;
	p = &nv[vm->n_pci];
	*p = (struct pve_pci){ .index = index, .value = strdup(value) };
	if (!p->value)
		return -ENOMEM;
	k = parse_hostpci(value, p);
	if (k == -EINVAL) {
		free(p->value);
		free(p->mapping);
		free(p->mdev);
		strv_clear(&p->slots);
		return strv_addf(notes, "VM %u: hostpci%u: '%s' names neither a PCI address (0000:01:00.0, 01:00) nor "
			    "one mapping=, as qemu-server reads it; the line is left out", vm->vmid, index, value) < 0
			       ? -ENOMEM : -EINVAL;
	}
	vm->n_pci++;
	return k;
}

int pve_vm_parse(const char *text, unsigned vmid, struct pve_vm *ret, struct strv *notes)
{
	struct pve_vm vm = { .vmid = vmid };
	int r = 0;

	for (const char *l = text; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		_cleanup_free_ char *line = strndup(l, len);
		char *colon, *value, *key;
		int k = 0;

		l = end ? end + 1 : NULL;
		if (!line) {
			pve_vm_clear(&vm);
			return -ENOMEM;
		}
		while (len && isspace((unsigned char)line[len - 1]))
			line[--len] = '\0';
		/* The current configuration ends at the first section: a snapshot, [PENDING], [special:...]. */
		if (line[0] == '[')
			break;
		if (!line[0] || line[0] == '#' || !(colon = strchr(line, ':')))
			continue;
		*colon = '\0';
		key = line;
		value = colon + 1 + strspn(colon + 1, " \t");
		if (streq(key, "onboot"))
			vm.onboot = streq(value, "1");
		else if (streq(key, "template"))
			vm.is_template = streq(value, "1");
		else if (streq(key, "name"))
			k = (free(vm.name), vm.name = strdup(value)) ? 0 : -ENOMEM;
		else if (!strncmp(key, "hostpci", 7) && key[7] && strspn(key + 7, "0123456789") == strlen(key + 7))
			k = add_pci(&vm, (unsigned)strtoul(key + 7, NULL, 10), value, notes);
		if (k == -ENOMEM) {
			pve_vm_clear(&vm);
			return k;
		}
		if (k < 0)
			r = k;
	}
	*ret = vm;
	return r;
}

/* The paths of mapping name's entries for node in pci.cfg's text. */
static int mapping_paths(const char *cfg, const char *name, const char *node, struct strv *slots)
{
	bool in = false;

	for (const char *l = cfg; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		const char *t = l + strspn(l, " \t");
		size_t tl = len - (size_t)(t - l);

		if (len && !isspace((unsigned char)*l)) {
			/* A section header: the mapping's id, alone on its line. */
			size_t idl = strcspn(l, " \t\r\n");
			in = idl == strlen(name) && !strncmp(l, name, idl);
		} else if (in && tl > 4 && !strncmp(t, "map", 3) && (t[3] == ' ' || t[3] == '\t')) {
			_cleanup_free_ char *props = strndup(t + 4, tl - 4);
			char *save = NULL, *path = NULL;
			bool here = false;

			if (!props)
				return -ENOMEM;
			for (char *p = strtok_r(props, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
				p += strspn(p, " \t");
				p[strcspn(p, " \t\r")] = '\0';
				if (!strncmp(p, "node=", 5))
					here = node && streq(p + 5, node);
				else if (!strncmp(p, "path=", 5))
					path = p + 5;
			}
			if (here && path) {
				int k = add_ids(slots, path, strlen(path));

				if (k == -ENOMEM)
					return k;
			}
		}
		l = end ? end + 1 : NULL;
	}
	return 0;
}

int pve_vm_resolve_mappings(struct pve_vm *vm, const char *pci_cfg, const char *node)
{
	for (size_t i = 0; i < vm->n_pci; i++) {
		struct pve_pci *p = &vm->pci[i];

		if (!p->mapping)
			continue;
		if (pci_cfg && mapping_paths(pci_cfg, p->mapping, node, &p->slots) < 0)
			return -ENOMEM;
		p->unresolved = p->slots.n == 0;
	}
	return 0;
}

/* ---- reading: /etc/pve, or config.db ---- */

static int add_vm(struct pve_vms *ret, const char *file, const char *text, const char *pci_cfg)
{
	struct pve_vm vm, *nv;
	char *end;
	unsigned long id = strtoul(file, &end, 10);
	int k;

	if (end == file || !streq(end, ".conf"))
		return 0;
	k = pve_vm_parse(text, (unsigned)id, &vm, &ret->notes);
	if (k == -ENOMEM)
		return k;
	if (pve_vm_resolve_mappings(&vm, pci_cfg, ret->node) < 0 || !(nv = realloc(ret->v, (ret->n + 1) * sizeof(*nv)))) {
		pve_vm_clear(&vm);
		return -ENOMEM;
	}
	ret->v = nv;
	nv[ret->n++] = vm;
	return 0;
}

static int read_text_in_root(const struct rootfs *r, const char *path, char **ret, struct error *e)
{
	struct file_state fs = { 0 };
	int k = rootfs_read_file_in_root(r, path, &fs, e);

	*ret = NULL;
	if (k < 0 || !fs.present) {
		file_state_clear(&fs);
		return k;
	}
	*ret = fs.data ? fs.data : strdup("");
	fs.data = NULL;
	file_state_clear(&fs);
	return *ret ? 0 : -ENOMEM;
}

static bool exists(const struct rootfs *r, const char *path)
{
	struct stat st;

	return rootfs_stat(r, path, &st) == 0;
}

/* The short host name: pmxcfs names the node directory after it. */
static int read_node(const struct rootfs *r, struct pve_vms *ret, struct error *e)
{
	_cleanup_free_ char *text = NULL;
	int k = read_text_in_root(r, "/etc/hostname", &text, e);

	if (k < 0)
		return k;
	if (text) {
		text[strcspn(text, ".\r\n \t")] = '\0';
		if (*text && !(ret->node = strdup(text)))
			return -ENOMEM;
	}
	if (!ret->node)
		return strv_addf(&ret->notes, "/etc/hostname names no host, so this node's directory and mapping "
			    "entries cannot be told apart");
	return 0;
}

static int read_etc_pve(const struct rootfs *r, struct pve_vms *ret, struct error *e)
{
	_cleanup_free_ char *pci_cfg = NULL, *dir = NULL;
	char **names = NULL;
	size_t n = 0;
	int k;

	if (ret->node && asprintf(&dir, "/etc/pve/nodes/%s/qemu-server", ret->node) < 0)
		return -ENOMEM;
	if (!dir || !exists(r, dir)) {
		free(dir);
		/* pmxcfs's link to this node's directory (it needs no host name). */
		if (!(dir = strdup("/etc/pve/qemu-server")))
			return -ENOMEM;
	}
	if ((k = read_text_in_root(r, "/etc/pve/mapping/pci.cfg", &pci_cfg, e)) < 0)
		return k;
	if ((k = rootfs_list_dir_in_root(r, dir, ".conf", &names, &n, NULL, NULL, e)) < 0)
		return k;
	for (size_t i = 0; k == 0 && i < n; i++) {
		_cleanup_free_ char *path = NULL, *text = NULL;

		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			k = -ENOMEM;
			break;
		}
		k = read_text_in_root(r, path, &text, e);
		if (k == 0 && text)
			k = add_vm(ret, names[i], text, pci_cfg);
	}
	strv_free(names, n);
	return k;
}

/* config.db's rows as text: a NULL blob is an empty file. */
static char *column_text(sqlite3_stmt *st, int col)
{
	const void *b = sqlite3_column_blob(st, col);
	int n = sqlite3_column_bytes(st, col);

	return b ? strndup(b, (size_t)n) : strdup("");
}

static int db_fail(sqlite3 *db, const struct rootfs *r, const char *what, struct error *e)
{
	char shown[4096];

	return error_set(e, EXIT_IO, "%s: %s: %s; iommuctl reads it as pmxcfs writes it (table tree, see "
			 "iommuctl(8), PROXMOX VE VMS)", rootfs_display(r, PVE_DB, shown, sizeof(shown)), what,
			 db ? sqlite3_errmsg(db) : "out of memory"), -EIO;
}

/* nodes/NODE/qemu-server/ *.conf and mapping/pci.cfg from the tree table, by parent inode. */
static int read_db(const struct rootfs *r, sqlite3 *db, struct pve_vms *ret, struct error *e)
{
	static const char *const q_node =
		"SELECT n.name FROM tree n JOIN tree ns ON n.parent = ns.inode "
		"WHERE ns.parent = 0 AND ns.name = 'nodes' AND ns.type = 4 AND n.type = 4 AND ns.inode != 0";
	static const char *const q_confs =
		"SELECT f.name, f.data FROM tree f JOIN tree q ON f.parent = q.inode JOIN tree n ON q.parent = n.inode "
		"JOIN tree ns ON n.parent = ns.inode WHERE ns.parent = 0 AND ns.inode != 0 AND ns.name = 'nodes' "
		"AND ns.type = 4 AND n.name = ?1 AND n.type = 4 AND q.name = 'qemu-server' AND q.type = 4 AND f.type = 8 "
		"ORDER BY f.name";
	static const char *const q_pci =
		"SELECT f.data FROM tree f JOIN tree m ON f.parent = m.inode WHERE m.parent = 0 AND m.inode != 0 "
		"AND m.name = 'mapping' AND m.type = 4 AND f.name = 'pci.cfg' AND f.type = 8";
	_cleanup_free_ char *pci_cfg = NULL;
	sqlite3_stmt *st = NULL;
	int rc, k = 0;

	/* Without a host name: the only node there is, if there is only one. */
	if (!ret->node) {
		size_t nodes = 0;
		_cleanup_free_ char *only = NULL;

		if (sqlite3_prepare_v2(db, q_node, -1, &st, NULL) != SQLITE_OK)
			return db_fail(db, r, "cannot list nodes", e);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (nodes++ == 0)
				only = column_text(st, 0);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return db_fail(db, r, "cannot list nodes", e);
		if (nodes == 1)
			ret->node = TAKE_PTR(only);
		else
			return strv_addf(&ret->notes, "%s holds %zu nodes and /etc/hostname names none of them", PVE_DB, nodes);
	}
	if (sqlite3_prepare_v2(db, q_pci, -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, r, "cannot read mapping/pci.cfg", e);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW && !(pci_cfg = column_text(st, 0)))
		k = -ENOMEM;
	sqlite3_finalize(st);
	if (k < 0 || (rc != SQLITE_ROW && rc != SQLITE_DONE))
		return k < 0 ? k : db_fail(db, r, "cannot read mapping/pci.cfg", e);
	if (sqlite3_prepare_v2(db, q_confs, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, ret->node, -1, SQLITE_STATIC) != SQLITE_OK) {
		sqlite3_finalize(st);
		return db_fail(db, r, "cannot read the VM configurations", e);
	}
	while (k == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		_cleanup_free_ char *text = column_text(st, 1);

		k = !name || !text ? -ENOMEM : add_vm(ret, name, text, pci_cfg);
	}
	sqlite3_finalize(st);
	if (k == 0 && rc != SQLITE_DONE)
		return db_fail(db, r, "cannot read the VM configurations", e);
	return k;
}

/* Open config.db through a directory fd confined to the root, read-only: as an immutable file
 * when its WAL is empty or gone (nothing else writes it under a rescue system, and immutable
 * needs no -shm, so a read-only mount works); else in WAL mode so that the WAL is read too. */
static int open_db(const struct rootfs *r, bool immutable, int *ret_dirfd, sqlite3 **ret, struct error *e)
{
	_cleanup_free_ char *uri = NULL;
	int dirfd = -1, k;

	k = rootfs_open_dir(r, PVE_DB_DIR, false, 0, ROOTFS_LINKS_IN_ROOT, &dirfd, e);
	if (k < 0)
		return k;
	if (asprintf(&uri, "file:/proc/self/fd/%d/config.db?%s", dirfd, immutable ? "immutable=1" : "mode=ro") < 0) {
		close(dirfd);
		return -ENOMEM;
	}
	if (sqlite3_open_v2(uri, ret, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
		k = db_fail(*ret, r, "cannot be opened read-only", e);
		sqlite3_close(*ret);
		*ret = NULL;
		close(dirfd);
		return k;
	}
	*ret_dirfd = dirfd;
	return 0;
}

static int read_db_file(const struct rootfs *r, bool immutable, struct pve_vms *v, struct error *e)
{
	sqlite3 *db = NULL;
	int dirfd = -1, k;

	k = open_db(r, immutable, &dirfd, &db, e);
	if (k == 0)
		k = read_db(r, db, v, e);
	sqlite3_close(db);
	if (dirfd >= 0)
		close(dirfd);
	return k;
}

int pve_vms_read(const struct rootfs *r, struct pve_vms *ret, struct error *e)
{
	struct pve_vms v = { 0 };
	int k;

	k = read_node(r, &v, e);
	/* /etc/pve is pmxcfs's mount on a running host; from a rescue system it is an empty directory. */
	if (k == 0 && (exists(r, "/etc/pve/nodes") || exists(r, "/etc/pve/qemu-server") || exists(r, "/etc/pve/.version"))) {
		v.source = "/etc/pve";
		k = read_etc_pve(r, &v, e);
	} else if (k == 0 && exists(r, PVE_DB)) {
		struct stat wal;
		bool immutable = rootfs_stat(r, PVE_DB "-wal", &wal) < 0 || wal.st_size == 0;

		v.source = PVE_DB;
		k = read_db_file(r, immutable, &v, e);
		/* WAL mode needs the -shm index, which a read-only mount without one cannot get: read
		 * config.db alone then, and say that the WAL's last changes were not read. */
		if (k == -EIO && !immutable) {
			struct error e2 = { 0 };
			char shown[4096];

			pve_vms_clear(&v);
			k = read_node(r, &v, &e2);
			v.source = PVE_DB;
			if (k == 0)
				k = read_db_file(r, true, &v, &e2);
			if (k == 0)
				k = strv_addf(&v.notes, "%s-wal (%lld bytes) could not be read (%s), so the last changes pmxcfs "
					 "made may be missing: mount the root read-write, or start pmxcfs once to fold it in",
					 rootfs_display(r, PVE_DB, shown, sizeof(shown)), (long long)wal.st_size, e->text);
			if (k < 0)
				*e = e2;
		}
	}
	if (k == -ENOMEM)
		error_set(e, EXIT_IO, "out of memory");
	if (k < 0) {
		pve_vms_clear(&v);
		return k;
	}
	*ret = v;
	return 0;
}
