"""Security: project isolation, secrets at rest, prompts kept out of the log, and the TLS policy.

* isolation: two projects ingest the same trace, session, observation, score, event and user
  ids (and the same OTLP trace and span ids) with different content; project A's keys then
  call every route of openapi.yaml, reads and writes, B's ids included. Every answer must hold
  only A's data, and every row of project B in the database must be byte-for-byte what it was.
* secrets: the database file (and its WAL) never holds a secret key in clear, and the stored
  hash is salted; the key comparison is CRYPTO_memcmp (read from the source when it is there).
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
import http.client
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

from common import PUBLIC_KEY, Context, Parley, Result, basic_auth, log

NAME = "security"
FAST = True
ORDER = 50

REPO = Path(__file__).resolve().parents[2]


def iso_now(offset_seconds: float = 0) -> str:
    moment = time.time() + offset_seconds
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment * 1000) % 1000:03d}Z"


def create_key(binary: str, db: Path, project: str) -> tuple[str, str]:
    """`parley keys create --project NAME` against the database file: (public, secret)."""
    output = subprocess.run([binary, "keys", "create", "--project", project, "--db", str(db)],
                            check=True, capture_output=True, text=True, timeout=60).stdout
    public = re.search(r"public key:\s*(\S+)", output).group(1)
    secret = re.search(r"secret key:\s*(\S+)", output).group(1)
    return public, secret


# --- isolation --------------------------------------------------------------------------------

class Tenant:
    """One project as its key holder sees it."""

    def __init__(self, server: Parley, name: str, auth: str, mark: str) -> None:
        self.server, self.name, self.auth, self.mark = server, name, auth, mark
        self.public_id = ""
        self.row_id = 0
        self.hashed_users: dict[str, str] = {}

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
        events.append({"id": event_id, "type": kind, "timestamp": iso_now(at - time.time()), "body": body})

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
            "timestamp": iso_now(at - time.time()), "input": {"content": f"prompt {mark}"},
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
            "traceId": trace_id, "name": f"llm {mark}", "startTime": iso_now(at - time.time()),
            "endTime": iso_now(at + 1 - time.time()), "model": "gpt-4o",
            "input": [{"role": "user", "content": f"prompt {mark}"}], "output": f"completion {mark}",
            "usage": {"input": 10, "output": 5, "unit": "TOKENS"}, "metadata": {"note": f"observation {mark}"},
        }, at)
        event(f"iso-event-span-{index}", "span-create", {
            "id": f"iso-span-{index}", "traceId": trace_id, "parentObservationId": generation_id,
            "name": f"tool {mark}", "startTime": iso_now(at - time.time()), "input": {"query": f"tool input {mark}"},
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
    # A user id stored in clear in both projects: same stored id, not only the same raw one.
    tenant.json("PATCH", f"/api/public/projects/{tenant.public_id}/settings", {"hashUserIds": False})
    at = t0 + 200
    tenant.json("POST", "/api/public/ingestion", {"batch": [{
        "id": "iso-event-plain", "type": "trace-create", "timestamp": iso_now(at - time.time()),
        "body": {"id": "iso-trace-7", "name": f"name {mark}", "sessionId": "iso-session-5", "userId": "plain-user-1",
                 "timestamp": iso_now(at - time.time()), "input": f"prompt {mark}"}}]})
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
    directory = context.path("security-isolation")
    db = directory / "parley.sqlite"
    run_id = uuid.uuid4().hex[:8]
    server = Parley(context.binary, db, ["--log-level", "warning"],
                    env={"PARLEY_INIT_PROJECT_NAME": f"alpha-{run_id}"}).start()
    failures: list[str] = []
    calls = 0
    try:
        a = Tenant(server, "A", basic_auth(), f"ALPHA-{run_id}")
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
        b_before = project_rows(db, b.row_id)
        a_before = project_rows(db, a.row_id)
        b_view = B_VIEW + [f"/api/public/users/{b.hashed_users['iso-user-2']}", "/api/public/users/plain-user-1"]
        b_view_before = {path: b.call("GET", path)[2] for path in b_view}

        forbidden = [b.mark.encode(), b.public_id.encode(), b_job.encode(), b"beta-only", b"iso-bad-event-B",
                     *(hashed.encode() for hashed in b.hashed_users.values())]

        def probe(method: str, path: str, expect: int | tuple[int, ...], body=None, needs_a: bool = False) -> None:
            nonlocal calls
            calls += 1
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
        ]:
            probe("GET", path, expect, needs_a=needs_a)

        # Writes with A's keys on the colliding ids and on B's ids.
        probe("PATCH", f"/api/public/projects/{b.public_id}/settings", 404, {"retentionDays": 1, "ioPolicy": "metadata-only"})
        probe("PATCH", f"/api/public/projects/{a.public_id}/settings", 200, {"retentionDays": 365})
        probe("POST", "/api/public/sessions", 201, {"id": "iso-session-1", "channel": "changed-by-A", "userTier": "changed"})
        probe("POST", "/api/public/sessions/iso-session-1/end", 200, {"reason": "user_exit"}, needs_a=True)
        probe("POST", "/api/public/sessions/beta-only-session/end", 404, {})
        probe("POST", "/api/public/traces", 200, {"id": "iso-trace-1", "name": "renamed-by-A", "sessionId": "iso-session-1"})
        probe("POST", "/api/public/scores", 200, {"id": "iso-score-1", "traceId": "iso-trace-1", "name": "iso-score", "value": 0.5})
        probe("POST", "/api/public/ingestion", 207, {"batch": [
            {"id": "iso-event-trace-1", "type": "trace-create", "timestamp": iso_now(),
             "body": {"id": "iso-trace-2", "name": "re-sent-by-A"}},
            {"id": "iso-event-a-update", "type": "generation-update", "timestamp": iso_now(),
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
        b_rows = sum(len(rows) for rows in b_after.values())
        figures = (f"{calls} calls with A's keys over every route, on colliding trace/session/observation/score/"
                   f"event/user/OTLP ids and B's own ids; B's {b_rows} rows unchanged: {not changed}; "
                   f"A's tables changed: {len(a_changed)}")
        return Result("isolation (projects A/B)", calls, not failures, figures, failures[:12])
    finally:
        server.stop()


B_VIEW = ["/api/public/traces/iso-trace-5", "/api/public/traces/iso-trace-1", "/api/public/sessions/iso-session-1",
          "/api/public/sessions/iso-session-3", "/api/public/scores/iso-score-3",
          "/api/public/export/traces", f"/api/public/traces/{SHARED_OTLP_TRACE}"]


def strip_volatile(data: bytes) -> bytes:
    """Answers that depend on the clock (session idle times) are compared without those fields."""
    return re.sub(rb'"(sinceLastTurnMs|idleTimeMs|updatedAt|age)":[^,}\]]*', b"", data)


# --- secrets at rest ---------------------------------------------------------------------------

def check_secrets(context: Context) -> Result:
    """Secrets never in clear in the database file or its WAL, hashed with a salt of their own;
    the comparison in the source is CRYPTO_memcmp over fixed-length digests."""
    directory = context.path("security-secrets")
    db = directory / "parley.sqlite"
    failures: list[str] = []
    server = Parley(context.binary, db, ["--log-level", "trace"]).start()
    try:
        second_public, second_secret = create_key(context.binary, db, "second")
        # The same secret under a second key (via PARLEY_INIT-like reuse) must hash differently.
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
        comparison = comparison_in_source()
        if comparison.startswith("NOT"):
            failures.append(comparison)
        figures = (f"{len(rows)} keys: SHA-256(16-byte salt || secret), distinct salts, no secret in the "
                   f"database ({'+'.join(path.name.split('.')[-1] for path in running)}) or the log; comparison: {comparison}")
        return Result("secrets at rest", len(rows), not failures, figures, failures)
    finally:
        server.stop()


def comparison_in_source() -> str:
    """Reads Sources/API/Auth/Authenticator.swift and Sources/Crypto/Digest.swift, when the
    check runs from a checkout: the secret's digest must be compared with
    Digest.constantTimeEqual, itself CRYPTO_memcmp, and nowhere with ==."""
    authenticator = REPO / "Sources/API/Auth/Authenticator.swift"
    digest = REPO / "Sources/Crypto/Digest.swift"
    if not authenticator.exists() or not digest.exists():
        return "not read (no source checkout)"
    auth_text, digest_text = authenticator.read_text(), digest.read_text()
    if not re.search(r"Digest\.constantTimeEqual\(hash, key\.secretHash\)", auth_text):
        return "NOT constant-time: Authenticator does not compare with Digest.constantTimeEqual"
    if re.search(r"secretHash\s*[!=]=|[!=]=\s*key\.secretHash", auth_text):
        return "NOT constant-time: Authenticator compares secretHash with ==/!="
    body = digest_text.split("func constantTimeEqual", 1)[-1].split("\n    }\n", 1)[0]
    if "CRYPTO_memcmp" not in body:
        return "NOT constant-time: Digest.constantTimeEqual is not CRYPTO_memcmp"
    return "CRYPTO_memcmp over 32-byte SHA-256 digests (source read)"


# --- logs ----------------------------------------------------------------------------------------

def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number: int, payload: bytes | str | int, wire: int = 2) -> bytes:
    """One protobuf field: wire 2 (length-delimited), 0 (varint) or 1 (fixed64)."""
    if wire == 0:
        return varint(number << 3) + varint(int(payload))
    if wire == 1:
        return varint(number << 3 | 1) + int(payload).to_bytes(8, "little")
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(data)) + data


def otlp_protobuf(trace_id: bytes, span_id: bytes, name: str, attributes: dict[str, str]) -> bytes:
    """ExportTraceServiceRequest with one span (opentelemetry/proto/trace/v1/trace.proto)."""
    now = time.time_ns()
    key_values = b"".join(field(9, field(1, key) + field(2, field(1, value))) for key, value in attributes.items())
    span = (field(1, trace_id) + field(2, span_id) + field(5, name) + field(6, 1, wire=0)
            + field(7, now, wire=1) + field(8, now + 1_000_000, wire=1) + key_values)
    scope_spans = field(1, field(1, "planted")) + field(2, span)
    return field(1, field(2, scope_spans))


def check_logs(context: Context) -> Result:
    directory = context.path("security-logs")
    db = directory / "parley.sqlite"
    run_id = uuid.uuid4().hex[:10]
    plant = f"PLANTED-{run_id}"
    # stdout into the log as well: a wrapper, so the whole output of the process is searched.
    wrapper = directory / "parley-all-output.sh"
    wrapper.write_text(f'#!/bin/sh\nexec "{context.binary}" "$@" 1>&2\n')
    wrapper.chmod(0o755)
    server = Parley(str(wrapper), db, ["--log-level", "trace"]).start()
    failures: list[str] = []
    sent = 0
    try:
        def token(where: str) -> str:
            return f"{plant}-{where}"

        def send(method: str, path: str, body=None, headers=None, auth=None, expect: tuple[int, ...] = ()) -> None:
            nonlocal sent
            sent += 1
            status, _, data = server.request(method, path, body, headers=headers, auth=auth)
            if expect and status not in expect:
                failures.append(f"{method} {path}: {status}, expected {expect}: {data[:160]!r}")

        now = iso_now()
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
    finally:
        server.stop()


def run(context: Context) -> list[Result]:
    return [check_isolation(context), check_secrets(context), check_logs(context)]
