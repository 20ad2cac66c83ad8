"""nginx's mail proxy in front of two imapd-maildir backends (issue 17).

nginx (Debian's nginx + libnginx-mod-mail, unprivileged paths under the test's work
directory, loopback ports only) routes each login to the backend an auth_http service
names, and starts every backend connection with a PROXY protocol header; the backends
list 127.0.0.1 in --proxy-protocol-from. The auth_http service is imapd-maildir's own
endpoint, run as a real deployment runs it (docs/nginx-proxy.md): a third
imapd-maildir process next to nginx, with --auth-http-listen on loopback, the shared
passwd file (Examples/passwd) and a shard map file (user -> backend); it serves no
mail itself.

Checked: each user lands on their backend (the Maildir written to is that backend's),
a wrong password waits (Auth-Wait) and fails, the backend logs the client address the
PROXY header carries (the client binds 127.0.0.5; nginx connects from 127.0.0.1), IDLE
through the proxy sees a delivery, mbsync through the proxy pulls bob's INBOX, after
the map file changes a user is served by the new backend, and the endpoint itself
answers a wrong password with Auth-Wait throttled per Client-IP.
"""

import http.client
import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from interop_support import (
    HOST,
    IO_TIMEOUT,
    STOP_TIMEOUT,
    TARGET,
    USERS,
    Server,
    _die_with_parent,
    copy_fixture,
    deliver,
    fail_setup,
    folder_dir,
    free_port,
    message_files,
    wait_for_greeting,
)

CLIENT_ADDRESS = "127.0.0.5"
MODULE = "/usr/lib/nginx/modules/ngx_mail_module.so"

NGINX_CONF = """\
load_module {module};
daemon off;
master_process off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log info;
events {{ worker_connections 64; }}
mail {{
    server_name proxy.test;
    auth_http 127.0.0.1:{auth_port}/auth;
    proxy_pass_error_message on;
    imap_capabilities IMAP4rev1 IMAP4rev2 LITERAL+ ENABLE ID IDLE;
    imap_auth plain login;
    proxy_protocol on;
    proxy_timeout 31m;
    server {{
        listen 127.0.0.1:{port};
        protocol imap;
    }}
}}
"""


MBSYNC_RC = """\
IMAPAccount far
Host 127.0.0.1
Port {port}
User bob
Pass bob-demo
SSLType None
AuthMechs LOGIN
Timeout 60

IMAPStore far
Account far

MaildirStore near
Path {near}/
Inbox {near}/INBOX
SubFolders Verbatim

Channel mirror
Far :far:INBOX
Near :near:INBOX
Create Near
Sync Pull
SyncState *
"""


def auth_request(port: int, user: str, password: str, client_ip: str, attempt: int = 1) -> dict:
    """nginx's auth_http request for one login attempt; the answer's headers."""
    conn = http.client.HTTPConnection(HOST, port, timeout=IO_TIMEOUT)
    try:
        conn.request("GET", "/auth", headers={
            "Auth-Method": "plain", "Auth-User": user, "Auth-Pass": password, "Auth-Protocol": "imap",
            "Auth-Login-Attempt": str(attempt), "Client-IP": client_ip})
        response = conn.getresponse()
        assert response.status == 200, response.status
        return dict(response.getheaders())
    finally:
        conn.close()


