"""Shared machinery of the interop tests (Python 3 standard library only).

- `Server` starts the server under test on a loopback port over a private copy of
  Examples/maildirs and stops it again:
    IMAPD_TARGET=imapd (default): the real imapd-maildir binary (IMAPD_BIN, default
      .build/debug/imapd-maildir in the repository), `--listen 127.0.0.1:0`; the port is
      read from its `imapd-maildir: listening on 127.0.0.1:PORT` line on stdout.
    IMAPD_TARGET=dovecot: a private Dovecot 2.3 (dovecot.conf.in) over the same copy,
      to check the tests themselves against a proven server, or to compare behaviour.
- `ServerTestCase` gives every test a fresh copy and a fresh server.
- `parse_items` / `parse_fetch` / `parse_list` turn imaplib's raw answers into Python
  values; `RawClient` speaks IMAP over a bare socket for the bad-input tests.
- `python3 interop_support.py dovecot-config ...` writes a Dovecot configuration
  (used by record-dovecot-uidlist.sh, so both use the same one).

No test is ever skipped because a tool is missing: a missing binary is a failure with
a message that says what to install.
"""

import grp
import hashlib
import imaplib
import os
import pwd
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXAMPLES = os.path.join(REPO, "Examples", "maildirs")
PASSWD = os.path.join(REPO, "Examples", "passwd")
DOVECOT_TEMPLATE = os.path.join(HERE, "dovecot.conf.in")

TARGET = os.environ.get("IMAPD_TARGET", "imapd")
USERS = {"alice": "alice-demo", "bob": "bob-demo"}
# alice's folders as an IMAP4rev1 client names them (modified UTF-7, "/" delimiter),
# with their message counts in Examples/maildirs.
ALICE_FOLDERS = {
    "INBOX": 12, "Sent": 2, "Drafts": 1, "Trash": 1, "Archive": 1, "Archive/2024": 2,
    "Entw&APw-rfe": 1,
}
HOST = "127.0.0.1"
MAIL_USER_WHEN_ROOT = "nobody"

# imaplib has no ID method (RFC 2971); tests send it with _simple_command.
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))

# Deadlines. They bound how long a broken server can hang a test; they are never
# used to wait for something to happen (every wait below ends on an event).
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
IO_TIMEOUT = 30.0

LISTENING_RE = re.compile(rb"^imapd-maildir: listening on ([0-9.]+|\[[0-9a-fA-F:.]+\]):(\d+)\s*$")

# Maildir flag letters (file name info "2,<letters>") and their IMAP system flags.
FLAG_LETTERS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}
LETTER_OF_FLAG = {v.lower(): k for k, v in FLAG_LETTERS.items()}
INFO_SEPARATOR = ":2,"


def fail_setup(message: str) -> None:
    """Raise a failure (not a skip) from anywhere, including setUp."""
    raise AssertionError(message)


# --------------------------------------------------------------------------------------
# The fixture on disk
# --------------------------------------------------------------------------------------


def base_name(file_name: str) -> str:
    """The message's identity: everything before the last ':' (MAILDIR-FORMATS.md)."""
    return file_name.rsplit(":", 1)[0] if ":" in file_name else file_name


def info_letters(file_name: str) -> str:
    """The flag letters of a file name ("" for new/ files or an empty info)."""
    if ":" not in file_name:
        return ""
    info = file_name.rsplit(":", 1)[1]
    if not info.startswith("2,"):
        return ""
    return info[2:].split(",", 1)[0]


def name_field(file_name: str, key: str):
    """`,S=` / `,W=` values from a file's base name, or None."""
    m = re.search(r",%s=(\d+)(?=[,:]|$)" % re.escape(key), base_name(file_name))
    return int(m.group(1)) if m else None


def crlf(data: bytes) -> bytes:
    """The wire form of a stored message: every bare LF becomes CRLF."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def internal_date_of(file_name: str) -> int:
    """The fixture's INTERNALDATE: the leading seconds of the file name."""
    return int(file_name.split(".", 1)[0])


def copy_fixture(dest: str) -> str:
    """Copy Examples/maildirs to dest and give every message file its INTERNALDATE.

    git does not keep mtimes, and a message's mtime is its INTERNALDATE, so the copy
    sets each message file's mtime to the leading seconds of its name.
    """
    shutil.copytree(EXAMPLES, dest, symlinks=True)
    for dirpath, _dirs, files in os.walk(dest):
        if os.path.basename(dirpath) not in ("cur", "new"):
            continue
        for f in files:
            if f.startswith("."):
                continue
            secs = internal_date_of(f)
            os.utime(os.path.join(dirpath, f), (secs, secs))
    return dest


