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

# Tests that need a facility this machine lacks are ignored at build time
# (build/facilities.rs) and counted as skipped by the runner; say which,
# and why.
if cargo nextest --version >/dev/null 2>&1; then
    echo "test: skipped here for a missing facility:"
    cargo nextest list --workspace --run-ignored only 2>/dev/null | while read -r crate name; do
        [ -n "$name" ] || continue
        fn_name=${name##*::}
        why=$(grep -rh -B4 --include='*.rs' "fn ${fn_name}(" host-capabilities runtime tests 2>/dev/null |
            sed -n 's/.*ignore = "\(.*\)".*/\1/p' | head -n 1)
        echo "  skipped: $crate $name (${why:-no reason given})"
    done
fi
