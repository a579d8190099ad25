"""Privacy end to end (docs/PRIVACY.md) with the real langfuse==5.0.4 SDK against a live parley
started with `--io-policy masked` (user-id hashing is on by default):

- the SDK sends two traces in one session under `propagate_attributes(user_id=RAW, session_id=S)`,
  with an email address and a phone number in input, output and metadata
  (privacy_scenario.py, run in its own interpreter like the other scenarios);
- the read API shows the keyed hash `u_` + 32 hex instead of RAW and `[EMAIL]` instead of the
  address, while `/users/{RAW}` and every `userId` filter still take the raw id;
- neither RAW nor the planted address is anywhere in the database file, its WAL, or the server's
  log, even after requests that carry RAW in their path and query string;
- `DELETE /api/public/users/{RAW}` erases the user: the API answers 404 / empty lists and no row
  of the database mentions the hashed id, the session or the traces any more.

Every test uses its own unique ids, so they do not depend on each other's order: the erasure
test sends a second user of its own and checks that the first one is left alone.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional
from urllib.parse import quote, quote_plus, urljoin

import pytest
import requests
from conftest import PUBLIC_KEY, SECRET_KEY, run_scenario
from parleykit.server import Parley

POLL_INTERVAL_S = 0.2
POLL_LIMIT_S = 30.0
HASHED = re.compile(r"^u_[0-9a-f]{32}$")
PHONE = "+1 (415) 555-2671"  # a phone number by docs/PRIVACY.md's masking rules
PHONE_DIGITS = "555-2671"
# The tables a user's data lives in (docs/DATA_MODEL.md); the erasure must leave none of it.
ERASED_TABLES = ("traces", "observations", "scores", "sessions", "users", "events", "deletion_jobs")


# ---------------------------------------------------------------------------------------------
# server and data


@pytest.fixture(scope="module")
def privacy_server(parley_bin, tmp_path_factory):
    """One parley for the module that masks personal data in input, output and metadata (and,
    by default, hashes user ids)."""
    with Parley(parley_bin, tmp_path_factory.mktemp("privacy") / "parley.sqlite", ["--io-policy", "masked"]) as srv:
        yield srv


@dataclass
class SentUser:
    """What one scenario run sent: the raw user id, the planted address, the session, and the
    traces as GET /api/public/traces?sessionId= lists them."""

    raw: str
    email: str
    token: str  # the unique part of `raw`, on its own
    email_token: str  # the unique part of `email`
    session_id: str
    traces: List[Dict[str, Any]]

    @property
    def hashed(self) -> str:
        return self.traces[0]["userId"]

    @property
    def trace_ids(self) -> List[str]:
        return [t["id"] for t in self.traces]


def send_user(server, name: str) -> SentUser:
    """Runs privacy_scenario.py for a fresh raw user id and waits until both traces are readable."""
    token, email_token = uuid.uuid4().hex, uuid.uuid4().hex
    raw = f"{name}.{token}@example.com"
    email = f"planted.{email_token}@example.org"
    session_id = f"sess-privacy-{uuid.uuid4().hex[:12]}"
    run_scenario("privacy_scenario.py", server.url, session_id, None, extra_env={
        "PARLEY_PRIVACY_USER_ID": raw, "PARLEY_PRIVACY_EMAIL": email, "PARLEY_PRIVACY_PHONE": PHONE,
    })
    traces = poll_list(server.url, "/api/public/traces", {"sessionId": session_id}, expect=2)
    return SentUser(raw=raw, email=email, token=token, email_token=email_token, session_id=session_id, traces=traces)


@pytest.fixture(scope="module")
def alice(privacy_server) -> SentUser:
    return send_user(privacy_server, "alice")


# ---------------------------------------------------------------------------------------------
# helpers


def api(method: str, base_url: str, path: str, params: Optional[Dict[str, Any]] = None) -> requests.Response:
    return requests.request(method, base_url + path, params=params, auth=(PUBLIC_KEY, SECRET_KEY), timeout=10)


def get_json(base_url: str, path: str, params: Optional[Dict[str, Any]] = None) -> Any:
    answer = api("GET", base_url, path, params)
    assert answer.status_code == 200, f"GET {path} {params or ''}: {answer.status_code} {answer.text[:2000]}"
    return answer.json()


def poll_list(base_url: str, path: str, params: Dict[str, Any], expect: int) -> List[Dict[str, Any]]:
    """GET a list endpoint until it holds `expect` items; fails after POLL_LIMIT_S."""
    deadline = time.monotonic() + POLL_LIMIT_S
    while True:
        answer = api("GET", base_url, path, params)
        if answer.status_code == 200 and len(answer.json()["data"]) >= expect:
            return answer.json()["data"]
        if time.monotonic() > deadline:
            pytest.fail(f"GET {path} {params} never listed {expect} items within {POLL_LIMIT_S:.0f} s: "
                        f"{answer.status_code} {answer.text[:2000]}")
        time.sleep(POLL_INTERVAL_S)


def user_path(user_id: str) -> str:
    return "/api/public/users/" + quote(user_id, safe="")


def text(value: Any) -> str:
    """A stored value as one string to search (JSON text for objects and arrays)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def raw_forms(value: str) -> List[str]:
    """A value as it could appear in a log line: as is, percent-encoded (path and query forms)."""
    return sorted({value, quote(value, safe=""), quote(value), quote_plus(value)})


