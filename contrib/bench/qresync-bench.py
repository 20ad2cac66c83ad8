#!/usr/bin/env python3
"""A QRESYNC reopen (RFC 7162) of a large folder after changes made elsewhere, against
imapd-maildir and Dovecot side by side (issue 14, a benchmark, not a test).

For each server, on its own copy of one generated folder (--count messages, default
100,000):
1. a client syncs fully: ENABLE QRESYNC, SELECT, UID FETCH 1:* (FLAGS MODSEQ); it
   remembers UIDVALIDITY and HIGHESTMODSEQ and logs out;
2. another client changes --changes messages (default 100: UID STORE +FLAGS of
   \\Flagged on UIDs spread over the folder) and expunges --expunges of them (default 10);
3. the first client comes back: ENABLE QRESYNC, SELECT INBOX (QRESYNC (uidvalidity
   modseq known-uids)); that reopen is timed and its bytes counted, and checked to
   carry exactly the changed messages and the expunged UIDs;
4. for comparison, what a client without CONDSTORE does: SELECT + UID FETCH 1:* (FLAGS).
Bytes are what the client received (all of it the server's output for that step).

Usage: contrib/bench/qresync-bench.py [--count 100000] [--changes 100] [--expunges 10] [--imapd PATH]
       [--no-dovecot] [--no-imapd]
(a release build gives meaningful numbers: swift build -c release).
"""
import argparse
import os
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
import interop_support  # noqa: E402
from importlib import import_module  # noqa: E402

fetch_bench = import_module("fetch-bench")  # generate(), Client, wait_port(), USER, PASSWORD
USER, PASSWORD = fetch_bench.USER, fetch_bench.PASSWORD


class Client(fetch_bench.Client):
    """fetch-bench's client, keeping the lines of the last command."""

    def command(self, text):
        self.n += 1
        tag = b"b%d " % self.n
        self.sock.sendall(tag + text.encode() + b"\r\n")
        received, self.lines = 0, []
        while True:
            line = self.file.readline()
            if not line:
                raise EOFError(text)
            received += len(line)
            self.lines.append(line)
            if line.startswith(tag):
                if not line[len(tag):].startswith(b"OK"):
                    raise RuntimeError(f"{text}: {line!r}")
                return received

    def code(self, name):
        for line in self.lines:
            found = re.search(rb"\[" + name.encode() + rb" (\d+)\]", line)
            if found:
                return int(found.group(1))
        raise RuntimeError(f"no {name} in {self.lines[:5]!r}")


def login(port):
    c = Client(port)
    c.command(f"LOGIN {USER} {PASSWORD}")
    return c


def full_sync(port):
    c = login(port)
    c.command("ENABLE QRESYNC")
    c.command("SELECT INBOX")
    validity, modseq = c.code("UIDVALIDITY"), c.code("HIGHESTMODSEQ")
    c.command("UID FETCH 1:* (FLAGS MODSEQ)")
    uids = [int(m.group(1)) for line in c.lines for m in [re.search(rb"UID (\d+)", line)] if m]
    c.command("LOGOUT")
    return validity, modseq, uids


def change_elsewhere(port, uids, changes, expunges):
    step = max(1, len(uids) // changes)
    changed = uids[::step][:changes]
    c = login(port)
    c.command("SELECT INBOX")
    for uid in changed:
        c.command(f"UID STORE {uid} +FLAGS.SILENT (\\Flagged)")
    gone = changed[:expunges]
    if gone:
        c.command(f"UID STORE {','.join(map(str, gone))} +FLAGS.SILENT (\\Deleted)")
        c.command(f"UID EXPUNGE {','.join(map(str, gone))}")
    c.command("LOGOUT")
    return set(changed) - set(gone), set(gone)


def expand(uid_set):
    out = set()
    for part in uid_set.split(b","):
        low, _, high = part.partition(b":")
        out.update(range(int(low), int(high or low) + 1))
    return out


def qresync_reopen(port, validity, modseq, uids, changed, gone):
    c = login(port)
    c.command("ENABLE QRESYNC")
    t0 = time.monotonic()
    size = c.command(f"SELECT INBOX (QRESYNC ({validity} {modseq} 1:{max(uids)}))")
    elapsed = time.monotonic() - t0
    fetched = {int(m.group(1)) for line in c.lines for m in [re.search(rb"FETCH \(.*UID (\d+)", line)] if m}
    vanished = set()
    for line in c.lines:
        if line.startswith(b"* VANISHED (EARLIER) "):
            vanished |= expand(line.split()[-1])
    c.command("LOGOUT")
    if fetched != changed or not gone <= vanished:
        raise RuntimeError(f"reopen answered {len(fetched)} FETCH, {len(vanished)} VANISHED; "
                           f"expected {len(changed)} and {len(gone)}")
    return elapsed, size, len(fetched), len(vanished)


def plain_reopen(port):
    c = login(port)
    t0 = time.monotonic()
    size = c.command("SELECT INBOX") + c.command("UID FETCH 1:* (FLAGS)")
    elapsed = time.monotonic() - t0
    c.command("LOGOUT")
    return elapsed, size


def run(name, spool, work, start, args):
    root = os.path.join(work, name)
    shutil.copytree(spool, root, symlinks=True)
    port = interop_support.free_port()
    proc = start(root, port)
    try:
        fetch_bench.wait_port(port)
        validity, modseq, uids = full_sync(port)
        changed, gone = change_elsewhere(port, uids, args.changes, args.expunges)
        q_time, q_size, fetched, vanished = qresync_reopen(port, validity, modseq, uids, changed, gone)
        p_time, p_size = plain_reopen(port)
        print(f"{name:14} QRESYNC reopen {q_time * 1000:8.1f} ms {q_size:>11,} bytes "
              f"({fetched} FETCH, {vanished} UIDs VANISHED) | SELECT + UID FETCH 1:* (FLAGS) "
              f"{p_time * 1000:8.1f} ms {p_size:>11,} bytes", flush=True)
        return q_time, q_size
    finally:
        proc.terminate()
        proc.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--expunges", type=int, default=10)
    parser.add_argument("--imapd", default=os.path.join(HERE, "..", "..", ".build", "release", "imapd-maildir"))
    parser.add_argument("--no-dovecot", action="store_true")
    parser.add_argument("--no-imapd", action="store_true")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="qresync-bench.")
    try:
        spool = os.path.join(work, "spool")
        fetch_bench.generate(spool, args.count)
        print(f"{args.count} messages, {args.changes} changed elsewhere, {args.expunges} of them expunged",
              flush=True)

        imapd = fetch_bench.imapd_starter(args.imapd)
        ours = None if args.no_imapd else run("imapd-maildir", spool, work, imapd, args)
        if not args.no_dovecot:
            theirs = run("dovecot", spool, work, fetch_bench.dovecot_starter(work), args)
            if ours:
                print(f"ratio (Dovecot / imapd-maildir): time {theirs[0] / ours[0]:.2f}x, "
                      f"bytes {theirs[1] / ours[1]:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
