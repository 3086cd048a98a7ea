#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0755 — what the trial boot installs on the host (data/): the boot check's unit and the
# emergency/rescue drop-in pass systemd-analyze verify; the udev helper hands a listed function
# to vfio-pci in the order Documentation/ABI/testing/sysfs-bus-pci asks (driver_override, unbind,
# drivers_probe) and leaves others alone; trial-reboot reboots only trial boots; the
# initramfs-tools hook declares udev as its prerequisite and copies the rule and helper.
. "$(dirname "$0")/test-lib.sh"
: "${DATA_BUILDDIR:?}"
DATA="$SRCDIR/data"

# ---- systemd units ----
if command -v systemd-analyze >/dev/null; then
	u=$TEST_TMP/units
	mkdir -p "$u"
	# The installed paths do not exist here: point them at the build and the source tree.
	sed "s|^ExecStart=.*/iommuctl |ExecStart=$IOMMUCTL |; s|^ExecStopPost=.*/trial-reboot|ExecStopPost=$DATA/systemd/trial-reboot|" \
		"$DATA_BUILDDIR/systemd/iommuctl-boot-check.service" >"$u/iommuctl-boot-check.service"
	run_cmd systemd-analyze verify --man=no "$u/iommuctl-boot-check.service"
	check "systemd-analyze verify accepts iommuctl-boot-check.service" test "$rc" = 0 -a -z "$err"
	[ -z "$err" ] || diag "$err"
	sed 's/^TimeoutStartSec=.*/TimeoutStartSec=banana/' "$u/iommuctl-boot-check.service" >"$u/broken.service"
	run_cmd systemd-analyze verify --man=no "$u/broken.service"
	contains "... and the oracle can fail: it names a bad TimeoutStartSec=" "$err" "TimeoutStartSec"
	unit=$u/iommuctl-boot-check.service
	check "the unit is Type=oneshot with an explicit TimeoutStartSec=" \
		sh -c "grep -qx 'Type=oneshot' '$unit' && grep -q '^TimeoutStartSec=[0-9]' '$unit'"
	check "it has its own WantedBy= and RequiredBy=/Before= boot-complete.target" \
		sh -c "grep -qx 'WantedBy=multi-user.target' '$unit' && grep -qx 'RequiredBy=boot-complete.target' '$unit' && grep -qx 'Before=boot-complete.target' '$unit'"
	check "it runs after the network is online and local file systems are mounted" \
		sh -c "grep -q '^After=.*local-fs.target' '$unit' && grep -q '^After=.*network-online.target' '$unit' && grep -qx 'Wants=network-online.target' '$unit'"
	# A drop-in adds its lines to the unit: emergency.service with it appended must verify too.
	if [ -e /lib/systemd/system/emergency.service ]; then
		for s in emergency rescue; do
			{ cat "/lib/systemd/system/$s.service"; echo
			  sed "s|^ExecStartPre=-.*/trial-reboot|ExecStartPre=-$DATA/systemd/trial-reboot|" "$DATA_BUILDDIR/systemd/iommuctl-trial.conf"
			} >"$u/$s.service"
			run_cmd systemd-analyze verify --man=no "$u/$s.service"
			check "$s.service with the drop-in passes systemd-analyze verify" test "$rc" = 0 -a -z "$err"
			[ -z "$err" ] || diag "$err"
		done
	else
		skip "no /lib/systemd/system/emergency.service to verify the drop-in against"
		skip "no /lib/systemd/system/rescue.service to verify the drop-in against"
	fi
else
	for i in 1 2 3 4 5 6 7; do skip "systemd-analyze is not installed"; done
fi
check "the drop-in runs trial-reboot before sulogin, ignoring its failure" \
	grep -qx 'ExecStartPre=-.*/trial-reboot emergency' "$DATA_BUILDDIR/systemd/iommuctl-trial.conf"

# ---- trial-reboot ----
p=$TEST_TMP/proc
mkdir -p "$p"
printf '#!/bin/sh\necho "$@" >>%s/rebooted\n' "$TEST_TMP" >"$TEST_TMP/reboot"
chmod +x "$TEST_TMP/reboot"
tr_run() { IOMMUCTL_PROCFS=$p IOMMUCTL_REBOOT_COMMAND="$TEST_TMP/reboot --now" "$@"; }
echo "root=/dev/sda1 ro quiet" >"$p/cmdline"
rm -f "$TEST_TMP/rebooted"
tr_run "$DATA/systemd/trial-reboot" emergency
check "emergency outside a trial boot: no reboot" test ! -e "$TEST_TMP/rebooted"
echo "root=/dev/sda1 ro quiet iommuctl.trial=7 panic=10" >"$p/cmdline"
tr_run env SERVICE_RESULT=success "$DATA/systemd/trial-reboot" boot-check
check "a boot check that succeeded: no reboot" test ! -e "$TEST_TMP/rebooted"
run_cmd tr_run env SERVICE_RESULT=timeout "$DATA/systemd/trial-reboot" boot-check
check "a boot check that timed out in a trial boot reboots" test "$(cat "$TEST_TMP/rebooted" 2>/dev/null)" = "--now"
contains "... and says why" "$err" "the boot check could not finish (timeout)"
rm -f "$TEST_TMP/rebooted"
run_cmd tr_run "$DATA/systemd/trial-reboot" emergency
check "emergency mode in a trial boot reboots" test -e "$TEST_TMP/rebooted"
contains "... and says so" "$err" "emergency or rescue mode"

