#!/usr/bin/env bash
# Black-box checks against a running parley, with curl and (for what curl cannot send) raw
# sockets from python3. Prints one TAP-like line per check, then exactly "N passed, M failed";
# exits non-zero if any check failed.
#
#   scripts/smoke.sh BASE_URL [HTTPS_BASE_URL CA_PEM]
#   scripts/smoke.sh http://127.0.0.1:3000 https://127.0.0.1:3443 certs/ca.pem
#
# The HTTPS checks run only when both HTTPS_BASE_URL and CA_PEM are given. The server must use
# the default limits (16384 header bytes): the oversized-header check sends 20 KB.
#
# Environment: SMOKE_PK and SMOKE_SK, a project key pair of the server (run-smoke.sh starts it
# with PARLEY_INIT_PUBLIC_KEY/SECRET_KEY). When both are set, the authenticated checks run too
# (ingestion 207, session list and drill-down); otherwise they are reported as skipped.
set -euo pipefail

usage() {
    echo "usage: $0 BASE_URL [HTTPS_BASE_URL CA_PEM]" >&2
    exit 2
}
[ $# -eq 1 ] || [ $# -eq 3 ] || usage
base=${1%/}
https_base=${2:-}
https_base=${https_base%/}
ca_pem=${3:-}
smoke_pk=${SMOKE_PK:-}
smoke_sk=${SMOKE_SK:-}

for tool in curl python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "smoke: $tool not found on PATH" >&2; exit 2; }
done
if [ -n "$ca_pem" ] && [ ! -r "$ca_pem" ]; then
    echo "smoke: cannot read CA_PEM $ca_pem" >&2
    exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
ok() {
    passed=$((passed + 1))
    echo "ok - $1"
}
not_ok() {
    failed=$((failed + 1))
    # Details can hold raw response bytes: keep them on one line so the output stays one
    # line per check.
    echo "not ok - $1 ($(printf '%s' "$2" | tr '\r\n' '  ' | cut -c1-300))"
}

# Every curl is bounded: a hung server must fail the check, not hang the run.
curl_() { curl --silent --show-error --max-time 10 "$@"; }

# python3 helpers for what curl cannot do: exact bytes on the wire, pipelining, half-close,
# dropping mid-body, and JSON checks without depending on jq.
# shellcheck disable=SC2016  # the single-quoted text is Python, not shell
py_helper='
import json, socket, sys, time, urllib.parse

def json_check(path, want):
    """want "error": an object with string message and error; "ok": {"status": "OK", ...}."""
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read())
    except Exception as e:
        return "not JSON: %s" % e
    if not isinstance(doc, dict):
        return "JSON but not an object"
    if want == "error":
        if isinstance(doc.get("message"), str) and isinstance(doc.get("error"), str):
            return ""
        return "no string message/error fields: %s" % json.dumps(doc)[:200]
    if want == "ok":
        return "" if doc.get("status") == "OK" else "status is not OK: %s" % json.dumps(doc)[:200]
    if want == "message":
        # Langfuse 401/403 bodies: {"message": ...}, maybe with "error".
        return "" if isinstance(doc.get("message"), str) else "no string message: %s" % json.dumps(doc)[:200]
    if want.startswith("ingested:"):
        # A 207 with every one of N events a 201 success and no errors.
        count = int(want.split(":", 1)[1])
        successes = doc.get("successes")
        if doc.get("errors") != [] or not isinstance(successes, list):
            return "errors or no successes list: %s" % json.dumps(doc)[:200]
        if len(successes) != count or any(item.get("status") != 201 for item in successes):
            return "want %d successes with status 201: %s" % (count, json.dumps(successes)[:200])
        return ""
    if want.startswith("page-with:"):
        # Langfuse page shape (data + integer meta) holding an item with this id.
        wanted = want.split(":", 1)[1]
        meta = doc.get("meta")
        if not isinstance(doc.get("data"), list) or not isinstance(meta, dict):
            return "no data list and meta object: %s" % json.dumps(doc)[:200]
        for key in ("page", "limit", "totalItems", "totalPages"):
            if not isinstance(meta.get(key), int) or isinstance(meta.get(key), bool):
                return "meta.%s is not an integer: %s" % (key, json.dumps(meta))
        if not any(isinstance(item, dict) and item.get("id") == wanted for item in doc["data"]):
            return "no item with id %s among %d" % (wanted, len(doc["data"]))
        return ""
    if want.startswith("traces:"):
        # A session drill-down with N traces.
        count = int(want.split(":", 1)[1])
        traces = doc.get("traces")
        if not isinstance(traces, list) or len(traces) != count:
            return "want %d traces: %s" % (count, json.dumps(doc)[:200])
        return ""
    return "unknown check " + want

