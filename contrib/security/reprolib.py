"""Shared pieces of the issue-11 reproductions (repro.py): a server on a fresh spool, a
line-reading IMAP client and the one-line report. Python 3 standard library only."""
import functools
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PASSWORD = "repro-pass"


@functools.lru_cache(maxsize=None)
def usage(binary):
    """The binary's --help text, asked once per binary (every item starts servers)."""
    return subprocess.run([binary, "--help"], capture_output=True, text=True).stdout


def known_options(binary, args):
    """`args` without the options (each with its value) an older binary does not have,
    so the same reproduction runs against the build before a fix."""
    usage_text = usage(binary)
    kept, i = [], 0
    while i < len(args):
        if args[i].startswith("--") and args[i] not in usage_text:
            i += 2
            continue
        kept.append(args[i])
        i += 1
    return kept


class Server:
    """The binary on a fresh spool; `users` get PASSWORD (SHA512-CRYPT, or yescrypt
    for the names in `yescrypt`)."""

    def __init__(self, binary, users=("alice", "bob"), yescrypt=(), args=(), make_maildirs=True):
        self.dir = tempfile.mkdtemp(prefix="imapd-repro-")
        self.root = os.path.join(self.dir, "spool")
        os.mkdir(self.root)
        lines = []
        for user in users:
            scheme = "YESCRYPT" if user in yescrypt else "SHA512-CRYPT"
            hashed = subprocess.run([binary, "passwd", "--scheme", scheme], input=PASSWORD + "\n",
                                    capture_output=True, text=True, check=True).stdout.strip()
            lines.append(f"{user}:{hashed}")
            if make_maildirs:
                for sub in ("cur", "new", "tmp"):
                    os.makedirs(os.path.join(self.root, user, sub))
        self.passwd = os.path.join(self.dir, "passwd")
        with open(self.passwd, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log_path = os.path.join(self.dir, "server.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "--root", self.root, "--passwd", self.passwd, "--listen", "127.0.0.1:0",
             *known_options(binary, args)],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.port = None
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line or "")
            if m:
                self.port = int(m.group(1))
                break
            if not line and self.proc.poll() is not None:
                break
        if self.port is None:
            raise RuntimeError("server did not start: " + open(self.log_path).read()[-2000:])
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def status(self, field):
        """A /proc/<pid>/status figure in KiB (VmRSS, VmHWM)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Client:
    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def until(self, tag):
        """Lines up to and including the tagged one (literals are read as lines)."""
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + " "):
                return lines

    def login(self, user="alice", tag="L"):
        self.send(f"{tag} LOGIN {user} {PASSWORD}\r\n")
        return self.until(tag)[-1]

    def closed_within(self, seconds):
        self.sock.settimeout(seconds)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def greet(port, timeout=30):
    c = Client(port, timeout)
    c.line()
    return c


def report(item, what, outcome, ok):
    print(f"{item:>3}  {'OK  ' if ok else 'FAIL'}  {what}: {outcome}", flush=True)
    return ok


def message(size, subject="big"):
    body = ("x" * 75 + "\r\n") * (size // 77 + 1)
    return (f"From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@repro>\r\n\r\n{body}").encode()
