"""Issue 13 item 1: a server started as root serves several system users' Maildirs, and
every file it creates or replaces belongs to the Maildir's user, with the kernel
checking each access as that user.

The spool holds three Maildirs:
- `ua` and `ub`: system users of different uids, given in the passwd file (uid:gid
  fields, Dovecot's passwd-file semantics);
- `vu`: a passwd entry without uid/gid whose Maildir belongs to a vmail-style account
  (the server takes the Maildir root's owner).
For each, APPEND, CREATE, RENAME, SUBSCRIBE, STORE (with a keyword), COPY, MOVE,
EXPUNGE and a delivery by a local MDA (a process running as the user) are run, then
every file and directory of the Maildir is checked: owned by the user, 0600 / 0700.
Then `evil`, whose passwd entry has ua's uid but whose home is ub's Maildir (a path
mistake), must not get in, and a folder inside ua's Maildir that belongs to ub stays
unreadable to ua's session.

The uids are numeric ones without /etc/passwd entries: the kernel knows users only by
number, and the test leaves no accounts behind. It needs root (CI runs as root) and
fails, rather than skips, without it.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

from interop_support import TARGET, Server, fail_setup, imapd_binary

imaplib = __import__("imaplib")
imaplib.Commands.setdefault("MOVE", ("SELECTED",))

# uid == gid for each test user; far above any distribution's range.
USERS = {"ua": 42101, "ub": 42102, "vu": 42103}
PASSWORDS = {"ua": "ua-secret", "ub": "ub-secret", "vu": "vu-secret", "evil": "evil-secret"}
MESSAGE = b"From: a@example.org\r\nSubject: ownership\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n\r\nbody\r\n"


def hash_password(password: str) -> str:
    out = subprocess.run([imapd_binary(), "passwd", "--scheme", "SHA512-CRYPT"], input=password.encode(),
                         capture_output=True, check=True)
    return out.stdout.decode().strip()


def make_maildir(path: str, uid: int) -> None:
    for sub in ("", "cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), mode=0o700, exist_ok=True)
        os.chmod(os.path.join(path, sub), 0o700)
        os.chown(os.path.join(path, sub), uid, uid)


def deliver_as(uid: int, maildir: str, name: str, data: bytes) -> None:
    """A local MDA: a process running as the user writes tmp/, renames into new/."""
    script = 'umask 077 && cat > "tmp/$1" && sync "tmp/$1" && mv "tmp/$1" "new/$1"'
    subprocess.run(["/bin/sh", "-c", script, "mda", name], input=data, cwd=maildir, user=uid, group=uid,
                   extra_groups=[], check=True)


def close_quietly(client) -> None:
    try:
        client.shutdown()
    except OSError:
        pass


@unittest.skipIf(TARGET == "dovecot", "per-user ownership of this server (the private Dovecot runs as one user)")
class PerUserOwnershipTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        if os.getuid() != 0:
            fail_setup("test_ownership needs root (it serves several system users' Maildirs): "
                       "run contrib/interop/run.sh as root, as CI does")
        self.work = tempfile.mkdtemp(prefix="imapd-ownership-")
        self.addCleanup(shutil.rmtree, self.work, True)
        os.chmod(self.work, 0o755)
        self.spool = os.path.join(self.work, "spool")
        os.makedirs(self.spool, mode=0o755)
        for user, uid in USERS.items():
            make_maildir(os.path.join(self.spool, user), uid)
        # A folder of ub's planted in ua's Maildir: ua's session must not read it.
        peek = os.path.join(self.spool, "ua", ".Peek")
        make_maildir(peek, USERS["ub"])
        secret = os.path.join(peek, "cur", "1700000000.M1P1.host,S=7:2,S")
        with open(secret, "wb") as fh:
            fh.write(b"secret\n")
        os.chown(secret, USERS["ub"], USERS["ub"])
        os.chmod(secret, 0o600)
        lines = []
        for user in ("ua", "ub"):
            uid = USERS[user]
            lines.append(f"{user}:{hash_password(PASSWORDS[user])}:{uid}:{uid}::")
        lines.append(f"vu:{hash_password(PASSWORDS['vu'])}")
        # ua's ids, ub's Maildir: a path mistake in the passwd file.
        lines.append(f"evil:{hash_password(PASSWORDS['evil'])}:{USERS['ua']}:{USERS['ua']}::"
                     f"{os.path.join(self.spool, 'ub')}:")
        self.passwd = os.path.join(self.work, "passwd")
        with open(self.passwd, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        os.chmod(self.passwd, 0o600)
        # With a quota, so that maildirsize (recalculated, then appended) is checked too.
        self.server = Server(self.spool, self.work, target="imapd", passwd=self.passwd,
                             extra_args=["--quota-rule", "*:storage=1G"])
        self.addCleanup(self.server.stop)
        self.server.start()

    def login(self, user):
        c = self.server.imap()
        self.addCleanup(close_quietly, c)
        typ, data = c.login(user, PASSWORDS[user])
        self.assertEqual(typ, "OK", data)
        return c

    def ok(self, result, what):
        typ, data = result
        self.assertEqual(typ, "OK", f"{what}: {data!r}\n--- server log ---\n{self.server.log_tail()}")
        return data

    def exercise(self, user):
        uid = USERS[user]
        maildir = os.path.join(self.spool, user)
        c = self.login(user)
        self.ok(c.append("INBOX", None, None, MESSAGE), "APPEND")
        self.ok(c.append("INBOX", "(\\Seen)", None, MESSAGE), "APPEND")
        self.ok(c.create("Work"), "CREATE")
        self.ok(c.rename("Work", "Project"), "RENAME")
        self.ok(c.subscribe("Project"), "SUBSCRIBE")
        self.ok(c.create("Archive"), "CREATE")
        data = self.ok(c.select("INBOX"), "SELECT")
        self.assertEqual(data, [b"2"])
        self.ok(c.store("1", "+FLAGS", "(\\Flagged $Label1)"), "STORE")
        self.ok(c.copy("1", "Project"), "COPY")
        self.ok(c._simple_command("MOVE", "2", "Archive"), "MOVE")
        self.ok(c.store("1", "+FLAGS", "(\\Deleted)"), "STORE")
        self.ok(c.expunge(), "EXPUNGE")
        # A local MDA running as the user delivers; the session sees it.
        deliver_as(uid, maildir, f"1700000100.M2P2.mda-{user},S={len(MESSAGE)}", MESSAGE)
        self.ok(c.noop(), "NOOP")
        data = self.ok(c.select("INBOX"), "SELECT")
        self.assertEqual(data, [b"1"], "the delivered message is the only one left in INBOX")
        data = self.ok(c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"), "FETCH")
        self.assertIn(b"Subject: ownership", data[0][1])
        self.ok(c.select("Project"), "SELECT")
        c.logout()
        # The user's own tools still work on what the server wrote.
        deliver_as(uid, os.path.join(maildir, ".Project"), "1700000200.M3P3.mda,S=4", b"x\r\n\r\n")
        return maildir

    def assert_owned(self, maildir, uid, skip=()):
        wrong = []
        seen = 0
        for dirpath, dirs, files in os.walk(maildir):
            dirs[:] = [d for d in dirs if os.path.join(dirpath, d) not in skip]
            for path, want_mode in [(dirpath, 0o700)] + [(os.path.join(dirpath, f), 0o600) for f in files]:
                st = os.lstat(path)
                seen += 1
                got = (st.st_uid, st.st_gid, st.st_mode & 0o7777)
                if got != (uid, uid, want_mode):
                    wrong.append(f"{os.path.relpath(path, self.spool)}: {got[0]}:{got[1]} {oct(got[2])}, "
                                 f"expected {uid}:{uid} {oct(want_mode)}")
        self.assertEqual(wrong, [])
        return seen

    def test_every_write_belongs_to_the_maildirs_user(self):
        for user, uid in USERS.items():
            with self.subTest(user=user):
                maildir = self.exercise(user)
                skip = {os.path.join(maildir, ".Peek")}
                seen = self.assert_owned(maildir, uid, skip)
                names = set(os.listdir(maildir))
                # Every kind of file the server writes is among what was checked.
                for made in ("dovecot-uidlist", "dovecot-keywords", "subscriptions", ".Project", ".Archive",
                             "maildirsize"):
                    self.assertIn(made, names, f"{user}: {sorted(names)}")
                self.assertGreater(seen, 20)

    def test_a_path_mistake_never_reaches_another_users_mail(self):
        c = self.server.imap()
        self.addCleanup(close_quietly, c)
        with self.assertRaises(imaplib.IMAP4.error) as caught:
            c.login("evil", PASSWORDS["evil"])
        self.assertIn(b"[UNAVAILABLE]", str(caught.exception).encode())
        self.assertIn("Maildir", self.server.log_tail())
        self.assertIn("Permission denied", self.server.log_tail())
        # Inside ua's own Maildir, the folder ub owns is refused by the kernel.
        a = self.login("ua")
        typ, data = a.list()
        self.assertEqual(typ, "OK", data)
        self.assertIn("folder not readable", self.server.log_tail())
        self.assertIn(os.path.join(self.spool, "ua", ".Peek"), self.server.log_tail())
        typ, data = a.select("Peek")
        self.assertEqual(typ, "NO", data)
        typ, data = a.status("Peek", "(MESSAGES)")
        self.assertEqual(typ, "NO", data)
        a.logout()
        peek = os.path.join(self.spool, "ua", ".Peek")
        self.assertEqual(sorted(os.listdir(peek)), ["cur", "new", "tmp"], "nothing written into ub's folder")


if __name__ == "__main__":
    unittest.main()
