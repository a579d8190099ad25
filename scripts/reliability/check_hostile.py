"""Hostile clients: loads that must not stop a normal client from being served.

Each sub-check starts its own server, puts one hostile load on it from a child process (so the
load's Python work does not share an interpreter lock with the measuring client), and meanwhile
runs a normal client on keep-alive connections (every tenth request on a fresh one): small valid
ingestion batches alternating with GET /api/public/health, paced at about 50 requests/s. A
sub-check passes when every normal request was answered correctly (207 naming both events, or
200 {"status": "OK"}), every event acknowledged to it is stored, the load itself got what
docs/CONFIGURATION.md promises, the server is still up and serving a new connection, and its
open-connection gauge goes back down once the load is gone (no leaked connections). Latencies
and resident memory are reported as figures, never asserted.

Loads (full variant; --fast uses smaller numbers and shorter server timeouts):
  slow headers   1,000 connections writing a request head one byte every 0.5 s; each must be
                 answered 408 with the JSON error body (or closed) once the header timeout
                 passes; a slot that ends is reopened while the normal client runs
  idle           10,000 keep-alive connections that made one request and then say nothing:
                 held while younger than the idle timeout, closed by the server after it
  vanish         clients that send headers and half a body (or half the headers) and then close
                 or reset; nothing of theirs is stored
  half-closed    a full request (pipelined after a GET) then shutdown(SHUT_WR): both answers
                 must still arrive, the last with Connection: close
  pipelined      connections that write thousands of requests back to back without reading
                 (GET /metrics, padded, alternating with small batches; more than the kernel's
                 socket buffers hold), then read every answer, in order (X-Request-Id echoed)
  TLS stalls     TLS clients that connect and say nothing, send half a ClientHello, or send a
                 ClientHello and never finish the handshake; each must be dropped after the
                 handshake timeout, while a normal client is served over TLS and plain HTTP
"""
from __future__ import annotations

import errno
import http.client
import json
import multiprocessing
import os
import selectors
import socket
import ssl
import struct
import threading
import time
import uuid
from dataclasses import dataclass

from common import (AUTH, Context, Parley, Result, dev_certificates, guarded, log, parse_response, percentile,
                    raw_request, read_response, request, small_batch, stored_event_ids, wait_for_open_connections)

NAME = "hostile"
FAST = True
ORDER = 30


@dataclass
class Scale:
    slow: int
    slow_interval: float
    idle: int
    flood_connections: int
    flood_requests: int
    tls_stalls: int
    normal_seconds: float
    # Server timeouts; None keeps the documented default (header 10 s, idle 60 s, handshake 10 s).
    header_timeout: float | None
    idle_timeout: float | None
    handshake_timeout: float | None

    def timeout_args(self) -> list[str]:
        args = []
        for flag, value in (("--header-timeout", self.header_timeout), ("--idle-timeout", self.idle_timeout),
                            ("--tls-handshake-timeout", self.handshake_timeout)):
            if value is not None:
                args += [flag, f"{value:g}"]
        return args

    @property
    def header(self) -> float:
        return self.header_timeout or 10.0

    @property
    def idle_seconds(self) -> float:
        return self.idle_timeout or 60.0

    @property
    def handshake(self) -> float:
        return self.handshake_timeout or 10.0


FULL = Scale(slow=1000, slow_interval=0.5, idle=10_000, flood_connections=4, flood_requests=5000,
             tls_stalls=300, normal_seconds=8, header_timeout=None, idle_timeout=None, handshake_timeout=None)
QUICK = Scale(slow=100, slow_interval=0.25, idle=1000, flood_connections=2, flood_requests=300,
              tls_stalls=30, normal_seconds=1.5, header_timeout=1.5, idle_timeout=4, handshake_timeout=1.5)

# Outcomes are awaited at most this long past the server's own timeout: a load still open then
# was never timed out (a hang), which fails the sub-check. It bounds the wait; it is not a
# latency assertion.
GRACE = 15.0


# --- the normal client ----------------------------------------------------------------------

