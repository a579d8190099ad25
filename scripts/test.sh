#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, builds, runs the Swift
# tests, then starts a real server on ephemeral ports and runs scripts/smoke.sh against it, the
# fast reliability checks (scripts/reliability.sh --fast), the real-SDK suites
# (scripts/sdk/run.sh) and the API contract check (scripts/api-contract.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the build and the smoke test need (Debian names). Installed only when missing.
packages=(libssl-dev libsqlite3-dev zlib1g-dev pkg-config openssl curl python3)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi

echo "== swift build"
swift build --build-tests

echo "== swift test"
swift test --skip-build

echo "== smoke test against a live server"
scripts/run-smoke.sh .build/debug/parley

echo "== reliability: the fast checks (crash safety, overload, hostile clients, bad input, security)"
scripts/reliability.sh --fast --binary .build/debug/parley

echo "== real SDKs: langfuse 2.60.10 and 4.18.0 (venvs built from PyPI on first run)"
PARLEY_BIN=.build/debug/parley scripts/sdk/run.sh -q

echo "== API contract: openapi.yaml validation and schemathesis"
scripts/api-contract.sh .build/debug/parley
