#!/usr/bin/env bash
# The main job of this version: build llmagent and call tools under the
# example policy — a hash, a file read inside the role's grant, and one
# outside it that the policy refuses.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -p llmagent --quiet
bin=target/release/llmagent
policy=examples/policy.toml

mkdir -p /tmp/llmagent
echo "hello from llmagent" > /tmp/llmagent/note.txt

set -x
"$bin" policy check "$policy"
"$bin" tools call --policy "$policy" --role default crypto sha256 --args '{"data":"hello"}'
"$bin" tools call --policy "$policy" --role default file read --args '{"path":"/tmp/llmagent/note.txt"}'
"$bin" tools call --policy "$policy" --role default file read --args '{"path":"/etc/shadow"}' || echo "(refused, exit $?)"
"$bin" tools call --policy "$policy" --role ops bash exec --args '{"command":"ls /tmp/llmagent; cat /etc/shadow"}' || echo "(bash ran, but the kernel refused /etc/shadow: exit $?)"
"$bin" events --limit 8
