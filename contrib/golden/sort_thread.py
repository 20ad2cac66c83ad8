#!/usr/bin/env python3
"""SORT and THREAD answers of an IMAP server on a generated folder (issue 15).

    sort_thread.py corpus OUT_DIR [COUNT] [SEED]   write the messages: <n>.eml and mtimes
    sort_thread.py layout CORPUS ROOT USER         lay them out as USER's INBOX, with a
                                                   dovecot-uidlist fixing UID n for <n>.eml
    sort_thread.py record PORT USER PASSWORD OUT   run COMMANDS, write the answers to OUT
                                                   (BENCH_COMMANDS with COMMANDS=bench)

The corpus is made to hit what RFC 5256 leaves to the implementation and what is easy
to get wrong: Re:/Fwd:/[blob]/(fwd)/[fwd: …] subjects, encoded words, case, missing and
empty subjects; display names, groups, missing addresses; dates in several zones,
missing and unparsable dates, equal dates and mtimes; missing, duplicated and invalid
Message-IDs; replies to missing messages, References loops and self-references, long
chains. Deterministic for a seed.

The answers file holds, per command, "C: command", each untagged line "S: line", and
"T: status" (the tagged status word only); Tests/IMAPServerTests/SortThreadGoldenTests
serves the same corpus and compares. record-sort-thread.sh records Dovecot's answers.
"""
import os
import random
import socket
import sys

COMMANDS = []
for key in ("ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"):
    COMMANDS.append("SORT (%s) UTF-8 ALL" % key)
    COMMANDS.append("SORT (REVERSE %s) UTF-8 ALL" % key)
COMMANDS += [
    "SORT (SUBJECT DATE) UTF-8 ALL",
    "SORT (FROM REVERSE DATE) UTF-8 ALL",
    "SORT (REVERSE ARRIVAL SIZE) UTF-8 ALL",
    "SORT (DISPLAYFROM SUBJECT) UTF-8 ALL",
    "SORT (DATE) UTF-8 SUBJECT re",
    "SORT (SUBJECT) UTF-8 NOT FROM alice",
    "UID SORT (REVERSE DATE) UTF-8 ALL",
    "UID SORT (SUBJECT) US-ASCII FROM bob",
    # Not ALL with COUNT: Dovecot writes ALL before COUNT for ESORT, we write COUNT first
    # (both legal, RFC 4731 leaves the order free; the ESEARCH writer is shared).
    "SORT RETURN (MIN MAX ALL) (REVERSE DATE) UTF-8 ALL",
    "SORT RETURN (MIN COUNT) (FROM) UTF-8 ALL",
    "UID SORT RETURN (ALL) (SUBJECT) UTF-8 ALL",
    "SORT RETURN () (ARRIVAL) UTF-8 NOT FROM alice",
    "SORT RETURN (COUNT) (DATE) UTF-8 SUBJECT nothing-matches",
]
for alg in ("ORDEREDSUBJECT", "REFERENCES", "REFS"):
    COMMANDS.append("THREAD %s UTF-8 ALL" % alg)
    COMMANDS.append("UID THREAD %s UTF-8 ALL" % alg)
    COMMANDS.append("THREAD %s UTF-8 NOT SUBJECT lunch" % alg)

# COMMANDS=bench: the benchmark spool (`imapd-bench generate --uidlist`, 2,000 messages,
# seed 6), as Tests/IMAPServerTests/SortThreadBenchGoldenTests serves it: every key both
# ways, several keys, UID SORT, search criteria on flags and headers, every algorithm.
BENCH_COMMANDS = []
for key in ("ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"):
    BENCH_COMMANDS.append("SORT (%s) UTF-8 ALL" % key)
    BENCH_COMMANDS.append("SORT (REVERSE %s) UTF-8 ALL" % key)
