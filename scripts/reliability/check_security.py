"""Security: project isolation, secrets at rest, prompts kept out of the log, and the TLS policy.

* isolation: two projects ingest the same trace, session, observation, score, event and user
  ids (and the same OTLP trace and span ids) with different content; project A's keys then
  call every route of openapi.yaml, reads and writes, B's ids included. Every answer must hold
  only A's data, and every row of project B in the database must be byte-for-byte what it was.
* secrets: the database file (and its WAL) never holds a secret key in clear, and the stored
  hash is salted (that the comparison is CRYPTO_memcmp is read from the source by
  Tests/APITests/SecretKeyTests.swift).
* logs: at log level trace, planted prompt and output strings sent through batch ingestion,
  OTLP (JSON and protobuf), refused events (400), bad credentials (401) and reads never reach
  the log.
* TLS: nothing below TLS 1.2, no weak cipher (sslscan when installed, and openssl s_client
  probes); a mismatched key, an expired certificate or an unreadable file stops the start
  with a clear message and a non-zero exit; SIGHUP to a bad pair is refused and logged while
  the old certificate keeps serving.

Every oracle has a negative control, so the check can fail: B's own keys do see B's marker,
the log grep finds a string planted where it must be found, a probe for TLS 1.2 succeeds."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import time
import uuid
from pathlib import Path

from common import AUTH, PUBLIC_KEY, SECRET_KEY, Context, Parley, Result, basic_auth, guarded, iso, log
from parleykit import otlp
from parleykit.client import create_key

NAME = "security"
FAST = True
ORDER = 50

REPO = Path(__file__).resolve().parents[2]


# --- isolation --------------------------------------------------------------------------------

class Tenant:
    """One project as its key holder sees it."""

    def __init__(self, server: Parley, name: str, auth: str, mark: str) -> None:
        self.server, self.name, self.auth, self.mark = server, name, auth, mark
        self.public_id = ""
        self.row_id = 0
        self.hashed_users: dict[str, str] = {}
        self.model_id = ""

    def call(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict[str, str], bytes]:
        return self.server.request(method, path, body, headers=headers, auth=self.auth)

    def json(self, method: str, path: str, body=None) -> dict:
        status, _, data = self.call(method, path, body)
        if status >= 300:
            raise AssertionError(f"{self.name}: {method} {path} answered {status}: {data[:300]!r}")
        return json.loads(data) if data else {}


SHARED_OTLP_TRACE = "0af7651916cd43dd8448eb211c80319c"
SHARED_OTLP_SPAN = "b7ad6b7169203331"


def seed(tenant: Tenant, only: str) -> None:
    """The same ids in both projects, with the tenant's marker in every free-text field.
    `only` is an id that exists in this project alone (trace, session, score, observation,
    journey, user)."""
    mark = tenant.mark
    t0 = time.time() - 600
    events = []

    def event(event_id: str, kind: str, body: dict, at: float) -> None:
        events.append({"id": event_id, "type": kind, "timestamp": iso(at), "body": body})

    traces = [  # trace id, session id, user id, turn
        ("iso-trace-1", "iso-session-1", "iso-user-1", 1),
        ("iso-trace-2", "iso-session-1", "iso-user-1", 2),
        ("iso-trace-3", "iso-session-2", "iso-user-2", 1),   # A erases iso-user-2
        ("iso-trace-4", "iso-session-3", "iso-user-1", 1),   # A deletes iso-session-3
        ("iso-trace-5", "iso-session-4", "iso-user-1", 1),   # A deletes this trace by id
        ("iso-trace-6", "iso-session-4", "iso-user-1", 2),   # A deletes this one in a batch
        ("iso-trace-7", "iso-session-5", "plain-user-1", 1),  # sent while user ids are not hashed
        (f"{only}-trace", f"{only}-session", f"{only}-user", 1),
    ]
    for index, (trace_id, session_id, user_id, turn) in enumerate(traces):
        if user_id == "plain-user-1":
            continue
        at = t0 + index * 10
        event(f"iso-event-trace-{index}", "trace-create", {
            "id": trace_id, "name": f"name {mark}", "sessionId": session_id, "userId": user_id,
            "timestamp": iso(at), "input": {"content": f"prompt {mark}"},
            "output": f"answer {mark}", "release": f"release-{mark}", "version": f"version-{mark}",
            "tags": ["iso-tag", f"tag-{mark}"],
            "metadata": {"turn_number": turn, "journey.name": "iso-journey" if trace_id != f"{only}-trace" else f"{only}-journey",
                         "journey.stage": f"stage-{mark}", "user.tier": f"tier-{mark}",
                         "session.channel": f"channel-{mark}", "intent": f"intent-{mark}",
                         "dropoff.last_intent": f"intent-{mark}", "note": f"metadata {mark}"},
        }, at)
        generation_id = f"iso-obs-{index}" if trace_id != f"{only}-trace" else f"{only}-observation"
        event(f"iso-event-gen-{index}", "generation-create", {
            "id": generation_id,
            "traceId": trace_id, "name": f"llm {mark}", "startTime": iso(at),
            "endTime": iso(at + 1), "model": "gpt-4o",
            "input": [{"role": "user", "content": f"prompt {mark}"}], "output": f"completion {mark}",
            "usage": {"input": 10, "output": 5, "unit": "TOKENS"}, "metadata": {"note": f"observation {mark}"},
        }, at)
        event(f"iso-event-span-{index}", "span-create", {
            "id": f"iso-span-{index}", "traceId": trace_id, "parentObservationId": generation_id,
            "name": f"tool {mark}", "startTime": iso(at), "input": {"query": f"tool input {mark}"},
        }, at)
    for index, (score_id, target) in enumerate([
            ("iso-score-1", {"traceId": "iso-trace-1", "observationId": "iso-obs-0"}),
            ("iso-score-2", {"sessionId": "iso-session-1"}),
            ("iso-score-3", {"traceId": "iso-trace-2"}),      # A deletes this score
            (f"{only}-score", {"traceId": f"{only}-trace"})]):
        event(f"iso-event-score-{index}", "score-create", {
            "id": score_id, "name": "iso-score", "value": 0.25 if tenant.name == "A" else 0.75,
            "comment": f"comment {mark}", "dataType": "NUMERIC", **target}, t0 + 100)
    # One refused event per project (a timestamp that is not one) for the quality report.
    events.append({"id": f"iso-bad-event-{tenant.name}", "type": "trace-create", "timestamp": "not a time",
                   "body": {"id": "iso-bad-trace"}})
    answer = tenant.json("POST", "/api/public/ingestion", {"batch": events})
    if len(answer.get("successes", [])) != len(events) - 1:
        raise AssertionError(f"{tenant.name}: seed batch not fully accepted: {answer.get('errors')}")
    # The session's own fields, through POST /sessions.
    tenant.json("POST", "/api/public/sessions", {
        "id": "iso-session-1", "channel": f"channel-{mark}", "userTier": f"tier-{mark}", "locale": "en-GB",
        "metadata": {"note": f"session {mark}"}})
    # The same OTLP trace and span ids in both projects.
    now = time.time_ns()
    otlp = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": f"service-{mark}"}}]},
        "scopeSpans": [{"scope": {"name": "iso"}, "spans": [{
            "traceId": SHARED_OTLP_TRACE, "spanId": SHARED_OTLP_SPAN, "name": f"otlp {mark}", "kind": 1,
            "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1_000_000),
            "attributes": [{"key": "session.id", "value": {"stringValue": "iso-session-otlp"}},
                           {"key": "user.id", "value": {"stringValue": "iso-user-1"}},
                           {"key": "gen_ai.prompt", "value": {"stringValue": f"otlp prompt {mark}"}},
                           {"key": "langfuse.observation.input", "value": {"stringValue": f"otlp input {mark}"}}]}]}]}]}
    status, _, data = tenant.call("POST", "/api/public/otel/v1/traces", otlp)
    if status != 200 or b"rejected" in data:
        raise AssertionError(f"{tenant.name}: OTLP seed answered {status}: {data[:200]!r}")
    # A model price of the project's own, matching the same model name in both projects.
    tenant.model_id = tenant.json("POST", "/api/public/models", {
        "modelName": f"model {mark}", "matchPattern": "(?i)^iso-model$", "inputPrice": 1e-6, "outputPrice": 2e-6})["id"]
    # A user id stored in clear in both projects: same stored id, not only the same raw one.
    tenant.json("PATCH", f"/api/public/projects/{tenant.public_id}/settings", {"hashUserIds": False})
    at = t0 + 200
    tenant.json("POST", "/api/public/ingestion", {"batch": [{
        "id": "iso-event-plain", "type": "trace-create", "timestamp": iso(at),
        "body": {"id": "iso-trace-7", "name": f"name {mark}", "sessionId": "iso-session-5", "userId": "plain-user-1",
                 "timestamp": iso(at), "input": f"prompt {mark}"}}]})
    # B stays in clear from here on; A hashes again, and turns hashing off itself later.
    if tenant.name == "A":
        tenant.json("PATCH", f"/api/public/projects/{tenant.public_id}/settings", {"hashUserIds": None})


def project_rows(db: Path, row_id: int) -> dict[str, list]:
    """Every row of one project, table by table: the tables with a project_id column, its
    key rows and its projects row. Compared before and after to prove nothing changed."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        connection.execute("PRAGMA busy_timeout=30000")
        tables = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        rows: dict[str, list] = {}
        for table in tables:
            columns = [column[1] for column in connection.execute(f"PRAGMA table_info({table})")]
            if table == "projects":
                rows[table] = connection.execute("SELECT * FROM projects WHERE id = ?", (row_id,)).fetchall()
            elif "project_id" in columns:
                rows[table] = connection.execute(
                    f"SELECT * FROM {table} WHERE project_id = ? ORDER BY 1", (row_id,)).fetchall()
        return rows
    finally:
        connection.close()


