#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0960 — bash completion (data/bash-completion/iommuctl), driven as bash-completion drives it:
# source the file, set COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT, call _iommuctl, read COMPREPLY.
# Every word must come from iommuctl itself (commands, options, profiles, journal ids, GPU slots
# of a captured sysfs), and where the journal cannot be read nothing is offered and nothing printed.
. "$(dirname "$0")/test-lib.sh"

bc=/usr/share/bash-completion/bash_completion
[ -r "$bc" ] || { echo "1..0 # SKIP bash-completion is not installed"; exit 0; }
script=$SRCDIR/data/bash-completion/iommuctl
fx=$FIXTURES/hw/q35-amd-6.12

root=$(new_root pve8-grub)
mkdir -p "$root/etc/iommuctl/profiles"
printf '[profile]\ndescription = local test profile\ninclude = vfio\n' >"$root/etc/iommuctl/profiles/mylocal.conf"
"$IOMMUCTL" --root "$root" snapshot -m first >/dev/null 2>&1
echo "# edit" >>"$root/etc/modules"
"$IOMMUCTL" --root "$root" snapshot -m second >/dev/null 2>&1
"$IOMMUCTL" --root "$root" --no-hooks -y apply vfio >/dev/null 2>&1
"$IOMMUCTL" --root "$root" --no-hooks rollback >/dev/null 2>&1

# comp WORD...: the completions of the last word, one line, sorted; stderr of the whole run in $TEST_TMP/comp.err.
comp() {
	bash -c '
		. "$1" && . "$2" || exit 99
		shift 2
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
		_iommuctl
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$bc" "$script" "$@" 2>"$TEST_TMP/comp.err"
}
# same DESC WANT WORD...: the completions are exactly WANT (words sorted, space-separated).
same() {
	local desc=$1 want=$2 got; shift 2
	got=$(comp "$@")
	got=${got% }
	if [ "$got" = "$want" ]; then ok "$desc"; else not_ok "$desc"; diag "wanted: $want" "got:    $got"; fi
}

ids=$(sql "$root" "SELECT id FROM txn ORDER BY id" | tr '\n' ' ')
diag "transactions: $ids$(sql "$root" "SELECT id||':'||kind FROM txn" | tr '\n' ' ')"
apply_id=$(sql "$root" "SELECT id FROM txn WHERE kind = 'apply'")
rb_id=$(sql "$root" "SELECT id FROM txn WHERE kind = 'rollback'")
snap_ids=$(sql "$root" "SELECT id FROM txn WHERE kind = 'snapshot' ORDER BY id" | tr '\n' ' ')
all_ids=$(printf '%s\n' $ids | sort | tr '\n' ' '); all_ids=${all_ids% }
cmds=$("$IOMMUCTL" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF {print $1}' | sort | tr '\n' ' ')

same "commands: exactly the ones --help lists" "${cmds% }" "$IOMMUCTL" ""
same "a command from its first letters" "rollback" "$IOMMUCTL" rol
# --wait's value is optional, so only --wait=SECONDS carries one: the next word is the command.
same "after --wait, commands" "${cmds% }" "$IOMMUCTL" --wait ""
same "the hidden complete command is not offered" "" "$IOMMUCTL" compl
same "profiles after apply: built-in and local" "amd gpu intel iommu mylocal nvidia vfio" \
	"$IOMMUCTL" --root "$root" apply ""
same "profiles after plan, from a prefix, with --root=DIR" "mylocal" "$IOMMUCTL" --root="$root" plan my
same "show: every transaction id of the journal" "$all_ids" "$IOMMUCTL" --root "$root" show ""
# The apply was undone by the rollback: rollback offers the snapshots only, never an undone apply.
want=$(printf '%s\n' $snap_ids | sort | tr '\n' ' ')
same "rollback: applies and snapshots not undone yet (not $apply_id, not $rb_id)" "${want% }" \
	"$IOMMUCTL" --root "$root" --no-hooks rollback ""
same "diff: profiles and transaction ids" \
	"$(printf '%s\n' amd gpu intel iommu mylocal nvidia vfio $ids | sort | tr '\n' ' ' | sed 's/ $//')" \
	"$IOMMUCTL" --root "$root" diff ""
same "one positional argument only" "" "$IOMMUCTL" --root "$root" show 1 ""
# GPUs of a captured sysfs: every display-class function, as `scan --json` sees them.
gpus=$("$IOMMUCTL" --sysfs "$fx/sys" --procfs "$fx/proc" --root "$root" --json scan |
	"$PYTHON" -c 'import json,sys; print(" ".join(sorted(d["slot"] for d in json.load(sys.stdin)["devices"] if d["gpu"])))')
same "--device: the GPUs scan --json lists ($gpus)" "$gpus" \
	"$IOMMUCTL" --sysfs "$fx/sys" --procfs "$fx/proc" --root "$root" plan gpu --device ""
check "the journal has two snapshots to offer" test "$(echo $snap_ids | wc -w)" -eq 2
check "the capture has more than one GPU to choose from" test "$(echo "$gpus" | wc -w)" -ge 2
same "--device with a colon in the word (COMP_WORDBREAKS)" "01:00.0" \
	"$IOMMUCTL" --sysfs "$fx/sys" --procfs "$fx/proc" plan gpu --device 0000:01
run_cmd comp "$IOMMUCTL" apply --
contains "options of apply include its own --device" "$out" "--device "
contains "options of apply include the global --wait" "$out" "--wait "
run_cmd comp "$IOMMUCTL" history --
contains "options of history include --limit" "$out" "--limit "
same "--root takes a directory" "$root" "$IOMMUCTL" --root "$root"
check "no errors printed on the way" test ! -s "$TEST_TMP/comp.err"

# A user's shell before sudo: the journal exists but cannot be read. Nothing offered, nothing printed.
locked=$(new_root pve8-grub)
"$IOMMUCTL" --root "$locked" snapshot >/dev/null 2>&1
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 0755 "$TEST_TMP" "$locked" "$locked/var" "$locked/var/lib"
	nb=$(nobody_copy "$script")
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups bash -c '
		. "$1" && . "$2" || exit 99
		COMP_WORDS=("$3" --root "$4" show ""); COMP_CWORD=4; COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
		_iommuctl; [ "${#COMPREPLY[@]}" -eq 0 ] || printf "[%s]" "${COMPREPLY[@]}"' _ "$bc" "$nb/iommuctl" "$nb/iommuctl" "$locked" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then ok "unreadable journal: no ids offered, nothing printed"
	else not_ok "unreadable journal: exit $rc, output '$out'"; fi
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$nb/iommuctl" --root "$locked" complete txns 2>/dev/null)
	check "and iommuctl complete txns itself prints nothing on stdout there" test -z "$out"
else
	skip "unreadable journal: needs root and setpriv to be another user"
	skip "unreadable journal: iommuctl complete txns"
fi
plan_late
