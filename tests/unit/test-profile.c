/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-profile.c — built-in and local profiles on sandbox roots: lists, merging, includes, refusals. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macros.h"
#include "hw.h"
#include "profile.h"
#include "rootfs.h"
#include "tap.h"

#define DIR_IN_ROOT "etc/iommuctl/profiles"
#define SHOWN "/etc/iommuctl/profiles/"

static const char *const INTEL = "GenuineIntel", *const AMD = "AuthenticAMD";
static const char K61[] = "6.1.0-18-amd64", K612[] = "6.12.9-amd64";

/* ---- a sandbox root ---- */

static char *root_new(void)
{
	char *dir = strdup("/tmp/test-profile.XXXXXX");
	_cleanup_free_ char *sub = NULL;

	if (!dir || !mkdtemp(dir) || asprintf(&sub, "%s/etc", dir) < 0 || mkdir(sub, 0755) < 0)
		return NULL;
	free(sub);
	if (asprintf(&sub, "%s/etc/iommuctl", dir) < 0 || mkdir(sub, 0755) < 0)
		return NULL;
	free(sub);
	if (asprintf(&sub, "%s/" DIR_IN_ROOT, dir) < 0 || mkdir(sub, 0755) < 0)
		return NULL;
	return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void root_free(char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Write a profile file of len bytes (it may hold a NUL) with mode. */
static void put_n(const char *root, const char *file, const char *text, size_t len, mode_t mode)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;

	if (asprintf(&path, "%s/" DIR_IN_ROOT "/%s", root, file) < 0 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) < 0)
		printf("# cannot write %s\n", path ? path : file);
}

static void put(const char *root, const char *file, const char *text)
{
	put_n(root, file, text, strlen(text), 0644);
}

/* ---- a fake host: 6.1 still has vfio_virqfd.ko, 6.12 does not ---- */

static int fake_has_module(void *data, const char *kernel, const char *module)
{
	(void)data;
	if (!strcmp(kernel, "broken"))
		return -EIO;
	if (!strcmp(module, "vfio_virqfd"))
		return !strcmp(kernel, K61);
	return 1;
}

static struct host_facts host(const char *vendor, const char *const *kernels, size_t n)
{
	return (struct host_facts){ .cpu_vendor = vendor, .kernels = kernels, .n_kernels = n,
				    .kernel_has_module = fake_has_module };
}

static const char *const K_BOTH[] = { K61, K612 }, *const K_OLD[] = { K61 }, *const K_NEW[] = { K612 };

/* ---- looking at results ---- */

static const char *join(const struct strv *s)
{
	static char buf[8][1024];
	static unsigned slot;
	char *b = buf[slot++ % 8];

	b[0] = '\0';
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			strncat(b, " ", 1023 - strlen(b));
		strncat(b, s->v[i], 1023 - strlen(b));
	}
	return b;
}

static size_t count(const struct profile *p, enum finding_severity sev, const char *id)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_findings; i++)
		n += p->findings[i].severity == sev && !strcmp(p->findings[i].id, id);
	return n;
}

static const char *message(const struct profile *p, const char *id)
{
	for (size_t i = 0; i < p->n_findings; i++)
		if (!strcmp(p->findings[i].id, id))
			return p->findings[i].message;
	return "";
}

static struct profile *load(const struct rootfs *r, const char *name, const struct host_facts *f)
{
	struct profile *p = NULL;
	struct error e = { 0 };

	if (profile_load(r, name, f, &p, &e) < 0)
		printf("# profile_load(%s): %s\n", name, e.text);
	return p;
}

/* Load must fail with code; returns the message (static). */
static const char *load_fails(const struct rootfs *r, const char *name, const struct host_facts *f, int code)
{
	static struct error e;
	struct profile *p = NULL;
	int k;

	e = (struct error){ 0 };
	k = profile_load(r, name, f, &p, &e);
	ok(k < 0 && !p && e.exit_code == code, "%s: refused with exit %d (got %d, exit %d)", name, code, k,
	   e.exit_code);
	profile_free(p);
	return e.text;
}

/* ---- built-ins ---- */