def parse_responses(data):
    """Splits raw bytes into HTTP/1.x responses framed by Content-Length (or chunked)."""
    out = []
    while data:
        head_end = data.find(b"\r\n\r\n")
        if head_end < 0:
            break
        lines = data[:head_end].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            break
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        rest = data[head_end + 4:]
        if "content-length" in headers:
            n = int(headers["content-length"])
            if len(rest) < n:
                break
            body, data = rest[:n], rest[n:]
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                line_end = rest.find(b"\r\n")
                if line_end < 0:
                    return out
                size = int(rest[:line_end].split(b";")[0], 16)
                if size == 0:
                    trailer_end = rest.find(b"\r\n\r\n", line_end)
                    if trailer_end < 0:
                        return out
                    data = rest[trailer_end + 4:]
                    break
                if len(rest) < line_end + 2 + size + 2:
                    return out
                body += rest[line_end + 2:line_end + 2 + size]
                rest = rest[line_end + 2 + size + 2:]
        else:
            body, data = rest, b""
        out.append((int(parts[1]), headers, body))
    return out

def raw(url, flags):
    """Sends stdin as-is, then prints one summary line per response received."""
    target = urllib.parse.urlsplit(url)
    payload = sys.stdin.buffer.read()
    try:
        sock = socket.create_connection((target.hostname, target.port), timeout=5)
        sock.sendall(payload)
    except OSError as e:
        print("cannot send to %s: %s" % (url, e))
        sys.exit(1)
    if "drop" in flags:
        # A client that vanishes mid-request: close without reading anything.
        sock.close()
        print("dropped")
        return
    if "shutdown-wr" in flags:
        sock.shutdown(socket.SHUT_WR)
    data = b""
    deadline = time.monotonic() + 5
    # Read to EOF: every raw request ends the connection (Connection: close, a half-close or
    # an error the server answers by closing), so EOF is the natural end; 5 s bounds it.
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            print("reset")
            break
        if not chunk:
            break
        data += chunk
    sock.close()
    responses = parse_responses(data)
    if not responses:
        print("no response: %r" % data[:200])
    for status, headers, body in responses:
        kind = json_check_bytes(body)
        print("status=%d json=%s request_id=%s connection=%s" % (
            status, kind, headers.get("x-request-id", "-"), headers.get("connection", "-")))

def json_check_bytes(body):
    try:
        doc = json.loads(body)
    except Exception:
        return "no"
    if isinstance(doc, dict) and isinstance(doc.get("message"), str) and isinstance(doc.get("error"), str):
        return "error"
    return "other"

cmd = sys.argv[1]
if cmd == "json":
    problem = json_check(sys.argv[2], sys.argv[3])
    if problem:
        print(problem)
        sys.exit(1)
elif cmd == "raw":
    raw(sys.argv[2], set(sys.argv[3:]))
'

# json_is FILE ok|error: prints what is wrong and fails, or succeeds silently.
json_is() { python3 -c "$py_helper" json "$1" "$2"; }
# raw_http URL [shutdown-wr] [drop] < bytes: one "status=... json=... request_id=...
# connection=..." line per response, in order.
raw_http() { python3 -c "$py_helper" raw "$@"; }

# status_of PREFIX: the status curl wrote (-w '%{http_code}') to PREFIX.code.
status_of() { cat "$1.code" 2>/dev/null || echo "no status"; }

