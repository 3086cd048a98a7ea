#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0965 — check-kernel KVER and the kernel hook /etc/kernel/postinst.d/zz-iommuctl, on Debian's real
# 6.1 and 6.12 module trees: a host configured while only 6.1 was installed (vfio_virqfd in
# /etc/modules) gets 6.12; a blacklisted framebuffer that both kernels build in; a softdep for a
# driver 6.12 dropped. kmod's own modinfo and the trees' modules.builtin are the oracles. The hook
# exits 0 whatever happens, and says why when it could not check.
. "$(dirname "$0")/test-lib.sh"

kernels_or_skip
k61=$(basename "$(ls -d "$cache"/root/usr/lib/modules/6.1.*)")
k612=$(basename "$(ls -d "$cache"/root/usr/lib/modules/6.12.*)")
hook=$SRCDIR/data/kernel/zz-iommuctl
fx=$FIXTURES/hw/q35-amd-6.12
hw=(--sysfs "$fx/sys" --procfs "$fx/proc")

# The oracle: kmod's own modprobe over each tree (--show-depends: "insmod PATH" for a module,
# "builtin NAME" for a built-in one, "FATAL: Module NAME not found" for none). The cache keeps a
# subset of the .ko files, so modinfo, which reads them, cannot be asked.
kmod_says() { modprobe -d "$cache/root" -S "$1" --show-depends "$2" 2>&1 | tail -n 1 | cut -d' ' -f1; }
is_module() { [ "$(kmod_says "$1" "$2")" = insmod ]; }
is_builtin() { [ "$(kmod_says "$1" "$2")" = builtin ]; }
absent() { [ "$(kmod_says "$1" "$2")" = modprobe: ]; }	# "modprobe: FATAL: Module … not found"
check "oracle: $k61 has the module vfio_virqfd" is_module "$k61" vfio_virqfd
check "oracle: $k612 has no vfio_virqfd" absent "$k612" vfio_virqfd
check "oracle: vesafb is built into $k61" is_builtin "$k61" vesafb
check "oracle: vesafb is built into $k612" is_builtin "$k612" vesafb
check "oracle: nouveau is a module of $k612" is_module "$k612" nouveau
check "oracle: $k61 has the module snd_soc_skl" is_module "$k61" snd_soc_skl
check "oracle: $k612 has no snd_soc_skl" absent "$k612" snd_soc_skl

# A host with only 6.1: apply vfio writes vfio_virqfd (6.1 still has it).
r=$(kernel_root pve8-grub)
rm -rf "$r/usr/lib/modules/$k612"
expect_exit 0 "apply vfio while only $k61 is installed" "$IOMMUCTL" --root "$r" "${hw[@]}" --no-hooks -y apply vfio
check "it listed vfio_virqfd in /etc/modules" grep -qx vfio_virqfd "$r/etc/modules"
line=$(grep -nx vfio_virqfd "$r/etc/modules" | cut -d: -f1)
expect_exit 0 "check-kernel $k61: the configuration fits" "$IOMMUCTL" --root "$r" check-kernel "$k61"
contains "it names the transaction it checked" "$out" "of transaction 1 (apply vfio"

# 6.12 arrives (as the package's postinst would, after depmod), then the hook runs.
cp -al "$cache/root/usr/lib/modules/$k612" "$r/usr/lib/modules/"
expect_exit 1 "check-kernel $k612: vfio_virqfd is missing" "$IOMMUCTL" --root "$r" check-kernel "$k612"
contains "it names file and line" "$out" "/etc/modules:$line: kernel $k612 has no module vfio_virqfd"
contains "and the fix" "$out" "remove line $line (vfio_virqfd) from /etc/modules"
run_cmd env IOMMUCTL="$IOMMUCTL" IOMMUCTL_ROOT="$r" sh "$hook" "$k612" "/boot/vmlinuz-$k612"
check "the hook exits 0 with a warning (exit $rc)" test "$rc" -eq 0
contains "the hook shows the warning" "$out" "no module vfio_virqfd"
contains "and says the kernel is installed anyway" "$err" "kernel $k612 was installed"

# Blacklists and softdeps.
cat >"$r/etc/modprobe.d/gpu.conf" <<'EOT'
# test: built-in framebuffer, a module, and softdeps
blacklist vesafb
blacklist nouveau
softdep snd_soc_skl pre: vfio-pci
softdep nouveau pre: vfio-pci
EOT
run_cmd "$IOMMUCTL" --root "$r" --json check-kernel "$k61"
printf '%s' "$out" >"$TEST_TMP/61.json"
check "$k61 (exit 1): only the built-in vesafb blacklist" json_check "$TEST_TMP/61.json" \
	'[(w["id"], w["module"], w["file"], w["line"]) for w in d["warnings"]] == [("builtin-blacklisted", "vesafb", "/etc/modprobe.d/gpu.conf", 2)] and not d["ok"]'
