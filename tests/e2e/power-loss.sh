#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# power-loss.sh — power-cut simulation for iommuctl's transaction protocol (DESIGN.md §6), beyond
# kill -9: what a disk really holds after the power goes, checked at many instants.
#
# usage: tests/e2e/power-loss.sh        (meson test t0810-power-loss; about 4 minutes)
#
# Method: record every write, replay any crash point (dm-log-writes).
#   A Debian kernel (6.12 by default) boots in QEMU (TCG) with everything in its initramfs and two
#   virtio disks: a data disk holding an ext4 file system made here (sandbox root
#   fixtures/roots/pve8-grub in /root, the captured hardware fixtures/hw/q35-amd-6.12 in /hw) and
#   a log disk. The guest (power-loss-init.sh) stacks the kernel's own dm-log-writes target on
#   them ("log-writes /dev/vda /dev/vdb"), mounts the ext4 through it and runs iommuctl writing
#   commands in a loop: "apply PROFILE" / "rollback", PROFILE going round nvidia, amd, intel,
#   vfio, iommu, with --root /data/root --sysfs/--procfs /data/hw --no-hooks -y. Once the loop
#   has finished its first command, this script kills QEMU with SIGKILL after a random delay;
#   several runs, several delays.
#
#   dm-log-writes records each write that reaches the data disk, with its FLUSH/FUA flags, in
#   the order a disk with a volatile write cache makes writes durable: a plain write is logged
#   only when a later flush has completed, a FUA write when it completes. Replaying the log onto
#   a copy of the pristine data disk up to a flush gives exactly "only what was flushed
#   survived"; any prefix, and any subset of the plain writes between two flushes (reordered
#   write-back), is also a state a power cut can leave. That is the method the Linux file
#   system developers use for crash consistency (xfstests' replay-log; power-loss-check.py is
#   our own replay of the documented log format).
#
#   Why not QEMU's cache modes: with cache=unsafe QEMU ignores the guest's flushes but its
#   writes still sit in the HOST's page cache, which a QEMU kill does not lose; the guest's
#   unsubmitted page cache is lost, but every write the guest had submitted, flushed or not,
#   survives; cache=none/directsync make every write durable at once. Neither drops the
#   unflushed writes. QEMU's blkreplay records guest I/O for record/replay, not flush
#   boundaries, and its blklogwrites driver would do the same as dm-log-writes on the host side
#   but is not in every Debian QEMU. The raw data disk after the SIGKILL (cache=unsafe: guest
#   page cache lost, submitted writes kept) is checked too, as one more state per run.
#
# For each crash state (power-loss-check.py): the ext4 journal is replayed as mount would
# (e2fsck -E journal_only) and e2fsck -fn must find nothing else; the sandbox root is copied out
# with debugfs rdump; every managed file must be one of the states the journal knows (sha256 and
# mode against the file_change table, read with SQLite); "iommuctl recover" must exit 0 and leave
# nothing pending, PRAGMA integrity_check ok, no foreign-key error, nothing salvaged, every file
# exactly the journal's view (the interrupted transaction's files ALL back to "before"), no stray
# temporary file; and "iommuctl snapshot" must find no unrecorded change.
#
# Environment: IOMMUCTL, SRCDIR, BUILDDIR (default: this checkout, build-tests/),
#   PL_RUNS (default 3), PL_DELAYS (seconds from the loop's start to the kill, one per run;
#   default random 4..24), PL_SEED (random states and delays; default random, printed),
#   PL_KERNEL (regex for the linux-image .deb, default 6.12), PL_FLUSH_STATES, PL_PREFIX_STATES,
#   PL_TORN_STATES (states per run: flush points, default -1 = every one; random prefixes, default
#   50; torn batches, default 50), PL_ACCEL (default tcg), PL_KEEP=1 (keep scratch).
# Kernels as in run-e2e.sh: tests/kernels/fetch-kernels.sh BUILDDIR/kernel-cache, the module trees
# extracted into BUILDDIR/kernel-cache/e2e/KVER (shared with run-e2e.sh, same layout and lock).
# Skips (TAP "1..0 # SKIP") when QEMU, a tool or the kernels are missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${IOMMUCTL:=$SRCDIR/build-tests/iommuctl}"
[ -x "$IOMMUCTL" ] || { echo "1..0 # SKIP no iommuctl binary at $IOMMUCTL (build first)"; exit 0; }
: "${BUILDDIR:=$(cd "$(dirname "$IOMMUCTL")" && pwd)}"
export SRCDIR IOMMUCTL BUILDDIR
export PATH=$PATH:/usr/sbin:/sbin
# shellcheck source=../test-lib.sh
. "$SRCDIR/tests/test-lib.sh"
# shellcheck source=e2e-lib.sh
. "$here/e2e-lib.sh"

runs=${PL_RUNS:-3}
seed=${PL_SEED:-$((RANDOM * 32768 + RANDOM))}
kernel_re=${PL_KERNEL:-'^linux-image-6\.12\.[0-9]+\+deb12-amd64_'}
accel=${PL_ACCEL:-tcg}
fixture_root=$FIXTURES/roots/pve8-grub
fixture_hw=$FIXTURES/hw/q35-amd-6.12

