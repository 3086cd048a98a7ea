#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0750 — the trial boot on sandbox roots (iommuctl(8), TRIAL BOOT): plan --trial; apply --trial
# on a GRUB root writes only the trial entry, grubenv and (once, journaled) the grub.d script, as
# GRUB's own tools read them; refused where GRUB cannot clear the one-shot (a fake grub-probe);
# the boot check passes and commits, or fails, reboots (a recording seam) and writes nothing;
# rollback cancels; --no-commit and commit; the first boot after a commit is checked and a
# failure rolls the commit back. Every managed file stays byte-identical until the commit.
. "$(dirname "$0")/test-lib.sh"

for tool in grub-editenv grub-script-check; do
	command -v $tool >/dev/null || { echo "1..0 # SKIP $tool (grub-common) is not installed"; exit 0; }
done
if [ ! -x /bin/busybox ] || [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP the hooks run chrooted with busybox: needs root and /bin/busybox"; exit 0
fi

# grub-probe's answers, by seam: GRUB writes grubenv on ext2/3/4 ("ext2") and FAT only. iommuctl
# runs it with the hooks' clean environment, so the fake reads its answers from files.
fake_fs() { echo "$1" >"$TEST_TMP/probe.fs"; echo "${2:-}" >"$TEST_TMP/probe.abs"; }
fake_fs ext2
cat >"$TEST_TMP/grub-probe" <<PROBE
#!/bin/sh
echo "\$*" >>"$TEST_TMP/probe.log"
case "\$1" in
--target=fs) cat "$TEST_TMP/probe.fs" ;;
--target=abstraction) cat "$TEST_TMP/probe.abs" ;;
*) exit 1 ;;
esac
PROBE
printf '#!/bin/sh\necho "$@" >>"%s/rebooted"\n' "$TEST_TMP" >"$TEST_TMP/reboot"
chmod +x "$TEST_TMP/grub-probe" "$TEST_TMP/reboot"
export IOMMUCTL_GRUB_PROBE=$TEST_TMP/grub-probe IOMMUCTL_REBOOT_COMMAND="$TEST_TMP/reboot --now"

# A Proxmox root with GRUB: Debian 12's grub.cfg, hooks chrooted with busybox. "update-grub"
# regenerates grub.cfg as grub-mkconfig would: the base file, then each /etc/grub.d script's output.
grub_root() {
	local r
	r=$(new_root pve8-grub)
	mkdir -p "$r/boot/grub" "$r/bin" "$r/hooks" "$r/etc/iommuctl" "$r/etc/grub.d"
	cp /bin/busybox "$r/bin/busybox"
	ln -s busybox "$r/bin/cat"
	cp "$FIXTURES/boot/debian12-grub.cfg" "$r/boot/grub/grub.cfg.base"
	cp "$FIXTURES/boot/debian12-grub.cfg" "$r/boot/grub/grub.cfg"
	grub-editenv "$r/boot/grub/grubenv" create
	printf '/bin/busybox cat /boot/grub/grub.cfg.base >/boot/grub/grub.cfg\nfor f in /etc/grub.d/*; do /bin/busybox sh "$f" >>/boot/grub/grub.cfg; done\necho grub >>/hooks/ran\n' >"$r/hooks/update-grub"
	printf 'echo initramfs >>/hooks/ran\n' >"$r/hooks/update-initramfs"
	printf '[hooks]\nupdate-grub = /bin/busybox sh /hooks/update-grub\nupdate-initramfs = /bin/busybox sh /hooks/update-initramfs\n' \
		>"$r/etc/iommuctl/iommuctl.conf"
	echo "$r"
}
# The managed files (and the rest of /etc) except what the trial installs once.
etc_state() { manifest "$1" | grep -v '45_iommuctl_trial'; }

