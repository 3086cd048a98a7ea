#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /sbin/init of the e2e root file system (busybox sh + kmod; run-e2e.sh installs it).
#
# It does the part of a Debian boot that decides who gets the GPU, then checks it:
#   1. coldplug: "modprobe -b MODALIAS" for every PCI function, as udev does for each "add"
#      event. Only PCI: a full coldplug (CPU, ACPI, platform, HDA codecs) costs a minute under
#      TCG and decides nothing here. This is where the race is: bochs-drm and snd_hda_intel want
#      the GPU's two functions, and only the "softdep ... pre: vfio-pci" lines iommuctl wrote
#      make vfio-pci load (and claim them) first;
#   2. systemd-modules-load: every module named in /etc/modules, with the blacklist applied;
#   3. "iommuctl verify" (--root / and the real /sys and /proc) with the arguments in
#      /e2e/verify-args, its --json and text output kept in /e2e, next to what the kernel itself
#      says (drivers of the PCI functions, /proc/cmdline, /proc/modules, the IOMMU classes,
#      IR- lines, dmesg), for run-e2e.sh to read back with debugfs after the power-off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
# kmod's modprobe is called by its path: busybox sh runs its own modprobe applet for a bare
# "modprobe", and that one ignores softdep and install lines.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -o remount,rw /
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /tmp /e2e

log() { echo "e2e-init: $*"; }
now() { read -r up _ </proc/uptime; echo "${up%.*}"; }
log "root mounted; started at $(now) s"
# What holds the cards' memory before any driver of the root's coldplug binds them: the firmware
# framebuffer (efifb under OVMF) sits inside the boot VGA's BAR until vfio-pci or a DRM driver
# removes it. The console-gpu scenario compares this with /proc/iomem after the coldplug.
cat /proc/iomem >/e2e/iomem-before.txt

for f in /sys/bus/pci/devices/*; do
	a=$(cat "$f/modalias")
	/sbin/modprobe -b -q "$a" 2>/dev/null || log "coldplug: no driver loaded for ${f##*/} ($a)"
done
log "coldplug finished at $(now) s"

# systemd-modules-load reads /etc/modules (via /etc/modules-load.d/modules.conf) and loads each
# module with libkmod's KMOD_PROBE_APPLY_BLACKLIST, which is "modprobe -b".
if [ -f /etc/modules ]; then
	while read -r m args; do
		case $m in '' | '#'*) continue ;; esac
		# shellcheck disable=SC2086 # module parameters are separate words
		/sbin/modprobe -b "$m" $args || log "modules-load: failed to insert $m"
	done </etc/modules
fi
log "modules loaded at $(now) s"

for f in /sys/bus/pci/devices/*; do
	drv=
	[ -e "$f/driver" ] && drv=$(readlink "$f/driver") && drv=${drv##*/}
	echo "${f##*/} ${drv:--}"
done >/e2e/drivers.txt
cat /proc/cmdline >/e2e/cmdline.txt
cat /proc/iomem >/e2e/iomem-after.txt
cat /proc/fb >/e2e/fb.txt 2>/dev/null
cat /proc/modules >/e2e/modules.txt
ls /sys/class/iommu >/e2e/iommu.txt 2>&1
grep -c 'IR-' /proc/interrupts >/e2e/ir-lines.txt
# shellcheck disable=SC2046 # the arguments are words
iommuctl --json verify $(cat /e2e/verify-args) >/e2e/verify.json 2>/e2e/verify.err
echo $? >/e2e/verify.rc
# shellcheck disable=SC2046
iommuctl verify $(cat /e2e/verify-args) >/e2e/verify.txt 2>&1
sed 's/^/e2e-init: verify: /' /e2e/verify.txt
# The console-gpu scenario also runs verify as an unprivileged user: /proc/iomem then shows every
# address as 0 (and no journal: --journal names none, the profile is named).
if [ -f /e2e/verify-as-nobody ]; then
	grep -q '^nobody:' /etc/passwd 2>/dev/null || echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/sh' >>/etc/passwd
	su -s /bin/sh nobody -c 'cat /proc/iomem' >/e2e/iomem-user.txt 2>&1
	su -s /bin/sh nobody -c "iommuctl --journal /nonexistent/journal.db --json verify $(cat /e2e/verify-args)" \
		>/e2e/verify-user.json 2>/e2e/verify-user.err
	echo $? >/e2e/verify-user.rc
fi
dmesg >/e2e/dmesg.txt
log "verify exit $(cat /e2e/verify.rc), done at $(now) s"
echo finished >/e2e/done
sync
mount -o remount,ro /
log "done"
poweroff -f
