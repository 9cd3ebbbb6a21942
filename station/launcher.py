"""The ``station`` console script's entry: EN low before anything heavy loads.

``station safe-off`` must silence the drivers even when the rest of the station cannot
load (a broken pydantic, a missing Adafruit library) and as early as possible after a
crash, so for that one subcommand the EN lines go low through ``station.en_off`` (standard
library + lgpio) *before* ``station.cli`` (and with it pydantic) is imported. Every other
subcommand goes straight to ``station.cli.main``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    defaults: dict[str, object] = {}
    if args[:1] == ["safe-off"] and not {"-h", "--help"} & set(args):
        from station import en_off

        # prints its own problems; the full path follows regardless and reports them
        defaults["en_low_done"] = en_off.main(args[1:])
    from station.cli import main as cli_main

    return cli_main(args, defaults=defaults)


if __name__ == "__main__":
    sys.exit(main())
