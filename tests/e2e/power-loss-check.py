#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""power-loss-check.py -- replay a dm-log-writes log into crash states and check each one.

Used by power-loss.sh (see there for the method). Reads the log the guest's
"log-writes /dev/vda /dev/vdb" target wrote (format: the kernel's
drivers/md/dm-log-writes.c and Documentation/admin-guide/device-mapper/log-writes.rst):

  sector 0:   super  {le64 magic, le64 version, le64 nr_entries, le32 sectorsize}
  then, nr_entries times:
              entry  {le64 sector, le64 nr_sectors, le64 flags, le64 data_len} in one
                     sectorsize block (a mark's text follows the 32 bytes),
              then nr_sectors * sectorsize bytes of data (none for a discard).
  sector and nr_sectors count sectorsize units of the data device.

The log order is the order a disk makes writes durable: a plain write is logged only when a
later FLUSH completes (all writes completed before the flush, then the flush), a FUA write when
it completes. So every prefix of the log is a state a power cut can leave, and so is every
prefix up to a flush plus any subset of the plain writes logged before the next flush (a volatile
write cache may have written back any of them). The crash states checked:

  flush   the log replayed up to a FLUSH or FUA entry: exactly what had been flushed survives;
  prefix  the log replayed up to a random entry;
  torn    up to a flush, plus a random half of the plain writes of the next batch (reordered);
  end     the whole log (the writes logged before the kill);
  raw     the data disk QEMU left behind after SIGKILL (cache=unsafe: the guest's page cache is
          lost, every write the guest had submitted is there): given with --raw.

For each state: the journal is replayed (e2fsck -E journal_only, what mount would do) and then
e2fsck -fn must find nothing; the sandbox root is copied out with debugfs rdump; then, against
the copy, with the journal read through Python's sqlite3 module (SQLite itself, not iommuctl):

  known     before recovery, every managed file is a state the journal knows: for the latest
            transaction touching it, its "after" if committed, its "before" if rolled back or
            failed, either if pending; the fixture's original where no transaction touched it;
  recover   "iommuctl recover" exits 0, then: no transaction pending, PRAGMA integrity_check
            is ok, foreign_key_check finds nothing, nothing was salvaged (no file was found in a
            third state);
  atomic    after recovery every managed file is exactly the journal's view (content, mode), the
            interrupted transaction's files are ALL back to "before", no temporary file is left;
  snapshot  "iommuctl snapshot" records no change (the journal knows the files as they are).

Prints TAP lines without numbers ("ok - ..." / "not ok - ..." / "# ...") for the caller to
number, one per check and run, with every failing state named.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import random
import shutil
import sqlite3
import struct
import subprocess
import sys
import threading
import traceback
import time

LOG_FLUSH, LOG_FUA, LOG_DISCARD, LOG_MARK, LOG_METADATA = 1, 2, 4, 8, 16
MAGIC = 0x6A736677736872
MANAGED_DIRS = ("etc/default", "etc/default/grub.d", "etc/modprobe.d", "etc/kernel", "etc")
TEMP_SUFFIX = ".iommuctl-new"


class Entry:
    __slots__ = ("idx", "sector", "nr", "flags", "off", "mark")

    def __init__(self, idx, sector, nr, flags, off, mark):
        self.idx, self.sector, self.nr, self.flags, self.off, self.mark = idx, sector, nr, flags, off, mark

    @property
    def plain_write(self):
        return self.nr > 0 and not self.flags & (LOG_FLUSH | LOG_FUA | LOG_MARK | LOG_DISCARD)


def read_log(path):
    """The entries of a dm-log-writes log, up to the super's nr_entries."""
    with open(path, "rb") as f:
        magic, version, nr, ssize = struct.unpack("<QQQI", f.read(28))
        if magic != MAGIC:
            raise SystemExit("%s: not a dm-log-writes log (magic %#x)" % (path, magic))
        entries = []
        pos = ssize
        for i in range(nr):
            f.seek(pos)
            hdr = f.read(ssize)
            if len(hdr) < 32:
                break
            sector, nsec, flags, dlen = struct.unpack("<QQQQ", hdr[:32])
            mark = hdr[32:32 + dlen].decode("ascii", "replace") if flags & LOG_MARK else None
            pos += ssize
            off = pos
            if flags & LOG_DISCARD:
                off = None
            elif not flags & LOG_MARK:
                pos += nsec * ssize
            entries.append(Entry(i, sector, nsec, flags, off, mark))
    return ssize, entries


class Replayer:
    """Applies log entries, in order, to a working copy of the pristine data disk."""

    def __init__(self, log, ssize, base, work):
        self.log = open(log, "rb")
        self.ssize = ssize
        self.path = work
        copy_image(base, work)
        self.img = open(work, "r+b")
        self.applied = 0

    def apply(self, e, img=None):
        img = img or self.img
        if e.flags & LOG_MARK or e.nr == 0:
            return
        img.seek(e.sector * self.ssize)
        if e.flags & LOG_DISCARD:
            img.write(b"\0" * (e.nr * self.ssize))
        else:
            self.log.seek(e.off)
            img.write(self.log.read(e.nr * self.ssize))

    def advance(self, entries, upto):
        for e in entries[self.applied:upto]:
            self.apply(e)
        self.applied = upto

    def snapshot(self, dest, extra=()):
        self.img.flush()
        copy_image(self.path, dest)
        if extra:
            with open(dest, "r+b") as img:
                for e in extra:
                    self.apply(e, img)


def copy_image(src, dest):
    """A sparse copy (cp): the images are mostly holes, and a full copy per state costs seconds."""
    subprocess.run(["cp", "--sparse=always", src, dest], check=True)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def file_state(root, rel):
    """(hash, mode) of ROOT/REL, (None, None) when it does not exist."""
    p = os.path.join(root, rel.lstrip("/"))
    if not os.path.lexists(p):
        return (None, None)
    return (sha256(p), os.lstat(p).st_mode & 0o7777)


def etc_files(root):
    out = set()
    for d, _, files in os.walk(os.path.join(root, "etc")):
        for f in files:
            out.add("/" + os.path.relpath(os.path.join(d, f), root))
    return out


def journal_rows(db):
    """txns and file_change rows, read by SQLite; ([], []) when there is no journal yet."""
    if not os.path.exists(db):
        return [], []
    try:
        con = sqlite3.connect(db)
        txns = con.execute("SELECT id, kind, state FROM txn ORDER BY id").fetchall()
        fc = con.execute("SELECT txn, path, before_hash, before_mode, after_hash, after_mode "
                         "FROM file_change ORDER BY txn").fetchall()
        con.close()
    except sqlite3.DatabaseError as ex:
        if "no such table" in str(ex):
            return [], []
        raise
    return txns, fc


def journal_view(txns, fc):
    """{path: (set of allowed (hash, mode-or-None), latest txn id, its state)}."""
    state = {t[0]: t[2] for t in txns}
    view = {}
    for txn, path, bh, bm, ah, am in fc:
        st = state.get(txn)
        before = (bh, bm & 0o7777 if bm is not None else None)
        after = (ah, am & 0o7777 if am is not None else None)
        if st == "committed":
            allowed = {after}
        elif st in ("rolled-back", "failed"):
            allowed = {before}
        else:
            allowed = {before, after}
        view[path] = (allowed, txn, st)
    return view


def matches(cur, allowed):
    return any(cur[0] == h and (cur[0] is None or m is None or cur[1] == m) for h, m in allowed)


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


class Checker:
    def __init__(self, a, original):
        self.a = a
        self.original = original      # {path: (hash, mode)} of the fixture root
        self.fail = {k: [] for k in ("fsck", "known", "recover", "atomic", "snapshot")}
        self.count = 0
        self.replayed_journal = 0
        self.pending_seen = 0
        self.restored = 0
        self.partial = 0
        self.by_cmd = {}
        self.lock = threading.Lock()

    def bad(self, kind, label, why):
        with self.lock:
            self.fail[kind].append("%s: %s" % (label, why))

    def bump(self, attr):
        with self.lock:
            setattr(self, attr, getattr(self, attr) + 1)

    def check(self, img, label, cmd, tamper=False):
        a = self.a
        self.bump("count")
        with self.lock:
            self.by_cmd[cmd] = self.by_cmd.get(cmd, 0) + 1
        r = run(["e2fsck", "-E", "journal_only", "-y", img])
        if r.returncode not in (0, 1):
            self.bad("fsck", label, "journal replay: e2fsck exit %d: %s" % (r.returncode, r.stdout[-300:]))
            return
        if "recovering journal" in r.stdout:
            self.bump("replayed_journal")
        r = run(["e2fsck", "-fn", img])
        if r.returncode != 0:
            self.bad("fsck", label, "e2fsck -fn exit %d: %s" % (r.returncode, r.stdout[-500:]))
        out = img + ".root"
        shutil.rmtree(out, ignore_errors=True)
        os.mkdir(out)
        r = run(["debugfs", "-R", "rdump /root %s" % out, img])
        root = os.path.join(out, "root")
        if not os.path.isdir(os.path.join(root, "etc")):
            self.bad("fsck", label, "debugfs rdump found no /root/etc: %s" % r.stdout[-300:])
            return
        db = os.path.join(root, "var/lib/iommuctl/journal.db")
        if tamper:
            # The oracle's own test: a torn /etc/default/grub (half of it) must be caught.
            g = os.path.join(root, "etc/default/grub")
            with open(g, "rb") as f:
                data = f.read()
            with open(g, "wb") as f:
                f.write(data[:len(data) // 2])

        # -- before recovery, on a copy of the journal (SQLite would checkpoint the real one)
        pre = out + ".db"
        shutil.rmtree(pre, ignore_errors=True)
        os.mkdir(pre)
        for sfx in ("", "-wal"):
            if os.path.exists(db + sfx):
                shutil.copyfile(db + sfx, os.path.join(pre, "journal.db" + sfx))
        try:
            txns, fc = journal_rows(os.path.join(pre, "journal.db"))
        except sqlite3.DatabaseError as ex:
            self.bad("known", label, "the journal cannot be read before recovery: %s" % ex)
            txns, fc = [], []
        view = journal_view(txns, fc)
        pending = [t[0] for t in txns if t[2] == "pending"]
        if pending:
            self.bump("pending_seen")
        managed = set(self.original) | set(view)
        for path in sorted(managed):
            cur = file_state(root, path)
            allowed = view[path][0] if path in view else {self.original.get(path, (None, None))}
            if not matches(cur, allowed):
                self.bad("known", label, "%s is %s, the journal knows only %s" % (path, cur, sorted(allowed, key=str)))
        # The files of the interrupted transaction, as they were before recovery.
        interrupted = {p: v for p, v in view.items() if v[2] == "pending"}
        # How far the interrupted transaction had got: files already renamed into place.
        done = 0
        for path, (_, txn, _) in interrupted.items():
            for t, p, bh, bm, ah, am in fc:
                if t == txn and p == path and (bh, bm) != (ah, am) and file_state(root, path)[0] == ah:
                    done += 1
        if done:
            self.bump("partial")

        # -- recovery
        base = [a.iommuctl, "--root", root, "--sysfs", a.hw + "/sys", "--procfs", a.hw + "/proc", "--no-hooks"]
        r = run(base + ["recover"])
        if r.returncode != 0:
            self.bad("recover", label, "iommuctl recover exit %d: %s" % (r.returncode, r.stdout.strip()[-400:]))
            return
        if not os.path.exists(db):
            # Nothing was ever journaled: the files must be the fixture's.
            for path in sorted(self.original):
                if file_state(root, path) != self.original[path]:
                    self.bad("atomic", label, "%s changed although no journal exists" % path)
        else:
            try:
                con = sqlite3.connect(db)
                ic = con.execute("PRAGMA integrity_check").fetchall()
                fk = con.execute("PRAGMA foreign_key_check").fetchall()
                npend = con.execute("SELECT count(*) FROM txn WHERE state = 'pending'").fetchone()[0]
                nsalv = con.execute("SELECT count(*) FROM salvage").fetchone()[0]
                con.close()
            except sqlite3.DatabaseError as ex:
                self.bad("recover", label, "the journal cannot be read after recovery: %s" % ex)
                return
            if ic != [("ok",)]:
                self.bad("recover", label, "PRAGMA integrity_check: %s" % ic)
            if fk:
                self.bad("recover", label, "PRAGMA foreign_key_check: %s" % fk[:5])
            if npend:
                self.bad("recover", label, "%d transaction(s) still pending after recover" % npend)
            if nsalv:
                self.bad("recover", label, "%d file(s) salvaged: recovery found a file in neither state" % nsalv)
            txns2, fc2 = journal_rows(db)
            view2 = journal_view(txns2, fc2)
            for path in sorted(set(self.original) | set(view2)):
                cur = file_state(root, path)
                allowed = view2[path][0] if path in view2 else {self.original.get(path, (None, None))}
                if len(allowed) != 1 or not matches(cur, allowed):
                    self.bad("atomic", label, "after recover %s is %s, the journal says %s" % (path, cur, sorted(allowed, key=str)))
            for path, (_, txn, _) in interrupted.items():
                befores = [(bh, bm) for t, p, bh, bm, _, _ in fc if t == txn and p == path]
                b = befores[0]
                if not matches(file_state(root, path), {(b[0], b[1] & 0o7777 if b[1] is not None else None)}):
                    self.bad("atomic", label, "interrupted transaction %d: %s is not back to its before state" % (txn, path))
            if interrupted:
                self.bump("restored")
            expected = {p for p in set(self.original) | set(view2) if file_state(root, p)[0] is not None}
            stray = etc_files(root) - expected
            if stray:
                self.bad("atomic", label, "files nobody recorded: %s" % sorted(stray))
        r = run(base + ["--json", "snapshot", "-m", "power-loss check"])
        try:
            d = json.loads(r.stdout[r.stdout.index("{"):]) if r.returncode == 0 else None
        except ValueError:
            d = None
        if d is None:
            self.bad("snapshot", label, "snapshot after recover: exit %d: %s" % (r.returncode, r.stdout.strip()[-400:]))
        elif d.get("changed"):
            self.bad("snapshot", label, "snapshot after recover recorded a change (txn %s)" % d.get("txn"))
        if not a.keep:
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(pre, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--base", required=True, help="the pristine data disk the log starts from")
    ap.add_argument("--raw", help="the data disk as QEMU left it after SIGKILL")
    ap.add_argument("--console", help="the guest's serial log, for the command of each state")
    ap.add_argument("--fixture-root", required=True)
    ap.add_argument("--hw", required=True)
    ap.add_argument("--iommuctl", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--run", default="run")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--flush-states", type=int, default=-1, help="-1: every flush point")
    ap.add_argument("--prefix-states", type=int, default=50)
    ap.add_argument("--torn-states", type=int, default=50)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--jobs", type=int, default=0, help="checking threads (default: the CPUs)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    t0 = time.time()
    name = a.run

    ssize, entries = read_log(a.log)
    n = len(entries)
    flushes = [e.idx + 1 for e in entries if e.flags & (LOG_FLUSH | LOG_FUA)]
    marks = [(e.idx, e.mark) for e in entries if e.mark]
    ncmd = sum(1 for _, m in marks if m.startswith("cmd"))
    print("# %s: log: %d entries (sector size %d), %d flush/FUA, %d writes, %d commands marked"
          % (name, n, ssize, len(flushes), sum(1 for e in entries if e.nr and not e.flags & LOG_MARK), ncmd))
    if not flushes or ncmd == 0:
        print("not ok - %s: the log holds no flush or no iommuctl command (%d entries)" % (name, n))
        return 1
    print("ok - %s: dm-log-writes log parsed: %d entries, %d flush/FUA points, %d commands started"
          % (name, n, len(flushes), ncmd))

    cmds = {}
    if a.console and os.path.exists(a.console):
        for line in open(a.console, errors="replace"):
            if line.startswith("power-loss: cmd ") and ":" in line[16:]:
                num, rest = line[16:].split(" ", 1)
                cmds["cmd" + num] = rest.split(": ", 1)[-1].strip()

    def command_at(prefix):
        """The command running when the log was cut after PREFIX entries."""
        last = "setup"
        for idx, m in marks:
            if idx >= prefix:
                break
            last = m
        return "%s (%s)" % (last, cmds.get(last, "running at the kill")) if last.startswith("cmd") else last

    # -- which states
    first_cmd = next(idx for idx, m in marks if m.startswith("cmd"))
    fl = [p for p in flushes if p > first_cmd]
    chosen = sorted(rng.sample(fl, min(len(fl), a.flush_states))) if a.flush_states >= 0 else fl
    states = [(p, "flush", ()) for p in chosen]
    for p in sorted(rng.sample(range(first_cmd + 1, n + 1), min(n - first_cmd, a.prefix_states))):
        states.append((p, "prefix", ()))
    batches = []
    prev = first_cmd
    for p in fl:
        writes = [e for e in entries[prev:p - 1] if e.plain_write]
        if len(writes) >= 2:
            batches.append((prev, writes))
        prev = p
    for prev, writes in sorted(rng.sample(batches, min(len(batches), a.torn_states)), key=lambda b: b[0]):
        keep = [e for e in writes if rng.random() < 0.5] or [writes[-1]]
        states.append((prev, "torn", tuple(keep)))
    states.append((n, "end", ()))
    states.sort(key=lambda s: (s[0], s[1]))

    os.makedirs(a.work, exist_ok=True)
    ck = Checker(a, {p: file_state(a.fixture_root, p) for p in etc_files(a.fixture_root)})
    rp = Replayer(a.log, ssize, a.base, os.path.join(a.work, "replay.img"))
    kinds = {}
    # The replay is sequential; the checks (e2fsck, debugfs, iommuctl: other processes) run on
    # as many threads as there are CPUs, each on its own copy of the disk, a few copies ahead.
    workers = a.jobs or os.cpu_count() or 1
    slots = threading.BoundedSemaphore(2 * workers)

    def one(img, label, cmd):
        try:
            ck.check(img, label, cmd)
        except Exception as ex:  # a checker bug must show as a failure, not vanish in a thread
            tb = traceback.extract_tb(ex.__traceback__)[-1]
            ck.bad("recover", label, "checker error: %r at line %d (%s)" % (ex, tb.lineno, tb.line))
        finally:
            if os.path.exists(img):
                os.unlink(img)
            slots.release()

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futs = []
        for i, (p, kind, extra) in enumerate(states):
            rp.advance(entries, p)
            slots.acquire()
            img = os.path.join(a.work, "state%d.img" % i)
            rp.snapshot(img, extra)
            label = "%s %s@%d%s [%s]" % (name, kind, p, "+%dw" % len(extra) if extra else "", command_at(p))
            futs.append(pool.submit(one, img, label, command_at(p).split(" ")[0]))
            kinds[kind] = kinds.get(kind, 0) + 1
        if a.raw:
            slots.acquire()
            img = os.path.join(a.work, "raw.img")
            copy_image(a.raw, img)
            futs.append(pool.submit(one, img, "%s raw disk after SIGKILL [%s]" % (name, command_at(n)), "raw"))
            kinds["raw"] = 1
        for f in futs:
            f.result()
    img = os.path.join(a.work, "state.img")
    # The oracle must not be vacuous: the last state again, with a torn /etc/default/grub.
    selftest = Checker(a, ck.original)
    rp.snapshot(img)
    selftest.check(img, "self-test", "self-test", tamper=True)
    os.unlink(img)
    caught = selftest.fail["known"] and (selftest.fail["snapshot"] or selftest.fail["recover"])
    print("%s - %s: self-test: the checks catch a half-written /etc/default/grub (%s)"
          % ("ok" if caught else "not ok", name, "; ".join(f[0].split("\n")[0] for f in (selftest.fail["known"], selftest.fail["recover"], selftest.fail["snapshot"]) if f)
             or "NOT caught"))

    desc = {
        "fsck": "e2fsck -fn clean after the ext4 journal replay, sandbox root readable",
        "known": "before recover: every managed file is a state the journal knows (or the fixture's)",
        "recover": "recover exit 0; nothing pending; integrity_check ok; no foreign-key error; nothing salvaged",
        "atomic": "after recover: files == the journal's view, interrupted transaction all 'before', no stray file",
        "snapshot": "snapshot after recover records no change",
    }
    for k in ("fsck", "known", "recover", "atomic", "snapshot"):
        f = ck.fail[k]
        print("%s - %s: %s (%d crash states, %d failing)" % ("not ok" if f else "ok", name, desc[k], ck.count, len(f)))
        for line in f[:15]:
            print("# " + line.replace("\n", " | "))
        if len(f) > 15:
            print("# ... and %d more" % (len(f) - 15))
    print("# %s: %d crash states (%s); %d needed the ext4 journal replayed; %d had a pending transaction, "
          "%d had one rolled back by recover (%d with files already renamed into place); %d distinct commands cut; %.0f s"
          % (name, ck.count, ", ".join("%s %d" % kv for kv in sorted(kinds.items())), ck.replayed_journal,
             ck.pending_seen, ck.restored, ck.partial, len(ck.by_cmd), time.time() - t0))
    with open(os.path.join(a.work, "summary.json"), "w") as f:
        json.dump({"states": ck.count, "kinds": kinds, "journal_replayed": ck.replayed_journal,
                   "pending": ck.pending_seen, "restored": ck.restored, "partial": ck.partial, "commands": len(ck.by_cmd),
                   "failures": {k: len(v) for k, v in ck.fail.items()}, "entries": n,
                   "flushes": len(flushes), "commands_started": ncmd}, f)
    return 1 if any(ck.fail.values()) or not caught else 0


if __name__ == "__main__":
    sys.exit(main())
