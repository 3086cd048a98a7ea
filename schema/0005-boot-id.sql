-- SPDX-License-Identifier: GPL-2.0-or-later
-- Schema 5: the boot a transaction was made in.
--
-- verify must know whether the running system booted after the last apply (then the booted
-- command line and the loaded modules must show it) or before (then only the next boot can).
-- Until now it compared btime in /proc/stat with the transaction's finish time, both to the
-- second; a guest that booted within the second of an apply got the wrong checks (one of
-- three held-out QEMU runs). The kernel's boot id (/proc/sys/kernel/random/boot_id, a random
-- UUID made at every boot) answers it exactly, with no clock involved.
--
-- NULL for the transactions written before this schema, and when the boot id could not be
-- read; verify falls back to the btime rule for those.

ALTER TABLE txn ADD COLUMN boot_id TEXT;
