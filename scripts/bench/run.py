#!/usr/bin/env python3
"""Parley's benchmark harness (issue #6), run by scripts/bench.sh after it has built the release
binary and installed wrk, nginx and sqlite3's headers.

Every Parley figure is measured next to a ceiling in the same run on the same machine: nginx
(one worker) for HTTP and TLS, scripts/bench/sqlite_ceiling.c for storage. Each benchmark runs
RUNS times, interleaved with its ceiling; the tables give median, min and max. Nothing here is a
test: no figure fails the run, the summary says which targets are met.

Usage: run.py --parley BIN --ceiling BIN [--runs N] [--seconds S] [--only a,b] [--peer phoenix]
              [--update-docs] [--sessions N --observations N]
Benchmarks: http, ingest, otlp, reads, mixed, drilldown, longsession, handshakes, memory, lifecycle (and phoenix with --peer).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/, for parleykit
from parleykit.client import basic_auth, iso  # noqa: E402
from parleykit.server import Endpoint, Parley, dev_certificates, free_port, rss_kb, wait_port  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "scripts" / "bench"
KEYS = ("pk-lf-bench", "sk-lf-bench")
AUTHORIZATION = basic_auth(*KEYS)
AUTH = AUTHORIZATION.removeprefix("Basic ")  # what the wrk scripts (*.lua) read from $AUTH
HEALTH_BODY = '{"status":"OK","version":"0.1.0"}'


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def durable_copy(source: Path, destination: Path) -> None:
    """Copies a database and writes the copy back to disk before a server opens it. Otherwise a
    large copy sits dirty in the page cache, and the server's first checkpoint fsync (or the
    kernel's writeback) pays for it inside the measured window: with the 1.25 GB dataset, a 2 s
    checkpoint, a WAL grown to its bound and a 0.6 s RESTART in the lifecycle run."""
    shutil.copy(source, destination)
    with open(destination, "rb+") as file:
        os.fsync(file.fileno())


class Stats:
    """Values of one measurement over the runs."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def add(self, value: float | None) -> None:
        if value is not None:
            self.values.append(value)

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    def spread(self, fmt: str = "{:.0f}") -> str:
        if not self.values:
            return "n/a"
        return f"{fmt.format(min(self.values))}–{fmt.format(max(self.values))}"


def fmt(value: float | None, pattern: str = "{:.0f}") -> str:
    return "n/a" if value is None else pattern.format(value)


# MARK: servers


def start_parley(binary: str, work: Path, db: Path, threads: int | None = None, tls: bool = False,
                 extra: list[str] | None = None, **options) -> Parley:
    """`parley serve` on `db` with the bench keys, warnings only, started; `tls` serves the
    harness's certificate (work/certs) too. `options` go to parleykit's Parley."""
    args = ["--log-level", "warning"] + (["--threads", str(threads)] if threads else []) + (extra or [])
    certificate = (work / "certs/server.pem", work / "certs/server-key.pem") if tls else None
    return Parley(binary, db, args, keys=KEYS, tls=certificate, log_path=work / f"parley-{time.time_ns()}.log",
                  **options).start()


