#!/usr/bin/env python3
"""UID SORT (REVERSE DATE) and UID THREAD REFERENCES on a 100,000-message folder,
imapd-maildir and Dovecot 2.3 side by side, cold and warm (issue 15).

Run as root (Dovecot's copy belongs to nobody; the page cache is dropped). Before the
first run, in $WORK (default /tmp/sort-thread-bench):

    imapd-bench generate --root $WORK/spool --users 0 --huge-messages 100000 \
        --big-user "" --deliver-user "" --passwd $WORK/passwd \
        --hash "$(printf 'bench\n' | imapd-maildir passwd --scheme SHA512-CRYPT)"
    contrib/bench/sort-thread-bench.py --setup --prime

--setup copies the folder for each server, --prime runs each command once on each
server (each builds its own index or cache: not timed). Then every run restarts both
servers per command: cold = the first command after a restart with the page cache
dropped (each server's own index or cache kept), warm = the best of three more in the
same session. Prints a markdown row per command and the cache file sizes.
"""
import os, socket, subprocess, sys, time, shutil, pwd

W = os.environ.get("WORK", "/tmp/sort-thread-bench")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
B = os.environ.get("BIN", os.path.join(REPO, ".build", "release"))
OURS_PORT, DOVE_PORT = 21431, 21432
SORT = "UID SORT (REVERSE DATE) UTF-8 ALL"
THREAD = "UID THREAD REFERENCES UTF-8 ALL"

class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""
        self.n = 0
        self.line()
    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(1 << 20)
            if not d: raise EOFError
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l
    def cmd(self, text):
        self.n += 1
        tag = b"T%d" % self.n
        t0 = time.monotonic()
        self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        untagged = []
        while True:
            l = self.line()
            if l.startswith(tag + b" "):
                dt = time.monotonic() - t0
                if b" OK " not in l: raise RuntimeError(l)
                return dt, untagged
            untagged.append(l)

def wait_port(port):
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port)).close(); return
        except OSError: time.sleep(0.1)
    raise RuntimeError("no server on %d" % port)

def start(which):
    if which == "ours":
        p = subprocess.Popen([B + "/imapd-maildir", "--root", W + "/ours", "--passwd", W + "/passwd",
                              "--listen", "127.0.0.1:%d" % OURS_PORT, "--log-level", "error"],
                             stdout=open(W + "/ours.log", "a"), stderr=subprocess.STDOUT)
        wait_port(OURS_PORT)
    else:
        p = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", W + "/dove-run/dovecot.conf"],
                             stdout=open(W + "/dove.log", "a"), stderr=subprocess.STDOUT)
        wait_port(DOVE_PORT)
    return p

def stop(p):
    p.terminate(); p.wait()

def session(which):
    c = Client(OURS_PORT if which == "ours" else DOVE_PORT)
    c.cmd('LOGIN huge bench')
    c.cmd('SELECT INBOX')
    return c

def drop():
    subprocess.run(["sync"]); open("/proc/sys/vm/drop_caches", "w").write("3\n")

def setup():
    for d in ["ours", "dove", "dove-run"]:
        shutil.rmtree(W + "/" + d, ignore_errors=True)
    os.makedirs(W + "/ours"); os.makedirs(W + "/dove"); os.makedirs(W + "/dove-run/index")
    subprocess.run(["cp", "-a", W + "/spool/huge", W + "/ours/huge"], check=True)
    subprocess.run(["cp", "-a", W + "/spool/huge", W + "/dove/huge"], check=True)
    nobody = pwd.getpwnam("nobody")
    subprocess.run(["chown", "-R", "%d:%d" % (nobody.pw_uid, nobody.pw_gid), W + "/dove", W + "/dove-run/index"], check=True)
    os.chmod(W, 0o755); os.chmod(W + "/dove-run", 0o755)
    conf = open(os.path.join(REPO, "contrib", "bench", "dovecot.conf.in")).read()
    for k, v in {"RUN": W + "/dove-run", "ROOT": W + "/dove", "PORT": str(DOVE_PORT), "PASSWD": W + "/passwd",
                 "UID": str(nobody.pw_uid), "GID": str(nobody.pw_gid), "INTERNAL_USER": "dovecot",
                 "INTERNAL_GROUP": "dovecot", "LOGIN_USER": "dovenull", "SESSIONS": "100", "CLIENTS": "1000"}.items():
        conf = conf.replace("@%s@" % k, v)
    open(W + "/dove-run/dovecot.conf", "w").write(conf)

def main():
    if "--setup" in sys.argv:
        setup()
    results = {}
    answers = {}
    # Prime: each server builds its own index / cache once (not timed as cold or warm).
    if "--prime" in sys.argv:
        for which in ["ours", "dove"]:
            p = start(which)
            c = session(which)
            for command in [SORT, THREAD]:
                dt, un = c.cmd(command)
                print("prime", which, command, "%.2f s" % dt, flush=True)
            stop(p)
    for which in ["ours", "dove"]:
        for command in [SORT, THREAD]:
            p = start(which)
            drop()
            c = session(which)
            cold, un = c.cmd(command)
            warm = min(c.cmd(command)[0] for _ in range(3))
            answers[(which, command)] = un
            results[(which, command)] = (cold, warm)
            print(which, command, "cold %.0f ms warm %.0f ms" % (cold * 1000, warm * 1000), flush=True)
            stop(p)
    for command in [SORT, THREAD]:
        same = answers[("ours", command)] == answers[("dove", command)]
        (oc, ow), (dc, dw) = results[("ours", command)], results[("dove", command)]
        print("| %s | %.0f | %.0f | %.2fx | %.0f | %.0f | %.2fx | same answer: %s |" % (
            command, oc * 1000, dc * 1000, dc / oc, ow * 1000, dw * 1000, dw / ow, same))
    for f in ["imapd-cache.dates", "imapd-cache.headers"]:
        path = W + "/ours/huge/" + f
        if os.path.exists(path):
            print(f, os.path.getsize(path), "bytes, %.1f B/msg" % (os.path.getsize(path) / 100000))

main()