# --- health ---------------------------------------------------------------------------------
name="GET /api/public/health is 200 with status OK"
if curl_ -o "$work/health.body" -w '%{http_code}' "$base/api/public/health" >"$work/health.code" 2>"$work/health.err"; then
    code=$(status_of "$work/health")
    if [ "$code" != 200 ]; then
        not_ok "$name" "status $code: $(cat "$work/health.body")"
    elif problem=$(json_is "$work/health.body" ok); then
        ok "$name"
    else
        not_ok "$name" "$problem"
    fi
else
    not_ok "$name" "curl failed: $(cat "$work/health.err")"
fi

# --- keep-alive -----------------------------------------------------------------------------
# Two URLs in one curl invocation share curl's connection cache: with keep-alive working the
# second transfer reuses the first connection, so num_connects is 1 then 0.
name="keep-alive: two requests on one connection"
if connects=$(curl_ -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects}\n' \
    "$base/api/public/health" "$base/api/public/health" 2>"$work/ka.err"); then
    codes=$(printf '%s\n' "$connects" | cut -d: -f1 | tr '\n' ' ')
    total=$(printf '%s\n' "$connects" | awk -F: '{ n += $2 } END { print n }')
    if [ "$codes" != "200 200 " ]; then
        not_ok "$name" "statuses $codes"
    elif [ "$total" != 1 ]; then
        not_ok "$name" "$total connects for 2 requests"
    else
        ok "$name"
    fi
else
    not_ok "$name" "curl failed: $(cat "$work/ka.err")"
fi

# --- HTTP/1.0 -------------------------------------------------------------------------------
# An HTTP/1.0 client without Keep-Alive expects the server to close: the response must say so.
name="HTTP/1.0 request is answered with Connection: close"
if curl_ --http1.0 -D "$work/h10.headers" -o "$work/h10.body" -w '%{http_code}' \
    "$base/api/public/health" >"$work/h10.code" 2>"$work/h10.err"; then
    code=$(status_of "$work/h10")
    if [ "$code" != 200 ]; then
        not_ok "$name" "status $code"
    elif ! grep -qi '^connection: *close' "$work/h10.headers"; then
        not_ok "$name" "no Connection: close in: $(cat "$work/h10.headers")"
    else
        ok "$name"
    fi
else
    not_ok "$name" "curl failed: $(cat "$work/h10.err")"
fi

# --- oversized header -----------------------------------------------------------------------
name="20 KB header value is 431 with a JSON error"
big=$(head -c 20480 /dev/zero | tr '\0' 'a')
if curl_ -H "X-Big: $big" -o "$work/big.body" -w '%{http_code}' "$base/api/public/health" \
    >"$work/big.code" 2>"$work/big.err"; then
    code=$(status_of "$work/big")
    if [ "$code" != 431 ]; then
        not_ok "$name" "status $code"
    elif problem=$(json_is "$work/big.body" error); then
        ok "$name"
    else
        not_ok "$name" "$problem"
    fi
else
    not_ok "$name" "curl failed: $(cat "$work/big.err")"
fi

# --- malformed requests (raw bytes) ---------------------------------------------------------
# expect_raw NAME WANT_REGEX BYTES [raw_http flags...]: BYTES is printf %b text (\r\n
# escapes). The bytes go in through a redirection, not a pipe: a pipe would run this function
# in a subshell and lose its pass/fail counts.
expect_raw() {
    local check=$1 want=$2 bytes=$3 got
    shift 3
    if got=$(raw_http "$base" "$@" 2>&1 < <(printf '%b' "$bytes")) && [[ $got =~ $want ]]; then
        ok "$check"
    else
        not_ok "$check" "got: $got"
    fi
}

# Content-Length with Transfer-Encoding is the classic request-smuggling shape: RFC 9112
# §6.1 lets a server reject it, and parley does, with 400.
expect_raw "Content-Length + Transfer-Encoding is 400 with a JSON error" '^status=400 json=error ' \
    'POST /api/public/health HTTP/1.1\r\nHost: smoke\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
expect_raw "malformed request line is 400 with a JSON error" '^status=400 json=error ' \
    'THIS IS NOT HTTP\r\n\r\n'

