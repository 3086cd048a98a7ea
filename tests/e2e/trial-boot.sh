#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# trial-boot.sh — the trial boot (issue 15, DESIGN §11) on the real boot loaders: GRUB 2.06
# i386-pc from a raw MBR disk under SeaBIOS, and systemd-boot 252 from an ESP under OVMF, each
# booting Debian's own kernel in QEMU (TCG). No loop device and no mount: the disks are files made
# by sfdisk, mke2fs -d, mkfs.vfat -C and mtools, read back by debugfs and mtools.
#
# usage: tests/e2e/trial-boot.sh       (meson: meson test -C BUILD t0830-trial-boot)
#
# Cases (TRIAL_CASES picks some; default all):
#   loaders  the one-shots themselves: GRUB boots the entry next_entry names once and clears it;
#            systemd-boot boots the entry LoaderEntryOneShot names once and deletes the variable.
#   good     case 1: apply --trial; the trial boot runs the trial line, boot-check commits; the
#            next boot runs the committed files (grub.cfg and initramfs rebuilt from them, as
#            update-grub and update-initramfs would), vfio-pci bound, and passes the check again.
#   broken   case 2: the root disk's driver (ahci) blacklisted on the trial line: in one QEMU run
#            the real initramfs-tools initramfs cannot find the root, panic= reboots, GRUB runs
#            the old entry; the files are untouched and history says failed.
#   nocheck  case 3: a trial that boots but takes the default-route NIC: boot-check fails and
#            reboots into the old configuration by itself.
#   btrfs    case 4: GRUB's env file on btrfs (a real mkfs.btrfs image, probed by the real
#            grub-probe): apply --trial is refused with exit 3.
#   sdboot   case 5: systemd-boot: the trial fails, the one-shot is gone, the old entry boots.
#
# The guest's PCI layout is the one in the fixture's CAPTURE.md (q35-intel-6.1 for GRUB,
# q35-intel-6.12-twin-efi for systemd-boot), so the slots iommuctl plans are the guest's slots.
# The initramfs is a real initramfs-tools one (mkinitramfs in a private mount namespace with the
# cached module tree bind-mounted over /lib/modules/KVER); grub.cfg is made by the real
# grub-mkconfig with Debian's /etc/grub.d, in a private mount namespace whose grub-probe answers
# for the guest's disk (the real one cannot probe a partition inside an image file).
#
# Environment: IOMMUCTL, SRCDIR, BUILDDIR (set by meson), TRIAL_CASES, E2E_BOOT_TIMEOUT (seconds
# per QEMU run, default 600), E2E_KEEP=1 (keep the scratch directory), TRIAL_INITRD_DIR.
# Skips (TAP "1..0 # SKIP") when QEMU, GRUB, systemd-boot, OVMF or another tool is missing.
# Over 800 lines: the images, the boot loaders and the five cases share one scratch directory and
# one set of helpers (what e2e-lib.sh shares with run-e2e.sh is there); split, each case would
# carry the disk and boot plumbing again.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${IOMMUCTL:=$SRCDIR/build-tests/iommuctl}"
: "${BUILDDIR:=$(cd "$(dirname "$IOMMUCTL")" && pwd)}"
export SRCDIR IOMMUCTL BUILDDIR
export PATH=$PATH:/usr/sbin:/sbin
# shellcheck source=../test-lib.sh
. "$SRCDIR/tests/test-lib.sh"
# shellcheck source=e2e-lib.sh
. "$here/e2e-lib.sh"

cases=${TRIAL_CASES:-loaders good broken nocheck btrfs sdboot}
boot_timeout=${E2E_BOOT_TIMEOUT:-600}

skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# ---- what the test needs on the host ----
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
[ -x /bin/busybox ] || skip_all "/bin/busybox is missing (apt-get install busybox-static)"
kmod_bin=$(command -v kmod) || skip_all "kmod is not installed"
for t in depmod mke2fs debugfs cpio dpkg-deb timeout sfdisk grub-mkimage grub-mkconfig grub-editenv \
	grub-probe mkinitramfs mkfs.vfat mcopy mdir mtype mkfs.btrfs unshare udevadm; do
	command -v "$t" >/dev/null || skip_all "$t is not installed (see tools/debian-packages.txt)"
done
grub_pc=/usr/lib/grub/i386-pc
sdboot_efi=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
[ -f "$grub_pc/boot.img" ] || skip_all "$grub_pc/boot.img is missing (apt-get install grub-pc-bin)"
[ -f "$sdboot_efi" ] || skip_all "$sdboot_efi is missing (apt-get install systemd-boot-efi)"
[ -f "$ovmf_code" ] && [ -f "$ovmf_vars" ] || skip_all "OVMF is missing (apt-get install ovmf)"
[ -x "$IOMMUCTL" ] || skip_all "no iommuctl binary at $IOMMUCTL (build first)"
if [ "$(id -u)" != 0 ] && ! unshare -r true 2>/dev/null; then
	skip_all "not root and no user namespaces (unshare -r): no private mount namespace for mkinitramfs and grub-mkconfig"
fi
# asroot CMD...: CMD with uid 0 as the file owner (mke2fs -d records the owner it sees; iommuctl
# reads only root-owned profiles).
asroot() {
	if [ "$(id -u)" = 0 ]; then "$@"; else unshare -r "$@"; fi
}
# nsrun CMD...: CMD in a private mount namespace (as uid 0 of a user namespace when not root).
nsrun() {
	if [ "$(id -u)" = 0 ]; then unshare -m --propagation private "$@"; else unshare -r -m --propagation private "$@"; fi
}

kernel_cache_setup
work=$(mktemp -d "$BUILDDIR/trial-run.XXXXXX")
if [ "${E2E_KEEP:-0}" = 1 ]; then
	trap 'rm -rf "$TEST_TMP"; echo "# scratch kept in $work"' EXIT
else
	trap 'rm -rf "$TEST_TMP" "$work"' EXIT
fi
t_start=$(date +%s)
timing() { diag "timing: $1: $2 s"; }

diag "programs: $(grub-mkimage --version | head -n 1); systemd-boot $(dpkg-query -W -f '${Version}' systemd-boot-efi 2>/dev/null);" \
	"OVMF $(dpkg-query -W -f '${Version}' ovmf 2>/dev/null); $(qemu-system-x86_64 --version | head -n 1);" \
	"initramfs-tools $(dpkg-query -W -f '${Version}' initramfs-tools-core 2>/dev/null); udev $(dpkg-query -W -f '${Version}' udev 2>/dev/null)"

fixture_grub=$FIXTURES/hw/q35-intel-6.1
fixture_efi=$FIXTURES/hw/q35-intel-6.12-twin-efi

# ---- the guest root ----

