"""``station hub``: the clinic hub (init, station add, user add, run, export, bench)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from station.cli import add_data_dir, resolve_data_dir
from station.errors import StationError


def register(sub: argparse._SubParsersAction) -> None:
    hub = sub.add_parser("hub", help="the clinic hub: broker config, ingest, clinician page")
    hs = hub.add_subparsers(dest="hub_command", metavar="HUB_COMMAND")

    p = hs.add_parser("init", help="write the Mosquitto config: TLS (local CA), ACL, hub login")
    add_data_dir(p)
    p.add_argument(
        "--hostname",
        action="append",
        default=None,
        help="a name or address stations use to reach the broker (repeatable)",
    )
    p.add_argument("--bind", default="0.0.0.0", help="address the broker listens on")
    p.add_argument("--port", type=int, default=8883, help="the broker's TLS port")
    p.add_argument(
        "--run-as",
        default=None,
        help="system user the broker runs as (default: mosquitto when root)",
    )
    p.set_defaults(func=cmd_init)

    st = hs.add_parser("station", help="station credentials")
    sts = st.add_subparsers(dest="station_command", metavar="STATION_COMMAND")
    p = sts.add_parser("add", help="add a station's broker credential (prints its file)")
    p.add_argument("station_id", metavar="ID")
    add_data_dir(p)
    p.set_defaults(func=cmd_station_add)

    us = hs.add_parser("user", help="hub page accounts")
    uss = us.add_subparsers(dest="user_command", metavar="USER_COMMAND")
    p = uss.add_parser("add", help="add a clinician account (password on stdin)")
    p.add_argument("name", metavar="NAME")
    add_data_dir(p)
    p.add_argument("--database", default=None, help="postgresql://... (default: SQLite)")
    p.set_defaults(func=cmd_user_add)

    p = hs.add_parser("run", help="ingest workers and the clinician page")
    p.add_argument("--broker", required=True, help="mqtts://HOST:PORT (or mqtt:// in a lab)")
    add_data_dir(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)
    p.add_argument("--workers", type=int, default=1, help="ingest worker processes")
    p.add_argument("--database", default=None, help="postgresql://... (default: SQLite)")
    p.set_defaults(func=cmd_run)

    p = hs.add_parser("export", help="one patient's record: csv, json or fhir (R4 Bundle)")
    p.add_argument("patient_id", metavar="PATIENT_ID")
    p.add_argument("--format", choices=("csv", "json", "fhir"), required=True)
    p.add_argument("--out", type=Path, default=None, help="file (default: standard output)")
    add_data_dir(p)
    p.add_argument("--database", default=None)
    p.set_defaults(func=cmd_export)

    p = hs.add_parser("bench", help="ingest benchmark with simulated stations")
    p.add_argument("--stations", type=int, default=200)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2")
    p.add_argument(
        "--rate",
        type=float,
        default=2500.0,
        help="records/s the stations offer together (0: as fast as they can)",
    )
    p.add_argument("--database", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)
    hub.set_defaults(func=lambda _a: hub.print_help() or 2)


def _positive(value: int, *, flag: str) -> int:
    if value < 1:
        raise StationError(f"{flag} {value}: must be 1 or more")
    return value


def cmd_init(args: argparse.Namespace) -> int:
    from station.hub import brokerconf

    layout = brokerconf.init(
        data_dir=resolve_data_dir(args),
        hostnames=args.hostname,
        bind=args.bind,
        port=args.port,
        run_as=args.run_as,
    )
    print(f"wrote {layout.conf}\nstart the broker: mosquitto -c {layout.conf}")
    return 0


def cmd_station_add(args: argparse.Namespace) -> int:
    from station.hub import brokerconf
    from station.hub.reload import reload_brokers

    data_dir = resolve_data_dir(args)
    path = brokerconf.add_station(data_dir=data_dir, station_id=args.station_id)
    print(f"wrote {path}: give it and tls/ca.crt to the station")
    pids, problems = reload_brokers(brokerconf.Layout(data_dir).conf)
    for problem in problems:
        print(problem, file=sys.stderr)
    if pids:
        print(f"the broker (pid {', '.join(map(str, pids))}) re-reads its password file now")
    else:
        print(
            "no broker using this config runs here: start it, or reload it where it runs "
            "(systemctl reload station-hub-broker, or SIGHUP) before the station connects"
        )
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from station.commands.users import _hash, _valid_name
    from station.hub.store import HubStore

    name = _valid_name(args.name)
    hashed = _hash(name=name)
    store = _open(args, HubStore)
    try:
        if store.user(name=name) is not None:
            raise StationError(f"a user called {name!r} exists already")
        store.add_user(name=name, role="clinician", password_hash=hashed)
    finally:
        store.close()
    print(f"created clinician {name} at the hub")
    return 0


def _open(args: argparse.Namespace, cls):  # type: ignore[no-untyped-def]
    try:
        return cls.open(database=args.database, data_dir=resolve_data_dir(args))
    except ValueError as exc:
        raise StationError(str(exc)) from None


def cmd_run(args: argparse.Namespace) -> int:
    from station.hub import service

    try:
        return service.run(
            broker_url=args.broker,
            data_dir=resolve_data_dir(args),
            database=args.database,
            host=args.host,
            port=args.port,
            workers=_positive(args.workers, flag="--workers"),
        )
    except ValueError as exc:
        raise StationError(str(exc)) from None


def cmd_export(args: argparse.Namespace) -> int:
    from station.hub import export
    from station.hub.store import HubStore

    store = _open(args, HubStore)
    try:
        text = export.render(store=store, patient_id=args.patient_id, fmt=args.format)
    finally:
        store.close()
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
        print(f"wrote {args.out}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from station.hub import bench

    try:
        counts = [_positive(int(n), flag="--workers") for n in args.workers.split(",")]
    except ValueError:
        raise StationError(f"--workers {args.workers!r}: a list like 1,2") from None
    return bench.main(
        stations=_positive(args.stations, flag="--stations"),
        days=_positive(args.days, flag="--days"),
        workers=counts,
        rate=args.rate,
        database=args.database,
        as_json=args.json,
    )
