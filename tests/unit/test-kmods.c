/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-kmods.c — kmods against Debian's real 6.1 and 6.12 module trees (from tests/kernels/fetch-kernels.sh). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libkmod.h>

#include "kmods.h"
#include "macros.h"
#include "rootfs.h"
#include "tap.h"

/*
 * argv[1] is a root whose /lib/modules holds Debian 12's linux-image-6.1.0-N-amd64
 * and linux-image-6.12.N+deb12-amd64, indexed by the real depmod. Every expected
 * answer below was first asked of kmod's own tools on the same trees
 * (`modprobe -d ROOT -S KVER -R MODALIAS`, `modinfo -b ROOT -k KVER`).
 */

/* Real modaliases, as the kernel writes them to /sys/bus/pci/devices/X/modalias. */
#define MA_NVIDIA_GP104 "pci:v000010DEd00001B80sv00001458sd00003702bc03sc00i00"	/* GTX 1080 (Gigabyte) */
#define MA_NVIDIA_HDMI  "pci:v000010DEd000010F0sv00001458sd00003702bc04sc03i00"	/* its HDMI audio function */
#define MA_INTEL_HDA    "pci:v00008086d0000A170sv00001028sd000007A1bc04sc03i00"	/* Sunrise Point-H HD Audio */
#define MA_ICH9_AHCI    "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01"	/* ICH9 AHCI, as QEMU q35 has it */
#define MA_SAMSUNG_NVME "pci:v0000144Dd0000A808sv0000144Dsd0000A801bc01sc08i02"	/* Samsung 970 EVO */
#define MA_NOBODY       "pci:v0000FFFEd0000FFFEsv00000000sd00000000bcFEscFEiFE"	/* no driver claims this */

static size_t strv_count(char **v, size_t n, const char *s)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += streq(v[i], s);
	return c;
}

/* Index of s in v, or -1. */
static long strv_index(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (streq(v[i], s))
			return (long)i;
	return -1;
}

static void show_list(const char *what, char **v, size_t n, const bool *black)
{
	printf("#   %s:", what);
	for (size_t i = 0; i < n; i++)
		printf(" %s%s", v[i], black && black[i] ? "(blacklisted)" : "");
	printf("\n");
}

/* Resolve a modalias; say whether `want` is among the modules, exactly once, and whether it is blacklisted.
 * Returns 1 found, 0 not found, -1 error; *ret_black gets its blacklist flag. */
static int resolves_to(struct kmods *k, const char *modalias, const char *want, bool *ret_black)
{
	char **mods = NULL;
	_cleanup_free_ bool *black = NULL;
	size_t n = 0;
	long i;
	int rc;

	rc = kmods_resolve_alias(k, modalias, &mods, &n, &black);
	if (rc < 0) {
		printf("#   kmods_resolve_alias(%s): %s\n", modalias, strerror(-rc));
		return -1;
	}
	show_list(modalias, mods, n, black);
	i = strv_index(mods, n, want);
	if (i >= 0 && ret_black)
		*ret_black = black[i];
	rc = i < 0 ? 0 : strv_count(mods, n, want) == 1 ? 1 : -1;
	strv_free(mods, n);
	return rc;
}

static bool write_file(const char *path, const char *text)
{
	_cleanup_fclose_ FILE *f = fopen(path, "we");

	return f && fputs(text, f) >= 0;
}

