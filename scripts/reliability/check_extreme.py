"""Extreme values (issue #17): well-formed requests whose numbers and dates sit at the ends of
their ranges, through every ingestion path (batch, POST /traces, /scores, OTLP protobuf and
JSON), the session calls, every settings call (PATCH and `parley projects set`) and the read
API's query parameters, against a live server whose address space is capped as by `ulimit -v`
(ADDRESS_SPACE): a request that makes it allocate without bound kills it.

Each case asserts its answer (the documented 4xx with the JSON error shape, a per-event 400 in a
207, or success), then three things: the server answers health; a normal batch is acknowledged
within ACK_SECONDS (a stuck writer fails here); the reads of the session the case touched answer.
At the end the server is stopped, the database is given what an older version could have
stored (settings past their bounds, a turn number of Int64.max), and the server must start on
it, run its sweepers and serve.

First the semantic fuzz target runs: `parley-fuzz extreme-values` over its seed corpus and over
generated inputs (FUZZ_INPUTS; libFuzzer drives the same generator in the full fuzz check).

Figures: cases, the slowest normal acknowledgement after a case, peak resident memory and the
address space at its peak, the fuzz inputs run."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

from common import Context, Parley, Result, iso, log, small_batch
from parleykit import otlp

NAME = "extreme-values"
FAST = True
ORDER = 36

ADDRESS_SPACE = 2 << 30       # ulimit -v: the idle debug server maps about 750 MiB
ACK_SECONDS = 5.0             # a normal batch after each case is acknowledged within this
FUZZ_INPUTS = {True: 2_000, False: 20_000}
CORPUS = Path(__file__).resolve().parent / "fuzz" / "corpus" / "extreme-values"

INT64_MAX = 2**63 - 1
INT64_MIN = -2**63
UINT64_MAX = 2**64 - 1
TRACKING_KEYS = [
    "turn.number", "conversation.turn_number", "conversation.total_turns", "turn.latency_ms", "turn.tool_calls",
    "context.tokens", "context.limit", "context.window_pct", "context.messages_pruned", "journey.stage_number",
    "journey.total_stages", "journey.conversion_turn", "journey.time_in_stage_ms",
]


class Checker:
    """Sends the cases and checks the server after each one."""

    def __init__(self, server: Parley, project_id: str) -> None:
        self.server, self.project_id = server, project_id
        self.problems: list[str] = []
        self.cases = 0
        self.slowest_ack = 0.0

    def problem(self, text: str) -> None:
        self.problems.append(text)
        log(f"PROBLEM {text}")

    def send(self, label: str, method: str, path: str, body=None, headers=None, expect: set[int] = frozenset({200}),
             rejected: set[str] = frozenset(), session: str | None = None) -> dict | None:
        """One case: the request, its answer, then the server's health. For a batch (207),
        `rejected` names the events that must get a 400 entry; every other one must succeed."""
        self.cases += 1
        try:
            status, response_headers, data = self.server.request(method, path, body, headers, timeout=60)
        except OSError as error:
            self.problem(f"{label}: {error!r}")
            self.after(label, session)
            return None
        answer = None
        if status not in expect:
            self.problem(f"{label}: answered {status}, expected {sorted(expect)}: {data[:200]!r}")
        if response_headers.get("content-type", "").startswith("application/json") and data:
            answer = json.loads(data)
        if 400 <= status < 500 and not (isinstance(answer, dict) and answer.get("message") and answer.get("error")):
            self.problem(f"{label}: a {status} without the JSON error shape: {data[:200]!r}")
        if status == 207 and isinstance(answer, dict):
            refused = {entry["id"] for entry in answer.get("errors", []) if entry.get("status") == 400}
            others = [entry for entry in answer.get("errors", []) if entry.get("status") != 400]
            if refused != set(rejected) or others:
                self.problem(f"{label}: per-event 400s for {sorted(refused)}, expected {sorted(rejected)}; other errors {others}")
        self.after(label, session)
        return answer

    def after(self, label: str, session: str | None) -> None:
        """Health, a normal acknowledgement in time, and the touched session's reads."""
        try:
            status, _, _ = self.server.request("GET", "/api/public/health", timeout=10)
            if status != 200:
                self.problem(f"after {label}: health answered {status}")
        except OSError as error:
            self.problem(f"after {label}: health failed ({error!r}); server alive: {self.server.alive()}")
            return
        batch, ids = small_batch(f"after-{label}")
        started = time.monotonic()
        try:
            status, _, data = self.server.request("POST", "/api/public/ingestion", batch, timeout=ACK_SECONDS)
            took = time.monotonic() - started
            self.slowest_ack = max(self.slowest_ack, took)
            successes = {entry["id"] for entry in json.loads(data).get("successes", [])} if status == 207 else set()
            if successes != set(ids):
                self.problem(f"after {label}: a normal batch answered {status} {data[:160]!r}")
        except OSError as error:
            self.problem(f"after {label}: a normal batch was not acknowledged within {ACK_SECONDS:.0f} s ({error!r})")
        if session is not None:
            for path in (f"/api/public/sessions/{session}", f"/api/public/traces?sessionId={session}",
                         "/api/public/analytics/sessions", "/api/public/sessions?orderBy=cost.desc"):
                try:
                    status, _, data = self.server.request("GET", path, timeout=10)
                    if status != 200:
                        self.problem(f"after {label}: GET {path} answered {status}: {data[:160]!r}")
                except OSError as error:
                    self.problem(f"after {label}: GET {path} failed ({error!r})")


