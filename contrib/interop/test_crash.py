"""SIGKILL during a 1,000-message COPY or MOVE (issue 4).

The server is killed as soon as the destination shows the first sign of the command
(a staged file in its tmp/ or a message in its cur/), while the command is still
running. After a restart on the same Maildir:
- no message is lost: every original message is in the source or the destination
  (for COPY, all of them are still in the source);
- no UID appears twice in either folder's dovecot-uidlist, and every file a folder
  holds has exactly one UID;
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
MESSAGE_ID = re.compile(rb"^Message-ID: <(crash-\d+)@example\.org>", re.M | re.I)
# Bounds how long the test watches for the command's first trace; never a wait for it.
WATCH_LIMIT = 50_000_000


class CrashTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        for i in range(MESSAGES):
            data = (b"From: crash@example.org\nSubject: message %d\nMessage-ID: <crash-%d@example.org>\n\n"
                    b"body %d\n" % (i, i, i))
            deliver(self.root, "alice", "Sent", data, 1_700_000_000 + i, i)
        c = self.login()
        typ, data = c.create(DEST)
        self.assertEqual(typ, "OK", data)
        typ, data = c.select("Sent")
        self.assertEqual(typ, "OK", data)
        c.logout()

    def ids(self, folder):
        """{message-id: count} of the message files in a folder."""
        out = {}
        d = folder_dir(self.root, "alice", folder)
        for sub, name in message_files(self.root, "alice", folder).values():
            with open(os.path.join(d, sub, name), "rb") as fh:
                m = MESSAGE_ID.search(fh.read())
            if m:
                out[m.group(1)] = out.get(m.group(1), 0) + 1
        return out

    def kill_during(self, command: bytes) -> bool:
        """Sends the command, SIGKILLs the server at the first trace in the destination,
        restarts it. True when the kill came before the command's tagged reply."""
        dest = folder_dir(self.root, "alice", DEST)
        r = RawClient(self.server.port)
        r.send(b"a1 LOGIN alice alice-demo\r\n")
        _, last = r.until_tagged(b"a1")
        self.assertTrue(last.startswith(b"a1 OK"), last)
        r.send(b"a2 SELECT Sent\r\n")
        _, last = r.until_tagged(b"a2")
        self.assertTrue(last.startswith(b"a2 OK"), last)
        r.send(b"a3 " + command + b"\r\n")
        for _ in range(WATCH_LIMIT):
            if os.listdir(os.path.join(dest, "tmp")) or os.listdir(os.path.join(dest, "cur")):
                break
        proc, self.server.proc = self.server.proc, None
        proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()
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
        source = self.ids("Sent")
        self.assertEqual(len(source), MESSAGES, "COPY must leave every source message")
        self.assertTrue(all(n == 1 for n in source.values()))
        self.check_folder("Sent")
        self.check_folder(DEST)
        self.assertLessEqual(len(self.ids(DEST)), MESSAGES)
        # A retry completes the copy (the client's view after a crash).
        c = self.login()
        c.select("Sent")
        typ, data = c.uid("COPY", "1:*", DEST)
        self.assertEqual(typ, "OK", data)
        self.assertEqual(len(self.ids(DEST)), MESSAGES)
        print(f"copy interrupted mid-command: {interrupted}")

    def test_sigkill_during_move_loses_nothing(self):
        interrupted = self.kill_during(b"UID MOVE 1:* Dest")
        source, dest = self.ids("Sent"), self.ids(DEST)
        self.assertEqual(set(source) | set(dest), {b"crash-%d" % i for i in range(MESSAGES)},
                         "a message was lost")
        self.assertTrue(all(n == 1 for n in source.values()))
        self.assertTrue(all(n == 1 for n in dest.values()))
        self.check_folder("Sent")
        self.check_folder(DEST)
        print(f"move interrupted mid-command: {interrupted}")


if __name__ == "__main__":
    unittest.main()
