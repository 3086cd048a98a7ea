/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-trialline.c — the trial boot's command line (trialline.c): a table of profiles and plans
 *  with the exact additions, dropped tokens, bound addresses and unexercised parts each gives,
 *  and the trial entry's line made from a default entry's line. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "tap.h"
#include "trialline.h"

/* Lists are "a b c" (split at spaces), NULL for none. */
struct tcase {
	const char *name;
	const char *kernel_add, *kernel_remove, *modules_add, *modules_remove, *blacklist_add, *blacklist_remove;
	const char *ids;		/* plan.vfio.ids (the plan's own), NULL none */
	const char *ids_list;		/* plan.ids.list: the command line's list after the change */
	bool on_cmdline;		/* plan.ids.on_cmdline */
	int disable_vga;
	const char *override, *softdeps, *targets;	/* targets: slots of hw devices */
	const char *hooks;
	int64_t txn;
	unsigned panic;
	int want_rc;
	const char *want_add, *want_drop, *want_bind;
	const char *want_unexercised;	/* substrings, '|'-separated, in order; "" none */
};

static const struct tcase cases[] = {
	{ "nothing but the markers", .txn = 1, .want_add = "iommuctl.trial=1 panic=10", .want_drop = "",
	  .want_bind = "", .want_unexercised = "" },
	{ "kernel parameters as they are, their keys dropped first", .kernel_add = "intel_iommu=on iommu=pt",
	  .txn = 7, .want_add = "intel_iommu=on iommu=pt iommuctl.trial=7 panic=10",
	  .want_drop = "intel_iommu iommu", .want_bind = "", .want_unexercised = "" },
	{ "kernel_remove by key and by exact token", .kernel_remove = "quiet nomodeset=1", .txn = 3,
	  .want_add = "iommuctl.trial=3 panic=10", .want_drop = "quiet nomodeset=1", .want_bind = "",
	  .want_unexercised = "" },
	{ "the issue's measured line", .kernel_add = "iommu=pt", .modules_add = "vfio vfio_iommu_type1 vfio_pci",
	  .blacklist_add = "bochs", .ids = "1234:1111 8086:293e", .ids_list = "1234:1111,8086:293e",
	  .disable_vga = 1, .hooks = "update-initramfs update-grub", .txn = 12,
	  .want_add = "iommu=pt modules-load=vfio,vfio_iommu_type1,vfio_pci modprobe.blacklist=bochs "
		      "vfio-pci.ids=1234:1111,8086:293e vfio-pci.disable_vga=1 iommuctl.trial=12 panic=10",
	  .want_drop = "iommu", .want_bind = "", .want_unexercised = "the initramfs" },
	{ "the administrator's ids on the command line kept: the whole list after the change", .ids = "10de:1b80",
	  .ids_list = "8086:10d3,10de:1b80", .on_cmdline = true, .disable_vga = -1, .txn = 2,
	  .want_add = "vfio-pci.ids=8086:10d3,10de:1b80 iommuctl.trial=2 panic=10", .want_drop = "", .want_bind = "",
	  .want_unexercised = "" },
	{ "ids that go to modprobe.d: the plan's own list", .ids = "8086:293e 1234:1111",
	  .ids_list = NULL, .disable_vga = -1, .txn = 2,
	  .want_add = "vfio-pci.ids=8086:293e,1234:1111 iommuctl.trial=2 panic=10", .want_drop = "", .want_bind = "",
	  .want_unexercised = "" },
	{ "disable_vga without vfio targets says nothing", .disable_vga = 1, .txn = 2,
	  .want_add = "iommuctl.trial=2 panic=10", .want_drop = "", .want_bind = "", .want_unexercised = "" },
	{ "by-address binding travels on iommuctl.bind=", .override = "0000:01:00.0 0000:01:00.1", .txn = 5,
	  .want_add = "iommuctl.bind=0000:01:00.0,0000:01:00.1 iommuctl.trial=5 panic=10", .want_drop = "",
	  .want_bind = "0000:01:00.0 0000:01:00.1", .want_unexercised = "'install vfio-pci'" },
	{ "softdeps: every target bound by address instead", .ids = "10de:1b80 10de:10f0",
	  .ids_list = "10de:1b80,10de:10f0", .softdeps = "nouveau snd_hda_intel",
	  .targets = "0000:01:00.0 0000:01:00.1", .txn = 9,
	  .want_add = "vfio-pci.ids=10de:1b80,10de:10f0 iommuctl.bind=0000:01:00.0,0000:01:00.1 iommuctl.trial=9 panic=10",
	  .want_drop = "", .want_bind = "0000:01:00.0 0000:01:00.1",
	  .want_unexercised = "'softdep nouveau pre: vfio-pci'|'softdep snd_hda_intel pre: vfio-pci'" },
	{ "override and softdep of the same function: bound once", .override = "0000:01:00.0",
	  .softdeps = "nouveau", .targets = "0000:01:00.0", .txn = 4,
	  .want_add = "iommuctl.bind=0000:01:00.0 iommuctl.trial=4 panic=10", .want_drop = "",
	  .want_bind = "0000:01:00.0", .want_unexercised = "'softdep nouveau|'install vfio-pci'" },
	{ "removals cannot be tried", .modules_remove = "nvidia", .blacklist_remove = "nouveau", .txn = 6,
	  .want_add = "iommuctl.trial=6 panic=10", .want_drop = "", .want_bind = "",
	  .want_unexercised = "removing nvidia from /etc/modules|lifting the blacklist of nouveau" },
	{ "another panic delay", .panic = 30, .txn = 8, .want_add = "iommuctl.trial=8 panic=30", .want_drop = "",
	  .want_bind = "", .want_unexercised = "" },
	{ "a parameter GRUB would read differently is refused", .kernel_add = "foo=$bar", .txn = 1,
	  .want_rc = -EINVAL },
	{ "a quoted parameter is refused", .kernel_add = "foo=\"a b\"", .txn = 1, .want_rc = -EINVAL },
	{ "a kernel_remove GRUB would read differently is refused", .kernel_remove = "a;b", .txn = 1,
	  .want_rc = -EINVAL },
};