def envelope(kind: str, body: dict, event_id: str | None = None, timestamp: str | None = None) -> dict:
    return {"id": event_id or str(uuid.uuid4()), "type": kind, "timestamp": timestamp or iso(), "body": body}


def raw_number(value) -> str:
    """JSON text of a number as written (1e308 stays a float, Int64 stays an integer)."""
    return json.dumps(value)


def batch_cases(check: Checker) -> None:
    # The reproduction: a turn number of 10^8 stalled the writer for good.
    for label, number in [("turn 1e8", 100_000_000), ("turn Int64.max", INT64_MAX), ("turn Int64.min", INT64_MIN),
                          ("turn as text", str(INT64_MAX)), ("turn 1e308", 1e308), ("turn -1e308", -1e308)]:
        session = f"x-{uuid.uuid4().hex[:8]}"
        check.send(f"batch {label}", "POST", "/api/public/ingestion",
                   {"batch": [envelope("trace-create", {"id": str(uuid.uuid4()), "sessionId": session,
                                                        "metadata": {"turn.number": number}})]},
                   expect={207}, session=session)
    session = f"x-{uuid.uuid4().hex[:8]}"
    check.send("batch turns 1 and 10^9 in one session", "POST", "/api/public/ingestion", {"batch": [
        envelope("trace-create", {"id": str(uuid.uuid4()), "sessionId": session, "metadata": {"turn.number": 1}}),
        envelope("trace-create", {"id": str(uuid.uuid4()), "sessionId": session, "metadata": {"turn.number": 10**9}}),
    ]}, expect={207}, session=session)
    # Every tracking attribute at both ends of Int64 and of Double, one trace each.
    session = f"x-{uuid.uuid4().hex[:8]}"
    events = [envelope("trace-create", {"id": str(uuid.uuid4()), "sessionId": session, "metadata": {key: value}})
              for key in TRACKING_KEYS for value in (INT64_MAX, INT64_MIN, 1e308, -1)]
    check.send("batch every tracking number at its extremes", "POST", "/api/public/ingestion", {"batch": events},
               expect={207}, session=session)

    # Usage and cost: counts to ±10^12 and costs to 10^9 are stored; past them a per-event 400.
    session = f"x-{uuid.uuid4().hex[:8]}"
    trace = str(uuid.uuid4())
    ok = [envelope("trace-create", {"id": trace, "sessionId": session}),
          envelope("generation-create", {"id": str(uuid.uuid4()), "traceId": trace,
                                         "usageDetails": {"input": 10**12, "output": 10**12, "total": 10**12},
                                         "costDetails": {"total": 1e9}}),
          envelope("generation-create", {"id": str(uuid.uuid4()), "traceId": trace,
                                         "usage": {"input": -10**12, "output": 0, "totalCost": 0.0}})]
    bad = {
        "count past 1e12": {"usageDetails": {"input": 10**12 + 1}},
        "count Int64.max": {"usage": {"input": INT64_MAX}},
        "OpenAI count Int64.min": {"usageDetails": {"prompt_tokens": INT64_MIN, "completion_tokens": 1}},
        "cost 1e308": {"costDetails": {"total": 1e308}},
        "cost past 1e9": {"usage": {"totalCost": 1e9 + 1}},
    }
    events = ok + [envelope("generation-create", {"id": str(uuid.uuid4()), "traceId": trace, **body}, event_id=name)
                   for name, body in bad.items()]
    check.send("batch usage and cost at and past their bounds", "POST", "/api/public/ingestion", {"batch": events},
               expect={207}, rejected=set(bad), session=session)

    # Timestamps at the ends of the calendar: years 0000 to 9999 in UTC, nothing outside.
    session = f"x-{uuid.uuid4().hex[:8]}"
    trace = str(uuid.uuid4())
    events = [
        envelope("trace-create", {"id": trace, "sessionId": session, "timestamp": "0000-01-01T00:00:00Z"},
                 timestamp="0000-01-01T00:00:00Z"),
        envelope("span-create", {"id": str(uuid.uuid4()), "traceId": trace, "startTime": "9999-12-31T23:59:59.999999999Z",
                                 "endTime": "0000-01-01T00:00:00Z"}, timestamp="9999-12-31T23:59:59.999999Z"),
        envelope("generation-create", {"id": str(uuid.uuid4()), "traceId": trace, "startTime": "0000-01-01T00:00:00Z",
                                       "endTime": "9999-12-31T23:59:59Z", "completionStartTime": "2000-02-29T00:00:00+23:59"}),
        envelope("trace-create", {"id": str(uuid.uuid4())}, event_id="year -1", timestamp="0000-01-01T00:00:00+23:59"),
        envelope("trace-create", {"id": str(uuid.uuid4()), "timestamp": "9999-12-31T23:59:59-23:59"}, event_id="year 10000"),
    ]
    check.send("batch times at the ends of the calendar", "POST", "/api/public/ingestion", {"batch": events},
               expect={207}, rejected={"year -1", "year 10000"}, session=session)

    # Scores: |value| to 10^15 stored and averaged; past it a per-event 400.
    session = f"x-{uuid.uuid4().hex[:8]}"
    trace = str(uuid.uuid4())
    events = [envelope("trace-create", {"id": trace, "sessionId": session})]
    events += [envelope("score-create", {"traceId": trace, "name": "user_satisfaction", "value": value})
               for value in (1e15, -1e15, 5e-324, -0.0)]
    events += [envelope("score-create", {"traceId": trace, "name": "user_satisfaction", "value": value}, event_id=name)
               for name, value in [("score 1e308", 1e308), ("score Int64.max", INT64_MAX), ("score -1e16", -1e16)]]
    events.append(envelope("score-create", {"sessionId": session, "name": "csat", "value": 1e15}))
    check.send("batch scores at and past their bound", "POST", "/api/public/ingestion", {"batch": events},
               expect={207}, rejected={"score 1e308", "score Int64.max", "score -1e16"}, session=session)