class NormalClient(threading.Thread):
    """Keep-alive requests at a steady pace, each checked; every tenth on a fresh connection."""

    def __init__(self, port: int, tls: ssl.SSLContext | None = None, pace: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.port, self.tls, self.pace = port, tls, pace
        self.stop_event = threading.Event()
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.acknowledged: list[str] = []
        self.served = {"ingestion": 0, "health": 0}

    def connect(self) -> http.client.HTTPConnection:
        if self.tls is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30, context=self.tls)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def run(self) -> None:
        connection = None
        count = 0
        while not self.stop_event.is_set():
            count += 1
            kind = "ingestion" if count % 2 else "health"
            if connection is None or count % 10 == 0:
                if connection is not None:
                    connection.close()
                connection = self.connect()
            started = time.monotonic()
            try:
                if kind == "ingestion":
                    body, ids = small_batch("normal")
                    status, _, data = request(connection, "POST", "/api/public/ingestion", body, auth=AUTH)
                    problem = None
                    if status != 207:
                        problem = f"ingestion answered {status}: {data[:160]!r}"
                    else:
                        answer = json.loads(data)
                        if sorted(item["id"] for item in answer.get("successes", [])) != sorted(ids) or answer.get("errors"):
                            problem = f"ingestion 207 without both events: {data[:160]!r}"
                else:
                    status, _, data = request(connection, "GET", "/api/public/health")
                    problem = None if status == 200 and json.loads(data).get("status") == "OK" \
                        else f"health answered {status}: {data[:160]!r}"
            except (OSError, http.client.HTTPException, ValueError) as error:
                self.failures.append(f"{kind}: {error!r}")
                connection.close()
                connection = None
                continue
            self.latencies.append(time.monotonic() - started)
            if problem:
                self.failures.append(problem)
            else:
                self.served[kind] += 1
                if kind == "ingestion":
                    self.acknowledged += ids
            self.stop_event.wait(self.pace)
        if connection is not None:
            connection.close()

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=60)
        if self.is_alive():
            self.failures.append("the normal client was still waiting for an answer 60 s after the load ended")

    def summary(self, label: str = "normal") -> str:
        p50, p99 = percentile(self.latencies, 0.5), percentile(self.latencies, 0.99)
        served = self.served["ingestion"] + self.served["health"]
        if p50 is None:
            return f"{label}: nothing answered"
        return f"{label} p50 {p50 * 1000:.1f} ms / p99 {p99 * 1000:.1f} ms ({served} served, {len(self.failures)} failed)"

    def problems(self, db) -> list[str]:
        problems = list(self.failures[:5])
        if len(self.failures) > 5:
            problems.append(f"... {len(self.failures) - 5} more failed normal requests")
        if self.served["ingestion"] == 0 or self.served["health"] == 0:
            problems.append(f"the normal client was not served: {self.served}")
        missing = set(self.acknowledged) - stored_event_ids(db, self.acknowledged)
        if missing:
            problems.append(f"{len(missing)} events acknowledged to the normal client are not stored")
        return problems


class Measurement:
    """Runs normal clients while something else happens, sampling the server's RSS."""

    def __init__(self, server: Parley, clients: list[NormalClient]) -> None:
        self.server, self.clients = server, clients
        self.rss_peak_kb = 0

    def run(self, seconds: float | None = None, until=None) -> None:
        for client in self.clients:
            client.start()
        started = time.monotonic()
        while True:
            if self.server.alive():
                self.rss_peak_kb = max(self.rss_peak_kb, self.server.rss_kb())
            elapsed = time.monotonic() - started
            if seconds is not None and elapsed >= seconds:
                break
            if until is not None and until() and elapsed >= 1.0:
                break
            time.sleep(0.1)
        for client in self.clients:
            client.stop()


def rss_figure(before_kb: int, peak_kb: int, after_kb: int) -> str:
    return f"RSS {before_kb / 1024:.0f}→{peak_kb / 1024:.0f}→{after_kb / 1024:.0f} MB"


def finish(server: Parley, name: str, trials: int, clients: list[NormalClient], load_problems: list[str],
           load_figures: str, rss_before: int, rss_peak: int, labels: list[str] | None = None) -> Result:
    """The common end of every sub-check: the server still up and serving, no connection left
    open, the normal clients' results, figures."""
    problems = list(load_problems)
    if not server.alive():
        problems.append(f"the server died (exit {server.process.returncode}); log tail: {server.log_text()[-800:]!r}")
        rss_after = 0
    else:
        rss_after = server.rss_kb()
        try:
            status, _, data = server.request("GET", "/api/public/health", timeout=30)
            if status != 200:
                problems.append(f"health on a new connection after the load: {status} {data[:100]!r}")
        except OSError as error:
            problems.append(f"a new connection after the load was not served: {error!r}")
        left = wait_for_open_connections(server)
        if left > 1:
            problems.append(f"{left - 1} connections still open on the server after the load ended")
    for client in clients:
        problems += client.problems(server.db)
    labels = labels or ["normal"] * len(clients)
    figures = "; ".join([client.summary(label) for client, label in zip(clients, labels)]
                        + [load_figures, rss_figure(rss_before, rss_peak, rss_after)])
    return Result(f"hostile: {name}", trials, not problems, figures, problems)