skip_all() { echo "1..0 # SKIP $*"; exit 0; }

command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 is not installed"
[ -x /bin/busybox ] || skip_all "/bin/busybox is missing (busybox-static)"
kmod_bin=$(command -v kmod) || skip_all "kmod is not installed"
dmsetup_bin=$(command -v dmsetup) || skip_all "dmsetup is not installed (dmsetup)"
for t in depmod mke2fs e2fsck debugfs cpio dpkg-deb "$PYTHON"; do
	command -v "$t" >/dev/null || skip_all "$t is not installed"
done
if [ "$(id -u)" != 0 ] && ! unshare -r true 2>/dev/null; then
	skip_all "not root and no user namespaces: the guest's files could not be root-owned"
fi
asroot() { if [ "$(id -u)" = 0 ]; then "$@"; else unshare -r "$@"; fi; }

kernel_cache_setup
work=$(mktemp -d "$BUILDDIR/power-loss.XXXXXX")
qpid=
cleanup() {
	[ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null
	rm -rf "$TEST_TMP"
	if [ "${PL_KEEP:-0}" = 1 ]; then echo "# scratch kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
# One copy of the binary for the guest and the host checks: a rebuild of the build tree while
# this runs (minutes) would otherwise swap it under us (exec of a half-linked file: EACCES).
cp "$IOMMUCTL" "$work/iommuctl"
IOMMUCTL=$work/iommuctl




# pl_initramfs KVER OUT: busybox, kmod, dmsetup, iommuctl, the modules for virtio disks,
# dm-log-writes and ext4, and power-loss-init.sh as /init. Uncompressed (TCG unpacks slowly).
pl_initramfs() {
	local kver=$1 out=$2 w=$work/initrd ktree=$ecache/$1/root a f rel
	rm -rf "$w"
	mkdir -p "$w"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,data} "$w/lib/modules/$kver"
	cp /bin/busybox "$w/bin/busybox"
	for a in $(/bin/busybox --list); do
		case $a in
		busybox | modprobe | insmod | rmmod | lsmod | depmod | modinfo) ;;
		*) [ -e "$w/bin/$a" ] || ln -s busybox "$w/bin/$a" ;;
		esac
	done
	copy_exe "$kmod_bin" "$w" /sbin/kmod
	for a in modprobe insmod lsmod; do ln -sf kmod "$w/sbin/$a"; done
	copy_exe "$dmsetup_bin" "$w" /sbin/dmsetup
	copy_exe "$IOMMUCTL" "$w" /usr/sbin/iommuctl libkmod.so.2 libarchive.so.13
	for m in virtio_blk dm-log-writes ext4 crc32c_generic; do
		modprobe -d "$ktree" -S "$kver" --show-depends "$m" 2>/dev/null
	done | sed -n 's/^insmod \([^ ]*\).*/\1/p' | sort -u | while read -r f; do
		rel=${f#"$ktree/"}
		mkdir -p "$w/$(dirname "$rel")"
		cp "$f" "$w/$rel"
	done
	cp "$ktree/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$w/lib/modules/$kver/"
	depmod -b "$w" "$kver" || return 1
	cp "$here/power-loss-init.sh" "$w/init"
	chmod 0755 "$w/init"
	(cd "$w" && find . | cpio -o -H newc --quiet) >"$out"
}

# pl_data_image OUT: the pristine data disk: ext4 with /root (the Proxmox host's /etc) and /hw.
pl_data_image() {
	local d=$work/data.d
	rm -rf "$d"
	mkdir -p "$d/root" "$d/hw"
	cp -a "$fixture_root/." "$d/root/"
	cp -a "$fixture_hw/sys" "$fixture_hw/proc" "$d/hw/"
	asroot mke2fs -q -F -t ext4 -L power-loss -d "$d" "$1" 64M >"$work/mke2fs.log" 2>&1
}