def other_write_cases(check: Checker) -> None:
    session = f"x-{uuid.uuid4().hex[:8]}"
    trace = str(uuid.uuid4())
    check.send("POST /traces with extreme metadata", "POST", "/api/public/traces",
               {"id": trace, "sessionId": session, "timestamp": "0000-01-01T00:00:00Z",
                "metadata": {"turn.number": INT64_MAX, "journey.stage_number": INT64_MIN, "context.window_pct": 1e308}},
               expect={200, 201, 207}, session=session)
    check.send("POST /scores 1e308", "POST", "/api/public/scores", {"traceId": trace, "name": "n", "value": 1e308},
               expect={400}, session=session)
    check.send("POST /scores 1e15", "POST", "/api/public/scores", {"traceId": trace, "name": "n", "value": 1e15},
               expect={200}, session=session)
    # Session calls at the ends of the calendar.
    session = f"x-{uuid.uuid4().hex[:8]}"
    check.send("POST /sessions starting in year 0000", "POST", "/api/public/sessions",
               {"id": session, "startTime": "0000-01-01T00:00:00Z"}, expect={201}, session=session)
    check.send("POST /sessions/{id}/end in year 9999", "POST", f"/api/public/sessions/{session}/end",
               {"endTime": "9999-12-31T23:59:59.999Z", "reason": "completed"}, expect={200}, session=session)
    check.send("POST /sessions/{id}/end after year 9999", "POST", f"/api/public/sessions/{session}/end",
               {"endTime": "9999-12-31T23:59:59-01:00"}, expect={400}, session=session)