# The machine: an AMD QEMU host captured with Debian 6.12; its procfs is copied so that each
# "boot" can have its own command line, boot id, modules and mounts.
hw=$TEST_TMP/hw
cp -a "$FIXTURES/hw/q35-amd-6.12" "$hw"
P=$hw/proc S=$hw/sys
mkdir -p "$P/sys/kernel/random"
echo "/dev/sda1 / ext4 rw,relatime 0 0" >"$P/mounts"
cp "$P/modules" "$TEST_TMP/modules.base"
# boot ID CMDLINE: a new boot with that id and command line, vfio modules loaded when the
# line or /etc/modules asks for them.
boot() {
	echo "$1" >"$P/sys/kernel/random/boot_id"
	echo "BOOT_IMAGE=/boot/vmlinuz-6.1.0-27-amd64 $2" >"$P/cmdline"
	cp "$TEST_TMP/modules.base" "$P/modules"
	case "$2" in *modules-load=*vfio*) printf 'vfio 1 0 - Live 0x0\nvfio_iommu_type1 1 0 - Live 0x0\nvfio_pci 1 0 - Live 0x0\n' >>"$P/modules" ;; esac
	[ -z "${3:-}" ] || printf 'vfio 1 0 - Live 0x0\nvfio_iommu_type1 1 0 - Live 0x0\nvfio_pci 1 0 - Live 0x0\n' >>"$P/modules"
}
net() { rm -rf "$S/class/net/vmbr0"; mkdir -p "$S/class/net/vmbr0"; echo "$1" >"$S/class/net/vmbr0/operstate"; }
ic() { "$IOMMUCTL" --root "$root" --sysfs "$S" --procfs "$P" "$@"; }
# The entry GRUB would boot: the trial file's linux line, after the kernel image.
trial_args() { sed -n 's/^\tlinux\t[^ ]* //p' "$root/boot/grub/iommuctl-trial.cfg"; }
boot 11111111-1111-1111-1111-111111111111 "root=UUID=2d6d ro quiet"
net up

# ---- plan --trial ----
root=$(grub_root)
pristine=$(etc_state "$root")
expect_exit 0 "plan --trial vfio" ic plan --trial vfio
contains "it shows the trial's command line, with the marker" "$out" \
	"iommu=pt modules-load=vfio,vfio_iommu_type1,vfio_pci iommuctl.trial=TXN panic=10"
contains "it says what the trial cannot exercise" "$out" "the initramfs: commit runs update-initramfs"
contains "it says where the one-shot lives" "$out" "one-shot: GRUB next_entry in /boot/grub/grubenv (ext2)"
expect_exit 0 "plan --trial --json" ic --json plan --trial vfio
check "plan --json has the trial object" json_check "$TEST_TMP/.out" \
	'd["trial"]["cmdline_add"].endswith("iommuctl.trial=TXN panic=10") and d["trial"]["oneshot"].startswith("GRUB next_entry") and d["trial"]["refused"] is None and len(d["trial"]["unexercised"]) == 1'
check "plan --trial changed nothing" test "$(etc_state "$root")" = "$pristine"
check "and made no journal" test ! -e "$root/var"

# ---- refused where GRUB cannot clear the one-shot ----
fake_fs btrfs
expect_exit 3 "apply --trial with /boot/grub on btrfs is refused" ic -y apply --trial vfio
contains "the refusal says why" "$err" "/boot/grub holds GRUB's environment block (/boot/grub/grubenv) on btrfs"
contains "... and what to do" "$err" "iommuctl apply PROFILE"
check "grub-probe was asked about <root>/boot/grub" grep -qx -- "--target=fs $root/boot/grub" "$TEST_TMP/probe.log"
fake_fs ext2 lvm
expect_exit 3 "apply --trial --json with /boot/grub on LVM is refused" ic --json -y apply --trial vfio
contains "the refusal names the LVM layer" "$err" "ext2 over lvm"
fake_fs btrfs
expect_exit 3 "plan --trial exits 3 where apply --trial would refuse" ic plan --trial vfio
contains "... and says why" "$out" "apply --trial would refuse: no trial boot on this host"
fake_fs ext2
check "nothing was written after the refusals" test "$(etc_state "$root")" = "$pristine" -a ! -e "$root/etc/grub.d/45_iommuctl_trial"
check "grubenv is untouched" test "$(grub-editenv "$root/boot/grub/grubenv" list)" = ""

# GRUB on ESPs that proxmox-boot-tool manages (a ZFS root on BIOS): grubenv is on unmounted ESPs.
zfs=$(new_root pve8-zfs)
zfs_before=$(manifest "$zfs")
expect_exit 3 "apply --trial on a proxmox-boot-tool GRUB host is refused" \
	"$IOMMUCTL" --root "$zfs" --sysfs "$S" --procfs "$P" -y apply --trial vfio
contains "... because grubenv lives on the unmounted ESPs" "$err" "its grubenv and grub.cfg live on each ESP, which is not mounted"
check "... and nothing under /etc changed" test "$(manifest "$zfs")" = "$zfs_before"

