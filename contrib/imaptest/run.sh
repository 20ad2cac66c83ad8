#!/usr/bin/env bash
# Runs imaptest (Dovecot's IMAP compliance and stress tester) against imapd-maildir, or
# against a private Dovecot on the same kind of spool, for a side-by-side reading.
#
#   contrib/imaptest/run.sh compliance [GROUP…]      every scripted group, or the ones named
#   contrib/imaptest/run.sh stress [CLIENTS [SECONDS]] [name=value…]
#                                                   e.g. stress 20 60 copybox=Other
#
# Environment:
#   IMAPTEST_TARGET  imapd (default) or dovecot
#   IMAPD_BIN        the server binary (default .build/debug/imapd-maildir; built if missing)
#   IMAPD_ARGS       more options for it, split on spaces (e.g. a quota for the stress run:
#                    IMAPD_ARGS='--quota-rule *:storage=10G --quota-rule *:messages=1000000')
#   IMAPTEST         the imaptest binary; default: /usr/local/imaptest/bin/imaptest, built
#                    with ../shared/tools/imaptest/build.sh when that is beside the repository
#   IMAPTEST_USERS   users testuser1..N in the generated spool (default 100)
#   IMAPTEST_MBOX    stress: the mbox appended from (default: 200 varied MIME messages
#                    written by make-mbox.py beside this script)
#   IMAPTEST_VERBOSE 1: print imaptest's explanation of every failed command
#   IMAPTEST_KEEP    1: keep the work directory (spool, server log) and print its path
#
# Compliance: one imaptest run per group file. A group whose `capabilities:` line names
# a capability the server does not advertise runs no command in imaptest, so it is
# reported SKIP (with the missing capabilities), never PASS. The last line is
# "imaptest compliance: N passed, N failed, N skipped"; the exit status is 1 when a
# group failed.
# Stress: imaptest's random command mix with checks of everything it sees; the summary
# gives commands/s and every `Error:` line, then every error or warning line of the
# server's log. Exit status 1 when there was any.
# Exit status 77 when imaptest is not available and cannot be built here.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mode=${1:-}
[ $# -gt 0 ] && shift
case "$mode" in
    compliance | stress) ;;
    *) sed -n '2,30p' "$0"; exit 2 ;;
esac

target=${IMAPTEST_TARGET:-imapd}
users=${IMAPTEST_USERS:-100}
password=imaptest-pass

# --- imaptest itself ----------------------------------------------------------------
imaptest=${IMAPTEST:-/usr/local/imaptest/bin/imaptest}
if [ ! -x "$imaptest" ]; then
    builder="$repo/../shared/tools/imaptest/build.sh"
    if [ -f "$builder" ]; then
        # The archive is here, so a failed build is a failure, not a skip.
        bash "$builder" "$(dirname "$(dirname "$imaptest")")" >&2 || { echo "imaptest: build failed" >&2; exit 1; }
    fi
fi
if [ ! -x "$imaptest" ]; then
    echo "imaptest: not available ($imaptest), and no ../shared/tools/imaptest/build.sh to build it" >&2
    exit 77
fi
tests="$(dirname "$(dirname "$imaptest")")/tests"

# --- the spool and the server --------------------------------------------------------
imapd=${IMAPD_BIN:-$repo/.build/debug/imapd-maildir}
if [ ! -x "$imapd" ]; then (cd "$repo" && swift build >&2) || exit 1; fi

