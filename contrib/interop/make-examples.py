#!/usr/bin/env python3
"""Writes the message files of Examples/maildirs (alice and bob).

The fixture is committed; this script documents how it was made and lets it be
remade byte for byte. It writes message files, maildirfolder markers, `.keep`
placeholders (git cannot track empty directories; Maildir readers ignore names
starting with "."), dovecot-keywords and subscriptions. It never touches the
dovecot-uidlist / dovecot-uidvalidity files: those are written by real Dovecot
(contrib/interop/record-dovecot-uidlist.sh) and are the golden part.

File names follow Dovecot's shape `<secs>.M<usecs>P<pid>.<host>,S=<size>,W=<vsize>`
where S is the physical size and W the size with every bare LF counted as CRLF
(= RFC822.SIZE on the wire). Messages in new/ carry no `:2,` info part.

Usage: contrib/interop/make-examples.py [Examples/maildirs]
"""

import os
import sys

HOST = "example"


def vsize(data: bytes) -> int:
    """Size of the message once every bare LF is sent as CRLF."""
    bare_lf = data.count(b"\n") - data.count(b"\r\n")
    return len(data) + bare_lf


def lf(text: str) -> bytes:
    return text.encode("utf-8")


# --------------------------------------------------------------------------
# alice's messages. Each entry: (folder, "new"|"cur", secs, usecs, flags, bytes)
# folder "" is INBOX. flags None means no info part (only in new/).
# Keyword letters: a = $Forwarded, b = Important (see ALICE_KEYWORDS).
# --------------------------------------------------------------------------

ALICE_KEYWORDS = "0 $Forwarded\n1 Important\n"

M_PLAIN = lf("""\
Return-Path: <carol@example.org>
Delivered-To: alice@example.com
Received: from mx.example.org (mx.example.org [192.0.2.10])
	by mail.example.com with ESMTP id 4SZ1; Tue, 14 Nov 2023 22:13:20 +0000
Date: Tue, 14 Nov 2023 22:13:19 +0000
From: Carol Jones <carol@example.org>
To: Alice Example <alice@example.com>
Subject: Lunch on Thursday?
Message-ID: <lunch-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hi Alice,

Are you free for lunch on Thursday? The new place on Elm Street
has a quiet corner table. Noon works best for me.

Carol
""")

M_UTF8_BODY = lf("""\
Date: Wed, 15 Nov 2023 09:30:00 +0100
From: Dieter Schmidt <dieter@example.net>
To: alice@example.com
Subject: Notes from the Zurich meeting
Message-ID: <notes-2@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hallo Alice,

hier die Notizen: Grüße aus Zürich! Die Präsentation war ausgezeichnet.
Nächster Termin: Freitag, 17. November — im Café „Sprüngli“.

Viele Grüße
Dieter
""")

M_ENCODED_WORDS = lf("""\
Date: Thu, 16 Nov 2023 14:05:00 +0100
From: =?ISO-8859-1?Q?Fran=E7ois_Lef=E8vre?= <francois@example.org>
To: Alice Example <alice@example.com>
Subject: =?UTF-8?B?Q2Fmw6kgY3LDqG1lIGJyw7tsw6llIOKYlQ==?=
Message-ID: <cafe-3@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Alice, the recipe you asked for is attached to my next mail.
Francois
""")

M_ALTERNATIVE = lf("""\
Date: Fri, 17 Nov 2023 08:00:00 -0500
From: Newsletter <news@example.net>
To: alice@example.com
Subject: Weekly digest: 5 stories
Message-ID: <digest-4@example.net>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt-boundary-4"

This is a multi-part message in MIME format.

--alt-boundary-4
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Weekly digest

1. Gardening in winter
2. The history of the paperclip

--alt-boundary-4
Content-Type: text/html; charset=us-ascii
Content-Transfer-Encoding: 7bit

<html><body><h1>Weekly digest</h1>
<ol><li>Gardening in winter</li><li>The history of the paperclip</li></ol>
</body></html>

--alt-boundary-4--
""")