# --- routing errors -------------------------------------------------------------------------
name="unknown path is 404 with a JSON error"
if curl_ -o "$work/404.body" -w '%{http_code}' "$base/api/public/no-such-route" \
    >"$work/404.code" 2>"$work/404.err"; then
    code=$(status_of "$work/404")
    if [ "$code" != 404 ]; then
        not_ok "$name" "status $code"
    elif problem=$(json_is "$work/404.body" error); then
        ok "$name"
    else
        not_ok "$name" "$problem"
    fi
else
    not_ok "$name" "curl failed: $(cat "$work/404.err")"
fi

name="wrong method is 405 with Allow and a JSON error"
if curl_ -X DELETE -D "$work/405.headers" -o "$work/405.body" -w '%{http_code}' \
    "$base/api/public/health" >"$work/405.code" 2>"$work/405.err"; then
    code=$(status_of "$work/405")
    allow=$(grep -i '^allow:' "$work/405.headers" | tr -d '\r' || true)
    if [ "$code" != 405 ]; then
        not_ok "$name" "status $code"
    elif ! printf '%s' "$allow" | grep -q 'GET'; then
        not_ok "$name" "Allow header missing or without GET: '$allow'"
    elif problem=$(json_is "$work/405.body" error); then
        ok "$name"
    else
        not_ok "$name" "$problem"
    fi
else
    not_ok "$name" "curl failed: $(cat "$work/405.err")"
fi

# --- request id -----------------------------------------------------------------------------
name="X-Request-Id is echoed"
request_id="smoke-$$-$RANDOM"
if curl_ -H "X-Request-Id: $request_id" -D "$work/rid.headers" -o /dev/null \
    "$base/api/public/health" 2>"$work/rid.err"; then
    echoed=$(grep -i '^x-request-id:' "$work/rid.headers" | sed 's/^[^:]*: *//' | tr -d '\r' || true)
    if [ "$echoed" = "$request_id" ]; then
        ok "$name"
    else
        not_ok "$name" "sent $request_id, got '$echoed'"
    fi
else
    not_ok "$name" "curl failed: $(cat "$work/rid.err")"
fi

# --- gzip request body ----------------------------------------------------------------------
# A compressed body to a GET-only route proves the decoder path does not hurt the server: the
# answer must be the router's 405, and the server must still be healthy afterwards. (A gzip
# ingestion batch is checked with the read API below, when keys are given.)
name="gzip-encoded POST to a GET-only route is 405 and the server stays up"
printf '{"batch":[{"id":"smoke","type":"trace-create","body":{}}]}' | gzip -c >"$work/body.gz"
if curl_ -X POST -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' \
    --data-binary "@$work/body.gz" -o "$work/gz.body" -w '%{http_code}' \
    "$base/api/public/health" >"$work/gz.code" 2>"$work/gz.err"; then
    code=$(status_of "$work/gz")
    after=$(curl_ -o /dev/null -w '%{http_code}' "$base/api/public/health" 2>&1 || true)
    if [ "$code" != 405 ]; then
        not_ok "$name" "status $code: $(cat "$work/gz.body")"
    elif [ "$after" != 200 ]; then
        not_ok "$name" "health afterwards: $after"
    else
        ok "$name"
    fi
else
    not_ok "$name" "curl failed: $(cat "$work/gz.err")"
fi

# --- pipelining -----------------------------------------------------------------------------
# Two requests in one write: responses must come back in request order (RFC 9112 §9.3.2).
# Distinct request ids and statuses show which response answers which request.
expect_raw "two pipelined requests get two responses in order" \
    $'^status=200 json=other request_id=pipe-1 [^\n]*\nstatus=404 json=error request_id=pipe-2 connection=close$' \
    'GET /api/public/health HTTP/1.1\r\nHost: smoke\r\nX-Request-Id: pipe-1\r\n\r\nGET /api/public/no-such-route HTTP/1.1\r\nHost: smoke\r\nX-Request-Id: pipe-2\r\nConnection: close\r\n\r\n'

