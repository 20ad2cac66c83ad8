"""TLS with real clients: mbsync (isync) over STARTTLS and over implicit TLS, and
Python's imaplib with a verifying SSL context; the server certificate is made by the
`openssl` CLI at test time and given to the clients as their only trust anchor.
"""

import imaplib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest
import warnings

from interop_support import HOST, IO_TIMEOUT, TARGET, USERS, RawClient, ServerTestCase, free_port, message_files

MBSYNC_TIMEOUT = 300

RC = """\
IMAPAccount far
Host {host}
Port {port}
User alice
Pass alice-demo
SSLType {ssl_type}
SSLVersions TLSv1.2 TLSv1.3
CertificateFile {cert}
AuthMechs LOGIN
Timeout 60

IMAPStore far
Account far

MaildirStore near
Path {near}/
Inbox {near}/INBOX
SubFolders Verbatim

Channel mirror
Far :far:
Near :near:
Patterns INBOX
Create Near
Sync Pull
SyncState *
"""


def make_certificate(directory: str):
    openssl = shutil.which("openssl")
    if not openssl:
        raise AssertionError("openssl not found: install Debian's openssl "
                             "(contrib/install-test-deps does it)")
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", f"subjectAltName=DNS:localhost,IP:{HOST}"],
                   check=True, capture_output=True, timeout=120)
    return cert, key


