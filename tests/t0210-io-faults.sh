#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0210 — the I/O fault matrix: every writing command (snapshot, apply, rollback, recover)
# gets ENOSPC, EIO or EACCES (injected by strace) at the 1st, 2nd, … call of every syscall
# that writes state — SQLite's own I/O included, since it goes through the same calls —
# until a run passes the last call. After each fault: a non-zero exit comes with a message
# that names what failed, every managed file is entirely before or entirely after, the
# journal passes integrity_check, and `recover` leaves nothing pending.
. "$(dirname "$0")/test-lib.sh"

command -v strace >/dev/null || { echo "1..0 # SKIP strace is not installed"; exit 0; }

# Which errors make sense where: a full disk fails writes, creations and renames; EIO any
# I/O; EACCES what checks permissions.
errors_for() {
	case $1 in
	write|pwrite64|fsync|fdatasync|ftruncate) echo "ENOSPC EIO" ;;
	fchmod|fchown|unlink|unlinkat) echo "EIO EACCES" ;;
	*) echo "ENOSPC EIO EACCES" ;;
	esac
}
SYSCALLS="openat openat2 write pwrite64 fsync fdatasync renameat unlink unlinkat mkdirat fchmod fchown ftruncate"
amd="$FIXTURES/hw/q35-amd-6.12"
total=0

strerror_of() {
	case $1 in
	ENOSPC) echo "No space left on device|disk is full|database or disk is full" ;;
	EIO) echo "Input/output error|disk I/O error|I/O error" ;;
	EACCES) echo "Permission denied|access permission denied|unable to open database" ;;
	esac
}

# calls SYSCALL TEMPLATE CMD...: how often an undisturbed run makes the call.
calls() {
	local sc=$1 w=$TEST_TMP/count; shift
	rm -rf "$w"; cp -a "$1" "$w"; shift
	strace -f -qq -o "$TEST_TMP/.trace" -e trace="$sc" "$IOMMUCTL" --root "$w" "$@" >/dev/null 2>&1
	grep -cE "^([0-9]+ +)?$sc\(" "$TEST_TMP/.trace"
}

