#!/usr/bin/env python3
"""Generates a benchmark database through Parley's own ingestion API.

Usage: gen_dataset.py BASE_URL PUBLIC_KEY SECRET_KEY [SESSIONS] [OBSERVATIONS]

Defaults: 100,000 sessions and about 1,000,000 observations. Every turn is a trace with four
observations (agent span, generation with usage and cost, tool span, guardrail event), so the
observation target sets the number of turns; turns are spread over the sessions with a long
tail. Turns carry the session-tracking attributes analytics read (issue #7): a journey
(`checkout` or `support`, three stages spread over the session's turns, a third of the sessions
converting on their last turn), `turn.input_type`, `conversation.id`, and an end reason on the
last turn of some sessions (`completed` when converted, else `user_exit` for one in ten). Plus
three sessions of exactly 10, 100 and 1,000 turns (`bench-drill-10`,
`bench-drill-100`, `bench-drill-1000`) for drill-down measurements. Only the standard library
is used; batches of 500 events go out over keep-alive connections from several threads.
"""
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/, for parleykit
from parleykit.client import basic_auth, iso as iso_time  # noqa: E402

JOURNEYS = {"checkout": ["browse", "cart", "pay"], "support": ["identify", "diagnose", "resolve"]}
INTENTS = ["question", "clarification", "follow_up", "confirm"]


def main():
    base, pk, sk = sys.argv[1], sys.argv[2], sys.argv[3]
    sessions = int(sys.argv[4]) if len(sys.argv) > 4 else 100_000
    observations = int(sys.argv[5]) if len(sys.argv) > 5 else 1_000_000
    rng = random.Random(42)
    drill = {"bench-drill-10": 10, "bench-drill-100": 100, "bench-drill-1000": 1000}
    turns_total = max(sessions, observations // 4) - sum(drill.values())
    # Long tail: most sessions are short, a few are long; every session has at least one turn.
    weights = [rng.paretovariate(1.5) for _ in range(sessions)]
    scale = (turns_total - sessions) / sum(weights)
    plan = [(f"bench-s{i:06d}", 1 + round(w * scale)) for i, w in enumerate(weights)]
    plan += list(drill.items())
    rng.shuffle(plan)

    url = urllib.parse.urlparse(base)
    auth = basic_auth(pk, sk)
    start_ms = int(time.time() * 1000) - 30 * 86_400_000
    queue = []
    lock = threading.Lock()
    counters = {"events": 0, "batches": 0}

    def iso(ms):
        return iso_time(ms / 1000)

    def events_for(session, turns, session_index):
        t0 = start_ms + session_index * 25_000
        user = f"bench-user-{session_index % 20_000}"
        journey = "checkout" if session_index % 2 == 0 else "support"
        stages = JOURNEYS[journey]
        converts = session_index % 3 == 0
        for turn in range(1, turns + 1):
            ts = t0 + turn * 2_000
            tid, aid, gid, sid, vid = (f"{session}-{turn}-{k}" for k in "tagsv")
            tokens_in, tokens_out = 100 + turn % 400, 20 + turn % 80
            stage = min(len(stages), 1 + (turn - 1) * len(stages) // turns) if not converts else \
                1 + (turn - 1) * len(stages) // turns
            metadata = {"turn_number": turn, "channel": "web" if session_index % 3 else "mobile",
                        "conversation.id": f"{session}-c1", "turn.input_type": INTENTS[(session_index + turn) % len(INTENTS)],
                        "journey.name": journey, "journey.stage": stages[stage - 1], "journey.stage_number": stage,
                        "journey.total_stages": len(stages), "user.tier": "pro" if session_index % 5 == 0 else "free"}
            if turn == turns and converts:
                metadata["journey.converted"] = True
                metadata["session.end_reason"] = "completed"
            elif turn == turns and session_index % 10 == 1:
                metadata["session.end_reason"] = "user_exit"
            yield ("trace-create", ts, {"id": tid, "timestamp": iso(ts), "name": "chat-turn", "userId": user,
                   "sessionId": session, "input": {"role": "user", "content": f"question {turn}"},
                   "output": {"role": "assistant", "content": f"answer {turn}"},
                   "metadata": metadata, "tags": ["bench"], "environment": "production"})
            yield ("span-create", ts + 1, {"id": aid, "traceId": tid, "name": "agent-run", "startTime": iso(ts + 1),
                   "endTime": iso(ts + 900)})
            yield ("generation-create", ts + 2, {"id": gid, "traceId": tid, "parentObservationId": aid, "name": "llm-call",
                   "model": "gpt-4o-mini", "startTime": iso(ts + 2), "endTime": iso(ts + 700),
                   "usageDetails": {"input": tokens_in, "output": tokens_out},
                   "costDetails": {"input": tokens_in * 0.15e-6, "output": tokens_out * 0.6e-6}})
            yield ("span-create", ts + 3, {"id": sid, "traceId": tid, "parentObservationId": aid, "name": "tool:search",
                   "startTime": iso(ts + 710), "endTime": iso(ts + 850)})
            yield ("event-create", ts + 4, {"id": vid, "traceId": tid, "parentObservationId": aid, "name": "guardrail-check",
                   "startTime": iso(ts + 860)})

    def batches():
        batch = []
        for index, (session, turns) in enumerate(plan):
            for kind, ts, body in events_for(session, turns, index):
                batch.append({"id": body["id"] + "-e", "type": kind, "timestamp": iso(ts), "body": body})
                if len(batch) == 500:
                    yield batch
                    batch = []
        if batch:
            yield batch

    source = batches()

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        while True:
            with lock:
                batch = next(source, None)
            if batch is None:
                return
            payload = json.dumps({"batch": batch}).encode()
            for attempt in range(10):
                try:
                    conn.request("POST", "/api/public/ingestion", payload,
                                 {"Authorization": auth, "Content-Type": "application/json"})
                    response = conn.getresponse()
                    body = response.read()
                except (http.client.HTTPException, OSError):
                    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
                    continue
                if response.status == 503:
                    time.sleep(float(response.getheader("Retry-After", "1")))
                    continue
                if response.status != 207 or json.loads(body)["errors"]:
                    sys.exit(f"batch rejected: {response.status} {body[:300]!r}")
                break
            with lock:
                counters["events"] += len(batch)
                counters["batches"] += 1
                if counters["batches"] % 200 == 0:
                    print(f"{counters['events']} events", file=sys.stderr, flush=True)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    began = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"sessions": len(plan), "turns": turns_total + sum(drill.values()),
                      "events": counters["events"], "seconds": round(time.time() - began, 1)}))

if __name__ == "__main__":
    main()
