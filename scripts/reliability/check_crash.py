"""Crash safety: continuous ingestion over many connections, through Langfuse batch ingestion
and OTLP/HTTP JSON, while the server is killed with SIGKILL at random moments and restarted.
After every restart each acknowledged event must be stored exactly once and
`PRAGMA integrity_check` must say ok.

An event counts as acknowledged only when the server said so: a 207 whose `successes` name its
id (batch), or a 200 without `partialSuccess.rejectedSpans` (OTLP, for every span in the
request). Requests cut off by the kill are unacknowledged, as they are for a real exporter,
which would retry them."""
from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
import uuid

from common import AUTH, Context, Parley, Result, iso, log

NAME = "crash"
FAST = True
ORDER = 10


class Ledger:
    """Acknowledged ids, by the table that must hold them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.batch_events: set[str] = set()
        self.otlp_spans: set[str] = set()
        self.requests = 0

    def add(self, events: list[str] = (), spans: list[str] = ()) -> None:
        with self.lock:
            self.batch_events.update(events)
            self.otlp_spans.update(spans)
            self.requests += 1

    def snapshot(self) -> tuple[set[str], set[str]]:
        with self.lock:
            return set(self.batch_events), set(self.otlp_spans)


def batch_body() -> tuple[dict, list[str]]:
    """Ten events: five traces, each with a generation."""
    now = iso()
    events, ids = [], []
    for _ in range(5):
        trace_id = str(uuid.uuid4())
        trace_event, span_event = str(uuid.uuid4()), str(uuid.uuid4())
        events.append({"id": trace_event, "type": "trace-create", "timestamp": now,
                       "body": {"id": trace_id, "name": "crash", "sessionId": f"crash-{trace_id[:4]}",
                                "timestamp": now}})
        events.append({"id": span_event, "type": "generation-create", "timestamp": now,
                       "body": {"id": str(uuid.uuid4()), "traceId": trace_id, "name": "llm",
                                "startTime": now, "model": "gpt-4o"}})
        ids += [trace_event, span_event]
    return {"batch": events}, ids


def otlp_body() -> tuple[dict, list[str]]:
    """One trace of ten spans in OTLP/JSON (hex ids)."""
    trace_id = os.urandom(16).hex()
    root = os.urandom(8).hex()
    now = time.time_ns()
    spans, ids = [], []
    for index in range(10):
        span_id = root if index == 0 else os.urandom(8).hex()
        span = {"traceId": trace_id, "spanId": span_id, "name": f"step-{index}", "kind": 1,
                "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1_000_000),
                "attributes": [{"key": "session.id", "value": {"stringValue": f"otlp-{trace_id[:4]}"}}]}
        if index:
            span["parentSpanId"] = root
        spans.append(span)
        ids.append(span_id)
    body = {"resourceSpans": [{"resource": {"attributes": []},
                               "scopeSpans": [{"scope": {"name": "crash"}, "spans": spans}]}]}
    return body, ids


class Worker(threading.Thread):
    def __init__(self, server: Parley, ledger: Ledger, otlp: bool, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.server, self.ledger, self.otlp, self.stop_event = server, ledger, otlp, stop
        self.unexpected: list[str] = []

    def run(self) -> None:
        import http.client
        connection = None
        while not self.stop_event.is_set():
            try:
                if connection is None:
                    port = self.server.port
                    if port is None or not self.server.alive():
                        time.sleep(0.02)
                        continue
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                if self.otlp:
                    body, ids = otlp_body()
                    path = "/api/public/otel/v1/traces"
                else:
                    body, ids = batch_body()
                    path = "/api/public/ingestion"
                connection.request("POST", path, body=json.dumps(body).encode(),
                                   headers={"Authorization": AUTH, "Content-Type": "application/json"})
                response = connection.getresponse()
                data = response.read()
                self.record(response.status, data, ids)
            except (OSError, http.client.HTTPException):
                # Refused while the server is down, or cut off by the kill: not acknowledged.
                if connection is not None:
                    connection.close()
                connection = None
                time.sleep(0.02)

    def record(self, status: int, data: bytes, ids: list[str]) -> None:
        if status == 503:
            time.sleep(0.05)
            return
        if self.otlp:
            if status != 200:
                self.unexpected.append(f"OTLP answered {status}: {data[:200]!r}")
                return
            answer = json.loads(data or b"{}")
            if (answer.get("partialSuccess") or {}).get("rejectedSpans"):
                self.unexpected.append(f"OTLP rejected spans: {data[:200]!r}")
                return
            self.ledger.add(spans=ids)
        else:
            if status != 207:
                self.unexpected.append(f"ingestion answered {status}: {data[:200]!r}")
                return
            answer = json.loads(data)
            acked = [item["id"] for item in answer.get("successes", [])]
            if answer.get("errors"):
                self.unexpected.append(f"ingestion errors: {answer['errors'][:2]}")
            self.ledger.add(events=acked)


def verify(db_path: str, ledger: Ledger) -> tuple[int, int, str]:
    """(missing, duplicated, integrity) for everything acknowledged so far."""
    events, spans = ledger.snapshot()
    connection = sqlite3.connect(db_path, timeout=30)
    try:
        connection.execute("PRAGMA busy_timeout=30000")
        stored_events: dict[str, int] = {}
        for event_id, count in connection.execute("SELECT event_id, count(*) FROM events GROUP BY event_id"):
            stored_events[event_id] = count
        stored_spans: dict[str, int] = {}
        for span_id, count in connection.execute(
                "SELECT observation_id, count(*) FROM observations GROUP BY project_id, observation_id"):
            stored_spans[span_id] = stored_spans.get(span_id, 0) + count
        missing = sum(1 for event in events if event not in stored_events)
        missing += sum(1 for span in spans if span not in stored_spans)
        duplicated = sum(1 for event in events if stored_events.get(event, 0) > 1)
        duplicated += sum(1 for span in spans if stored_spans.get(span, 0) > 1)
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        return missing, duplicated, integrity
    finally:
        connection.close()


def run_mode(context: Context, durability: str, kills: int, workers: int) -> Result:
    with context.serve(f"crash-{durability}", ["--durability", durability, "--log-level", "warning"]) as server:
        return trials(server, durability, kills, workers)


def trials(server: Parley, durability: str, kills: int, workers: int) -> Result:
    db = server.db
    ledger = Ledger()
    stop = threading.Event()
    threads = [Worker(server, ledger, otlp=index % 2 == 1, stop=stop) for index in range(workers)]
    for thread in threads:
        thread.start()
    rng = random.Random(int(os.environ.get("PARLEY_RELIABILITY_SEED", "0")) or None)
    failures: list[str] = []
    integrity_ok = 0
    lost = duplicates = 0
    try:
        for trial in range(kills):
            time.sleep(rng.uniform(0.3, 1.5))
            server.kill()
            server.start()
            missing, duplicated, integrity = verify(str(db), ledger)
            if integrity == "ok":
                integrity_ok += 1
            lost, duplicates = max(lost, missing), max(duplicates, duplicated)
            if missing or duplicated or integrity != "ok":
                failures.append(f"kill {trial + 1}: {missing} missing, {duplicated} duplicated, integrity {integrity!r}")
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        missing, duplicated, integrity = verify(str(db), ledger)
        lost, duplicates = max(lost, missing), max(duplicates, duplicated)
        if missing or duplicated or integrity != "ok":
            failures.append(f"final: {missing} missing, {duplicated} duplicated, integrity {integrity!r}")
        # The verifier must be able to fail: an id that was never sent has to be reported missing.
        control = Ledger()
        control.add(events=[str(uuid.uuid4())])
        if verify(str(db), control)[0] != 1:
            failures.append("control: the verifier did not notice an event that was never stored")
    finally:
        stop.set()
    unexpected = [message for thread in threads for message in thread.unexpected]
    events, spans = ledger.snapshot()
    log(f"{durability}: {kills} kills, {len(events)} batch events and {len(spans)} OTLP spans acknowledged")
    figures = (f"durability {durability}: {kills} SIGKILLs under {workers} connections; "
               f"{len(events):,} batch events + {len(spans):,} OTLP spans acknowledged; "
               f"{lost} lost, {duplicates} duplicated; integrity ok after {integrity_ok}/{kills} restarts")
    passed = not failures and not unexpected and len(events) > 0 and len(spans) > 0
    details = failures + unexpected[:5]
    if not events or not spans:
        details.append("nothing was acknowledged on one of the paths: the load did not run")
    return Result(f"crash safety ({durability})", kills, passed, figures, details)


def run(context: Context) -> list[Result]:
    if context.fast:
        return [run_mode(context, "normal", kills=3, workers=4)]
    return [run_mode(context, "normal", kills=20, workers=8), run_mode(context, "full", kills=20, workers=8)]
