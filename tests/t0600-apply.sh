#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0600 — plan, apply, diff PROFILE and the hooks on sandbox roots: the guide's changes as
# idempotent, byte-exact transactions; sh itself checks the grub file; failing hooks undo.
. "$(dirname "$0")/test-lib.sh"

# Hardware captured from Debian 6.12 on an AMD IOMMU (QEMU), so plans never read this machine.
amd="$FIXTURES/hw/q35-amd-6.12/proc" amd_sys="$FIXTURES/hw/q35-amd-6.12/sys"
# The value sh ends up with after sourcing the grub file and its drop-ins (DESIGN.md §5).
grub_oracle() {
	(cd "$1" && sh -c '. ./etc/default/grub; for f in ./etc/default/grub.d/*.cfg; do [ -e "$f" ] && . "$f"; done; printf %s "$GRUB_CMDLINE_LINUX_DEFAULT"' 2>/dev/null)
}
count_word() { printf '%s\n' $1 | grep -cxF -- "$2"; }

root=$(new_root pve8-grub)
cp -a "$root" "$TEST_TMP/pristine"
pristine=$(manifest "$root")

expect_exit 0 "plan vfio on an AMD host" "$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$amd" plan vfio
contains "plan names the boot loader and why" "$out" "boot loader: GRUB, command line in /etc/default/grub"
contains "plan shows the grub diff" "$out" '+GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=pt"'
contains "plan shows the modules diff" "$out" "+vfio_iommu_type1"
contains "plan explains amd_iommu" "$out" "amd_iommu"
contains "plan lists the initramfs hook" "$out" "/usr/sbin/update-initramfs -u -k all"
contains "plan lists update-grub" "$out" "/usr/sbin/update-grub"
check "plan changed nothing" test "$(manifest "$root")" = "$pristine"
check "plan created no journal" test ! -e "$root/var"
expect_exit 0 "plan --json" "$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$amd" --json plan vfio
check "plan --json has files, hooks, findings" json_check "$TEST_TMP/.out" \
	'd["changed"] and [f["path"] for f in d["files"]] == ["/etc/default/grub", "/etc/modules"] and len(d["hooks"]) == 2 and any(f["id"] for f in d["findings"])'

expect_exit 2 "apply without -y and without a terminal" "$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$amd" apply vfio </dev/null
contains "it says to pass -y" "$err" "apply -y vfio"
check "nothing was applied" test "$(manifest "$root")" = "$pristine"

expect_exit 0 "apply -y --no-hooks vfio" "$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$amd" --no-hooks --json -y apply vfio
check "apply --json: txn 1, changed" json_check "$TEST_TMP/.out" 'd["txn"] == 1 and d["changed"] is True and d["files"] == ["/etc/default/grub", "/etc/modules"]'
value=$(grub_oracle "$root")
check "sh sees iommu=pt exactly once ($value)" test "$(count_word "$value" iommu=pt)" = 1
check "sh still sees quiet" test "$(count_word "$value" quiet)" = 1
for m in vfio vfio_iommu_type1 vfio_pci; do
	check "/etc/modules lists $m once" test "$(grep -cx "$m" "$root/etc/modules")" = 1
done
check "vfio_virqfd is left out with no kernel installed" sh -c "! grep -q vfio_virqfd '$root/etc/modules'"
check "every other line of the grub file is unchanged" \
	sh -c "diff '$TEST_TMP/pristine/etc/default/grub' '$root/etc/default/grub' | grep -c '^[<>]' | grep -qx 2"

expect_exit 0 "a second apply" "$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$amd" --no-hooks --json -y apply vfio
check "changes nothing: txn null, changed false" json_check "$TEST_TMP/.out" 'd["txn"] is None and d["changed"] is False'
check "and records nothing" test "$(sql "$root" 'SELECT count(*) FROM txn')" = 1
expect_exit 0 "diff vfio after apply" "$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$amd" diff vfio
check "is empty" test -z "$out"
expect_exit 0 "diff 1" "$IOMMUCTL" --root "$root" diff 1
contains "diff 1 shows the grub edit" "$out" '+GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=pt"'
expect_exit 0 "history shows the profile" "$IOMMUCTL" --root "$root" history
check "history names apply and vfio" sh -c "echo \"$out\" | grep -Eq \"^ *1 +apply +committed .* vfio \""
expect_exit 0 "rollback" "$IOMMUCTL" --root "$root" --no-hooks rollback
check "rollback restores every file byte for byte" test "$(manifest "$root")" = "$pristine"

