#!/usr/bin/env bash
# How often the quick start's tiny model (SmolLM2-135M, constrained
# protocol) gets it right: N runs (default 20) of `llmagent run --agent
# local` from examples/policy.toml, each a new session — by default of the
# main job's question (scripts/demo.sh), with --variants over 20 different
# prompts that need a tool. A run counts as a valid call when at least one
# tool call ran and answered ok; it counts as right when the final answer
# also contains the expected text. Starts the model server if it is not
# running (and stops it again afterwards).
#
#   bash scripts/model-reliability.sh [--variants] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
variants=""
if [ "${1:-}" = "--variants" ]; then
    variants=yes
    shift
fi
n="${1:-20}"
bin="${LLMAGENT_BIN:-target/release/llmagent}"
[ -x "$bin" ] || cargo build --release -p llmagent --quiet

started=""
if ! bash scripts/model.sh status >/dev/null 2>&1; then
    bash scripts/model.sh start >/dev/null
    started=yes
fi
events="$(mktemp -d)"
cleanup() {
    rm -rf "$events"
    if [ -n "$started" ]; then bash scripts/model.sh stop >/dev/null; fi
}
trap cleanup EXIT

mkdir -p /tmp/llmagent
hostname_now="$(cat /etc/hostname)"
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
# prompt|expected text in the answer
cases=(
    "What is the SHA-256 hash of the text hello?|$(sha hello)"
    "Compute the SHA-256 of hello.|$(sha hello)"
    "sha256 of the word hello, please|$(sha hello)"
    "Hash the text hello with SHA-256 and tell me the digest.|$(sha hello)"
    "I need the sha256 digest of 'hello'.|$(sha hello)"
    "What is the SHA-256 hash of the text world?|$(sha world)"
    "Compute the SHA-256 of llmagent.|$(sha llmagent)"
    "Give me the sha256 of the string abc.|$(sha abc)"
    "What is the SHA-256 digest of password123?|$(sha password123)"
    "Use the crypto tool to hash the text debian.|$(sha debian)"
    "What is the hostname of this machine? Read /etc/hostname.|$hostname_now"
    "Read the file /etc/hostname and tell me what it says.|$hostname_now"
    "Show me the contents of /etc/hostname.|$hostname_now"
    "Which host am I on? The name is in /etc/hostname.|$hostname_now"
    "Use the file tool to read /etc/hostname.|$hostname_now"
    "What is the SHA-256 hash of the text linux?|$(sha linux)"
    "Hash 'rust' with sha256.|$(sha rust)"
    "Tell me the sha256 of the text agent.|$(sha agent)"
    "What does /etc/hostname contain?|$hostname_now"
    "Calculate the SHA-256 checksum of the text test.|$(sha test)"
)

if [ -z "$variants" ]; then
    # The main job's question, as scripts/demo.sh asks it.
    cases=("What is the SHA-256 hash of the text hello?|$(sha hello)")
fi

valid=0
right=0
for i in $(seq 0 $((n - 1))); do
    IFS='|' read -r prompt expected <<<"${cases[$((i % ${#cases[@]}))]}"
    json="$("$bin" --events "$events" run --policy examples/policy.toml --agent local \
        --new-session --json "$prompt" 2>/dev/null || true)"
    calls="$(python3 -c 'import json,sys; o=json.loads(sys.stdin.read() or "{}"); print(o.get("tool_calls",0)-o.get("tool_errors",0))' <<<"$json")"
    text="$(python3 -c 'import json,sys; o=json.loads(sys.stdin.read() or "{}"); print(o.get("text") or "")' <<<"$json")"
    verdict="no call"
    if [ "$calls" -gt 0 ]; then
        valid=$((valid + 1))
        verdict="valid call"
        if [[ "$text" == *"$expected"* ]]; then
            right=$((right + 1))
            verdict="valid call, right answer"
        fi
    fi
    printf '%2d  %-26s %s\n' "$((i + 1))" "$verdict" "$prompt"
done
echo "valid tool calls: $valid of $n runs; right answers: $right of $n"
