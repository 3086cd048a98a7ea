#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# trial-system.sh — the trial boot on a whole Debian 12 system (issue 15, cases 1 and 3): a
# debootstrapped bookworm with grub-pc, systemd and initramfs-tools on an MBR disk (system-lib.sh)
# boots by itself in QEMU (TCG) with the captured hardware's devices (fixtures/hw/q35-intel-6.1:
# a GPU with its audio function behind a root port, e1000e as the default-route NIC, a virtual
# intel-iommu), and iommuctl runs inside with its real hooks (update-initramfs, update-grub) and
# its boot-check unit. One QEMU run, the guest rebooting itself between the boots:
#   boot 1  the old configuration. GRUB one-shot: next_entry names the "Advanced options" entry
#           (real GRUB, real grub.cfg from update-grub); reboot.
#   boot 2  GRUB booted that entry and cleared next_entry. "iommuctl apply --trial gpu"; reboot.
#   boot 3  the trial: its command line (iommuctl.trial=TXN, vfio-pci.ids, modprobe.blacklist…);
#           the boot check passes and commits (real update-initramfs and update-grub); reboot.
#   boot 4  the committed files: no trial marker, vfio-pci on both GPU functions, the check passes
#           again (the first boot after a commit is checked too). "apply --trial nic" with a local
#           profile that blacklists e1000e (the default-route NIC's driver, --force); reboot.
#   boot 5  the trial without network: the check fails and reboots by itself.
#   boot 6  the old configuration (boot 4's command line and files, byte for byte); history says
#           the trial failed; power off.
# Results come back on a 9p share (the guest's /e2e, guest-step.sh writes one directory a boot).
#
# Environment: IOMMUCTL_SYSTEM_TEST=1 (runs it; otherwise it skips), IOMMUCTL, SRCDIR, BUILDDIR
# (meson), SYSTEM_RUN_TIMEOUT (seconds for the whole QEMU
# run, default 2400), E2E_KEEP=1 (keep the scratch directory), SYSTEM_MIRROR (Debian mirror).
# Needs root (loop devices, mount, chroot), debootstrap, sfdisk, QEMU and the Debian archive the
# first time (the image is cached in BUILDDIR/kernel-cache/system/KEY); skips cleanly without.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${IOMMUCTL:=$SRCDIR/build/iommuctl}"
: "${BUILDDIR:=$(cd "$(dirname "$IOMMUCTL")" && pwd)}"
export SRCDIR IOMMUCTL BUILDDIR
export PATH=$PATH:/usr/sbin:/sbin
# shellcheck source=../test-lib.sh
. "$SRCDIR/tests/test-lib.sh"
# shellcheck source=system-lib.sh
. "$here/system-lib.sh"

skip_all() { echo "1..0 # SKIP $*"; exit 0; }
run_timeout=${SYSTEM_RUN_TIMEOUT:-2400}
fixture=$FIXTURES/hw/q35-intel-6.1

# build_and_run: everything up to the end of the QEMU run; the checks below read its results.
build_and_run() {
# ---- what the test needs on the host ----
# Opt-in: it takes about 23 minutes on two idle cores (20 of 20 passed in 1374 s on 2026-12-06,
# with the debootstrap cache warm; a cold cache adds about 7 minutes), on top of CI's 33.
[ "${IOMMUCTL_SYSTEM_TEST:-0}" = 1 ] ||
	skip_all "opt-in: IOMMUCTL_SYSTEM_TEST=1 meson test -C BUILD t0840-trial-system (about 25 minutes, root)"
[ "$(id -u)" = 0 ] || skip_all "not root: the whole-system image needs loop devices, mount and chroot"
for t in debootstrap sfdisk losetup partx mkfs.ext4 chroot qemu-system-x86_64 timeout meson; do
	command -v "$t" >/dev/null || skip_all "$t is not installed (see tools/debian-packages.txt)"
done
[ -x "$IOMMUCTL" ] || skip_all "no iommuctl binary at $IOMMUCTL (build first)"
probe=$(mktemp "$TEST_TMP/loop.XXXXXX")
truncate -s 1M "$probe"
if ! dev=$(losetup -f --show "$probe" 2>/dev/null); then
	skip_all "no free loop device (losetup -f)"
fi
losetup -d "$dev"

sys_cache_setup
if [ ! -f "$sys_cache/rootfs.complete" ] &&
	! "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/dists/bookworm/Release", timeout=15)' \
		"$sys_mirror" 2>/dev/null; then
	skip_all "the Debian archive ($sys_mirror) cannot be reached and no cached image is in $sys_cache"
