#!/usr/bin/env python3
"""Writes an mbox of varied MIME messages for imaptest's stress mode (run.sh stress).

imaptest's stress mode appends messages from an mbox and afterwards checks that what it
FETCHes of a message never changes; it tells messages apart by Message-ID, so every
message here has its own. The mix: plain text, quoted-printable, 8bit, base64,
multipart/alternative, attachments, a forwarded message/rfc822 inside a multipart,
nested multiparts, replies with References/In-Reply-To, several recipients and
RFC 2047 encoded words. Deterministic for a given seed.

    make-mbox.py OUT.mbox [COUNT] [SEED]
"""
import random
import sys

WORDS = ("imap maildir folder message server client flag keyword search fetch store "
         "copy move append expunge idle select status list subscribe quota sort thread "
         "header body part boundary charset encoding").split()


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def paragraph(rng, lines):
    return "\r\n".join(sentence(rng, rng.randint(4, 12)) for _ in range(lines))


def headers(rng, i, content_type, extra=""):
    names = ["alice", "bob", "carol", "dave", "erin"]
    sender = rng.choice(names)
    to = ", ".join(f"{n}@example.org" for n in rng.sample(names, rng.randint(1, 3)))
    subject = sentence(rng, rng.randint(2, 6))
    if i % 7 == 3:
        subject = "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_" + str(i) + "?="
    lines = [
        f"From: \"{sender.capitalize()} Example\" <{sender}@example.org>",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {1 + i % 28:02d} Mar 2024 {i % 24:02d}:{i % 60:02d}:00 +0100",
        f"Message-ID: <stress-{i}@imaptest.example>",
        "MIME-Version: 1.0",
    ]
    if i % 3 == 1:
        lines.append("Cc: list@example.org")
    if i > 0 and i % 4 == 2:
        lines.append(f"In-Reply-To: <stress-{i - 1}@imaptest.example>")
        lines.append(f"References: <stress-{max(0, i - 2)}@imaptest.example> <stress-{i - 1}@imaptest.example>")
    lines.append(f"Content-Type: {content_type}")
    if extra:
        lines.append(extra)
    return "\r\n".join(lines) + "\r\n\r\n"


def b64(rng, n):
    import base64
    data = bytes(rng.getrandbits(8) for _ in range(n))
    text = base64.b64encode(data).decode()
    return "\r\n".join(text[k:k + 76] for k in range(0, len(text), 76))


def message(rng, i):
    kind = i % 6
    if kind == 0:
        return headers(rng, i, "text/plain; charset=us-ascii") + paragraph(rng, rng.randint(1, 30))
    if kind == 1:
        body = paragraph(rng, rng.randint(2, 10)).replace("e.", "=C3=A9.")
        return headers(rng, i, "text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable") + body
    if kind == 2:
        b = f"alt-{i}"
        return (headers(rng, i, f"multipart/alternative; boundary=\"{b}\"")
                + f"--{b}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + paragraph(rng, 3) + " caf\u00e9\r\n"
                + f"--{b}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>" + paragraph(rng, 2) + "</p>\r\n"
                + f"--{b}--\r\n")
    if kind == 3:
        b = f"mixed-{i}"
        return (headers(rng, i, f"multipart/mixed; boundary=\"{b}\"")
                + f"--{b}\r\nContent-Type: text/plain\r\n\r\n" + paragraph(rng, 4) + "\r\n"
                + f"--{b}\r\nContent-Type: application/octet-stream; name=\"data{i}.bin\"\r\n"
                + f"Content-Disposition: attachment; filename=\"data{i}.bin\"\r\n"
                + "Content-Transfer-Encoding: base64\r\n\r\n" + b64(rng, rng.randint(100, 6000)) + "\r\n"
                + f"--{b}--\r\n")
    if kind == 4:
        b = f"fwd-{i}"
        inner = (f"From: inner@example.net\r\nSubject: forwarded {i}\r\nMessage-ID: <inner-{i}@imaptest.example>\r\n"
                 "Content-Type: text/plain\r\n\r\n" + paragraph(rng, 3) + "\r\n")
        return (headers(rng, i, f"multipart/mixed; boundary=\"{b}\"")
                + f"--{b}\r\nContent-Type: text/plain\r\n\r\nSee the forwarded message.\r\n"
                + f"--{b}\r\nContent-Type: message/rfc822\r\n\r\n" + inner
                + f"--{b}--\r\n")
    b, c = f"outer-{i}", f"inner-{i}"
    return (headers(rng, i, f"multipart/mixed; boundary=\"{b}\"")
            + "This is a multi-part message in MIME format.\r\n"
            + f"--{b}\r\nContent-Type: multipart/alternative; boundary=\"{c}\"\r\n\r\n"
            + f"--{c}\r\nContent-Type: text/plain\r\n\r\n" + paragraph(rng, 2) + "\r\n"
            + f"--{c}\r\nContent-Type: text/html\r\n\r\n<b>" + sentence(rng, 5) + "</b>\r\n"
            + f"--{c}--\r\n"
            + f"--{b}\r\nContent-Type: image/png; name=x.png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + b64(rng, 300) + "\r\n"
            + f"--{b}--\r\nepilogue\r\n")


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
    with open(out, "w", encoding="utf-8", newline="") as f:
        for i in range(count):
            text = message(rng, i).replace("\r\n", "\n")
            # mbox "From " quoting of body lines
            text = "\n".join((">" + l) if l.startswith("From ") else l for l in text.split("\n"))
            f.write(f"From stress-{i}@imaptest.example Sat Mar  2 10:00:00 2024\n{text}\n\n")


if __name__ == "__main__":
    main()