BENCH_COMMANDS += [
    "SORT (SUBJECT DATE) UTF-8 ALL",
    "SORT (FROM REVERSE DATE) UTF-8 ALL",
    "SORT (REVERSE ARRIVAL SIZE) UTF-8 ALL",
    "SORT (DISPLAYFROM SUBJECT) UTF-8 ALL",
    "SORT (TO CC REVERSE SIZE) UTF-8 ALL",
    "SORT (REVERSE SUBJECT REVERSE DATE) UTF-8 ALL",
    "SORT (DISPLAYTO REVERSE DISPLAYFROM ARRIVAL) UTF-8 ALL",
    "UID SORT (REVERSE DATE) UTF-8 ALL",
    "UID SORT (SUBJECT) UTF-8 FLAGGED",
    "SORT (DATE) UTF-8 UNSEEN",
    "SORT (REVERSE SIZE) US-ASCII SUBJECT meeting",
    "UID SORT (FROM SUBJECT) UTF-8 OR ANSWERED CC team",
]
for alg in ("ORDEREDSUBJECT", "REFERENCES", "REFS"):
    BENCH_COMMANDS.append("THREAD %s UTF-8 ALL" % alg)
    BENCH_COMMANDS.append("UID THREAD %s UTF-8 ALL" % alg)
    BENCH_COMMANDS.append("THREAD %s UTF-8 SUBJECT report" % alg)
BENCH_COMMANDS.append("UID THREAD REFERENCES UTF-8 UNSEEN")

NAMES = ["alice", "bob", "Carol", "dave", "erin", "frank", "Zoe"]
TOPICS = ["lunch", "Budget 2024", "release plan", "server down", "Quarterly report", "party",
          "caf\u00e9 order", "", "re", "[fwd: old news]", "Meeting notes"]


def encoded(text, rng):
    if rng.random() < 0.5:
        return "=?utf-8?q?" + "".join(
            c if c.isalnum() and ord(c) < 128 else "=%02X" % b for c in text for b in c.encode()
            if True) + "?="
    return "=?iso-8859-1?q?" + "".join(
        c if c.isalnum() and ord(c) < 128 else "=%02X" % ord(c) for c in text) + "?="


def subject(rng, topic):
    prefix = rng.choice(["", "", "Re: ", "RE: re: ", "Fwd: ", "Fw: ", "[list] ", "[list] Re: ",
                         "Re[2]: ", "Re: [team] ", "re:", "  Re :  "])
    suffix = rng.choice(["", "", "", " (fwd)", "  ", " (FWD) (fwd)"])
    text = topic
    if rng.random() < 0.15:
        text = text.upper()
    if rng.random() < 0.1:
        return prefix + "[fwd: " + text + "]"
    if rng.random() < 0.15 and text:
        return prefix + encoded(text, rng) + suffix
    return prefix + text + suffix


def address(rng):
    name = rng.choice(NAMES)
    form = rng.randrange(7)
    if form == 0:
        return "%s@example.org" % name
    if form == 1:
        return "\"%s %s\" <%s@example.org>" % (name.title(), rng.choice(NAMES), name.lower())
    if form == 2:
        return "%s <%s@Example.ORG>" % (encoded(name + " \u00e9", rng), name)
    if form == 3:
        return "undisclosed-recipients:;"
    if form == 4:
        return "team: %s@example.org, x@example.org;" % name
    if form == 5:
        return "<%s@example.org>, other@example.org" % name
    return "%s (comment) <%s.x@example.org>" % (name, name)


def date(rng, base):
    form = rng.randrange(10)
    secs = base + rng.randrange(0, 86400 * 30)
    if form == 0:
        return None
    if form == 1:
        return "not a date"
    if form == 2:
        secs = base  # ties
    zone = rng.choice([0, 60, -300, 330, 120])
    import time
    t = time.gmtime(secs + zone * 60)
    sign = "+" if zone >= 0 else "-"
    return "%s, %d %s %d %02d:%02d:%02d %s%02d%02d" % (
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][t.tm_wday], t.tm_mday,
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][t.tm_mon - 1],
        t.tm_year, t.tm_hour, t.tm_min, t.tm_sec, sign, abs(zone) // 60, abs(zone) % 60)


