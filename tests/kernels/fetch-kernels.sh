#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# fetch-kernels.sh — Debian 12's own 6.1 and 6.12 kernel module trees, indexed by the real depmod, as a test root.
#
# usage: fetch-kernels.sh CACHE_DIR
#
# Result (a root shaped like a merged-/usr Debian 12 system):
#   CACHE_DIR/debs/linux-image-*.deb            the packages, as apt-get download left them
#   CACHE_DIR/root/lib -> usr/lib               the symlink iommuctl must resolve inside the root
#   CACHE_DIR/root/usr/lib/modules/KVER/        modules.* indexes from `depmod -b`, and the
#                                               kernel/drivers/vfio modules (for modinfo)
#   CACHE_DIR/root/boot/config-KVER             the kernel's configuration
# Prints one line per kernel on stdout: its module directory. Progress goes to stderr.
#
# Which packages: the newest linux-image-6.1.0-N-amd64 and linux-image-6.12.N+deb12-amd64
# the apt lists know (bookworm, bookworm-updates, bookworm-security), unless a matching
# .deb is already in CACHE_DIR/debs — a cache that is there is used as is, so the tests
# stay on one kernel until the cache is removed. KERNEL_PKGS="pkg pkg" overrides the choice.
#
# After depmod, the .ko files other than drivers/vfio (and what those need) are removed: the indexes are all
# libkmod needs for lookups, and the trees shrink from about 400 MB (6.1, plain .ko) and
# 114 MB (6.12, .ko.xz) to a few MB each. Because of that pruning, depmod must not be
# run on the kept tree again; a tree is only moved into place once it is complete.
#
# Exit: 0 done; 77 the packages cannot be had (no apt-get, no network, not in the apt
# lists) — callers skip; 1 anything else.

set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 CACHE_DIR" >&2
	exit 1
fi
cache=$1
debs=$cache/debs
root=$cache/root
export LC_ALL=C

unavailable() {
	echo "fetch-kernels: $*" >&2
	exit 77
}

die() {
	echo "fetch-kernels: $*" >&2
	exit 1
}

