#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0975 — --wait[=SECONDS] waits for another iommuctl's writer lock (flock on journal.db.lock, held
# here by flock(1) with a pid written in it, as iommuctl writes its own) instead of exiting 4; and
# with --json, a failing command prints one JSON object {"error": {"exit", "message", "hint"}} on
# stdout (usage errors, a refusal, the lock, verify with nothing applied), nothing without --json.
. "$(dirname "$0")/test-lib.sh"

command -v flock >/dev/null || { echo "1..0 # SKIP flock (util-linux) is not installed"; exit 0; }
root=$(new_root pve8-grub)
"$IOMMUCTL" --root "$root" snapshot >/dev/null 2>&1 || { echo "1..1"; not_ok "first snapshot"; exit 1; }
lock=$(journal_of "$root").lock

# hold SECONDS: hold the lock from a background flock(1) whose pid is in the lock file, for
# SECONDS or until release; returns once it is held; the holder's pid in $holder. flock -o: the
# lock stays with flock itself, not with the command it runs.
hold() {
	rm -f "$TEST_TMP/held"
	: >"$TEST_TMP/keep"
	(echo "$BASHPID" >"$lock"; exec flock -o "$lock" sh -c ': >"$1"; n=0
		while [ -e "$2" ] && [ "$n" -lt "$3" ]; do sleep 0.1; n=$((n + 1)); done' \
		_ "$TEST_TMP/held" "$TEST_TMP/keep" $(($1 * 10))) >/dev/null 2>&1 &
	holder=$!
	for _ in $(seq 100); do [ -e "$TEST_TMP/held" ] && return 0; sleep 0.05; done
	return 1
}
release() { rm -f "$TEST_TMP/keep"; wait "$holder" 2>/dev/null; }
# json_error FILE EXIT: stdout is exactly one JSON object {"error": {exit, message, hint}} with EXIT.
json_error() {
	"$PYTHON" - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
e = d["error"]
assert list(d) == ["error"], d
assert sorted(e) == ["exit", "hint", "message"], e
assert e["exit"] == int(sys.argv[2]), e
assert isinstance(e["message"], str) and e["message"], e
assert e["hint"] is None or (isinstance(e["hint"], str) and e["hint"]), e
PY
}
echo "# edit" >>"$root/etc/modules"

check "the lock is held by another process" hold 30
expect_exit 4 "a second writer without --wait" "$IOMMUCTL" --root "$root" snapshot
contains "it names the holder's pid and suggests --wait" "$err" "(pid $holder) holds the lock"
contains "and suggests --wait" "$err" "--wait"
t0=$(date +%s%N)
expect_exit 4 "--wait=1 gives up after a second" "$IOMMUCTL" --root "$root" --wait=1 snapshot
ms=$((($(date +%s%N) - t0) / 1000000))
check "it waited at least 1 s (${ms} ms)" test "$ms" -ge 1000
check "and not much longer (${ms} ms)" test "$ms" -lt 5000
contains "it says it waited" "$err" "still holds the lock"
contains "it said whom it waited for" "$err" "waiting for another iommuctl (pid $holder)"
run_cmd "$IOMMUCTL" --root "$root" --json --wait=1 snapshot
printf '%s' "$out" >"$TEST_TMP/lock.json"
check "--json: the lock error is one JSON object with exit 4 (exit $rc)" json_error "$TEST_TMP/lock.json" 4
release

# --wait without a limit: the holder lets go after 2 s, the waiting writer then does its work.
check "the lock is held again, for 2 s" hold 2
t0=$(date +%s%N)
expect_exit 0 "--wait: the writer waits and succeeds" "$IOMMUCTL" --root "$root" --wait snapshot -m waited
ms=$((($(date +%s%N) - t0) / 1000000))
check "it waited for the holder (${ms} ms >= 1500)" test "$ms" -ge 1500
check "its snapshot is in the journal" test "$(sql "$root" "SELECT count(*) FROM txn WHERE note = 'waited'")" = 1
release
expect_exit 0 "--wait with a free lock does not wait" "$IOMMUCTL" --root "$root" --wait=5 history
expect_exit 2 "--wait=abc is a usage error" "$IOMMUCTL" --root "$root" --wait=abc history
contains "it names the value" "$err" "'abc'"

# JSON errors on stdout.
expect_exit 2 "verify with nothing applied, --json" "$IOMMUCTL" --root "$root" --json verify
printf '%s' "$out" >"$TEST_TMP/verify.json"
check "verify: one JSON error object with exit 2" json_error "$TEST_TMP/verify.json" 2
check "its message says what happened, its hint what to do" json_check "$TEST_TMP/verify.json" \
	'"no profile has been applied" in d["error"]["message"] and "verify PROFILE" in d["error"]["hint"]'
expect_exit 2 "verify with nothing applied, no --json" "$IOMMUCTL" --root "$root" verify
check "without --json stdout stays empty" test -z "$out"
contains "and the message goes to stderr" "$err" "no profile has been applied"
for args in "frobnicate" "history --limit 0" "show" "--frob history" "show abc"; do
	# shellcheck disable=SC2086
	expect_exit 2 "usage error '$args' --json" "$IOMMUCTL" --root "$root" $args --json
	printf '%s' "$out" >"$TEST_TMP/usage.json"
	check "'$args': one JSON error object with exit 2" json_error "$TEST_TMP/usage.json" 2
done
run_cmd "$IOMMUCTL" --root "$root" --json show 99
printf '%s' "$out" >"$TEST_TMP/show.json"
check "unknown transaction: hint names iommuctl history" json_check "$TEST_TMP/show.json" \
	'd["error"]["exit"] == 2 and "iommuctl history" in d["error"]["hint"]'
# A refusal: a profile that blacklists the root disk's driver (nvme) on a captured machine.
fx=$FIXTURES/hw/q35-amd-6.12
mkdir -p "$root/etc/iommuctl/profiles"
printf '[profile]\ndescription = takes the root disk\n[blacklist]\nadd = nvme\n' >"$root/etc/iommuctl/profiles/bad.conf"
run_cmd "$IOMMUCTL" --root "$root" --sysfs "$fx/sys" --procfs "$fx/proc" --json --no-hooks -y apply bad
printf '%s' "$out" >"$TEST_TMP/refused.json"
if [ "$rc" -eq 3 ]; then
	check "a refused apply: one JSON error object with exit 3" json_error "$TEST_TMP/refused.json" 3
	check "its hint says --force" json_check "$TEST_TMP/refused.json" '"--force" in d["error"]["hint"]'
else
	not_ok "apply bad: exit $rc, wanted 3"; diag "$out" "$err"
fi
plan_late
