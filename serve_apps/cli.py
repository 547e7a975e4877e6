"""`trendflow serve`: start the Serve application on this machine, print its address, block until Ctrl-C.

    trendflow serve --models demo_out/models --store demo_out/store --config configs/demo.yaml

MODELS is what `trendflow compare` writes (one folder per model); STORE the batch result store (only
read); CACHE the serving cache store (default: <MODELS>/../serve_cache), where videos the store lacks
are extracted and the last `serve.cache_capacity` of them kept.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="start the HTTP prediction service (Ray Serve) and block until Ctrl-C",
                       description="Start the TrendFlow Serve app: POST /v1/predict, /v1/embed/clip, /v1/embed/clap, "
                                   "GET /v1/models, /healthz (OpenAPI page at /docs). Limits, cache size and "
                                   "allowed video roots are in the `serve` section of --config.")
    p.add_argument("--models", required=True, help="MODELS_DIR written by `trendflow compare` (one folder per model)")
    p.add_argument("--store", help="batch result store to read artifacts from (never written)")
    p.add_argument("--cache", help="serving cache store (default: MODELS_DIR/../serve_cache)")
    p.add_argument("--dataset", help="dataset root (optional; the author page reads metadata from it)")
    p.add_argument("--config", metavar="CFG.yaml", help="YAML with `serve` and the batch sections (extract, "
                                                        "sampling, audio) the store was extracted with")
    p.add_argument("--host", help="bind address (overrides serve.host)")
    p.add_argument("--port", type=int, help="port (overrides serve.port)")
    p.set_defaults(func=cmd_serve)


def _user_error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def cmd_serve(args) -> int:
    from serve_apps.config import ServeConfig
    from trendflow.config import load_section
    cfg = load_section(args.config, "serve", ServeConfig)  # a typo under serve: fails here (exit 2)
    if not os.path.isdir(args.models) and "://" not in args.models:
        return _user_error(f"--models {args.models} is not a folder; give the OUT of `trendflow compare`")
    if args.store and "://" not in args.store and not os.path.isdir(args.store):
        return _user_error(f"--store {args.store} does not exist; give the store of `trendflow extract`")
    if args.port is not None and not 1 <= args.port <= 65535:
        return _user_error(f"--port {args.port} is not a port number")
    host, port = args.host or cfg.host, args.port or cfg.port
    import ray
    from ray import serve

    from serve_apps.app import build_app
    app = build_app({"models": args.models, "store": args.store, "cache": args.cache, "config": args.config,
                     "dataset": args.dataset})
    print(f"serve: starting (models {args.models}, store {args.store or '-'}) ...", flush=True)
    ray.init(include_dashboard=False, log_to_driver=False)
    try:
        serve.start(http_options={"host": host, "port": port})
        serve.run(app, name="trendflow", route_prefix="/", blocking=False)
        print(f"serve: listening on http://{host}:{port}  (OpenAPI: http://{host}:{port}/docs; Ctrl-C stops)",
              flush=True)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        while not stop.wait(0.5):  # a timed wait: the main thread returns to Python often, so handlers run
            pass
        print("serve: shutting down", flush=True)
    finally:
        serve.shutdown()
        ray.shutdown()
    return 0
