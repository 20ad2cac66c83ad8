"""SIGKILL while SORT and THREAD append to the header cache (issue 15 item 4).

Rounds of: new messages delivered (so the next SORT reads them and appends their
headers to `imapd-cache.dates` and `imapd-cache.headers`), a SORT or THREAD sent, and
the server killed with SIGKILL as soon as a cache file grows (mid-append or just after)
or, every other round, at once. After the last round the server is started again and
every SORT and THREAD must answer exactly what a server answers after the cache files
were deleted (the Maildir's truth). The files must then hold only intact frames.
"""

import os
import struct
import time
import unittest
import zlib

from interop_support import TARGET, RawClient, ServerTestCase, deliver, folder_dir

ROUNDS = 8
PER_ROUND = 60
COMMANDS = [
    b"UID SORT (REVERSE DATE) UTF-8 ALL",
    b"UID SORT (SUBJECT DISPLAYFROM) UTF-8 ALL",
    b"UID SORT (CC TO) UTF-8 ALL",
    b"UID THREAD REFERENCES UTF-8 ALL",
    b"UID THREAD ORDEREDSUBJECT UTF-8 ALL",
]
CACHE_FILES = {"imapd-cache.dates": b"imapdCD\x01", "imapd-cache.headers": b"imapdCH\x01"}


def message(i: int) -> bytes:
    text = f"From: Sender {i % 9} <s{i % 9}@example.org>\nTo: r{i % 5}@example.org\n"
    if i % 4 == 0:
        text += f"Cc: c{i % 3}@example.org\n"
    text += f"Subject: {'Re: ' if i % 3 else ''}topic {i // 3}\n"
    if i % 6:
        text += f"Date: Tue, {1 + i % 28} Mar 2022 {i % 24:02d}:{i % 60:02d}:00 +0100\n"
    text += f"Message-ID: <c{i}@example.org>\n"
    if i % 3:
        text += f"References: <c{i - i % 3}@example.org>\n"
    return (text + f"\nbody {i}\n").encode()


def intact(path: str, magic: bytes) -> bool:
    """Whether the file is a header followed by whole frames with good CRCs only."""
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 16 or data[:8] != magic:
        return False
    offset = 16
    while offset < len(data):
        if len(data) - offset < 8:
            return False
        length, crc = struct.unpack_from("<II", data, offset)
        payload = data[offset + 8 : offset + 8 + length]
        if length == 0 or len(payload) != length or zlib.crc32(payload) != crc:
            return False
        offset += 8 + length
    return True


@unittest.skipUnless(TARGET == "imapd", "the header cache is imapd-maildir's own")
class HeaderCacheCrashTest(ServerTestCase):
    def answers(self):
        r = RawClient(self.server.port)
        try:
            for tag, text in ((b"l", b"LOGIN alice alice-demo"), (b"s", b"SELECT INBOX")):
                _, last = r.command(tag, text)
                self.assertTrue(last is not None and last.startswith(tag + b" OK"), last)
            found = []
            for n, command in enumerate(COMMANDS):
                tag = b"c%d" % n
                lines, last = r.command(tag, command)
                self.assertTrue(last is not None and last.startswith(tag + b" OK"), (command, last))
                found.append(lines)
            return found
        finally:
            r.close()

    def kill_during(self, command: bytes, at_once: bool):
        inbox = folder_dir(self.root, "alice", "INBOX")
        paths = [os.path.join(inbox, name) for name in CACHE_FILES]

        def sizes():
            return [os.path.getsize(p) if os.path.exists(p) else -1 for p in paths]

        before = sizes()
        r = RawClient(self.server.port)
        try:
            for tag, text in ((b"l", b"LOGIN alice alice-demo"), (b"s", b"SELECT INBOX")):
                _, last = r.command(tag, text)
                self.assertTrue(last is not None and last.startswith(tag + b" OK"), last)
            self.assertTrue(r.send(b"k " + command + b"\r\n"))
            if not at_once:
                # Until the first append shows (or the command is over).
                deadline = time.monotonic() + 30
                while sizes() == before and time.monotonic() < deadline and self.server.proc.poll() is None:
                    pass
            self.server.kill()
        finally:
            r.close()
        self.server.start()

    def test_kill_during_cache_writes_leaves_the_maildirs_answers(self):
        i = 0
        for round in range(ROUNDS):
            for _ in range(PER_ROUND):
                deliver(self.root, "alice", "INBOX", message(i), 1_650_000_000 + (i * 7919) % 100_000, i)
                i += 1
            self.kill_during(COMMANDS[round % len(COMMANDS)], at_once=round % 2 == 1)
        cached = self.answers()
        inbox = folder_dir(self.root, "alice", "INBOX")
        for name, magic in CACHE_FILES.items():
            self.assertTrue(intact(os.path.join(inbox, name), magic), name)
        # The truth: the same server without its cache files.
        self.server.stop()
        for name in CACHE_FILES:
            os.unlink(os.path.join(inbox, name))
        self.server.start()
        self.assertEqual(cached, self.answers())
        self.assertTrue(any(len(lines[0]) > 1000 for lines in cached if lines))


if __name__ == "__main__":
    unittest.main()