# nvidia: the blacklist goes into iommuctl's own file; one already blacklisted is not repeated.
expect_exit 0 "apply nvidia" "$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$amd" --no-hooks -y apply nvidia
check "the blacklist file holds nouveau and nvidia" \
	test "$(cat "$root/etc/modprobe.d/iommuctl-blacklist.conf")" = "blacklist nouveau
blacklist nvidia"
contains "nvidiafb is already blacklisted by pve-blacklist.conf" "$err" "nvidiafb is already blacklisted in /etc/modprobe.d/pve-blacklist.conf:4"
check "the new file is 0644 root:root" test "$(stat -c '%a %u %g' "$root/etc/modprobe.d/iommuctl-blacklist.conf")" = "644 0 0"
expect_exit 0 "rollback nvidia" "$IOMMUCTL" --root "$root" --no-hooks rollback
check "the created blacklist file is gone again" test "$(manifest "$root")" = "$pristine"

# Hooks run chrooted into the root, with a fixed environment; a failing one undoes the apply.
if [ -x /bin/busybox ] && [ "$(id -u)" = 0 ]; then
	hk=$(new_root pve8-grub)
	mkdir -p "$hk/bin" "$hk/hooks" "$hk/etc/iommuctl"
	cp /bin/busybox "$hk/bin/busybox"
	printf 'echo "update-grub ran in $(/bin/busybox pwd) with PATH=$PATH"; /bin/busybox env > /hooks/env; echo ok > /hooks/ran-grub\n' >"$hk/hooks/update-grub"
	printf 'echo initramfs ran; echo ok > /hooks/ran-initramfs\n' >"$hk/hooks/update-initramfs"
	printf 'echo "initramfs: out of space on /boot" >&2; exit 3\n' >"$hk/hooks/fail"
	cat >"$hk/etc/iommuctl/iommuctl.conf" <<CONF
