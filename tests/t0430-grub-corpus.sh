#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# t0430-grub-corpus.sh — the grub editor on real-world files, judged by sh itself (prints TAP).
#
# usage: t0430-grub-corpus.sh [EDIT_HELPER]   (or EDIT_HELPER in the environment)
#
# For every fixtures/grub/* root and every parameter set: edit a copy, then
# let sh source the result the way grub-mkconfig does (DESIGN.md §5) and check
# that each added parameter is there exactly once, removed ones are gone and
# nothing else moved; that every line outside the edited assignments is
# byte-identical; that line endings and a missing final newline are kept; and
# that a second edit changes nothing. Every fixtures/grub-refuse/* root must
# be refused with exit 5 and "FILE:LINE:" from its EXPECT file, untouched.

set -u

HELPER=${1:-${EDIT_HELPER:-}}
HERE=$(cd "$(dirname "$0")" && pwd)
FIXTURES=${FIXTURES:-$HERE/../fixtures}

if [ -z "$HELPER" ] || [ ! -x "$HELPER" ]; then
	echo "Bail out! edit-helper not given or not executable: '$HELPER'"
	exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/t0400.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM

n=0
failed=0

pass() {
	n=$((n + 1))
	echo "ok $n - $*"
}

fail() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $*"
}

# Show a file's text as TAP comments, for a failure.
diag() {
	sed 's/^/#   /' "$@"
}

