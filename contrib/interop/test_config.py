"""Issue 13 items 2 and 3: every misconfiguration stops the server (or is logged) with a
message naming what failed: the configuration file's FILE:LINE, the listener's address
and kind, the certificate or key file and the reason, the passwd line with an
unsupported scheme. And `--check-config`, `--version`, `passwd --user`."""

import os
import pty
import select
import signal
import shutil
import socket
import subprocess
import tempfile
import unittest

from interop_support import HOST, IO_TIMEOUT, STOP_TIMEOUT, TARGET, imapd_binary


@unittest.skipIf(TARGET == "dovecot", "the command line and configuration file of this server")
class ConfigurationErrorTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="imapd-config-")
        self.addCleanup(shutil.rmtree, self.work, True)
        os.makedirs(os.path.join(self.work, "spool", "alice", "cur"))

    def write(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as fh:
            fh.write(text)
        return path

    def run_server(self, *args, stdin=None):
        """Runs the binary to completion (every case here exits by itself)."""
        return subprocess.run([imapd_binary(), *args], cwd=self.work, input=stdin, capture_output=True,
                              text=True, timeout=STOP_TIMEOUT)

    def first_error(self, *args):
        done = self.run_server(*args)
        self.assertNotEqual(done.returncode, 0, done.stdout + done.stderr)
        errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
        self.assertTrue(errors, done.stderr)
        return errors[0]

    def config(self, text):
        return self.write("imapd.conf", text)

    # -- the configuration file ------------------------------------------------------

    def test_unknown_key_names_the_nearest_valid_one(self):
        conf = self.config("root = spool\nany-password = yes\nlsten = 127.0.0.1:0\n")
        self.assertEqual(self.first_error("--config", conf),
                         f"Error: {conf}:3: lsten: unknown setting; did you mean listen?")
        conf = self.config("root = spool\nlog_level = debug\n")
        self.assertEqual(self.first_error("--config", conf),
                         f"Error: {conf}:2: log_level: unknown setting; did you mean log-level?")

    def test_repeated_single_valued_key_is_refused(self):
        conf = self.config("root = spool\n# the spool\nroot = other\n")
        self.assertEqual(self.first_error("--config", conf),
                         f"Error: {conf}:3: root: given twice (first on line 1); only one is allowed")

    def test_value_errors_name_file_line_and_key(self):
        conf = self.config("root = spool\nany-password = yes\nlisten = 127.0.0.1:24005x  # loopback\n")
        self.assertEqual(self.first_error("--config", conf),
                         f"Error: {conf}:3: listen: expected HOST:PORT, got 127.0.0.1:24005x")
        conf = self.config("root = spool\nany-password = perhaps\n")
        self.assertEqual(self.first_error("--config", conf),
                         f"Error: {conf}:2: any-password: expected yes or no, got perhaps")

    def test_special_use_errors_name_file_line_and_key(self):
        known = "\\All \\Archive \\Drafts \\Flagged \\Junk \\Sent \\Trash"
        conf = self.config("root = spool\nany-password = yes\nlisten = 127.0.0.1:0\n"
                           "special-use = Sent=\\Sent\nspecial-use = Junk=\\Spam\n")
        self.assertEqual(self.first_error("--config", conf),
                         f"Error: {conf}:5: special-use: expected NAME=ATTRIBUTE with one of {known}, got Junk=\\Spam")
        self.assertEqual(self.first_error("--root", "spool", "--any-password", "--listen", "127.0.0.1:0",
                                          "--special-use", "Sent"),
                         f"Error: --special-use: expected NAME=ATTRIBUTE with one of {known}, got Sent")

    def test_quota_rule_errors_refuse_to_start(self):
        # Per-folder rules (Dovecot's `Trash:storage=+100M`) are not supported: the
        # server refuses to start rather than serve without the intended limit.
        conf = self.config("root = spool\nany-password = yes\nlisten = 127.0.0.1:0\n"
                           "quota-rule = *:storage=1G\nquota-rule = *:bogus=1\n")
        self.assertEqual(self.first_error("--config", conf),
                         f"Error: {conf}:5: quota-rule: quota rule \"*:bogus=1\": unknown limit bogus "
                         "(storage, bytes, messages)")
        self.assertEqual(self.first_error("--root", "spool", "--any-password", "--listen", "127.0.0.1:0",
                                          "--quota-rule", "Trash:storage=+100M"),
                         "Error: --quota-rule: quota rule \"Trash:storage=+100M\": per-folder rules (Trash) "
                         "are not supported, only *")

    def test_a_comment_after_whitespace_is_not_part_of_the_value(self):
        conf = self.config("root = spool   # the spool\nany-password = yes # testing\n"
                           "listen = 127.0.0.1:0\t# loopback\n")
        done = self.run_server("--config", conf, "--check-config")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, "imapd-maildir: configuration OK\n")
        self.assertIn(f"root={self.work}/spool ", done.stderr)

    def test_check_config_reports_the_passwd_line_with_an_unsupported_scheme(self):
        passwd = self.write("passwd", "# users\nalice:{PLAIN}x\nbob:{SSHA512}abcdef\n")
        conf = self.config(f"root = spool\npasswd = {passwd}\nlisten = 127.0.0.1:0\n")
        done = self.run_server("--config", conf, "--check-config")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("passwd file line 3 uses the unsupported password scheme {SSHA512}; that user cannot log in",
                      done.stderr)

    # -- start-up errors ----------------------------------------------------------------

    def test_root_missing_or_not_a_directory(self):
        self.assertEqual(self.first_error("--root", "nowhere", "--any-password", "--listen", f"{HOST}:0"),
                         "Error: --root nowhere: No such file or directory")
        self.write("afile", "")
        self.assertEqual(self.first_error("--root", "afile", "--any-password", "--listen", f"{HOST}:0"),
                         "Error: --root afile: not a directory")

    def test_bind_errors_name_address_and_listener(self):
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        base = ("--root", "spool", "--any-password")
        self.assertEqual(self.first_error(*base, "--listen", f"{HOST}:{port}"),
                         f"Error: cannot listen on {HOST}:{port} (IMAP): Address already in use")
        self.assertEqual(self.first_error(*base, "--listen", f"{HOST}:0", "--metrics-listen", f"{HOST}:{port}"),
                         f"Error: cannot listen on {HOST}:{port} (metrics): Address already in use")

    def test_certificate_and_key_errors_name_the_file_and_reason(self):
        for stem in ("a", "b"):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{stem}.key",
                            "-out", f"{stem}.crt", "-days", "1", "-subj", "/CN=localhost"], cwd=self.work,
                           check=True, capture_output=True)
        self.write("junk.pem", "hello\n")
        base = ("--root", "spool", "--any-password", "--listen", f"{HOST}:0", "--check-config")
        cases = [
            (("a.crt", "missing.key"), "Error: --tls-key missing.key: No such file or directory"),
            (("a.key", "a.crt"), "Error: --tls-cert a.key: holds a PRIVATE KEY, not a CERTIFICATE"),
            (("junk.pem", "a.key"), "Error: --tls-cert junk.pem: is not PEM (no -----BEGIN line)"),
            (("a.crt", "b.key"), "Error: TLS: the private key does not match the certificate, or cannot be "
                                 "used with it (failedToLoadPrivateKey)"),
        ]
        for (cert, key), expected in cases:
            with self.subTest(cert=cert, key=key):
                self.assertEqual(self.first_error(*base, "--tls-cert", cert, "--tls-key", key), expected)

    def test_version(self):
        done = self.run_server("--version")
        self.assertEqual((done.returncode, done.stdout), (0, "imapd-maildir 0.9.0\n"))

    def test_user_needs_a_passwd_file_it_can_still_read(self):
        if os.getuid() != 0:
            self.fail("--user needs root: run the interop tests as root, as CI does")
        import pwd
        nobody = pwd.getpwnam("nobody")
        os.chmod(self.work, 0o755)
        for dirpath, dirs, files in os.walk(os.path.join(self.work, "spool")):
            os.chown(dirpath, nobody.pw_uid, nobody.pw_gid)
        passwd = self.write("passwd", "alice:{PLAIN}x\n")
        os.chmod(passwd, 0o600)
        self.assertEqual(
            self.first_error("--root", "spool", "--passwd", passwd, "--listen", f"{HOST}:0", "--user", "nobody"),
            f"Error: --passwd {passwd}: not readable by --user nobody (Permission denied), so it could not be "
            f"re-read when it changes; make it readable by that user's group (chgrp GROUP {passwd}; "
            f"chmod 640 {passwd})")

    # -- passwd -------------------------------------------------------------------------

    def test_passwd_user_prints_a_whole_line_from_stdin(self):
        done = self.run_server("passwd", "--user", "carol", "--scheme", "SHA512-CRYPT", stdin="pw1\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertRegex(done.stdout, r"^carol:\{SHA512-CRYPT\}\$6\$[^:\n]+\n$")

    def test_passwd_on_a_terminal_asks_twice_without_echo(self):
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(imapd_binary(), ["imapd-maildir", "passwd", "--user", "carol", "--scheme", "SHA512-CRYPT"])
        self.addCleanup(os.close, fd)
        out = b""

        def until(token):
            nonlocal out
            while token not in out:
                ready, _, _ = select.select([fd], [], [], IO_TIMEOUT)
                if not ready:
                    os.kill(pid, signal.SIGKILL)
                    self.fail(f"no {token!r} within {IO_TIMEOUT}s: {out!r}")
                chunk = os.read(fd, 1024)
                self.assertTrue(chunk, out)
                out += chunk

        until(b"Enter new password: ")
        os.write(fd, b"pw-secret\n")
        until(b"Retype new password: ")
        os.write(fd, b"pw-secret\n")
        until(b"carol:{SHA512-CRYPT}$6$")
        try:
            while chunk := os.read(fd, 1024):
                out += chunk
        except OSError:
            pass
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, out)
        self.assertNotIn(b"pw-secret", out, "the password was echoed")


if __name__ == "__main__":
    unittest.main()


@unittest.skipIf(TARGET == "dovecot", "--copy-root is this server's option")
class ExampleDatesTest(unittest.TestCase):
    """Issue 13 item 6: the demo serves each example message with its delivery date (the
    time its file name starts with), not the checkout time git leaves on the files."""

    def test_copy_root_serves_delivery_dates_as_internaldate(self):
        from interop_support import EXAMPLES, Server
        work = tempfile.mkdtemp(prefix="imapd-dates-")
        self.addCleanup(shutil.rmtree, work, True)
        server = Server(EXAMPLES, work, target="imapd", extra_args=["--copy-root"])
        self.addCleanup(server.stop)
        server.start()
        c = server.login("alice")
        self.addCleanup(c.logout)
        self.assertEqual(c.select("INBOX")[0], "OK")
        typ, data = c.fetch("1,12", "(INTERNALDATE)")
        self.assertEqual(typ, "OK", data)
        # 1699963200.M100001… and 1700913600.M100012… in Examples/maildirs/alice.
        self.assertEqual(data, [b'1 (INTERNALDATE "14-Nov-2023 12:00:00 +0000")',
                                b'12 (INTERNALDATE "25-Nov-2023 12:00:00 +0000")'])
