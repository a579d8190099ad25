#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, builds, runs the Swift
# tests, then starts a real server on ephemeral ports and runs scripts/smoke.sh against it, the
# fast reliability checks (scripts/reliability.sh --fast), the real-SDK suites
# (scripts/sdk/run.sh), the real instrumentations (scripts/instrumentations/run.sh: seven
# libraries against a stub OpenAI server), the web console's browser tests
# (scripts/console/run.sh, headless Chromium) and the API contract check (scripts/api-contract.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the build and the smoke test need (Debian names). Installed only when missing.
scripts/apt-ensure.sh libssl-dev libsqlite3-dev zlib1g-dev pkg-config openssl curl python3

echo "== swift build"
swift build --build-tests

echo "== swift test"
# Swift Testing starts every test at once unless told otherwise. With ~660 tests each opening a
# database (a writer, a checkpointer and reader threads), about 480 databases and 2,900 threads
# were once alive together, and their blocking opens and closes held the 2-thread cooperative
# pool while requests in other tests waited past their 60 s limits. TestSupport now opens and
# closes databases on threads of their own; 16 tests at a time also keeps the thread count sane
# and takes the same wall time (about 80 s here).
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-16}
swift test --skip-build

echo "== smoke test against a live server"
scripts/run-smoke.sh .build/debug/parley

echo "== reliability: the fast checks (crash safety, overload, hostile clients, bad input, security)"
scripts/reliability.sh --fast --binary .build/debug/parley

echo "== real SDKs: langfuse 2.60.10, 4.18.0 and 5.0.4 (venvs built from PyPI on first run)"
PARLEY_BIN=.build/debug/parley scripts/sdk/run.sh -q

echo "== real instrumentations: OpenInference, OpenLLMetry, traceloop-sdk, langfuse.openai, LangChain, OTel openai-v2, pydantic-ai"
PARLEY_BIN=.build/debug/parley scripts/instrumentations/run.sh -q

echo "== web console: headless Chromium and selenium 4.51.0 against a live server"
PARLEY_BIN=.build/debug/parley scripts/console/run.sh -q

echo "== API contract: openapi.yaml validation and schemathesis"
scripts/api-contract.sh .build/debug/parley