# new_trial_root DIR KVER: the Proxmox host's /etc (fixtures/roots/pve8-grub), the kernel in /boot
# and its module tree, busybox + kmod + systemd-udevd, iommuctl with its udev rule, the trial
# /sbin/init, stand-ins for the hooks, and a grub.d snippet for the serial console.
new_trial_root() {
	local d=$1 kver=$2 h
	mkdir -p "$d/lib/modules" "$d/e2e" "$d/var/log" "$d/boot/grub" "$d/lib/udev/rules.d" "$d/etc/udev/rules.d" "$d/etc/grub.d"
	cp -a "$FIXTURES/roots/pve8-grub/." "$d/"
	cp -al "$ecache/$kver/root/lib/modules/$kver" "$d/lib/modules/" 2>/dev/null ||
		cp -a "$ecache/$kver/root/lib/modules/$kver" "$d/lib/modules/"
	cp "$ecache/$kver/vmlinuz" "$d/boot/vmlinuz-$kver"
	install_userland "$d"
	install_iommuctl "$d"
	copy_exe /bin/udevadm "$d" /bin/udevadm
	mkdir -p "$d/lib/systemd"
	ln -sf ../../bin/udevadm "$d/lib/systemd/systemd-udevd"
	# The kernel's modalias → driver rule; the rest of udev's rules name devices and set
	# permissions, which nothing here needs.
	cp /lib/udev/rules.d/80-drivers.rules "$d/lib/udev/rules.d/"
	# What the iommuctl package installs for trial boots (meson's data/): the udev rule that binds
	# iommuctl.bind= functions, its helper, the initramfs-tools hook (real_initramfs runs it).
	local rule=$BUILDDIR/data/udev/40-iommuctl-trial.rules hook=$BUILDDIR/data/initramfs-tools/iommuctl helper
	helper=$(sed -n 's/^RUN+="\([^ ]*\) .*/\1/p' "$rule" 2>/dev/null)
	if [ -f "$rule" ] && [ -n "$helper" ] && [ -f "$hook" ]; then
		cp "$rule" "$d/lib/udev/rules.d/"
		mkdir -p "$d${helper%/*}" "$d/usr/share/initramfs-tools/hooks"
		install -m 0755 "$SRCDIR/data/udev/trial-bind" "$d$helper"
		install -m 0755 "$hook" "$d/usr/share/initramfs-tools/hooks/iommuctl"
	fi
	cp "$here/trial-init.sh" "$d/sbin/init"
	chmod 0755 "$d/sbin/init"
	# update-grub and update-initramfs stand-ins record the call; this script does their work
	# on the host side before the next boot (grub-mkconfig, mkinitramfs: the real ones).
	for h in update-grub update-initramfs; do
		printf '#!/bin/sh\necho "%s $*" >>/var/log/e2e-hooks.log\n' "$h" >"$d/usr/sbin/$h"
		chmod 0755 "$d/usr/sbin/$h"
	done
	# The serial console for GRUB and the kernel; rootdelay=20 instead of initramfs-tools' 180 s
	# wait for a root that never comes (the trial line copies it from the default entry).
	cat >"$d/etc/default/grub.d/e2e-console.cfg" <<-'EOF'
		GRUB_TERMINAL=serial
		GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
		GRUB_TIMEOUT=1
		GRUB_CMDLINE_LINUX_DEFAULT="console=ttyS0 no_timer_check rootdelay=20"
	EOF
	grub-editenv "$d/boot/grub/grubenv" create
	# What grub-install copies next to grub.cfg: the modules grub.cfg loads with insmod.
	mkdir -p "$d/boot/grub/i386-pc"
	cp "$grub_pc"/*.mod "$grub_pc"/*.lst "$d/boot/grub/i386-pc/"
}

# kernel_config KVER DIR: the package's /boot/config-KVER into DIR (mkinitramfs reads it).
kernel_config() {
	local deb
	deb=$(kernel_deb "^linux-image-${1//+/\\+}_")
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$2" "./boot/config-$1"
}

# real_initramfs ROOT KVER: Debian's mkinitramfs (initramfs-tools, MODULES=most, zstd) writes
# ROOT/boot/initrd.img-KVER, in a private mount namespace where /etc/modprobe.d and
# /etc/initramfs-tools are the guest's and /lib/modules/KVER is the cached tree. The image of
# the fixture's untouched root is made once and shared by the cases (apply --trial changes no
# initramfs); TRIAL_INITRD_DIR=DIR gives DIR/initrd.img-KVER made earlier (a kept scratch
# directory's), to iterate faster.
real_initramfs() {
	local root=$1 kver=$2 t0 log=$work/mkinitramfs.log pristine=${3:-}
	if [ -n "$pristine" ] && [ -f "$work/initrd.img-$kver" ]; then
		cp "$work/initrd.img-$kver" "$root/boot/initrd.img-$kver"
		return 0
	fi
	if [ -n "$pristine" ] && [ -n "${TRIAL_INITRD_DIR:-}" ] && [ -f "$TRIAL_INITRD_DIR/initrd.img-$kver" ]; then
		cp "$TRIAL_INITRD_DIR/initrd.img-$kver" "$work/initrd.img-$kver"
		cp "$TRIAL_INITRD_DIR/initrd.img-$kver" "$root/boot/initrd.img-$kver"
		return 0
	fi
	t0=$(date +%s)
	[ -d "$root/etc/initramfs-tools" ] || cp -a /etc/initramfs-tools "$root/etc/"
	[ -f "$root/boot/config-$kver" ] || kernel_config "$kver" "$root" || return 1
	# The guest's own additions to /usr (iommuctl's hook, udev rule and helper; on merged-/usr
	# Debian /lib is /usr/lib) and the mount point of /usr/lib/modules/KVER, as a read-only
	# overlay layer over the host's /usr inside the namespace: nothing is created on the host.
	local x=$work/ns-usr
	rm -rf "$x"
	mkdir -p "$x/lib/modules/$kver"
	[ -d "$root/lib/udev/rules.d" ] && mkdir -p "$x/lib/udev/rules.d" &&
		find "$root/lib/udev/rules.d" -name '*iommuctl*' -exec cp -p {} "$x/lib/udev/rules.d/" \;
	[ -d "$root/usr/local" ] && cp -a "$root/usr/local" "$x/"
	[ -d "$root/usr/share/initramfs-tools/hooks" ] && mkdir -p "$x/share/initramfs-tools" &&
		cp -a "$root/usr/share/initramfs-tools/hooks" "$x/share/initramfs-tools/"
	nsrun sh -ec '
		root=$1 kver=$2 mods=$3 x=$4
		mount -t overlay overlay -o "lowerdir=$x:/usr" /usr
		mount --bind "$mods" "/usr/lib/modules/$kver"
		mount --bind "$root/etc/modprobe.d" /etc/modprobe.d
		mount --bind "$root/etc/initramfs-tools" /etc/initramfs-tools
		mount --bind "$root/boot" /boot
		mkinitramfs -o "/boot/initrd.img-$kver" "$kver"
	' sh "$root" "$kver" "$ecache/$kver/root/lib/modules/$kver" "$x" >"$log" 2>&1 || {
		diag "mkinitramfs failed:" "$(tail -n 20 "$log")"
		return 1
	}
	timing "mkinitramfs $kver" $(($(date +%s) - t0))
	[ -z "$pristine" ] || cp "$root/boot/initrd.img-$kver" "$work/initrd.img-$kver"
}

# grub_mkconfig ROOT UUID: the real grub-mkconfig with the host's Debian /etc/grub.d (00_header,
# 10_linux, ...) plus the root's own /etc/grub.d scripts, its /etc/default/grub[.d] and /boot,
# writes ROOT/boot/grub/grub.cfg (what update-grub runs). The real grub-probe needs the device
# the directory is mounted from, which an image file never is: inside the namespace only,
# /usr/sbin/grub-probe answers for partition 1 of an MBR disk holding ext4 with this UUID: fs
# "ext2" (the real grub-probe's word for ext4: host_trial runs it on an ext4 image), partmap
# "msdos", no abstraction, drive (hd0,msdos1), device /dev/sda1 (the AHCI disk of the fixture's
# machine); /dev/disk/by-uuid holds the UUID so that 10_linux writes root=UUID=, as on a host.
# grub-mkrelpath prints the path as it is (/boot is on the root file system).
grub_mkconfig() {
	local root=$1 uuid=$2 s=$work/grub-stub f
	rm -rf "$s"
	mkdir -p "$s/dev/disk/by-uuid" "$s/grub.d"
	touch "$s/dev/disk/by-uuid/$uuid"
	cat >"$s/grub-probe" <<-EOF
		#!/bin/sh
		# grub-probe for the guest disk: (hd0,msdos1) = /dev/sda1, ext4 UUID $uuid
		t=
		while [ \$# -gt 0 ]; do
			case \$1 in --target=*) t=\${1#--target=} ;; -t | --target) t=\$2; shift ;; esac
			shift
		done
		case \$t in
		device) echo /dev/sda1 ;;
		fs) echo ext2 ;;
		fs_uuid) echo $uuid ;;
		drive) echo '(hd0,msdos1)' ;;
		partmap) echo msdos ;;
		abstraction | cryptodisk_uuid | partuuid | fs_label) ;;
		compatibility_hint) echo hd0,msdos1 ;;
		hints_string) echo '--hint-bios=hd0,msdos1 --hint-efi=hd0,msdos1 --hint-baremetal=ahci0,msdos1 ' ;;
		*) echo "grub-probe stub: unknown target \$t" >&2; exit 1 ;;
		esac
	EOF
	printf '#!/bin/sh\necho "$1"\n' >"$s/grub-mkrelpath"
	chmod 0755 "$s/grub-probe" "$s/grub-mkrelpath"
	# Debian's scripts, then the root's own (iommuctl's, installed by apply --trial or the package).
	cp -a /etc/grub.d/. "$s/grub.d/"
	for f in "$root"/etc/grub.d/*; do [ -e "$f" ] && cp -a "$f" "$s/grub.d/"; done
	nsrun sh -ec '
		root=$1 s=$2
		mount -t tmpfs tmpfs "$s/dev"
		mkdir -p "$s/dev/disk/by-uuid"
		touch "$s/dev/disk/by-uuid/$3"
		for n in null zero full random urandom tty; do touch "$s/dev/$n"; mount --bind "/dev/$n" "$s/dev/$n"; done
		ln -s /proc/self/fd "$s/dev/fd"
		mount --rbind "$s/dev" /dev
		mount --bind "$s/grub-probe" /usr/sbin/grub-probe
		mount --bind "$s/grub.d" /etc/grub.d
		mount --bind "$root/etc/default" /etc/default
		mount --bind "$root/boot" /boot
		grub_mkrelpath=$s/grub-mkrelpath grub-mkconfig -o /boot/grub/grub.cfg
	' sh "$root" "$s" "$uuid" >"$work/grub-mkconfig.log" 2>&1 || {
		diag "grub-mkconfig failed:" "$(cat "$work/grub-mkconfig.log")"
		return 1
	}
}

# grub_disk ROOT IMG UUID: an MBR disk image: partition 1 (bootable, from 1 MiB) an ext4 file
# system with ROOT's content (mke2fs -d at that offset), GRUB's boot.img in the MBR and core.img
# (grub-mkimage -O i386-pc, prefix (hd0,msdos1)/boot/grub) in the gap after it, as grub-install
# puts them (boot.img's kernel sector is 1 and diskboot's blocklist starts at 2: their defaults).
grub_disk() {
	local root=$1 img=$2 uuid=$3 kb
	kb=$(du -sk "$root" | cut -f1)
	kb=$((kb + kb / 5 + 65536))
	rm -f "$img"
	truncate -s $(((kb + 1024) * 1024)) "$img"
	printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$img" || return 1
	asroot mke2fs -q -F -t ext4 -U "$uuid" -L trial-root -E offset=1048576 -d "$root" "$img" "${kb}k" \
		>"$img.mke2fs" 2>&1 || { cat "$img.mke2fs" >&2; return 1; }
	grub-mkimage -O i386-pc -o "$work/core.img" -p '(hd0,msdos1)/boot/grub' \
		biosdisk part_msdos ext2 normal configfile linux search search_fs_uuid echo test \
		loadenv serial terminal gzio || return 1
	[ "$(stat -c %s "$work/core.img")" -lt $((2047 * 512)) ] || return 1
	dd if="$grub_pc/boot.img" of="$img" bs=440 count=1 conv=notrunc status=none
	dd if="$work/core.img" of="$img" bs=512 seek=1 conv=notrunc status=none
}

# img_cat IMG PATH: a file of the image's ext4 partition (at byte part_off of the disk).
part_off=1048576
img_cat() { debugfs -R "cat $2" "$1?offset=$part_off" 2>/dev/null; }
# img_put IMG FILE PATH: replace PATH in the image with FILE (what update-grub or update-initramfs
# wrote on the host side).
img_put() {
	debugfs -w -R "rm $3" "$1?offset=$part_off" >/dev/null 2>&1
	debugfs -w -R "write $2 $3" "$1?offset=$part_off" >/dev/null 2>&1
	img_cat "$1" "$3" | cmp -s - "$2"
}
# img_readback IMG DIR: the guest's /e2e.
img_readback() {
	rm -rf "$2"
	mkdir -p "$2"
	debugfs -R "rdump /e2e $2" "$1?offset=$part_off" >/dev/null 2>&1
}

# boot_disk NAME FIXTURE IMG [VARS]: boot the disk through the firmware (SeaBIOS, or OVMF with
# the variable store VARS); the fixture's machine without -kernel, and without -no-reboot: a
# failed trial reboots and the boot loader must take the machine to the old entry. The serial
# console goes to WORK/NAME.console. Sets boot_secs.
boot_disk() {
	local name=$1 args q=() a console=$work/$1.console start rc
	args=$(qemu_args "$2") || { echo "no QEMU command in $2/CAPTURE.md"; return 1; }
	for a in $args; do
		a=${a//@CONSOLE@/$console}
		a=${a//@ROOTIMG@/$3}
		[ -n "${4:-}" ] && a=${a//file=OVMF_VARS.fd/file=$4}
		[ "$a" = -no-reboot ] && continue
		q+=("$a")
	done
	for a in "${!q[@]}"; do [ "${q[$a]}" = -m ] && q[$((a + 1))]=768M; done
	rm -f "$console"
	start=$(date +%s)
	timeout "$boot_timeout" "${q[@]}" </dev/null >"$work/$name.qemu" 2>&1
	rc=$?
	boot_secs=$(($(date +%s) - start))
	timing "$name QEMU run" "$boot_secs"
	# Each boot that reached init: the kernel's uptime when the boot check started.
	diag "$name: $(tr -d '\r' <"$console" | sed -n 's/^trial-init\[\([0-9]*\)\]: boot-check at \([0-9]*\) s$/boot \1 reached the check \2 s after the kernel started/p' | paste -sd ';' -)"
	return $rc
}

# ---- case "loaders": the one-shots themselves, without iommuctl ----

# A grub.d script of the test's own adds an entry (its id e2e-once, the default entry's kernel with
# e2e.reboot appended); grub-editenv sets next_entry=e2e-once. In one QEMU run GRUB must boot that
# entry once (the guest reboots), clear next_entry, and boot the default entry next.
case_loaders_grub() {
	local n=loaders-grub r=$work/loaders.root img=$work/loaders.img uuid kver o t0
	t0=$(date +%s)
	kver=$(kernel_tree "$(kernel_deb '^linux-image-6\.1\.0-[0-9]+-amd64_')") || { not_ok "$n: no 6.1 kernel"; return 1; }
	grub_kver=$kver
	uuid=$(cat /proc/sys/kernel/random/uuid)
	new_trial_root "$r" "$kver"
	real_initramfs "$r" "$kver" pristine || { not_ok "$n: mkinitramfs failed"; return 1; }
	cat >"$r/etc/grub.d/45_e2e_once" <<-EOF2
		#!/bin/sh
		cat <<'EOT'
		menuentry 'e2e once' --id e2e-once {
			insmod part_msdos
			insmod ext2
			search --no-floppy --fs-uuid --set=root $uuid
			linux /boot/vmlinuz-$kver root=UUID=$uuid ro console=ttyS0 no_timer_check rootdelay=20 e2e.reboot
			initrd /boot/initrd.img-$kver
		}
		EOT
	EOF2
	chmod 0755 "$r/etc/grub.d/45_e2e_once"
	grub_mkconfig "$r" "$uuid" || { not_ok "$n: grub-mkconfig"; return 1; }
	grub-editenv "$r/boot/grub/grubenv" set next_entry=e2e-once
	grub_disk "$r" "$img" "$uuid" || { not_ok "$n: disk image"; return 1; }
	timing "$n build" $(($(date +%s) - t0))
	boot_disk "$n" "$fixture_grub" "$img"
	o=$work/$n.out
	img_readback "$img" "$o"
	local b1 b2 env
	b1=$(sed -n 's/^1 cmdline=//p' "$o/e2e/boots" 2>/dev/null)
	b2=$(sed -n 's/^2 cmdline=//p' "$o/e2e/boots" 2>/dev/null)
	if [[ " $b1 " == *" e2e.reboot "* ]] && [ -n "$b2" ] && [[ " $b2 " != *" e2e.reboot "* ]] &&
		[ "$(wc -l <"$o/e2e/boots")" = 2 ]; then
		ok "$n: GRUB booted the next_entry entry once, then the default entry, in one QEMU run ($boot_secs s)"
	else
		not_ok "$n: the boots were not once-then-default"
		diag "$(cat "$o/e2e/boots" 2>/dev/null)"
		console_tail "$n" 30
	fi
	env=$(img_cat "$img" /boot/grub/grubenv)
	if grep -qx 'next_entry=' <<<"$env" && [ "${#env}" -ge 1024 ]; then
		ok "$n: GRUB cleared next_entry in grubenv on the ext4 partition (save_env)"
	else
		not_ok "$n: grubenv after the boots: $(grep -a = <<<"$env")"
	fi
}

# ---- the GRUB cases: the host side ----

# grub_case_root NAME: a guest root for a GRUB case with its initramfs, grub.cfg and grubenv.
# Sets r, img, uuid, kver.
grub_case_root() {
	r=$work/$1.root
	img=$work/$1.img
	kver=$(kernel_tree "$(kernel_deb '^linux-image-6\.1\.0-[0-9]+-amd64_')") || return 1
	uuid=$(cat /proc/sys/kernel/random/uuid)
	new_trial_root "$r" "$kver" || return 1
	real_initramfs "$r" "$kver" pristine || return 1
	grub_mkconfig "$r" "$uuid"
}

# The real grub-probe cannot probe a directory of an image that is not mounted; the probe iommuctl
# runs (IOMMUCTL_GRUB_PROBE, called as "PROBE --target=T DIR") is the real grub-probe on a device
# holding the same file system as the guest's /boot/grub: an ext4 image made by the same mke2fs
# (case 4: the btrfs image itself).
probe_wrapper() {
	local dev=$1 out=$2
	printf '#!/bin/sh\n# grub-probe on %s for the directory %s names\nexec grub-probe "$1" --device %s\n' \
		"$dev" '$2' "$dev" >"$out"
	chmod 0755 "$out"
}
probe_ext4=$work/probe-ext4.img
probe_ext4_sh=$work/probe-ext4.sh
hostproc=$work/host-proc

# host_trial NAME ARGS...: `iommuctl apply --trial ARGS` on the guest root, against the fixture's
# hardware, as the admin runs it on the host. The first run installs /etc/grub.d/45_iommuctl_trial
# and asks for update-grub (--no-hooks: here the real grub-mkconfig), the second arms the trial.
host_trial() {
	local n=$1
	shift
	# The host's /proc is the fixture's, plus the boot id of the boot in which the admin arms the
	# trial (the capture has none): the boot check of a later boot tells by it that the trial boot
	# came and went without reaching its check.
	if [ ! -f "$hostproc/sys/kernel/random/boot_id" ]; then
		mkdir -p "$hostproc"
		cp -a "$fixture_grub/proc/." "$hostproc/"
		mkdir -p "$hostproc/sys/kernel/random"
		cat /proc/sys/kernel/random/uuid >"$hostproc/sys/kernel/random/boot_id"
	fi
	if [ ! -f "$probe_ext4" ]; then
		truncate -s 16M "$probe_ext4"
		mke2fs -q -F -t ext4 "$probe_ext4"
		probe_wrapper "$probe_ext4" "$probe_ext4_sh"
	fi
	IOMMUCTL_GRUB_PROBE=$probe_ext4_sh run_cmd asroot "$IOMMUCTL" --root "$r" --sysfs "$fixture_grub/sys" \
		--procfs "$hostproc" --no-hooks -y "$@"
	# The first run installs the script and stops: grub.cfg must source the trial file first.
	if [ ! -f "$r/boot/grub/iommuctl-trial.cfg" ] && [ -f "$r/etc/grub.d/45_iommuctl_trial" ] &&
		[[ "$err" == *"update-grub has not run"* ]]; then
		diag "$n: first apply --trial (exit $rc): $(grep -v '^  \|^findings' <<<"$out$err" | head -5)"
		grub_mkconfig "$r" "$uuid" || return 1
		IOMMUCTL_GRUB_PROBE=$probe_ext4_sh run_cmd asroot "$IOMMUCTL" --root "$r" --sysfs "$fixture_grub/sys" \
			--procfs "$hostproc" --no-hooks -y "$@"
	fi
	trial_txn=$(sed -n 's/^trial of profile .* armed as transaction \([0-9]*\);.*/\1/p' <<<"$out")
	if [ "$rc" = 0 ] && [ -n "$trial_txn" ] && [ -f "$r/boot/grub/iommuctl-trial.cfg" ] &&
		[ "$(grub-editenv "$r/boot/grub/grubenv" list | sed -n 's/^next_entry=//p')" = iommuctl-trial ]; then
		ok "$n: host-side iommuctl $* armed trial $trial_txn (next_entry=iommuctl-trial)"
	else
		not_ok "$n: host-side iommuctl $*: exit $rc"
		diag "$out" "$err"
		return 1
	fi
	trial_add=$(sed -n 's/^ *command line added: //p' <<<"$out")
	manifest "$r" >"$work/$n.etc-before"
	cp "$r/etc/default/grub" "$work/$n.grub-before"
}

