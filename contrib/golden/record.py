#!/usr/bin/env python3
"""Records the wire answers of an IMAP server for the golden message corpus.

Each message of Tests/IMAPServerTests/Golden/corpus is served from its own Maildir++
folder (so it is message 1 there, whatever the server's UID order), EXAMINEd
(read-only: nothing changes \\Seen), and asked every item of ITEMS, one FETCH per item
so that a NO for one item (UNKNOWN-CTE) is recorded on its own. The untagged bytes are
kept exactly as received (literals and literal8 included); of the tagged reply only the
status and response code are kept (the human text differs between servers and
Dovecot appends timings).

Output: one file per message, <out>/<message>.golden, a sequence of records
    "### " ITEM " " STATUS-AND-CODE " " LENGTH "\\n" <LENGTH raw bytes> "\\n"
which Tests/IMAPServerTests/GoldenTests.swift parses and compares byte for byte
with our server's answers.

Usage: record.py PORT USER PASSWORD OUT_DIR   (the server must already serve the tree
made by `record.py layout ROOT USER`); record-dovecot.sh does it all for Dovecot.
"""
import os
import re
import shutil
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(REPO, "Tests", "IMAPServerTests", "Golden", "corpus")
FIXED_MTIME = 1_700_000_000

# GoldenTests.swift reads the items back from the recordings: changing ITEMS only needs
# a re-recording (record-dovecot.sh).
ITEMS = [
    "BODYSTRUCTURE", "BODY", "ENVELOPE", "RFC822.SIZE",
    "BODY.PEEK[]", "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]",
    "BODY.PEEK[HEADER.FIELDS (From Subject Content-Type X-Missing)]",
    "BODY.PEEK[HEADER.FIELDS.NOT (Received Subject Date)]",
    "BODY.PEEK[1]", "BODY.PEEK[1.MIME]", "BODY.PEEK[2]", "BODY.PEEK[2.MIME]", "BODY.PEEK[3]",
    "BODY.PEEK[1.1]", "BODY.PEEK[1.2]", "BODY.PEEK[2.1]", "BODY.PEEK[2.2]",
    "BODY.PEEK[1.HEADER]", "BODY.PEEK[1.TEXT]", "BODY.PEEK[2.HEADER]", "BODY.PEEK[2.TEXT]",
    "BODY.PEEK[2.HEADER.FIELDS (Subject From)]", "BODY.PEEK[2.1.MIME]",
    "BODY.PEEK[]<0.50>", "BODY.PEEK[TEXT]<10.30>", "BODY.PEEK[1]<3.1000>", "BODY.PEEK[HEADER]<5000.10>",
    "BINARY.PEEK[]", "BINARY.PEEK[1]", "BINARY.SIZE[1]", "BINARY.PEEK[2]", "BINARY.SIZE[2]",
    "BINARY.PEEK[1]<2.5>", "BINARY.PEEK[2.1]",
]


def messages():
    return sorted(n for n in os.listdir(CORPUS) if n.endswith(".eml"))


def folder_of(index):
    return "g%02d" % (index + 1)


def layout(root, user):
    """<root>/<user>/.gNN/cur/<name>:2, for each corpus message."""
    home = os.path.join(root, user)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(home, sub), exist_ok=True)
    for i, name in enumerate(messages()):
        folder = os.path.join(home, "." + folder_of(i))
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(folder, sub), exist_ok=True)
        open(os.path.join(folder, "maildirfolder"), "w").close()
        target = os.path.join(folder, "cur", "%d.M%dP1.golden:2," % (FIXED_MTIME + i, i + 1))
        shutil.copyfile(os.path.join(CORPUS, name), target)
        os.utime(target, (FIXED_MTIME, FIXED_MTIME))


class Raw:
    """A byte-exact IMAP client: returns the untagged bytes and the tagged line."""

    LITERAL = re.compile(rb"~?\{(\d+)\}\r\n$")

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.n = 0
        self.line()

    def line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def exact(self, count):
        while len(self.buf) < count:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        out, self.buf = self.buf[:count], self.buf[count:]
        return out

    def command(self, text):
        self.n += 1
        tag = b"g%d" % self.n
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        untagged = b""
        while True:
            line = self.line()
            while True:
                m = self.LITERAL.search(line)
                if not m:
                    break
                line += self.exact(int(m.group(1)))
                rest = self.line()
                line += rest
                if not self.LITERAL.search(rest):
                    break
            if line.startswith(tag + b" "):
                return untagged, line
            untagged += line


def status_of(tagged):
    """'OK', 'NO [UNKNOWN-CTE]', 'BAD'…: the status and its response code."""
    parts = tagged.rstrip(b"\r\n").split(b" ", 2)
    status = parts[1].decode()
    if len(parts) > 2 and parts[2].startswith(b"["):
        status += " " + parts[2][: parts[2].index(b"]") + 1].decode()
    return status


def record(port, user, password, out):
    os.makedirs(out, exist_ok=True)
    c = Raw(port)
    _, tagged = c.command("LOGIN %s %s" % (user, password))
    assert status_of(tagged).startswith("OK"), tagged
    for i, name in enumerate(messages()):
        _, tagged = c.command("EXAMINE " + folder_of(i))
        assert status_of(tagged).startswith("OK"), (name, tagged)
        with open(os.path.join(out, name[:-4] + ".golden"), "wb") as fh:
            for item in ITEMS:
                untagged, tagged = c.command("FETCH 1 (%s)" % item)
                fh.write(b"### %s %s %d\n" % (item.encode(), status_of(tagged).encode(), len(untagged)))
                fh.write(untagged + b"\n")
    c.command("LOGOUT")


def main(argv):
    if len(argv) == 3 and argv[0] == "layout":
        layout(argv[1], argv[2])
        return 0
    if len(argv) == 4:
        record(int(argv[0]), argv[1], argv[2], argv[3])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
