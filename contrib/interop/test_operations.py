"""Running it in production (issue 5 section 4): graceful shutdown on SIGTERM, the
`check` health-check subcommand, and `--user` dropping root for good.
"""

import os
import re
import shutil
import signal
import subprocess
import threading
import unittest

from interop_support import (
    HOST,
    MAIL_USER_WHEN_ROOT,
    IO_TIMEOUT,
    STOP_TIMEOUT,
    USERS,
    RawClient,
    Server,
    ServerTestCase,
    copy_fixture,
    folder_dir,
    free_port,
    imapd_binary,
    message_files,
    read_uidlist,
    uidlist_path,
)

APPENDS = 100
SIGTERM_AFTER = 10
APPENDUID_RE = re.compile(rb"^(a\d+) OK \[APPENDUID (\d+) (\d+)\]")


def message(i: int) -> bytes:
    return (b"From: stream@example.net\r\nTo: alice@example.com\r\n"
            b"Subject: stream %d\r\nMessage-ID: <stream-%d@example.net>\r\n\r\nbody %d\r\n" % (i, i, i))


class GracefulShutdownTest(ServerTestCase):
    def test_sigterm_during_append_stream_keeps_every_acknowledged_message(self):
        c = RawClient(self.server.port)
        c.send(b"l1 LOGIN alice %s\r\n" % USERS["alice"].encode())
        _lines, last = c.until_tagged(b"l1")
        self.assertTrue(last and last.startswith(b"l1 OK"), last)
        # The whole stream is pipelined with non-synchronizing literals (RFC 7888), so
        # the server is in the middle of the stream when SIGTERM arrives.
        stream = b"".join(b"a%d APPEND INBOX {%d+}\r\n%s\r\n" % (i, len(message(i)), message(i))
                          for i in range(APPENDS))
        sender = threading.Thread(target=c.send, args=(stream,), daemon=True)
        sender.start()
        acked = {}
        saw_bye = False
        signalled = False
        while True:
            line = c.line()
            if line is None:
                break
            if line.startswith(b"* BYE"):
                saw_bye = True
            m = APPENDUID_RE.match(line)
            if m:
                acked[int(m.group(1)[1:])] = int(m.group(3))
            elif re.match(rb"^a\d+ ", line):
                self.fail(f"APPEND failed: {line!r}")
            if len(acked) == SIGTERM_AFTER and not signalled:
                self.server.proc.send_signal(signal.SIGTERM)
                signalled = True
        sender.join(IO_TIMEOUT)
        self.assertTrue(signalled, f"only {len(acked)} APPENDs acknowledged")
        self.assertTrue(saw_bye, "no * BYE before the server closed the connection")
        self.assertEqual(self.server.stop(), 0, self.server.log_tail())
        # Every acknowledged message is on disk under the UID it was given.
        _header, records = read_uidlist(uidlist_path(self.root, "alice", "INBOX"))
        by_uid = dict(records)
        files = message_files(self.root, "alice", "INBOX")
        for i, uid in acked.items():
            self.assertIn(uid, by_uid, f"APPEND a{i}: UID {uid} not in dovecot-uidlist")
            base = by_uid[uid]
            self.assertIn(base, files, f"APPEND a{i}: UID {uid} has no file")
            sub, name = files[base]
            with open(os.path.join(folder_dir(self.root, "alice", "INBOX"), sub, name), "rb") as fh:
                self.assertEqual(fh.read().replace(b"\r\n", b"\n"), message(i).replace(b"\r\n", b"\n"))
        # Nothing half done: no message left in tmp/.
        tmp = os.path.join(folder_dir(self.root, "alice", "INBOX"), "tmp")
        self.assertEqual([f for f in os.listdir(tmp) if not f.startswith(".")], [])

    def test_sigterm_says_bye_to_an_idle_session_and_exits_0(self):
        c = RawClient(self.server.port)
        c.send(b"l1 LOGIN alice %s\r\n" % USERS["alice"].encode())
        c.until_tagged(b"l1")
        c.send(b"s1 SELECT INBOX\r\n")
        c.until_tagged(b"s1")
        c.send(b"i1 IDLE\r\n")
        self.assertTrue(c.line().startswith(b"+ "))
        self.server.proc.send_signal(signal.SIGTERM)
        rest = []
        while True:
            line = c.line()
            if line is None:
                break
            rest.append(line)
        self.assertTrue(any(x.startswith(b"* BYE") for x in rest), rest)
        self.assertEqual(self.server.stop(), 0)