static void test_iommu(const struct rootfs *r)
{
	struct host_facts fi = host(INTEL, K_BOTH, 2), fa = host(AMD, K_BOTH, 2), fu = host(NULL, NULL, 0);
	_cleanup_(profile_freep) struct profile *pi = load(r, "iommu", &fi);
	_cleanup_(profile_freep) struct profile *pa = load(r, "iommu", &fa);
	const char *msg;

	ok(pi && pa, "iommu loads for Intel and AMD");
	if (!pi || !pa)
		return;
	is_str(join(&pi->kernel_add), "intel_iommu=on iommu=pt", "iommu/Intel: kernel add");
	is_str(join(&pi->kernel_remove), "", "iommu/Intel: kernel remove");
	is_str(pi->origin, "built-in", "iommu: origin");
	ok(pi->description && strstr(pi->description, "IOMMU"), "iommu: has a description");
	ok(count(pi, FINDING_INFO, "intel-iommu-on") == 1, "iommu/Intel: INFO intel-iommu-on");
	msg = message(pi, "intel-iommu-on");
	ok(strstr(msg, "CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y") && strstr(msg, "DMAR: IOMMU enabled") &&
	   strstr(msg, "6.1 and 6.12"), "iommu/Intel: finding explains the Debian kernel config");
	is_str(join(&pi->modules_add), "", "iommu: no modules");
	is_str(pi->blacklist_file, PROFILE_DEFAULT_BLACKLIST_FILE, "iommu: default blacklist file");
	is_str(pi->vfio_file, PROFILE_DEFAULT_VFIO_FILE, "iommu: default vfio file");
	ok(pi->disable_vga == -1, "iommu: disable_vga unset");

	is_str(join(&pa->kernel_add), "iommu=pt", "iommu/AMD: kernel add");
	is_str(join(&pa->kernel_remove), "amd_iommu=on", "iommu/AMD: removes amd_iommu=on");
	msg = message(pa, "amd-iommu-on-invalid");
	ok(count(pa, FINDING_INFO, "amd-iommu-on-invalid") == 1 && strstr(msg, "IVRS"),
	   "iommu/AMD: INFO says amd_iommu has no 'on' and IVRS enables it");

	msg = load_fails(r, "iommu", &fu, EXIT_BAD_INPUT);
	ok(strstr(msg, "cannot tell the CPU vendor from /proc/cpuinfo") && strstr(msg, "[kernel] add"),
	   "iommu: unknown vendor names cpuinfo and the way out: %s", msg);
	fu.cpuinfo = "/rescue/proc/cpuinfo";
	msg = load_fails(r, "nvidia", &fu, EXIT_BAD_INPUT);
	ok(strstr(msg, "/rescue/proc/cpuinfo") != NULL, "nvidia: unknown vendor names the given cpuinfo");
	fu.cpu_vendor = "CentaurHauls";
	msg = load_fails(r, "iommu", &fu, EXIT_BAD_INPUT);
	ok(strstr(msg, "CentaurHauls") != NULL, "iommu: another vendor is named");
}

/* The IOMMU's vendor decides, not the CPU's: the firmware table first, then the kernel's units. */
static void test_iommu_vendor(const struct rootfs *r)
{
	char *ivhd[] = { "ivhd0" };
	struct hw dmar_hw = { .acpi_tables_read = true, .dmar = true };
	struct hw units_hw = { .iommus = { .v = ivhd, .n = 1 } };
	struct host_facts amd_cpu = host(AMD, K_BOTH, 2), intel_cpu = host(INTEL, K_BOTH, 2), unknown = host(NULL, NULL, 0);
	_cleanup_(profile_freep) struct profile *p_dmar = NULL, *p_units = NULL, *p_same = NULL, *p_nocpu = NULL;

	amd_cpu.hw = &dmar_hw;
	p_dmar = load(r, "iommu", &amd_cpu);
	is_str(p_dmar ? join(&p_dmar->kernel_add) : "", "intel_iommu=on iommu=pt", "iommu: DMAR with an AMD CPU gives Intel's parameters");
	ok(p_dmar && count(p_dmar, FINDING_INFO, "amd-iommu-on-invalid") == 0, "iommu: DMAR with an AMD CPU: no amd_iommu finding");
	ok(p_dmar && strstr(message(p_dmar, "iommu-vendor"), "DMAR table") && strstr(message(p_dmar, "iommu-vendor"), "AuthenticAMD"),
	   "iommu: DMAR with an AMD CPU says which one the parameters follow");

	intel_cpu.hw = &units_hw;
	p_units = load(r, "iommu", &intel_cpu);
	is_str(p_units ? join(&p_units->kernel_add) : "", "iommu=pt", "iommu: ivhd units (tables unreadable) with an Intel CPU give AMD's");
	ok(p_units && strstr(message(p_units, "iommu-vendor"), "ivhd IOMMU units"), "iommu: the units are named as the reason");

	amd_cpu.hw = &units_hw;
	p_same = load(r, "iommu", &amd_cpu);
	ok(p_same && count(p_same, FINDING_INFO, "iommu-vendor") == 0, "iommu: no vendor finding when CPU and IOMMU agree");

	unknown.hw = &dmar_hw;
	p_nocpu = load(r, "iommu", &unknown);
	is_str(p_nocpu ? join(&p_nocpu->kernel_add) : "", "intel_iommu=on iommu=pt", "iommu: a DMAR table decides without a CPU vendor");
}

