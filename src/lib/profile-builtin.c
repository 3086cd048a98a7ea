/* SPDX-License-Identifier: GPL-2.0-or-later */
/* profile-builtin.c — the compiled-in profiles (iommu, vfio, nvidia, amd, intel, gpu) and host-dependent findings.
 *  Owns: the built-ins' contents and profile_check_host(). Must not: read
 *  files or parse INI text; it looks at the host only through host_facts. */
#include <errno.h>
#include <string.h>

#include "hw.h"
#include "profile-internal.h"
#include "strbuf.h"

static int put_all(struct strv *s, const char *const *items, size_t n, int (*put)(struct strv *, const char *))
{
	for (size_t i = 0; i < n; i++) {
		int k = put(s, items[i]);
		if (k < 0)
			return k;
	}
	return 0;
}

/* ======================================================================
 * iommu
 * ====================================================================== */

/* Debian's kernels carry Ben Hutchings' patch "intel-iommu: Add Kconfig option
 * to exclude iGPU by default" (Debian bug #935270) and are built with
 * CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y: the IOMMU is on, except for the
 * integrated GPU. intel_iommu=on turns it on for the iGPU too, which iGPU
 * passthrough needs, and is what makes the kernel log "DMAR: IOMMU enabled". */
static int iommu_intel(struct profile *p)
{
	static const char *const add[] = { "intel_iommu=on", "iommu=pt" };
	int k;

	if ((k = put_all(&p->kernel_add, add, ARRAY_SIZE(add), kernel_list_put)) < 0)
		return k;
	return profile_add_finding(p, FINDING_INFO, "intel-iommu-on",
		"check after the reboot that 'dmesg | grep -e DMAR -e IOMMU' shows 'DMAR: IOMMU enabled'",
		"intel_iommu=on: Debian's 6.1 and 6.12 kernels are built with "
		"CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y, so the Intel IOMMU is already on except for the "
		"integrated GPU; intel_iommu=on covers the iGPU too and makes the kernel log 'DMAR: IOMMU enabled'. "
		"iommu=pt gives the devices the host keeps an identity (passthrough) mapping, so only devices "
		"given to guests pay for address translation");
}

/* amd_iommu= takes options, none of them "on". Documentation/admin-guide/
 * kernel-parameters.txt lists fullflush (deprecated, = iommu.strict=1), off,
 * force_isolation, force_enable, pgtbl_v1 (the default), pgtbl_v2, irtcachedis,
 * nohugepages and v2_pgsizes_only; parse_amd_iommu_options() in
 * drivers/iommu/amd/init.c logs "AMD-Vi: Unknown option - 'on'" and carries on.
 * The driver starts by itself whenever the firmware provides an IVRS ACPI
 * table. So the guide's amd_iommu=on is taken out, exact token only: a valid
 * amd_iommu= option someone set on purpose stays. */
static int iommu_amd(struct profile *p)
{
	int k;

	if ((k = kernel_list_put(&p->kernel_add, "iommu=pt")) < 0 ||
	    (k = strv_put(&p->kernel_remove, "amd_iommu=on")) < 0)
		return k;
	return profile_add_finding(p, FINDING_INFO, "amd-iommu-on-invalid",
		"if 'dmesg | grep AMD-Vi' stays empty after the reboot, enable IOMMU (AMD-Vi) in the firmware setup",
		"amd_iommu=on is not a value the kernel knows (amd_iommu= accepts e.g. off, fullflush, "
		"force_enable, force_isolation, pgtbl_v1, pgtbl_v2, irtcachedis; the kernel logs "
		"\"AMD-Vi: Unknown option - 'on'\"), so it is removed rather than added: the AMD IOMMU is "
		"enabled whenever the firmware has an IVRS table. iommu=pt gives the devices the host keeps an "
		"identity (passthrough) mapping");
}

/* Which IOMMU the host has, and what said so. The firmware's ACPI table names it (DMAR: Intel
 * VT-d, IVRS: AMD-Vi); where the tables cannot be listed (a user who is not root), the units
 * the kernel registered do (drivers/iommu/intel names them dmarN, drivers/iommu/amd ivhdN).
 * Only where neither tells does the CPU's vendor decide. The two can differ: QEMU's
 * "-cpu EPYC -device intel-iommu" is an AMD CPU behind an Intel IOMMU, and the parameters
 * must follow the IOMMU, or plan speaks of amd_iommu=on to a host that never had it. */