static bool copy_file_at(int from_dir, int to_dir, const char *name)
{
	_cleanup_close_ int in = -1, out = -1;
	char buf[65536];
	ssize_t n;

	in = openat(from_dir, name, O_RDONLY | O_CLOEXEC);
	out = openat(to_dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (in < 0 || out < 0)
		return false;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return false;
	return n == 0;
}

/* A fresh root with only the index files (modules.*) of one kernel, laid out as
 * merged-/usr Debian 12 (lib -> usr/lib): libkmod's lookups need no .ko file. */
static char *make_small_root(const char *big_root, const char *kver)
{
	char tmpl[] = "/tmp/test-kmods.XXXXXX";
	_cleanup_free_ char *src = NULL, *dst = NULL, *p = NULL;
	_cleanup_close_ int sfd = -1, dfd = -1;
	char *root;
	struct dirent *de;
	DIR *d;
	bool good = true;

	if (!mkdtemp(tmpl))
		return NULL;
	root = strdup(tmpl);
	if (asprintf(&src, "%s/lib/modules/%s", big_root, kver) < 0 ||
	    asprintf(&dst, "%s/usr/lib/modules/%s", root, kver) < 0 ||
	    asprintf(&p, "mkdir -p '%s' '%s/etc/modprobe.d' '%s/usr/lib/modprobe.d' && ln -s usr/lib '%s/lib'",
		     dst, root, root, root) < 0 || system(p) != 0)
		return root;
	sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0 || dfd < 0 || !(d = fdopendir(dup(sfd))))
		return root;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, "modules.", 8) == 0)
			good = good && copy_file_at(sfd, dfd, de->d_name);
	closedir(d);
	if (!good)
		printf("# copying the indexes of %s failed\n", kver);
	return root;
}

/* Library code never prints: fd 2 goes to a temp file meanwhile, and its size is the verdict. */
static int saved_stderr = -1, captured_stderr = -1;

static void stderr_capture_begin(void)
{
	char tmpl[] = "/tmp/test-kmods-stderr.XXXXXX";

	fflush(stderr);
	captured_stderr = mkstemp(tmpl);
	if (captured_stderr < 0)
		return;
	unlink(tmpl);
	saved_stderr = dup(2);
	dup2(captured_stderr, 2);
}

