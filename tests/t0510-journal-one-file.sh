#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0510 — the journal at rest is one file. After a writing command, journal.db alone holds every
# transaction (a copy of it, without -wal and -shm, is the whole journal); history, show and diff
# read it where they cannot write (as nobody, on a read-only mount, without a -shm); a WAL with
# content they cannot read is an error, not a stale history; a writing command on a root mounted
# read-only says so, with the remount command, exits 6 and changes nothing.
. "$(dirname "$0")/test-lib.sh"

amd=$FIXTURES/hw/q35-amd-6.12
hw=(--sysfs "$amd/sys" --procfs "$amd/proc")
mounts=()
cleanup() {
	for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
	rm -rf "$TEST_TMP"
}
trap cleanup EXIT

r=$(new_root pve8-grub)
j=$(journal_of "$r")
"$IOMMUCTL" --root "$r" "${hw[@]}" --no-hooks -y apply vfio >/dev/null 2>&1
check "after apply vfio the WAL is empty (journal.db $(stat -c %s "$j") bytes, -wal $(stat -c %s "$j-wal"))" \
	test "$(stat -c %s "$j-wal")" = 0
"$IOMMUCTL" --root "$r" --no-hooks -y rollback >/dev/null 2>&1
check "after the rollback too" test "$(stat -c %s "$j-wal")" = 0

# The syncs of a steady apply (journal exists): files + directories + 4 (the WAL's header, the
# intent, the commit, journal.db in the checkpoint), whatever the checkpoint adds.
if command -v strace >/dev/null; then
	st=$TEST_TMP/steady
	cp -a "$r" "$st"
	strace -f -y -qq -o "$TEST_TMP/syncs" -e trace=fsync,fdatasync \
		"$IOMMUCTL" --root "$st" "${hw[@]}" --no-hooks -y --json apply vfio >"$TEST_TMP/steady.json" 2>/dev/null
	n=$(grep -cE '(fsync|fdatasync)\(' "$TEST_TMP/syncs")
	target=$("$PYTHON" -c 'import json,os,sys; f=json.load(open(sys.argv[1]))["files"]; print(len(f) + len({os.path.dirname(p) for p in f}) + 4)' "$TEST_TMP/steady.json")
	if [ "$n" -le "$target" ] && [ "$(grep -c 'journal.db>' "$TEST_TMP/syncs")" = 1 ] && [ ! -s "$(journal_of "$st")-wal" ]; then
		ok "a steady apply vfio syncs $n times (target files + dirs + 4 = $target), journal.db once, and leaves the WAL empty"
	else
		not_ok "a steady apply vfio syncs $n times, target $target"; diag "$(sed "s#$st##g" "$TEST_TMP/syncs")"
	fi
else
	skip "strace is not installed"
fi

# Reference output from the journal where it lives.
"$IOMMUCTL" --root "$r" --json history >"$TEST_TMP/history.ref"
"$IOMMUCTL" --root "$r" show 1 >"$TEST_TMP/show.ref"
"$IOMMUCTL" --root "$r" diff 1 >"$TEST_TMP/diff.ref"
check "the reference history has the apply and its rollback" \
	json_check "$TEST_TMP/history.ref" '[t["kind"] for t in d] == ["rollback", "apply"]'

# reads_all DESCRIPTION RUNNER... — history, show 1 and diff 1 through RUNNER (a command prefix
# ending in the binary and its --journal option) give the reference output.
reads_all() {
	local desc=$1; shift
	"$@" --json history >"$TEST_TMP/h" 2>"$TEST_TMP/h.err" &&
		"$@" show 1 >"$TEST_TMP/s" 2>>"$TEST_TMP/h.err" &&
		"$@" diff 1 >"$TEST_TMP/d" 2>>"$TEST_TMP/h.err"
	local rc=$?
	if [ "$rc" = 0 ] && cmp -s "$TEST_TMP/h" "$TEST_TMP/history.ref" && cmp -s "$TEST_TMP/s" "$TEST_TMP/show.ref" &&
		cmp -s "$TEST_TMP/d" "$TEST_TMP/diff.ref"; then
		ok "$desc: history, show and diff see every transaction"
	else
		not_ok "$desc (exit $rc)"
		diag "$(cat "$TEST_TMP/h.err")" "$(diff "$TEST_TMP/history.ref" "$TEST_TMP/h" | head -10)"
	fi
}

