#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t0900 — the bad-input table: each row is an input, a command, the exact exit status and a
# fragment of the message. For every row: no crash (no signal, no sanitizer report), no
# managed file changed, nothing written outside the root (a canary directory next to it).
. "$(dirname "$0")/test-lib.sh"

amd=$FIXTURES/hw/q35-amd-6.12
hw=(--sysfs "$amd/sys" --procfs "$amd/proc")
chmod 0755 "$TEST_TMP"
canary=$TEST_TMP/outside
mkdir -p "$canary"; echo "untouched" >"$canary/file"
canary_state() { (cd "$canary" && find . -printf '%p %s %T@\n' | sort); }
canary_before=$(canary_state)

# row DESCRIPTION SETUP EXIT FRAGMENT CMD...: SETUP is a function that breaks a fresh root ($r).
row() {
	local desc=$1 setup=$2 want=$3 frag=$4; shift 4
	r=$(new_root pve8-grub)
	"$setup"
	local before after
	before=$(manifest "$r" 2>/dev/null)
	run_cmd "$@"
	after=$(manifest "$r" 2>/dev/null)
	local why=
	[ "$rc" = "$want" ] || why="exit $rc, wanted $want"
	[ -n "$why" ] || [[ "$err$out" == *"$frag"* ]] || why="message lacks '$frag'"
	[ -n "$why" ] || [ "$want" = 0 ] || [ "$before" = "$after" ] || why="a managed file changed"
	[ -n "$why" ] || [ "$(canary_state)" = "$canary_before" ] || why="something outside the root changed"
	if [ -z "$why" ]; then ok "$desc: exit $want, '$frag'"; else not_ok "$desc: $why"; diag "stdout: $out" "stderr: $err"; fi
}
I() { "$IOMMUCTL" --root "$r" "$@"; }
nb=$(nobody_copy "$amd")
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$nb/iommuctl" --root "$r" "$@"; }

# ---- managed files ----
nul_grub() { printf 'GRUB_DEFAULT=0\n\0\0binary\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n' >"$r/etc/default/grub"; }
row "a grub file with NUL bytes" nul_grub 5 "etc/default/grub:2: a NUL byte" I "${hw[@]}" -y --no-hooks apply iommu
nul_modules() { printf 'vfio\n\0x\n' >>"$r/etc/modules"; }
row "/etc/modules with a NUL byte" nul_modules 5 "etc/modules:8: a NUL byte" I "${hw[@]}" -y --no-hooks apply vfio
huge_grub() { head -c 100000000 /dev/zero | tr '\0' '#' >"$r/etc/default/grub"; }
row "a 100 MB grub file" huge_grub 5 "is 100000000 bytes, more than the 4 MiB" I "${hw[@]}" -y --no-hooks apply iommu
dir_modules() { rm "$r/etc/modules"; mkdir "$r/etc/modules"; }
row "/etc/modules is a directory" dir_modules 5 "etc/modules is not a regular file" I "${hw[@]}" -y --no-hooks apply vfio
fifo_modules() { rm "$r/etc/modules"; mkfifo "$r/etc/modules"; }
row "/etc/modules is a FIFO" fifo_modules 5 "etc/modules is not a regular file" I "${hw[@]}" -y --no-hooks apply vfio
dev_modules() { rm "$r/etc/modules"; mknod "$r/etc/modules" c 1 3; }
row "/etc/modules is a device node" dev_modules 5 "etc/modules is not a regular file" I "${hw[@]}" -y --no-hooks apply vfio
link_modules() { rm "$r/etc/modules"; ln -s /etc/passwd "$r/etc/modules"; }
row "/etc/modules is a symlink out of the root" link_modules 5 "is a symbolic link" I "${hw[@]}" -y --no-hooks apply vfio
unreadable_grub() { chmod 0000 "$r/etc/default/grub"; chmod 0755 "$r"; }
if [ -z "$nb" ]; then
	skip "an unreadable grub file (as nobody): needs root and setpriv to become nobody"
else
	row "an unreadable grub file (as nobody)" unreadable_grub 6 "etc/default/grub: Permission denied" \
		as_nobody --sysfs "$nb/q35-amd-6.12/sys" --procfs "$nb/q35-amd-6.12/proc" plan iommu
fi

