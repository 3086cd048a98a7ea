/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hw-read.c — the whole machine, in the order each part needs the one before: the scan (hw.c),
 *  the roles and their chains (hw-roles.c, hw-chain.c), the modules of the devices and of the
 *  chains' links, in every installed kernel (kmods.c).
 *  Owns: that order, and resolving modules over the kernels. Must not: read sysfs itself (the
 *  readers below do), or be included by any of them. */
#include <errno.h>

#include "hw-chain.h"
#include "hw-read.h"
#include "hw-roles.h"
#include "kmods.h"
#include "macros.h"

/* Fill each device's modules, and the candidates of every unbound link of the chains. */
static int resolve_modules(struct hw *hw, const struct rootfs *r, struct error *e)
{
	char **kernels = NULL;
	size_t n_kernels = 0;
	int k;

	k = kmods_list_kernels(r, &kernels, &n_kernels, e);
	for (size_t i = 0; k == 0 && i < n_kernels; i++) {
		_cleanup_(kmods_freep) struct kmods *km = NULL;
		struct error ignored = { 0 };

		if (kmods_open(r, kernels[i], &km, &ignored) < 0) {
			k = hw_note(hw, "kernel %s: module indexes unreadable, its modules are not known", kernels[i]);
			continue;
		}
		hw->modules_resolved = true;
		for (size_t j = 0; k == 0 && j < hw->n_devs; j++) {
			struct pci_function *d = &hw->devs[j];
			char **mods = NULL;
			size_t n = 0;

			if (!d->modalias || kmods_resolve_alias(km, d->modalias, &mods, &n, NULL) < 0)
				continue;
			for (size_t m = 0; k == 0 && m < n; m++)
				if (!strv_contains(&d->modules, mods[m]))
					k = strv_add(&d->modules, mods[m]);
			strv_free(mods, n);
		}
		for (size_t j = 0; k == 0 && j < hw->n_chains; j++)
			k = hw_chain_resolve(&hw->chains[j], km);
	}
	/* The bound driver's module serves the device even when no alias names it (new_id, driver_override). */
	for (size_t j = 0; k == 0 && j < hw->n_devs; j++) {
		struct pci_function *d = &hw->devs[j];

		if (d->driver_module && !strv_contains(&d->modules, d->driver_module))
			k = strv_add(&d->modules, d->driver_module);
	}
	strv_free(kernels, n_kernels);
	if (k == -ENOMEM)
		error_set(e, EXIT_IO, "out of memory");
	return k;
}

int hw_read_all(const char *sysfs, const char *procfs, const struct rootfs *r, struct hw *ret, struct error *e)
{
	struct hw hw;
	int k;

	k = hw_scan(sysfs, procfs, &hw, e);
	if (k < 0)
		return k;
	if ((k = hw_find_roles(&hw)) < 0)
		error_set(e, EXIT_IO, "out of memory");
	if (k == 0)
		k = resolve_modules(&hw, r, e);
	if (k < 0) {
		hw_clear(&hw);
		return k;
	}
	*ret = hw;
	return 0;
}
