#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0770 — Proxmox VE's VM configurations (fixtures/pve, from real hosts): read from /etc/pve and
# from pmxcfs's config.db (built by pve-config-db.sh in pmxcfs's schema) with the same answer;
# only the current section counts; mapping= by this node's name; plan's warning for each VM with
# onboot: 1 that is given a target; scan's VM column and --json; verify's hostpci checks; the
# interrupt-remapping finding. Nothing is written: config.db is opened read-only.
. "$(dirname "$0")/test-lib.sh"

intel=$FIXTURES/hw/q35-intel-6.1
[ -d "$intel/sys" ] || { echo "1..0 # SKIP $intel was not captured"; exit 0; }
command -v sqlite3 >/dev/null || { echo "1..0 # SKIP sqlite3 is not installed"; exit 0; }
hw=(--sysfs "$intel/sys" --procfs "$intel/proc")
pve=$FIXTURES/pve
# The capture's CPU hides vmx (a blocking finding): a copy of its procfs that shows it, for plan and apply.
vmx=$TEST_TMP/vmx
cp -a "$intel/proc" "$vmx"
sed -i 's/^flags\([[:space:]]*\): /flags\1: vmx /' "$vmx/cpuinfo"
hwv=(--sysfs "$intel/sys" --procfs "$vmx")

# pve_tree DIR CONF...: what /etc/pve holds for node pve: the named fixtures (or files) and pci.cfg.
pve_tree() {
	local d=$1; shift
	mkdir -p "$d/nodes/pve/qemu-server" "$d/mapping"
	for c in "$@"; do cp "$c" "$d/nodes/pve/qemu-server/"; done
	cp "$pve/mapping/pci.cfg" "$d/mapping/"
}

# etc_root CONF...: a root whose /etc/pve is that tree, as on a running host (qemu-server is
# pmxcfs's link to this node's directory).
etc_root() {
	local r
	r=$(new_root pve8-grub)
	echo pve >"$r/etc/hostname"
	pve_tree "$r/etc/pve" "$@"
	ln -s nodes/pve/qemu-server "$r/etc/pve/qemu-server"
	echo "$r"
}

# db_root CONF...: a root as a rescue system sees it: /etc/pve empty, config.db holds the tree.
db_root() {
	local r t
	r=$(new_root pve8-grub)
	t=$(mktemp -d "$TEST_TMP/tree.XXXXXX")
	echo pve >"$r/etc/hostname"
	mkdir -p "$r/etc/pve" "$r/var/lib/pve-cluster"
	pve_tree "$t" "$@"
	sh "$SRCDIR/tests/pve-config-db.sh" "$t" "$r/var/lib/pve-cluster/config.db"
	echo "$r"
}

# vms_of ROOT: scan --json's "pve" key, normalized (source left out) for comparison.
vms_of() {
	"$IOMMUCTL" --root "$1" "${hw[@]}" --json scan >"$TEST_TMP/scan.json" 2>"$TEST_TMP/scan.err" || return 1
	"$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1]))["pve"]; d.pop("source"); print(json.dumps(d, sort_keys=True))' "$TEST_TMP/scan.json"
}

