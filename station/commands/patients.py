"""``station patient add|list``: the patient records of a station (issue 14).

A home station has one patient ("Patient 1", made with the database); a clinic station
serves several, each owning its plan, sessions, ratings, journal and settings. Patient
accounts are linked to a record with ``station user add NAME --role patient --patient ID``.
"""

from __future__ import annotations

import argparse

from station.cli import add_data_dir, open_store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("patient", help="manage patient records (add, list)")
    psub = p.add_subparsers(dest="patient_command", metavar="ACTION")
    add = psub.add_parser("add", help="add a patient record")
    add.add_argument("name", help="the display name the clinician uses (not sent to the hub)")
    add.add_argument("--notes", default="", help="the clinician's notes")
    add.set_defaults(func=patient_add)
    ls = psub.add_parser("list", help="list the patient records (id, name, enrolled, state)")
    ls.add_argument("--all", action="store_true", help="include archived records")
    ls.set_defaults(func=patient_list)
    for parser in (add, ls):
        add_data_dir(parser)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def patient_add(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        patient = store.patients.add(args.name, notes=args.notes)
    print(f"created patient {patient.id} {patient.display_name} ({patient.global_id})")
    return 0


def patient_list(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        patients = store.patients.list(include_archived=args.all)
        accounts: dict[int, list[str]] = {}
        for user in store.users.all():
            if user.patient_id is not None:
                accounts.setdefault(user.patient_id, []).append(user.name)
    for p in patients:
        state = "archived" if p.archived else "active"
        names = ", ".join(accounts.get(p.id, [])) or "no account"
        print(f"{p.id}\t{p.display_name}\tenrolled {p.enrolled_on}\t{state}\t{names}")
    return 0