# ---- apply --trial on a GRUB root ----
cfg_before=$(sha256sum <"$root/boot/grub/grub.cfg.base")
expect_exit 0 "apply --trial vfio" ic -y apply --trial vfio
contains "it names the trial transaction" "$out" "trial of profile vfio armed as transaction 2; no managed file changed"
contains "it says what happens next" "$out" "next: reboot. Only the next boot runs the trial"
contains "it says what the trial does not exercise" "$out" "not exercised by the trial:"
check "every managed file is byte-identical" test "$(etc_state "$root")" = "$pristine"
check "the grub.d script is installed, executable" test -x "$root/etc/grub.d/45_iommuctl_trial"
check "... journaled as its own transaction (1)" test "$(sql "$root" "SELECT txn || ' ' || after_mode FROM file_change WHERE path = '/etc/grub.d/45_iommuctl_trial'")" = "1 493"
check "... and update-grub ran once for it" test "$(grep -c grub "$root/hooks/ran")" = 1
check "the generated grub.cfg sources the trial file after 10_linux" \
	sh -c "grep -n 'source \"\$prefix/iommuctl-trial.cfg\"' '$root/boot/grub/grub.cfg' | cut -d: -f1 | xargs test \$(grep -n 'END /etc/grub.d/10_linux' '$root/boot/grub/grub.cfg' | cut -d: -f1) -lt"
check "grub-script-check accepts grub.cfg" grub-script-check "$root/boot/grub/grub.cfg"
check "grub-script-check accepts the trial file" grub-script-check "$root/boot/grub/iommuctl-trial.cfg"
check "the trial entry has --id iommuctl-trial" grep -q "^menuentry 'iommuctl trial 2 (Debian GNU/Linux)' --id iommuctl-trial {$" "$root/boot/grub/iommuctl-trial.cfg"
check "its linux line is the default entry's with the trial's additions" \
	test "$(trial_args)" = "root=UUID=2d6d8f5c-7a3e-4a8e-9a57-1c3f6b0e9d11 ro  quiet iommu=pt modules-load=vfio,vfio_iommu_type1,vfio_pci iommuctl.trial=2 panic=10"
check "it keeps the default entry's search and initrd lines" sh -c \
	"grep -q 'search --no-floppy --fs-uuid --set=root 2d6d8f5c' '$root/boot/grub/iommuctl-trial.cfg' && grep -q 'initrd	/boot/initrd.img-6.1.0-27-amd64' '$root/boot/grub/iommuctl-trial.cfg'"
check "grub-editenv reads next_entry=iommuctl-trial from grubenv" test "$(grub-editenv "$root/boot/grub/grubenv" list)" = "next_entry=iommuctl-trial"
check "grubenv is still 1024 bytes" test "$(stat -c %s "$root/boot/grub/grubenv")" = 1024
check "the fallback entries are untouched (grub.cfg = base + the script's block)" test "$(head -c "$(stat -c %s "$root/boot/grub/grub.cfg.base")" "$root/boot/grub/grub.cfg" | sha256sum)" = "$cfg_before"
check "nothing with \$ or the trial went into /etc/default/grub" sh -c "! grep -q 'iommuctl' '$root/etc/default/grub'"
expect_exit 3 "a second apply --trial while one is armed is refused" ic -y apply --trial vfio
contains "... naming the armed trial and the way out" "$err" "trial 2 is armed and not booted yet"
expect_exit 0 "history shows the armed trial" ic history
check "... as kind trial, state armed" sh -c "echo \"$out\" | grep -Eq '^ *2 +trial +armed '"
expect_exit 0 "history --json" ic --json history
check "history --json has the trial object" json_check "$TEST_TMP/.out" \
	'd[0]["kind"] == "trial" and d[0]["trial"]["state"] == "armed" and d[0]["trial"]["entry_id"] == "iommuctl-trial" and d[0]["trial"]["files"] == ["/boot/grub/iommuctl-trial.cfg", "/boot/grub/grubenv"]'

# ---- rollback cancels an uncommitted trial ----
expect_exit 0 "rollback cancels the armed trial" ic rollback
contains "it says so" "$out" "cancelled trial 2: its boot entry and one-shot are removed"
check "the trial file is gone" test ! -e "$root/boot/grub/iommuctl-trial.cfg"
check "next_entry is gone from grubenv" test "$(grub-editenv "$root/boot/grub/grubenv" list)" = ""
check "the managed files are as before" test "$(etc_state "$root")" = "$pristine"
expect_exit 0 "show 2 --json" ic --json show 2
check "show says cancelled" json_check "$TEST_TMP/.out" 'd["kind"] == "trial" and d["state"] == "rolled-back" and d["trial"]["state"] == "cancelled"'