static void fill(struct strv *s, const char *list)
{
	char *copy, *tok, *save = NULL;

	if (!list)
		return;
	copy = strdup(list);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		strv_add(s, tok);
	free(copy);
}

static char *joined(const struct strv *s)
{
	size_t len = 1;
	char *out;

	for (size_t i = 0; i < s->n; i++)
		len += strlen(s->v[i]) + 1;
	out = calloc(1, len);
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, s->v[i]);
	}
	return out;
}

/* Every '|'-separated substring occurs, in order, one per entry of u (and u has no others). */
static bool unexercised_match(const struct strv *u, const char *want)
{
	char *copy = strdup(want), *tok, *save = NULL;
	size_t i = 0;
	bool good = true;

	for (tok = strtok_r(copy, "|", &save); tok; tok = strtok_r(NULL, "|", &save), i++)
		if (i >= u->n || !strstr(u->v[i], tok))
			good = false;
	free(copy);
	return good && i == u->n;
}

static void run_case(const struct tcase *c)
{
	struct profile p = { 0 };
	struct plan plan = { 0 };
	struct hw hw = { 0 };
	struct trial_line t = { 0 };
	struct cmdline_error err = { 0 };
	struct strv targets = { 0 };
	int k;

	fill(&p.kernel_add, c->kernel_add);
	fill(&p.kernel_remove, c->kernel_remove);
	fill(&p.modules_add, c->modules_add);
	fill(&p.modules_remove, c->modules_remove);
	fill(&p.blacklist_add, c->blacklist_add);
	fill(&p.blacklist_remove, c->blacklist_remove);
	fill(&plan.vfio.ids, c->ids);
	plan.ids.list = c->ids_list ? strdup(c->ids_list) : NULL;
	plan.ids.on_cmdline = c->on_cmdline;
	plan.vfio.disable_vga = c->disable_vga;
	fill(&plan.vfio.override, c->override);
	fill(&plan.vfio.softdeps, c->softdeps);
	fill(&plan.hooks, c->hooks);
	fill(&targets, c->targets);
	hw.devs = calloc(targets.n + 1, sizeof(*hw.devs));
	plan.vfio.targets = calloc(targets.n + 1, sizeof(size_t));
	for (size_t i = 0; i < targets.n; i++) {
		snprintf(hw.devs[i].slot, sizeof(hw.devs[i].slot), "%s", targets.v[i]);
		plan.vfio.targets[i] = i;
	}
	plan.vfio.n_targets = targets.n;

	k = trialline_make(&p, &plan, &hw, c->txn, c->panic, &t, &err);
	ok(k == c->want_rc, "%s: returns %d (got %d%s%s)", c->name, c->want_rc, k, k ? ": " : "", k ? err.message : "");
	if (k == 0 && c->want_rc == 0) {
		char *drop = joined(&t.drop), *bind = joined(&t.bind);

		is_str(t.add, c->want_add, "%s: the additions", c->name);
		is_str(drop, c->want_drop, "%s: the dropped tokens", c->name);
		is_str(bind, c->want_bind, "%s: iommuctl.bind=", c->name);
		ok(unexercised_match(&t.unexercised, c->want_unexercised), "%s: unexercised '%s' (got %zu entries%s%s)",
		   c->name, c->want_unexercised, t.unexercised.n, t.unexercised.n ? ", first: " : "",
		   t.unexercised.n ? t.unexercised.v[0] : "");
		free(drop);
		free(bind);
	}
	trial_line_clear(&t);
	strv_clear(&targets);
	free(hw.devs);
	free(plan.vfio.targets);
	free(plan.ids.list);
	strv_clear(&plan.vfio.ids);
	strv_clear(&plan.vfio.override);
	strv_clear(&plan.vfio.softdeps);
	strv_clear(&plan.hooks);
	strv_clear(&p.kernel_add);
	strv_clear(&p.kernel_remove);
	strv_clear(&p.modules_add);
	strv_clear(&p.modules_remove);
	strv_clear(&p.blacklist_add);
	strv_clear(&p.blacklist_remove);
}

