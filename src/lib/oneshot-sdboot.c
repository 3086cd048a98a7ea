/* SPDX-License-Identifier: GPL-2.0-or-later */
/* oneshot-sdboot.c — the trial boot on systemd-boot, plain or through proxmox-boot-tool: a Type #1
 *  loader entry on each ESP (loader/entries/iommuctl-trial-TXN.conf, the default entry's kernel,
 *  initrd and options with the trial's additions) and LoaderEntryOneShot naming it, which
 *  systemd-boot deletes when it reads it, so only the next boot runs the trial.
 *  Owns: finding and mounting the ESPs, the entries' order as systemd-boot 252 sorts them, the
 *  kernel pin of proxmox-boot-tool hosts (the EFI variables themselves: efivar.c). Must not:
 *  touch the existing entries, loader.conf or the managed files; rely on loader.conf's
 *  "default" (proxmox-boot-tool rewrites it on refresh). */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "efivar.h"
#include "macros.h"
#include "oneshot.h"
#include "strbuf.h"

#define LOADER_GUID EFIVAR_LOADER_GUID
#define EFIVARS "firmware/efi/efivars"
/* proxmox-boot-tool (proxmox-kernel-helper, /usr/share/proxmox-kernel-helper/scripts/functions):
 * the ESPs it keeps, where it mounts them, and the kernels kernel_keep_versions() always keeps
 * besides the running one, the newest two and the pins (proxmox-boot-pin, next-boot-pin). */
#define PMX_ESP_LIST "/etc/kernel/proxmox-boot-uuids"
#define PMX_MOUNTROOT "/var/tmp/espmounts"
#define PMX_MANUAL_KERNELS "/etc/kernel/proxmox-boot-manual-kernels"
#define PMX_ESP_DIR "/EFI/proxmox/"
#define ENTRY_PREFIX "iommuctl-trial-"
/* error_set() returns the exit code; these return the negative errno callers test for. */
#define REFUSE(e, ...) (error_set((e), EXIT_REFUSED, __VA_ARGS__), -EOPNOTSUPP)
#define NOMEM(e) (error_set((e), EXIT_IO, "out of memory"), -ENOMEM)
#define FAIL_ERRNO(e, code, err, ...) ({ int _err = (err); error_set_errno((e), (code), _err, __VA_ARGS__); -_err; })
#define PIN_MARK "# iommuctl: pinned in " PMX_MANUAL_KERNELS ": "

/* ---- the ESPs ---- */

struct esp {
	const struct rootfs *fs;	/* where dir is opened: the root, or the root seen from the
					 * private mount namespace that holds the ESP mounts */
	char *dir;		/* the ESP's root, absolute inside --root */
	char *label;		/* for messages: "ESP UUID (mounted on …)" or "/boot/efi" */
};

struct esps {
	struct esp *v;
	size_t n;
	bool pmx;		/* proxmox-boot-tool's ESPs (the kernel pin applies) */
	struct rootfs *ns_root;	/* the root opened again after unshare(CLONE_NEWNS): a directory
				 * fd opened before it still resolves in the old namespace, where
				 * the ESP is not mounted and mount(2) refuses it as a target */
};

static void esps_clear(struct esps *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].dir);
		free(s->v[i].label);
	}
	free(s->v);
	rootfs_free(s->ns_root);
	memset(s, 0, sizeof(*s));
}