def folder_dir(root: str, user: str, folder: str) -> str:
    """Directory of a folder given by its wire name ("INBOX", "Archive/2024")."""
    home = os.path.join(root, user)
    if folder.upper() == "INBOX":
        return home
    return os.path.join(home, "." + folder.replace("/", "."))


def message_files(root: str, user: str, folder: str = "INBOX"):
    """{base name: (subdir, file name)} of the messages in a folder."""
    out = {}
    d = folder_dir(root, user, folder)
    for sub in ("new", "cur"):
        p = os.path.join(d, sub)
        if not os.path.isdir(p):
            continue
        for f in sorted(os.listdir(p)):
            if not f.startswith("."):
                out[base_name(f)] = (sub, f)
    return out


def read_message(root: str, user: str, folder: str, base: str) -> bytes:
    sub, f = message_files(root, user, folder)[base]
    with open(os.path.join(folder_dir(root, user, folder), sub, f), "rb") as fh:
        return fh.read()


def read_uidlist(path: str):
    """Parse a dovecot-uidlist v3: ({header key: value}, [(uid, base name)])."""
    with open(path, "rb") as fh:
        lines = fh.read().decode("utf-8", "surrogateescape").split("\n")
    fields = lines[0].split(" ")
    if fields[0] != "3":
        fail_setup(f"{path}: expected a version 3 uidlist, got {lines[0]!r}")
    header = {f[0]: f[1:] for f in fields[1:] if f}
    records = []
    for line in lines[1:]:
        if not line:
            continue
        head, _, name = line.partition(":")
        uid = int(head.split(" ", 1)[0])
        records.append((uid, base_name(name)))
    return header, records


def uidlist_path(root: str, user: str, folder: str) -> str:
    return os.path.join(folder_dir(root, user, folder), "dovecot-uidlist")


def folder_uids(root: str, user: str, folder: str = "INBOX"):
    """[(uid, base name)] of the messages present, in UID order, per the uidlist."""
    _header, records = read_uidlist(uidlist_path(root, user, folder))
    present = message_files(root, user, folder)
    return [(uid, b) for uid, b in records if b in present]


