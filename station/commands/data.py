"""``station export``, ``station backup``, ``station restore``: the record, for people.

All three work while the station runs (WAL readers, SQLite's online backup API), so a
clinician can take a copy without stopping anything.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC
from pathlib import Path

from station.cli import add_data_dir, open_store, resolve_data_dir
from station.errors import StationError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export sessions and ratings as CSV or JSON")
    p.add_argument("--format", choices=("csv", "json"), required=True)
    p.add_argument("--out", type=Path, required=True, help="folder to write the file into")
    add_data_dir(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("backup", help="copy the database to FILE (safe while running)")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    add_data_dir(p)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="replace the database with a backup FILE")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--force",
        action="store_true",
        help="restore even while a session is running (not recommended)",
    )
    add_data_dir(p)
    p.set_defaults(func=cmd_restore)


def cmd_export(args: argparse.Namespace) -> int:
    from station.storage.export import export_csv, write_json

    out: Path = args.out.expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StationError(f"--out {out}: cannot create the folder: {exc.strerror}") from None
    with open_store(args, create=False) as store:
        stamp = store.now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = out / f"station-export-{stamp}.{args.format}"
        if args.format == "csv":
            rows = export_csv(store, path)
            print(f"wrote {path} ({rows} rows)")
        else:
            write_json(store, path)
            print(f"wrote {path}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from station.storage.backup import backup

    dest = backup(resolve_data_dir(args), args.file, overwrite=args.overwrite)
    print(f"backed up to {dest}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from station.storage.backup import restore

    data_dir = resolve_data_dir(args)
    if not args.yes:
        if not sys.stdin.isatty():
            raise StationError(
                "restore replaces the station's data; add --yes to confirm "
                "(stdin is not a terminal, so it cannot ask)"
            )
        answer = input(
            f"Replace the data in {data_dir} with {args.file}? "
            "The current data is kept as a .bak file. [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            print("restore cancelled; nothing changed")
            return 1
    result = restore(args.file, data_dir, force=args.force)
    print(
        f"restored {result.restored_from} into {result.database} "
        f"(schema version {result.schema_version_in_file} -> {result.schema_version_now})"
    )
    if result.previous_kept_as:
        print(f"the previous database is kept as {result.previous_kept_as}")
    return 0
