"""SIGKILL while `imapd-index` is written (issue 15 item 4).

The folder state of a folder of 1,000 messages or more is saved to `imapd-index` when
the folder is built from the Maildir and when the server stops. Rounds of: changes
through IMAP (STORE, EXPUNGE), then the server killed with SIGKILL while it writes the
index (during the write at SIGTERM, at once after SIGTERM, or during the write after a
full build), then changes by other programs while it is down (deliveries into new/,
flag renames in cur/), then a start: its answers must equal those of a server started
without the index. After the last round the server is stopped cleanly (writing the
index, which must be whole: its CRC checks), other programs change the Maildir, and the
server is started again: it must load the folder from the index and answer exactly
what a server answers after the index was deleted (the Maildir's truth): the SELECT
data, and every message's UID, FLAGS and MODSEQ.
"""

import os
import random
import re
import signal
import struct
import time
import unittest
import zlib

from interop_support import TARGET, RawClient, ServerTestCase, deliver, folder_dir

MESSAGES = 1_200  # over the server's 1,000-message threshold
ROUNDS = 9
LOADED = b"folder state loaded from imapd-index"
MAGIC = b"IMAPDIX\x00"


def intact(path: str) -> bool:
    """magic, version 3, the payload length and its CRC32 all match."""
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 24 or data[:8] != MAGIC:
        return False
    version, length, crc = struct.unpack_from("<IQI", data, 8)
    return version == 3 and length == len(data) - 24 and zlib.crc32(data[24:]) == crc


@unittest.skipUnless(TARGET == "imapd", "imapd-index is imapd-maildir's own")
class FolderIndexCrashTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.inbox = folder_dir(self.root, "alice", "INBOX")
        self.index = os.path.join(self.inbox, "imapd-index")
        self.rng = random.Random(15)
        for i in range(MESSAGES):
            body = f"Subject: m{i}\nMessage-ID: <i{i}@example.org>\n\nbody {i}\n".encode()
            deliver(self.root, "alice", "INBOX", body, 1_650_000_000 + i, i)

    def ok(self, r: RawClient, tag: bytes, text: bytes):
        """The command's untagged lines; its tagged answer must be OK."""
        lines, last = r.command(tag, text)
        self.assertTrue(last is not None and last.startswith(tag + b" OK"), (text, last))
        return lines

    def session(self) -> RawClient:
        r = RawClient(self.server.port)
        self.ok(r, b"l", b"LOGIN alice alice-demo")
        self.ok(r, b"s", b"SELECT INBOX (CONDSTORE)")
        return r

    def answers(self):
        """SELECT's data and every message (UID, FLAGS, MODSEQ), and HIGHESTMODSEQ."""
        r = RawClient(self.server.port)
        try:
            self.ok(r, b"l", b"LOGIN alice alice-demo")
            # IMAP4rev2 has no \Recent, which a restart may change (Recent.swift).
            self.ok(r, b"e", b"ENABLE IMAP4rev2")
            selected = self.ok(r, b"s", b"SELECT INBOX (CONDSTORE)")
            messages = self.ok(r, b"f", b"UID FETCH 1:* (FLAGS MODSEQ)")
            highest = [int(re.search(rb"HIGHESTMODSEQ (\d+)", ln).group(1)) for ln in selected if b"HIGHESTMODSEQ" in ln]
            self.assertEqual(len(highest), 1, selected)
            told = [ln for ln in selected if b"HIGHESTMODSEQ" not in ln]
            return told, messages, highest[0]
        finally:
            r.close()

    def change(self):
        """A few changes by a client."""
        r = self.session()
        try:
            for n in range(6):
                uid = self.rng.randrange(1, MESSAGES)
                flag = self.rng.choice([b"\\Seen", b"\\Flagged", b"$Work", b"\\Deleted"])
                sign = self.rng.choice([b"+", b"-"])
                r.command(b"t%d" % n, b"UID STORE %d %sFLAGS (%s)" % (uid, sign, flag))
            self.ok(r, b"e", b"EXPUNGE")
        finally:
            r.close()

    def change_while_down(self):
        """Other programs at work while no server runs: an MDA, another server's renames."""
        for _ in range(3):
            i = self.rng.randrange(10**6)
            deliver(self.root, "alice", "INBOX", b"Subject: late\n\nlate\n", 1_660_000_000 + i, i)
        cur = os.path.join(self.inbox, "cur")
        for name in self.rng.sample(sorted(os.listdir(cur)), 2):
            base, _, letters = name.partition(":2,")
            wanted = "".join(sorted(set(letters) ^ {"R"}))
            os.rename(os.path.join(cur, name), os.path.join(cur, f"{base}:2,{wanted}"))

    def kill(self, wait_for_write: bool):
        if wait_for_write:
            self.server.kill_while_writing(self.index)
        else:
            self.server.kill()

    def assert_answers_the_maildir(self):
        """What this server answers (from whatever index the kill left) equals what a
        server answers without an index. Killed in between, so nothing is written; the
        index is put back for the next round."""
        answered = self.answers()
        self.kill(wait_for_write=False)
        aside = self.index + ".aside"
        present = os.path.exists(self.index)
        if present:
            os.rename(self.index, aside)
        self.server.start()
        truth = self.answers()
        self.kill(wait_for_write=False)
        if present:
            os.rename(aside, self.index)
        self.server.start()
        self.assertEqual(answered[:2], truth[:2])

    def test_kill_during_index_writes_leaves_the_maildirs_answers(self):
        self.server.stop()
        self.server.start()
        for round in range(ROUNDS):
            started = time.monotonic()
            self.change()
            kind = round % 3
            if kind == 2:
                # The write after a full build: a server that never held the folder,
                # no index; SELECT builds the folder and writes one.
                self.kill(wait_for_write=False)
                if os.path.exists(self.index):
                    os.unlink(self.index)
                self.server.start()
                r = RawClient(self.server.port)
                r.send(b"l LOGIN alice alice-demo\r\ns SELECT INBOX\r\n")
                self.kill(wait_for_write=True)
                r.close()
            else:
                self.server.proc.send_signal(signal.SIGTERM)
                self.kill(wait_for_write=kind == 0)
            self.change_while_down()
            self.server.start()
            self.assert_answers_the_maildir()
            print(f"round {round}: {time.monotonic() - started:.1f}s", flush=True)
        # A clean stop writes the index of the folders the server holds; the next start
        # must load it.
        self.answers()
        self.server.stop()
        self.assertTrue(intact(self.index))
        self.change_while_down()
        with open(self.server.log_path, "rb") as fh:
            loads_before = fh.read().count(LOADED)
        self.server.start()
        indexed = self.answers()
        with open(self.server.log_path, "rb") as fh:
            self.assertEqual(fh.read().count(LOADED), loads_before + 1, "the folder was not loaded from the index")
        # The truth: the same server without its index.
        self.server.stop()
        os.unlink(self.index)
        self.server.start()
        built = self.answers()
        self.assertEqual(indexed[:2], built[:2])
        self.assertGreater(len(indexed[1]), MESSAGES // 2)
        # HIGHESTMODSEQ: a full build starts at the log's ceiling (values up to it may
        # have been given out before a crash); the index, valid only while the log is
        # as it saw it, knows the exact highest. Never below a message's MODSEQ.
        modseqs = [int(m) for m in re.findall(rb"MODSEQ \((\d+)\)", b"\n".join(indexed[1]))]
        self.assertGreaterEqual(indexed[2], max(modseqs))
        self.assertLessEqual(indexed[2], built[2])


if __name__ == "__main__":
    unittest.main()