enum iommu_vendor { IOMMU_VENDOR_UNKNOWN, IOMMU_VENDOR_INTEL, IOMMU_VENDOR_AMD };

static enum iommu_vendor iommu_vendor_from_units(const struct hw *hw)
{
	bool dmar = false, ivhd = false;

	for (size_t i = 0; i < hw->iommus.n; i++) {
		dmar |= strncmp(hw->iommus.v[i], "dmar", 4) == 0;
		ivhd |= strncmp(hw->iommus.v[i], "ivhd", 4) == 0;
	}
	return dmar == ivhd ? IOMMU_VENDOR_UNKNOWN : dmar ? IOMMU_VENDOR_INTEL : IOMMU_VENDOR_AMD;
}

static enum iommu_vendor iommu_vendor_of(const struct host_facts *f, const char **ret_why)
{
	const struct hw *hw = f->hw;
	enum iommu_vendor v;

	if (hw && hw->dmar != hw->ivrs) {
		*ret_why = hw->dmar ? "the firmware's DMAR table" : "the firmware's IVRS table";
		return hw->dmar ? IOMMU_VENDOR_INTEL : IOMMU_VENDOR_AMD;
	}
	if (hw && (v = iommu_vendor_from_units(hw)) != IOMMU_VENDOR_UNKNOWN) {
		*ret_why = v == IOMMU_VENDOR_INTEL ? "the kernel's dmar IOMMU units" : "the kernel's ivhd IOMMU units";
		return v;
	}
	*ret_why = "the CPU vendor";
	if (f->cpu_vendor && streq(f->cpu_vendor, "GenuineIntel"))
		return IOMMU_VENDOR_INTEL;
	if (f->cpu_vendor && streq(f->cpu_vendor, "AuthenticAMD"))
		return IOMMU_VENDOR_AMD;
	return IOMMU_VENDOR_UNKNOWN;
}

/* The CPU says one vendor and the IOMMU the other: say which one the parameters follow. */
static int note_vendor_mismatch(struct profile *p, const struct host_facts *f, enum iommu_vendor v,
				const char *why)
{
	const char *cpu_says = v == IOMMU_VENDOR_INTEL ? "AuthenticAMD" : "GenuineIntel";

	if (!f->cpu_vendor || !streq(f->cpu_vendor, cpu_says))
		return 0;
	return profile_add_finding(p, FINDING_INFO, "iommu-vendor", NULL,
		"the IOMMU parameters follow %s, which names an %s IOMMU, not the CPU (%s)", why,
		v == IOMMU_VENDOR_INTEL ? "Intel (VT-d)" : "AMD (AMD-Vi)", f->cpu_vendor);
}

static int fill_iommu(struct profile *p, const struct host_facts *f, struct error *e)
{
	const char *cpuinfo = f->cpuinfo ? f->cpuinfo : "/proc/cpuinfo";
	const char *why;
	enum iommu_vendor v = iommu_vendor_of(f, &why);
	int k;

	if (v != IOMMU_VENDOR_UNKNOWN) {
		if ((k = note_vendor_mismatch(p, f, v, why)) < 0)
			return k;
		return v == IOMMU_VENDOR_INTEL ? iommu_intel(p) : iommu_amd(p);
	}
	if (!f->cpu_vendor && f->cpuinfo_errno && f->cpuinfo_errno != ENOENT)
		return error_set(e, EXIT_IO, "cannot read %s: %s, and no DMAR or IVRS table says which IOMMU "
				 "the host has, so profile '%s' cannot choose the IOMMU parameters", cpuinfo,
				 strerror(f->cpuinfo_errno), p->name), -f->cpuinfo_errno;
	if (!f->cpu_vendor)
		return error_set(e, EXIT_BAD_INPUT,
				 "cannot tell the CPU vendor from %s (no vendor_id line), and no DMAR or IVRS table "
				 "says which IOMMU the host has, so profile '%s' cannot choose the IOMMU parameters; "
				 "use a local profile with [kernel] add = ... in " PROFILE_DIR "/NAME.conf",
				 cpuinfo, p->name), -EINVAL;
	return error_set(e, EXIT_BAD_INPUT,
			 "the CPU vendor in %s is '%s', neither GenuineIntel nor AuthenticAMD, and no DMAR or "
			 "IVRS table says which IOMMU the host has, so profile '%s' cannot choose the IOMMU "
			 "parameters; use a local profile with [kernel] add = ... in " PROFILE_DIR "/NAME.conf",
			 cpuinfo, f->cpu_vendor, p->name), -EINVAL;
}