def start_server(context: Context, name: str, scale: Scale, tls=None):
    """The sub-check's server, with the scale's timeouts, as a context manager."""
    return context.serve(f"hostile-{name}", ["--log-level", "warning"] + scale.timeout_args(), tls=tls)


def spawn(target, *args):
    """The load in a forked child; returns (process, our end of its pipe)."""
    forking = multiprocessing.get_context("fork")
    ours, theirs = forking.Pipe()
    process = forking.Process(target=target, args=(*args, theirs), daemon=True)
    process.start()
    theirs.close()
    return process, ours


def receive(pipe, timeout: float, expected: str):
    if not pipe.poll(timeout):
        raise RuntimeError(f"the load process sent no {expected!r} within {timeout:.0f} s")
    message = pipe.recv()
    if message[0] != expected:
        raise RuntimeError(f"the load process sent {message[0]!r}, expected {expected!r}: {message[1:]}")
    return message[1]


def end_child(process) -> None:
    process.join(timeout=10)
    if process.is_alive():
        process.kill()
        process.join()


def describe(outcomes: dict[str, int]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in sorted(outcomes.items())) or "none"


def seconds_figure(values: list[float]) -> str:
    if not values:
        return "-"
    return f"median {percentile(values, 0.5):.1f} s, max {max(values):.1f} s"


# --- slow headers ---------------------------------------------------------------------------

def slow_head() -> bytes:
    """A request head that never completes at one byte per interval before any header timeout."""
    return raw_request("POST", "/api/public/ingestion", b"",
                       {"Content-Length": "2", "X-Padding": "p" * 400})


def outcome_of(buffer: bytearray, error: str | None) -> str:
    if buffer:
        response, _ = parse_response(buffer)
        if response is None:
            return "partial answer"
        if response.status == 408 and response.error_shape() is None \
                and response.json()["error"] == "RequestTimeout":
            return "408"
        return f"answered {response.status}"
    return error or "closed without answer"


def slow_headers_load(port: int, count: int, interval: float, wait_after: float, pipe) -> None:
    head = slow_head()
    selector = selectors.DefaultSelector()
    slots: dict[socket.socket, dict] = {}
    outcomes: dict[str, int] = {}
    lifetimes: list[float] = []
    sustain = True

    def open_slot() -> None:
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        state = {"sent": 0, "next": time.monotonic(), "opened": time.monotonic(), "buffer": bytearray()}
        slots[sock] = state
        selector.register(sock, selectors.EVENT_READ, state)

    def end_slot(sock: socket.socket, error: str | None = None) -> None:
        state = slots.pop(sock)
        selector.unregister(sock)
        sock.close()
        kind = outcome_of(state["buffer"], error)
        outcomes[kind] = outcomes.get(kind, 0) + 1
        lifetimes.append(time.monotonic() - state["opened"])
        if sustain:
            open_slot()

    for _ in range(count):
        open_slot()
    announced = False
    deadline = None
    while slots:
        now = time.monotonic()
        for sock, state in list(slots.items()):
            if state["sent"] < len(head) and now >= state["next"]:
                try:
                    sent = sock.send(head[state["sent"]:state["sent"] + 1])
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as error:
                    if error.errno in (errno.ENOTCONN, errno.EINPROGRESS):
                        continue
                    end_slot(sock, f"send failed ({errno.errorcode.get(error.errno, error.errno)})")
                    continue
                state["sent"] += sent
                state["next"] = now + interval
        for key, _ in selector.select(timeout=0.02):
            sock, state = key.fileobj, key.data
            if sock not in slots:
                continue
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as error:
                end_slot(sock, f"reset ({errno.errorcode.get(error.errno, error.errno)})")
                continue
            if data:
                state["buffer"].extend(data)
            else:
                end_slot(sock)
        if not announced and all(state["sent"] > 0 for state in slots.values()):
            pipe.send(("ready", len(slots)))
            announced = True
        if pipe.poll():
            pipe.recv()
            sustain = False
            deadline = time.monotonic() + wait_after
        if deadline is not None and time.monotonic() > deadline:
            break
    pipe.send(("done", {"outcomes": outcomes, "lifetimes": lifetimes, "still_open": len(slots),
                        "completed_heads": sum(1 for state in slots.values() if state["sent"] >= len(head))}))


