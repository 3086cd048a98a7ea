#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# t0410-modprobe-oracle.sh — modfile's reading of modprobe.d and the kernel command line, checked against kmod's own modprobe.
#
# usage: t0410-modprobe-oracle.sh [MODFILE_HELPER]
#   MODFILE_HELPER  the built tests/helper/modfile-helper (or set $MODFILE_HELPER)
#   FIXTURES        fixture directory (default: ../fixtures next to this script)
#   CC              compiler for the fake module tree (default: cc)
#
# The oracle is kmod itself (Debian package kmod):
#   1. `modprobe --showconfig --config=DIR` against `modfile-helper dump`, for the
#      fixture directory and each fixture alone;
#   2. a fake module tree (objects with only a .modinfo section, indexed by the
#      real depmod) so that `modprobe --show-depends M` shows the options kmod
#      passes to M and the soft dependencies it loads, and `modprobe -b` through
#      an alias shows whether M is blacklisted;
#   3. the same under other kernel command lines: kmod reads /proc/cmdline, so
#      a file is bind-mounted over it in a private mount namespace (unshare -m,
#      or unshare -rm without root); skipped where that is not allowed.
# Prints TAP; skips (1..0) when modprobe or the helper is missing.

set -u

here=$(cd "$(dirname "$0")" && pwd)
fixtures=${FIXTURES:-$here/../fixtures}
helper=${1:-${MODFILE_HELPER:-}}
kver=6.1.0-iommuctl-test
n=0
failed=0

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