@unittest.skipIf(TARGET == "dovecot", "the private Dovecot is configured without TLS")
class TLSTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.cert_dir = tempfile.mkdtemp(prefix="imapd-tls-")
        cls.cert, cls.key = make_certificate(cls.cert_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.cert_dir, True)

    def setUp(self):
        # free_port may race with another process taking the port; the server then
        # fails to start and the test fails loudly, never silently.
        self.tls_port = free_port()
        self.server_args = ("--tls-listen", f"{HOST}:{self.tls_port}",
                            "--tls-cert", self.cert, "--tls-key", self.key,
                            "--tls-handshake-timeout", str(self.HANDSHAKE_TIMEOUT))
        super().setUp()

    # Far below the autologout (1800 s by default): a connection closed while the
    # client waits can only have been closed by the handshake timeout.
    HANDSHAKE_TIMEOUT = 2
    CLOSE_WAIT = 60

    def assert_closed_by_server(self, sock: socket.socket):
        sock.settimeout(self.CLOSE_WAIT)
        try:
            data = sock.recv(4096)
        except ConnectionResetError:
            data = b""
        self.assertEqual(data, b"", "the server should close a stalled TLS handshake")

    def test_stalled_implicit_tls_handshake_is_cut_off(self):
        with socket.create_connection((HOST, self.tls_port), timeout=IO_TIMEOUT) as s:
            self.assert_closed_by_server(s)
        # The listener still serves a client that completes its handshake.
        with imaplib.IMAP4_SSL(HOST, self.tls_port, ssl_context=self.context()) as c:
            c.login("alice", USERS["alice"])

    def test_stalled_starttls_handshake_is_cut_off(self):
        c = RawClient(self.server.port)
        self.addCleanup(c.sock.close)
        c.send(b"t1 STARTTLS\r\n")
        _, last = c.until_tagged(b"t1")
        self.assertTrue(last.startswith(b"t1 OK"), last)
        # A half ClientHello: a TLS record header promising more bytes than follow.
        c.send(b"\x16\x03\x01\x02\x00\x01")
        self.assert_closed_by_server(c.sock)

    def legacy_context(self, version):
        """A client that offers exactly `version` (TLS 1.0 or 1.1): OpenSSL 3 needs
        security level 0 for them, else it refuses to send a ClientHello at all."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.minimum_version = version
            ctx.maximum_version = version
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        return ctx

    def test_tls_1_1_and_1_0_clients_are_refused(self):
        versions = {"TLSv1.1": ssl.TLSVersion.TLSv1_1, "TLSv1": ssl.TLSVersion.TLSv1}
        # Control: the same client contexts complete a handshake with an OpenSSL server
        # that allows only TLS 1.0 and 1.1, so each really offers its old version.
        openssl = shutil.which("openssl")
        self.assertIsNotNone(openssl, "openssl not found: install Debian's openssl")
        port = free_port()
        legacy = subprocess.Popen(
            [openssl, "s_server", "-accept", f"{HOST}:{port}", "-cert", self.cert, "-key", self.key,
             "-no_tls1_2", "-no_tls1_3", "-cipher", "DEFAULT:@SECLEVEL=0", "-naccept", str(len(versions))],
            # stdin stays open: s_server ends its session at EOF on stdin.
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(legacy.wait, 30)
        self.addCleanup(legacy.kill)
        self.addCleanup(legacy.stdout.close)
        self.addCleanup(legacy.stdin.close)
        # s_server prints ACCEPT once it listens.
        for line in legacy.stdout:
            if line.strip() == b"ACCEPT":
                break
        else:
            self.fail("openssl s_server did not start")
        for name, version in versions.items():
            with self.subTest(control=name):
                with socket.create_connection((HOST, port), timeout=IO_TIMEOUT) as s:
                    with self.legacy_context(version).wrap_socket(s) as t:
                        self.assertEqual(t.version(), name)
        # Our server (TLS 1.2 minimum) refuses both, with a protocol_version alert.
        for name, version in versions.items():
            for port in (self.tls_port, self.server.port):
                with self.subTest(refused=name, port=port):
                    s = socket.create_connection((HOST, port), timeout=IO_TIMEOUT)
                    if port == self.server.port:
                        c = RawClient.__new__(RawClient)
                        c.sock, c.buf, c.closed = s, b"", False
                        c.line()  # greeting
                        c.send(b"t1 STARTTLS\r\n")
                        _, last = c.until_tagged(b"t1")
                        self.assertTrue(last.startswith(b"t1 OK"), last)
                    with self.assertRaises(ssl.SSLError) as raised:
                        self.legacy_context(version).wrap_socket(s).close()
                    s.close()
                    self.assertIn("PROTOCOL_VERSION", raised.exception.reason or str(raised.exception))

    def mbsync(self, ssl_type: str, port: int):
        near = os.path.join(self.work, f"near-{ssl_type}")
        os.makedirs(near)
        rc = os.path.join(self.work, f"mbsyncrc-{ssl_type}")
        with open(rc, "w") as fh:
            # isync checks DNS names only (not IP subjectAltNames): connect as localhost.
            fh.write(RC.format(host="localhost", port=port, ssl_type=ssl_type, cert=self.cert, near=near))
        mbsync = shutil.which("mbsync")
        self.assertIsNotNone(mbsync, "mbsync not found: install Debian's isync")
        p = subprocess.run([mbsync, "-c", rc, "-V", "mirror"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=MBSYNC_TIMEOUT)
        self.assertEqual(p.returncode, 0, f"mbsync failed:\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}"
                                          f"\n--- server log ---\n{self.server.log_tail()}")
        got = [f for sub in ("cur", "new") for f in os.listdir(os.path.join(near, "INBOX", sub))]
        self.assertEqual(len(got), len(message_files(self.root, "alice", "INBOX")))
        self.assertEqual(len(got), 12)
        return p

    def test_mbsync_over_starttls(self):
        p = self.mbsync("STARTTLS", self.server.port)
        self.assertIn("STARTTLS", p.stdout + p.stderr)

    def test_mbsync_over_implicit_tls(self):
        self.mbsync("IMAPS", self.tls_port)

    def context(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def test_imaplib_implicit_tls_and_starttls(self):
        with imaplib.IMAP4_SSL(HOST, self.tls_port, ssl_context=self.context()) as c:
            self.assertNotIn("STARTTLS", c.capabilities)
            c.login("alice", USERS["alice"])
            typ, data = c.select("INBOX", readonly=True)
            self.assertEqual((typ, data), ("OK", [b"12"]))
        with imaplib.IMAP4(HOST, self.server.port) as c:
            self.assertIn("STARTTLS", c.capabilities)
            c.starttls(ssl_context=self.context())
            self.assertNotIn("STARTTLS", c.capabilities)
            c.login("alice", USERS["alice"])
            typ, data = c.select("INBOX", readonly=True)
            self.assertEqual((typ, data), ("OK", [b"12"]))


if __name__ == "__main__":
    unittest.main()
