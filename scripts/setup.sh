#!/usr/bin/env bash
# Installs what building llmagent needs on a fresh machine: the wasm32-wasip2
# Rust target (tools are WebAssembly components). Idempotent and quiet when
# everything is already there.
set -euo pipefail

if ! command -v cargo >/dev/null; then
    echo "error: cargo not found; install Rust (stable 1.95 or newer) with rustup first" >&2
    exit 1
fi
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    echo "setup: installing the wasm32-wasip2 Rust target"
    rustup target add wasm32-wasip2
fi
