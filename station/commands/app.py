"""``station app`` (the web page, served by waitress) and ``station user add``.

Why waitress: Flask's development server is not for serving; waitress is pure Python,
runs on the Pi without compilation and handles the long-lived event streams with its
thread pool. The app binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from station.cli import add_config, add_data_dir, resolve_config, resolve_data_dir
from station.errors import StationError

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
    add_data_dir(p)
    add_config(p)
    p.set_defaults(func=run_app)

    u = sub.add_parser("user", help="manage accounts")
    usub = u.add_subparsers(dest="user_command", metavar="ACTION")
    add = usub.add_parser("add", help="add an account; the password is read from stdin")
    add.add_argument("name")
    add.add_argument("--role", choices=("clinician", "patient"), required=True)
    add_data_dir(add)
    add.set_defaults(func=user_add)
    u.set_defaults(func=lambda args: u.print_help() or 2)


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
        }
    )
    coordinator = app.extensions["station.app.coordinator"]
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
        )
    finally:
        coordinator.close()
    return 0


def user_add(args: argparse.Namespace) -> int:
    """Reads the password from stdin (one line) so it never shows in ``ps`` or history."""
    from station.storage import Store
    from web.errors import ApiError
    from web.security import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {args.name}: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        hashed = hash_password(password)
    except ApiError as exc:
        raise StationError(f"password: {exc.message}") from None
    with Store.open(resolve_data_dir(args)) as store:
        if store.users.get(args.name) is not None:
            raise StationError(f"a user called {args.name!r} exists already")
        user = store.users.create(args.name, args.role, hashed)
    print(f"created {user.role} {user.name}")
    return 0