# fault_loop NAME TEMPLATE BEFORE AFTER CMD...: BEFORE and AFTER are manifests of etc/.
fault_loop() {
	local name=$1 template=$2 before=$3 after=$4; shift 4
	local w=$TEST_TMP/work sc err n rc m why failed named count ckpt
	for sc in $SYSCALLS; do
		count=$(calls "$sc" "$template" "$@")
		for err in $(errors_for "$sc"); do
			failed=0 named=0 ckpt=0 why=
			for n in $(seq 1 "$count"); do
				rm -rf "$w"; cp -a "$template" "$w"
				strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc":error="$err":when="$n" \
					"$IOMMUCTL" --root "$w" "$@" >/dev/null 2>"$TEST_TMP/.err"
				rc=$?
				if [ "$rc" -ne 0 ]; then
					failed=$((failed + 1))
					if ! grep -q '^iommuctl: ' "$TEST_TMP/.err"; then
						why="exit $rc without a message of its own at $sc #$n: $(head -c 300 "$TEST_TMP/.err")"; break
					fi
					# 6 for I/O; a hardware file that cannot be read makes the analysis refuse (3).
					if [ "$rc" -ne 6 ] && ! { [ "$rc" -eq 3 ] && grep -q 'hardware file(s)\? could not be read\|of the hardware files could not be read' "$TEST_TMP/.err"; }; then
						why="exit $rc, not 6 (I/O), for $err at $sc #$n: $(tail -c 400 "$TEST_TMP/.err")"; break
					fi
					grep -qE "$(strerror_of "$err")" "$TEST_TMP/.err" && named=$((named + 1))
					"$IOMMUCTL" --root "$w" recover >/dev/null 2>"$TEST_TMP/.rec" ||
						{ why="recover failed after $err at $sc #$n: $(cat "$TEST_TMP/.rec")"; break; }
				fi
				# A fault in the checkpoint at the end: the command's work is done and in the
				# WAL, so it exits 0 with a warning; the next writing command folds it in.
				if [ "$rc" -eq 0 ] && [ -s "$w/var/lib/iommuctl/journal.db-wal" ]; then
					grep -q "^iommuctl: warning: journal .*cannot fold the WAL into journal.db" "$TEST_TMP/.err" ||
						{ why="exit 0 with $err at $sc #$n left the WAL with content and said nothing"; break; }
					ckpt=$((ckpt + 1))
					"$IOMMUCTL" --root "$w" recover >/dev/null 2>"$TEST_TMP/.rec" && [ ! -s "$w/var/lib/iommuctl/journal.db-wal" ] ||
						{ why="the next command did not fold the WAL left by $err at $sc #$n: $(cat "$TEST_TMP/.rec")"; break; }
				fi
				m=$(manifest "$w")
				if [ "$rc" -eq 0 ] && [ "$m" != "$after" ]; then
					why="exit 0 with $err at $sc #$n, but the files are not as after"; break
				fi
				[ "$m" = "$before" ] || [ "$m" = "$after" ] ||
					{ why="after $err at $sc #$n (exit $rc): files neither before nor after"; diag "$(cat "$TEST_TMP/.err")"; break; }
				if [ -f "$w/var/lib/iommuctl/journal.db" ] &&
					[ "$(sql "$w" "PRAGMA integrity_check; SELECT count(*) FROM txn WHERE state = 'pending'")" != "ok
0" ]; then
					why="after $err at $sc #$n: integrity_check failed or a transaction is pending"; break
				fi
				[ -z "$(find "$w/etc" -name '*.iommuctl-new')" ] || { why="a temporary file was left ($err at $sc #$n)"; break; }
				cat "$TEST_TMP/.err" >>"$TEST_TMP/messages"
			done
			total=$((total + count))
			if [ -z "$why" ]; then
				ok "$name: $err at each of $count $sc call(s): $failed runs failed ($named naming the error), $ckpt in the final checkpoint, none half-done"
			else
				not_ok "$name: $err at $sc"; diag "$why"
			fi
		done
	done
}

# ---- apply nvidia on a fresh root (the journal is created too) ----
ap=$(new_root pve8-grub)
before_ap=$(manifest "$ap")
done_ap=$TEST_TMP/ap-done
cp -a "$ap" "$done_ap"
"$IOMMUCTL" --root "$done_ap" --sysfs "$amd/sys" --procfs "$amd/proc" --no-hooks -y apply nvidia >/dev/null 2>&1
after_ap=$(manifest "$done_ap")
fault_loop "apply" "$ap" "$before_ap" "$after_ap" --sysfs "$amd/sys" --procfs "$amd/proc" --no-hooks -y apply nvidia

# ---- rollback of that apply ----
fault_loop "rollback" "$done_ap" "$after_ap" "$before_ap" --no-hooks rollback

# ---- snapshot of hand edits: the files never change ----
sn=$TEST_TMP/sn
cp -a "$done_ap" "$sn"
echo "kvmgt" >>"$sn/etc/modules"
m_sn=$(manifest "$sn")
fault_loop "snapshot" "$sn" "$m_sn" "$m_sn" snapshot -m edit

# ---- recover of a rollback killed at its 2nd rename: files half-written, a transaction pending ----
pend=$TEST_TMP/pending
cp -a "$done_ap" "$pend"
( strace -f -qq -o /dev/null -e trace=renameat -e inject=renameat:signal=KILL:when=2 \
	"$IOMMUCTL" --root "$pend" --no-hooks rollback >/dev/null 2>&1 ) 2>/dev/null
if [ "$(sql "$pend" "SELECT count(*) FROM txn WHERE state = 'pending'")" = 1 ] && [ "$(manifest "$pend")" != "$after_ap" ]; then
	ok "a rollback killed at its 2nd rename: one transaction pending, files half-written"
	# Recovery puts back the state before the rollback: that is the only right end state.
	fault_loop "recover" "$pend" "$after_ap" "$after_ap" recover
else
	not_ok "could not make a pending transaction for recover"
fi

echo "# fault matrix: $total fault points exercised"
plan_late
