#!/usr/bin/env bash
# End-to-end smoke test of a built parley binary: fresh dev certificates, a temporary
# database with a known key pair (PARLEY_INIT_PUBLIC_KEY/SECRET_KEY), HTTP and HTTPS listeners
# on ephemeral ports, scripts/smoke.sh against both (with the keys as SMOKE_PK/SMOKE_SK),
# scripts/demo.sh, a certificate swap reloaded by SIGHUP, then a SIGTERM that must stop the
# server with exit 0, and `parley projects set/show` on the database it leaves. Builds nothing.
#
#   scripts/run-smoke.sh [PARLEY_BINARY]      (default .build/debug/parley)
#
# Exits non-zero if the server does not start, any smoke check fails, or shutdown is not clean.
set -euo pipefail

scripts_dir=$(cd "$(dirname "$0")" && pwd)
# The default is the debug build in this checkout, wherever the script is called from.
binary=${1:-$scripts_dir/../.build/debug/parley}
start_timeout_s=${PARLEY_SMOKE_START_TIMEOUT:-30}  # a debug build opening a fresh db is quick; CI can be slow
stop_timeout_s=${PARLEY_SMOKE_STOP_TIMEOUT:-15}    # above the server's default 10 s shutdown grace
reload_timeout_s=10  # SIGHUP reloads on a Dispatch queue within milliseconds; 10 s only bounds a hang
# The project key the fresh database is created with, for the authenticated checks.
smoke_pk=pk-lf-smoke
smoke_sk=sk-lf-smoke

if [ ! -x "$binary" ]; then
    echo "run-smoke: $binary is not an executable; build it first (swift build)" >&2
    exit 2
fi