# ---- a trial that passes its boot check is committed ----
expect_exit 0 "apply --trial --json" ic --json -y apply --trial vfio
check "apply --trial --json: txn 3, no file changed, the trial armed" json_check "$TEST_TMP/.out" \
	'd["txn"] == 3 and d["changed"] is False and d["files"] == [] and d["trial"]["state"] == "armed" and d["script_txn"] is None'
check "the script was not installed twice" test "$(grep -c grub "$root/hooks/ran")" = 1
# GRUB clears next_entry as it boots the trial entry (00_header: set next_entry=; save_env).
grub-editenv "$root/boot/grub/grubenv" unset next_entry
boot 22222222-2222-2222-2222-222222222222 "$(trial_args)"
expect_exit 0 "boot-check in the trial boot" ic boot-check
contains "it lists its checks" "$out" "ok   trial-cmdline the booted command line has the trial's 4 additions"
contains "... the NIC" "$out" "ok   network       vmbr0, the default route's interface, is up"
contains "it commits" "$out" "trial 3 passed and is committed as transaction 4"
check "no reboot was asked for" test ! -e "$TEST_TMP/rebooted"
check "/etc/modules now has the vfio modules" test "$(grep -c '^vfio' "$root/etc/modules")" = 3
check "/etc/default/grub has iommu=pt" grep -q 'GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=pt"' "$root/etc/default/grub"
check "the commit ran update-initramfs and update-grub" test "$(tr '\n' ' ' <"$root/hooks/ran")" = "grub initramfs grub "
check "the trial file is removed" test ! -e "$root/boot/grub/iommuctl-trial.cfg"
expect_exit 0 "show 4 --json (the commit)" ic --json show 4
check "it is an apply, the commit of trial 3, with the planned files" json_check "$TEST_TMP/.out" \
	'd["kind"] == "apply" and d["commit_of_trial"] == 3 and [f["path"] for f in d["files"]] == ["/etc/default/grub", "/etc/modules"]'
expect_exit 0 "show 3" ic show 3
contains "show tells the outcome" "$out" "outcome: boot check passed (7 checks)"
contains "... and the commit" "$out" "committed as transaction 4"
committed=$(etc_state "$root")

# The same boot again (the unit runs once per boot; by hand it must not judge the old initramfs).
expect_exit 0 "boot-check again in the boot that committed" ic boot-check
contains "it checks nothing" "$out" "nothing to check"
# The first boot after the commit: no marker, the committed files.
boot 33333333-3333-3333-3333-333333333333 "root=UUID=2d6d ro quiet iommu=pt" modules
expect_exit 0 "boot-check --json in the first boot after the commit" ic --json boot-check
check "it checks the first boot and passes" json_check "$TEST_TMP/.out" \
	'd["check"] == "first-boot" and d["ok"] and d["trial"] == 3 and not any(c["id"] == "trial-cmdline" for c in d["checks"])'
expect_exit 0 "boot-check in the next boot" ic boot-check
contains "nothing is left to check" "$out" "nothing to check: this is no trial boot"
expect_exit 0 "history --json after the commit" ic --json history
check "the trial is committed, its first boot passed" json_check "$TEST_TMP/.out" \
	'(lambda t: t["state"] == "committed" and t["commit_txn"] == 4 and t["first_boot"]["ok"] and t["first_boot"]["boot_id"] == "33333333-3333-3333-3333-333333333333")([x for x in d if x["id"] == 3][0]["trial"])'

