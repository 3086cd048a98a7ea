#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# strace_sum.py TRACE ROOT — summarize an `strace -f -y -o TRACE` log of one iommuctl run:
# prints key=value lines: syscalls, syncs, bytes, journal_bytes, and sync.<target>=count, where
# target is what the fd named: wal, db, rollback-journal, journal-dir, temp-file, file-dir, other.
import re
import sys
from collections import Counter

trace, root = sys.argv[1], sys.argv[2].rstrip("/")
call = re.compile(r"^(?:\[pid\s+)?\d*\]?\s*([a-z_0-9]+)\((.*)$")
fdpath = re.compile(r"^(-?\d+)<([^>]*)>")
syscalls = 0
syncs = Counter()
bytes_all = 0
bytes_journal = 0
with open(trace, errors="replace") as f:
    for line in f:
        line = line.rstrip("\n")
        body = re.sub(r"^\d+\s+", "", line)
        if body.startswith("<...") or body.startswith("+++") or body.startswith("---"):
            continue
        m = call.match(body)
        if not m:
            continue
        name, rest = m.group(1), m.group(2)
        syscalls += 1
        ret = re.search(r"\)\s+=\s+(-?\d+)", rest)
        fdm = fdpath.match(rest)
        path = fdm.group(2) if fdm else ""
        if name in ("write", "pwrite64", "writev", "pwritev", "pwritev2") and ret and int(ret.group(1)) > 0:
            n = int(ret.group(1))
            bytes_all += n
            if "/var/lib/iommuctl/" in path:
                bytes_journal += n
        if name in ("fsync", "fdatasync", "sync_file_range", "syncfs", "sync"):
            rel = path[len(root):] if path.startswith(root) else path
            if rel.endswith("journal.db-wal"):
                kind = "wal"
            elif rel.endswith("journal.db-journal"):
                kind = "rollback-journal"
            elif rel.endswith("journal.db"):
                kind = "db"
            elif rel == "/var/lib/iommuctl":
                kind = "journal-dir"
            elif ".iommuctl-new" in rel:
                kind = "temp-file"
            elif rel.startswith("/etc"):
                kind = "file-dir"
            else:
                kind = "other:" + rel
            syncs[kind] += 1
print(f"syscalls={syscalls}")
print(f"syncs={sum(syncs.values())}")
print(f"bytes={bytes_all}")
print(f"journal_bytes={bytes_journal}")
for k in ("wal", "journal-dir", "temp-file", "file-dir", "db", "rollback-journal"):
    print(f"sync.{k}={syncs.get(k, 0)}")
for k, v in syncs.items():
    if k.startswith("other:"):
        print(f"sync.{k}={v}")
