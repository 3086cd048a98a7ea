#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# guest-step.sh — runs inside the whole-system guest of trial-system.sh, from two units the test
# installs: "record" (e2e-record.service, before iommuctl's boot check: what this boot is) and
# "act" (e2e-act.service, after the boot check: its outcome, then the next step of the scenario).
# Everything goes to the 9p share mounted on /e2e: /e2e/out/boot-N/ for boot N (counted here),
# /e2e/in/step-N.sh is what to do at the end of boot N (sourced; none: power off).
# Must not: decide pass or fail (the host's test does), or change anything the boot check reads.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
out=/e2e/out
mode=$1

if ! mountpoint -q /e2e; then
	echo "e2e: /e2e (9p) is not mounted: nothing can be recorded" >/dev/console
	[ "$mode" = act ] && systemctl poweroff
	exit 1
fi

if [ "$mode" = record ]; then
	n=$(($(cat "$out/boots" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$out/boots"
	d=$out/boot-$n
	mkdir -p "$d"
	cat /proc/cmdline >"$d/cmdline"
	grub-editenv /boot/grub/grubenv list >"$d/grubenv" 2>&1
	date +%s >"$d/t-record"
	cut -d. -f1 /proc/uptime >"$d/uptime-record"
	echo "e2e: boot $n recorded: $(cat /proc/cmdline)" >/dev/console
	sync
	exit 0
fi

n=$(cat "$out/boots")
d=$out/boot-$n
date +%s >"$d/t-act"
unit=iommuctl-boot-check.service
systemctl show "$unit" -p LoadState,ActiveState,SubState,Result,ExecMainStatus >"$d/check.show" 2>&1
journalctl -b -o short-monotonic --no-pager -u "$unit" >"$d/check.journal" 2>&1
journalctl -b -o short-monotonic --no-pager -u emergency.service -u rescue.service >"$d/emergency.journal" 2>&1
systemctl is-system-running >"$d/system-state" 2>&1
systemctl --failed --no-legend --plain >"$d/failed-units" 2>&1
# Seconds since the kernel started: when the initramfs ran, when systemd started on the root, now.
{
	echo "initrd=$(($(systemctl show -P InitRDTimestampMonotonic) / 1000000))"
	echo "userspace=$(($(systemctl show -P UserspaceTimestampMonotonic) / 1000000))"
	echo "act=$(cut -d. -f1 /proc/uptime)"
} >"$d/times"
grub-editenv /boot/grub/grubenv list >"$d/grubenv-act" 2>&1
ip -o route show default >"$d/route" 2>&1
for f in /sys/bus/pci/devices/*; do
	drv=-
	[ -e "$f/driver" ] && drv=$(basename "$(readlink "$f/driver")")
	echo "${f##*/} $drv"
done >"$d/drivers"
lsmod >"$d/lsmod" 2>&1
cp /boot/grub/grub.cfg "$d/grub.cfg"
# What the initramfs carries of iommuctl's: modprobe.d (update-initramfs copies it), the trial's
# udev rule and helper (hooks/iommuctl).
lsinitramfs /boot/initrd.img-"$(uname -r)" | grep -E 'modprobe\.d/|iommuctl' >"$d/initrd-list" 2>&1
iommuctl history --json >"$d/history.json" 2>"$d/history.err"
echo $? >"$d/history.rc"
# The files a trial must not touch, hashed as the boot sees them.
{
	sha256sum /etc/default/grub /etc/modules /boot/grub/grub.cfg /boot/initrd.img-* 2>&1
	find /etc/modprobe.d /etc/default/grub.d /etc/modules-load.d -type f -exec sha256sum {} + 2>/dev/null | sort -k2
} >"$d/files.sha256"
sync
if [ -f "/e2e/in/step-$n.sh" ]; then
	echo "e2e: boot $n: running step-$n.sh" >/dev/console
	# shellcheck disable=SC1090
	. "/e2e/in/step-$n.sh" >"$d/step.log" 2>&1
	echo $? >"$d/step.rc"
	sync
else
	echo "e2e: boot $n: no step-$n.sh, powering off" >/dev/console
	systemctl poweroff
fi