# --- half-close -----------------------------------------------------------------------------
# A client may shut its write side once the request is sent (shutdown(SHUT_WR)); the server
# must still answer before closing.
expect_raw "half-closed client still gets its response" '^status=200 json=other request_id=half-close ' \
    'GET /api/public/health HTTP/1.1\r\nHost: smoke\r\nX-Request-Id: half-close\r\n\r\n' shutdown-wr

# --- client drops mid-body ------------------------------------------------------------------
name="client that drops mid-body leaves the server healthy"
# The request promises 100000 body bytes and sends a dozen before closing.
if dropped=$(printf 'POST /api/public/health HTTP/1.1\r\nHost: smoke\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"partial":' |
    raw_http "$base" drop 2>&1); then
    after=$(curl_ -o /dev/null -w '%{http_code}' "$base/api/public/health" 2>&1 || true)
    if [ "$after" = 200 ]; then
        ok "$name"
    else
        not_ok "$name" "health afterwards: $after"
    fi
else
    not_ok "$name" "could not send: $dropped"
fi

# --- metrics --------------------------------------------------------------------------------
name="/metrics exposes parley_http_requests_total"
if curl_ -o "$work/metrics.body" -w '%{http_code}' "$base/metrics" >"$work/metrics.code" 2>"$work/metrics.err"; then
    code=$(status_of "$work/metrics")
    if [ "$code" != 200 ]; then
        not_ok "$name" "status $code"
    elif grep -q '^parley_http_requests_total' "$work/metrics.body"; then
        ok "$name"
    else
        not_ok "$name" "not found in $(wc -l <"$work/metrics.body") lines of metrics"
    fi
else
    not_ok "$name" "curl failed: $(cat "$work/metrics.err")"
fi

