#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0620 — /etc/modules as systemd-modules-load reads it: Debian 12's own binary (systemd 252) is
# the oracle for the reader, on every fixture and on a whole root (modules-load.d, masking,
# overriding, modules-load=); apply gives a module named only on a broken line a line of its
# own, with a warning naming file:line; scan and verify read the same; verify reads what
# systemd-modules-load failed to load in this boot from a real journal file that
# systemd-journal-remote writes.
. "$(dirname "$0")/test-lib.sh"

amd="$FIXTURES/hw/q35-amd-6.12/proc" amd_sys="$FIXTURES/hw/q35-amd-6.12/sys"
SD_MODULES_LOAD=/lib/systemd/systemd-modules-load
JOURNAL_REMOTE=/lib/systemd/systemd-journal-remote

# The oracle runs in a user and mount namespace with an empty /lib/modules over the real one:
# no name can be found, and none could be inserted, whatever machine runs the test. Its debug
# log names every string it looks up ("Loading module: X"), in order.
have_ns() { [ -x "$SD_MODULES_LOAD" ] && unshare --user --map-root-user --mount true 2>/dev/null; }
sd_lookups_file() {
	unshare --user --map-root-user --mount sh -c '
		[ -d /lib/modules ] && mount -t tmpfs none /lib/modules
		SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console "$1" "$2"' sh "$SD_MODULES_LOAD" "$1" 2>&1 |
		sed -n 's/^Loading module: //p'
}

# 1. The reader against the real binary, one file at a time.
if have_ns; then
	for f in "$FIXTURES"/modules/*; do
		name=${f##*/}
		[ "$name" = SOURCES.md ] && continue
		want=$(sd_lookups_file "$f")
		got=$("$MODFILE_HELPER" modules-read "$f" | cut -f2-)
		if [ "$want" = "$got" ]; then ok "$name: iommuctl reads the names systemd-modules-load looks up"
		else not_ok "$name: reader differs from systemd-modules-load"; diag "systemd: $want" "iommuctl: $got"; fi
	done
	printf 'loop\rvfio_pci\r\n \t;x\n\fvfio\n  a b  \n#c\n' >"$TEST_TMP/edge"
	check "edge cases (lone CR, ';', form feed, inner blanks) as systemd reads them" \
		test "$(sd_lookups_file "$TEST_TMP/edge")" = "$("$MODFILE_HELPER" modules-read "$TEST_TMP/edge" | cut -f2-)"
else
	skip "no $SD_MODULES_LOAD or no user namespaces: the reader is not compared with systemd"
fi

# 2. A whole root: Debian's link to /etc/modules, a file masked with /dev/null, one overridden
#    by the same name in an earlier directory, /run, and modules-load= (rd. only in the initrd).
root=$(new_root pve8-grub)
cp "$FIXTURES/modules/real-vfio-pci-ids" "$root/etc/modules"
mkdir -p "$root/etc/modules-load.d" "$root/run/modules-load.d" "$root/usr/lib/modules-load.d" "$root/usr/local/lib/modules-load.d"
ln -s ../modules "$root/etc/modules-load.d/modules.conf"
mkdir -p "$root/lib/systemd" && : >"$root/lib/systemd/systemd-modules-load"
ln -s /dev/null "$root/etc/modules-load.d/masked.conf"
printf 'never_loaded\n' >"$root/usr/lib/modules-load.d/masked.conf"
printf '# from a package\noverridden_one\n' >"$root/usr/lib/modules-load.d/kvm.conf"
printf 'kvm_amd\n' >"$root/usr/local/lib/modules-load.d/kvm.conf"
printf 'tun\nvfio vfio_iommu_type1\n' >"$root/run/modules-load.d/runtime.conf"
printf 'BOOT_IMAGE=/boot/vmlinuz-6.1.0-57-amd64 root=/dev/sda1 ro modules-load=vhost_net,,loop rd.modules-load=initrd_only modules_load=br_netfilter\n' >"$TEST_TMP/cmdline"
procfs=$TEST_TMP/proc
cp -a "$amd" "$procfs"
cp "$TEST_TMP/cmdline" "$procfs/cmdline"

expect_exit 0 "scan --json on the root" "$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$procfs" --json scan
cp "$TEST_TMP/.out" "$TEST_TMP/scan.json"
check "scan: modules-load= entries first, then each file in systemd's order" json_check "$TEST_TMP/scan.json" \
	'[m["name"] for m in d["modules_load"]["modules"]] == ["vhost_net", "loop", "br_netfilter", "kvm_amd", "vfio", "vfio_iommu_type1", "tun"]'
