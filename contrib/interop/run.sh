#!/usr/bin/env bash
# Runs every interop test (contrib/interop/test_*.py, Python 3 stdlib unittest) against
# the imapd-maildir binary (IMAPD_BIN, default .build/debug/imapd-maildir), or against
# a private Dovecot with IMAPD_TARGET=dovecot. Extra arguments go to unittest, e.g.
#   contrib/interop/run.sh -k test_sessions        IMAPD_TARGET=dovecot contrib/interop/run.sh
# Exit status: unittest's (0 only if every test passed). The last line is a plain
# "interop: N passed, N failed" summary.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo" || exit 1

log="$(mktemp /tmp/interop-run.XXXXXX)"
trap 'rm -f "$log"' EXIT

echo "interop: target ${IMAPD_TARGET:-imapd}${IMAPD_BIN:+ ($IMAPD_BIN)}"
PYTHONDONTWRITEBYTECODE=1 python3 -m unittest discover -s "$here" -t "$here" -p 'test_*.py' -v "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

ran=$(sed -n 's/^Ran \([0-9][0-9]*\) tests\{0,1\} in .*/\1/p' "$log" | tail -n 1)
count() { sed -n "s/^FAILED (.*$1=\([0-9][0-9]*\).*/\1/p; s/^OK (.*$1=\([0-9][0-9]*\).*/\1/p" "$log" | tail -n 1; }
failures=$(count failures); errors=$(count errors); skipped=$(count skipped)
ran=${ran:-0}; failures=${failures:-0}; errors=${errors:-0}; skipped=${skipped:-0}
failed=$((failures + errors))
if [ "$ran" -eq 0 ] && [ "$rc" -eq 0 ]; then
    echo "interop: no test ran" >&2
    rc=1
fi
summary="interop: $((ran - failed - skipped)) passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
exit "$rc"
