"""SIGKILL while `imapd-cache.threads` is written (issue 15 item 4).

THREAD's keys of a folder of 1,000 cached messages or more are saved to
`imapd-cache.threads` when they were derived from `imapd-cache.headers`, and when the
server stops if the headers file moved on. Rounds of: the server killed with SIGKILL
while it writes the thread file (during the write after a derivation, during the write
at SIGTERM, or at once after SIGTERM), then deliveries while it is down, then a start:
its THREAD answers (three algorithms) and a SORT by subject must equal those of a server
started without any header cache file (the Maildir's truth). After the last round the
server is stopped cleanly (the thread file must be whole: its CRC checks) and started
again: its first THREAD must read the thread file (its debug log says so) and answer as
the Maildir holds.
"""

import os
import random
import signal
import time
import unittest
import zlib

from interop_support import TARGET, CacheCrashCase, RawClient

MESSAGES = 1_200  # over the thread file's 1,000-message threshold
ROUNDS = 6
LOADED = b"thread keys loaded from imapd-cache.threads"
MAGIC = b"imapdCT\x01"
CACHE_FILES = ("imapd-cache.dates", "imapd-cache.headers", "imapd-cache.threads")
COMMANDS = (
    b"UID THREAD REFERENCES UTF-8 ALL",
    b"UID THREAD REFS UTF-8 ALL",
    b"UID THREAD ORDEREDSUBJECT UTF-8 ALL",
    b"UID SORT (SUBJECT) UTF-8 ALL",
)


def message(i: int) -> bytes:
    """Threads of four by References, replies with "Re:", every seventh without an ID."""
    head = i - i % 4
    lines = [f"Subject: {'Re: ' if i % 4 else ''}topic {head // 4}"]
    if i % 7:
        lines.append(f"Message-ID: <t{i}@example.org>")
    if i % 4:
        lines.append(f"References: <t{head}@example.org> <t{i - 1}@example.org>")
    lines.append(f"Date: Mon, {1 + i % 28} Feb 2022 10:{i % 60:02d}:00 +0000")
    return ("\n".join(lines) + f"\n\nbody {i}\n").encode()


def intact(path: str) -> bool:
    """The magic, version 1 and the CRC-32 of everything before it match."""
    with open(path, "rb") as fh:
        data = fh.read()
    return (
        len(data) > 76
        and data[:8] == MAGIC
        and data[8:12] == (1).to_bytes(4, "little")
        and zlib.crc32(data[:-4]) == int.from_bytes(data[-4:], "little")
    )


@unittest.skipUnless(TARGET == "imapd", "imapd-cache.threads is imapd-maildir's own")
class ThreadFileCrashTest(CacheCrashCase):
    COMMANDS = COMMANDS
    CACHE_FILES = CACHE_FILES

    def message(self, i: int) -> bytes:
        return message(i)

    def setUp(self):
        super().setUp()
        self.threads = os.path.join(self.inbox, "imapd-cache.threads")
        self.rng = random.Random(15)
        self.deliver(MESSAGES)

    def kill(self, wait_for_write: bool):
        if wait_for_write:
            self.server.kill_while_writing(self.threads)
        else:
            self.server.kill()

    def test_kill_during_thread_file_writes_leaves_the_maildirs_answers(self):
        self.answers()  # the cache, built by appends
        for round in range(ROUNDS):
            started = time.monotonic()
            kind = round % 3
            if kind == 0:
                # The write after a derivation: no thread file, a fresh server's THREAD.
                self.kill(wait_for_write=False)
                if os.path.exists(self.threads):
                    os.unlink(self.threads)
                self.server.start()
                r = RawClient(self.server.port)
                r.send(b"l LOGIN alice alice-demo\r\ns SELECT INBOX\r\nt UID THREAD REFS UTF-8 ALL\r\n")
                self.kill(wait_for_write=True)
                r.close()
            else:
                # The write at shutdown: new messages threaded, so the headers file grew.
                self.deliver(self.rng.randrange(1, 6))
                self.answers()
                self.server.proc.send_signal(signal.SIGTERM)
                self.kill(wait_for_write=kind == 1)
            self.deliver(self.rng.randrange(1, 4))
            self.server.start()
            self.assert_answers_the_maildir()
            print(f"round {round}: {time.monotonic() - started:.1f}s", flush=True)
        # A clean stop writes a whole thread file; the next start's THREAD reads it.
        self.answers()
        self.server.stop()
        self.assertTrue(intact(self.threads))
        with open(self.server.log_path, "rb") as fh:
            loads_before = fh.read().count(LOADED)
        self.server.start()
        answered = self.answers()
        with open(self.server.log_path, "rb") as fh:
            self.assertEqual(fh.read().count(LOADED), loads_before + 1, "THREAD did not read the thread file")
        self.server.stop()
        for name in CACHE_FILES:
            os.unlink(os.path.join(self.inbox, name))
        self.server.start()
        self.assertEqual(answered, self.answers())
        self.assertTrue(any(line.startswith(b"* THREAD (") for line in answered[0]), answered[0][:2])


if __name__ == "__main__":
    unittest.main()
