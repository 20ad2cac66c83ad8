#!/usr/bin/env bash
# Records Tests/IMAPServerTests/Golden/sort-thread/dovecot.txt: Dovecot's answers to
# every SORT and THREAD command of contrib/golden/sort_thread.py on the corpus beside
# it (Golden/sort-thread/corpus, made by `sort_thread.py corpus`). SortThreadGoldenTests
# compares ours with them.
#
# COMMANDS=bench: the other golden file, Golden/sort-thread-bench/dovecot.txt, for
# SortThreadBenchGoldenTests: the benchmark spool instead of the corpus (alice's INBOX made
# by `imapd-bench generate --uidlist` from the debug build, 2,000 messages, seed 6, as the
# test makes it) and sort_thread.py's BENCH_COMMANDS.
#
# Usage: [CORPUS=DIR] contrib/golden/record-sort-thread.sh [dovecot|imapd] [OUT]
#   dovecot (default) writes the golden file; imapd writes our answers to OUT (default
#   /dev/stdout) for a quick `diff` while working. CORPUS: another corpus (e.g. one made
#   by `sort_thread.py corpus DIR 5000 99`) to compare the two servers on more cases;
#   SPOOL: a spool root holding alice's Maildir, served in place (Dovecot first).
# Needs: dovecot-imapd (contrib/install-test-deps --dovecot), python3.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
interop="$repo/contrib/interop"
golden="$repo/Tests/IMAPServerTests/Golden/sort-thread"
[ "${COMMANDS:-}" = bench ] && golden="$repo/Tests/IMAPServerTests/Golden/sort-thread-bench"
target="${1:-dovecot}"
out="${2:-$golden/dovecot.txt}"
[ "$target" = imapd ] && out="${2:-/dev/stdout}"

work="$(mktemp -d /tmp/record-sort-thread.XXXXXX)"
chmod 755 "$work"
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

if [ "${COMMANDS:-}" = bench ]; then
    maildirs="$work/maildirs"
    bench="${IMAPD_BENCH_BIN:-$repo/.build/debug/imapd-bench}"
    "$bench" generate --root "$maildirs" --users 0 --huge-user alice --huge-messages 2000 --seed 6 \
        --big-user "" --deliver-user "" --uidlist >/dev/null
elif [ -n "${SPOOL:-}" ]; then
    # An existing spool (e.g. `imapd-bench generate --users 0 --huge-user alice …`),
    # served in place so that the UIDs Dovecot writes to its dovecot-uidlist are ours
    # too: record Dovecot first, then imapd.
    maildirs="$SPOOL"
else
    maildirs="$work/maildirs"
    python3 "$here/sort_thread.py" layout "${CORPUS:-$golden/corpus}" "$maildirs" alice
fi
port="$(python3 "$interop/interop_support.py" free-port)"
if [ "$target" = dovecot ]; then
    dovecot="$(command -v dovecot || echo /usr/sbin/dovecot)"
    [ -x "$dovecot" ] || { echo "dovecot not found: contrib/install-test-deps --dovecot" >&2; exit 1; }
    conf="$(python3 "$interop/interop_support.py" dovecot-prepare "$work/run" "$maildirs" "$port")"
    "$dovecot" -F -c "$conf" &
    pid=$!
else
    imapd="${IMAPD_BIN:-$repo/.build/debug/imapd-maildir}"
    "$imapd" --root "$maildirs" --passwd "$repo/Examples/passwd" --listen "127.0.0.1:$port" \
        --log-level warning &
    pid=$!
fi

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

python3 "$here/sort_thread.py" record "$port" alice alice-demo "$out"
[ "$out" = /dev/stdout ] || echo "recorded $(grep -c '^C: ' "$out") commands into ${out#$repo/}" >&2
