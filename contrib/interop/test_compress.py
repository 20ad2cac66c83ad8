"""COMPRESS=DEFLATE (RFC 4978, issue 16) with Python's imaplib wrapped in zlib.

imaplib has no COMPRESS; like several Python clients (offlineimap, imapclient's users)
`DeflateIMAP4` sends the command and then swaps imaplib's socket I/O (send, read,
readline) for a raw-deflate wrapper: every command is sync-flushed, every response
inflated as it arrives. Both classes count the bytes on the wire, so the test reports
what a 1,000-message ENVELOPE/BODYSTRUCTURE listing costs compressed and plain.

Debian's isync 1.4.4 has no COMPRESS (mbsync 1.5 added it). NeoMutt with
`imap_deflate` is driven in test_neomutt_compress.py.
"""

import imaplib
import os
import random
import time
import unittest
import zlib

from interop_support import (
    ALICE_FOLDERS,
    IO_TIMEOUT,
    ServerTestCase,
    USERS,
    crlf,
    folder_dir,
    message_files,
    parse_list,
)

imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))


class CountingIMAP4(imaplib.IMAP4):
    """imaplib with a count of the bytes it received and sent on the wire."""

    wire_in = 0
    wire_out = 0

    def read(self, size):
        data = super().read(size)
        self.wire_in += len(data)
        return data

    def readline(self):
        line = super().readline()
        self.wire_in += len(line)
        return line

    def send(self, data):
        self.wire_out += len(data)
        super().send(data)


class DeflateIMAP4(CountingIMAP4):
    """imaplib that turns on COMPRESS=DEFLATE and then talks raw deflate."""

    compressing = False

    def compress(self):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"COMPRESS refused: {data}")
        # RFC 4978 §3: raw deflate from the CRLF of the OK on, both ways.
        self._deflater = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        self._inflater = zlib.decompressobj(-15)
        self._plain = b""
        self.compressing = True
        return typ, data

    def send(self, data):
        if not self.compressing:
            return super().send(data)
        wire = self._deflater.compress(data) + self._deflater.flush(zlib.Z_SYNC_FLUSH)
        self.wire_out += len(wire)
        self.sock.sendall(wire)

    def _fill(self):
        """One socket read, inflated. A server that left output in its compressor
        would make this block until IO_TIMEOUT (the stall this test looks for)."""
        wire = self.sock.recv(65536)
        if not wire:
            raise imaplib.IMAP4.abort("socket closed")
        self.wire_in += len(wire)
        self._plain += self._inflater.decompress(wire)

    def read(self, size):
        if not self.compressing:
            return super().read(size)
        while len(self._plain) < size:
            self._fill()
        data, self._plain = self._plain[:size], self._plain[size:]
        return data

    def readline(self):
        if not self.compressing:
            return super().readline()
        while b"\n" not in self._plain:
            self._fill()
        end = self._plain.index(b"\n") + 1
        line, self._plain = self._plain[:end], self._plain[end:]
        return line


def write_messages(root: str, user: str, folder: str, count: int) -> None:
    """`count` varied messages (plain and multipart) in a new folder, as an MDA would."""
    home = folder_dir(root, user, folder)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(home, sub), exist_ok=True)
    open(os.path.join(home, "maildirfolder"), "wb").close()
    rng = random.Random(16)
    names = ["Alice Example", "Bob Builder", "Carol Singer", "Dave Null", "Eve Listener"]
    words = "meeting report invoice holiday release build review lunch budget draft".split()
    for n in range(1, count + 1):
        sender = rng.choice(names)
        subject = " ".join(rng.choice(words) for _ in range(rng.randint(2, 6)))
        head = (f"From: {sender} <{sender.split()[0].lower()}@example.org>\r\n"
                f"To: Alice <alice@example.org>\r\nCc: team-{n % 7}@lists.example.org\r\n"
                f"Subject: {subject} #{n}\r\n"
                f"Date: Mon, {1 + n % 28} Feb 2025 10:{n % 60:02d}:00 +0100\r\n"
                f"Message-ID: <{n}.{rng.randrange(10**9)}@mail.example.org>\r\nMIME-Version: 1.0\r\n")
        if n % 3 == 0:
            body = ("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                    f"{subject}\r\n--b\r\nContent-Type: application/pdf; name=\"r{n}.pdf\"\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n")
        else:
            body = f"Content-Type: text/plain; charset=us-ascii\r\n\r\nHello,\r\n{subject}\r\n"
        name = f"{1700000000 + n}.M{n}P1.example:2,S"
        with open(os.path.join(home, "cur", name), "wb") as fh:
            fh.write((head + body).encode())


