#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run-fuzzers.sh — build the libFuzzer targets with clang, seed them from fixtures/, run them, replay regressions.
#
# usage: tests/fuzz/run-fuzzers.sh [-t SECONDS] [-r RUNS] [-b BUILDDIR] [TARGET...]
#   -t SECONDS  fuzz each target this long (default 60 when neither -t nor -r is given)
#   -r RUNS     stop each target after this many executions (with -t too: whichever comes first)
#   -b DIR      build and work directory (default $FUZZ_BUILD_DIR, else ./build-fuzz)
#   TARGET      cmdline grubfile modules modprobe profile hooks blob (default: all)
# Environment: CC (default clang), FUZZ_BUILD_DIR, FUZZ_ARGS (more libFuzzer options),
# TMPDIR (where the hooks and profile targets make their private root; default /dev/shm).
# In DIR: fuzz-TARGET binaries, seeds/TARGET (remade from fixtures on every run),
# corpus/TARGET (kept, grows), crashes/TARGET (crash-*, leak-*, timeout-* inputs),
# logs/TARGET.log. The table at the end gives per target: executions, exec/s,
# cov (code edges reached) and ft (libFuzzer's features), the corpus libFuzzer
# holds at the end (units/size), new crash inputs, and the replay of
# tests/fuzz/regressions/TARGET (ok, FAILED, none). Exit status: 0 when no
# target crashed and every regression input passed, 1 otherwise, 2 on usage
# or build errors, 77 (meson: skipped) when clang cannot build libFuzzer targets.
set -u

src=$(cd "$(dirname "$0")/../.." && pwd)
fuzzdir=$src/tests/fuzz
all_targets="cmdline grubfile modules modprobe profile hooks blob"
seconds=
runs=
build=${FUZZ_BUILD_DIR:-./build-fuzz}
cc=${CC:-clang}

usage() {
	sed -n '5,10s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while getopts "t:r:b:h" opt; do
	case $opt in
	t) seconds=$OPTARG ;;
	r) runs=$OPTARG ;;
	b) build=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$seconds$runs" ] || seconds=60
targets=${*:-$all_targets}
for t in $targets; do
	case " $all_targets " in
	*" $t "*) ;;
	*) echo "run-fuzzers: unknown target '$t' (known: $all_targets)" >&2; exit 2 ;;
	esac
done
mkdir -p "$build" || exit 2
# The hooks and profile targets write each input to a file in a private
# root under $TMPDIR; on tmpfs that costs no write-back.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
	export TMPDIR=/dev/shm
fi
build=$(cd "$build" && pwd)

# ---- building ---------------------------------------------------------------

# Without the libFuzzer runtime (libclang-rt-14-dev) there is nothing to run:
# exit 77, which meson counts as a skipped test.
probe() {
	echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$build/probe.c"
	$cc -fsanitize=fuzzer,address,undefined -o "$build/probe" "$build/probe.c" >/dev/null 2>&1
}
if ! probe; then
	echo "run-fuzzers: $cc cannot build libFuzzer targets; install clang and libclang-rt-14-dev" >&2
	exit 77
fi

sources() {
	local lib=$src/src/lib shared=$src/src/shared
	case $1 in
	cmdline) echo "$lib/cmdline.c $lib/vfioids.c $shared/strbuf.c $shared/strv.c" ;;
	grubfile) echo "$lib/cmdline.c $lib/grubfile.c $lib/grubscan.c $lib/shfrag.c $shared/strbuf.c $shared/strv.c" ;;
	modules | modprobe) echo "$lib/modfile-names.c $lib/modfile-edits.c $lib/modules-read.c $lib/modules-edit.c" \
		"$lib/modprobe-read.c $lib/modprobe-config.c $lib/modprobe-edit.c $lib/modprobe-softdep.c" \
		"$shared/strbuf.c $shared/strv.c" ;;
	profile) echo "$lib/profile.c $lib/profile-core.c $lib/profile-ini.c $lib/profile-builtin.c $lib/findings.c $lib/rootfs.c $lib/hw.c" \
		"$lib/hw-sysfs.c $lib/dl.c $lib/kmods.c $shared/util.c $shared/strbuf.c $shared/strv.c" ;;
	hooks) echo "$lib/hooks.c $lib/rootfs.c $shared/util.c $shared/strbuf.c $shared/strv.c" ;;
	blob) echo "$lib/journal-blob.c $shared/util.c $shared/strbuf.c $shared/strv.c" ;;
	esac
}

