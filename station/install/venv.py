"""The station's Python on the appliance: the venv, pinned by constraints.txt, and where
lgpio comes from (PyPI's wheel up to Python 3.12, Raspberry Pi OS's python3-lgpio on 3.13+).

Why apart from ``station.install.plan``: the rest of the plan is files, users and units;
this is the one part that depends on the Python version and on the checkout's contents
(the stamp, the digest, the constraints file).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from station.install.action import APT_RECORD, STAMP, VENV, Action
from station.install.host import Host, InstallError, dpkg_installed
from station.platform import pi_model

# The pinned versions CI tested (tools/lock writes it); pip installs with ``-c`` on it, so
# an appliance gets exactly those versions. Part of the digest: a new lock reinstalls.
CONSTRAINTS = "constraints.txt"
# Python 3.13+ (Raspberry Pi OS Trixie): PyPI has no lgpio wheel, and building its sdist
# needs swig, liblgpio-dev, python3-dev and a C compiler on the appliance. The distro's
# python3-lgpio is built for exactly the system Python, links the system liblgpio and gets
# security updates through apt, so the venv uses it (--system-site-packages) and the `pi`
# extra leaves lgpio out on 3.13+ (pyproject.toml). No compiler on the appliance, no build
# that can fail half-way on a Lite image. The cost: the venv also sees the other system
# packages; pip still installs every requirement the system does not already satisfy.
# python3-lgpio (like liblgpio-dev) comes from the Raspberry Pi archive, which Raspberry Pi
# OS has configured; plain Debian does not carry it (checked on a trixie chroot).
LGPIO_FROM_DEBIAN = (3, 13)
LGPIO_DEB = "python3-lgpio"


def source_digest(source: Path) -> str:
    """What is being installed: pyproject, the constraints and every package file (a
    changed checkout reinstalls)."""
    digest = hashlib.sha256()
    files = [source / "pyproject.toml"]
    if (source / CONSTRAINTS).is_file():
        files.append(source / CONSTRAINTS)
    for package in ("station", "hardware", "web"):
        files += sorted(
            p
            for p in (source / package).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        )
    for path in files:
        digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def on_a_pi(h: Host) -> bool:
    return pi_model(h.path("/proc/device-tree/model")) is not None


def lgpio_from_debian(h: Host) -> bool:
    """On a Pi with Python 3.13+: lgpio comes from the system's python3-lgpio (see above)."""
    return on_a_pi(h) and h.python_minor() >= LGPIO_FROM_DEBIAN


def system_site_packages(h: Host) -> bool:
    cfg = h.path(f"{VENV}/pyvenv.cfg")
    if not cfg.is_file():
        return False
    for line in cfg.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "include-system-site-packages":
            return value.strip().lower() == "true"
    return False


def apt_action() -> Action:
    def apply(h: Host) -> None:
        env = ["env", "DEBIAN_FRONTEND=noninteractive"]
        h.runner.run([*env, "apt-get", "update", "-q"])
        try:
            h.runner.run(
                [*env, "apt-get", "install", "-y", "-q", "--no-install-recommends", LGPIO_DEB]
            )
        except InstallError as exc:
            raise InstallError(
                f"{exc}\n{LGPIO_DEB} is needed because Python {h.python_minor()[0]}."
                f"{h.python_minor()[1]} has no lgpio wheel; it comes from the Raspberry Pi "
                "archive (archive.raspberrypi.com), which Raspberry Pi OS has configured. "
                "On another Debian add that archive, or re-run with --python pointing at a "
                "Python 3.11 or 3.12, where pip installs lgpio's own wheel"
            ) from exc
        record = h.path(APT_RECORD)
        had = record.read_text(encoding="utf-8").split() if record.is_file() else []
        h.write(APT_RECORD, "".join(f"{p}\n" for p in sorted({*had, LGPIO_DEB})), 0o644)

    return Action(
        summary=f"apt package {LGPIO_DEB} (Python 3.13+ has no lgpio wheel on PyPI)",
        needed=lambda h: lgpio_from_debian(h) and not dpkg_installed(h, LGPIO_DEB),
        apply=apply,
    )


def venv_action() -> Action:
    def stamp_text(h: Host) -> str:
        extra = "[pi]" if on_a_pi(h) else ""
        return f"{h.source}{extra} {source_digest(h.source)}\n"

    def needed(h: Host) -> bool:
        stamp = h.path(f"{VENV}/{STAMP}")
        return not (
            h.path(f"{VENV}/bin/python").exists()
            and stamp.is_file()
            and stamp.read_text(encoding="utf-8") == stamp_text(h)
            and (system_site_packages(h) or not lgpio_from_debian(h))
        )

    def apply(h: Host) -> None:
        venv = h.path(VENV)
        system = lgpio_from_debian(h)
        if not h.path(f"{VENV}/bin/python").exists() or (system and not system_site_packages(h)):
            # venv rewrites pyvenv.cfg of an existing venv: an older one gains the flag.
            flags = ["--system-site-packages"] if system else []
            h.runner.run([h.python, "-m", "venv", *flags, str(venv)])
        # Non-editable: the appliance must not depend on the checkout staying put.
        # The pi extra (lgpio: the one GPIO library for Pi 4 and Pi 5) only on a Pi.
        # Pinned: the versions CI tested, from the checkout's constraints.txt.
        spec = stamp_text(h).split(" ")[0]
        constraints = h.source / CONSTRAINTS
        pins = ["--constraint", str(constraints)] if constraints.is_file() else []
        h.runner.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--upgrade",
                *pins,
                spec,
            ]
        )
        if system and h.live:
            # Importing lgpio leaves its FIFO (.lgd-nfy*) in $LG_WD: a throw-away one.
            try:
                with tempfile.TemporaryDirectory(prefix="station-lgpio-") as lg_wd:
                    python = str(venv / "bin" / "python")
                    h.runner.run(["env", f"LG_WD={lg_wd}", python, "-c", "import lgpio"])
            except InstallError as exc:
                raise InstallError(
                    f"{VENV} cannot import lgpio ({exc}); on Python 3.13+ it comes from "
                    f"the system's {LGPIO_DEB}, which serves only the system Python: re-run "
                    "with --python /usr/bin/python3 (and `sudo apt-get install "
                    f"{LGPIO_DEB}` if apt failed)"
                ) from exc
        h.write(f"{VENV}/{STAMP}", stamp_text(h), 0o644)

    return Action(summary=f"{VENV} with the station from this checkout", needed=needed, apply=apply)