work=$(mktemp -d /tmp/imaptest-run.XXXXXX)
chmod 755 "$work"
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    if [ "${IMAPTEST_KEEP:-0}" = 1 ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

hash=$(printf '%s\n' "$password" | "$imapd" passwd --scheme SHA512-CRYPT) || exit 1
mkdir -p "$work/spool"
for i in $(seq 1 "$users"); do
    echo "testuser$i:$hash" >>"$work/passwd"
    mkdir -p "$work/spool/testuser$i/cur" "$work/spool/testuser$i/new" "$work/spool/testuser$i/tmp"
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

wait_port() {
    local i
    for i in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "imaptest: the server did not start; its log:" >&2
    cat "$work/server.log" >&2
    return 1
}

if [ "$target" = dovecot ]; then
    dovecot=$(command -v dovecot || echo /usr/sbin/dovecot)
    [ -x "$dovecot" ] || { echo "imaptest: dovecot not installed (apt-get install dovecot-imapd)" >&2; exit 1; }
    # As contrib/bench/compare.sh: Dovecot refuses root as mail user, so nobody owns the
    # spool then; the login and internal users are the Debian package's.
    if [ "$(id -u)" -eq 0 ]; then
        uid=$(id -u nobody); gid=$(id -g nobody); internal=dovecot; internal_group=dovecot; login=dovenull
        chown -R "$uid:$gid" "$work/spool"
    else
        uid=$(id -u); gid=$(id -g); internal=$(id -un); internal_group=$(id -gn); login=$(id -un)
    fi
    mkdir -p "$work/dovecot/index"
    [ "$(id -u)" -eq 0 ] && chown "$uid:$gid" "$work/dovecot/index"
    sed -e "s#@RUN@#$work/dovecot#g; s#@ROOT@#$work/spool#g; s#@PORT@#$port#g; s#@PASSWD@#$work/passwd#g" \
        -e "s#@UID@#$uid#g; s#@GID@#$gid#g; s#@INTERNAL_USER@#$internal#g" \
        -e "s#@INTERNAL_GROUP@#$internal_group#g; s#@LOGIN_USER@#$login#g" \
        -e "s#@SESSIONS@#1000#g; s#@CLIENTS@#3000#g" \
        "$repo/contrib/bench/dovecot.conf.in" >"$work/dovecot/dovecot.conf"
    "$dovecot" -F -c "$work/dovecot/dovecot.conf" >"$work/server.log" 2>&1 &
    server_pid=$!
    server_log="$work/dovecot/dovecot.log"
else
    read -r -a imapd_args <<<"${IMAPD_ARGS:-}"
    "$imapd" --root "$work/spool" --passwd "$work/passwd" --listen "127.0.0.1:$port" --log-level notice \
        "${imapd_args[@]}" >"$work/server.log" 2>&1 &
    server_pid=$!
    server_log="$work/server.log"
fi
wait_port || exit 1
echo "imaptest: $mode against $target on 127.0.0.1:$port"

# The server's capabilities once logged in (what a group's `capabilities:` line needs).
capabilities=$(python3 - "$port" "$password" <<'EOF'
import imaplib, sys
imap = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
imap.login("testuser1", sys.argv[2])
typ, data = imap.capability()
print(data[0].decode().upper())
imap.logout()
EOF
) || { echo "imaptest: could not log in to read CAPABILITY" >&2; exit 1; }

common=(host=127.0.0.1 "port=$port" "pass=$password")

# --- compliance ------------------------------------------------------------------------
compliance() {
    local groups=("$@") passed=0 failed=0 skipped=0 group file caps missing out
    if [ ${#groups[@]} -eq 0 ]; then
        for file in "$tests"/*; do
            case "$file" in *.mbox) continue ;; esac
            [ -f "$file" ] && groups+=("$(basename "$file")")
        done
    fi
    for group in "${groups[@]}"; do
        file="$tests/$group"
        [ -f "$file" ] || { echo "imaptest: no group $group in $tests" >&2; return 2; }
        caps=$(sed -n 's/^capabilities:[[:space:]]*//p' "$file" | head -n 1 | tr 'a-z' 'A-Z')
        missing=()
        for cap in $caps; do
            case " $capabilities " in *" $cap "*) ;; *) missing+=("$cap") ;; esac
        done
        if [ ${#missing[@]} -gt 0 ]; then
            printf '%-36s SKIP (needs %s)\n' "$group" "${missing[*]}"
            skipped=$((skipped + 1))
            continue
        fi
        out=$("$imaptest" "${common[@]}" user=testuser1 user2=testuser2 "test=$file" 2>&1)
        if printf '%s\n' "$out" | grep -q '^1 test groups: 0 failed'; then
            printf '%-36s PASS\n' "$group"
            passed=$((passed + 1))
        else
            printf '%-36s FAIL (%s)\n' "$group" \
                "$(printf '%s\n' "$out" | grep -c '^\*\*\* Test') command(s)"
            [ "${IMAPTEST_VERBOSE:-0}" = 1 ] && printf '%s\n' "$out" | sed -n '/^\*\*\* Test/,/^$/p' | sed 's/^/    /'
            failed=$((failed + 1))
        fi
    done
    echo "imaptest compliance ($target): $passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
}

# --- stress --------------------------------------------------------------------------------
stress() {
    local clients=10 secs=20 extra=()
    if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then clients=$1; shift; fi
    if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then secs=$1; shift; fi
    extra=("$@")
    local mbox=${IMAPTEST_MBOX:-}
    if [ -z "$mbox" ]; then
        mbox="$work/stress.mbox"
        python3 "$here/make-mbox.py" "$mbox" 200 || return 1
    fi
    # A second folder for copybox=NAME must exist in every user's Maildir.
    for arg in "${extra[@]}"; do
        case "$arg" in
            copybox=*)
                local box=${arg#copybox=}
                for i in $(seq 1 "$users"); do
                    mkdir -p "$work/spool/testuser$i/.$box/cur" "$work/spool/testuser$i/.$box/new" \
                        "$work/spool/testuser$i/.$box/tmp"
                    touch "$work/spool/testuser$i/.$box/maildirfolder"
                done
                [ "$target" = dovecot ] && [ "$(id -u)" -eq 0 ] && chown -R "$uid:$gid" "$work/spool"
                ;;
        esac
    done
    echo "imaptest stress: $clients clients, $secs s, users testuser1-$users ${extra[*]}"
    "$imaptest" "${common[@]}" "user=testuser%d" "users=1-$users" "mbox=$mbox" "clients=$clients" \
        "secs=$secs" "${extra[@]}" >"$work/stress.out" 2>&1
    local rc=$?
    # The last numbers line under "Totals:" counts each command kind.
    local total
    total=$(awk '/^Totals:/ {t=1; next} t && /^ *[0-9]/ && !/%/ {s=0; for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+$/) s+=$i; print s; exit}' \
        "$work/stress.out")
    local errors server_problems
    errors=$(grep -c '^Error:' "$work/stress.out")
    grep '^Error:' "$work/stress.out" | head -n 200
    server_problems=$(grep -ciE '\b(error|warning|critical|panic|fatal)\b' "$server_log" 2>/dev/null)
    grep -iE '\b(error|warning|critical|panic|fatal)\b' "$server_log" 2>/dev/null | head -n 50 | sed 's/^/server: /'
    echo "imaptest stress ($target): ${total:-0} commands in $secs s ($(( ${total:-0} / secs )) commands/s)," \
        "$errors Error: lines, $server_problems server error/warning lines, imaptest exit $rc"
    [ "$errors" -eq 0 ] && [ "${server_problems:-0}" -eq 0 ] && [ "$rc" -eq 0 ]
}

if [ "$mode" = compliance ]; then compliance "$@"; else stress "$@"; fi