# etc_untouched NAME: the image's /etc (read back) is the root's right after apply --trial: same
# files, contents, modes and owners.
etc_untouched() {
	local n=$1 d=$work/$1.etc-after
	rm -rf "$d"
	mkdir -p "$d"
	debugfs -R "rdump /etc $d" "$img?offset=$part_off" >/dev/null 2>&1
	if [ -d "$d/etc" ] && diff <(manifest "$d") "$work/$n.etc-before" >"$work/$n.etc-diff"; then
		ok "$1: no managed file changed on the disk (/etc as it was after apply --trial)"
	else
		not_ok "$1: /etc on the disk differs from before the trial boot"
		diag "$(head -20 "$work/$n.etc-diff")"
	fi
}

# grubenv_clear NAME: GRUB used the one-shot up and nothing names the trial any more.
grubenv_clear() {
	local env
	env=$(img_cat "$img" /boot/grub/grubenv)
	if grep -qx 'next_entry=' <<<"$env" || ! grep -q '^next_entry=.' <<<"$env"; then
		ok "$1: grubenv's next_entry is empty after the boots"
	else
		not_ok "$1: grubenv still has $(grep -a '^next_entry' <<<"$env")"
	fi
}

# boot_line N: the command line of the guest's boot N (from its /e2e/boots).
boot_line() { sed -n "s/^$1 cmdline=//p" "$o/e2e/boots" 2>/dev/null; }
boots_count() { wc -l <"$o/e2e/boots" 2>/dev/null || echo 0; }
driver_of() { awk -v f="0000:$2" '$1 == f { print $2 }' "$o/e2e/boot-$1.drivers" 2>/dev/null; }

