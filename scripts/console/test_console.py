"""The web console in headless Chromium against a live parley: each view's numbers against the
API, deep links, filters in the URL, HTML in traces shown as text, sign-in and sign-out, a forged
cross-site POST, the 10,000-turn session, and live updates without a reload."""

from __future__ import annotations

import http.server
import math
import threading
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import (LONG_TURNS, PUBLIC_KEY, SECRET_KEY, XSS_INPUT, event, figure, iso, new_driver, screenshot,
                      severe, sign_in, turn_events, wait_for)
from parleykit.client import create_key


def css(driver, selector):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def open_page(driver, world, path, ready):
    driver.get(world.page(path))
    return wait_for(lambda: css(driver, ready), message=f"{ready} on {path}")


def close(a, b):
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# --- overview

def test_overview_numbers_match_the_api(browser, world):
    open_page(browser, world, world.project_path("/overview"), "[data-testid=kpi-sessions]")
    figures = world.get("/api/public/analytics/sessions")
    dropoff = world.get("/api/public/analytics/dropoff", {"groupBy": "lastTurn", "limit": 20})
    converted = world.get("/api/public/sessions", {"converted": "true", "limit": 1})["meta"]["totalItems"]
    assert figure(browser, "kpi-sessions") == figures["count"]
    assert close(figure(browser, "kpi-dropoff-rate"), dropoff["dropoffRate"])
    assert close(figure(browser, "kpi-conversion-rate"), converted / figures["count"])
    for name, key in [("duration", "durationMs"), ("turns", "turns"), ("cost", "totalCost"), ("latency", "turnLatencyMs")]:
        for p in ("p50", "p90", "p99"):
            assert close(figure(browser, f"{name}-{p}"), figures[key][p]), (name, p)
    bars = css(browser, "[data-testid=dropoff-bar]")
    assert [b.get_attribute("data-key") for b in bars] == [str(g["key"]) if g["key"] is not None else "(none)" for g in dropoff["data"]]
    assert "as of" in css(browser, "[data-testid=overview-age]")[0].text
    journeys = world.get("/api/public/analytics/journeys")["data"]
    funnels = css(browser, "[data-testid=journey-funnel]")
    assert [f.get_attribute("data-name") for f in funnels] == [j["name"] for j in journeys[:3]]
    assert funnels, "the demo's journey shows as a funnel"
    screenshot(browser, "overview")


def test_dropoff_group_switch_and_bar_opens_its_sessions(browser, world):
    open_page(browser, world, world.project_path("/overview"), "[data-testid=dropoff-bar]")
    Select(css(browser, "[data-testid=groupby]")[0]).select_by_value("lastIntent")
    expected = world.get("/api/public/analytics/dropoff", {"groupBy": "lastIntent", "limit": 20})
    keys = [str(g["key"]) if g["key"] is not None else "(none)" for g in expected["data"]]
    wait_for(lambda: [b.get_attribute("data-key") for b in css(browser, "[data-testid=dropoff-bar]")] == keys, message="lastIntent bars")
    assert "groupBy=lastIntent" in browser.current_url
    group = next(g for g in expected["data"] if g["key"] == "clarification")
    link = [b for b in css(browser, "[data-testid=dropoff-bar]") if b.get_attribute("data-key") == "clarification"][0]
    link.find_element(By.XPATH, "..").click()
    wait_for(lambda: "/sessions?" in browser.current_url and css(browser, "[data-testid=sessions-total]"), message="sessions view")
    query = parse_qs(urlparse(browser.current_url).query)
    assert query["dropoff"] == ["true"] and query["lastIntent"] == ["clarification"]
    assert figure(browser, "sessions-total") == group["dropoffs"]
    ids = {row.get_attribute("data-id") for row in css(browser, "[data-testid=session-row]")}
    assert set(group["exampleSessionIds"]) <= ids


# --- sessions