# base64 of a small "PDF-like" attachment, 76-column lines.
_ATTACHMENT = (
    b"%PDF-1.4\n% imapd-maildir example attachment\n"
    b"1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


def _b64_lines(data: bytes) -> str:
    import base64

    enc = base64.b64encode(data).decode("ascii")
    return "\n".join(enc[i : i + 76] for i in range(0, len(enc), 76))


M_MIXED = lf("""\
Date: Sat, 18 Nov 2023 11:11:11 +0000
From: Bob Builder <bob@example.com>
To: Alice Example <alice@example.com>
Subject: Invoice 2023-117 attached
Message-ID: <invoice-5@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed-5"

--mixed-5
Content-Type: text/plain; charset=us-ascii

Please find the invoice attached.

--mixed-5
Content-Type: application/pdf; name="invoice-2023-117.pdf"
Content-Disposition: attachment; filename="invoice-2023-117.pdf"
Content-Transfer-Encoding: base64

""" + _b64_lines(_ATTACHMENT) + """
--mixed-5--
""")

M_FORWARD = lf("""\
Date: Sun, 19 Nov 2023 18:45:00 +0000
From: Alice Example <alice@example.com>
To: Dave Miller <dave@example.org>
Subject: Fwd: Lunch on Thursday?
Message-ID: <fwd-6@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fwd-6"

--fwd-6
Content-Type: text/plain; charset=us-ascii

Dave, forwarding Carol's invitation below.

--fwd-6
Content-Type: message/rfc822

Date: Tue, 14 Nov 2023 22:13:19 +0000
From: Carol Jones <carol@example.org>
To: Alice Example <alice@example.com>
Subject: Lunch on Thursday?
Message-ID: <lunch-1@example.org>

Are you free for lunch on Thursday?

--fwd-6--
""")

M_QUOTED_PRINTABLE = lf("""\
Date: Mon, 20 Nov 2023 07:15:00 +0100
From: Service Desk <help@example.net>
To: alice@example.com
Subject: Your ticket #4711 was updated
Message-ID: <ticket-7@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Sehr geehrte Kundin,

Ihr Ticket wurde aktualisiert. Die L=F6sung finden Sie im Kundenportal unter=
 dem Men=FCpunkt "Tickets". Bitte best=E4tigen Sie den Empfang.

Das Kundenservice-Team verabschiedet sich mit einem Wort, das hier geteilt ist: Donaudampfschiff=
fahrtsgesellschaft.
""")

# This one is stored with CRLF line ends (as some MDAs and IMAP APPENDs leave them).
M_CRLF = lf("""\
Date: Tue, 21 Nov 2023 16:20:00 +0000
From: Erin Walker <erin@example.org>
To: alice@example.com
Cc: Bob Builder <bob@example.com>
Subject: Project kickoff agenda (CRLF stored)
Message-ID: <kickoff-8@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Agenda:
- scope
- milestones
- budget

Erin
""").replace(b"\n", b"\r\n")

M_8BIT_HEADER = lf("""\
Date: Wed, 22 Nov 2023 12:00:00 +0100
From: Jürgen Groß <juergen@example.net>
To: alice@example.com
Subject: Grüße aus München (raw 8-bit header)
Message-ID: <raw8-9@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Servus! Dieser Header enthält rohe UTF-8 Bytes.
""")

M_FLAGGED_IMPORTANT = lf("""\
Date: Thu, 23 Nov 2023 09:00:00 +0000
From: Carol Jones <carol@example.org>
To: Alice Example <alice@example.com>
Subject: Re: Lunch on Thursday?
In-Reply-To: <lunch-1@example.org>
References: <lunch-1@example.org>
Message-ID: <lunch-reply-10@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Great, see you at noon. I booked the table under my name.
""")

M_NEW_1 = lf("""\
Date: Fri, 24 Nov 2023 06:30:00 +0000
From: Monitoring <noreply@example.net>
To: alice@example.com
Subject: Disk usage above 80% on host web1
Message-ID: <alert-11@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

The volume /var on web1 is 83% full.
""")

M_NEW_2 = lf("""\
Date: Sat, 25 Nov 2023 10:10:10 +0100
From: =?iso-8859-1?q?Ren=E9e_M=FCller?= <renee@example.org>
To: alice@example.com
Subject: =?ISO-8859-1?Q?Einladung_zum_Geburtstag_=28Samstag=29?=
Message-ID: <party-12@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Please come to my birthday party on Saturday at 7pm.
""")

M_SENT_1 = lf("""\
Date: Mon, 13 Nov 2023 17:00:00 +0000
From: Alice Example <alice@example.com>
To: Carol Jones <carol@example.org>
Subject: Re: Book club
Message-ID: <bookclub-s1@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

I finished the book, count me in for Tuesday.
""")

M_SENT_2 = lf("""\
Date: Sun, 19 Nov 2023 18:45:00 +0000
From: Alice Example <alice@example.com>
To: Dave Miller <dave@example.org>
Subject: Fwd: Lunch on Thursday?
Message-ID: <fwd-6@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Dave, forwarding Carol's invitation (sent copy).
""")

M_DRAFT = lf("""\
Date: Sun, 26 Nov 2023 20:00:00 +0000
From: Alice Example <alice@example.com>
To: Bob Builder <bob@example.com>
Subject: Draft: holiday plans
Message-ID: <draft-d1@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Bob, what do you think about
""")

M_TRASH = lf("""\
Date: Wed, 01 Nov 2023 03:00:00 +0000
From: Win Big <winner@example.net>
To: alice@example.com
Subject: You have won!!!
Message-ID: <spam-t1@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Click here to claim your prize.
""")

M_ARCHIVE = lf("""\
Date: Fri, 30 Dec 2022 15:00:00 +0000
From: =?UTF-8?Q?Zo=C3=AB_Fischer?= <zoe@example.org>
To: Alice Example <alice@example.com>
Subject: Happy new year 2023
Message-ID: <ny-a1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

All the best for the new year!
""")

M_ARCHIVE_2024_1 = lf("""\
Date: Tue, 16 Jan 2024 10:00:00 +0000
From: Payroll <payroll@example.com>
To: alice@example.com
Subject: =?ISO-8859-1?B?TG9obmFicmVjaG51bmcgSuRubmVyIDIwMjQ=?=
Message-ID: <pay-2024-01@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Your payslip for January 2024 is available.
""")

M_ARCHIVE_2024_2 = lf("""\
Date: Thu, 15 Feb 2024 10:00:00 +0000
From: Payroll <payroll@example.com>
To: alice@example.com
Subject: Payslip February 2024
Message-ID: <pay-2024-02@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Your payslip for February 2024 is available.
""")

M_ENTWURF = lf("""\
Date: Mon, 27 Nov 2023 21:00:00 +0100
From: Alice Example <alice@example.com>
To: Dieter Schmidt <dieter@example.net>
Subject: Entwurf: Antwort an Dieter
Message-ID: <entwurf-e1@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Lieber Dieter, vielen Dank für die Notizen.
""")

ALICE = [
    # INBOX/cur. INBOX file names carry noon UTC of the Date header's day, so
    # INTERNALDATE (= mtime = those seconds) falls on the same date in every time zone
    # from UTC-11 to UTC+11 and date SEARCHes have one right answer.
    ("", "cur", 1699963200, 100001, "S", M_PLAIN),
    ("", "cur", 1700049600, 100002, "FS", M_UTF8_BODY),
    ("", "cur", 1700136000, 100003, "RS", M_ENCODED_WORDS),
    ("", "cur", 1700222400, 100004, "", M_ALTERNATIVE),
    ("", "cur", 1700308800, 100005, "Sa", M_MIXED),
    ("", "cur", 1700395200, 100006, "PSa", M_FORWARD),
    ("", "cur", 1700481600, 100007, "Sb", M_QUOTED_PRINTABLE),
    ("", "cur", 1700568000, 100008, "S", M_CRLF),
    ("", "cur", 1700654400, 100009, "T", M_8BIT_HEADER),
    ("", "cur", 1700740800, 100010, "FRSb", M_FLAGGED_IMPORTANT),
    # INBOX/new: delivered, not yet seen by any client
    ("", "new", 1700827200, 100011, None, M_NEW_1),
    ("", "new", 1700913600, 100012, None, M_NEW_2),
    # subfolders
    (".Sent", "cur", 1699894800, 200001, "S", M_SENT_1),
    (".Sent", "cur", 1700419500, 200002, "S", M_SENT_2),
    (".Drafts", "cur", 1701028800, 300001, "D", M_DRAFT),
    (".Trash", "cur", 1698807600, 400001, "ST", M_TRASH),
    (".Archive", "cur", 1672412400, 500001, "S", M_ARCHIVE),
    (".Archive.2024", "cur", 1705399200, 600001, "S", M_ARCHIVE_2024_1),
    (".Archive.2024", "cur", 1707991200, 600002, "RS", M_ARCHIVE_2024_2),
    (".Entw&APw-rfe", "cur", 1701115200, 700001, "DS", M_ENTWURF),
]

ALICE_FOLDERS = [".Sent", ".Drafts", ".Trash", ".Archive", ".Archive.2024", ".Entw&APw-rfe"]
# Dovecot's v1 subscriptions format: one mailbox name per line (wire names, "/"-separated
# in the IMAP view but stored with the Maildir++ on-disk separator "." by Dovecot for
# LAYOUT=maildir++).
ALICE_SUBSCRIPTIONS = "INBOX\nSent\nDrafts\nTrash\nArchive\nArchive.2024\nEntw&APw-rfe\n"

# --------------------------------------------------------------------------
# bob
# --------------------------------------------------------------------------

B_WELCOME = lf("""\
Date: Wed, 01 Nov 2023 09:00:00 +0000
From: IT Department <it@example.com>
To: bob@example.com
Subject: Welcome to your new mailbox
Message-ID: <welcome-b1@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Welcome, Bob. Your mailbox is ready.
""")

B_FROM_ALICE = lf("""\
Date: Thu, 02 Nov 2023 13:37:00 +0000
From: Alice Example <alice@example.com>
To: Bob Builder <bob@example.com>
Subject: Shelf measurements
Message-ID: <shelf-b2@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

The shelf is 120 cm wide and 35 cm deep =E2=80=94 oak, please.
""")

B_NEW = lf("""\
Date: Fri, 03 Nov 2023 08:00:00 +0000
From: Hardware Store <orders@example.net>
To: bob@example.com
Subject: Your order has shipped
Message-ID: <order-b3@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Order 99812 (2x oak board) has shipped.
""")

B_SENT = lf("""\
Date: Thu, 02 Nov 2023 14:00:00 +0000
From: Bob Builder <bob@example.com>
To: Alice Example <alice@example.com>
Subject: Re: Shelf measurements
Message-ID: <shelf-reply-b4@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Oak it is. I'll have it ready next week.
""")

BOB = [
    ("", "cur", 1698829200, 800001, "S", B_WELCOME),
    ("", "cur", 1698932220, 800002, "RS", B_FROM_ALICE),
    ("", "new", 1699000000, 800003, None, B_NEW),
    (".Sent", "cur", 1698933600, 900001, "S", B_SENT),
]
BOB_FOLDERS = [".Sent"]
BOB_SUBSCRIPTIONS = "INBOX\nSent\n"


def file_name(secs: int, usecs: int, flags, data: bytes) -> str:
    base = f"{secs}.M{usecs}P4242.{HOST},S={len(data)},W={vsize(data)}"
    return base if flags is None else f"{base}:2,{flags}"


def write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def make_user(root: str, user: str, messages, folders, subscriptions, keywords=None):
    home = os.path.join(root, user)
    for folder in [""] + folders:
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(home, folder, sub), exist_ok=True)
        if folder:
            write(os.path.join(home, folder, "maildirfolder"), b"")
    for folder, where, secs, usecs, flags, data in messages:
        name = file_name(secs, usecs, flags, data)
        path = os.path.join(home, folder, where, name)
        write(path, data)
        os.utime(path, (secs, secs))  # INTERNALDATE; tests re-apply it after a git checkout
    write(os.path.join(home, "subscriptions"), subscriptions.encode())
    if keywords:
        write(os.path.join(home, "dovecot-keywords"), keywords.encode())
    # Placeholders so git keeps empty cur/new/tmp directories.
    for dirpath, dirnames, filenames in os.walk(home):
        if not dirnames and not filenames:
            write(os.path.join(dirpath, ".keep"), b"")


def main() -> None:
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "Examples", "maildirs")
    make_user(root, "alice", ALICE, ALICE_FOLDERS, ALICE_SUBSCRIPTIONS, ALICE_KEYWORDS)
    make_user(root, "bob", BOB, BOB_FOLDERS, BOB_SUBSCRIPTIONS)


if __name__ == "__main__":
    main()
