"""SIGKILL during a STORE storm leaves mod-sequences that never go backward (issue 14,
RFC 7162 §3.1.2.1).

Four clients with CONDSTORE enabled toggle \\Flagged on their own share of 40 messages,
each keeping several UID STOREs in flight, and note the MODSEQ of every FETCH they get
back. Once they have 400 answers between them, the server is killed with SIGKILL while
the STOREs keep coming, then started again on the same Maildir. Then:
- HIGHESTMODSEQ is at least the highest MODSEQ any client was told;
- every message's MODSEQ is at least the last one a client was told for it (a client
  that cached it with CHANGEDSINCE would otherwise miss a change);
- the next STORE gets a MODSEQ above everything told before the crash;
- messages the storm never touched keep exactly the MODSEQ they had (the log kept it:
  a restart must not make clients resync every message).
"""

import re
import threading
import unittest

from interop_support import RawClient, ServerTestCase, deliver

MESSAGES = 40
UNTOUCHED = 8  # the last messages: no client stores on them
CLIENTS = 4
IN_FLIGHT = 4
KILL_AFTER = 400  # answers seen by the clients together before the kill
FETCH = re.compile(rb"^\* \d+ FETCH \(.*UID (\d+).*MODSEQ \((\d+)\)|^\* \d+ FETCH \(.*MODSEQ \((\d+)\).*UID (\d+)")


def uid_and_modseq(line: bytes):
    m = FETCH.match(line)
    if not m:
        return None
    if m.group(1):
        return int(m.group(1)), int(m.group(2))
    return int(m.group(4)), int(m.group(3))


class ModSeqCrashTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        for i in range(MESSAGES):
            deliver(self.root, "alice", "INBOX", b"Subject: storm %d\n\nbody\n" % i, 1_700_000_000 + i, i)
        c = self.login()
        typ, data = c.select("INBOX")
        self.assertEqual(typ, "OK", data)
        typ, data = c.uid("SEARCH", "ALL")
        self.assertEqual(typ, "OK", data)
        self.uids = [int(u) for u in data[0].split()]
        c.logout()
        self.assertGreaterEqual(len(self.uids), MESSAGES)
        self.quiet = self.uids[-UNTOUCHED:]
        self.uids = self.uids[:-UNTOUCHED]
        self.told = {}  # uid -> highest MODSEQ a client was told
        self.lock = threading.Lock()
        self.answers = 0
        self.enough = threading.Event()

    def storm(self, share):
        r = RawClient(self.server.port)
        try:
            for tag, text in ((b"l", b"LOGIN alice alice-demo"), (b"e", b"ENABLE CONDSTORE"), (b"s", b"SELECT INBOX")):
                _, last = r.command(tag, text)
                if last is None or not last.startswith(tag + b" OK"):
                    return
            n = 0
            sent = 0
            while True:
                # Keep IN_FLIGHT commands ahead of the answers, toggling \Flagged.
                while sent < n + IN_FLIGHT:
                    uid = share[sent % len(share)]
                    sign = b"+" if (sent // len(share)) % 2 == 0 else b"-"
                    if not r.send(b"t%d UID STORE %d %sFLAGS (\\Flagged)\r\n" % (sent, uid, sign)):
                        return
                    sent += 1
                line = r.line()
                if line is None:
                    return  # the server is gone
                found = uid_and_modseq(line)
                if found:
                    with self.lock:
                        uid, modseq = found
                        self.told[uid] = max(self.told.get(uid, 0), modseq)
                        self.answers += 1
                        if self.answers >= KILL_AFTER:
                            self.enough.set()
                elif line.startswith(b"t"):
                    n += 1
        finally:
            r.close()

    def modseqs(self, r: RawClient, tag: bytes):
        lines, last = r.command(tag, b"UID FETCH 1:* (MODSEQ)")
        self.assertTrue(last.startswith(tag + b" OK"), last)
        return dict(found for found in map(uid_and_modseq, lines) if found)

    def quiet_modseqs(self):
        r = RawClient(self.server.port)
        try:
            for tag, text in ((b"q1", b"LOGIN alice alice-demo"), (b"q2", b"EXAMINE INBOX")):
                _, last = r.command(tag, text)
                self.assertTrue(last.startswith(tag + b" OK"), last)
            found = self.modseqs(r, b"q3")
            return {uid: found[uid] for uid in self.quiet}
        finally:
            r.close()

    def test_kill_during_store_storm_keeps_modseqs_monotonic(self):
        quiet_before = self.quiet_modseqs()
        shares = [self.uids[i::CLIENTS] for i in range(CLIENTS)]
        threads = [threading.Thread(target=self.storm, args=(share,), daemon=True) for share in shares]
        for t in threads:
            t.start()
        self.assertTrue(self.enough.wait(timeout=120), f"only {self.answers} answers before the deadline")
        self.server.kill()
        for t in threads:
            t.join(timeout=60)
            self.assertFalse(t.is_alive(), "a client did not see the server go")
        with self.lock:
            told = dict(self.told)
        self.assertTrue(told)
        highest_told = max(told.values())

        self.server.start()
        r = RawClient(self.server.port)
        try:
            _, last = r.command(b"a", b"LOGIN alice alice-demo")
            self.assertTrue(last.startswith(b"a OK"), last)
            lines, last = r.command(b"b", b"SELECT INBOX (CONDSTORE)")
            self.assertTrue(last.startswith(b"b OK"), last)
            highest = [int(m.group(1)) for ln in lines for m in [re.search(rb"\[HIGHESTMODSEQ (\d+)\]", ln)] if m]
            self.assertEqual(len(highest), 1, lines)
            self.assertGreaterEqual(highest[0], highest_told)
            now = self.modseqs(r, b"c")
            for uid, modseq in told.items():
                self.assertGreaterEqual(now.get(uid, 0), modseq, f"UID {uid} went back")
            self.assertEqual({uid: now.get(uid) for uid in self.quiet}, quiet_before)
            lines, last = r.command(b"d", b"UID STORE %d +FLAGS (\\Answered)" % self.uids[0])
            self.assertTrue(last.startswith(b"d OK"), last)
            after = [found[1] for found in map(uid_and_modseq, lines) if found]
            self.assertEqual(len(after), 1, lines)
            self.assertGreater(after[0], highest_told)
        finally:
            r.close()


if __name__ == "__main__":
    unittest.main()
