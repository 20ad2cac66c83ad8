"""offlineimap3 syncs alice's tree both ways without duplicating a message.

offlineimap records the server UID of every local file (`,U=` in the name). For a
message it uploads it learns that UID from APPENDUID (UIDPLUS, RFC 4315); without it
it would search for a header it adds. The test syncs the server down, adds messages
locally (into INBOX and into a new local folder), syncs up, then syncs again: every
Message-ID is on the server once per folder, and the last sync changes neither tree.
"""

import os
import re
import shutil
import subprocess
import unittest

from interop_support import ALICE_FOLDERS, ServerTestCase, folder_dir, message_files, tree_digest

OFFLINEIMAP_TIMEOUT = 300
MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^>]+)>", re.M | re.I)

CONFIG = """\
[general]
accounts = test
metadata = {work}/offlineimap-meta
ui = basic

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {work}/local
sep = /

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = {port}
remoteuser = alice
remotepass = alice-demo
ssl = no
starttls = no
"""


def offlineimap_binary() -> str:
    for name in ("offlineimap3", "offlineimap"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("offlineimap not found: install Debian's offlineimap3 "
                         "(contrib/install-test-deps does it)")


class OfflineimapTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.local = os.path.join(self.work, "local")
        self.config = os.path.join(self.work, "offlineimaprc")
        with open(self.config, "w") as fh:
            fh.write(CONFIG.format(work=self.work, port=self.server.port))

    def sync(self):
        p = subprocess.run([offlineimap_binary(), "-c", self.config, "-o"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=OFFLINEIMAP_TIMEOUT,
                           env=dict(os.environ, HOME=self.work))
        self.assertEqual(p.returncode, 0, f"offlineimap failed:\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}"
                                          f"\n--- server log ---\n{self.server.log_tail()}")
        self.assertNotIn("ERROR", p.stdout + p.stderr, p.stdout[-4000:] + p.stderr[-4000:])
        return p

    def server_ids(self, folder):
        """[Message-ID] of the server's files in a folder (one entry per file)."""
        d = folder_dir(self.root, "alice", folder)
        out = []
        for sub, name in message_files(self.root, "alice", folder).values():
            with open(os.path.join(d, sub, name), "rb") as fh:
                m = MESSAGE_ID.search(fh.read())
            out.append(m.group(1) if m else name.encode())
        return out

    def add_local(self, folder, n):
        d = os.path.join(self.local, *folder.split("/"))
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        with open(os.path.join(d, "new", f"1701000000.M{n}P1.local"), "wb") as fh:
            fh.write(b"From: local@example.org\nSubject: local %d\nMessage-ID: <local-%d@example.org>\n\n"
                     b"written locally\n" % (n, n))

    def test_sync_both_ways_without_duplicates(self):
        self.sync()
        inbox_local = os.path.join(self.local, "INBOX")
        local_count = sum(len(os.listdir(os.path.join(inbox_local, s))) for s in ("cur", "new"))
        self.assertEqual(local_count, ALICE_FOLDERS["INBOX"])
        before = {f: self.server_ids(f) for f in ALICE_FOLDERS}
        self.add_local("INBOX", 1)
        self.add_local("Archive", 2)
        self.add_local("Projects", 3)
        self.sync()
        self.assertEqual(sorted(self.server_ids("INBOX")), sorted(before["INBOX"] + [b"local-1@example.org"]))
        self.assertEqual(sorted(self.server_ids("Archive")), sorted(before["Archive"] + [b"local-2@example.org"]))
        self.assertEqual(self.server_ids("Projects"), [b"local-3@example.org"])
        self.assertTrue(os.path.isfile(os.path.join(folder_dir(self.root, "alice", "Projects"), "maildirfolder")))
        # Every local file, the uploaded one included, now carries its server UID
        # (the uploaded one's from APPENDUID): 1…13, no gaps, no repeats.
        uploaded = os.listdir(os.path.join(inbox_local, "new")) + os.listdir(os.path.join(inbox_local, "cur"))
        local_uids = [re.search(r",U=(\d+)", f) for f in uploaded]
        self.assertTrue(all(local_uids), uploaded)
        self.assertEqual(sorted(int(m.group(1)) for m in local_uids), list(range(1, ALICE_FOLDERS["INBOX"] + 2)))
        server_tree = tree_digest(os.path.join(self.root, "alice"))
        for folder in list(ALICE_FOLDERS) + ["Projects"]:
            ids = self.server_ids(folder)
            self.assertEqual(len(ids), len(set(ids)), f"{folder}: duplicated message")
        self.sync()
        self.assertEqual(tree_digest(os.path.join(self.root, "alice")), server_tree,
                         "a sync with nothing to do changed the server")


if __name__ == "__main__":
    unittest.main()
