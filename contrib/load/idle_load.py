#!/usr/bin/env python3
"""Load test (issue 5): many IDLE sessions on loopback, deliveries into new/.

Starts the imapd-maildir binary over a fresh temporary spool (one user, --any-password,
loopback only), opens SESSIONS connections that LOGIN, SELECT INBOX and IDLE, then
delivers MESSAGES messages one after the other the way an MDA does (tmp/, then rename
into new/). For each delivery it waits until every session has seen the new
`* N EXISTS`, and records, per session, the time from the rename to that line.

Reports the server's RSS before and after the sessions were opened (per session), and
p50/p99/max of delivery -> EXISTS over all sessions and deliveries.

  contrib/load/idle_load.py [--sessions 2000] [--messages 1000] [--preload 0] [--compress] [--bin PATH]

--compress: every session sends COMPRESS DEFLATE after LOGIN (RFC 4978) and talks raw
deflate from then on (its IDLE updates are inflated here), to compare the memory of a
compressed IDLE session with a plain one (RSS and PSS, /proc/PID/smaps_rollup).

--preload N puts N messages into cur/ before the server starts, so every session selects
a folder of that size (memory per session grows with the selected folder).

Not a unit test: figures depend on the machine. Needs `ulimit -n` above 2 x SESSIONS
(the script raises its own soft limit; the server inherits it).
"""

import argparse
import os
import re
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXISTS_RE = re.compile(rb"^\* (\d+) EXISTS$")
LISTENING_RE = re.compile(rb"^imapd-maildir: listening on ([0-9.]+):(\d+)")
TIMEOUT = 120.0


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def read_until(s, marker: bytes, inflater=None) -> bytes:
    """Reads (inflating when compressed) until `marker` starts a line."""
    buf = b""
    while marker not in b"\r\n" + buf:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(f"a session closed during set-up: {buf[-200:]!r}")
        buf += inflater.decompress(chunk) if inflater else chunk
    return buf


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * (len(sorted_values) - 1)))))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--preload", type=int, default=0,
                    help="messages already in the folder when the sessions select it")
    ap.add_argument("--compress", action="store_true", help="COMPRESS DEFLATE after LOGIN")
    ap.add_argument("--bin", default=os.environ.get("IMAPD_BIN", os.path.join(REPO, ".build/debug/imapd-maildir")))
    args = ap.parse_args()

    want = 2 * args.sessions + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    work = tempfile.mkdtemp(prefix="imapd-load-")
    home = os.path.join(work, "alice")
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(home, d))
    for k in range(args.preload):
        with open(os.path.join(home, "cur", "1700000000.P%dQ%d.preload:2,S" % (os.getpid(), k)), "wb") as fh:
            fh.write(b"From: old@example.net\r\nSubject: old %d\r\n\r\nbody\r\n" % k)
    proc = subprocess.Popen(
        [args.bin, "--root", work, "--any-password", "--listen", "127.0.0.1:0", "--log-level", "warning",
         "--max-connections-per-address", str(args.sessions + 10), "--max-connections-per-user",
         str(args.sessions + 10), "--max-connections-per-user-address", str(args.sessions + 10),
         "--max-connections", str(args.sessions + 10)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline()
        m = LISTENING_RE.match(line)
        if not m:
            sys.exit(f"server did not start: {line!r}")
        port = int(m.group(2))
        rss_before = rss_kib(proc.pid)
        pss_before = pss_kib(proc.pid)

        sel = selectors.DefaultSelector()
        buffers = {}
        counts = {}
        inflaters = {}
        t_open = time.monotonic()
        for i in range(args.sessions):
            s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            inflater = None
            if args.compress:
                s.sendall(b"a LOGIN alice x\r\nz COMPRESS DEFLATE\r\n")
                read_until(s, b"\r\nz OK")
                deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
                inflater = zlib.decompressobj(-15)
                s.sendall(deflater.compress(b"b SELECT INBOX\r\nc IDLE\r\n") + deflater.flush(zlib.Z_SYNC_FLUSH))
                read_until(s, b"\r\n+ ", inflater)
            else:
                s.sendall(b"a LOGIN alice x\r\nb SELECT INBOX\r\nc IDLE\r\n")
                read_until(s, b"\r\n+ ")
            inflaters[s] = inflater
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            buffers[s] = b""
            counts[s] = args.preload
        t_opened = time.monotonic()
        rss_after = rss_kib(proc.pid)
        pss_after = pss_kib(proc.pid)

        latencies = []
        for k in range(1, args.messages + 1):
            name = "%d.M%dP%d.loadtest" % (int(time.time()), k, os.getpid())
            tmp = os.path.join(home, "tmp", name)
            with open(tmp, "wb") as fh:
                fh.write(b"From: load@example.net\r\nSubject: load %d\r\n\r\nbody\r\n" % k)
            t0 = time.monotonic()
            os.rename(tmp, os.path.join(home, "new", name))
            waiting = args.sessions
            deadline = t0 + TIMEOUT
            while waiting:
                if time.monotonic() > deadline:
                    sys.exit(f"delivery {k}: {waiting} sessions saw no EXISTS in {TIMEOUT}s")
                for key, _ in sel.select(timeout=1.0):
                    s = key.fileobj
                    data = s.recv(65536)
                    if not data:
                        sys.exit("a session was closed by the server")
                    now = time.monotonic()
                    if inflaters[s]:
                        data = inflaters[s].decompress(data)
                    buf = buffers[s] + data
                    *lines, buffers[s] = buf.split(b"\r\n")
                    for ln in lines:
                        em = EXISTS_RE.match(ln)
                        if em and int(em.group(1)) > counts[s]:
                            if counts[s] < args.preload + k <= int(em.group(1)):
                                latencies.append(now - t0)
                                waiting -= 1
                            counts[s] = int(em.group(1))
        t_done = time.monotonic()
        latencies.sort()
        n = args.sessions
        print(f"sessions: {n} IDLE on loopback{' COMPRESS=DEFLATE' if args.compress else ''}, "
              f"folder of {args.preload} messages "
              f"(opened in {t_opened - t_open:.1f}s)")
        print(f"server RSS: {rss_before} KiB before, {rss_after} KiB with the sessions: "
              f"{(rss_after - rss_before) / n:.1f} KiB per session")
        print(f"server PSS: {pss_before} KiB before, {pss_after} KiB with the sessions: "
              f"{(pss_after - pss_before) / n:.1f} KiB per session")
        print(f"deliveries: {args.messages} in {t_done - t_opened:.1f}s; {len(latencies)} EXISTS observed")
        print(f"delivery -> EXISTS: p50 {percentile(latencies, 50) * 1000:.1f} ms, "
              f"p99 {percentile(latencies, 99) * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
        rss_end = rss_kib(proc.pid)
        pss_end = pss_kib(proc.pid)
        print(f"server RSS at the end: {rss_end} KiB: {(rss_end - rss_before) / n:.1f} KiB per session "
              f"after the deliveries; PSS {pss_end} KiB: {(pss_end - pss_before) / n:.1f} KiB per session")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, True)


if __name__ == "__main__":
    main()