class CompressTests(ServerTestCase):
    def connect_deflate(self, user="alice") -> DeflateIMAP4:
        c = DeflateIMAP4("127.0.0.1", self.server.port, timeout=IO_TIMEOUT)
        self.clients.append(c)
        c.login(user, USERS[user])
        return c

    def test_capability_after_login_and_second_compress(self):
        c = DeflateIMAP4("127.0.0.1", self.server.port, timeout=IO_TIMEOUT)
        self.clients.append(c)
        self.assertNotIn("COMPRESS=DEFLATE", c.capabilities)
        c.login("alice", USERS["alice"])
        typ, data = c.capability()
        self.assertIn(b"COMPRESS=DEFLATE", data[0].split())
        c.compress()
        typ, data = c._simple_command("COMPRESS", "DEFLATE")
        self.assertEqual(typ, "NO")
        self.assertTrue(data[0].startswith(b"[COMPRESSIONACTIVE]"), data)
        self.assertEqual(c.noop()[0], "OK")
        c.logout()

    def test_full_sync_compressed_matches_the_files(self):
        """Every folder of alice, every message's bytes, compressed; then a flag change
        and an expunge, checked on disk."""
        c = self.connect_deflate()
        c.compress()
        typ, listing = c.list()
        self.assertEqual(typ, "OK")
        folders = {name.decode() for _flags, _delim, name in parse_list(listing)}
        self.assertEqual(folders, set(ALICE_FOLDERS))
        for folder, count in sorted(ALICE_FOLDERS.items()):
            typ, data = c.select(imaplib_quote(folder), readonly=True)
            self.assertEqual((typ, int(data[0])), ("OK", count), folder)
            typ, data = c.uid("FETCH", "1:*", "(UID RFC822.SIZE BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            bodies = [part[1] for part in data if isinstance(part, tuple)]
            on_disk = message_files(self.root, "alice", folder)
            expected = sorted(crlf(read_file(os.path.join(folder_dir(self.root, "alice", folder), sub, f)))
                              for sub, f in on_disk.values())
            self.assertEqual(sorted(bodies), expected, folder)
        c.select("INBOX")
        (_uid1, first), (_uid2, second) = self.uid_map()[:2]
        self.assertEqual(c.store("1", "+FLAGS", "(\\Flagged)")[0], "OK")
        self.assertEqual(c.store("2", "+FLAGS", "(\\Deleted)")[0], "OK")
        self.assertEqual(c.expunge()[0], "OK")
        self.assertNotIn(second, self.files())
        self.assertIn("F", self.flags_on_disk(first))
        self.assertEqual(int(c.select("INBOX")[1][0]), len(self.files()))
        # APPEND: its synchronizing literal's `+` must come through the compressor at
        # once; 3 MB of message inflated by the server in bounded pieces.
        big = b"From: a@example.org\r\nSubject: big\r\n\r\n" + b"".join(
            b"line %d of a three megabyte message\r\n" % i for i in range(85000))
        typ, data = c.append("Drafts", "(\\Draft)", None, big)
        self.assertEqual(typ, "OK", data)
        stored = [read_file(os.path.join(folder_dir(self.root, "alice", "Drafts"), sub, f))
                  for sub, f in self.files("Drafts").values()]
        self.assertIn(big, stored)
        self.assertEqual(c.logout()[0], "BYE")

    def test_listing_of_1000_messages_compressed_vs_plain(self):
        """The bytes on the wire for `FETCH 1:* (ENVELOPE BODYSTRUCTURE)` over 1,000
        messages, compressed and plain; the listings themselves must be equal."""
        write_messages(self.root, "alice", "Bulk", 1000)
        results = {}
        for mode in ("plain", "deflate"):
            c = self.connect_deflate()
            if mode == "deflate":
                c.compress()
            typ, data = c.select("Bulk", readonly=True)
            self.assertEqual((typ, data[0]), ("OK", b"1000"))
            before_in, before_out = c.wire_in, c.wire_out
            started = time.monotonic()
            typ, data = c.fetch("1:*", "(ENVELOPE BODYSTRUCTURE)")
            elapsed = time.monotonic() - started
            self.assertEqual(typ, "OK")
            self.assertEqual(len(data), 1000)
            results[mode] = (c.wire_in - before_in, c.wire_out - before_out, elapsed, data)
            c.logout()
        self.assertEqual(results["plain"][3], results["deflate"][3])
        plain, deflated = results["plain"][0], results["deflate"][0]
        print(f"\nFETCH 1:* (ENVELOPE BODYSTRUCTURE), 1,000 messages: plain {plain} bytes received "
              f"({results['plain'][2]:.2f} s), COMPRESS=DEFLATE {deflated} bytes "
              f"({results['deflate'][2]:.2f} s), ratio {plain / deflated:.1f}:1", flush=True)
        self.assertLess(deflated * 3, plain)


def read_file(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def imaplib_quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


if __name__ == "__main__":
    unittest.main()
