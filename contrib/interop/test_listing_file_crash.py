"""SIGKILL while the listing cache is written (issue 15 item 4).

FETCH of ENVELOPE/BODYSTRUCTURE and SEARCH on header fields append one frame per
message to `imapd-cache.listing`; `imapd-cache.listing-offsets` is rewritten when the
server stops. Rounds of: the server killed with SIGKILL while it appends (a FETCH
listing of a folder whose cache files were removed, or a first SEARCH), or while it
saves the offsets at SIGTERM; sometimes the listing file then cut at a random length
(a power failure's torn tail); then deliveries while it is down, then a start: its
listings and SEARCH answers must equal those of a server started without any cache
file (the Maildir's truth). After the last round the server is stopped cleanly: the
offsets file must be whole (its CRC checks) and cover the whole listing file, and the
next start must read no frame after it (its debug log says so) and answer the same.
"""

import os
import random
import re
import signal
import time
import unittest
import zlib

from interop_support import TARGET, CacheCrashCase, RawClient

MESSAGES = 1_500
ROUNDS = 6
LISTING = "imapd-cache.listing"
OFFSETS = "imapd-cache.listing-offsets"
CACHE_FILES = (
    "imapd-cache.dates", "imapd-cache.headers", "imapd-cache.threads", LISTING, OFFSETS,
)
COMMANDS = (
    b"UID FETCH 1:* (ENVELOPE BODYSTRUCTURE)",
    b"UID FETCH 1:* (BODY)",
    b"UID SEARCH FROM s3",
    b'UID SEARCH OR SUBJECT "topic 1" TO r2',
    b"UID SEARCH SENTBEFORE 10-Feb-2022 NOT CC c1",
    b"UID SEARCH HEADER Message-ID <m7@",
    b"UID FETCH 1:* (RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From Subject Date Content-Type)])",
)
LOADED = re.compile(rb"tail=(\d+).*listing offsets loaded")


def message(i: int) -> bytes:
    """Every third multipart with an attachment, every fifth without Date:."""
    lines = [
        f'From: "Sender {i % 7}" <s{i % 7}@example.org>',
        f"To: r{i % 4}@example.org",
        f"Subject: topic {i // 3}",
        f"Message-ID: <m{i}@example.org>",
    ]
    if i % 3 == 0:
        lines.append(f"Cc: c{i % 5}@example.org")
    if i % 5:
        lines.append(f"Date: Mon, {1 + i % 27} Feb 2022 10:{i % 60:02d}:00 +0000")
    if i % 3:
        return ("\n".join(lines) + f"\n\nbody {i}\n").encode()
    lines += ["MIME-Version: 1.0", f'Content-Type: multipart/mixed; boundary="b{i}"']
    body = (
        f"--b{i}\nContent-Type: text/plain\n\nbody {i}\n"
        f'--b{i}\nContent-Type: application/pdf; name="f{i}.pdf"\n'
        f"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b{i}--\n"
    )
    return ("\n".join(lines) + "\n\n" + body).encode()


def offsets_cover(path: str, listing_size: int) -> bool:
    """The offsets file's magic, version and CRC (of its first 44 bytes and its body)
    match, and it covers the listing file's `listing_size` bytes."""
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 48 or data[:8] != b"imapdCO\x01" or data[8:12] != (1).to_bytes(4, "little"):
        return False
    crc = zlib.crc32(data[:44] + data[48:])
    covered = int.from_bytes(data[24:32], "little")
    return crc == int.from_bytes(data[44:48], "little") and covered == listing_size


@unittest.skipUnless(TARGET == "imapd", "imapd-cache.listing is imapd-maildir's own")
class ListingFileCrashTest(CacheCrashCase):
    COMMANDS = COMMANDS
    CACHE_FILES = CACHE_FILES
    OPEN = b"EXAMINE INBOX"

    def message(self, i: int) -> bytes:
        return message(i)

    def setUp(self):
        super().setUp()
        self.listing = os.path.join(self.inbox, LISTING)
        self.offsets = os.path.join(self.inbox, OFFSETS)
        self.rng = random.Random(4)
        self.deliver(MESSAGES)

    def assert_answers_the_maildir(self):
        answered = super().assert_answers_the_maildir()
        self.assertTrue(any(b"ENVELOPE" in line for line in answered[0]), answered[0][:2])
        # Every seventh message is from s3 (the example INBOX's twelve are not).
        self.assertGreaterEqual(len(answered[2][0].split()) - 2, MESSAGES // 7, answered[2][:1])

    def test_kill_during_listing_writes_leaves_the_maildirs_answers(self):
        self.answers()
        for round in range(ROUNDS):
            started = time.monotonic()
            kind = round % 3
            if kind == 0:
                # Appends of a FETCH listing, from an empty cache.
                self.server.kill()
                self.remove_cache_files()
                self.server.start()
                r = RawClient(self.server.port)
                r.send(b"l LOGIN alice alice-demo\r\ns EXAMINE INBOX\r\nf " + COMMANDS[0] + b"\r\n")
                self.server.kill_while_writing(self.listing)
                r.close()
            elif kind == 1:
                # Appends of a first SEARCH: the texts added to every message's frame.
                self.server.kill()
                self.remove_cache_files()
                self.server.start()
                r = RawClient(self.server.port)
                self.ok(r, b"l", b"LOGIN alice alice-demo")
                self.ok(r, b"s", b"EXAMINE INBOX")
                self.ok(r, b"f", COMMANDS[0])
                r.send(b"q " + COMMANDS[2] + b"\r\n")
                self.server.kill_while_writing(self.listing)
                r.close()
            else:
                # The offsets saved at SIGTERM, after new messages were listed.
                self.deliver(self.rng.randrange(1, 6))
                self.answers()
                self.server.proc.send_signal(signal.SIGTERM)
                self.server.kill_while_writing(self.offsets)
            size = os.path.getsize(self.listing) if os.path.exists(self.listing) else 0
            if round % 2 == 1 and size > 1:
                # A power failure's torn tail (a kill right after the file was created
                # leaves it empty: nothing to tear).
                os.truncate(self.listing, self.rng.randrange(size // 2, size))
            self.deliver(self.rng.randrange(1, 4))
            self.server.start()
            self.assert_answers_the_maildir()
            print(f"round {round}: {time.monotonic() - started:.1f}s", flush=True)
        # A clean stop saves offsets covering the whole file; the next start reads
        # them and no frame after them.
        self.answers()
        self.server.stop()
        self.assertTrue(offsets_cover(self.offsets, os.path.getsize(self.listing)))
        with open(self.server.log_path, "rb") as fh:
            loads_before = len(LOADED.findall(fh.read()))
        self.server.start()
        answered = self.answers()
        with open(self.server.log_path, "rb") as fh:
            loads = LOADED.findall(fh.read())
        self.assertEqual(len(loads), loads_before + 1, "the listing offsets were not loaded")
        self.assertEqual(loads[-1], b"0", "frames after the saved offsets")
        self.server.stop()
        self.remove_cache_files()
        self.server.start()
        self.assertEqual(answered, self.answers())


if __name__ == "__main__":
    unittest.main()