# --- read API and ingestion -----------------------------------------------------------------
# Every project route needs credentials: without them, 401 with a JSON message (Langfuse's
# shape, langfuse-api.md §2.3), before any body is looked at.
for route in "GET /api/public/sessions" "GET /api/public/sessions/smoke" "GET /api/public/traces" \
    "GET /api/public/observations" "GET /api/public/scores" "POST /api/public/ingestion"; do
    method=${route%% *}
    path=${route#* }
    name="$method $path without credentials is 401 with a JSON message"
    if curl_ -X "$method" -H 'Content-Type: application/json' -o "$work/noauth.body" -w '%{http_code}' \
        "$base$path" >"$work/noauth.code" 2>"$work/noauth.err"; then
        code=$(status_of "$work/noauth")
        if [ "$code" != 401 ]; then
            not_ok "$name" "status $code: $(cat "$work/noauth.body")"
        elif problem=$(json_is "$work/noauth.body" message); then
            ok "$name"
        else
            not_ok "$name" "$problem"
        fi
    else
        not_ok "$name" "curl failed: $(cat "$work/noauth.err")"
    fi
done

# authed_check NAME METHOD PATH STATUS WANT [curl args...]: one request with SMOKE_PK/SMOKE_SK,
# its status, and a json_is WANT check of the answer.
authed_check() {
    local check=$1 method=$2 path=$3 status=$4 want=$5 code problem
    shift 5
    if curl_ -u "$smoke_pk:$smoke_sk" -X "$method" "$@" -o "$work/authed.body" -w '%{http_code}' \
        "$base$path" >"$work/authed.code" 2>"$work/authed.err"; then
        code=$(status_of "$work/authed")
        if [ "$code" != "$status" ]; then
            not_ok "$check" "status $code: $(cat "$work/authed.body")"
        elif problem=$(json_is "$work/authed.body" "$want"); then
            ok "$check"
        else
            not_ok "$check" "$problem"
        fi
    else
        not_ok "$check" "curl failed: $(cat "$work/authed.err")"
    fi
}

authed_names=(
    "POST /api/public/ingestion with a trace and a generation is 207 with both accepted"
    "gzip-encoded ingestion batch is 207 with its event accepted"
    "GET /api/public/sessions is 200 with data, meta and the new session"
    "GET /api/public/sessions/{id} is 200 with both of the session's traces"
)
if [ -n "$smoke_pk" ] && [ -n "$smoke_sk" ]; then
    # Ids unique per run, so the checks also pass against a server that has seen earlier runs.
    run="smoke-$$-$RANDOM"
    now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    cat >"$work/batch.json" <<JSON
{"batch": [
 {"id": "$run-e1", "type": "trace-create", "timestamp": "$now",
  "body": {"id": "$run-trace", "name": "smoke", "sessionId": "$run-session", "userId": "smoke-user", "metadata": {"turn_number": 1}}},
 {"id": "$run-e2", "type": "generation-create", "timestamp": "$now",
  "body": {"id": "$run-gen", "traceId": "$run-trace", "name": "llm", "model": "gpt-4o-mini", "startTime": "$now", "endTime": "$now",
           "usageDetails": {"input": 10, "output": 2, "total": 12}, "costDetails": {"total": 0.00001}}}
]}
JSON
    authed_check "${authed_names[0]}" POST /api/public/ingestion 207 ingested:2 \
        -H 'Content-Type: application/json' --data-binary "@$work/batch.json"
    printf '{"batch": [{"id": "%s-e3", "type": "trace-create", "timestamp": "%s", "body": {"id": "%s-gz", "sessionId": "%s-session", "metadata": {"turn_number": 2}}}]}' \
        "$run" "$now" "$run" "$run" | gzip -c >"$work/batch.json.gz"
    authed_check "${authed_names[1]}" POST /api/public/ingestion 207 ingested:1 \
        -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' --data-binary "@$work/batch.json.gz"
    authed_check "${authed_names[2]}" GET "/api/public/sessions?limit=100" 200 "page-with:$run-session"
    authed_check "${authed_names[3]}" GET "/api/public/sessions/$run-session" 200 traces:2
else
    for name in "${authed_names[@]}"; do
        ok "$name # SKIP SMOKE_PK and SMOKE_SK not set"
    done
fi

# --- HTTPS ----------------------------------------------------------------------------------
if [ -n "$https_base" ]; then
    # --cacert and never -k: the chain and the subjectAltName must verify for real.
    name="HTTPS health verifies against the CA and is 200 with status OK"
    if curl_ --cacert "$ca_pem" -o "$work/tls.body" -w '%{http_code}' "$https_base/api/public/health" \
        >"$work/tls.code" 2>"$work/tls.err"; then
        code=$(status_of "$work/tls")
        if [ "$code" != 200 ]; then
            not_ok "$name" "status $code"
        elif problem=$(json_is "$work/tls.body" ok); then
            ok "$name"
        else
            not_ok "$name" "$problem"
        fi
    else
        not_ok "$name" "curl failed: $(cat "$work/tls.err")"
    fi

    name="HTTPS with TLS 1.3 only works"
    if code=$(curl_ --cacert "$ca_pem" --tlsv1.3 --tls-max 1.3 -o /dev/null -w '%{http_code}' \
        "$https_base/api/public/health" 2>"$work/tls13.err") && [ "$code" = 200 ]; then
        ok "$name"
    else
        not_ok "$name" "status ${code:-none}: $(cat "$work/tls13.err")"
    fi

    # Exit 35 is curl's "TLS handshake failed": anything else (refused, timeout) means the
    # check proved nothing. SECLEVEL=0 lets a client OpenSSL that would refuse TLS 1.1 on its
    # own still offer it, so the refusal comes from the server (alert protocol_version). Where
    # the client library cannot offer TLS 1.1 at all, the server was not asked: say so.
    name="HTTPS with TLS 1.1 at most is refused"
    if curl_ --cacert "$ca_pem" --tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0' \
        -o /dev/null "$https_base/api/public/health" 2>"$work/tls11.err"; then
        not_ok "$name" "TLS 1.1 handshake succeeded"
    else
        rc=$?
        if [ "$rc" -ne 35 ]; then
            not_ok "$name" "curl exit $rc, not a handshake failure: $(cat "$work/tls11.err")"
        elif grep -qi 'no protocols available' "$work/tls11.err"; then
            ok "$name # SKIP this curl cannot offer TLS 1.1, so the server was not asked"
        else
            ok "$name"
        fi
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