class CheckCommandTest(ServerTestCase):
    def run_check(self, port):
        return subprocess.run([imapd_binary(), "check", "--connect", f"{HOST}:{port}", "--timeout", "10"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=STOP_TIMEOUT)

    def test_check_succeeds_against_the_server_and_fails_once_it_stopped(self):
        ok = self.run_check(self.server.port)
        self.assertEqual(ok.returncode, 0, ok.stdout)
        port = self.server.port
        self.assertEqual(self.server.stop(), 0)
        down = self.run_check(port)
        self.assertEqual(down.returncode, 1, down.stdout)


class MetricsEndpointTest(ServerTestCase):
    metrics_port = free_port()
    server_args = ("--metrics-listen", f"{HOST}:{metrics_port}")

    def scrape(self) -> dict:
        import urllib.request
        with urllib.request.urlopen(f"http://{HOST}:{self.metrics_port}/metrics", timeout=IO_TIMEOUT) as r:
            self.assertEqual(r.status, 200)
            text = r.read().decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def test_commands_auth_bytes_and_watcher_are_exported(self):
        c = self.login()
        self.assertOK(c.select("INBOX"))
        self.assertOK(c.fetch("1:3", "(FLAGS)"))
        bad = self.connect()
        with self.assertRaises(Exception):
            bad.login("alice", "wrong password")
        c.logout()
        m = self.scrape()
        self.assertEqual(m.get('imap_commands_total{command="LOGIN",result="ok"}'), 1.0, m)
        self.assertEqual(m.get('imap_commands_total{command="LOGIN",result="no"}'), 1.0, m)
        self.assertEqual(m.get('imap_commands_total{command="FETCH",result="ok"}'), 1.0, m)
        self.assertEqual(m.get("imap_auth_attempts_total"), 2.0, m)
        self.assertEqual(m.get("imap_auth_failures_total"), 1.0, m)
        self.assertEqual(m.get("imap_messages_sent_total"), 3.0, m)
        self.assertGreater(m.get("imap_bytes_sent_total", 0), 0, m)
        self.assertGreaterEqual(m.get("imap_connections_total", 0), 2.0, m)
        self.assertEqual(m.get('imap_command_duration_seconds_count{command="SELECT"}'), 1.0, m)
        self.assertIn("imap_watcher_events_total", m)
        self.assertIn("imap_watcher_rescans_total", m)
        self.assertIn("imap_sessions_active", m)

    def test_every_metric_has_help_and_type_and_only_metrics_answers(self):
        import urllib.error
        import urllib.request
        c = self.login()
        self.assertOK(c.select("INBOX"))
        c.logout()
        with urllib.request.urlopen(f"http://{HOST}:{self.metrics_port}/metrics", timeout=IO_TIMEOUT) as r:
            text = r.read().decode()
        names = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and line[0] != "#"}
        helps = {line.split(" ")[2] for line in text.splitlines() if line.startswith("# HELP ")}
        types = {line.split(" ")[2]: line.split(" ")[3] for line in text.splitlines() if line.startswith("# TYPE ")}
        for name in names:
            family = re.sub(r"_(count|sum|bucket)$", "", name) if name not in types else name
            self.assertIn(family, helps, f"{name} has no # HELP\n{text}")
            self.assertIn(family, types, f"{name} has no # TYPE\n{text}")
        help_lines = [line for line in text.splitlines() if line.startswith("# HELP ")]
        self.assertEqual(len(help_lines), len(helps), f"one # HELP per metric\n{text}")
        for counted in ("imap_watcher_events_total", "imap_watcher_rescans_total", "imap_connections_total"):
            self.assertEqual(types.get(counted), "counter", text)
        for path in ("/", "/foo", "/metricsx"):
            with self.assertRaises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(f"http://{HOST}:{self.metrics_port}{path}", timeout=IO_TIMEOUT)
            self.assertEqual(caught.exception.code, 404, path)

    def test_idle_and_authenticate_are_counted_and_timed(self):
        import base64
        c = RawClient(self.server.port)
        self.addCleanup(c.sock.close)
        # AUTHENTICATE PLAIN without an initial response: the credentials come in the
        # continuation line, and the latency covers the password check.
        c.send(b"a1 AUTHENTICATE PLAIN\r\n")
        self.assertTrue(c.line().startswith(b"+"))
        c.send(base64.b64encode(b"\0alice\0" + USERS["alice"].encode()) + b"\r\n")
        _, last = c.until_tagged(b"a1")
        self.assertTrue(last.startswith(b"a1 OK"), last)
        c.send(b"s1 SELECT INBOX\r\n")
        c.until_tagged(b"s1")
        c.send(b"i1 IDLE\r\n")
        self.assertTrue(c.line().startswith(b"+ "))
        c.send(b"DONE\r\n")
        _, last = c.until_tagged(b"i1")
        self.assertTrue(last.startswith(b"i1 OK"), last)
        c.send(b"i2 IDLE\r\n")
        self.assertTrue(c.line().startswith(b"+ "))
        c.send(b"NOT-DONE\r\n")
        _, last = c.until_tagged(b"i2")
        self.assertTrue(last.startswith(b"i2 BAD"), last)
        m = self.scrape()
        self.assertEqual(m.get('imap_commands_total{command="IDLE",result="ok"}'), 1.0, m)
        self.assertEqual(m.get('imap_commands_total{command="IDLE",result="bad"}'), 1.0, m)
        self.assertEqual(m.get('imap_command_duration_seconds_count{command="IDLE"}'), 2.0, m)
        self.assertGreater(m.get('imap_command_duration_seconds_sum{command="IDLE"}', 0), 0, m)
        self.assertEqual(m.get('imap_commands_total{command="AUTHENTICATE",result="ok"}'), 1.0, m)
        self.assertEqual(m.get('imap_command_duration_seconds_count{command="AUTHENTICATE"}'), 1.0, m)
        self.assertGreater(m.get('imap_command_duration_seconds_sum{command="AUTHENTICATE"}', 0), 0, m)
        self.assertEqual(m.get("imap_auth_attempts_total"), 1.0, m)