def check_slow_headers(context: Context, scale: Scale) -> Result:
    with start_server(context, "slow", scale) as server:
        rss_before = server.rss_kb()
        process, pipe = spawn(slow_headers_load, server.port, scale.slow, scale.slow_interval, scale.header + GRACE)
        opened = receive(pipe, 60, "ready")
        log(f"slow headers: {opened} connections dribbling one byte every {scale.slow_interval:g} s")
        normal = NormalClient(server.port)
        measurement = Measurement(server, [normal])
        measurement.run(seconds=max(scale.normal_seconds, scale.header + 2))
        pipe.send("finish")
        report = receive(pipe, scale.header + GRACE + 30, "done")
        end_child(process)
        timeouts_408 = int(server.metrics().get('parley_http_transport_responses_total{status="408"}', 0))
        problems = []
        outcomes = report["outcomes"]
        timed_out = outcomes.get("408", 0) + outcomes.get("closed without answer", 0)
        ended = sum(outcomes.values())
        if report["still_open"]:
            problems.append(f"{report['still_open']} slow clients were neither answered nor closed "
                            f"{scale.header + GRACE:.0f} s after the last byte was due")
        if timed_out != ended:
            problems.append(f"slow clients ended otherwise than 408 or close: {describe(outcomes)}")
        if ended < scale.slow:
            problems.append(f"only {ended} slow connections ended, fewer than the {scale.slow} opened")
        figures = (f"{scale.slow} slow connections (header timeout {scale.header:g} s): {ended} ended "
                   f"({describe(outcomes)}; server counted {timeouts_408} × 408), "
                   f"lifetime {seconds_figure(report['lifetimes'])}")
        return finish(server, "slow headers", ended, [normal], problems, figures, rss_before, measurement.rss_peak_kb)


# --- idle keep-alive connections ------------------------------------------------------------

def idle_load(port: int, count: int, idle_timeout: float, pipe) -> None:
    health = raw_request("GET", "/api/public/health", auth=False)
    sockets: list[socket.socket] = []
    answered_at: dict[socket.socket, float] = {}
    failures: list[str] = []
    window = 250
    for start in range(0, count, window):
        batch = []
        for _ in range(min(window, count - start)):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                sock.sendall(health)
                batch.append(sock)
            except OSError as error:
                failures.append(f"connect/send: {error!r}")
        for sock in batch:
            try:
                response = read_response(sock)
            except OSError as error:
                response = None
                failures.append(f"read: {error!r}")
            if response is None or response.status != 200 or response.headers.get("connection") == "close":
                failures.append(f"first request not answered as keep-alive: {response and response.status}")
                sock.close()
                continue
            answered_at[sock] = time.monotonic()
            sockets.append(sock)
    pipe.send(("ready", {"established": len(sockets), "failures": failures[:5], "failed": len(failures)}))

    def state(sock: socket.socket) -> str:
        sock.setblocking(False)
        try:
            data = sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return "open"
        except OSError:
            return "reset"
        return "closed" if not data else "data"

    pipe.recv()  # "check": are they held?
    now = time.monotonic()
    states: dict[str, int] = {}
    early: list[float] = []
    ages = [now - answered_at[sock] for sock in sockets]
    for sock in sockets:
        current = state(sock)
        states[current] = states.get(current, 0) + 1
        age = now - answered_at[sock]
        if current != "open" and age < idle_timeout:
            early.append(age)
    pipe.send(("checked", {"states": states, "closed_early": len(early), "youngest": min(ages, default=0),
                           "oldest": max(ages, default=0)}))

    wait_until = pipe.recv()[1]  # ("watch", seconds): wait for the server to close them
    selector = selectors.DefaultSelector()
    for sock in sockets:
        if sock.fileno() >= 0:
            selector.register(sock, selectors.EVENT_READ)
    closed_after: list[float] = []
    outcomes: dict[str, int] = {}
    deadline = time.monotonic() + wait_until
    while selector.get_map() and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            sock = key.fileobj
            kind = state(sock)
            if kind == "open":
                continue
            outcomes[kind] = outcomes.get(kind, 0) + 1
            closed_after.append(time.monotonic() - answered_at[sock])
            selector.unregister(sock)
            sock.close()
    still_open = len(selector.get_map())
    pipe.send(("done", {"outcomes": outcomes, "closed_after": closed_after, "still_open": still_open}))


