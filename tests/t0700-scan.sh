#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0700 — scan on every sysfs/procfs tree captured from a real kernel (fixtures/hw/*/sys),
# checked against oracles we did not write: lspci (pciutils) reading the same tree, and the
# tree itself through find/readlink/cat.
. "$(dirname "$0")/test-lib.sh"

command -v lspci >/dev/null || { echo "1..0 # SKIP lspci (pciutils) is not installed"; exit 0; }
found=0
for fx in "$FIXTURES"/hw/*/; do
	[ -d "$fx/sys/bus/pci/devices" ] || continue
	found=1
	name=$(basename "$fx")
	sys=$fx/sys proc=$fx/proc
	json=$TEST_TMP/$name.json
	run_cmd "$IOMMUCTL" --root "$TEST_TMP" --sysfs "$sys" --procfs "$proc" --json scan
	printf '%s' "$out" >"$json"
	if [ "$rc" = 0 ]; then ok "$name: scan --json"; else not_ok "$name: scan --json exit $rc"; diag "$err"; continue; fi

	# Slot, class and ids as lspci prints them from the same tree: "0000:00:01.0 0300: 1234:1111".
	want=$(lspci -A linux-sysfs -O "sysfs.path=$sys/bus/pci" -D -n | awk '{ sub(":$", "", $2); print $1, $2, $3 }' | sort)
	got=$($PYTHON -c 'import json,sys
for d in json.load(open(sys.argv[1]))["devices"]:
    print(d["slot"], d["class"], d["vendor_id"] + ":" + d["device_id"])' "$json" | sort)
	if [ -n "$want" ] && [ "$got" = "$want" ]; then ok "$name: every device, class and id as lspci sees them ($(echo "$want" | wc -l) devices)"
	else not_ok "$name: devices differ from lspci"; diag "lspci:" "$want" "scan:" "$got"; fi

	# Drivers and groups: the tree's own symlinks.
	want=$(cd "$sys/bus/pci/devices" && for d in *; do
		drv=$(readlink "$d/driver" 2>/dev/null); grp=$(readlink "$d/iommu_group" 2>/dev/null)
		echo "$d ${drv##*/} ${grp##*/}"
	done | sort)
	got=$($PYTHON -c 'import json,sys
for d in json.load(open(sys.argv[1]))["devices"]:
    g = d["iommu_group"]
    print(d["slot"], d["driver"] or "", "" if g is None else g)' "$json" | sed 's/ *$//; s/  */ /g' | sort)
	want=$(echo "$want" | sed 's/ *$//; s/  */ /g')
	if [ "$got" = "$want" ]; then ok "$name: drivers and IOMMU groups match the tree's links"
	else not_ok "$name: drivers/groups differ"; diag "tree:" "$want" "scan:" "$got"; fi

	# modalias: the tree's file, its one line without the newline the kernel ends it with.
	want=$(cd "$sys/bus/pci/devices" && for d in *; do printf '%s %s\n' "$d" "$(head -n 1 "$d/modalias")"; done | sort)
	got=$($PYTHON -c 'import json,sys
for d in json.load(open(sys.argv[1]))["devices"]:
    print(d["slot"], repr(d["modalias"])[1:-1])' "$json" | sort)
	if [ "$got" = "$want" ]; then ok "$name: modalias as the tree has it, one line"
	else not_ok "$name: modalias differs"; diag "tree:" "$want" "scan:" "$got"; fi

	# Group membership as find lists it, and the count of groups.
	want=$(find "$sys/kernel/iommu_groups" -type l -path '*/devices/*' 2>/dev/null | awk -F/ '{ print $(NF-2), $NF }' | sort)
	got=$($PYTHON -c 'import json,sys
for d in json.load(open(sys.argv[1]))["devices"]:
    if d["iommu_group"] is not None: print(d["iommu_group"], d["slot"])' "$json" | sort)
	groups=$(find "$sys/kernel/iommu_groups" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	if [ "$got" = "$want" ] && json_check "$json" "d['iommu']['groups'] == $groups"; then ok "$name: $groups groups, members as find lists them"
	else not_ok "$name: group members differ"; diag "find:" "$want" "scan:" "$got"; fi

	# IOMMU, interrupt remapping, CPU flags, firmware tables.
	units=$(ls "$sys/class/iommu" 2>/dev/null | wc -l)
	ir=$(grep -c ' IR-' "$proc/interrupts" || true)
	virt=$(grep -m1 '^flags' "$proc/cpuinfo" | tr ' ' '\n' | grep -cxE 'vmx|svm' || true)
	tables=$(ls "$sys/firmware/acpi/tables" 2>/dev/null | grep -cE '^(DMAR|IVRS)' || true)
	if json_check "$json" "d['iommu']['active'] == ($units > 0) and d['iommu']['interrupt_remapping'] == ($ir > 0) and (d['cpu']['vmx'] or d['cpu']['svm']) == ($virt > 0) and (d['firmware']['dmar'] or d['firmware']['ivrs']) == ($tables > 0)"; then
		ok "$name: IOMMU active ($units units), IR ($ir lines), virtualization, firmware table"
	else not_ok "$name: IOMMU/IR/CPU/firmware facts differ"; diag "$(head -c 600 "$json")"; fi

	# boot_vga from the files, and every GPU's companions: the other functions of its slot.
	want=$(cd "$sys/bus/pci/devices" && grep -l '^1$' */boot_vga 2>/dev/null | cut -d/ -f1 | sort)
	got=$($PYTHON -c 'import json,sys
for d in json.load(open(sys.argv[1]))["devices"]:
    if d["boot_vga"]: print(d["slot"])' "$json" | sort)
	[ "$got" = "$want" ] && ok "$name: boot_vga ($want)" || { not_ok "$name: boot_vga"; diag "tree: $want" "scan: $got"; }
	want=$(cd "$sys/bus/pci/devices" && for d in *; do
		case $(cat "$d/class") in 0x03*) ;; *) continue ;; esac
		echo "$d:$(ls -d "${d%.*}".* | grep -vx "$d" | tr '\n' ' ')"
	done | sed 's/ $//' | sort)
	got=$($PYTHON -c 'import json,sys
for d in json.load(open(sys.argv[1]))["devices"]:
    if d["gpu"]: print(d["slot"] + ":" + " ".join(d["companions"]))' "$json" | sort)
	[ "$got" = "$want" ] && ok "$name: GPUs and companions" || { not_ok "$name: companions"; diag "tree: $want" "scan: $got"; }

	# The console device: boot_vga's, and fb0's only where no boot_vga reads 1.
	fb=$(readlink -f "$sys/class/graphics/fb0/device" 2>/dev/null | grep -oE '[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]' | tail -n 1)
	console=$($PYTHON -c 'import json,sys
print(" ".join(d["slot"] for d in json.load(open(sys.argv[1]))["devices"] if "console" in d["roles"]))' "$json")
	bootvga=$(cd "$sys/bus/pci/devices" && grep -l '^1$' */boot_vga 2>/dev/null | cut -d/ -f1 | tr '\n' ' ' | sed 's/ $//')
	[ -n "$console" ] && [ "$console" = "${bootvga:-$fb}" ] && ok "$name: console role on $console (boot_vga; fb0 is on ${fb:-none})" ||
		{ not_ok "$name: console role"; diag "boot_vga: $bootvga fb0: $fb roles: $console"; }
	# Hybrid and server boards: boot_vga 0 everywhere; then fb0's device is the console.
	if [ -n "$fb" ]; then
		hy=$TEST_TMP/hybrid-$name
		mkdir -p "$hy"; cp -a "$sys" "$hy/"
		for f in "$hy"/sys/bus/pci/devices/*/boot_vga; do [ -e "$f" ] && echo 0 >"$(readlink -f "$f")"; done
		got=$("$IOMMUCTL" --root "$TEST_TMP" --sysfs "$hy/sys" --procfs "$proc" --json scan | $PYTHON -c 'import json,sys
print(" ".join(d["slot"] for d in json.load(sys.stdin)["devices"] if "console" in d["roles"]))')
		case " $got " in *" $fb "*) ok "$name with boot_vga 0 everywhere: the console is fb0's $fb" ;;
		*) not_ok "$name with boot_vga 0: console $got, fb0 on $fb" ;; esac
	fi

	# The root disk's controller: mountinfo's device number, its sysfs node, the last PCI
	# address on the resolved path (no slaves here: the captures mount a plain partition).
	devno=$(awk '$5 == "/" { d = $3 } END { print d }' "$proc/self/mountinfo")
	rootpci=$(readlink -f "$sys/dev/block/$devno" 2>/dev/null | grep -oE '[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]' | tail -n 1)
	got=$($PYTHON -c 'import json,sys
print(" ".join(d["slot"] for d in json.load(open(sys.argv[1]))["devices"] if "root disk" in d["roles"]))' "$json")
	[ -n "$rootpci" ] && [ "$got" = "$rootpci" ] && ok "$name: root disk controller $got (device $devno)" ||
		{ not_ok "$name: root disk controller"; diag "tree: $rootpci (device $devno)" "scan: $got"; }

	# The default route's NIC, through a bridge's ports where it is on one.
	ifc=$(awk '$2 == "00000000" && $8 == "00000000" { print $1 }' "$proc/net/route" | head -n 1)
	nics=$ifc
	[ -d "$sys/class/net/$ifc/brif" ] && nics=$(ls "$sys/class/net/$ifc/brif")
	want=$(for n in $nics; do readlink -f "$sys/class/net/$n/device" | grep -oE '[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]' | tail -n 1; done | sort -u | tr '\n' ' ' | sed 's/ $//')
	got=$($PYTHON -c 'import json,sys
print(" ".join(d["slot"] for d in json.load(open(sys.argv[1]))["devices"] if "network" in d["roles"]))' "$json")
	[ -n "$want" ] && [ "$got" = "$want" ] && ok "$name: default-route NIC $got (via $ifc)" ||
		{ not_ok "$name: default-route NIC"; diag "tree: $want (via $ifc)" "scan: $got"; }

	# The readable form: a tree of groups, every device once.
	run_cmd "$IOMMUCTL" --root "$TEST_TMP" --sysfs "$sys" --procfs "$proc" scan
	n=$(ls "$sys/bus/pci/devices" | wc -l)
	shown=$(printf '%s\n' "$out" | grep -cE '^[|`][-]|^ +[|`]-' || true)
	if [ "$rc" = 0 ] && [ "$shown" -ge "$n" ] && [[ "$out" == *"group 0"* ]] && [[ "$out" == *"The host needs:"* ]]; then
		ok "$name: scan shows the group tree ($n devices)"
	else
		not_ok "$name: scan text"; diag "exit $rc, $shown device lines for $n devices" "$out"
	fi
done
[ "$found" = 1 ] || not_ok "no captured sysfs tree under fixtures/hw"

# scan reads, never writes: it works for a user who is not root.
fx=$(ls -d "$FIXTURES"/hw/*/sys | head -n 1); fx=${fx%/sys}
nb=$(nobody_copy "$fx")
if [ -z "$nb" ]; then
	skip "scan as nobody: needs root and setpriv to become nobody"
else
	run_cmd setpriv --reuid=nobody --regid=nogroup --clear-groups "$nb/iommuctl" --root "$nb" \
		--sysfs "$nb/$(basename "$fx")/sys" --procfs "$nb/$(basename "$fx")/proc" scan
	[ "$rc" = 0 ] && [[ "$out" == *"group 0"* ]] && ok "scan as nobody (exit 0)" || { not_ok "scan as nobody: exit $rc"; diag "$err"; }
fi

# Hardware that is not there is a fact, not an error.
mkdir -p "$TEST_TMP/empty/sys" "$TEST_TMP/empty/proc"
run_cmd "$IOMMUCTL" --root "$TEST_TMP" --sysfs "$TEST_TMP/empty/sys" --procfs "$TEST_TMP/empty/proc" --json scan
printf '%s' "$out" >"$TEST_TMP/e.json"
if [ "$rc" = 0 ] && json_check "$TEST_TMP/e.json" "d['devices'] == [] and d['iommu']['active'] is False and d['cpu']['vendor'] is None and any('no PCI bus' in n for n in d['notes'])"; then
	ok "an empty sysfs: no devices, no IOMMU, a note (exit 0)"
else
	not_ok "an empty sysfs"; diag "exit $rc" "$out" "$err"
fi
plan_late
