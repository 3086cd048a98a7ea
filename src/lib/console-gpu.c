/* SPDX-License-Identifier: GPL-2.0-or-later */
/* console-gpu.c — the host's own console GPU passed through on purpose (--allow-console-gpu):
 * the way back it needs and what the kernel needs to let go of the firmware framebuffer.
 *  Owns: console_gpu_findings(), console_gpu_serial(). Must not: lift a finding itself (safety.c
 *  does, for the console role only), read the system, or include plan.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "console-gpu.h"
#include "strbuf.h"

int console_gpu_serial(const char *cmdline, char **ret)
{
	static const char *const serial[] = { "ttyS", "ttyAMA", "ttyUSB", "hvc" };
	_cleanup_free_ struct cmdline_token *t = NULL;
	size_t n = 0, n_kernel = 0;
	const struct cmdline_token *last = NULL;

	*ret = NULL;
	if (!cmdline)
		return 0;
	if (cmdline_tokenize(cmdline, strlen(cmdline), &t, &n, &n_kernel) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n_kernel; i++) {
		if (!t[i].has_value || !cmdline_key_equal(cmdline + t[i].key_start, t[i].key_len, "console", 7))
			continue;
		for (size_t s = 0; s < ARRAY_SIZE(serial); s++)
			if (t[i].value_len > strlen(serial[s]) &&
			    !strncmp(cmdline + t[i].value_start, serial[s], strlen(serial[s])))
				last = &t[i];
	}
	if (last && !(*ret = strndup(cmdline + last->value_start, last->value_len)))
		return -ENOMEM;
	return 0;
}

static bool has_finding(const struct finding *f, size_t nf, const char *id)
{
	for (size_t i = 0; i < nf; i++)
		if (streq(f[i].id, id))
			return true;
	return false;
}

static bool is_target(const struct vfio_plan *v, size_t idx)
{
	for (size_t i = 0; i < v->n_targets; i++)
		if (v->targets[i] == idx)
			return true;
	return false;
}

/* "0000:02:00.0 (82574L Gigabit Network Connection, enp2s0, port of vmbr0)" for each NIC of a
 * default route that stays with the host: not a target, and no blocking finding takes it. */
static int nics_kept(const struct hw *hw, const struct vfio_plan *v, const struct finding *f, size_t nf,
		     struct strbuf *sb)
{
	if (has_finding(f, nf, "takes-network"))
		return 0;
	for (size_t c = 0; c < hw->n_chains; c++) {
		const struct hw_chain *ch = &hw->chains[c];
		const struct pci_function *d = &hw->devs[ch->dev];

		if (ch->role != HW_ROLE_NETWORK || is_target(v, ch->dev))
			continue;
		if (strbuf_appendf(sb, "%s%s %s (%s%s%s)", sb->len ? ", " : "", d->slot, d->device_name, ch->leaf,
				   ch->via ? ", " : "", ch->via ? ch->via : "") < 0)
			return -ENOMEM;
	}
	return 0;
}

int console_gpu_findings(const struct hw *hw, const struct vfio_plan *v, const char *next_cmdline, struct finding **f,
			 size_t *nf)
{
	_cleanup_strbuf_ struct strbuf nics = STRBUF_INIT;
	_cleanup_free_ char *serial = NULL;
	int k;

	if (!hw || !has_finding(*f, *nf, SAFETY_CONSOLE_ALLOWED))
		return finding_add(f, nf, FINDING_INFO, "console-gpu-unused", NULL,
				   "--allow-console-gpu changes nothing here: the plan takes no device the host needs "
				   "for its console");
	if ((k = nics_kept(hw, v, *f, *nf, &nics)) < 0 || (k = console_gpu_serial(next_cmdline, &serial)) < 0)
		return k;
	if (!nics.len && !serial)
		return finding_add(f, nf, FINDING_BLOCKING, "console-gpu-no-way-back",
				   "keep the NIC of the default route with the host (SSH), or put a serial console on "
				   "the kernel command line (console=ttyS0,115200 and a serial line or IPMI SOL to "
				   "read it), then plan again; --force goes ahead without a way back",
				   "the console GPU goes to vfio-pci, and the host would keep no way back: no NIC "
				   "of a default route stays with it and the next boot's command line has no serial "
				   "console= (it will be: %s)", next_cmdline ? next_cmdline : "unknown");
	if (nics.len)
		k = finding_add(f, nf, FINDING_INFO, "console-gpu-way-back",
				"apply it with `iommuctl apply --trial`, so that a boot that fails falls back to the "
				"old configuration; check that SSH to the host works before the reboot",
				"the way back is SSH: the NIC of the default route stays with the host: %s", nics.buf);
	if (k == 0 && serial)
		k = finding_add(f, nf, FINDING_INFO, "console-gpu-way-back",
				"apply it with `iommuctl apply --trial`, so that a boot that fails falls back to the "
				"old configuration; check that the serial line (or IPMI SOL) shows the boot",
				"the way back is the serial console: the next boot's command line has console=%s",
				serial);
	/* Measured with tools/measure-console-gpu (Debian 12's 6.1.0-57 and 6.12.118 under OVMF): before
	 * vfio-pci binds the boot VGA, /proc/iomem shows "efifb" inside its BAR 0; after, the range,
	 * the efi-framebuffer.0 device and fb0 are gone. vfio-pci does it itself since Linux 6.0
	 * (aperture_remove_conflicting_pci_devices in vfio_pci_core.c), so no parameter is written;
	 * video=efifb:off would also blank the initramfs's and the emergency shell's console. */
	if (k == 0)
		k = finding_add(f, nf, FINDING_INFO, "console-gpu-framebuffer", NULL,
				"no framebuffer parameter needed: vfio-pci removes the firmware framebuffer "
				"(efifb, simpledrm) on the card when it binds it (Linux 6.0 and later; measured on "
				"Debian's 6.1 and 6.12); the initramfs keeps its console until then, and "
				"'iommuctl verify' checks /proc/iomem after the reboot");
	return k;
}
