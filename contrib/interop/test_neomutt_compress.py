"""neomutt with `imap_deflate` (COMPRESS=DEFLATE, RFC 4978, issue 16) does a session
over a relay that records both directions of the wire.

NeoMutt offers COMPRESS when it is built with zlib: Debian bookworm's 20220429 is not,
bookworm-backports' 20250510 is (contrib/install-test-deps installs that one). The
test fails rather than skips when neomutt has no `imap_deflate`: a skipped test would
hide that the real client was never driven.

neomutt opens INBOX, displays the first message (its body crosses the compressed
link), saves it to Archive (UID COPY), deletes and syncs (EXPUNGE) and quits. The test
checks three things:
- the Maildir on disk: exactly one message left INBOX and arrived in Archive with the
  same bytes, as in test_neomutt.py;
- the wire: neomutt sent `COMPRESS DEFLATE`, the server answered OK, and from there
  on both directions are raw deflate that inflates to the commands and responses of
  the rest of the session (UID COPY and its COPYUID answer, the message body,
  EXPUNGE);
- the byte counts, compressed against inflated, which the test prints.
"""

import os
import re
import socket
import subprocess
import threading
import unittest
import zlib

from interop_support import crlf, free_port, info_letters, read_message
from test_neomutt import RC, NeomuttRunner, neomutt_binary

DEFLATE_RC = RC.replace(
    'push "<first-entry>',
    'set imap_deflate=yes\npush "<first-entry><display-message><exit>',
).replace("{port}", "{relay_port}")


class Relay:
    """A TCP relay for one connection at a time that keeps every byte it forwards."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.to_server = bytearray()
        self.to_client = bytearray()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(client, server, self.to_server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, self.to_client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, record: bytearray):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                with self.lock:
                    record += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def inflate_after(stream: bytes, marker: re.Pattern) -> tuple[int, bytes]:
    """Finds the plain line `marker` matches and inflates everything after it as raw
    deflate. Returns (compressed bytes after the line, inflated bytes)."""
    found = marker.search(stream)
    if not found:
        raise AssertionError(f"no {marker.pattern!r} on the wire: {stream[:2000]!r}")
    rest = stream[found.end():]
    inflater = zlib.decompressobj(-15)
    return len(rest), inflater.decompress(rest)


class NeomuttCompressTest(NeomuttRunner):
    def test_neomutt_session_runs_compressed(self):
        probe = subprocess.run([neomutt_binary(), "-n", "-F", "/dev/null", "-Q", "imap_deflate"],
                               capture_output=True, text=True, env={**os.environ, "HOME": self.work})
        self.assertIn("imap_deflate", probe.stdout,
                      "this neomutt has no imap_deflate (built without zlib): install "
                      "bookworm-backports' neomutt (contrib/install-test-deps does it)\n"
                      + probe.stderr)
        relay = Relay(self.server.port)
        self.addCleanup(relay.close)

        inbox_before = self.files("INBOX")
        archive_before = self.files("Archive")
        contents = {b: read_message(self.root, "alice", "INBOX", b) for b in inbox_before}
        rc = os.path.join(self.work, "neomuttrc")
        with open(rc, "w") as fh:
            fh.write(DEFLATE_RC.format(relay_port=relay.port))
        self.run_neomutt(rc)

        # On disk: one message moved, the fixture's \Deleted ones expunged.
        inbox_after = self.files("INBOX")
        archive_after = self.files("Archive")
        deleted = {b for b, (_, name) in inbox_before.items() if "T" in info_letters(name)}
        moved = set(inbox_before) - set(inbox_after) - deleted
        self.assertEqual(len(moved), 1, f"INBOX: {sorted(inbox_after)}")
        new = set(archive_after) - set(archive_before)
        self.assertEqual(len(new), 1, f"Archive: {sorted(archive_after)}")
        moved_base = moved.pop()
        self.assertEqual(read_message(self.root, "alice", "Archive", new.pop()), contents[moved_base])

        # On the wire: COMPRESS, then raw deflate both ways.
        with relay.lock:
            to_server, to_client = bytes(relay.to_server), bytes(relay.to_client)
        command = re.compile(rb"(?m)^(\S+) COMPRESS DEFLATE\r\n")
        tag = command.search(to_server)
        self.assertIsNotNone(tag, f"neomutt never sent COMPRESS DEFLATE: {to_server[:2000]!r}")
        sent, commands = inflate_after(to_server, command)
        answer = re.compile(rb"(?m)^" + re.escape(tag.group(1)) + rb" OK[^\r\n]*\r\n")
        received, responses = inflate_after(to_client, answer)
        copy = re.search(rb"(?m)^(\S+) UID COPY \S+ \"?Archive\"?\r\n", commands)
        self.assertIsNotNone(copy, commands)
        self.assertRegex(commands, rb"(?m)^\S+ EXPUNGE\r\n")
        self.assertRegex(responses, rb"(?m)^" + re.escape(copy.group(1)) + rb" OK \[COPYUID ")
        self.assertIn(crlf(contents[moved_base]).split(b"\r\n\r\n", 1)[1][:200], responses)
        print(f"\nneomutt {neomutt_version()} with COMPRESS=DEFLATE: commands {sent:,} bytes "
              f"on the wire ({len(commands):,} inflated), responses {received:,} bytes "
              f"({len(responses):,} inflated)")


def neomutt_version() -> str:
    out = subprocess.run([neomutt_binary(), "-v"], capture_output=True, text=True).stdout
    return out.split("\n", 1)[0].strip()


if __name__ == "__main__":
    unittest.main()