def tree_digest(root: str, live_uidlists: bool = False):
    """{relative path: sha256 of content (or "<dir>")} of every file and directory.

    live_uidlists: a dovecot-uidlist is digested by what it says about the messages
    there (uidlist_digest), not by its bytes: the server may compact it on its own
    schedule (drop the records of files gone, rewrite the header), which is legal and
    changes nothing a client sees."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        out[rel + "/"] = "<dir>"
        for f in files:
            p = os.path.join(dirpath, f)
            if live_uidlists and f == "dovecot-uidlist":
                out[os.path.join(rel, f)] = uidlist_digest(p)
                continue
            with open(p, "rb") as fh:
                out[os.path.join(rel, f)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def uidlist_digest(path: str) -> str:
    """A dovecot-uidlist as its header's V (UIDVALIDITY), its next UID, and the records
    (UID, base name) of the messages whose files are in cur/ or new/ beside it: a new
    UID, a renumbered message or a changed UIDVALIDITY/UIDNEXT show; the records of
    expunged files, which compaction drops whenever it runs, do not. (Flags live in the
    file names, which tree_digest digests anyway.)

    The next UID is the larger of the header's N and the highest record's UID + 1:
    Dovecot appends records without rewriting the header, so its N may lag (the
    fixture's .Trash says N1 above a record with UID 1), and a compaction writes the
    effective value (N2)."""
    folder = os.path.dirname(path)
    present = set()
    for sub in ("cur", "new"):
        try:
            present.update(name.split(":", 1)[0] for name in os.listdir(os.path.join(folder, sub)))
        except FileNotFoundError:
            pass
    with open(path, "rb") as fh:
        lines = fh.read().decode("utf-8", "replace").splitlines()
    header = (lines[0].split() if lines else [])[1:]
    validity = [field for field in header if field.startswith("V")]
    next_uid = max([int(field[1:]) for field in header if field[:1] == "N" and field[1:].isdigit()] or [0])
    records = []
    for line in lines[1:]:
        # Version 3 records: "<uid> [<key><value> ...] :<base name>".
        fields, colon, name = line.partition(" :")
        uid = fields.split(" ", 1)[0]
        if uid.isdigit():
            next_uid = max(next_uid, int(uid) + 1)
        base = name.split(":", 1)[0]
        if colon and base in present:
            records.append((uid, base))
    text = repr((validity, next_uid, sorted(records))).encode()
    return "uidlist " + hashlib.sha256(text).hexdigest()


def deliver(root: str, user: str, folder: str, data: bytes, secs: int, usecs: int) -> str:
    """Deliver like an MDA: write tmp/<unique>, fsync, rename into new/. Returns the name."""
    d = folder_dir(root, user, folder)
    name = f"{secs}.M{usecs}P{os.getpid()}.interop,S={len(data)},W={len(crlf(data))}"
    tmp = os.path.join(d, "tmp", name)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.utime(tmp, (secs, secs))
    os.rename(tmp, os.path.join(d, "new", name))
    return name


# --------------------------------------------------------------------------------------
# The server under test
# --------------------------------------------------------------------------------------


def file_signature(path: str):
    """(inode, mtime in ns, size) of a file, None when it is missing."""
    try:
        st = os.stat(path)
        return st.st_ino, st.st_mtime_ns, st.st_size
    except FileNotFoundError:
        return None


def imapd_binary() -> str:
    path = os.environ.get("IMAPD_BIN", os.path.join(".build", "debug", "imapd-maildir"))
    if not os.path.isabs(path):
        path = os.path.join(REPO, path)
    if not os.access(path, os.X_OK):
        fail_setup(
            f"imapd-maildir binary not found at {path}: run `swift build` in {REPO} "
            "or set IMAPD_BIN (or IMAPD_TARGET=dovecot to test the tests)")
    return path


def dovecot_binary() -> str:
    for cand in (shutil.which("dovecot"), "/usr/sbin/dovecot"):
        if cand and os.access(cand, os.X_OK):
            return cand
    fail_setup("IMAPD_TARGET=dovecot needs Dovecot: apt-get install dovecot-imapd")
    return ""


def free_port() -> int:
    """A currently free loopback port (Dovecot cannot listen on port 0 and say which)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def dovecot_config(run_dir: str, root: str, port: int, passwd: str = PASSWD) -> str:
    """Write <run_dir>/dovecot.conf from dovecot.conf.in and return its path."""
    os.makedirs(run_dir, exist_ok=True)
    uid, gid = os.getuid(), os.getgid()
    user = pwd.getpwuid(uid).pw_name
    group = grp.getgrgid(gid).gr_name
    if uid == 0:
        # Dovecot refuses root for its internal and login processes (the Debian package
        # creates these two users) and refuses uid 0 for mail access: as root, mail is
        # accessed as "nobody", and the caller hands the tree over (dovecot_own_tree).
        internal_user, internal_group, login_user = "dovecot", "dovecot", "dovenull"
        nobody = pwd.getpwnam(MAIL_USER_WHEN_ROOT)
        uid, gid = nobody.pw_uid, nobody.pw_gid
    else:
        internal_user, internal_group, login_user = user, group, user
    values = {
        "RUN": run_dir, "ROOT": os.path.abspath(root), "PORT": str(port),
        "PASSWD": os.path.abspath(passwd), "UID": str(uid), "GID": str(gid),
        "INTERNAL_USER": internal_user, "INTERNAL_GROUP": internal_group,
        "LOGIN_USER": login_user,
    }
    with open(DOVECOT_TEMPLATE) as fh:
        text = fh.read()
    for k, v in values.items():
        text = text.replace("@" + k + "@", v)
    path = os.path.join(run_dir, "dovecot.conf")
    with open(path, "w") as fh:
        fh.write(text)
    if uid == 0:
        # The unprivileged login/auth processes must reach the run directory.
        os.chmod(run_dir, 0o755)
    return path


def dovecot_own_tree(run_dir: str, root: str) -> None:
    """As root, let Dovecot's mail user own the copy it serves (see dovecot_config)."""
    index = os.path.join(run_dir, "index")
    os.makedirs(index, exist_ok=True)
    if os.getuid() != 0:
        return
    nobody = pwd.getpwnam(MAIL_USER_WHEN_ROOT)
    os.chown(index, nobody.pw_uid, nobody.pw_gid)
    # Every directory above the tree must be searchable by that user.
    d = os.path.abspath(root)
    while d != "/":
        d = os.path.dirname(d)
        mode = os.stat(d).st_mode
        if not mode & 0o001:
            os.chmod(d, mode | 0o005)
    for dirpath, dirs, files in os.walk(root):
        os.chown(dirpath, nobody.pw_uid, nobody.pw_gid)
        for f in files:
            os.chown(os.path.join(dirpath, f), nobody.pw_uid, nobody.pw_gid)


def wait_for_greeting(proc: subprocess.Popen, port: int, fail) -> None:
    """Waits until a server that prints nothing when ready (Dovecot, nginx) greets
    with `* OK` on `port`. Calls `fail(reason)` (which must raise) when `proc` exits
    first or START_TIMEOUT passes."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            fail("exited during start-up")
        try:
            with socket.create_connection((HOST, port), timeout=IO_TIMEOUT) as s:
                if s.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            fail("did not greet in time")
        time.sleep(0.05)  # readiness probe interval, not synchronisation with a test


def _die_with_parent() -> None:
    """preexec_fn: SIGTERM the server if the test process dies (no orphaned servers)."""
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class Server:
    """One server process serving `root` on 127.0.0.1."""

    def __init__(self, root: str, work_dir: str, target: str = TARGET, extra_args=(), passwd: str = PASSWD):
        if target not in ("imapd", "dovecot"):
            fail_setup(f"IMAPD_TARGET must be imapd or dovecot, not {target!r}")
        self.root = root
        self.work_dir = work_dir
        self.target = target
        self.extra_args = list(extra_args)
        self.passwd = passwd
        self.proc = None
        self.port = None
        self.log_path = os.path.join(work_dir, f"{target}.log")
        self.exit_codes = []

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> "Server":
        if self.target == "imapd":
            self._start_imapd()
        else:
            self._start_dovecot()
        return self

    def _env(self):
        env = dict(os.environ)
        env["TZ"] = "UTC"  # INTERNALDATE days in SEARCH are the same on every machine
        return env

    def _start_imapd(self) -> None:
        cmd = [imapd_binary(), "--root", self.root, "--passwd", self.passwd,
               "--listen", f"{HOST}:0", "--log-level", "debug"] + self.extra_args
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=log, env=self._env(), preexec_fn=_die_with_parent)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        buf = b""
        fd = self.proc.stdout.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._abort("no 'imapd-maildir: listening on' line on stdout in time")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                self._abort("exited (or closed stdout) before announcing its port")
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                m = LISTENING_RE.match(line)
                if m:
                    self.port = int(m.group(2))
                    self._drain_stdout(buf)
                    return
                self._abort(f"unexpected line on stdout: {line!r}")

    def _drain_stdout(self, pending: bytes) -> None:
        """Keep reading stdout into the log so a chatty server never blocks on a full pipe."""
        stream, log_path = self.proc.stdout, self.log_path

        def drain():
            with open(log_path, "ab") as log:
                if pending:
                    log.write(b"[stdout] " + pending)
                for line in iter(stream.readline, b""):
                    log.write(b"[stdout] " + line)
                    log.flush()

        threading.Thread(target=drain, daemon=True).start()

    def _start_dovecot(self) -> None:
        binary = dovecot_binary()
        run_dir = os.path.join(self.work_dir, "dovecot")
        self.port = free_port()
        conf = dovecot_config(run_dir, self.root, self.port)
        dovecot_own_tree(run_dir, self.root)
        self.log_path = os.path.join(run_dir, "dovecot.log")
        self.proc = subprocess.Popen([binary, "-F", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     env=self._env(), preexec_fn=_die_with_parent)
        # Dovecot prints nothing when ready: the greeting on the port is the signal.
        wait_for_greeting(self.proc, self.port, lambda reason: self._abort("dovecot " + reason))

    def stop(self) -> int:
        """SIGTERM, wait, return the exit status (also kept in exit_codes)."""
        if self.proc is None:
            return 0
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = "did not stop within %ss of SIGTERM" % STOP_TIMEOUT
        self.exit_codes.append(code)
        return code

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        """SIGKILL (a crash: nothing written at exit), wait for it to be gone."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()

    def kill_while_writing(self, path: str) -> None:
        """SIGKILL as soon as the server starts replacing `path` (its `.tmp` appears or
        the file changes), or once it has exited by itself; never later than 30 s."""
        before = file_signature(path)
        deadline = time.monotonic() + 30
        while (
            not os.path.exists(path + ".tmp")
            and file_signature(path) == before
            and time.monotonic() < deadline
            and self.proc is not None
            and self.proc.poll() is None
        ):
            pass
        self.kill()

    def _abort(self, why: str) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            if self.proc.stdout:
                self.proc.stdout.close()
            self.proc = None
        fail_setup(f"{self.target} server: {why}\n--- log tail ---\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                return b"\n".join(fh.read().splitlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    # -- clients ----------------------------------------------------------------------

    def imap(self) -> imaplib.IMAP4:
        return imaplib.IMAP4(HOST, self.port, timeout=IO_TIMEOUT)

    def login(self, user: str = "alice") -> imaplib.IMAP4:
        c = self.imap()
        c.login(user, USERS[user])
        return c


class ServerTestCase(unittest.TestCase):
    """A fresh copy of Examples/maildirs and a fresh server for every test."""

    maxDiff = None
    server_args = ()

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="imapd-interop-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.root = copy_fixture(os.path.join(self.work, "maildirs"))
        self.server = Server(self.root, self.work, extra_args=self.server_args)
        self.addCleanup(self._stop_server)
        self.server.start()
        self.clients = []

    def _stop_server(self):
        for c in getattr(self, "clients", []):
            try:
                c.shutdown()
            except Exception:
                pass
        self.server.stop()

    def login(self, user: str = "alice") -> imaplib.IMAP4:
        c = self.server.login(user)
        self.clients.append(c)
        return c

    def connect(self) -> imaplib.IMAP4:
        c = self.server.imap()
        self.clients.append(c)
        return c

    def files(self, folder: str = "INBOX", user: str = "alice"):
        return message_files(self.root, user, folder)

    def uid_map(self, folder: str = "INBOX", user: str = "alice"):
        """[(uid, base)] in UID order = sequence order right after SELECT."""
        return folder_uids(self.root, user, folder)

    def flags_on_disk(self, base: str, folder: str = "INBOX", user: str = "alice") -> str:
        sub, f = self.files(folder, user)[base]
        return info_letters(f)

    def is_rev2(self, client: imaplib.IMAP4) -> bool:
        return "IMAP4REV2" in capabilities(client)

    def assertOK(self, result, what=""):
        typ, data = result
        self.assertEqual(typ, "OK", f"{what}: {data!r}\n--- server log ---\n{self.server.log_tail()}")
        return data


def quote(name: str) -> str:
    """A mailbox name as an IMAP quoted string (imaplib sends arguments as given)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def capabilities(client: imaplib.IMAP4):
    typ, data = client.capability()
    if typ != "OK":
        fail_setup(f"CAPABILITY failed: {data!r}")
    return set(data[0].decode().upper().split())


# --------------------------------------------------------------------------------------
# Parsing what imaplib returns
# --------------------------------------------------------------------------------------


class NIL_TYPE:
    def __repr__(self):
        return "NIL"


class ParseError(ValueError):
    pass


def flatten(data) -> bytes:
    """imaplib's [bytes | (head ending in {n}, literal)] list as one byte stream.

    Each literal keeps its `{n}\\r\\n` prefix so the parser reads exactly n bytes; other
    item boundaries become CRLF, which the parser treats as white space.
    """
    out = bytearray()
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):
            out += item[0] + b"\r\n" + item[1]
        else:
            out += item + b"\r\n"
    return bytes(out)


class Parser:
    """Parses IMAP data: atoms, numbers, quoted strings, literals, NIL, lists.

    Atoms may contain a bracketed section (`BODY[HEADER.FIELDS (A B)]<0>`), kept whole.
    Strings come back as bytes, atoms as str, numbers as int, NIL as None, lists as list.
    """

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def at_end(self) -> bool:
        self.skip_space()
        return self.pos >= len(self.data)

    def skip_space(self):
        while self.pos < len(self.data) and self.data[self.pos] in b" \r\n":
            self.pos += 1

    def value(self):
        self.skip_space()
        if self.pos >= len(self.data):
            raise ParseError("unexpected end")
        c = self.data[self.pos:self.pos + 1]
        if c == b"(":
            self.pos += 1
            items = []
            while True:
                self.skip_space()
                if self.pos >= len(self.data):
                    raise ParseError("unterminated list")
                if self.data[self.pos:self.pos + 1] == b")":
                    self.pos += 1
                    return items
                items.append(self.value())
        if c == b'"':
            self.pos += 1
            out = bytearray()
            while True:
                if self.pos >= len(self.data):
                    raise ParseError("unterminated quoted string")
                ch = self.data[self.pos]
                self.pos += 1
                if ch == 0x5C:  # backslash
                    out.append(self.data[self.pos])
                    self.pos += 1
                elif ch == 0x22:
                    return bytes(out)
                else:
                    out.append(ch)
        if c in (b"{", b"~"):
            m = re.compile(rb"~?\{(\d+)\+?\}\r\n").match(self.data, self.pos)
            if not m:
                raise ParseError(f"bad literal at {self.data[self.pos:self.pos + 20]!r}")
            n = int(m.group(1))
            start = m.end()
            if start + n > len(self.data):
                raise ParseError("short literal")
            self.pos = start + n
            return self.data[start:start + n]
        return self.atom()

    def atom(self):
        start = self.pos
        depth = 0
        while self.pos < len(self.data):
            ch = self.data[self.pos:self.pos + 1]
            if ch == b"[":
                depth += 1
            elif ch == b"]":
                depth -= 1
            elif depth == 0 and ch in b" ()\r\n":
                break
            self.pos += 1
        text = self.data[start:self.pos].decode("utf-8", "surrogateescape")
        if not text:
            raise ParseError(f"empty atom at {self.data[start:start + 20]!r}")
        if text.upper() == "NIL":
            return None
        if text.isdigit():
            return int(text)
        return text


def parse_items(data):
    """All top-level values of imaplib data, flattened."""
    p = Parser(flatten(data))
    out = []
    while not p.at_end():
        out.append(p.value())
    return out


def parse_fetch(data):
    """imaplib FETCH data -> [(sequence number, {ITEM NAME: value})] in order.

    Item names are upper-cased; `BODY.PEEK[...]` answers arrive as `BODY[...]`.
    """
    values = parse_items(data)
    out = []
    i = 0
    while i < len(values):
        seq = values[i]
        if not isinstance(seq, int) or i + 1 >= len(values):
            raise ParseError(f"not a FETCH response: {values[i:i + 2]!r}")
        items = values[i + 1]
        if isinstance(items, str) and items.upper() == "FETCH":
            i += 1
            items = values[i + 1]
        if not isinstance(items, list) or len(items) % 2:
            raise ParseError(f"bad FETCH item list: {items!r}")
        d = {}
        for k, v in zip(items[0::2], items[1::2]):
            d[str(k).upper()] = v
        out.append((seq, d))
        i += 2
    return out


def fetch_by_seq(data):
    """parse_fetch merged per sequence number (a server may split one message's items)."""
    merged = {}
    for seq, d in parse_fetch(data):
        merged.setdefault(seq, {}).update(d)
    return merged


def parse_list(data):
    """imaplib LIST/LSUB data -> [(flags set (lower-case), delimiter str|None, name bytes)]."""
    out = []
    for item in data:
        if item is None:
            continue
        vals = parse_items([item])
        if len(vals) != 3:
            raise ParseError(f"bad LIST response: {item!r}")
        flags, delim, name = vals
        if isinstance(name, str):
            name = name.encode("utf-8", "surrogateescape")
        if isinstance(name, int):
            name = str(name).encode()
        d = delim.decode() if isinstance(delim, bytes) else delim
        out.append(({f.lower() for f in flags}, d, name))
    return out


def decode_flags(value):
    """A FLAGS list -> set of flags, system flags lower-cased, keywords as sent."""
    return {f.lower() if f.startswith("\\") else f for f in value}


def letters_to_flags(letters: str, keywords: dict):
    """File-name letters -> set of IMAP flags (system flags lower-cased)."""
    out = set()
    for ch in letters:
        if ch in FLAG_LETTERS:
            out.add(FLAG_LETTERS[ch].lower())
        elif "a" <= ch <= "z":
            name = keywords.get(ord(ch) - ord("a"))
            if name:
                out.add(name)
    return out


def read_keywords(root: str, user: str, folder: str = "INBOX"):
    path = os.path.join(folder_dir(root, user, folder), "dovecot-keywords")
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as fh:
        for line in fh:
            parts = line.rstrip("\n").split(" ", 1)
            if len(parts) == 2 and parts[0].isdigit():
                out[int(parts[0])] = parts[1]
    return out


def untagged(client: imaplib.IMAP4, name: str):
    """Take (and clear) the untagged responses of one kind imaplib has collected."""
    return client.untagged_responses.pop(name.upper(), [])


def simulate_expunges(uids, expunge_seqs):
    """Apply '* n EXPUNGE' responses in order to a UID list; return (left, removed)."""
    left = list(uids)
    removed = []
    for n in expunge_seqs:
        n = int(n)
        if not 1 <= n <= len(left):
            raise AssertionError(f"EXPUNGE {n} out of range 1..{len(left)}")
        removed.append(left.pop(n - 1))
    return left, removed


# --------------------------------------------------------------------------------------
# A raw socket client for bad input
# --------------------------------------------------------------------------------------


class RawClient:
    def __init__(self, port: int, timeout: float = IO_TIMEOUT):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.buf = b""
        self.closed = False
        self.greeting = self.line()

    def send(self, data: bytes) -> bool:
        """Send; False when the server has already closed the connection."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.closed = True
            return False

    def line(self):
        """The next CRLF-terminated line, or None at EOF."""
        while b"\r\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.closed = True
                if self.buf:
                    rest, self.buf = self.buf, b""
                    return rest
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def until_tagged(self, tag: bytes):
        """Lines up to and including the tagged response (or BYE/EOF): (lines, last)."""
        lines = []
        while True:
            ln = self.line()
            if ln is None:
                return lines, None
            lines.append(ln)
            if ln.startswith(tag + b" ") or ln.startswith(b"* BYE"):
                if ln.startswith(b"* BYE"):
                    # After BYE the server closes; read the rest (maybe a tagged line).
                    while True:
                        nxt = self.line()
                        if nxt is None:
                            break
                        lines.append(nxt)
                        if nxt.startswith(tag + b" "):
                            break
                    return lines, ln
                return lines, ln

    def command(self, tag: bytes, text: bytes):
        self.send(tag + b" " + text + b"\r\n")
        return self.until_tagged(tag)

    def drain_to_eof(self, limit: int = 1 << 20) -> bool:
        """Read until EOF (True) or `limit` bytes (False)."""
        got = len(self.buf)
        self.buf = b""
        while got < limit:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return True
            except socket.timeout:
                return False
            if not chunk:
                self.closed = True
                return True
            got += len(chunk)
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------------------
# Command line: helpers for record-dovecot-uidlist.sh
# --------------------------------------------------------------------------------------


class ChangingFolderCase(ServerTestCase):
    """What the concurrency tests of this server's caches share: numbered messages
    delivered into alice's INBOX (`message(i)`), readers sending random `COMMANDS` for
    `ROUNDS` rounds while a writer delivers, flags and expunges, and every answer
    checked by `check` (failures collected in `self.failures`)."""

    COMMANDS = ()
    ROUNDS = 60

    def message(self, i: int) -> bytes:
        raise NotImplementedError

    def check(self, r: "RawClient", tag: bytes, text: bytes):
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        self.inbox = folder_dir(self.root, "alice", "INBOX")
        self.delivered = 0
        self.failures = []

    def deliver_one(self):
        i = self.delivered
        deliver(self.root, "alice", "INBOX", self.message(i), 1_650_000_000 + i, i)
        self.delivered += 1

    def session(self) -> "RawClient":
        r = RawClient(self.server.port)
        for tag, text in ((b"l", b"LOGIN alice alice-demo"), (b"s", b"SELECT INBOX")):
            _, last = r.command(tag, text)
            assert last is not None and last.startswith(tag + b" OK"), last
        return r

    def reader(self, seed: int):
        rng = random.Random(seed)
        r = self.session()
        try:
            for n in range(self.ROUNDS):
                self.check(r, b"r%d" % n, rng.choice(self.COMMANDS))
        finally:
            r.close()

    def writer(self, stop: threading.Event):
        rng = random.Random(7)
        r = self.session()
        try:
            n = 0
            while not stop.is_set():
                n += 1
                action = n % 3
                if action == 0:
                    self.deliver_one()
                    self.check(r, b"n%d" % n, b"NOOP")
                elif action == 1:
                    low = rng.randrange(1, self.delivered)
                    self.check(r, b"f%d" % n, b"UID STORE %d:%d +FLAGS.SILENT (\\Seen)" % (low, low + 20))
                else:
                    low = rng.randrange(1, self.delivered)
                    self.check(r, b"d%d" % n, b"UID STORE %d:%d +FLAGS.SILENT (\\Deleted)" % (low, low + 3))
                    self.check(r, b"e%d" % n, b"EXPUNGE")
        finally:
            r.close()

    def expunge_all_but_fifty(self, messages: int):
        """Of `messages` cached, all but the last 50 expunged: the cache files hold far
        more stale entries than a compaction tolerates."""
        r = self.session()
        self.check(r, b"d", b"UID STORE 1:%d +FLAGS.SILENT (\\Deleted)" % (messages - 50))
        self.check(r, b"e", b"EXPUNGE")
        r.close()

    def run_readers_and_writer(self, readers: int = 3):
        stop = threading.Event()
        writer = threading.Thread(target=self.writer, args=(stop,))
        threads = [threading.Thread(target=self.reader, args=(seed,)) for seed in range(readers)]
        writer.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        writer.join()

    def answers(self):
        r = self.session()
        try:
            return [self.check(r, b"a%d" % n, command) for n, command in enumerate(self.COMMANDS)]
        finally:
            r.close()


class CacheCrashCase(ServerTestCase):
    """What the crash tests of this server's cache files share: numbered messages
    delivered into alice's INBOX (`message(i)`), each of `COMMANDS`' answers in one
    session, and the check that a server's answers equal those of a server started
    without any of `CACHE_FILES` (the Maildir's truth)."""

    COMMANDS = ()
    CACHE_FILES = ()
    OPEN = b"SELECT INBOX"

    def message(self, i: int) -> bytes:
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        self.inbox = folder_dir(self.root, "alice", "INBOX")
        self.delivered = 0

    def deliver(self, count: int):
        for _ in range(count):
            i = self.delivered
            deliver(self.root, "alice", "INBOX", self.message(i), 1_650_000_000 + i, i)
            self.delivered += 1

    def ok(self, r: "RawClient", tag: bytes, text: bytes):
        lines, last = r.command(tag, text)
        self.assertTrue(last is not None and last.startswith(tag + b" OK"), (text, last))
        return lines

    def answers(self):
        r = RawClient(self.server.port)
        try:
            self.ok(r, b"l", b"LOGIN alice alice-demo")
            self.ok(r, b"s", self.OPEN)
            return [self.ok(r, b"c%d" % n, command) for n, command in enumerate(self.COMMANDS)]
        finally:
            r.close()

    def remove_cache_files(self):
        for name in self.CACHE_FILES:
            path = os.path.join(self.inbox, name)
            if os.path.exists(path):
                os.unlink(path)

    def assert_answers_the_maildir(self):
        """This server's answers (from whatever files the kill left) equal those of a
        server without cache files; the files are put back afterwards. Returns them."""
        answered = self.answers()
        self.server.kill()
        aside = [(os.path.join(self.inbox, name), os.path.join(self.inbox, name + ".aside"))
                 for name in self.CACHE_FILES]
        moved = [(path, away) for path, away in aside if os.path.exists(path)]
        for path, away in moved:
            os.rename(path, away)
        self.server.start()
        truth = self.answers()
        self.server.kill()
        self.remove_cache_files()
        for path, away in moved:
            os.rename(away, path)
        self.server.start()
        self.assertEqual(answered, truth)
        return answered


def _main(argv):
    if len(argv) >= 1 and argv[0] == "dovecot-config":
        if len(argv) != 4:
            print("usage: interop_support.py dovecot-config RUN_DIR ROOT PORT", file=sys.stderr)
            return 2
        print(dovecot_config(argv[1], argv[2], int(argv[3])))
        return 0
    if len(argv) >= 1 and argv[0] == "dovecot-prepare":
        if len(argv) != 4:
            print("usage: interop_support.py dovecot-prepare RUN_DIR ROOT PORT", file=sys.stderr)
            return 2
        conf = dovecot_config(argv[1], argv[2], int(argv[3]))
        dovecot_own_tree(argv[1], argv[2])
        print(conf)
        return 0
    if len(argv) >= 1 and argv[0] == "free-port":
        print(free_port())
        return 0
    print("usage: interop_support.py dovecot-config|dovecot-prepare RUN_DIR ROOT PORT | free-port",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
