#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0740 — vfio-pci.ids= on the kernel command line (issue 13): kmod applies the command line's
# module options after modprobe.d's, and a built-in vfio-pci reads nothing else, so `apply gpu`
# on a host whose command line carries the list puts the targets on that list, in the file the
# boot loader reads, and writes no second list to modprobe.d. Real files (fixtures/grub and
# fixtures/roots SOURCES.md), the captured Intel tree, Debian's real module trees in the root.
# The target's id comes from scan --json, never typed here.
. "$(dirname "$0")/test-lib.sh"

intel=$FIXTURES/hw/q35-intel-6.1
[ -d "$intel/sys" ] || { echo "1..0 # SKIP $intel was not captured"; exit 0; }
# As in t0710: TCG's Intel guest lacks the vmx flag every KVM host has.
vmx=$TEST_TMP/vmx
mkdir -p "$vmx"
ln -s "$intel/sys" "$vmx/sys"
cp -a "$intel/proc" "$vmx/proc"
sed -i '/^flags/s/$/ vmx/' "$vmx/proc/cpuinfo"
kernels_or_skip

ictl() { "$IOMMUCTL" --sysfs "$vmx/sys" --procfs "$vmx/proc" "$@"; }
# The same machine booted by UEFI (a tree of links to the capture plus firmware/efi), so that a
# root with proxmox-boot-uuids boots systemd-boot, which reads /etc/kernel/cmdline.
efi=$TEST_TMP/efi
mkdir -p "$efi"
cp -as "$intel/sys" "$efi/sys"
mkdir -p "$efi/sys/firmware/efi"
ectl() { "$IOMMUCTL" --sysfs "$efi/sys" --procfs "$vmx/proc" "$@"; }
finding_ids() { $PYTHON -c 'import json,sys
for f in json.load(open(sys.argv[1]))["findings"]: print(f["severity"] + ":" + f["id"])' "$1"; }
# What sh (dash, as grub-mkconfig runs it) makes of the grub files: "LINUX|DEFAULT".
grub_sh() {
	(cd "$1" && sh -c '. ./etc/default/grub; for f in ./etc/default/grub.d/*.cfg; do [ -e "$f" ] && . "$f"; done; printf "%s|%s" "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT"')
}
# ids_tokens LINE: every vfio-pci ids parameter of a command line, one per line.
ids_tokens() { printf '%s\n' $1 | grep -E '^vfio[-_]pci\.ids=' || true; }

ictl --root "$TEST_TMP" --json scan >"$TEST_TMP/scan.json"
# The GPU the gpu profile passes: the one that is not the console. Its own function goes by
# ids=; its audio function has a twin the host keeps (00:1b.0), so it goes by address.
gpu_id=$($PYTHON -c 'import json,sys
d = json.load(open(sys.argv[1]))
g = next(x for x in d["devices"] if x["gpu"] and "console" not in x["roles"])
print(g["vendor_id"] + ":" + g["device_id"])' "$TEST_TMP/scan.json")

# ---- 1. the list in GRUB_CMDLINE_LINUX_DEFAULT holds PCI addresses (a real line) ----
r=$(kernel_root pve8-grub 42-vfio-ids-pci-addresses)
before=$(manifest "$r")
ictl --root "$r" --json scan >"$TEST_TMP/s1.json"
line=$(grep -n 'vfio-pci.ids=' "$r/etc/default/grub" | cut -d: -f1)
if json_check "$TEST_TMP/s1.json" "d['vfio_ids']['value'] == '02:00.0,02:00.1' and d['vfio_ids']['on_cmdline'] and \
d['vfio_ids']['file'] == '/etc/default/grub' and d['vfio_ids']['variable'] == 'GRUB_CMDLINE_LINUX_DEFAULT' and \
d['vfio_ids']['line'] == $line and d['vfio_ids']['invalid'] == ['02:00.0', '02:00.1']"; then
	ok "scan --json: the list, the file, the variable, line $line, and both entries not ids"
else not_ok "scan --json vfio_ids"; diag "$($PYTHON -c 'import json,sys; print(json.load(open(sys.argv[1]))["vfio_ids"])' "$TEST_TMP/s1.json")"; fi
run_cmd ictl --root "$r" scan
contains "scan names where the list comes from" "$out" "from the kernel command line: vfio-pci.ids= in /etc/default/grub:$line GRUB_CMDLINE_LINUX_DEFAULT"
run_cmd ictl --root "$r" --json plan gpu
printf '%s' "$out" >"$TEST_TMP/p1.json"
f=$(finding_ids "$TEST_TMP/p1.json")
if grep -qx 'info:vfio-ids-cmdline' <<<"$f" && [ "$(grep -cx 'warning:vfio-ids-not-ids' <<<"$f")" = 2 ] &&
	! grep -q '^blocking:' <<<"$f" && ! grep -qx 'warning:vfio-ids-on-cmdline' <<<"$f"; then
	ok "plan gpu: the list is extended (info), each PCI address a warning, nothing blocks"
else not_ok "plan gpu findings"; diag "$f"; fi
json_check "$TEST_TMP/p1.json" "any('0002:0000' in x['message'] and 'ids= takes vendor:device' in x['hint'] for x in d['findings'])" &&
	ok "the warning says what vfio-pci makes of 02:00.0 (0002:0000) and gives the fix" ||
	not_ok "the address warning's text"
expect_exit 0 "apply gpu" ictl --root "$r" --no-hooks -y apply gpu
v=$(grub_sh "$r")
toks=$(ids_tokens "${v/|/ }")
if [ "$(printf '%s\n' "$toks" | grep -c .)" = 1 ] && [ "$toks" = "vfio-pci.ids=02:00.0,02:00.1,$gpu_id" ]; then
	ok "sh sees one list, the admin's entries and then the target ($toks)"
else not_ok "the command line's list after apply"; diag "sh: $v" "tokens: $toks"; fi
grep -q '^export GRUB_CMDLINE_LINUX_DEFAULT="amd_iommu=on iommu=pt kvm.ignore_msrs=1 vfio-pci.ids=02:00.0,02:00.1,'"$gpu_id"' i915.enable_gvt=1' "$r/etc/default/grub" &&
	ok "edited in place: export and the order of the other words kept" || { not_ok "the edited line"; diag "$(grep CMDLINE "$r/etc/default/grub")"; }
conf=$(cat "$r/etc/modprobe.d/iommuctl-vfio.conf")
if ! grep -q 'ids=' <<<"$conf" && grep -q '^install vfio-pci for d in 0000:01:00.1;' <<<"$conf" && grep -q '^softdep ' <<<"$conf"; then
	ok "modprobe.d gets no second list; the address-bound function keeps its install line, softdeps stay"
else not_ok "modprobe.d after apply"; diag "$conf"; fi
run_cmd ictl --root "$r" --no-hooks --json -y apply gpu
printf '%s' "$out" >"$TEST_TMP/a2.json"
json_check "$TEST_TMP/a2.json" 'd["changed"] is False and d["txn"] is None' && ok "a second apply changes nothing" ||
	{ not_ok "a second apply"; diag "$out"; }
ictl --root "$r" --json scan >"$TEST_TMP/s2.json"
json_check "$TEST_TMP/s2.json" "d['vfio_ids']['ids'] == ['02:00.0', '02:00.1', '$gpu_id']" &&
	ok "scan shows the extended list" || not_ok "scan after apply"
# verify: the captured boot's /proc/cmdline has no list, so the running check fails and names
# the missing id; with the new list on the booted command line it passes.
run_cmd ictl --root "$r" --json verify gpu
printf '%s' "$out" >"$TEST_TMP/v1.json"
if json_check "$TEST_TMP/v1.json" "any(c['id'] == 'vfio-ids' and not c['ok'] and '$gpu_id' in c['message'] for c in d['checks']) and \
d['next_boot_vfio_ids']['file'] == '/etc/default/grub' and '$gpu_id' in d['next_boot_vfio_ids']['ids']"; then
	ok "verify: the booted command line lacks the target's id; the next boot's list is in /etc/default/grub"
else not_ok "verify before the reboot"; diag "$out"; fi
cp -a "$vmx/proc" "$TEST_TMP/booted"
printf '%s vfio-pci.ids=02:00.0,02:00.1,%s\n' "$(cat "$vmx/proc/cmdline")" "$gpu_id" >"$TEST_TMP/booted/cmdline"
run_cmd "$IOMMUCTL" --root "$r" --sysfs "$vmx/sys" --procfs "$TEST_TMP/booted" verify gpu
contains "verify after a boot with the list: the check passes" "$out" "pass  vfio-ids"
contains "verify names the entries that are no ids" "$out" "'02:00.0' is not vendor:device"
expect_exit 0 "rollback" "$IOMMUCTL" --root "$r" --no-hooks rollback
[ "$(manifest "$r")" = "$before" ] && ok "rollback restores every file byte for byte" || not_ok "rollback"

# ---- 2. the list in GRUB_CMDLINE_LINUX, and a shorter one in modprobe.d (one real host) ----
r=$(kernel_root pve8-grub 43-vfio-ids-linux-and-modprobe)
before=$(manifest "$r")
run_cmd ictl --root "$r" --json plan gpu
printf '%s' "$out" >"$TEST_TMP/p2.json"
json_check "$TEST_TMP/p2.json" "any(x['id'] == 'vfio-ids-shadowed' and '/etc/modprobe.d/vfio.conf:1' in x['message'] for x in d['findings'])" &&
	ok "the modprobe.d list the command line overrides is a warning naming file:line" ||
	{ not_ok "vfio-ids-shadowed"; diag "$(finding_ids "$TEST_TMP/p2.json")"; }
expect_exit 0 "apply gpu (list in GRUB_CMDLINE_LINUX)" ictl --root "$r" --no-hooks -y apply gpu
v=$(grub_sh "$r")
lin=${v%%|*} def=${v#*|}
toks=$(ids_tokens "${v/|/ }")
if [ "$toks" = "vfio-pci.ids=10de:2206,10de:1aef,8086:10bc,$gpu_id" ] && [ -z "$(ids_tokens "$lin")" ]; then
	ok "one list, with the target, moved to GRUB_CMDLINE_LINUX_DEFAULT (the recovery entry boots without it)"
else not_ok "list from GRUB_CMDLINE_LINUX"; diag "LINUX: $lin" "DEFAULT: $def"; fi
# issue 13, part 3: intel_iommu=on and iommu=pt are in GRUB_CMDLINE_LINUX already.
if [[ " $lin " == *" intel_iommu=on "* && " $lin " == *" iommu=pt "* ]] &&
	[[ " $def " != *" intel_iommu="* && " $def " != *" iommu="* ]]; then
	ok "intel_iommu=on and iommu=pt stay in GRUB_CMDLINE_LINUX, not added again to DEFAULT"
else not_ok "parameters counted once"; diag "LINUX: $lin" "DEFAULT: $def"; fi
[ "$(cat "$r/etc/modprobe.d/vfio.conf")" = "options vfio-pci ids=10de:2206,10de:1aef" ] &&
	ok "the admin's modprobe.d file is left alone" || not_ok "vfio.conf changed"
expect_exit 0 "rollback" "$IOMMUCTL" --root "$r" --no-hooks rollback
[ "$(manifest "$r")" = "$before" ] && ok "rollback restores every file byte for byte" || not_ok "rollback"

# ---- 3. /etc/kernel/cmdline (systemd-boot through proxmox-boot-tool, a real line) ----
r=$(kernel_root pve8-zfs-vfio-ids)
before=$(manifest "$r")
expect_exit 0 "apply gpu on /etc/kernel/cmdline" ectl --root "$r" --no-hooks -y apply gpu
got=$(cat "$r/etc/kernel/cmdline")
want="root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt vfio-pci.ids=1b21:1166,$gpu_id"
[ "$got" = "$want" ] && ok "/etc/kernel/cmdline: the target joins the list in place, nothing else changes" ||
	{ not_ok "/etc/kernel/cmdline"; diag "got:  $got" "want: $want"; }
run_cmd ectl --root "$r" scan
contains "scan: the list from /etc/kernel/cmdline:1" "$out" "vfio-pci.ids= in /etc/kernel/cmdline:1"
expect_exit 0 "rollback" "$IOMMUCTL" --root "$r" --no-hooks rollback
[ "$(manifest "$r")" = "$before" ] && ok "rollback restores every file byte for byte" || not_ok "rollback"

# ---- 4. the list split over two parameters, spelt both ways: the last one wins ----
# kmod 30 passes both to vfio-pci ("options vfio_pci ids=A" then "ids=B", t0410 checks that
# reading against modprobe --showconfig); vfio-pci's ids is one string the last one overwrites.
r=$(kernel_root pve8-zfs-vfio-ids)
printf 'root=ZFS=rpool/ROOT/pve-1 boot=zfs vfio-pci.ids=10de:1b80 quiet vfio_pci.ids=1b21:1166\n' >"$r/etc/kernel/cmdline"
run_cmd ectl --root "$r" --json plan gpu
printf '%s' "$out" >"$TEST_TMP/p4.json"
json_check "$TEST_TMP/p4.json" "any(x['id'] == 'vfio-ids-cmdline' and 'took nothing' in x['message'] for x in d['findings'])" &&
	ok "plan: the earlier list took nothing, and the edit says so" || { not_ok "split list finding"; diag "$out"; }
expect_exit 0 "apply gpu on a split list" ectl --root "$r" --no-hooks -y apply gpu
got=$(cat "$r/etc/kernel/cmdline")
want="root=ZFS=rpool/ROOT/pve-1 boot=zfs vfio_pci.ids=1b21:1166,$gpu_id quiet intel_iommu=on iommu=pt"
[ "$got" = "$want" ] && ok "one list: the one that counted, in the spelling of the last one, plus the target" ||
	{ not_ok "split list"; diag "got:  $got" "want: $want"; }
printf 'root=ZFS=rpool/ROOT/pve-1 boot=zfs vfio-pci.ids=%s quiet vfio_pci.ids=1b21:1166\n' "$gpu_id" >"$r/etc/kernel/cmdline"
run_cmd ectl --root "$r" --json plan iommu
printf '%s' "$out" >"$TEST_TMP/p5.json"
json_check "$TEST_TMP/p5.json" "any(x['id'] == 'vfio-ids-repeated' and '1b21:1166' in x['message'] for x in d['findings'])" &&
	ok "a split list the plan does not touch is a warning: only the last one counts" ||
	{ not_ok "vfio-ids-repeated"; diag "$out"; }

# ---- 5. an administrator's list that takes a device the host needs ----
r=$(kernel_root pve8-grub 44-vfio-ids-proxmox-script)
disk_id=$($PYTHON -c 'import json,sys
d = json.load(open(sys.argv[1]))
x = next(x for x in d["devices"] if "root disk" in x["roles"])
print(x["vendor_id"] + ":" + x["device_id"])' "$TEST_TMP/scan.json")
expect_exit 0 "plan gpu with the list of a real Proxmox script (no device of the host in it)" ictl --root "$r" plan gpu
sed -i "s/vfio-pci.ids=10de:2203,10de:1aef/vfio-pci.ids=10de:2203,10de:1aef,$disk_id/" "$r/etc/default/grub"
run_cmd ictl --root "$r" --json plan gpu
printf '%s' "$out" >"$TEST_TMP/p6.json"
if [ "$rc" = 3 ] && json_check "$TEST_TMP/p6.json" \
	"any(x['id'] == 'takes-root-disk' and x['severity'] == 'blocking' and 'ids=$disk_id, from the kernel command line' in x['message'] for x in d['findings'])"; then
	ok "the root disk controller's id on the command line's list blocks (exit 3): the plan would keep it there"
else not_ok "list with the root disk's id: exit $rc"; diag "$(finding_ids "$TEST_TMP/p6.json")"; fi

plan_late
