#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0710 — the gpu profile and the safety findings on sysfs trees captured from real kernels,
# with Debian's real 6.1 and 6.12 module trees in the root (modalias → modules through libkmod).
# Which slot is the console, the root disk's controller or the NIC is read from scan --json
# (checked against the trees by t0700), so nothing here hard-codes a captured address.
. "$(dirname "$0")/test-lib.sh"

intel=$FIXTURES/hw/q35-intel-6.1
amd=$FIXTURES/hw/q35-amd-6.12
twin=$FIXTURES/hw/q35-intel-6.12-twin-efi
for fx in "$intel" "$amd" "$twin"; do
	[ -d "$fx/sys" ] || { echo "1..0 # SKIP $fx was not captured"; exit 0; }
done
# TCG cannot emulate VT-x, so the Intel guests' CPUs lack the vmx flag every Intel host that
# runs KVM has: the Intel captures get it back in a copy of their cpuinfo (the reverse of the
# no-virtualization case below, which takes it away). Everything else is as captured.
with_vmx() {
	local out=$TEST_TMP/vmx-$(basename "$1")
	mkdir -p "$out"
	ln -s "$1/sys" "$out/sys"	# read-only use: never change a file through this link
	cp -a "$1/proc" "$out/proc"
	sed -i '/^flags/s/$/ vmx/' "$out/proc/cpuinfo"
	echo "$out"
}
intel_captured=$intel
intel=$(with_vmx "$intel")
twin=$(with_vmx "$twin")
kernels_or_skip

# on FIXTURE CMD...: iommuctl with the fixture's sysfs and procfs.
on() { local fx=$1; shift; run_cmd "$IOMMUCTL" --sysfs "$fx/sys" --procfs "$fx/proc" "$@"; }
# q FIXTURE EXPR: a Python expression over the fixture's scan --json (d), printed.
q() {
	[ -f "$TEST_TMP/scan-$(basename "$1").json" ] ||
		"$IOMMUCTL" --root "$TEST_TMP" --sysfs "$1/sys" --procfs "$1/proc" --json scan >"$TEST_TMP/scan-$(basename "$1").json"
	$PYTHON -c "import json,sys
d = json.load(open(sys.argv[1]))
devs = d['devices']
def slot_of(role): return ' '.join(x['slot'] for x in devs if role in x['roles'])
def by_slot(s): return next(x for x in devs if x['slot'] == s)
v = $2
print(v if isinstance(v, str) else ' '.join(map(str, v)))" "$TEST_TMP/scan-$(basename "$1").json"
}
# findings JSON-FILE: "severity:id" per finding, one per line.
finding_ids() { $PYTHON -c 'import json,sys
for f in json.load(open(sys.argv[1]))["findings"]: print(f["severity"] + ":" + f["id"])' "$1"; }
has_finding() { finding_ids "$1" | grep -qx "$2"; }
local_profile() { # ROOT NAME TEXT
	mkdir -p "$1/etc/iommuctl/profiles"
	printf '%s\n' "$3" >"$1/etc/iommuctl/profiles/$2.conf"
	chmod 0644 "$1/etc/iommuctl/profiles/$2.conf"
}

# ---- the gpu profile on the Intel capture: GPU + HDA function behind a root port ----
r=$(kernel_root pve8-grub)
targets=$(q "$intel" "[x['slot'] for x in devs if x['gpu'] and 'console' not in x['roles']]")
gpu=$(echo "$targets" | cut -d' ' -f1)
slotfns=$(q "$intel" "[x['slot'] for x in devs if x['slot'][:10] == '${gpu:0:10}']")
on "$intel" --root "$r" --json plan gpu
printf '%s' "$out" >"$TEST_TMP/p.json"
if [ "$rc" = 0 ] && ! finding_ids "$TEST_TMP/p.json" | grep -q '^blocking:'; then ok "plan gpu on $(basename "$intel"): no blocking finding (exit 0)"
else not_ok "plan gpu on the Intel capture: exit $rc"; diag "$out" "$err"; fi
expect_exit 0 "apply gpu" "$IOMMUCTL" --root "$r" --sysfs "$intel/sys" --procfs "$intel/proc" --no-hooks -y apply gpu
conf=$(cat "$r/etc/modprobe.d/iommuctl-vfio.conf" 2>/dev/null)
# Which ids go to ids= and which functions are bound by address: a function whose vendor:device
# a device outside the slot also has (the host's own HDA controller) cannot go by id.
split=$(q "$intel" "[('addr:' if any(o['vendor_id'] == x['vendor_id'] and o['device_id'] == x['device_id'] and o['slot'][:10] != x['slot'][:10] for o in devs) else 'id:') + (x['slot'] if any(o['vendor_id'] == x['vendor_id'] and o['device_id'] == x['device_id'] and o['slot'][:10] != x['slot'][:10] for o in devs) else x['vendor_id'] + ':' + x['device_id']) for x in devs if x['slot'][:10] == '${gpu:0:10}']")
bad=
for s in $split; do
	case $s in
	id:*) grep -qE "^options vfio-pci ids=([^ ]*,)?${s#id:}(,| |$)" <<<"$conf" || bad="$bad ${s#id:} not in ids=;" ;;
	addr:*) grep -qE "^install vfio-pci for d in .*${s#addr:}" <<<"$conf" || bad="$bad ${s#addr:} not bound by address;"
		grep -qE "^options vfio-pci ids=.*$(q "$intel" "by_slot('${s#addr:}')['vendor_id'] + ':' + by_slot('${s#addr:}')['device_id']")" <<<"$conf" &&
			bad="$bad the shared id of ${s#addr:} is in ids=;" ;;
	esac