# ---- case 1: a good trial ----
case_good() {
	local n=good t0 line k
	t0=$(date +%s)
	grub_case_root "$n" || { not_ok "$n: guest root"; return 1; }
	# TCG's CPU model has no vmx flag: --force overrides that one blocking finding, which is
	# about KVM, not about anything this boots (as run-e2e.sh's intel scenario).
	host_trial "$n" --force apply --trial gpu || return 1
	grub_disk "$r" "$img" "$uuid" || { not_ok "$n: disk image"; return 1; }
	timing "$n build" $(($(date +%s) - t0))
	boot_disk "$n-trial" "$fixture_grub" "$img"
	o=$work/$n.out1
	img_readback "$img" "$o"
	line=$(boot_line 1)
	if [ "$(boots_count)" = 1 ] && [[ " $line " == *" iommuctl.trial=$trial_txn "* ]] && [[ "$line" == *"$trial_add"* ]]; then
		ok "$n: the trial boot ran the trial entry: its command line ends with the trial's additions ($boot_secs s)"
	else
		not_ok "$n: the trial boot's command line: '$line' (wanted '$trial_add')"
		console_tail "$n-trial" 40
	fi
	if [ "$(cat "$o/e2e/boot-1.check-rc" 2>/dev/null)" = 0 ] && grep -q "trial $trial_txn passed and is committed as transaction" "$o/e2e/boot-1.check"; then
		ok "$n: boot-check passed the trial and committed it"
	else
		not_ok "$n: boot-check in the trial boot: exit $(cat "$o/e2e/boot-1.check-rc" 2>/dev/null)"
		diag "$(cat "$o/e2e/boot-1.check" 2>/dev/null)"
		console_tail "$n-trial" 30
		return 1
	fi
	grubenv_clear "$n"
	if img_cat "$img" /etc/modprobe.d/iommuctl-vfio.conf | grep -q '^softdep bochs pre: vfio-pci' &&
		! img_cat "$img" /boot/grub/iommuctl-trial.cfg | grep -q menuentry &&
		img_cat "$img" /var/log/e2e-hooks.log | grep -q 'update-initramfs' && img_cat "$img" /var/log/e2e-hooks.log | grep -q 'update-grub'; then
		ok "$n: the commit wrote the files (iommuctl-vfio.conf), ran update-initramfs and update-grub, removed the trial entry"
	else
		not_ok "$n: after the commit: iommuctl-vfio.conf, hooks '$(img_cat "$img" /var/log/e2e-hooks.log)', trial file"
	fi

	# What update-grub and update-initramfs do, from the committed files: the real grub-mkconfig
	# and mkinitramfs on the root with the disk's /etc, written back into the image.
	t0=$(date +%s)
	rm -rf "$r/etc.committed" && mkdir -p "$r/etc.committed"
	debugfs -R "rdump /etc $r/etc.committed" "$img?offset=$part_off" >/dev/null 2>&1
	rm -rf "$r/etc" && mv "$r/etc.committed/etc" "$r/etc" && rmdir "$r/etc.committed"
	real_initramfs "$r" "$kver" || { not_ok "$n: mkinitramfs of the committed root"; return 1; }
	grub_mkconfig "$r" "$uuid" || { not_ok "$n: grub-mkconfig of the committed root"; return 1; }
	img_put "$img" "$r/boot/grub/grub.cfg" /boot/grub/grub.cfg &&
		img_put "$img" "$r/boot/initrd.img-$kver" "/boot/initrd.img-$kver" || { not_ok "$n: debugfs write"; return 1; }
	timing "$n update-grub + update-initramfs (host side)" $(($(date +%s) - t0))

	boot_disk "$n-committed" "$fixture_grub" "$img"
	o=$work/$n.out2
	img_readback "$img" "$o"
	line=$(boot_line 2)
	if [ "$(boots_count)" = 2 ] && [[ " $line " != *" iommuctl.trial="* ]] && [[ " $line " == *" intel_iommu=on iommu=pt "* ]]; then
		ok "$n: the next boot runs the default entry with the committed command line ($boot_secs s)"
	else
		not_ok "$n: the committed boot's command line: '$line'"
		console_tail "$n-committed" 40
	fi
	k=
	for f in 01:00.0:vfio-pci 01:00.1:vfio-pci 00:1b.0:snd_hda_intel 02:00.0:e1000e; do
		[ "$(driver_of 2 "${f%:*}")" = "${f##*:}" ] || k+=" ${f%:*} on '$(driver_of 2 "${f%:*}")', wanted ${f##*:};"
	done
	if [ -z "$k" ] && [ -s "$o/e2e/boot-2.drivers" ]; then
		ok "$n: committed boot: 01:00.0 and 01:00.1 on vfio-pci, the host's HDA and NIC on their drivers"
	else
		not_ok "$n: committed boot drivers:$k"
		diag "$(cat "$o/e2e/boot-2.drivers" 2>/dev/null)"
	fi
	if [ "$(cat "$o/e2e/boot-2.check-rc" 2>/dev/null)" = 0 ] && grep -q "first boot after the commit of trial $trial_txn" "$o/e2e/boot-2.check" &&
		! grep -q FAIL "$o/e2e/boot-2.check"; then
		ok "$n: the first boot after the commit is checked again and passes"
	else
		not_ok "$n: boot-check of the first committed boot: exit $(cat "$o/e2e/boot-2.check-rc" 2>/dev/null)"
		diag "$(cat "$o/e2e/boot-2.check" 2>/dev/null)"
	fi
	diag "history after the boots:" "$(cat "$o/e2e/boot-2.history" 2>/dev/null)"
}

