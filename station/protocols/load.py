"""Reading and validating protocols: TOML files, JSON from the web page, both one model.

Everything wrong with an input is reported at once as a ``ConfigError`` whose problems
name the file, the field's path (``ladders[0].levels[2].steps[0].intensity.percent``),
the value and what is allowed. Validation has three stages, each reporting all it finds:
structure and ranges (pydantic), rules across fields (``cross_check``: the protocol's own
caps, duplicate names, forbidden sites) and, when a wiring config is given, the hardware
(``check_against_wiring``: actuators exist and are of the right kind, brushing speeds and
strokes fit the calibrated brush).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from station.errors import ConfigError, Problem, parse_toml_text, problems_from_validation
from station.protocols import discriminate
from station.protocols.effects import effect
from station.protocols.model import BrushStep, DiscriminateStep, Protocol, TapStep, VibrateStep
from station.protocols.timing import level_timing
from station.wiring import WiringConfig

MAX_BYTES = 256 * 1024
Format = Literal["toml", "json"]


def parse_text(raw: bytes | str, *, fmt: Format, source: str) -> dict[str, Any]:
    """TOML or JSON text -> a dict, or a ``ConfigError`` saying why not."""
    size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
    if size > MAX_BYTES:
        raise ConfigError(
            source, [Problem("", f"{size} bytes is too big; a protocol may be {MAX_BYTES} bytes")]
        )
    if fmt == "toml":
        return parse_toml_text(raw, source)
    if fmt != "json":
        raise ConfigError(source, [Problem("", f"unknown format {fmt!r}; use toml or json")])
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [Problem("", f"not UTF-8 text (byte {exc.start})")]) from None
    if not text.strip():
        raise ConfigError(source, [Problem("", "empty; a protocol must hold a JSON object")])
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(source, [Problem("", f"not valid JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise ConfigError(source, [Problem("", "a protocol must be a JSON object {...}")])
    return data


def cross_check(p: Protocol, wiring: WiringConfig | None = None) -> list[Problem]:
    """Rules that span fields: every value within the protocol's own caps, unique names,
    steps only on permitted body sites (opposite rule), rankable ladders with item ids.
    A level's length counts the brush's moves onto and off the skin: exact on
    ``wiring``'s brushes, a conservative allowance without (``timing.level_timing``)."""
    problems: list[Problem] = []
    caps = p.caps
    for i, site in enumerate(p.avoid_sites):
        if site in p.body_sites:
            problems.append(
                Problem(
                    f"avoid_sites[{i}]",
                    "listed in body_sites too; a site is either stimulated or avoided",
                    site,
                    True,
                )
            )
    _duplicates(problems, "body_sites", p.body_sites)
    _duplicates(problems, "ladders", [x.name for x in p.ladders], field="name")
    for li, ladder in enumerate(p.ladders):
        lp = f"ladders[{li}]"
        _duplicates(problems, f"{lp}.levels", [lv.name for lv in ladder.levels], field="name")
        ids = [lv.id for lv in ladder.levels if lv.id is not None]
        _duplicates(problems, f"{lp}.levels", ids, field="id")
        for vi, level in enumerate(ladder.levels):
            vp = f"{lp}.levels[{vi}]"
            if ladder.ranked_by_patient and level.id is None:
                problems.append(
                    Problem(f"{vp}.id", "required: the patient's ranking names items by id")
                )
            timing = level_timing(level, wiring=wiring)
            if timing.total_s > caps.max_session_minutes * 60:
                problems.append(Problem(vp, _too_long(level.name, timing, caps)))
            for si, step in enumerate(level.steps):
                problems += _step_problems(p, step, f"{vp}.steps[{si}]")
                problems += discriminate.cap_problems(p, step, f"{vp}.steps[{si}]")
    return problems


def _too_long(name: str, timing: Any, caps: Any) -> str:
    """What the clinician reads when a level is longer than the session cap: the level,
    its estimated length with the brush lead times in it, and the cap."""
    text = f"level '{name}' lasts about {timing.total_s / 60:.2f} min ({timing.total_s:.0f} s)"
    if timing.lead_s:
        basis = "" if timing.exact_leads else " (allowance; exact with the station's wiring)"
        text += (
            f", including {timing.lead_s:.1f} s for the brush to move onto and off the skin{basis}"
        )
    return (
        f"{text}, above caps.max_session_minutes ({caps.max_session_minutes:g} min); "
        "shorten the steps or raise the cap"
    )


def _step_problems(p: Protocol, step: object, sp: str) -> list[Problem]:
    out: list[Problem] = []
    caps = p.caps
    site = getattr(step, "site", None)
    if site is not None and site in p.avoid_sites:
        out.append(
            Problem(f"{sp}.site", "is in avoid_sites: this site must not be touched", site, True)
        )
    elif site is not None and site not in p.body_sites:
        out.append(Problem(f"{sp}.site", f"not in body_sites {p.body_sites}", site, True))
    pct = step.intensity.percent if isinstance(step, VibrateStep) else None
    if pct is not None and pct > caps.max_intensity_percent:
        out.append(
            Problem(
                f"{sp}.intensity.percent",
                f"above caps.max_intensity_percent ({caps.max_intensity_percent:g}); "
                "lower it or raise the cap",
                pct,
                True,
            )
        )
    if isinstance(step, TapStep):
        eff = effect(step.effect)
        if eff.strength_percent > caps.max_intensity_percent:
            out.append(
                Problem(
                    f"{sp}.effect",
                    f"'{eff.name}' plays at {eff.strength_percent} % of the rated drive, above "
                    f"caps.max_intensity_percent ({caps.max_intensity_percent:g}); choose a "
                    "weaker effect",
                    step.effect,
                    True,
                )
            )
        if len(set(step.actuators)) != len(step.actuators):
            out.append(Problem(f"{sp}.actuators", "names an actuator twice", step.actuators, True))
    if isinstance(step, VibrateStep) and len(set(step.actuators)) != len(step.actuators):
        out.append(Problem(f"{sp}.actuators", "names an actuator twice", step.actuators, True))
    if isinstance(step, BrushStep) and step.speed_cm_s > caps.max_brush_speed_cm_s:
        out.append(
            Problem(
                f"{sp}.speed_cm_s",
                f"above caps.max_brush_speed_cm_s ({caps.max_brush_speed_cm_s:g})",
                step.speed_cm_s,
                True,
            )
        )
    return out


