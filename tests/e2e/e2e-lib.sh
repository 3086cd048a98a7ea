#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# e2e-lib.sh — what run-e2e.sh and power-loss.sh share (sourced, not run): Debian kernel
# module trees extracted once into $ecache, under one lock and one .complete marker, and
# executables copied into a guest tree with their libraries, the guest userland (busybox, kmod,
# iommuctl), the fixtures' QEMU command lines and console tails (also for trial-boot.sh).
# Callers define skip_all, $kmod_bin, $IOMMUCTL and $work, and call kernel_cache_setup, which
# sets $cache and $ecache.

# kernel_cache_setup: Debian's kernel packages in $BUILDDIR/kernel-cache (fetched once by
# tests/kernels/fetch-kernels.sh), the extracted trees in its e2e/; skips the whole test
# when the packages cannot be fetched.
kernel_cache_setup() {
	cache=$BUILDDIR/kernel-cache
	if ! sh "$SRCDIR/tests/kernels/fetch-kernels.sh" "$cache" >/dev/null 2>"$TEST_TMP/fetch.err"; then
		skip_all "Debian's kernel packages cannot be fetched: $(tail -n 1 "$TEST_TMP/fetch.err")"
	fi
	ecache=$cache/e2e
	mkdir -p "$ecache"
}

# kernel_deb REGEX: the newest cached linux-image .deb whose file name matches REGEX.
kernel_deb() {
	local f
	for f in "$cache"/debs/*.deb; do
		[ -e "$f" ] && echo "${f##*/}"
	done | grep -E "$1" | sort -V | tail -n 1 | sed "s|^|$cache/debs/|"
}

# kernel_tree DEB: extract DEB once into ECACHE/KVER (vmlinuz, root/lib/modules/KVER with every
# module and depmod's indexes); prints KVER. fetch-kernels.sh keeps pruned trees only, and the
# guest needs every driver its coldplug may ask for.
kernel_tree() {
	local deb=$1 pkg kver dest tmp src d
	pkg=$(dpkg-deb -f "$deb" Package) || return 1
	kver=${pkg#linux-image-}
	dest=$ecache/$kver
	(
		flock 9
		[ -f "$dest/.complete" ] && exit 0
		rm -rf "$dest" "$dest.tmp"
		tmp=$dest.tmp
		mkdir -p "$tmp"
		dpkg -x "$deb" "$tmp/x" || exit 1
		src=
		for d in "$tmp/x/lib/modules/$kver" "$tmp/x/usr/lib/modules/$kver"; do
			[ -d "$d" ] && src=$d
		done
		[ -n "$src" ] || exit 1
		mkdir -p "$tmp/root/lib/modules"
		mv "$src" "$tmp/root/lib/modules/$kver"
		mv "$tmp/x/boot/vmlinuz-$kver" "$tmp/vmlinuz"
		depmod -b "$tmp/root" "$kver" || exit 1
		rm -rf "$tmp/x"
		mv "$tmp" "$dest"
		touch "$dest/.complete"
	) 9>"$ecache/.lock" || return 1
	echo "$kver"
}

# copy_libs FILE DIR: every shared library ldd names for FILE, at its own path below DIR.
copy_libs() {
	local lib
	for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
		[ -e "$2$lib" ] && continue
		mkdir -p "$2$(dirname "$lib")"
		cp -L "$lib" "$2$lib"
	done
}

# copy_exe BIN DIR DEST [SONAME...]: BIN as DIR/DEST with the libraries ldd names, and the
# libraries it loads with dlopen() (SONAME, found by ldconfig; iommuctl's libkmod and libarchive)
# with theirs.
copy_exe() {
	local bin=$1 dir=$2 dest=$3 so path
	shift 3
	mkdir -p "$dir/$(dirname "$dest")"
	cp "$bin" "$dir/$dest"
	copy_libs "$bin" "$dir"
	for so in "$@"; do
		path=$(ldconfig -p | awk -v s="$so" '$1 == s && /x86-64/ { print $NF; exit }')
		[ -n "$path" ] || { echo "copy_exe: $so not found by ldconfig" >&2; return 1; }
		mkdir -p "$dir$(dirname "$path")"
		cp -L "$path" "$dir$path"
		copy_libs "$path" "$dir"
	done
}

# install_userland DIR: busybox's applets in /bin (not its module tools: busybox's modprobe
# ignores softdeps and install lines), kmod as /sbin/modprobe & co., chroot where iommuctl's
# hooks look for it.
install_userland() {
	local d=$1 a
	mkdir -p "$d/bin" "$d/sbin" "$d/usr/sbin" "$d/usr/bin" "$d/dev" "$d/proc" "$d/sys" "$d/run" "$d/tmp" "$d/mnt"
	cp /bin/busybox "$d/bin/busybox"
	for a in $(/bin/busybox --list); do
		case $a in
		busybox | modprobe | insmod | rmmod | lsmod | depmod | modinfo) ;;
		*) [ -e "$d/bin/$a" ] || ln -s busybox "$d/bin/$a" ;;
		esac
	done
	ln -sf ../../bin/busybox "$d/usr/sbin/chroot"
	copy_exe "$kmod_bin" "$d" /sbin/kmod
	for a in modprobe insmod rmmod lsmod depmod modinfo; do ln -sf kmod "$d/sbin/$a"; done
}

# install_iommuctl DIR: the binary under test with its libraries, and pci.ids for the names.
install_iommuctl() {
	copy_exe "$IOMMUCTL" "$1" /usr/sbin/iommuctl libkmod.so.2 libarchive.so.13
	for f in /usr/share/misc/pci.ids /usr/share/hwdata/pci.ids; do
		if [ -f "$f" ]; then
			mkdir -p "$1/usr/share/misc"
			cp "$f" "$1/usr/share/misc/pci.ids"
			break
		fi
	done
}

# qemu_args FIXTURE: the fixture's QEMU command line from its CAPTURE.md, without -kernel and
# what follows (given per boot), the serial log and the disk moved to @CONSOLE@ / @ROOTIMG@.
qemu_args() {
	local line
	line=$(sed -n '/^## QEMU command/,/^## /{/^qemu-system-x86_64 /p}' "$1/CAPTURE.md")
	[ -n "$line" ] || return 1
	line=${line%% -kernel *}
	line=${line//file:console.raw/file:@CONSOLE@}
	line=${line//file=root.img,/file=@ROOTIMG@,}
	echo "$line"
}

# console_tail NAME [N]: the last lines of a boot's serial console, for a diag.
console_tail() {
	diag "--- last ${2:-30} lines of the $1 console ---"
	diag "$(tr -d '\r' <"$work/$1.console" 2>/dev/null | tail -n "${2:-30}")"
	# QEMU's warnings about CPU features TCG lacks are expected; anything else it said is shown.
	local q
	q=$(grep -v "TCG doesn't support requested feature" "$work/$1.qemu" 2>/dev/null)
	if [ -n "$q" ]; then diag "--- qemu: $q"; fi
}
