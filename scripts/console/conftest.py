"""Fixtures for the console's browser tests: one live parley filled with data, one headless
Chromium signed in to it, and per-test checks that the page logged no error and broke no CSP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))  # scripts/, for parleykit
from parleykit.server import Parley, binary  # noqa: E402

PUBLIC_KEY = "pk-lf-console"
SECRET_KEY = "sk-lf-console"
WAIT_S = 30.0
LONG_TURNS = 10_000
XSS_INPUT = '<img src=x onerror="window.__xss=1"> and <script>window.__xss=2</script>'
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")

# Records CSP violations before any page script runs (a DevTools script, not subject to CSP).
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class World:
    """The server, its keys and API access (HTTP Basic), and the data posted to it."""

    def __init__(self, server):
        self.server = server
        self.url = server.url
        self.auth = (PUBLIC_KEY, SECRET_KEY)
        self.project_id = self.get("/api/public/projects")["data"][0]["id"]
        self.sessions = {}

    def get(self, path, params=None, status=200):
        response = requests.get(self.url + path, params=params, auth=self.auth, timeout=60)
        assert response.status_code == status, f"GET {path}: {response.status_code} {response.text[:300]}"
        return response.json()

    def post(self, path, body, status=None):
        response = requests.post(self.url + path, json=body, auth=self.auth, timeout=120)
        if status is not None:
            assert response.status_code == status, f"POST {path}: {response.status_code} {response.text[:300]}"
        return response

    def ingest(self, events):
        response = self.post("/api/public/ingestion", {"batch": events}, status=207)
        assert response.json()["errors"] == [], response.text[:500]

    def page(self, path):
        return self.url + path

    def project_path(self, rest=""):
        return f"/project/{self.project_id}{rest}"


def event(kind, body, at):
    return {"id": str(uuid.uuid4()), "type": kind, "timestamp": iso(at), "body": body}


def turn_events(trace_id, session_id, number, at, *, user=None, text=None, metadata=None):
    meta = {"turn_number": number}
    meta.update(metadata or {})
    body = {"id": trace_id, "name": "chat-turn", "timestamp": iso(at), "sessionId": session_id,
            "input": {"role": "user", "content": text or f"question {number}"},
            "output": {"role": "assistant", "content": f"answer {number}"}, "metadata": meta}
    if user:
        body["userId"] = user
    return [
        event("trace-create", body, at),
        event("generation-create", {"id": trace_id + "-llm", "traceId": trace_id, "name": "llm-call", "model": "gpt-4o-mini",
                                    "startTime": iso(at), "endTime": iso(at + timedelta(milliseconds=400)),
                                    "usageDetails": {"input": 100, "output": 20, "total": 120},
                                    "costDetails": {"input": 0.0001, "output": 0.00002, "total": 0.00012}}, at),
    ]


def fill(world: World):
    """Everything the tests look at: the README's demo, the langfuse 2.60.10 capture, filterable
    sessions, a session whose input is an HTML attack, and a 10,000-turn session."""
    demo = subprocess.run([str(REPO / "scripts" / "demo.sh"), world.url, PUBLIC_KEY, SECRET_KEY],
                          capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    for name in ("ingestion-batch-1", "ingestion-batch-2"):
        body = json.loads((REPO / "Tests/Fixtures/sdk/langfuse-python-2.60.10" / f"{name}.json").read_text())
        world.ingest(body["batch"])

    start = datetime.now(timezone.utc) - timedelta(hours=3)
    # Filterable sessions: gold/silver plans in metadata, app and web channels, ended or not.
    for i in range(6):
        sid = f"filter-{i}"
        plan = "gold" if i % 2 == 0 else "silver"
        events = []
        for n in range(1, 2 + i % 3):
            events += turn_events(f"filter-{i}-t{n}", sid, n, start + timedelta(minutes=i, seconds=n),
                                  user=f"user-{i % 3}", metadata={"plan": plan, "channel": "app" if i < 3 else "web"})
        world.ingest(events)
        if i % 3 != 2:
            world.post(f"/api/public/sessions/{sid}/end", {"reason": "user_exit" if i % 2 else "completed"}, status=200)
    world.sessions["filters"] = [f"filter-{i}" for i in range(6)]

    # Enough one-turn sessions for the list to have several pages.
    bulk = []
    for i in range(30):
        bulk += turn_events(f"bulk-{i}-t1", f"bulk-{i}", 1, start + timedelta(minutes=30 + i), user=f"user-{i % 5}")
    world.ingest(bulk)

    # Trace values that are HTML: they must show as text.
    world.ingest([event("trace-create", {"id": "xss-trace", "name": "<b>name</b>", "sessionId": "xss-session",
                                         "timestamp": iso(start), "input": XSS_INPUT, "output": "<i>not italic</i>",
                                         "metadata": {"note": "<svg onload=alert(1)>"}}, start)])
    world.sessions["xss"] = "xss-session"

    # A session with an idle gap and a resumption, still active (the live test posts into it).
    live_events = []
    for n, minutes in [(1, 0), (2, 1), (3, 20), (4, 130)]:
        live_events += turn_events(f"live-t{n}", "live-session", n, start + timedelta(minutes=minutes), user="user-live")
    world.ingest(live_events)
    world.sessions["live"] = "live-session"

    # 10,000 turns, posted 1,000 traces per batch.
    long_start = start - timedelta(hours=2)
    for batch in range(LONG_TURNS // 1000):
        events = []
        for k in range(1000):
            n = batch * 1000 + k + 1
            at = long_start + timedelta(seconds=n)
            events.append(event("trace-create", {"id": f"long-t{n}", "name": "long-turn", "sessionId": "long-session",
                                                 "timestamp": iso(at), "input": f"long question {n}",
                                                 "output": f"long answer {n}", "metadata": {"turn_number": n}}, at))
        world.ingest(events)
    world.sessions["long"] = "long-session"


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    path = binary()
    if not path.exists():
        pytest.fail(f"parley binary not found at {path}")
    db = tmp_path_factory.mktemp("console") / "parley.sqlite"
    with Parley(path, db, keys=(PUBLIC_KEY, SECRET_KEY)) as server:
        w = World(server)
        w.db_path = db
        w.binary = path
        fill(w)
        yield w


def new_driver():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                     "--disable-gpu", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")))
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_RECORDER})
    return driver


def sign_in(driver, world, public_key=PUBLIC_KEY, secret_key=SECRET_KEY):
    driver.get(world.page("/"))
    wait_for(lambda: driver.find_elements(By.ID, "publicKey"))
    driver.find_element(By.ID, "publicKey").send_keys(public_key)
    driver.find_element(By.ID, "secretKey").send_keys(secret_key)
    driver.find_element(By.CSS_SELECTOR, "[data-testid=signin-submit]").click()


@pytest.fixture(scope="session")
def browser(world):
    driver = new_driver()
    try:
        sign_in(driver, world)
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "[data-testid=kpi-sessions]"))
        yield driver
    finally:
        driver.quit()


def severe(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


@pytest.fixture(autouse=True)
def clean_console(request):
    """After each browser test: no console error and no CSP violation on the page."""
    yield
    if "browser" not in request.fixturenames:
        return
    driver = request.getfixturevalue("browser")
    errors = severe(driver)
    violations = driver.execute_script("return window.__cspViolations || []")
    assert errors == [], f"console errors: {errors}"
    assert violations == [], f"CSP violations: {violations}"


def wait_for(condition, timeout=WAIT_S, message="condition"):
    """Polls `condition` until it returns something true (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # a page mid-render: try again
            last_error = error
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}" + (f" (last error: {last_error})" if last_error else ""))


def figure(driver, testid):
    """The exact value behind a figure on the page (its data-value), as JSON."""
    element = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, f"[data-testid={testid}]"), message=testid)[0]
    return json.loads(element.get_attribute("data-value"))


def screenshot(driver, name):
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SCREENSHOTS) / f"{name}.png"))
