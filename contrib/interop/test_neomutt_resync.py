"""neomutt with a header cache, `imap_condstore` and `imap_qresync` reopens a 10,000-
message folder after 10 flag changes made by another client, and the server sends a
small fraction of what the first (full) open cost (issue 14).

The server's own count of bytes sent (`imap_bytes_sent_total` on --metrics-listen) is
read before and after each neomutt run; neomutt opens the folder, shows only the
flagged messages and quits (`mark_old=no`: otherwise its quit would itself flag every
new message `Old`, a change of all 10,000). The reopen must
cost under a tenth of the first open, and must show the changes: the header cache's
flags are updated (neomutt's index shows the 10 messages flagged: `!` in the index).
Printed: both byte counts, for the closing note of issue 14.
"""

import os
import re
import unittest
import urllib.request

from interop_support import ServerTestCase, deliver, free_port
import test_neomutt

FOLDER = "Resync"
MESSAGES = 10_000
CHANGES = 10

RC = """\
set folder="imap://alice@127.0.0.1:{port}/"
set spoolfile="+Resync"
set imap_user="alice"
set imap_pass="alice-demo"
set ssl_starttls=no
set ssl_force_tls=no
set header_cache="{cache}"
set message_cachedir=""
set imap_condstore={resync}
set imap_qresync={resync}
set imap_check_subscribed=no
set sort=mailbox-order
set index_format="%4C %Z %s"
set quit=yes
set move=no
set delete=no
set mark_old=no
push "<limit>~F<enter><quit>"
"""


class NeomuttResyncTest(ServerTestCase):
    def setUp(self):
        self.metrics_port = free_port()
        self.server_args = ("--metrics-listen", f"127.0.0.1:{self.metrics_port}")
        super().setUp()
        # A folder of its own: the example INBOX holds messages neomutt 20220429 never
        # keeps in its header cache (it refetches every flag on each open, from Dovecot
        # too), which would hide what the server does.
        c = self.login()
        typ, data = c.create(FOLDER)
        self.assertEqual(typ, "OK", data)
        c.logout()
        for i in range(MESSAGES):
            deliver(self.root, "alice", FOLDER, b"Subject: resync %d\n\nbody %d\n" % (i, i), 1_700_000_000 + i, i)

    def bytes_sent(self) -> int:
        if self.server.target != "imapd":
            return 0
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=30) as response:
            text = response.read().decode()
        # The counter appears with the first byte sent.
        found = re.search(r"^imap_bytes_sent_total(?:\{[^}]*\})? (\d+)", text, re.M)
        return int(found.group(1)) if found else 0

    def neomutt_open(self, rc: str) -> tuple:
        before = self.bytes_sent()
        screen = test_neomutt.NeomuttTest.run_neomutt(self, rc)
        return self.bytes_sent() - before, screen

    def write_rc(self, name: str, resync: bool) -> str:
        rc = os.path.join(self.work, name + ".rc")
        cache = os.path.join(self.work, name + "-hcache")
        os.makedirs(cache)
        with open(rc, "w") as fh:
            fh.write(RC.format(port=self.server.port, cache=cache + "/", resync="yes" if resync else "no"))
        return rc

    def change_elsewhere(self) -> list:
        """Flags 10 messages spread over the folder; returns their subjects."""
        c = self.login()
        typ, data = c.select(FOLDER)
        self.assertEqual(typ, "OK", data)
        typ, data = c.uid("SEARCH", "SUBJECT", "resync")
        self.assertEqual(typ, "OK", data)
        ours = data[0].split()
        self.assertEqual(len(ours), MESSAGES)
        flagged = ",".join(u.decode() for u in ours[:: MESSAGES // CHANGES])
        typ, data = c.uid("STORE", flagged, "+FLAGS.SILENT", "(\\Flagged)")
        self.assertEqual(typ, "OK", data)
        typ, data = c.uid("FETCH", flagged, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK", data)
        subjects = [re.search(rb"Subject: (resync \d+)", item[1]).group(1).decode()
                    for item in data if isinstance(item, tuple)]
        self.assertEqual(len(subjects), CHANGES)
        c.logout()
        return subjects

    def test_reopen_after_ten_changes_costs_a_fraction(self):
        rc = self.write_rc("qresync", resync=True)
        plain_rc = self.write_rc("plain", resync=False)
        full, _ = self.neomutt_open(rc)
        plain_full, _ = self.neomutt_open(plain_rc)

        subjects = self.change_elsewhere()
        reopen, screen = self.neomutt_open(rc)
        plain_reopen, plain_screen = self.neomutt_open(plain_rc)
        print(f"\nneomutt, {MESSAGES} messages, bytes sent: first open {full:,} "
              f"(without CONDSTORE/QRESYNC {plain_full:,}); reopen after {CHANGES} changes "
              f"{reopen:,} ({reopen / max(full, 1):.2%}; without CONDSTORE/QRESYNC {plain_reopen:,})")
        # The limit to flagged messages shows the changed ones: the cache learnt of them.
        for shown in (screen, plain_screen):
            for subject in subjects:
                self.assertRegex(shown, re.escape(subject) + r"(?!\d)")
        if self.server.target == "imapd":
            self.assertLess(reopen * 10, full, self.server.log_tail(60))
            self.assertLess(reopen * 10, plain_reopen, "QRESYNC saves nothing over a header-cache reopen")

if __name__ == "__main__":
    unittest.main()