check "scan: /etc/modules lines are reported against /etc/modules, through Debian's link" json_check "$TEST_TMP/scan.json" \
	'd["modules_load"]["etc_modules_read"] and {"name": "vfio", "file": "/etc/modules", "line": 6} in d["modules_load"]["modules"]'
check "scan: both broken lines, with file and line" json_check "$TEST_TMP/scan.json" \
	'd["modules_load"]["broken"] == [{"text": "vfio_pci ids=10de:1b80,10de:10f0", "file": "/etc/modules", "line": 8}, {"text": "vfio vfio_iommu_type1", "file": "/run/modules-load.d/runtime.conf", "line": 2}]'
check "scan: masked and overridden files" json_check "$TEST_TMP/scan.json" \
	'{"path": "/etc/modules-load.d/masked.conf", "reads": None, "state": "masked", "overridden_by": None} in d["modules_load"]["files"] and {"path": "/usr/lib/modules-load.d/kvm.conf", "reads": None, "state": "overridden", "overridden_by": "/usr/local/lib/modules-load.d/kvm.conf"} in d["modules_load"]["files"]'
expect_exit 0 "scan (text)" "$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$procfs" scan
contains "scan names the broken line" "$out" "warning: $root/etc/modules:8: systemd-modules-load looks up 'vfio_pci ids=10de:1b80,10de:10f0' as one module name and loads nothing"

