#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0100 — snapshot → edit → snapshot → rollback gives every file back byte for byte:
# created and deleted files, modes, owners, CRLF and a file without final newline.
. "$(dirname "$0")/test-lib.sh"

root=$(new_root pve8-grub)
pristine=$TEST_TMP/pristine
cp -a "$root" "$pristine"

expect_exit 0 "first snapshot records the baseline" "$IOMMUCTL" --root "$root" snapshot -m baseline
contains "the baseline is announced" "$out" "first view of 5 managed file(s)"
check "the journal directory is 0700" test "$(stat -c %a "$root/var/lib/iommuctl")" = 700
check "the journal file is 0600" test "$(stat -c %a "$(journal_of "$root")")" = 600
expect_exit 0 "a second snapshot with no change" "$IOMMUCTL" --root "$root" --json snapshot
check "nothing changed: txn null, changed false" json_check "$TEST_TMP/.out" 'd["txn"] is None and d["changed"] is False and d["files"] == []'
check "nothing changed: no transaction recorded" test "$(sql "$root" 'SELECT count(*) FROM txn')" = 1

# Hand edits of every kind.
printf 'vfio\nvfio_iommu_type1\nvfio_pci' >>"$root/etc/modules"                  # no final newline
printf 'options vfio-pci ids=10de:1b80,10de:10f0\r\nsoftdep nouveau pre: vfio-pci\r\n' >"$root/etc/modprobe.d/vfio.conf"
chmod 0640 "$root/etc/modprobe.d/vfio.conf"
rm "$root/etc/modprobe.d/intel-microcode-blacklist.conf"
sed -i 's/^GRUB_CMDLINE_LINUX_DEFAULT="quiet"/GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"/' "$root/etc/default/grub"
chmod 0600 "$root/etc/default/grub.d/installer.cfg"
mkdir -p "$root/etc/kernel"
printf 'root=/dev/mapper/pve-root ro quiet intel_iommu=on\n' >"$root/etc/kernel/cmdline"
edited=$TEST_TMP/edited
rm -rf "$edited"; cp -a "$root" "$edited"

expect_exit 0 "snapshot of the hand edits" "$IOMMUCTL" --root "$root" --json snapshot -m "hand edits"
check "snapshot --json has the DESIGN.md keys" json_check "$TEST_TMP/.out" \
	'd["txn"] == 2 and d["changed"] is True and sorted(d["files"]) == sorted(["/etc/default/grub", "/etc/default/grub.d/installer.cfg", "/etc/kernel/cmdline", "/etc/modprobe.d/intel-microcode-blacklist.conf", "/etc/modprobe.d/vfio.conf", "/etc/modules"])'
check "snapshot changed no file" test "$(manifest "$root")" = "$(manifest "$edited")"

expect_exit 0 "show 2" "$IOMMUCTL" --root "$root" show 2
contains "show names a created file" "$out" "/etc/modprobe.d/vfio.conf (created)"
contains "show names a deleted file" "$out" "/etc/modprobe.d/intel-microcode-blacklist.conf (deleted)"
contains "show names a mode change" "$out" "/etc/default/grub.d/installer.cfg (attributes)"
contains "show gives the sha256 of the content" "$out" "$(sha256sum <"$root/etc/modules" | cut -d' ' -f1)"

expect_exit 0 "diff 2" "$IOMMUCTL" --root "$root" diff 2
echo "$out" >"$TEST_TMP/txn2.diff"
contains "diff shows a created file from /dev/null" "$out" "--- /dev/null
+++ b/etc/modprobe.d/vfio.conf"
contains "diff shows a deleted file to /dev/null" "$out" "--- a/etc/modprobe.d/intel-microcode-blacklist.conf
+++ /dev/null"
contains "diff marks the missing final newline" "$out" "+vfio_pci
\\ No newline at end of file"
contains "diff shows the mode change" "$out" "old mode 100644
new mode 100600"
expect_exit 0 "diff is deterministic" "$IOMMUCTL" --root "$root" diff 2
check "diff prints the same bytes twice" test "$out" = "$(cat "$TEST_TMP/txn2.diff")"
# The diff is a real patch: applied to the pristine tree, it gives the edited one.
patched=$TEST_TMP/patched
cp -a "$pristine" "$patched"
check "the diff applies with patch -p1 onto the pristine files" \
	sh -c "cd '$patched' && patch -s -p1 <'$TEST_TMP/txn2.diff'"