struct acase {
	const char *name, *def, *add, *drop, *want;
	int want_rc;
};

static const struct acase apply_cases[] = {
	{ "append to Proxmox's default line", "root=/dev/mapper/pve-root ro quiet", "iommuctl.trial=1 panic=10", NULL,
	  "root=/dev/mapper/pve-root ro quiet iommuctl.trial=1 panic=10", 0 },
	{ "kernel_remove drops by key, every occurrence", "ro quiet iommu=soft splash iommu=off", "iommu=pt",
	  "iommu", "ro quiet splash iommu=pt", 0 },
	{ "an exact token drops only that value", "ro nomodeset=1 nomodeset=0", "", "nomodeset=1", "ro nomodeset=0", 0 },
	{ "'-' and '_' are one key to the kernel", "ro intel-iommu=off", "intel_iommu=on", "intel_iommu",
	  "ro intel_iommu=on", 0 },
	{ "trailing blanks and newline go", "ro quiet  \n", "x=1", NULL, "ro quiet x=1", 0 },
	{ "an empty default line", "", "iommuctl.trial=2", NULL, "iommuctl.trial=2", 0 },
	{ "after '--' nothing is the kernel's and nothing is dropped", "ro quiet -- quiet", "a=1", "quiet",
	  "ro a=1 -- quiet", 0 },
	{ "over the kernel's limit", NULL, "x=1", NULL, NULL, -E2BIG },
};

int main(void)
{
	char *out = NULL, *v;
	struct cmdline_error err = { 0 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	for (size_t i = 0; i < sizeof(apply_cases) / sizeof(apply_cases[0]); i++) {
		const struct acase *c = &apply_cases[i];
		const char *drop[4] = { c->drop, NULL };
		char *def = NULL;
		int k;

		if (!c->def) {
			def = malloc(CMDLINE_MAX + 1);
			memset(def, 'a', CMDLINE_MAX - 2);
			def[CMDLINE_MAX - 2] = '\0';
		}
		k = trialline_apply(def ? def : c->def, c->add, drop, &out, &err);
		ok(k == c->want_rc, "apply: %s: returns %d (got %d %s)", c->name, c->want_rc, k, k ? err.message : "");
		if (k == 0 && c->want)
			is_str(out, c->want, "apply: %s", c->name);
		free(out);
		out = NULL;
		free(def);
	}
	v = trialline_value("BOOT_IMAGE=/vmlinuz ro iommuctl.trial=12 quiet", TRIAL_MARKER);
	is_str(v, "12", "the marker's value is read back from a booted line");
	free(v);
	v = trialline_value("ro iommuctl.trial=3 iommuctl.trial=4", TRIAL_MARKER);
	is_str(v, "4", "the last marker wins");
	free(v);
	v = trialline_value("ro quiet -- iommuctl.trial=5", TRIAL_MARKER);
	ok(v == NULL, "a marker after '--' is init's, not the kernel's");
	free(v);
	return tap_done();
}