static void test_vfio_virqfd(const struct rootfs *r)
{
	struct host_facts both = host(INTEL, K_BOTH, 2), old = host(INTEL, K_OLD, 1), new = host(INTEL, K_NEW, 1);
	struct host_facts none = host(INTEL, NULL, 0), blind = host(INTEL, K_BOTH, 2);
	_cleanup_(profile_freep) struct profile *p_both = load(r, "vfio", &both);
	_cleanup_(profile_freep) struct profile *p_old = load(r, "vfio", &old);
	_cleanup_(profile_freep) struct profile *p_new = load(r, "vfio", &new);
	_cleanup_(profile_freep) struct profile *p_none = load(r, "vfio", &none);
	_cleanup_(profile_freep) struct profile *p_blind = NULL;

	blind.kernel_has_module = NULL;
	p_blind = load(r, "vfio", &blind);
	ok(p_both && p_old && p_new && p_none && p_blind, "vfio loads for every kernel set");
	if (!p_both || !p_old || !p_new || !p_none || !p_blind)
		return;
	is_str(join(&p_old->modules_add), "vfio vfio_iommu_type1 vfio_pci vfio_virqfd", "vfio/6.1: has vfio_virqfd");
	ok(strstr(message(p_old, "vfio-virqfd"), K61) != NULL, "vfio/6.1: INFO names the kernel");
	ok(count(p_old, FINDING_WARNING, "kernel-lacks-module") == 0, "vfio/6.1: no warning");
	is_str(join(&p_new->modules_add), "vfio vfio_iommu_type1 vfio_pci", "vfio/6.12: no vfio_virqfd");
	ok(strstr(message(p_new, "vfio-virqfd"), K612) && strstr(message(p_new, "vfio-virqfd"), "6.2"),
	   "vfio/6.12: INFO names the kernel and Linux 6.2");
	ok(count(p_new, FINDING_WARNING, "kernel-lacks-module") == 0, "vfio/6.12: no warning");
	is_str(join(&p_both->modules_add), "vfio vfio_iommu_type1 vfio_pci vfio_virqfd", "vfio/both: has vfio_virqfd");
	ok(count(p_both, FINDING_WARNING, "kernel-lacks-module") == 1 &&
	   strstr(message(p_both, "kernel-lacks-module"), K612) &&
	   strstr(message(p_both, "kernel-lacks-module"), "vfio_virqfd"), "vfio/both: 6.12 lacks vfio_virqfd, warned once");
	is_str(join(&p_none->modules_add), "vfio vfio_iommu_type1 vfio_pci", "vfio/no kernels: no vfio_virqfd");
	ok(count(p_none, FINDING_WARNING, "no-kernels") == 1 && strstr(message(p_none, "no-kernels"), "/lib/modules"),
	   "vfio/no kernels: WARNING no kernel under /lib/modules");
	is_str(join(&p_blind->modules_add), "vfio vfio_iommu_type1 vfio_pci", "vfio/no lookup: no vfio_virqfd");
	ok(strstr(message(p_blind, "vfio-virqfd"), "cannot tell") != NULL, "vfio/no lookup: INFO says why");
	is_str(join(&p_both->kernel_add), "intel_iommu=on iommu=pt", "vfio: includes iommu");
}

static void test_module_unknown(const struct rootfs *r)
{
	static const char *const kernels[] = { "broken" };
	struct host_facts f = host(AMD, kernels, 1);
	_cleanup_(profile_freep) struct profile *p = load(r, "vfio", &f);

	ok(p && count(p, FINDING_WARNING, "kernel-modules-unknown") == 1 &&
	   count(p, FINDING_WARNING, "kernel-lacks-module") == 0, "a kernel whose modules cannot be read: one warning");
}

struct gpu_case {
	const char *name, *blacklist, *finding;
};