# Odd but valid text is edited, and its odd bytes survive.
long_line() { { printf 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n#'; head -c 1000000 /dev/zero | tr '\0' 'x'; printf '\n'; } >"$r/etc/default/grub"; }
row "a grub file with a 1 MB comment line" long_line 0 "applied profile iommu" I "${hw[@]}" -y --no-hooks apply iommu
[ "$(tail -n 1 "$r/etc/default/grub" | wc -c)" = 1000002 ] && ok "... the 1 MB line is kept whole" || not_ok "... the 1 MB line changed"
latin1() { printf 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n# caf\xe9 \xff\xfe\n' >"$r/etc/default/grub"; }
row "a grub file with invalid UTF-8" latin1 0 "applied profile iommu" I "${hw[@]}" -y --no-hooks apply iommu
[ "$(tail -n 1 "$r/etc/default/grub" | od -An -tx1 | tr -d ' \n')" = "2320636166e920fffe0a" ] && ok "... its bytes are kept as they were" ||
	not_ok "... invalid UTF-8 bytes changed"

# ---- profiles ----
profile() { mkdir -p "$r/etc/iommuctl/profiles"; printf '%s\n' "$2" >"$r/etc/iommuctl/profiles/$1.conf"; chmod 0644 "$r/etc/iommuctl/profiles/$1.conf"; }
cycle() { profile a "[profile]
include = b"; profile b "[profile]
include = a"; }
row "profiles that include each other" cycle 5 "include cycle" I "${hw[@]}" plan a
unknown_section() { profile s "[kernel]
add = iommu=pt
[grub]
x = 1"; }
row "a profile with an unknown section" unknown_section 5 "s.conf:3: unknown section" I "${hw[@]}" plan s
unknown_key() { profile k "[kernel]
ad = iommu=pt"; }
row "a profile with an unknown key" unknown_key 5 "k.conf:2: unknown key 'ad'" I "${hw[@]}" plan k
writable() { profile w "[kernel]
add = iommu=pt"; chmod 0666 "$r/etc/iommuctl/profiles/w.conf"; }
hooks_writable() { mkdir -p "$r/etc/iommuctl"; printf '[hooks]\nupdate-grub = /bin/true\n' >"$r/etc/iommuctl/iommuctl.conf"; chmod 0664 "$r/etc/iommuctl/iommuctl.conf"; }
row "a group-writable hook configuration" hooks_writable 3 "refusing hook configuration" I "${hw[@]}" -y apply iommu
row "a world-writable profile" writable 3 "has mode 0666, so someone other than root can change it" I "${hw[@]}" plan w

# ---- the journal ----
J=var/lib/iommuctl/journal.db
not_sqlite() { mkdir -p "$r/var/lib/iommuctl"; echo "hello" >"$r/$J"; }
row "a journal that is not SQLite" not_sqlite 6 "file is not a database" I history
# iommuctl keeps its WAL between commands; the sqlite3 shell moves it into journal.db first, so
# that cutting journal.db in half cuts recorded transactions.
truncated() {
	"$IOMMUCTL" --root "$r" snapshot >/dev/null
	sqlite3 "$r/$J" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
	rm -f "$r/$J-wal" "$r/$J-shm"
	truncate -s $(($(stat -c %s "$r/$J") / 2)) "$r/$J"
}
row "a truncated journal" truncated 6 "malformed" I history
newer() { "$IOMMUCTL" --root "$r" snapshot >/dev/null; sqlite3 "$r/$J" 'PRAGMA user_version = 99'; }
row "a journal from a newer schema" newer 6 "has schema version 99 but this iommuctl knows only up to" I history
if [ -z "$nb" ]; then
	skip "a journal without write permission (as nobody): needs root and setpriv to become nobody"
else
	ro_journal() { "$IOMMUCTL" --root "$r" snapshot >/dev/null; chmod 0755 "$r"; echo kvmgt >>"$r/etc/modules"; }
	row "a journal without write permission (as nobody)" ro_journal 6 "Permission denied" as_nobody snapshot
fi
if command -v strace >/dev/null; then
	full() { :; }
	row "disk full at first use" full 6 "No space left on device" strace -f -qq -o /dev/null -e trace=pwrite64 -e inject=pwrite64:error=ENOSPC:when=1+ "$IOMMUCTL" --root "$r" snapshot
	[ ! -e "$r/$J" ] || [ "$(sqlite3 "$r/$J" 'PRAGMA integrity_check')" = ok ] && ok "... the journal left behind passes integrity_check" ||
		not_ok "... the journal left behind is damaged"
fi

# ---- arguments ----
none() { :; }
row "--root that does not exist" none 2 "pass an existing directory to --root" "$IOMMUCTL" --root "$TEST_TMP/nonexistent" history
row "--root that is a file" none 2 "Not a directory" "$IOMMUCTL" --root "$canary/file" history
seeded() { "$IOMMUCTL" --root "$r" snapshot >/dev/null; }
for t in -1 99999999999999999999 abc 0 1.5 ""; do
	row "show '$t'" seeded 2 "is not a transaction id" I show -- "$t"
done
row "rollback 42 (no such transaction)" seeded 2 "42" I --no-hooks rollback 42

# The journal holds the whole history of the boot configuration: root's eyes only.
r=$(new_root pve8-grub)
"$IOMMUCTL" --root "$r" snapshot >/dev/null
[ "$(stat -c %a "$r/var/lib/iommuctl")" = 700 ] && [ "$(stat -c %a "$r/$J")" = 600 ] &&
	ok "a new journal's directory is 0700 and the journal 0600" || not_ok "journal modes: $(stat -c '%a %n' "$r/var/lib/iommuctl" "$r/$J")"

echo "# bad-input table: $tap_n rows"
plan_late
