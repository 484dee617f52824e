#!/usr/bin/env bash
# Fuzzing: builds every cargo-fuzz target in fuzz/ once and runs each for
# SECONDS (default 10). Installs the nightly toolchain and cargo-fuzz when
# they are missing. New inputs go to a scratch corpus (FUZZ_CORPUS, default
# a temporary directory); the committed seeds in fuzz/corpus/ stay as they
# are. A crash stops the run and leaves its input in fuzz/artifacts/.
#
#   scripts/fuzz.sh            # 10 s per target
#   scripts/fuzz.sh 600        # 10 min per target
#   FUZZ_TARGETS="policy fs_path" scripts/fuzz.sh 60
#   FUZZ_PROFILE=dev scripts/fuzz.sh 5   # unoptimised: quick to build
#   scripts/fuzz.sh build                # build the targets, run nothing
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# No sanitizer: the code is safe Rust, so we look for panics, arithmetic
# overflow (debug assertions are on, cargo-fuzz's default), hangs and
# broken invariants, which need no ASan and run ~3x faster without it.
flags=(-s none)
# FUZZ_PROFILE=dev builds without optimisation and with parallel codegen:
# a third of the build time, for runs of seconds where the build is all
# that costs (CI's smoke run). Long runs keep the optimised default.
case "${FUZZ_PROFILE:-release}" in
dev) flags+=(--dev) ;;
release) ;;
*) echo "fuzz: FUZZ_PROFILE must be dev or release, not ${FUZZ_PROFILE}" >&2; exit 2 ;;
esac
# core's build script builds the wasm guests: with stable, whose
# wasm32-wasip2 target scripts/setup.sh installs (nightly's may not exist).
export LLMAGENT_GUEST_TOOLCHAIN=${LLMAGENT_GUEST_TOOLCHAIN:-stable}
bash scripts/setup.sh
cd fuzz
cargo +nightly fuzz build "${flags[@]}"
if [ "$seconds" = build ]; then
    echo "fuzz: every target built"
    exit 0
fi

scratch=${FUZZ_CORPUS:-$(mktemp -d)}
targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}
for target in $targets; do
    mkdir -p "$scratch/$target"
    echo "fuzz: $target for ${seconds}s"
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: 2 GiB
    # is a leak or an unbounded allocation.
    status=0
    cargo +nightly fuzz run "${flags[@]}" "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$scratch/$target.log" 2>&1 || status=$?
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs)' "$scratch/$target.log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$scratch/$target.log"
        echo "fuzz: $target failed (status $status); the input is in fuzz/artifacts/$target/"
        exit 1
    fi
done
[ -n "${FUZZ_CORPUS:-}" ] || rm -rf "$scratch"
echo "fuzz: all targets ran ${seconds}s without a crash"
