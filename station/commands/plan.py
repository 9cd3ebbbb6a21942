"""``station plan rank LADDER ITEM_ID...`` and ``station plan ranking``: the patient's
ranking of a patient-ranked ladder, from the command line.

Like ``station export``, these open the station's database directly (SQLite serialises
the write; WAL lets the running station keep reading). Recording goes through the same
checks and the same one-transaction write as ``POST /api/plan/ranking``
(``station.app.ranking``); the command acts as the clinician (whoever can run it on the
station can re-rank). A station that is running re-arms its next session in the new
order when that session is next armed (after the armed one ends or is stopped); the page
and the API apply it at once.
"""

from __future__ import annotations

import argparse
import getpass
import json
from dataclasses import dataclass
from typing import Any

from station.cli import add_config, add_data_dir, open_store, resolve_config, resolve_data_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="the patient's plan: record or show the ranking")
    psub = p.add_subparsers(dest="plan_command", metavar="ACTION", required=True)

    r = psub.add_parser(
        "rank", help="record a patient-ranked ladder's order, least irritating first"
    )
    r.add_argument("ladder", metavar="LADDER", help="a patient-ranked ladder, e.g. textures")
    r.add_argument("order", nargs="+", metavar="ITEM_ID", help="every item once, least first")
    r.add_argument("--protocol", default=None, help="whose ladder (default: the plan's)")
    add_data_dir(r)
    add_config(r)
    r.set_defaults(func=cmd_rank)

    s = psub.add_parser("ranking", help="show the ranking in force per ladder and its history")
    s.add_argument("--json", action="store_true", help="print the raw JSON")
    add_data_dir(s)
    add_config(s)
    s.set_defaults(func=cmd_ranking)


@dataclass(frozen=True)
class _Offline:
    """What ``station.app.ranking`` needs of the app, without the engine."""

    planner: Any
    store: Any


def _open(args: argparse.Namespace, store: Any) -> _Offline:
    from station.app.planner import Planner

    return _Offline(
        planner=Planner(
            data_dir=resolve_data_dir(args), store=store, config_path=resolve_config(args)
        ),
        store=store,
    )


def cmd_rank(args: argparse.Namespace) -> int:
    from station.app import ranking

    with open_store(args, create=False) as store:
        rec = ranking.record(
            _open(args, store),
            args.ladder,
            list(args.order),
            by=f"cli:{getpass.getuser()}",
            protocol_id=args.protocol,
        )
    print(f"{rec.ladder}: ranking recorded ({rec.context}), least irritating first:")
    for i, item in enumerate(rec.order, 1):
        print(f"  {i}. {item}")
    return 0


def cmd_ranking(args: argparse.Namespace) -> int:
    from station.app import ranking

    with open_store(args, create=False) as store:
        view = ranking.view(_open(args, store))
    if args.json:
        print(json.dumps(view, indent=2))
        return 0
    if not view["ladders"]:
        print("no patient-ranked ladder in the plan, and no ranking recorded")
        return 0
    for lad in view["ladders"]:
        where = "" if lad["in_plan"] else f", protocol {lad['protocol_id']} (not assigned)"
        print(f"{lad['ladder']}{where}:")
        if lad["order"] is None:
            print("  not ranked yet: the plan cannot play this ladder until it is; record it")
            print(f"  with `station plan rank {lad['ladder']} ITEM_ID...` (items, file order):")
        else:
            print("  in force, least irritating first:")
        for i, item in enumerate(lad["items"], 1):
            print(f"  {i}. {item['id']}  {item['name']}")
        for h in lad["history"]:
            print(f"  history: {h['at'][:16]} {h['context']:<6} by {h['by'] or '-'}: "
                  f"{', '.join(h['order'])}")  # fmt: skip
    return 0