for f in etc/modules etc/modprobe.d/vfio.conf etc/default/grub etc/kernel/cmdline; do
	check "patch result equals the edited $f" cmp -s "$patched/$f" "$edited/$f"
done
check "patch deleted the deleted file" test ! -e "$patched/etc/modprobe.d/intel-microcode-blacklist.conf"

expect_exit 0 "history" "$IOMMUCTL" --root "$root" history
contains "history has stable columns" "$out" "ID KIND"
check "history lists newest first" sh -c "echo '$out' | awk 'NR==2{print \$1}' | grep -qx 2"
expect_exit 0 "history --json" "$IOMMUCTL" --root "$root" --json history
check "history --json has the DESIGN.md keys" json_check "$TEST_TMP/.out" \
	'[t["id"] for t in d] == [2, 1] and all(set(["id","kind","state","profile","started_at","files"]) <= set(t) for t in d) and d[0]["kind"] == "snapshot" and d[0]["state"] == "committed" and "/etc/modules" in d[0]["files"]'
expect_exit 0 "history --limit 1" "$IOMMUCTL" --root "$root" --json history --limit 1
check "--limit 1 gives one transaction" json_check "$TEST_TMP/.out" 'len(d) == 1 and d[0]["id"] == 2'

expect_exit 0 "rollback (default: the newest undoable)" "$IOMMUCTL" --root "$root" --json --no-hooks rollback
check "rollback --json names txn 3 and the files" json_check "$TEST_TMP/.out" 'd["txn"] == 3 and d["changed"] is True and len(d["files"]) == 6'
check "every file is back byte for byte, with mode and owner" test "$(manifest "$root")" = "$(manifest "$pristine")"
for f in etc/modules etc/default/grub etc/modprobe.d/intel-microcode-blacklist.conf etc/default/grub.d/installer.cfg; do
	check "cmp $f against the pristine copy" cmp "$root/$f" "$pristine/$f"
done
check "the created files are gone" test ! -e "$root/etc/modprobe.d/vfio.conf" -a ! -e "$root/etc/kernel/cmdline"
check "no temporary file is left" test -z "$(find "$root/etc" -name '*.iommuctl-new')"

expect_exit 0 "a second rollback of the same transaction" "$IOMMUCTL" --root "$root" --no-hooks rollback 2
contains "it says the transaction is already undone" "$out" "already undone (by transaction 3)"
check "and records nothing" test "$(sql "$root" 'SELECT count(*) FROM txn')" = 3
expect_exit 2 "rollback with nothing left to undo" "$IOMMUCTL" --root "$root" --no-hooks rollback
contains "it says there is nothing to roll back" "$err" "nothing to roll back"

expect_exit 0 "rolling back the rollback re-does the edits" "$IOMMUCTL" --root "$root" --no-hooks rollback 3
check "the edited tree is back byte for byte" test "$(manifest "$root")" = "$(manifest "$edited")"
check "the file without final newline kept it that way" test "$(tail -c 8 "$root/etc/modules")" = "vfio_pci"
check "CRLF lines kept their CR" cmp "$root/etc/modprobe.d/vfio.conf" "$edited/etc/modprobe.d/vfio.conf"
expect_exit 0 "after the redo, rollback 2 undoes the edits again" "$IOMMUCTL" --root "$root" --no-hooks rollback 2
check "the pristine tree is back" test "$(manifest "$root")" = "$(manifest "$pristine")"
check "the journal passes integrity_check" test "$(sql "$root" 'PRAGMA integrity_check')" = ok
check "no transaction is pending" test "$(sql "$root" "SELECT count(*) FROM txn WHERE state = 'pending'")" = 0
check "four distinct contents of etc/modules cost at most their blobs" \
	test "$(sql "$root" 'SELECT count(*) FROM blob')" -le 14

# --journal puts the journal elsewhere and leaves the root's default path alone.
other=$(new_root pve8-zfs)
expect_exit 0 "--journal FILE" "$IOMMUCTL" --root "$other" --journal "$TEST_TMP/elsewhere.db" snapshot
check "the journal is where --journal says" test -s "$TEST_TMP/elsewhere.db"
check "nothing was created under the root's /var" test ! -e "$other/var"
plan_late
