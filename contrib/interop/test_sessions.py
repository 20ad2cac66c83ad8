"""Several sessions on one folder, outside deliveries, restarts, Dovecot's UIDs.

RFC 9051 5.2 and 7.5.1: a change made by one session (or by another program on the
Maildir) reaches every other session that has the folder selected, as EXPUNGE /
EXISTS / FETCH FLAGS, at the latest at its next NOOP (at once during IDLE).
"""

import os
import re
import socket
import unittest

from interop_support import (
    ALICE_FOLDERS,
    EXAMPLES,
    IO_TIMEOUT,
    RawClient,
    ServerTestCase,
    crlf,
    decode_flags,
    deliver,
    fetch_by_seq,
    folder_dir,
    info_letters,
    message_files,
    quote,
    read_uidlist,
    simulate_expunges,
    uidlist_path,
    untagged,
)

DELIVERED = b"""\
Return-Path: <mda-test@example.net>
Date: Sun, 26 Nov 2023 12:00:00 +0000
From: Delivery Test <mda-test@example.net>
To: alice@example.com
Subject: Delivered while you were connected
Message-ID: <delivered-1@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

This message was put into new/ by the test, like an MDA would.
"""

APPENDED = b"Date: Mon, 27 Nov 2023 09:00:00 +0000\r\nFrom: alice@example.com\r\n" \
           b"To: bob@example.com\r\nSubject: Appended\r\nMessage-ID: <appended-1@example.com>\r\n" \
           b"\r\nAPPENDed by imaplib.\r\n"


def golden_folders():
    """(user, wire folder name, uidlist path) for every golden uidlist in the repo."""
    out = []
    for user in sorted(os.listdir(EXAMPLES)):
        home = os.path.join(EXAMPLES, user)
        for entry in sorted(os.listdir(home)):
            path = os.path.join(home, entry, "dovecot-uidlist")
            if entry == "dovecot-uidlist":
                out.append((user, "INBOX", os.path.join(home, entry)))
            elif entry.startswith(".") and os.path.isfile(path):
                out.append((user, entry[1:].replace(".", "/"), path))
    return out


