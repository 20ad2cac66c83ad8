"""TLS with real clients: mbsync (isync) over STARTTLS and over implicit TLS, and
Python's imaplib with a verifying SSL context; the server certificate is made by the
`openssl` CLI at test time and given to the clients as their only trust anchor.
"""

import imaplib
import os
import shutil
import ssl
import subprocess
import tempfile
import unittest

from interop_support import HOST, TARGET, USERS, ServerTestCase, free_port, message_files

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
                            "--tls-cert", self.cert, "--tls-key", self.key)
        super().setUp()

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
