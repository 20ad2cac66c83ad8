"""ENVELOPE listings and header SEARCHes while other sessions change the folder
(issue 15 item 4, the listing cache).

On a folder of 1,200 messages whose listing cache is complete (ENVELOPE, BODYSTRUCTURE
and the search texts of every message), 1,150 are expunged, so the file holds far more
frames than a compaction tolerates. The server is restarted (its memory empty: every
listing and SEARCH goes to the file), then three sessions FETCH and SEARCH in a loop
while another delivers, flags and expunges: the first append under the readers compacts
the file (asserted). Every answer must be OK (or, for a FETCH of messages expunged
meanwhile, NO [EXPUNGEISSUED]) and show each message at most once. Once
the writer stopped, every answer must equal that of a server started without cache
files.
"""

import os
import re
import unittest

from interop_support import TARGET, ChangingFolderCase, RawClient

MESSAGES = 1_200
ROUNDS = 60
CACHE_FILES = ("imapd-cache.listing", "imapd-cache.listing-offsets")
COMMANDS = (
    b"UID FETCH 1:* (ENVELOPE BODYSTRUCTURE)",
    b"UID FETCH 1:* (UID BODY)",
    b"UID SEARCH FROM s3",
    b'UID SEARCH OR SUBJECT "topic 1" TO r2',
    b"UID SEARCH SENTSINCE 10-Mar-2022 HEADER Message-ID example",
    b"UID SEARCH UNSEEN CC c1",
    b"UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (From To Subject Date)])",
)


def message(i: int) -> bytes:
    lines = [
        f"From: s{i % 9}@example.org",
        f"To: r{i % 4}@example.org",
        f"Subject: topic {i // 5}",
    ]
    if i % 3 == 0:
        lines.append(f"Cc: c{i % 5}@example.org")
    if i % 11:
        lines.append(f"Message-ID: <l{i}@example.org>")
    if i % 13:
        lines.append(f"Date: Tue, {1 + i % 28} Mar 2022 09:{i % 60:02d}:00 +0000")
    if i % 4:
        return ("\n".join(lines) + f"\n\nbody {i}\n").encode()
    lines += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="a{i}"']
    body = f"--a{i}\nContent-Type: text/plain\n\nbody {i}\n--a{i}\nContent-Type: text/html\n\n<p>{i}</p>\n--a{i}--\n"
    return ("\n".join(lines) + "\n\n" + body).encode()


def uids(lines) -> list:
    """The UIDs of a FETCH listing or SEARCH answer, in order (not those of the
    unsolicited FETCH responses that report other sessions' flag changes)."""
    found = []
    for line in lines:
        if line.startswith(b"* SEARCH"):
            found += [int(n) for n in re.findall(rb"\d+", line)]
        elif b"ENVELOPE" in line or b" BODY (" in line or b"BODY[HEADER.FIELDS" in line:
            m = re.match(rb"\* \d+ FETCH \(UID (\d+)", line)
            if m:
                found.append(int(m.group(1)))
    return found


@unittest.skipUnless(TARGET == "imapd", "exercises imapd-maildir's own listing cache")
class ListingConcurrencyTest(ChangingFolderCase):
    COMMANDS = COMMANDS
    ROUNDS = ROUNDS

    def message(self, i: int) -> bytes:
        return message(i)

    def setUp(self):
        super().setUp()
        self.listing = os.path.join(self.inbox, "imapd-cache.listing")
        for _ in range(MESSAGES):
            self.deliver_one()

    def check(self, r: RawClient, tag: bytes, text: bytes):
        lines, last = r.command(tag, text)
        # RFC 9051 §7.1: a FETCH of messages another session expunged meanwhile may
        # end NO [EXPUNGEISSUED] (their files are gone); the rest was answered.
        expunged = (
            text.startswith(b"UID FETCH") and last is not None and last.startswith(tag + b" NO [EXPUNGEISSUED]")
        )
        if last is None or not (last.startswith(tag + b" OK") or expunged):
            self.failures.append((text, last))
            return lines
        found = uids(lines)
        if len(found) != len(set(found)):
            self.failures.append((text, "a message shown twice"))
        return lines

    def test_listings_and_searches_during_changes(self):
        self.answers()  # the cache, complete
        # All but 50 expunged: the listing file holds 2,300 stale frames, over the
        # 2 × 2 × messages + 1,024 a compaction tolerates.
        self.expunge_all_but_fifty(MESSAGES)
        # A restart: what the sessions read comes from the listing file.
        self.server.stop()
        self.server.start()
        before = os.path.getsize(self.listing)
        self.run_readers_and_writer()
        self.assertEqual(self.failures, [])
        self.assertLess(os.path.getsize(self.listing), before // 2, "the listing file was not compacted")
        answered = self.answers()
        # The truth: the same spool without the listing cache's files.
        self.server.stop()
        for name in CACHE_FILES:
            path = os.path.join(self.inbox, name)
            if os.path.exists(path):
                os.unlink(path)
        self.server.start()
        self.assertEqual(answered, self.answers())
        self.assertEqual(self.failures, [])
        self.assertGreater(len(uids(answered[0])), 20)
        self.assertGreater(len(uids(answered[2])), 2)


if __name__ == "__main__":
    unittest.main()