@unittest.skipIf(TARGET == "dovecot", "nginx in front of this server's auth_http endpoint and PROXY protocol")
class NginxProxyTest(unittest.TestCase):
    def setUp(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(nginx, os.X_OK) or not os.path.exists(MODULE):
            fail_setup("nginx proxy test needs nginx with the mail module: apt-get install nginx libnginx-mod-mail")
        self.work = tempfile.mkdtemp(prefix="imapd-nginx-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.backends = []
        for name in ("a", "b"):
            work = os.path.join(self.work, name)
            os.makedirs(work)
            root = copy_fixture(os.path.join(work, "maildirs"))
            server = Server(root, work, extra_args=["--proxy-protocol-from", "127.0.0.1"])
            self.addCleanup(server.stop)
            server.start()
            self.backends.append(server)
        self.a, self.b = self.backends
        # The auth_http endpoint: its own imapd-maildir process, as on the nginx machine.
        self.shard_map = os.path.join(self.work, "shards")
        self.write_shard_map({"alice": self.a.port, "bob": self.b.port})
        auth_work = os.path.join(self.work, "auth")
        os.makedirs(os.path.join(auth_work, "empty-spool"))
        self.auth_port = free_port()
        self.auth = Server(os.path.join(auth_work, "empty-spool"), auth_work, extra_args=[
            "--auth-http-listen", f"{HOST}:{self.auth_port}", "--shard-map", self.shard_map])
        self.addCleanup(self.auth.stop)
        self.auth.start()
        self.port = free_port()
        conf = os.path.join(self.work, "nginx.conf")
        with open(conf, "w") as fh:
            fh.write(NGINX_CONF.format(module=MODULE, work=self.work, auth_port=self.auth_port, port=self.port))
        self.nginx = subprocess.Popen(
            [nginx, "-p", self.work, "-e", os.path.join(self.work, "nginx-error.log"), "-c", conf],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)
        self.addCleanup(self._stop_nginx)
        self._wait_for_nginx()
        self.clients = []
        self.addCleanup(self._close_clients)

    def write_shard_map(self, routes: dict):
        """The map as an operator changes it: a new file renamed over the old one."""
        lines = "".join(f"{user} 127.0.0.1:{port}\n" for user, port in routes.items())
        with open(self.shard_map + ".new", "w") as fh:
            fh.write("# user backend (docs/nginx-proxy.md)\n" + lines)
        os.rename(self.shard_map + ".new", self.shard_map)

    def auth_log(self) -> str:
        with open(self.auth.log_path, errors="replace") as fh:
            return fh.read()

    def _stop_nginx(self):
        if self.nginx.poll() is None:
            self.nginx.terminate()
        try:
            self.nginx.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.nginx.kill()
            self.nginx.wait()

    def _wait_for_nginx(self):
        wait_for_greeting(
            self.nginx, self.port, lambda reason: fail_setup("nginx " + reason + ":\n" + self._nginx_log()))

    def _nginx_log(self):
        try:
            with open(os.path.join(self.work, "nginx-error.log"), errors="replace") as fh:
                return fh.read()[-4000:]
        except OSError:
            return "(no log)"

    def _close_clients(self):
        for c in self.clients:
            try:
                c.shutdown()
            except Exception:
                pass

    def connect(self) -> imaplib.IMAP4:
        """An IMAP client to nginx from CLIENT_ADDRESS (what PROXY must carry)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(IO_TIMEOUT)
        sock.bind((CLIENT_ADDRESS, 0))
        sock.connect((HOST, self.port))

        class Proxied(imaplib.IMAP4):
            def _create_socket(self, timeout):
                return sock

        client = Proxied(HOST, self.port, timeout=IO_TIMEOUT)
        self.clients.append(client)
        return client

    def append_through_proxy(self, user: str, subject: str):
        c = self.connect()
        c.login(user, USERS[user])
        message = f"From: t@example.org\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()
        typ, data = c.append("INBOX", None, None, message)
        self.assertEqual(typ, "OK", data)
        c.logout()
        self.clients.remove(c)

    def holds(self, server: Server, user: str, subject: str) -> bool:
        for base, (sub, name) in message_files(server.root, user, "INBOX").items():
            with open(os.path.join(folder_dir(server.root, user, "INBOX"), sub, name), "rb") as fh:
                if f"Subject: {subject}".encode() in fh.read():
                    return True
        return False

    def test_logins_land_on_their_backend(self):
        self.append_through_proxy("alice", "for-alice")
        self.append_through_proxy("bob", "for-bob")
        self.assertTrue(self.holds(self.a, "alice", "for-alice"))
        self.assertFalse(self.holds(self.b, "alice", "for-alice"))
        self.assertTrue(self.holds(self.b, "bob", "for-bob"))
        self.assertFalse(self.holds(self.a, "bob", "for-bob"))
        routed = [line for line in self.auth_log().splitlines() if "auth_http: routed" in line]
        self.assertTrue(any(f"backend=127.0.0.1:{self.a.port}" in line and f"client={CLIENT_ADDRESS}" in line
                            and "user=alice" in line for line in routed), routed)

    def test_backend_logs_the_real_client_address(self):
        self.append_through_proxy("alice", "addr")
        with open(self.a.log_path, errors="replace") as fh:
            logins = [line for line in fh if "logged in" in line]
        self.assertTrue(logins, self.a.log_tail())
        self.assertTrue(all(f"peer={CLIENT_ADDRESS}" in line for line in logins), logins)

    def test_wrong_password_waits_and_fails(self):
        c = self.connect()
        started = time.monotonic()
        with self.assertRaises(imaplib.IMAP4.error):
            c.login("alice", "wrong")
        # Auth-Wait: 1 (the throttle's first penalty, 0.5 s, in whole seconds): nginx
        # holds the answer at least that long.
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        with open(self.a.log_path, errors="replace") as fh:
            self.assertNotIn("logged in", fh.read())
        failed = [line for line in self.auth_log().splitlines() if "auth_http: authentication failed" in line]
        self.assertEqual(len(failed), 1, failed)
        self.assertIn(f"client={CLIENT_ADDRESS}", failed[0])
        self.assertNotIn("wrong", self.auth_log())

    def test_idle_through_proxy_sees_delivery(self):
        c = self.connect()
        c.login("alice", USERS["alice"])
        typ, data = c.select("INBOX")
        self.assertEqual(typ, "OK", data)
        before = int(data[0])
        tag = c._new_tag().decode()
        c.send(f"{tag} IDLE\r\n".encode())
        self.assertTrue(c.readline().startswith(b"+"))
        deliver(self.a.root, "alice", "INBOX", b"Subject: idle\r\n\r\nx\r\n", 1700000000, 1)
        line = c.readline()
        self.assertEqual(line.strip(), f"* {before + 1} EXISTS".encode())
        c.send(b"DONE\r\n")
        line = c.readline()
        while line.startswith(b"* "):  # e.g. "* 1 RECENT" after the EXISTS
            line = c.readline()
        self.assertTrue(line.startswith(f"{tag} OK".encode()), line)

    def test_mbsync_through_proxy_syncs_a_user(self):
        mbsync = shutil.which("mbsync")
        if not mbsync:
            fail_setup("mbsync missing: apt-get install isync")
        near = os.path.join(self.work, "near")
        os.makedirs(near)
        rc = os.path.join(self.work, "mbsyncrc")
        with open(rc, "w") as fh:
            fh.write(MBSYNC_RC.format(port=self.port, near=near))
        p = subprocess.run([mbsync, "-c", rc, "mirror"], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace"))
        # Every message of bob's INBOX on backend b (his) arrived near.
        far = message_files(self.b.root, "bob", "INBOX")
        got = [f for sub in ("cur", "new") for f in os.listdir(os.path.join(near, "INBOX", sub))]
        self.assertTrue(far)
        self.assertEqual(len(got), len(far))

    def test_moved_user_is_served_by_the_new_backend(self):
        self.append_through_proxy("bob", "before-move")
        # Moving bob: his Maildir goes to backend a (the fixture copy already holds one),
        # then the map file changes; the endpoint re-reads it at the next request.
        self.write_shard_map({"alice": self.a.port, "bob": self.a.port})
        self.append_through_proxy("bob", "after-move")
        self.assertTrue(self.holds(self.a, "bob", "after-move"))
        self.assertFalse(self.holds(self.b, "bob", "after-move"))

    def test_endpoint_answers_auth_wait_throttled_per_client_ip(self):
        ok = auth_request(self.auth_port, "bob", USERS["bob"], "192.0.2.20")
        self.assertEqual((ok.get("Auth-Status"), ok.get("Auth-Server"), ok.get("Auth-Port")),
                         ("OK", "127.0.0.1", str(self.b.port)))
        waits = []
        for _ in range(3):
            answer = auth_request(self.auth_port, "alice", "wrong", "192.0.2.9")
            self.assertEqual(answer.get("Auth-Status"), "Invalid login or password")
            self.assertNotIn("Auth-Server", answer)
            waits.append(answer.get("Auth-Wait"))
        # The IMAP login throttle's penalties (0.5 s, 1 s, 2 s) in nginx's whole seconds.
        self.assertEqual(waits, ["1", "1", "2"])
        # Another client address: its own count (and another user, so no user penalty).
        other = auth_request(self.auth_port, "bob", "wrong", "192.0.2.10")
        self.assertEqual(other.get("Auth-Wait"), "1")
        # An unknown user is answered like a wrong password.
        unknown = auth_request(self.auth_port, "mallory", "x", "192.0.2.11")
        self.assertEqual((unknown.get("Auth-Status"), unknown.get("Auth-Wait")), ("Invalid login or password", "1"))


if __name__ == "__main__":
    unittest.main()
