#!/usr/bin/env bash
# imapd-maildir against Dovecot, side by side, on copies of one generated spool (issue 6).
#
#   contrib/bench/compare.sh
#
# One command on a fresh Debian/Ubuntu machine: installs Dovecot (dovecot-imapd) and the
# build dependencies if missing, builds imapd-maildir and imapd-bench in release mode,
# generates the spool, starts a private Dovecot (`dovecot -F -c <private conf>`, loopback,
# its own run directory; no system service is touched) and imapd-maildir, and runs the
# scenarios, alternating the servers A B A B over the rounds:
#   (a) mixed profile at 10 and 50 clients: closed loop (each client sends its next command
#       when the last answered: throughput), then open loop at BENCH_RATE commands/s (each
#       client on a fixed schedule, latency from the scheduled start: latency at equal load)
#   (b) a 100,000-message folder opened as a webmail does: SELECT + UID FETCH 1:* (FLAGS),
#       UID SORT (REVERSE DATE), UID THREAD REFERENCES, UID FETCH of the newest 50
#       (ENVELOPE), UID SEARCH FROM "dubois"; first-ever (no index of either server),
#       cold (both restarted, page cache dropped, each server's own index from the
#       first-ever run kept) and warm (new sessions on the running server); and each
#       server's index bytes per message
#   (c) idle sessions: memory per session
#   (d) delivery -> EXISTS latency under IDLE     (e) FETCH BODY[] and APPEND of 50 MB
#   (f) slow readers: another user's LOGIN+SELECT+FETCH time while 0, 8 and 64 connections
#       stall a FETCH of the large message(s) and read nothing (issue 12)
# then prints the ratio table and writes it as markdown and JSON (see the last lines).
#
# Sized to finish in under 20 minutes on 2 cores including the release build. Scale with:
#   BENCH_ROUNDS=2            rounds of every scenario (A B A B …)
#   BENCH_DURATION=15         seconds of each mixed-profile run
#   BENCH_CLIENTS="10 50"     client counts of (a)
#   BENCH_RATE=800            offered load of (a)'s open-loop runs, commands/s (below both
#                             servers' closed-loop throughput, so latency compares like with like)
#   BENCH_USERS=50            users (each client and idle session logs in as one of them)
#   BENCH_MESSAGES=500        messages in each user's INBOX
#   BENCH_FOLDER_MESSAGES=100000   messages in the large folder of (b)
#   BENCH_IDLE_SESSIONS=5000  sessions of (c)
#   BENCH_DELIVER_SESSIONS=100 BENCH_DELIVERIES=60    sessions and deliveries of (d)
#   BENCH_BIG_MB=50           size of the message of (e)
#   BENCH_DROP_CACHES=auto    drop the page cache before each cold run of (b): auto = when
#                             /proc/sys/vm/drop_caches is writable (root), 0 = never
#   BENCH_SLOW_READERS="0 8 64"   slow-reader counts of (f)
#   BENCH_SCENARIOS="a b c d e f"  which scenarios to run (and generate: "b" alone
#                             generates only the large folder)
#   BENCH_WARM_SESSIONS=3     warm sessions of (b), after one uncounted warm-up session
#   BENCH_OUT=.build/bench    where report.md, report.json and the raw results go
#   BENCH_PORT=24143          imapd-maildir's port (Dovecot gets BENCH_PORT+1)
#   BENCH_KEEP=1              keep the work directory (spools, logs)
#   BENCH_IMAPD=path          serve with this imapd-maildir binary instead of the release
#                             build (an older build, to compare before and after a change)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD

