"""Python's imaplib (an IMAP4rev1 client) against the server over Examples/maildirs.

Every test gets its own copy of the fixture and its own server (interop_support), so
tests can change mail and then look at the files on disk: flags are file-name
letters, expunged messages are deleted files, and EXAMINE must change nothing.
The INBOX of alice holds 12 messages with UIDs 1..12 (the golden Dovecot uidlist);
sequence number n is UID n right after SELECT.
"""

import base64
import datetime
import imaplib
import os
import unittest

from interop_support import (
    ALICE_FOLDERS,
    EXAMPLES,
    ServerTestCase,
    capabilities,
    crlf,
    decode_flags,
    fetch_by_seq,
    folder_dir,
    info_letters,
    internal_date_of,
    letters_to_flags,
    name_field,
    parse_items,
    parse_list,
    quote,
    read_keywords,
    read_uidlist,
    simulate_expunges,
    tree_digest,
    untagged,
    uidlist_path,
)

UTF8_ENTWUERFE = "Entwürfe".encode("utf-8")

# Sequence numbers in alice's INBOX (= UIDs, = order of the file names' timestamps).
PLAIN, UTF8_BODY, ENCODED_WORDS, ALTERNATIVE, MIXED, FORWARD, QUOTED_PRINTABLE, CRLF_STORED, \
    RAW_8BIT_HEADER, REPLY, NEW_1, NEW_2 = range(1, 13)


