"""``station stop-listener``: the stop that no page client can block (``station.stopd``).

On a Pi systemd runs it (``station-stop.service``) on 127.0.0.1 behind HAProxy, which sends
it ``POST /stop`` and ``POST /api/stop``; ``station run`` starts it beside the page.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from station.cli import add_data_dir, resolve_data_dir
from station.paths import socket_path

DEFAULT_PORT = 8081


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stop-listener", help="serve only POST /stop and /api/stop (no login), for the proxy"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    add_data_dir(p)
    p.set_defaults(func=run_stop_listener)


def run_stop_listener(args: argparse.Namespace) -> int:
    from station.stopd import StopListener

    listener = StopListener(socket_path=socket_path(resolve_data_dir(args)))
    print(
        f"station stop-listener: POST http://{args.host}:{args.port}/stop and /api/stop "
        f"-> engine {listener.socket_path}",
        file=sys.stderr,
        flush=True,
    )
    try:
        asyncio.run(listener.serve(args.host, args.port))
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
    return 0