# history_says TXN STATE FILE: the guest's `iommuctl history` lists the trial with that state.
history_says() {
	awk -v t="$1" '$1 == t' "$3" 2>/dev/null | grep -qw "$2"
}

# local_profile NAME MODULE: a root-owned local profile that blacklists MODULE.
local_profile() {
	local prof=$r/etc/iommuctl/profiles/$1.conf
	mkdir -p "${prof%/*}"
	printf '[profile]\ndescription = trial-boot: blacklist %s\n[blacklist]\nadd = %s\n' "$2" "$2" >"$prof"
	chmod 0644 "$prof"
}

# ---- case 2: a trial that never reaches the check ----
case_broken() {
	local n=broken t0 line con
	t0=$(date +%s)
	grub_case_root "$n" || { not_ok "$n: guest root"; return 1; }
	# ahci drives the root disk (ide-hd on q35's ICH9 AHCI): blacklisted, the trial's initramfs never
	# finds its root. --force: the safety analysis refuses a blacklisted root disk driver.
	local_profile break ahci
	host_trial "$n" --force apply --trial break || return 1
	contains "$n: the trial line blacklists ahci and carries panic=" "$trial_add" "modprobe.blacklist=ahci"
	grub_disk "$r" "$img" "$uuid" || { not_ok "$n: disk image"; return 1; }
	timing "$n build" $(($(date +%s) - t0))
	boot_disk "$n" "$fixture_grub" "$img"
	o=$work/$n.out
	img_readback "$img" "$o"
	con=$(tr -d '\r' <"$work/$n.console")
	line=$(boot_line 1)
	if grep -q "Command line: .* iommuctl.trial=$trial_txn " <<<"$con " && grep -q 'Rebooting automatically due to panic= boot argument' <<<"$con"; then
		ok "$n: the trial boot ran the trial line, initramfs-tools found no root and rebooted (panic=)"
	else
		not_ok "$n: no trial boot that panicked and rebooted in the console"
		console_tail "$n" 40
	fi
	if [ "$(boots_count)" = 1 ] && [ -n "$line" ] && [[ " $line " != *" iommuctl.trial="* ]] &&
		[ "$(grep -c 'GNU GRUB  version' <<<"$con")" = 2 ]; then
		ok "$n: in the same QEMU run GRUB booted the old entry, which reached init and the check ($boot_secs s)"
	else
		not_ok "$n: the boot after the panic: $(boots_count) boot(s) reached init; boot 1: '$line'"
		console_tail "$n" 30
	fi
	etc_untouched "$n"
	grubenv_clear "$n"
	if history_says "$trial_txn" failed "$o/e2e/boot-1.history"; then
		ok "$n: history says trial $trial_txn failed"
	else
		not_ok "$n: history does not say trial $trial_txn failed"
		diag "boot-check: $(cat "$o/e2e/boot-1.check" 2>/dev/null)" "history: $(cat "$o/e2e/boot-1.history" 2>/dev/null)"
	fi
}

