#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# iommu-groups-loop.sh SYS — the shell loop the passthrough guides give for listing IOMMU groups,
# pointed at a sysfs tree SYS (a fixture) instead of /sys: one `lspci -nns` per device.
shopt -s nullglob
sys=${1:-/sys}
for d in "$sys"/kernel/iommu_groups/*/devices/*; do
	n=${d#*/iommu_groups/}
	n=${n%%/*}
	printf 'IOMMU group %s ' "$n"
	lspci -A linux-sysfs -O sysfs.path="$sys/bus/pci" -nns "${d##*/}"
done