# ---- a copy of journal.db alone ----
alone=$TEST_TMP/alone
mkdir -p "$alone"
cp "$j" "$alone/journal.db"
check "the copy alone passes integrity_check and holds both transactions (sqlite3)" \
	test "$(sqlite3 "$alone/journal.db" 'PRAGMA integrity_check; SELECT count(*) FROM txn')" = "ok
2"
reads_all "journal.db copied alone, read as root" "$IOMMUCTL" --journal "$alone/journal.db"

# ---- the unprivileged reader ----
nb=$(nobody_copy "$j")
if [ -n "$nb" ]; then
	as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	chmod 0755 "$nb"
	# journal.db alone in a directory nobody may read but not write: no -shm can be made.
	check "nobody cannot write the directory of the copy" "${as_nobody[@]}" sh -c "! touch '$nb/probe' 2>/dev/null"
	reads_all "as nobody, journal.db alone in a directory it cannot write" "${as_nobody[@]}" "$nb/iommuctl" --journal "$nb/journal.db"
	check "the nobody reader left no -wal or -shm behind" test ! -e "$nb/journal.db-wal" -a ! -e "$nb/journal.db-shm"
	# With the -wal (empty) and -shm beside it, readable but not writable by nobody.
	cp "$j-wal" "$j-shm" "$nb/"
	chmod 0644 "$nb/journal.db-wal" "$nb/journal.db-shm"
	reads_all "as nobody, with a read-only -wal and -shm" "${as_nobody[@]}" "$nb/iommuctl" --journal "$nb/journal.db"
	# A WAL with a transaction journal.db does not have, and no -shm: say so, show nothing stale.
	stale=$TEST_TMP/nobody/stale
	mkdir -p "$stale"
	"$PYTHON" - "$j" "$stale" <<'PY'
import shutil, sqlite3, sys
src, dst = sys.argv[1], sys.argv[2]
shutil.copy(src, dst + "/work.db")
c = sqlite3.connect(dst + "/work.db")
c.execute("PRAGMA wal_autocheckpoint = 0")
c.execute("UPDATE txn SET note = 'only in the WAL' WHERE id = 1")
c.commit()
# Copy while the connection is open: closing it would fold the WAL in.
shutil.copy(dst + "/work.db", dst + "/journal.db")
shutil.copy(dst + "/work.db-wal", dst + "/journal.db-wal")
c.close()
PY
	rm -f "$stale"/work.db*
	chmod -R a+rX "$stale"
	run_cmd "${as_nobody[@]}" "$nb/iommuctl" --journal "$stale/journal.db" history
	if [ "$rc" = 6 ] && [[ "$err" == *"journal.db-wal holds"*"bytes of transactions that are not in journal.db"* ]] && [ -z "$out" ]; then
		ok "as nobody, a WAL with content and no -shm: exit 6, the WAL named, no stale history"
	else
		not_ok "stale WAL as nobody: exit $rc"; diag "$out" "$err"
	fi
	expect_exit 0 "root reads the same files (it can make the -shm)" "$IOMMUCTL" --journal "$stale/journal.db" history
	contains "... and sees the transaction that is only in the WAL" "$out" "only in the WAL"
else
	skip "the nobody reader: not root, or no setpriv"
fi