static void test_gpu(const struct rootfs *r)
{
	static const struct gpu_case cases[] = {
		{ "nvidia", "nouveau nvidia nvidiafb", NULL },
		{ "amd", "radeon amdgpu", "blacklist-host-gpu" },
		{ "intel", "snd_hda_intel snd_hda_codec_hdmi i915", "blacklist-host-audio" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct host_facts fi = host(INTEL, K_OLD, 1), fa = host(AMD, K_NEW, 1);
		_cleanup_(profile_freep) struct profile *pi = load(r, cases[i].name, &fi);
		_cleanup_(profile_freep) struct profile *pa = load(r, cases[i].name, &fa);

		ok(pi && pa, "%s loads for Intel and AMD", cases[i].name);
		if (!pi || !pa)
			continue;
		is_str(join(&pi->kernel_add), "intel_iommu=on iommu=pt", "%s/Intel: kernel add", cases[i].name);
		is_str(join(&pi->kernel_remove), "", "%s/Intel: kernel remove", cases[i].name);
		is_str(join(&pi->modules_add), "vfio vfio_iommu_type1 vfio_pci vfio_virqfd", "%s/Intel 6.1: modules",
		       cases[i].name);
		is_str(join(&pi->blacklist_add), cases[i].blacklist, "%s/Intel: blacklist", cases[i].name);
		is_str(join(&pa->kernel_add), "iommu=pt", "%s/AMD: kernel add", cases[i].name);
		is_str(join(&pa->kernel_remove), "amd_iommu=on", "%s/AMD: kernel remove", cases[i].name);
		is_str(join(&pa->modules_add), "vfio vfio_iommu_type1 vfio_pci", "%s/AMD 6.12: modules", cases[i].name);
		is_str(join(&pa->blacklist_add), cases[i].blacklist, "%s/AMD: blacklist", cases[i].name);
		is_str(pa->blacklist_file, PROFILE_DEFAULT_BLACKLIST_FILE, "%s: default blacklist file", cases[i].name);
		ok(pa->description && *pa->description, "%s: has a description", cases[i].name);
		if (cases[i].finding)
			ok(count(pi, FINDING_INFO, cases[i].finding) == 1, "%s: INFO %s", cases[i].name, cases[i].finding);
	}
	{
		struct host_facts f = host(INTEL, K_OLD, 1);
		_cleanup_(profile_freep) struct profile *p = load(r, "intel", &f);
		ok(p && strstr(message(p, "blacklist-host-audio"), "onboard sound"),
		   "intel: says snd_hda_intel takes the host's onboard sound");
	}
}

/* ---- local profiles ---- */

static void test_include_builtin(const struct rootfs *r, const char *root)
{
	struct host_facts f = host(INTEL, K_OLD, 1);
	_cleanup_(profile_freep) struct profile *p = NULL;

	put(root, "mine.conf",
	    "# my GPU\n"
	    "[profile]\n"
	    "description = GTX 1080 for the Windows VM\n"
	    "include = nvidia\n"
	    "[kernel]\n"
	    "add = video=efifb:off   ; the host has no console on it\n"
	    "[blacklist]\n"
	    "file = /etc/modprobe.d/my-gpu.conf\n"
	    "[vfio-pci]\n"
	    "ids = 10DE:1B80\n"
	    "ids = 10de:10f0 10de:1b80\n"
	    "devices = 0000:01:00.0 0000:01:00.1\n"
	    "disable_vga = yes\n");
	p = load(r, "mine", &f);
	ok(p != NULL, "local profile including a built-in loads");
	if (!p)
		return;
	is_str(p->description, "GTX 1080 for the Windows VM", "local: description");
	is_str(p->origin, SHOWN "mine.conf", "local: origin is the path inside the root");
	is_str(join(&p->kernel_add), "intel_iommu=on iommu=pt video=efifb:off", "local: kernel add after the include's");
	is_str(join(&p->modules_add), "vfio vfio_iommu_type1 vfio_pci vfio_virqfd", "local: modules from vfio");
	is_str(join(&p->blacklist_add), "nouveau nvidia nvidiafb", "local: blacklist from nvidia");
	is_str(p->blacklist_file, "/etc/modprobe.d/my-gpu.conf", "local: own blacklist file");
	is_str(p->vfio_file, PROFILE_DEFAULT_VFIO_FILE, "local: default vfio file");
	is_str(join(&p->vfio_ids), "10de:1b80 10de:10f0", "local: ids lowercased, deduplicated, repeated key appends");
	is_str(join(&p->vfio_devices), "0000:01:00.0 0000:01:00.1", "local: devices");
	ok(p->disable_vga == 1, "local: disable_vga yes");
	ok(count(p, FINDING_INFO, "intel-iommu-on") == 1, "local: findings of the include come along");
}

static void test_include_local(const struct rootfs *r, const char *root)
{
	struct host_facts fi = host(INTEL, K_NEW, 1), fa = host(AMD, K_NEW, 1);
	_cleanup_(profile_freep) struct profile *p = NULL, *q = NULL, *s = NULL, *t = NULL, *d = NULL;

	put(root, "base.conf",
	    "[profile]\ndescription = base\n"
	    "[kernel]\nadd = iommu=pt quiet pcie_aspm=off\nremove = nomodeset\n"
	    "[modules]\nadd = vfio-pci kvmgt\n"
	    "[blacklist]\nadd = nouveau\nfile = /etc/modprobe.d/base.conf\n"
	    "[vfio-pci]\nfile = /etc/modprobe.d/base-vfio.conf\ndisable_vga = 1\n");
	put(root, "top.conf",
	    "[profile]\ninclude = base\n"
	    "[kernel]\nadd = iommu=off nomodeset\nremove = quiet\n"
	    "[modules]\nremove = vfio_pci\n"
	    "[blacklist]\nremove = nouveau\n"
	    "[vfio-pci]\nfile = /etc/modprobe.d/top-vfio.conf\ndisable_vga = false\n");
	p = load(r, "top", &fi);
	ok(p != NULL, "local profile including a local one loads");
	if (p) {
		is_str(join(&p->kernel_add), "iommu=off pcie_aspm=off nomodeset",
		       "merge: later key=value replaces in place, outer remove takes quiet out, outer add takes nomodeset");
		is_str(join(&p->kernel_remove), "quiet", "merge: inner remove of what outer adds is dropped");
		is_str(join(&p->modules_add), "kvmgt", "merge: outer remove of vfio_pci beats inner add of vfio-pci");
		is_str(join(&p->modules_remove), "vfio_pci", "merge: remove kept");
		is_str(join(&p->blacklist_add), "", "merge: blacklist add removed by outer");
		is_str(p->blacklist_file, "/etc/modprobe.d/base.conf", "merge: inner file kept when outer names none");
		is_str(p->vfio_file, "/etc/modprobe.d/top-vfio.conf", "merge: outer file overrides");
		ok(p->disable_vga == 0, "merge: outer disable_vga overrides");
		is_str(p->description, "", "merge: description is not inherited");
	}

	/* Outer adds what the built-in removes, and removes what it adds, by key. */
	put(root, "amdon.conf", "[profile]\ninclude = iommu\n[kernel]\nadd = amd_iommu=on\n");
	q = load(r, "amdon", &fa);
	ok(q && !strcmp(join(&q->kernel_add), "iommu=pt amd_iommu=on") && q->kernel_remove.n == 0,
	   "merge: outer add of amd_iommu=on beats the built-in's remove");
	ok(q && count(q, FINDING_WARNING, "amd-iommu-on-added") == 1, "amd_iommu=on added by hand is warned about");
	put(root, "nopt.conf", "[profile]\ninclude = iommu\n[kernel]\nremove = iommu\n");
	s = load(r, "nopt", &fi);
	ok(s && !strcmp(join(&s->kernel_add), "intel_iommu=on") && !strcmp(join(&s->kernel_remove), "iommu"),
	   "merge: outer remove by key takes iommu=pt out");

	/* Includes in order; first position kept; a later include's value wins. */
	put(root, "i1.conf", "[kernel]\nadd = p q x=1\n");
	put(root, "i2.conf", "[kernel]\nadd = q r x=2\n");
	put(root, "both.conf", "[profile]\ninclude = i1 i2\ninclude = i1\n[kernel]\nadd = s\n");
	t = load(r, "both", &fi);
	ok(t && !strcmp(join(&t->kernel_add), "p q x=2 r s"), "merge: include order, dedup keeps first position (%s)",
	   t ? join(&t->kernel_add) : "");

	/* Diamond: two includes bring vfio; its findings are said once. */
	put(root, "diamond.conf", "[profile]\ninclude = nvidia vfio\n");
	d = load(r, "diamond", &fi);
	ok(d && count(d, FINDING_INFO, "vfio-virqfd") == 1 && count(d, FINDING_INFO, "intel-iommu-on") == 1,
	   "merge: findings of a diamond include are not repeated");
}

static void test_shadow(const struct rootfs *r, const char *root)
{
	struct host_facts f = host(INTEL, K_OLD, 1);
	_cleanup_(profile_freep) struct profile *p = NULL;

	put(root, "iommu.conf", "[profile]\ndescription = iommu, quietly\ninclude = iommu\n[kernel]\nadd = quiet\n");
	p = load(r, "iommu", &f);
	ok(p && !strcmp(join(&p->kernel_add), "intel_iommu=on iommu=pt quiet") &&
	   !strcmp(p->origin, SHOWN "iommu.conf"), "a local iommu.conf shadows the built-in and includes it by name");
}

static void test_cycles(const struct rootfs *r, const char *root)
{
	struct host_facts f = host(INTEL, K_OLD, 1);
	const char *msg;

	put(root, "a.conf", "[profile]\ninclude = b\n");
	put(root, "b.conf", "[profile]\ndescription = b\n\ninclude = a\n");
	msg = load_fails(r, "a", &f, EXIT_BAD_INPUT);
	ok(!strncmp(msg, SHOWN "b.conf:4: include cycle: a -> b -> a", strlen(SHOWN "b.conf:4: include cycle: a -> b -> a")) &&
	   strstr(msg, "(included from " SHOWN "a.conf:2)"), "cycle a -> b -> a named with file:line: %s", msg);
	put(root, "self.conf", "[kernel]\nadd = quiet\n[profile]\ninclude = self\n");
	msg = load_fails(r, "self", &f, EXIT_BAD_INPUT);
	ok(strstr(msg, SHOWN "self.conf:4: include cycle: self -> self") == msg, "self include is a cycle: %s", msg);
	put(root, "lost.conf", "[profile]\ninclude = vfio nowhere\n");
	msg = load_fails(r, "lost", &f, EXIT_BAD_INPUT);
	ok(strstr(msg, SHOWN "lost.conf:2: include names no profile 'nowhere'") == msg && strstr(msg, "amd, "),
	   "unknown include: file:line and the names: %s", msg);
	for (int i = 0; i < 20; i++) {
		char file[32], text[64];
		snprintf(file, sizeof(file), "deep%d.conf", i);
		snprintf(text, sizeof(text), "[profile]\ninclude = deep%d\n", i + 1);
		put(root, file, text);
	}
	msg = load_fails(r, "deep0", &f, EXIT_BAD_INPUT);
	ok(strstr(msg, "nest deeper than 16") != NULL, "includes nest at most 16 deep: %s", msg);
	put(root, "outer.conf", "[profile]\ninclude = inner\n");
	put(root, "inner.conf", "[kernel]\nadd = $x\n");
	msg = load_fails(r, "outer", &f, EXIT_BAD_INPUT);
	ok(strstr(msg, SHOWN "inner.conf:2: ") == msg && strstr(msg, "(included from " SHOWN "outer.conf:2)"),
	   "an error in an included file names both: %s", msg);
}

struct bad_case {
	const char *text;
	int line;
	const char *says;
};

static void test_bad_input(const struct rootfs *r, const char *root)
{
	static const struct bad_case cases[] = {
		{ "[kernel]\nadd = quiet\n[bogus]\nx = 1\n", 3, "unknown section [bogus]" },
		{ "[kernel]\nadd = quiet\n[empty]\n", 3, "unknown section [empty]" },
		{ "[Kernel]\n", 1, "unknown section [Kernel]" },
		{ "[kernel\nadd = quiet\n", 1, "without ']'" },
		{ "[kernel] add = quiet\n", 1, "text after the section header" },
		{ "[kernel]\nad = quiet\n", 2, "unknown key 'ad' in [kernel]; the keys there are add, remove" },
		{ "[profile]\nname = x\n", 2, "unknown key 'name' in [profile]" },
		{ "[modules]\nload = vfio\n", 2, "unknown key 'load' in [modules]" },
		{ "[blacklist]\nfiles = /etc/modprobe.d/x.conf\n", 2, "unknown key 'files' in [blacklist]" },
		{ "[vfio-pci]\nid = 10de:1b80\n", 2, "unknown key 'id' in [vfio-pci]" },
		{ "add = quiet\n", 1, "comes before any section" },
		{ "[kernel]\n\n; note\n# note\nadd = quiet\nsplash\n", 6, "is not a [section]" },
		{ "[kernel]\nadd = \"quiet splash\"\n", 2, "contains '\"'" },
		{ "[kernel]\nadd = 'quiet'\n", 2, "contains '''" },
		{ "[kernel]\nadd = foo=$bar\n", 2, "contains '$'" },
		{ "[kernel]\nadd = foo=`id`\n", 2, "contains '`'" },
		{ "[kernel]\nadd = foo=a\\b\n", 2, "contains '\\'" },
		{ "[kernel]\nadd = foo=a;b\n", 2, "contains ';'" },
		{ "[kernel]\nadd = a|b\n", 2, "contains '|'" },
		{ "[kernel]\nadd = a&b\n", 2, "contains '&'" },
		{ "[kernel]\nadd = a<b\n", 2, "contains '<'" },
		{ "[kernel]\nremove = a>b\n", 2, "contains '>'" },
		{ "[kernel]\nadd = a*\n", 2, "contains '*'" },
		{ "[kernel]\nadd = =x\n", 2, "must start with" },
		{ "[kernel]\nadd = quiet # no\n", 2, "'#' starts a comment only" },
		{ "[kernel]\nadd =\n", 2, "add has no value" },
		{ "[kernel]\nadd = quiet\n  splash\n  bad$\n", 4, "'bad$' contains '$'" },
		{ "[kernel]\nadd = iommu=pt\nremove = iommu\n", 3, "'iommu' is both added and removed in [kernel]" },
		{ "[modules]\nremove = vfio_pci\nadd = vfio-pci\n", 3, "both added and removed in [modules]" },
		{ "[modules]\nadd = vfio.pci\n", 2, "'vfio.pci' is not a module name" },
		{ "[blacklist]\nadd = -nouveau\n", 2, "'-nouveau' is not a module name" },
		{ "[blacklist]\nremove = nouveau,nvidia\n", 2, "is not a module name" },
		{ "[modules]\nadd = a123456789b123456789c123456789d123456789e123456789f123456\n", 2, "55-character" },
		{ "[vfio-pci]\nids = 10de:1b8\n", 2, "'10de:1b8' is not a PCI vendor:device id" },
		{ "[vfio-pci]\nids = 10de:1b80,10de:10f0\n", 2, "not commas" },
		{ "[vfio-pci]\nids = 10de:1b80:1458\n", 2, "is not a PCI vendor:device id" },
		{ "[vfio-pci]\nids = 10de:1g80\n", 2, "is not a PCI vendor:device id" },
		{ "[vfio-pci]\ndevices = 01:00.0\n", 2, "'01:00.0' is not a PCI address" },
		{ "[vfio-pci]\ndevices = 0000:01:20.0\n", 2, "is not a PCI address" },
		{ "[vfio-pci]\ndevices = 0000:01:00.8\n", 2, "is not a PCI address" },
		{ "[vfio-pci]\ndisable_vga = maybe\n", 2, "disable_vga is yes or no" },
		{ "[vfio-pci]\ndisable_vga = yes no\n", 2, "takes one value" },
		{ "[vfio-pci]\nfile = /etc/modprobe.d/vfio.txt\n", 2, "is not a file modprobe reads" },
		{ "[blacklist]\nfile = /etc/modprobe.d/../x.conf\n", 2, "is not a file modprobe reads" },
		{ "[blacklist]\nfile = /etc/x.conf\n", 2, "is not a file modprobe reads" },
		{ "[blacklist]\nfile = etc/modprobe.d/x.conf\n", 2, "is not a file modprobe reads" },
		{ "[blacklist]\nfile = /etc/modprobe.d/sub/x.conf\n", 2, "is not a file modprobe reads" },
		{ "[blacklist]\nfile = /etc/modprobe.d/.conf\n", 2, "is not a file modprobe reads" },
		{ "[blacklist]\nfile = /etc/modprobe.d/a.conf\nfile = /etc/modprobe.d/b.conf\n", 3, "given twice" },
		{ "[profile]\ninclude = .hidden\n", 2, "'.hidden' is not a profile name" },
		{ "[profile]\ninclude = ../etc/passwd\n", 2, "is not a profile name" },
		{ "[profile]\ndescription = a\x1b[31mred\n", 2, "control character" },
	};
	struct host_facts f = host(INTEL, K_OLD, 1);
	char want[128], longline[300];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *msg;

		put(root, "bad.conf", cases[i].text);
		msg = load_fails(r, "bad", &f, EXIT_BAD_INPUT);
		snprintf(want, sizeof(want), SHOWN "bad.conf:%d: ", cases[i].line);
		ok(!strncmp(msg, want, strlen(want)) && strstr(msg, cases[i].says), "bad input %zu: line %d, '%s'", i,
		   cases[i].line, cases[i].says);
		if (strncmp(msg, want, strlen(want)) || !strstr(msg, cases[i].says))
			printf("#   message: %s\n", msg);
	}

	/* libinih would split a long line in two and count lines wrong after it */
	snprintf(longline, sizeof(longline), "[kernel]\nadd = %0250d\n", 7);
	put(root, "bad.conf", longline);
	ok(strstr(load_fails(r, "bad", &f, EXIT_BAD_INPUT), SHOWN "bad.conf:2: line is longer than") != NULL,
	   "a line too long for libinih is refused at its line");
	/* a NUL byte would cut the line short without a word */
	put_n(root, "bad.conf", "[kernel]\nadd = a\0b\n", sizeof("[kernel]\nadd = a\0b\n") - 1, 0644);
	ok(strstr(load_fails(r, "bad", &f, EXIT_BAD_INPUT), SHOWN "bad.conf:2: line contains a NUL byte") != NULL,
	   "a NUL byte is refused at its line");

	/* CRLF, a BOM, comments, blank lines and continuation lines are fine */
	put(root, "ok.conf", "\xEF\xBB\xBF; made on Windows\r\n[kernel]\r\nadd = quiet\r\n\tsplash\r\n\r\n"
			     "[profile]\r\ndescription = two\r\n  lines\r\n");
	{
		_cleanup_(profile_freep) struct profile *p = load(r, "ok", &f);
		ok(p && !strcmp(join(&p->kernel_add), "quiet splash") && !strcmp(p->description, "two lines"),
		   "CRLF, BOM, comments and continuation lines parse");
	}
}