def test_session_filters_sort_and_paging_survive_a_reload(browser, world):
    open_page(browser, world, world.project_path("/sessions"), "[data-testid=sessions-total]")
    assert figure(browser, "sessions-total") == world.get("/api/public/sessions", {"limit": 1})["meta"]["totalItems"]
    Select(browser.find_element(By.ID, "f-status")).select_by_value("ended")
    browser.find_element(By.CSS_SELECTOR, ".meta-key").send_keys("plan")
    browser.find_element(By.CSS_SELECTOR, ".meta-value").send_keys("gold")
    Select(css(browser, "[data-testid=sort]")[0]).select_by_value("turns")
    Select(css(browser, "[data-testid=direction]")[0]).select_by_value("asc")
    css(browser, "[data-testid=apply]")[0].click()
    params = {"status": "ended", "metadata[plan]": "gold", "orderBy": "turns.asc"}
    expected = world.get("/api/public/sessions", params)
    wait_for(lambda: "metadata%5Bplan%5D=gold" in browser.current_url and figure(browser, "sessions-total") == expected["meta"]["totalItems"],
             message="filtered list")
    rows = lambda: [r.get_attribute("data-id") for r in css(browser, "[data-testid=session-row]")]
    assert rows() == [s["id"] for s in expected["data"]]
    assert expected["meta"]["totalItems"] >= 1
    browser.refresh()
    wait_for(lambda: css(browser, "[data-testid=session-row]"), message="list after reload")
    assert Select(browser.find_element(By.ID, "f-status")).first_selected_option.get_attribute("value") == "ended"
    assert browser.find_element(By.CSS_SELECTOR, ".meta-key").get_attribute("value") == "plan"
    assert figure(browser, "sessions-total") == expected["meta"]["totalItems"]
    assert rows() == [s["id"] for s in expected["data"]]
    # The export links carry the same filter and read with the sign-in cookie.
    href = css(browser, "[data-testid=export-csv]")[0].get_attribute("href")
    cookie = {c["name"]: c["value"] for c in browser.get_cookies()}
    csv = requests.get(href, cookies=cookie, timeout=30)
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert len(csv.text.strip().splitlines()) == expected["meta"]["totalItems"] + 1
    ndjson = requests.get(css(browser, "[data-testid=export-ndjson]")[0].get_attribute("href"), cookies=cookie, timeout=30)
    assert sorted(line for line in ndjson.text.splitlines()) and len(ndjson.text.splitlines()) == expected["meta"]["totalItems"]
    screenshot(browser, "sessions")


def test_paging_is_server_side(browser, world):
    total = world.get("/api/public/sessions", {"limit": 1})["meta"]["totalItems"]
    assert total > 25, "needs more than one page"
    open_page(browser, world, world.project_path("/sessions?orderBy=createdAt.asc&page=2"), "[data-testid=session-row]")
    expected = world.get("/api/public/sessions", {"orderBy": "createdAt.asc", "page": 2, "limit": 25})
    assert [r.get_attribute("data-id") for r in css(browser, "[data-testid=session-row]")] == [s["id"] for s in expected["data"]]
    assert css(browser, "[data-testid=page]")[0].text.startswith("page 2 of")


# --- replay, deep links, text rendering

def test_session_deep_link_replays_the_session(browser, world):
    sid = world.sessions["live"]
    open_page(browser, world, world.project_path(f"/sessions/{sid}"), "[data-testid=turn]")
    summary = world.get(f"/api/public/sessions/{sid}", {"fields": "summary"})
    assert css(browser, "[data-testid=session-id]")[0].text == sid
    assert figure(browser, "replay-turns") == summary["turnCount"]
    assert close(figure(browser, "replay-cost"), summary["totalCost"])
    assert len(css(browser, "[data-testid=turn]")) == len(summary["turns"])
    turns = world.get(f"/api/public/sessions/{sid}/turns", {"limit": 50})["data"]
    for card, trace in zip(css(browser, "[data-testid=turn]"), turns):
        assert card.get_attribute("data-trace-id") == trace["id"]
        assert json_figure(card, "turn-tokens") == trace["totalTokens"]
        assert close(json_figure(card, "turn-cost"), trace["totalCost"])
        assert card.find_element(By.CSS_SELECTOR, "[data-testid=turn-input]").text == f"user: {trace['input']['content']}"
    gaps = css(browser, "[data-testid=gap]")
    assert len(gaps) == 2 and "past the inactivity timeout" in gaps[1].text and "idle" in gaps[0].text, [g.text for g in gaps]
    css(browser, "[data-testid=load-observations]")[0].click()
    wait_for(lambda: css(browser, "[data-testid=observation]"), message="observation tree")
    screenshot(browser, "replay")


