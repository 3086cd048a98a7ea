#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0200 — the crash matrix: every writing command is killed (SIGKILL, injected by
# strace) at the 1st, 2nd, … call of every syscall that writes a file or the journal,
# until it completes. After each kill, `iommuctl recover` must leave every managed file
# entirely before or entirely after, the journal must say which, and pass integrity_check.
. "$(dirname "$0")/test-lib.sh"

command -v strace >/dev/null || { echo "1..0 # SKIP strace is not installed"; exit 0; }

SYSCALLS="openat openat2 write pwrite64 fsync fdatasync rename renameat renameat2 unlink unlinkat mkdir mkdirat fchmod fchown ftruncate"
total_kills=0

# kill_run DIR SYSCALL N CMD...: run CMD against root DIR, killed at the Nth SYSCALL.
# Sets $rc: 137 when the kill happened, else the command's own status.
kill_run() {
	local dir=$1 sc=$2 n=$3; shift 3
	# The extra subshell keeps bash's "Killed" job report out of the TAP stream.
	rc=$( (strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc":signal=KILL:when="$n" \
		"$IOMMUCTL" --root "$dir" "$@" >/dev/null 2>"$TEST_TMP/.kill.err"; echo $?) 2>/dev/null)
}

# The journal agrees with the disk: nothing pending, integrity ok, and a snapshot
# finds nothing the journal does not already know. With "lenient", the killed command
# was a snapshot that may not have committed: one more snapshot may record the hand
# edits, and the one after it must find nothing.
journal_agrees() {
	local dir=$1 mode=${2:-strict} j
	j=$(journal_of "$dir")
	# Recovery (a writing command) ended with a checkpoint: journal.db alone is the journal,
	# even when the kill fell inside the previous command's checkpoint.
	[ ! -s "$j-wal" ] || { echo "recover left $(stat -c %s "$j-wal") bytes in the WAL"; return 1; }
	rm -rf "$TEST_TMP/.alone"; mkdir "$TEST_TMP/.alone"; cp "$j" "$TEST_TMP/.alone/journal.db"
	[ "$(sqlite3 "$TEST_TMP/.alone/journal.db" 'PRAGMA integrity_check; SELECT count(*), max(id) FROM txn')" = "$(sql "$dir" 'PRAGMA integrity_check; SELECT count(*), max(id) FROM txn')" ] ||
		{ echo "journal.db copied alone lacks transactions the journal has"; return 1; }
	[ "$(sql "$dir" "PRAGMA integrity_check; SELECT count(*) FROM txn WHERE state = 'pending'")" = "ok
0" ] || { echo "integrity_check failed or a transaction is still pending"; return 1; }
	[ -z "$(find "$dir/etc" -name '*.iommuctl-new')" ] || { echo "a temporary file was left"; return 1; }
	if [ "$mode" = lenient ]; then
		"$IOMMUCTL" --root "$dir" snapshot >/dev/null 2>&1 || { echo "snapshot after recovery failed"; return 1; }
	fi
	"$IOMMUCTL" --root "$dir" snapshot >"$TEST_TMP/.snap" 2>&1 || { echo "snapshot after recovery failed"; return 1; }
	grep -q "^no managed file changed" "$TEST_TMP/.snap" || { echo "journal disagrees with the disk: $(cat "$TEST_TMP/.snap")"; return 1; }
}

# crash_loop NAME TEMPLATE VERIFY CMD...: the matrix for one command.
crash_loop() {
	local name=$1 template=$2 verify=$3; shift 3
	local sc n kills why w=$TEST_TMP/work
	for sc in $SYSCALLS; do
		kills=0 why=
		for n in $(seq 1 2000); do
			rm -rf "$w"; cp -a "$template" "$w"
			kill_run "$w" "$sc" "$n" "$@"
			if [ "$rc" -ne 137 ]; then
				# The injection point lies beyond the last call: the command ran to the end.
				[ "$rc" -eq 0 ] || why="uninjected run exited $rc: $(cat "$TEST_TMP/.kill.err")"
				[ -n "$why" ] || [ ! -s "$(journal_of "$w")-wal" ] || why="the completed run left its WAL with content"
				[ -n "$why" ] || why=$("$verify" "$w" completed) || true
				break
			fi
			kills=$((kills + 1))
			if ! "$IOMMUCTL" --root "$w" recover >/dev/null 2>"$TEST_TMP/.rec.err"; then
				why="recover failed after a kill at $sc #$n: $(cat "$TEST_TMP/.rec.err")"
				break
			fi
			why=$("$verify" "$w" killed) || { why="after a kill at $sc #$n: $why"; break; }
			why=
		done
		total_kills=$((total_kills + kills))
		if [ -z "$why" ]; then
			ok "$name: killed at each of $kills $sc call(s); every file entirely before or after"
		else
			not_ok "$name: $sc"
			diag "$why"
		fi
	done
}

# ---- rollback: the template holds the edited files; rollback 2 returns them to pristine.
pristine=$(new_root pve8-grub)
rb=$TEST_TMP/rb-template
cp -a "$pristine" "$rb"
"$IOMMUCTL" --root "$rb" snapshot >/dev/null
printf 'vfio\nvfio_pci' >>"$rb/etc/modules"
printf 'options vfio-pci ids=10de:1b80\n' >"$rb/etc/modprobe.d/vfio.conf"
rm "$rb/etc/modprobe.d/intel-microcode-blacklist.conf"
chmod 0600 "$rb/etc/default/grub"
mkdir -p "$rb/etc/kernel" && echo "root=ZFS=rpool/ROOT/pve-1 boot=zfs" >"$rb/etc/kernel/cmdline"
"$IOMMUCTL" --root "$rb" snapshot >/dev/null
edited=$(manifest "$rb")
cp -a "$rb/var" "$pristine/" # so that manifests compare etc only
before_rb=$edited
after_rb=$(manifest "$pristine")

verify_rollback() {
	local dir=$1 m rolled
	m=$(manifest "$dir")
	rolled=$(sql "$dir" "SELECT count(*) FROM txn WHERE kind = 'rollback' AND state = 'committed' AND undoes = 2")
	if [ "$m" = "$after_rb" ]; then
		[ "$rolled" = 1 ] || { echo "files are after but the journal has $rolled committed rollbacks"; return 1; }
	elif [ "$m" = "$before_rb" ]; then
		[ "$2" = killed ] || { echo "a completed rollback left the files as before"; return 1; }
		[ "$rolled" = 0 ] || { echo "files are before but the journal says the rollback committed"; return 1; }
	else
		echo "files are neither before nor after:"; diff <(echo "$before_rb") <(echo "$m") | head -20
		return 1
	fi
	journal_agrees "$dir"
}
crash_loop "rollback" "$rb" verify_rollback --no-hooks rollback 2

# ---- snapshot: files never change; the journal records the edits once or not at all.
sn=$TEST_TMP/sn-template
cp -a "$(new_root pve8-zfs)" "$sn"
"$IOMMUCTL" --root "$sn" snapshot >/dev/null
echo "vfio" >>"$sn/etc/modules"
echo "blacklist nouveau" >"$sn/etc/modprobe.d/nouveau.conf"
before_sn=$(manifest "$sn")
verify_snapshot() {
	local dir=$1 n
	[ "$(manifest "$dir")" = "$before_sn" ] || { echo "snapshot changed a file"; return 1; }
	journal_agrees "$dir" lenient || return 1
	n=$(sql "$dir" "SELECT count(*) FROM txn WHERE kind = 'snapshot' AND state = 'committed'")
	[ "$n" = 2 ] || { echo "expected the baseline and one snapshot of the edits, found $n snapshots"; return 1; }
}
crash_loop "snapshot" "$sn" verify_snapshot snapshot -m edits

# ---- the first snapshot creates and migrates the journal: kills during creation too.
first=$(new_root pve8-zfs)
before_first=$(manifest "$first")
verify_first() {
	local dir=$1
	[ "$(manifest "$dir")" = "$before_first" ] || { echo "the first snapshot changed a file"; return 1; }
	[ "$(sql "$dir" 'PRAGMA user_version')" = "$(ls "$SRCDIR"/schema/*.sql | wc -l)" ] || { echo "schema not at the newest version"; return 1; }
	journal_agrees "$dir" lenient || return 1
	[ "$(sql "$dir" "SELECT count(*) FROM txn WHERE kind = 'snapshot'")" = 1 ] || { echo "more than one baseline"; return 1; }
}
crash_loop "first snapshot" "$first" verify_first snapshot

# ---- recover itself: a pending rollback (killed at its 2nd rename) is recovered, killed at every step.
pend=$TEST_TMP/pending-template
rm -rf "$pend"; cp -a "$rb" "$pend"
kill_run "$pend" renameat 2 --no-hooks rollback 2
if [ "$rc" -eq 137 ] && [ "$(sql "$pend" "SELECT count(*) FROM txn WHERE state = 'pending'")" = 1 ] &&
	[ "$(manifest "$pend")" != "$before_rb" ]; then
	ok "a rollback killed at its 2nd rename leaves a pending transaction and a half-written tree"
else
	not_ok "could not make a pending transaction (rc $rc)"
fi
verify_recover() {
	local dir=$1
	[ "$(manifest "$dir")" = "$before_rb" ] || { echo "recovery did not put the files back as before"; return 1; }
	[ "$(sql "$dir" "SELECT state FROM txn WHERE kind = 'rollback'")" = rolled-back ] || { echo "the interrupted transaction is not marked rolled-back"; return 1; }
	[ "$(sql "$dir" "SELECT count(*) FROM txn WHERE kind = 'recover' AND state = 'committed'")" = 1 ] || { echo "expected one recover transaction"; return 1; }
	journal_agrees "$dir"
}
crash_loop "recover" "$pend" verify_recover recover

# ---- apply: the nvidia profile on a pristine root (three files: edit, edit, create).
ap=$TEST_TMP/apply-template
cp -a "$(new_root pve8-grub)" "$ap"
# Hardware captured from Debian 6.12 on an AMD IOMMU (QEMU), so plans never read this machine.
amd="$FIXTURES/hw/q35-amd-6.12/proc" amd_sys="$FIXTURES/hw/q35-amd-6.12/sys"
before_ap=$(manifest "$ap")
after_dir=$TEST_TMP/apply-after
cp -a "$ap" "$after_dir"
"$IOMMUCTL" --root "$after_dir" --sysfs "$amd_sys" --procfs "$amd" --no-hooks -y apply nvidia >/dev/null 2>&1
after_ap=$(manifest "$after_dir")
verify_apply() {
	local dir=$1 m applied
	m=$(manifest "$dir")
	applied=$(sql "$dir" "SELECT count(*) FROM txn WHERE kind = 'apply' AND state = 'committed'" 2>/dev/null || echo 0)
	if [ "$m" = "$after_ap" ]; then
		[ "$applied" = 1 ] || { echo "files are after but the journal has $applied committed applies"; return 1; }
	elif [ "$m" = "$before_ap" ]; then
		[ "$2" = killed ] || { echo "a completed apply left the files as before"; return 1; }
		[ "$applied" = 0 ] || { echo "files are before but the journal says the apply committed"; return 1; }
	else
		echo "files are neither before nor after:"; diff <(echo "$before_ap") <(echo "$m") | head -20
		return 1
	fi
	[ ! -e "$(journal_of "$dir")" ] || journal_agrees "$dir" lenient
}
crash_loop "apply" "$ap" verify_apply --sysfs "$amd_sys" --procfs "$amd" --no-hooks -y apply nvidia

diag "kill points exercised: $total_kills"
echo "# crash matrix: $total_kills kill points exercised, every one recovered"
check "at least 100 kill points were exercised ($total_kills)" test "$total_kills" -ge 100
plan_late
