#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0110 — rollback refuses to discard later changes (exit 3) unless --force, keeps what it
# replaces, restores owners; recovery saves hand edits it finds; write errors restore files.
. "$(dirname "$0")/test-lib.sh"

root=$(new_root pve8-grub)
"$IOMMUCTL" --root "$root" snapshot >/dev/null
pristine=$(manifest "$root")
echo "vfio" >>"$root/etc/modules"
chown 1234:2345 "$root/etc/modprobe.d/pve-blacklist.conf"
"$IOMMUCTL" --root "$root" snapshot >/dev/null
edited=$(manifest "$root")
check "the owner change is recorded" test "$(sql "$root" "SELECT after_uid || ':' || after_gid FROM file_change WHERE txn = 2 AND path = '/etc/modprobe.d/pve-blacklist.conf'")" = 1234:2345

# A later hand edit of a file of transaction 2.
echo "vfio_pci" >>"$root/etc/modules"
later=$(manifest "$root")
expect_exit 3 "rollback over a later hand edit is refused" "$IOMMUCTL" --root "$root" --no-hooks rollback 2
contains "the refusal names the file" "$err" "$root/etc/modules"
contains "the refusal says what to do" "$err" "--force"
check "the refusal changed nothing" test "$(manifest "$root")" = "$later"

cp "$root/etc/modules" "$TEST_TMP/hand-edited-modules"
expect_exit 0 "rollback --force" "$IOMMUCTL" --root "$root" --force --no-hooks rollback 2
check "after --force the files are as before transaction 2" test "$(manifest "$root")" = "$pristine"
check "the owner is restored" test "$(stat -c %u:%g "$root/etc/modprobe.d/pve-blacklist.conf")" = 0:0
check "the discarded hand edit is in the journal as the rollback's before-state" \
	test "$(sql "$root" "SELECT before_hash FROM file_change WHERE txn = 3 AND path = '/etc/modules'")" = \
	"$(sha256sum <"$TEST_TMP/hand-edited-modules" | cut -d' ' -f1)"
expect_exit 0 "rolling back the forced rollback brings the hand edit back" "$IOMMUCTL" --root "$root" --no-hooks rollback 3
check "the hand-edited etc/modules is back" cmp "$root/etc/modules" "$TEST_TMP/hand-edited-modules"
check "the recorded owner came back too" test "$(stat -c %u:%g "$root/etc/modprobe.d/pve-blacklist.conf")" = 1234:2345

expect_exit 2 "rollback of a rollback-free history entry that does not exist" "$IOMMUCTL" --root "$root" --no-hooks rollback 42

# ---- recovery saves content it finds in neither state.
rb=$(new_root pve8-zfs)
"$IOMMUCTL" --root "$rb" snapshot >/dev/null
echo "vfio" >>"$rb/etc/modules"
echo "root=ZFS=rpool/ROOT/pve-1 boot=zfs amd_iommu=force_isolation" >"$rb/etc/kernel/cmdline"
echo "blacklist nouveau" >"$rb/etc/modprobe.d/nouveau.conf"
"$IOMMUCTL" --root "$rb" snapshot >/dev/null
before=$(manifest "$rb")
if command -v strace >/dev/null; then
	( strace -f -qq -o /dev/null -e trace=renameat -e inject=renameat:signal=KILL:when=2 \
		"$IOMMUCTL" --root "$rb" --no-hooks rollback 2 >/dev/null 2>&1; true ) 2>/dev/null
	check "a killed rollback leaves a pending transaction" \
		test "$(sql "$rb" "SELECT count(*) FROM txn WHERE state = 'pending'")" = 1
	printf 'edited by hand while the transaction was pending\n' >"$rb/etc/modules"
	expect_exit 0 "the next command recovers first" "$IOMMUCTL" --root "$rb" history
	expect_exit 0 "recover" "$IOMMUCTL" --root "$rb" recover
	contains "recover reports what it did" "$err" "had been interrupted"
	contains "recover says it saved hand-edited content" "$err" "saving hand-edited content"
	check "every file is back as before the interrupted rollback" test "$(manifest "$rb")" = "$before"
	check "the hand edit is saved in the journal" \
		test "$(sql "$rb" "SELECT count(*) FROM salvage s JOIN blob b ON b.hash = s.hash WHERE s.path = '/etc/modules'")" = 1
	expect_exit 0 "show lists the saved content" "$IOMMUCTL" --root "$rb" show 3
	contains "show names the saved file" "$out" "saved by recovery before overwriting: /etc/modules"
	expect_exit 0 "recover again has nothing to do" "$IOMMUCTL" --root "$rb" recover
	contains "and says so" "$out" "nothing to recover"
	# The recover transaction is a normal transaction: its diff shows what recovery overwrote.
	rec=$(sql "$rb" "SELECT id FROM txn WHERE kind = 'recover'")
	expect_exit 0 "diff of the recover transaction" "$IOMMUCTL" --root "$rb" diff "$rec"
	contains "it shows the overwritten hand edit" "$out" "-edited by hand while the transaction was pending"

	# ---- an I/O error in the middle of a transaction: files restored, transaction failed, exit 6.
	io=$(new_root pve8-zfs)
	"$IOMMUCTL" --root "$io" snapshot >/dev/null
	echo "vfio" >>"$io/etc/modules"
	echo "root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt" >"$io/etc/kernel/cmdline"
	echo "blacklist nouveau" >"$io/etc/modprobe.d/nouveau.conf"
	"$IOMMUCTL" --root "$io" snapshot >/dev/null
	before=$(manifest "$io")
	run_cmd strace -f -qq -o /dev/null -e trace=renameat -e inject=renameat:error=ENOSPC:when=2 \
		"$IOMMUCTL" --root "$io" --no-hooks rollback 2
	check "ENOSPC at the 2nd rename gives exit 6 ($rc)" test "$rc" = 6
	contains "the message names the file and the error" "$err" "No space left on device"
	contains "the message says nothing was changed" "$err" "no file was changed"
	check "every file is as before" test "$(manifest "$io")" = "$before"
	check "the transaction is marked failed" \
		test "$(sql "$io" "SELECT state FROM txn WHERE kind = 'rollback'")" = failed
	run_cmd strace -f -qq -o /dev/null -e trace=fsync -e inject=fsync:error=EIO:when=1 \
		"$IOMMUCTL" --root "$io" --no-hooks rollback 2
	check "EIO at the first fsync gives exit 6 ($rc)" test "$rc" = 6
	check "every file is still as before" test "$(manifest "$io")" = "$before"
	expect_exit 0 "without the fault, the rollback succeeds" "$IOMMUCTL" --root "$io" --no-hooks rollback 2
	check "the journal passes integrity_check" test "$(sql "$io" 'PRAGMA integrity_check')" = ok
else
	echo "# strace is missing: recovery and I/O error cases skipped"
fi
plan_late