def differences(before: dict[str, list], after: dict[str, list]) -> list[str]:
    changed = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, []), after.get(table, [])
        if old != new:
            gone = len(set(old) - set(new))
            added = len(set(new) - set(old))
            changed.append(f"{table}: {len(old)} -> {len(new)} rows ({gone} changed or gone, {added} new or changed)")
    return changed


def check_isolation(context: Context) -> Result:
    run_id = uuid.uuid4().hex[:8]
    with context.serve("security-isolation", ["--log-level", "warning"],
                       env={"PARLEY_INIT_PROJECT_NAME": f"alpha-{run_id}"}) as server:
        db = server.db
        failures: list[str] = []
        calls = 0
        a = Tenant(server, "A", AUTH, f"ALPHA-{run_id}")
        b_public, b_secret = create_key(context.binary, db, f"beta-{run_id}-BETA-{run_id}")
        b = Tenant(server, "B", basic_auth(b_public, b_secret), f"BETA-{run_id}")
        for tenant in (a, b):
            projects = tenant.json("GET", "/api/public/projects")["data"]
            tenant.public_id = projects[0]["id"]
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        for tenant in (a, b):
            tenant.row_id = connection.execute("SELECT id FROM projects WHERE public_id = ?",
                                               (tenant.public_id,)).fetchone()[0]
        connection.close()
        seed(a, "alpha-only")
        seed(b, "beta-only")
        for tenant in (a, b):
            # The stored form of each user id, as each project shows it.
            for user, trace in (("iso-user-1", "iso-trace-1"), ("iso-user-2", "iso-trace-3")):
                tenant.hashed_users[user] = tenant.json("GET", f"/api/public/traces/{trace}")["userId"]
        if a.hashed_users["iso-user-1"] == b.hashed_users["iso-user-1"]:
            failures.append("the same raw user id hashes to the same stored id in both projects")
        # B starts a deletion, so that A can try to read B's job.
        b_job = b.json("DELETE", "/api/public/sessions/beta-only-session")["id"]
        time.sleep(0.2)
        # B's reads come first: a read settles its project's dirty sessions (docs/ARCHITECTURE.md),
        # bookkeeping that would otherwise show as a change of B's rows made while A was calling.
        b_view = B_VIEW + [f"/api/public/users/{b.hashed_users['iso-user-2']}", "/api/public/users/plain-user-1"]
        b_view_before = {path: b.call("GET", path)[2] for path in b_view}
        b_before = project_rows(db, b.row_id)
        a_before = project_rows(db, a.row_id)

        forbidden = [b.mark.encode(), b.public_id.encode(), b_job.encode(), b"beta-only", b"iso-bad-event-B",
                     *(hashed.encode() for hashed in b.hashed_users.values())]

        covered: set[tuple[str, str]] = set()

        def probe(method: str, path: str, expect: int | tuple[int, ...], body=None, needs_a: bool = False) -> None:
            nonlocal calls
            calls += 1
            covered.add((method, path.split("?", 1)[0]))
            status, headers, data = a.call(method, path, body)
            expected = expect if isinstance(expect, tuple) else (expect,)
            if status not in expected:
                failures.append(f"{method} {path}: {status}, expected {expected}: {data[:160]!r}")
            # An id A itself sent may be echoed back ("trace X not found"); anything else of B's may not.
            sent = (path + json.dumps(body)).encode()
            leaked = [item.decode() for item in forbidden if item in data and item not in sent]
            if leaked:
                failures.append(f"{method} {path}: B's data in A's answer ({', '.join(leaked)[:120]})")
            if needs_a and a.mark.encode() not in data:
                failures.append(f"{method} {path}: A's own data missing: {data[:160]!r}")

        u1a, u1b = a.hashed_users["iso-user-1"], b.hashed_users["iso-user-1"]
        # Reads: every GET of openapi.yaml, on the shared ids, B-only ids and B's hashed ids.
        for path, expect, needs_a in [
            ("/api/public/projects", 200, False),
            (f"/api/public/projects/{a.public_id}/settings", 200, False),
            (f"/api/public/projects/{b.public_id}/settings", 404, False),
            ("/api/public/sessions", 200, True),
            ("/api/public/sessions?userId=iso-user-1", 200, True),
            (f"/api/public/sessions?userId={u1b}", 200, False),
            ("/api/public/sessions?channel=channel-" + b.mark, 200, False),
            ("/api/public/sessions/iso-session-1", 200, True),
            ("/api/public/sessions/iso-session-otlp", 200, True),
            ("/api/public/sessions/beta-only-session", 404, False),
            ("/api/public/traces", 200, True),
            ("/api/public/traces?sessionId=iso-session-1", 200, True),
            ("/api/public/traces?userId=iso-user-1", 200, True),
            (f"/api/public/traces?userId={u1b}", 200, False),
            ("/api/public/traces/iso-trace-1", 200, True),
            (f"/api/public/traces/{SHARED_OTLP_TRACE}", 200, True),
            ("/api/public/traces/beta-only-trace", 404, False),
            ("/api/public/observations", 200, True),
            ("/api/public/observations?traceId=iso-trace-1", 200, True),
            ("/api/public/observations/iso-obs-0", 200, True),
            (f"/api/public/observations/{SHARED_OTLP_SPAN}", 200, True),
            ("/api/public/observations/beta-only-observation", 404, False),
            ("/api/public/v2/observations?fields=core,basic,io,metadata,trace_context&limit=1000", 200, True),
            ("/api/public/v2/observations?traceId=iso-trace-1&fields=core,io", 200, True),
            ("/api/public/scores", 200, False),
            ("/api/public/scores?sessionId=iso-session-1", 200, False),
            ("/api/public/scores/iso-score-1", 200, True),
            ("/api/public/scores/beta-only-score", 404, False),
            ("/api/public/v2/scores", 200, True),
            ("/api/public/v2/scores/iso-score-2", 200, True),
            ("/api/public/v2/scores/beta-only-score", 404, False),
            ("/api/public/v3/scores?fields=details,subject,annotation", 200, True),
            ("/api/public/metrics/daily", 200, False),
            ("/api/public/users", 200, False),
            ("/api/public/users/iso-user-1", 200, False),
            (f"/api/public/users/{u1b}", 404, False),
            ("/api/public/users/beta-only-user", 404, False),
            ("/api/public/analytics/dropoff", 200, False),
            ("/api/public/analytics/dropoff?groupBy=lastIntent", 200, False),
            ("/api/public/analytics/dropoff?groupBy=userTier", 200, False),
            ("/api/public/analytics/sessions", 200, False),
            ("/api/public/analytics/journeys", 200, False),
            ("/api/public/analytics/journeys/iso-journey", 200, True),
            ("/api/public/analytics/journeys/beta-only-journey", 404, False),
            ("/api/public/quality?samples=50", 200, False),
            ("/api/public/export/sessions", 200, True),
            ("/api/public/export/sessions?format=csv", 200, True),
            ("/api/public/export/traces", 200, True),
            ("/api/public/export/traces?format=csv", 200, True),
            (f"/api/public/deletions/{b_job}", 404, False),
            ("/api/public/models", 200, True),
            (f"/api/public/models/{a.model_id}", 200, True),
            (f"/api/public/models/{b.model_id}", 404, False),
        ]:
            probe("GET", path, expect, needs_a=needs_a)

        for path, expect, needs_a in [
            ("/api/public/sessions/iso-session-1/turns", 200, True),
            ("/api/public/sessions/iso-session-1?fields=summary", 200, False),
            ("/api/public/sessions/beta-only-session/turns", 404, False),
        ]:
            probe("GET", path, expect, needs_a=needs_a)
        calls += console_probes(server, a, forbidden, covered, failures)

        # Writes with A's keys on the colliding ids and on B's ids.
        probe("PATCH", f"/api/public/projects/{b.public_id}/settings", 404, {"retentionDays": 1, "ioPolicy": "metadata-only"})
        probe("PATCH", f"/api/public/projects/{a.public_id}/settings", 200, {"retentionDays": 365})
        probe("POST", "/api/public/sessions", 201, {"id": "iso-session-1", "channel": "changed-by-A", "userTier": "changed"})
        probe("POST", "/api/public/sessions/iso-session-1/end", 200, {"reason": "user_exit"}, needs_a=True)
        probe("POST", "/api/public/sessions/beta-only-session/end", 404, {})
        probe("POST", "/api/public/traces", 200, {"id": "iso-trace-1", "name": "renamed-by-A", "sessionId": "iso-session-1"})
        probe("POST", "/api/public/scores", 200, {"id": "iso-score-1", "traceId": "iso-trace-1", "name": "iso-score", "value": 0.5})
        probe("POST", "/api/public/ingestion", 207, {"batch": [
            {"id": "iso-event-trace-1", "type": "trace-create", "timestamp": iso(),
             "body": {"id": "iso-trace-2", "name": "re-sent-by-A"}},
            {"id": "iso-event-a-update", "type": "generation-update", "timestamp": iso(),
             "body": {"id": "iso-obs-0", "traceId": "iso-trace-1", "output": "updated-by-A"}}]})
        probe("DELETE", "/api/public/scores/iso-score-3", 204)
        probe("DELETE", "/api/public/scores/beta-only-score", 404)
        probe("DELETE", "/api/public/traces/iso-trace-5", 200)
        probe("DELETE", "/api/public/traces/beta-only-trace", 200)  # unknown ids are not an error (Langfuse)
        probe("DELETE", "/api/public/traces", 200, {"traceIds": ["iso-trace-6", "beta-only-trace"]})
        probe("DELETE", "/api/public/sessions/iso-session-3", 200)
        probe("DELETE", "/api/public/sessions/beta-only-session", 404)
        probe("DELETE", "/api/public/users/iso-user-2", 200)
        probe("DELETE", f"/api/public/users/{u1b}", 404)
        probe("DELETE", f"/api/public/users/{b.hashed_users['iso-user-2']}", 404)
        probe("DELETE", "/api/public/users/beta-only-user", 404)
        probe("POST", "/api/public/models", 200, {"modelName": f"second model {a.mark}", "matchPattern": "(?i)^iso-model$",
                                                  "totalPrice": 1e-6}, needs_a=True)
        probe("DELETE", f"/api/public/models/{b.model_id}", 404)
        probe("DELETE", f"/api/public/models/{a.model_id}", 204)
        # Metrics and logs are answered (partialSuccess), never stored in either project.
        for path in ("/api/public/otel/v1/metrics", "/v1/metrics"):
            probe("POST", path, 200, {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "m", "sum": {"dataPoints": [{}]}}]}]}]})
        for path in ("/api/public/otel/v1/logs", "/v1/logs"):
            probe("POST", path, 200, {"resourceLogs": [{"scopeLogs": [{"logRecords": [{}]}]}]})
        # With A's hashing off too, the stored user ids collide exactly: plain-user-1 in both.
        probe("PATCH", f"/api/public/projects/{a.public_id}/settings", 200, {"hashUserIds": False})
        for path, expect, needs_a in [
            ("/api/public/traces?userId=plain-user-1", 200, True),
            ("/api/public/sessions?userId=plain-user-1", 200, False),
            ("/api/public/users/plain-user-1", 200, False),
            ("/api/public/users?orderBy=userId.asc", 200, False),
            ("/api/public/export/traces?userId=plain-user-1", 200, True),
            ("/api/public/analytics/sessions?userId=plain-user-1", 200, False),
        ]:
            probe("GET", path, expect, needs_a=needs_a)
        probe("DELETE", "/api/public/users/plain-user-1", 200)
        probe("GET", "/api/public/users/plain-user-1", 404)
        probe("PATCH", f"/api/public/projects/{a.public_id}/settings", 200, {"hashUserIds": None})
        # OTLP at both paths, on the span id both projects share: A's span changes, B's does not.
        now = time.time_ns()
        for path in ("/api/public/otel/v1/traces", "/v1/traces"):
            probe("POST", path, 200, {"resourceSpans": [{"scopeSpans": [{"spans": [{
                "traceId": SHARED_OTLP_TRACE, "spanId": SHARED_OTLP_SPAN, "name": "otlp re-sent by A",
                "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000)}]}]}]})
        # Score writes with A's public key alone (Bearer) land in A.
        status, _, _ = server.request("POST", "/api/public/scores",
                                      {"id": "iso-score-2", "sessionId": "iso-session-1", "name": "iso-score", "value": 1},
                                      auth="Bearer " + PUBLIC_KEY)
        calls += 1
        if status != 200:
            failures.append(f"Bearer score write answered {status}")
        # A's own deletions and erasure finish (B's rows are compared below, A's must change).
        deadline = time.time() + 20
        while time.time() < deadline:
            status, _, data = a.call("GET", "/api/public/users/iso-user-2")
            if status == 404:
                break
            time.sleep(0.2)

        b_after = project_rows(db, b.row_id)
        a_after = project_rows(db, a.row_id)
        changed = differences(b_before, b_after)
        if changed:
            failures.append("B's rows changed: " + "; ".join(changed))
        b_view_after = {path: b.call("GET", path)[2] for path in b_view}
        for path in b_view:
            if strip_volatile(b_view_before[path]) != strip_volatile(b_view_after[path]):
                failures.append(f"B's view of {path} changed")
            if "/users/" not in path and b.mark.encode() not in b_view_after[path]:
                # Negative control: the marker oracle finds B's data where it must be.
                failures.append(f"control: B's own read of {path} does not show B's marker")
        a_changed = differences(a_before, a_after)
        for table in ("traces", "scores", "sessions", "users", "projects"):
            if not any(line.startswith(table + ":") for line in a_changed):
                failures.append(f"control: A's writes did not change A's {table} rows")
        missed = uncovered_operations(covered)
        if missed:
            failures.append("operations of openapi.yaml not tried with A's keys: " + ", ".join(missed))
        b_rows = sum(len(rows) for rows in b_after.values())
        figures = (f"{calls} calls with A's keys over every authenticated operation of openapi.yaml, on colliding trace/session/observation/score/"
                   f"event/user/OTLP ids and B's own ids; B's {b_rows} rows unchanged: {not changed}; "
                   f"A's tables changed: {len(a_changed)}")
        return Result("isolation (projects A/B)", calls, not failures, figures, failures[:12])


# Routes with no project data: no key, nothing to isolate.
# The console's page and files hold no data (everything they show comes from the read API).
UNAUTHENTICATED = {"health", "ready", "metrics", "consolePage", "consoleProjectPage", "consoleViewPage",
                   "consoleSessionPage", "consoleTracePage", "consoleUserPage", "consoleFile"}


def console_probes(server: Parley, a: "Tenant", forbidden: list[bytes], covered: set[tuple[str, str]],
                   failures: list[str]) -> int:
    """A's console sign-in (docs/CONSOLE.md): its cookie reads A's project only, B's colliding
    and B-only ids included, its live events name A's sessions only, it cannot write, and
    sign-out ends it. Returns the number of requests made."""
    import http.client
    calls = 0

    def send(method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
             read_all: bool = True) -> tuple[int, dict[str, str], bytes]:
        nonlocal calls
        calls += 1
        covered.add((method, path.split("?", 1)[0]))
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            all_headers = {"Host": f"127.0.0.1:{server.port}", **(headers or {})}
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read() if read_all else response.read1(4096)
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            connection.close()

    def check_leak(label: str, data: bytes) -> None:
        leaked = [item.decode() for item in forbidden if item in data]
        if leaked:
            failures.append(f"{label}: B's data in A's console answer ({', '.join(leaked)[:120]})")

    public, secret = PUBLIC_KEY, SECRET_KEY
    status, headers, data = send("POST", "/api/console/session", json.dumps({"publicKey": public, "secretKey": secret}).encode(),
                                 {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"})
    cookie = headers.get("set-cookie", "").split(";", 1)[0]
    if status != 200 or not cookie.startswith("parley_console="):
        failures.append(f"console sign-in with A's keys: {status} {data[:160]!r}")
        return calls
    jar = {"Cookie": cookie}
    status, _, data = send("GET", "/api/console/session", headers=jar)
    if status != 200 or json.loads(data).get("projectId") != a.public_id:
        failures.append(f"console session of A's cookie: {status} {data[:160]!r}")
    for path, expect, needs_a in [("/api/public/sessions/iso-session-1", 200, True), ("/api/public/traces/iso-trace-1", 200, True),
                                  ("/api/public/sessions/beta-only-session", 404, False), ("/api/public/export/traces", 200, True)]:
        status, _, data = send("GET", path, headers=jar)
        if status != expect or (needs_a and a.mark.encode() not in data):
            failures.append(f"GET {path} with A's cookie: {status}, expected {expect}: {data[:160]!r}")
        check_leak(f"GET {path} with A's cookie", data)
    # The cookie never writes: every write needs the key.
    status, _, _ = send("POST", "/api/public/ingestion", b'{"batch": []}', {**jar, "Content-Type": "application/json"})
    if status != 401:
        failures.append(f"POST /api/public/ingestion with only A's cookie: {status}, expected 401")
    status, _, data = send("GET", "/api/console/events", headers=jar, read_all=False)
    if status != 200 or b"ready" not in data:
        failures.append(f"console events with A's cookie: {status} {data[:160]!r}")
    check_leak("console events", data)
    status, _, _ = send("DELETE", "/api/console/session", headers={**jar, "Sec-Fetch-Site": "same-origin"})
    if status != 204:
        failures.append(f"console sign-out: {status}")
    status, _, _ = send("GET", "/api/public/sessions/iso-session-1", headers=jar)
    if status != 401:
        failures.append(f"A's cookie after sign-out: {status}, expected 401")
    return calls


def uncovered_operations(covered: set[tuple[str, str]]) -> list[str]:
    """The operationIds of openapi.yaml that no probe reached (so a route added later makes the
    isolation check fail until it is tried too). Empty when the file is not there."""
    spec = REPO / "openapi.yaml"
    if not spec.exists():
        return []
    operations: list[tuple[str, str, str]] = []
    path = None
    method = None
    for line in spec.read_text().splitlines():
        if line.startswith("components:"):
            break
        if match := re.match(r"^  (/\S*):\s*$", line):
            path = match.group(1)
        elif match := re.match(r"^    (get|put|post|patch|delete):\s*$", line):
            method = match.group(1).upper()
        elif (match := re.match(r"^      operationId:\s*(\S+)", line)) and path and method:
            operations.append((match.group(1), method, path))
    missed = []
    for operation, method, template in operations:
        if operation in UNAUTHENTICATED:
            continue
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
        if not any(done_method == method and pattern.match(done_path) for done_method, done_path in covered):
            missed.append(operation)
    return missed


B_VIEW = ["/api/public/traces/iso-trace-5", "/api/public/traces/iso-trace-1", "/api/public/sessions/iso-session-1",
          "/api/public/sessions/iso-session-3", "/api/public/scores/iso-score-3",
          "/api/public/export/traces", f"/api/public/traces/{SHARED_OTLP_TRACE}"]


def strip_volatile(data: bytes) -> bytes:
    """Answers that depend on the clock (session idle times) are compared without those fields."""
    return re.sub(rb'"(sinceLastTurnMs|idleTimeMs|updatedAt|age)":[^,}\]]*', b"", data)


# --- secrets at rest ---------------------------------------------------------------------------

def check_secrets(context: Context) -> Result:
    """Secrets never in clear in the database file or its WAL, hashed with a salt of their own."""
    failures: list[str] = []
    with context.serve("security-secrets", ["--log-level", "trace"]) as server:
        db = server.db
        second_public, second_secret = create_key(context.binary, db, "second")
        # One key from PARLEY_INIT_*, one from `parley keys create`; each must hash with its own salt.
        secrets = {PUBLIC_KEY: server.env["PARLEY_INIT_SECRET_KEY"], second_public: second_secret}
        for public, secret in secrets.items():
            status, _, _ = server.request("GET", "/api/public/projects", auth=basic_auth(public, secret))
            if status != 200:
                failures.append(f"{public} does not authenticate ({status})")
            wrong = secret[:-1] + ("0" if secret[-1] != "0" else "1")
            for candidate in (wrong, secret[:-1], secret + "0"):
                status, _, _ = server.request("GET", "/api/public/projects", auth=basic_auth(public, candidate))
                if status != 401:
                    failures.append(f"{public} with a near-miss secret answered {status}")
        # The file and its WAL while the server runs, and again after it checkpointed and stopped.
        running = [path for path in (db, Path(f"{db}-wal")) if path.exists()]
        stored = b"".join(path.read_bytes() for path in running)
        server.stop()
        connection = sqlite3.connect(db)
        rows = connection.execute("SELECT public_key, secret_salt, secret_hash, secret_hint FROM api_keys").fetchall()
        connection.close()
        stored += db.read_bytes()
        salts = set()
        for public, salt, digest, hint in rows:
            secret = secrets.get(public)
            if secret is None:
                continue
            for form in (secret.encode(), secret.encode("utf-16-le"), base64.b64encode(f"{public}:{secret}".encode()),
                         hashlib.sha256(secret.encode()).digest(), hashlib.sha256(secret.encode()).hexdigest().encode()):
                if form in stored:
                    failures.append(f"the secret of {public} is in the database file in a recoverable form")
            if digest != hashlib.sha256(bytes(salt) + secret.encode()).digest():
                failures.append(f"{public}: the stored hash is not SHA-256(salt || secret)")
            if len(salt) < 16:
                failures.append(f"{public}: salt of {len(salt)} bytes")
            salts.add(bytes(salt))
            if secret[-4:] not in hint or len(hint.replace("sk-lf-…", "")) > 4:
                failures.append(f"{public}: the listed hint shows more than the last 4 characters: {hint!r}")
        if len(rows) < 2 or len(salts) != len(rows):
            failures.append(f"{len(rows)} keys stored, {len(salts)} distinct salts")
        # Negative control: the same search finds the public key, which is stored in clear.
        if PUBLIC_KEY.encode() not in stored:
            failures.append("control: the public key was not found in the database bytes")
        for secret in secrets.values():
            if secret in server.log_text():
                failures.append("a secret key is in the server log")
        figures = (f"{len(rows)} keys: SHA-256(16-byte salt || secret), distinct salts, no secret in the "
                   f"database ({'+'.join(path.name.split('.')[-1] for path in running)}) or the log")
        return Result("secrets at rest", len(rows), not failures, figures, failures)


# --- logs ----------------------------------------------------------------------------------------

def otlp_protobuf(trace_id: bytes, span_id: bytes, name: str, attributes: dict[str, str]) -> bytes:
    """ExportTraceServiceRequest with one span."""
    now = time.time_ns()
    span = otlp.span(trace_id, span_id, name, now, now + 1_000_000,
                     [(key, otlp.string_value(value)) for key, value in attributes.items()])
    return otlp.export_request([span], scope="planted")


def check_logs(context: Context) -> Result:
    directory = context.path("security-logs")
    run_id = uuid.uuid4().hex[:10]
    plant = f"PLANTED-{run_id}"
    # stdout into the log as well: a wrapper, so the whole output of the process is searched.
    wrapper = directory / "parley-all-output.sh"
    wrapper.write_text(f'#!/bin/sh\nexec "{context.binary}" "$@" 1>&2\n')
    wrapper.chmod(0o755)
    with context.serve("security-logs", ["--log-level", "trace"], binary=wrapper) as server:
        failures: list[str] = []
        sent = 0
        def token(where: str) -> str:
            return f"{plant}-{where}"

        def send(method: str, path: str, body=None, headers=None, auth=None, expect: tuple[int, ...] = ()) -> None:
            nonlocal sent
            sent += 1
            status, _, data = server.request(method, path, body, headers=headers, auth=auth)
            if expect and status not in expect:
                failures.append(f"{method} {path}: {status}, expected {expect}: {data[:160]!r}")

        now = iso()
        batch = {"batch": [
            {"id": "log-e1", "type": "trace-create", "timestamp": now,
             "body": {"id": "log-trace", "name": "planted", "sessionId": "log-session", "userId": token("user-id"),
                      "input": {"messages": [{"role": "user", "content": token("batch-prompt")}]},
                      "output": token("batch-output"), "metadata": {"note": token("batch-metadata")}}},
            {"id": "log-e2", "type": "generation-create", "timestamp": now,
             "body": {"id": "log-gen", "traceId": "log-trace", "name": "llm", "model": "gpt-4o", "startTime": now,
                      "input": [{"role": "user", "content": token("generation-prompt")}],
                      "output": {"role": "assistant", "content": token("generation-output")}}},
            {"id": "log-e3", "type": "event-create", "timestamp": now,
             "body": {"id": "log-event", "traceId": "log-trace", "input": token("event-input")}},
            {"id": "log-e4", "type": "score-create", "timestamp": now,
             "body": {"id": "log-score", "traceId": "log-trace", "name": "s", "value": 1, "comment": token("score-comment")}},
            # Refused inside a 207: bad timestamp, missing ids, wrong types, each carrying a prompt.
            {"id": "log-bad-1", "type": "trace-create", "timestamp": token("bad-timestamp"),
             "body": {"id": "log-bad-trace", "input": token("refused-prompt-1")}},
            {"id": "log-bad-2", "type": "generation-create", "timestamp": now,
             "body": {"input": token("refused-prompt-2"), "output": token("refused-output-2")}},
            {"id": "log-bad-3", "type": "span-create", "timestamp": now,
             "body": {"id": 42, "traceId": ["x"], "input": token("refused-prompt-3")}},
            {"id": "log-bad-4", "type": token("bad-type"), "timestamp": now, "body": {"input": token("refused-prompt-4")}},
        ]}
        send("POST", "/api/public/ingestion", batch, expect=(207,))
        # OTLP/JSON and OTLP/protobuf, prompts and completions in the attributes names SDKs use.
        attributes = {"gen_ai.prompt": token("otlp-json-prompt"), "gen_ai.completion": token("otlp-json-completion"),
                      "langfuse.observation.input": token("otlp-json-input"),
                      "langfuse.observation.output": token("otlp-json-output"), "user.id": token("otlp-user-id")}
        otlp = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "planted"}, "spans": [{
            "traceId": os.urandom(16).hex(), "spanId": os.urandom(8).hex(), "name": "planted", "kind": 1,
            "startTimeUnixNano": str(time.time_ns()), "endTimeUnixNano": str(time.time_ns() + 1000),
            "attributes": [{"key": key, "value": {"stringValue": value}} for key, value in attributes.items()]}]}]}]}
        send("POST", "/api/public/otel/v1/traces", otlp, expect=(200,))
        proto_attributes = {"gen_ai.prompt": token("otlp-proto-prompt"), "gen_ai.completion": token("otlp-proto-completion"),
                            "input.value": token("otlp-proto-input"), "output.value": token("otlp-proto-output")}
        send("POST", "/v1/traces", otlp_protobuf(os.urandom(16), os.urandom(8), "planted", proto_attributes),
             headers={"Content-Type": "application/x-protobuf"}, expect=(200,))
        # 400s: bodies that do not parse, with the prompt in them.
        send("POST", "/api/public/ingestion", f'{{"batch": [{{"body": {{"input": "{token("truncated-json")}'.encode(),
             headers={"Content-Type": "application/json"}, expect=(400,))
        send("POST", "/api/public/ingestion", {"batch": token("batch-not-array")}, expect=(400,))
        send("POST", "/api/public/otel/v1/traces", {"resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": token("otlp-bad-trace-id"), "spanId": 7, "name": token("otlp-bad-name")}]}]}]}, expect=(200, 400))
        send("POST", "/api/public/otel/v1/traces", token("otlp-garbage").encode(),
             headers={"Content-Type": "application/x-protobuf"}, expect=(400,))
        send("POST", "/api/public/traces", {"id": "log-bad", "timestamp": token("bad-trace-time"),
                                            "input": token("traces-400-prompt")}, expect=(400,))
        send("POST", "/api/public/sessions", {"id": "log-s", "type": token("bad-session-type")}, expect=(400,))
        send("POST", "/api/public/scores", {"traceId": "log-trace", "comment": token("bad-score-comment")}, expect=(400,))
        # 401s: a planted secret, a planted public key, each with a prompt in the body.
        send("POST", "/api/public/ingestion", {"batch": [{"id": "x", "type": "trace-create", "timestamp": now,
                                                          "body": {"input": token("401-prompt")}}]},
             auth=basic_auth(PUBLIC_KEY, token("wrong-secret")), expect=(401,))
        send("POST", "/api/public/otel/v1/traces", otlp, auth=basic_auth(token("unknown-public-key"), "sk"), expect=(401,))
        send("GET", "/api/public/traces", auth="Bearer " + token("bearer-key"), expect=(401,))
        # Reads and erasure naming a raw user id (the access log shows the route, not the id).
        send("GET", f"/api/public/traces?userId={token('query-user-id')}&name={token('query-name')}", expect=(200,))
        send("GET", f"/api/public/users/{token('path-user-id')}", expect=(404,))
        send("GET", "/api/public/traces/log-trace", expect=(200,))
        send("GET", "/api/public/observations?traceId=log-trace", expect=(200,))
        # Negative control: the request id is logged on purpose; the grep must find it.
        control = f"{plant}-control"
        send("GET", "/api/public/health", headers={"X-Request-Id": control}, expect=(200,))
        time.sleep(0.3)
        server.stop()
        text = server.log_text()
        leaked = sorted(set(re.findall(re.escape(plant) + r"-[a-z0-9-]+", text)) - {control})
        if leaked:
            failures.append("planted strings in the log: " + ", ".join(name.removeprefix(plant + "-") for name in leaked))
            for line in text.splitlines():
                if plant in line and control not in line:
                    failures.append("  " + line[:200])
                    break
        if control not in text:
            failures.append("control: the request id planted on purpose is not in the log (is the log captured?)")
        if server.env["PARLEY_INIT_SECRET_KEY"] in text:
            failures.append("the project's secret key is in the log")
        levels = sorted(set(re.findall(r" (trace|debug|info|notice|warning|error|critical) parley", text)))
        stored = b"".join(path.read_bytes() for path in directory.glob("parley.sqlite*"))
        stored_tokens = {name for name in ("batch-prompt", "generation-output", "otlp-json-prompt", "otlp-proto-prompt")
                         if token(name).encode() in stored}
        if len(stored_tokens) < 4:
            # Control: the prompts were really ingested (the full io policy stores them).
            failures.append(f"control: only {sorted(stored_tokens)} of the ingested prompts are in the database")
        lines = len(text.splitlines())
        figures = (f"{sent} requests (batch, OTLP JSON + protobuf, 400s, 401s, reads) with planted prompts, outputs, "
                   f"user ids and secrets; log at level trace, {lines} lines ({', '.join(levels)}): "
                   f"{len(leaked)} planted strings found; control found: {control in text}")
        return Result("no prompts in logs", sent, not failures, figures, failures[:10])


