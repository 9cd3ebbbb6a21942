"""``station calibrate ACTUATOR``: DRV2605L auto-calibration through the running engine.

It asks the engine over its socket (``calibrate``), because the engine alone owns the
hardware; see ``station.engine.calibrate`` for what happens there. The actuator must be
mounted as in use (in its holder, against the skin or a stand-in); it vibrates for about
a second. The results are stored in ``<data-dir>/haptic_calibration.json`` and written
back to the chip at every engine start. ``station calibrate --list`` shows what is stored.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from station.cli import add_data_dir, resolve_data_dir
from station.errors import StationError
from station.paths import socket_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="auto-calibrate a haptic actuator (DRV2605L) through the engine",
        description="Runs the DRV2605L auto-calibration of one haptic actuator (about 1 s; "
        "it vibrates), stores the results and restores them at every engine start. "
        "Refused while a session is running or paused.",
    )
    p.add_argument("actuator", nargs="?", help="haptic actuator name, e.g. forearm")
    p.add_argument("--list", action="store_true", help="show the stored calibration instead")
    p.add_argument("--json", action="store_true", help="print the raw JSON")
    add_data_dir(p)
    p.set_defaults(func=calibrate)


def _client(args: argparse.Namespace, timeout: float) -> Any:
    from station.engine.ipc import EngineClient

    path = socket_path(resolve_data_dir(args))
    try:
        return EngineClient(path, timeout=timeout)
    except OSError as exc:
        raise StationError(
            f"the engine is not answering on {path} ({exc.strerror or exc}); calibration "
            "runs through the engine: start it (station run, or systemctl start "
            "station-engine) and try again"
        ) from None


def calibrate(args: argparse.Namespace) -> int:
    from station.engine.calibrate import CALIBRATE_CALL_TIMEOUT_S
    from station.engine.ipc import RemoteError

    if args.list:
        with _client(args, 3.0) as c:
            listing = c.call("calibration")
        print(json.dumps(listing, indent=2) if args.json else "\n".join(list_lines(listing)))
        return 0
    if not args.actuator:
        with _client(args, 3.0) as c:
            names = ", ".join(c.call("calibration")["actuators"])
        raise StationError(f"name the actuator to calibrate: station calibrate NAME ({names})")
    with _client(args, CALIBRATE_CALL_TIMEOUT_S) as c:
        try:
            result = c.call("calibrate", actuator=args.actuator)
        except RemoteError as exc:
            raise StationError(f"calibrate {args.actuator}: {exc}") from None
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"{result['actuator']} ({result['actuator_kind'].upper()}) calibrated: "
        f"A_CAL_COMP 0x{result['compensation']:02X}, A_CAL_BEMF 0x{result['back_emf']:02X}, "
        f"BEMF_GAIN {result['back_emf_gain']}; stored in {result['stored_in']} "
        "(restored at every engine start)"
    )
    if result.get("note"):
        print(f"note: {result['note']}")
    return 0


def list_lines(listing: dict[str, Any]) -> list[str]:
    lines = []
    for name, info in listing["actuators"].items():
        st = info.get("stored")
        if st:
            what = (
                f"A_CAL_COMP 0x{st['compensation']:02X}, A_CAL_BEMF 0x{st['back_emf']:02X}, "
                f"BEMF_GAIN {st['back_emf_gain']} ({st.get('calibrated_at') or 'time unknown'})"
            )
        else:
            what = "not calibrated (chip defaults)"
        pinned = "; the wiring file pins its values" if info.get("pinned_in_wiring") else ""
        lines.append(f"{name} ({info['actuator_kind'].upper()}): {what}{pinned}")
    return lines
