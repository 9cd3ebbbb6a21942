"""What machine this is: a Raspberry Pi (real hardware) or anything else (simulator)."""

from __future__ import annotations

from pathlib import Path

MODEL_FILE = Path("/proc/device-tree/model")


def pi_model(model_file: Path = MODEL_FILE) -> str | None:
    """The board's model string ("Raspberry Pi 5 Model B Rev 1.0"), or None off a Pi."""
    try:
        text = model_file.read_bytes().rstrip(b"\x00").decode("ascii", "replace")
    except OSError:
        return None
    return text if text.startswith("Raspberry Pi") else None


def is_pi5(model: str | None) -> bool:
    return bool(model and model.startswith("Raspberry Pi 5"))


def choose_backend(*, sim: bool, hardware: bool, model: str | None) -> bool:
    """Return True to simulate. Off a Pi the simulator is the default; asking for real
    hardware there is an error rather than a crash at the first pin."""
    from station.errors import StationError

    if sim and hardware:
        raise StationError("--sim and --hardware exclude each other; pick one")
    if sim:
        return True
    if hardware:
        if model is None:
            raise StationError(
                "--hardware needs a Raspberry Pi (no /proc/device-tree/model says so); "
                "leave it out to run on the simulator"
            )
        return False
    return model is None
