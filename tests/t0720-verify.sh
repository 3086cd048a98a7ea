#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0720 — verify: the running system from captured sysfs/procfs trees, and the next boot from
# a grub.cfg and initramfs images built with the real tools (cpio, gzip, zstd, xz) the way
# Debian's initramfs-tools lays them out (an uncompressed early archive, then the main one).
. "$(dirname "$0")/test-lib.sh"

intel=$FIXTURES/hw/q35-intel-6.1
[ -d "$intel/sys" ] || { echo "1..0 # SKIP $intel was not captured"; exit 0; }
for t in cpio gzip zstd xz; do command -v $t >/dev/null || { echo "1..0 # SKIP $t is not installed"; exit 0; }; done
hw=(--sysfs "$intel/sys" --procfs "$intel/proc")

# ---- nothing applied yet ----
r=$(new_root pve8-grub)
expect_exit 2 "verify without a profile on a root where nothing was applied" "$IOMMUCTL" --root "$r" "${hw[@]}" verify
contains "... says to name one" "$err" "name the profile"

# ---- the running system, read from the capture ----
booted=$(cat "$intel/proc/cmdline")
run_cmd "$IOMMUCTL" --root "$r" "${hw[@]}" --json verify iommu
printf '%s' "$out" >"$TEST_TMP/v.json"
# The capture booted with intel_iommu=on iommu=pt and has dmar0, groups and IR- interrupts.
if [ "$rc" = 0 ] && json_check "$TEST_TMP/v.json" 'd["ok"] and {c["id"] for c in d["checks"]} >= {"cmdline-param", "iommu-active", "iommu-groups", "interrupt-remapping"}'; then
	ok "verify iommu on the capture ($booted): every check passes (exit 0)"
else
	not_ok "verify iommu: exit $rc"; diag "$out" "$err"
fi
# A copy booted without the parameters and without the IOMMU.
off=$TEST_TMP/off
mkdir -p "$off"; cp -a "$intel/sys" "$intel/proc" "$off/"
sed -i 's/ intel_iommu=on iommu=pt//' "$off/proc/cmdline"
rm -rf "$off/sys/class/iommu/"*
run_cmd "$IOMMUCTL" --root "$r" --sysfs "$off/sys" --procfs "$off/proc" verify iommu
if [ "$rc" = 1 ] && [[ "$out" == *"FAIL  cmdline-param"*"lacks intel_iommu=on"* ]] && [[ "$out" == *"FAIL  iommu-active"* ]] && [[ "$out" == *"next: "* ]]; then
	ok "booted without the parameters: FAIL lines with hints (exit 1)"
else
	not_ok "failing verify: exit $rc"; diag "$out"
fi
# Modules and binding: the capture has no vfio module loaded and its GPU is not on vfio-pci.
run_cmd "$IOMMUCTL" --root "$r" "${hw[@]}" --json verify --device 01:00 gpu
printf '%s' "$out" >"$TEST_TMP/g.json"
if [ "$rc" = 1 ] && json_check "$TEST_TMP/g.json" 'not d["ok"] and any(c["id"] == "module-loaded" and not c["ok"] and "vfio" in c["message"] for c in d["checks"]) and sum(1 for c in d["checks"] if c["id"] == "vfio-bound" and not c["ok"]) == 2 and all(c["hint"] for c in d["checks"] if not c["ok"])'; then
	ok "verify gpu before passthrough: vfio not loaded, both functions not on vfio-pci, each with a hint"
else
	not_ok "verify gpu: exit $rc"; diag "$out"
fi
# The same machine once vfio-pci holds the slot: sysfs as the kernel would show it.
bound=$TEST_TMP/bound
mkdir -p "$bound"; cp -a "$intel/sys" "$intel/proc" "$bound/"
mkdir -p "$bound/sys/bus/pci/drivers/vfio-pci"
for fn in 0000:01:00.0 0000:01:00.1; do
	dev=$(readlink -f "$bound/sys/bus/pci/devices/$fn")
	rm -f "$dev/driver"
	ln -s "$(realpath --relative-to="$dev" "$bound/sys/bus/pci/drivers/vfio-pci")" "$dev/driver"
done
for m in vfio vfio_iommu_type1 vfio_pci; do echo "$m 16384 0 - Live 0x0000000000000000" >>"$bound/proc/modules"; done
run_cmd "$IOMMUCTL" --root "$r" --sysfs "$bound/sys" --procfs "$bound/proc" --json verify --device 01:00 gpu
printf '%s' "$out" >"$TEST_TMP/b.json"
if json_check "$TEST_TMP/b.json" 'all(c["ok"] for c in d["checks"] if c["id"] in ("vfio-bound", "group-isolated", "module-loaded")) and any(c["id"] == "group-isolated" for c in d["checks"])'; then
	ok "with both functions on vfio-pci: vfio-bound, group-isolated and module-loaded pass"
