#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /sbin/init of the trial-boot guests (busybox sh, kmod, systemd-udevd; trial-boot.sh installs it).
#
# It does, in systemd's order, the part of a Debian boot that the trial depends on, then runs
# iommuctl's boot check where iommuctl-boot-check.service would:
#   1. systemd-modules-load: /etc/modules, /etc/modules-load.d/*.conf and modules-load= on the
#      kernel command line, each with libkmod's blacklist applied ("modprobe -b", as
#      systemd-modules-load 252 loads with KMOD_PROBE_APPLY_BLACKLIST);
#   2. systemd-udevd (the real one, with the host's 80-drivers.rules and iommuctl's rule) and
#      "udevadm trigger" of the PCI functions: drivers load by modalias, modprobe.blacklist=
#      applies, iommuctl's rule binds the functions named by address on the command line;
#   3. the network: the first Ethernet NIC up with QEMU's user-network address and the default
#      route on it (what ifupdown does on a Proxmox host);
#   4. "iommuctl boot-check" with IOMMUCTL_REBOOT_COMMAND="/bin/reboot -f": on a failed trial it
#      reboots the machine itself (and GRUB or systemd-boot then runs the old entry).
# On its first boot, with /e2e/apply-args, it runs "iommuctl -y ARGS" itself (an apply --trial on
# a systemd-boot host) and reboots.
# Every boot appends one line to /e2e/boots ("N cmdline=..."), and keeps its drivers, command line
# and boot-check output as /e2e/boot-N.*, for trial-boot.sh to read back after the power-off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -o remount,rw /
mount -t tmpfs -o mode=0755 tmpfs /run
[ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp /e2e /run/udev
# systemd mounts efivarfs early (sys-firmware-efi-efivars.mount) on a UEFI boot.
[ -d /sys/firmware/efi/efivars ] && mount -t efivarfs efivarfs /sys/firmware/efi/efivars

now() { read -r up _ </proc/uptime; echo "${up%.*}"; }
n=$(($(wc -l </e2e/boots 2>/dev/null || echo 0) + 1))
log() { echo "trial-init[$n]: $*"; }
log "root mounted rw; started at $(now) s"
echo "$n cmdline=$(cat /proc/cmdline)" >>/e2e/boots
cat /proc/cmdline >"/e2e/boot-$n.cmdline"

# 1. systemd-modules-load.
for arg in $(cat /proc/cmdline); do
	case $arg in modules-load=* | rd.modules-load=*) echo "${arg#*=}" | tr ',' '\n' ;; esac
done >/tmp/modules-load
cat /etc/modules /etc/modules-load.d/*.conf 2>/dev/null >>/tmp/modules-load
while read -r m args; do
	case $m in '' | '#'* | ';'*) continue ;; esac
	# shellcheck disable=SC2086 # module parameters are separate words
	/sbin/modprobe -b "$m" $args || log "modules-load: failed to insert $m"
done </tmp/modules-load
log "modules-load finished at $(now) s"

# 2. udev: the daemon, then the PCI functions' add events (a full coldplug of every subsystem costs
# a minute under TCG and decides nothing here), then wait for the queue to drain.
/lib/systemd/systemd-udevd --daemon --resolve-names=never
udevadm trigger --subsystem-match=pci --action=add
udevadm trigger --subsystem-match=net --action=add
udevadm trigger --subsystem-match=block --action=add
udevadm settle --timeout=60 || log "udevadm settle timed out"
log "udev coldplug of PCI finished at $(now) s"

# 3. the network.
nic=
for d in /sys/class/net/*; do
	[ -e "$d/device" ] && [ "$(cat "$d/type")" = 1 ] && nic=${d##*/} && break
done
if [ -n "$nic" ]; then
	ip link set lo up
	ip link set "$nic" up
	ip addr add 10.0.2.15/24 dev "$nic"
	ip route add default via 10.0.2.2 dev "$nic"
	# network-online.target: ifupdown's interface is up once the link has its carrier (e1000e
	# negotiates for a second or two after "ip link set up").
	i=0
	while [ "$(cat "/sys/class/net/$nic/operstate")" != up ] && [ "$i" -lt 20 ]; do
		sleep 0.5
		i=$((i + 1))
	done
	log "network: $nic $(cat "/sys/class/net/$nic/operstate"), default route via 10.0.2.2 at $(now) s"
else
	log "network: no Ethernet NIC"
fi

for f in /sys/bus/pci/devices/*; do
	drv=
	[ -e "$f/driver" ] && drv=$(readlink "$f/driver") && drv=${drv##*/}
	echo "${f##*/} ${drv:--}"
done >"/e2e/boot-$n.drivers"
ip route >"/e2e/boot-$n.route" 2>&1
cut -d' ' -f1 /proc/modules | sort >"/e2e/boot-$n.modules"
ls /sys/firmware/efi/efivars >"/e2e/boot-$n.efivars" 2>/dev/null
# The entry systemd-boot booted (LoaderEntrySelected: 4 bytes of attributes, then UTF-16LE).
sel=/sys/firmware/efi/efivars/LoaderEntrySelected-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
[ -e "$sel" ] && tail -c +5 "$sel" | tr -d '\000' >"/e2e/boot-$n.selected"

# 4. the boot check, as the unit runs it.
log "boot-check at $(now) s"
sync
IOMMUCTL_REBOOT_COMMAND="/bin/reboot -f" iommuctl boot-check >"/e2e/boot-$n.check" 2>&1
rc=$?
echo "$rc" >"/e2e/boot-$n.check-rc"
sed "s/^/trial-init[$n]: boot-check: /" "/e2e/boot-$n.check"
iommuctl history >"/e2e/boot-$n.history" 2>&1
# /e2e/apply-args: the first boot arms a trial itself, as the admin would on this host (the one-shot
# of systemd-boot lives in the firmware's NVRAM, which only the guest can write), then reboots.
if [ "$n" = 1 ] && [ -s /e2e/apply-args ]; then
	# shellcheck disable=SC2046 # the arguments are words
	iommuctl -y $(cat /e2e/apply-args) >/e2e/apply.out 2>&1
	echo $? >/e2e/apply.rc
	sed 's/^/trial-init[1]: apply: /' /e2e/apply.out
	ls /sys/firmware/efi/efivars >/e2e/apply.efivars 2>/dev/null
	cat /etc/kernel/proxmox-boot-manual-kernels >/e2e/apply.pins 2>/dev/null
	sync
	log "apply exit $(cat /e2e/apply.rc); rebooting into the trial"
	reboot -f
fi
sync
# e2e.reboot: the boot-loader check of trial-boot.sh ("loaders"): reboot, as a failed trial would.
case " $(cat /proc/cmdline) " in
*" e2e.reboot "*) log "e2e.reboot on the command line: rebooting"; reboot -f ;;
esac
log "boot-check exit $rc at $(now) s; powering off"
mount -o remount,ro /
poweroff -f
