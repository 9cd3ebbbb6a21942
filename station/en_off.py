"""EN low first: the minimal path of ``station safe-off``.

Every DRV2605 stops driving the moment its EN line goes low, whatever its registers hold.
So before anything else (before pydantic validates the wiring file, before gpiozero or
the Adafruit drivers load, before the I2C bus is opened) ``station safe-off`` reads the EN
pins straight from the wiring TOML (``tomllib``) and drives each low with lgpio on the
header's gpiochip (found by its label, ``hardware.pi``). This module imports the standard
library, ``station.paths``, ``station.platform``, ``hardware.pi`` (all standard-library
only) and, on a Pi, ``lgpio``: nothing else. The test checks that in a fresh interpreter.

Each line is claimed as an output at level 0 and released again, so the full path that
follows (RTP 0 and standby over I2C, park the brush) can claim it through gpiozero. Once
released the line stays low (Raspberry Pi kernels keep a released output's level) or,
with strict_gpiod, becomes an input that the EN pull-down holds low.

On the simulator there is no physical line to reach from another process; given a trace
(tests, an in-process safe-off) the EN-low writes are recorded there, like the
simulator's own pins record theirs (device ``gpio<N>``, what ``pin``, value 0).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DEFAULT_WIRING = Path(__file__).with_name("default_wiring.toml")
HEADER_GPIOS = range(0, 28)


def en_pins(config: Path | None) -> list[int]:
    """The ``[[haptic]] enable_pin`` values of the wiring file (the built-in wiring when
    ``config`` is None). Raises ``ValueError`` naming the file and key when unreadable."""
    path = config or DEFAULT_WIRING
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the EN pins ({exc})") from None
    pins: list[int] = []
    haptics = data.get("haptic", [])
    if not isinstance(haptics, list):
        raise ValueError(f"{path}: haptic must be a list of [[haptic]] tables")
    for i, h in enumerate(haptics):
        pin = h.get("enable_pin") if isinstance(h, dict) else None
        if isinstance(pin, bool) or not isinstance(pin, int) or pin not in HEADER_GPIOS:
            raise ValueError(
                f"{path}: haptic[{i}].enable_pin = {pin!r}: must be a BCM GPIO number 0..27"
            )
        pins.append(pin)
    return sorted(set(pins))


def drive_low(
    pins: Sequence[int],
    *,
    simulate: bool,
    record: Callable[[str, str, int], None] | None = None,
    paths: Any = None,
    model: str | None = None,
    lgpio_module: Any = None,
) -> list[str]:
    """Drive each of ``pins`` low and release it; returns the problems met (never raises).
    ``record`` (simulator) receives ``(device, what, value)`` per pin."""
    if simulate:
        for pin in pins:
            if record is not None:
                record(f"gpio{pin}", "pin", 0)
        return []
    from hardware.pi import PiError, PiPaths, find_header_chip

    problems: list[str] = []
    try:
        chip = find_header_chip(model, paths or PiPaths())
    except PiError as exc:
        return [str(exc)]
    lgpio = lgpio_module
    if lgpio is None:
        try:
            lgpio = importlib.import_module("lgpio")
        except ImportError:
            return ["lgpio: the lgpio module is not installed; install the station's 'pi' extra"]
        except OSError as exc:
            return [
                f"lgpio: importing lgpio failed ({exc}); give the unit a writable "
                "WorkingDirectory= or set LG_WD"
            ]
    try:
        handle = lgpio.gpiochip_open(chip.number)
    except Exception as exc:  # lgpio.error
        return [
            f"gpiochip{chip.number}: lgpio cannot open {chip.path} ({chip.label}): {exc}; "
            "check that the user is in group gpio"
        ]
    try:
        for pin in pins:
            try:
                lgpio.gpio_claim_output(handle, pin, 0)
                lgpio.gpio_free(handle, pin)
            except Exception as exc:
                problems.append(
                    f"GPIO{pin}: cannot drive EN low on {chip.path} ({chip.label}): {exc}; "
                    "check which program holds the line (gpioinfo)"
                )
    finally:
        try:
            lgpio.gpiochip_close(handle)
        except Exception as exc:
            problems.append(f"gpiochip{chip.number}: closing failed: {exc}")
    return problems


def simulate_from(sim: bool, hardware: bool) -> bool:
    """``--sim`` / ``--hardware`` / neither (a Pi drives hardware), as ``station`` decides."""
    from station.platform import pi_model

    if sim:
        return True
    if hardware:
        return False
    return pi_model() is None


def en_low_first(
    config: Path | None,
    *,
    simulate: bool,
    record: Callable[[str, str, int], None] | None = None,
    paths: Any = None,
    lgpio_module: Any = None,
) -> list[str]:
    """Read the EN pins from ``config`` and drive them low; the problems met."""
    try:
        return drive_low(
            en_pins(config),
            simulate=simulate,
            record=record,
            paths=paths,
            lgpio_module=lgpio_module,
        )
    except ValueError as exc:
        return [str(exc)]


def main(argv: Sequence[str] | None = None) -> list[str]:
    """``python -m station.en_off [--sim|--hardware] [--config F]``: EN low, nothing else.
    Prints and returns the problems met (``station.launcher`` hands them on to
    ``station safe-off``, so they are neither repeated nor lost)."""
    from station.paths import default_config

    parser = argparse.ArgumentParser(prog="station safe-off", add_help=False)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--sim", action="store_true")
    parser.add_argument("--hardware", action="store_true")
    args, _ = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    problems = en_low_first(
        args.config or default_config(), simulate=simulate_from(args.sim, args.hardware)
    )
    for problem in problems:
        print(f"station safe-off: EN low: {problem}", file=sys.stderr)
    return problems


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