class DropPrivilegesTest(unittest.TestCase):
    def test_user_nobody_shows_in_proc_status(self):
        if os.getuid() != 0:
            self.skipTest("--user needs the test to run as root")
        import pwd
        nobody = pwd.getpwnam(MAIL_USER_WHEN_ROOT)
        work = "/tmp/imapd-interop-user-%d" % os.getpid()
        shutil.rmtree(work, True)
        os.makedirs(work)
        self.addCleanup(shutil.rmtree, work, True)
        root = copy_fixture(os.path.join(work, "maildirs"))
        for dirpath, dirs, files in os.walk(work):
            for name in [dirpath] + [os.path.join(dirpath, f) for f in dirs + files]:
                os.chown(name, nobody.pw_uid, nobody.pw_gid)
        os.chmod(work, 0o755)
        server = Server(root, work, extra_args=["--user", MAIL_USER_WHEN_ROOT]).start()
        self.addCleanup(server.stop)
        with open(f"/proc/{server.proc.pid}/status") as fh:
            status = dict(line.split(":", 1) for line in fh.read().splitlines() if ":" in line)
        self.assertEqual(status["Uid"].split(), [str(nobody.pw_uid)] * 4)
        self.assertEqual(status["Gid"].split(), [str(nobody.pw_gid)] * 4)
        # And it still serves: nobody owns the spool.
        c = server.login("alice")
        typ, data = c.select("INBOX")
        self.assertEqual(typ, "OK", data)
        c.logout()
        self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main()
