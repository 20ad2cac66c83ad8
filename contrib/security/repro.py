#!/usr/bin/env python3
"""Replays the reproductions of the attack review (issue 11) against a server binary and
prints one line per item: what was tried, what happened, and OK / FAIL.

    contrib/security/repro.py [--bin PATH] [--only 1,2,3] [--connections 6,50]

Each item starts its own server on a fresh temporary spool on 127.0.0.1 and stops it
again. The unit and end-to-end regression tests in the suite are what CI runs; this
script is for reading a build's behaviour side by side with an older one (run it with
--bin pointing at each) and for the figures of the closing note (item 3's and item 14's RSS).
Python 3 standard library only; Linux (/proc) only.
"""
import argparse
import os
import random
import re
import selectors
import socket
import sys
import threading
import time

from reprolib import PASSWORD, REPO, Server, greet, message, report

# --- items ---------------------------------------------------------------------------

def item1(binary, _):
    """Spool escape through --user-path with an empty first field."""
    before = set(os.listdir("/"))
    results = []
    with Server(binary, args=("--user-path", "%d/%n", "--any-password", "--create-users")) as s:
        c = greet(s.port)
        c.send('a LOGIN "alice@" x\r\n')
        results.append(c.until("a")[-1])
        c.send("b LOGIN {1+}\r\n@ x\r\n")
        results.append(c.until("b")[-1])
        c.close()
    created = sorted(set(os.listdir("/")) - before)
    ok = all(" NO " in r for r in results) and not created
    return report(1, "LOGIN \"alice@\" and LOGIN {1+}@ with --user-path %d/%n",
                  f"{[r.split(' ', 1)[1] for r in results]}, new entries in /: {created or 'none'}", ok)


def item2(binary, _):
    """SIGBUS: a message over 1 MiB truncated while FETCH BODY.PEEK[TEXT] streams it."""
    outcomes = []
    for section in ("BODY.PEEK[TEXT]", "BODY.PEEK[1]", "BINARY.PEEK[1]", "BODY.PEEK[]<0.3000000>"):
        with Server(binary) as s:
            path = os.path.join(s.root, "alice", "cur", "1700000000.M1P1.repro:2,")
            with open(path, "wb") as f:
                f.write(message(3 << 20))
            c = greet(s.port)
            c.login()
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.send("s SELECT INBOX\r\n")
            c.until("s")
            c.send(f"f FETCH 1 {section}\r\n")
            got = c.sock.recv(4096)  # the response has started; the server waits on us
            os.truncate(path, 1000)
            time.sleep(0.2)  # let the server touch the truncated pages
            try:
                while c.sock.recv(1 << 20):
                    pass
            except OSError:
                pass
            other = greet(s.port)
            answer = other.login("bob")
            outcomes.append((section, s.alive() and " OK " in answer and bool(got)))
            other.close()
            c.close()
    ok = all(alive for _, alive in outcomes)
    return report(2, "truncate a 3 MiB message to 1000 bytes during FETCH",
                  ", ".join(f"{sec}: {'server alive' if a else 'server DIED'}" for sec, a in outcomes), ok)


def item3(binary, args):
    """Unfinished pre-login commands with 64 MiB literals."""
    outcomes = []
    ok = True
    for n in args.connections:
        with Server(binary, args=("--max-connections-per-address", str(n + 10))) as s:
            before = s.status("VmRSS")
            chunk = b"A" * (1 << 20)
            clients = []
            for _ in range(n):
                c = greet(s.port, timeout=5)
                clients.append(c)
            for c in clients:
                try:
                    c.send(b"a LOGIN {67108864+}\r\n")
                    for _ in range(64):
                        c.send(chunk)
                    c.send(b" {67108864+}\r\n")
                    for _ in range(64):
                        c.send(chunk)
                except OSError:
                    pass
            closed = sum(1 for c in clients if c.closed_within(5))
            after, peak = s.status("VmRSS"), s.status("VmHWM")
            for c in clients:
                c.close()
            outcomes.append(f"{n} connections: RSS {before // 1024} -> {after // 1024} MiB, "
                            f"peak {peak // 1024} MiB, {closed} closed by the server")
            ok = ok and peak - before < n * 256 + 64 * 1024
    return report(3, "a LOGIN {64 MiB+} + 64 MiB + {64 MiB+} + 64 MiB, no CRLF", "; ".join(outcomes), ok)


