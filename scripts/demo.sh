#!/usr/bin/env bash
# A new user's first five minutes with Parley, against a running server: create a session,
# send three chat turns the way an agent would (a trace carrying the session id, its turn
# number and journey stage, a generation with token usage and cost, a tool call), end the
# session when the user leaves (a drop-off), list sessions and drill down into the one just
# made; then a second session whose journey converts, and the drop-off, journey and
# distribution analytics over both. Prints every request and the JSON answer.
#
#   scripts/demo.sh BASE_URL PUBLIC_KEY SECRET_KEY
#   scripts/demo.sh http://127.0.0.1:3000 pk-lf-... sk-lf-...
#
# Needs curl and python3 (for the request bodies and pretty JSON). Exits non-zero if any call
# answers with an unexpected status, an ingestion event is rejected, the drill-down does not
# show the three turns in order, or the analytics do not show the drop-off and the conversion.
set -euo pipefail

if [ $# -ne 3 ]; then
    echo "usage: $0 BASE_URL PUBLIC_KEY SECRET_KEY" >&2
    exit 2
fi
base=${1%/}
public_key=$2
secret_key=$3
for tool in curl python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "demo: $tool not found on PATH" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Unique per run, so running the demo twice against one server makes two sessions.
run_id="$(date +%s)-$$-$RANDOM"
session_id="demo-session-$run_id"
converted_id="demo-converted-$run_id"
user_id="demo-user-$run_id"
journey="order-support-$run_id"

# pretty FILE: the file as indented JSON, or as it is when it is not JSON.
pretty() {
    python3 -c '
import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
try:
    print(json.dumps(json.loads(text), indent=2, ensure_ascii=False))
except ValueError:
    print(text)
' "$1"
}

# call NAME METHOD PATH EXPECTED_STATUS [BODY_FILE]: prints the request and the answer, leaves
# the answer in $work/NAME.json, and stops the demo when the status is not EXPECTED_STATUS.
call() {
    local name=$1 method=$2 path=$3 expected=$4 body=${5:-} status
    local args=(--silent --show-error --max-time 10 -u "$public_key:$secret_key" -X "$method"
        -o "$work/$name.json" -w '%{http_code}')
    echo
    echo "\$ curl -u \$PK:\$SK -X $method $base$path"
    if [ -n "$body" ]; then
        args+=(-H 'Content-Type: application/json' --data-binary "@$body")
        pretty "$body" | sed 's/^/  > /'
    fi
    if ! status=$(curl "${args[@]}" "$base$path" 2>"$work/$name.err"); then
        echo "demo: $method $path: curl failed: $(cat "$work/$name.err")" >&2
        exit 1
    fi
    echo "HTTP $status"
    pretty "$work/$name.json"
    if [ "$status" != "$expected" ]; then
        echo "demo: $method $path answered $status, expected $expected" >&2
        exit 1
    fi
}

# check NAME PYTHON_EXPRESSION MESSAGE: evaluates the expression with `doc` bound to the
# answer NAME; stops the demo with MESSAGE when it is false.
check() {
    if ! python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)
' "$work/$1.json" "$2"; then
        echo "demo: $3" >&2
        exit 1
    fi
}

echo "== 1. Create a session"
cat >"$work/session.body" <<EOF
{"id": "$session_id", "userId": "$user_id", "type": "chat", "channel": "web",
 "clientVersion": "demo-1.0", "locale": "en-GB", "userTier": "pro", "metadata": {"source": "scripts/demo.sh"}}
EOF
call session POST /api/public/sessions 201 "$work/session.body"
check session "doc.get('id') == '$session_id'" "the session id did not come back"