/* ======================================================================
 * vfio
 * ====================================================================== */

static int has_module(const struct host_facts *f, const char *kernel, const char *module)
{
	return f->kernel_has_module ? f->kernel_has_module(f->data, kernel, module) : -1;
}

/* Linux 6.2 merged virqfd into vfio.ko ("vfio: Fold vfio_virqfd.ko into
 * vfio.ko"): Debian's 6.1 still has vfio_virqfd.ko, 6.12 has none, and for
 * a name in /etc/modules that a kernel lacks systemd-modules-load logs "Failed
 * to find module" on every boot (systemd 252 ignores -ENOENT, so the unit still
 * succeeds and nobody sees it). So it is listed only when an installed kernel
 * still has it. */
static int add_virqfd(struct profile *p, const struct host_facts *f)
{
	_cleanup_strbuf_ struct strbuf with = STRBUF_INIT, without = STRBUF_INIT, unknown = STRBUF_INIT;
	int k;

	if (f->n_kernels == 0)
		return profile_add_finding(p, FINDING_INFO, "vfio-virqfd", NULL,
			"vfio_virqfd is left out: no installed kernel was found to check, and kernels from "
			"Linux 6.2 on have virqfd inside vfio.ko");
	for (size_t i = 0; i < f->n_kernels; i++) {
		int has = has_module(f, f->kernels[i], "vfio_virqfd");
		struct strbuf *sb = has > 0 ? &with : has == 0 ? &without : &unknown;
		if (strbuf_appendf(sb, "%s%s", sb->len ? ", " : "", f->kernels[i]) < 0)
			return -ENOMEM;
	}
	if (with.len) {
		if ((k = module_list_put(&p->modules_add, "vfio_virqfd")) < 0)
			return k;
		return profile_add_finding(p, FINDING_INFO, "vfio-virqfd", NULL,
			"vfio_virqfd is listed because kernel %s still has it as a module of its own; "
			"Linux 6.2 merged it into vfio.ko, so newer kernels neither have nor need it",
			strbuf_str(&with));
	}
	if (without.len)
		return profile_add_finding(p, FINDING_INFO, "vfio-virqfd", NULL,
			"vfio_virqfd is left out: no installed kernel has it (%s), because Linux 6.2 merged it "
			"into vfio.ko; the guide's line is for older kernels", strbuf_str(&without));
	return profile_add_finding(p, FINDING_INFO, "vfio-virqfd", NULL,
		"vfio_virqfd is left out: cannot tell whether kernel %s has it, and kernels from Linux 6.2 "
		"on do not", strbuf_str(&unknown));
}

static int fill_vfio(struct profile *p, const struct host_facts *f, struct error *e)
{
	static const char *const modules[] = { "vfio", "vfio_iommu_type1", "vfio_pci" };
	int k;

	if ((k = fill_iommu(p, f, e)) < 0 ||
	    (k = put_all(&p->modules_add, modules, ARRAY_SIZE(modules), module_list_put)) < 0)
		return k;
	return add_virqfd(p, f);
}

/* ======================================================================
 * GPU vendors: vfio + the Proxmox guide's blacklist for the vendor
 * ====================================================================== */

static int fill_vendor(struct profile *p, const struct host_facts *f, struct error *e,
		       const char *const *blacklist, size_t n)
{
	int k = fill_vfio(p, f, e);

	return k < 0 ? k : put_all(&p->blacklist_add, blacklist, n, module_list_put);
}

static int fill_nvidia(struct profile *p, const struct host_facts *f, struct error *e)
{
	static const char *const blacklist[] = { "nouveau", "nvidia", "nvidiafb" };

	return fill_vendor(p, f, e, blacklist, ARRAY_SIZE(blacklist));
}

static int fill_amd(struct profile *p, const struct host_facts *f, struct error *e)
{
	static const char *const blacklist[] = { "radeon", "amdgpu" };
	int k = fill_vendor(p, f, e, blacklist, ARRAY_SIZE(blacklist));

	if (k < 0)
		return k;
	return profile_add_finding(p, FINDING_INFO, "blacklist-host-gpu",
		"to keep an AMD GPU for the host, bind only the guest's GPU to vfio-pci with [vfio-pci] ids = ...",
		"blacklisting amdgpu and radeon takes every AMD GPU away from the host, an AMD processor's "
		"integrated graphics included, not only the one given to the guest");
}