def corpus(out, count=300, seed=15):
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    ids = ["<m%d@example.org>" % i for i in range(count)]
    base = 1_700_000_000
    for i in range(count):
        lines = []
        topic = rng.choice(TOPICS)
        if rng.random() < 0.93:
            lines.append("Subject: " + subject(rng, topic))
        lines.append("From: " + address(rng))
        if rng.random() < 0.8:
            lines.append("To: " + address(rng))
        if rng.random() < 0.3:
            lines.append("Cc: " + address(rng))
        d = date(rng, base)
        if d is not None:
            lines.append("Date: " + d)
        form = rng.randrange(20)
        if form == 0:
            pass  # no Message-ID
        elif form == 1 and i > 0:
            lines.append("Message-ID: " + ids[rng.randrange(i)])  # duplicate
        elif form == 2:
            lines.append("Message-ID: <no-at-sign-%d>" % i)
        else:
            lines.append("Message-ID: " + ids[i])
        kind = rng.randrange(10)
        if kind < 4 and i > 0:
            parent = rng.randrange(max(0, i - 30), i)
            chain = [ids[rng.randrange(parent + 1)] for _ in range(rng.randrange(3))] + [ids[parent]]
            lines.append("References: " + " ".join(chain))
            if rng.random() < 0.5:
                lines.append("In-Reply-To: " + ids[parent])
        elif kind == 4:
            lines.append("In-Reply-To: <missing%d@example.org> (comment)" % rng.randrange(5))
        elif kind == 5:
            later = rng.randrange(i, count)
            lines.append("References: <missing@example.org> " + ids[later])  # forward / loop
        elif kind == 6:
            lines.append("References: " + ids[i])  # itself
        body = "\n".join("line %d of message %d" % (k, i) for k in range(rng.randrange(1, 40)))
        mtime = base + rng.randrange(0, 86400 * 20) if rng.random() < 0.9 else base
        with open(os.path.join(out, "%04d.eml" % (i + 1)), "w") as fh:
            fh.write("\n".join(lines) + "\n\n" + body + "\n")
        os.utime(os.path.join(out, "%04d.eml" % (i + 1)), (mtime, mtime))
    with open(os.path.join(out, "mtimes"), "w") as fh:
        for i in range(count):
            fh.write("%04d.eml %d\n" % (i + 1, os.stat(os.path.join(out, "%04d.eml" % (i + 1))).st_mtime))


def layout(corpus_dir, root, user):
    home = os.path.join(root, user)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(home, sub), exist_ok=True)
    mtimes = dict(line.split() for line in open(os.path.join(corpus_dir, "mtimes")))
    names = sorted(n for n in os.listdir(corpus_dir) if n.endswith(".eml"))
    records = []
    for n, name in enumerate(names, 1):
        base = "%d.M%dP1.sorthost" % (1_700_000_000 + n, n)
        path = os.path.join(home, "cur", base + ":2,")
        with open(os.path.join(corpus_dir, name), "rb") as src, open(path, "wb") as dst:
            dst.write(src.read())
        t = int(mtimes[name])
        os.utime(path, (t, t))
        records.append("%d :%s" % (n, base))
    with open(os.path.join(home, "dovecot-uidlist"), "w") as fh:
        fh.write("3 V1700000000 N%d G0123456789abcdef0123456789abcdef\n" % (len(names) + 1))
        fh.write("\n".join(records) + "\n")


def record(port, user, password, out):
    sock = socket.create_connection(("127.0.0.1", int(port)), timeout=60)
    reader = sock.makefile("rb")

    def command(tag, text):
        sock.sendall(("%s %s\r\n" % (tag, text)).encode())
        untagged = []
        while True:
            line = reader.readline().decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith(tag + " "):
                return untagged, line.split(" ")[1]
            untagged.append(line)

    reader.readline()
    command("l", "LOGIN %s %s" % (user, password))
    command("s", "EXAMINE INBOX")
    with open(out, "w") as fh:
        for n, text in enumerate(COMMANDS):
            untagged, status = command("c%d" % n, text)
            fh.write("C: %s\n" % text)
            for line in untagged:
                fh.write("S: %s\n" % line)
            fh.write("T: %s\n" % status)
    command("z", "LOGOUT")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "corpus":
        corpus(sys.argv[2], *(int(a) for a in sys.argv[3:]))
    elif mode == "layout":
        layout(*sys.argv[2:5])
    elif mode == "record":
        if os.environ.get("COMMANDS") == "bench":
            COMMANDS[:] = BENCH_COMMANDS
        record(*sys.argv[2:6])
    else:
        sys.exit(__doc__)
