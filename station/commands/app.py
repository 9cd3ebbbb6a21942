"""``station app``: the web page, served by waitress (accounts: station/commands/users.py).

Why waitress: Flask's development server is not for serving; waitress is pure Python,
runs on the Pi without compilation and handles the long-lived event streams with its
thread pool. The app binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys

from station.cli import add_config, add_data_dir, resolve_config, resolve_data_dir
from station.sync.cli import add_hub_args, hub_args

DEFAULT_PORT = 8080
# Each open page holds one thread for its event stream; leave room for requests.
THREADS = 16


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("app", help="serve the web page and JSON API (waitress)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--sim",
        dest="simulate",
        action="store_true",
        default=None,
        help="the engine runs the simulator (default off a Raspberry Pi)",
    )
    mode.add_argument(
        "--hardware", dest="simulate", action="store_false", help="the engine drives real hardware"
    )
    p.add_argument(
        "--behind-proxy",
        action="store_true",
        help="trust one reverse proxy's X-Forwarded-For/-Proto (the installed unit, behind "
        "HAProxy on 127.0.0.1); never when clients reach the app directly",
    )
    add_data_dir(p)
    add_config(p)
    add_hub_args(p)  # the clinic hub's sync agent, a thread of this process (station.sync)
    p.set_defaults(func=run_app)


def _simulate(args: argparse.Namespace) -> bool:
    """--sim/--hardware win; then STATION_SIMULATED (set by ``station run``); else the
    simulator off a Raspberry Pi."""
    if args.simulate is not None:
        return bool(args.simulate)
    env = os.environ.get("STATION_SIMULATED")
    if env in ("0", "1"):
        return env == "1"
    from station.platform import pi_model

    return pi_model() is None


def run_app(args: argparse.Namespace) -> int:
    import waitress

    from web import create_app

    data_dir = resolve_data_dir(args)
    config_path = resolve_config(args)
    app = create_app(
        {
            "DATA_DIR": str(data_dir),
            "SIMULATE": _simulate(args),
            "STATION_CONFIG": str(config_path) if config_path else None,
            "TRUSTED_PROXIES": 1 if args.behind_proxy else 0,
        }
    )
    coordinator = app.extensions["station.app.coordinator"]
    sync = None
    if hub_args(args):
        from station.sync import start_sync

        sync = start_sync(coordinator=coordinator, hub=args.hub, station_id=args.station_id,
                          data_dir=data_dir)  # fmt: skip
    print(
        f"station app: http://{args.host}:{args.port}/ (data {data_dir}, "
        f"{'simulator' if coordinator.simulate else 'hardware'})",
        file=sys.stderr,
        flush=True,
    )
    try:
        waitress.serve(
            app,
            host=args.host,
            port=args.port,
            threads=THREADS,
            channel_timeout=30,
            ident="station",
            max_request_body_size=app.config["MAX_CONTENT_LENGTH"] + 64 * 1024,
            # waitress drops X-Forwarded-* by default (right when clients reach it directly);
            # behind HAProxy they pass to the app, whose ProxyFix trusts one hop.
            clear_untrusted_proxy_headers=not args.behind_proxy,
        )
    finally:
        if sync is not None:
            sync.close()
        coordinator.close()
    return 0