fi

work=$(mktemp -d "$BUILDDIR/system-run.XXXXXX")
mnt=$work/mnt
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && sys_umount "$mnt"
	rm -rf "$TEST_TMP"
	if [ "${E2E_KEEP:-0}" = 1 ]; then echo "# scratch kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# ---- the cached system: debootstrap, then the disk with GRUB ----
t0=$(date +%s)
if ! sys_rootfs; then
	echo "1..1"
	echo "not ok 1 - debootstrap of $sys_suite from $sys_mirror failed (log: $sys_cache/debootstrap.log)"
	exit 1
fi
[ -n "$sys_debootstrap_secs" ] && timing "debootstrap --variant=minbase (when the cache was built)" "$sys_debootstrap_secs"
if sys_base_image; then
	ok "the whole system: debootstrapped $sys_suite on an MBR disk, grub-install --target=i386-pc and update-grub in a chroot (cache $sys_cache)"
else
	not_ok "building the base disk image failed"
	exit 1
fi
timing "rootfs + base image (0 when cached)" "$(($(date +%s) - t0))"

# ---- this run's disk: the base image with this build installed ----
t0=$(date +%s)
disk=$work/disk.img
cp --sparse=always "$sys_base" "$disk"
share=$work/share
mkdir -p "$share/in" "$share/out"
chmod 0777 "$share/out"
sys_mount "$disk" "$mnt" || { not_ok "cannot mount the run's disk image"; plan_late; exit 1; }
kver=$(ls "$mnt/lib/modules" | sort -V | tail -n 1)
root_uuid=$(blkid -o value -s UUID "${sys_dev}p1")
if installed=$(sys_install_iommuctl "$mnt"); then
	ok "meson install --destdir of this build copied into the guest ($(wc -l <<<"$installed") files), units enabled"
	diag "installed: $(tr '\n' ' ' <<<"$installed")"
else
	not_ok "installing this build into the guest failed"
	diag "$(tail -n 20 "$work"/*.log 2>/dev/null)"
	sys_umount "$mnt"
	plan_late
	exit 1
fi
unit_installed=0
grep -q '/iommuctl-boot-check\.service$' <<<"$installed" && unit_installed=1
# Case 3's local profile: the default-route NIC's driver blacklisted (root-owned, 0644).
mkdir -p "$mnt/etc/iommuctl/profiles"
printf '[profile]\ndescription = trial-system: take the default-route NIC (its driver blacklisted)\n[blacklist]\nadd = e1000e\n' \
	>"$mnt/etc/iommuctl/profiles/nic.conf"
chmod 0644 "$mnt/etc/iommuctl/profiles/nic.conf"
sys_umount "$mnt"
timing "this run's disk (copy, install, enable)" "$(($(date +%s) - t0))"

# ---- the steps the guest runs at the end of each boot (sourced by guest-step.sh) ----
# now: seconds since the epoch; each timed command leaves its seconds in $d/NAME.secs.
cat >"$share/in/step-1.sh" <<EOF
grub-editenv /boot/grub/grubenv set next_entry='gnulinux-advanced-$root_uuid>gnulinux-$kver-advanced-$root_uuid'
grub-editenv /boot/grub/grubenv list >"\$d/grubenv-armed"
systemctl --no-block reboot
EOF
cat >"$share/in/step-2.sh" <<'EOF'
# The base image's grub.cfg was made in a chroot on the build host, where grub-probe finds no BIOS
# drive hints; the host's own update-grub is what a real host has before any trial.
update-grub >"$d/update-grub-before.log" 2>&1
cp /boot/grub/grub.cfg "$d/grub.cfg-before-apply"
{ sha256sum /etc/default/grub /etc/modules /boot/grub/grub.cfg /boot/initrd.img-*
  find /etc/modprobe.d /etc/default/grub.d /etc/modules-load.d -type f -exec sha256sum {} + 2>/dev/null | sort -k2; } >"$d/files-before-apply.sha256"
t=$(date +%s)
iommuctl -y --force apply --trial gpu >"$d/apply.out" 2>"$d/apply.err"
echo $? >"$d/apply.rc"
echo $(($(date +%s) - t)) >"$d/apply.secs"
grub-editenv /boot/grub/grubenv list >"$d/grubenv-armed"
cp /boot/grub/grub.cfg "$d/grub.cfg-after-apply"
{ sha256sum /etc/default/grub /etc/modules /boot/grub/grub.cfg /boot/initrd.img-*
  find /etc/modprobe.d /etc/default/grub.d /etc/modules-load.d -type f -exec sha256sum {} + 2>/dev/null | sort -k2; } >"$d/files-after-apply.sha256"
