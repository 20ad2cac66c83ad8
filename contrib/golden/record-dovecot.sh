#!/usr/bin/env bash
# Records Tests/IMAPServerTests/Golden/dovecot/*.golden: the answers of Debian's
# dovecot-imapd (2.3) to every FETCH item of contrib/golden/record.py for every message of
# Tests/IMAPServerTests/Golden/corpus. GoldenTests.swift compares our server's wire
# output with these files byte for byte.
#
# A private Dovecot (contrib/interop/dovecot.conf.in, loopback port, Examples/passwd)
# serves a temporary copy of the corpus laid out one message per folder.
# Needs: dovecot-imapd (contrib/install-test-deps --dovecot), python3.
# Usage: contrib/golden/record-dovecot.sh   (re-run after changing the corpus or ITEMS)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
interop="$repo/contrib/interop"
out="$repo/Tests/IMAPServerTests/Golden/dovecot"
dovecot="$(command -v dovecot || echo /usr/sbin/dovecot)"
[ -x "$dovecot" ] || { echo "dovecot not found: contrib/install-test-deps --dovecot" >&2; exit 1; }

work="$(mktemp -d /tmp/record-golden.XXXXXX)"
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

python3 "$here/record.py" layout "$work/maildirs" alice
port="$(python3 "$interop/interop_support.py" free-port)"
conf="$(python3 "$interop/interop_support.py" dovecot-prepare "$work/run" "$work/maildirs" "$port")"
"$dovecot" -F -c "$conf" &
pid=$!

# Wait for the greeting.
python3 - "$port" <<'PY'
import socket, sys, time
deadline = time.monotonic() + 30
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.1)
PY

rm -rf "$out"
python3 "$here/record.py" "$port" alice alice-demo "$out"
echo "recorded $(ls "$out" | wc -l) messages into ${out#$repo/}"
