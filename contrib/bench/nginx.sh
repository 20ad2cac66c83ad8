#!/usr/bin/env bash
# The mixed profile through nginx's mail proxy against the same run on one backend
# directly (issue 17; docs/nginx-proxy.md, docs/benchmarks.md).
#
#   contrib/bench/nginx.sh
#
# Needs nginx with the mail module (apt-get install nginx libnginx-mod-mail; both are in
# contrib/install-test-deps). Builds imapd-maildir and imapd-bench in release mode,
# generates a spool of BENCH_USERS users, and starts, all on loopback:
#   - direct: one imapd-maildir serving every user;
#   - proxied: nginx (one worker, proxy_protocol on) in front of two imapd-maildir
#     backends, with a third imapd-maildir as the auth_http endpoint (--auth-http-listen,
#     --shard-map: odd-numbered users on backend A, even on backend B), as
#     docs/nginx-proxy.md deploys it.
# Every backend holds its own copy of the whole spool; the shard map decides which copy
# a user's session uses. Then it runs `imapd-bench run` (closed loop: each client sends
# its next command when the last answered) with BENCH_CLIENTS clients, direct and
# proxied alternately for BENCH_ROUNDS rounds, and prints per round commands/s, p50 and
# p99 (all commands) and the CONNECT and LOGIN rows (connection set-up and login, which
# through nginx include its auth_http request and its own connection and LOGIN to the
# backend), then the ratio proxied/direct of the medians over the rounds.
#
#   BENCH_CLIENTS=50  BENCH_USERS=50  BENCH_MESSAGES=300  BENCH_DURATION=15
#   BENCH_ROUNDS=2    BENCH_PORT=24243 (ports BENCH_PORT … BENCH_PORT+4)
#   BENCH_OUT=.build/bench-nginx (the JSON results)   BENCH_KEEP=1 (keep the work directory)
#   BENCH_NGINX=path (another nginx binary or a wrapper)
#   BENCH_NGINX_MAIL="proxy_buffer 64k;" (more directives for nginx's mail block)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$PWD