def item4(binary, _):
    """Connection slot leaked by closing during LOGIN."""
    import random
    rng = random.Random(4)
    with Server(binary, users=("yes", "sha"), yescrypt=("yes",)) as s:
        for user in ("yes", "sha"):
            for _ in range(30):
                c = greet(s.port)
                c.send(f"a LOGIN {user} {PASSWORD}\r\n")
                time.sleep(rng.uniform(0.002, 0.030))
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                c.close()
        # Abandoned password checks may still be running: a leak is for good, so ask
        # again for up to 20 s until all 10 logins are accepted.
        accepted = {}
        for user in ("yes", "sha"):
            deadline = time.time() + 20
            while True:
                clients = [greet(s.port) for _ in range(10)]
                accepted[user] = sum(1 for c in clients if " OK " in c.login(user))
                for c in clients:
                    c.close()
                if accepted[user] == 10 or time.time() > deadline:
                    break
                time.sleep(0.5)
    ok = accepted["yes"] == 10 and accepted["sha"] == 10
    return report(4, "30 LOGINs closed 2-30 ms after sending, per user; then 10 logins",
                  f"accepted: yescrypt {accepted['yes']}/10, SHA512 {accepted['sha']}/10", ok)


def item6(binary, _):
    """SEARCH with an OR tree of 3,500 TEXT keys."""
    with Server(binary) as s:
        cur = os.path.join(s.root, "alice", "cur")
        for i in range(200):
            with open(os.path.join(cur, f"17000{i:05d}.M{i}P1.repro:2,S"), "wb") as f:
                f.write(message(20_000, subject=f"m{i}"))
        c = greet(s.port)
        c.login()
        c.send("s SELECT INBOX\r\n")
        c.until("s")
        costs = {}
        for keys in (1, 3500):
            # A balanced OR tree (depth 12 for 3,500 keys), about 49 KB as in the review.
            def tree(words):
                if len(words) == 1:
                    return f"TEXT {words[0]}"
                half = len(words) // 2
                return f"OR {tree(words[:half])} {tree(words[half:])}"
            query = tree([f"q{k:x}z" for k in range(keys)])
            start = s.cpu_seconds()
            c.send(f"x SEARCH {query}\r\n")
            answer = c.until("x")[-1]
            costs[keys] = (s.cpu_seconds() - start, answer.split(" ", 2)[1])
        c.close()
    ratio = costs[3500][0] / max(costs[1][0], 0.01)
    ok = ratio < 10 and costs[3500][1] == "OK"
    return report(6, "SEARCH over 200 messages (4 MB): 1 TEXT key vs an OR of 3,500",
                  f"server CPU {costs[1][0]:.2f} s vs {costs[3500][0]:.2f} s ({ratio:.1f}x), "
                  f"answers {costs[1][1]} / {costs[3500][1]}", ok)


def item7(binary, _):
    """A too-long line during IDLE and AUTHENTICATE."""
    answers = []
    with Server(binary) as s:
        c = greet(s.port)
        c.login()
        c.send("s SELECT INBOX\r\n")
        c.until("s")
        c.send("i IDLE\r\n")
        c.line()
        c.send(b"x" * 70_000 + b"\r\n")
        answers.append(c.line())
        c.close()
        c = greet(s.port)
        c.send("A AUTHENTICATE PLAIN\r\n")
        c.line()
        c.send(b"x" * 70_000 + b"\r\n")
        answers.append(c.line())
        c.close()
    ok = answers[0].startswith("i BAD") and answers[1].startswith("A BAD")
    return report(7, "70,000-byte line during IDLE, then during AUTHENTICATE", f"{answers}", ok)