static int fill_intel(struct profile *p, const struct host_facts *f, struct error *e)
{
	static const char *const blacklist[] = { "snd_hda_intel", "snd_hda_codec_hdmi", "i915" };
	int k = fill_vendor(p, f, e, blacklist, ARRAY_SIZE(blacklist));

	if (k < 0)
		return k;
	return profile_add_finding(p, FINDING_INFO, "blacklist-host-audio",
		"if the host needs sound, bind only the GPU's functions to vfio-pci with [vfio-pci] ids = ... "
		"instead of blacklisting snd_hda_intel",
		"blacklisting snd_hda_intel also takes the host's own onboard sound (and the HDMI audio of "
		"every GPU), not only the passed-through GPU's; i915 likewise leaves the host without its "
		"Intel graphics driver");
}

/* ======================================================================
 * gpu: vfio + the chosen GPUs' slots for vfio-pci (DESIGN.md §4)
 * ====================================================================== */

/* Slots only: the plan turns each into every function of the slot, and decides between
 * ids= and binding by address (safety.c), so that a local profile's [vfio-pci] devices
 * gets the same treatment. */
static int fill_gpu(struct profile *p, const struct host_facts *f, struct error *e)
{
	_cleanup_strbuf_ struct strbuf consoles = STRBUF_INIT;
	int k;

	if ((k = fill_vfio(p, f, e)) < 0)
		return k;
	if (!f->hw)
		return error_set(e, EXIT_IO, "the gpu profile needs the PCI devices, and none could be read"), -EIO;
	for (size_t i = 0; i < f->n_devices; i++)
		if ((k = strv_put(&p->vfio_devices, f->devices[i])) < 0)
			return k;
	if (f->n_devices)
		return 0;
	for (size_t i = 0; i < f->hw->n_devs; i++) {
		const struct pci_function *d = &f->hw->devs[i];
		char slot[16];

		if (!pci_is_gpu(d))
			continue;
		if (d->roles & HW_ROLE_CONSOLE) {
			strbuf_appendf(&consoles, "%s%s (%s)", consoles.len ? ", " : "", d->slot, d->role_why);
			continue;
		}
		snprintf(slot, sizeof(slot), "%.10s", d->slot);
		if ((k = strv_put(&p->vfio_devices, slot)) < 0)
			return k;
	}
	if (p->vfio_devices.n)
		return 0;
	if (!consoles.len)
		return error_set(e, EXIT_REFUSED, "the gpu profile found no GPU to pass through: this host has no GPU "
				 "(see 'iommuctl scan')"), -EPERM;
	return error_set(e, EXIT_REFUSED,
			 "the gpu profile found no GPU to pass through but the host's console: %s; to pass that one on "
			 "purpose, name it with --device SLOT and add --allow-console-gpu (see 'iommuctl scan')",
			 strbuf_str(&consoles)),
	       -EPERM;
}

static const struct profile_builtin builtins[] = {
	{ "amd", "vfio + blacklist the AMD GPU drivers (radeon amdgpu)", fill_amd },
	{ "gpu", "vfio + pass the GPUs the host does not use (or --device SLOT) to vfio-pci, every function",
	  fill_gpu },
	{ "intel", "vfio + blacklist Intel graphics and HD audio (snd_hda_intel snd_hda_codec_hdmi i915)",
	  fill_intel },
	{ "iommu", "IOMMU kernel parameters for this CPU (Intel: intel_iommu=on iommu=pt; AMD: iommu=pt)",
	  fill_iommu },
	{ "nvidia", "vfio + blacklist the NVIDIA drivers (nouveau nvidia nvidiafb)", fill_nvidia },
	{ "vfio", "iommu + the VFIO modules in /etc/modules (vfio_virqfd only for kernels that have it)",
	  fill_vfio },
};

const struct profile_builtin *profile_builtins(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(builtins);
	return builtins;
}

const struct profile_builtin *profile_builtin_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
		if (streq(builtins[i].name, name))
			return &builtins[i];
	return NULL;
}

/* ======================================================================
 * Host checks for any resolved profile
 * ====================================================================== */

