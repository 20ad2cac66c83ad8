#!/usr/bin/env python3
"""neomutt's folder reopen with and without CONDSTORE/QRESYNC (issue 14, a benchmark, not a
test): what the server sends (imap_bytes_sent_total from its metrics endpoint) when
neomutt with a header cache opens a generated folder, and reopens it after 10 flag
changes made by another client.

neomutt runs on a pseudo-terminal with `push "<quit>"`: it logs in, opens INBOX
(fetching headers, or only what changed), and quits. Two header caches: one for the
runs with imap_condstore/imap_qresync on, one for the runs with both off.

Usage: contrib/bench/neomutt-qresync.py [COUNT (default 10000)] [IMAPD (default
.build/release/imapd-maildir)]
"""
import os, sys, pty, select, struct, fcntl, termios, time, tempfile, shutil, subprocess, urllib.request, re
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from importlib import import_module
qb = import_module("qresync-bench"); fb = qb.fetch_bench; isup = qb.interop_support
count = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
imapd = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", ".build", "release", "imapd-maildir")
work = tempfile.mkdtemp(prefix="nm."); spool = os.path.join(work, "spool"); fb.generate(spool, count)
port = isup.free_port(); mport = isup.free_port()
p = subprocess.Popen([imapd, "--root", spool, "--passwd", isup.PASSWD, "--listen", f"127.0.0.1:{port}",
                      "--metrics-listen", f"127.0.0.1:{mport}", "--log-level", "error"])
def sent():
    text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics").read().decode()
    m = re.search(r"^imap_bytes_sent_total(?:\{[^}]*\})? (\d+)", text, re.M)
    return int(m.group(1)) if m else 0
def neomutt(condstore, cache):
    rc = os.path.join(work, "rc")
    with open(rc, "w") as f:
        f.write(f'''set folder="imap://{fb.USER}@127.0.0.1:{port}/"
set spoolfile="+INBOX"
set imap_user="{fb.USER}"
set imap_pass="{fb.PASSWORD}"
set ssl_starttls=no
set ssl_force_tls=no
set header_cache="{cache}"
set message_cachedir=""
set imap_condstore={condstore}
set imap_qresync={condstore}
set quit=yes
set imap_check_subscribed=no
push "<quit>"
''')
    before = sent(); t = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm"; os.environ["HOME"] = work
        os.execv(shutil.which("neomutt"), ["neomutt", "-n", "-F", rc])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    while True:
        r, _, _ = select.select([fd], [], [], 120)
        if not r: os.kill(pid, 9); break
        try:
            if not os.read(fd, 65536): break
        except OSError: break
    _, st = os.waitpid(pid, 0); os.close(fd)
    if os.waitstatus_to_exitcode(st) != 0:
        raise RuntimeError("neomutt failed")
    return f"{sent() - before:,} bytes sent, {time.monotonic() - t:.2f} s"
try:
    fb.wait_port(port)
    cacheq = os.path.join(work, "hcq"); os.mkdir(cacheq)
    cachep = os.path.join(work, "hcp"); os.mkdir(cachep)
    print("cold, qresync on, header cache:", neomutt("yes", cacheq))
    print("cold, condstore off, header cache:", neomutt("no", cachep))
    v, m, uids = qb.full_sync(port)
    c = qb.login(port); c.command("SELECT INBOX")
    for uid in uids[::len(uids)//10][:10]: c.command(f"UID STORE {uid} +FLAGS.SILENT (\\Flagged)")
    c.command("LOGOUT")
    print("reopen after 10 changes, qresync on:", neomutt("yes", cacheq))
    print("reopen after 10 changes, condstore off (header cache):", neomutt("no", cachep))
finally:
    p.terminate(); p.wait(); shutil.rmtree(work, ignore_errors=True)
