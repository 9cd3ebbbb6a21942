"""``station user add|list|disable|enable|reset-password`` and ``station setup-code``.

Passwords are read from stdin (one line, or a hidden prompt on a terminal) so that they
never show in ``ps`` or the shell history; they pass the same policy as the page
(web/passwords.py). On an installed station run these as the station's user
(``sudo -u station station user list``) so that the files they touch stay its own.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from station.cli import add_data_dir, open_store, resolve_data_dir
from station.errors import StationError


def register(sub: argparse._SubParsersAction) -> None:
    u = sub.add_parser("user", help="manage accounts (add, list, disable, enable, reset-password)")
    usub = u.add_subparsers(dest="user_command", metavar="ACTION")
    add = usub.add_parser("add", help="add an account; the password is read from stdin")
    add.add_argument("name")
    add.add_argument("--role", choices=("clinician", "patient"), required=True)
    add.add_argument(
        "--patient",
        type=int,
        metavar="ID",
        help="the patient record a patient account belongs to (`station patient list`); "
        "needed when the station has several patients",
    )
    add.set_defaults(func=user_add)
    ls = usub.add_parser("list", help="list the accounts (name, role, state, created)")
    ls.set_defaults(func=user_list)
    parsers = [add, ls]
    for action, func, what in (
        ("disable", user_disable, "disable an account (its live sessions end)"),
        ("enable", user_enable, "enable a disabled account"),
        ("reset-password", user_reset, "set a new password (read from stdin); sessions end"),
    ):
        p = usub.add_parser(action, help=what)
        p.add_argument("name")
        p.set_defaults(func=func)
        parsers.append(p)
    for p in parsers:
        add_data_dir(p)
    u.set_defaults(func=lambda args: u.print_help() or 2)

    code = sub.add_parser(
        "setup-code", help="show the one-time code that creating the first clinician needs"
    )
    add_data_dir(code)
    code.set_defaults(func=show_setup_code)


def _password(*, name: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("Again: ") != first:
            raise StationError("password: the two passwords differ; nothing was changed")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _hash(*, name: str) -> str:
    from web.errors import ApiError
    from web.security import hash_password

    try:
        return hash_password(_password(name=name), name=name)
    except ApiError as exc:
        raise StationError(f"password: {exc.message}") from None


def _valid_name(name: str) -> str:
    from web.auth import valid_name
    from web.errors import ApiError

    try:
        return valid_name(name)
    except ApiError as exc:
        raise StationError(f"name {name!r}: {exc.message}") from None


def _store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    return open_store(args)


def user_add(args: argparse.Namespace) -> int:
    from station.app import setup_code

    name = _valid_name(args.name)
    hashed = _hash(name=name)
    with _store(args) as store:
        if store.users.get(name) is not None:
            raise StationError(f"a user called {name!r} exists already")
        user = store.users.create(name, args.role, hashed, patient_id=args.patient)
    if user.role == "clinician":  # the first-run page is no longer needed
        setup_code.spend(resolve_data_dir(args))
    print(f"created {user.role} {user.name}")
    return 0


def user_list(args: argparse.Namespace) -> int:
    with _store(args) as store:
        users = store.users.all()
    if not users:
        print("no accounts yet: `station setup-code` shows the code the first page asks for")
        return 0
    width = max(len(u.name) for u in users)
    print(f"{'name':<{width}}  role       state     created")
    for u in users:
        state = "disabled" if u.disabled else "active"
        created = u.created_at.isoformat(timespec="seconds")
        print(f"{u.name:<{width}}  {u.role:<9}  {state:<8}  {created}")
    return 0


def _set_disabled(args: argparse.Namespace, *, disabled: bool) -> int:
    with _store(args) as store:
        user = store.users.set_disabled(args.name, disabled=disabled)
    print(f"{user.name}: {'disabled; its sessions have ended' if disabled else 'enabled'}")
    return 0


def user_disable(args: argparse.Namespace) -> int:
    return _set_disabled(args, disabled=True)


def user_enable(args: argparse.Namespace) -> int:
    return _set_disabled(args, disabled=False)


def user_reset(args: argparse.Namespace) -> int:
    with _store(args) as store:
        if store.users.get(args.name) is None:
            raise StationError(f"no user named {args.name!r}; `station user list` shows them")
        user = store.users.set_password(args.name, _hash(name=args.name))
    print(f"{user.name}: password changed; its sessions have ended")
    return 0


def show_setup_code(args: argparse.Namespace) -> int:
    from station.app import setup_code

    data_dir = resolve_data_dir(args)
    with _store(args) as store:
        clinicians = store.users.count("clinician")
    if clinicians:
        setup_code.spend(data_dir)
        print(
            "no setup code: a clinician account exists (log in; `station user add NAME "
            "--role clinician` or `station user reset-password NAME` if it is lost)",
            file=sys.stderr,
        )
        return 1
    try:
        code = setup_code.ensure(data_dir)
        _give_to_data_dir_owner(setup_code.path(data_dir), data_dir)
    except OSError as exc:
        raise StationError(
            f"{setup_code.path(data_dir)}: {exc.strerror}; run this as the station's user "
            "(sudo -u station station setup-code)"
        ) from None
    print(code)
    return 0


def _give_to_data_dir_owner(path: Path, data_dir: Path) -> None:
    """Run as root on an installed station: the app (the data directory's owner) must be
    able to read the code."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        st = data_dir.stat()
        os.chown(path, st.st_uid, st.st_gid)