ROUNDS=${BENCH_ROUNDS:-2}
DURATION=${BENCH_DURATION:-15}
CLIENTS=${BENCH_CLIENTS:-10 50}
RATE=${BENCH_RATE:-800}
USERS=${BENCH_USERS:-50}
MESSAGES=${BENCH_MESSAGES:-500}
FOLDER_MESSAGES=${BENCH_FOLDER_MESSAGES:-100000}
IDLE_SESSIONS=${BENCH_IDLE_SESSIONS:-5000}
DELIVER_SESSIONS=${BENCH_DELIVER_SESSIONS:-100}
DELIVERIES=${BENCH_DELIVERIES:-60}
BIG_MB=${BENCH_BIG_MB:-50}
DROP_CACHES=${BENCH_DROP_CACHES:-auto}
SLOW_READERS=${BENCH_SLOW_READERS:-0 8 64}
SCENARIOS=${BENCH_SCENARIOS:-a b c d e f}
WARM_SESSIONS=${BENCH_WARM_SESSIONS:-3}
OUT=${BENCH_OUT:-$REPO/.build/bench}
PORT=${BENCH_PORT:-24143}
DOVECOT_PORT=$((PORT + 1))
PASSWORD=bench
OURS=imapd-maildir
THEIRS=dovecot