static void test_refusals(const struct rootfs *r, const char *root)
{
	struct host_facts f = host(INTEL, K_OLD, 1);
	_cleanup_free_ char *path = NULL;
	const char *msg;

	put_n(root, "gw.conf", "[kernel]\nadd = quiet\n", strlen("[kernel]\nadd = quiet\n"), 0664);
	msg = load_fails(r, "gw", &f, EXIT_REFUSED);
	ok(strstr(msg, "gw.conf") && strstr(msg, "mode 0664") && strstr(msg, "uid 0") && strstr(msg, "chmod go-w ") &&
	   !strstr(msg, "chown"), "group-writable profile refused, with the chmod to run: %s", msg);
	put_n(root, "ww.conf", "[kernel]\nadd = quiet\n", strlen("[kernel]\nadd = quiet\n"), 0646);
	load_fails(r, "ww", &f, EXIT_REFUSED);

	put(root, "user.conf", "[kernel]\nadd = quiet\n");
	if (asprintf(&path, "%s/" DIR_IN_ROOT "/user.conf", root) < 0 || chown(path, 1000, 1000) < 0) {
		ok(1, "# SKIP cannot chown (not root)");
		return;
	}
	msg = load_fails(r, "user", &f, EXIT_REFUSED);
	ok(strstr(msg, "user.conf") && strstr(msg, "uid 1000") && strstr(msg, "chown root:root ") &&
	   strstr(msg, root), "profile owned by uid 1000 refused, with the chown to run: %s", msg);
	/* an included file is checked too */
	put(root, "incuser.conf", "[profile]\ninclude = user\n");
	load_fails(r, "incuser", &f, EXIT_REFUSED);
}

