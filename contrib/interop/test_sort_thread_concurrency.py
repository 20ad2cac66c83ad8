"""SORT and THREAD while other sessions change the folder (issue 15).

imaptest's random stress sends no SORT or THREAD, so this does it for the header cache
and the thread file: on a folder of 1,200 messages, all cached, of which 1,150 are then expunged (stale
entries: the cache files are compacted under the readers, and the cache's threading
table started again), three sessions SORT and THREAD in a loop while another delivers,
flags and expunges, for a fixed number of rounds.
Every answer must be OK and list each message at most once. Once the writers stopped,
every reader's answers must equal those of a server started without header cache files.
"""

import os
import re
import unittest

from interop_support import TARGET, ChangingFolderCase, RawClient

MESSAGES = 1_200
ROUNDS = 60
COMMANDS = (
    b"UID THREAD REFERENCES UTF-8 ALL",
    b"UID THREAD REFS UTF-8 ALL",
    b"UID THREAD ORDEREDSUBJECT UTF-8 UNDELETED",
    b"UID SORT (REVERSE DATE) UTF-8 ALL",
    b"UID SORT (SUBJECT FROM) UTF-8 ALL",
    b"UID SORT (DATE) UTF-8 UNSEEN",
)


def message(i: int) -> bytes:
    head = i - i % 5
    lines = [f"Subject: {'Re: ' if i % 5 else ''}topic {head // 5}", f"From: s{i % 9}@example.org"]
    if i % 11:
        lines.append(f"Message-ID: <c{i}@example.org>")
    if i % 5:
        lines.append(f"References: <c{head}@example.org>")
    if i % 13:
        lines.append(f"Date: Tue, {1 + i % 28} Mar 2022 09:{i % 60:02d}:00 +0000")
    return ("\n".join(lines) + f"\n\nbody {i}\n").encode()


def numbers(lines) -> list:
    """The UIDs of a SORT or THREAD answer, in order."""
    data = b" ".join(ln for ln in lines if ln.startswith((b"* SORT", b"* THREAD")))
    return [int(n) for n in re.findall(rb"\d+", data)]


@unittest.skipUnless(TARGET == "imapd", "exercises imapd-maildir's own header cache")
class SortThreadConcurrencyTest(ChangingFolderCase):
    COMMANDS = COMMANDS
    ROUNDS = ROUNDS

    def message(self, i: int) -> bytes:
        return message(i)

    def setUp(self):
        super().setUp()
        for _ in range(MESSAGES):
            self.deliver_one()

    def check(self, r: RawClient, tag: bytes, text: bytes):
        lines, last = r.command(tag, text)
        if last is None or not last.startswith(tag + b" OK"):
            self.failures.append((text, last))
            return lines
        if text.startswith((b"UID SORT", b"UID THREAD")):
            found = numbers(lines)
            if len(found) != len(set(found)):
                self.failures.append((text, "a message listed twice"))
        return lines

    def test_sort_and_thread_during_changes(self):
        self.answers()  # the cache, complete
        # All but 50 expunged: the cache files now hold 1,150 stale entries, so the
        # first append under the readers compacts them (over 2 × messages + 1,024).
        self.expunge_all_but_fifty(MESSAGES)
        dates = os.path.join(self.inbox, "imapd-cache.dates")
        before = os.path.getsize(dates)
        self.run_readers_and_writer()
        self.assertEqual(self.failures, [])
        self.assertLess(os.path.getsize(dates), before // 2, "the cache was not compacted")
        answered = self.answers()
        # The truth: the same spool without any header cache file.
        self.server.stop()
        for name in ("imapd-cache.dates", "imapd-cache.headers", "imapd-cache.threads"):
            path = os.path.join(self.inbox, name)
            if os.path.exists(path):
                os.unlink(path)
        self.server.start()
        self.assertEqual(answered, self.answers())
        self.assertEqual(self.failures, [])
        self.assertGreater(len(numbers(answered[0])), 20)


if __name__ == "__main__":
    unittest.main()