def otlp_cases(check: Checker) -> None:
    def attribute(key: str, value: dict) -> dict:
        return {"key": key, "value": value}

    session = f"x-{uuid.uuid4().hex[:8]}"
    attributes = [attribute("session.id", {"stringValue": session}),
                  attribute("turn.number", {"intValue": str(INT64_MIN)}),
                  attribute("gen_ai.usage.input_tokens", {"intValue": str(INT64_MAX)}),
                  attribute("gen_ai.usage.output_tokens", {"intValue": str(10**12)}),
                  attribute("gen_ai.usage.cost", {"doubleValue": "Infinity"}),
                  attribute("llm.cost.total", {"doubleValue": 1.7976931348623157e308}),
                  attribute("context.window_pct", {"doubleValue": "NaN"}),
                  attribute("journey.time_in_stage_ms", {"intValue": str(INT64_MAX)})]
    spans = [
        {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "late",
         "startTimeUnixNano": str(UINT64_MAX), "endTimeUnixNano": "0", "attributes": attributes,
         "events": [{"name": "exception", "timeUnixNano": str(UINT64_MAX)}], "status": {"code": 2}},
        {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203332", "parentSpanId": "b7ad6b7169203331",
         "name": "early", "startTimeUnixNano": "1", "endTimeUnixNano": str(UINT64_MAX), "attributes": attributes},
    ]
    check.send("OTLP/JSON extreme times and numbers", "POST", "/api/public/otel/v1/traces",
               {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}, expect={200}, session=session)

    # The same in protobuf, where doubles may be infinite or NaN and int64 negative.
    session = f"x-{uuid.uuid4().hex[:8]}"

    values = [("session.id", otlp.string_value(session)), ("turn.number", otlp.int_value(INT64_MIN)),
              ("gen_ai.usage.input_tokens", otlp.int_value(INT64_MAX)),
              ("gen_ai.usage.cost", otlp.double_value(float("inf"))),
              ("context.window_pct", otlp.double_value(float("nan"))),
              ("conversation.total_turns", otlp.double_value(-1.7976931348623157e308))]
    span = otlp.span(bytes.fromhex("1af7651916cd43dd8448eb211c80319c"), bytes.fromhex("c7ad6b7169203331"), "proto",
                     UINT64_MAX, 0, values, kind=None)
    body = otlp.export_request([span])
    check.send("OTLP protobuf extreme times and numbers", "POST", "/api/public/otel/v1/traces", body,
               headers={"Content-Type": "application/x-protobuf"}, expect={200}, session=session)