work=$(mktemp -d)
server_pid=
cleanup() {
    # Only our own server, by its pid: a failed run must not leave it holding ports.
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
# An interrupted run still goes through the EXIT trap above.
trap 'exit 130' INT
trap 'exit 143' TERM

show_log() {
    echo "--- server log (last 40 lines) ---" >&2
    tail -n 40 "$work/server.log" >&2 || true
    echo "---" >&2
}

echo "== certificates"
"$scripts_dir/gen-dev-cert.sh" "$work/certs"

echo "== starting $binary"
# Created here, not by the background redirect below, so the polling loop can never read it
# before the server's shell has opened it.
: >"$work/server.log"
# Loopback only, ephemeral ports: parallel runs and other services cannot collide with us.
PARLEY_INIT_PUBLIC_KEY=$smoke_pk PARLEY_INIT_SECRET_KEY=$smoke_sk \
"$binary" serve --host 127.0.0.1 --port 0 --tls-port 0 \
    --tls-cert "$work/certs/server.pem" --tls-key "$work/certs/server-key.pem" \
    --db "$work/parley.sqlite" 2>"$work/server.log" &
server_pid=$!

# The server prints one "listening on URL" line per listener once it has bound; poll the log
# for both rather than sleeping a guessed amount, and give up if it dies or takes too long.
http_url=
https_url=
deadline=$((SECONDS + start_timeout_s))
while :; do
    http_url=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1|p' "$work/server.log" | head -n 1)
    https_url=$(sed -n 's|^listening on \(https://[^ ]*\)$|\1|p' "$work/server.log" | head -n 1)
    if [ -n "$http_url" ] && [ -n "$https_url" ]; then
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        status=0
        wait "$server_pid" || status=$?
        server_pid=
        echo "run-smoke: server exited with status $status before listening" >&2
        show_log
        exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "run-smoke: no listening lines after ${start_timeout_s}s" >&2
        show_log
        exit 1
    fi
    sleep 0.1
done
echo "server pid $server_pid: $http_url and $https_url"

echo "== smoke checks"
smoke_status=0
SMOKE_PK=$smoke_pk SMOKE_SK=$smoke_sk \
    "$scripts_dir/smoke.sh" "$http_url" "$https_url" "$work/certs/ca.pem" | tee "$work/smoke.out" || smoke_status=$?
# Carry smoke.sh's counts into this script's own closing line; no summary means it broke.
passed=0
failed=1
summary=$(tail -n 1 "$work/smoke.out")
if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=${BASH_REMATCH[1]}
    failed=${BASH_REMATCH[2]}
fi

# The checks below count into the same totals; any failure fails the run.
extra_ok=1
check_ok() {
    passed=$((passed + 1))
    echo "ok - $1"
}
check_not_ok() {
    failed=$((failed + 1))
    extra_ok=0
    echo "not ok - $1"
}

echo "== demo"
if "$scripts_dir/demo.sh" "$http_url" "$smoke_pk" "$smoke_sk" >"$work/demo.out" 2>&1; then
    # The demo prints every request and answer; its closing summary is enough here.
    grep -E '^(session |  turn )' "$work/demo.out" | sed 's/^/# /' || true
    check_ok "scripts/demo.sh: session, three turns, drop-off, drill-down, converted journey, analytics"
else
    tail -n 30 "$work/demo.out" | sed 's/^/# /'
    check_not_ok "scripts/demo.sh failed"
fi

echo "== TLS certificate reload (SIGHUP)"
# A second, unrelated CA and server certificate replace the files the server was started with;
# after SIGHUP, new handshakes must verify against the new CA and no longer against the old.
"$scripts_dir/gen-dev-cert.sh" "$work/certs2" >/dev/null
cp "$work/certs2/server.pem" "$work/certs/server.pem"
cp "$work/certs2/server-key.pem" "$work/certs/server-key.pem"
reloads_before=$(grep -c 'reloaded TLS certificate' "$work/server.log" || true)
kill -HUP "$server_pid"
# The server logs the reload (or its failure); poll for that line instead of sleeping.
deadline=$((SECONDS + reload_timeout_s))
reload_result=none
while [ "$SECONDS" -lt "$deadline" ]; do
    if grep -q 'TLS reload failed' "$work/server.log"; then
        reload_result=failed
        break
    fi
    if [ "$(grep -c 'reloaded TLS certificate' "$work/server.log" || true)" -gt "$reloads_before" ]; then
        reload_result=reloaded
        break
    fi
    sleep 0.1
done
if [ "$reload_result" = reloaded ]; then
    check_ok "SIGHUP: the server logs that it reloaded the certificate"
else
    check_not_ok "SIGHUP: no reload logged within ${reload_timeout_s}s (result: $reload_result)"
fi
if code=$(curl --silent --show-error --max-time 10 --cacert "$work/certs2/ca.pem" -o /dev/null -w '%{http_code}' \
    "$https_url/api/public/health" 2>"$work/reload-new.err") && [ "$code" = 200 ]; then
    check_ok "after SIGHUP, HTTPS verifies against the new CA"
else
    check_not_ok "after SIGHUP, HTTPS with the new CA: status ${code:-none}: $(cat "$work/reload-new.err")"
fi
# Exit 60 is curl's "peer certificate cannot be authenticated": the handshake happened and the
# certificate was the new one. Any other failure (refused, timeout) would prove nothing.
old_rc=0
curl --silent --show-error --max-time 10 --cacert "$work/certs/ca.pem" -o /dev/null \
    "$https_url/api/public/health" 2>"$work/reload-old.err" || old_rc=$?
if [ "$old_rc" -eq 60 ]; then
    check_ok "after SIGHUP, the old CA no longer verifies the server"
else
    check_not_ok "after SIGHUP, HTTPS with the old CA: curl exit $old_rc, want 60: $(cat "$work/reload-old.err")"
fi

echo "== graceful shutdown"
shutdown_ok=1
kill -TERM "$server_pid"
deadline=$((SECONDS + stop_timeout_s))
while kill -0 "$server_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.1
done
if kill -0 "$server_pid" 2>/dev/null; then
    echo "not ok - server still running ${stop_timeout_s}s after SIGTERM"
    shutdown_ok=0
    # cleanup (EXIT trap) kills it.
else
    exit_status=0
    wait "$server_pid" || exit_status=$?
    server_pid=
    if [ "$exit_status" -eq 0 ]; then
        echo "ok - SIGTERM stopped the server with exit 0"
    else
        echo "not ok - server exited with status $exit_status after SIGTERM"
        shutdown_ok=0
    fi
fi

if [ "$shutdown_ok" -eq 1 ]; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

echo "== SIGTERM right after \"listening on\" (a supervisor or harness may stop it at once)"
# The signal handlers are in place before the server listens; a SIGTERM that arrived between
# the two was once ignored and the server never exited.
early_ok=1
for attempt in 1 2 3 4 5; do
    early_db="$work/early-$attempt.sqlite"
    "$binary" serve --host 127.0.0.1 --port 0 --db "$early_db" 2> "$work/early-$attempt.log" &
    early_pid=$!
    deadline=$((SECONDS + 30))
    until grep -q '^listening on ' "$work/early-$attempt.log" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; do
        sleep 0.01
    done
    kill -TERM "$early_pid" 2>/dev/null || true
    deadline=$((SECONDS + stop_timeout_s))
    while kill -0 "$early_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
    if kill -0 "$early_pid" 2>/dev/null; then
        kill -KILL "$early_pid" 2>/dev/null || true
        wait "$early_pid" 2>/dev/null || true
        echo "not ok - attempt $attempt: still running ${stop_timeout_s}s after a SIGTERM sent right after it listened"
        early_ok=0
    else
        early_status=0
        wait "$early_pid" || early_status=$?
        if [ "$early_status" -ne 0 ]; then
            echo "not ok - attempt $attempt: exited with status $early_status after an early SIGTERM"
            early_ok=0
        fi
    fi
done
if [ "$early_ok" -eq 1 ]; then
    echo "ok - 5 servers stopped with exit 0 by a SIGTERM sent as soon as they listened"
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

echo "== project settings through the CLI (on the stopped server's database)"
if "$binary" projects set default --db "$work/parley.sqlite" --inactivity-timeout 900 --context-window my-finetune=32768 \
        >"$work/projects-set.out" 2>&1 \
    && settings=$("$binary" projects show default --db "$work/parley.sqlite" 2>&1) \
    && [ "$settings" = '{"inactivityTimeoutSeconds":900,"contextWindows":{"my-finetune":32768}}' ]; then
    check_ok "parley projects set/show: inactivity timeout and context window stored"
else
    check_not_ok "parley projects set/show: got '${settings:-}' $(cat "$work/projects-set.out")"
fi
if "$binary" projects set default --db "$work/parley.sqlite" --hash-user-ids false --io-policy masked --retention-days 30 \
        >"$work/projects-set.out" 2>&1 \
    && settings=$("$binary" projects show default --db "$work/parley.sqlite" 2>&1) \
    && [ "$settings" = '{"inactivityTimeoutSeconds":900,"contextWindows":{"my-finetune":32768},"hashUserIds":false,"ioPolicy":"masked","retentionDays":30}' ] \
    && "$binary" projects set default --db "$work/parley.sqlite" --hash-user-ids default --io-policy default --retention-days 0 \
        >"$work/projects-set.out" 2>&1 \
    && settings=$("$binary" projects show default --db "$work/parley.sqlite" 2>&1) \
    && [ "$settings" = '{"inactivityTimeoutSeconds":900,"contextWindows":{"my-finetune":32768}}' ]; then
    check_ok "parley projects set/show: privacy settings stored, then back to the defaults"
else
    check_not_ok "parley projects set/show (privacy): got '${settings:-}' $(cat "$work/projects-set.out")"
fi
if "$binary" projects set default --db "$work/parley.sqlite" --io-policy everything >/dev/null 2>&1; then
    check_not_ok "parley projects set accepted --io-policy everything"
else
    check_ok "parley projects set: an unknown --io-policy is an error"
fi
if ! "$binary" projects set no-such-project --db "$work/parley.sqlite" --inactivity-timeout 5 >/dev/null 2>&1; then
    check_ok "parley projects set: an unknown project is an error"
else
    check_not_ok "parley projects set accepted an unknown project"
fi
# Database paths (issue #20): a mistyped --db is refused and creates nothing; serve names the
# path and the cause; a backup is a database that passes the integrity check.
if out=$("$binary" keys list --db "$work/mistyped.sqlite" 2>&1); then
    check_not_ok "parley keys list accepted a missing database"
elif [ ! -e "$work/mistyped.sqlite" ] && printf '%s' "$out" | grep -q "$work/mistyped.sqlite: no such file"; then
    check_ok "parley keys list: a missing database is refused, named, and not created"
else
    check_not_ok "parley keys list on a missing database: $out"
fi
if out=$("$binary" serve --port 0 --db "$work/missing/dir/x.sqlite" 2>&1); then
    check_not_ok "parley serve started on a missing directory"
elif printf '%s' "$out" | grep -q "$work/missing/dir/x.sqlite: the directory $work/missing/dir does not exist"; then
    check_ok "parley serve: a missing directory is named as the cause"
else
    check_not_ok "parley serve on a missing directory: $out"
fi
if "$binary" db backup --db "$work/parley.sqlite" "$work/backup.sqlite" >/dev/null 2>&1 \
    && [ "$("$binary" db check --db "$work/backup.sqlite" 2>&1)" = "ok" ] \
    && ! "$binary" db backup --db "$work/parley.sqlite" "$work/backup.sqlite" >/dev/null 2>&1; then
    check_ok "parley db backup: the copy checks ok, and an existing file is never overwritten"
else
    check_not_ok "parley db backup"
fi
# Model prices from the command line: add, list, recompute, delete; a pattern outside the safe
# subset is refused with its reason.
if added=$("$binary" models add --db "$work/parley.sqlite" --project default --name smoke-ft \
        --pattern '(?i)^ft:smoke$' --input-price 0.000001 --output-price 0.000002 2>&1) \
    && id=$(printf '%s' "$added" | sed -n 's/^{"id":"\([^"]*\)".*/\1/p') && [ -n "$id" ] \
    && "$binary" models list --db "$work/parley.sqlite" --project default --custom 2>&1 | awk -F'\t' -v id="$id" '$1 == id && $2 == "smoke-ft" && $3 == "project"' | grep -q . \
    && "$binary" models list --db "$work/parley.sqlite" --project default 2>&1 | awk -F'\t' '$2 == "gpt-4o-mini" && $3 == "built-in"' | grep -q . \
    && "$binary" models recompute --db "$work/parley.sqlite" 2>&1 | grep -q "^recomputed " \
    && "$binary" models delete "$id" --db "$work/parley.sqlite" --project default >/dev/null 2>&1; then
    check_ok "parley models add/list/recompute/delete"
else
    check_not_ok "parley models: ${added:-}"
fi
if out=$("$binary" models add --db "$work/parley.sqlite" --project default --name evil --pattern '(a)\1' --total-price 1 2>&1); then
    check_not_ok "parley models add accepted a back-reference"
elif printf '%s' "$out" | grep -q "not a supported regular expression"; then
    check_ok "parley models add: a pattern outside the safe subset is refused with the reason"
else
    check_not_ok "parley models add with a back-reference: $out"
fi
if [ "$smoke_status" -ne 0 ] || [ "$shutdown_ok" -ne 1 ] || [ "$extra_ok" -ne 1 ]; then
    show_log
fi
# One closing line, in the "N passed, M failed" form, counting the checks of this script too.
echo "run-smoke: $passed passed, $failed failed"
[ "$smoke_status" -eq 0 ] && [ "$shutdown_ok" -eq 1 ] && [ "$extra_ok" -eq 1 ]
