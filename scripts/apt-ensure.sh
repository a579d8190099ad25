#!/usr/bin/env bash
# Installs the named Debian packages that are missing (with sudo unless root); does nothing when
# every one is installed. Used by test.sh and reliability.sh.
#
#   scripts/apt-ensure.sh openssl curl python3
#   scripts/apt-ensure.sh --no-install-recommends chromium chromium-driver
set -euo pipefail

install_args=(-y -qq)
if [ "${1:-}" = "--no-install-recommends" ]; then
    install_args+=(--no-install-recommends)
    shift
fi
missing=()
for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install "${install_args[@]}" "${missing[@]}"
fi