else
	not_ok "bound verify"; diag "$out"
fi

# ---- the next boot: grub.cfg and the initramfs of each installed kernel ----
cache=${BUILDDIR:?}/kernel-cache
if sh "$SRCDIR/tests/kernels/fetch-kernels.sh" "$cache" >/dev/null 2>&1; then
	r=$(kernel_root pve8-grub)
	"$IOMMUCTL" --root "$r" "${hw[@]}" --no-hooks -y apply nvidia >/dev/null 2>&1
	# What update-grub would write: the command line as sh sees it after the apply.
	cmdline=$(cd "$r" && sh -c '. ./etc/default/grub; printf "%s %s" "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT"')
	mkdir -p "$r/boot/grub"
	kernels=$(ls "$r/lib/modules")
	first=$(echo "$kernels" | tail -n 1)
	cat >"$r/boot/grub/grub.cfg" <<-EOF
	set default="0"
	menuentry 'Proxmox VE GNU/Linux' --class proxmox {
		linux	/boot/vmlinuz-$first root=/dev/mapper/pve-root ro $cmdline
		initrd	/boot/initrd.img-$first
	}
	EOF
	# One image per kernel, each with another compression, as initramfs-tools makes them.
	make_image() { # KVER COMPRESSOR WITH_MODPROBE
		local w=$TEST_TMP/img.$1
		rm -rf "$w"; mkdir -p "$w/early/kernel/x86/microcode" "$w/main/etc/modprobe.d" "$w/main/usr/lib/modules/$1/kernel/drivers/vfio/pci"
		head -c 3000 /dev/urandom >"$w/early/kernel/x86/microcode/GenuineIntel.bin"
		[ "$3" = yes ] && cp "$r"/etc/modprobe.d/*.conf "$w/main/etc/modprobe.d/"
		for m in vfio vfio_iommu_type1 vfio_virqfd; do echo "$m" >"$w/main/usr/lib/modules/$1/kernel/drivers/vfio/$m.ko"; done
		echo vfio-pci >"$w/main/usr/lib/modules/$1/kernel/drivers/vfio/pci/vfio-pci.ko.xz"
		(cd "$w/early" && find . | cpio -o -H newc 2>/dev/null) >"$r/boot/initrd.img-$1"
		(cd "$w/main" && find . | cpio -o -H newc 2>/dev/null | $2) >>"$r/boot/initrd.img-$1"
	}
	comps=("gzip -c" "zstd -q -c" "xz -c")
	i=0
	for k in $kernels; do make_image "$k" "${comps[$i]}" yes; i=$((i + 1)); done
	run_cmd "$IOMMUCTL" --root "$r" "${hw[@]}" --json verify --next-boot nvidia
	printf '%s' "$out" >"$TEST_TMP/n.json"
	if json_check "$TEST_TMP/n.json" 'all(c["ok"] for c in d["checks"] if c["id"].startswith(("next-boot", "initramfs"))) and sum(1 for c in d["checks"] if c["id"] == "next-boot-grub") == 2 and any(c["id"] == "initramfs-module" for c in d["checks"]) and sum(1 for c in d["checks"] if c["id"] == "initramfs-file" and c["ok"]) == 2'; then
		ok "--next-boot: grub.cfg's default entry and every initramfs ($(echo $kernels)) pass"
	else
		not_ok "--next-boot on fresh images"; diag "$out" "$err"
	fi
	# A stale image (no modprobe.d files) and a grub.cfg without the parameters fail, with hints.
	make_image "$first" "zstd -q -c" no
	sed -i 's/ iommu=pt//; s/ intel_iommu=on//' "$r/boot/grub/grub.cfg"
	run_cmd "$IOMMUCTL" --root "$r" "${hw[@]}" verify --next-boot nvidia
	if [ "$rc" = 1 ] && [[ "$out" == *"FAIL  next-boot-grub"*"lacks iommu=pt"* ]] && [[ "$out" == *"FAIL  initramfs-file"*"initrd.img-$first lacks"* ]] && [[ "$out" == *"update-initramfs"* ]]; then
		ok "--next-boot: a stale initramfs and grub.cfg fail with what to run"
	else
		not_ok "--next-boot stale: exit $rc"; diag "$out"
	fi
	printf 'not an initramfs' >"$r/boot/initrd.img-$first"
	run_cmd "$IOMMUCTL" --root "$r" "${hw[@]}" verify --next-boot nvidia
	[ "$rc" = 1 ] && [[ "$out" == *"FAIL  initramfs"*"not a readable initramfs"* ]] && ok "a damaged image is a failed check naming it" ||
		{ not_ok "damaged image: exit $rc"; diag "$out" "$err"; }
	# libarchive is loaded only here, with dlopen (src/lib/dl.h): a libarchive.so.13 without its
	# functions, found first through LD_LIBRARY_PATH, must give a named failure, not a crash.
	mkdir -p "$TEST_TMP/fakelib"
	echo 'int not_libarchive;' >"$TEST_TMP/fakelib/empty.c"
	if ${CC:-cc} -shared -fPIC -o "$TEST_TMP/fakelib/libarchive.so.13" "$TEST_TMP/fakelib/empty.c" 2>/dev/null; then
		run_cmd env LD_LIBRARY_PATH="$TEST_TMP/fakelib" "$IOMMUCTL" --root "$r" "${hw[@]}" verify --next-boot nvidia
		[ "$rc" = 1 ] && [[ "$out" == *"FAIL  initramfs"*"libarchive.so.13 has no function archive_read_new; install the package libarchive13"* ]] &&
			ok "a libarchive without its functions: a failed check naming the package" ||
			{ not_ok "fake libarchive: exit $rc"; diag "$out" "$err"; }
	else
		skip "no C compiler to build a fake libarchive.so.13"
	fi
else
	ok "# SKIP the next-boot checks: Debian's kernel packages cannot be fetched here"
fi
# ---- which boot: the boot id recorded with the apply against the running one ----
# procfs_with ID [BTIME]: a copy of the capture's procfs whose boot id is ID (and, with BTIME,
# whose /proc/stat gives that boot time); prints its path.
procfs_with() {
	local p
	p=$(mktemp -d "$TEST_TMP/proc.XXXXXX")
	cp -a "$intel/proc/." "$p/"
	mkdir -p "$p/sys/kernel/random"
	echo "$1" >"$p/sys/kernel/random/boot_id"
	[ -z "${2:-}" ] || printf 'cpu  1 2 3 4\nbtime %s\nprocesses 1\n' "$2" >"$p/stat"
	echo "$p"
}
# next_boot_checks PROCFS: how many of verify's checks are about the next boot.
next_boot_checks() {
	"$IOMMUCTL" --root "$ib" --sysfs "$intel/sys" --procfs "$1" --json verify >"$TEST_TMP/nb.json" 2>/dev/null
	"$PYTHON" -c 'import json,sys; print(sum(c["next_boot"] for c in json.load(open(sys.argv[1]))["checks"]))' "$TEST_TMP/nb.json"
}
ib=$(new_root pve8-grub)
applied_in=1b4e28ba-2fa1-11d2-883f-0016d3cca427
"$IOMMUCTL" --root "$ib" --sysfs "$intel/sys" --procfs "$(procfs_with $applied_in)" --no-hooks -y apply iommu >/dev/null 2>&1
check "apply records the boot id of its --procfs" test "$(sql "$ib" "SELECT boot_id FROM txn WHERE kind = 'apply'")" = $applied_in
fin=$(sql "$ib" "SELECT finished_at FROM txn WHERE kind = 'apply'")
n=$(next_boot_checks "$(procfs_with $applied_in)")
check "same boot id as the apply: verify runs the next-boot checks ($n)" test "$n" -gt 0
n=$(next_boot_checks "$(procfs_with 6f1c0a52-8e55-4c4e-9d0e-3b6f4c2a9d11)")
check "another boot id: verify checks the running system only ($n next-boot checks)" test "$n" = 0
# The held-out QEMU run that failed: the guest booted in the same second as the apply finished,
# so btime equals finished_at, and the btime rule took the new boot for the old one.
n=$(next_boot_checks "$(procfs_with 6f1c0a52-8e55-4c4e-9d0e-3b6f4c2a9d11 "$fin")")
check "booted within the second of the apply (btime = finished_at), another boot id: the running system ($n next-boot checks)" test "$n" = 0
# A transaction from before schema 5 has no boot id: the btime rule decides, as it did.
sqlite3 "$(journal_of "$ib")" "UPDATE txn SET boot_id = NULL"
n=$(next_boot_checks "$(procfs_with 6f1c0a52-8e55-4c4e-9d0e-3b6f4c2a9d11 $((fin - 60)))")
check "no boot id recorded, booted a minute before the apply: next-boot checks by btime ($n)" test "$n" -gt 0
n=$(next_boot_checks "$(procfs_with 6f1c0a52-8e55-4c4e-9d0e-3b6f4c2a9d11 $((fin + 60)))")
check "no boot id recorded, booted a minute after: the running system ($n next-boot checks)" test "$n" = 0
plan_late