def _duplicates(problems: list[Problem], path: str, values: list[str], field: str = "") -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            where = f"{path}[{i}].{field}" if field else f"{path}[{i}]"
            problems.append(Problem(where, "duplicate; each must be unique", value, True))
        seen.add(value)


def check_against_wiring(p: Protocol, wiring: WiringConfig) -> list[Problem]:
    """The protocol's actuators exist in this station's wiring with the right kind, and its
    brushing fits the brush's calibrated speed range and travel."""
    haptics = {h.name for h in wiring.haptic}
    brushes = {b.name: b for b in wiring.brush}
    problems: list[Problem] = []
    for li, ladder in enumerate(p.ladders):
        for vi, level in enumerate(ladder.levels):
            for si, step in enumerate(level.steps):
                sp = f"ladders[{li}].levels[{vi}].steps[{si}]"
                if isinstance(step, VibrateStep | TapStep):
                    for ai, name in enumerate(step.actuators):
                        if name not in haptics:
                            problems.append(
                                Problem(
                                    f"{sp}.actuators[{ai}]",
                                    f"no haptic driver of that name in the wiring; "
                                    f"known: {sorted(haptics) or 'none'}",
                                    name,
                                    True,
                                )
                            )
                elif isinstance(step, BrushStep):
                    problems += _brush_problems(step, sp, brushes)
                elif isinstance(step, DiscriminateStep):  # haptic, on distinct body sites
                    problems += discriminate.placement_problems(
                        step, where=sp, haptics=haptics, placed=wiring.sites()
                    )
    return problems


def _brush_problems(step: BrushStep, sp: str, brushes: dict[str, Any]) -> list[Problem]:
    b = brushes.get(step.actuator)
    if b is None:
        return [
            Problem(
                f"{sp}.actuator",
                f"no brush of that name in the wiring; known: {sorted(brushes) or 'none'}",
                step.actuator,
                True,
            )
        ]
    out = []
    if not b.min_speed_cm_s <= step.speed_cm_s <= b.max_speed_cm_s:
        out.append(
            Problem(
                f"{sp}.speed_cm_s",
                f"outside brush '{b.name}' calibrated range "
                f"{b.min_speed_cm_s:g}..{b.max_speed_cm_s:g} cm/s",
                step.speed_cm_s,
                True,
            )
        )
    if step.stroke_cm > b.travel_cm:
        out.append(
            Problem(
                f"{sp}.stroke_cm",
                f"longer than brush '{b.name}' travel ({b.travel_cm:.1f} cm)",
                step.stroke_cm,
                True,
            )
        )
    return out


def validate_data(
    data: dict[str, Any], *, source: str, wiring: WiringConfig | None = None
) -> Protocol:
    """A parsed dict -> a valid ``Protocol``, or a ``ConfigError`` with every problem."""
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, problems_from_validation(exc, data)) from None
    problems = cross_check(protocol, wiring)
    if wiring is not None:
        problems += check_against_wiring(protocol, wiring)
    if problems:
        raise ConfigError(source, problems)
    return protocol


def load_text(
    raw: bytes | str, *, fmt: Format, source: str, wiring: WiringConfig | None = None
) -> Protocol:
    """Web uploads and files alike: text in a format -> a valid ``Protocol``."""
    return validate_data(parse_text(raw, fmt=fmt, source=source), source=source, wiring=wiring)


def format_of(path: Path) -> Format:
    return "json" if path.suffix.lower() == ".json" else "toml"


def read_file(path: Path) -> bytes:
    """A protocol file's bytes, refusing missing, unreadable and oversized files before
    reading them whole."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(
                source,
                [Problem("", f"{size} bytes is too big; a protocol may be {MAX_BYTES} bytes")],
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(source, [Problem("", "file not found; check the path")]) from None
    except IsADirectoryError:
        raise ConfigError(source, [Problem("", "is a folder, not a protocol file")]) from None
    except OSError as exc:
        raise ConfigError(source, [Problem("", f"cannot read: {exc.strerror}")]) from None


def load_file(path: Path, *, wiring: WiringConfig | None = None) -> Protocol:
    """A protocol file (``.toml``, or ``.json``) -> a valid ``Protocol``."""
    path = Path(path)
    return load_text(read_file(path), fmt=format_of(path), source=str(path), wiring=wiring)


def canonical_json(p: Protocol) -> str:
    """One spelling per protocol: sorted keys, no spaces, defaults filled in, effects as
    ids, so comments and formatting never change the hash."""
    return json.dumps(
        p.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def protocol_hash(p: Protocol) -> str:
    return hashlib.sha256(canonical_json(p).encode("utf-8")).hexdigest()
