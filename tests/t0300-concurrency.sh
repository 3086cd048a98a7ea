#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0300 — two writers at once: one proceeds, the other exits 4 naming the holder's pid; nothing lost.
. "$(dirname "$0")/test-lib.sh"

command -v strace >/dev/null || { echo "1..0 # SKIP strace is not installed"; exit 0; }
[ -r /proc/locks ] || { echo "1..0 # SKIP /proc/locks is not readable"; exit 0; }

root=$(new_root pve8-grub)
"$IOMMUCTL" --root "$root" snapshot >/dev/null
pristine=$(manifest "$root")
echo "vfio" >>"$root/etc/modules"
echo "blacklist nouveau" >"$root/etc/modprobe.d/nouveau.conf"
"$IOMMUCTL" --root "$root" snapshot >/dev/null
lock="$(journal_of "$root").lock"

# Writer A is slowed down at every rename (1.5 s each) while it holds the lock.
strace -f -qq -o /dev/null -e trace=renameat -e inject=renameat:delay_enter=1500000 \
	"$IOMMUCTL" --root "$root" --no-hooks rollback 2 >"$TEST_TMP/a.out" 2>"$TEST_TMP/a.err" &
a=$!
# lock_held: whether some process holds a flock on the lock file, read from /proc/locks
# ("N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE ..."). Probing with flock -n would take the
# lock itself for a moment, and A, which tries once, could find it taken and exit 4.
lock_held() {
	local ino
	ino=$(stat -c %i "$lock" 2>/dev/null) || return 1
	grep -qE "^[0-9]+: +FLOCK +ADVISORY +WRITE +[0-9]+ +[0-9a-f]+:[0-9a-f]+:$ino " /proc/locks
}
# Up to 60 s for A to take the lock: under strace on a loaded machine its start-up alone took
# more than the 5 s this loop once allowed.
for _ in $(seq 1 1200); do
	lock_held && break
	kill -0 "$a" 2>/dev/null || break
	sleep 0.05
done
check "writer A holds the lock" lock_held
lock_held || diag "A: $(cat "$TEST_TMP/a.err")"
# A writes its pid into the lock file just after taking the lock; the pid there before is
# that of an earlier command, long gone.
for _ in $(seq 1 200); do
	holder=$(tr -d '\n' <"$lock")
	[ -n "$holder" ] && kill -0 "$holder" 2>/dev/null && break
	sleep 0.05
done

expect_exit 4 "writer B (snapshot) while A holds the lock" "$IOMMUCTL" --root "$root" snapshot
contains "B names the holder's pid" "$err" "another iommuctl (pid $holder) holds the lock"
contains "B names the lock file" "$err" "$lock"
expect_exit 4 "writer C (rollback) while A holds the lock" "$IOMMUCTL" --root "$root" --no-hooks rollback 2
expect_exit 4 "recover while A holds the lock" "$IOMMUCTL" --root "$root" recover
expect_exit 0 "a reader (history) is not blocked" "$IOMMUCTL" --root "$root" history
contains "the reader sees A's transaction as pending" "$out" "pending"

wait "$a"
check "writer A finished successfully" test $? -eq 0
check "A's rollback is complete: the files are as before transaction 2" test "$(manifest "$root")" = "$pristine"
check "A reported its rollback" sh -c "grep -q 'rolled back transaction 2' '$TEST_TMP/a.out'"
expect_exit 0 "after A, B can run" "$IOMMUCTL" --root "$root" --json snapshot
check "and finds nothing unrecorded" json_check "$TEST_TMP/.out" 'd["changed"] is False'
check "the journal passes integrity_check" test "$(sql "$root" 'PRAGMA integrity_check')" = ok
check "the journal has exactly the three transactions" test "$(sql "$root" 'SELECT count(*) FROM txn')" = 3

# A reader in the middle of a read transaction when a writer ends: the writer's checkpoint
# waits for it at most 2 s, then leaves the WAL as it is (journal.db + WAL still the whole
# journal), warns, and exits 0; the next writing command folds the WAL into journal.db.
j=$(journal_of "$root")
"$PYTHON" - "$j" 4 >"$TEST_TMP/reader.out" 2>&1 <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN")
print(c.execute("SELECT count(*) FROM txn").fetchone()[0], flush=True)
time.sleep(float(sys.argv[2]))
c.execute("COMMIT")
PY
reader=$!
for _ in $(seq 1 100); do [ -s "$TEST_TMP/reader.out" ] && break; sleep 0.05; done
echo "held" >>"$root/etc/modprobe.d/held.conf"
t0=$(date +%s%N)
expect_exit 0 "a snapshot while a reader holds a read transaction" "$IOMMUCTL" --root "$root" snapshot -m held
ms=$((($(date +%s%N) - t0) / 1000000))
check "the writer was held up by the reader ${ms} ms, not until it finished (4 s)" test "$ms" -lt 3900
contains "it says its transaction stays in the WAL for now" "$err" "was still reading it, so its newest transactions stay in"
check "the WAL holds it meanwhile" test -s "$j-wal"
wait "$reader"
expect_exit 0 "the next writing command (recover)" "$IOMMUCTL" --root "$root" recover
check "folds the WAL into journal.db" test ! -s "$j-wal"
check "journal.db alone has the held snapshot" test "$(sqlite3 "file:$j?immutable=1" "SELECT count(*) FROM txn WHERE note = 'held'")" = 1
rm "$root/etc/modprobe.d/held.conf"
"$IOMMUCTL" --root "$root" snapshot -m "held removed" >/dev/null