log() { printf '\n=== %s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
START=$(date +%s)

# --- dependencies ---------------------------------------------------------------------
if [ -z "${PATH##*/opt/swift/usr/bin*}" ] || ! have swift; then
    [ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
fi
have swift || { echo "compare.sh: needs a Swift 6 toolchain (swift on PATH)" >&2; exit 1; }
DOVECOT=$(command -v dovecot || echo /usr/sbin/dovecot)
missing=()
[ -x "$DOVECOT" ] || missing+=(dovecot-imapd)
dpkg-query -W -f='${Status}' libcrypt-dev 2>/dev/null | grep -q 'install ok installed' || missing+=(libcrypt-dev)
have pkg-config || missing+=(pkg-config)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} (Debian packages)"
    sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
    DOVECOT=$(command -v dovecot || echo /usr/sbin/dovecot)
fi

# --- build ------------------------------------------------------------------------------
log "swift build -c release (imapd-maildir, imapd-bench)"
swift build -c release --product imapd-maildir 2>&1 | tail -n 1
swift build -c release --product imapd-bench 2>&1 | tail -n 1
BIN=$(swift build -c release --show-bin-path)
IMAPD=${BENCH_IMAPD:-$BIN/imapd-maildir}
BENCH=$BIN/imapd-bench

# Thousands of sessions: raise the open-file limit for us and the servers we start.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((IDLE_SESSIONS * 2 + 1000)) ]; then
    IDLE_SESSIONS=$(( ($(ulimit -n) - 1000) / 2 ))
    echo "compare.sh: open-file limit $(ulimit -n): (c) reduced to $IDLE_SESSIONS sessions" >&2
fi
if [ "$DROP_CACHES" = auto ]; then
    if [ -w /proc/sys/vm/drop_caches ]; then DROP_CACHES=1; else DROP_CACHES=0; fi
fi

# --- work directory, spool, passwd ------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/imapd-compare.XXXXXX")
RESULTS=$WORK/results
mkdir -p "$RESULTS" "$OUT"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

want() { case " $SCENARIOS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# Only what the chosen scenarios use: (b) alone needs only the large folder.
generated=(--users "$USERS" --messages "$MESSAGES" --huge-messages "$FOLDER_MESSAGES"
    --big-size $((BIG_MB * 1024 * 1024)))
want b || generated+=(--huge-user "")
if ! want a && ! want c && ! want d && ! want e && ! want f; then
    generated+=(--users 0 --big-user "" --deliver-user "")
    log "generating the spool: a $FOLDER_MESSAGES-message folder"
else
    log "generating the spool: $USERS users x $MESSAGES messages, a $FOLDER_MESSAGES-message folder, a $BIG_MB MB message"
fi
HASH=$(printf '%s\n' "$PASSWORD" | "$IMAPD" passwd --scheme SHA512-CRYPT)
"$BENCH" generate --root "$WORK/spool" "${generated[@]}" --passwd "$WORK/passwd" --hash "$HASH"
du -sh "$WORK/spool" | sed 's/^/spool: /'

# Dovecot refuses root for mail access: as root its mail user is nobody, which must own
# its copy; its login and internal users are the Debian package's dovenull and dovecot.
if [ "$(id -u)" -eq 0 ]; then
    MAIL_UID=$(id -u nobody); MAIL_GID=$(id -g nobody)
    INTERNAL_USER=dovecot; INTERNAL_GROUP=dovecot; LOGIN_USER=dovenull
else
    MAIL_UID=$(id -u); MAIL_GID=$(id -g)
    INTERNAL_USER=$(id -un); INTERNAL_GROUP=$(id -gn); LOGIN_USER=$(id -un)
fi
chmod 755 "$WORK"

# copy SRC DEST SERVER: a server's own copy of (part of) the spool, without any index:
# DEST-index (Dovecot's index directory for DEST, see start) goes too.
copy() {
    rm -rf "$2" "$2-index"
    cp -a "$1" "$2"
    if [ "$3" = "$THEIRS" ] && [ "$(id -u)" -eq 0 ]; then chown -R "$MAIL_UID:$MAIL_GID" "$2"; fi
}

wait_port() {
    local i
    for i in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "compare.sh: nothing listens on port $1" >&2
    return 1
}

SERVER_PID=
# start SERVER ROOT: starts it on its port, sets SERVER_PID (Dovecot: the master).
# Dovecot's index files go to ROOT-index, which a restart keeps (as a site's would): its
# run directory (sockets, state, log) is made afresh, its index only by `copy`. (An
# earlier version wiped the index with the run directory at every start, so Dovecot's
# "cold" figure of (b) was in fact a first scan of a folder it had never indexed.)
start() {
    local server=$1 root=$2
    if [ "$server" = "$OURS" ]; then
        "$IMAPD" --root "$root" --passwd "$WORK/passwd" --listen "127.0.0.1:$PORT" --log-level error \
            --max-connections-per-address 1000000 --max-connections-per-user 1000000 \
            --max-connections-per-user-address 1000000 --max-connections 1000000 \
            >>"$WORK/$OURS.log" 2>&1 &
        SERVER_PID=$!
        wait_port "$PORT"
    else
        local run=$WORK/dovecot-run
        rm -rf "$run"; mkdir -p "$run" "$root-index"; chmod 755 "$run"
        [ "$(id -u)" -eq 0 ] && chown "$MAIL_UID:$MAIL_GID" "$root-index"
        sed -e "s#@RUN@#$run#g; s#@ROOT@#$root#g; s#@INDEX@#$root-index#g; s#@PORT@#$DOVECOT_PORT#g" \
            -e "s#@PASSWD@#$WORK/passwd#g" \
            -e "s#@UID@#$MAIL_UID#g; s#@GID@#$MAIL_GID#g; s#@INTERNAL_USER@#$INTERNAL_USER#g" \
            -e "s#@INTERNAL_GROUP@#$INTERNAL_GROUP#g; s#@LOGIN_USER@#$LOGIN_USER#g" \
            -e "s#@SESSIONS@#$((IDLE_SESSIONS + 100))#g; s#@CLIENTS@#$((IDLE_SESSIONS * 3 + 1000))#g" \
            "$REPO/contrib/bench/dovecot.conf.in" >"$run/dovecot.conf"
        "$DOVECOT" -F -c "$run/dovecot.conf" >>"$WORK/$THEIRS.log" 2>&1 &
        SERVER_PID=$!
        wait_port "$DOVECOT_PORT"
    fi
    PIDS+=("$SERVER_PID")
}

stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

port_of() { if [ "$1" = "$OURS" ]; then echo "$PORT"; else echo "$DOVECOT_PORT"; fi; }

# bench SERVER ROUND SUBCOMMAND ARGS…: one imapd-bench run, its JSON kept for the report
# (RUN_TAG, if set, tells apart the files of several runs of one scenario and round; the
# report lists their rows in the order of the file names).
bench() {
    local server=$1 round=$2 sub=$3 scenario=$4
    shift 4
    echo "--- $scenario${RUN_TAG:-} on $server, round $round"
    "$BENCH" "$sub" --port "$(port_of "$server")" --password "$PASSWORD" --server "$server" --round "$round" \
        --scenario "$scenario" --json "$RESULTS/$scenario${RUN_TAG:-}-$server-$round.json" "$@"
}

drop_caches() { if [ "$DROP_CACHES" = 1 ]; then sync; echo 3 >/proc/sys/vm/drop_caches; fi; }

# index_bytes SERVER ROUND: (b)'s index sizes per message, as a result file. Dovecot: its
# dovecot.index, dovecot.index.cache and dovecot.index.log* of the folder (in ROOT-index/
# huge; not dovecot.list.index*, the mailbox list's). Ours: every file of the folder's
# directory but dovecot-uidlist and dovecot-keywords (the Maildir's shared files; today
# imapd-modseq). dovecot-uidlist, which both write, is reported on its own line.
index_bytes() {
    local server=$1 round=$2 home=$WORK/b-$1/huge own uidlist
    if [ "$server" = "$THEIRS" ]; then
        own=$(find "$WORK/b-$server-index/huge" -type f -name 'dovecot.index*' -printf '%s\n' |
            awk '{ s += $1 } END { print s + 0 }')
    else
        own=$(find "$home" -maxdepth 1 -type f ! -name dovecot-uidlist ! -name dovecot-keywords -printf '%s\n' |
            awk '{ s += $1 } END { print s + 0 }')
    fi
    uidlist=$(stat -c %s "$home/dovecot-uidlist" 2>/dev/null || echo 0)
    echo "--- b index on $server: $own bytes of its own index files, dovecot-uidlist $uidlist bytes"
    cat >"$RESULTS/b-4-index-$server-$round.json" <<EOF
{"scenario": "b", "server": "$server", "round": $round, "errors": 0, "errorSamples": [], "commands": [],
 "notes": ["index files after the run: $own bytes, dovecot-uidlist $uidlist bytes, $FOLDER_MESSAGES messages"],
 "metrics": [
  {"name": "index bytes/message", "value": $(awk "BEGIN { print $own / $FOLDER_MESSAGES }"), "unit": "B", "better": "lower"},
  {"name": "dovecot-uidlist bytes/message", "value": $(awk "BEGIN { print $uidlist / $FOLDER_MESSAGES }"), "unit": "B", "better": "lower"}]}
EOF
}

# --- (b) large folder: first-ever, cold and warm, each server alone on the machine -------
# Per round and server: a fresh copy (no index of any server) opened in one session:
# SELECT, the FLAGS listing, SORT, THREAD, the newest ENVELOPE page, a header SEARCH
# ("first-ever"; each command after the first profits from what the earlier ones read,
# as in a webmail). Then for each command on its own, a restart of the server and a
# dropped page cache, one session: SELECT and that command ("cold": the server's own
# on-disk index kept). Then new sessions on the running server ("warm": median of
# BENCH_WARM_SESSIONS after one uncounted warm-up). Last, the index sizes.
FOLDER_OPERATIONS="flags sort thread envelope search"
if want b; then
    log "(b) $FOLDER_MESSAGES-message folder: first-ever, cold, warm (drop page cache: $DROP_CACHES)"
    for round in $(seq 1 "$ROUNDS"); do
        for server in "$OURS" "$THEIRS"; do
            mkdir -p "$WORK/b-$server"
            copy "$WORK/spool/huge" "$WORK/b-$server/huge" "$server"
            start "$server" "$WORK/b-$server"
            drop_caches
            # shellcheck disable=SC2086
            RUN_TAG=-1-first-ever bench "$server" "$round" folder b --user huge --phase first-ever \
                --operations $FOLDER_OPERATIONS
            stop "$SERVER_PID"
            step=0
            for operation in $FOLDER_OPERATIONS; do
                step=$((step + 1))
                start "$server" "$WORK/b-$server"
                drop_caches
                RUN_TAG=-2-cold-$step-$operation bench "$server" "$round" folder b --user huge --phase cold \
                    --operations "$operation"
                stop "$SERVER_PID"
            done
            start "$server" "$WORK/b-$server"
            # shellcheck disable=SC2086
            RUN_TAG=-3-warm bench "$server" "$round" folder b --user huge --phase warm \
                --operations $FOLDER_OPERATIONS --warmup 1 --sessions "$WARM_SESSIONS"
            stop "$SERVER_PID"
            index_bytes "$server" "$round"
            rm -rf "$WORK/b-$server" "$WORK/b-$server-index"
        done
    done
fi

# --- servers for (a), (c), (d), (e): one copy each of the whole spool -------------------
if want a || want c || want d || want e || want f; then
    log "copying the spool for each server and starting them"
    copy "$WORK/spool" "$WORK/root-$OURS" "$OURS"
    copy "$WORK/spool" "$WORK/root-$THEIRS" "$THEIRS"
    start "$OURS" "$WORK/root-$OURS"; OURS_PID=$SERVER_PID
    start "$THEIRS" "$WORK/root-$THEIRS"; THEIRS_PID=$SERVER_PID
    pid_of() { if [ "$1" = "$OURS" ]; then echo "$OURS_PID"; else echo "$THEIRS_PID"; fi; }
fi

# alternate SUBCOMMAND SCENARIO ARGS…: one run per round and server, A then B; in ARGS
# @ROUND@ is the round, @PID@ the server's process, @ROOT@ its copy of the spool.
alternate() {
    local sub=$1 scenario=$2 round server arg args
    shift 2
    for round in $(seq 1 "$ROUNDS"); do
        for server in "$OURS" "$THEIRS"; do
            args=()
            for arg in "$@"; do
                arg=${arg//@ROUND@/$round}
                arg=${arg//@PID@/$(pid_of "$server")}
                args+=("${arg//@ROOT@/$WORK/root-$server}")
            done
            bench "$server" "$round" "$sub" "$scenario" "${args[@]}"
        done
    done
}

if want a; then
    for clients in $CLIENTS; do
        log "(a) mixed profile, $clients clients, ${DURATION}s per run: closed loop (throughput)"
        alternate run "a-$clients" --clients "$clients" --users "$USERS" --duration "$DURATION" --seed @ROUND@
        log "(a) mixed profile, $clients clients, ${DURATION}s per run: open loop at $RATE commands/s (latency)"
        alternate run "a-$clients@$RATE" --clients "$clients" --users "$USERS" --duration "$DURATION" \
            --seed @ROUND@ --rate "$RATE"
    done
fi

if want c; then
    log "(c) $IDLE_SESSIONS IDLE sessions: memory per session (PSS over the server's processes)"
    alternate idle c --sessions "$IDLE_SESSIONS" --users "$USERS" --server-pid @PID@
fi

if want d; then
    log "(d) delivery -> EXISTS: $DELIVER_SESSIONS IDLE sessions, $DELIVERIES deliveries"
    alternate idle d --sessions "$DELIVER_SESSIONS" --exact-user deliver --deliveries "$DELIVERIES" \
        --maildir @ROOT@/deliver --settle 0
fi

if want e; then
    log "(e) FETCH BODY[] and APPEND of a $BIG_MB MB message: throughput and peak RSS"
    alternate big e --append-size $((BIG_MB * 1024 * 1024)) --server-pid @PID@
fi

if want f; then
    log "(f) victim LOGIN+SELECT+FETCH with $SLOW_READERS slow readers of the $BIG_MB MB message"
    readers=()
    for count in $SLOW_READERS; do readers+=(--readers "$count"); done
    alternate slow f "${readers[@]}"
fi

# --- report -----------------------------------------------------------------------------
END=$(date +%s)
{
    echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'), $((END - START)) s including the build."
    echo "Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
        "$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)," \
        "Dovecot $("$DOVECOT" --version | cut -d' ' -f1), $(swift --version 2>&1 | head -n 1 | sed 's/ (.*//')."
    echo "Rounds: $ROUNDS (A B A B), medians; (a) ${DURATION}s per run, $USERS users x $MESSAGES messages;" \
        "(c) $IDLE_SESSIONS sessions; (d) $DELIVER_SESSIONS sessions x $DELIVERIES deliveries;" \
        "(e) $BIG_MB MB; page cache dropped before cold runs: $([ "$DROP_CACHES" = 1 ] && echo yes || echo no)."
} >"$OUT/machine.txt"
rm -f "$OUT"/*.json.raw
mkdir -p "$OUT/results"
cp "$RESULTS"/*.json "$OUT/results/" 2>/dev/null || true
log "results"
cat "$OUT/machine.txt"
echo
"$BENCH" report --results "$RESULTS" --ours "$OURS" --theirs "$THEIRS" --markdown "$OUT/report.md" --json "$OUT/report.json"
echo
echo "Written: $OUT/report.md, $OUT/report.json, $OUT/machine.txt, raw results in $OUT/results/"
