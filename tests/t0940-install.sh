#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0940 — `meson install` into a DESTDIR installs exactly the files the package ships, with their
# modes: the binary, the manual, the bash completion, the kernel hook, the example profile, and
# issue 15's boot-check unit, emergency/rescue drop-ins, udev rule, their helpers and the
# initramfs-tools hook. The paths follow the
# build's own prefix and sysconfdir; with the package's (/usr, /etc) they are the .deb's paths,
# which t0950 checks in the .deb itself.
. "$(dirname "$0")/test-lib.sh"

command -v meson >/dev/null || { echo "1..0 # SKIP meson is not installed"; exit 0; }
# Not from a build tree meson made (the lead's copy of the binary, say): nothing to install from.
[ -f "$BUILDDIR/meson-private/install.dat" ] || { echo "1..0 # SKIP $BUILDDIR is not a meson build directory"; exit 0; }

dest=$TEST_TMP/dest
run_cmd meson install -C "$BUILDDIR" --no-rebuild --destdir "$dest"
if [ "$rc" -ne 0 ]; then
	echo "1..1"; not_ok "meson install into $dest (exit $rc)"; diag "$out" "$err"; exit 1
fi

# The build's directories, as meson resolves them (prefix /usr gives sysconfdir /etc).
eval "$(meson introspect "$BUILDDIR" --buildoptions | "$PYTHON" -c '
import json, os, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
p = o["prefix"]
def at(d):
    return d if os.path.isabs(d) else os.path.join(p, d)
print("sbindir=%s mandir=%s datadir=%s" % (at(o["sbindir"]), at(o["mandir"]), at(o["datadir"])))
# meson: sysconfdir "etc" under prefix /usr is /etc
print("sysconfdir=%s" % ("/etc" if p == "/usr" and o["sysconfdir"] == "etc" else at(o["sysconfdir"])))
')"
# bash-completion's own directory, as its pkg-config file places it under our datadir; systemd's
# unit directory and udev's directory as their pkg-config files say (absolute: /lib/... on Debian
# 12 whatever the prefix), as data/systemd and data/udev take them; the trial's helpers in
# <prefix>/lib/iommuctl.
compdir=$(pkg-config --variable=completionsdir --define-variable=datadir="$datadir" bash-completion 2>/dev/null ||
	echo "$datadir/bash-completion/completions")
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
udevdir=$(pkg-config --variable=udevdir udev 2>/dev/null || echo /lib/udev)
prefix=$(dirname "$sbindir")
libexec=$prefix/lib/iommuctl

# MODE PATH: every file the install must hold, nothing else.
sort -k2 >"$TEST_TMP/want" <<EOT
755 $sbindir/iommuctl
644 $mandir/man8/iommuctl.8
644 $compdir/iommuctl
755 $sysconfdir/kernel/postinst.d/zz-iommuctl
644 $datadir/doc/iommuctl/examples/gpu-passthrough.conf
644 $unitdir/iommuctl-boot-check.service
644 $unitdir/emergency.service.d/iommuctl-trial.conf
644 $unitdir/rescue.service.d/iommuctl-trial.conf
644 $udevdir/rules.d/40-iommuctl-trial.rules
755 $libexec/trial-bind
755 $libexec/trial-reboot
755 /usr/share/initramfs-tools/hooks/iommuctl
EOT
(cd "$dest" && find . \( -type f -o -type l \) -printf '%m /%P\n' | sort -k2) >"$TEST_TMP/got"

plan 6
if diff -u "$TEST_TMP/want" "$TEST_TMP/got" >"$TEST_TMP/diff"; then
	ok "the installed files and modes are exactly the expected list ($(wc -l <"$TEST_TMP/want") files)"
else
	not_ok "installed files differ from the expected list"; diag "$(cat "$TEST_TMP/diff")"
fi
run_cmd "$dest$sbindir/iommuctl" --version
contains "the installed binary runs" "$out" "iommuctl 0."
check "the kernel hook is a POSIX shell script sh can parse" sh -n "$dest$sysconfdir/kernel/postinst.d/zz-iommuctl"
check "the manual is a troff page for section 8" grep -q '^\.TH "iommuctl" "8"' "$dest$mandir/man8/iommuctl.8"
check "the completion file defines _iommuctl for iommuctl" \
	bash -c '. "$1"; complete -p iommuctl | grep -q "_iommuctl"' _ "$dest$compdir/iommuctl"
# The example is documentation: under /etc/iommuctl/profiles it would be live, so it must not be there.
check "nothing is installed under etc/iommuctl" test ! -e "$dest$sysconfdir/iommuctl"