done
[ -z "$bad" ] && ok "every function of $gpu goes to vfio-pci, by id or (shared id) by address: $split" ||
	{ not_ok "vfio-pci targets"; diag "$bad" "$conf"; }
# A softdep for each module that would claim a function (libkmod over both kernels).
mods=$(q "$intel" "sorted(set(m for x in devs if x['slot'][:10] == '${gpu:0:10}' for m in x['modules'] if m != 'vfio_pci'))")
bad=
for m in $mods; do grep -qx "softdep $m pre: vfio-pci" <<<"$conf" || bad="$bad $m"; done
[ -n "$mods" ] && [ -z "$bad" ] && ok "softdep pre: vfio-pci for $mods" || { not_ok "softdeps (missing:$bad)"; diag "$conf"; }
grep -q 'disable_vga=1' <<<"$conf" && ok "disable_vga=1: the host keeps its own VGA" || { not_ok "disable_vga"; diag "$conf"; }
# modprobe (kmod, an oracle we did not write) reads the file as we mean it.
if command -v modprobe >/dev/null; then
	kver=$(ls "$r/lib/modules" | head -n 1)
	shown=$(modprobe -d "$r" -S "$kver" -C "$r/etc/modprobe.d" --showconfig 2>/dev/null)
	grep -q '^softdep snd_hda_intel pre: vfio-pci' <<<"$shown" && grep -q '^install vfio_pci ' <<<"$shown" &&
		ok "modprobe --showconfig reads the softdeps and the install line" || { not_ok "modprobe --showconfig"; diag "$shown"; }
fi
run_cmd "$IOMMUCTL" --root "$r" --sysfs "$intel/sys" --procfs "$intel/proc" --no-hooks --json -y apply gpu
printf '%s' "$out" >"$TEST_TMP/a2.json"
json_check "$TEST_TMP/a2.json" 'd["changed"] is False' && ok "a second apply gpu changes nothing" || { not_ok "second apply"; diag "$out"; }
expect_exit 0 "rollback of apply gpu" "$IOMMUCTL" --root "$r" --no-hooks rollback
[ ! -e "$r/etc/modprobe.d/iommuctl-vfio.conf" ] && ok "rollback removed the vfio file" || not_ok "vfio file left after rollback"