static int check_kernel(struct profile *p, const struct host_facts *f, const char *kernel)
{
	bool unknown = false;
	int k;

	for (size_t i = 0; i < p->modules_add.n; i++) {
		const char *m = p->modules_add.v[i];
		int has = has_module(f, kernel, m);
		if (has < 0)
			unknown = true;
		if (has != 0)
			continue;
		k = profile_add_finding(p, FINDING_WARNING, "kernel-lacks-module",
			"harmless if that kernel is no longer booted; otherwise install its modules or take the "
			"module out of the profile with [modules] remove",
			"kernel %s has no module %s (neither a .ko file nor built in); systemd-modules-load "
			"logs \"Failed to find module '%s'\" on every boot of that kernel", kernel, m, m);
		if (k < 0)
			return k;
	}
	if (!unknown)
		return 0;
	return profile_add_finding(p, FINDING_WARNING, "kernel-modules-unknown",
		"run 'depmod' for that kernel, then plan again",
		"cannot tell which modules kernel %s has (modules.dep or modules.builtin unreadable)", kernel);
}

/* "amd_iommu=on" or an option list with "on" in it, e.g. "amd_iommu=on,fullflush". */
static bool has_amd_iommu_on(const struct strv *kernel_add)
{
	for (size_t i = 0; i < kernel_add->n; i++) {
		const char *v = kernel_add->v[i];
		if (strncmp(v, "amd_iommu=", strlen("amd_iommu=")))
			continue;
		for (v += strlen("amd_iommu="); *v; v += strspn(v, ",")) {
			size_t n = strcspn(v, ",");
			if (n == 2 && !strncmp(v, "on", 2))
				return true;
			v += n;
		}
	}
	return false;
}

/* MODULE.PARAM=VALUE on the command line: the kernel hands it to the module, and ignores it
 * (with "Unknown kernel command line parameters" in dmesg) when the module has no such
 * parameter. Only a module that exists and whose modinfo is readable can be checked: a dotted
 * name that is no module may be one of the kernel's own early parameters (iommu.strict,
 * iommu.passthrough), and the kernel keeps no list of those that a root carries. */
static int check_module_params(struct profile *p, const struct host_facts *f, const char *kernel)
{
	for (size_t i = 0; f->kernel_has_param && i < p->kernel_add.n; i++) {
		const char *tok = p->kernel_add.v[i], *dot = strchr(tok, '.');
		size_t keylen = strcspn(tok, "=");
		char module[64], param[64];
		int k;

		if (!dot || (size_t)(dot - tok) >= keylen || (size_t)(dot - tok) >= sizeof(module) ||
		    keylen - (size_t)(dot - tok) - 1 >= sizeof(param))
			continue;
		snprintf(module, sizeof(module), "%.*s", (int)(dot - tok), tok);
		snprintf(param, sizeof(param), "%.*s", (int)(keylen - (size_t)(dot - tok) - 1), dot + 1);
		if (f->kernel_has_param(f->data, kernel, module, param) != 0)
			continue;
		k = profile_add_finding(p, FINDING_WARNING, "unknown-kernel-param",
			"'modinfo -k VERSION MODULE' lists the parameters a module takes",
			"module %s of kernel %s has no parameter %s, so the kernel ignores %.*s", module,
			kernel, param, (int)keylen, tok);
		if (k < 0)
			return k;
	}
	return 0;
}

int profile_check_host(struct profile *p, const struct host_facts *f)
{
	int k;

	for (size_t i = 0; i < f->n_kernels; i++)
		if ((k = check_module_params(p, f, f->kernels[i])) < 0)
			return k;

	if (p->modules_add.n && f->n_kernels == 0 &&
	    (k = profile_add_finding(p, FINDING_WARNING, "no-kernels",
		"check --root, or install a kernel package (proxmox-kernel or linux-image)",
		"no installed kernel was found under /lib/modules, so none of the modules for /etc/modules "
		"could be checked")) < 0)
		return k;
	for (size_t i = 0; f->kernel_has_module && i < f->n_kernels; i++)
		if ((k = check_kernel(p, f, f->kernels[i])) < 0)
			return k;
	if (has_amd_iommu_on(&p->kernel_add))
		return profile_add_finding(p, FINDING_WARNING, "amd-iommu-on-added",
			"take amd_iommu=on out of [kernel] add; iommu=pt is the parameter that matters",
			"amd_iommu=on is not a value the kernel knows (it logs \"AMD-Vi: Unknown option - 'on'\" "
			"and ignores it); the AMD IOMMU is enabled whenever the firmware has an IVRS table");
	return 0;
}
