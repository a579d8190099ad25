"""Bad input: libFuzzer on the input decoders (scripts/reliability/fuzz.sh), one result per
target: the HTTP/1.1 parser whole and in chunks, gzip/deflate bodies, the JSON parser, batch
ingestion decoding, and the OTLP protobuf and OTLP/JSON decoders with the OTLP mapper.

A target passes when it ran inputs and none crashed, hung or ran out of memory, and the control
target's planted crash was caught (so a quiet run means no crash, not a harness that cannot see
one). Not in the fast set: the instrumented binary is a separate release build (minutes on 2
cores), and each target runs 60 s (PARLEY_FUZZ_SECONDS changes that)."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from common import Context, Result, log

NAME = "fuzz"
FAST = False
ORDER = 40

TARGETS = ["http", "http-gzip", "json", "ingestion", "otlp-protobuf", "otlp-json", "extreme-values"]
SCRIPT = Path(__file__).resolve().parent / "fuzz.sh"
RESULT_LINE = re.compile(r"^RESULT target=(\S+) status=(\S+) execs=(\d+) execs_per_sec=(\d+) cov=(\d+) "
                         r"ft=(\d+) corpus=(\d+) crashes=(\d+)(?: reason=(.*))?$")


def control_line(output: str) -> str:
    """fuzz.sh's verdict on its control target (a planted crash), or "" when it did not run."""
    return next((line for line in output.splitlines() if line.startswith("CONTROL ")), "")


def parse(output: str) -> dict[str, dict]:
    """The RESULT lines of fuzz.sh, by target; artifact lines are attached to the target above them."""
    results: dict[str, dict] = {}
    current = None
    for line in output.splitlines():
        match = RESULT_LINE.match(line)
        if match:
            target, status, execs, rate, cov, ft, corpus, crashes, reason = match.groups()
            current = results[target] = {
                "status": status, "execs": int(execs), "rate": int(rate), "cov": int(cov), "ft": int(ft),
                "corpus": int(corpus), "crashes": int(crashes), "reason": reason or "", "artifacts": [],
            }
        elif current is not None and line.strip().startswith("artifact:"):
            current["artifacts"].append(line.split(":", 1)[1].strip())
    return results


def run(context: Context) -> list[Result]:
    seconds = int(os.environ.get("PARLEY_FUZZ_SECONDS", "60"))
    work = context.path("fuzz")
    log(f"building the fuzz binary and running {len(TARGETS)} targets for {seconds} s each")
    process = subprocess.run(["bash", str(SCRIPT), str(seconds), *TARGETS], capture_output=True, text=True,
                             env=dict(os.environ, PARLEY_FUZZ_WORK=str(work)),
                             timeout=3600 + seconds * len(TARGETS) * 3)
    (work / "fuzz.out").write_text(process.stdout + process.stderr)
    found = parse(process.stdout)
    # Without a caught control, a quiet target proves nothing: the harness may not report crashes.
    control_verdict = control_line(process.stdout)
    control = control_verdict.startswith("CONTROL status=caught")
    if control_verdict:
        log(control_verdict)
    results = []
    for target in TARGETS:
        name = f"fuzz {target}"
        entry = found.get(target)
        if entry is None:
            tail = (process.stdout + process.stderr).strip().splitlines()[-3:]
            results.append(Result(name, 0, False, f"no result from fuzz.sh (exit {process.returncode})", tail))
            continue
        if entry["status"] == "build-failed":
            results.append(Result(name, 0, False, f"fuzz build failed: {entry['reason']}",
                                  [f"build log: {work / 'build.log'}"]))
            continue
        figures = (f"{entry['execs']:,} execs in {seconds} s, {entry['rate']:,} execs/s, cov {entry['cov']:,}, "
                   f"ft {entry['ft']:,}, corpus {entry['corpus']}, {entry['crashes']} crashes")
        details = []
        if entry["reason"]:
            details.append(entry["reason"])
        details += [f"crash input: {path} (replay: .build/debug/parley-fuzz {target} <file>)"
                    for path in entry["artifacts"]]
        # A run that executed nothing proves nothing: it fails like a crash does.
        passed = entry["status"] == "ok" and entry["crashes"] == 0 and entry["execs"] > 0 and control
        if entry["execs"] == 0 and not entry["reason"]:
            details.append("no input was executed")
        if not control:
            details.append(f"the control target's planted crash was not caught (see {work / 'control' / 'log'})")
        results.append(Result(name, entry["execs"], passed, figures, details))
    return results