# ---- case 3: a trial that boots but fails the check ----
case_nocheck() {
	local n=nocheck t0 l1 l2
	t0=$(date +%s)
	grub_case_root "$n" || { not_ok "$n: guest root"; return 1; }
	# The e1000e at 02:00.0 carries the default route: vfio-pci takes it in the trial (--force: the
	# safety analysis refuses that), the host is up without its network, the check must fail.
	host_trial "$n" --force apply --trial --device 02:00.0 gpu || return 1
	grub_disk "$r" "$img" "$uuid" || { not_ok "$n: disk image"; return 1; }
	timing "$n build" $(($(date +%s) - t0))
	boot_disk "$n" "$fixture_grub" "$img"
	o=$work/$n.out
	img_readback "$img" "$o"
	l1=$(boot_line 1)
	l2=$(boot_line 2)
	if [[ " $l1 " == *" iommuctl.trial=$trial_txn "* ]] && [ "$(cat "$o/e2e/boot-1.check-rc" 2>/dev/null)" != 0 ] &&
		grep -q FAIL "$o/e2e/boot-1.check" && [ "$(driver_of 1 02:00.0)" != e1000e ]; then
		ok "$n: the trial boot lost its NIC (02:00.0 on '$(driver_of 1 02:00.0)') and boot-check failed it"
	else
		not_ok "$n: trial boot: line '$l1', 02:00.0 on '$(driver_of 1 02:00.0)', check exit $(cat "$o/e2e/boot-1.check-rc" 2>/dev/null)"
		diag "$(cat "$o/e2e/boot-1.check" 2>/dev/null)"
		console_tail "$n" 30
	fi
	diag "boot-check in the trial boot: $(cat "$o/e2e/boot-1.check" 2>/dev/null)"
	if [ "$(boots_count)" = 2 ] && [ -n "$l2" ] && [[ " $l2 " != *" iommuctl.trial="* ]] && [ "$(driver_of 2 02:00.0)" = e1000e ] &&
		grep -q 'iommuctl: rebooting' "$o/e2e/boot-1.check"; then
		ok "$n: boot-check rebooted; in the same QEMU run the old entry booted with the NIC on e1000e ($boot_secs s)"
	else
		not_ok "$n: after the failed check: $(boots_count) boots; boot 2 '$l2', 02:00.0 on '$(driver_of 2 02:00.0)'"
		console_tail "$n" 30
	fi
	etc_untouched "$n"
	grubenv_clear "$n"
	if history_says "$trial_txn" failed "$o/e2e/boot-2.history"; then
		ok "$n: history says trial $trial_txn failed"
	else
		not_ok "$n: history does not say trial $trial_txn failed"
		diag "$(cat "$o/e2e/boot-2.history" 2>/dev/null)"
	fi
}