static int esps_add(struct esps *s, const struct rootfs *fs, const char *dir, const char *label)
{
	struct esp *v = realloc(s->v, (s->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	s->v = v;
	v[s->n].fs = fs;
	v[s->n].dir = strdup(dir);
	v[s->n].label = strdup(label);
	if (!v[s->n].dir || !v[s->n].label)
		return -ENOMEM;
	s->n++;
	return 0;
}

/* Whether dir (inside the root) holds a systemd-boot ESP: loader/entries or loader/loader.conf. */
static bool esp_looks_like(const struct rootfs *r, const char *dir)
{
	char p[4200];
	int fd;

	snprintf(p, sizeof(p), "%s/loader", dir);
	fd = rootfs_openat(r, p, O_PATH | O_DIRECTORY, 0, ROOTFS_LINKS_IN_ROOT);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Enter a private mount namespace once per process (unshare --mount --propagation private, as
 * proxmox-boot-tool's reexec_in_mountns), and open the root again from inside it. */
static int esps_unshare(const struct rootfs *r, struct esps *s, struct error *e)
{
	static bool unshared;

	if (!unshared) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			return FAIL_ERRNO(e, EXIT_IO, errno,
					  "cannot enter a private mount namespace to mount the ESPs: %s (iommuctl must "
					  "run as root)", strerror(errno));
		unshared = true;
	}
	if (!s->ns_root)
		return rootfs_open(r->path, &s->ns_root, e);
	return 0;
}

/* A proxmox-boot-tool ESP: mounted at /var/tmp/espmounts/UUID like proxmox-boot-tool mounts it,
 * inside the private mount namespace, so that nobody else sees it and it goes away with this
 * process. One already mounted there is used as it is. */
static int esp_mount_pmx(const struct rootfs *nr, const char *uuid, char *dir, size_t size, struct error *e)
{
	char dev[4096], src[64], tgt[64], shown[4096];
	_cleanup_close_ int dirfd = -1, devfd = -1;
	struct statx stx;
	int k;

	snprintf(dir, size, PMX_MOUNTROOT "/%s", uuid);
	k = rootfs_open_dir(nr, dir, true, 0755, ROOTFS_NO_LINKS, &dirfd, e);
	if (k < 0)
		return k;
	if (statx(dirfd, "", AT_EMPTY_PATH, 0, &stx) == 0 && (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return 0;
	snprintf(dev, sizeof(dev), "/dev/disk/by-uuid/%s", uuid);
	devfd = rootfs_openat(nr, dev, O_PATH | O_CLOEXEC, 0, ROOTFS_LINKS_IN_ROOT);
	if (devfd < 0)
		return REFUSE(e,
			      "%s lists the ESP %s, but %s does not exist: the disk is missing or the UUID is "
			      "stale; run 'proxmox-boot-tool status' and 'proxmox-boot-tool clean', then try again",
			      PMX_ESP_LIST, uuid, rootfs_display(nr, dev, shown, sizeof(shown)));
	snprintf(src, sizeof(src), "/proc/self/fd/%d", devfd);
	snprintf(tgt, sizeof(tgt), "/proc/self/fd/%d", dirfd);
	if (mount(src, tgt, "vfat", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return FAIL_ERRNO(e, EXIT_IO, errno, "cannot mount the ESP %s (%s, vfat) on %s: %s",
				  uuid, dev, rootfs_display(nr, dir, shown, sizeof(shown)), strerror(errno));
	return 0;
}

/* The ESPs the entries go to: each one proxmox-boot-tool lists, or the one bootctl would find
 * (the first of /efi, /boot, /boot/efi that holds loader/, bootctl 252's search order). */
static int esps_find(const struct rootfs *r, const struct bootloader *b, struct esps *ret, struct error *e)
{
	static const char *const plain[] = { "/efi", "/boot", "/boot/efi" };
	struct file_state list = { 0 };
	char dir[4096], label[4200];
	int k;

	if (b->kind == BOOT_PROXMOX_SYSTEMD_BOOT) {
		ret->pmx = true;
		k = rootfs_read_file(r, PMX_ESP_LIST, &list, e);
		if (k < 0)
			return k;
		for (char *line = list.data, *next; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			line[strcspn(line, " \t\r#")] = '\0';
			if (!*line)
				continue;
			k = esps_unshare(r, ret, e);
			if (k == 0)
				k = esp_mount_pmx(ret->ns_root, line, dir, sizeof(dir), e);
			if (k < 0)
				break;
			if (!esp_looks_like(ret->ns_root, dir)) {
				k = REFUSE(e,
					      "the ESP %s (listed in %s) has no loader/ directory: it is not set up for "
					      "systemd-boot; run 'proxmox-boot-tool refresh' and try again", line, PMX_ESP_LIST);
				break;
			}
			snprintf(label, sizeof(label), "ESP %s", line);
			k = esps_add(ret, ret->ns_root, dir, label);
			if (k < 0)
				break;
		}
		file_state_clear(&list);
		if (k < 0)
			return k == -ENOMEM ? NOMEM(e) : k;
		if (ret->n == 0)
			return REFUSE(e,
					 "%s lists no ESP: proxmox-boot-tool has nothing to boot from; run "
					 "'proxmox-boot-tool status'", PMX_ESP_LIST);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
		if (esp_looks_like(r, plain[i]))
			return esps_add(ret, r, plain[i], plain[i]) < 0 ? NOMEM(e) : 0;
	return REFUSE(e,
			 "no ESP with systemd-boot's loader/ directory is mounted at /efi, /boot or /boot/efi: "
			 "mount the ESP there (as bootctl expects) and try again");
}

/* ---- loader entries as systemd-boot 252 reads them ---- */

struct entry {
	char *id;		/* the file name, counter included, lower case: what LoaderEntry* name */
	char *text;
	char *sort_key, *machine_id, *version, *kernel;	/* kernel: the "linux" key */
	int tries_left;		/* -1: no boot counter */
};

static void entries_free(struct entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].text);
		free(v[i].sort_key);
		free(v[i].machine_id);
		free(v[i].version);
		free(v[i].kernel);
	}
	free(v);
}

/* The value of the first "key value" line for key (first wins, as in systemd-boot). */
static char *entry_value(const char *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *v, *end;

		while (*l == ' ' || *l == '\t')
			l++;
		if (strncmp(l, key, kl) != 0 || (l[kl] != ' ' && l[kl] != '\t'))
			continue;
		for (v = l + kl; *v == ' ' || *v == '\t'; v++)
			;
		end = strchrnul(v, '\n');
		while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			end--;
		return strndup(v, (size_t)(end - v));
	}
	return NULL;
}

/* "+LEFT[-DONE]" before ".conf": systemd-boot's boot counter. */
static int entry_tries_left(const char *name)
{
	const char *plus = strrchr(name, '+'), *p;
	int left = 0;

	if (!plus)
		return -1;
	for (p = plus + 1; *p >= '0' && *p <= '9'; p++)
		left = left * 10 + (*p - '0');
	if (p == plus + 1)
		return -1;
	if (*p == '-')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	return strcmp(p, ".conf") == 0 ? left : -1;
}

/* systemd-boot 252's boot_entry_compare(): entries without tries left last; entries with a
 * sort-key before those without, ordered by sort-key, machine-id, then newest version first;
 * then newest id first. (glibc's strverscmp stands in for systemd's strverscmp_improved; they
 * agree on the names kernel-install and proxmox-boot-tool write.) */
static int entry_cmp(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int k;

	if ((a->tries_left == 0) != (b->tries_left == 0))
		return a->tries_left == 0 ? 1 : -1;
	if (!a->sort_key != !b->sort_key)
		return a->sort_key ? -1 : 1;
	if (a->sort_key) {
		k = strcmp(a->sort_key, b->sort_key);
		if (k)
			return k;
		k = strcmp(a->machine_id ? a->machine_id : "", b->machine_id ? b->machine_id : "");
		if (k)
			return k;
		k = strverscmp(a->version ? a->version : "", b->version ? b->version : "");
		if (k)
			return -k;
	}
	return -strverscmp(a->id, b->id);
}

/* Every .conf in the ESP's loader/entries, in systemd-boot's order. */
static int entries_load(const struct rootfs *r, const struct esp *esp, struct entry **ret, size_t *ret_n,
			struct error *e)
{
	char dir[4096], path[4400];
	char **names = NULL;
	size_t n = 0, m = 0;
	struct entry *v;
	int k;

	snprintf(dir, sizeof(dir), "%s/loader/entries", esp->dir);
	k = rootfs_list_dir_in_root(esp->fs, dir, ".conf", &names, &n, NULL, NULL, e);
	if (k < 0)
		return k;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		strv_free(names, n);
		return NOMEM(e);
	}
	for (size_t i = 0; i < n; i++) {
		struct file_state fs = { 0 };

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		k = rootfs_read_file_in_root(esp->fs, path, &fs, e);
		if (k < 0)
			break;
		if (!fs.present)
			continue;
		v[m].text = TAKE_PTR(fs.data);
		file_state_clear(&fs);
		v[m].id = strdup(names[i]);
		for (char *c = v[m].id; c && *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		v[m].sort_key = entry_value(v[m].text, "sort-key");
		v[m].machine_id = entry_value(v[m].text, "machine-id");
		v[m].version = entry_value(v[m].text, "version");
		v[m].kernel = entry_value(v[m].text, "linux");
		v[m].tries_left = entry_tries_left(names[i]);
		m++;
	}
	strv_free(names, n);
	if (k < 0) {
		entries_free(v, m);
		return k;
	}
	qsort(v, m, sizeof(*v), entry_cmp);
	*ret = v;
	*ret_n = m;
	return 0;
}

/* The entry systemd-boot boots when nobody picks one: LoaderEntryDefault (bootctl set-default),
 * else loader.conf's "default" pattern, else the first in its order. -1 when there is none. */
static ssize_t entries_default(const struct rootfs *r, const struct oneshot_env *env, const struct esp *esp,
			       const struct entry *v, size_t n)
{
	_cleanup_free_ char *var = NULL, *pattern = NULL;
	struct file_state conf = { 0 };
	struct error ignored = { 0 };
	char path[4200];

	if (efivar_read_string(env->sysfs, "LoaderEntryDefault", &var) == 0)
		for (size_t i = 0; i < n; i++)
			if (fnmatch(var, v[i].id, FNM_CASEFOLD) == 0)
				return (ssize_t)i;
	snprintf(path, sizeof(path), "%s/loader/loader.conf", esp->dir);
	if (rootfs_read_file_in_root(esp->fs, path, &conf, &ignored) == 0 && conf.present) {
		pattern = entry_value(conf.data, "default");
		file_state_clear(&conf);
	}
	if (pattern)
		for (size_t i = 0; i < n; i++)
			if (fnmatch(pattern, v[i].id, FNM_CASEFOLD) == 0)
				return (ssize_t)i;
	return n ? 0 : -1;
}

/* The trial entry: the default entry without its title and sort-key (an entry with a sort-key
 * sorts before every one without: the trial must never become the default by its position),
 * a title that says what it is, and one more options line (systemd-boot joins options lines
 * with a space). */
static char *entry_trial_text(const struct entry *def, const struct trial_boot *t, const char *pinned)
{
	_cleanup_free_ char *title = entry_value(def->text, "title");
	struct strbuf sb = { 0 };

	strbuf_appendf(&sb, "# iommuctl trial boot of transaction %lld, copied from %s; removed by commit or "
			    "rollback (iommuctl(8), TRIAL BOOT)\n", (long long)t->txn, def->id);
	if (pinned)
		strbuf_appendf(&sb, PIN_MARK "%s\n", pinned);
	strbuf_appendf(&sb, "title %s (iommuctl trial %lld)\n", title ? title : def->id, (long long)t->txn);
	for (const char *l = def->text; l && *l;) {
		const char *end = strchrnul(l, '\n'), *k = l;

		while (*k == ' ' || *k == '\t')
			k++;
		if (strncmp(k, "title", 5) != 0 && strncmp(k, "sort-key", 8) != 0 && end > l) {
			strbuf_append(&sb, l, (size_t)(end - l));
			strbuf_appendc(&sb, '\n');
		}
		l = *end ? end + 1 : end;
	}
	strbuf_appendf(&sb, "options %s\n", t->cmdline_add);
	return strbuf_steal(&sb);
}

/* ---- the kernel pin on proxmox-boot-tool hosts ---- */

/* "6.8.12-4-pve" from "/EFI/proxmox/6.8.12-4-pve/vmlinuz-6.8.12-4-pve". */
static char *pmx_kernel_of(const char *linux_path)
{
	const char *p = strstr(linux_path, PMX_ESP_DIR);

	if (!p)
		return NULL;
	p += strlen(PMX_ESP_DIR);
	return strndup(p, strcspn(p, "/"));
}

/* Add or remove kver as a line of the manual kernel list. *changed says whether it did. */
static int pmx_pin(const struct rootfs *r, const char *kver, bool add, bool *changed, struct error *e)
{
	struct file_state fs = { 0 }, target = { 0 };
	struct strbuf sb = { 0 };
	bool found = false;
	_cleanup_close_ int dirfd = -1;
	int k;

	*changed = false;
	k = rootfs_read_file(r, PMX_MANUAL_KERNELS, &fs, e);
	if (k < 0)
		return k;
	for (const char *l = fs.data; l && *l;) {
		const char *end = strchrnul(l, '\n');
		bool same = (size_t)(end - l) == strlen(kver) && strncmp(l, kver, (size_t)(end - l)) == 0;

		found |= same;
		if (!(same && !add) && end > l) {
			strbuf_append(&sb, l, (size_t)(end - l));
			strbuf_appendc(&sb, '\n');
		}
		l = *end ? end + 1 : end;
	}
	if (found == add) {
		strbuf_release(&sb);
		file_state_clear(&fs);
		return 0;
	}
	if (add)
		strbuf_appendf(&sb, "%s\n", kver);
	{
		char *data = strbuf_steal(&sb);

		if (!data) {
			file_state_clear(&fs);
			return NOMEM(e);
		}
		file_state_set_content(&target, data, strlen(data));
	}
	target.mode = fs.present ? fs.mode : 0644;
	target.uid = fs.present ? fs.uid : 0;
	target.gid = fs.present ? fs.gid : 0;
	file_state_clear(&fs);
	k = rootfs_open_dir(r, "/etc/kernel", true, 0755, ROOTFS_NO_LINKS, &dirfd, e);
	if (k == 0)
		k = rootfs_replace_at(r, dirfd, PMX_MANUAL_KERNELS, &target, e);
	if (k == 0 && fsync(dirfd) < 0)
		k = FAIL_ERRNO(e, EXIT_IO, errno, "cannot sync /etc/kernel: %s", strerror(errno));
	file_state_clear(&target);
	if (k == 0)
		*changed = true;
	return k;
}

/* ---- writing on the ESP (vfat: no owners or modes to keep) ---- */

static int esp_write(const struct rootfs *r, const struct esp *esp, const char *name, const char *text,
		     struct error *e)
{
	char dir[4096], tmp[512], shown[4096];
	_cleanup_close_ int dirfd = -1, fd = -1;
	size_t len = strlen(text);
	int k;

	snprintf(dir, sizeof(dir), "%s/loader/entries", esp->dir);
	k = rootfs_open_dir(esp->fs, dir, true, 0755, ROOTFS_LINKS_IN_ROOT, &dirfd, e);
	if (k < 0)
		return k;
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	(void)unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0 ||
	    fsync(dirfd) < 0) {
		k = errno ? errno : EIO;
		(void)unlinkat(dirfd, tmp, 0);
		return FAIL_ERRNO(e, exit_code_for_errno(-k), k, "cannot write %s/%s on %s: %s",
				       rootfs_display(esp->fs, dir, shown, sizeof(shown)), name, esp->label, strerror(k));
	}
	return 0;
}

/* The trial entry's text on an ESP (NULL when absent), and remove it. */
static int esp_remove(const struct rootfs *r, const struct esp *esp, const char *name, char **ret_text,
		      struct error *e)
{
	char dir[4096], path[4400], shown[4096];
	struct file_state fs = { 0 };
	_cleanup_close_ int dirfd = -1;
	int k;

	*ret_text = NULL;
	snprintf(dir, sizeof(dir), "%s/loader/entries", esp->dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	k = rootfs_read_file_in_root(esp->fs, path, &fs, e);
	if (k < 0 || !fs.present)
		return k;
	*ret_text = TAKE_PTR(fs.data);
	file_state_clear(&fs);
	k = rootfs_open_dir(esp->fs, dir, false, 0755, ROOTFS_LINKS_IN_ROOT, &dirfd, e);
	if (k < 0)
		return k;
	if ((unlinkat(dirfd, name, 0) < 0 && errno != ENOENT) || fsync(dirfd) < 0)
		return FAIL_ERRNO(e, EXIT_IO, errno, "cannot remove %s on %s: %s",
				       rootfs_display(esp->fs, path, shown, sizeof(shown)), esp->label, strerror(errno));
	return 0;
}

/* ---- the back end ---- */

/* UEFI boot, efivarfs mounted, and this boot started by systemd-boot (it sets LoaderInfo): the
 * only case where LoaderEntryOneShot is read at the next boot. */
static int check_firmware(const struct oneshot_env *env, struct error *e)
{
	char path[4096];
	_cleanup_free_ char *info = NULL;
	struct stat st;
	DIR *d;
	bool empty = true;
	int k;

	snprintf(path, sizeof(path), "%s/firmware/efi", env->sysfs);
	if (stat(path, &st) < 0)
		return REFUSE(e,
				 "%s does not exist: this boot did not start by UEFI, so there is no NVRAM for "
				 "systemd-boot's LoaderEntryOneShot; a trial boot on systemd-boot needs the host "
				 "booted by UEFI (or use 'iommuctl apply' without --trial)", path);
	snprintf(path, sizeof(path), "%s/" EFIVARS, env->sysfs);
	d = opendir(path);
	if (d) {
		struct dirent *de;

		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.') {
				empty = false;
				break;
			}
		closedir(d);
	}
	if (empty)
		return REFUSE(e,
				 "%s is missing or empty: efivarfs is not mounted, so the EFI variables cannot be "
				 "read or set; run 'mount -t efivarfs efivarfs /sys/firmware/efi/efivars' and try "
				 "again", path);
	k = efivar_read_string(env->sysfs, "LoaderInfo", &info);
	if (k < 0)
		return REFUSE(e,
				 "the EFI variable LoaderInfo-" LOADER_GUID " is %s: this boot was not started by "
				 "systemd-boot, and only systemd-boot reads LoaderEntryOneShot; boot through "
				 "systemd-boot or use 'iommuctl apply' without --trial",
				 k == -ENOENT ? "not set" : strerror(-k));
	return 0;
}

/* What arm filled before it failed. (oneshot.c's oneshot_armed_clear() is its caller's: this file
 * does not call back up into the dispatcher.) */
static void armed_release(struct oneshot_armed *a)
{
	free(a->where);
	free(a->entry_id);
	strv_clear(&a->files);
	strv_clear(&a->notes);
	memset(a, 0, sizeof(*a));
}

int oneshot_sdboot_check(const struct rootfs *r, const struct bootloader *b, const struct oneshot_env *env,
			 char **ret_where, struct error *e)
{
	struct esps esps = { 0 };
	struct strbuf sb = { 0 };
	int k;

	k = check_firmware(env, e);
	if (k == 0)
		k = esps_find(r, b, &esps, e);
	if (k == 0 && ret_where) {
		strbuf_appends(&sb, "systemd-boot LoaderEntryOneShot (EFI variable), entry on ");
		for (size_t i = 0; i < esps.n; i++)
			strbuf_appendf(&sb, "%s%s", i ? ", " : "", esps.v[i].label);
		*ret_where = strbuf_steal(&sb);
	}
	esps_clear(&esps);
	return k;
}

int oneshot_sdboot_arm(const struct rootfs *r, const struct bootloader *b, const struct oneshot_env *env,
		       const struct trial_boot *t, struct oneshot_armed *ret, struct error *e)
{
	struct esps esps = { 0 };
	_cleanup_free_ char *kver = NULL;
	char name[64], path[4400], note[512];
	bool pinned = false;
	size_t written = 0;
	int k;

	memset(ret, 0, sizeof(*ret));
	snprintf(name, sizeof(name), ENTRY_PREFIX "%lld.conf", (long long)t->txn);
	k = check_firmware(env, e);
	if (k == 0)
		k = esps_find(r, b, &esps, e);
	for (size_t i = 0; k == 0 && i < esps.n; i++) {
		struct entry *v = NULL;
		size_t n = 0;
		ssize_t d;
		_cleanup_free_ char *text = NULL;

		k = entries_load(r, &esps.v[i], &v, &n, e);
		if (k < 0)
			break;
		d = entries_default(r, env, &esps.v[i], v, n);
		if (d < 0 || !v[d].kernel) {
			k = REFUSE(e,
				      d < 0 ? "%s has no loader entry in loader/entries to copy for the trial; run "
					      "'proxmox-boot-tool refresh' (or kernel-install) first"
					    : "the default entry on %s boots an EFI image, not a kernel with a command "
					      "line: a trial cannot add parameters to it",
				      esps.v[i].label);
		} else {
			if (esps.pmx && !kver && (kver = pmx_kernel_of(v[d].kernel)) != NULL && i == 0)
				k = pmx_pin(r, kver, true, &pinned, e);
			text = entry_trial_text(&v[d], t, pinned ? kver : NULL);
			if (k == 0 && !text)
				k = NOMEM(e);
			if (k == 0)
				k = esp_write(r, &esps.v[i], name, text, e);
			if (k == 0) {
				written++;
				snprintf(path, sizeof(path), "%s/loader/entries/%s", esps.v[i].dir, name);
				strv_add(&ret->files, path);
				if (i == 0) {
					snprintf(note, sizeof(note), "the trial entry copies %s on %s", v[d].id,
						 esps.v[i].label);
					strv_add(&ret->notes, note);
				}
			}
		}
		entries_free(v, n);
	}
	if (k == 0) {
		k = efivar_write_ascii(env->sysfs, "LoaderEntryOneShot", name);
		if (k < 0)
			k = FAIL_ERRNO(e, exit_code_for_errno(k), -k,
					    "cannot set the EFI variable LoaderEntryOneShot-" LOADER_GUID " in %s/" EFIVARS
					    ": %s; nothing is armed", env->sysfs, strerror(-k));
	}
	if (k == 0) {
		char *where;

		if (pinned) {
			snprintf(note, sizeof(note), "kernel %s is kept on the ESPs while the trial is pending (a "
				 "line in %s, removed again by commit or rollback)", kver, PMX_MANUAL_KERNELS);
			strv_add(&ret->notes, note);
		}
		if (asprintf(&where, "systemd-boot LoaderEntryOneShot=%s (EFI variable) on %zu ESP%s", name, esps.n,
			     esps.n == 1 ? "" : "s") < 0)
			where = NULL;
		ret->where = where;
		ret->entry_id = strdup(name);
		esps_clear(&esps);
		return 0;
	}
	/* Nothing left behind: the entries written so far and the pin. */
	for (size_t i = 0; i < written; i++) {
		_cleanup_free_ char *old = NULL;
		struct error ignored = { 0 };

		(void)esp_remove(r, &esps.v[i], name, &old, &ignored);
	}
	if (pinned) {
		struct error ignored = { 0 };
		bool changed;

		(void)pmx_pin(r, kver, false, &changed, &ignored);
	}
	esps_clear(&esps);
	armed_release(ret);
	return k;
}

int oneshot_sdboot_disarm(const struct rootfs *r, const struct bootloader *b, const struct oneshot_env *env,
			  int64_t txn, struct error *e)
{
	struct esps esps = { 0 };
	_cleanup_free_ char *unpin = NULL, *oneshot = NULL;
	char name[64];
	int k;

	snprintf(name, sizeof(name), ENTRY_PREFIX "%lld.conf", (long long)txn);
	/* The one-shot first: an entry removed under a one-shot that still names it would leave
	 * systemd-boot falling back to its default, which is right, but say nothing stale. */
	if (efivar_read_string(env->sysfs, "LoaderEntryOneShot", &oneshot) == 0 && strcasecmp(oneshot, name) == 0) {
		k = efivar_remove(env->sysfs, "LoaderEntryOneShot");
		if (k < 0)
			return FAIL_ERRNO(e, exit_code_for_errno(k), -k,
					       "cannot remove the EFI variable LoaderEntryOneShot-" LOADER_GUID
					       " (it still names %s): %s", name, strerror(-k));
	}
	k = esps_find(r, b, &esps, e);
	for (size_t i = 0; k == 0 && i < esps.n; i++) {
		_cleanup_free_ char *text = NULL;

		k = esp_remove(r, &esps.v[i], name, &text, e);
		if (k == 0 && text && !unpin) {
			char *p = strstr(text, PIN_MARK);

			if (p)
				unpin = strndup(p + strlen(PIN_MARK), strcspn(p + strlen(PIN_MARK), "\n"));
		}
	}
	if (k == 0 && unpin) {
		bool changed;

		k = pmx_pin(r, unpin, false, &changed, e);
	}
	esps_clear(&esps);
	return k;
}