run_cmd "$IOMMUCTL" --root "$r" --json check-kernel "$k612"
printf '%s' "$out" >"$TEST_TMP/612.json"
check "$k612: vfio_virqfd, vesafb and the snd_soc_skl softdep, nothing about nouveau" json_check "$TEST_TMP/612.json" \
	'sorted((w["id"], w["module"], w["line"]) for w in d["warnings"]) == sorted([("missing-module", "vfio_virqfd", '"$line"'), ("builtin-blacklisted", "vesafb", 2), ("softdep-missing", "snd_soc_skl", 4)])'
check "each warning has a hint" json_check "$TEST_TMP/612.json" 'all(w["hint"] for w in d["warnings"])'
check "the basis is the apply" json_check "$TEST_TMP/612.json" 'd["basis"].startswith("transaction 1 (apply vfio")'
check "no /boot in the sandbox: noted, not an error" json_check "$TEST_TMP/612.json" \
	'any("/boot/vmlinuz-'"$k612"'" in n and "/boot may not be mounted" in n for n in d["notes"])'
mkdir -p "$r/boot" && : >"$r/boot/vmlinuz-$k612"
run_cmd "$IOMMUCTL" --root "$r" --json check-kernel "$k612"
printf '%s' "$out" >"$TEST_TMP/boot.json"
check "with /boot/vmlinuz-$k612 there, no /boot note" json_check "$TEST_TMP/boot.json" \
	'not any("/boot" in n for n in d["notes"])'
sed -i 's/^softdep snd_soc_skl pre: vfio-pci$/softdep nouveau pre: vfio-pci nosuchmodule/' "$r/etc/modprobe.d/gpu.conf"
run_cmd "$IOMMUCTL" --root "$r" --json check-kernel "$k61"
printf '%s' "$out" >"$TEST_TMP/pre.json"
check "a module a softdep loads before another, missing: named" json_check "$TEST_TMP/pre.json" \
	'any(w["id"] == "softdep-missing" and w["module"] == "nosuchmodule" and "before nouveau" in w["message"] for w in d["warnings"])'

# The journal unreadable (damaged): noted, the files still checked.
printf 'this is not an SQLite database, it is long enough to be read as one: %0200d' 0 >"$(journal_of "$r")"
run_cmd "$IOMMUCTL" --root "$r" check-kernel "$k612"
check "damaged journal: still exit 1 for the warnings (exit $rc)" test "$rc" -eq 1
contains "damaged journal: says so" "$out" "note: the journal could not be read"
contains "and checked the files anyway" "$out" "no module vfio_virqfd"

# Clean configuration: exit 0.
c=$(kernel_root pve8-grub)
expect_exit 0 "a root without iommuctl's changes: $k612 fits" "$IOMMUCTL" --root "$c" check-kernel "$k612"
contains "no journal is noted" "$out" "no journal"
contains "it says the configuration fits" "$out" "fits its modules"

# The hook never fails the install.
run_cmd env IOMMUCTL="$IOMMUCTL" IOMMUCTL_ROOT="$c" sh "$hook" 9.9.9-nosuch
check "hook, kernel without a module tree: exit 0 (exit $rc)" test "$rc" -eq 0
contains "it says it could not check, and why" "$err$out" "has no modules.dep"
contains "and that the install goes on" "$err" "could not check kernel 9.9.9-nosuch"
run_cmd env IOMMUCTL="$IOMMUCTL" IOMMUCTL_ROOT="$TEST_TMP/no-such-root" sh "$hook" "$k612"
check "hook, root missing: exit 0 (exit $rc)" test "$rc" -eq 0
contains "it says it could not check" "$err" "could not check kernel $k612"
run_cmd env IOMMUCTL="$TEST_TMP/removed/iommuctl" sh "$hook" "$k612"
check "hook, iommuctl removed but the hook kept (a conffile): exit 0, silent" test "$rc" -eq 0 -a -z "$out$err"
run_cmd env IOMMUCTL="$IOMMUCTL" IOMMUCTL_ROOT="$c" sh "$hook"
check "hook without a version: exit 0 (exit $rc)" test "$rc" -eq 0
contains "and says nothing was checked" "$err" "nothing checked"
expect_exit 2 "check-kernel of a path is a usage error" "$IOMMUCTL" --root "$c" check-kernel ../../etc
plan_late