# send_turn NAME SESSION TURN QUESTION INTENT STAGE STAGE_NUMBER CONVERTED: one turn as an agent
# sends it (a trace with session-tracking metadata, a generation with usage and cost, a tool call).
send_turn() {
    python3 - "$2" "$user_id" "$3" "$4" "$5" "$journey" "$6" "$7" "$8" >"$work/$1.body" <<'EOF'
import json, sys, uuid
from datetime import datetime, timedelta, timezone

session_id, user_id, turn, question, intent, journey, stage, stage_number, converted = sys.argv[1:10]
turn, stage_number = int(turn), int(stage_number)
start = datetime.now(timezone.utc)
def at(ms):
    return (start + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
trace_id, generation_id, tool_id = (str(uuid.uuid4()) for _ in range(3))
input_tokens, output_tokens = 120 * turn, 30 + 5 * turn
input_cost, output_cost = input_tokens * 1.5e-07, output_tokens * 6e-07
def event(kind, body, ms):
    return {"id": str(uuid.uuid4()), "type": kind, "timestamp": at(ms), "body": body}
metadata = {"turn_number": turn, "channel": "web", "turn.input_type": intent, "journey.name": journey,
            "journey.stage": stage, "journey.stage_number": stage_number, "journey.total_stages": 3}
if converted == "yes":
    metadata["journey.converted"] = True
batch = [
    event("trace-create", {
        "id": trace_id, "name": "support-turn", "timestamp": at(0), "sessionId": session_id, "userId": user_id,
        "input": {"role": "user", "content": question}, "tags": ["demo"], "metadata": metadata}, 0),
    event("generation-create", {
        "id": generation_id, "traceId": trace_id, "name": "llm-call", "model": "gpt-4o-mini",
        "startTime": at(5), "endTime": at(400 + 50 * turn),
        "input": [{"role": "user", "content": question}],
        "output": {"role": "assistant", "content": "Let me look that up."},
        "usageDetails": {"input": input_tokens, "output": output_tokens, "total": input_tokens + output_tokens},
        "costDetails": {"input": input_cost, "output": output_cost, "total": input_cost + output_cost}}, 5),
    event("span-create", {
        "id": tool_id, "traceId": trace_id, "name": "tool:lookup_order",
        "startTime": at(420 + 50 * turn), "endTime": at(480 + 50 * turn),
        "input": {"order": 1042}, "output": {"status": "shipped"}}, 420),
]
print(json.dumps({"batch": batch}, indent=1))
EOF
    call "$1" POST /api/public/ingestion 207 "$work/$1.body"
    check "$1" "doc.get('errors') == [] and len(doc.get('successes', [])) == 3" "$1: not every event was accepted"
}

echo
echo "== 2. Three turns: a trace with its turn number and journey stage, a generation (usage + cost), a tool call"
send_turn turn-1 "$session_id" 1 "Where is my order 1042?" order_status identify 1 no
send_turn turn-2 "$session_id" 2 "Can you change the delivery address?" change_address resolve 2 no
send_turn turn-3 "$session_id" 3 "Hm, which address do you have on file?" clarification resolve 2 no

echo
echo "== 3. End the session"
echo '{"reason": "user_exit"}' >"$work/end.body"
call end POST "/api/public/sessions/$session_id/end" 200 "$work/end.body"
check end "doc.get('status') == 'ended' and doc.get('endReason') == 'user_exit'" "the session is not ended"
# The user left mid-journey without converting: a drop-off, with where it happened.
check end "doc['dropoff']['isDropoff'] and doc['dropoff']['lastTurnNumber'] == 3 and doc['dropoff']['lastIntent'] == 'clarification'" \
    "the session is not labelled a drop-off after turn 3"

echo
echo "== 4. List this user's sessions"
call list GET "/api/public/sessions?userId=$user_id&orderBy=createdAt.desc" 200
check list "[s['id'] for s in doc['data']] == ['$session_id'] and doc['meta']['totalItems'] == 1" \
    "the session list does not show the session"

echo
echo "== 5. Drill down: the session, its turns in order, each with its observations"
call detail GET "/api/public/sessions/$session_id" 200
check detail "len(doc.get('traces', [])) == 3" "the drill-down does not show 3 traces"
check detail "[t.get('turnNumber') for t in doc['traces']] == [1, 2, 3]" "the turns are not in order"
check detail "doc.get('turnCount') == 3 and doc.get('generationCount') == 3 and doc.get('toolCallCount') == 3" \
    "the session aggregates do not count 3 turns, generations and tool calls"

python3 - "$work/detail.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
print()
print("session %s (%s, %s): %d turns, %d tokens (%d in, %d out), cost $%.6f, %d ms, mean turn latency %s ms"
      % (s["id"], s["status"], s["endReason"], s["turnCount"], s["totalTokens"], s["inputTokens"],
         s["outputTokens"], s["totalCost"], s["durationMs"], s["meanTurnLatencyMs"]))
for t in s["traces"]:
    print("  turn %s: %s  %d observations, %d tokens, $%.6f, %.3f s"
          % (t["turnNumber"], t["input"]["content"], t["observationCount"], t["totalTokens"], t["totalCost"], t["latency"]))
EOF

echo
echo "== 6. A second session whose journey converts (its last turn sends journey.converted)"
send_turn conv-1 "$converted_id" 1 "Where is my order 1043?" order_status identify 1 no
send_turn conv-2 "$converted_id" 2 "Please send it to the office instead." change_address resolve 2 no
send_turn conv-3 "$converted_id" 3 "Yes, confirm the new address." confirm confirm 3 yes
echo '{"reason": "completed"}' >"$work/end2.body"
call end2 POST "/api/public/sessions/$converted_id/end" 200 "$work/end2.body"
check end2 "doc['journey']['converted'] and doc['journey']['conversionTurn'] == 3 and not doc['dropoff']['isDropoff']" \
    "the second session's journey did not convert"

echo
echo "== 7. Analytics: where users drop off, the journey's funnel, session distributions"
call dropoff GET "/api/public/analytics/dropoff?groupBy=lastIntent&journey=$journey" 200
check dropoff "doc['endedSessions'] == 2 and doc['dropoffs'] == 1 and doc['data'][0]['key'] == 'clarification' and doc['data'][0]['exampleSessionIds'] == ['$session_id']" \
    "the drop-off report does not show the drop-off after the clarification"
call funnel GET "/api/public/analytics/journeys/$journey" 200
check funnel "[s['sessionsReached'] for s in doc['stages']] == [2, 2, 1] and doc['conversionRate'] == 0.5" \
    "the journey funnel is not identify 2, resolve 2, confirm 1"
call distributions GET "/api/public/analytics/sessions?journey=$journey" 200
check distributions "doc['count'] == 2 and doc['turns']['p50'] == 3" "the distributions do not cover the two sessions"

echo
echo "demo: ok"