# --- TLS ---------------------------------------------------------------------------------------

class PKI:
    """A throwaway CA made with the openssl tool (as scripts/gen-dev-cert.sh does) that issues
    server certificates for localhost with any validity period, through `openssl ca`, which
    (unlike `x509 -req`) takes a start and an end date, so expired certificates can be made."""

    SERVER_EXT = ("basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n"
                  "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost, IP:127.0.0.1\n")
    CA_CONFIG = ("[ca]\ndefault_ca = test_ca\n[test_ca]\ndir = .\ndatabase = index.txt\nnew_certs_dir = .\n"
                 "serial = serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n[any]\ncommonName = supplied\n")

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "server.ext").write_text(self.SERVER_EXT)
        (directory / "ca.cnf").write_text(self.CA_CONFIG)
        (directory / "index.txt").write_text("")
        (directory / "serial").write_text("1000\n")
        self.openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key")
        self.openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=Parley reliability CA", "-days", "2",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
                     "-out", "ca.pem")
        self.ca = directory / "ca.pem"

    def openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], cwd=self.directory, check=True, capture_output=True, timeout=60)

    def issue(self, name: str, start: str | None = None, end: str | None = None, rsa: bool = False,
              key: Path | None = None) -> tuple[Path, Path]:
        """(certificate, key) for localhost, valid from `start` to `end` (YYYYMMDDHHMMSSZ; default
        now for two days), with a new key unless `key` is given."""
        key_path = key or self.directory / f"{name}.key"
        if key is None:
            if rsa:
                self.openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key_path.name)
            else:
                self.openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key_path.name)
        self.openssl("req", "-new", "-key", str(key_path), "-subj", f"/CN={name}", "-out", f"{name}.csr")
        dates = ["-startdate", start, "-enddate", end] if start and end else ["-days", "2"]
        self.openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-notext",
                     "-extfile", "server.ext", "-in", f"{name}.csr", "-out", f"{name}.pem", *dates)
        return self.directory / f"{name}.pem", key_path