def check_idle(context: Context, scale: Scale) -> Result:
    with start_server(context, "idle", scale) as server:
        rss_before = server.rss_kb()
        process, pipe = spawn(idle_load, server.port, scale.idle, scale.idle_seconds)
        ready = receive(pipe, 300, "ready")
        rss_held = server.rss_kb()
        log(f"idle: {ready['established']} keep-alive connections held open")
        normal = NormalClient(server.port)
        measurement = Measurement(server, [normal])
        measurement.run(seconds=min(scale.normal_seconds, scale.idle_seconds / 2))
        pipe.send("check")
        checked = receive(pipe, 120, "checked")
        log(f"idle: {checked['states']} after the normal client; now waiting for the idle timeout")
        pipe.send(("watch", scale.idle_seconds + GRACE))
        report = receive(pipe, scale.idle_seconds + GRACE + 60, "done")
        end_child(process)
        problems = []
        if ready["failed"]:
            problems.append(f"{ready['failed']} idle clients were not set up: {ready['failures']}")
        if checked["closed_early"]:
            problems.append(f"{checked['closed_early']} idle connections were closed before the idle timeout")
        if report["still_open"]:
            problems.append(f"{report['still_open']} idle connections still open "
                            f"{scale.idle_seconds + GRACE:.0f} s after their last answer")
        bad = {kind: count for kind, count in report["outcomes"].items() if kind != "closed"}
        if bad:
            problems.append(f"idle connections ended otherwise than a clean close: {bad}")
        figures = (f"{ready['established']} idle keep-alive connections: {checked['states'].get('open', 0)} held "
                   f"at {checked['oldest']:.1f} s idle, all closed by the server after "
                   f"{seconds_figure(report['closed_after'])} idle (idle timeout {scale.idle_seconds:g} s); "
                   f"RSS with them open {rss_held / 1024:.0f} MB")
        return finish(server, "idle keep-alive", ready["established"], [normal], problems, figures,
                      rss_before, max(measurement.rss_peak_kb, rss_held))


# --- clients that vanish mid-request --------------------------------------------------------