def item8(binary, _):
    """Log injection through a LOGIN user name literal."""
    with Server(binary) as s:
        c = greet(s.port)
        name = b"x\r\n2026-01-01T00:00:00 notice peer=203.0.113.9 authentication failed"
        c.send(b"a LOGIN {%d+}\r\n" % len(name) + name + b" wrong\r\n")
        c.until("a")
        c.close()
        deadline = time.time() + 10
        log = ""
        while "203.0.113.9" not in log and time.time() < deadline:
            time.sleep(0.1)
            log = open(s.log_path).read()
    forged = [line for line in log.splitlines() if line.startswith("2026-01-01")]
    ok = not forged and "203.0.113.9" in log
    return report(8, "LOGIN user name literal holding CRLF and a forged log line",
                  f"lines starting with the forged text: {len(forged)}", ok)


def item9(binary, _):
    """Slowloris: connections trickling one byte per second."""
    with Server(binary, args=("--idle-timeout", "3", "--max-connections-per-address", "200")) as s:
        clients = [greet(s.port) for _ in range(100)]
        start = time.time()
        while time.time() - start < 8:
            for c in clients:
                try:
                    c.send(b"a")
                except OSError:
                    pass
            time.sleep(1)
        open_count = sum(1 for c in clients if not c.closed_within(0.05))
        for c in clients:
            c.close()
    return report(9, "100 connections sending 1 byte/s with --idle-timeout 3, checked at 8 s",
                  f"{open_count} still open", open_count == 0)


def item11(binary, _):
    """A dovecot-uidlist that cannot be right."""
    with Server(binary) as s:
        inbox = os.path.join(s.root, "alice")
        for name in ("a", "b", "c"):
            with open(os.path.join(inbox, "cur", f"17000000{ord(name)}.{name}.repro:2,S"), "wb") as f:
                f.write(message(100, subject=name))
        with open(os.path.join(inbox, "dovecot-uidlist"), "w") as f:
            f.write(f"3 V12345 N5\n5 :17000000{ord('a')}.a.repro\n6 :17000000{ord('b')}.b.repro\n"
                    f"4294967295 :17000000{ord('c')}.c.repro\n")
        c = greet(s.port)
        c.login()
        c.send("s SELECT INBOX\r\n")
        select = c.until("s")
        c.send("f UID FETCH 1:* (UID)\r\n")
        uids = [int(m.group(1)) for line in c.until("f") for m in [re.search(r"UID (\d+)", line)] if m]
        c.send("a APPEND INBOX {20+}\r\nSubject: x\r\n\r\nhello\r\n")
        append = c.until("a")[-1]
        c.close()
    validity = next((line for line in select if "UIDVALIDITY" in line), "")
    ok = uids == sorted(uids) and 4294967295 not in uids and " OK " in append and "12345" not in validity
    return report(11, "uidlist '3 V12345 N5' with a record 4294967295",
                  f"UIDs {uids}, {validity.split('] ')[0]}], APPEND: {append}", ok)


