#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /init of the power-loss guest (busybox sh + kmod + dmsetup; power-loss.sh builds the image).
#
# The whole guest lives in the initramfs. Two virtio disks:
#   /dev/vda  the data disk: an ext4 file system made on the host, with the sandbox root in
#             /root (fixtures/roots/pve8-grub) and the captured hardware in /hw;
#   /dev/vdb  the log disk for dm-log-writes.
# The data disk is used only through "log-writes /dev/vda /dev/vdb": every write that reaches
# the data disk is recorded on the log disk with its FLUSH / FUA flags, in the order a disk
# would make it durable (normal writes are logged when the next flush completes, FUA writes at
# completion). power-loss.sh replays that log onto a copy of the pristine data disk to get the
# disk as a power cut at any moment would have left it.
#
# Then, until the host kills QEMU with SIGKILL, iommuctl writing commands run in a loop:
# "apply PROFILE" and "rollback", PROFILE going round the built-in profiles. Before each command
# a log mark "cmdN" goes into the log, so each replayed state can be told which command it
# interrupted. Every command's exit status goes to the serial console ("power-loss: cmd N ...").
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp /run /data

log() { echo "power-loss: $*"; }
fail() {
	log "SETUP FAILED: $*"
	poweroff -f
}

# kmod's modprobe by its path (busybox sh would run its own applet for a bare "modprobe").
for m in virtio_blk dm-log-writes ext4; do
	/sbin/modprobe "$m" || fail "modprobe $m"
done
i=0
while [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; do
	i=$((i + 1))
	[ "$i" -gt 100 ] && fail "no /dev/vda and /dev/vdb after 10 s"
	sleep 0.1
done

# No udev in here: dmsetup makes its own /dev/mapper node.
export DM_DISABLE_UDEV=1
size=$(cat /sys/block/vda/size)
dmsetup create --noudevsync pl --table "0 $size log-writes /dev/vda /dev/vdb" || fail "dmsetup create"
dmsetup message pl 0 mark setup || fail "dmsetup message mark"
mount -t ext4 -o rw /dev/mapper/pl /data || fail "mount /dev/mapper/pl"
dmsetup message pl 0 mark mounted

set -- nvidia amd intel vfio iommu
n=0
log "LOOP-STARTED"
while :; do
	for p in "$@"; do
		for c in "apply $p" rollback; do
			n=$((n + 1))
			dmsetup message pl 0 mark "cmd$n"
			# shellcheck disable=SC2086 # $c is two words or one
			iommuctl --root /data/root --sysfs /data/hw/sys --procfs /data/hw/proc --no-hooks -y $c \
				>/tmp/out 2>&1
			rc=$?
			log "cmd $n rc=$rc: $c"
			[ "$rc" = 0 ] || sed 's/^/power-loss:   | /' /tmp/out
		done
	done
done
