#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0730 — the driver chain of each device the host needs, on sysfs trees captured from Debian's
# kernels (tools/capture-fixture), with Debian's real 6.1 and 6.12 module trees in the root:
# scan shows the chain as the tree's own driver and module links say; blacklisting any module on
# it (virtio_blk under virtio-pci, sd_mod under ahci, a driver a modalias would load) is refused.
# Which blacklists a boot really fails on was measured with tools/measure-blacklist (see
# fixtures/hw/BLACKLIST.md): the module of a bound driver on the chain, yes; a module that is
# only a dependency (virtio_ring, libahci, scsi_mod), no.
. "$(dirname "$0")/test-lib.sh"

vblk=$FIXTURES/hw/q35-virtio-blk-6.1
ahci=$FIXTURES/hw/q35-ahci-6.12
usb=$FIXTURES/hw/q35-usb-6.1
twin=$FIXTURES/hw/q35-intel-6.12-twin-efi
for fx in "$vblk" "$ahci" "$usb" "$twin"; do
	[ -d "$fx/sys" ] || { echo "1..0 # SKIP $fx was not captured"; exit 0; }
done
kernels_or_skip

# A Proxmox root with both kernels' module trees (hard links into the cache).
r=$(kernel_root pve8-grub)

on() { local fx=$1; shift; run_cmd "$IOMMUCTL" --root "$r" --sysfs "$fx/sys" --procfs "$fx/proc" "$@"; }
local_profile() { # NAME TEXT
	mkdir -p "$r/etc/iommuctl/profiles"
	printf '%s\n' "$2" >"$r/etc/iommuctl/profiles/$1.conf"
	chmod 0644 "$r/etc/iommuctl/profiles/$1.conf"
}
blacklist_profile() { local_profile "no-$1" "[blacklist]
add = $1"; }
# findings FILE: "severity:id message" per finding.
findings() { $PYTHON -c 'import json,sys
for f in json.load(open(sys.argv[1]))["findings"]: print(f["severity"] + ":" + f["id"], f["message"])' "$1"; }

# refused FIXTURE MODULE ID TEXT...: plan no-MODULE exits 3 with a blocking ID finding whose
# message holds every TEXT.
refused() {
	local fx=$1 m=$2 id=$3 t hit bad=
	shift 3
	blacklist_profile "$m"
	on "$fx" --json plan "no-$m"
	printf '%s' "$out" >"$TEST_TMP/f.json"
	hit=$(findings "$TEST_TMP/f.json" | grep "^blocking:$id " || true)
	for t in "$@"; do grep -qF -- "$t" <<<"$hit" || bad="$bad [$t]"; done
	if [ "$rc" = 3 ] && [ -n "$hit" ] && [ -z "$bad" ]; then
		ok "$(basename "$fx"): blacklisting $m is refused (exit 3, $id): $(head -n 1 <<<"$hit" | cut -c1-150)"
	else
		not_ok "$(basename "$fx"): blacklisting $m: exit $rc, wanted 3 with $id naming$bad"
		diag "$(findings "$TEST_TMP/f.json")" "$err"
	fi
}
# passes FIXTURE MODULE WHY: plan no-MODULE exits 0 with no blocking finding.
passes() {
	blacklist_profile "$2"
	on "$1" --json plan "no-$2"
	printf '%s' "$out" >"$TEST_TMP/p.json"
	if [ "$rc" = 0 ] && ! findings "$TEST_TMP/p.json" | grep -q '^blocking:'; then
		ok "$(basename "$1"): blacklisting $2 passes ($3)"
	else
		not_ok "$(basename "$1"): blacklisting $2: exit $rc, wanted 0"; diag "$(findings "$TEST_TMP/p.json")" "$err"
	fi
}

# ---- scan: every chain as the tree's links say, on every capture ----
# The oracle walks the tree with os.readlink/realpath: for each chain, each device from the PCI
# function down to the root disk (mountinfo → dev/block), the default route's interface and the
# console's card that has a driver link must be a link of the chain with that driver and the
# module its driver/module link names.
for fx in "$FIXTURES"/hw/*/; do
	[ -d "$fx/sys/bus/pci/devices" ] || continue
	name=$(basename "$fx")
	"$IOMMUCTL" --root "$r" --sysfs "$fx/sys" --procfs "$fx/proc" --json scan >"$TEST_TMP/$name.json" 2>"$TEST_TMP/err"
	res=$($PYTHON - "$TEST_TMP/$name.json" "$fx/sys" <<'EOF'
import json, os, sys
d = json.load(open(sys.argv[1]))
sysfs = sys.argv[2]
bad, n = [], 0
def base(p):
    try: return os.path.basename(os.readlink(p))
    except OSError: return None
for dev in d["devices"]:
    for ch in dev["chains"]:
        n += 1
        links = ch["links"]
        if links[0]["node"] != dev["slot"] or links[0]["driver"] != dev["driver"]:
            bad.append("%s: first link %s" % (dev["slot"], links[0]))
        top = os.path.realpath(os.path.join(sysfs, "bus/pci/devices", dev["slot"]))
        for l in links:
            # a device on a bus (class directories scsi_disk/0:0:0:0, bsg/0:0:0:0 share its name)
            hits = [os.path.join(w, l["node"]) for w, ds, fs in os.walk(top) if l["node"] in ds
                    and "/bus/" in (os.readlink(os.path.join(w, l["node"], "subsystem")) if os.path.islink(os.path.join(w, l["node"], "subsystem")) else "")] if l is not links[0] else [top]
            if len(hits) != 1:
                bad.append("%s: %s found %d times under %s" % (dev["slot"], l["node"], len(hits), top)); continue
            drv = base(os.path.join(hits[0], "driver"))
            mod = base(os.path.join(hits[0], "driver", "module"))
            if l["driver"] != drv or l["module"] != (mod.replace("-", "_") if mod else None):
                bad.append("%s %s: chain says %s (%s), the tree %s (%s)" % (dev["slot"], l["node"], l["driver"], l["module"], drv, mod))
# The root disk's devices with a driver, from mountinfo as the tree shows it.
mi = [l.split() for l in open(os.path.join(os.path.dirname(sysfs), "proc/self/mountinfo"))]
root = [f[2] for f in mi if f[4] == "/"][-1]
comps = os.path.realpath(os.path.join(sysfs, "dev/block", root)).split("/")
slots = [x["slot"] for x in d["devices"] if "root disk" in x["roles"]]
at = [i for i, c in enumerate(comps) if c in slots]
want = [comps[j] for j in range(at[-1], len(comps)) if at and base(os.path.join("/".join(comps[:j + 1]), "driver"))] if at else []
got = [l["node"] for x in d["devices"] for c in x["chains"] if c["role"] == "root disk" for l in c["links"]]
missing = [w for w in want if w not in got]
if missing or not want: bad.append("root disk: devices with a driver %s, the chains have %s" % (want, got))
print("%d chains, root disk through %s" % (n, " ".join(want)) if not bad else "BAD " + "; ".join(bad))
EOF
)
	case $res in
	BAD* | "") not_ok "$name: scan --json chains"; diag "$res" "$(cat "$TEST_TMP/err")" ;;
	*) ok "$name: scan --json chains match the tree's driver and module links: $res" ;;
	esac
done

# The virtio capture: the driver a blacklist stops sits on the child virtioN.
vslot=$($PYTHON -c 'import json,sys
print(next(x["slot"] for x in json.load(open(sys.argv[1]))["devices"] if "root disk" in x["roles"]))' "$TEST_TMP/q35-virtio-blk-6.1.json")
vnode=$(cd "$vblk/sys/bus/pci/devices/$vslot/" && ls -d virtio* | head -n 1)
json_check "$TEST_TMP/q35-virtio-blk-6.1.json" "[(l['node'], l['subsystem'], l['driver'], l['module']) for x in d['devices'] for c in x['chains'] if c['role'] == 'root disk' for l in c['links']] == [('$vslot', 'pci', 'virtio-pci', 'virtio_pci'), ('$vnode', 'virtio', 'virtio_blk', 'virtio_blk')]" &&
	ok "q35-virtio-blk-6.1: the root disk's chain is $vslot virtio-pci (virtio_pci) → $vnode virtio_blk (virtio_blk)" ||
	{ not_ok "q35-virtio-blk-6.1: root disk chain"; diag "$(head -c 3000 "$TEST_TMP/q35-virtio-blk-6.1.json")"; }
on "$vblk" scan
contains "scan (text) shows the chain" "$out" "chain: root disk vda: ${vslot#0000:} virtio-pci (virtio_pci) → $vnode virtio_blk (virtio_blk)"

# ---- blacklists on the chain are refused; dependencies and other devices' drivers are not ----
refused "$vblk" virtio_blk takes-root-disk "root disk vda: ${vslot#0000:} virtio-pci (virtio_pci) → $vnode virtio_blk (virtio_blk)" "blacklisting virtio_blk stops the root disk from appearing"
refused "$vblk" virtio-pci takes-root-disk "root disk vda:" "blacklisting virtio_pci stops the root disk"
refused "$vblk" virtio_net takes-network "network enp" "virtio_net (virtio_net)"
refused "$vblk" virtio_gpu takes-console "console card" "virtio_gpu (virtio_gpu)"
passes "$vblk" virtio_ring "a dependency of virtio_pci and virtio_blk: measured, the root still mounts"
# The 6.12 capture made before chains were captured: no bus/virtio in the tree, so the module
# is the driver's name; virtio_pci is built into 6.12, and the message says so.
refused "$twin" virtio_blk takes-root-disk "root disk vda:" "virtio_blk: blacklisting virtio_blk stops the root disk"
refused "$twin" virtio_pci takes-root-disk "built into the running kernel" "a module would not load it"

refused "$ahci" sd_mod takes-root-disk "root disk sda: 00:1f.2 ahci (ahci) → 0:0:0:0 sd (sd_mod)" "blacklisting sd_mod stops the root disk"
refused "$ahci" ahci takes-root-disk "root disk sda: 00:1f.2 ahci (ahci) → 0:0:0:0 sd (sd_mod)" "blacklisting ahci stops the root disk"
passes "$ahci" libahci "a dependency of ahci: measured, the root still mounts"
passes "$ahci" scsi_mod "a dependency of sd_mod and libata: measured, the root still mounts"
blacklist_profile megaraid_sas
on "$ahci" --json plan no-megaraid_sas
printf '%s' "$out" >"$TEST_TMP/m.json"
[ "$rc" = 0 ] && findings "$TEST_TMP/m.json" | grep -q '^warning:takes-host-device .*megaraid_sas' &&
	! findings "$TEST_TMP/m.json" | grep -q '^blocking:' && ok "q35-ahci-6.12: the SAS HBA the root is not on: a warning, not a block" ||
	{ not_ok "q35-ahci-6.12: megaraid_sas"; diag "$(findings "$TEST_TMP/m.json")"; }

# USB: the stick's interface gets usb-storage by its modalias; the USB devices above it get the
# driver "usb" of usbcore, which xhci_pci needs anyway: no blacklist stops it.
uslot=$($PYTHON -c 'import json,sys
print(next(x["slot"] for x in json.load(open(sys.argv[1]))["devices"] if "root disk" in x["roles"]))' "$TEST_TMP/q35-usb-6.1.json")
refused "$usb" usb_storage takes-root-disk "root disk sda: ${uslot#0000:} xhci_hcd (xhci_pci) → " "usb-storage (usb_storage) → " "blacklisting usb_storage stops the root disk"
refused "$usb" sd_mod takes-root-disk "sd (sd_mod)" "blacklisting sd_mod stops the root disk"
refused "$usb" xhci_pci takes-root-disk "${uslot#0000:} xhci_hcd (xhci_pci)" "blacklisting xhci_pci stops the root disk"
passes "$usb" usbcore "the module of the USB devices' driver, a dependency of xhci_pci and usb_storage: measured, the root still mounts"

# NVMe (the AMD capture's root): the PCI function's nvme; nvme_core is its dependency.
nvme=$FIXTURES/hw/q35-amd-6.12
refused "$nvme" nvme takes-root-disk "root disk nvme0n1: " "nvme (nvme): blacklisting nvme stops the root disk"
passes "$nvme" nvme_core "a dependency of nvme: measured, the root still mounts"

# vfio-pci taking the root disk's controller names its chain too.
aslot=$($PYTHON -c 'import json,sys
print(next(x["slot"] for x in json.load(open(sys.argv[1]))["devices"] if "root disk" in x["roles"]))' "$TEST_TMP/q35-ahci-6.12.json")
local_profile takeroot "[profile]
include = vfio
[vfio-pci]
devices = $aslot"
on "$ahci" --json plan takeroot
printf '%s' "$out" >"$TEST_TMP/c.json"
[ "$rc" = 3 ] && findings "$TEST_TMP/c.json" | grep -q "^blocking:takes-root-disk vfio-pci would take .*root disk sda: 00:1f.2 ahci (ahci) → 0:0:0:0 sd (sd_mod)" &&
	ok "vfio-pci devices = $aslot (the root's AHCI): takes-root-disk names the chain" ||
	{ not_ok "vfio-pci on the root controller: exit $rc"; diag "$(findings "$TEST_TMP/c.json")"; }

# ---- devices no driver has bound yet: what their modalias resolves to in the installed kernels ----
# The captures minus the driver links of the root disk's chain (what sysfs shows before the
# modules load), everything else as captured.
unbind() { # FIXTURE OUT DEVICE-DIR...
	local fx=$1 o=$2 dev
	shift 2
	mkdir -p "$o"; cp -a "$fx/sys" "$fx/proc" "$o/"
	for dev in "$@"; do rm "$o/sys/bus/pci/devices/$dev/driver"; done
}
ub=$TEST_TMP/ahci-unbound
sdev=$(cd "$ahci/sys/bus/pci/devices/$aslot/" && find . -name '0:0:0:0' -type d | head -n 1)
unbind "$ahci" "$ub" "$aslot" "$aslot/${sdev#./}"
refused "$ub" ahci takes-root-disk "00:1f.2 no driver (modalias: ahci)" "stops the root disk"
refused "$ub" sd_mod takes-root-disk "0:0:0:0 no driver (modalias: sd_mod)" "the unbound 0:0:0:0"
passes "$ub" megaraid_sas "not on the chain, and its HBA is no device the host needs"
vb=$TEST_TMP/vblk-unbound
unbind "$vblk" "$vb" "$vslot/$vnode"
refused "$vb" virtio_blk takes-root-disk "$vnode no driver (modalias: virtio_blk)" "the unbound $vnode"
plan_late