def database_bytes(server) -> Dict[str, bytes]:
    """The database file and its WAL (where recent commits live until a checkpoint), by name."""
    files = {}
    for path in (Path(server.db), Path(str(server.db) + "-wal")):
        if path.exists():
            files[path.name] = path.read_bytes()
    assert files, f"no database file at {server.db}"
    return files


def rows_mentioning(server, needles: Iterable[str], tables: Iterable[str] = ERASED_TABLES) -> Dict[str, List[Any]]:
    """Every row, in a read-only connection, with a column value that contains one of `needles`."""
    needles = list(needles)
    found: Dict[str, List[Any]] = {}
    connection = sqlite3.connect(f"file:{server.db}?mode=ro", uri=True, timeout=10)
    try:
        for table in tables:
            for row in connection.execute(f"SELECT * FROM {table}"):
                values = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row if v is not None]
                if any(needle in value for needle in needles for value in values):
                    found.setdefault(table, []).append(row)
    finally:
        connection.close()
    return found


def access_log_count(server, route: str) -> int:
    return sum(1 for line in server.log_text().splitlines() if route in line)


def wait_for_access_log(server, route: str, count: int) -> None:
    """Waits until the server's log shows `count` lines for `route`."""
    deadline = time.monotonic() + POLL_LIMIT_S
    while access_log_count(server, route) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"the access log never showed {count} lines with {route!r}:\n{server.log_text()}")
        time.sleep(POLL_INTERVAL_S)


# ---------------------------------------------------------------------------------------------
# 1. what the read API shows: hashed user ids, masked input


def test_user_id_is_hashed_and_personal_data_masked(privacy_server, alice):
    assert len(alice.traces) == 2, alice.traces
    user_ids = {t["userId"] for t in alice.traces}
    assert len(user_ids) == 1, user_ids
    (hashed,) = user_ids
    assert hashed.startswith("u_") and len(hashed) == 34, hashed
    assert HASHED.match(hashed), hashed
    assert hashed != alice.raw

    for listed in alice.traces:
        assert listed["sessionId"] == alice.session_id, listed
        assert listed["name"] == "privacy-turn", listed
        for field in ("input", "output"):
            value = text(listed[field])
            assert "[EMAIL]" in value, (field, listed[field])
            assert alice.email not in value and alice.email_token not in value, (field, listed[field])
        assert PHONE_DIGITS not in text(listed["input"]), listed["input"]

        # the single-trace read, with its observations: the generation's input, output and
        # metadata are masked too, and nothing in the whole answer names the user or the address
        trace = get_json(privacy_server.url, f"/api/public/traces/{listed['id']}")
        assert trace["userId"] == hashed, trace
        whole = json.dumps(trace, ensure_ascii=False)
        for needle in (alice.raw, alice.token, alice.email, alice.email_token, PHONE_DIGITS):
            assert needle not in whole, (needle, trace)
        generations = [o for o in trace["observations"] if o["name"] == "llm-call"]
        assert len(generations) == 1, trace["observations"]
        (generation,) = generations
        assert generation["type"] == "GENERATION", generation
        for field in ("input", "output", "metadata"):
            assert "[EMAIL]" in text(generation[field]), (field, generation[field])