def s_client(port: int, *args: str) -> tuple[bool, str]:
    """One handshake with `openssl s_client`: (established, what it printed)."""
    try:
        completed = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", "-brief", *args],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        return False, "timed out"
    output = completed.stdout + completed.stderr
    return completed.returncode == 0 and "CONNECTION ESTABLISHED" in output, output


def client_cannot_offer(output: str) -> bool:
    """The client itself refused to send a hello (a cipher or version its build lacks)."""
    return any(text in output for text in ("no cipher match", "no protocols available", "no ciphers available",
                                           "unknown option", "Call to SSL_CONF_cmd"))


def weak_tls12_suite(name: str) -> bool:
    """Acceptable under TLS 1.2: ECDHE (forward secrecy) with an AEAD cipher (GCM or
    ChaCha20-Poly1305). Everything else counts as weak here: RSA or static key exchange,
    DHE with parameters the server does not control, CBC with any MAC, CCM-8's short tag,
    and of course RC4, 3DES, NULL, EXPORT and anonymous suites."""
    return not (name.startswith("ECDHE-") and ("-GCM-" in name or "CHACHA20-POLY1305" in name))


def check_tls_policy(context: Context, pki: PKI) -> Result:
    failures: list[str] = []
    details: list[str] = []
    probes = 0
    accepted_by_key: dict[str, list[str]] = {}
    versions: dict[str, bool] = {}
    sslscan_summary = "sslscan not installed (apt-get install sslscan); openssl s_client probes only"
    for kind, rsa in (("ECDSA", False), ("RSA", True)):
        certificate, key = pki.issue(f"policy-{kind.lower()}", rsa=rsa)
        with context.serve("security-tls", ["--log-level", "warning"], db=pki.directory / f"policy-{kind.lower()}.sqlite",
                           tls=(certificate, key)) as server:
            port = server.tls_port
            # Protocol versions: the old ones offered for real (@SECLEVEL=0 lets OpenSSL 3 send them).
            for flag, must in (("-tls1", False), ("-tls1_1", False), ("-tls1_2", True), ("-tls1_3", True)):
                extra = ["-cipher", "DEFAULT:@SECLEVEL=0"] if flag in ("-tls1", "-tls1_1") else []
                ok, output = s_client(port, flag, *extra)
                probes += 1
                if not ok and client_cannot_offer(output):
                    details.append(f"{kind} {flag}: this openssl cannot offer it, not probed")
                    continue
                versions[f"{kind} {flag[1:].replace('_', '.')}"] = ok
                if ok != must:
                    failures.append(f"{kind}: {flag} handshake {'succeeded' if ok else 'failed'}: {output.strip()[-160:]}")
            # Every TLS 1.2 suite this openssl knows, one handshake each.
            # (Only those this key can serve: an ECDSA key cannot do an RSA-signed suite anyway.)
            authentication = "aRSA" if rsa else "aECDSA"
            suites = subprocess.run(["openssl", "ciphers", "-s", "-tls1_2", f"{authentication}:aNULL:kRSA:@SECLEVEL=0"],
                                    capture_output=True, text=True, check=True).stdout.strip().split(":")
            suites = [suite for suite in suites if not suite.startswith("TLS_")]
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(max_workers=4) as pool:
                outcomes = list(pool.map(
                    lambda suite: (suite, s_client(port, "-tls1_2", "-cipher", f"{suite}:@SECLEVEL=0")), suites))
            probes += len(outcomes)
            accepted = [suite for suite, (ok, _) in outcomes if ok]
            accepted_by_key[kind] = accepted
            weak = [suite for suite in accepted if weak_tls12_suite(suite)]
            if weak:
                failures.append(f"{kind}: weak TLS 1.2 suites accepted: {', '.join(weak)}")
            if not accepted:
                failures.append(f"control: {kind}: no TLS 1.2 suite at all was accepted")
            # Named weak groups, in case this openssl's ALL lacks some (RC4 needs the legacy provider).
            for group in ("RC4", "3DES", "eNULL", "aNULL", "EXPORT", "kRSA", "SHA1", "CBC", "DHE", "CCM8"):
                ok, output = s_client(port, "-tls1_2", "-cipher", f"{group}:@SECLEVEL=0")
                probes += 1
                if ok:
                    suite = re.search(r"Ciphersuite: (\S+)", output)
                    failures.append(f"{kind}: a {group} suite was accepted under TLS 1.2: {suite.group(1) if suite else output[-120:]}")
            if kind == "RSA" and shutil.which("sslscan"):
                scan = subprocess.run(["sslscan", "--no-colour", "--no-heartbleed", f"127.0.0.1:{port}"],
                                      capture_output=True, text=True, timeout=120).stdout
                enabled = re.findall(r"^(SSLv[23]|TLSv1\.[0-3])\s+enabled", scan, re.M)
                accepted_scan = re.findall(r"^(?:Preferred|Accepted)\s+(TLSv1\.[0-3]|SSLv[23])\s+\d+ bits\s+(\S+)", scan, re.M)
                old = [version for version in enabled if version in ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1")]
                weak_scan = [f"{version} {suite}" for version, suite in accepted_scan
                             if version != "TLSv1.3" and weak_tls12_suite(suite)]
                if old or weak_scan:
                    failures.append(f"sslscan: old protocols {old}, weak suites {weak_scan}")
                if not enabled:
                    failures.append("control: sslscan reported no protocol enabled (did it reach the server?)")
                sslscan_summary = (f"sslscan: enabled {', '.join(enabled) or 'none'}; accepted "
                                   f"{', '.join(sorted({suite for _, suite in accepted_scan}))}")
    details.append(sslscan_summary)
    refused = [name for name, ok in versions.items() if not ok]
    figures = (f"{probes} handshakes: refused {', '.join(refused)}; TLS 1.2 suites accepted "
               f"(of every suite openssl knows for the key): " + "; ".join(f"{kind}: {', '.join(suites)}" for kind, suites in accepted_by_key.items()))
    return Result("TLS protocols and ciphers", probes, not failures, figures, failures + details)


def check_tls_certificates(context: Context, pki: PKI) -> Result:
    """Bad certificate files stop `parley serve` at once with a message naming the problem."""
    failures: list[str] = []
    details: list[str] = []
    good_cert, good_key = pki.issue("start-good")
    expired_cert, expired_key = pki.issue("start-expired", "20200101000000Z", "20200201000000Z")
    future_cert, future_key = pki.issue("start-future", "20990101000000Z", "20991231000000Z")
    other_cert, other_key = pki.issue("start-other")
    garbage = pki.directory / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    missing = pki.directory / "missing.pem"
    cases = [
        ("expired certificate", expired_cert, expired_key, "expired on 2020-02-01"),
        ("certificate not valid yet", future_cert, future_key, "not valid before 2099-01-01"),
        ("key of another certificate", good_cert, other_key, "is not the key of the certificate"),
        ("missing certificate file", missing, good_key, str(missing)),
        ("missing key file", good_cert, missing, str(missing)),
        ("garbage certificate file", garbage, good_key, str(garbage)),
        ("garbage key file", good_cert, garbage, str(garbage)),
        ("directory as certificate", pki.directory, good_key, str(pki.directory)),
    ]
    unreadable = pki.directory / "unreadable.key"
    shutil.copy(good_key, unreadable)
    unreadable.chmod(0o600)
    as_other_user: list[str] = []
    unreadable_case = ("unreadable key file", good_cert, unreadable, f"loading private key {unreadable} failed",
                       "Permission denied")
    if os.geteuid() != 0:
        unreadable.chmod(0o000)
        cases.append(unreadable_case)
    elif shutil.which("setpriv"):
        # Root reads any file: serve as nobody instead, with the key readable by root only.
        as_other_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
        for directory in [pki.directory, *pki.directory.parents]:
            if directory == context.work.parent:
                break
            directory.chmod(directory.stat().st_mode | 0o005)  # the work directory is 0700 from mkdtemp
        good_cert.chmod(0o644)
        probe = subprocess.run(as_other_user + [context.binary, "--help"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            cases.append(unreadable_case)
        else:
            details.append("unreadable key: skipped (user nobody cannot run the binary from here)")
    else:
        details.append("unreadable key: skipped (root reads every file and setpriv is not installed)")
    started = 0
    for label, certificate, key, *expected in cases:
        db = pki.directory / f"start-{started}.sqlite"
        started += 1
        prefix = as_other_user if key == unreadable else []
        command = prefix + [context.binary, "serve", "--host", "127.0.0.1", "--port", "0", "--tls-port", "0",
                            "--tls-cert", str(certificate), "--tls-key", str(key), "--db", str(db)]
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            failures.append(f"{label}: the server did not exit within 20 s (it served)")
            continue
        output = completed.stderr + completed.stdout
        message = next((line for line in output.splitlines() if line.startswith("Error:")), output.strip()[-200:])
        details.append(f"{label}: exit {completed.returncode}: {message[:200]}")
        if completed.returncode == 0 or "listening on" in output:
            failures.append(f"{label}: started (exit {completed.returncode})")
        elif not all(text in output for text in expected):
            failures.append(f"{label}: the message does not say {' and '.join(map(repr, expected))}: {message[:200]}")
        if db.exists():
            failures.append(f"{label}: the database was created before the certificate was checked")
    # The control: the good pair, through the same command line, starts and serves.
    server = context.parley("security-tls", ["--log-level", "warning"], db=pki.directory / "start-good.sqlite",
                            tls=(good_cert, good_key))
    try:
        server.start()
        started += 1
    except RuntimeError as error:
        failures.append(f"control: the good pair does not start: {error}")
    finally:
        server.stop()
    figures = f"{len(cases)} bad pairs refused at start with a non-zero exit and a message naming the cause; the good pair serves"
    return Result("TLS certificates at start", len(cases) + 1, not failures, figures, failures + details)


def peer_serial(port: int, ca: Path) -> int | str:
    """The serial of the certificate served (verified against the CA), or why there is none."""
    try:
        return served_serial(port, ca)
    except (OSError, ssl.SSLError, AssertionError) as error:
        return f"no verified certificate: {error}"


def served_serial(port: int, ca: Path) -> int:
    tls = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with tls.wrap_socket(raw, server_hostname="localhost") as wrapped:
            serial = int(wrapped.getpeercert()["serialNumber"], 16)
            wrapped.sendall(b"GET /api/public/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            answer = wrapped.recv(64)
            if not answer.startswith(b"HTTP/1.1 200"):
                raise AssertionError(f"health over TLS answered {answer!r}")
            return serial


def certificate_serial(path: Path) -> int:
    output = subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-serial"],
                            capture_output=True, text=True, check=True).stdout
    return int(output.strip().split("=", 1)[1], 16)


def check_tls_reload(context: Context, pki: PKI) -> Result:
    """SIGHUP to a bad pair is refused with a logged error; the old certificate keeps serving."""
    failures: list[str] = []
    first_cert, first_key = pki.issue("reload-first")
    second_cert, second_key = pki.issue("reload-second")
    expired_cert, expired_key = pki.issue("reload-expired", "20200101000000Z", "20200201000000Z")
    active_cert, active_key = pki.directory / "active.pem", pki.directory / "active.key"

    def install(certificate: Path, key: Path) -> None:
        # Atomic replacement, as a deployment tool (or certbot's symlink swap) would do it.
        for source, target in ((certificate, active_cert), (key, active_key)):
            temporary = target.with_suffix(".tmp")
            shutil.copy(source, temporary)
            os.replace(temporary, target)

    install(first_cert, first_key)
    trials = 0
    with context.serve("security-tls", ["--log-level", "info"], db=pki.directory / "reload.sqlite",
                       tls=(active_cert, active_key)) as server:
        first = certificate_serial(first_cert)
        if peer_serial(server.tls_port, pki.ca) != first:
            failures.append("the server does not serve the first certificate")
        garbage = pki.directory / "reload-garbage.pem"
        garbage.write_text("not a certificate\n")
        for label, certificate, key in (("expired certificate", expired_cert, expired_key),
                                        ("key of another certificate", second_cert, first_key),
                                        ("garbage certificate", garbage, first_key)):
            trials += 1
            install(certificate, key)
            before = server.log_text().count("TLS reload failed")
            os.kill(server.pid, signal.SIGHUP)
            deadline = time.time() + 10
            while time.time() < deadline and server.log_text().count("TLS reload failed") == before:
                time.sleep(0.05)
            if server.log_text().count("TLS reload failed") == before:
                failures.append(f"{label}: no 'TLS reload failed' error in the log after SIGHUP")
            if not server.alive():
                failures.append(f"{label}: the server died on SIGHUP")
                break
            serial = peer_serial(server.tls_port, pki.ca)
            if serial != first:
                failures.append(f"{label}: after SIGHUP the server serves {serial}, not the old serial {first}")
        # The control: a good pair is taken on SIGHUP.
        trials += 1
        install(second_cert, second_key)
        os.kill(server.pid, signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and "reloaded TLS certificate" not in server.log_text():
            time.sleep(0.05)
        if peer_serial(server.tls_port, pki.ca) != certificate_serial(second_cert):
            failures.append("control: a good pair was not taken on SIGHUP")
        errors = [line for line in server.log_text().splitlines() if "TLS reload failed" in line]
    figures = (f"{trials - 1} bad pairs refused on SIGHUP (logged, old certificate kept serving), then a good one taken; "
               f"e.g. {errors[0].split('certificate: ', 1)[-1].replace(str(pki.directory) + '/', '')[:200] if errors else 'no error logged'}")
    return Result("TLS reload (SIGHUP)", trials, not failures, figures, failures)


def timed(name: str, check, *args) -> Result:
    """One sub-check, guarded (a crash is that row's failure, and the other rows still run), timed."""
    started = time.monotonic()
    result = guarded(name, check, *args)
    log(f"{name}: {time.monotonic() - started:.1f} s")
    return result


def run(context: Context) -> list[Result]:
    results = [timed("isolation (projects A/B)", check_isolation, context),
               timed("secrets at rest", check_secrets, context),
               timed("no prompts in logs", check_logs, context)]
    tls_rows = ("TLS protocols and ciphers", "TLS certificates at start", "TLS reload (SIGHUP)")
    if not shutil.which("openssl"):
        return results + [Result(name, 0, None, "skipped: the openssl tool is not installed") for name in tls_rows]
    pki = PKI(context.path("security-tls"))
    checks = (check_tls_policy, check_tls_certificates, check_tls_reload)
    return results + [timed(name, check, context, pki) for name, check in zip(tls_rows, checks)]