/* Bytes written to stderr since stderr_capture_begin (shown as diagnostics), or -1. */
static long stderr_capture_end(void)
{
	char buf[4096], *line, *save = NULL;
	ssize_t n;
	long len;

	if (captured_stderr < 0 || saved_stderr < 0)
		return -1;
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	len = (long)lseek(captured_stderr, 0, SEEK_END);
	lseek(captured_stderr, 0, SEEK_SET);
	n = read(captured_stderr, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		printf("#   stderr: %s\n", line);
	close(captured_stderr);
	saved_stderr = captured_stderr = -1;
	return len;
}

static void remove_tree(const char *path)
{
	_cleanup_free_ char *cmd = NULL;

	if (path && asprintf(&cmd, "rm -rf '%s'", path) >= 0 && system(cmd) != 0)
		printf("# could not remove %s\n", path);
}

static void check_modules(const struct rootfs *r, const char *kver, bool is_61)
{
	_cleanup_(kmods_freep) struct kmods *k = NULL;
	struct error e = { 0 };
	int rc;

	rc = kmods_open(r, kver, &k, &e);
	ok(rc == 0, "kmods_open %s", kver);
	if (rc < 0) {
		printf("#   %s\n", e.text);
		return;
	}
	is_str(kmods_kernel(k), kver, "%s: the context knows its kernel", kver);

	ok(kmods_has_module(k, "vfio") == 1, "%s has vfio", kver);
	ok(kmods_has_module(k, "vfio_pci") == 1, "%s has vfio_pci", kver);
	ok(kmods_has_module(k, "vfio-pci") == 1, "%s has vfio-pci (the file's own spelling)", kver);
	ok(kmods_has_module(k, "vfio_iommu_type1") == 1, "%s has vfio_iommu_type1", kver);
	/* Measured: 6.1 has kernel/drivers/vfio/vfio_virqfd.ko (CONFIG_VFIO_VIRQFD=m);
	 * from 6.2 on virqfd.o is linked into vfio.ko (6.12: CONFIG_VFIO_VIRQFD=y, its
	 * symbols belong to vfio in modules.symbols), so no module of that name exists. */
	if (is_61)
		ok(kmods_has_module(k, "vfio_virqfd") == 1, "%s has vfio_virqfd", kver);
	else
		ok(kmods_has_module(k, "vfio_virqfd") == 0, "%s has no vfio_virqfd", kver);

	/* Built in on Debian's amd64 config (in modules.builtin of both kernels). */
	ok(kmods_has_module(k, "i8042") == 1, "%s: built-in i8042 counts as present", kver);
	ok(kmods_has_module(k, "tpm_tis") == 1, "%s: built-in tpm_tis counts as present", kver);
	ok(kmods_has_module(k, "amd-uncore") == 1 && kmods_has_module(k, "amd_uncore") == 1,
	   "%s: built-in amd-uncore under both spellings", kver);
	/* Names that modules answer to are not modules: "aes" is an alias (of aesni_intel, aes_generic). */
	ok(kmods_has_module(k, "aes") == 0, "%s: an alias is not a module", kver);
	ok(kmods_has_module(k, "nvidia") == 0, "%s: no nvidia (not in Debian's main archive)", kver);
	ok(kmods_has_module(k, "no_such_module") == 0, "%s: an unknown name is absent", kver);
	ok(kmods_has_module(k, "../vfio") == -EINVAL && kmods_has_module(k, "") == -EINVAL,
	   "%s: what cannot be a module name is refused", kver);

	rc = resolves_to(k, MA_NVIDIA_GP104, "nouveau", NULL);
	ok(rc == 1, "%s: an NVIDIA GPU resolves to nouveau", kver);
	rc = resolves_to(k, MA_NVIDIA_HDMI, "snd_hda_intel", NULL);
	ok(rc == 1, "%s: the GPU's HDMI audio function resolves to snd_hda_intel", kver);
	/* kmod lists snd_hda_intel twice for this one (two patterns match); once here. */
	rc = resolves_to(k, MA_INTEL_HDA, "snd_hda_intel", NULL);
	ok(rc == 1, "%s: an Intel HDA controller resolves to snd_hda_intel, once", kver);
	rc = resolves_to(k, MA_ICH9_AHCI, "ahci", NULL);
	ok(rc == 1, "%s: an AHCI controller resolves to ahci, once", kver);
	rc = resolves_to(k, MA_SAMSUNG_NVME, "nvme", NULL);
	ok(rc == 1, "%s: an NVMe controller resolves to nvme", kver);
	{
		char **mods = NULL;
		bool *black = NULL;
		size_t n = 99;

		rc = kmods_resolve_alias(k, MA_NOBODY, &mods, &n, &black);
		ok(rc == 0 && n == 0 && !mods, "%s: a device no driver claims resolves to nothing", kver);
		strv_free(mods, n == 99 ? 0 : n);
		free(black);
	}
	/* Without any modprobe.d in the root nothing is blacklisted. */
	{
		bool black = true;

		rc = resolves_to(k, MA_NVIDIA_GP104, "nouveau", &black);
		ok(rc == 1 && !black, "%s: nouveau is not blacklisted in a root without modprobe.d", kver);
	}
}

/* The root's modprobe.d decides: etc/modprobe.d and (through lib -> usr/lib) lib/modprobe.d. */
static void check_root_config(const char *big_root, const char *kver)
{
	_cleanup_(rootfs_freep) struct rootfs *r = NULL;
	_cleanup_(kmods_freep) struct kmods *k = NULL;
	_cleanup_free_ char *root = NULL, *p = NULL, *want_dir = NULL;
	struct error e = { 0 };
	char **names = NULL;
	size_t n = 0;
	bool black = false;
	int rc;

	root = make_small_root(big_root, kver);
	if (!root) {
		ok(0, "make a temporary root");
		return;
	}
	if (asprintf(&p, "%s/etc/modprobe.d/x.conf", root) < 0 || !write_file(p, "# the root's own\nblacklist nouveau\n"))
		printf("# cannot write %s\n", p);
	free(TAKE_PTR(p));
	if (asprintf(&p, "%s/usr/lib/modprobe.d/y.conf", root) < 0 || !write_file(p, "blacklist ahci\n"))
		printf("# cannot write %s\n", p);
	free(TAKE_PTR(p));
	/* Lines libkmod rejects (it would say so on stderr). */
	if (asprintf(&p, "%s/etc/modprobe.d/z.conf", root) < 0 || !write_file(p, "bogus nouveau\noptions\n"))
		printf("# cannot write %s\n", p);
	free(TAKE_PTR(p));
	/* A kernel directory depmod never ran in is not a kernel. */
	if (asprintf(&p, "mkdir -p '%s/usr/lib/modules/9.9.9-not-indexed'", root) < 0 || system(p) != 0)
		printf("# cannot make the unindexed kernel directory\n");

	rc = rootfs_open(root, &r, &e);
	ok(rc == 0, "open the temporary root");
	if (rc < 0)
		goto out;
	rc = kmods_list_kernels(r, &names, &n, &e);
	ok(rc == 0 && n == 1 && streq(names[0], kver), "only the indexed kernel is listed (%zu)", n);
	strv_free(names, n);

	unsetenv("KMOD_LOG");
	stderr_capture_begin();
	rc = kmods_open(r, kver, &k, &e);
	if (rc == 0)
		resolves_to(k, MA_NVIDIA_GP104, "nouveau", NULL);
	ok(stderr_capture_end() == 0, "libkmod says nothing on stderr about the root's bad lines");
	ok(rc == 0, "kmods_open %s in the temporary root", kver);
	if (rc < 0) {
		printf("#   %s\n", e.text);
		goto out;
	}
	if (asprintf(&want_dir, "%s/lib/modules/%s", root, kver) >= 0)
		is_str(kmods_dir(k), want_dir, "messages name the kernel directory as the user sees it");
	rc = resolves_to(k, MA_NVIDIA_GP104, "nouveau", &black);
	ok(rc == 1 && black, "<root>/etc/modprobe.d/x.conf 'blacklist nouveau' marks nouveau blacklisted");
	black = false;
	rc = resolves_to(k, MA_ICH9_AHCI, "ahci", &black);
	ok(rc == 1 && black, "<root>/lib/modprobe.d (via lib -> usr/lib) is read too: ahci blacklisted");
	black = true;
	rc = resolves_to(k, MA_SAMSUNG_NVME, "nvme", &black);
	ok(rc == 1 && !black, "a module no file names stays allowed: nvme");
	/* A blacklist hides aliases only; the module itself is still there. */
	ok(kmods_has_module(k, "nouveau") == 1, "a blacklisted module is still installed");

	kmods_free(TAKE_PTR(k));
	memset(&e, 0, sizeof(e));
	rc = kmods_open(r, "9.9.9-not-indexed", &k, &e);
	ok(rc < 0 && e.exit_code == EXIT_IO && strstr(e.text, "depmod") && strstr(e.text, "9.9.9-not-indexed"),
	   "a kernel directory without modules.dep.bin is refused with a hint (%s)", e.text);
	memset(&e, 0, sizeof(e));
	rc = kmods_open(r, "1.2.3-missing", &k, &e);
	ok(rc == -ENOENT && e.exit_code == EXIT_BAD_INPUT && strstr(e.text, "1.2.3-missing"),
	   "a kernel that is not installed: -ENOENT, exit 5 (%s)", e.text);
	memset(&e, 0, sizeof(e));
	rc = kmods_open(r, "..", &k, &e);
	ok(rc == -EINVAL && e.exit_code == EXIT_BAD_INPUT, "'..' is not a kernel version (%s)", e.text);
out:
	remove_tree(root);
}

/* A root whose /lib is an absolute symlink: it must resolve inside the root, never to the host's. */
static void check_absolute_lib_link(void)
{
	_cleanup_(rootfs_freep) struct rootfs *r = NULL;
	char tmpl[] = "/tmp/test-kmods.XXXXXX";
	_cleanup_free_ char *link = NULL;
	struct error e = { 0 };
	char **names = NULL;
	size_t n = 99;
	int rc;

	if (!mkdtemp(tmpl) || asprintf(&link, "%s/lib", tmpl) < 0 || symlink("/usr/lib", link) < 0 ||
	    rootfs_open(tmpl, &r, &e) < 0) {
		ok(0, "make a root with lib -> /usr/lib");
		remove_tree(tmpl);
		return;
	}
	rc = kmods_list_kernels(r, &names, &n, &e);
	ok(rc == 0 && n == 0, "lib -> /usr/lib resolves inside the root: no kernels there (%zu)", n);
	strv_free(names, n == 99 ? 0 : n);
	remove_tree(tmpl);
}

/* Version order, not byte order: 6.1.0-9 comes before 6.1.0-10. A text modules.dep
 * is enough to be listed; a symlinked version directory is not listed. */
static void check_version_order(void)
{
	_cleanup_(rootfs_freep) struct rootfs *r = NULL;
	char tmpl[] = "/tmp/test-kmods.XXXXXX";
	_cleanup_free_ char *cmd = NULL;
	struct error e = { 0 };
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (!mkdtemp(tmpl) ||
	    asprintf(&cmd, "cd '%s' && mkdir -p usr/lib/modules && ln -s usr/lib lib && cd lib/modules && "
		     "for k in 6.1.0-10-amd64 6.12.1 6.1.0-9-amd64; do mkdir $k && : >$k/modules.dep; done && "
		     "mkdir 5.10.0-nodep && ln -s 6.1.0-9-amd64 6.1.0-11-amd64", tmpl) < 0 ||
	    system(cmd) != 0 || rootfs_open(tmpl, &r, &e) < 0) {
		ok(0, "make a root with several kernels");
		remove_tree(tmpl);
		return;
	}
	rc = kmods_list_kernels(r, &names, &n, &e);
	ok(rc == 0 && n == 3 && streq(names[0], "6.1.0-9-amd64") && streq(names[1], "6.1.0-10-amd64") &&
	   streq(names[2], "6.12.1"), "kernels sorted by version; unindexed and symlinked ones left out");
	show_list("kernels", names, n, NULL);
	strv_free(names, n);
	remove_tree(tmpl);
}

/*
 * The host's own modprobe.d must not count. In a private mount namespace (a
 * child process; a user namespace when not root), a tmpfs over the host's
 * /etc/modprobe.d blacklists nouveau; libkmod with its default paths sees it
 * (the control), kmods on the root does not. Returns a bit mask:
 * 1 set up, 2 control saw the blacklist, 4 kmods did not.
 */
static int host_config_child(const char *root_path, const char *kver)
{
	struct rootfs *r = NULL;
	struct kmods *k = NULL;
	struct error e = { 0 };
	char dir[4096], map[64];
	bool black = false;
	int mask = 0, fd;
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (unshare(uid == 0 ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return 0;
	if (uid != 0) {
		/* Map ourselves to root in the new namespace so that we may mount. */
		if ((fd = open("/proc/self/setgroups", O_WRONLY)) >= 0) {
			(void)!write(fd, "deny", 4);
			close(fd);
		}
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		if ((fd = open("/proc/self/uid_map", O_WRONLY)) < 0 || write(fd, map, strlen(map)) < 0)
			return 0;
		close(fd);
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		if ((fd = open("/proc/self/gid_map", O_WRONLY)) < 0 || write(fd, map, strlen(map)) < 0)
			return 0;
		close(fd);
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 0;
	if (mount("tmpfs", "/etc/modprobe.d", "tmpfs", 0, "mode=0755") < 0)
		return 0;
	if (!write_file("/etc/modprobe.d/host.conf", "blacklist nouveau\n"))
		return 0;
	mask |= 1;

	snprintf(dir, sizeof(dir), "%s/lib/modules/%s", root_path, kver);
	{
		struct kmod_ctx *ctx = kmod_new(dir, NULL);	/* NULL: libkmod's default, the host's files */
		struct kmod_list *all = NULL, *allowed = NULL;

		if (ctx && kmod_module_new_from_lookup(ctx, MA_NVIDIA_GP104, &all) == 0 && all &&
		    kmod_module_apply_filter(ctx, KMOD_FILTER_BLACKLIST, all, &allowed) == 0 && !allowed)
			mask |= 2;
		kmod_module_unref_list(all);
		kmod_module_unref_list(allowed);
		kmod_unref(ctx);
	}
	if (rootfs_open(root_path, &r, &e) == 0 && kmods_open(r, kver, &k, &e) == 0 &&
	    resolves_to(k, MA_NVIDIA_GP104, "nouveau", &black) == 1 && !black)
		mask |= 4;
	kmods_free(k);
	rootfs_free(r);
	return mask;
}

static void check_host_config_ignored(const char *root_path, const char *kver)
{
	struct stat st;
	pid_t pid;
	int status, mask;

	if (stat("/etc/modprobe.d", &st) < 0 || !S_ISDIR(st.st_mode)) {
		ok(1, "# SKIP the host has no /etc/modprobe.d to cover");
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* Its diagnostics would break the TAP numbering of the parent. */
		if (!freopen("/dev/null", "w", stdout))
			_exit(0);
		_exit(host_config_child(root_path, kver));
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) {
		ok(0, "the host-config child ran");
		return;
	}
	mask = WEXITSTATUS(status);
	if (!(mask & 1)) {
		ok(1, "# SKIP no private mount namespace here (unshare refused)");
		return;
	}
	ok(mask & 2, "control: libkmod with its default paths sees the host's 'blacklist nouveau'");
	ok(mask & 4, "kmods on the root ignores the host's /etc/modprobe.d");
}

int main(int argc, char **argv)
{
	_cleanup_(rootfs_freep) struct rootfs *r = NULL;
	struct error e = { 0 };
	const char *k61 = NULL, *k612 = NULL;
	char **kernels = NULL;
	size_t n = 0;
	struct stat st;
	int rc;

	if (argc < 2 || stat(argv[1], &st) < 0 || !S_ISDIR(st.st_mode)) {
		printf("1..0 # SKIP no kernel trees (pass the root tests/kernels/fetch-kernels.sh made)\n");
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	rc = rootfs_open(argv[1], &r, &e);
	ok(rc == 0, "open the kernel root %s", argv[1]);
	if (rc < 0) {
		printf("#   %s\n", e.text);
		return tap_done();
	}
	rc = kmods_list_kernels(r, &kernels, &n, &e);
	ok(rc == 0, "kmods_list_kernels");
	for (size_t i = 0; i < n; i++) {
		printf("#   kernel %s\n", kernels[i]);
		if (strncmp(kernels[i], "6.1.0-", 6) == 0)
			k61 = kernels[i];
		else if (strncmp(kernels[i], "6.12.", 5) == 0)
			k612 = kernels[i];
	}
	ok(k61 && k612, "both a 6.1 and a 6.12 kernel are found");
	ok(n >= 2 && strv_index(kernels, n, k61) < strv_index(kernels, n, k612),
	   "sorted by version: 6.1 before 6.12");
	if (!k61 || !k612) {
		strv_free(kernels, n);
		return tap_done();
	}

	check_modules(r, k61, true);
	check_modules(r, k612, false);
	check_root_config(argv[1], k612);
	check_root_config(argv[1], k61);
	check_absolute_lib_link();
	check_version_order();
	check_host_config_ignored(argv[1], k612);

	strv_free(kernels, n);
	return tap_done();
}
