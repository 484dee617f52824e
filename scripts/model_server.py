#!/usr/bin/env python3
"""Serve a GGUF model over llama.cpp's OpenAI-compatible HTTP API.

Run by scripts/model.sh with the python of the venv it sets up (that venv
has the `xllamacpp` package). Starts xllamacpp's embedded llama.cpp server
on 127.0.0.1:PORT and blocks until SIGTERM or SIGINT.

    model_server.py --model PATH.gguf [--port 8089] [--ctx 8192]
                    [--threads 2] [--n-predict 1024] [--alias smollm2]

Endpoints include GET /health, GET /v1/models and POST /v1/chat/completions.
"""

import argparse
import os
import signal
import sys
import threading


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="path of the .gguf file")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8089)
    ap.add_argument("--ctx", type=int, default=8192, help="context size in tokens")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--n-predict",
        type=int,
        default=1024,
        help="cap on generated tokens per request (a request's max_tokens can only lower it)",
    )
    ap.add_argument("--alias", default="smollm2", help="model id shown by /v1/models")
    args = ap.parse_args()

    if not os.path.isfile(args.model) or os.path.getsize(args.model) == 0:
        print(f"model_server: model file missing or empty: {args.model}", file=sys.stderr)
        return 1

    # llama.cpp's CPU backend uses OpenMP. With OpenMP's default spin-waiting,
    # generation on a 2-core machine that is also busy (cargo building) drops
    # to ~1 token/s; passive waiting keeps it at ~15-20. Must be set before
    # the library loads; an explicit OMP_WAIT_POLICY in the environment wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = args.model
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.ctx
    params.n_parallel = 1
    params.n_predict = args.n_predict
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.use_jinja = True  # the default; SmolLM2's template ignores "tools" anyway
    params.ui = False
    params.fit_params = False  # no device-memory fitting: CPU only, sizes given
    params.model_alias = {args.alias}
    # No reuse of an earlier request's KV cache: every request is computed
    # from its whole prompt, so the same conversation gets the same answer
    # whatever was asked before (with reuse, a greedy tiny model's output
    # shifted with the server's history: measured 1 wrong digest in 6).
    params.cache_prompt = False

    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    print(
        f"model_server: xllamacpp {xlc.__version__}, model {args.model}, "
        f"listening on {args.host}:{args.port}, ctx {args.ctx}, threads {args.threads}",
        flush=True,
    )
    server = xlc.Server(params)  # starts the HTTP server; returns once loaded
    print(f"model_server: ready at {server.listening_address}", flush=True)

    while not stop.wait(1.0):
        pass
    print("model_server: stopping", flush=True)
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