sync
if [ "$(cat "$d/apply.rc")" = 0 ]; then systemctl --no-block reboot; else systemctl --no-block poweroff; fi
EOF
cp "$share/in/step-2.sh" "$share/in/step-4.sh"
sed -i 's/apply --trial gpu/apply --trial nic/' "$share/in/step-4.sh"
echo 'systemctl --no-block reboot' >"$share/in/step-3.sh"

# ---- the run ----
sys_boot system "$fixture" "$disk" "$share" "$run_timeout"
qrc=$?
nboots=$(cat "$share/out/boots" 2>/dev/null || echo 0)
timing "QEMU run ($nboots boots, qemu exit $qrc)" "$run_secs"
declare -p kver root_uuid unit_installed qrc run_secs nboots >"$work/run.env"
}

t_start=$(date +%s)
timing() { diag "timing: $1: $2 s"; }
if [ -n "${SYSTEM_RESULTS:-}" ]; then
	# Development: the checks again, over a kept run (E2E_KEEP=1) of the same build.
	work=$SYSTEM_RESULTS
	share=$work/share
	# shellcheck disable=SC1091
	. "$work/run.env"
	trap 'rm -rf "$TEST_TMP"' EXIT
else
	build_and_run
fi
o=$share/out
console=$work/system.console
for n in $(seq 1 "$nboots"); do
	[ -f "$o/boot-$n/t-record" ] && [ -f "$o/boot-$n/t-act" ] &&
		timing "boot $n: record to end of checks" "$(($(cat "$o/boot-$n/t-act") - $(cat "$o/boot-$n/t-record")))"
	[ -f "$o/boot-$n/times" ] && diag "boot $n: seconds since the kernel started: $(tr '\n' ' ' <"$o/boot-$n/times")(systemd on the root at 'userspace', checks done at 'act')"
done

