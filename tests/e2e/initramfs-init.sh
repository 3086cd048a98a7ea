#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /init of the e2e initramfs (busybox sh + kmod's own modprobe; run-e2e.sh builds the image).
#
# It does what Debian's initramfs-tools does that matters to iommuctl, and nothing more:
#   - its /etc/modprobe.d is the root's, copied when the image was built (update-initramfs);
#   - drivers load like udev loads them: "modprobe -b MODALIAS" for every device, again for the
#     devices that appear meanwhile, so a blacklisted driver is NOT loaded (-b applies it);
#   - it waits for root= (a UUID= or a device), mounts it read-only and switch_roots to /sbin/init.
# When the root does not appear it says so and, where Debian would drop to the "(initramfs)"
# shell, powers off -- unless the command line has e2e.rescue=DRIVER: then it plays the person at
# that shell: "modprobe DRIVER" by name (a blacklist does not stop that), mount the disk on /mnt
# and "iommuctl --root /mnt rollback", the recovery DESIGN.md promises. The rescue writes what it
# did to /mnt/e2e/rescue.log, which the host reads back with debugfs.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
# kmod's modprobe is called by its path: busybox sh runs its own modprobe applet for a bare
# "modprobe", and that one ignores softdep and install lines.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp /run /mnt /newroot

log() { echo "e2e-initramfs: $*"; }
now() { read -r up _ </proc/uptime; echo "${up%.*}"; }

root=
rescue=
rootwait=30
for arg in $(cat /proc/cmdline); do
	case $arg in
	root=*) root=${arg#root=} ;;
	e2e.rescue=*) rescue=${arg#e2e.rescue=} ;;
	e2e.rootwait=*) rootwait=${arg#e2e.rootwait=} ;;
	esac
done
log "started at $(now) s; root=$root"

# Drivers load as udev loads them: "modprobe -b $MODALIAS" for each "add" uevent. From here on
# busybox's uevent listens on the kernel's netlink socket as udevd does and runs the handler for
# every event (the devices a driver brings: the disk behind the AHCI port, the NVMe namespace;
# Debian's kernels have no /proc/sys/kernel/hotplug); the devices already there are coldplugged
# once from /sys/bus/*/devices, as "udevadm trigger" does.
printf '#!/bin/sh\n[ "$ACTION" = add ] && [ -n "$MODALIAS" ] && exec /sbin/modprobe -b -q "$MODALIAS"\nexit 0\n' >/sbin/e2e-hotplug
chmod 0755 /sbin/e2e-hotplug
uevent /sbin/e2e-hotplug &
uevent_pid=$!
coldplug() {
	cat /sys/bus/*/devices/*/modalias 2>/dev/null | sort -u >/tmp/aliases
	while IFS= read -r a; do
		/sbin/modprobe -b -q "$a" 2>/dev/null
	done </tmp/aliases
}

# find_root SECONDS: wait until root= resolves to a block device; prints the device.
find_root() {
	i=0
	while [ "$i" -lt $(($1 * 2)) ]; do
		case $root in
		UUID=* | LABEL=*) d=$(findfs "$root" 2>/dev/null) ;;
		*) d=$root ;;
		esac
		if [ -n "$d" ] && [ -b "$d" ]; then
			echo "$d"
			return 0
		fi
		sleep 0.5
		i=$((i + 1))
	done
	return 1
}

loaded() { cut -d' ' -f1 /proc/modules | tr '\n' ' '; }

coldplug
log "coldplug finished at $(now) s"
/sbin/modprobe -q ext4
if dev=$(find_root "$rootwait") && mount -t ext4 -o ro "$dev" /newroot; then
	log "root $dev mounted at $(now) s; modules: $(loaded)"
	kill "$uevent_pid"
	mount --move /dev /newroot/dev
	umount /sys /proc
	exec switch_root /newroot /sbin/init
fi

log "ROOT NOT MOUNTED: $root did not appear within $rootwait s (at $(now) s)"
log "modules loaded: $(loaded)"
if [ -z "$rescue" ]; then
	log "no e2e.rescue= on the command line: this is where Debian drops to the (initramfs) shell; powering off"
	poweroff -f
fi

# ---- the rescue a person would type at the (initramfs) prompt ----
{
	echo "root-missing: $root after $rootwait s"
	echo "modules-before-rescue: $(loaded)"
} >/tmp/rescue.log
log "rescue: modprobe $rescue (by name: a blacklist only stops loading by alias)"
/sbin/modprobe "$rescue"
echo "modprobe-$rescue-rc: $?" >>/tmp/rescue.log
if ! dev=$(find_root "$rootwait"); then
	log "rescue: $root still missing after modprobe $rescue; powering off"
	poweroff -f
fi
mount -t ext4 -o rw "$dev" /mnt || { log "rescue: cannot mount $dev"; poweroff -f; }
log "rescue: $dev mounted on /mnt; running iommuctl --root /mnt rollback"
iommuctl --root /mnt rollback >/tmp/rollback.out 2>&1
rc=$?
echo "rollback-rc: $rc" >>/tmp/rescue.log
echo "--- iommuctl --root /mnt rollback" >>/tmp/rescue.log
cat /tmp/rollback.out >>/tmp/rescue.log
sed 's/^/e2e-initramfs: rollback: /' /tmp/rollback.out
mkdir -p /mnt/e2e
cp /tmp/rescue.log /mnt/e2e/rescue.log
sync
umount /mnt
log "rescue: done (rollback exit $rc)"
poweroff -f