find_tool() { # find_tool NAME: kmod's tools live in /sbin, often not in a user's PATH
	for p in "$(command -v "$1" 2>/dev/null || true)" "/usr/sbin/$1" "/sbin/$1"; do
		if [ -n "$p" ] && [ -x "$p" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

depmod=$(find_tool depmod) || die "depmod not found: install the kmod package"
command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found: this needs a Debian system"

mkdir -p "$debs" "$root/usr/lib/modules" "$root/boot"
[ -e "$root/lib" ] || [ -L "$root/lib" ] || ln -s usr/lib "$root/lib"

# One fetcher at a time per cache: parallel test runs would otherwise extract twice.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache/.lock"
	flock 9
fi

# cached_deb REGEX: the newest .deb in the cache whose name matches REGEX, if any.
# (A glob would also take the -cloud- and -rt- flavours: 6.1.0-*-amd64 matches 6.1.0-56-cloud-amd64.)
cached_deb() {
	for f in "$debs"/*.deb; do
		[ -e "$f" ] && printf '%s\n' "${f##*/}"
	done | grep -E "$1" | sort -V | tail -n 1 | while read -r name; do
		echo "$debs/$name"
	done
}

# newest_pkg REGEX: the newest package name apt knows matching REGEX (anchored).
newest_pkg() {
	apt-cache search --names-only "$1" 2>/dev/null | cut -d' ' -f1 | grep -E "$1" | sort -V | tail -n 1
}

# fetch PKG: download PKG into the cache (via a temp dir, so a half download is never taken for a package).
fetch() {
	command -v apt-get >/dev/null 2>&1 || unavailable "apt-get not found: cannot download $1"
	tmp=$(mktemp -d "$debs/.download.XXXXXX")
	start=$(date +%s)
	# As root apt-get warns that it downloads "unsandboxed" (its _apt user cannot write
	# into our directory); harmless, and left visible rather than reconfiguring apt.
	if ! (cd "$tmp" && apt-get download -q=2 "$1") >&2; then
		rm -rf "$tmp"
		unavailable "apt-get download $1 failed (no network, or apt lists out of date: try apt-get update)"
	fi
	for f in "$tmp"/*.deb; do
		[ -e "$f" ] || { rm -rf "$tmp"; unavailable "apt-get download $1 gave no .deb"; }
		size=$(stat -c %s "$f")
		mv "$f" "$debs/"
		echo "fetch-kernels: downloaded $(basename "$f") ($size bytes) in $(($(date +%s) - start)) s" >&2
	done
	rmdir "$tmp"
}

# deb_regex PKG: the file name apt-get download gives PKG, as a regex.
deb_regex() {
	printf '^%s_.*\\.deb$' "$(printf %s "$1" | sed 's/[.+]/\\&/g')"
}

# pick REGEX: the cached .deb of the package matching REGEX, or the newest such package, downloaded.
pick() {
	deb=$(cached_deb "${1%\$}_.*\\.deb\$")
	if [ -z "$deb" ]; then
		command -v apt-cache >/dev/null 2>&1 || unavailable "apt-cache not found"
		pkg=$(newest_pkg "$1")
		[ -n "$pkg" ] || unavailable "no package matching '$1' in the apt lists (apt-get update?)"
		fetch "$pkg"
		deb=$(cached_deb "$(deb_regex "$pkg")")
		[ -n "$deb" ] || die "downloaded $pkg but found no ${pkg}_*.deb in $debs"
	fi
	echo "$deb"
}

# install_tree DEB: extract, index and prune one kernel into the root, unless it is there already.
install_tree() {
	deb=$1
	pkg=$(dpkg-deb -f "$deb" Package) || die "$deb is not a Debian package"
	# The version directory is the package name without its "linux-image-" prefix.
	kver=${pkg#linux-image-}
	dest=$root/usr/lib/modules/$kver
	if [ -f "$dest/modules.dep.bin" ]; then
		echo "$dest"
		return 0
	fi
	start=$(date +%s)
	work=$(mktemp -d "$cache/.extract.XXXXXX")
	dpkg -x "$deb" "$work/x" || { rm -rf "$work"; die "dpkg -x $deb failed"; }
	# Debian 12 kernels ship /lib/modules; later ones /usr/lib/modules. Take either.
	src=
	for d in "$work/x/lib/modules/$kver" "$work/x/usr/lib/modules/$kver"; do
		[ -d "$d" ] && src=$d
	done
	[ -n "$src" ] || { rm -rf "$work"; die "$deb has no lib/modules/$kver"; }
	mkdir -p "$work/base/lib/modules"
	mv "$src" "$work/base/lib/modules/$kver"
	# The real depmod writes the indexes libkmod reads (modules.dep.bin, modules.alias.bin, ...).
	"$depmod" -b "$work/base" "$kver" || { rm -rf "$work"; die "depmod -b $work/base $kver failed"; }
	before=$(du -sk "$work/base" | cut -f1)
	# Keep the VFIO modules and what they depend on (irqbypass), so that modinfo
	# and modprobe --show-depends on them find every file modules.dep names.
	mdir=$work/base/lib/modules/$kver
	grep '^kernel/drivers/vfio/' "$mdir/modules.dep" | tr -d ':' | tr ' ' '\n' | sed '/^$/d' >"$work/keep"
	(cd "$mdir" && find kernel -type f -name '*.ko*' | grep -vxF -f "$work/keep" | xargs -r rm -f)
	find "$work/base/lib/modules/$kver/kernel" -depth -type d -empty -delete
	after=$(du -sk "$work/base" | cut -f1)
	[ -f "$work/x/boot/config-$kver" ] && cp "$work/x/boot/config-$kver" "$root/boot/"
	rm -rf "$dest"
	mv "$work/base/lib/modules/$kver" "$dest"
	rm -rf "$work"
	echo "fetch-kernels: $kver: extracted, indexed and pruned ($before KiB -> $after KiB) in $(($(date +%s) - start)) s" >&2
	echo "$dest"
}

if [ -n "${KERNEL_PKGS:-}" ]; then
	for p in $KERNEL_PKGS; do
		deb=$(cached_deb "$(deb_regex "$p")")
		if [ -z "$deb" ]; then
			fetch "$p"
			deb=$(cached_deb "$(deb_regex "$p")")
		fi
		install_tree "$deb"
	done
	exit 0
fi

deb61=$(pick '^linux-image-6\.1\.0-[0-9]+-amd64$')
deb612=$(pick '^linux-image-6\.12\.[0-9]+\+deb12-amd64$')
install_tree "$deb61"
install_tree "$deb612"