all=("$pve"/qemu-server/*.conf)

# ---- /etc/pve and config.db give the same answer ----
re=$(etc_root "${all[@]}")
rd=$(db_root "${all[@]}")
a=$(vms_of "$re"); b=$(vms_of "$rd")
if [ -n "$a" ] && [ "$a" = "$b" ]; then
	ok "scan --json: the VMs read from /etc/pve and from config.db are the same (${#all[@]} configs)"
else
	not_ok "/etc/pve and config.db differ"; diag "etc: $a" "db:  $b" "$(cat "$TEST_TMP/scan.err")"
fi
"$IOMMUCTL" --root "$rd" "${hw[@]}" --json scan >"$TEST_TMP/d.json"
check "config.db is named as the source" json_check "$TEST_TMP/d.json" 'd["pve"]["source"] == "/var/lib/pve-cluster/config.db" and d["pve"]["node"] == "pve"'
check "only the current section counts: 120's name is deb122 (not [PENDING]'s, cloudinit's or snapshot foo's)" \
	json_check "$TEST_TMP/d.json" '[v["name"] for v in d["pve"]["vms"] if v["vmid"] == 120] == ["deb122"]'
check "onboot: 103 and 106 start at boot, 101 (onboot: 0) and the others do not" \
	json_check "$TEST_TMP/d.json" 'sorted(v["vmid"] for v in d["pve"]["vms"] if v["onboot"]) == [103, 106]'
check "hostpci forms: a whole slot, a function, no domain, eight lines" \
	json_check "$TEST_TMP/d.json" '{v["vmid"]: [s for p in v["hostpci"] for s in p["slots"]] for v in d["pve"]["vms"]}[200][:3] == ["0000:4a:00", "0000:48:00.0", "0000:03:00"] and len([v for v in d["pve"]["vms"] if v["vmid"] == 210][0]["hostpci"]) == 8'
check "scan --json: each device names the VMs that get it" \
	json_check "$TEST_TMP/d.json" '[(u["vmid"], u["hostpci"], u["onboot"]) for x in d["devices"] if x["slot"] == "0000:01:00.1" for u in x["vms"]] == [(101, 0, False), (103, 0, True), (106, 0, True)] and [u["vmid"] for x in d["devices"] if x["slot"] == "0000:01:00.0" for u in x["vms"]] == [101, 103, 106, 210]'
check "config.db was opened read-only: no -wal or -shm beside it" test -z "$(ls "$rd/var/lib/pve-cluster" | grep -v '^config.db$')"
run_cmd "$IOMMUCTL" --root "$rd" "${hw[@]}" scan
contains "scan: the VM column, * for onboot" "$out" "101 103* 106* 210"
contains "scan: the VM list names the source" "$out" "Proxmox VE VMs with PCI devices (/var/lib/pve-cluster/config.db, node pve"

# A config.db whose last write is still in its WAL (pmxcfs killed, or running): immutable=1 would
# not see it (measured with sqlite3 3.40: a row only in the WAL is missing), so it is read in WAL mode.
rw=$(db_root "$pve/qemu-server/101.conf")
sqlite3 "$rw/var/lib/pve-cluster/config.db" '.dbconfig no_ckpt_on_close on' \
	"INSERT INTO tree SELECT max(inode) + 1, (SELECT inode FROM tree WHERE name = 'qemu-server'), max(inode) + 1, 0, 0, 8, '555.conf', CAST('name: only-in-wal' || char(10) || 'onboot: 1' || char(10) || 'hostpci0: 0000:00:1b.0' || char(10) AS BLOB) FROM tree" >/dev/null
if [ -s "$rw/var/lib/pve-cluster/config.db-wal" ]; then
	"$IOMMUCTL" --root "$rw" "${hw[@]}" --json scan >"$TEST_TMP/w.json"
	check "a VM whose row is only in config.db's WAL is read" json_check "$TEST_TMP/w.json" '[v["name"] for v in d["pve"]["vms"]] == ["Windows-11", "only-in-wal"]'
else
	skip "sqlite3 checkpointed on close: no WAL to read"
fi

# On a read-only mount (a rescue system mounts the root so): a bind mount made read-only in a
# mount namespace of our own, where the sandbox allows one.
ro_scan() { # ro_scan ROOT OUT: scan --json with ROOT/var/lib/pve-cluster mounted read-only
	unshare --mount sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && "$@"' sh \
		"$1/var/lib/pve-cluster" "$IOMMUCTL" --root "$1" "${hw[@]}" --json scan >"$2" 2>"$TEST_TMP/ro.err"
}
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare --mount true 2>/dev/null; then
	ro_scan "$rd" "$TEST_TMP/ro.json"
	check "config.db on a read-only mount: immutable, the same VMs" json_check "$TEST_TMP/ro.json" \
		'sorted(v["vmid"] for v in d["pve"]["vms"]) == [101, 103, 106, 120, 200, 210] and d["pve"]["notes"] == []'
	rm -f "$rw/var/lib/pve-cluster/config.db-shm"
	if [ -s "$rw/var/lib/pve-cluster/config.db-wal" ]; then
		ro_scan "$rw" "$TEST_TMP/ro2.json"
		check "a WAL on a read-only mount without its -shm: config.db alone is read, and a note says the WAL was not" \
			json_check "$TEST_TMP/ro2.json" '[v["name"] for v in d["pve"]["vms"]] == ["Windows-11"] and any("config.db-wal" in n and "may be missing" in n for n in d["pve"]["notes"])'
	else
		skip "no WAL to read on a read-only mount"
	fi
else
	skip "no mount namespace here: config.db on a read-only mount not tried"
	skip "no mount namespace here: a WAL on a read-only mount not tried"
fi

# ---- not a Proxmox VE host: no pve key, no VM column ----
plain=$(new_root pve8-grub)
"$IOMMUCTL" --root "$plain" "${hw[@]}" --json scan >"$TEST_TMP/p.json"
check "a root without /etc/pve or config.db: \"pve\" is null" json_check "$TEST_TMP/p.json" 'd["pve"] is None and all(x["vms"] == [] for x in d["devices"])'

# ---- mapping= by this node's name; a snapshot's hostpci lines do not count ----
sed 's/^hostpci0: 0000:01:00,/hostpci0: mapping=gpu,/' "$pve/qemu-server/103.conf" >"$TEST_TMP/103.conf"
sed 's/^hostpci1: 0000:00:1b.0$/hostpci1: mapping=HBA/' "$pve/qemu-server/101.conf" >"$TEST_TMP/101.conf"
{ cat "$pve/qemu-server/106.conf"; echo; echo "[before-gpu]"; sed 's/^hostpci0: .*/hostpci0: 0000:00:1f.3/' "$pve/qemu-server/103.conf"; echo "snaptime: 1700000000"; } >"$TEST_TMP/106.conf"
for form in etc db; do
	r=$(${form}_root "$TEST_TMP/103.conf" "$TEST_TMP/101.conf" "$TEST_TMP/106.conf")
	"$IOMMUCTL" --root "$r" "${hw[@]}" --json scan >"$TEST_TMP/m.json"
	check "$form: mapping=gpu resolves to node pve's entry (0000:01:00), not pve2's" \
		json_check "$TEST_TMP/m.json" '[p["slots"] for v in d["pve"]["vms"] if v["vmid"] == 103 for p in v["hostpci"] if p["mapping"] == "gpu"] == [["0000:01:00"]]'
	check "$form: mapping=HBA has no entry for node pve: unresolved" \
		json_check "$TEST_TMP/m.json" '[p["unresolved"] for v in d["pve"]["vms"] if v["vmid"] == 101 for p in v["hostpci"] if p["mapping"] == "HBA"] == [True]'
	check "$form: the [before-gpu] snapshot's hostpci lines are not 106's" \
		json_check "$TEST_TMP/m.json" '[p["value"] for v in d["pve"]["vms"] if v["vmid"] == 106 for p in v["hostpci"]] == ["0000:01:00,pcie=1"]'
	run_cmd "$IOMMUCTL" --root "$r" "${hw[@]}" verify --device 01:00 gpu
	contains "$form: verify fails the unresolved mapping" "$out" "FAIL  vm-mapping             VM 101 hostpci1: mapping 'HBA' has no device on node pve"
done

# ---- plan: a warning for each VM with onboot: 1 that is given a target ----
r=$(db_root "$pve/qemu-server/101.conf" "$pve/qemu-server/103.conf" "$pve/qemu-server/106.conf")
run_cmd "$IOMMUCTL" --root "$r" "${hwv[@]}" --json plan --device 01:00 gpu
printf '%s' "$out" >"$TEST_TMP/plan.json"
if [ "$rc" = 0 ] && json_check "$TEST_TMP/plan.json" 'sorted(f["message"].split()[1] for f in d["findings"] if f["id"] == "vm-onboot") == ["103", "106"] and all(f["severity"] == "warning" and "qm set" in f["hint"] for f in d["findings"] if f["id"] == "vm-onboot")'; then
	ok "plan --json: vm-onboot warnings for 103 and 106, none for 101 (onboot: 0); exit 0"
else
	not_ok "plan onboot findings: exit $rc"; diag "$out" "$err"
fi
run_cmd "$IOMMUCTL" --root "$r" "${hw[@]}" plan --device 01:00 gpu
contains "plan: the warning says why, in words" "$out" "VM 103 (Ubuntu-20.04) starts at boot (onboot: 1) and is given 0000:01:00.0 (hostpci0)"
contains "... and what to do" "$out" "qm set 103 --onboot 0 before the reboot"
run_cmd "$IOMMUCTL" --root "$r" "${hw[@]}" --json plan iommu
printf '%s' "$out" >"$TEST_TMP/plan2.json"
check "plan iommu (no target): no vm-onboot warning" json_check "$TEST_TMP/plan2.json" 'not any(f["id"] == "vm-onboot" for f in d["findings"])'
expect_exit 0 "apply with onboot VMs: warned, not refused" "$IOMMUCTL" --root "$r" "${hwv[@]}" --no-hooks -y apply --device 01:00 gpu
contains "apply prints the warning too" "$err" "VM 106 (3050) starts at boot"

# ---- interrupt remapping off: a finding that explains the refusal and the risk ----
noir=$TEST_TMP/noir
cp -a "$intel/proc" "$noir"
sed -i 's/IR-//g' "$noir/interrupts"
run_cmd "$IOMMUCTL" --root "$r" --sysfs "$intel/sys" --procfs "$noir" --json plan --device 01:00 gpu
printf '%s' "$out" >"$TEST_TMP/ir.json"
check "interrupt remapping off: the finding names vfio's refusal and the risk, and does not set the parameter" \
	json_check "$TEST_TMP/ir.json" 'any(f["id"] == "interrupt-remapping-off" and "No interrupt remapping support" in f["message"] and "allow_unsafe_interrupts=1" in f["hint"] and "never sets it" in f["hint"] for f in d["findings"]) and not any("allow_unsafe_interrupts" in (c.get("after") or "") for c in d["files"])'
check "... nor does any planned file" test -z "$(grep -rl allow_unsafe_interrupts "$r/etc" 2>/dev/null)"

# ---- verify: the hostpci devices ----
# 103: 01:00 (both functions of group 6) and 00:1b.0 (group 4 alone): pass; not on vfio-pci yet is information.
r=$(etc_root "$pve/qemu-server/103.conf")
run_cmd "$IOMMUCTL" --root "$r" "${hw[@]}" --json verify iommu
printf '%s' "$out" >"$TEST_TMP/v.json"
if [ "$rc" = 0 ] && json_check "$TEST_TMP/v.json" 'd["ok"] and sum(1 for c in d["checks"] if c["id"] == "vm-group" and c["ok"]) == 2 and any(c["id"] == "vm-driver" and c["ok"] and "qemu-server binds it to vfio-pci when the VM starts" in c["message"] for c in d["checks"])'; then
	ok "verify: 103's devices pass; on bochs-drm/snd_hda_intel is information (exit 0)"
else
	not_ok "verify 103: exit $rc"; diag "$out"
fi
# 210 (catalina): 01:00.0 alone, so 01:00.1 (snd_hda_intel) stays in the group; the rest is not on this host.
r=$(etc_root "$pve/qemu-server/210.conf")
run_cmd "$IOMMUCTL" --root "$r" "${hw[@]}" verify iommu
if [ "$rc" = 1 ] && [[ "$out" == *"FAIL  vm-group               VM 210 hostpci1: IOMMU group 6 of 0000:01:00.0 also holds 0000:01:00.1 (snd_hda_intel), which neither the host keeps for itself nor the VM gets"* ]] &&
	[[ "$out" == *"FAIL  vm-device              VM 210 hostpci0: 2d:00,pcie=1,x-vga=1 is not on this host"* ]]; then
	ok "verify: 210's half of group 6 and its absent devices fail (exit 1)"
else
	not_ok "verify 210: exit $rc"; diag "$out"
fi
# A device in the root disk's group (derived: 101 with hostpci1 at 0000:00:1f.3), and an mdev= line.
sed -e 's/^hostpci1: .*/hostpci1: 0000:00:1f.3/' "$pve/qemu-server/101.conf" >"$TEST_TMP/101.conf"
sed -e 's/^hostpci1: .*/hostpci1: 0000:00:1b.0,mdev=i915-GVTg_V5_4/' "$pve/qemu-server/103.conf" >"$TEST_TMP/103.conf"
r=$(db_root "$TEST_TMP/101.conf" "$TEST_TMP/103.conf")
run_cmd "$IOMMUCTL" --root "$r" "${hw[@]}" --json verify iommu
printf '%s' "$out" >"$TEST_TMP/v2.json"
if [ "$rc" = 1 ] && json_check "$TEST_TMP/v2.json" 'any(c["id"] == "vm-group" and not c["ok"] and "0000:00:1f.2 (ahci, the host'"'"'s root disk)" in c["message"] and "which the host needs" in c["message"] and c["hint"] for c in d["checks"]) and any(c["id"] == "vm-driver" and c["ok"] and "mdev=i915-GVTg_V5_4" in c["message"] and "by design" in c["message"] for c in d["checks"]) and not any(c["id"] == "vm-group" and "VM 103 hostpci1" in c["message"] for c in d["checks"])'; then
	ok "verify (config.db): a device beside the root disk fails; an mdev device stays on its driver by design (exit 1)"
else
	not_ok "verify host-needed group and mdev: exit $rc"; diag "$out"
fi

# ---- bad input: a hostpci line that names nothing ----
printf 'name: broken\nonboot: 1\nhostpci0: pcie=1\nhostpci1: 0000:01:00.0\n' >"$TEST_TMP/300.conf"
r=$(etc_root "$TEST_TMP/300.conf")
run_cmd "$IOMMUCTL" --root "$r" "${hw[@]}" plan --device 01:00 gpu
contains "a hostpci line without a device is a warning naming the VM and line" "$out" "VM 300: hostpci0: 'pcie=1' names neither a PCI address"
contains "... the VM's other lines still count" "$out" "VM 300 (broken) starts at boot"

plan_late
