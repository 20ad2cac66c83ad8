"""SORT and THREAD (RFC 5256, RFC 5957 SORT=DISPLAY, Dovecot's THREAD=REFS) through
Python's imaplib (`IMAP4.sort`, `IMAP4.thread`, `uid("SORT"…)`), over alice's INBOX of
Examples/maildirs (12 messages, UID n = sequence number n after SELECT).

The expected answers are Dovecot 2.3's on the same fixture (`IMAPD_TARGET=dovecot`
runs these tests against it), so both servers must agree.
"""

import unittest

from interop_support import ServerTestCase, capabilities


class SortThreadTest(ServerTestCase):
    def inbox(self):
        c = self.login("alice")
        typ, data = c.select("INBOX", readonly=True)
        self.assertEqual(typ, "OK", data)
        return c

    def sort(self, c, criteria, *search, uid=False):
        if uid:
            typ, data = c.uid("SORT", criteria, "UTF-8", *search)
        else:
            typ, data = c.sort(criteria, "UTF-8", *search)
        self.assertEqual(typ, "OK", data)
        return [int(x) for x in b" ".join(d for d in data if d).split()]

    def thread(self, c, algorithm, *search, uid=False):
        if uid:
            typ, data = c.uid("THREAD", algorithm, "UTF-8", *search)
        else:
            typ, data = c.thread(algorithm, "UTF-8", *search)
        self.assertEqual(typ, "OK", data)
        return b"".join(d for d in data if d).decode()

    def test_capabilities(self):
        c = self.login("alice")
        caps = capabilities(c)
        for name in ("SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "THREAD=REFS"):
            self.assertIn(name, caps)

    def test_sort_every_key(self):
        c = self.inbox()
        for criteria, expected in EXPECTED_SORT.items():
            with self.subTest(criteria=criteria):
                self.assertEqual(self.sort(c, criteria, "ALL"), expected)

    def test_uid_sort_and_search_criteria(self):
        c = self.inbox()
        self.assertEqual(self.sort(c, "(REVERSE DATE)", "ALL", uid=True), EXPECTED_SORT["(REVERSE DATE)"])
        self.assertEqual(self.sort(c, "(SUBJECT)", "UNSEEN"), EXPECTED_SORT_UNSEEN)

    def test_thread_algorithms(self):
        c = self.inbox()
        for algorithm, expected in EXPECTED_THREAD.items():
            with self.subTest(algorithm=algorithm):
                self.assertEqual(self.thread(c, algorithm, "ALL"), expected)
                self.assertEqual(self.thread(c, algorithm, "ALL", uid=True), expected)


EXPECTED_SORT = {
    "(ARRIVAL)": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    "(REVERSE ARRIVAL)": [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
    "(CC)": [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 8],
    "(REVERSE CC)": [8, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12],
    "(DATE)": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    "(REVERSE DATE)": [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
    "(FROM)": [6, 5, 1, 10, 2, 8, 3, 7, 9, 4, 11, 12],
    "(REVERSE FROM)": [12, 11, 4, 9, 7, 3, 8, 2, 1, 10, 5, 6],
    "(SIZE)": [11, 8, 9, 12, 3, 10, 2, 7, 1, 6, 5, 4],
    "(REVERSE SIZE)": [4, 5, 6, 1, 7, 2, 10, 3, 12, 8, 9, 11],
    "(SUBJECT)": [3, 11, 12, 9, 5, 1, 6, 10, 2, 8, 4, 7],
    "(REVERSE SUBJECT)": [7, 4, 8, 2, 1, 6, 10, 5, 9, 12, 11, 3],
    "(TO)": [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 6],
    "(REVERSE TO)": [6, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12],
    "(DISPLAYFROM)": [6, 5, 1, 10, 2, 8, 3, 9, 11, 4, 12, 7],
    "(REVERSE DISPLAYFROM)": [7, 12, 4, 11, 9, 3, 8, 2, 1, 10, 5, 6],
    "(DISPLAYTO)": [1, 3, 5, 10, 2, 4, 7, 8, 9, 11, 12, 6],
    "(REVERSE DISPLAYTO)": [6, 2, 4, 7, 8, 9, 11, 12, 1, 3, 5, 10],
}
EXPECTED_SORT_UNSEEN = [11, 12, 9, 4]
# REFERENCES merges 6 ("Re: …" without References) into 1's thread by subject; REFS
# does not, and puts 1's thread where its newest message (10) sorts.
EXPECTED_THREAD = {
    "ORDEREDSUBJECT": "(1 (6)(10))(2)(3)(4)(5)(7)(8)(9)(11)(12)",
    "REFERENCES": "(1 (6)(10))(2)(3)(4)(5)(7)(8)(9)(11)(12)",
    "REFS": "(2)(3)(4)(5)(6)(7)(8)(9)(1 10)(11)(12)",
}

if __name__ == "__main__":
    unittest.main()