# ---- a read-only mount ----
ro=$TEST_TMP/ro
mkdir -p "$ro" "$TEST_TMP/ro-src"
cp "$j" "$TEST_TMP/ro-src/journal.db"
if mount --bind "$TEST_TMP/ro-src" "$ro" 2>/dev/null && mounts+=("$ro") && mount -o remount,ro,bind "$ro" 2>/dev/null; then
	check "the bind mount is read-only" sh -c "! touch '$ro/probe' 2>/dev/null"
	reads_all "root, journal.db alone on a read-only mount (no -shm can be made)" "$IOMMUCTL" --journal "$ro/journal.db"
else
	skip "a read-only bind mount cannot be made here (needs CAP_SYS_ADMIN)"
fi

# ---- writing commands on a root mounted read-only ----
# erofs_case DESCRIPTION ROOT SHOWN CMD...: CMD against ROOT must exit 6, print the remount command
# for SHOWN, and leave the files and the journal as they were.
erofs_case() {
	local desc=$1 dir=$2 shown=$3; shift 3
	local before txns
	before=$(manifest "$dir")
	txns=$(sql "$dir" 'SELECT count(*) FROM txn')
	run_cmd "$@"
	if [ "$rc" = 6 ] && [[ "$err" == *"is mounted read-only, so nothing was changed; remount it read-write with \`mount -o remount,rw $shown\`"* ]] &&
		[ "$(manifest "$dir")" = "$before" ] && [ "$(sql "$dir" "SELECT count(*) FROM txn WHERE state IN ('committed', 'pending') AND id > $txns")" = 0 ]; then
		ok "$desc: exit 6, the remount command, nothing changed"
	else
		not_ok "$desc: exit $rc"; diag "$out" "$err"
	fi
}
rw=$TEST_TMP/rw-root
cp -a "$r" "$rw"
rom=$TEST_TMP/ro-root
mkdir -p "$rom"
if mount --bind "$rw" "$rom" 2>/dev/null && mounts+=("$rom") && mount -o remount,ro,bind "$rom" 2>/dev/null; then
	erofs_case "apply on a root mounted read-only" "$rom" "$rom" "$IOMMUCTL" --root "$rom" "${hw[@]}" --no-hooks -y apply vfio
	erofs_case "snapshot on a root mounted read-only" "$rom" "$rom" "$IOMMUCTL" --root "$rom" snapshot
	erofs_case "recover on a root mounted read-only" "$rom" "$rom" "$IOMMUCTL" --root "$rom" recover
	# The journal elsewhere (writable), the root read-only: the temporary file is refused.
	erofs_case "apply, journal writable, root read-only" "$rom" "$rom" \
		"$IOMMUCTL" --root "$rom" --journal "$TEST_TMP/elsewhere.db" "${hw[@]}" --no-hooks -y apply vfio
	check "... and that journal records the apply as failed, none pending" \
		test "$(sqlite3 "$TEST_TMP/elsewhere.db" "SELECT group_concat(state) FROM txn WHERE kind = 'apply'")" = failed
else
	skip "a read-only bind mount cannot be made here: the cases below inject EROFS instead"
fi
# The same refusal injected with strace (EROFS from the open of the lock file, the first file a
# writing command opens for writing), for where no mount can be made.
if command -v strace >/dev/null; then
	erofs_case "apply, EROFS injected at the lock file" "$rw" "$rw" strace -f -qq -o /dev/null \
		-P "$(journal_of "$rw").lock" -e trace=openat -e inject=openat:error=EROFS \
		"$IOMMUCTL" --root "$rw" "${hw[@]}" --no-hooks -y apply vfio
	erofs_case "rollback, EROFS injected at the lock file" "$rw" "$rw" strace -f -qq -o /dev/null \
		-P "$(journal_of "$rw").lock" -e trace=openat -e inject=openat:error=EROFS \
		"$IOMMUCTL" --root "$rw" --no-hooks -y rollback 1
else
	skip "strace is not installed"
fi
expect_exit 0 "the root as it was is still writable for a real apply afterwards" \
	"$IOMMUCTL" --root "$rw" "${hw[@]}" --no-hooks -y apply vfio
plan_late