ok() { # ok COND-EXIT-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

skip() {
	n=$((n + 1))
	echo "ok $n - # SKIP $1"
}

find_modprobe() {
	for p in "$(command -v modprobe 2>/dev/null)" /usr/sbin/modprobe /sbin/modprobe; do
		[ -n "$p" ] && [ -x "$p" ] && { echo "$p"; return 0; }
	done
	return 1
}

modprobe=$(find_modprobe) || skip_all "kmod's modprobe is not installed"
depmod=$(dirname "$modprobe")/depmod
[ -x "$depmod" ] || depmod=$(command -v depmod 2>/dev/null || echo /sbin/depmod)
if [ -z "$helper" ] || [ ! -x "$helper" ]; then
	skip_all "modfile-helper not given (argument or MODFILE_HELPER)"
fi
[ -d "$fixtures/modprobe.d" ] || skip_all "no fixtures at $fixtures"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/t0410.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
export LC_ALL=C

conf=$fixtures/modprobe.d
files=$(ls "$conf"/*.conf) # LC_ALL=C: byte order, as kmod sorts (strcmp)
mkdir "$tmp/empty"

# kmod always merges /proc/cmdline; the helper gets the same string
if [ -r /proc/cmdline ]; then
	host_cmdline=$(cat /proc/cmdline)
else
	host_cmdline=
fi

# The configuration part of `modprobe -c`, with kmod's one cosmetic slip
# ("pre: a bpost: c" — softdep_to_char() drops the blank) put right.
kmod_showconfig() { # kmod_showconfig CONFIG-PATH
	"$modprobe" --showconfig --config="$1" 2>/dev/null |
		sed -e '/^# End of configuration files/,$d' -e 's/\([^ ]\)post: /\1 post: /' |
		sed -e '${/^$/d;}'
}

compare() { # compare DESCRIPTION EXPECTED-FILE GOT-FILE
	if cmp -s "$2" "$3"; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diff -u "$2" "$3" | sed 's/^/# /'
	fi
}

# ---- 1. showconfig against dump ------------------------------------------

kmod_showconfig "$conf" > "$tmp/kmod.all"
# shellcheck disable=SC2086 # file names from the fixture dir, no blanks
"$helper" dump --cmdline "$host_cmdline" $files > "$tmp/ours.all"
compare "showconfig of the whole fixture dir (and this host's /proc/cmdline)" "$tmp/kmod.all" "$tmp/ours.all"

for f in $files; do
	kmod_showconfig "$f" > "$tmp/kmod.one"
	"$helper" dump --cmdline "$host_cmdline" "$f" > "$tmp/ours.one"
	compare "showconfig of $(basename "$f")" "$tmp/kmod.one" "$tmp/ours.one"
done

# ---- 2. a fake module tree: what kmod would pass and load ----------------

mods="vfio_pci vfio_iommu_type1 nouveau nvidia nvidia_drm nvidiafb radeon amdgpu i915
snd_hda_intel snd_hda_codec_hdmi snd_pcsp microcode kvm bonding ehci_hcd uhci_hcd ohci_hcd
parport random"
root=$tmp/root
kdir=$root/lib/modules/$kver

make_tree() {
	mkdir -p "$kdir/kernel" || return 1
	for m in $mods; do
		printf '__attribute__((section(".modinfo"), used, aligned(1)))\n' > "$tmp/m.c"
		printf 'static const char mi[] = "license=GPL\\0name=%s\\0alias=itest:%s\\0depends=\\0vermagic=%s SMP mod_unload \\0";\n' \
			"$m" "$m" "$kver" >> "$tmp/m.c"
		"${CC:-cc}" -c "$tmp/m.c" -o "$kdir/kernel/$m.ko" 2>/dev/null || return 1
	done
	"$depmod" -b "$root" "$kver" 2>/dev/null
}

# kmod's answers for every module under config $1, into $2/M.deps and $2/M.bl;
# a script of its own so that it can run inside with_cmdline's namespace.
# shellcheck disable=SC2016 # expanded by the inner sh
kmod_queries_sh='conf=$1 out=$2
shift 2
for m in "$@"; do
	"$T_MODPROBE" -d "$T_ROOT" -S "$T_KVER" -C "$conf" --show-depends "$m" > "$out/$m.deps" 2>/dev/null
	"$T_MODPROBE" -d "$T_ROOT" -S "$T_KVER" -C "$conf" -b --show-depends "itest:$m" > "$out/$m.bl" 2>/dev/null
done'
export T_MODPROBE="$modprobe" T_ROOT="$root" T_KVER="$kver"

kmod_queries() { # kmod_queries CONFIG OUTDIR [PREFIX-COMMAND...]
	kq_conf=$1
	kq_out=$2
	shift 2
	mkdir -p "$kq_out"
	# shellcheck disable=SC2086 # $mods: plain module names
	"$@" sh -c "$kmod_queries_sh" sh "$kq_conf" "$kq_out" $mods
}

# What the helper predicts, in the same shape: the modules kmod inserts in
# order (pre softdeps, M, post softdeps) with M's options, and "blacklisted".
ours_queries() { # ours_queries CMDLINE OUTDIR FILE...
	oq_cmdline=$1
	out=$2
	shift 2
	mkdir -p "$out"
	for m in $mods; do
		"$helper" query --cmdline "$oq_cmdline" "$m" "$@" > "$out/$m.q" || return 1
		opts=$(sed -n 's/^options //p' "$out/$m.q")
		pre=$(sed -n 's/^softdep-pre//p' "$out/$m.q" | tr '-' '_')
		post=$(sed -n 's/^softdep-post//p' "$out/$m.q" | tr '-' '_')
		{
			for d in $pre; do echo "$d"; done
			# modprobe joins M's options and its (empty) command-line options with a blank
			if [ -n "$opts" ]; then echo "$m $opts "; else echo "$m "; fi
			for d in $post; do echo "$d"; done
		} > "$out/$m.deps"
		if grep -q '^blacklisted yes' "$out/$m.q"; then echo yes; else echo no; fi > "$out/$m.bl"
	done
}

# kmod's --show-depends lines ("insmod /path/NAME.ko OPTS") in the same shape:
# the options only on M's own line, as the others are M's deps' business.
kmod_normalize() { # kmod_normalize KMODDIR OUTDIR
	mkdir -p "$2"
	for m in $mods; do
		sed -n "s|^insmod $kdir/kernel/\\([^ ]*\\)\\.ko |\\1 |p" "$1/$m.deps" |
			while IFS= read -r line; do
				name=${line%% *}
				if [ "$name" = "$m" ]; then
					echo "$line"
				else
					echo "$name"
				fi
			done > "$2/$m.deps"
		if [ -s "$1/$m.bl" ]; then echo no; else echo yes; fi > "$2/$m.bl"
	done
}

compare_queries() { # compare_queries LABEL KMOD-NORMALIZED-DIR OURS-DIR
	for m in $mods; do
		compare "$1: $m gets the options and softdeps kmod gives it" "$2/$m.deps" "$3/$m.deps"
		compare "$1: $m blacklisted as kmod says" "$2/$m.bl" "$3/$m.bl"
	done
}

if make_tree; then
	have_tree=0
	kmod_queries "$conf" "$tmp/k.host"
	kmod_normalize "$tmp/k.host" "$tmp/kn.host"
	# shellcheck disable=SC2086
	ours_queries "$host_cmdline" "$tmp/o.host" $files
	compare_queries "fixtures" "$tmp/kn.host" "$tmp/o.host"
else
	have_tree=1
	skip "no compiler or depmod for the fake module tree"
fi

# ---- 3. other kernel command lines ----------------------------------------

if [ "$(id -u)" -eq 0 ]; then
	unshare_cmd="unshare -m"
else
	unshare_cmd="unshare -rm"
fi

# Runs modprobe (via "$@") with /proc/cmdline replaced by file $1.
with_cmdline() {
	wc_file=$1
	shift
	# shellcheck disable=SC2086,SC2016 # $unshare_cmd: command and option; '$0' is the inner sh's
	$unshare_cmd sh -c 'mount --bind "$0" /proc/cmdline && exec "$@"' "$wc_file" "$@"
}

echo 'iommuctl.probe=1' > "$tmp/probe.cmdline"
if ! with_cmdline "$tmp/probe.cmdline" cat /proc/cmdline 2>/dev/null | grep -q iommuctl.probe; then
	skip "cannot bind-mount over /proc/cmdline here ($unshare_cmd)"
else
	i=0
	# one per line: what Proxmox hosts and grub really pass, and kmod's corner cases
	while IFS= read -r c; do
		i=$((i + 1))
		printf '%s\n' "$c" > "$tmp/c$i"
		with_cmdline "$tmp/c$i" "$modprobe" --showconfig --config="$tmp/empty" 2>/dev/null |
			sed -e '/^# End of configuration files/,$d' | sed -e '${/^$/d;}' > "$tmp/kmod.c$i"
		"$helper" dump --cmdline "$c" > "$tmp/ours.c$i"
		compare "cmdline $i: $c" "$tmp/kmod.c$i" "$tmp/ours.c$i"
		[ "$have_tree" -eq 0 ] || continue
		kmod_queries "$conf" "$tmp/k.c$i" with_cmdline "$tmp/c$i"
		kmod_normalize "$tmp/k.c$i" "$tmp/kn.c$i"
		# shellcheck disable=SC2086
		ours_queries "$c" "$tmp/o.c$i" $files
		compare_queries "cmdline $i" "$tmp/kn.c$i" "$tmp/o.c$i"
	done <<'EOF'
BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=/dev/mapper/pve-root ro quiet intel_iommu=on iommu=pt
BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet amd_iommu=on iommu=pt vfio-pci.ids=10de:1b80,10de:10f0 vfio_pci.disable_vga=1 modprobe.blacklist=nouveau,nvidiafb
quiet modprobe.blacklist=vfio-pci,snd-hda-intel,radeon nouveau.modeset=0 i915.enable_guc=3 kvm.ignore_msrs=1 kvm.report_ignored_msrs=0
quiet "snd-hda-intel.model=a b" parport.dyndbg="file drivers/parport/ieee1284_ops.c +mpf" bonding.max_bonds=2	random.trust_cpu=on
.x=1 y.=2 z.a.b=3 modprobe.blacklist modprobe.blacklist=,, nouveau.modeset nvidia-drm.modeset=1 -- init.a=b
quiet vfio-pci.ids=10de:1b80 vfio_pci.ids=02:00.0,02:00.1 vfio_pci.disable_vga=1 vfio-pci.ids="1002:67df"
EOF
fi

echo "1..$n"
[ "$failed" -eq 0 ]
