#!/usr/bin/env bash
# Installs what building and testing llmagent needs on a fresh Debian
# machine: the wasm32-wasip2 Rust target (tools are WebAssembly components),
# cargo-nextest (the test runner),
# dbus-daemon (the systemd and dbus tests run a private bus), python3 (the
# exec attacks: sockets, a fork bomb; and a venv with the MCP Python SDK for
# the MCP tests), and libudev-dev with pkg-config (the
# udev capability links libudev). Idempotent and quiet
# when everything is already there.
set -euo pipefail

if ! command -v cargo >/dev/null; then
    echo "error: cargo not found; install Rust (stable 1.95 or newer) with rustup first" >&2
    exit 1
fi
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    echo "setup: installing the wasm32-wasip2 Rust target"
    rustup target add wasm32-wasip2
fi

# The test runner: counts tests skipped for a missing facility as skipped.
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "setup: installing cargo-nextest"
    cargo install cargo-nextest --locked
fi

missing=()
command -v dbus-daemon >/dev/null || missing+=(dbus)
command -v python3 >/dev/null || missing+=(python3)
# The udev capability links libudev (the `udev` crate finds it with pkg-config).
command -v pkg-config >/dev/null || missing+=(pkg-config)
pkg-config --exists libudev 2>/dev/null || missing+=(libudev-dev)
# The MCP tests' third-party peer (the official MCP Python SDK) and the
# serve tests' schemathesis and Playwright run from venvs made below
# (Debian's python3 makes venvs only with python3-venv).
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
# `llmagent man` is tested by rendering its pages with man(1).
command -v man >/dev/null || missing+=(man-db)
# The web view of `llmagent serve` is tested in headless Chromium.
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ((${#missing[@]})); then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null; then
            sudo="sudo"
        else
            echo "error: Debian packages missing (${missing[*]}) and not root; install them and rerun" >&2
            exit 1
        fi
    fi
    echo "setup: installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The tests' Python peers, in one venv (build/facilities.rs finds it here,
# or at $LLMAGENT_VENV): the official MCP Python SDK (`mcp` from PyPI,
# pinned to the major version the MCP tests are written for), schemathesis
# (the property-based test of the service's OpenAPI document) and
# Playwright (drives Debian's chromium for the web view's test; its own
# browser download is not used).
venv="${LLMAGENT_VENV:-$HOME/.cache/llmagent/venv}"
if ! "$venv/bin/python" -c 'import mcp.server.mcpserver, schemathesis, playwright' >/dev/null 2>&1; then
    echo "setup: installing the MCP Python SDK, schemathesis and Playwright into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'mcp>=2,<3' schemathesis playwright
fi