console_tail() {
	diag "--- last ${1:-40} lines of the console ---"
	diag "$(tr -d '\r' <"$console" 2>/dev/null | tail -n "${1:-40}")"
	local q
	q=$(grep -v "TCG doesn't support requested feature" "$work/system.qemu" 2>/dev/null)
	[ -n "$q" ] && diag "--- qemu: $q"
}
# json_get FILE EXPR: a Python expression over the parsed JSON document d, printed.
json_get() { "$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null; }
# bfile N NAME: the content of boot N's NAME (empty when missing).
bfile() { cat "$o/boot-$1/$2" 2>/dev/null; }
# cmdline_has N TOKEN: boot N's /proc/cmdline has TOKEN (a whole word, or a prefix ending in =).
cmdline_has() { tr ' ' '\n' 2>/dev/null <"$o/boot-$1/cmdline" | grep -q -- "^$2"; }

if [ "$nboots" -ge 1 ]; then
	ok "boot 1: GRUB from the disk, systemd, the e2e units ran ($(bfile 1 times | tr '\n' ' '))"
else
	not_ok "boot 1: the guest never recorded a boot (qemu exit $qrc after $run_secs s)"
	console_tail 60
	plan_late
	exit 1
fi

# ---- real GRUB and its one-shot on the whole system ----
if [ "$nboots" -ge 2 ] && grep -q '^next_entry=gnulinux-advanced' "$o/boot-1/grubenv-armed" 2>/dev/null &&
	! grep -q '^next_entry=.' "$o/boot-2/grubenv" && tr -d '\r' <"$console" | grep -q "Booting .Debian GNU/Linux, with Linux $kver'"; then
	ok "GRUB one-shot: next_entry booted the Advanced entry once and GRUB cleared it (grubenv at boot 2: $(bfile 2 grubenv | tr '\n' ' '))"
else
	not_ok "GRUB one-shot: next_entry set at boot 1 was not booted or not cleared"
	diag "armed: $(bfile 1 grubenv-armed)" "boot 2 grubenv: $(bfile 2 grubenv)"
	diag "$(tr -d '\r' <"$console" | grep -a 'Booting' | head)"
fi

if [ "$unit_installed" = 0 ]; then
	not_ok "this build installs no iommuctl-boot-check.service: the trial cases 1 and 3 cannot run"
	diag "step 2 (apply --trial gpu): exit $(bfile 2 apply.rc)" "$(bfile 2 apply.err)"
	diag "timing: total $(($(date +%s) - t_start)) s on $(nproc) cores"
	plan_late
	exit
fi

# ---- case 1: a good trial ----
if [ "$(bfile 2 apply.rc)" = 0 ]; then
	ok "case 1: iommuctl apply --trial gpu in the guest (exit 0, $(bfile 2 apply.secs) s)"
	diag "$(bfile 2 apply.out)"
else
	not_ok "case 1: apply --trial gpu: exit $(bfile 2 apply.rc)"
	diag "$(bfile 2 apply.out)" "$(bfile 2 apply.err)"
fi
# The first trial installs the static /etc/grub.d script once and runs update-grub: grub.cfg
# gains that script's section and nothing else; every other file stays as it was.
if [ -f "$o/boot-2/files-after-apply.sha256" ] &&
	diff -u <(grep -v grub.cfg "$o/boot-2/files-before-apply.sha256") <(grep -v grub.cfg "$o/boot-2/files-after-apply.sha256") >"$work/d2"; then
	ok "case 1: apply --trial changed no managed file and no initramfs"
else
	not_ok "case 1: apply --trial changed files it must leave alone"
	diag "$(cat "$work/d2" 2>/dev/null)"
fi
added=$(diff "$o/boot-2/grub.cfg-before-apply" "$o/boot-2/grub.cfg-after-apply" 2>/dev/null | grep '^[<>]')
if [ -n "$added" ] && ! grep -q '^<' <<<"$added" && grep -q 'iommuctl-trial.cfg' <<<"$added"; then
	ok "case 1: grub.cfg only gained the iommuctl trial section (update-grub once, for the static script)"
else
	not_ok "case 1: grub.cfg after apply --trial: lines removed or no iommuctl section"
	diag "$added"
fi
trial_txn=$(tr ' ' '\n' <"$o/boot-3/cmdline" 2>/dev/null | sed -n 's/^iommuctl\.trial=//p')
if [ -n "$trial_txn" ] && cmdline_has 3 'vfio-pci.ids=' && cmdline_has 3 'panic=' && ! cmdline_has 2 'iommuctl.trial='; then
	ok "case 1: boot 3 ran the trial line: iommuctl.trial=$trial_txn, vfio-pci.ids, panic= ($(bfile 3 cmdline))"
else
	not_ok "case 1: boot 3 did not run the trial command line"
	diag "boot 3 cmdline: $(bfile 3 cmdline)" "grubenv armed at boot 2: $(bfile 2 grubenv-armed)"
	console_tail 40
fi
if grep -qx 'Result=success' "$o/boot-3/check.show" 2>/dev/null && grep -qx 'ExecMainStatus=0' "$o/boot-3/check.show"; then
	ok "case 1: the boot-check unit passed in the trial boot (systemctl show: $(bfile 3 check.show | tr '\n' ' '))"
else
	not_ok "case 1: the boot-check unit in the trial boot: $(bfile 3 check.show | tr '\n' ' ')"
	diag "$(bfile 3 check.journal | tail -n 30)"
fi
if ! grep -q '^next_entry=.' "$o/boot-3/grubenv" 2>/dev/null && [ -s "$o/boot-3/grubenv" ]; then
	ok "case 1: GRUB cleared next_entry when it booted the trial"
else
	not_ok "case 1: grubenv in the trial boot: $(bfile 3 grubenv)"
fi
if [ "$nboots" -ge 4 ] && ! cmdline_has 4 'iommuctl.trial=' && cmdline_has 4 'intel_iommu=on' && cmdline_has 4 'iommu=pt'; then
	ok "case 1: boot 4 ran the committed configuration, no trial marker ($(bfile 4 cmdline))"
else
	not_ok "case 1: boot 4 after the commit: $(bfile 4 cmdline)"
	console_tail 40
fi
drv4=$(bfile 4 drivers)
if grep -qx '0000:01:00.0 vfio-pci' <<<"$drv4" && grep -qx '0000:01:00.1 vfio-pci' <<<"$drv4"; then
	ok "case 1: committed boot: 01:00.0 and 01:00.1 on vfio-pci (sysfs)"
else
	not_ok "case 1: committed boot drivers:"
	diag "$drv4"
fi
if [ "$(grep initrd.img "$o/boot-2/files.sha256")" != "$(grep initrd.img "$o/boot-4/files.sha256")" ] &&
	grep -q 'etc/modprobe.d/iommuctl' "$o/boot-4/initrd-list" 2>/dev/null &&
	grep -E '^\s*linux\s' "$o/boot-4/grub.cfg" | head -n 1 | grep -q 'intel_iommu=on'; then
	ok "case 1: the commit rebuilt the initramfs with the new modprobe.d (update-initramfs) and grub.cfg's entries (update-grub)"
else
	not_ok "case 1: the committed initramfs or grub.cfg"
	diag "$(diff "$o/boot-2/files.sha256" "$o/boot-4/files.sha256" 2>&1)" "$(cat "$o/boot-4/initrd-list" 2>/dev/null)"
	diag "$(grep -E '^\s*linux\s' "$o/boot-4/grub.cfg" 2>/dev/null)"
fi
if grep -qx 'Result=success' "$o/boot-4/check.show" 2>/dev/null && grep -qx 'ExecMainStatus=0' "$o/boot-4/check.show"; then
	ok "case 1: the boot-check unit passed again in the first committed boot"
else
	not_ok "case 1: the boot-check unit in the committed boot: $(bfile 4 check.show | tr '\n' ' ')"
	diag "$(bfile 4 check.journal | tail -n 30)"
fi
# history --json: the trial's transaction carries a "trial" object (iommuctl(8), history).
if [ -n "$trial_txn" ] && json_check "$o/boot-4/history.json" \
	"any(t['id'] == $trial_txn and t['kind'] == 'trial' and t['trial']['state'] == 'committed' and t['trial']['commit_txn'] and t['trial']['first_boot'] and t['trial']['first_boot']['ok'] for t in d)" 2>/dev/null; then
	ok "case 1: history --json: trial $trial_txn committed (as transaction $(json_get "$o/boot-4/history.json" "[t['trial']['commit_txn'] for t in d if t['id'] == $trial_txn][0]")), first boot after it passed"
else
	not_ok "case 1: history --json after the commit does not show trial $trial_txn committed with its first boot passed"
	diag "$(bfile 4 history.json | head -c 3000)"
fi

# ---- case 3: a trial that boots but fails the check (the default-route NIC taken) ----
if [ "$(bfile 4 apply.rc)" = 0 ]; then
	ok "case 3: apply --trial nic (e1000e blacklisted, --force) in the guest ($(bfile 4 apply.secs) s)"
else
	not_ok "case 3: apply --trial nic: exit $(bfile 4 apply.rc)"
	diag "$(bfile 4 apply.out)" "$(bfile 4 apply.err)"
fi
if cmdline_has 5 'iommuctl.trial=' && cmdline_has 5 'modprobe.blacklist=' && ! grep -q '0000:02:00.0 e1000e' "$o/boot-5/drivers" 2>/dev/null; then
	ok "case 3: boot 5 ran the trial line with the NIC's driver blacklisted ($(bfile 5 cmdline))"
else
	not_ok "case 3: boot 5 was not the NIC trial: $(bfile 5 cmdline)"
fi
if [ "$nboots" -ge 6 ] && [ ! -e "$o/boot-5/t-act" ] && tr -d '\r' <"$console" | grep -q 'iommuctl'; then
	ok "case 3: the check failed and rebooted by itself before the rest of boot 5 ran"
else
	not_ok "case 3: boot 5 did not end in the check's reboot (boots: $nboots)"
	diag "$(bfile 5 check.journal | tail -n 30)"
	console_tail 60
fi
if [ "$nboots" -ge 6 ] && [ "$(bfile 6 cmdline)" = "$(bfile 4 cmdline)" ] && diff -u "$o/boot-4/files.sha256" "$o/boot-6/files.sha256" >"$work/d6"; then
	ok "case 3: boot 6 ran the old configuration: boot 4's command line, every file byte-identical"
else
	not_ok "case 3: boot 6 is not the old configuration"
	diag "boot 4: $(bfile 4 cmdline)" "boot 6: $(bfile 6 cmdline)" "$(cat "$work/d6" 2>/dev/null)"
fi
trial3=$(tr ' ' '\n' <"$o/boot-5/cmdline" 2>/dev/null | sed -n 's/^iommuctl\.trial=//p')
if [ -n "$trial3" ] && json_check "$o/boot-6/history.json" \
	"any(t['id'] == $trial3 and t['kind'] == 'trial' and t['trial']['state'] == 'failed' and not t['trial']['commit_txn'] for t in d)" 2>/dev/null; then
	ok "case 3: history --json: trial $trial3 failed ($(json_get "$o/boot-6/history.json" "[t['trial']['outcome'] for t in d if t['id'] == $trial3][0]"))"
else
	not_ok "case 3: history --json does not say trial $trial3 failed"
	diag "$(bfile 6 history.json | head -c 3000)"
fi
diag "timing: total $(($(date +%s) - t_start)) s on $(nproc) cores"
plan_late