def vanish_load(port: int, pipe) -> None:
    modes = ["half body, close", "half body, reset", "half head, reset", "expect 100-continue, close"]
    counts = {mode: 0 for mode in modes}
    failures: list[str] = []
    sent_ids: list[str] = []
    index = 0
    announced = False
    while not pipe.poll():
        mode = modes[index % len(modes)]
        index += 1
        body, ids = small_batch("vanished")
        payload = json.dumps(body).encode()
        headers = {"Expect": "100-continue"} if mode.startswith("expect") else {}
        whole = raw_request("POST", "/api/public/ingestion", payload, headers)
        head_length = whole.index(b"\r\n\r\n") + 4
        if mode.startswith("half body"):
            piece = whole[:head_length + len(payload) // 2]
        elif mode.startswith("half head"):
            piece = whole[:head_length // 2]
        else:
            piece = whole[:head_length]
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(piece)
            if mode.endswith("reset"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        except OSError as error:
            failures.append(f"{mode}: {error!r}")
        counts[mode] += 1
        sent_ids += ids
        if not announced:
            pipe.send(("ready", None))
            announced = True
        time.sleep(0.002)
    pipe.send(("done", {"counts": counts, "ids": sent_ids, "failures": failures}))


def check_vanish(context: Context, scale: Scale) -> Result:
    with start_server(context, "vanish", scale) as server:
        rss_before = server.rss_kb()
        process, pipe = spawn(vanish_load, server.port)
        receive(pipe, 60, "ready")
        normal = NormalClient(server.port)
        measurement = Measurement(server, [normal])
        measurement.run(seconds=scale.normal_seconds)
        pipe.send("finish")
        report = receive(pipe, 60, "done")
        end_child(process)
        problems = []
        stored = stored_event_ids(server.db, report["ids"])
        if stored:
            problems.append(f"{len(stored)} events from requests cut off mid-body were stored")
        if report["failures"]:
            problems.append(f"vanishing clients could not connect: {report['failures'][:3]}")
        total = sum(report["counts"].values())
        figures = f"{total} vanished mid-request ({describe(report['counts'])}), {len(stored)} of their events stored"
        return finish(server, "vanish mid-request", total, [normal], problems, figures, rss_before,
                      measurement.rss_peak_kb)


# --- half-closed sockets --------------------------------------------------------------------

def half_closed_load(port: int, pipe) -> None:
    answered = attempts = announced_close = 0
    failures: list[str] = []
    acknowledged: list[str] = []
    announced = False
    while not pipe.poll():
        attempts += 1
        body, ids = small_batch("half-closed")
        requests = raw_request("GET", "/api/public/health", auth=False) \
            + raw_request("POST", "/api/public/ingestion", json.dumps(body).encode())
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(requests)
            sock.shutdown(socket.SHUT_WR)
            buffer = bytearray()
            first = read_response(sock, buffer)
            second = read_response(sock, buffer)
            rest = sock.recv(1)
            sock.close()
        except OSError as error:
            failures.append(f"{error!r}")
            continue
        problem = None
        if first is None or first.status != 200:
            problem = f"GET before the half-close answered {first and first.status}"
        elif second is None or second.status != 207:
            problem = f"POST before the half-close answered {second and second.status}"
        elif sorted(item["id"] for item in second.json()["successes"]) != sorted(ids):
            problem = f"POST before the half-close: 207 without both events: {second.body[:160]!r}"
        elif rest:
            problem = f"bytes after the last answer: {rest!r}"
        if problem:
            failures.append(problem)
        else:
            answered += 1
            acknowledged += ids
            # Whether the server saw the FIN before it wrote the last answer is a race; either
            # way the answer must arrive and the close follow it (RFC 9112 §9.6).
            announced_close += second.headers.get("connection") == "close"
        if not announced:
            pipe.send(("ready", None))
            announced = True
    pipe.send(("done", {"attempts": attempts, "answered": answered, "failures": failures, "ids": acknowledged,
                        "announced_close": announced_close}))


def check_half_closed(context: Context, scale: Scale) -> Result:
    with start_server(context, "half-closed", scale) as server:
        rss_before = server.rss_kb()
        process, pipe = spawn(half_closed_load, server.port)
        receive(pipe, 60, "ready")
        normal = NormalClient(server.port)
        measurement = Measurement(server, [normal])
        measurement.run(seconds=scale.normal_seconds)
        pipe.send("finish")
        report = receive(pipe, 60, "done")
        end_child(process)
        problems = [f"half-closed client: {failure}" for failure in report["failures"][:5]]
        missing = set(report["ids"]) - stored_event_ids(server.db, report["ids"])
        if missing:
            problems.append(f"{len(missing)} events acknowledged to half-closed clients are not stored")
        if report["answered"] == 0:
            problems.append("no half-closed client was answered")
        figures = (f"{report['answered']}/{report['attempts']} half-closed clients got both answers, then the close "
                   f"({report['announced_close']} of those answers said Connection: close)")
        return finish(server, "half-closed", report["attempts"], [normal], problems, figures, rss_before,
                      measurement.rss_peak_kb)


# --- pipelined floods -----------------------------------------------------------------------

def flood_connection(port: int, number: int, requests: int, results: list) -> None:
    """Writes `requests` requests back to back without reading, then reads every answer."""
    expected: list[tuple[str, int, list[str]]] = []
    pieces = []
    for index in range(requests):
        request_id = f"flood-{number}-{index}"
        if index % 2:
            body, ids = small_batch("flood")
            pieces.append(raw_request("POST", "/api/public/ingestion", json.dumps(body).encode(),
                                      {"X-Request-Id": request_id}))
            expected.append((request_id, 207, ids))
        else:
            # /metrics answers are a few KiB and the requests are padded, so that the flood
            # outgrows the kernel's socket buffers: then only the server's own bounds (64 KiB of
            # unread answers, 64 KiB of buffered requests) stop it, and the writes stall until
            # the client reads.
            pieces.append(raw_request("GET", "/metrics", auth=False,
                                      headers={"X-Request-Id": request_id, "X-Padding": "p" * 2048}))
            expected.append((request_id, 200, []))
    data = b"".join(pieces)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # before connect: a small window
    sock.settimeout(60)
    sock.connect(("127.0.0.1", port))
    progress = {"sent": 0, "at": time.monotonic(), "done": False, "error": None}

    def write() -> None:
        try:
            for start in range(0, len(data), 16384):
                sock.sendall(data[start:start + 16384])
                progress["sent"] = start + 16384
                progress["at"] = time.monotonic()
        except OSError as error:
            progress["error"] = repr(error)
        progress["done"] = True

    writer = threading.Thread(target=write, daemon=True)
    started = time.monotonic()
    writer.start()
    # Read nothing until everything is written, or until the writes stall because the server
    # stopped reading (its pipelining bound): then reading is what lets the writes go on.
    while not progress["done"] and time.monotonic() - progress["at"] < 1.0:
        time.sleep(0.01)
    sent_before_reading = min(progress["sent"], len(data))
    buffer = bytearray()
    failures: list[str] = []
    acknowledged: list[str] = []
    answered = 0
    for request_id, status, ids in expected:
        try:
            response = read_response(sock, buffer)
        except OSError as error:
            failures.append(f"connection {number}: reading answer {request_id}: {error!r}")
            break
        if response is None:
            failures.append(f"connection {number}: closed before answer {request_id}")
            break
        if response.headers.get("x-request-id") != request_id:
            failures.append(f"connection {number}: answer for {response.headers.get('x-request-id')} "
                            f"where {request_id} was due")
            break
        if response.status != status:
            failures.append(f"connection {number}: {request_id} answered {response.status}: {response.body[:120]!r}")
            continue
        if ids:
            if sorted(item["id"] for item in response.json()["successes"]) != sorted(ids):
                failures.append(f"connection {number}: {request_id} 207 without both events")
                continue
            acknowledged += ids
        answered += 1
    writer.join(timeout=30)
    if progress["error"]:
        failures.append(f"connection {number}: writing: {progress['error']}")
    sock.close()
    results.append({"answered": answered, "failures": failures, "ids": acknowledged, "bytes": len(data),
                    "sent_before_reading": sent_before_reading, "seconds": time.monotonic() - started})


def flood_load(port: int, connections: int, requests: int, pipe) -> None:
    results: list[dict] = []
    threads = [threading.Thread(target=flood_connection, args=(port, number, requests, results), daemon=True)
               for number in range(connections)]
    pipe.send(("ready", None))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    pipe.send(("done", results))


def check_flood(context: Context, scale: Scale) -> Result:
    with start_server(context, "flood", scale) as server:
        rss_before = server.rss_kb()
        process, pipe = spawn(flood_load, server.port, scale.flood_connections, scale.flood_requests)
        receive(pipe, 60, "ready")
        normal = NormalClient(server.port)
        measurement = Measurement(server, [normal])
        measurement.run(until=lambda: pipe.poll())
        report = receive(pipe, 600, "done")
        end_child(process)
        problems = [failure for result in report for failure in result["failures"]][:5]
        total = scale.flood_connections * scale.flood_requests
        answered = sum(result["answered"] for result in report)
        if len(report) != scale.flood_connections:
            problems.append(f"{scale.flood_connections - len(report)} flood connections did not finish")
        if answered != total:
            problems.append(f"{answered} of {total} pipelined requests answered correctly and in order")
        ids = [event for result in report for event in result["ids"]]
        missing = set(ids) - stored_event_ids(server.db, ids)
        if missing:
            problems.append(f"{len(missing)} events acknowledged to the flood are not stored")
        written = sum(min(result["sent_before_reading"], result["bytes"]) for result in report)
        offered = sum(result["bytes"] for result in report)
        slowest = max((result["seconds"] for result in report), default=0)
        figures = (f"{scale.flood_connections} connections × {scale.flood_requests} pipelined requests: "
                   f"{answered}/{total} answered in order in {slowest:.1f} s; "
                   f"{written / 1024:.0f} of {offered / 1024:.0f} KiB written before the first read")
        return finish(server, "pipelined flood", total, [normal], problems, figures, rss_before,
                      measurement.rss_peak_kb)


# --- TLS handshakes that stall --------------------------------------------------------------

def client_hello(context: ssl.SSLContext) -> bytes:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    connection = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        connection.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def tls_stall_load(port: int, count: int, ca: str, wait_after: float, pipe) -> None:
    context = ssl.create_default_context(cafile=ca)
    kinds = ["silent", "half ClientHello", "ClientHello, no Finished"]
    selector = selectors.DefaultSelector()
    slots: dict[socket.socket, dict] = {}
    outcomes: dict[str, int] = {}
    lifetimes: list[float] = []
    sustain = True
    opened = 0

    def open_slot() -> None:
        nonlocal opened
        kind = kinds[opened % len(kinds)]
        opened += 1
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if kind != "silent":
            hello = client_hello(context)
            sock.sendall(hello if kind.startswith("ClientHello") else hello[:len(hello) // 2])
        sock.setblocking(False)
        slots[sock] = {"kind": kind, "opened": time.monotonic(), "received": 0}
        selector.register(sock, selectors.EVENT_READ)

    def end_slot(sock: socket.socket, how: str) -> None:
        state = slots.pop(sock)
        selector.unregister(sock)
        sock.close()
        key = f"{state['kind']}: {how}"
        outcomes[key] = outcomes.get(key, 0) + 1
        lifetimes.append(time.monotonic() - state["opened"])
        if sustain:
            open_slot()

    for _ in range(count):
        open_slot()
    pipe.send(("ready", len(slots)))
    deadline = None
    while slots:
        for key, _ in selector.select(timeout=0.1):
            sock = key.fileobj
            if sock not in slots:
                continue
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                end_slot(sock, "reset")
                continue
            if data:
                slots[sock]["received"] += len(data)  # the ServerHello flight, never answered
            else:
                end_slot(sock, "closed")
        if pipe.poll():
            pipe.recv()
            sustain = False
            deadline = time.monotonic() + wait_after
        if deadline is not None and time.monotonic() > deadline:
            break
    pipe.send(("done", {"outcomes": outcomes, "lifetimes": lifetimes, "still_open": len(slots)}))


def check_tls_stalls(context: Context, scale: Scale) -> Result:
    cert, key, ca = dev_certificates(context.path("hostile-certs"))
    with start_server(context, "tls", scale, tls=(cert, key)) as server:
        rss_before = server.rss_kb()
        process, pipe = spawn(tls_stall_load, server.tls_port, scale.tls_stalls, str(ca), scale.handshake + GRACE)
        opened = receive(pipe, 60, "ready")
        log(f"TLS stalls: {opened} handshakes stalled")
        tls_context = ssl.create_default_context(cafile=str(ca))
        clients = [NormalClient(server.tls_port, tls=tls_context), NormalClient(server.port)]
        measurement = Measurement(server, clients)
        measurement.run(seconds=max(scale.normal_seconds, scale.handshake + 2))
        pipe.send("finish")
        report = receive(pipe, scale.handshake + GRACE + 30, "done")
        end_child(process)
        failures = int(server.metrics().get("parley_tls_handshake_failures_total", 0))
        problems = []
        if report["still_open"]:
            problems.append(f"{report['still_open']} stalled TLS handshakes still open "
                            f"{scale.handshake + GRACE:.0f} s after the handshake timeout was due")
        ended = sum(report["outcomes"].values())
        if ended < scale.tls_stalls:
            problems.append(f"only {ended} stalled handshakes ended, fewer than the {scale.tls_stalls} opened")
        figures = (f"{ended} stalled handshakes dropped ({describe(report['outcomes'])}; handshake timeout "
                   f"{scale.handshake:g} s; server counted {failures} handshake failures), lifetime "
                   f"{seconds_figure(report['lifetimes'])}")
        return finish(server, "TLS stalls", ended, clients, problems, figures, rss_before, measurement.rss_peak_kb,
                      labels=["normal over TLS", "normal over HTTP"])


def run(context: Context) -> list[Result]:
    scale = QUICK if context.fast else FULL
    if not context.fast:
        log(f"full variant: server timeouts at their defaults; the idle sub-check waits out the "
            f"{scale.idle_seconds:g} s idle timeout")
    results = []
    for check in (check_slow_headers, check_idle, check_vanish, check_half_closed, check_flood, check_tls_stalls):
        started = time.monotonic()
        # One broken sub-check must not hide the others.
        result = guarded(f"hostile: {check.__name__.removeprefix('check_')}", check, context, scale)
        log(f"{result.check}: {'pass' if result.passed else 'FAIL'} in {time.monotonic() - started:.0f} s")
        results.append(result)
    return results
