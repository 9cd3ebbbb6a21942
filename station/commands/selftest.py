"""``station selftest``: filled in as the parts land."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("selftest", help="(not yet built)")
    p.set_defaults(func=lambda args: print("station selftest: not yet built") or 2)
