"""neomutt, driven by `push` with no one at the keyboard, saves a message from INBOX
to another folder on the server (UID COPY, \\Deleted, EXPUNGE) and quits.

neomutt needs a terminal, so it runs on a pseudo-terminal; its input is the pushed
keys only (the first entry of the index, whichever message neomutt shows first). The
test checks the Maildir on disk: exactly one message left INBOX's files and arrived in
Archive with the same bytes.
"""

import fcntl
import os
import pty
import select
import shutil
import struct
import termios
import time
import unittest

from interop_support import ServerTestCase, info_letters, read_message

NEOMUTT_DEADLINE = 120.0  # bounds a hang; the test waits for neomutt to exit

RC = """\
set folder="imap://alice@127.0.0.1:{port}/"
set spoolfile="+INBOX"
set imap_user="alice"
set imap_pass="alice-demo"
set ssl_starttls=no
set ssl_force_tls=no
set header_cache=""
set message_cachedir=""
set confirmappend=no
set confirmcreate=no
set delete=yes
set quit=yes
set move=no
set imap_check_subscribed=no
push "<first-entry><save-message>=Archive<enter><sync-mailbox><quit>"
"""


def neomutt_binary() -> str:
    path = shutil.which("neomutt")
    if not path:
        raise AssertionError("neomutt not found: install Debian's neomutt "
                             "(contrib/install-test-deps does it)")
    return path


class NeomuttRunner(ServerTestCase):
    """Runs neomutt on a pseudo-terminal until it exits; no tests of its own."""

    def run_neomutt(self, rc_path: str) -> str:
        pid, fd = pty.fork()
        if pid == 0:
            os.environ["TERM"] = "xterm"
            os.environ["HOME"] = self.work
            os.execv(neomutt_binary(), ["neomutt", "-n", "-F", rc_path])
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        output = b""
        deadline = time.monotonic() + NEOMUTT_DEADLINE
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                self.fail(f"neomutt did not finish:\n{output[-3000:]!r}\n{self.server.log_tail()}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break  # EIO: the child closed the terminal (exited)
            if not chunk:
                break
            output += chunk
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, output[-3000:])
        return output.decode("utf-8", "replace")

class NeomuttTest(NeomuttRunner):
    def test_save_message_to_another_folder(self):
        inbox_before = self.files("INBOX")
        archive_before = self.files("Archive")
        contents = {b: read_message(self.root, "alice", "INBOX", b) for b in inbox_before}
        rc = os.path.join(self.work, "neomuttrc")
        with open(rc, "w") as fh:
            fh.write(RC.format(port=self.server.port))
        self.run_neomutt(rc)
        inbox_after = self.files("INBOX")
        archive_after = self.files("Archive")
        # Messages already \Deleted in the fixture go at neomutt's <sync-mailbox> too.
        deleted = {b for b, (_, name) in inbox_before.items() if "T" in info_letters(name)}
        self.assertTrue(deleted)
        moved = set(inbox_before) - set(inbox_after) - deleted
        self.assertEqual(len(moved), 1, f"INBOX: {sorted(inbox_after)}")
        self.assertEqual(len(inbox_after), len(inbox_before) - 1 - len(deleted))
        new = set(archive_after) - set(archive_before)
        self.assertEqual(len(new), 1, f"Archive: {sorted(archive_after)}")
        self.assertEqual(read_message(self.root, "alice", "Archive", new.pop()), contents[moved.pop()])


if __name__ == "__main__":
    unittest.main()
