"""SIGKILL during a 1,000-message COPY or MOVE (issue 4).

The server is killed as soon as the destination shows the first sign of the command
(a staged file in its tmp/ or a message in its cur/), while the command is still
running. After a restart on the same Maildir:
- no message is lost: every original message is in the source or the destination
  (for COPY, all of them are still in the source);
- no UID appears twice in either folder's dovecot-uidlist, and every file a folder
  holds has exactly one UID;
- every message keeps its flags (system flags and a keyword) in either folder;
- the next server start reads the uidlists: SELECT reports as many messages as there
  are files and UID SEARCH ALL lists distinct UIDs.
"""

import os
import re
import unittest

from interop_support import (
    RawClient,
    ServerTestCase,
    deliver,
    folder_dir,
    message_files,
    read_uidlist,
    uidlist_path,
)

MESSAGES = 1000
DEST = "Dest"
SOURCE = "Bulk"
MESSAGE_ID = re.compile(rb"^Message-ID: <(crash-\d+)@example\.org>", re.M | re.I)
# Bounds how long the test watches for the command's first trace; never a wait for it.
WATCH_LIMIT = 50_000_000


class CrashTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        c = self.login()
        for folder in (SOURCE, DEST):
            typ, data = c.create(folder)
            self.assertEqual(typ, "OK", data)
        for i in range(MESSAGES):
            data = (b"From: crash@example.org\nSubject: message %d\nMessage-ID: <crash-%d@example.org>\n\n"
                    b"body %d\n" % (i, i, i))
            deliver(self.root, "alice", SOURCE, data, 1_700_000_000 + i, i)
        typ, data = c.select(SOURCE)
        self.assertEqual(typ, "OK", data)
        # Flags travel with the messages: every third one \Flagged, every fifth $Later.
        typ, data = c.uid("STORE", "1:*", "+FLAGS.SILENT", "(\\Seen)")
        self.assertEqual(typ, "OK", data)
        typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        self.assertEqual(typ, "OK", data)
        number_of_uid = {}
        for item in data:
            if isinstance(item, tuple):
                uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                number_of_uid[uid] = int(MESSAGE_ID.search(item[1]).group(1).split(b"-")[1])
        self.assertEqual(len(number_of_uid), MESSAGES)
        for step, flag in ((3, "\\Flagged"), (5, "$Later")):
            uids = ",".join(str(u) for u, n in sorted(number_of_uid.items()) if n % step == 0)
            typ, data = c.uid("STORE", uids, "+FLAGS.SILENT", f"({flag})")
            self.assertEqual(typ, "OK", data)
        c.logout()

    def ids(self, folder):
        """{message-id: count} of the message files in a folder."""
        out = {}
        for mid, _ in self.flags_by_id(folder):
            out[mid] = out.get(mid, 0) + 1
        return out

    def flags_by_id(self, folder):
        """[(message-id, flags)] of a folder, via IMAP on the running server."""
        c = self.login()
        typ, data = c.select(folder, readonly=True)
        self.assertEqual(typ, "OK", data)
        out = []
        if int(data[0]):
            typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            self.assertEqual(typ, "OK", data)
            for item in data:
                if not isinstance(item, tuple):
                    continue
                flags = set(re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).split())
                m = MESSAGE_ID.search(item[1])
                out.append((m.group(1) if m else None, flags))
        c.logout()
        return out

    def check_flags(self, folder):
        """Every message in `folder` has the flags it was given before the command."""
        for mid, flags in self.flags_by_id(folder):
            n = int(mid.split(b"-")[1])
            expected = {b"\\Seen"} | ({b"\\Flagged"} if n % 3 == 0 else set()) | (
                {b"$Later"} if n % 5 == 0 else set())
            self.assertEqual(flags, expected, f"{folder}: {mid!r}")

    def kill_during(self, command: bytes) -> bool:
        """Sends the command, SIGKILLs the server at the first trace in the destination,
        restarts it. True when the kill came before the command's tagged reply."""
        dest = folder_dir(self.root, "alice", DEST)
        r = RawClient(self.server.port)
        r.send(b"a1 LOGIN alice alice-demo\r\n")
        _, last = r.until_tagged(b"a1")
        self.assertTrue(last.startswith(b"a1 OK"), last)
        r.send(b"a2 SELECT " + SOURCE.encode() + b"\r\n")
        _, last = r.until_tagged(b"a2")
        self.assertTrue(last.startswith(b"a2 OK"), last)
        r.send(b"a3 " + command + b"\r\n")
        for _ in range(WATCH_LIMIT):
            if os.listdir(os.path.join(dest, "tmp")) or os.listdir(os.path.join(dest, "cur")):
                break
        self.server.kill()
        # Whatever the server sent before dying; no tagged OK means it was mid-command.
        r.sock.settimeout(5)
        lines, last = r.until_tagged(b"a3")
        r.sock.close()
        self.server.start()
        return last is None

    def check_folder(self, folder):
        """The uidlist has distinct UIDs, one per file; the restarted server agrees."""
        header, records = read_uidlist(uidlist_path(self.root, "alice", folder))
        uids = [u for u, _ in records]
        self.assertEqual(len(uids), len(set(uids)), f"{folder}: duplicate UID in the uidlist")
        bases = [b for _, b in records]
        self.assertEqual(len(bases), len(set(bases)), f"{folder}: a file with two UIDs")
        files = message_files(self.root, "alice", folder)
        c = self.login()
        typ, data = c.select(folder, readonly=True)
        self.assertEqual(typ, "OK", data)
        self.assertEqual(int(data[0]), len(files), folder)
        typ, data = c.uid("SEARCH", "ALL")
        self.assertEqual(typ, "OK", data)
        found = [int(x) for x in data[0].split()]
        self.assertEqual(len(found), len(set(found)), folder)
        self.assertEqual(len(found), len(files), folder)
        # Every file present has its UID recorded.
        recorded = set(bases)
        self.assertTrue(set(files) <= recorded, f"{folder}: files without a UID after restart")
        c.logout()

    def test_sigkill_during_copy_loses_nothing(self):
        interrupted = self.kill_during(b"UID COPY 1:* Dest")
        source = self.ids(SOURCE)
        self.assertEqual(len(source), MESSAGES, "COPY must leave every source message")
        self.assertTrue(all(n == 1 for n in source.values()))
        self.check_folder(SOURCE)
        self.check_folder(DEST)
        self.assertLessEqual(len(self.ids(DEST)), MESSAGES)
        self.check_flags(SOURCE)
        self.check_flags(DEST)
        # A retry completes the copy (the client's view after a crash).
        c = self.login()
        c.select(SOURCE)
        typ, data = c.uid("COPY", "1:*", DEST)
        self.assertEqual(typ, "OK", data)
        self.assertEqual(len(self.ids(DEST)), MESSAGES)
        print(f"copy interrupted mid-command: {interrupted}")

    def test_sigkill_during_move_loses_nothing(self):
        interrupted = self.kill_during(b"UID MOVE 1:* Dest")
        source, dest = self.ids(SOURCE), self.ids(DEST)
        self.assertEqual(set(source) | set(dest), {b"crash-%d" % i for i in range(MESSAGES)},
                         "a message was lost")
        self.assertTrue(all(n == 1 for n in source.values()))
        self.assertTrue(all(n == 1 for n in dest.values()))
        self.check_folder(SOURCE)
        self.check_folder(DEST)
        self.check_flags(SOURCE)
        self.check_flags(DEST)
        print(f"move interrupted mid-command: {interrupted}")


if __name__ == "__main__":
    unittest.main()