# pl_boot_and_kill NAME KVER DELAY: boot with fresh disks, wait for the loop, SIGKILL after DELAY s.
# Sets commands_done (commands the guest reported finished before the kill).
pl_boot_and_kill() {
	local n=$1 kver=$2 delay=$3 con=$work/$1.console t0 waited=0
	cp "$work/base.img" "$work/$n.data.img"
	rm -f "$work/$n.log.img"
	truncate -s 1G "$work/$n.log.img"
	: >"$con"
	qemu-system-x86_64 -machine "q35,accel=$accel" -cpu max -smp 2 -m 512M -nodefaults \
		-display none -no-reboot -monitor none -serial "file:$con" \
		-drive "file=$work/$n.data.img,format=raw,if=none,id=data,cache=unsafe" \
		-device virtio-blk-pci,drive=data \
		-drive "file=$work/$n.log.img,format=raw,if=none,id=log,cache=unsafe" \
		-device virtio-blk-pci,drive=log \
		-kernel "$ecache/$kver/vmlinuz" -initrd "$work/initrd.img" \
		-append "console=ttyS0 no_timer_check panic=-1 quiet" </dev/null >"$work/$n.qemu" 2>&1 &
	qpid=$!
	t0=$(date +%s)
	while ! grep -q 'power-loss: LOOP-STARTED' "$con" 2>/dev/null; do
		if ! kill -0 "$qpid" 2>/dev/null || grep -q 'SETUP FAILED' "$con" || [ "$waited" -gt 300 ]; then
			kill -9 "$qpid" 2>/dev/null
			wait "$qpid" 2>/dev/null
			qpid=
			return 1
		fi
		sleep 0.5
		waited=$(($(date +%s) - t0))
	done
	# The delay counts from the first finished command, not from the loop's start: on a loaded
	# machine (TCG beside other tests) a first command can take longer than the shortest delay,
	# and a run that kills before any command finished has no "after" state to check against.
	while ! grep -q '^power-loss: cmd ' "$con" 2>/dev/null; do
		if ! kill -0 "$qpid" 2>/dev/null || [ "$waited" -gt 600 ]; then
			kill -9 "$qpid" 2>/dev/null
			wait "$qpid" 2>/dev/null
			qpid=
			return 1
		fi
		sleep 0.2
		waited=$(($(date +%s) - t0))
	done
	diag "$n: guest loop started and finished its first command after $waited s; SIGKILL in $delay s"
	sleep "$delay"
	kill -9 "$qpid"
	wait "$qpid" 2>/dev/null
	qpid=
	commands_done=$(grep -c '^power-loss: cmd ' "$con")
	return 0
}

# ---- the run ----
deb=$(kernel_deb "$kernel_re")
[ -n "$deb" ] || skip_all "no kernel package matching $kernel_re in $cache/debs"
kver=$(kernel_tree "$deb") || skip_all "cannot extract $deb"
pl_initramfs "$kver" "$work/initrd.img" || { not_ok "initramfs for $kver"; plan_late; exit 1; }
if ! pl_data_image "$work/base.img"; then
	not_ok "mke2fs of the data disk: $(cat "$work/mke2fs.log")"
	plan_late
	exit 1
fi
diag "kernel $kver, accel $accel, seed $seed, $runs runs"
RANDOM=$seed
read -ra delays <<<"${PL_DELAYS:-}"
keep_arg=()
[ "${PL_KEEP:-0}" = 1 ] && keep_arg=(--keep)
total_states=0
t_all=$(date +%s)
for r in $(seq 1 "$runs"); do
	n=run$r
	delay=${delays[$((r - 1))]:-$((4 + RANDOM % 21))}
	if ! pl_boot_and_kill "$n" "$kver" "$delay"; then
		not_ok "$n: the guest did not start its loop or finish a first command"
		diag "$(tr -d '\r' <"$work/$n.console" | tail -n 25)" "$(cat "$work/$n.qemu")"
		continue
	fi
	bad=$(grep '^power-loss: cmd .* rc=[1-9]' "$work/$n.console")
	if [ "$commands_done" -gt 0 ] && [ -z "$bad" ]; then
		ok "$n: $commands_done iommuctl commands finished in the guest (exit 0 each) before SIGKILL at +$delay s"
	else
		not_ok "$n: $commands_done commands finished; failures: ${bad:-none}"
		diag "$(tr -d '\r' <"$work/$n.console" | grep '^power-loss:' | tail -n 20)"
	fi
	# The checker prints TAP lines without numbers: number them here.
	"$PYTHON" "$here/power-loss-check.py" --run "$n" --log "$work/$n.log.img" \
		--base "$work/base.img" --raw "$work/$n.data.img" --console "$work/$n.console" \
		--fixture-root "$fixture_root" --hw "$fixture_hw" --iommuctl "$IOMMUCTL" \
		--work "$work/$n.check" --seed "$((seed + r))" \
		--flush-states "${PL_FLUSH_STATES:--1}" --prefix-states "${PL_PREFIX_STATES:-50}" \
		--torn-states "${PL_TORN_STATES:-50}" "${keep_arg[@]}" \
		2>&1 | while IFS= read -r line; do
		case $line in
		"ok - "*) echo "ok - ${line#ok - }" ;;
		"not ok - "*) echo "not ok - ${line#not ok - }" ;;
		*) echo "# ${line#\# }" ;;
		esac
	done >"$work/$n.tap"
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done <"$work/$n.tap"
	if [ -f "$work/$n.check/summary.json" ]; then
		s=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["states"])' "$work/$n.check/summary.json")
		total_states=$((total_states + s))
	else
		not_ok "$n: power-loss-check.py did not finish (no summary; its output is above)"
	fi
	[ "${PL_KEEP:-0}" = 1 ] || rm -f "$work/$n.data.img" "$work/$n.log.img"
done
diag "crash states checked: $total_states in $runs runs ($(($(date +%s) - t_all)) s; seed $seed)"
plan_late