def json_figure(element, testid):
    import json
    return json.loads(element.find_element(By.CSS_SELECTOR, f"[data-testid={testid}]").get_attribute("data-value"))


def test_trace_and_user_deep_links_open(browser, world):
    trace = world.get("/api/public/traces/ddc979a6-5ae2-46d1-b133-ac3a2cb3b662")
    open_page(browser, world, trace["htmlPath"], "[data-testid=trace-id]")
    assert css(browser, "[data-testid=trace-id]")[0].text == trace["id"]
    assert css(browser, "[data-testid=trace-session-link]")[0].text == trace["sessionId"]
    wait_for(lambda: css(browser, "[data-testid=observation]"), message="observation tree of the trace")
    user = world.get("/api/public/users/user-1")
    open_page(browser, world, world.project_path(f"/users/{user['id']}"), "[data-testid=user-session-row]")
    assert figure(browser, "user-sessions") == user["sessions"]
    assert [r.get_attribute("data-id") for r in css(browser, "[data-testid=user-session-row]")] == [s["id"] for s in user["recentSessions"]]
    screenshot(browser, "user")


def test_html_in_a_trace_shows_as_text(browser, world):
    open_page(browser, world, world.project_path(f"/sessions/{world.sessions['xss']}"), "[data-testid=turn-input]")
    shown = css(browser, "[data-testid=turn-input]")[0]
    assert shown.text == XSS_INPUT
    assert css(browser, "[data-testid=turn-output]")[0].text == "<i>not italic</i>"
    assert css(browser, "[data-testid=turns] img") == [] and css(browser, "[data-testid=turns] script") == []
    assert css(browser, "[data-testid=turns] i") == []
    assert browser.execute_script("return window.__xss === undefined")


# --- other views

def test_journeys_view_matches_the_api(browser, world):
    journeys = world.get("/api/public/analytics/journeys")["data"]
    open_page(browser, world, world.project_path("/journeys"), "[data-testid=journey-detail]")
    rows = css(browser, "[data-testid=journey-row]")
    assert [r.get_attribute("data-name") for r in rows] == [j["name"] for j in journeys]
    detail = world.get(f"/api/public/analytics/journeys/{journeys[0]['name']}")
    assert figure(browser, "funnel-sessions") == detail["sessions"]
    assert close(figure(browser, "funnel-rate"), detail["conversionRate"])
    reached = [json_figure(r, "stage-reached") for r in css(browser, "[data-testid=stage-row]")]
    assert reached == [s["sessionsReached"] for s in detail["stages"]]
    screenshot(browser, "journeys")
    # The sessions stuck at the first stage: in it and not converted.
    stage = detail["stages"][0]["name"]
    [r for r in css(browser, "[data-testid=stage-row]") if r.get_attribute("data-stage") == stage][0] \
        .find_element(By.CSS_SELECTOR, "[data-testid=stuck-link]").click()
    expected = world.get("/api/public/sessions", {"journey": detail["name"], "journeyStage": stage, "converted": "false"})
    wait_for(lambda: "journeyStage=" in browser.current_url and figure(browser, "sessions-total") == expected["meta"]["totalItems"],
             message="stuck sessions")


def test_distributions_compare_two_filter_sets(browser, world):
    open_page(browser, world, world.project_path("/distributions?a.channel=app&b.channel=web"), "[data-testid=a-count]")
    for side, channel in (("a", "app"), ("b", "web")):
        expected = world.get("/api/public/analytics/sessions", {"channel": channel})
        assert figure(browser, f"{side}-count") == expected["count"]
        assert close(figure(browser, f"{side}-turns-p50"), expected["turns"]["p50"])
        assert close(figure(browser, f"{side}-durationMs-p90"), expected["durationMs"]["p90"])
    screenshot(browser, "distributions")


