"""mbsync (isync) mirrors alice's mail into a local Maildir and back.

Far = the server under test over plain IMAP on 127.0.0.1, Near = a local Maildir
(`SubFolders Verbatim`). mbsync names near files `...,U=<far UID>:2,<flags>`, which
lets the test pair every near file with the server's message exactly.
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from interop_support import (
    ALICE_FOLDERS,
    ServerTestCase,
    info_letters,
    message_files,
    tree_digest,
)

# mbsync maps the $Forwarded keyword to the Maildir letter P; keywords are not
# mirrored otherwise (isync 1.4), so flags are compared on these letters only.
SYSTEM_LETTERS = set("DFRST")
MBSYNC_TIMEOUT = 300

FOLDERS = tuple(ALICE_FOLDERS)

RC = """\
IMAPAccount far
Host 127.0.0.1
Port {port}
User alice
Pass alice-demo
SSLType None
AuthMechs LOGIN
Timeout 60

IMAPStore far
Account far

MaildirStore near
Path {near}/
Inbox {near}/INBOX
SubFolders Verbatim

Channel mirror
Far :far:
Near :near:
Patterns *
Create {create}
Remove {remove}
Sync All
Expunge {expunge}
SyncState {syncstate}
"""

U_FIELD = re.compile(r",U=(\d+)")


def mbsync_binary() -> str:
    path = shutil.which("mbsync")
    if not path:
        raise AssertionError("mbsync not found: install Debian's isync "
                             "(contrib/install-test-deps does it)")
    return path


class MbsyncTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.mbsync = mbsync_binary()
        self.near = os.path.join(self.work, "near")
        os.makedirs(self.near)

    def sync(self, expunge="None", create="Near", remove="None", syncstate="*"):
        rc = os.path.join(self.work, f"mbsyncrc-{expunge}-{create}-{remove}")
        with open(rc, "w") as fh:
            fh.write(RC.format(port=self.server.port, near=self.near, expunge=expunge, create=create,
                               remove=remove, syncstate=syncstate))
        p = subprocess.run([self.mbsync, "-c", rc, "-V", "mirror"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=MBSYNC_TIMEOUT)
        self.assertEqual(p.returncode, 0, f"mbsync failed:\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}"
                                          f"\n--- server log ---\n{self.server.log_tail()}")
        return p

    def near_files(self, folder):
        """{far UID: (path, flag letters)} of the near copy of a folder."""
        d = os.path.join(self.near, *folder.split("/"))
        out = {}
        for sub in ("cur", "new"):
            p = os.path.join(d, sub)
            self.assertTrue(os.path.isdir(p), f"mbsync did not create {p}")
            for f in os.listdir(p):
                if f.startswith("."):
                    continue
                m = U_FIELD.search(f)
                self.assertIsNotNone(m, f"near file without U=: {f}")
                out[int(m.group(1))] = (os.path.join(p, f), info_letters(f))
        return out

    def server_files(self, folder):
        """{UID: flag letters} of the server's Maildir, via the uidlist."""
        files = message_files(self.root, "alice", folder)
        return {uid: info_letters(files[base][1]) for uid, base in self.uid_map(folder)}

    def rename_near(self, folder, uid, letters):
        path, _ = self.near_files(folder)[uid]
        d = os.path.dirname(os.path.dirname(path))
        name = os.path.basename(path).rsplit(":", 1)[0]
        new = os.path.join(d, "cur", f"{name}:2,{''.join(sorted(letters))}")
        os.rename(path, new)

    def test_mirror_has_every_message_with_its_flags(self):
        self.sync()
        for folder in FOLDERS:
            near = self.near_files(folder)
            server = self.server_files(folder)
            self.assertEqual(sorted(near), sorted(server), folder)
            for uid, letters in server.items():
                self.assertEqual(set(near[uid][1]) & SYSTEM_LETTERS, set(letters) & SYSTEM_LETTERS,
                                 f"{folder} UID {uid}")
        self.assertEqual(len(self.near_files("INBOX")), 12)
        # A second run finds nothing to do and changes nothing on the server.
        before = {f: self.server_files(f) for f in FOLDERS}
        self.sync()
        self.assertEqual({f: self.server_files(f) for f in FOLDERS}, before)

    def test_local_flag_change_reaches_the_server(self):
        self.sync()
        self.assertEqual(self.server_files("INBOX")[4], "")
        self.rename_near("INBOX", 4, "FS")
        self.rename_near("INBOX", 2, "S")  # was FS: unflag
        self.sync()
        server = self.server_files("INBOX")
        self.assertEqual(set(server[4]) & SYSTEM_LETTERS, {"F", "S"})
        self.assertEqual(set(server[2]) & SYSTEM_LETTERS, {"S"})
        c = self.login()
        c.select("INBOX", readonly=True)
        typ, data = c.uid("SEARCH", "FLAGGED")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(sorted(int(x) for x in data[0].split()), [4, 10])

    def test_local_delete_reaches_the_server(self):
        self.sync()
        bases = dict(self.uid_map("INBOX"))
        self.rename_near("INBOX", 1, "ST")
        self.sync(expunge="Both")
        files = message_files(self.root, "alice", "INBOX")
        self.assertNotIn(bases[1], files, "locally deleted message still on the server")
        self.assertNotIn(bases[9], files, "\\Deleted message not expunged by Expunge Both")
        self.assertEqual(len(files), 10)
        self.assertNotIn(1, self.near_files("INBOX"))
        c = self.login()
        c.select("INBOX", readonly=True)
        typ, data = c.uid("SEARCH", "ALL")
        self.assertEqual(sorted(int(x) for x in data[0].split()), [2, 3, 4, 5, 6, 7, 8, 10, 11, 12])

    def test_create_remove_expunge_both_and_a_second_sync_changes_nothing(self):
        # The sync state lives outside the near boxes: mbsync tells a deleted box from
        # a new one by its state, which `SyncState *` would delete with the box.
        state = os.path.join(self.work, "mbsync-state") + "/"
        os.makedirs(state)
        both = dict(expunge="Both", create="Both", remove="Both", syncstate=state)
        c = self.login()
        typ, data = c.create("Empty")
        self.assertEqual(typ, "OK", data)
        c.logout()
        self.sync(**both)
        self.assertTrue(os.path.isdir(os.path.join(self.near, "Empty", "cur")))
        # Near: a new folder with two messages, the empty folder removed, one message
        # deleted (T) in INBOX.
        projects = os.path.join(self.near, "Projects")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(projects, sub))
        for i in (1, 2):
            with open(os.path.join(projects, "new", f"170000000{i}.M{i}P1.near"), "wb") as fh:
                fh.write(b"From: near@example.org\r\nSubject: project %d\r\n\r\nbody %d\r\n" % (i, i))
        shutil.rmtree(os.path.join(self.near, "Empty"))
        bases = dict(self.uid_map("INBOX"))
        self.rename_near("INBOX", 3, "ST")
        out = self.sync(**both)
        server_projects = os.path.join(self.root, "alice", ".Projects")
        self.assertTrue(os.path.isfile(os.path.join(server_projects, "maildirfolder")))
        self.assertEqual(len(self.files("Projects")), 2)
        self.assertEqual(sorted(u for u, _ in self.uid_map("Projects")), [1, 2])
        self.assertFalse(os.path.exists(os.path.join(self.root, "alice", ".Empty")),
                         f"Remove Both:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
        self.assertNotIn(bases[3], self.files("INBOX"), "Expunge Both")
        # The near copies carry the server UIDs mbsync learnt from APPENDUID.
        self.assertEqual(sorted(self.near_files("Projects")), [1, 2])
        # A second sync finds nothing to do: neither tree changes. The server may compact
        # a dovecot-uidlist meanwhile (.Trash's, after the expunge), so its uidlists are
        # compared by what they say about the messages present (tree_digest's
        # live_uidlists), not byte for byte.
        server_before = tree_digest(os.path.join(self.root, "alice"), live_uidlists=True)
        near_before = tree_digest(self.near)
        self.sync(**both)
        self.assertEqual(tree_digest(os.path.join(self.root, "alice"), live_uidlists=True), server_before)
        self.assertEqual(tree_digest(self.near), near_before)



class LiveUidlistDigestTests(unittest.TestCase):
    """tree_digest(live_uidlists=True) ignores a compaction, not a change."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="uidlist-digest.")
        self.addCleanup(shutil.rmtree, self.work)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.work, sub))
        for name in ("1.M1P1.h:2,S", "2.M2P1.h:2,"):
            open(os.path.join(self.work, "cur", name), "w").close()
        self.write("3 V7 N4 G0123\n1 :1.M1P1.h\n2 S10 :2.M2P1.h\n3 :3.M3P1.h\n")

    def write(self, text):
        with open(os.path.join(self.work, "dovecot-uidlist"), "w") as fh:
            fh.write(text)

    def digest(self):
        return tree_digest(self.work, live_uidlists=True)

    def test_compaction_is_no_change(self):
        before = self.digest()
        self.write("3 V7 N4 G0123 Cfoo\n1 :1.M1P1.h\n2 :2.M2P1.h\n")
        self.assertEqual(self.digest(), before)
        self.assertNotEqual(tree_digest(self.work), before)

    def test_a_header_lagging_behind_appended_records_is_the_compacted_header(self):
        # As the fixture's .Trash: Dovecot appended UID 3 without rewriting N; the
        # server's compaction drops 3 (its file is gone) and writes N4.
        self.write("3 V7 N2 G0123\n1 :1.M1P1.h\n2 :2.M2P1.h\n3 :3.M3P1.h\n")
        before = self.digest()
        self.write("3 V7 N4 G0123\n1 :1.M1P1.h\n2 :2.M2P1.h\n")
        self.assertEqual(self.digest(), before)

    def test_a_new_uid_next_uid_or_renumbering_is_a_change(self):
        before = self.digest()
        for text in ("3 V7 N5 G0123\n1 :1.M1P1.h\n2 :2.M2P1.h\n",
                     "3 V8 N4 G0123\n1 :1.M1P1.h\n2 :2.M2P1.h\n",
                     "3 V7 N4 G0123\n1 :1.M1P1.h\n3 :2.M2P1.h\n"):
            self.write(text)
            self.assertNotEqual(self.digest(), before, text)
        self.write("3 V7 N4 G0123\n1 :1.M1P1.h\n2 :2.M2P1.h\n")
        open(os.path.join(self.work, "new", "3.M3P1.h"), "w").close()
        self.assertNotEqual(self.digest(), before, "a file added (and UID 3 now live)")


if __name__ == "__main__":
    unittest.main()