[hooks]
update-grub = /bin/busybox sh /hooks/update-grub
update-initramfs = /bin/busybox sh /hooks/update-initramfs
CONF
	before=$(manifest "$hk")
	expect_exit 0 "apply vfio with hooks" "$IOMMUCTL" --root "$hk" --sysfs "$amd_sys" --procfs "$amd" -y apply vfio
	check "update-initramfs ran (inside the root)" test -f "$hk/hooks/ran-initramfs"
	check "update-grub ran (inside the root)" test -f "$hk/hooks/ran-grub"
	check "the hook saw only PATH and LC_ALL" test "$(grep -v '^PWD=\|^SHLVL=\|^_=' "$hk/hooks/env" | sort | tr '\n' ' ')" = "LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin "
	expect_exit 0 "show lists the hook runs" "$IOMMUCTL" --root "$hk" show 1
	contains "show has update-grub's output" "$out" "update-grub ran in / with PATH=/usr/sbin:/usr/bin:/sbin:/bin"
	# A rollback regenerates too: the initramfs keeps its own copy of modprobe.d and /etc/modules.
	rm -f "$hk/hooks/ran-initramfs" "$hk/hooks/ran-grub"
	expect_exit 0 "rollback runs the hooks too" "$IOMMUCTL" --root "$hk" --sysfs "$amd_sys" --procfs "$amd" rollback
	check "... update-initramfs ran after the rollback" test -f "$hk/hooks/ran-initramfs"
	check "... and update-grub" test -f "$hk/hooks/ran-grub"
	check "... recorded under the rollback transaction" \
		test "$(sql "$hk" "SELECT count(*) FROM hook_run h JOIN txn t ON t.id = h.txn WHERE t.kind = 'rollback' AND h.status = 0")" = 2
	check "every file is as before the apply" test "$(manifest "$hk")" = "$before"
	expect_exit 0 "apply again" "$IOMMUCTL" --root "$hk" --sysfs "$amd_sys" --procfs "$amd" -y apply vfio
	sed -i 's|^update-initramfs = .*|update-initramfs = /bin/busybox sh /hooks/fail|' "$hk/etc/iommuctl/iommuctl.conf"
	expect_exit 7 "a rollback whose hook fails: exit 7" "$IOMMUCTL" --root "$hk" --sysfs "$amd_sys" --procfs "$amd" rollback
	contains "... the files stay rolled back and the message says what to run" "$err" "run these by hand before rebooting"
	check "... the files are rolled back all the same" test "$(manifest "$hk" | grep -v iommuctl.conf)" = "$(echo "$before" | grep -v iommuctl.conf)"
	sed -i 's|^update-initramfs = .*|update-initramfs = /bin/busybox sh /hooks/update-initramfs|' "$hk/etc/iommuctl/iommuctl.conf"
	"$IOMMUCTL" --root "$hk" --sysfs "$amd_sys" --procfs "$amd" -y --no-hooks apply vfio >/dev/null 2>&1
	expect_exit 0 "rollback --no-hooks lists the hooks to run by hand" "$IOMMUCTL" --root "$hk" -y --no-hooks --sysfs "$amd_sys" --procfs "$amd" rollback
	contains "... names them" "$out" "hooks not run (--no-hooks)"
	sed -i 's|^update-initramfs = .*|update-initramfs = /bin/busybox sh /hooks/fail|' "$hk/etc/iommuctl/iommuctl.conf"
	before=$(manifest "$hk")
	expect_exit 7 "apply with a failing hook" "$IOMMUCTL" --root "$hk" --sysfs "$amd_sys" --procfs "$amd" -y apply vfio
	contains "the message names the hook and its status" "$err" "/bin/busybox sh /hooks/fail exited with status 3"
	contains "the hook's output is shown" "$err" "initramfs: out of space on /boot"
	check "every file is as before" test "$(manifest "$hk")" = "$before"
	check "the apply is marked failed" test "$(sql "$hk" "SELECT state FROM txn WHERE kind = 'apply' ORDER BY id DESC LIMIT 1")" = failed
	check "the journal keeps the hook's output" \
		test "$(sql "$hk" "SELECT count(*) FROM hook_run h JOIN txn t ON t.id = h.txn WHERE t.kind = 'apply' AND h.status = 3")" = 1
	expect_exit 0 "a snapshot agrees with the disk after the failed apply" "$IOMMUCTL" --root "$hk" snapshot
	sed -i 's|^update-initramfs = .*|frobnicate = yes|' "$hk/etc/iommuctl/iommuctl.conf"
	expect_exit 5 "an unknown key in iommuctl.conf" "$IOMMUCTL" --root "$hk" --sysfs "$amd_sys" --procfs "$amd" plan vfio
	contains "names the file and line" "$err" "/etc/iommuctl/iommuctl.conf:3: unknown key 'frobnicate'"
	# etckeeper: /etc's git history gets the state before and after each transaction.
	ek=$(new_root pve8-grub)
	mkdir -p "$ek/bin" "$ek/hooks" "$ek/etc/iommuctl" "$ek/etc/.etckeeper"
	cp /bin/busybox "$ek/bin/busybox"
	printf '#!/bin/busybox sh\necho "$*" >>/hooks/etckeeper.log\nexit 0\n' >"$ek/hooks/etckeeper"
	chmod 0755 "$ek/hooks/etckeeper"
	printf '[hooks]\netckeeper = /hooks/etckeeper\nupdate-grub = /bin/busybox true\nupdate-initramfs = /bin/busybox true\n' \
		>"$ek/etc/iommuctl/iommuctl.conf"
	expect_exit 0 "apply with etckeeper in the root" "$IOMMUCTL" --root "$ek" --sysfs "$amd_sys" --procfs "$amd" -y apply vfio
	expect_exit 0 "rollback with etckeeper in the root" "$IOMMUCTL" --root "$ek" --sysfs "$amd_sys" --procfs "$amd" rollback
	check "etckeeper committed before and after the apply and the rollback" test "$(cat "$ek/hooks/etckeeper.log")" = "unclean