# ---- trial-bind on a fake sysfs ----
# A function already taken by snd_hda_intel: unbind and drivers_probe are plain files here, so
# what the helper wrote, and in which order, can be read back.
s=$TEST_TMP/sys
mkdir -p "$s/bus/pci/drivers/snd_hda_intel" "$s/bus/pci/drivers/vfio-pci"
for a in 0000:01:00.0 0000:01:00.1 0000:02:00.0; do
	mkdir -p "$s/bus/pci/devices/$a"
	: >"$s/bus/pci/devices/$a/driver_override"
done
ln -s ../../drivers/snd_hda_intel "$s/bus/pci/devices/0000:01:00.1/driver"
ln -s ../../drivers/vfio-pci "$s/bus/pci/devices/0000:02:00.0/driver"
: >"$s/bus/pci/drivers/snd_hda_intel/unbind"
: >"$s/bus/pci/drivers_probe"
echo "BOOT_IMAGE=/vmlinuz ro iommuctl.bind=0000:01:00.0,0000:01:00.1,0000:02:00.0 iommuctl.trial=3" >"$p/cmdline"
tb() { IOMMUCTL_SYSFS=$s IOMMUCTL_PROCFS=$p "$DATA/udev/trial-bind" "$1"; }
tb 0000:01:00.0
check "an unbound listed function gets driver_override=vfio-pci" test "$(cat "$s/bus/pci/devices/0000:01:00.0/driver_override")" = vfio-pci
check "... and is probed again" test "$(cat "$s/bus/pci/drivers_probe")" = 0000:01:00.0
: >"$s/bus/pci/drivers_probe"
tb 0000:01:00.1
check "a function snd_hda_intel took is unbound from it" test "$(cat "$s/bus/pci/drivers/snd_hda_intel/unbind")" = 0000:01:00.1
check "... overridden and probed" test "$(cat "$s/bus/pci/devices/0000:01:00.1/driver_override") $(cat "$s/bus/pci/drivers_probe")" = "vfio-pci 0000:01:00.1"
: >"$s/bus/pci/drivers_probe"
tb 0000:02:00.0
check "a function on vfio-pci already is left bound (no probe)" test -z "$(cat "$s/bus/pci/drivers_probe")"
mkdir -p "$s/bus/pci/devices/0000:03:00.0"
: >"$s/bus/pci/devices/0000:03:00.0/driver_override"
tb 0000:03:00.0
check "a function not on iommuctl.bind= is left alone" test -z "$(cat "$s/bus/pci/devices/0000:03:00.0/driver_override")"
echo "ro iommuctl.trial=3 -- iommuctl.bind=0000:03:00.0" >"$p/cmdline"
tb 0000:03:00.0
check "iommuctl.bind= after '--' is init's, not a binding" test -z "$(cat "$s/bus/pci/devices/0000:03:00.0/driver_override")"

# ---- udev rule and initramfs hook ----
rule=$DATA_BUILDDIR/udev/40-iommuctl-trial.rules
check "the rule imports iommuctl.bind from the command line and runs trial-bind for PCI adds" \
	sh -c "grep -qx 'IMPORT{cmdline}=\"iommuctl.bind\"' '$rule' && grep -q '^RUN+=\".*/trial-bind \$kernel\"' '$rule' && grep -qx 'SUBSYSTEM!=\"pci\", GOTO=\"iommuctl_trial_end\"' '$rule'"
check "the rule sorts before 80-drivers.rules (the modalias load)" test "$(printf '%s\n' 40-iommuctl-trial.rules 80-drivers.rules | sort | head -1)" = 40-iommuctl-trial.rules
hook=$DATA_BUILDDIR/initramfs-tools/iommuctl
check "the initramfs hook is valid sh" sh -n "$hook"
check "its prerequisite is the udev hook" test "$(sh "$hook" prereqs)" = udev
check "it copies the rule and trial-bind" sh -c "grep -q 'cp -p \"\$rule\" \"\$DESTDIR/lib/udev/rules.d/\"' '$hook' && grep -q 'trial-bind' '$hook'"
if [ -e /usr/share/initramfs-tools/hooks/udev ]; then
	check "Debian's udev hook copies a fixed list of rules (so ours needs its own hook)" \
		grep -q 'for rules in 50-firmware.rules' /usr/share/initramfs-tools/hooks/udev
else
	skip "no /usr/share/initramfs-tools/hooks/udev here"
fi
plan_late