CLIENTS=${BENCH_CLIENTS:-50}
USERS=${BENCH_USERS:-50}
MESSAGES=${BENCH_MESSAGES:-300}
DURATION=${BENCH_DURATION:-15}
ROUNDS=${BENCH_ROUNDS:-2}
PORT=${BENCH_PORT:-24243}
OUT=${BENCH_OUT:-$REPO/.build/bench-nginx}
DIRECT_PORT=$PORT
PROXY_PORT=$((PORT + 1))
A_PORT=$((PORT + 2))
B_PORT=$((PORT + 3))
AUTH_PORT=$((PORT + 4))
PASSWORD=bench
NGINX=${BENCH_NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
MODULE=/usr/lib/nginx/modules/ngx_mail_module.so

log() { printf '\n=== %s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }
[ -x "$NGINX" ] && [ -f "$MODULE" ] || {
    echo "nginx.sh: needs nginx with the mail module: apt-get install nginx libnginx-mod-mail" >&2
    exit 1
}

log "swift build -c release (imapd-maildir, imapd-bench)"
swift build -c release --product imapd-maildir 2>&1 | tail -n 1
swift build -c release --product imapd-bench 2>&1 | tail -n 1
BIN=$(swift build -c release --show-bin-path)
IMAPD=$BIN/imapd-maildir
BENCH=$BIN/imapd-bench
ulimit -n 65536 2>/dev/null || true

WORK=$(mktemp -d "${TMPDIR:-/tmp}/imapd-nginx-bench.XXXXXX")
mkdir -p "$OUT"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log "generating the spool: $USERS users x $MESSAGES messages"
HASH=$(printf '%s\n' "$PASSWORD" | "$IMAPD" passwd --scheme SHA512-CRYPT)
"$BENCH" generate --root "$WORK/spool" --users "$USERS" --messages "$MESSAGES" --huge-user "" --big-user "" \
    --deliver-user "" --passwd "$WORK/passwd" --hash "$HASH" >/dev/null
for copy in direct a b; do cp -a "$WORK/spool" "$WORK/root-$copy"; done
mkdir -p "$WORK/auth-spool"
for i in $(seq 1 "$USERS"); do
    if [ $((i % 2)) -eq 1 ]; then port=$A_PORT; else port=$B_PORT; fi
    printf 'bench%04d 127.0.0.1:%d\n' "$i" "$port"
done >"$WORK/shards"

wait_port() {
    local i
    for i in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nginx.sh: nothing listens on port $1" >&2
    return 1
}

# serve NAME ROOT PORT ARGS…: an imapd-maildir with the bench's limits lifted (every
# client comes from 127.0.0.1).
serve() {
    local name=$1 root=$2 port=$3
    shift 3
    "$IMAPD" --root "$root" --passwd "$WORK/passwd" --listen "127.0.0.1:$port" --log-level error \
        --max-connections-per-address 1000000 --max-connections-per-user 1000000 \
        --max-connections-per-user-address 1000000 --max-connections 1000000 "$@" \
        >>"$WORK/$name.log" 2>&1 &
    PIDS+=("$!")
    wait_port "$port"
}

log "starting: direct backend; backends A and B, the auth_http endpoint, nginx"
serve direct "$WORK/root-direct" "$DIRECT_PORT"
serve a "$WORK/root-a" "$A_PORT" --proxy-protocol-from 127.0.0.1
serve b "$WORK/root-b" "$B_PORT" --proxy-protocol-from 127.0.0.1
serve auth "$WORK/auth-spool" "$((PORT + 5))" --auth-http-listen "127.0.0.1:$AUTH_PORT" --shard-map "$WORK/shards"
cat >"$WORK/nginx.conf" <<CONF
load_module $MODULE;
daemon off;
master_process off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
mail {
    server_name bench.test;
    auth_http 127.0.0.1:$AUTH_PORT/auth;
    proxy_pass_error_message on;
    imap_capabilities IMAP4rev1 IMAP4rev2 LITERAL+ ENABLE ID IDLE;
    imap_auth plain login;
    proxy_protocol on;
    proxy_timeout 31m;
    ${BENCH_NGINX_MAIL:-}
    server {
        listen 127.0.0.1:$PROXY_PORT;
        protocol imap;
    }
}
CONF
"$NGINX" -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" </dev/null >>"$WORK/nginx.log" 2>&1 &
PIDS+=("$!")
wait_port "$PROXY_PORT"

# run LABEL PORT ROUND: one closed-loop mixed-profile run, its JSON kept.
run() {
    echo "--- $1, round $3"
    "$BENCH" run --port "$2" --password "$PASSWORD" --server "$1" --round "$3" --scenario "a-$CLIENTS" \
        --clients "$CLIENTS" --users "$USERS" --duration "$DURATION" --seed "$3" \
        --json "$OUT/a-$CLIENTS-$1-$3.json" | grep -E '^(CONNECT|LOGIN|commands/s|p50|p99|errors) '
}
for round in $(seq 1 "$ROUNDS"); do
    log "round $round: $CLIENTS clients, $USERS users, ${DURATION}s each"
    run direct "$DIRECT_PORT" "$round"
    run nginx "$PROXY_PORT" "$round"
done

log "summary (median over $ROUNDS rounds; nginx/direct)"
python3 - "$OUT" "$CLIENTS" "$ROUNDS" <<'PY'
import json, statistics, sys
out, clients, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
def load(label):
    return [json.load(open(f"{out}/a-{clients}-{label}-{r}.json")) for r in range(1, rounds + 1)]
def metric(result, name):
    return next(m["value"] for m in result["metrics"] if m["name"] == name)
def row(result, command, field):
    return next((c[field] for c in result["commands"] if c["command"] == command), float("nan"))
rows = [("commands/s", lambda r: metric(r, "commands/s")), ("p50 ms (all)", lambda r: metric(r, "p50")),
        ("p99 ms (all)", lambda r: metric(r, "p99")), ("errors", lambda r: metric(r, "errors"))]
for command in ("CONNECT", "LOGIN", "SELECT", "FETCH BODY"):
    rows.append((f"{command} p50 ms", lambda r, c=command: row(r, c, "p50Ms")))
    rows.append((f"{command} p99 ms", lambda r, c=command: row(r, c, "p99Ms")))
direct, proxied = load("direct"), load("nginx")
print(f"{'':18} {'direct':>10} {'nginx':>10} {'nginx/direct':>13}   per round (direct | nginx)")
for name, get in rows:
    d = [get(r) for r in direct]
    n = [get(r) for r in proxied]
    dm, nm = statistics.median(d), statistics.median(n)
    ratio = f"{nm / dm:.2f}" if dm else "-"
    fmt = lambda xs: " ".join(f"{x:.4g}" for x in xs)
    print(f"{name:18} {dm:10.4g} {nm:10.4g} {ratio:>13}   {fmt(d)} | {fmt(n)}")
PY