# ---------------------------------------------------------------------------------------------
# 2. the raw id still finds the user: /users/{id} and the userId filters


def test_users_api_and_filters_take_the_raw_id(privacy_server, alice):
    base = privacy_server.url
    user = get_json(base, user_path(alice.raw))
    assert user["id"] == alice.hashed, user
    assert user["traces"] == 2, user
    assert user["sessions"] == 1, user
    assert [s["id"] for s in user["recentSessions"]] == [alice.session_id], user
    # the hashed id, as read back, names the same user
    assert get_json(base, user_path(alice.hashed))["id"] == alice.hashed

    by_user = get_json(base, "/api/public/traces", {"userId": alice.raw})["data"]
    assert sorted(t["id"] for t in by_user) == sorted(alice.trace_ids), by_user
    assert {t["userId"] for t in by_user} == {alice.hashed}, by_user
    sessions = get_json(base, "/api/public/sessions", {"userId": alice.raw})["data"]
    assert [s["id"] for s in sessions] == [alice.session_id], sessions
    assert sessions[0]["userId"] == alice.hashed, sessions[0]

    # an id nobody sent is not found
    missing = api("GET", base, user_path(f"nobody.{uuid.uuid4().hex}@example.com"))
    assert missing.status_code == 404, missing.text


# ---------------------------------------------------------------------------------------------
# 3. the raw id and the planted address are nowhere on disk or in the log


def test_raw_id_and_email_never_reach_database_or_log(privacy_server, alice):
    base = privacy_server.url
    # requests that carry raw ids in their path and query string, found and not found
    stranger = f"stranger.{uuid.uuid4().hex}@example.com"
    route = "/api/public/users/:userId"
    before = access_log_count(privacy_server, route)
    assert api("GET", base, user_path(alice.raw)).status_code == 200
    assert api("GET", base, user_path(stranger)).status_code == 404
    assert api("GET", base, "/api/public/traces", {"userId": alice.raw}).status_code == 200
    assert api("GET", base, "/api/public/sessions", {"userId": alice.raw}).status_code == 200
    assert api("GET", base, "/api/public/traces", {"userId": stranger}).status_code == 200
    wait_for_access_log(privacy_server, route, before + 2)

    secrets = [alice.raw, alice.token, alice.email, alice.email_token, stranger]
    files = database_bytes(privacy_server)
    stored = b"".join(files.values())
    # sanity: these are the files the data went to
    assert alice.hashed.encode() in stored, sorted(files)
    assert b"[EMAIL]" in stored, sorted(files)
    for name, content in files.items():
        for secret in secrets:
            assert secret.encode() not in content, f"{secret!r} found in {name}"

    log = privacy_server.log_text()
    assert "GET /api/public/traces" in log, log
    for secret in secrets:
        for form in raw_forms(secret):
            assert form not in log, f"{form!r} found in the server log:\n{log}"


# ---------------------------------------------------------------------------------------------
# 4. erasure: DELETE /users/{raw id}


