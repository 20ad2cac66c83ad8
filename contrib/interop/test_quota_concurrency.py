"""Maildir++ quota under concurrent sessions (issue 16): several sessions of one user
APPEND, COPY, MOVE, flag \\Deleted and EXPUNGE in two folders at once, each from its
own seeded sequence of operations; at the end the usage `maildirsize` states must equal
a recount of the Maildir.

What this catches: a change counted twice (two sessions expunging the same message,
each appending its own negative line), a change never counted (a COPY or APPEND whose
line is lost), or a MOVE counted as an addition. The recount is the one Maildir++
prescribes: every file in cur/ and new/ of every folder, its size from `,S=` or the
file itself (dot files skipped, as the server's recalculation does).
"""

import os
import random
import re
import threading
import unittest

from interop_support import USERS, ServerTestCase

SESSIONS = 8
OPERATIONS = 60
FOLDERS = ["INBOX", "Archive"]


def message(seed: int, n: int) -> bytes:
    body = b"x" * (200 + (seed * 7919 + n * 104729) % 5000)
    return (b"From: quota@example.org\r\nSubject: concurrent %d/%d\r\n\r\n" % (seed, n)) + body + b"\r\n"


def maildirsize_usage(root: str):
    with open(os.path.join(root, "maildirsize")) as fh:
        lines = fh.read().splitlines()[1:]
    return (sum(int(line.split()[0]) for line in lines), sum(int(line.split()[1]) for line in lines))


def recount(root: str):
    folders = [root] + [os.path.join(root, d) for d in os.listdir(root)
                        if d.startswith(".") and os.path.isdir(os.path.join(root, d))]
    total = count = 0
    for folder in folders:
        for sub in ("cur", "new"):
            path = os.path.join(folder, sub)
            if not os.path.isdir(path):
                continue
            for name in os.listdir(path):
                if name.startswith("."):
                    continue
                size = re.search(r",S=(\d+)", name)
                total += int(size.group(1)) if size else os.path.getsize(os.path.join(path, name))
                count += 1
    return (total, count)


class QuotaConcurrencyTest(ServerTestCase):
    server_args = ("--quota-rule", "*:storage=1G", "--quota-rule", "*:messages=100000")

    def session(self, seed: int, errors: list):
        rng = random.Random(seed)
        try:
            client = self.server.login("alice")
            for n in range(OPERATIONS):
                folder = rng.choice(FOLDERS)
                other = FOLDERS[1 - FOLDERS.index(folder)]
                op = rng.choice(["append", "append", "copy", "move", "expunge"])
                if op == "append":
                    typ, data = client.append(folder, None, None, message(seed, n))
                    self.assertEqual(typ, "OK", data)
                    continue
                typ, data = client.select(folder)
                self.assertEqual(typ, "OK", data)
                exists = int(data[0])
                if exists == 0:
                    continue
                first = rng.randint(1, exists)
                span = f"{first}:{min(exists, first + rng.randint(0, 3))}"
                if op == "copy":
                    typ, data = client.copy(span, other)
                elif op == "move":
                    typ, data = client._simple_command("MOVE", span, other)
                else:
                    typ, data = client.store(span, "+FLAGS.SILENT", "(\\Deleted)")
                    self.assertEqual(typ, "OK", data)
                    typ, data = client.expunge()
                # Another session may have expunged part of the span meanwhile: NO is
                # a fair answer then, a BAD or a lost connection is not.
                self.assertIn(typ, ("OK", "NO"), (op, span, data))
            client.logout()
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    def test_maildirsize_equals_a_recount_after_concurrent_changes(self):
        root = os.path.join(self.root, "alice")
        first = self.login()
        typ, data = first.getquotaroot("INBOX")
        self.assertEqual(typ, "OK", data)  # recalculates maildirsize: the starting point
        self.assertEqual(maildirsize_usage(root), recount(root))
        errors = []
        threads = [threading.Thread(target=self.session, args=(seed, errors)) for seed in range(SESSIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        usage = maildirsize_usage(root)
        with open(os.path.join(root, "maildirsize")) as fh:
            text = fh.read()
        self.assertEqual(usage, recount(root), f"maildirsize ({len(text)} bytes):\n{text}")
        typ, data = first.getquotaroot("INBOX")
        self.assertEqual(typ, "OK", data)
        quota = re.search(rb"STORAGE (\d+) \d+ MESSAGE (\d+) ", b" ".join(d for d in data[1] if isinstance(d, bytes)))
        self.assertIsNotNone(quota, data)
        self.assertEqual((int(quota.group(1)), int(quota.group(2))), ((usage[0] + 1023) // 1024, usage[1]))
        print(f"\n{SESSIONS} sessions x {OPERATIONS} operations: maildirsize {usage} = recount")


if __name__ == "__main__":
    unittest.main()