# ---- a trial that fails its boot check: reboot, nothing written ----
root=$(grub_root)
pristine=$(etc_state "$root")
boot 44444444-4444-4444-4444-444444444444 "root=UUID=2d6d ro quiet"
expect_exit 0 "apply --trial vfio (second root)" ic -y apply --trial vfio
grub-editenv "$root/boot/grub/grubenv" unset next_entry
boot 55555555-5555-5555-5555-555555555555 "$(trial_args)"
net down
expect_exit 1 "boot-check: the NIC is down in the trial boot" ic boot-check
contains "it names the failed check" "$out" "FAIL network       vmbr0, the default route's interface, is down"
check "the reboot seam was called" test "$(cat "$TEST_TMP/rebooted" 2>/dev/null)" = "--now"
contains "it says why it reboots" "$err" "the trial boot failed its check; the next boot runs the old configuration"
check "no managed file was written" test "$(etc_state "$root")" = "$pristine"
check "the trial file is removed" test ! -e "$root/boot/grub/iommuctl-trial.cfg"
check "update-initramfs never ran" sh -c "! grep -q initramfs '$root/hooks/ran'"
expect_exit 0 "history after the failed trial" ic history
check "history says failed, with the reason" sh -c "echo \"$out\" | grep -Eq '^ *2 +trial +failed .*boot check failed: vmbr0, the default route.s interface, is down'"
expect_exit 0 "history --json after the failed trial" ic --json history
check "history --json: the trial failed, its txn failed, checked in boot 5555…" json_check "$TEST_TMP/.out" \
	'd[0]["state"] == "failed" and d[0]["trial"]["state"] == "failed" and d[0]["trial"]["boot_id"].startswith("55555555") and d[0]["trial"]["checked_at"]'
expect_exit 3 "commit of a failed trial is refused" ic commit 2
contains "... saying why" "$err" "trial 2 failed its boot check"
net up
rm -f "$TEST_TMP/rebooted"
boot 66666666-6666-6666-6666-666666666666 "root=UUID=2d6d ro quiet"
expect_exit 0 "the next (old) boot has nothing to check" ic --json boot-check
check "... and says so in JSON" json_check "$TEST_TMP/.out" 'd["check"] == "none" and d["ok"]'

# ---- --no-commit, then commit ----
expect_exit 0 "apply --trial --no-commit" ic -y apply --trial --no-commit vfio
contains "it says commit is left to the user" "$out" "iommuctl commit"
expect_exit 3 "commit before the trial booted is refused" ic commit
contains "... saying reboot first" "$err" "has not been booted yet"
grub-editenv "$root/boot/grub/grubenv" unset next_entry
boot 77777777-7777-7777-7777-777777777777 "$(trial_args)"
expect_exit 0 "boot-check --json of the --no-commit trial" ic --json boot-check
check "it passes and commits nothing" json_check "$TEST_TMP/.out" 'd["check"] == "trial" and d["ok"] and d["txn"] is None'
check "no managed file was written" test "$(etc_state "$root")" = "$pristine"
check "the trial entry is removed all the same" test ! -e "$root/boot/grub/iommuctl-trial.cfg"
expect_exit 0 "commit --json" ic --json commit
check "commit --json: an apply transaction with the planned files, the trial committed" json_check "$TEST_TMP/.out" \
	'd["txn"] == 4 and d["changed"] and d["files"] == ["/etc/default/grub", "/etc/modules"] and d["trial"]["state"] == "committed" and d["trial"]["commit_txn"] == 4'
check "the files hold the profile now" test "$(grep -c '^vfio' "$root/etc/modules")" = 3
expect_exit 0 "commit again" ic commit
contains "... changes nothing" "$out" "is committed already"

# ---- the first boot after a commit fails: rolled back and rebooted ----
boot 88888888-8888-8888-8888-888888888888 "root=UUID=2d6d ro quiet iommu=pt" modules
net down
expect_exit 1 "boot-check: the first boot after the commit loses the NIC" ic boot-check
contains "it names the failed check" "$out" "FAIL network"
contains "it rolls the commit back" "$out" "rolled back transaction 4 as transaction 5"
check "the reboot seam was called" test "$(cat "$TEST_TMP/rebooted" 2>/dev/null)" = "--now"
check "every managed file is as before the trial" test "$(etc_state "$root")" = "$pristine"
check "the rollback ran the hooks" test "$(tail -n 2 "$root/hooks/ran" | tr '\n' ' ')" = "initramfs grub "
expect_exit 0 "show 3 --json (the trial)" ic --json show 3
check "show: first boot failed, rolled back by 5" json_check "$TEST_TMP/.out" \
	'd["trial"]["first_boot"]["ok"] is False and d["trial"]["first_boot"]["rollback_txn"] == 5 and "vmbr0" in d["trial"]["first_boot"]["outcome"]'
expect_exit 0 "show 5" ic show 5
contains "the rollback says why" "$out" "first boot after the commit failed its check"
net up