def test_users_and_quality_views_match_the_api(browser, world):
    users = world.get("/api/public/users", {"orderBy": "lastSeen.desc", "limit": 25})
    open_page(browser, world, world.project_path("/users"), "[data-testid=user-row]")
    assert figure(browser, "users-total") == users["meta"]["totalItems"]
    assert [r.get_attribute("data-id") for r in css(browser, "[data-testid=user-row]")] == [u["id"] for u in users["data"]]
    report = world.get("/api/public/quality")
    open_page(browser, world, world.project_path("/quality"), "[data-testid=finding]")
    for finding in css(browser, "[data-testid=finding]"):
        assert json_figure(finding, "finding-count") == report[finding.get_attribute("data-key")]["count"]
        assert "Fix:" in finding.text
    assert report["orphanTraces"]["count"] >= 0
    screenshot(browser, "quality")


# --- the long session, live updates

def test_ten_thousand_turn_session_opens_and_scrolls(browser, world):
    sid = world.sessions["long"]
    open_page(browser, world, world.project_path(f"/sessions/{sid}"), "[data-testid=turn]")
    assert figure(browser, "replay-turns") == LONG_TURNS
    assert len(css(browser, "[data-testid=turn-page]")) == LONG_TURNS // 50
    # Only the pages near the viewport were loaded.
    assert len(css(browser, "[data-testid=turn]")) < 1000
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    last = wait_for(lambda: [t for t in css(browser, "[data-testid=turn]") if t.get_attribute("data-turn") == str(LONG_TURNS)],
                    message="the last turn after scrolling")[0]
    assert last.find_element(By.CSS_SELECTOR, "[data-testid=turn-input]").text == f"long question {LONG_TURNS}"
    middle = LONG_TURNS // 2
    browser.execute_script("document.querySelectorAll('[data-testid=turn-page]')[arguments[0]].scrollIntoView()", middle // 50)
    wait_for(lambda: [t for t in css(browser, "[data-testid=turn]") if t.get_attribute("data-turn") == str(middle + 1)],
             message="a turn in the middle")


def test_a_turn_posted_while_the_replay_is_open_appears_without_reload(browser, world):
    sid = world.sessions["live"]
    open_page(browser, world, world.project_path(f"/sessions/{sid}"), "[data-testid=turn]")
    wait_for(lambda: css(browser, "#live")[0].text == "live", message="the event stream")
    browser.execute_script("window.__noReload = true")
    before = figure(browser, "replay-turns")
    trace_id = "live-new-" + uuid.uuid4().hex[:8]
    at = datetime.now(timezone.utc)
    world.ingest(turn_events(trace_id, sid, before + 1, at, text="posted while watching"))
    card = wait_for(lambda: css(browser, f"[data-trace-id='{trace_id}']"), message="the new turn")[0]
    assert card.find_element(By.CSS_SELECTOR, "[data-testid=turn-input]").text == "user: posted while watching"
    assert figure(browser, "replay-turns") == before + 1
    assert browser.execute_script("return window.__noReload === true")


def test_overview_follows_new_sessions_live(browser, world):
    open_page(browser, world, world.project_path("/overview"), "[data-testid=kpi-sessions]")
    wait_for(lambda: css(browser, "#live")[0].text == "live", message="the event stream")
    browser.execute_script("window.__noReload = true")
    before = figure(browser, "kpi-sessions")
    world.ingest(turn_events("overview-live-" + uuid.uuid4().hex[:8], "overview-live-session", 1, datetime.now(timezone.utc)))
    wait_for(lambda: figure(browser, "kpi-sessions") == before + 1, message="the new session counted")
    assert browser.execute_script("return window.__noReload === true")


# --- sign-in, sign-out, revocation, cross-site requests (own browsers)

def test_sign_in_sets_an_httponly_cookie_and_sign_out_ends_it(world):
    driver = new_driver()
    try:
        driver.get(world.page(world.project_path("/sessions")))
        wait_for(lambda: css(driver, "[data-testid=signin-form]"), message="sign-in form")
        sign_in(driver, world, secret_key="sk-lf-wrong")
        wait_for(lambda: css(driver, "[data-testid=signin-error]")[0].text, message="the refusal")
        driver.get_log("browser")  # the refused sign-in's 401 is expected
        sign_in(driver, world)
        wait_for(lambda: css(driver, "[data-testid=kpi-sessions]"), message="overview after sign-in")
        cookies = driver.get_cookies()
        assert len(cookies) == 1
        cookie = cookies[0]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] != SECRET_KEY
        assert driver.execute_script("return document.cookie") == ""
        storage = driver.execute_script("return JSON.stringify([Object.keys(localStorage), Object.keys(sessionStorage)])")
        assert storage == "[[],[]]"
        assert SECRET_KEY not in driver.page_source
        jar = {cookie["name"]: cookie["value"]}
        assert requests.get(world.page("/api/public/sessions"), cookies=jar, timeout=10).status_code == 200
        # The cookie reads; it never writes.
        forged = requests.post(world.page("/api/public/sessions"), json={"id": "cookie-write"}, cookies=jar, timeout=10)
        assert forged.status_code == 401
        assert requests.delete(world.page(f"/api/public/sessions/{world.sessions['xss']}"), cookies=jar, timeout=10).status_code == 401
        driver.find_element(By.ID, "signout").click()
        wait_for(lambda: css(driver, "[data-testid=signin-form]"), message="sign-in form after sign-out")
        assert driver.get_cookies() == []
        assert requests.get(world.page("/api/public/sessions"), cookies=jar, timeout=10).status_code == 401
        assert severe(driver) == []
    finally:
        driver.quit()


