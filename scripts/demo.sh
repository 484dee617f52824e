#!/usr/bin/env bash
# The main job: build llmagent, start a small local model (SmolLM2-135M via
# llama.cpp's server, set up once into ~/.cache/llmagent/model; no network
# needed afterwards), ask an agent of examples/policy.toml a question that
# needs a tool, show what was recorded, and stop the model. Then two tool
# calls without a model: one the policy refuses, one the kernel confines.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -p llmagent --quiet
bin=target/release/llmagent
policy=examples/policy.toml

bash scripts/model.sh start >/dev/null
trap 'bash scripts/model.sh stop' EXIT

mkdir -p /tmp/llmagent
echo "hello from llmagent" > /tmp/llmagent/note.txt

set -x
"$bin" policy check "$policy"
# A 135M-parameter model is not reliable (see the README): a failed turn is
# reported with its exit code, and the demo goes on.
"$bin" run --policy "$policy" --agent local --new-session --verbose \
    "What is the SHA-256 hash of the text hello?" || echo "(the turn ended with exit $?)"
"$bin" history local
"$bin" events --agent local --limit 12
"$bin" tools call --policy "$policy" --role default file read --args '{"path":"/etc/shadow"}' || echo "(refused, exit $?)"
"$bin" tools call --policy "$policy" --role ops bash exec --args '{"command":"ls /tmp/llmagent; cat /etc/shadow"}' || echo "(bash ran, but the kernel refused /etc/shadow: exit $?)"