def settings_cases(check: Checker, binary: str, db: Path) -> None:
    path = f"/api/public/projects/{check.project_id}/settings"
    for label, body in [("retentionDays Int64.max", {"retentionDays": INT64_MAX}),
                        ("retentionDays 36501", {"retentionDays": 36_501}),
                        ("inactivityTimeoutSeconds Int64.max", {"inactivityTimeoutSeconds": INT64_MAX}),
                        ("inactivityTimeoutSeconds 1e300", {"inactivityTimeoutSeconds": 1e300}),
                        ("contextWindows Int64.max", {"contextWindows": {"gpt-4o": INT64_MAX}}),
                        ("1,001 contextWindows", {"contextWindows": {f"m-{i}": 1000 for i in range(1001)}})]:
        check.send(f"PATCH {label}", "PATCH", path, body, expect={400}, session="x-baseline")
    check.send("PATCH settings at their bounds", "PATCH", path,
               {"retentionDays": 36_500, "inactivityTimeoutSeconds": 31_536_000,
                "contextWindows": {f"m-{i}": 10**9 for i in range(1000)}}, expect={200}, session="x-baseline")
    # The CLI on the same database: refused past the bounds, with the reason, without writing.
    for flags, accepted in [(["--retention-days", str(INT64_MAX)], False), (["--retention-days", "36501"], False),
                            (["--inactivity-timeout", "31536001"], False), (["--context-window", f"m={INT64_MAX}"], False),
                            (["--retention-days", "36500"], True)]:
        check.cases += 1
        process = subprocess.run([binary, "projects", "set", "default", *flags, "--db", str(db)],
                                 capture_output=True, text=True, timeout=60)
        if (process.returncode == 0) != accepted:
            check.problem(f"parley projects set {' '.join(flags)}: exit {process.returncode}: {process.stderr.strip()[-200:]}")
        elif not accepted and "must" not in process.stderr and "takes" not in process.stderr:
            check.problem(f"parley projects set {' '.join(flags)}: no reason given: {process.stderr.strip()[-200:]}")
        check.after(f"parley projects set {' '.join(flags)}", "x-baseline")


def query_cases(check: Checker) -> None:
    many = "&".join(f"environment=e{i}" for i in range(101))
    filters = "&".join(f"metadata[k{i}]=v" for i in range(21))
    for path in ["/api/public/sessions?page=99999999999999999999", "/api/public/sessions?limit=-9223372036854775808",
                 "/api/public/sessions?fromTimestamp=0000-01-01T00:00:00%2B23:59", f"/api/public/sessions?{many}",
                 f"/api/public/sessions?{filters}", "/api/public/v2/scores?valueMin=nan", "/api/public/v2/scores?valueMax=-inf",
                 "/api/public/v2/observations?limit=9223372036854775807", "/api/public/quality?samples=9223372036854775807",
                 "/api/public/analytics/dropoff?limit=1000000"]:
        check.send(f"GET {path[:60]}", "GET", path, expect={400}, session="x-baseline")
    for path in ["/api/public/sessions?page=1000000&limit=100", "/api/public/sessions?minTurns=9223372036854775807",
                 "/api/public/sessions?fromTimestamp=0000-01-01T00:00:00Z&toTimestamp=9999-12-31T23:59:59.999999Z",
                 "/api/public/traces?fromTimestamp=9999-12-31T23:59:59Z", "/api/public/v2/scores?valueMin=-1.7976931348623157e308",
                 "/api/public/users?page=1000000", "/api/public/metrics/daily?fromTimestamp=0000-01-01T00:00:00Z",
                 "/api/public/analytics/journeys", "/api/public/quality?fromTimestamp=0000-01-01T00:00:00Z"]:
        check.send(f"GET {path[:60]}", "GET", path, expect={200}, session="x-baseline")


