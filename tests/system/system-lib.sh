#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# system-lib.sh — the whole Debian 12 system that trial-system.sh boots (sourced, not run): a
# debootstrapped bookworm (tests/system/packages.txt) on an MBR disk image with grub-pc installed
# by the real grub-install and a grub.cfg from the real update-grub, both cached under
# $BUILDDIR/kernel-cache/system/KEY (KEY: the hash of the package list and of this file), a copy
# per run with iommuctl installed the way "meson install --destdir" lays it out, and QEMU runs of
# that disk with the captured hardware's device list. Needs root (loop devices, mount, chroot).
# Callers define skip_all, diag and timing; $work is the run's scratch directory.

sys_mirror=${SYSTEM_MIRROR:-http://deb.debian.org/debian}
sys_suite=bookworm

# sys_cache_setup: $sys_cache, the cache directory keyed by the package list, the mirror and the
# text of sys_rootfs; $sys_base, the disk image in it keyed by the text of the functions that
# build it. A change to one of them builds that part anew, a change elsewhere in this file does not.
sys_cache_setup() {
	local key
	key=$({ cat "$SRCDIR/tests/system/packages.txt"; echo "$sys_mirror $sys_suite"; declare -f sys_rootfs; } |
		sha256sum | cut -c1-16)
	sys_cache=$BUILDDIR/kernel-cache/system/$key
	key=$(declare -f sys_base_image sys_chroot_mounts sys_chroot_umounts sys_loop_attach | sha256sum | cut -c1-16)
	sys_base=$sys_cache/base-$key.img
	mkdir -p "$sys_cache"
}

# sys_packages: the package list, comma-separated, for debootstrap --include.
sys_packages() {
	grep -v '^#' "$SRCDIR/tests/system/packages.txt" | grep . | paste -sd, -
}

# sys_loop_attach IMG: attach IMG with its partitions; prints the loop device. Partition nodes
# are made with partx where no udev makes them (containers).
sys_loop_attach() {
	local dev n
	dev=$(losetup -f --show -P "$1") || return 1
	[ -b "${dev}p1" ] || partx -a "$dev" 2>/dev/null
	if [ ! -b "${dev}p1" ]; then
		n=$(cat "/sys/block/${dev#/dev/}/${dev#/dev/}p1/dev" 2>/dev/null)
		[ -n "$n" ] && mknod "${dev}p1" b "${n%%:*}" "${n##*:}"
	fi
	if [ ! -b "${dev}p1" ]; then
		losetup -d "$dev"
		return 1
	fi
	echo "$dev"
}

# sys_chroot_mounts DIR [LOOPDEV]: /proc, /sys and a private /dev (a tmpfs with the few nodes the
# chroot needs, LOOPDEV and its first partition among them, and /dev/disk/by-uuid for that
# partition: update-grub writes root=UUID= only when that link exists, and no udev makes it
# here). Nothing is created in the machine's own /dev. sys_chroot_umounts DIR undoes it.
sys_chroot_mounts() {
	local d=$1 loop=${2:-} m n uuid
	for m in proc sys; do mount --bind "/$m" "$d/$m" || return 1; done
	mount -t tmpfs -o mode=0755,size=1m e2e-dev "$d/dev" || return 1
	for n in null zero full random urandom tty; do
		[ -e "/dev/$n" ] && cp -a "/dev/$n" "$d/dev/$n"
	done
	ln -s /proc/self/fd "$d/dev/fd"
	if [ -n "$loop" ]; then
		cp -a "$loop" "${loop}p1" "$d/dev/"
		uuid=$(blkid -o value -s UUID "${loop}p1")
		if [ -n "$uuid" ]; then
			mkdir -p "$d/dev/disk/by-uuid"
			ln -s "../../${loop##*/}p1" "$d/dev/disk/by-uuid/$uuid"
		fi
	fi
}
sys_chroot_umounts() {
	local m
	for m in sys proc dev; do mountpoint -q "$1/$m" && umount -l "$1/$m"; done
	return 0
}

# sys_rootfs: debootstrap --variant=minbase with the package list into $sys_cache/rootfs (once,
# under a lock), configured for a serial console, DHCP on the NIC by systemd-networkd, GRUB on the
# serial line with no menu delay. Sets sys_debootstrap_secs when it ran.
sys_rootfs() {
	sys_debootstrap_secs=
	(
		flock 9
		[ -f "$sys_cache/rootfs.complete" ] && exit 0
		local d=$sys_cache/rootfs t0
		if [ ! -f "$sys_cache/debootstrap.complete" ]; then
			rm -rf "$d"
			t0=$(date +%s)
			debootstrap --variant=minbase --include="$(sys_packages)" "$sys_suite" "$d" "$sys_mirror" \
				>"$sys_cache/debootstrap.log" 2>&1 || {
				tail -n 20 "$sys_cache/debootstrap.log" >&2
				exit 1
			}
			echo $(($(date +%s) - t0)) >"$sys_cache/debootstrap.secs"
			touch "$sys_cache/debootstrap.complete"
		fi
		echo e2e-system >"$d/etc/hostname"
		printf '127.0.0.1 localhost\n127.0.1.1 e2e-system\n' >"$d/etc/hosts"
		chroot "$d" passwd -d root >/dev/null
		mkdir -p "$d/etc/systemd/network"
		printf '[Match]\nName=en*\n\n[Network]\nDHCP=yes\n' >"$d/etc/systemd/network/50-dhcp.network"
		chroot "$d" systemctl enable systemd-networkd.service >/dev/null 2>&1
		# The guest's console is the serial line; GRUB talks there too so its choice can be seen.
		sed -i -e 's/^GRUB_TIMEOUT=.*/GRUB_TIMEOUT=0/' \
			-e 's/^GRUB_CMDLINE_LINUX_DEFAULT=.*/GRUB_CMDLINE_LINUX_DEFAULT="console=ttyS0 no_timer_check"/' \
			"$d/etc/default/grub"
		printf 'GRUB_TERMINAL=serial\nGRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"\n' >>"$d/etc/default/grub"
		mkdir -p "$d/e2e"
		chroot "$d" apt-get clean
		touch "$sys_cache/rootfs.complete"
	) 9>"$sys_cache/.lock" || return 1
	[ -f "$sys_cache/debootstrap.secs" ] && sys_debootstrap_secs=$(cat "$sys_cache/debootstrap.secs")
	return 0
}

# sys_base_image: $sys_base from the rootfs: 3 GiB sparse, one bootable MBR partition,
# ext4 by UUID in fstab, grub-install --target=i386-pc on the disk and update-grub, both run in a
# chroot on the loop device. Once, under the lock.
sys_base_image() {
	(
		flock 9
		[ -f "$sys_base.complete" ] && exit 0
		local img=$sys_base.tmp dev mnt=$sys_cache/mnt uuid rc=0
		rm -f "$img"
		truncate -s 3G "$img"
		printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$img" || exit 1
		dev=$(sys_loop_attach "$img") || exit 1
		uuid=$(cat /proc/sys/kernel/random/uuid)
		mkfs.ext4 -q -U "$uuid" -L e2e-root "${dev}p1" || rc=1
		mkdir -p "$mnt"
		[ $rc = 0 ] && mount "${dev}p1" "$mnt" || rc=1
		if [ $rc = 0 ]; then
			cp -a "$sys_cache/rootfs/." "$mnt/" || rc=1
			printf 'UUID=%s / ext4 errors=remount-ro 0 1\ne2e /e2e 9p trans=virtio,version=9p2000.L,msize=262144,nofail,x-systemd.device-timeout=30s 0 0\n' \
				"$uuid" >"$mnt/etc/fstab"
			sys_chroot_mounts "$mnt" "$dev" || rc=1
			[ $rc = 0 ] && chroot "$mnt" grub-install --target=i386-pc "$dev" >"$sys_cache/grub-install.log" 2>&1 || rc=1
			[ $rc = 0 ] && chroot "$mnt" update-grub >"$sys_cache/update-grub.log" 2>&1 || rc=1
			sys_chroot_umounts "$mnt"
			umount "$mnt" || rc=1
		fi
		losetup -d "$dev"
		if [ $rc != 0 ]; then
			cat "$sys_cache"/grub-install.log "$sys_cache"/update-grub.log >&2 2>/dev/null
			exit 1
		fi
		rm -f "$sys_cache"/base-*.img "$sys_cache"/base-*.complete
		mv "$img" "$sys_base"
		touch "$sys_base.complete"
	) 9>"$sys_cache/.lock"
}

# sys_mount IMG DIR: attach IMG and mount its root on DIR (sys_dev is the loop device).
sys_mount() {
	sys_dev=$(sys_loop_attach "$1") || return 1
	mkdir -p "$2"
	mount "${sys_dev}p1" "$2" || {
		losetup -d "$sys_dev"
		return 1
	}
}
# sys_umount DIR: undo sys_mount (and sys_chroot_mounts).
sys_umount() {
	sys_chroot_umounts "$1"
	umount "$1"
	losetup -d "$sys_dev"
}

# sys_install_iommuctl DIR: the build's "meson install" tree (binary, man page, units, udev rule,
# initramfs-tools hook, grub.d script: what the build installs) copied into the guest root DIR,
# the e2e units enabled; iommuctl's own units enabled as their [Install] sections say;
# update-initramfs and update-grub run in the chroot when the install brought something they
# read, as a package's triggers would. Prints what it installed, one path a line.
sys_install_iommuctl() {
	local root=$1 dest=$work/destdir u
	rm -rf "$dest"
	meson install -C "$BUILDDIR" --destdir "$dest" --no-rebuild --quiet >"$work/meson-install.log" 2>&1 || {
		cat "$work/meson-install.log" >&2
		return 1
	}
	(cd "$dest" && find . ! -type d | sed 's|^\.||' | sort) >"$work/installed.txt"
	# tar, not cp -a: the guest is merged-/usr, its /lib a link that must stay a link.
	tar -C "$dest" -cf - . | tar -C "$root" -xf - --keep-directory-symlink --no-overwrite-dir || return 1
	mkdir -p "$root/usr/local/lib/e2e" "$root/e2e"
	install -m 0755 "$SRCDIR/tests/system/guest-step.sh" "$root/usr/local/lib/e2e/guest-step.sh"
	install -m 0644 "$SRCDIR"/tests/system/units/e2e-*.service "$root/etc/systemd/system/"
	sys_chroot_mounts "$root" "$sys_dev" || return 1
	chroot "$root" systemctl enable e2e-record.service e2e-act.service >/dev/null 2>&1 || return 1
	for u in $(grep -E '/systemd/system/[^/]+\.service$' "$work/installed.txt"); do
		grep -q '^\[Install\]' "$root$u" && { chroot "$root" systemctl enable "${u##*/}" >/dev/null 2>&1 || return 1; }
	done
	if grep -qE 'initramfs-tools|/udev/rules.d/' "$work/installed.txt"; then
		chroot "$root" update-initramfs -u >"$work/install-initramfs.log" 2>&1 || return 1
	fi
	if grep -q '/etc/grub.d/' "$work/installed.txt"; then
		chroot "$root" update-grub >"$work/install-grub.log" 2>&1 || return 1
	fi
	sys_chroot_umounts "$root"
	cat "$work/installed.txt"
}

# sys_qemu_args FIXTURE: the fixture's QEMU command line (CAPTURE.md) for a disk that boots by
# itself: no -kernel/-initrd/-append, no -no-reboot (the guest reboots into its next boot), the
# serial log and the disk as @CONSOLE@ / @DISK@.
sys_qemu_args() {
	local line
	line=$(sed -n '/^## QEMU command/,/^## /{/^qemu-system-x86_64 /p}' "$1/CAPTURE.md")
	[ -n "$line" ] || return 1
	line=${line%% -kernel *}
	line=${line// -no-reboot/}
	line=${line//file:console.raw/file:@CONSOLE@}
	line=${line//file=root.img,/file=@DISK@,}
	echo "$line"
}

# sys_boot NAME FIXTURE DISK SHARE TIMEOUT: run QEMU until the guest powers off (every reboot in
# between stays in this run); the serial console goes to $work/NAME.console, SHARE is the guest's
# /e2e (virtio-9p at 00:06.0, a slot the capture leaves free). Sets run_secs; returns QEMU's
# (or timeout's) exit status.
sys_boot() {
	local name=$1 args q=() a start rc
	args=$(sys_qemu_args "$2") || { echo "no QEMU command in $2/CAPTURE.md"; return 1; }
	for a in $args; do
		a=${a//@CONSOLE@/$work/$name.console}
		a=${a//@DISK@/$3}
		q+=("$a")
	done
	rm -f "$work/$name.console"
	start=$(date +%s)
	timeout "$5" "${q[@]}" -fsdev "local,id=e2e,path=$4,security_model=none" \
		-device virtio-9p-pci,fsdev=e2e,mount_tag=e2e,bus=pcie.0,addr=0x6 \
		</dev/null >"$work/$name.qemu" 2>&1
	rc=$?
	run_secs=$(($(date +%s) - start))
	return $rc
}