# --device: a function brings its slot; unknown devices and the wrong profile are usage errors.
r=$(kernel_root pve8-grub)
on "$intel" --root "$r" --json plan --device "${gpu:5:7}" gpu
printf '%s' "$out" >"$TEST_TMP/d.json"
n=$($PYTHON -c 'import json,sys; print(sum(1 for f in json.load(open(sys.argv[1]))["findings"] if f["id"] in ("vfio-id", "vfio-by-address")))' "$TEST_TMP/d.json" 2>/dev/null)
[ "$rc" = 0 ] && [ "$n" = "$(echo "$slotfns" | wc -w)" ] && ok "--device ${gpu:5:7} takes all $n functions of the slot" ||
	{ not_ok "--device one function: exit $rc, $n explained"; diag "$out" "$err"; }
expect_exit 2 "--device of a slot that is not there" "$IOMMUCTL" --root "$r" --sysfs "$intel/sys" --procfs "$intel/proc" plan --device 7f:1f gpu
contains "... names it and points at scan" "$err" "no PCI device 7f:1f"
expect_exit 2 "--device that is not an address" "$IOMMUCTL" --root "$r" --sysfs "$intel/sys" --procfs "$intel/proc" plan --device 'a;b' gpu
expect_exit 2 "--device with a profile that passes no device" "$IOMMUCTL" --root "$r" --sysfs "$intel/sys" --procfs "$intel/proc" plan --device "$gpu" vfio

# ---- blocking findings, and --force overriding exactly them ----
console=$(q "$intel" "slot_of('console')")
on "$intel" --root "$r" --json plan --device "$console" gpu
printf '%s' "$out" >"$TEST_TMP/c.json"
[ "$rc" = 3 ] && has_finding "$TEST_TMP/c.json" blocking:takes-console && ok "the console GPU $console: takes-console blocks (exit 3)" ||
	{ not_ok "takes-console: exit $rc"; diag "$out"; }
on "$intel" --root "$r" plan --device "$console" gpu
contains "... the message says the host needs it and why" "$out" "which the host needs"
before=$(manifest "$r")
expect_exit 3 "apply refuses it" "$IOMMUCTL" --root "$r" --sysfs "$intel/sys" --procfs "$intel/proc" --no-hooks -y apply --device "$console" gpu
[ "$(manifest "$r")" = "$before" ] && ok "... and writes nothing" || not_ok "a refused apply wrote files"
expect_exit 0 "apply --force overrides it" "$IOMMUCTL" --root "$r" --sysfs "$intel/sys" --procfs "$intel/proc" --no-hooks --force -y apply --device "$console" gpu
"$IOMMUCTL" --root "$r" --no-hooks rollback >/dev/null 2>&1