commit saving uncommitted changes in /etc before iommuctl apply vfio
unclean
commit iommuctl apply vfio (transaction 1)
unclean
commit saving uncommitted changes in /etc before iommuctl rollback 1
unclean
commit iommuctl rollback of transaction 1 (transaction 2)"
	check "the commits after a transaction are in its hook runs" \
		test "$(sql "$ek" "SELECT count(*) FROM hook_run WHERE argv LIKE '%etckeeper commit iommuctl%'")" = 2
	rm -f "$ek/hooks/etckeeper.log"
	"$IOMMUCTL" --root "$ek" --sysfs "$amd_sys" --procfs "$amd" -y --no-hooks apply vfio >/dev/null 2>&1
	check "--no-hooks leaves etckeeper alone too" test ! -e "$ek/hooks/etckeeper.log"
else
	echo "# hooks: needs root and /bin/busybox (busybox-static); skipped"
fi

# A grub file the editor cannot follow is refused with file and line; nothing changes.
bad=$(new_root pve8-grub)
sed -i 's|^GRUB_CMDLINE_LINUX_DEFAULT="quiet"|GRUB_CMDLINE_LINUX_DEFAULT="quiet $(cat /etc/extra-args)"|' "$bad/etc/default/grub"
before=$(manifest "$bad")
expect_exit 5 "command substitution in the edited variable" "$IOMMUCTL" --root "$bad" --sysfs "$amd_sys" --procfs "$amd" -y apply iommu
contains "the refusal names file and line" "$err" "$bad/etc/default/grub:9:"
check "nothing changed" test "$(manifest "$bad")" = "$before"

# systemd-boot without GRUB: the one line of /etc/kernel/cmdline is edited.
sd=$(new_root pve8-zfs)
rm "$sd/etc/kernel/proxmox-boot-uuids"
expect_exit 0 "apply iommu on a systemd-boot root" "$IOMMUCTL" --root "$sd" --sysfs "$amd_sys" --procfs "$amd" --no-hooks -y apply iommu
check "/etc/kernel/cmdline got iommu=pt, one line" test "$(cat "$sd/etc/kernel/cmdline")" = "root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt"
contains "it warns that kernel-install must regenerate the entries" "$err" "kernel-install"

# A local profile including a built-in.
lp=$(new_root pve8-grub)
mkdir -p "$lp/etc/iommuctl/profiles"
cat >"$lp/etc/iommuctl/profiles/gpu2.conf" <<'INI'
[profile]
description = second NVIDIA card
include = nvidia

[kernel]
add = pcie_acs_override=downstream

[vfio-pci]
ids = 10de:1b80 10de:10f0
disable_vga = yes
INI
chmod 0644 "$lp/etc/iommuctl/profiles/gpu2.conf"
expect_exit 0 "profiles lists the local profile" "$IOMMUCTL" --root "$lp" profiles
contains "with its description" "$out" "second NVIDIA card"
expect_exit 0 "apply the local profile" "$IOMMUCTL" --root "$lp" --sysfs "$amd_sys" --procfs "$amd" --no-hooks -y apply gpu2
check "vfio-pci options written" test "$(cat "$lp/etc/modprobe.d/iommuctl-vfio.conf")" = "options vfio-pci ids=10de:1b80,10de:10f0 disable_vga=1"
value=$(grub_oracle "$lp")
check "sh sees iommu=pt and the ACS override once each ($value)" \
	test "$(count_word "$value" iommu=pt)$(count_word "$value" pcie_acs_override=downstream)" = 11
expect_exit 2 "an unknown profile" "$IOMMUCTL" --root "$lp" --sysfs "$amd_sys" --procfs "$amd" plan nosuch
# The IOMMU parameters follow the firmware's table, not the CPU: an Intel IOMMU (DMAR) behind
# QEMU's EPYC CPU model, captured from Debian's 6.1 kernel.
mixed=$FIXTURES/hw/q35-intel-iommu-epyc-6.1
mr=$(new_root pve8-grub)
expect_exit 0 "plan iommu: an Intel IOMMU behind an AMD CPU" "$IOMMUCTL" --root "$mr" --sysfs "$mixed/sys" --procfs "$mixed/proc" plan iommu
contains "it plans Intel's parameters" "$out" '+GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"'
contains "it says the DMAR table decided, not the CPU" "$out" "follow the firmware's DMAR table"
check "it says nothing of amd_iommu" eval '! grep -q amd_iommu <<<"$out"'
plan_late
