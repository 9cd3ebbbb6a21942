"""``station protocol validate|import|list|show|schema``: the clinician's protocol tools.

``validate`` checks files against the schema, their own caps and this station's wiring
and prints every problem (exit 0 only when all are valid). ``import`` stores them in the
versioned library of the data directory. ``show`` prints a protocol's ladders and the
second-by-second timeline the station would play for one level.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from station.cli import add_config, add_data_dir, resolve_config, resolve_data_dir
from station.errors import StationError
from station.protocols.compiler import compile_program
from station.protocols.describe import render_ladders, render_timeline
from station.protocols.library import (
    find_protocol,
    import_file,
    install_builtins,
    list_protocols,
)
from station.protocols.load import load_file
from station.protocols.model import protocol_json_schema
from station.protocols.settings import PatientSettings
from station.wiring import WiringConfig, load_wiring


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("protocol", help="validate, import, list and show clinician protocols")
    psub = p.add_subparsers(dest="protocol_command", metavar="ACTION", required=True)

    v = psub.add_parser("validate", help="check protocol files; exit 0 when all are valid")
    v.add_argument("files", nargs="+", type=Path, metavar="FILE")
    v.add_argument("--no-wiring", action="store_true", help="skip the check against the wiring")
    add_config(v)
    v.set_defaults(func=cmd_validate)

    i = psub.add_parser("import", help="store protocol files in the versioned library")
    i.add_argument("files", nargs="*", type=Path, metavar="FILE")
    i.add_argument("--builtin", action="store_true", help="also import the built-in library")
    add_data_dir(i)
    add_config(i)
    i.set_defaults(func=cmd_import)

    ls = psub.add_parser("list", help="list the protocols in the library")
    add_data_dir(ls)
    ls.set_defaults(func=cmd_list)

    s = psub.add_parser("show", help="print a protocol's ladders and a level's timeline")
    s.add_argument("id", metavar="ID")
    s.add_argument("--version", dest="protocol_version", default=None, help="default: newest")
    s.add_argument("--ladder", default=None, help="default: the first ladder")
    s.add_argument("--level", type=int, default=0, help="level index in play order (0 = first)")
    s.add_argument(
        "--ranking", default=None, help="for a patient-ranked ladder: item ids, comma-separated"
    )
    add_data_dir(s)
    add_config(s)
    s.set_defaults(func=cmd_show)

    sc = psub.add_parser("schema", help="print the protocol JSON Schema (for editors)")
    sc.set_defaults(func=cmd_schema)


def _wiring(args: argparse.Namespace) -> WiringConfig:
    return load_wiring(resolve_config(args))


def cmd_validate(args: argparse.Namespace) -> int:
    wiring = None if args.no_wiring else _wiring(args)
    bad = 0
    for path in args.files:
        try:
            p = load_file(path, wiring=wiring)
        except StationError as exc:
            bad += 1
            print(str(exc), file=sys.stderr)
            continue
        print(f"{path}: ok ({p.id} version {p.version}, {len(p.ladders)} ladder(s))")
    if bad:
        print(f"{bad} of {len(args.files)} file(s) invalid", file=sys.stderr)
    return 1 if bad else 0


def cmd_import(args: argparse.Namespace) -> int:
    data_dir = resolve_data_dir(args)
    wiring = _wiring(args)
    if not args.files and not args.builtin:
        print("station protocol import: name FILE(s) or --builtin", file=sys.stderr)
        return 2
    bad = 0
    for path in args.files:
        try:
            r = import_file(data_dir, path, wiring=wiring)
        except StationError as exc:
            bad += 1
            print(str(exc), file=sys.stderr)
            continue
        print(f"{path}: {r.status} as {r.id} version {r.version} (sha256 {r.hash[:12]})")
    if args.builtin:
        report = install_builtins(data_dir, wiring=wiring)
        for name, r in report.imported:
            print(f"(built-in) {name}: {r.status} as {r.id} version {r.version}")
        for name, msg in report.rejected:
            bad += 1
            print(f"(built-in) {name}: {msg}", file=sys.stderr)
    return 1 if bad else 0


def cmd_list(args: argparse.Namespace) -> int:
    items = list_protocols(resolve_data_dir(args))
    if not items:
        print("no protocols")
        return 0
    for s in items:
        where = "built-in, not imported" if s.builtin else str(s.path)
        print(f"{s.id:<22} {s.version:<8} {s.hash[:12]}  {s.name}  [{where}]")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    stored = find_protocol(resolve_data_dir(args), args.id, args.protocol_version)
    protocol = load_file(stored.path)
    print(render_ladders(protocol))
    ladder = protocol.ladder(args.ladder) if args.ladder else protocol.ladders[0]
    ranking = args.ranking.split(",") if args.ranking else None
    note = ""
    if ladder.ranked_by_patient and ranking is None:
        ranking = [lv.id or "" for lv in ladder.levels]
        note = "(no ranking given: items in file order)\n"
    program = compile_program(
        protocol,
        level=args.level,
        ladder=ladder.name,
        wiring=_wiring(args),
        settings=PatientSettings(),
        ranking=ranking,
    )
    print()
    print(note + render_timeline(program))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(protocol_json_schema(), indent=2))
    return 0
