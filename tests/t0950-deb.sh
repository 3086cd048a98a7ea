#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0950 — the Debian package, built the way a user builds it: `git clone` of the tree (its committed
# HEAD) into a scratch directory, `dpkg-buildpackage -us -uc -b` (with the fast tests), lintian on
# the result, the exact file list and Depends of the .deb, DEB_BUILD_OPTIONS=nocheck honoured, then
# `dpkg --root` into a scratch root whose dpkg database holds the Debian 12 packages of this machine
# that the .deb depends on (so dpkg itself checks the Depends against Debian 12's versions), its
# maintainer scripts run chrooted there with busybox as /bin/sh; `iommuctl --version` and `scan` (on
# a captured machine) run from that root with this Debian 12 machine's libraries; purge keeps the
# journal and says so.
. "$(dirname "$0")/test-lib.sh"

for t in dpkg-buildpackage git dpkg-deb; do
	command -v $t >/dev/null || { echo "1..0 # SKIP $t is not installed"; exit 0; }
done
git -C "$SRCDIR" rev-parse --git-dir >/dev/null 2>&1 || { echo "1..0 # SKIP $SRCDIR is not a git checkout"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP dpkg --root needs root to chroot for the maintainer scripts"; exit 0; }
[ -x /bin/busybox ] || { echo "1..0 # SKIP busybox-static is not installed (the scratch root's /bin/sh)"; exit 0; }

work=$TEST_TMP/build
mkdir -p "$work"
check "git clone of the tree" git clone -q "$SRCDIR" "$work/iommuctl"
head=$(git -C "$work/iommuctl" log -1 --format=%h)
diag "building the package from commit $head (committed HEAD, not the working tree)"
(cd "$work/iommuctl" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1
rc=$?
check "dpkg-buildpackage -us -uc -b in the clean clone (exit $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || diag "$(tail -n 40 "$work/build.log")"
deb=$(ls "$work"/iommuctl_*_*.deb 2>/dev/null | head -n 1)
check "it built iommuctl_*.deb" test -n "$deb"
[ -n "$deb" ] || { plan_late; exit 1; }
check "the fast tests ran in the build (meson test --suite fast)" grep -q "meson test --suite fast" "$work/build.log"
check "and none of them failed" grep -qE "^Fail: +0" "$work/build.log"

# nocheck: dh_auto_test does nothing (the test log is not written again).
log=$(ls "$work"/iommuctl/obj-*/meson-logs/testlog.json 2>/dev/null | head -n 1)
if [ -n "$log" ]; then
	before=$(stat -c %Y.%s "$log")
	(cd "$work/iommuctl" && DEB_BUILD_OPTIONS=nocheck debian/rules override_dh_auto_test) >"$work/nocheck.log" 2>&1
	check "DEB_BUILD_OPTIONS=nocheck: dh_auto_test runs no test" test "$(stat -c %Y.%s "$log")" = "$before"
else
	skip "nocheck: the build directory of dh is not there"
fi

# lintian: no error, no warning (each one that ever needs to stay is explained in debian/ and
# listed here); its whole output goes into the log.
if command -v lintian >/dev/null; then
	lintian --pedantic --display-info "$work"/iommuctl_*_*.changes >"$work/lintian.log" 2>&1
	diag "lintian: $(grep -v 'running with root privileges' "$work/lintian.log" | wc -l) line(s)" \
		"$(grep -v 'running with root privileges' "$work/lintian.log")"
	check "lintian: no errors" eval '! grep -q "^E: " "$work/lintian.log"'
	check "lintian: no warnings" eval '! grep -q "^W: " "$work/lintian.log"'
else
	skip "lintian is not installed"; skip "lintian is not installed"
fi

# The .deb's files: exactly what meson installs with prefix /usr (t0940) plus Debian's documentation.
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print substr($1, 2, 9), $6}' | sed 's#^\(...\)\(...\)\(...\) \./#\1\2\3 /#' |
	sort -k2 >"$TEST_TMP/files"
sort -k2 >"$TEST_TMP/want" <<'EOT'
rwxr-xr-x /etc/kernel/postinst.d/zz-iommuctl
rwxr-xr-x /usr/sbin/iommuctl
rw-r--r-- /usr/share/bash-completion/completions/iommuctl
rw-r--r-- /usr/share/doc/iommuctl/README.md.gz
rw-r--r-- /usr/share/doc/iommuctl/changelog.gz
rw-r--r-- /usr/share/doc/iommuctl/copyright
rw-r--r-- /usr/share/doc/iommuctl/examples/gpu-passthrough.conf
rw-r--r-- /usr/share/man/man8/iommuctl.8.gz
rw-r--r-- /lib/systemd/system/iommuctl-boot-check.service
rw-r--r-- /lib/systemd/system/emergency.service.d/iommuctl-trial.conf
rw-r--r-- /lib/systemd/system/rescue.service.d/iommuctl-trial.conf
rw-r--r-- /lib/udev/rules.d/40-iommuctl-trial.rules
rwxr-xr-x /usr/lib/iommuctl/trial-bind
rwxr-xr-x /usr/lib/iommuctl/trial-reboot
rwxr-xr-x /usr/share/initramfs-tools/hooks/iommuctl
rw-r--r-- /usr/share/lintian/overrides/iommuctl
EOT
if diff -u "$TEST_TMP/want" "$TEST_TMP/files" >"$TEST_TMP/files.diff"; then ok "the .deb holds exactly the expected files"
else not_ok "the .deb's files differ"; diag "$(cat "$TEST_TMP/files.diff")"; fi
# The initramfs-tools hook makes dh_installinitramfs declare the trigger: once (a second
# declaration, as a debian/iommuctl.triggers would add, is lintian's repeated-trigger-name error).
check "the initramfs is rebuilt by an activate-noawait update-initramfs trigger, declared once" \
	eval 'test "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./triggers | grep -v "^#")" = "activate-noawait update-initramfs"'
check "the boot-check unit is enabled by the postinst, not started" \
	eval 'dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst >"$TEST_TMP/postinst" && grep -q "deb-systemd-helper enable .iommuctl-boot-check.service" "$TEST_TMP/postinst" && ! grep -q "deb-systemd-invoke.*start" "$TEST_TMP/postinst"'
check "the kernel hook is a conffile" eval 'dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/kernel/postinst.d/zz-iommuctl'

# Depends: the packages of the sonames the binary links (readelf) and of those it dlopens (the
# sonames dl.c's tables name, found in the binary), each as dpkg -S finds it, plus kmod; nothing else.
x=$TEST_TMP/x
dpkg-deb -x "$deb" "$x"
needed=$(readelf -d "$x/usr/sbin/iommuctl" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
# sonames in the binary's strings that are not NEEDED: the ones dl.c's tables load.
dlopened=$(strings "$x/usr/sbin/iommuctl" | grep -xE 'lib[a-z0-9_-]+\.so\.[0-9]+' | sort -u |
	grep -vxF -f <(printf '%s\n' $needed))
diag "linked: $(echo $needed)" "dlopen'd: $(echo $dlopened)"
check "the binary dlopens libkmod, libarchive and libsystemd" \
	test "$(echo $dlopened)" = "libarchive.so.13 libkmod.so.2 libsystemd.so.0"
for so in $needed $dlopened; do
	dpkg -S "/lib/x86_64-linux-gnu/$so" "/usr/lib/x86_64-linux-gnu/$so" 2>/dev/null | head -n 1 | cut -d: -f1
done | sort -u >"$TEST_TMP/pkgs"
echo kmod >>"$TEST_TMP/pkgs"
sort -u -o "$TEST_TMP/pkgs" "$TEST_TMP/pkgs"
depends=$(dpkg-deb -f "$deb" Depends)
diag "Depends: $depends"
echo "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//; /^$/d' | sort -u >"$TEST_TMP/deps"
if diff -u "$TEST_TMP/pkgs" "$TEST_TMP/deps" >"$TEST_TMP/deps.diff"; then
	ok "Depends: exactly the packages of the linked and dlopen'd sonames, plus kmod ($(wc -l <"$TEST_TMP/deps"))"
else
	not_ok "Depends differ from the sonames' packages"; diag "$(cat "$TEST_TMP/deps.diff")"
fi
check "pci.ids comes with libpci3" eval 'dpkg-query -W -f "\${Depends}" libpci3 | grep -q pci.ids'

# A scratch root whose dpkg database holds this machine's (Debian 12) stanzas of the Depends.
r=$TEST_TMP/root
mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates" "$r/bin" "$r/etc"
: >"$r/var/lib/dpkg/available"
for p in $(cat "$TEST_TMP/deps"); do
	dpkg-query -s "$p" 2>/dev/null | grep -v '^Conffiles:' | sed '/^ \/.* [0-9a-f]\{32\}$/d'
	echo
	: >"$r/var/lib/dpkg/info/$p.list"
done >"$r/var/lib/dpkg/status"
cp /bin/busybox "$r/bin/busybox" && ln -s busybox "$r/bin/sh"
run_cmd dpkg --root="$r" -i "$deb"
check "dpkg --root -i: installs, Depends satisfied by Debian 12's packages (exit $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || diag "$out" "$err"
check "dpkg says it is installed" eval 'dpkg --root="$r" -s iommuctl | grep -qx "Status: install ok installed"'
run_cmd "$r/usr/sbin/iommuctl" --version
contains "iommuctl --version from the root" "$out" "iommuctl $(dpkg-deb -f "$deb" Version)"
fx=$FIXTURES/hw/q35-amd-6.12
run_cmd "$r/usr/sbin/iommuctl" --root "$r" --sysfs "$fx/sys" --procfs "$fx/proc" --json scan
printf '%s' "$out" >"$TEST_TMP/scan.json"
check "iommuctl scan from the root (exit $rc) finds the capture's 3 GPUs" json_check "$TEST_TMP/scan.json" \
	'sum(1 for x in d["devices"] if x["gpu"]) == 3 and d["iommu"]["active"]'
check "names from pci.ids (libpci3's Depends)" json_check "$TEST_TMP/scan.json" \
	'any("Virtio" in x["device"] for x in d["devices"])'
run_cmd "$r/usr/sbin/iommuctl" --root "$r" snapshot
check "a journal in the root (exit $rc)" test -f "$(journal_of "$r")"
run_cmd dpkg --root="$r" --purge iommuctl
check "dpkg --purge (exit $rc)" test "$rc" -eq 0
check "purge removed the program and the kernel hook" test ! -e "$r/usr/sbin/iommuctl" -a ! -e "$r/etc/kernel/postinst.d/zz-iommuctl"
check "purge kept the journal" test -f "$(journal_of "$r")"
contains "and said so" "$out$err" "the journal /var/lib/iommuctl"
plan_late