libs() {
	case $1 in
	profile) echo "-linih -lmd -lpci" ;;
	hooks) echo "-linih -lmd" ;;
	blob) echo "-lsqlite3 -lz -lmd" ;;
	esac
}

cflags="-g -O1 -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Wall -Wextra -Wno-unused-parameter
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
	-I$src/src -I$src/src/lib -I$src/src/shared"

# Rebuild only when a source or header is newer than the binary.
build_target() {
	local t=$1 bin=$build/fuzz-$1 srcs
	srcs="$fuzzdir/fuzz-$t.c $(sources "$t")"
	if [ -x "$bin" ] && [ -z "$(find $srcs "$fuzzdir/fuzz-common.h" "$src/src/lib" "$src/src/shared" \
		-name '*.[ch]' -newer "$bin" 2>/dev/null | head -1)" ]; then
		return 0
	fi
	# shellcheck disable=SC2086
	$cc $cflags -o "$bin.tmp" $srcs $(libs "$t") && mv "$bin.tmp" "$bin"
}

# ---- seeds, made from fixtures/ on every run --------------------------------

seed() { # seed TARGET NAME: stdin to seeds/TARGET/NAME
	cat >"$build/seeds/$1/$2"
}

grub_files() { # /etc/default/grub, then each drop-in in glob order, NUL-separated
	cat "$1/etc/default/grub" 2>/dev/null
	for f in "$1"/etc/default/grub.d/*.cfg; do
		[ -e "$f" ] && { printf '\0'; cat "$f"; }
	done
}

seeds_grubfile() {
	local intents=('+intel_iommu=on\t+iommu=pt' '+iommu=pt\t-quiet' '-splash\t+amd_iommu=off' '-iommu' '+quiet')
	local i=0 d
	for d in "$src"/fixtures/grub/* "$src"/fixtures/grub-refuse/*; do
		[ -d "$d/etc/default" ] || continue
		{ printf -- "${intents[i % 5]}\n"; grub_files "$d"; } | seed grubfile "$(basename "$d")-a"
		{ printf -- "${intents[(i + 2) % 5]}\n"; grub_files "$d"; } | seed grubfile "$(basename "$d")-b"
		i=$((i + 1))
	done
}

seeds_cmdline() {
	local n=0 line
	{
		cat "$src"/fixtures/roots/*/etc/kernel/cmdline 2>/dev/null
		grep -h '^[[:blank:]]*GRUB_CMDLINE_LINUX' -r "$src/fixtures/grub" 2>/dev/null |
			sed -e 's/^[^=]*=//' -e 's/^"\(.*\)"[[:space:]]*$/\1/' -e "s/^'\\(.*\\)'[[:space:]]*\$/\\1/"
		echo 'BOOT_IMAGE=/boot/vmlinuz root=UUID=1234 ro quiet "acpi_osi=!Windows 2020" -- single'
		echo 'intel_iommu=on iommu=pt vfio-pci.ids=10de:1b80,10de:10f0 modprobe.blacklist=nouveau'
		echo 'dyndbg="file drivers/* +p" iommu=pt "unterminated'
	} | sort -u | while IFS= read -r line; do
		n=$((n + 1))
		printf '+intel_iommu=on\t+iommu=pt\t-quiet\n%s\n' "$line" | seed cmdline "line-$n"
		printf -- '-iommu\t+amd_iommu=off\n%s' "$line" | seed cmdline "line-$n-b"
	done
}