# What sh makes of a root, as grub-mkconfig sources it: both values, split
# by a unit separator. The CR of CRLF files is a blank to the kernel, so it
# is dropped here.
US=$(printf '\037')
oracle() {
	(cd "$1" && sh -c 'unset GRUB_CMDLINE_LINUX_DEFAULT GRUB_CMDLINE_LINUX
		. ./etc/default/grub
		for f in ./etc/default/grub.d/*.cfg; do [ -e "$f" ] && . "$f"; done
		printf "%s\037%s" "$GRUB_CMDLINE_LINUX_DEFAULT" "$GRUB_CMDLINE_LINUX"' 2>/dev/null) | tr -d '\r'
}

# Every line outside the edited assignments byte-identical, the same files,
# line endings and the final newline as before (perl-base is always there).
# shellcheck disable=SC2016 # a perl program, not shell
BYTES_CHECK='
use strict;
use warnings;
my ($orig, $copy) = @ARGV;
sub files {
	my ($root, $rel) = @_;
	opendir(my $dh, "$root/$rel") or die "$root/$rel: $!";
	my @out;
	for my $e (sort grep { $_ ne "." && $_ ne ".." } readdir $dh) {
		if (-d "$root/$rel/$e") { push @out, files($root, "$rel/$e") } else { push @out, "$rel/$e" }
	}
	return @out;
}
sub slurp {
	open(my $fh, "<:raw", $_[0]) or die "$_[0]: $!";
	local $/;
	my $t = <$fh>;
	return defined $t ? $t : "";
}
# a missing final line ending is added in the file own style, so that
# appending a line after the last one does not count as changing it
sub unedited {
	my $t = shift;
	$t .= ($t =~ /\r\n/ ? "\r\n" : "\n") if length($t) && $t !~ /\n\z/;
	return join "", grep { !/^[ \t]*(export[ \t]+)?GRUB_CMDLINE_LINUX(_DEFAULT)?=/ } ($t =~ /[^\n]*\n/g);
}
sub lf_only { my $n = () = $_[0] =~ /(?<!\r)\n/g; return $n }
my @a = files($orig, "etc");
my @b = files($copy, "etc");
if ("@a" ne "@b") { print "the set of files changed: [@a] -> [@b]\n"; exit 1 }
my $bad = 0;
for my $f (@a) {
	my ($x, $y) = (slurp("$orig/$f"), slurp("$copy/$f"));
	if (unedited($x) ne unedited($y)) { print "$f: lines outside the edited assignments differ\n"; $bad = 1 }
	my $nx = !length($x) || $x =~ /\n\z/;
	my $ny = !length($y) || $y =~ /\n\z/;
	if ($nx != $ny) { print "$f: final newline changed\n"; $bad = 1 }
	if ($x =~ /\r\n/ && lf_only($x) == 0 && lf_only($y) != 0) { print "$f: a CRLF file got LF-only lines\n"; $bad = 1 }
}
exit $bad;
'

# Word-level check of the effective values before and after (kernel keys
# compare with '-' and '_' equal); prints what is wrong, exits non-zero.
words_check() {
	awk -v od="$1" -v nd="$2" -v ol="$3" -v nl="$4" -v adds="$5" -v removes="$6" '
	function key(w,  k) { k = w; sub(/=.*/, "", k); gsub(/-/, "_", k); return k }
	function removed(w,  i) {
		for (i = 1; i <= nr; i++)
			if (index(R[i], "=") ? w == R[i] : key(w) == key(R[i]))
				return 1
		return 0
	}
	function addkey(w,  i) { for (i = 1; i <= na; i++) if (key(w) == key(A[i])) return i; return 0 }
	function val(w) { return index(w, "=") ? substr(w, index(w, "=")) : "" }
	function same(w, a) { return key(w) == key(a) && val(w) == val(a) }
	# Issue 13: the kernel gets "LINUX DEFAULT" as one line, so each added key is in
	# both together once: in GRUB_CMDLINE_LINUX when that held the add, else in DEFAULT.
	function filtered(s, isdef,  n, W, i, out) {
		n = split(s, W, /[ \t]+/); out = ""
		for (i = 1; i <= n; i++) {
			if (W[i] == "" || removed(W[i]) || addkey(W[i])) continue
			out = out " " W[i]
		}
		return out
	}
	# how many words of s have the key of a; hits: how many of them are a itself
	function count(s, a,  n, W, i, c) {
		n = split(s, W, /[ \t]+/); c = 0; hits = 0
		for (i = 1; i <= n; i++) if (W[i] != "" && key(W[i]) == key(a)) { c++; hits += same(W[i], a) }
		return c
	}
	BEGIN {
		na = split(adds, A, " "); nr = split(removes, R, " "); bad = 0
		n = split(nd, W, /[ \t]+/)
		for (j = 1; j <= na; j++) {
			count(ol, A[j]); held = hits > 0
			cd = count(nd, A[j]); hd = hits
			cl = count(nl, A[j]); hl = hits
			if (held && (cl != 1 || hl != 1 || cd != 0)) {
				print A[j] " was in GRUB_CMDLINE_LINUX: want it there once and its key not in DEFAULT, got " cl "/" cd; bad = 1
			}
			if (!held && (cd != 1 || hd != 1 || cl != 0)) {
				print A[j] " must be in GRUB_CMDLINE_LINUX_DEFAULT once and its key not in LINUX, got " cd "/" cl; bad = 1
			}
		}
		for (i = 1; i <= n; i++)
			if (W[i] != "" && removed(W[i])) { print "removed " W[i] " is still in GRUB_CMDLINE_LINUX_DEFAULT"; bad = 1 }
		if (filtered(od, 1) != filtered(nd, 1)) {
			print "other words of GRUB_CMDLINE_LINUX_DEFAULT changed: [" filtered(od, 1) "] -> [" filtered(nd, 1) "]"; bad = 1
		}
		if (filtered(nl, 0) != filtered(ol, 0)) {
			print "other words of GRUB_CMDLINE_LINUX changed: [" filtered(ol, 0) "] -> [" filtered(nl, 0) "]"; bad = 1
		}
		exit bad
	}'
}

bytes_check() {
	perl -e "$BYTES_CHECK" "$1" "$2"
}