# ---- case 4: GRUB's environment block on btrfs (BIOS) ----
# A real btrfs file system (mkfs.btrfs --rootdir with the root's /boot, on a file, not mounted),
# probed by the real grub-probe: apply --trial must refuse with exit 3 and arm nothing.
case_btrfs() {
	local n=btrfs b before
	grub_case_root "$n" || { not_ok "$n: guest root"; return 1; }
	b=$work/$n.btrfs.img
	rm -f "$b"
	truncate -s 256M "$b"
	if ! mkfs.btrfs -q -f --rootdir "$r/boot" "$b" >"$work/$n.mkfs" 2>&1; then
		not_ok "$n: mkfs.btrfs: $(cat "$work/$n.mkfs")"
		return 1
	fi
	probe_wrapper "$b" "$work/$n.probe.sh"
	if [ "$("$work/$n.probe.sh" --target=fs "$r/boot/grub")" = btrfs ]; then
		ok "$n: the real grub-probe reads the image as btrfs"
	else
		not_ok "$n: grub-probe on the btrfs image: $("$work/$n.probe.sh" --target=fs "$r/boot/grub" 2>&1)"
	fi
	before=$(manifest "$r"; cat "$r/boot/grub/grubenv")
	IOMMUCTL_GRUB_PROBE=$work/$n.probe.sh run_cmd asroot "$IOMMUCTL" --root "$r" --sysfs "$fixture_grub/sys" \
		--procfs "$fixture_grub/proc" --no-hooks -y --force apply --trial gpu
	if [ "$rc" = 3 ] && [[ "$err" == *btrfs* ]]; then
		ok "$n: apply --trial refused (exit 3): $(tail -n 1 <<<"$err")"
	else
		not_ok "$n: apply --trial on a btrfs /boot: exit $rc, wanted 3"
		diag "$out" "$err"
	fi
	if [ "$before" = "$(manifest "$r"; cat "$r/boot/grub/grubenv")" ] && [ ! -e "$r/boot/grub/iommuctl-trial.cfg" ] &&
		! "$IOMMUCTL" --root "$r" history 2>/dev/null | grep -qw armed; then
		ok "$n: nothing armed or written (grubenv, /etc, no trial file, no armed trial)"
	else
		not_ok "$n: something was written or armed"
		diag "$("$IOMMUCTL" --root "$r" history 2>&1)"
	fi
}

# ---- case 5: systemd-boot on OVMF ----