seeds_modules() {
	local f n
	for f in "$src"/fixtures/modules/*; do
		n=$(basename "$f")
		[ "$n" = SOURCES.md ] && continue
		{ printf '+\tvfio_pci\n'; cat "$f"; } | seed modules "$n-add"
		{ printf -- '-\tvfio-pci\n'; cat "$f"; } | seed modules "$n-remove"
		{ printf 'x\tvfio_virqfd\n'; cat "$f"; } | seed modules "$n-both"
	done
}

seeds_modprobe() {
	local ops=('b+\tnouveau' 'b-\tnouveau' 'o+\tvfio-pci\tids=10de:1b80,10de:10f0 disable_vga=1'
		'o-\tvfio_pci\tids' 'o-\tkvm' 's+\tnouveau\tvfio-pci' 's-\tsnd_hda_intel\tvfio_pci'
		's+\tamdgpu\tvfio_pci\tdrm')
	local f n i
	for f in "$src"/fixtures/modprobe.d/*.conf; do
		n=$(basename "$f" .conf)
		for i in "${!ops[@]}"; do
			{ printf -- "${ops[i]}\n"; cat "$f"; } | seed modprobe "$n-$i"
		done
		{ printf 'b+\tradeon\n'; cat "$f"; printf '\0modprobe.blacklist=nouveau,radeon vfio-pci.ids=10de:1b80 kvm.ignore_msrs="1"'; } |
			seed modprobe "$n-cmdline"
	done
}

seeds_profile() {
	# the example in the man page, and the built-in profiles written as local ones
	sed -n '/^Example, _\/etc\/iommuctl\/profiles/,/^```$/{/^\[profile\]/,/^```$/p}' "$src/man/iommuctl.8.scd" |
		sed '/^```$/d' | seed profile man-example
	printf '[profile]\ndescription = IOMMU kernel parameters\n[kernel]\nadd = intel_iommu=on iommu=pt\n' | seed profile iommu
	printf '[profile]\ninclude = iommu\n[kernel]\nremove = amd_iommu=on\n[modules]\nadd = vfio vfio_iommu_type1 vfio_pci\n' |
		seed profile vfio
	printf '[profile]\ninclude = vfio\n[blacklist]\nadd = nouveau nvidia nvidiafb\nfile = /etc/modprobe.d/blacklist.conf\n' |
		seed profile nvidia
	printf '[profile]\ninclude = vfio\ninclude = amd\n[blacklist]\nadd = radeon amdgpu\nremove = snd_hda_intel\n' | seed profile amd
	printf '[vfio-pci]\ndevices = 0000:01:00.0 0000:01:00.1\nids = 10DE:1B80 10de:10f0:1458:3702\ndisable_vga = no\nfile = /etc/modprobe.d/vfio.conf\n' |
		seed profile vfio-pci
	printf '\xef\xbb\xbf; comment\n[profile]\ndescription = first part\n  and a continuation ; note\n[modules]\nremove = vfio_virqfd\n' |
		seed profile continuation
}

seeds_hooks() {
	sed -n '/^\[hooks\]/,/^```$/p' "$src/man/iommuctl.8.scd" | sed '/^```$/d' | seed hooks man-example
	printf '[hooks]\nupdate-grub = /bin/true\n' | seed hooks one
	printf '; local\n[hooks]\nupdate-initramfs: /usr/sbin/update-initramfs  -u\t-k all ; inline\n' | seed hooks colon
	printf '[hooks]\nproxmox-boot-tool = relative\n' | seed hooks refused
	printf '[other]\nx = 1\n' | seed hooks section
}

seeds_blob() {
	local f n=0
	for f in "$src"/fixtures/modules/* "$src"/fixtures/modprobe.d/*.conf "$src"/fixtures/grub/0*/etc/default/grub; do
		n=$((n + 1))
		{ printf '\1'; cat "$f"; } | seed blob "put-$n"
		python3 -c '
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
z = zlib.compress(data, 9)
sys.stdout.buffer.write(bytes([6]) + struct.pack("<q", len(data)) + z)
sys.stdout.buffer.write(b"")' "$f" | seed blob "get-$n"
	done
	python3 -c '
import struct, sys, zlib
z = zlib.compress(b"GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n")
sys.stdout.buffer.write(bytes([0]) + struct.pack("<q", 35) + z[:-3])' | seed blob truncated
	python3 -c '
import struct, sys
sys.stdout.buffer.write(bytes([0]) + struct.pack("<q", -1) + b"x\x9c\x03\x00\x00\x00\x00\x01")' | seed blob negative
}