def restart(check: Checker, server: Parley, db: Path) -> None:
    """Stops the server, stores what an older version could have left, and starts it again."""
    server.stop()
    connection = sqlite3.connect(str(db))
    try:
        connection.execute("UPDATE projects SET settings = json_set(settings, '$.retentionDays', 9223372036854775807, "
                           "'$.inactivityTimeoutSeconds', 9223372036854775807)")
        connection.execute("UPDATE traces SET turn_number = 9223372036854775807 WHERE session_id = 'x-baseline'")
        connection.execute("UPDATE traces SET turn_number = -9223372036854775808 WHERE rowid = (SELECT max(rowid) FROM traces)")
        connection.commit()
    finally:
        connection.close()
    check.cases += 1
    try:
        server.start()
    except RuntimeError as error:
        check.problem(f"restart on the same database: {error}")
        return
    # The sweepers run at start; give them a moment, then everything must still answer.
    time.sleep(2)
    if not server.alive():
        check.problem(f"the restarted server died: {server.log_text()[-1500:]}")
        return
    check.after("restart", "x-baseline")
    # A new turn in the session whose stored turn number is Int64.max refreshes its analysis.
    check.send("a turn after a stored Int64.max turn number", "POST", "/api/public/ingestion",
               {"batch": [envelope("trace-create", {"id": str(uuid.uuid4()), "sessionId": "x-baseline"})]},
               expect={207}, session="x-baseline")


def fuzz(context: Context) -> Result:
    binary = Path(context.binary).parent / "parley-fuzz"
    if not binary.exists():
        return Result("extreme-values fuzz", 0, False, f"{binary} is missing: build it with `swift build --product parley-fuzz`")
    seeds = sorted(CORPUS.iterdir())
    count = FUZZ_INPUTS[context.fast]
    started = time.monotonic()
    replay = subprocess.run([str(binary), "extreme-values", str(CORPUS)], capture_output=True, text=True, timeout=600)
    generated = subprocess.run([str(binary), "extreme-values", "--random", str(count)], capture_output=True, text=True,
                               timeout=600 + count // 10)
    seconds = time.monotonic() - started
    details = []
    for name, process in (("seed corpus", replay), ("generated inputs", generated)):
        if process.returncode != 0:
            details.append(f"{name}: exit {process.returncode}: {(process.stdout + process.stderr).strip()[-1500:]}")
    passed = not details
    return Result("extreme-values fuzz", len(seeds) + count, passed,
                  f"{len(seeds)} seeds and {count:,} generated requests through validation, merge and analysis in "
                  f"{seconds:.0f} s, {'no failure' if passed else 'FAILED'}", details)


def run(context: Context) -> list[Result]:
    results = [fuzz(context)]
    with context.serve("extreme", address_space_bytes=ADDRESS_SPACE) as server:
        db = server.db
        _, _, data = server.request("GET", "/api/public/projects")
        project_id = json.loads(data)["data"][0]["id"]
        check = Checker(server, project_id)
        log(f"server under a {ADDRESS_SPACE >> 20} MiB address-space cap, address space at start "
            f"{server.rss_kb('VmSize') >> 10} MiB")
        check.send("baseline turn", "POST", "/api/public/ingestion",
                   {"batch": [envelope("trace-create", {"id": str(uuid.uuid4()), "sessionId": "x-baseline",
                                                        "metadata": {"turn.number": 1}})]}, expect={207}, session="x-baseline")
        batch_cases(check)
        other_write_cases(check)
        otlp_cases(check)
        settings_cases(check, context.binary, db)
        query_cases(check)
        peak_rss, peak_vm = (server.rss_kb("VmHWM"), server.rss_kb("VmPeak")) if server.alive() else (0, 0)
        if not server.alive():
            check.problem(f"the server died: {server.log_text()[-1500:]}")
        restart(check, server, db)
        if server.alive():
            peak_rss, peak_vm = max(peak_rss, server.rss_kb("VmHWM")), max(peak_vm, server.rss_kb("VmPeak"))
    figures = (f"{check.cases} cases, {len(check.problems)} problems; slowest normal ack after a case "
               f"{check.slowest_ack * 1000:.0f} ms; peak RSS {peak_rss >> 10} MiB, address space {peak_vm >> 10} MiB "
               f"of a {ADDRESS_SPACE >> 20} MiB cap; restart on the stored extremes served")
    results.append(Result("extreme-values live", check.cases, not check.problems, figures, check.problems[:20]))
    return results