class SessionsTest(ServerTestCase):
    def two_sessions(self, folder="INBOX"):
        a = self.login()
        b = self.login()
        for c in (a, b):
            typ, data = c.select(quote(folder))
            self.assertEqual(typ, "OK", data)
            c.untagged_responses.clear()
        return a, b

    def test_expunge_in_one_session_reaches_the_other_at_noop(self):
        a, b = self.two_sessions()
        uids = [u for u, _ in self.uid_map()]
        bases = dict(self.uid_map())
        self.assertOK(a.store("3", "+FLAGS.SILENT", "(\\Deleted)"))
        typ, data = a.expunge()
        self.assertEqual(typ, "OK", data)
        _left, removed_a = simulate_expunges(uids, [d for d in data if d])
        self.assertEqual(sorted(removed_a), [3, 9])  # 9 was \Deleted in the fixture
        self.assertNotIn(bases[3], self.files())
        # B has not been told yet; NOOP delivers the EXPUNGEs with B's own numbering.
        self.assertOK(b.noop())
        left, removed_b = simulate_expunges(uids, untagged(b, "EXPUNGE"))
        self.assertEqual(sorted(removed_b), [3, 9])
        got = fetch_by_seq(self.assertOK(b.fetch("1:*", "(UID)")))
        self.assertEqual([got[i]["UID"] for i in sorted(got)], left)
        # And B can act on its new numbering: message 3 is now UID 4.
        got = fetch_by_seq(self.assertOK(b.fetch("3", "(UID)")))
        self.assertEqual(got[3]["UID"], 4)

    def test_flags_set_in_one_session_show_in_the_other(self):
        a, b = self.two_sessions()
        self.assertOK(a.store("1", "+FLAGS", "(\\Flagged)"))
        self.assertOK(a.store("4", "+FLAGS", "(Important \\Seen)"))
        self.assertOK(b.noop())
        got = fetch_by_seq([d for d in untagged(b, "FETCH") if d])
        self.assertIn(1, got)
        self.assertIn(4, got)
        self.assertEqual(decode_flags(got[1]["FLAGS"]) - {"\\recent"}, {"\\seen", "\\flagged"})
        self.assertEqual(decode_flags(got[4]["FLAGS"]) - {"\\recent"}, {"\\seen", "Important"})
        self.assertEqual(info_letters(self.files()[self.uid_map()[3][1]][1]), "Sb")

    def test_flag_change_by_another_program_shows_at_noop(self):
        a = self.login()
        a.select("INBOX")
        base = self.uid_map()[3][1]  # message 4, no flags
        sub, name = self.files()[base]
        d = os.path.join(folder_dir(self.root, "alice", "INBOX"), sub)
        # What a local MUA (mutt on the Maildir) does: rename within cur/.
        os.rename(os.path.join(d, name), os.path.join(d, base + ":2,FS"))
        a.untagged_responses.clear()
        self.assertOK(a.noop())
        got = fetch_by_seq([x for x in untagged(a, "FETCH") if x])
        self.assertIn(4, got)
        self.assertEqual(decode_flags(got[4]["FLAGS"]) - {"\\recent"}, {"\\seen", "\\flagged"})

    def test_delivery_into_new_shows_as_exists_at_noop(self):
        a, b = self.two_sessions()
        name = deliver(self.root, "alice", "INBOX", DELIVERED, 1701000000, 1)
        for c in (a, b):
            self.assertOK(c.noop())
            self.assertEqual([int(x) for x in untagged(c, "EXISTS")], [13])
        got = fetch_by_seq(self.assertOK(b.fetch("13", "(UID RFC822.SIZE BODY.PEEK[])")))
        self.assertEqual(got[13]["UID"], 13)
        self.assertEqual(got[13]["BODY[]"], crlf(DELIVERED))
        self.assertEqual(got[13]["RFC822.SIZE"], len(crlf(DELIVERED)))
        # The new UID is recorded in the Dovecot-format uidlist.
        _header, records = read_uidlist(uidlist_path(self.root, "alice", "INBOX"))
        self.assertIn((13, name), records)
        # A session that selects later sees it too; STATUS counts it.
        c = self.login()
        typ, data = c.status("INBOX", "(MESSAGES UIDNEXT UNSEEN)")
        self.assertEqual(typ, "OK", data)
        text = data[0].decode().upper()
        self.assertIn("MESSAGES 13", text)
        self.assertIn("UIDNEXT 14", text)
        self.assertIn("UNSEEN 5", text)

    def test_delivery_reaches_an_idling_session(self):
        raw = RawClient(self.server.port)
        self.addCleanup(raw.close)
        _lines, last = raw.command(b"a1", b"LOGIN alice alice-demo")
        self.assertTrue(last and last.startswith(b"a1 OK"), last)
        _lines, last = raw.command(b"a2", b"SELECT INBOX")
        self.assertTrue(last and last.startswith(b"a2 OK"), last)
        raw.send(b"a3 IDLE\r\n")
        line = raw.line()
        self.assertTrue(line and line.startswith(b"+"), line)
        deliver(self.root, "alice", "INBOX", DELIVERED, 1701000000, 2)
        # The push must come without any client command (bounded by the socket timeout).
        seen = []
        while True:
            try:
                line = raw.line()
            except socket.timeout:
                self.fail(f"no EXISTS pushed during IDLE within {IO_TIMEOUT} s; got {seen!r}")
            self.assertIsNotNone(line, f"connection closed during IDLE after {seen!r}")
            seen.append(line)
            if re.match(rb"^\* 13 EXISTS$", line):
                break
            self.assertTrue(line.startswith(b"* "), seen)
        raw.send(b"DONE\r\n")
        lines, last = raw.until_tagged(b"a3")
        self.assertTrue(last and last.startswith(b"a3 OK"), lines)

    def test_append_in_one_session_reaches_the_other(self):
        a, b = self.two_sessions()
        typ, data = a.append("INBOX", "(\\Seen $Forwarded)", None, APPENDED)
        self.assertEqual(typ, "OK", data)
        m = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[0] or b"")
        self.assertIsNotNone(m, f"APPENDUID (UIDPLUS) missing: {data!r}")
        self.assertEqual(int(m.group(2)), 13)
        header, records = read_uidlist(uidlist_path(self.root, "alice", "INBOX"))
        self.assertEqual(int(m.group(1)), int(header["V"]))
        base = dict(records)[13]
        sub, name = self.files()[base]
        self.assertEqual(sub, "cur")
        self.assertEqual(info_letters(name), "Sa")
        with open(os.path.join(folder_dir(self.root, "alice", "INBOX"), sub, name), "rb") as fh:
            self.assertEqual(crlf(fh.read()), APPENDED)
        self.assertOK(b.noop())
        self.assertEqual([int(x) for x in untagged(b, "EXISTS")], [13])
        got = fetch_by_seq(self.assertOK(b.fetch("13", "(UID FLAGS BODY.PEEK[])")))
        self.assertEqual(got[13]["UID"], 13)
        self.assertEqual(got[13]["BODY[]"], APPENDED)
        self.assertEqual(decode_flags(got[13]["FLAGS"]) - {"\\recent"}, {"\\seen", "$Forwarded"})

    def test_restart_keeps_uidvalidity_and_uids(self):
        c = self.login()
        self.assertOK(c.select("INBOX"))
        self.assertOK(c.store("2", "+FLAGS", "(\\Deleted)"))
        self.assertOK(c.expunge())
        deliver(self.root, "alice", "INBOX", DELIVERED, 1701000000, 3)
        c.noop()
        before = self.snapshot(c)
        c.logout()
        self.clients.remove(c)
        code = self.server.stop()
        self.assertEqual(code, 0, "SIGTERM must stop the server with exit status 0")
        self.server.start()
        c = self.login()
        after = self.snapshot(c)
        self.assertEqual(after, before)
        self.assertEqual(before["INBOX"][1], [1, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13])  # 2 and 9 expunged

    def snapshot(self, c):
        """{folder: (UIDVALIDITY, [UIDs], UIDNEXT)} for every folder of alice."""
        out = {}
        for folder in ALICE_FOLDERS:
            typ, data = c.select(quote(folder), readonly=True)
            self.assertEqual(typ, "OK", (folder, data))
            validity = int(untagged(c, "UIDVALIDITY")[0])
            uid_next = int(untagged(c, "UIDNEXT")[0])
            typ, data = c.uid("SEARCH", "ALL")
            self.assertEqual(typ, "OK", data)
            out[folder] = (validity, [int(x) for x in data[0].split()], uid_next)
        return out

    def test_dovecot_written_uids_are_the_ones_served(self):
        golden = golden_folders()
        self.assertGreaterEqual(len(golden), 9, "expected golden uidlists for every folder")
        clients = {}
        for user, folder, path in golden:
            header, records = read_uidlist(path)
            c = clients.get(user) or clients.setdefault(user, self.login(user))
            typ, data = c.select(quote(folder), readonly=True)
            self.assertEqual(typ, "OK", (user, folder, data))
            self.assertEqual(int(untagged(c, "UIDVALIDITY")[0]), int(header["V"]), (user, folder))
            self.assertEqual(int(untagged(c, "UIDNEXT")[0]),
                             max(int(header["N"]), records[-1][0] + 1), (user, folder))
            typ, data = c.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
            self.assertEqual(typ, "OK", data)
            served = {d["UID"]: d["BODY[]"] for d in fetch_by_seq(data).values()}
            files = message_files(EXAMPLES, user, folder)
            expected = {}
            for uid, base in records:
                sub, name = files[base]
                with open(os.path.join(folder_dir(EXAMPLES, user, folder), sub, name), "rb") as fh:
                    expected[uid] = crlf(fh.read())
            self.assertEqual(sorted(served), sorted(expected), (user, folder))
            for uid in expected:
                self.assertEqual(served[uid], expected[uid], (user, folder, uid))


if __name__ == "__main__":
    unittest.main()