def test_erasure_by_raw_id_removes_every_row_of_the_user(privacy_server, alice):
    base = privacy_server.url
    bob = send_user(privacy_server, "bob")
    assert bob.hashed != alice.hashed
    assert get_json(base, user_path(bob.raw))["traces"] == 2

    answer = api("DELETE", base, user_path(bob.raw))
    assert answer.status_code in (200, 202), f"{answer.status_code} {answer.text}"
    job = answer.json()
    assert job["kind"] == "user", job
    if answer.status_code == 202:
        location = answer.headers.get("Location")
        assert location and location.startswith("/api/public/deletions/"), dict(answer.headers)
        deadline = time.monotonic() + POLL_LIMIT_S
        while job["status"] != "done":
            if time.monotonic() > deadline:
                pytest.fail(f"deletion {location} not done within {POLL_LIMIT_S:.0f} s: {job}")
            time.sleep(POLL_INTERVAL_S)
            polled = requests.get(urljoin(base, location), auth=(PUBLIC_KEY, SECRET_KEY), timeout=10)
            assert polled.status_code == 200, f"GET {location}: {polled.status_code} {polled.text}"
            job = polled.json()
    assert job["status"] == "done", job
    assert job["deletedTraces"] == 2, job
    assert job["deletedSessions"] == 1, job

    # the API no longer knows the user, by either form of the id
    assert api("GET", base, user_path(bob.raw)).status_code == 404
    assert api("GET", base, user_path(bob.hashed)).status_code == 404
    assert get_json(base, "/api/public/traces", {"sessionId": bob.session_id})["data"] == []
    assert get_json(base, "/api/public/traces", {"userId": bob.raw})["data"] == []
    assert get_json(base, "/api/public/sessions", {"userId": bob.raw})["data"] == []
    assert api("GET", base, f"/api/public/sessions/{quote(bob.session_id, safe='')}").status_code == 404
    for trace_id in bob.trace_ids:
        assert api("GET", base, f"/api/public/traces/{trace_id}").status_code == 404
    # erasing again: nothing left to find
    assert api("DELETE", base, user_path(bob.raw)).status_code == 404

    # and no row of the database names the user, the session or its traces (the finished job's
    # target is blanked too)
    left = rows_mentioning(privacy_server, [bob.hashed, bob.session_id, *bob.trace_ids])
    assert left == {}, left

    # the other user is untouched
    other = get_json(base, user_path(alice.raw))
    assert (other["id"], other["traces"], other["sessions"]) == (alice.hashed, 2, 1), other
    assert sorted(t["id"] for t in get_json(base, "/api/public/traces", {"sessionId": alice.session_id})["data"]) \
        == sorted(alice.trace_ids)
    assert rows_mentioning(privacy_server, [alice.hashed], tables=("traces", "sessions", "users"))


def test_export_streams_the_users_traces_and_sessions(privacy_server, alice):
    """GET /api/public/export/* over a real socket: chunked, and the same items as the lists."""
    base = privacy_server.url
    answer = requests.get(base + "/api/public/export/traces", params={"userId": alice.raw},
                          auth=(PUBLIC_KEY, SECRET_KEY), timeout=30, stream=True)
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers.get("Transfer-Encoding") == "chunked", answer.headers
    assert "Content-Length" not in answer.headers, answer.headers
    assert answer.headers["Content-Type"] == "application/x-ndjson"
    exported = [json.loads(line) for line in answer.iter_lines() if line]
    assert sorted(t["id"] for t in exported) == sorted(alice.trace_ids), exported
    listed = {t["id"]: t for t in alice.traces}
    for trace in exported:
        assert trace["userId"] == alice.hashed, trace
        assert trace["input"] == listed[trace["id"]]["input"], trace
        assert alice.email not in json.dumps(trace), trace

    answer = api("GET", base, "/api/public/export/sessions", {"format": "csv", "userId": alice.raw})
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [row["id"] for row in rows] == [alice.session_id], rows
    assert rows[0]["userId"] == alice.hashed and rows[0]["turnCount"] == "2", rows[0]