# The same root seen by the real systemd-modules-load: its directories bound over the real ones.
sd_lookups_root() {
	unshare --user --map-root-user --mount sh -c '
		r=$1
		[ -d /lib/modules ] && mount -t tmpfs none /lib/modules
		mount -t tmpfs none /run && mkdir -p /run/modules-load.d && mount --bind "$r/run/modules-load.d" /run/modules-load.d
		mount --bind "$r/etc/modules-load.d" /etc/modules-load.d
		mount --bind "$r/etc/modules" /etc/modules
		mount --bind "$r/usr/lib/modules-load.d" /usr/lib/modules-load.d
		mount -t tmpfs none /usr/local && mkdir -p /usr/local/lib/modules-load.d &&
			mount --bind "$r/usr/local/lib/modules-load.d" /usr/local/lib/modules-load.d
		SYSTEMD_PROC_CMDLINE=$(cat "$2") SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console "$3"' \
		sh "$1" "$2" "$SD_MODULES_LOAD" 2>&1 | sed -n 's/^Loading module: //p'
}
if have_ns && [ -f /etc/modules ] && [ -d /etc/modules-load.d ] && [ -d /usr/lib/modules-load.d ] &&
	[ "$(readlink -f /lib)" = /usr/lib ]; then
	want=$(sd_lookups_root "$root" "$TEST_TMP/cmdline")
	got=$("$PYTHON" -c 'import json,sys; m=json.load(open(sys.argv[1]))["modules_load"]
for x in sorted(m["modules"] + [dict(b, name=b["text"]) for b in m["broken"]], key=lambda x: (x["file"] != "cmdline",)): print(x["name"])' "$TEST_TMP/scan.json")
	check "the whole root: iommuctl lists what systemd-modules-load looks up (sorted)" \
		test "$(echo "$want" | sort)" = "$(echo "$got" | sort)"
	[ "$(echo "$want" | sort)" = "$(echo "$got" | sort)" ] || diag "systemd: $want" "iommuctl: $got"
	check "systemd skips rd.modules-load= after switch_root, and so does iommuctl" \
		sh -c "! echo '$want' | grep -q initrd_only"
else
	skip "no namespaces or a host layout the bind mounts do not fit: the root is not compared with systemd"
	skip "rd.modules-load= not compared"
fi

# 3. apply vfio where only "vfio_pci ids=..." existed: vfio_pci gets a line of its own.
expect_exit 0 "plan vfio" "$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$procfs" --json plan vfio
cp "$TEST_TMP/.out" "$TEST_TMP/plan.json"
check "plan: a warning names /etc/modules:8, what systemd does and the options line that fixes it" json_check "$TEST_TMP/.out" \
	'any(f["id"] == "modules-line-not-loaded" and f["severity"] == "warning" and f["message"].endswith("/etc/modules:8: systemd-modules-load looks up '"'"'vfio_pci ids=10de:1b80,10de:10f0'"'"' as one module name and loads nothing") and "options vfio_pci ids=10de:1b80,10de:10f0" in f["hint"] for f in d["findings"])'
check "plan: the broken line in /run/modules-load.d is a warning too, with the names on lines of their own" json_check "$TEST_TMP/.out" \
	'any(f["id"] == "modules-line-not-loaded" and "/run/modules-load.d/runtime.conf:2" in f["message"] and "(vfio vfio_iommu_type1)" in f["hint"] for f in d["findings"])'
expect_exit 0 "apply -y --no-hooks vfio" "$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$procfs" --no-hooks -y apply vfio
check "/etc/modules: the broken line is kept as the admin wrote it, vfio_pci added on its own line" \
	test "$(tail -n 2 "$root/etc/modules")" = "vfio_pci ids=10de:1b80,10de:10f0
vfio_pci"
check "/etc/modules: vfio and vfio_iommu_type1 once each" \
	test "$(grep -cx 'vfio' "$root/etc/modules"):$(grep -cx 'vfio_iommu_type1' "$root/etc/modules")" = 1:1
expect_exit 0 "apply vfio again changes nothing" "$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$procfs" --no-hooks --json -y apply vfio
check "second apply: changed is false" json_check "$TEST_TMP/.out" 'd["changed"] is False'

# A module modules-load.d already loads is not added again; the plan says where it loads.
root2=$(new_root pve8-grub)
mkdir -p "$root2/etc/modules-load.d"
printf 'vfio_pci\n' >"$root2/etc/modules-load.d/vfio.conf"
expect_exit 0 "plan vfio with vfio_pci in modules-load.d" "$IOMMUCTL" --root "$root2" --sysfs "$amd_sys" --procfs "$amd" plan vfio
contains "plan: vfio_pci already loads from modules-load.d" "$out" "vfio_pci already loads at boot from $root2/etc/modules-load.d/vfio.conf:1; not adding it to /etc/modules"
check "plan: no +vfio_pci line in the diff" sh -c "! printf '%s' \"\$1\" | grep -qx '+vfio_pci'" sh "$out"

# Debian's systemd ships /etc/modules-load.d/modules.conf -> ../modules; without it systemd never
# reads /etc/modules, and the plan says so (a root without systemd-modules-load is not judged).
check "plan with the link: no etc-modules-not-read warning" sh -c "! grep -q etc-modules-not-read '$TEST_TMP/plan.json'"
root3=$(new_root pve8-grub)
mkdir -p "$root3/lib/systemd" "$root3/etc/modules-load.d"
: >"$root3/lib/systemd/systemd-modules-load"
expect_exit 0 "plan vfio on a root whose modules-load.d has no link to /etc/modules" \
	"$IOMMUCTL" --root "$root3" --sysfs "$amd_sys" --procfs "$amd" --json plan vfio
check "plan: a warning that systemd-modules-load does not read /etc/modules, with the link that fixes it" json_check "$TEST_TMP/.out" \
	'any(f["id"] == "etc-modules-not-read" and f["severity"] == "warning" and "ln -s ../modules /etc/modules-load.d/modules.conf" in f["hint"] for f in d["findings"])'
expect_exit 0 "scan --json on that root" "$IOMMUCTL" --root "$root3" --sysfs "$amd_sys" --procfs "$amd" --json scan
check "scan: systemd_modules_load true, etc_modules_read false" json_check "$TEST_TMP/.out" \
	'd["modules_load"]["systemd_modules_load"] is True and d["modules_load"]["etc_modules_read"] is False'

# 4. verify: the broken lines fail, and this boot's journal says what systemd-modules-load missed.
expect_exit 1 "verify vfio reads the same lines" "$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$procfs" --json verify vfio
R=$root check "verify: a failing modules-load-line check per broken line, naming file and line" json_check "$TEST_TMP/.out" \
	'sorted(c["message"].split(": systemd-modules-load looks up")[0] for c in d["checks"] if c["id"] == "modules-load-line" and not c["ok"]) == [__import__("os").environ["R"] + p for p in ["/etc/modules:8", "/run/modules-load.d/runtime.conf:2"]]'
check "verify under --root without the seam reads no journal" json_check "$TEST_TMP/.out" \
	'not any(c["id"] == "modules-load-journal" for c in d["checks"])'

if [ -x "$JOURNAL_REMOTE" ]; then
	boot=0d2c6a1e8b7f4c3d9e5a1b2c3d4e5f60
	# Export format (systemd's journal-export-format): what journald stored on a Debian 12 boot
	# with "vfio_pci ids=1234:1111" in /etc/modules, plus a failure from an earlier boot.
	{
		printf '__REALTIME_TIMESTAMP=1764950000000000\n__MONOTONIC_TIMESTAMP=2000000\n_BOOT_ID=%s\n' $boot
		printf '_SYSTEMD_UNIT=systemd-modules-load.service\nSYSLOG_IDENTIFIER=systemd-modules-load\nPRIORITY=3\n'
		printf "MESSAGE=Failed to find module 'vfio_pci ids=1234:1111'\n\n"
		printf '__REALTIME_TIMESTAMP=1764950000100000\n__MONOTONIC_TIMESTAMP=2100000\n_BOOT_ID=%s\n' $boot
		printf 'SYSLOG_IDENTIFIER=systemd-modules-load\nPRIORITY=6\n'
		printf "MESSAGE=Inserted module 'vfio'\n\n"
		printf '__REALTIME_TIMESTAMP=1764950000200000\n__MONOTONIC_TIMESTAMP=2200000\n_BOOT_ID=%s\n' $boot
		printf 'SYSLOG_IDENTIFIER=systemd-modules-load\nPRIORITY=3\n'
		printf "MESSAGE=Failed to insert module 'kvm_intel': Operation not supported\n\n"
		printf '__REALTIME_TIMESTAMP=1764860000000000\n__MONOTONIC_TIMESTAMP=2000000\n_BOOT_ID=%s\n' aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
		printf '_SYSTEMD_UNIT=systemd-modules-load.service\nSYSLOG_IDENTIFIER=systemd-modules-load\nPRIORITY=3\n'
		printf "MESSAGE=Failed to find module 'earlier_boot'\n\n"
	} >"$TEST_TMP/export.txt"
	mkdir -p "$TEST_TMP/journal"
	"$JOURNAL_REMOTE" -o "$TEST_TMP/journal/remote.journal" "$TEST_TMP/export.txt" 2>/dev/null
	check "systemd-journal-remote wrote a journal file" test -s "$TEST_TMP/journal/remote.journal"
	mkdir -p "$procfs/sys/kernel/random"
	echo 0d2c6a1e-8b7f-4c3d-9e5a-1b2c3d4e5f60 >"$procfs/sys/kernel/random/boot_id"
	IOMMUCTL_JOURNAL_DIRECTORY=$TEST_TMP/journal expect_exit 1 "verify with the journal of this boot" \
		"$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$procfs" --json verify vfio
	check "verify: this boot's two failures, by unit and by identifier; not the earlier boot's" json_check "$TEST_TMP/.out" \
		'[c["message"] for c in d["checks"] if c["id"] == "modules-load-journal"] == ["systemd-modules-load in this boot: Failed to find module '"'"'vfio_pci ids=1234:1111'"'"'", "systemd-modules-load in this boot: Failed to insert module '"'"'kvm_intel'"'"': Operation not supported"]'
	echo bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb >"$procfs/sys/kernel/random/boot_id"
	IOMMUCTL_JOURNAL_DIRECTORY=$TEST_TMP/journal expect_exit 1 "verify, a boot with no failure" \
		"$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$procfs" verify vfio
	contains "verify: the journal check passes for a clean boot" "$out" "pass  modules-load-journal   systemd-modules-load logged no failure in this boot"
	if have_ns; then
		IOMMUCTL_JOURNAL_DIRECTORY=$TEST_TMP/journal run_cmd unshare --user --map-root-user --mount sh -c \
			'd=$1; shift; : >"$d/nolib"; mount --bind "$d/nolib" "$(readlink -f /usr/lib/x86_64-linux-gnu/libsystemd.so.0)" && exec "$@"' \
			sh "$TEST_TMP" "$IOMMUCTL" --root "$root" --sysfs "$amd_sys" --procfs "$procfs" verify vfio
		check "without libsystemd verify still runs its checks (exit 1 for the broken lines)" test "$rc" = 1
		contains "without libsystemd one line says the journal was not checked" "$out" \
			"note: the journal of this boot was not checked for modules systemd-modules-load failed to load: cannot load libsystemd.so.0"
	else
		skip "no namespaces: libsystemd cannot be hidden"
		skip "no namespaces: libsystemd cannot be hidden"
	fi
else
	skip "no systemd-journal-remote (Debian package systemd-journal-remote): no journal to read"
fi

plan_late