make_seeds() {
	rm -rf "$build/seeds/$1"
	mkdir -p "$build/seeds/$1"
	"seeds_$1"
}

# ---- running -----------------------------------------------------------------

# "stat::name: value" from a log, or "-".
stat_of() {
	local v
	v=$(sed -n "s/^stat::$2: *//p" "$1" | tail -1)
	echo "${v:--}"
}

# A field ("cov", "ft", "corp") of the last status line, or "-".
status_of() {
	local v
	v=$(grep -a -E '^#[0-9]+' "$1" | tail -1 | sed -n "s/.* $2: \([^ ]*\).*/\1/p")
	echo "${v:--}"
}

failed=0
report=()
for t in $targets; do
	if ! build_target "$t"; then
		echo "run-fuzzers: building fuzz-$t failed" >&2
		exit 2
	fi
	make_seeds "$t"
	mkdir -p "$build/corpus/$t" "$build/crashes/$t" "$build/logs"
	log=$build/logs/$t.log
	crashes_before=$(find "$build/crashes/$t" -type f | wc -l)

	# regressions first: each file once
	regress=ok
	if compgen -G "$fuzzdir/regressions/$t/*" >/dev/null; then
		if ! "$build/fuzz-$t" "$fuzzdir/regressions/$t"/* >"$build/logs/$t-regressions.log" 2>&1; then
			regress=FAILED
			failed=1
		fi
	else
		regress=none
	fi

	limit=()
	[ -n "$seconds" ] && limit+=(-max_total_time="$seconds")
	[ -n "$runs" ] && limit+=(-runs="$runs")
	echo "== fuzz-$t: ${runs:+$runs runs }${seconds:+${seconds}s}" >&2
	# shellcheck disable=SC2086
	"$build/fuzz-$t" "${limit[@]}" -timeout=25 -print_final_stats=1 \
		-artifact_prefix="$build/crashes/$t/" ${FUZZ_ARGS:-} \
		"$build/corpus/$t" "$build/seeds/$t" >"$log" 2>&1
	rc=$?
	crashes=$(($(find "$build/crashes/$t" -type f | wc -l) - crashes_before))
	if [ $rc -ne 0 ] || [ "$crashes" -gt 0 ]; then
		failed=1
		grep -a -m1 -E 'fuzz invariant violated|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" >&2
		[ "$crashes" -eq 0 ] && crashes="?(rc $rc)"
	fi
	report+=("$(printf '%-9s %12s %8s %6s %7s %12s %7s %-7s' "$t" "$(stat_of "$log" number_of_executed_units)" \
		"$(stat_of "$log" average_exec_per_sec)" "$(status_of "$log" cov)" "$(status_of "$log" ft)" \
		"$(status_of "$log" corp)" "$crashes" "$regress")")
done

printf '%-9s %12s %8s %6s %7s %12s %7s %-7s\n' target execs exec/s cov ft corpus crashes regress
printf '%s\n' "${report[@]}"
[ $failed -eq 0 ] || echo "run-fuzzers: crashes or failed regressions; inputs in $build/crashes, logs in $build/logs" >&2
exit $failed