rootdrv=$(q "$intel" "[x['driver'] for x in devs if 'root disk' in x['roles']]")
nicdrv=$(q "$intel" "[x['driver'] for x in devs if 'network' in x['roles']]")
local_profile "$r" norootdisk "[blacklist]
add = ${rootdrv//-/_}"
local_profile "$r" nonet "[blacklist]
add = ${nicdrv//-/_}"
for c in "norootdisk takes-root-disk $rootdrv" "nonet takes-network $nicdrv"; do
	set -- $c
	on "$intel" --root "$r" --json plan "$1"
	printf '%s' "$out" >"$TEST_TMP/b.json"
	[ "$rc" = 3 ] && has_finding "$TEST_TMP/b.json" "blocking:$2" && ok "blacklisting $3: $2 blocks (exit 3)" ||
		{ not_ok "$2: exit $rc"; diag "$out" "$err"; }
done
local_profile "$r" broken "[blacklist]
ad = nouveau"
expect_exit 5 "--force does not override bad input" "$IOMMUCTL" --root "$r" --sysfs "$intel/sys" --procfs "$intel/proc" --force -y --no-hooks apply broken

# The guide's intel profile blacklists snd_hda_intel: the host's own sound card goes too.
on "$intel" --root "$r" --json plan intel
printf '%s' "$out" >"$TEST_TMP/i.json"
[ "$rc" = 0 ] && has_finding "$TEST_TMP/i.json" warning:takes-host-device && ok "plan intel: takes-host-device warns, does not block" ||
	{ not_ok "takes-host-device: exit $rc"; diag "$out"; }

# devices and ids together, where an id also matches a device not chosen.
hostaudio=$(q "$intel" "[x['vendor_id'] + ':' + x['device_id'] for x in devs if x['class'] == '0403' and x['slot'][:10] != '${gpu:0:10}']" | cut -d' ' -f1)
local_profile "$r" both "[profile]
include = vfio
[vfio-pci]
devices = $gpu
ids = $hostaudio"
on "$intel" --root "$r" --json plan both
printf '%s' "$out" >"$TEST_TMP/m.json"
[ "$rc" = 3 ] && has_finding "$TEST_TMP/m.json" blocking:ids-match-other && ok "ids=$hostaudio also matches the host's audio: ids-match-other blocks" ||
	{ not_ok "ids-match-other: exit $rc"; diag "$out" "$err"; }

# Module parameters on the command line, checked against each kernel's modinfo (libkmod).
local_profile "$r" params "[profile]
include = vfio
[kernel]
add = vfio_pci.disable_vga=1 vfio_iommu_type1.allow_unsafe_interrupts=1 vfio_pci.nosuch=1 iommu.strict=1 kvm.ignore_msrs=1"
on "$intel" --root "$r" --json plan params
printf '%s' "$out" >"$TEST_TMP/k.json"
msgs=$($PYTHON -c 'import json,sys
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["id"] == "unknown-kernel-param": print(f["severity"], f["message"])' "$TEST_TMP/k.json")
nk=$(ls "$r/lib/modules" | wc -l)
# iommu.strict is an early parameter of the kernel itself, not a module's; kvm's .ko is not in
# the test's pruned trees, so its modinfo is unknown: neither may be flagged.
if [ "$rc" = 0 ] && [ "$(grep -c 'vfio_pci.nosuch' <<<"$msgs")" = "$nk" ] &&
	! grep -qE 'disable_vga|allow_unsafe|iommu.strict|kvm' <<<"$msgs" && ! grep -qv '^warning' <<<"$msgs"; then
	ok "unknown-kernel-param: vfio_pci.nosuch warned for each of $nk kernels; real, early and unknowable ones not"
else
	not_ok "unknown-kernel-param: exit $rc"; diag "$msgs"
fi

# ---- a group shared with devices that stay (the AMD capture: a GPU behind a PCIe-to-PCI bridge) ----
shared=$(q "$amd" "[x['slot'] for x in devs if x['gpu'] and 'console' not in x['roles'] and any(o['iommu_group'] == x['iommu_group'] and o['slot'][:10] != x['slot'][:10] and not o['class'].startswith('06') for o in devs)]" | cut -d' ' -f1)
if [ -n "$shared" ]; then
	ra=$(kernel_root pve8-grub)
	on "$amd" --root "$ra" --json plan --device "$shared" gpu
	printf '%s' "$out" >"$TEST_TMP/g.json"
	[ "$rc" = 3 ] && has_finding "$TEST_TMP/g.json" blocking:group-not-isolated && ok "GPU $shared shares its group: group-not-isolated blocks" ||
		{ not_ok "group-not-isolated: exit $rc"; diag "$out"; }
	on "$amd" --root "$ra" plan --device "$shared" gpu
	contains "... and the hint explains ACS" "$out" "ACS"
	isolated=$(q "$amd" "[x['slot'] for x in devs if x['gpu'] and 'console' not in x['roles'] and not any(o['iommu_group'] == x['iommu_group'] and o['slot'][:10] != x['slot'][:10] and not o['class'].startswith('06') for o in devs)]" | cut -d' ' -f1)
	on "$amd" --root "$ra" --json plan --device "$isolated" gpu
	printf '%s' "$out" >"$TEST_TMP/g2.json"
	[ "$rc" = 0 ] && ! has_finding "$TEST_TMP/g2.json" blocking:group-not-isolated && ok "GPU $isolated in its own group: no finding" ||
		{ not_ok "isolated GPU: exit $rc"; diag "$out"; }
else
	not_ok "the AMD capture has no GPU sharing its group"
fi

# ---- identical cards: the host's console GPU and the passed one are both 1234:1111 ----
rt=$(kernel_root pve8-grub)
tgpu=$(q "$twin" "[x['slot'] for x in devs if x['gpu'] and 'console' not in x['roles']]" | cut -d' ' -f1)
tid=$(q "$twin" "by_slot('$tgpu')['vendor_id'] + ':' + by_slot('$tgpu')['device_id']")
on "$twin" --root "$rt" --json plan gpu
printf '%s' "$out" >"$TEST_TMP/t.json"
expect_exit 0 "apply gpu with twin cards" "$IOMMUCTL" --root "$rt" --sysfs "$twin/sys" --procfs "$twin/proc" --no-hooks -y apply gpu
conf=$(cat "$rt/etc/modprobe.d/iommuctl-vfio.conf" 2>/dev/null)
if grep -qE "^install vfio-pci for d in .*$tgpu" <<<"$conf" && ! grep -qE "^options vfio-pci ids=.*$tid" <<<"$conf" &&
	has_finding "$TEST_TMP/t.json" info:vfio-by-address; then
	ok "twin $tid cards: $tgpu bound by address, $tid kept out of ids="
else
	not_ok "twin cards"; diag "$conf"
fi

# ---- firmware without an IOMMU, a CPU without virtualization (the captures, minus the fact) ----
nf=$TEST_TMP/no-iommu
mkdir -p "$nf"; cp -a "$intel_captured/sys" "$intel/proc" "$nf/"
rm -f "$nf"/sys/firmware/acpi/tables/DMAR*
on "$nf" --root "$r" --json plan --device "$gpu" gpu
printf '%s' "$out" >"$TEST_TMP/f.json"
[ "$rc" = 3 ] && has_finding "$TEST_TMP/f.json" blocking:no-iommu-firmware && ok "no DMAR table: no-iommu-firmware blocks passthrough" ||
	{ not_ok "no-iommu-firmware: exit $rc"; diag "$out"; }
on "$nf" --root "$r" --json plan iommu
printf '%s' "$out" >"$TEST_TMP/f2.json"
[ "$rc" = 0 ] && has_finding "$TEST_TMP/f2.json" warning:no-iommu-firmware && ok "... and only warns for the kernel parameters" ||
	{ not_ok "no-iommu-firmware for iommu: exit $rc"; diag "$out"; }
sed -i '/^flags/s/ vmx//g; /^flags/s/ svm//g' "$nf/proc/cpuinfo"
on "$nf" --root "$r" --json plan --device "$gpu" gpu
printf '%s' "$out" >"$TEST_TMP/v.json"
[ "$rc" = 3 ] && has_finding "$TEST_TMP/v.json" blocking:no-virtualization && ok "no vmx flag: no-virtualization blocks" ||
	{ not_ok "no-virtualization: exit $rc"; diag "$out"; }
on "$intel" --root "$r" --json plan --device "$gpu" gpu
printf '%s' "$out" >"$TEST_TMP/ok.json"
! has_finding "$TEST_TMP/ok.json" blocking:no-iommu-firmware && ! has_finding "$TEST_TMP/ok.json" blocking:no-virtualization &&
	ok "the unmodified capture has neither" || not_ok "firmware/virtualization findings on a good capture"
plan_late
