"""Maildir++ quota (RFC 9208 QUOTA, issue 16) against Dovecot 2.3's `maildir` quota on
the same spool: a `maildirsize` written by imapd-maildir is read by Dovecot
(`doveadm quota get` gives the same STORAGE and MESSAGE figures), and one Dovecot wrote
(after `doveadm quota recalc`, and after an APPEND through Dovecot) is read by
imapd-maildir without recalculating it.

Both servers run with the same limits (Dovecot's `quota_rule`/`quota_rule2` and our
`--quota-rule` twice): a `maildirsize` whose limits line differs from the configured
limits is recalculated by both, which would hide a misreading.

Dovecot runs with the private configuration of dovecot.conf.in, its quota switched
from `count` to `maildir` (doveadm needs the running Dovecot's auth service).
"""

import imaplib
import os
import re
import signal
import subprocess
import unittest

from interop_support import (
    HOST,
    IO_TIMEOUT,
    STOP_TIMEOUT,
    TARGET,
    USERS,
    ServerTestCase,
    _die_with_parent,
    dovecot_binary,
    dovecot_config,
    dovecot_own_tree,
    free_port,
    wait_for_greeting,
)

RULES = ["*:storage=100M", "*:messages=1000"]
MESSAGE = b"From: quota@example.org\r\nSubject: quota interop\r\n\r\n" + b"x" * 3000 + b"\r\n"
QUOTA_RE = re.compile(r'\* QUOTA "User quota" \(STORAGE (\d+) (\d+) MESSAGE (\d+) (\d+)\)')


class PrivateDovecot:
    """Dovecot with the maildir quota backend over `root` (started, stopped)."""

    def __init__(self, work: str, root: str):
        self.run_dir = os.path.join(work, "dovecot")
        self.port = free_port()
        self.conf = dovecot_config(self.run_dir, root, self.port)
        with open(self.conf) as fh:
            text = fh.read()
        plugin = "plugin {\n  quota = maildir:User quota\n"
        plugin += "".join(
            f"  quota_rule{'' if i == 0 else i + 1} = {rule}\n" for i, rule in enumerate(RULES))
        text = re.sub(r"plugin \{.*?\n\}", plugin + "}", text, flags=re.S)
        with open(self.conf, "w") as fh:
            fh.write(text)
        self.root = root
        self.proc = None

    def start(self):
        dovecot_own_tree(self.run_dir, self.root)
        self.proc = subprocess.Popen(
            [dovecot_binary(), "-F", "-c", self.conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        wait_for_greeting(self.proc, self.port, lambda why: (_ for _ in ()).throw(AssertionError("dovecot " + why)))

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def doveadm(self, *args) -> str:
        done = subprocess.run(["doveadm", "-c", self.conf] + list(args), capture_output=True, text=True,
                              timeout=IO_TIMEOUT)
        if done.returncode != 0:
            raise AssertionError(f"doveadm {' '.join(args)}: {done.returncode}: {done.stderr}")
        return done.stdout

    def quota_get(self, user="alice"):
        """(storage KiB, storage limit KiB, messages, message limit) as doveadm reports them."""
        values = {}
        for line in self.doveadm("-f", "tab", "quota", "get", "-u", user).splitlines()[1:]:
            fields = line.split("\t")
            values[fields[1]] = (int(fields[2]), int(fields[3]))
        return values["STORAGE"] + values["MESSAGE"]


@unittest.skipIf(TARGET == "dovecot", "compares imapd-maildir with Dovecot; nothing to compare under IMAPD_TARGET=dovecot")
class QuotaInteropTest(ServerTestCase):
    server_args = tuple(arg for rule in RULES for arg in ("--quota-rule", rule))

    def setUp(self):
        super().setUp()
        self.dovecot = PrivateDovecot(self.work, self.root)
        self.addCleanup(self.dovecot.stop)
        self.maildirsize = os.path.join(self.root, "alice", "maildirsize")
        # The fixture keeps empty folders in git with `.keep` files in cur/. Dovecot's
        # recalculation counts such dot files as messages, ours skips them (a deliberate
        # difference): without them the two recalculations can be compared too.
        for dirpath, _, names in os.walk(os.path.join(self.root, "alice")):
            for name in names:
                if name == ".keep":
                    os.unlink(os.path.join(dirpath, name))

    def our_quota(self):
        client = self.login()
        typ, data = client._simple_command("GETQUOTAROOT", "INBOX")
        self.assertEqual(typ, "OK", data)
        lines = [line.decode() for line in client.untagged_responses.get("QUOTA", [])]
        client.logout()
        self.clients.remove(client)
        self.assertEqual(len(lines), 1, lines)
        m = QUOTA_RE.match("* QUOTA " + lines[0])
        self.assertIsNotNone(m, lines)
        return tuple(int(g) for g in m.groups())

    def read_maildirsize(self) -> str:
        with open(self.maildirsize) as fh:
            return fh.read()

    def test_maildirsize_written_by_us_is_read_by_dovecot(self):
        # Our recalculation, then an APPEND, a COPY and an EXPUNGE as delta lines.
        client = self.login()
        self.assertOK(client.append("INBOX", None, None, MESSAGE))
        self.assertOK(client.select("INBOX"))
        self.assertOK(client.copy("1:2", "Archive"))
        self.assertOK(client.store("3", "+FLAGS.SILENT", "(\\Deleted)"))
        self.assertOK(client.expunge())
        client.logout()
        self.clients.remove(client)
        ours = self.our_quota()
        text = self.read_maildirsize()
        self.assertTrue(text.startswith("104857600S,1000C\n"), text)
        self.assertGreater(len(text.splitlines()), 2, "delta lines were appended: " + text)
        self.dovecot.start()
        self.assertEqual(self.dovecot.quota_get(), ours)
        # Dovecot trusted our file (no recalculation rewrote it).
        self.assertEqual(self.read_maildirsize(), text)
        print(f"\nour maildirsize {text!r}: ours and doveadm quota get: {ours}")

    def test_maildirsize_written_by_dovecot_is_read_by_us(self):
        self.dovecot.start()
        self.dovecot.doveadm("quota", "recalc", "-u", "alice")
        recalculated = self.read_maildirsize()
        self.assertEqual(self.our_quota(), self.dovecot.quota_get())
        self.assertEqual(self.read_maildirsize(), recalculated, "we read Dovecot's file without rewriting it")
        # An APPEND through Dovecot appends its own delta line.
        dovecot = imaplib.IMAP4(HOST, self.dovecot.port, timeout=IO_TIMEOUT)
        dovecot.login("alice", USERS["alice"])
        typ, data = dovecot.append("INBOX", None, None, MESSAGE)
        self.assertEqual(typ, "OK", data)
        dovecot.logout()
        appended = self.read_maildirsize()
        self.assertNotEqual(appended, recalculated)
        expected = self.dovecot.quota_get()
        self.assertEqual(self.our_quota(), expected)
        self.assertEqual(self.read_maildirsize(), appended)
        print(f"\nDovecot's maildirsize {appended!r}: doveadm and ours: {expected}")
        # And the two recalculations agree with each other.
        os.unlink(self.maildirsize)
        self.assertEqual(self.our_quota(), expected)
        ours = self.read_maildirsize()
        self.dovecot.doveadm("quota", "recalc", "-u", "alice")
        self.assertEqual(self.read_maildirsize(), ours)


if __name__ == "__main__":
    unittest.main()
