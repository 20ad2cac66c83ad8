#!/usr/bin/env python3
"""Times `UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE)` on a generated
folder, against imapd-maildir and Dovecot side by side (issue 3, a benchmark, not a test).

For each server: a fresh copy of the generated spool, the server started, then two
sessions one after the other: "cold" (first FETCH after start, nothing cached; the
server also assigns UIDs on the first SELECT, which is timed separately) and "warm"
(a second session, same FETCH). The page cache is warm for both servers alike.

Usage: contrib/bench/fetch-bench.py [--count 100000] [--imapd PATH] [--no-dovecot] [--imapd-arg ARG]…
(a release build gives meaningful numbers: swift build -c release).
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "contrib", "interop"))
import interop_support  # noqa: E402  (free_port, dovecot_config, dovecot_own_tree)

USER, PASSWORD = "alice", "alice-demo"
FETCH = "UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE)"


def message(i):
    return (
        f"From: Sender {i} <s{i}@example.org>\nTo: r@example.org\nSubject: message {i}\n"
        f"Date: Mon, 2 Oct 2023 10:00:00 +0000\nMessage-ID: <{i}@example.org>\nMIME-Version: 1.0\n"
        f"Content-Type: multipart/alternative; boundary=b{i}\n\n--b{i}\nContent-Type: text/plain\n\n"
        f"body {i}\n--b{i}\nContent-Type: text/html\n\n<p>body {i}</p>\n--b{i}--\n"
    ).encode()


def generate(root, count):
    home = os.path.join(root, USER)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(home, sub), exist_ok=True)
    for i in range(count):
        with open(os.path.join(home, "cur", f"{1_600_000_000 + i}.M{i}P1.bench:2,S"), "wb") as fh:
            fh.write(message(i))


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=600)
        self.file = self.sock.makefile("rb")
        self.n = 0
        self.file.readline()

    def command(self, text):
        """Sends a command, reads to its tagged reply; returns the bytes received."""
        self.n += 1
        tag = b"b%d " % self.n
        self.sock.sendall(tag + text.encode() + b"\r\n")
        received = 0
        while True:
            line = self.file.readline()
            if not line:
                raise EOFError(text)
            received += len(line)
            if line.endswith(b"}\r\n"):
                size = int(line[line.rindex(b"{") + 1:-3])
                received += len(self.file.read(size))
                continue
            if line.startswith(tag):
                assert line[len(tag):].startswith(b"OK"), line
                return received


def session(port, label):
    c = Client(port)
    c.command(f"LOGIN {USER} {PASSWORD}")
    t0 = time.monotonic()
    c.command("EXAMINE INBOX")
    t1 = time.monotonic()
    size = c.command(FETCH)
    t2 = time.monotonic()
    c.command("LOGOUT")
    print(f"  {label}: EXAMINE {t1 - t0:7.2f} s, FETCH {t2 - t1:7.2f} s ({size / 1e6:.1f} MB)", flush=True)


def wait_port(port):
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def run(name, spool, work, start):
    root = os.path.join(work, name)
    shutil.copytree(spool, root, symlinks=True)
    port = interop_support.free_port()
    proc = start(root, port)
    try:
        wait_port(port)
        print(name, flush=True)
        session(port, "cold")
        session(port, "warm")
    finally:
        proc.terminate()
        proc.wait()


def imapd_starter(binary, extra_args=()):
    """start(root, port) for imapd-maildir (also used by qresync-bench.py)."""
    def start(root, port):
        return subprocess.Popen(
            [binary, "--root", root, "--passwd", interop_support.PASSWD, "--listen", f"127.0.0.1:{port}",
             "--log-level", "error", *extra_args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return start


def dovecot_starter(work):
    """start(root, port) for a private Dovecot (also used by qresync-bench.py)."""
    def start(root, port):
        run_dir = os.path.join(work, "dovecot-run")
        conf = interop_support.dovecot_config(run_dir, root, port)
        interop_support.dovecot_own_tree(run_dir, root)
        return subprocess.Popen([interop_support.dovecot_binary(), "-F", "-c", conf],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--imapd", default=os.path.join(REPO, ".build", "release", "imapd-maildir"))
    parser.add_argument("--no-dovecot", action="store_true")
    parser.add_argument("--imapd-arg", action="append", default=[],
                        help="extra imapd-maildir argument, e.g. --imapd-arg=--message-cache-size=0 "
                             "(the parsed-message cache off: every FETCH parses again)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="fetch-bench.")
    try:
        spool = os.path.join(work, "spool")
        t0 = time.monotonic()
        generate(spool, args.count)
        print(f"generated {args.count} messages in {time.monotonic() - t0:.1f} s", flush=True)

        run("imapd-maildir", spool, work, imapd_starter(args.imapd, args.imapd_arg))
        if not args.no_dovecot:
            run("dovecot", spool, work, dovecot_starter(work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