def s(value) -> str:
    """A parsed IMAP string/atom as str (for case-insensitive comparisons)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class ImaplibTest(ServerTestCase):
    # -- helpers ---------------------------------------------------------------------

    def inbox(self, readonly=False, user="alice"):
        c = self.login(user)
        typ, data = c.select("INBOX", readonly=readonly)
        self.assertEqual(typ, "OK", data)
        return c

    def path_of(self, seq, folder="INBOX", user="alice"):
        """Current path of the message that had sequence number `seq` after SELECT."""
        base = self.uid_map(folder, user)[seq - 1][1]
        sub, f = self.files(folder, user)[base]
        return os.path.join(folder_dir(self.root, user, folder), sub, f)

    def base_of(self, seq, folder="INBOX", user="alice"):
        return self.uid_map(folder, user)[seq - 1][1]

    def content_of(self, seq, folder="INBOX", user="alice") -> bytes:
        with open(self.path_of(seq, folder, user), "rb") as fh:
            return fh.read()

    def fetch(self, c, seqs, items, uid=False):
        if uid:
            typ, data = c.uid("FETCH", seqs, items)
        else:
            typ, data = c.fetch(seqs, items)
        self.assertEqual(typ, "OK", data)
        return fetch_by_seq(data)

    def search(self, c, *criteria, charset=None, uid=False):
        if uid:
            typ, data = c.uid("SEARCH", *(("CHARSET", charset) if charset else ()), *criteria)
        else:
            typ, data = c.search(charset, *criteria)
        self.assertEqual(typ, "OK", f"SEARCH {criteria}: {data!r}")
        return sorted(int(x) for x in b" ".join(d for d in data if d).split())

    def search_utf8(self, c, key, text):
        """SEARCH CHARSET UTF-8 <key> {literal} (non-ASCII needs a literal for imaplib)."""
        c.literal = text.encode("utf-8")
        return self.search(c, key, charset="UTF-8")

    # -- greeting, capabilities, login -------------------------------------------------

    def test_capability_before_and_after_login(self):
        c = self.connect()
        caps = capabilities(c)
        self.assertIn("IMAP4REV1", caps, "imaplib needs IMAP4rev1 in CAPABILITY")
        self.assertNotIn("LOGINDISABLED", caps, "plaintext LOGIN is allowed from loopback")
        self.assertIn("AUTH=PLAIN", caps)
        c.login("alice", "alice-demo")
        after = capabilities(c)
        self.assertIn("IMAP4REV1", after)
        # Part of IMAP4rev2, but an IMAP4rev1 client only uses what it sees advertised
        # (imaplib refuses ENABLE without it), so a server serving both lists them.
        for cap in ("ENABLE", "ID", "IDLE", "NAMESPACE", "UIDPLUS", "UNSELECT"):
            self.assertIn(cap, after)
        if self.server.target == "imapd":
            self.assertIn("IMAP4REV2", after, "imapd-maildir is an IMAP4rev2 server")

    def test_login_good_password(self):
        for user in ("alice", "bob"):
            c = self.connect()
            typ, data = c.login(user, {"alice": "alice-demo", "bob": "bob-demo"}[user])
            self.assertEqual(typ, "OK", data)
            self.assertEqual(c.state, "AUTH")
            self.assertEqual(c.logout()[0], "BYE")

    def test_login_bad_password_and_unknown_user(self):
        for user, password in (("alice", "wrong"), ("bob", "alice-demo"), ("mallory", "x")):
            c = self.connect()
            with self.assertRaises(imaplib.IMAP4.error) as cm:
                c.login(user, password)
            self.assertIn("[AUTHENTICATIONFAILED]", str(cm.exception), (user, password))
            self.assertEqual(c.state, "NONAUTH")
            # The connection stays usable: a correct login afterwards works.
            if user != "mallory":
                typ, _ = c.login(user, {"alice": "alice-demo", "bob": "bob-demo"}[user])
                self.assertEqual(typ, "OK")

    # -- LIST, LSUB, SELECT, EXAMINE, STATUS ---------------------------------------------

    def test_list_shows_every_folder(self):
        c = self.login()
        entries = parse_list(self.assertOK(c.list('""', "*"), "LIST"))
        names = {e[2].decode(): e for e in entries}
        self.assertEqual(set(names), set(ALICE_FOLDERS))
        for flags, delim, name in entries:
            self.assertEqual(delim, "/", name)
            self.assertNotIn("\\noselect", flags, name)
        # CHILDREN attributes, when sent, must be right (RFC 9051 7.3.1).
        self.assertNotIn("\\hasnochildren", names["Archive"][0])
        self.assertNotIn("\\haschildren", names["Archive/2024"][0])
        # "%" does not descend.
        top = {e[2].decode() for e in parse_list(self.assertOK(c.list('""', "%")))}
        self.assertEqual(top, set(ALICE_FOLDERS) - {"Archive/2024"})
        sub = {e[2].decode() for e in parse_list(self.assertOK(c.list('""', "Archive/*")))}
        self.assertEqual(sub, {"Archive/2024"})
        # bob sees only his own folders.
        b = self.login("bob")
        self.assertEqual({e[2].decode() for e in parse_list(self.assertOK(b.list('""', "*")))},
                         {"INBOX", "Sent"})

    def test_lsub_lists_subscriptions(self):
        c = self.login()
        subscribed = {e[2].decode() for e in parse_list(self.assertOK(c.lsub('""', "*")))}
        self.assertEqual(subscribed, set(ALICE_FOLDERS))
        self.assertOK(c.unsubscribe("Trash"), "UNSUBSCRIBE")
        subscribed = {e[2].decode() for e in parse_list(self.assertOK(c.lsub('""', "*")))}
        self.assertEqual(subscribed, set(ALICE_FOLDERS) - {"Trash"})
        self.assertOK(c.subscribe("Trash"), "SUBSCRIBE")
        subscribed = {e[2].decode() for e in parse_list(self.assertOK(c.lsub('""', "*")))}
        self.assertEqual(subscribed, set(ALICE_FOLDERS))

    def test_select_inbox_responses(self):
        header, records = read_uidlist(uidlist_path(self.root, "alice", "INBOX"))
        c = self.login()
        typ, data = c.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"12"]))
        self.assertIn("READ-WRITE", c.untagged_responses)
        flags = decode_flags(parse_items(untagged(c, "FLAGS"))[0])
        self.assertTrue({"\\answered", "\\flagged", "\\deleted", "\\seen", "\\draft",
                         "$Forwarded", "Important"} <= flags, flags)
        permanent = decode_flags(parse_items(untagged(c, "PERMANENTFLAGS"))[0])
        self.assertTrue({"\\answered", "\\flagged", "\\deleted", "\\seen", "\\draft",
                         "\\*"} <= permanent, permanent)
        self.assertEqual(int(untagged(c, "UIDVALIDITY")[0]), int(header["V"]))
        next_uid = max(int(header["N"]), max(uid for uid, _ in records) + 1)
        self.assertEqual(int(untagged(c, "UIDNEXT")[0]), next_uid)
        self.assertEqual(next_uid, 13)

    def test_select_every_folder(self):
        c = self.login()
        for folder, count in ALICE_FOLDERS.items():
            typ, data = c.select(quote(folder))
            self.assertEqual((typ, data), ("OK", [str(count).encode()]), folder)
            header, _ = read_uidlist(uidlist_path(self.root, "alice", folder))
            self.assertEqual(int(untagged(c, "UIDVALIDITY")[0]), int(header["V"]), folder)
        typ, data = c.select("NoSuchFolder")
        self.assertEqual(typ, "NO", data)
        self.assertEqual(c.state, "AUTH", "a failed SELECT leaves no mailbox selected")

    def test_examine_is_read_only_and_never_changes_disk(self):
        c = self.login()
        before = tree_digest(self.root)
        for folder in ALICE_FOLDERS:
            typ, data = c.select(quote(folder), readonly=True)
            self.assertEqual(typ, "OK", (folder, data))
            self.assertIn("READ-ONLY", c.untagged_responses, folder)
            # BODY[] without PEEK must not set \Seen in a read-only mailbox.
            self.fetch(c, "1:*", "(FLAGS BODY[] BODYSTRUCTURE ENVELOPE)")
            self.search(c, "ALL")
        c.select("INBOX", readonly=True)
        # RFC 9051 6.3.3: no change to the permanent state. A server may refuse (NO) or
        # ignore the STORE (Dovecot answers OK and changes nothing); EXPUNGE likewise.
        typ, data = c.store("1", "+FLAGS", "(\\Flagged)")
        self.assertIn(typ, ("NO", "OK"), f"STORE in an EXAMINEd mailbox: {data!r}")
        flags = decode_flags(self.fetch(c, "1", "(FLAGS)")[1]["FLAGS"])
        self.assertNotIn("\\flagged", flags, "STORE changed flags in an EXAMINEd mailbox")
        typ, data = c.expunge()
        self.assertIn(typ, ("NO", "OK"), f"EXPUNGE in an EXAMINEd mailbox: {data!r}")
        self.assertEqual(self.search(c, "ALL"), list(range(1, 13)))
        self.assertOK(c.status("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY)"))
        self.assertOK(c.list('""', "*"))
        self.assertOK(c.close(), "CLOSE")  # CLOSE after EXAMINE expunges nothing
        c.logout()
        # imapd-modseq is the server's own record of mod-sequences (MAILDIR-FORMATS.md),
        # written when a folder is first opened, as Dovecot writes its index files: the
        # messages, their flags and Dovecot's files must not change.
        self.assertEqual(without_modseq_logs(tree_digest(self.root)), without_modseq_logs(before),
                         "EXAMINE changed the Maildir")

    def test_status(self):
        c = self.login()
        for folder, count in ALICE_FOLDERS.items():
            typ, data = c.status(quote(folder), "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
            self.assertEqual(typ, "OK", (folder, data))
            name, items = parse_items(data)
            self.assertEqual(s(name), folder)
            st = dict(zip([i.upper() for i in items[0::2]], items[1::2]))
            header, records = read_uidlist(uidlist_path(self.root, "alice", folder))
            self.assertEqual(st["MESSAGES"], count, folder)
            self.assertEqual(st["UIDVALIDITY"], int(header["V"]), folder)
            self.assertEqual(st["UIDNEXT"], max(int(header["N"]), records[-1][0] + 1), folder)
            unseen = sum(1 for sub, f in self.files(folder).values() if "S" not in info_letters(f))
            self.assertEqual(st["UNSEEN"], unseen, folder)
        if self.is_rev2(c):
            # STATUS SIZE is part of IMAP4rev2 (RFC 9051 6.3.11): the sum of RFC822.SIZEs.
            typ, data = c.status("INBOX", "(SIZE)")
            _, items = parse_items(data)
            total = sum(name_field(f, "W") for _sub, f in self.files().values())
            self.assertEqual(items, ["SIZE", total])

    # -- FETCH ----------------------------------------------------------------------------

    def test_fetch_sizes_and_bodies_match_files(self):
        c = self.inbox()
        got = self.fetch(c, "1:*", "(UID RFC822.SIZE BODY.PEEK[])")
        self.assertEqual(sorted(got), list(range(1, 13)))
        for seq, (uid, base) in enumerate(self.uid_map(), start=1):
            data = self.content_of(seq)
            self.assertEqual(got[seq]["UID"], uid)
            self.assertEqual(got[seq]["RFC822.SIZE"], name_field(base, "W"), base)
            self.assertEqual(got[seq]["RFC822.SIZE"], len(crlf(data)), base)
            self.assertEqual(got[seq]["BODY[]"], crlf(data), base)
        # Other folders too, including the non-ASCII one.
        for folder in ("Archive/2024", "Entw&APw-rfe"):
            c.select(quote(folder))
            got = self.fetch(c, "1:*", "(RFC822.SIZE BODY.PEEK[])")
            for seq in got:
                self.assertEqual(got[seq]["BODY[]"], crlf(self.content_of(seq, folder)))

    def test_fetch_flags_and_internaldate(self):
        c = self.inbox(readonly=True)
        keywords = read_keywords(self.root, "alice")
        got = self.fetch(c, "1:*", "(FLAGS INTERNALDATE)")
        for seq, (_uid, base) in enumerate(self.uid_map(), start=1):
            sub, f = self.files()[base]
            expected = letters_to_flags(info_letters(f), keywords)
            flags = decode_flags(got[seq]["FLAGS"]) - {"\\recent"}
            self.assertEqual(flags, expected, f)
            when = datetime.datetime.strptime(s(got[seq]["INTERNALDATE"]).strip(),
                                              "%d-%b-%Y %H:%M:%S %z")
            self.assertEqual(int(when.timestamp()), internal_date_of(f), f)

    def test_fetch_envelope(self):
        c = self.inbox(readonly=True)
        got = self.fetch(c, f"{PLAIN},{ENCODED_WORDS},{CRLF_STORED},{REPLY}", "(ENVELOPE)")
        env = got[PLAIN]["ENVELOPE"]
        self.assertEqual(len(env), 10)
        date, subject, frm, sender, reply_to, to, cc, bcc, in_reply_to, message_id = env
        self.assertEqual(s(date), "Tue, 14 Nov 2023 22:13:19 +0000")
        self.assertEqual(s(subject), "Lunch on Thursday?")
        self.assertEqual([[s(x) for x in a] for a in frm], [["Carol Jones", "", "carol", "example.org"]])
        self.assertEqual(sender, frm, "sender defaults to from (RFC 9051 7.5.2)")
        self.assertEqual(reply_to, frm, "reply-to defaults to from")
        self.assertEqual([[s(x) for x in a] for a in to], [["Alice Example", "", "alice", "example.com"]])
        self.assertIsNone(cc)
        self.assertIsNone(bcc)
        self.assertIsNone(in_reply_to)
        self.assertEqual(s(message_id), "<lunch-1@example.org>")
        # Encoded words are sent as they are in the header (the client decodes).
        env = got[ENCODED_WORDS]["ENVELOPE"]
        self.assertEqual(s(env[1]), "=?UTF-8?B?Q2Fmw6kgY3LDqG1lIGJyw7tsw6llIOKYlQ==?=")
        self.assertEqual(s(env[2][0][0]), "=?ISO-8859-1?Q?Fran=E7ois_Lef=E8vre?=")
        self.assertEqual([s(x) for x in env[2][0][2:]], ["francois", "example.org"])
        env = got[CRLF_STORED]["ENVELOPE"]
        self.assertEqual([[s(x) for x in a] for a in env[6]], [["Bob Builder", "", "bob", "example.com"]])
        env = got[REPLY]["ENVELOPE"]
        self.assertEqual(s(env[8]), "<lunch-1@example.org>")

    def test_fetch_bodystructure(self):
        c = self.inbox(readonly=True)
        got = self.fetch(c, f"{PLAIN},{ALTERNATIVE},{MIXED},{FORWARD},{QUOTED_PRINTABLE}",
                         "(BODYSTRUCTURE BODY)")
        # A single text/plain part: type, subtype, params, id, description, encoding,
        # size and lines of the body in CRLF form.
        body = crlf(self.content_of(PLAIN)).split(b"\r\n\r\n", 1)[1]
        bs = got[PLAIN]["BODYSTRUCTURE"]
        self.assertEqual([s(bs[0]).lower(), s(bs[1]).lower()], ["text", "plain"])
        self.assertEqual([s(x).lower() for x in bs[2]], ["charset", "us-ascii"])
        self.assertEqual(s(bs[5]).upper(), "7BIT")
        self.assertEqual(bs[6], len(body))
        self.assertEqual(bs[7], body.count(b"\r\n"))
        self.assertEqual(got[PLAIN]["BODY"][:8], bs[:8], "BODY is BODYSTRUCTURE without extensions")

        alt = got[ALTERNATIVE]["BODYSTRUCTURE"]
        self.assertEqual(s(alt[2]).lower(), "alternative")
        self.assertEqual([(s(alt[0][0]).lower(), s(alt[0][1]).lower()),
                          (s(alt[1][0]).lower(), s(alt[1][1]).lower())],
                         [("text", "plain"), ("text", "html")])

        mixed = got[MIXED]["BODYSTRUCTURE"]
        self.assertEqual(s(mixed[2]).lower(), "mixed")
        att = mixed[1]
        self.assertEqual([s(att[0]).lower(), s(att[1]).lower()], ["application", "pdf"])
        self.assertEqual([s(x).lower() for x in att[2]], ["name", "invoice-2023-117.pdf"])
        self.assertEqual(s(att[5]).upper(), "BASE64")

        fwd = got[FORWARD]["BODYSTRUCTURE"]
        self.assertEqual(s(fwd[2]).lower(), "mixed")
        msg = fwd[1]
        self.assertEqual([s(msg[0]).lower(), s(msg[1]).lower()], ["message", "rfc822"])
        inner_envelope, inner_body = msg[7], msg[8]
        self.assertEqual(s(inner_envelope[1]), "Lunch on Thursday?")
        self.assertEqual(s(inner_envelope[9]), "<lunch-1@example.org>")
        self.assertEqual([s(inner_body[0]).lower(), s(inner_body[1]).lower()], ["text", "plain"])

        qp = got[QUOTED_PRINTABLE]["BODYSTRUCTURE"]
        self.assertEqual(s(qp[5]).upper(), "QUOTED-PRINTABLE")
        self.assertEqual([s(x).lower() for x in qp[2]], ["charset", "iso-8859-1"])

    def test_fetch_sections(self):
        c = self.inbox(readonly=True)
        plain = crlf(self.content_of(PLAIN))
        header, text = plain.split(b"\r\n\r\n", 1)
        got = self.fetch(c, str(PLAIN), "(BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1] "
                                        "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] "
                                        "BODY.PEEK[HEADER.FIELDS.NOT (RECEIVED)] BODY.PEEK[]<0.20> "
                                        "BODY.PEEK[TEXT]<10.5>)")[PLAIN]
        self.assertEqual(got["BODY[HEADER]"], header + b"\r\n\r\n")
        self.assertEqual(got["BODY[TEXT]"], text)
        self.assertEqual(got["BODY[1]"], text, "part 1 of a non-multipart message is its body")
        self.assertEqual(got["BODY[HEADER.FIELDS (SUBJECT FROM)]"],
                         b"From: Carol Jones <carol@example.org>\r\nSubject: Lunch on Thursday?\r\n\r\n")
        not_received = got["BODY[HEADER.FIELDS.NOT (RECEIVED)]"]
        self.assertNotIn(b"Received:", not_received)
        self.assertNotIn(b"by mail.example.com", not_received)
        self.assertIn(b"Subject: Lunch on Thursday?\r\n", not_received)
        self.assertTrue(not_received.endswith(b"\r\n\r\n"))
        self.assertEqual(got["BODY[]<0>"], plain[:20])
        self.assertEqual(got["BODY[TEXT]<10>"], text[10:15])

        mixed = crlf(self.content_of(MIXED))
        got = self.fetch(c, str(MIXED), "(BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[2.MIME] "
                                        "BODY.PEEK[2]<4.8>)")[MIXED]
        self.assertEqual(got["BODY[1]"], b"Please find the invoice attached.\r\n")
        self.assertEqual(got["BODY[2.MIME]"],
                         b'Content-Type: application/pdf; name="invoice-2023-117.pdf"\r\n'
                         b'Content-Disposition: attachment; filename="invoice-2023-117.pdf"\r\n'
                         b"Content-Transfer-Encoding: base64\r\n\r\n")
        b64 = got["BODY[2]"]
        self.assertIn(b64, mixed)
        self.assertTrue(base64.b64decode(b64).startswith(b"%PDF-1.4\n"))
        self.assertEqual(got["BODY[2]<4>"], b64[4:12])

        got = self.fetch(c, str(FORWARD), "(BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] "
                                          "BODY.PEEK[2.1])")[FORWARD]
        self.assertTrue(got["BODY[2.HEADER]"].startswith(b"Date: Tue, 14 Nov 2023 22:13:19 +0000\r\n"))
        self.assertTrue(got["BODY[2.HEADER]"].endswith(b"Message-ID: <lunch-1@example.org>\r\n\r\n"))
        self.assertEqual(got["BODY[2.TEXT]"], b"Are you free for lunch on Thursday?\r\n")
        self.assertEqual(got["BODY[2.1]"], b"Are you free for lunch on Thursday?\r\n")

        alt = self.fetch(c, str(ALTERNATIVE), "(BODY.PEEK[2])")[ALTERNATIVE]["BODY[2]"]
        self.assertTrue(alt.startswith(b"<html><body><h1>Weekly digest</h1>\r\n"), alt)

    def test_fetch_binary(self):
        c = self.login()
        caps = capabilities(c)
        # BINARY (RFC 3516) is part of IMAP4rev2.
        self.assertTrue("IMAP4REV2" in caps or "BINARY" in caps, caps)
        c.select("INBOX", readonly=True)
        mixed = self.content_of(MIXED)
        b64 = mixed.split(b"Content-Transfer-Encoding: base64\n\n", 1)[1].split(b"\n--mixed-5--")[0]
        attachment = base64.b64decode(b64)
        got = self.fetch(c, str(MIXED), "(BINARY.PEEK[2] BINARY.SIZE[2])")[MIXED]
        self.assertEqual(got["BINARY[2]"], attachment)
        self.assertEqual(got["BINARY.SIZE[2]"], len(attachment))
        qp = self.fetch(c, str(QUOTED_PRINTABLE), "(BINARY.PEEK[1])")[QUOTED_PRINTABLE]["BINARY[1]"]
        self.assertIn(b"Die L\xf6sung finden Sie im Kundenportal unter dem Men\xfcpunkt", qp)
        self.assertIn(b"Donaudampfschifffahrtsgesellschaft.", qp)

    def test_fetch_rfc822_items_and_macros(self):
        c = self.inbox()
        data = crlf(self.content_of(PLAIN))
        header, text = data.split(b"\r\n\r\n", 1)
        got = self.fetch(c, str(PLAIN), "(RFC822.HEADER RFC822.TEXT RFC822)")[PLAIN]
        self.assertEqual(got["RFC822.HEADER"], header + b"\r\n\r\n")
        self.assertEqual(got["RFC822.TEXT"], text)
        self.assertEqual(got["RFC822"], data)
        for macro, items in (("FAST", {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}),
                             ("ALL", {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}),
                             ("FULL", {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"})):
            got = self.fetch(c, "1:3", macro)
            self.assertEqual(sorted(got), [1, 2, 3], macro)
            for seq in got:
                self.assertTrue(items <= set(got[seq]), (macro, set(got[seq])))
        got = self.fetch(c, "*", "UID")
        self.assertEqual(got, {12: {"UID": 12}})

    def test_fetch_body_without_peek_sets_seen(self):
        c = self.inbox()
        base = self.base_of(ALTERNATIVE)
        self.assertNotIn("S", self.flags_on_disk(base))
        self.fetch(c, str(ALTERNATIVE), "(BODY.PEEK[])")
        self.assertNotIn("S", self.flags_on_disk(base), "PEEK must not set \\Seen")
        got = self.fetch(c, str(ALTERNATIVE), "(BODY[])")
        self.assertEqual(got[ALTERNATIVE]["BODY[]"], crlf(self.content_of(ALTERNATIVE)))
        flags = decode_flags(self.fetch(c, str(ALTERNATIVE), "(FLAGS)")[ALTERNATIVE]["FLAGS"])
        self.assertIn("\\seen", flags)
        sub, f = self.files()[base]
        self.assertEqual((sub, info_letters(f)), ("cur", "S"), f)
        # A message still in new/ moves to cur/ with S.
        base = self.base_of(NEW_1)
        self.fetch(c, str(NEW_1), "(RFC822.TEXT)")
        sub, f = self.files()[base]
        self.assertEqual(sub, "cur", f)
        self.assertIn("S", info_letters(f))

    # -- STORE ------------------------------------------------------------------------------

    def test_store_flags_rename_files(self):
        c = self.inbox()
        base = self.base_of(PLAIN)
        self.assertEqual(self.flags_on_disk(base), "S")
        typ, data = c.store(str(PLAIN), "+FLAGS", "(\\Flagged)")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(decode_flags(fetch_by_seq(data)[PLAIN]["FLAGS"]) - {"\\recent"},
                         {"\\seen", "\\flagged"})
        self.assertEqual(self.flags_on_disk(base), "FS")
        self.assertOK(c.store(str(PLAIN), "-FLAGS", "(\\Seen)"))
        self.assertEqual(self.flags_on_disk(base), "F")
        self.assertOK(c.store(str(PLAIN), "FLAGS", "(\\Answered \\Draft)"))
        self.assertEqual(self.flags_on_disk(base), "DR")
        self.assertOK(c.store(str(PLAIN), "FLAGS", "()"))
        self.assertEqual(self.flags_on_disk(base), "")
        # Ranges, and a message in new/ (it moves to cur/).
        self.assertOK(c.store("11:12", "+FLAGS", "(\\Seen \\Answered)"))
        for seq in (NEW_1, NEW_2):
            sub, f = self.files()[self.base_of(seq)]
            self.assertEqual((sub, info_letters(f)), ("cur", "RS"), f)
        # The message body never changes, only the name.
        self.assertEqual(crlf(self.content_of(PLAIN)),
                         self.fetch(c, str(PLAIN), "(BODY.PEEK[])")[PLAIN]["BODY[]"])

    def test_store_keywords(self):
        c = self.inbox()
        base = self.base_of(PLAIN)
        self.assertOK(c.store(str(PLAIN), "+FLAGS", "(Important)"))
        self.assertEqual(self.flags_on_disk(base), "Sb")  # b = Important (dovecot-keywords)
        self.assertOK(c.store(str(PLAIN), "+FLAGS", "($Forwarded)"))
        self.assertEqual(self.flags_on_disk(base), "Sab")
        self.assertOK(c.store(str(PLAIN), "+FLAGS", "(NewKeyword)"))
        keywords = read_keywords(self.root, "alice")
        self.assertIn("NewKeyword", keywords.values())
        self.assertEqual(keywords[0], "$Forwarded")
        self.assertEqual(keywords[1], "Important")
        letter = chr(ord("a") + [k for k, v in keywords.items() if v == "NewKeyword"][0])
        self.assertEqual(self.flags_on_disk(base), "S" + "".join(sorted("ab" + letter)))
        got = decode_flags(self.fetch(c, str(PLAIN), "(FLAGS)")[PLAIN]["FLAGS"])
        self.assertTrue({"Important", "$Forwarded", "NewKeyword", "\\seen"} <= got, got)
        self.assertOK(c.store(str(PLAIN), "-FLAGS", "(Important NewKeyword)"))
        self.assertEqual(self.flags_on_disk(base), "Sa")
        self.assertEqual(self.search(c, "KEYWORD", "$Forwarded"), [PLAIN, MIXED, FORWARD])

    def test_store_preserves_unknown_letters(self):
        c = self.inbox()
        base = self.base_of(FORWARD)
        self.assertEqual(self.flags_on_disk(base), "PSa")  # P: passed, no IMAP flag
        self.assertOK(c.store(str(FORWARD), "+FLAGS", "(\\Flagged)"))
        self.assertEqual(self.flags_on_disk(base), "FPSa")
        self.assertOK(c.store(str(FORWARD), "FLAGS", "(\\Seen)"))
        self.assertEqual(self.flags_on_disk(base), "PS")

    def test_store_silent(self):
        c = self.inbox()
        untagged(c, "FETCH")
        typ, data = c.store(str(ALTERNATIVE), "+FLAGS.SILENT", "(\\Flagged)")
        self.assertEqual(typ, "OK")
        self.assertEqual([d for d in data if d], [], "no FETCH after +FLAGS.SILENT")
        self.assertEqual(self.flags_on_disk(self.base_of(ALTERNATIVE)), "F")

    # -- SEARCH -----------------------------------------------------------------------------

    def test_search_flags(self):
        c = self.inbox(readonly=True)
        self.assertEqual(self.search(c, "ALL"), list(range(1, 13)))
        self.assertEqual(self.search(c, "UNSEEN"), [ALTERNATIVE, RAW_8BIT_HEADER, NEW_1, NEW_2])
        self.assertEqual(self.search(c, "SEEN"),
                         [PLAIN, UTF8_BODY, ENCODED_WORDS, MIXED, FORWARD, QUOTED_PRINTABLE,
                          CRLF_STORED, REPLY])
        self.assertEqual(self.search(c, "FLAGGED"), [UTF8_BODY, REPLY])
        self.assertEqual(self.search(c, "ANSWERED"), [ENCODED_WORDS, REPLY])
        self.assertEqual(self.search(c, "DELETED"), [RAW_8BIT_HEADER])
        self.assertEqual(self.search(c, "UNDELETED", "UNSEEN"), [ALTERNATIVE, NEW_1, NEW_2])
        self.assertEqual(self.search(c, "DRAFT"), [])
        self.assertEqual(self.search(c, "KEYWORD", "$Forwarded"), [MIXED, FORWARD])
        self.assertEqual(self.search(c, "KEYWORD", "Important"), [QUOTED_PRINTABLE, REPLY])
        self.assertEqual(self.search(c, "UNKEYWORD", "Important", "FLAGGED"), [UTF8_BODY])
        self.assertEqual(self.search(c, "KEYWORD", "NoSuchKeyword"), [])

    def test_search_headers(self):
        c = self.inbox(readonly=True)
        self.assertEqual(self.search(c, "FROM", "carol"), [PLAIN, REPLY])
        self.assertEqual(self.search(c, "FROM", "CAROL@EXAMPLE.ORG"), [PLAIN, REPLY])
        self.assertEqual(self.search(c, "SUBJECT", "lunch"), [PLAIN, FORWARD, REPLY])
        self.assertEqual(self.search(c, "SUBJECT", '"on Thursday"'), [PLAIN, FORWARD, REPLY])
        self.assertEqual(self.search(c, "TO", "dave@example.org"), [FORWARD])
        self.assertEqual(self.search(c, "CC", "bob"), [CRLF_STORED])
        self.assertEqual(self.search(c, "HEADER", "Message-ID", "<invoice-5@example.com>"), [MIXED])
        self.assertEqual(self.search(c, "HEADER", "In-Reply-To", '""'), [REPLY])
        # RFC 2047 encoded words are decoded before matching (UTF-8 B and ISO-8859-1 Q).
        self.assertEqual(self.search_utf8(c, "SUBJECT", "Café crème"), [ENCODED_WORDS])
        self.assertEqual(self.search_utf8(c, "FROM", "François"), [ENCODED_WORDS])
        self.assertEqual(self.search_utf8(c, "SUBJECT", "Einladung zum Geburtstag"), [NEW_2])
        self.assertEqual(self.search_utf8(c, "FROM", "Renée Müller"), [NEW_2])
        # Raw 8-bit UTF-8 header bytes.
        self.assertEqual(self.search_utf8(c, "SUBJECT", "Grüße aus München"), [RAW_8BIT_HEADER])
        # UTF-8 Q and ISO-8859-1 B encoded words (in subfolders).
        self.assertOK(c.select("Archive", readonly=True))
        self.assertEqual(self.search_utf8(c, "FROM", "Zoë Fischer"), [1])
        self.assertOK(c.select("Archive/2024", readonly=True))
        self.assertEqual(self.search_utf8(c, "SUBJECT", "Lohnabrechnung Jänner"), [1])
        self.assertEqual(self.search(c, "SUBJECT", "Payslip"), [2])

    def test_search_body_and_text(self):
        c = self.inbox(readonly=True)
        self.assertEqual(self.search(c, "BODY", "paperclip"), [ALTERNATIVE])
        self.assertEqual(self.search(c, "BODY", "invoice"), [MIXED])
        self.assertEqual(self.search(c, "TEXT", '"Invoice 2023-117"'), [MIXED])
        self.assertEqual(self.search(c, "BODY", "Thursday"), [PLAIN, FORWARD])
        self.assertEqual(self.search(c, "BODY", "NoSuchWordAnywhere"), [])
        # Quoted-printable is decoded (a soft line break splits this word in the file).
        self.assertEqual(self.search(c, "BODY", "Donaudampfschifffahrtsgesellschaft"),
                         [QUOTED_PRINTABLE])
        # ... and ISO-8859-1 compared as UTF-8; 8-bit UTF-8 bodies too.
        self.assertEqual(self.search_utf8(c, "BODY", "Lösung"), [QUOTED_PRINTABLE])
        self.assertEqual(self.search_utf8(c, "BODY", "Grüße aus Zürich"), [UTF8_BODY])
        # CRLF-stored message.
        self.assertEqual(self.search(c, "BODY", "milestones"), [CRLF_STORED])

    def test_search_dates(self):
        c = self.inbox(readonly=True)
        # Date: header (SENT*), ignoring time and zone.
        self.assertEqual(self.search(c, "SENTBEFORE", "15-Nov-2023"), [PLAIN])
        self.assertEqual(self.search(c, "SENTON", "17-Nov-2023"), [ALTERNATIVE])
        self.assertEqual(self.search(c, "SENTSINCE", "23-Nov-2023"), [REPLY, NEW_1, NEW_2])
        # INTERNALDATE (the file mtime; noon UTC of the day in the file name).
        self.assertEqual(self.search(c, "BEFORE", "16-Nov-2023"), [PLAIN, UTF8_BODY])
        self.assertEqual(self.search(c, "ON", "20-Nov-2023"), [QUOTED_PRINTABLE])
        self.assertEqual(self.search(c, "SINCE", "24-Nov-2023"), [NEW_1, NEW_2])
        self.assertEqual(self.search(c, "SINCE", "18-Nov-2023", "BEFORE", "20-Nov-2023"),
                         [MIXED, FORWARD])

    def test_search_sets_sizes_and_logic(self):
        c = self.inbox(readonly=True)
        sizes = {seq: name_field(base, "W") for seq, (_u, base) in enumerate(self.uid_map(), 1)}
        self.assertEqual(self.search(c, "LARGER", "600"), sorted(k for k, v in sizes.items() if v > 600))
        self.assertEqual(self.search(c, "SMALLER", "300"), sorted(k for k, v in sizes.items() if v < 300))
        self.assertEqual(self.search(c, "2:4"), [2, 3, 4])
        self.assertEqual(self.search(c, "10:*"), [10, 11, 12])
        self.assertEqual(self.search(c, "1,3,5:6"), [1, 3, 5, 6])
        self.assertEqual(self.search(c, "UID", "3:5"), [3, 4, 5])
        self.assertEqual(self.search(c, "UID", "11:*"), [11, 12])
        self.assertEqual(self.search(c, "OR", "FLAGGED", "ANSWERED"), [UTF8_BODY, ENCODED_WORDS, REPLY])
        self.assertEqual(self.search(c, "NOT", "SEEN"), [ALTERNATIVE, RAW_8BIT_HEADER, NEW_1, NEW_2])
        self.assertEqual(self.search(c, "OR", "FROM", "carol", "SUBJECT", "invoice"), [PLAIN, MIXED, REPLY])
        self.assertEqual(self.search(c, "NOT", "OR", "SEEN", "DELETED"), [ALTERNATIVE, NEW_1, NEW_2])
        self.assertEqual(self.search(c, "(OR", "FLAGGED", "DELETED)", "SEEN"), [UTF8_BODY, REPLY])
        self.assertEqual(self.search(c, "SEEN", "NOT", "(FROM carol)", "1:5"), [UTF8_BODY, ENCODED_WORDS, MIXED])
        # UID SEARCH answers UIDs.
        self.assertEqual(self.search(c, "UNSEEN", uid=True), [4, 9, 11, 12])
        self.assertEqual(self.search(c, "UID", "10:*", uid=True), [10, 11, 12])
        self.assertEqual(self.search(c, "UID", "20:30", uid=True), [])
        self.assertEqual(self.search(c, "UID", "*", uid=True), [12])

    # -- EXPUNGE, CLOSE, UNSELECT, LOGOUT ------------------------------------------------

    def test_expunge_deletes_files(self):
        c = self.inbox()
        uids = [u for u, _ in self.uid_map()]
        bases = dict(self.uid_map())
        self.assertOK(c.store(str(PLAIN), "+FLAGS", "(\\Deleted)"))
        self.assertIn("T", self.flags_on_disk(bases[PLAIN]))
        typ, data = c.expunge()
        self.assertEqual(typ, "OK", data)
        left, removed = simulate_expunges(uids, [d for d in data if d])
        self.assertEqual(sorted(removed), [PLAIN, RAW_8BIT_HEADER])
        files = self.files()
        self.assertNotIn(bases[PLAIN], files)
        self.assertNotIn(bases[RAW_8BIT_HEADER], files)
        self.assertEqual(len(files), 10)
        # Sequence numbers close up; UIDs stay.
        got = self.fetch(c, "1:*", "(UID)")
        self.assertEqual([got[i]["UID"] for i in sorted(got)], left)
        c.select("INBOX")
        self.assertEqual(int(untagged(c, "EXISTS")[-1]), 10)

    def test_uid_fetch_store_search_expunge(self):
        c = self.inbox()
        bases = dict(self.uid_map())
        got = self.fetch(c, "5", "(FLAGS)", uid=True)
        self.assertEqual(list(got.values())[0]["UID"], 5, "UID FETCH always returns UID")
        got = self.fetch(c, "11:*", "(RFC822.SIZE)", uid=True)
        self.assertEqual(sorted(v["UID"] for v in got.values()), [11, 12])
        got = self.fetch(c, "100:200", "(FLAGS)", uid=True)
        self.assertEqual(got, {}, "UID FETCH of absent UIDs answers nothing")
        typ, data = c.uid("STORE", "5", "+FLAGS", "(\\Deleted)")
        self.assertEqual(typ, "OK", data)
        self.assertIn("T", self.flags_on_disk(bases[5]))
        self.assertEqual(self.search(c, "DELETED", uid=True), [5, 9])
        # UID EXPUNGE (UIDPLUS) removes only the given UIDs, not message 9 (also \Deleted).
        typ, data = c.uid("EXPUNGE", "5")
        self.assertEqual(typ, "OK", data)
        files = self.files()
        self.assertNotIn(bases[5], files)
        self.assertIn(bases[9], files)
        self.assertEqual(self.search(c, "ALL", uid=True), [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12])

    def test_close_expunges(self):
        c = self.inbox()
        bases = dict(self.uid_map())
        self.assertOK(c.store(str(UTF8_BODY), "+FLAGS", "(\\Deleted)"))
        typ, data = c.close()
        self.assertEqual(typ, "OK", data)
        self.assertEqual(c.state, "AUTH")
        files = self.files()
        self.assertNotIn(bases[UTF8_BODY], files)
        self.assertNotIn(bases[RAW_8BIT_HEADER], files)
        self.assertEqual(len(files), 10)

    def test_unselect_does_not_expunge(self):
        c = self.inbox()
        bases = dict(self.uid_map())
        self.assertOK(c.store(str(UTF8_BODY), "+FLAGS", "(\\Deleted)"))
        typ, data = c.unselect()
        self.assertEqual(typ, "OK", data)
        self.assertEqual(c.state, "AUTH")
        files = self.files()
        self.assertEqual(len(files), 12)
        self.assertIn("T", info_letters(files[bases[UTF8_BODY]][1]))
        self.assertIn("T", info_letters(files[bases[RAW_8BIT_HEADER]][1]))

    def test_logout_does_not_expunge(self):
        c = self.inbox()
        bases = dict(self.uid_map())
        self.assertOK(c.store(str(UTF8_BODY), "+FLAGS", "(\\Deleted)"))
        typ, data = c.logout()
        self.assertEqual(typ, "BYE", data)
        files = self.files()
        self.assertEqual(len(files), 12)
        self.assertIn("T", info_letters(files[bases[UTF8_BODY]][1]))

    # -- NAMESPACE, ID, ENABLE ---------------------------------------------------------------

    def test_namespace(self):
        c = self.login()
        typ, data = c.namespace()
        self.assertEqual(typ, "OK", data)
        personal, other, shared = parse_items(data)
        self.assertEqual([[s(x) for x in ns[:2]] for ns in personal], [["", "/"]])
        self.assertIsNone(other)
        self.assertIsNone(shared)

    def test_id(self):
        c = self.connect()
        for args in ('("name" "imaplib-interop" "version" "1")', "NIL"):
            typ, data = c._simple_command("ID", args)
            self.assertEqual(typ, "OK", data)
            typ, data = c._untagged_response(typ, data, "ID")
            self.assertTrue(data and data[0] is not None, "ID must answer with an ID response")
            value = parse_items(data)[0]
            self.assertTrue(value is None or (isinstance(value, list) and len(value) % 2 == 0), value)

    def test_enable(self):
        c = self.login()
        caps = capabilities(c)
        self.assertIn("ENABLE", caps)
        typ, data = c.enable("X-NO-SUCH-EXTENSION")
        self.assertEqual(typ, "OK", data)
        enabled = b" ".join(x for x in untagged(c, "ENABLED") if x).upper().split()
        self.assertNotIn(b"X-NO-SUCH-EXTENSION", enabled)
        if "IMAP4REV2" in caps:
            # RFC 9051: after ENABLE IMAP4rev2 mailbox names are UTF-8, not modified UTF-7.
            typ, data = c.enable("IMAP4rev2")
            self.assertEqual(typ, "OK", data)
            enabled = b" ".join(x for x in untagged(c, "ENABLED") if x).upper().split()
            self.assertIn(b"IMAP4REV2", enabled)
            names = {e[2] for e in parse_list(self.assertOK(c.list('""', "*")))}
            self.assertIn(UTF8_ENTWUERFE, names)
            self.assertNotIn(b"Entw&APw-rfe", names)
        elif self.server.target == "imapd":
            self.fail("imapd-maildir must advertise IMAP4rev2")
        elif "CONDSTORE" in caps:
            typ, data = c.enable("CONDSTORE")
            self.assertEqual(typ, "OK", data)
            enabled = b" ".join(x for x in untagged(c, "ENABLED") if x).upper().split()
            self.assertIn(b"CONDSTORE", enabled)

    def test_fixture_is_what_the_tests_assume(self):
        """Guards the constants above against an edited fixture."""
        uids = self.uid_map()
        self.assertEqual([u for u, _ in uids], list(range(1, 13)))
        self.assertEqual([b for _, b in uids], sorted((b for _, b in uids),
                         key=lambda b: (int(b.split(".")[0]), b)))
        self.assertTrue(os.path.isdir(EXAMPLES))



def without_modseq_logs(digest):
    return {path: value for path, value in digest.items() if os.path.basename(path) != "imapd-modseq"}

if __name__ == "__main__":
    unittest.main()