# $1 fixture root, $2 label, $3 adds, $4 removes (space-separated);
# old_def and old_lin hold what sh makes of the original.
corpus_case() {
	orig=$1 label=$2 adds=$3 removes=$4
	copy="$TMP/c$n"
	cp -R "$orig" "$copy"

	args=
	for a in $adds; do args="$args --add $a"; done
	for r in $removes; do args="$args --remove $r"; done

	# shellcheck disable=SC2086 # word splitting of args is intended
	if ! "$HELPER" grub "$copy" $args >"$TMP/out" 2>"$TMP/err"; then
		fail "$label: edit"
		diag "$TMP/err"
		n=$((n + 3))
		failed=$((failed + 3))
		echo "not ok $((n - 2)) - $label: sh oracle (skipped, edit failed)"
		echo "not ok $((n - 1)) - $label: bytes (skipped, edit failed)"
		echo "not ok $n - $label: second edit (skipped, edit failed)"
		return
	fi
	pass "$label: edit"

	new=$(oracle "$copy")
	new_def=${new%%"$US"*}
	new_lin=${new#*"$US"}
	if words_check "$old_def" "$new_def" "$old_lin" "$new_lin" "$adds" "$removes" >"$TMP/why"; then
		pass "$label: sh oracle sees each parameter once, removals gone, the rest kept"
	else
		fail "$label: sh oracle"
		diag "$TMP/why"
		echo "#   before: [$old_def] [$old_lin]"
		echo "#   after:  [$new_def] [$new_lin]"
	fi

	if bytes_check "$orig" "$copy" >"$TMP/why"; then
		pass "$label: every other line byte-identical, line endings kept"
	else
		fail "$label: bytes"
		diag "$TMP/why"
	fi

	again="$TMP/a$n"
	cp -R "$copy" "$again"
	# shellcheck disable=SC2086
	if "$HELPER" grub "$again" $args >"$TMP/out" 2>"$TMP/err" &&
	   [ ! -s "$TMP/out" ] && diff -r "$copy" "$again" >/dev/null; then
		pass "$label: a second edit changes nothing"
	else
		fail "$label: a second edit changes nothing"
		diag "$TMP/out" "$TMP/err"
		diff -r "$copy" "$again" | diag
	fi
}

# The editor's own reading of the original agrees with sh (old_def, old_lin).
reader_case() {
	orig=$1 label=$2
	if ! "$HELPER" grub-read "$orig" >"$TMP/read" 2>"$TMP/err"; then
		fail "$label: reader agrees with sh"
		diag "$TMP/err"
		return
	fi
	printf 'GRUB_CMDLINE_LINUX_DEFAULT=%s\nGRUB_CMDLINE_LINUX=%s\n' "$old_def" "$old_lin" >"$TMP/sh"
	if cmp -s "$TMP/read" "$TMP/sh"; then
		pass "$label: reader agrees with sh"
	else
		fail "$label: reader agrees with sh"
		diff "$TMP/sh" "$TMP/read" | diag
	fi
}

# $1 fixture root, $2 label, $3 helper arguments
refuse_case() {
	orig=$1 label=$2 args=$3
	copy="$TMP/r$n"
	cp -R "$orig" "$copy"
	want=$(cat "$orig/EXPECT")

	# shellcheck disable=SC2086
	"$HELPER" grub "$copy" $args >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -eq 5 ] && grep -qF "$copy/$want:" "$TMP/err" && diff -r "$orig" "$copy" >/dev/null; then
		pass "$label: refused with exit 5 at $want, files untouched ($(head -c 160 "$TMP/err" | tr '\n' ' '))"
	else
		fail "$label: refused with exit 5 at $want, files untouched (exit $rc)"
		diag "$TMP/err"
		diff -r "$orig" "$copy" | diag
	fi
}

for root in "$FIXTURES"/grub/*/; do
	root=${root%/}
	name=grub/$(basename "$root")
	old=$(oracle "$root")
	old_def=${old%%"$US"*}
	old_lin=${old#*"$US"}
	reader_case "$root" "$name"
	corpus_case "$root" "$name [intel_iommu=on iommu=pt]" "intel_iommu=on iommu=pt" ""
	corpus_case "$root" "$name [iommu=pt]" "iommu=pt" ""
	corpus_case "$root" "$name [iommu=pt, remove quiet]" "iommu=pt" "quiet"
done

for root in "$FIXTURES"/grub-refuse/*/; do
	root=${root%/}
	name=grub-refuse/$(basename "$root")
	refuse_case "$root" "$name [intel_iommu=on iommu=pt]" "--add intel_iommu=on --add iommu=pt"
	refuse_case "$root" "$name [iommu=pt, remove quiet]" "--add iommu=pt --remove quiet"
done

# Parameters the shell would interpret are never written.
# shellcheck disable=SC2016 # the $ and ` are the point
for bad in 'a=$(id)' 'a=`id`' 'a="b"' "a='b'" 'a=b;c' 'a|b' 'a&b' 'a<b' 'a>b' 'a\b'; do
	copy="$TMP/p$n"
	cp -R "$FIXTURES/grub/01-debian12-default" "$copy"
	"$HELPER" grub "$copy" --add "$bad" >/dev/null 2>"$TMP/err"
	rc=$?
	if [ "$rc" -eq 5 ] && diff -r "$FIXTURES/grub/01-debian12-default" "$copy" >/dev/null; then
		pass "parameter '$bad' is refused (exit 5), file untouched"
	else
		fail "parameter '$bad' is refused (exit $rc)"
		diag "$TMP/err"
	fi
done

echo "1..$n"
[ "$failed" -eq 0 ]
