"""Overload: open-loop ingestion at twice the measured capacity, then at half of it.

1. Capacity: closed-loop 100-event batches over 8 keep-alive connections; accepted batches/s.
2. Overload: requests sent on a fixed schedule at 2x that rate, whatever the answers (open loop:
   a request waits for no earlier one; new connections are opened as needed). Excess must be
   answered 503 with Retry-After, never 500, and the server must stay up with bounded RSS.
3. Recovery: the same schedule at 0.5x capacity; once the queue has drained, every batch must
   be accepted again.

Pass/fail rests on the answers (status codes, Retry-After, recovery, the server alive, every
accepted event stored) and on memory; latencies are reported as figures, never asserted."""
from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
import uuid

from common import AUTH, Context, Parley, Result, log, percentile

NAME = "overload"
FAST = True
ORDER = 20

EVENTS_PER_BATCH = 100
# Memory a server under this load may hold, far above what it needs (docs/BENCHMARKS.md: under
# 40 MB under load); past it the queue is not bounded.
RSS_BOUND_MB = 512


def batch_request(port: int) -> tuple[bytes, list[str]]:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    events, ids = [], []
    for index in range(EVENTS_PER_BATCH // 2):
        trace_id = str(uuid.uuid4())
        trace_event, span_event = str(uuid.uuid4()), str(uuid.uuid4())
        events.append({"id": trace_event, "type": "trace-create", "timestamp": now,
                       "body": {"id": trace_id, "name": "overload", "sessionId": f"s-{trace_id[:6]}",
                                "input": "x" * 200, "timestamp": now}})
        events.append({"id": span_event, "type": "generation-create", "timestamp": now,
                       "body": {"id": str(uuid.uuid4()), "traceId": trace_id, "name": "llm", "startTime": now,
                                "model": "gpt-4o", "usage": {"input": 100, "output": 20}}})
        ids += [trace_event, span_event]
    body = json.dumps({"batch": events}).encode()
    head = (f"POST /api/public/ingestion HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: {AUTH}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body, ids


class Outcome:
    def __init__(self) -> None:
        self.statuses: dict[int | str, int] = {}
        self.accepted_latencies: list[float] = []
        self.missing_retry_after = 0
        self.acked: list[str] = []
        self.bad_bodies: list[str] = []
        self.answers: list[tuple[float, int | str]] = []  # (send time, status) in schedule order

    def count(self, status: int | str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def exchange(pool: list, port: int, payload: bytes) -> tuple[int, dict[str, str], bytes]:
    """One request on an idle pooled connection (or a new one); the connection goes back to
    the pool only when the answer allows keep-alive."""
    if pool:
        reader, writer = pool.pop()
    else:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("closed before an answer")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    except BaseException:
        writer.close()
        raise
    if headers.get("connection", "").lower() == "close":
        writer.close()
    else:
        pool.append((reader, writer))
    return status, headers, body


async def one(pool: list, port: int, payload: bytes, ids: list[str], outcome: Outcome, sent: float) -> None:
    started = time.monotonic()
    try:
        status, headers, body = await exchange(pool, port, payload)
    except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as error:
        outcome.count(f"connection error ({type(error).__name__})")
        outcome.answers.append((sent, "error"))
        return
    outcome.count(status)
    outcome.answers.append((sent, status))
    if status == 207:
        outcome.accepted_latencies.append((time.monotonic() - started) * 1000)
        answer = json.loads(body)
        outcome.acked += [item["id"] for item in answer.get("successes", [])]
        if answer.get("errors"):
            outcome.bad_bodies.append(f"207 with errors: {answer['errors'][:1]}")
    elif status == 503:
        if "retry-after" not in headers:
            outcome.missing_retry_after += 1
        error = json.loads(body or b"{}")
        if not error.get("message") or not error.get("error"):
            outcome.bad_bodies.append(f"503 body {body[:120]!r}")


async def closed_loop(port: int, cursor, seconds: float, connections: int) -> tuple[float, Outcome]:
    outcome = Outcome()
    deadline = time.monotonic() + seconds

    async def client() -> None:
        pool: list = []
        while time.monotonic() < deadline:
            payload, ids = next(cursor)
            await one(pool, port, payload, ids, outcome, time.monotonic())
        for _, writer in pool:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(connections)))
    return outcome.statuses.get(207, 0) / (time.monotonic() - started), outcome


async def open_loop(port: int, payloads: list, rate: float, seconds: float) -> Outcome:
    outcome = Outcome()
    pool: list = []
    tasks = []
    started = time.monotonic()
    total = int(rate * seconds)
    for index in range(total):
        due = started + index / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        payload, ids = payloads[index % len(payloads)]
        tasks.append(asyncio.create_task(one(pool, port, payload, ids, outcome, due - started)))
    await asyncio.gather(*tasks)
    for _, writer in pool:
        writer.close()
    return outcome


def sample_rss(server: Parley, stop: threading.Event, peak: list[int]) -> None:
    while not stop.is_set():
        try:
            peak[0] = max(peak[0], server.rss_kb())
        except OSError:
            return
        time.sleep(0.1)


def stored_events(db: str, ids: list[str]) -> int:
    connection = sqlite3.connect(db, timeout=30)
    try:
        connection.execute("CREATE TEMP TABLE acked (id TEXT PRIMARY KEY)")
        connection.executemany("INSERT OR IGNORE INTO acked VALUES (?)", [(i,) for i in ids])
        return connection.execute("SELECT count(*) FROM acked JOIN events ON events.event_id = acked.id").fetchone()[0]
    finally:
        connection.close()


def run(context: Context) -> list[Result]:
    capacity_s, overload_s, recovery_s = (2, 4, 4) if context.fast else (5, 10, 6)
    with context.serve("overload", ["--log-level", "error"]) as server:
        db = server.db
        idle_rss = server.rss_kb()
        # Bodies are made as the closed loop needs them (each one new: a repeated event id is
        # cheaper to apply and would overstate the capacity); the open-loop ones in advance.
        fresh = iter(lambda: batch_request(server.port), None)
        asyncio.run(closed_loop(server.port, fresh, 1, 4))  # warm-up
        capacity, measured = asyncio.run(closed_loop(server.port, fresh, capacity_s, 8))
        if capacity <= 0:
            return [Result("overload", 0, False, "capacity measurement accepted nothing", [str(measured.statuses)])]
        log(f"capacity {capacity:.0f} batches/s ({capacity * EVENTS_PER_BATCH:,.0f} events/s)")
        log("preparing the open-loop request bodies")
        overload_payloads = [batch_request(server.port) for _ in range(int(2 * capacity * overload_s) + 1)]
        recovery_payloads = [batch_request(server.port) for _ in range(int(0.5 * capacity * recovery_s) + 1)]

        stop, peak = threading.Event(), [idle_rss]
        sampler = threading.Thread(target=sample_rss, args=(server, stop, peak), daemon=True)
        sampler.start()
        overload = asyncio.run(open_loop(server.port, overload_payloads, 2 * capacity, overload_s))
        recovery = asyncio.run(open_loop(server.port, recovery_payloads, 0.5 * capacity, recovery_s))
        stop.set()
        sampler.join()
        alive = server.alive()
        acked = measured.acked + overload.acked + recovery.acked
        stored = stored_events(str(db), acked) if alive else 0

    def share(outcome: Outcome, status: int) -> float:
        total = sum(outcome.statuses.values())
        return outcome.statuses.get(status, 0) / total if total else 0

    # Recovery: after the first second (the queue left by the overload drains), all accepted.
    late = [status for sent, status in recovery.answers if sent >= 1.0]
    unexpected = {status: count for outcome in (overload, recovery) for status, count in outcome.statuses.items()
                  if status not in (207, 503)}
    p50, p99 = percentile(overload.accepted_latencies, 0.5), percentile(overload.accepted_latencies, 0.99)
    recovery_p99 = percentile(recovery.accepted_latencies, 0.99)
    details = [f"overload answers {overload.statuses}", f"recovery answers {recovery.statuses}"]
    details += overload.bad_bodies[:3] + recovery.bad_bodies[:3]
    failures = []
    if not alive:
        failures.append("the server died")
    if unexpected:
        failures.append(f"answers other than 207/503: {unexpected}")
    if overload.missing_retry_after or recovery.missing_retry_after:
        failures.append("503 without Retry-After")
    if overload.statuses.get(503, 0) == 0:
        failures.append("no request was refused at twice the capacity: the load did not overload")
    if not late or any(status != 207 for status in late):
        failures.append(f"after the load dropped, not every batch was accepted: {late.count(503)} refused")
    if stored != len(acked):
        failures.append(f"{len(acked) - stored} acknowledged events missing")
    if peak[0] / 1024 > RSS_BOUND_MB:
        failures.append(f"RSS peaked at {peak[0] / 1024:.0f} MB")
    if overload.bad_bodies or recovery.bad_bodies:
        failures.append("malformed answers")
    figures = (f"capacity {capacity * EVENTS_PER_BATCH:,.0f} events/s ({capacity:.0f} batches/s); at 2x for "
               f"{overload_s} s: {share(overload, 207):.0%} accepted, {share(overload, 503):.0%} 503 with "
               f"Retry-After, accepted p50 {p50 or 0:.0f} ms p99 {p99 or 0:.0f} ms; RSS {idle_rss / 1024:.0f} MB "
               f"idle, peak {peak[0] / 1024:.0f} MB; at 0.5x: {share(recovery, 207):.0%} accepted, p99 "
               f"{recovery_p99 or 0:.0f} ms; {stored:,} of {len(acked):,} acknowledged events stored")
    return [Result("overload (2x capacity, open loop)", sum(overload.statuses.values()) + sum(recovery.statuses.values()),
                   not failures, figures, failures + details)]
