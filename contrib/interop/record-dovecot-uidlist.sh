#!/usr/bin/env bash
# Records the golden dovecot-uidlist files of Examples/maildirs with real Dovecot.
#
# Why: the fixture must prove that "a spool Dovecot served keeps its UIDs". So the
# UID/UIDVALIDITY files are not hand-written: a private Dovecot 2.3 instance (config
# contrib/interop/dovecot.conf.in, loopback port, passwd-file Examples/passwd, no TLS)
# serves a COPY of the fixture, Python's imaplib SELECTs every folder of every user,
# Dovecot is stopped, and only the files Dovecot writes for UIDs and keywords are
# copied back: dovecot-uidlist, dovecot-uidvalidity*, dovecot-keywords. Never its
# binary dovecot.index* files (they live outside the Maildir anyway, see INDEX= in
# the config) and never the messages (Dovecot moves new/ to cur/ on SELECT; the
# fixture keeps its new/ messages).
#
# Running it again replaces the golden files with freshly recorded ones (new
# UIDVALIDITY values). Needs: dovecot-imapd (apt-get install dovecot-imapd), python3.
# Usage: contrib/interop/record-dovecot-uidlist.sh   (from anywhere; root or not)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
examples="$repo/Examples/maildirs"
dovecot="$(command -v dovecot || echo /usr/sbin/dovecot)"
[ -x "$dovecot" ] || { echo "dovecot not found: apt-get install dovecot-imapd" >&2; exit 1; }

work="$(mktemp -d /tmp/record-uidlist.XXXXXX)"
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# 1. A copy without any previous UID state, so Dovecot assigns everything itself.
cp -a "$examples" "$work/maildirs"
find "$work/maildirs" \( -name 'dovecot-uidlist*' -o -name 'dovecot-uidvalidity*' \) -delete

# 2. Start the private Dovecot on a free loopback port.
port="$(python3 "$here/interop_support.py" free-port)"
conf="$(python3 "$here/interop_support.py" dovecot-prepare "$work/run" "$work/maildirs" "$port")"
"$dovecot" -F -c "$conf" &
pid=$!

# 3. SELECT every folder of every user (this assigns UIDVALIDITY and UIDs).
python3 - "$port" <<'PY'
import imaplib, sys, time
port = int(sys.argv[1])
deadline = time.monotonic() + 30
while True:  # wait for the greeting
    try:
        c = imaplib.IMAP4("127.0.0.1", port, timeout=30)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.1)
c.logout()
for user, password in (("alice", "alice-demo"), ("bob", "bob-demo")):
    c = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    c.login(user, password)
    typ, data = c.list('""', "*")
    assert typ == "OK", data
    for line in data:
        name = line.rsplit(b' "/" ', 1)[1].decode()
        typ, count = c.select('"%s"' % name)
        assert typ == "OK", (name, count)
        print(f"{user}: {name}: {count[0].decode()} messages, "
              f"UIDVALIDITY {c.response('UIDVALIDITY')[1][0].decode()}")
    c.logout()
PY

# 4. Stop Dovecot (it writes nothing more after SIGTERM).
kill -TERM "$pid"
wait "$pid" || true
pid=""

# 5. Copy back only the UID and keyword files.
find "$examples" \( -name 'dovecot-uidlist' -o -name 'dovecot-uidvalidity*' \) -delete
(cd "$work/maildirs" && find . \( -name 'dovecot-uidlist' -o -name 'dovecot-uidvalidity*' \
    -o -name 'dovecot-keywords' \) -print) | while read -r rel; do
    cp "$work/maildirs/$rel" "$examples/$rel"
    chmod 0644 "$examples/$rel"
    echo "recorded ${rel#./}"
done