static void test_unknown(void)
{
	struct host_facts f = host(INTEL, K_OLD, 1);
	_cleanup_(rootfs_freep) struct rootfs *r = NULL;
	char *root = root_new();
	struct error e = { 0 };
	const char *msg;

	put(root, "mine.conf", "[profile]\ninclude = vfio\n");
	if (rootfs_open(root, &r, &e) < 0) {
		ok(0, "rootfs_open: %s", e.text);
		root_free(root);
		return;
	}
	msg = load_fails(r, "nosuch", &f, EXIT_USAGE);
	ok(strstr(msg, "unknown profile 'nosuch'; available: amd, gpu, intel, iommu, mine, nvidia, vfio (") == msg,
	   "unknown profile lists the available ones: %s", msg);
	load_fails(r, "../etc/passwd", &f, EXIT_USAGE);
	load_fails(r, ".hidden", &f, EXIT_USAGE);
	load_fails(r, "", &f, EXIT_USAGE);
	root_free(root);
}

static const struct profile_info *info(const struct profile_info *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static void test_list(void)
{
	char *root = root_new();
	_cleanup_(rootfs_freep) struct rootfs *r = NULL;
	struct profile_info *v = NULL;
	const struct profile_info *i;
	_cleanup_free_ char *link = NULL;
	struct error e = { 0 };
	char names[256] = "";
	size_t n = 0;

	put(root, "iommu.conf", "[profile]\ndescription = my iommu\ninclude = iommu\n");
	put(root, "mine.conf", "[profile]\ndescription = mine\ninclude = nvidia\n");
	put(root, "broken.conf", "[profile]\ndescription = broken\n[kernel]\nad = quiet\n");
	put(root, "loop.conf", "[profile]\ninclude = loop2\n");
	put(root, "loop2.conf", "[profile]\ninclude = loop\n");
	put(root, "bad name.conf", "[kernel]\nadd = quiet\n");
	put(root, "notes.txt", "not a profile\n");
	if (asprintf(&link, "%s/" DIR_IN_ROOT "/link.conf", root) < 0 || symlink("mine.conf", link) < 0)
		printf("# cannot make link.conf\n");
	if (rootfs_open(root, &r, &e) < 0 || profile_list(r, &v, &n, &e) < 0) {
		ok(0, "profile_list: %s", e.text);
		root_free(root);
		return;
	}
	for (size_t k = 0; k < n; k++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", k ? "," : "", v[k].name);
	is_str(names, "amd,bad name,broken,gpu,intel,iommu,link,loop,loop2,mine,nvidia,vfio", "list: sorted, local and built-in");
	i = info(v, n, "iommu");
	ok(i && !i->builtin && i->shadows_builtin && !i->broken && !strcmp(i->description, "my iommu") &&
	   !strcmp(i->origin, SHOWN "iommu.conf"), "list: local iommu shadows the built-in");
	i = info(v, n, "nvidia");
	ok(i && i->builtin && !i->shadows_builtin && !strcmp(i->origin, "built-in") && strstr(i->description, "nouveau"),
	   "list: built-in nvidia");
	i = info(v, n, "mine");
	ok(i && !i->builtin && !i->broken && !strcmp(i->description, "mine"), "list: a good local profile");
	i = info(v, n, "broken");
	ok(i && i->broken && strstr(i->description, SHOWN "broken.conf:4: unknown key 'ad'") == i->description,
	   "list: a broken file is listed with its error: %s", i ? i->description : "");
	i = info(v, n, "loop");
	ok(i && i->broken && strstr(i->description, "include cycle"), "list: a cycle shows");
	i = info(v, n, "bad name");
	ok(i && i->broken && strstr(i->description, "not a profile name"), "list: a bad file name shows");
	i = info(v, n, "link");
	ok(i && i->broken && strstr(i->description, "symbolic link"), "list: a symbolic link shows why it is refused");
	profile_infos_free(v, n);
	root_free(root);
}

static void test_list_empty(void)
{
	_cleanup_(rootfs_freep) struct rootfs *r = NULL;
	char dir[] = "/tmp/test-profile-empty.XXXXXX";
	struct profile_info *v = NULL;
	struct error e = { 0 };
	size_t n = 0;

	if (!mkdtemp(dir) || rootfs_open(dir, &r, &e) < 0 || profile_list(r, &v, &n, &e) < 0)
		n = 0;
	rmdir(dir);
	ok(n == 6 && v[0].builtin && !strcmp(v[0].name, "amd") && !strcmp(v[1].name, "gpu") &&
	   !strcmp(v[5].name, "vfio"), "list without a profile directory: the six built-ins");
	profile_infos_free(v, n);
}

int main(void)
{
	char *root = root_new();
	_cleanup_(rootfs_freep) struct rootfs *r = NULL;
	struct error e = { 0 };

	if (!root || rootfs_open(root, &r, &e) < 0) {
		printf("Bail out! cannot make a sandbox root: %s\n", e.text);
		return 1;
	}
	test_iommu(r);
	test_iommu_vendor(r);
	test_vfio_virqfd(r);
	test_module_unknown(r);
	test_gpu(r);
	test_include_builtin(r, root);
	test_include_local(r, root);
	test_cycles(r, root);
	test_bad_input(r, root);
	test_refusals(r, root);
	test_shadow(r, root);
	test_unknown();
	test_list();
	test_list_empty();
	root_free(root);
	return tap_done();
}
