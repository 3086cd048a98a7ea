#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0400 — a root whose managed paths are symlinks (absolute, or ../..) never leads a read
# or a write outside the root: the link is refused with a message, the outside untouched.
. "$(dirname "$0")/test-lib.sh"

outside=$TEST_TMP/outside
mkdir -p "$outside/etc/modprobe.d"
echo "SECRET-OUTSIDE-CONTENT" >"$outside/secret"
echo "blacklist outside" >"$outside/etc/modprobe.d/outside.conf"
echo "SECRET-OUTSIDE-CONTENT" >"$outside/outside.conf"
snap_outside() { (cd "$outside" && find . -printf '%p %m %s\n' | sort && find . -type f | sort | xargs sha256sum); }
before_outside=$(snap_outside)

refused() { # NAME ROOT: a writing and a reading command on ROOT refuse; nothing leaks.
	local name=$1 root=$2
	expect_exit 5 "$name: snapshot refuses" "$IOMMUCTL" --root "$root" snapshot
	contains "$name: the message explains the link" "$err" "symbolic link"
	contains "$name: the message says what to do" "$err" "Replace the link"
	check "$name: the outside is untouched" test "$(snap_outside)" = "$before_outside"
	if [ -e "$(journal_of "$root")" ]; then
		check "$name: no outside content reached the journal" \
			test "$(sql "$root" "SELECT count(*) FROM blob WHERE hash IN ('$(sha256sum <"$outside/secret" | cut -d' ' -f1)', '$(sha256sum <"$outside/etc/modprobe.d/outside.conf" | cut -d' ' -f1)')")" = 0
	fi
}

r=$(new_root pve8-grub); rm "$r/etc/modules"; ln -s "$outside/secret" "$r/etc/modules"
refused "etc/modules -> absolute path outside" "$r"
r=$(new_root pve8-grub); rm "$r/etc/modules"; ln -s ../../../outside/secret "$r/etc/modules"
refused "etc/modules -> ../../.." "$r"
r=$(new_root pve8-grub); rm -r "$r/etc/modprobe.d"; ln -s / "$r/etc/modprobe.d"
refused "etc/modprobe.d -> /" "$r"
r=$(new_root pve8-grub); rm -r "$r/etc/modprobe.d"; ln -s ../.. "$r/etc/modprobe.d"
refused "etc/modprobe.d -> ../.." "$r"
r=$(new_root pve8-grub); rm -r "$r/etc/modprobe.d"; ln -s "$outside/etc/modprobe.d" "$r/etc/modprobe.d"
refused "etc/modprobe.d -> absolute directory outside" "$r"
r=$(new_root pve8-grub); mv "$r/etc" "$r/real-etc"; ln -s /real-etc "$r/etc"
refused "etc -> /real-etc (a link above the managed files)" "$r"

# A symlinked file inside a managed directory (Debian's nvidia packages link
# /etc/modprobe.d/nvidia.conf to /etc/alternatives) is read by kmod but never recorded.
r=$(new_root pve8-grub); ln -s "$outside/outside.conf" "$r/etc/modprobe.d/nvidia.conf"
expect_exit 0 "a symlink inside modprobe.d does not stop snapshot" "$IOMMUCTL" --root "$r" snapshot
contains "it is named as not recorded" "$err" "/etc/modprobe.d/nvidia.conf is a symbolic link; it is not recorded"
check "its target outside the root never reached the journal" \
	test "$(sql "$r" "SELECT count(*) FROM file_change WHERE path = '/etc/modprobe.d/nvidia.conf'")" = 0

# A rollback that would write through a directory replaced by a link after the snapshot.
r=$(new_root pve8-grub)
"$IOMMUCTL" --root "$r" snapshot >/dev/null
echo "blacklist nouveau" >"$r/etc/modprobe.d/nouveau.conf"
"$IOMMUCTL" --root "$r" snapshot >/dev/null
mv "$r/etc/modprobe.d" "$r/etc/modprobe.d.moved"; ln -s "$outside/etc/modprobe.d" "$r/etc/modprobe.d"
expect_exit 5 "rollback through a linked directory is refused" "$IOMMUCTL" --root "$r" --force --no-hooks rollback 2
check "the outside is untouched after the refused rollback" test "$(snap_outside)" = "$before_outside"

# The journal directory may be reached through a link (a rescue root mounted with /var
# elsewhere): openat2 resolves it inside the root, never on the host.
r=$(new_root pve8-grub); mkdir -p "$r/var/lib" "$r/data/iommuctl"; ln -s "$outside/journal-dir" "$r/var/lib/iommuctl"
mkdir -p "$r$outside/journal-dir"
expect_exit 0 "an absolute journal-directory link resolves inside the root" "$IOMMUCTL" --root "$r" snapshot
check "the journal was created inside the root" test -s "$r$outside/journal-dir/journal.db"
check "nothing was created outside the root" test ! -e "$outside/journal-dir"
check "the outside is untouched" test "$(snap_outside)" = "$before_outside"
plan_late