def test_revoking_the_key_ends_the_sign_in(world):
    import subprocess
    public, secret = create_key(world.binary, world.db_path, "default")
    session = requests.Session()
    answer = session.post(world.page("/api/console/session"), json={"publicKey": public, "secretKey": secret}, timeout=10)
    assert answer.status_code == 200 and "parley_console" in session.cookies
    assert session.get(world.page("/api/public/sessions"), timeout=10).status_code == 200
    subprocess.run([str(world.binary), "keys", "revoke", public, "--db", str(world.db_path)], check=True, timeout=60,
                   capture_output=True)
    # Another process revoked it: the server sees it when its key cache expires (10 s).
    wait_for(lambda: session.get(world.page("/api/public/sessions"), timeout=10).status_code == 401, timeout=60,
             message="the revoked key's sign-in to end")
    assert session.get(world.page("/api/console/session"), timeout=10).json() == {"signedIn": False}


class AttackerPage(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self):
        if self.path == "/signin":
            form = (f'<form id="f" method="POST" action="{self.target}/api/console/session" enctype="text/plain">'
                    f'<input name=\'{{"publicKey":"{PUBLIC_KEY}","secretKey":"{SECRET_KEY}","x":"\' value=\'"}}\'></form>')
        else:
            form = (f'<form id="f" method="POST" action="{self.target}/api/public/sessions" enctype="text/plain">'
                    '<input name=\'{"id":"forged-session","x":"\' value=\'"}\'></form>')
        body = f"<!doctype html><body>{form}<script>document.getElementById('f').submit()</script></body>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_forged_cross_site_post_fails(browser, world):
    AttackerPage.target = world.url
    attacker = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AttackerPage)
    thread = threading.Thread(target=attacker.serve_forever, daemon=True)
    thread.start()
    try:
        # localhost is another site than 127.0.0.1, where the console runs and is signed in.
        origin = f"http://localhost:{attacker.server_address[1]}"
        browser.get(origin + "/signin")
        wait_for(lambda: "Cross-site request refused" in browser.find_element(By.TAG_NAME, "body").text, message="403 to a forged sign-in")
        browser.get(origin + "/write")
        wait_for(lambda: browser.current_url.startswith(world.url) and "message" in browser.find_element(By.TAG_NAME, "body").text,
                 message="the forged write's answer")
        assert world.get("/api/public/sessions/forged-session", status=404)
        browser.get_log("browser")  # the refused requests' 401/403 are logged by design
    finally:
        attacker.shutdown()
        attacker.server_close()