# Many writers racing: each either succeeds or exits 4, and the journal stays whole.
for i in $(seq 1 8); do
	( echo "race $i" >>"$root/etc/modprobe.d/race.conf"
	  "$IOMMUCTL" --root "$root" snapshot -m "race $i" >/dev/null 2>&1; echo $? >"$TEST_TMP/race.$i" ) &
done
wait
bad=0
for i in $(seq 1 8); do
	case $(cat "$TEST_TMP/race.$i") in 0|4) ;; *) bad=$((bad + 1)) ;; esac
done
check "8 racing snapshots each succeeded or exited 4" test "$bad" -eq 0
"$IOMMUCTL" --root "$root" snapshot >/dev/null
"$IOMMUCTL" --root "$root" --json snapshot >"$TEST_TMP/final.json"
check "after the race the journal knows the final content" json_check "$TEST_TMP/final.json" 'd["changed"] is False'
check "integrity_check after the race" test "$(sql "$root" 'PRAGMA integrity_check')" = ok

# Load: 8 processes applying and rolling back different profiles on one root for a bounded
# time. Each command ends in a decision (0; 2 nothing left to undo; 3 a rollback refused over
# another process's later change) or waits its turn (4); nothing else, no half-made change.
# Beside them a reader lists the history all the time; it takes no lock and always answers (0).
amd=$FIXTURES/hw/q35-amd-6.12
load=$(new_root pve8-grub)
# load_record WORKER COMMAND STATUS: one line per command; the message of any
# outcome the test does not expect is kept to be shown on failure.
load_record() {
	echo "$2 $3" >>"$TEST_TMP/load.$1"
	case $2.$3 in
	history.0 | apply.[0234] | rollback.[0234]) ;;
	*) { echo "worker $1: $2 exited $3:"; cat "$TEST_TMP/err.$1"; } >>"$TEST_TMP/odd.$1" ;;
	esac
}
profiles=(iommu vfio nvidia amd intel vfio nvidia iommu)
end=$(($(date +%s) + ${LOAD_SECONDS:-20}))
for i in $(seq 0 7); do
	( n=0
	  while [ "$(date +%s)" -lt "$end" ]; do
		"$IOMMUCTL" --root "$load" --sysfs "$amd/sys" --procfs "$amd/proc" --no-hooks -y apply "${profiles[$i]}" >/dev/null 2>"$TEST_TMP/err.$i"
		load_record $i apply $?
		"$IOMMUCTL" --root "$load" --no-hooks rollback >/dev/null 2>"$TEST_TMP/err.$i"
		load_record $i rollback $?
		n=$((n + 1))
	  done ) &
done
( while [ "$(date +%s)" -lt "$end" ]; do
	"$IOMMUCTL" --root "$load" history --limit 3 >/dev/null 2>"$TEST_TMP/err.r"
	load_record r history $?
  done ) &
wait
cat "$TEST_TMP"/load.[0-7] >"$TEST_TMP/load.all"
total=$(wc -l <"$TEST_TMP/load.all")
odd=$(cat "$TEST_TMP"/odd.* 2>/dev/null | grep -c '^worker [0-7]:' || true)
ran=$(grep -cE ' 0$' "$TEST_TMP/load.all" || true)
locked=$(grep -cE ' 4$' "$TEST_TMP/load.all" || true)
reads=$(wc -l <"$TEST_TMP/load.r")
odd_reads=$(cat "$TEST_TMP"/odd.* 2>/dev/null | grep -c '^worker r:' || true)
check "load: $total commands from 8 processes ($ran completed, $locked waited with exit 4), none ended otherwise" test "$odd" -eq 0
check "load: $reads history listings beside them, each answered" test "$odd_reads" -eq 0 -a "$reads" -gt 0
cat "$TEST_TMP"/odd.* 2>/dev/null | sed 's/^/# /'
check "load: nothing pending, integrity_check ok" test "$(sql "$load" "PRAGMA integrity_check; SELECT count(*) FROM txn WHERE state = 'pending'")" = "ok
0"
check "load: the history has no gaps" test "$(sql "$load" 'SELECT count(*) = max(id) FROM txn')" = 1
check "load: the last writer left journal.db alone complete (WAL empty)" test ! -s "$(journal_of "$load")-wal"
"$IOMMUCTL" --root "$load" --json snapshot >"$TEST_TMP/load.json"
check "load: the journal's last committed state is what is on disk" json_check "$TEST_TMP/load.json" 'd["changed"] is False'
echo "# load: $total commands in ${LOAD_SECONDS:-20} s from 8 processes, $ran completed, $locked exited 4; $reads history listings"
plan_late
