#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0610 — every real-world grub file of fixtures/grub × every built-in profile, through the real
# binary: sh sees each parameter exactly once, lines outside the edited assignments are
# byte-identical, a second apply changes nothing, rollback restores every file byte for byte;
# every file of fixtures/grub-refuse gives exit 5 with its file and line, untouched.
. "$(dirname "$0")/test-lib.sh"

# Hardware captured from Debian 6.12 on an AMD IOMMU (QEMU), so plans never read this machine.
amd="$FIXTURES/hw/q35-amd-6.12/proc" amd_sys="$FIXTURES/hw/q35-amd-6.12/sys"
profiles="iommu vfio nvidia amd intel"
grub_oracle() {
	(cd "$1" && sh -c '. ./etc/default/grub; for f in ./etc/default/grub.d/*.cfg; do [ -e "$f" ] && . "$f"; done; printf "%s|%s" "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT"' 2>/dev/null)
}
# Words as the kernel splits them: its isspace() counts the \r a CRLF file leaves at the end.
count_word() { printf '%s\n' $(printf '%s' "$1" | tr '\r' ' ') | grep -cxF -- "$2"; }
# Lines of a grub file that do not assign the command-line variables, without their line
# ends: appending an assignment to a file without a final newline must end its last line.
other_lines() { grep -v 'GRUB_CMDLINE_LINUX' "$1" 2>/dev/null | tr -d '\r'; }

for dir in "$FIXTURES"/grub/*/; do
	name=$(basename "$dir")
	for p in $profiles; do
		w=$TEST_TMP/w
		rm -rf "$w"; mkdir -p "$w"; cp -a "$dir/." "$w/"
		before=$(manifest "$w")
		why=
		"$IOMMUCTL" --root "$w" --sysfs "$amd_sys" --procfs "$amd" --no-hooks -y apply "$p" >"$TEST_TMP/o" 2>&1 || why="apply failed: $(cat "$TEST_TMP/o")"
		if [ -z "$why" ]; then
			v=$(grub_oracle "$w")
			# Once in GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT together: the kernel gets both.
			[ "$(count_word "${v/|/ }" iommu=pt)" = 1 ] || why="sh sees iommu=pt $(count_word "${v/|/ }" iommu=pt) times in '${v/|/ }'"
			# The AMD profile removes the guide's invalid amd_iommu=on wherever it is.
			[ -n "$why" ] || [ "$(count_word "${v/|/ }" amd_iommu=on)" = 0 ] || why="amd_iommu=on is still there: '$v'"
		fi
		if [ -z "$why" ]; then
			for f in "$w"/etc/default/grub "$w"/etc/default/grub.d/*.cfg; do
				[ -e "$f" ] || continue
				orig=$dir/${f#"$w"/}
				[ -e "$orig" ] || continue
				[ "$(other_lines "$f")" = "$(other_lines "$orig")" ] || why="lines outside the assignments changed in ${f#"$w"/}"
			done
		fi
		if [ -z "$why" ]; then
			"$IOMMUCTL" --root "$w" --sysfs "$amd_sys" --procfs "$amd" --no-hooks --json -y apply "$p" >"$TEST_TMP/o2" 2>/dev/null
			json_check "$TEST_TMP/o2" 'd["changed"] is False and d["txn"] is None' || why="a second apply changed something: $(cat "$TEST_TMP/o2")"
		fi
		if [ -z "$why" ] && [ "$(sql "$w" 'SELECT count(*) FROM txn')" = 1 ]; then
			"$IOMMUCTL" --root "$w" --no-hooks rollback >/dev/null 2>"$TEST_TMP/o3" || why="rollback failed: $(cat "$TEST_TMP/o3")"
			[ -n "$why" ] || [ "$(manifest "$w")" = "$before" ] || why="rollback did not restore every file byte for byte"
		elif [ -z "$why" ]; then
			[ "$(manifest "$w")" = "$before" ] || why="nothing was recorded, yet files changed"
		fi
		if [ -z "$why" ]; then ok "$name × $p"; else not_ok "$name × $p"; diag "$why"; fi
	done
done

for dir in "$FIXTURES"/grub-refuse/*/; do
	name=$(basename "$dir")
	w=$TEST_TMP/r
	rm -rf "$w"; mkdir -p "$w"; cp -a "$dir/." "$w/"; rm -f "$w/EXPECT"
	before=$(manifest "$w")
	run_cmd "$IOMMUCTL" --root "$w" --sysfs "$amd_sys" --procfs "$amd" --no-hooks -y apply iommu
	want="$w/$(cat "$dir/EXPECT"):"
	if [ "$rc" = 5 ] && [[ "$err" == *"$want"* ]] && [ "$(manifest "$w")" = "$before" ]; then
		ok "refused: $name (exit 5, $(cat "$dir/EXPECT"))"
	else
		not_ok "refused: $name"
		diag "exit $rc, wanted 5 naming $want" "$err"
	fi
done
plan_late