class Nginx(Endpoint):
    """One worker, access log off, answering Parley's paths: GET health 200 with the same body,
    POST ingestion and OTLP 204 after reading the body."""

    def __init__(self, work: Path) -> None:
        self.port, self.tls_port = free_port(), free_port()
        root = work / f"nginx-{time.time_ns()}"
        root.mkdir()
        conf = root / "nginx.conf"
        conf.write_text(f"""
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 20000; }}
http {{
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
    client_max_body_size 20m;
    client_body_buffer_size 1m;
    client_body_temp_path {root};
    proxy_temp_path {root};
    fastcgi_temp_path {root};
    uwsgi_temp_path {root};
    scgi_temp_path {root};
    server {{
        listen 127.0.0.1:{self.port};
        listen 127.0.0.1:{self.tls_port} ssl;
        ssl_certificate {work}/certs/server.pem;
        ssl_certificate_key {work}/certs/server-key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location = /api/public/health {{
            default_type application/json;
            return 200 '{HEALTH_BODY}';
        }}
        location / {{
            return 204;
        }}
    }}
}}
""")
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen([binary, "-c", str(conf), "-p", str(root)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        wait_port(self.tls_port)

    @property
    def pid(self) -> int:
        return self.process.pid


    def stop(self) -> None:
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# MARK: wrk


def to_ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)?", text)
    value, unit = float(match.group(1)), match.group(2) or "ms"
    return value * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def wrk(url: str, seconds: int, connections: int, script: str | None = None, env: dict | None = None,
        headers: list[str] | None = None, latency: bool = False) -> dict:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    if latency:
        args.append("--latency")
    if script:
        args += ["-s", script]
    for header in headers or []:
        args += ["-H", header]
    args.append(url)
    done = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, AUTH=AUTH, **(env or {})),
                          cwd=REPO, timeout=seconds * 4 + 60)
    out = done.stdout
    result = {"rps": None, "p50": None, "p99": None, "non2xx": 0, "errors": 0, "stderr": done.stderr.strip()}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        result["rps"] = float(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        result["non2xx"] = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        result["errors"] = sum(int(g) for g in m.groups())
    if latency:
        for label, key in (("50%", "p50"), ("99%", "p99")):
            if m := re.search(rf"^\s+{re.escape(label)}\s+(\S+)", out, re.M):
                result[key] = to_ms(m.group(1))
    if result["stderr"]:
        log(f"  wrk {url}: {result['stderr'][:300]}")
    return result


# MARK: benchmarks


class Harness:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="parley-bench-"))
        dev_certificates(self.work / "certs")
        self.sections: list[str] = []
        self.targets: list[tuple[str, str, str, str, str]] = []  # what, target, measured, ratio, met
        template = start_parley(args.parley, self.work, self.work / "template.sqlite")
        template.stop()
        self.template = self.work / "template.sqlite"
        self.otlp_template = self.work / "otlp100.bin"
        subprocess.run([sys.executable, str(BENCH / "otlp_template.py"), "100", str(self.otlp_template)], check=True)

    def fresh_db(self, name: str) -> Path:
        path = self.work / f"{name}-{time.time_ns()}.sqlite"
        shutil.copy(self.template, path)
        return path

    def target(self, what: str, target: str, measured: str, ratio: str, met: bool | None) -> None:
        self.targets.append((what, target, measured, ratio, "n/a" if met is None else ("yes" if met else "**no**")))

    def section(self, title: str, command: str, lines: list[str]) -> None:
        self.sections.append(f"### {title}\n\n`{command}`\n\n" + "\n".join(lines) + "\n")

    # -- HTTP keep-alive and TLS handshakes against nginx

    def http(self) -> None:
        runs, seconds = self.args.runs, self.args.seconds
        nginx = Nginx(self.work)
        parley = start_parley(self.args.parley, self.work, self.fresh_db("http"), threads=1, tls=True)
        stats = {key: Stats() for key in ("nginx_http", "parley_http", "nginx_https", "parley_https")}
        try:
            for run in range(runs):
                for name, server in (("nginx", nginx), ("parley", parley)):
                    stats[f"{name}_http"].add(wrk(server.url + "/api/public/health", seconds, 64)["rps"])
                    stats[f"{name}_https"].add(wrk(server.tls_url + "/api/public/health", seconds, 64)["rps"])
                log(f"http: run {run + 1}/{runs}")
        finally:
            parley.stop()
            nginx.stop()
        lines = ["| GET /api/public/health, keep-alive, 64 connections | median req/s | min–max |", "|---|---|---|"]
        for key, label in (("nginx_http", "nginx HTTP"), ("parley_http", "Parley HTTP"),
                           ("nginx_https", "nginx HTTPS"), ("parley_https", "Parley HTTPS")):
            lines.append(f"| {label} | {fmt(stats[key].median)} | {stats[key].spread()} |")
        http_ratio = ratio(stats["parley_http"], stats["nginx_http"])
        https_ratio = ratio(stats["parley_https"], stats["nginx_https"])
        lines.append(f"\nParley/nginx: HTTP {fmt(http_ratio, '{:.2f}')}, HTTPS {fmt(https_ratio, '{:.2f}')} "
                     "(Parley `--threads 1`, nginx `worker_processes 1`)")
        self.section("HTTP and HTTPS keep-alive", f"wrk -t1 -c64 -d{seconds}s, {runs} interleaved runs", lines)
        self.target("HTTPS keep-alive GET", "≥ 70% of nginx HTTPS",
                    f"{fmt(stats['parley_https'].median)} vs {fmt(stats['nginx_https'].median)} req/s",
                    fmt(https_ratio, "{:.2f}"), None if https_ratio is None else https_ratio >= 0.70)

    def handshakes(self) -> None:
        runs, seconds = self.args.runs, self.args.seconds
        nginx = Nginx(self.work)
        parley = start_parley(self.args.parley, self.work, self.fresh_db("tls"), threads=1, tls=True)
        stats = {"nginx": Stats(), "parley": Stats()}
        try:
            for run in range(runs):
                for name, server in (("nginx", nginx), ("parley", parley)):
                    # `Connection: close` makes wrk open (and handshake) a new connection per request.
                    stats[name].add(wrk(server.tls_url + "/api/public/health", seconds, 16,
                                        headers=["Connection: close"])["rps"])
                log(f"handshakes: run {run + 1}/{runs}")
        finally:
            parley.stop()
            nginx.stop()
        r = ratio(stats["parley"], stats["nginx"])
        lines = ["| new TLS connection per request | median handshakes/s | min–max |", "|---|---|---|",
                 f"| nginx | {fmt(stats['nginx'].median)} | {stats['nginx'].spread()} |",
                 f"| Parley | {fmt(stats['parley'].median)} | {stats['parley'].spread()} |",
                 f"\nParley/nginx: {fmt(r, '{:.2f}')}"]
        self.section("TLS handshakes", f"wrk -t1 -c16 -d{seconds}s -H 'Connection: close' https://…/api/public/health", lines)
        self.target("TLS handshakes/s", "≥ 70% of nginx", f"{fmt(stats['parley'].median)} vs {fmt(stats['nginx'].median)}/s",
                    fmt(r, "{:.2f}"), None if r is None else r >= 0.70)

    # -- ingestion against nginx POST→204 and the SQLite ceiling

    def ingest(self) -> None:
        runs, seconds = self.args.runs, self.args.seconds
        nginx = Nginx(self.work)
        single = {"nginx": Stats(), "parley": Stats()}
        batch = {"parley": Stats(), "sqlite": Stats()}
        peak = Stats()
        lua = str(BENCH / "ingest.lua")
        try:
            for run in range(runs):
                single["nginx"].add(wrk(nginx.url, seconds, 16, lua, {"BATCH": "1", "EXPECT": "204"})["rps"])
                parley = start_parley(self.args.parley, self.work, self.fresh_db("single"))
                try:
                    single["parley"].add(wrk(parley.url, seconds, 16, lua, {"BATCH": "1"})["rps"])
                finally:
                    parley.stop()
                db = self.fresh_db("ceiling")
                out = subprocess.run([self.args.ceiling, str(db), "100", "300000"], capture_output=True, text=True, check=True)
                batch["sqlite"].add(float(out.stdout.split()[0]))
                parley = start_parley(self.args.parley, self.work, self.fresh_db("batch"))
                try:
                    result = wrk(parley.url, seconds, 16, lua, {"BATCH": "100"})
                    batch["parley"].add(result["rps"] * 100 if result["rps"] else None)
                    peak.add(parley.rss_kb("VmHWM") / 1024)
                finally:
                    parley.stop()
                log(f"ingest: run {run + 1}/{runs}")
        finally:
            nginx.stop()
        r1 = ratio(single["parley"], single["nginx"])
        r100 = ratio(batch["parley"], batch["sqlite"])
        lines = ["| workload | Parley (median, min–max) | ceiling (median, min–max) | ratio |", "|---|---|---|---|",
                 f"| single-event batches, req/s vs nginx POST→204 | {fmt(single['parley'].median)} ({single['parley'].spread()}) "
                 f"| {fmt(single['nginx'].median)} ({single['nginx'].spread()}) | {fmt(r1, '{:.2f}')} |",
                 f"| 100-event batches, events/s vs raw SQLite | {fmt(batch['parley'].median)} ({batch['parley'].spread()}) "
                 f"| {fmt(batch['sqlite'].median)} ({batch['sqlite'].spread()}) | {fmt(r100, '{:.3f}')} |",
                 f"\nPeak RSS during the 100-event load: {fmt(peak.median, '{:.1f}')} MB (max {fmt(max(peak.values) if peak.values else None, '{:.1f}')})"]
        self.section("Ingestion with durable acknowledgements",
                     f"wrk -t1 -c16 -d{seconds}s -s scripts/bench/ingest.lua (BATCH=1 and 100), fresh database per run; "
                     "ceilings: nginx `return 204` (one worker) and sqlite_ceiling.c (100 rows per transaction)", lines)
        self.target("single-event ingestion, keep-alive, durable ack", "≥ 40% of nginx POST→204 req/s",
                    f"{fmt(single['parley'].median)} vs {fmt(single['nginx'].median)} req/s", fmt(r1, "{:.2f}"),
                    None if r1 is None else r1 >= 0.40)
        self.target("100-event batches, events/s", "≥ 60% of raw SQLite",
                    f"{fmt(batch['parley'].median)} vs {fmt(batch['sqlite'].median)} events/s", fmt(r100, "{:.2f}"),
                    None if r100 is None else r100 >= 0.60)
        self.peak_load_rss = peak

    def otlp(self) -> None:
        runs, seconds = self.args.runs, self.args.seconds
        stats, stored = Stats(), Stats()
        for run in range(runs):
            db = self.fresh_db("otlp")
            parley = start_parley(self.args.parley, self.work, db)
            try:
                result = wrk(parley.url, seconds, 8, str(BENCH / "otlp.lua"), {"TEMPLATE": str(self.otlp_template)})
            finally:
                parley.stop()
            stats.add(result["rps"] * 100 if result["rps"] else None)
            with sqlite3.connect(db) as connection:
                stored.add(connection.execute("SELECT count(*) FROM observations").fetchone()[0] / seconds)
            log(f"otlp: run {run + 1}/{runs}")
        lines = ["| OTLP protobuf, 100 spans per export | median | min–max |", "|---|---|---|",
                 f"| spans/s acknowledged (200 after COMMIT) | {fmt(stats.median)} | {stats.spread()} |",
                 f"| spans/s found stored afterwards | {fmt(stored.median)} | {stored.spread()} |"]
        self.section("OTLP protobuf exports",
                     f"wrk -t1 -c8 -d{seconds}s -s scripts/bench/otlp.lua (template from otlp_template.py: 10 turns × 10 spans)", lines)
        self.otlp_spans = stats

    # -- reads on the generated 1M-observation database

    def dataset(self) -> Path:
        sessions, observations = self.args.sessions, self.args.observations
        # v3: turns carry journey, intent and conversation attributes (gen_dataset.py). Made by
        # the binary measured; a cache left by an older schema is migrated by every run's copy
        # (seconds, before the server listens): delete it to make a new one.
        cache = REPO / ".bench-data" / f"dataset-v3-{sessions}-{observations}.sqlite"
        if not cache.exists():
            cache.parent.mkdir(exist_ok=True)
            log(f"generating {cache} once (several minutes)…")
            db = self.work / "gen.sqlite"
            generate_dataset(self.args.parley, self.work, db, sessions, observations)
            shutil.copy(db, cache)
        copy = self.work / f"reads-{time.time_ns()}.sqlite"
        durable_copy(cache, copy)
        return copy

    def reads(self) -> None:
        runs, seconds = self.args.runs, self.args.seconds
        parley = start_parley(self.args.parley, self.work, self.dataset())
        paths = [("session list, 50 newest", "/api/public/sessions?limit=50"),
                 ("session list, 50 by cost", "/api/public/sessions?limit=50&orderBy=cost.desc"),
                 ("drill-down, 10 turns", "/api/public/sessions/bench-drill-10"),
                 ("drill-down, 100 turns", "/api/public/sessions/bench-drill-100"),
                 ("drill-down, 1,000 turns", "/api/public/sessions/bench-drill-1000"),
                 ("analytics: drop-off by last intent", "/api/public/analytics/dropoff?groupBy=lastIntent"),
                 ("analytics: session distributions, all", "/api/public/analytics/sessions"),
                 ("analytics: session distributions, one channel", "/api/public/analytics/sessions?channel=mobile"),
                 ("analytics: journey funnel", "/api/public/analytics/journeys/checkout")]
        stats = {(mode, i, q): Stats() for mode in ("idle", "loaded") for i in range(len(paths)) for q in ("p50", "p99")}
        auth = [f"Authorization: {AUTHORIZATION}"]
        cold: dict[str, float] = {}
        try:
            # Analytics answers are kept between requests (docs/ANALYTICS.md, "Freshness"): the
            # first request on a cold cache computes; time it once, apart from the steady state.
            for label, path in paths:
                if "/analytics/" in path:
                    began = time.perf_counter()
                    request = urllib.request.Request(parley.url + path, headers={"Authorization": AUTHORIZATION})
                    with urllib.request.urlopen(request, timeout=120) as response:
                        response.read()
                    cold[label] = (time.perf_counter() - began) * 1000
            capacity = wrk(parley.url, 5, 8, str(BENCH / "ingest.lua"), {"BATCH": "100"})["rps"] or 100
            half = max(1, int(capacity / 2))
            for run in range(runs):
                for mode in ("idle", "loaded"):
                    load = None
                    if mode == "loaded":
                        load = subprocess.Popen(
                            ["wrk", "-t1", "-c4", f"-d{seconds * len(paths) + 30}s", "-s", str(BENCH / "ingest_paced.lua"), parley.url],
                            env=dict(os.environ, AUTH=AUTH, RATE=str(half), CONNECTIONS="4", BATCH="100"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
                        time.sleep(1)
                    try:
                        for i, (_, path) in enumerate(paths):
                            result = wrk(parley.url + path, seconds, 4, headers=auth, latency=True)
                            stats[(mode, i, "p50")].add(result["p50"])
                            stats[(mode, i, "p99")].add(result["p99"])
                    finally:
                        if load:
                            load.terminate()
                            load.wait()
                log(f"reads: run {run + 1}/{runs}")
            self.read_capacity = (capacity, half)
        finally:
            parley.stop()
        with sqlite3.connect(parley.db) as connection:
            counts = [connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("sessions", "traces", "observations")]
        lines = [f"Dataset: {counts[0]} sessions, {counts[1]} traces, {counts[2]} observations. Loaded = 100-event batches "
                 f"paced at half the measured capacity ({half} of {capacity:.0f} req/s).", "",
                 "| read | idle p50 ms | idle p99 ms | loaded p50 ms | loaded p99 ms (min–max) |", "|---|---|---|---|---|"]
        for i, (label, _) in enumerate(paths):
            lines.append(f"| {label} | {fmt(stats[('idle', i, 'p50')].median, '{:.2f}')} | {fmt(stats[('idle', i, 'p99')].median, '{:.2f}')} "
                         f"| {fmt(stats[('loaded', i, 'p50')].median, '{:.2f}')} | {fmt(stats[('loaded', i, 'p99')].median, '{:.2f}')} "
                         f"({stats[('loaded', i, 'p99')].spread('{:.1f}')}) |")
        if cold:
            lines += ["", "Analytics on a cold cache (the first request, idle, computing the answer): "
                      + "; ".join(f"{label.removeprefix('analytics: ')} {ms:.0f} ms" for label, ms in cold.items())
                      + ". Afterwards answers are served from the cache, exact while nothing was written and at most "
                        "10 s old under ingestion (recomputed in the background)."]
        self.section("Session reads on the generated database",
                     f"wrk -t1 -c4 -d{seconds}s --latency per read, idle and under paced ingestion (ingest_paced.lua)", lines)
        for label, index in (("session list page, 1M-observation database, under half-capacity ingestion", 0),
                             ("100-turn drill-down, same conditions", 3),
                             ("analytics (issue #7): drop-off by last intent, same conditions", 5),
                             ("analytics: session distributions over every session, same conditions", 6),
                             ("analytics: journey funnel, same conditions", 8)):
            p99 = stats[("loaded", index, "p99")].median
            self.target(label, "p99 ≤ 20 ms", f"p99 {fmt(p99, '{:.1f}')} ms", "", None if p99 is None else p99 <= 20)

    def mixed(self) -> None:
        runs, seconds = self.args.runs, self.args.seconds
        rps, p99 = Stats(), Stats()
        for run in range(runs):
            parley = start_parley(self.args.parley, self.work, self.dataset())
            try:
                result = wrk(parley.url, seconds, 8, str(BENCH / "mixed.lua"), {"BATCH": "10"},
                             headers=[f"Authorization: {AUTHORIZATION}"], latency=True)
            finally:
                parley.stop()
            rps.add(result["rps"])
            p99.add(result["p99"])
            log(f"mixed: run {run + 1}/{runs}")
        lines = ["| mixed: 4 reads (list, 10- and 100-turn drill-down, trace list) per 10-event write | median | min–max |",
                 "|---|---|---|", f"| requests/s | {fmt(rps.median)} | {rps.spread()} |",
                 f"| p99 ms (all requests) | {fmt(p99.median, '{:.1f}')} | {p99.spread('{:.1f}')} |"]
        self.section("Mixed read/write workload", f"wrk -t1 -c8 -d{seconds}s -s scripts/bench/mixed.lua --latency, generated database", lines)

    # -- reads off the cooperative pool (issue #18, "one execution model for SQLite")

    def drilldown(self) -> None:
        """Paced single-event ingestion, alone, while two connections read a 1,000-turn
        session's drill-down 10 times a second (a dashboard's pace), and while they read it back
        to back (saturating): the reads must not move the ingestion p99 (they run on reader
        threads, not on the two threads that serve requests, and an unchanged session's answer is
        kept)."""
        runs, seconds = self.args.runs, self.args.seconds
        modes = ("alone", "with drill-downs", "with back-to-back drill-downs")
        p99 = {mode: Stats() for mode in modes}
        p50 = {mode: Stats() for mode in modes}
        reads, rate = Stats(), None
        db = self.fresh_db("drilldown")
        parley = start_parley(self.args.parley, self.work, db)
        try:
            post_long_session(parley.url, "long-session", 1000)
        finally:
            parley.stop()
        script = str(BENCH / "get_path.lua")
        for run in range(runs):
            for mode in modes:
                run_db = self.work / f"drilldown-run-{time.time_ns()}.sqlite"
                durable_copy(db, run_db)
                parley = start_parley(self.args.parley, self.work, run_db)
                try:
                    if rate is None:
                        capacity = wrk(parley.url, 5, 8, str(BENCH / "ingest.lua"), {"BATCH": "1"})["rps"] or 100
                        rate = max(1, int(capacity / 2))
                    reader = None
                    if mode != "alone":
                        pace = {"RATE": "10", "CONNECTIONS": "2"} if mode == "with drill-downs" else {}
                        reader = subprocess.Popen(
                            ["wrk", "-t1", "-c2", f"-d{seconds + 2}s", "-s", script, parley.url],
                            env=dict(os.environ, AUTH=AUTH, PATH_TO_GET="/api/public/sessions/long-session", **pace),
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                        time.sleep(1)
                    result = wrk(parley.url, seconds, 4, str(BENCH / "ingest_paced.lua"),
                                 {"RATE": str(rate), "CONNECTIONS": "4", "BATCH": "1"}, latency=True)
                    if reader is not None:
                        out, _ = reader.communicate(timeout=seconds * 4 + 60)
                        if mode != "with drill-downs" and (m := re.search(r"Requests/sec:\s+([\d.]+)", out)):
                            reads.add(float(m.group(1)))
                finally:
                    parley.stop()
                p50[mode].add(result["p50"])
                p99[mode].add(result["p99"])
            log(f"drilldown: run {run + 1}/{runs}")
        alone, loaded = p99["alone"].median, p99["with drill-downs"].median
        ratio_p99 = loaded / alone if alone and loaded else None
        lines = [f"Single-event batches at half the measured capacity ({rate} req/s, 4 connections) for {seconds} s; "
                 f"`with drill-downs` adds two connections reading `GET /api/public/sessions/long-session` (1,000 turns, "
                 f"a trace and a generation each, about 1 MB) 10 times a second; `back-to-back` reads it as fast as "
                 f"the server answers (median {fmt(reads.median, '{:.1f}')} drill-downs/s), which on 2 cores takes CPU "
                 f"from everything else.", "",
                 "| single-event ingestion | p50 ms | p99 ms (min–max) |", "|---|---|---|"]
        for mode in modes:
            lines.append(f"| {mode} | {fmt(p50[mode].median, '{:.2f}')} | {fmt(p99[mode].median, '{:.1f}')} ({p99[mode].spread('{:.1f}')}) |")
        self.section("Ingestion under a drill-down load (issue #18)",
                     f"scripts/bench.sh --only drilldown (wrk -t1 -c4 -d{seconds}s ingest_paced.lua BATCH=1 --latency, "
                     f"with and without wrk -c2 get_path.lua on a 1,000-turn session)", lines)
        self.target("single-event ingestion p99 under 1,000-turn drill-downs", "≤ 1.2× without them",
                    f"p99 {fmt(loaded, '{:.1f}')} vs {fmt(alone, '{:.1f}')} ms",
                    "" if ratio_p99 is None else f"{ratio_p99:.2f}×", None if ratio_p99 is None else ratio_p99 <= 1.2)

    # -- one long session posted turn by turn (issue #18: no quadratic)

    def longsession(self) -> None:
        """1,000 turns of one session, each its own request (a trace and a generation), sent one
        after another on one keep-alive connection: the mean answer time of the last 100 turns
        against the first 100. Work that grows with the session on the ack path shows here.

        Another 1,000-turn session is posted first, unmeasured: on an empty file the first turns
        are cheaper for reasons that have nothing to do with the session's length (a WAL and a
        page cache that are still tiny, no checkpoint yet), which made the ratio read high."""
        runs = self.args.runs
        buckets = [Stats() for _ in range(10)]
        for run in range(runs):
            parley = start_parley(self.args.parley, self.work, self.fresh_db("longsession"))
            try:
                post_turn_by_turn(parley.port, f"warm-up-{run}", 1000)
                times = post_turn_by_turn(parley.port, f"turn-by-turn-{run}", 1000)
            finally:
                parley.stop()
            for index, bucket in enumerate(buckets):
                bucket.add(statistics.mean(times[index * 100:(index + 1) * 100]))
            log(f"longsession: run {run + 1}/{runs}")
        first, last = buckets[0], buckets[-1]
        growth = last.median / first.median if first.median and last.median else None
        lines = ["One keep-alive connection posts 1,000 turns of one session, one request per turn (a trace-create "
                 "and a generation-create with usage), each sent when the previous was answered, after another "
                 "1,000-turn session (unmeasured) on the same server.", "",
                 "| turns | mean answer ms (median of runs, min–max) |", "|---|---|"]
        lines += [f"| {index * 100 + 1:,}–{(index + 1) * 100:,} | {fmt(bucket.median, '{:.2f}')} ({bucket.spread('{:.2f}')}) |"
                  for index, bucket in enumerate(buckets)]
        self.section("One 1,000-turn session posted turn by turn (issue #18)",
                     "scripts/bench.sh --only longsession (post_turn_by_turn in run.py)", lines)
        self.target("the 1,000th turn of one session", "≤ 1.2× the 1st (last 100 vs first 100)",
                    f"{fmt(last.median, '{:.2f}')} vs {fmt(first.median, '{:.2f}')} ms",
                    "" if growth is None else f"{growth:.2f}×", None if growth is None else growth <= 1.2)

    # -- privacy and data lifecycle (issue #8)

    def lifecycle(self) -> None:
        """Paced ingestion while retention deletes about half of the generated database, against
        the same load on the same database with no retention; and the answer time of erasing a
        user with 10,000 traces."""
        runs, seconds = self.args.runs, self.args.seconds
        days = 15  # the dataset spans the 30 days before it was generated
        p99 = {mode: Stats() for mode in ("baseline", "retention")}
        p50 = {mode: Stats() for mode in ("baseline", "retention")}
        deleted, rate = Stats(), None
        for run in range(runs):
            for mode in ("baseline", "retention"):
                db = self.dataset()
                cutoff = int(time.time() * 1000) - days * 86_400_000
                old_before = count_older(db, cutoff)
                parley = start_parley(self.args.parley, self.work, db, extra=["--retention-days", str(days)] if mode == "retention" else [])
                try:
                    if rate is None:
                        capacity = wrk(parley.url, 5, 8, str(BENCH / "ingest.lua"), {"BATCH": "100"})["rps"] or 100
                        rate = max(1, int(capacity / 2))
                    result = wrk(parley.url, seconds, 4, str(BENCH / "ingest_paced.lua"),
                                 {"RATE": str(rate), "CONNECTIONS": "4", "BATCH": "100"}, latency=True)
                finally:
                    parley.stop()
                p50[mode].add(result["p50"])
                p99[mode].add(result["p99"])
                if mode == "retention":
                    deleted.add(old_before - count_older(db, cutoff))
            log(f"lifecycle: run {run + 1}/{runs}")
        erase_answer, erase_done = Stats(), Stats()
        for run in range(runs):
            parley = start_parley(self.args.parley, self.work, self.fresh_db("erase"))
            try:
                answer_ms, done_ms = erase_big_user(parley.url, 10_000)
            finally:
                parley.stop()
            erase_answer.add(answer_ms)
            erase_done.add(done_ms)
        ratio_p99 = (p99["retention"].median / p99["baseline"].median) if p99["baseline"].median and p99["retention"].median else None
        lines = [f"Paced ingestion: 100-event batches at half the measured capacity ({rate} req/s) for {seconds} s on the "
                 f"generated database; `retention` starts the server with `--retention-days {days}`, so the retention job "
                 f"deletes every trace older than {days} days (median {fmt(deleted.median)} traces within the window) while the load runs.", "",
                 "| ingestion | p50 ms | p99 ms (min–max) |", "|---|---|---|",
                 f"| baseline (no retention) | {fmt(p50['baseline'].median, '{:.2f}')} | {fmt(p99['baseline'].median, '{:.1f}')} ({p99['baseline'].spread('{:.1f}')}) |",
                 f"| while retention deletes | {fmt(p50['retention'].median, '{:.2f}')} | {fmt(p99['retention'].median, '{:.1f}')} ({p99['retention'].spread('{:.1f}')}) |",
                 "", f"Erasing a user with 10,000 traces (`DELETE /api/public/users/{{id}}`): answered (202) in "
                 f"{fmt(erase_answer.median)} ms (min–max {erase_answer.spread()}), finished in the background after "
                 f"{fmt(erase_done.median)} ms ({erase_done.spread()})."]
        self.section("Retention and erasure (issue #8)",
                     f"scripts/bench.sh --only lifecycle (wrk -t1 -c4 -d{seconds}s ingest_paced.lua --latency, with and without --retention-days {days})", lines)
        self.target("ingestion p99 while retention runs", "within noise of the same load without retention",
                    f"p99 {fmt(p99['retention'].median, '{:.1f}')} vs {fmt(p99['baseline'].median, '{:.1f}')} ms",
                    "" if ratio_p99 is None else f"{ratio_p99:.2f}×", None if ratio_p99 is None else ratio_p99 <= 1.5)
        self.target("erasure of a 10,000-trace user answered", "≤ 1 s (202, then background)",
                    f"{fmt(erase_answer.median)} ms", "", None if erase_answer.median is None else erase_answer.median <= 1000)

    # -- memory

    def memory(self) -> None:
        runs = self.args.runs
        idle, held, served = Stats(), Stats(), []
        count = 10_000
        for run in range(runs):
            parley = start_parley(self.args.parley, self.work, self.fresh_db("memory"))
            try:
                wait_port(parley.port)
                time.sleep(1)
                idle.add(parley.rss_kb() / 1024)
                holder = subprocess.Popen([sys.executable, str(BENCH / "idle_conns.py"), "127.0.0.1", str(parley.port), str(count), "300"],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                opened = holder.stdout.readline().split()
                failed = holder.stdout.readline().split()
                time.sleep(1)
                held.add(parley.rss_kb() / 1024)
                # A normal client is still served while the idle connections are held.
                probe = wrk(parley.url + "/api/public/health", 3, 4, latency=True)
                served.append((int(opened[1]), int(failed[1]), probe["rps"], probe["p99"]))
                holder.stdin.close()
                holder.wait(timeout=60)
            finally:
                parley.stop()
            log(f"memory: run {run + 1}/{runs}")
        peak = getattr(self, "peak_load_rss", Stats())
        lines = ["| Parley RSS | median MB | min–max |", "|---|---|---|",
                 f"| idle, after start | {fmt(idle.median, '{:.1f}')} | {idle.spread('{:.1f}')} |",
                 f"| peak under 100-event ingestion load (VmHWM) | {fmt(peak.median, '{:.1f}')} | {peak.spread('{:.1f}')} |",
                 f"| holding {count:,} idle keep-alive connections | {fmt(held.median, '{:.1f}')} | {held.spread('{:.1f}')} |"]
        if served:
            opened = ", ".join(str(run[0]) for run in served)
            failed = ", ".join(str(run[1]) for run in served)
            p99s = Stats()
            for run in served:
                p99s.add(run[3])
            lines.append(f"\nConnections open and answered per run: {opened} ({failed} failed); meanwhile a 4-connection "
                         f"client's p99 was {fmt(p99s.median, '{:.2f}')} ms (median; {p99s.spread('{:.2f}')}).")
        self.section("Memory", "VmRSS / VmHWM from /proc; scripts/bench/idle_conns.py holds the idle connections", lines)
        self.target("RSS idle", "≤ 30 MB", f"{fmt(idle.median, '{:.1f}')} MB", "", None if idle.median is None else idle.median <= 30)
        self.target("RSS under load", "≤ 150 MB", f"{fmt(peak.median, '{:.1f}')} MB", "", None if peak.median is None else peak.median <= 150)
        self.target(f"RSS holding {count:,} idle connections", "≤ 150 MB", f"{fmt(held.median, '{:.1f}')} MB", "",
                    None if held.median is None else held.median <= 150)

    # -- the peer: Arize Phoenix

    def phoenix(self) -> None:
        from phoenix_peer import run_phoenix  # scripts/bench/phoenix_peer.py
        self.section(*run_phoenix(self))

    # -- report

    def report(self) -> str:
        machine = (f"Machine: {os.cpu_count()} cores, {cpu_model()}; {time.strftime('%Y-%m-%d', time.gmtime())}; "
                   f"parley {REVISION}; {self.args.runs} runs of {self.args.seconds}s per figure, medians")
        lines = [machine, "", "| what | target | measured | ratio | met |", "|---|---|---|---|---|"]
        lines += [f"| {what} | {target} | {measured} | {r} | {met} |" for what, target, measured, r, met in self.targets]
        return "\n".join(lines) + "\n\n" + "\n".join(self.sections)


def post_long_session(base: str, session: str, turns: int) -> None:
    """`turns` turns of one session, a trace and a generation each, posted 50 turns a batch."""
    def time_of(turn: int, offset_ms: int = 0) -> str:
        return iso(1_772_442_000 + turn * 60 + offset_ms / 1000)
    for start in range(0, turns, 50):
        events = []
        for turn in range(start, min(turns, start + 50)):
            trace = f"{session}-t{turn}"
            events.append({"id": f"{trace}-e1", "type": "trace-create", "timestamp": time_of(turn),
                           "body": {"id": trace, "sessionId": session, "name": "chat-turn", "timestamp": time_of(turn),
                                    "input": {"role": "user", "content": f"question {turn} " + "x" * 200},
                                    "output": {"role": "assistant", "content": f"answer {turn} " + "y" * 300},
                                    "metadata": {"turn.number": turn + 1}}})
            events.append({"id": f"{trace}-e2", "type": "generation-create", "timestamp": time_of(turn, 10),
                           "body": {"id": f"{trace}-g", "traceId": trace, "name": "llm-call", "model": "gpt-4o-mini",
                                    "startTime": time_of(turn, 10), "endTime": time_of(turn, 900),
                                    "usageDetails": {"input": 100 + turn, "output": 20}}})
        request = urllib.request.Request(f"{base}/api/public/ingestion", data=json.dumps({"batch": events}).encode(),
                                         headers={"Content-Type": "application/json", "Authorization": AUTHORIZATION})
        with urllib.request.urlopen(request, timeout=120) as answer:
            if answer.status != 207:
                raise RuntimeError(f"posting the long session: {answer.status}")


def post_turn_by_turn(port: int, session: str, turns: int) -> list[float]:
    """Posts `turns` turns of `session`, one request each, on one connection; the answer times in ms."""
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", "Authorization": AUTHORIZATION}
    times = []
    for turn in range(turns):
        at = 1_772_442_000 + turn * 60
        trace = f"{session}-t{turn}"
        body = json.dumps({"batch": [
            {"id": f"{trace}-e1", "type": "trace-create", "timestamp": iso(at),
             "body": {"id": trace, "sessionId": session, "name": "chat-turn", "timestamp": iso(at),
                      "input": f"question {turn}", "output": f"answer {turn}", "metadata": {"turn.number": turn + 1}}},
            {"id": f"{trace}-e2", "type": "generation-create", "timestamp": iso(at + 0.010),
             "body": {"id": f"{trace}-g", "traceId": trace, "name": "llm-call", "model": "gpt-4o-mini",
                      "startTime": iso(at + 0.010), "endTime": iso(at + 0.900), "usageDetails": {"input": 100, "output": 20}}},
        ]})
        started = time.perf_counter()
        connection.request("POST", "/api/public/ingestion", body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        times.append((time.perf_counter() - started) * 1000)
        if answer.status != 207:
            raise RuntimeError(f"turn {turn}: {answer.status}")
    connection.close()
    return times


def count_older(db: Path, cutoff_ms: int) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return connection.execute("SELECT count(*) FROM traces WHERE timestamp < ?", (cutoff_ms,)).fetchone()[0]


def erase_big_user(base: str, traces: int) -> tuple[float, float]:
    """Ingests `traces` traces of one user, then times DELETE /users/{id} until its answer and
    until the deletion job is done; both in ms."""
    user = f"erase-{time.time_ns()}"
    now = iso()
    headers = {"Authorization": AUTHORIZATION, "Content-Type": "application/json"}
    for start in range(0, traces, 500):
        batch = [{"id": f"{user}-e{i}", "type": "trace-create", "timestamp": now,
                  "body": {"id": f"{user}-t{i}", "timestamp": now, "userId": user, "sessionId": f"{user}-s{i // 50}"}}
                 for i in range(start, min(traces, start + 500))]
        request = urllib.request.Request(base + "/api/public/ingestion", data=json.dumps({"batch": batch}).encode(), headers=headers)
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
    began = time.perf_counter()
    request = urllib.request.Request(f"{base}/api/public/users/{user}", method="DELETE", headers=headers)
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.loads(response.read())
        location = response.headers.get("Location")
    answered = (time.perf_counter() - began) * 1000
    while body.get("status") != "done" and location:
        time.sleep(0.05)
        with urllib.request.urlopen(urllib.request.Request(base + location, headers=headers), timeout=60) as response:
            body = json.loads(response.read())
    return answered, (time.perf_counter() - began) * 1000


def ratio(a: Stats, b: Stats) -> float | None:
    return a.median / b.median if a.median and b.median else None


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def git_revision() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, cwd=REPO).stdout
    return (done.stdout.strip() or "unknown") + ("+dirty" if dirty.strip() else "")


# Taken when the run starts: the binary measured is the one built from this revision, even if
# commits land while the run goes on.
REVISION = git_revision()


def generate_dataset(binary: str, work: Path, db: Path, sessions: int, observations: int) -> None:
    """Fills `db` with gen_dataset.py's sessions through `binary`, every session ended.

    The dataset's turns are 30 days old: with the default timeout the sweeper would time
    sessions out while their later turns are still arriving. So it is generated with a timeout
    longer than that, then a server with the default timeout ends them all, and reads run on a
    settled database, as a long-running server has."""
    parley = start_parley(binary, work, db, extra=["--inactivity-timeout", str(365 * 86_400)])
    try:
        subprocess.run([sys.executable, str(BENCH / "gen_dataset.py"), parley.url, *KEYS,
                        str(sessions), str(observations)], check=True, stdout=sys.stderr)
    finally:
        parley.stop()
    parley = start_parley(binary, work, db)
    try:
        deadline = time.time() + 1800
        while active_sessions(parley.url) > 0:
            if time.time() > deadline:
                raise RuntimeError("the sweeper did not time out the dataset's sessions within 30 minutes")
            time.sleep(1)
    finally:
        parley.stop()


def active_sessions(base: str) -> int:
    """Sessions still active on the server at `base` (the session list's totalItems)."""
    request = urllib.request.Request(base + "/api/public/sessions?status=active&limit=1",
                                     headers={"Authorization": AUTHORIZATION})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["meta"]["totalItems"]


def update_docs(report: str) -> None:
    path = REPO / "docs" / "BENCHMARKS.md"
    text = path.read_text()
    begin, end = "<!-- bench.sh:begin -->", "<!-- bench.sh:end -->"
    block = f"{begin}\n{report}\n{end}"
    # Only markers on lines of their own count: the prose may mention them.
    lines = text.split("\n")
    if begin in lines and end in lines:
        first, last = lines.index(begin), lines.index(end)
        text = "\n".join(lines[:first] + [block] + lines[last + 1:])
    else:
        text += "\n" + block + "\n"
    path.write_text(text)
    log(f"updated {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parley", required=True)
    parser.add_argument("--ceiling", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--only", default="http,handshakes,ingest,otlp,reads,mixed,drilldown,longsession,memory,lifecycle")
    parser.add_argument("--peer", choices=["phoenix"])
    parser.add_argument("--update-docs", action="store_true")
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--observations", type=int, default=1_000_000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    sys.path.insert(0, str(BENCH))
    harness = Harness(args)
    try:
        for name in args.only.split(","):
            log(f"== {name}")
            getattr(harness, name)()
        if args.peer == "phoenix":
            log("== phoenix")
            harness.phoenix()
    finally:
        shutil.rmtree(harness.work, ignore_errors=True)
    report = harness.report()
    print(report)
    if args.update_docs:
        update_docs(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