# ---- a trial boot that never reaches its check (a panic, emergency mode, a power cycle) ----
rm -f "$TEST_TMP/rebooted"
boot 99999999-9999-9999-9999-999999999999 "root=UUID=2d6d ro quiet"
expect_exit 0 "apply --trial once more" ic -y apply --trial vfio
expect_exit 0 "boot-check in the boot that armed it: the trial is not booted yet" ic boot-check
check "... it stays armed" test "$(sql "$root" 'SELECT state FROM trial WHERE txn = 6')" = armed
# GRUB booted the trial entry, which panicked; panic=10 rebooted into the default entry.
grub-editenv "$root/boot/grub/grubenv" unset next_entry
boot aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa "root=UUID=2d6d ro quiet"
expect_exit 0 "boot-check --json in the old boot after it" ic --json boot-check
check "it records the trial as failed, lost before its check" json_check "$TEST_TMP/.out" \
	'd["check"] == "lost-trial" and d["trial"] == 6 and not d["ok"] and "did not reach its check" in d["outcome"]'
check "no reboot: this boot is the old configuration" test ! -e "$TEST_TMP/rebooted"
check "the trial file is removed" test ! -e "$root/boot/grub/iommuctl-trial.cfg"
check "the managed files are as before" test "$(etc_state "$root")" = "$pristine"
expect_exit 0 "history" ic history
check "history says failed" sh -c "echo \"$out\" | grep -Eq '^ *6 +trial +failed .*did not reach its check'"
# ---- the checks of what a trial binds: vfio-pci.ids=, iommuctl.bind=, modprobe.blacklist= ----
# A local profile that gives the ICH9 audio function (8086:293e, 0000:00:1b.0) to vfio-pci. Its
# driver has a softdep, so the trial binds the targets by address too. Safety blocks it (the
# host's own sound), hence --force.
root=$(grub_root)
mkdir -p "$root/etc/iommuctl/profiles"
printf '[profile]\ndescription = audio to vfio-pci\n[blacklist]\nadd = snd_hda_intel\n[vfio-pci]\nids = 8086:293e\n' \
	>"$root/etc/iommuctl/profiles/audio.conf"
boot bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb "root=UUID=2d6d ro quiet"
expect_exit 0 "apply --trial --force audio" ic --force -y apply --trial audio
line=" $(trial_args) "
check "the trial line carries the blacklist, the ids and the addresses" \
	eval 'case "$line" in *" modprobe.blacklist=snd_hda_intel vfio-pci.ids=8086:293e iommuctl.bind=0000:00:1b.0,0000:01:00.1 "*) true ;; *) false ;; esac'
grub-editenv "$root/boot/grub/grubenv" unset next_entry
boot cccccccc-cccc-cccc-cccc-cccccccccccc "$(trial_args)"
rm -f "$TEST_TMP/rebooted"
expect_exit 1 "boot-check: snd_hda_intel still has the audio function" ic boot-check
contains "the blacklist check fails" "$out" "FAIL blacklist     blacklisted snd_hda_intel drives 0000:00:1b.0 anyway"
contains "the by-address check fails" "$out" "FAIL vfio-bind     0000:00:1b.0 (8086:293e) is on snd_hda_intel"
check "it rebooted" test -e "$TEST_TMP/rebooted"
# The same trial where vfio-pci won the function: it passes.
expect_exit 0 "cancel what is left (nothing: the trial failed)" ic rollback
boot dddddddd-dddd-dddd-dddd-dddddddddddd "root=UUID=2d6d ro quiet"
expect_exit 0 "apply --trial --force audio again" ic --force -y apply --trial audio
grub-editenv "$root/boot/grub/grubenv" unset next_entry
boot eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee "$(trial_args)"
mkdir -p "$S/bus/pci/drivers/vfio-pci"
# The same depth as the links they replace (0000:01:00.1 sits behind a bridge).
ln -sfn ../../../bus/pci/drivers/vfio-pci "$S/bus/pci/devices/0000:00:1b.0/driver"
ln -sfn ../../../../bus/pci/drivers/vfio-pci "$S/bus/pci/devices/0000:01:00.1/driver"
expect_exit 0 "boot-check --json: the audio function is on vfio-pci" ic --json boot-check
check "the vfio checks pass and the trial is committed" json_check "$TEST_TMP/.out" \
	'd["ok"] and d["txn"] and any(c["id"] == "vfio-bind" and c["ok"] and "0000:00:1b.0" in c["message"] for c in d["checks"]) and any(c["id"] == "blacklist" and c["ok"] for c in d["checks"])'
check "the committed files have the ids and the softdep" grep -q '^options vfio-pci ids=8086:293e$' "$root/etc/modprobe.d/iommuctl-vfio.conf"
plan_late
