#!/usr/bin/env bash
# The test command: sets up what is missing, then runs every test of both
# workspaces (the host workspace and the wasm tools, whose pure logic is
# unit-tested natively).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
else
    echo "test: cargo-nextest not found; using cargo test"
    cargo test --workspace --no-fail-fast
fi
cargo test --workspace --doc
cargo test --manifest-path tools-wasm/Cargo.toml --workspace