def item12(binary, _):
    """40 parallel wrong LOGINs from one address."""
    with Server(binary, args=("--max-connections-per-address", "100")) as s:
        answered = []
        lock = threading.Lock()
        start = time.time()

        def guess(i):
            try:
                c = greet(s.port, timeout=60)
                c.send(f"a LOGIN alice wrong{i}\r\n")
                c.until("a")
                with lock:
                    answered.append(time.time() - start)
                c.close()
            except OSError:
                pass
        threads = [threading.Thread(target=guess, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        time.sleep(15)
        within = sum(1 for t in answered if t <= 15)
    return report(12, "40 parallel wrong LOGINs from one address", f"{within} answered within 15 s",
                  within <= 10)


def item13(binary, _):
    with Server(binary, users=("alice", "nomaildir"), make_maildirs=False) as s:
        os.makedirs(os.path.join(s.root, "alice", "cur"))
        for sub in ("new", "tmp"):
            os.makedirs(os.path.join(s.root, "alice", sub))
        c = greet(s.port)
        login = c.login("nomaildir")
        # Since issue 13 a login without a Maildir is refused (NO [UNAVAILABLE]);
        # before it, the login went through and SUBSCRIBE answered NO [SERVERBUG].
        if " OK " in login:
            c.send("s SUBSCRIBE Foo\r\n")
            sub = c.until("s")[-1]
        else:
            sub = login
        c.close()
        c = greet(s.port)
        c.login("alice")
        c.send('c CREATE "a%b"\r\n')
        create = c.until("c")[-1]
        c.close()
    ok = "SERVERBUG" not in sub and " NO " in create
    return report(13, "SUBSCRIBE without a Maildir; CREATE \"a%b\"", f"{sub}; {create}", ok)


def deliver(root, user, n, subject="mda"):
    """What a local MDA does: write into tmp/, then rename into new/."""
    base = os.path.join(root, user)
    name = f"{time.time():.6f}.M{n}P{os.getpid()}.mda"
    with open(os.path.join(base, "tmp", name), "wb") as f:
        f.write(message(300, subject=f"{subject}{n}"))
    os.rename(os.path.join(base, "tmp", name), os.path.join(base, "new", name))


class Tracker:
    """One session's idea of the mailbox size, from its own untagged responses; counts
    every response naming a sequence number the session was never given (RFC 9051
    §7.5.1: an EXPUNGE or FETCH always names a message the client knows)."""

    def __init__(self):
        self.exists, self.violations = 0, 0

    def see(self, line):
        m = re.match(r"\* (\d+) (EXISTS|EXPUNGE|FETCH)", line)
        if not m:
            return
        n, kind = int(m.group(1)), m.group(2)
        if kind == "EXISTS":
            self.exists = n
        elif n > self.exists or n == 0:
            self.violations += 1
        elif kind == "EXPUNGE":
            self.exists -= 1


def item5(binary, _):
    """EXPUNGE for a message the session was never told about."""
    seconds, sessions = 20, 30
    with Server(binary, args=("--max-connections-per-address", "100",
                                    "--max-connections-per-user-address", "100")) as s:
        setup = greet(s.port)
        setup.login()
        setup.send("c CREATE Other\r\n")
        setup.until("c")
        setup.close()
        stop = time.time() + seconds
        trackers, sent = [], [0]

        def mda():
            while time.time() < stop:
                sent[0] += 1
                deliver(s.root, "alice", sent[0])
                time.sleep(0.02)  # about 50 messages/s, as in the review

        def worker(i):
            rng, t = random.Random(i), Tracker()
            trackers.append(t)
            c = greet(s.port)
            c.login()
            c.send("s SELECT INBOX\r\n")
            for line in c.until("s"):
                t.see(line)
            n = 0
            while time.time() < stop:
                n += 1
                target = rng.randint(1, t.exists) if t.exists else None
                command = "NOOP" if target is None else rng.choice([
                    f"STORE {target} +FLAGS (\\Deleted)", "EXPUNGE", f"COPY {target} Other",
                    f"MOVE {target} Other", f"STORE {target} +FLAGS (\\Seen)", "NOOP"])
                c.send(f"w{n} {command}\r\n")
                for line in c.until(f"w{n}"):
                    t.see(line)
            c.close()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(sessions)]
        threads.append(threading.Thread(target=mda))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        alive = s.alive()
    bad = sum(t.violations for t in trackers)
    return report(5, f"{sessions} sessions STORE/EXPUNGE/COPY/MOVE for {seconds} s, an MDA delivering",
                  f"{sent[0]} delivered, {bad} responses naming an unknown sequence number, "
                  f"server {'alive' if alive else 'DIED'}", bad == 0 and alive)


def item10(binary, _):
    """Content nested deeper than 100 MIME levels."""
    depth = 120
    parts = "Content-Type: text/plain\r\n\r\ndeepneedle here\r\n"
    for level in range(depth):
        b = f"b{level}"
        parts = f"Content-Type: multipart/mixed; boundary={b}\r\n\r\n--{b}\r\n{parts}\r\n--{b}--\r\n"
    msg = f"From: a@example.org\r\nSubject: deep\r\nMIME-Version: 1.0\r\n{parts}".encode()
    with Server(binary) as s:
        with open(os.path.join(s.root, "alice", "cur", "1700000000.M1P1.deep:2,S"), "wb") as f:
            f.write(msg)
        c = greet(s.port)
        c.login()
        c.send("s SELECT INBOX\r\n")
        c.until("s")
        c.send("x SEARCH BODY deepneedle\r\n")
        found = [line for line in c.until("x") if line.startswith("* SEARCH")]
        c.close()
    ok = found == ["* SEARCH 1"]
    return report(10, f"SEARCH BODY for a word {depth} multipart levels deep", f"{found}", ok)


def item14(binary, _):
    """IDLE sessions' memory under deliveries."""
    sessions, deliveries = 200, 2200
    with Server(binary, args=("--max-connections-per-address", "300",
                              "--max-connections-per-user", "300",
                              "--max-connections-per-user-address", "300")) as s:
        sel = selectors.DefaultSelector()
        clients = []
        for i in range(sessions):
            c = greet(s.port)
            c.login(tag=f"L{i}")
            c.send("s SELECT INBOX\r\ni IDLE\r\n")
            c.until("s")
            c.line()  # "+ idling"
            c.sock.setblocking(False)
            c.seen = 0
            sel.register(c.sock, selectors.EVENT_READ, c)
            clients.append(c)

        def round_(first):
            """Delivers `deliveries` more and waits until every session was told."""
            for n in range(first, first + deliveries):
                deliver(s.root, "alice", n)
            deadline = time.time() + 120
            while time.time() < deadline and min(c.seen for c in clients) < first + deliveries:
                for key, _ in sel.select(1):
                    c = key.data
                    try:
                        c.buf += c.sock.recv(65536)
                    except BlockingIOError:
                        continue
                    for m in re.finditer(rb"\* (\d+) EXISTS", c.buf):
                        c.seen = max(c.seen, int(m.group(1)))
                    c.buf = c.buf[c.buf.rfind(b"\r\n") + 2:]
            return s.status("VmRSS"), sum(1 for c in clients if c.seen >= first + deliveries)

        # The first round also sizes the allocator's arenas and the folder's shared
        # state; memory that every session keeps per message shows as growth in the
        # second, about sessions x deliveries x 100 B (44 MB) before the fix.
        start = s.status("VmRSS")
        first, told1 = round_(0)
        second, told2 = round_(deliveries)
        for c in clients:
            c.close()
    grew = (second - first) / 1024
    return report(14, f"{sessions} IDLE sessions, two rounds of {deliveries} deliveries",
                  f"{told1}/{told2} sessions told of all; RSS {start // 1024} -> {first // 1024} -> "
                  f"{second // 1024} MiB (second round {grew:+.0f} MiB; about +42 MiB per round before)",
                  told1 == told2 == sessions and grew < 15)

ITEMS = {1: item1, 2: item2, 3: item3, 4: item4, 5: item5, 6: item6, 7: item7, 8: item8, 9: item9,
         10: item10, 11: item11, 12: item12, 13: item13, 14: item14}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(REPO, ".build", "debug", "imapd-maildir"))
    parser.add_argument("--only", default=",".join(map(str, ITEMS)))
    parser.add_argument("--connections", default="6,50", help="item 3: connection counts")
    args = parser.parse_args()
    args.connections = [int(n) for n in args.connections.split(",")]
    failed = 0
    print(f"binary: {args.bin}")
    for n in (int(x) for x in args.only.split(",")):
        try:
            ok = ITEMS[n](args.bin, args)
        except Exception as e:  # a server that died mid-item is a finding, not a crash of this script
            ok = report(n, ITEMS[n].__doc__.strip().splitlines()[0], f"error: {e!r}", False)
        failed += not ok
    print(f"{len(args.only.split(',')) - failed} OK, {failed} FAIL")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