# efi_disk ESPDIR ROOT IMG UUID ESPID: a GPT disk: partition 1 the ESP (FAT32 made by mkfs.vfat -C
# with volume id ESPID, filled by mcopy), partition 2 an ext4 root (mke2fs -d at its offset).
# Sets part_off to the root partition's offset.
esp_kb=131072
efi_disk() {
	local esp=$1 root=$2 img=$3 uuid=$4 espid=$5 kb vfat=$work/esp.vfat
	kb=$(du -sk "$root" | cut -f1)
	kb=$((kb + kb / 5 + 65536))
	rm -f "$img" "$vfat"
	truncate -s $(((1024 + esp_kb + kb + 1024) * 1024)) "$img"
	printf 'label: gpt\nstart=2048, size=%d, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nstart=%d, type=0FC63DAF-8483-4772-8E79-3D69E4C74764\n' \
		$((esp_kb * 2)) $((2048 + esp_kb * 2)) | sfdisk -q "$img" || return 1
	mkfs.vfat -F 32 -s 1 -n ESP -i "${espid//-/}" -C "$vfat" "$esp_kb" >/dev/null || return 1
	mcopy -s -Q -i "$vfat" "$esp"/* ::/ || return 1
	dd if="$vfat" of="$img" bs=1M seek=1 conv=notrunc status=none
	rm -f "$vfat"
	part_off=$(((2048 + esp_kb * 2) * 512))
	asroot mke2fs -q -F -t ext4 -U "$uuid" -L trial-root -E offset=$part_off -d "$root" "$img" "${kb}k" \
		>"$img.mke2fs" 2>&1 || { cat "$img.mke2fs" >&2; return 1; }
}
# esp_ls IMG DIR / esp_cat IMG PATH: the ESP partition read back by mtools.
esp_ls() { mdir -b -i "$1@@1048576" "::$2" 2>/dev/null; }
esp_cat() { mtype -i "$1@@1048576" "::$2" 2>/dev/null; }

# A Proxmox VE host that boots systemd-boot through proxmox-boot-tool (ESP listed by its vfat UUID,
# not mounted): the loader.conf and entry proxmox-boot-tool writes (zz-proxmox-boot,
# copy_and_config_kernels; set_systemd_boot_default), the kernel and initrd under EFI/proxmox/KVER,
# systemd-boot 252 as EFI/BOOT/BOOTX64.EFI. The guest runs apply --trial itself: a profile that
# blacklists virtio_blk, the root disk's driver, so the trial never reaches the check; systemd-boot
# must have deleted LoaderEntryOneShot when it read it, and the next boot is the old entry.
case_sdboot() {
	local n=sdboot t0 kver esp espid vars con l1 l2
	t0=$(date +%s)
	r=$work/$n.root
	img=$work/$n.img
	esp=$work/$n.esp
	vars=$work/$n.OVMF_VARS.fd
	kver=$(kernel_tree "$(kernel_deb '^linux-image-6\.12\.[0-9]+\+deb12-amd64_')") || { not_ok "$n: no 6.12 kernel"; return 1; }
	uuid=$(cat /proc/sys/kernel/random/uuid)
	espid=$(printf '%04X-%04X' $((RANDOM)) $((RANDOM)))
	new_trial_root "$r" "$kver" || { not_ok "$n: guest root"; return 1; }
	rm -rf "$r/etc/default/grub" "$r/etc/default/grub.d" "$r/boot/grub"
	mkdir -p "$r/etc/kernel" "$r/dev/disk"
	echo "root=UUID=$uuid ro console=ttyS0 no_timer_check rootdelay=20" >"$r/etc/kernel/cmdline"
	echo "$espid" >"$r/etc/kernel/proxmox-boot-uuids"
	cp /lib/udev/rules.d/60-persistent-storage.rules "$r/lib/udev/rules.d/"
	real_initramfs "$r" "$kver" pristine || { not_ok "$n: mkinitramfs failed"; return 1; }
	local_profile break virtio_blk
	echo "--force apply --trial break" >"$r/e2e/apply-args"
	rm -rf "$esp"
	mkdir -p "$esp/EFI/BOOT" "$esp/EFI/proxmox/$kver" "$esp/loader/entries"
	cp "$sdboot_efi" "$esp/EFI/BOOT/BOOTX64.EFI"
	cp "$r/boot/vmlinuz-$kver" "$r/boot/initrd.img-$kver" "$esp/EFI/proxmox/$kver/"
	printf 'timeout 3\ndefault proxmox-*\n' >"$esp/loader/loader.conf"
	cat >"$esp/loader/entries/proxmox-$kver.conf" <<-EOF
		title    Proxmox Virtual Environment
		version  $kver
		options  $(cat "$r/etc/kernel/cmdline")
		linux    /EFI/proxmox/$kver/vmlinuz-$kver
		initrd   /EFI/proxmox/$kver/initrd.img-$kver
	EOF
	efi_disk "$esp" "$r" "$img" "$uuid" "$espid" || { not_ok "$n: disk image"; return 1; }
	cp "$ovmf_vars" "$vars"
	timing "$n build" $(($(date +%s) - t0))
	boot_disk "$n" "$fixture_efi" "$img" "$vars"
	o=$work/$n.out
	img_readback "$img" "$o"
	con=$(tr -d '\r' <"$work/$n.console")
	if [ "$(cat "$o/e2e/apply.rc" 2>/dev/null)" = 0 ] && grep -q "LoaderEntryOneShot-4a67b082" "$o/e2e/apply.efivars" &&
		grep -q 'armed as transaction' "$o/e2e/apply.out"; then
		ok "$n: in the guest, apply --trial armed LoaderEntryOneShot (proxmox-boot-tool's ESP mounted privately)"
	else
		not_ok "$n: apply --trial in the guest: exit $(cat "$o/e2e/apply.rc" 2>/dev/null)"
		diag "$(cat "$o/e2e/apply.out" 2>/dev/null)"
		console_tail "$n" 30
		return 1
	fi
	trial_txn=$(sed -n 's/^trial of profile .* armed as transaction \([0-9]*\);.*/\1/p' "$o/e2e/apply.out")
	diag "$(grep -v '^  \(info\|blocking\) \|^           next' "$o/e2e/apply.out")"
	l1=$(boot_line 1)
	l2=$(boot_line 2)
	if grep -q "Command line: .*iommuctl.trial=$trial_txn" <<<"$con" && grep -q 'Rebooting automatically due to panic= boot argument' <<<"$con"; then
		ok "$n: systemd-boot ran the trial entry; it found no root and rebooted (panic=)"
	else
		not_ok "$n: no trial boot that panicked in the console"
		console_tail "$n" 40
	fi
	if [ "$(boots_count)" = 2 ] && [[ " $l1 " != *" iommuctl.trial="* ]] && [[ " $l2 " != *" iommuctl.trial="* ]] && [ -n "$l2" ] &&
		! grep -q '^LoaderEntryOneShot-' "$o/e2e/boot-2.efivars" && [ "$(cat "$o/e2e/boot-2.selected" 2>/dev/null)" = "proxmox-$kver.conf" ]; then
		ok "$n: the next boot was the old entry ($(cat "$o/e2e/boot-2.selected" 2>/dev/null)), LoaderEntryOneShot is gone (systemd-boot deleted it) ($boot_secs s for the QEMU run)"
	else
		not_ok "$n: after the trial: $(boots_count) boots reached init; boot 2: '$l2'; efivars: $(grep -o '^Loader[A-Za-z]*' "$o/e2e/boot-2.efivars" 2>/dev/null | tr '\n' ' ')"
		console_tail "$n" 30
	fi
	if grep -qx "$kver" "$o/e2e/apply.pins" 2>/dev/null; then
		ok "$n: while the trial was pending, kernel $kver was kept in /etc/kernel/proxmox-boot-manual-kernels"
	else
		not_ok "$n: /etc/kernel/proxmox-boot-manual-kernels after apply --trial: '$(cat "$o/e2e/apply.pins" 2>/dev/null)'"
	fi
	# The boot after the lost trial records it failed and disarms it: the entry leaves the ESP
	# (mounted again in a private namespace), the pin leaves the list; proxmox-boot-tool's entry stays.
	if history_says "$trial_txn" failed "$o/e2e/boot-2.history"; then
		ok "$n: the next boot's check found the trial lost; history says trial $trial_txn failed"
	else
		not_ok "$n: history does not say trial $trial_txn failed"
	fi
	if [ "$(esp_ls "$img" /loader/entries | sed 's|.*/||' | tr -d ' ' | grep -c .)" = 1 ] &&
		esp_cat "$img" "/loader/entries/proxmox-$kver.conf" | grep -q "^linux    /EFI/proxmox/$kver/vmlinuz-$kver" &&
		! img_cat "$img" /etc/kernel/proxmox-boot-manual-kernels | grep -qx "$kver"; then
		ok "$n: the trial entry is gone from the ESP, proxmox-boot-tool's entry is untouched, the kernel pin is gone"
	else
		not_ok "$n: the ESP's entries: $(esp_ls "$img" /loader/entries | tr '\n' ' '); manual kernels: $(img_cat "$img" /etc/kernel/proxmox-boot-manual-kernels)"
	fi
	diag "ESP entries after the boots: $(esp_ls "$img" /loader/entries | tr '\n' ' ')" \
		"boot-check in boot 2: $(cat "$o/e2e/boot-2.check" 2>/dev/null)" "history: $(cat "$o/e2e/boot-2.history" 2>/dev/null)"
}

for c in $cases; do
	case $c in
	loaders) case_loaders_grub ;;
	good) case_good ;;
	broken) case_broken ;;
	nocheck) case_nocheck ;;
	btrfs) case_btrfs ;;
	sdboot) case_sdboot ;;
	*) not_ok "unknown case '$c' in TRIAL_CASES" ;;
	esac
done
diag "timing: total $(($(date +%s) - t_start)) s on $(nproc) cores"
plan_late
