"""The DRV2605 effect library (TI's TouchSense 2200 list): names <-> ids 1..123.

Clinicians write a tap effect by its name ("Soft Bump - 60%"), by a unique short name
("Buzz 3") or by its id; the protocol stores the id so its hash does not depend on
spelling. The strength in each name (percent of the rated drive) matters for safety: a
library effect cannot be scaled, so the compiler picks a weaker variant of the same family
when the caps or the patient's setting call for it (``weaker_variant``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache

# TI SLOS854/SLOS825, "Waveform Library Effects List" (ERM libraries A-E and the LRA
# library share the names; the waveforms differ per library).
_NAMES = (
    "Strong Click - 100%", "Strong Click - 60%", "Strong Click - 30%",
    "Sharp Click - 100%", "Sharp Click - 60%", "Sharp Click - 30%",
    "Soft Bump - 100%", "Soft Bump - 60%", "Soft Bump - 30%",
    "Double Click - 100%", "Double Click - 60%", "Triple Click - 100%",
    "Soft Fuzz - 60%", "Strong Buzz - 100%", "750 ms Alert - 100%", "1000 ms Alert - 100%",
    "Strong Click 1 - 100%", "Strong Click 2 - 80%", "Strong Click 3 - 60%",
    "Strong Click 4 - 30%", "Medium Click 1 - 100%", "Medium Click 2 - 80%",
    "Medium Click 3 - 60%", "Sharp Tick 1 - 100%", "Sharp Tick 2 - 80%", "Sharp Tick 3 - 60%",
    "Short Double Click Strong 1 - 100%", "Short Double Click Strong 2 - 80%",
    "Short Double Click Strong 3 - 60%", "Short Double Click Strong 4 - 30%",
    "Short Double Click Medium 1 - 100%", "Short Double Click Medium 2 - 80%",
    "Short Double Click Medium 3 - 60%", "Short Double Sharp Tick 1 - 100%",
    "Short Double Sharp Tick 2 - 80%", "Short Double Sharp Tick 3 - 60%",
    "Long Double Sharp Click Strong 1 - 100%", "Long Double Sharp Click Strong 2 - 80%",
    "Long Double Sharp Click Strong 3 - 60%", "Long Double Sharp Click Strong 4 - 30%",
    "Long Double Sharp Click Medium 1 - 100%", "Long Double Sharp Click Medium 2 - 80%",
    "Long Double Sharp Click Medium 3 - 60%", "Long Double Sharp Tick 1 - 100%",
    "Long Double Sharp Tick 2 - 80%", "Long Double Sharp Tick 3 - 60%",
    "Buzz 1 - 100%", "Buzz 2 - 80%", "Buzz 3 - 60%", "Buzz 4 - 40%", "Buzz 5 - 20%",
    "Pulsing Strong 1 - 100%", "Pulsing Strong 2 - 60%", "Pulsing Medium 1 - 100%",
    "Pulsing Medium 2 - 60%", "Pulsing Sharp 1 - 100%", "Pulsing Sharp 2 - 60%",
    "Transition Click 1 - 100%", "Transition Click 2 - 80%", "Transition Click 3 - 60%",
    "Transition Click 4 - 40%", "Transition Click 5 - 20%", "Transition Click 6 - 10%",
    "Transition Hum 1 - 100%", "Transition Hum 2 - 80%", "Transition Hum 3 - 60%",
    "Transition Hum 4 - 40%", "Transition Hum 5 - 20%", "Transition Hum 6 - 10%",
    *(
        f"Transition Ramp {d} {length} {shape} {n} - {span}"
        for span_d, span in (("Down", "100 to 0%"), ("Up", "0 to 100%"),
                             ("Down", "50 to 0%"), ("Up", "0 to 50%"))
        for d in (span_d,)
        for shape in ("Smooth", "Sharp")
        for length in ("Long", "Medium", "Short")
        for n in (1, 2)
    ),
    "Long buzz for programmatic stopping - 100%",
    "Smooth Hum 1 (No kick or brake pulse) - 50%", "Smooth Hum 2 (No kick or brake pulse) - 40%",
    "Smooth Hum 3 (No kick or brake pulse) - 30%", "Smooth Hum 4 (No kick or brake pulse) - 20%",
    "Smooth Hum 5 (No kick or brake pulse) - 10%",
)  # fmt: skip

EFFECT_ID_MIN, EFFECT_ID_MAX = 1, len(_NAMES)


@dataclass(frozen=True)
class Effect:
    id: int
    name: str
    strength_percent: int  # peak strength in the name, percent of the rated drive
    family: str  # effects that feel alike at different strengths, e.g. "buzz"


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _family(short: str) -> str:
    short = re.sub(r"\(.*?\)", "", short)
    return _norm(re.sub(r"\s+\d+\s*$", "", short.strip()))


@cache
def all_effects() -> tuple[Effect, ...]:
    out = []
    for i, name in enumerate(_NAMES, start=1):
        short, _, strength = name.rpartition(" - ")
        peak = max(int(n) for n in re.findall(r"\d+", strength))
        out.append(Effect(i, name, peak, _family(short)))
    return tuple(out)


@cache
def _index() -> dict[str, int]:
    """Normalised full names, plus short names (without the strength) where unique."""
    index = {_norm(e.name): e.id for e in all_effects()}
    shorts: dict[str, list[int]] = {}
    for e in all_effects():
        short = e.name.rpartition(" - ")[0]
        shorts.setdefault(_norm(short), []).append(e.id)
        plain = re.sub(r"\(.*?\)", "", short)  # "Smooth Hum 5 (No kick...)" -> "Smooth Hum 5"
        if plain != short:
            shorts.setdefault(_norm(plain), []).append(e.id)
    for key, ids in shorts.items():
        if len(ids) == 1:
            index.setdefault(key, ids[0])
    return index


def effect(effect_id: int) -> Effect:
    if not EFFECT_ID_MIN <= effect_id <= EFFECT_ID_MAX:
        raise ValueError(
            f"effect id {effect_id} is outside the DRV2605 library "
            f"({EFFECT_ID_MIN}..{EFFECT_ID_MAX})"
        )
    return all_effects()[effect_id - 1]


def resolve_effect(value: object) -> int:
    """An effect id or name -> its id; a ValueError names close matches when unknown."""
    if isinstance(value, bool):
        raise ValueError("an effect is a name such as 'Soft Bump - 60%' or an id 1..123")
    if isinstance(value, int):
        return effect(value).id
    if not isinstance(value, str):
        raise ValueError("an effect is a name such as 'Soft Bump - 60%' or an id 1..123")
    key = _norm(value)
    if key.isdigit():
        return effect(int(key)).id
    found = _index().get(key)
    if found is not None:
        return found
    names = [e.name for e in all_effects()]
    close = difflib.get_close_matches(value, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"unknown DRV2605 effect {value!r}{hint} (names as in TI's effect list, e.g. "
        "'Soft Bump - 60%', or an id 1..123; `station protocol schema` lists them)"
    )


def weaker_variant(effect_id: int, max_percent: float) -> Effect | None:
    """The strongest effect of the same family at or below ``max_percent``, or None."""
    base = effect(effect_id)
    if base.strength_percent <= max_percent:
        return base
    fits = [
        e for e in all_effects() if e.family == base.family and e.strength_percent <= max_percent
    ]
    return max(fits, key=lambda e: (e.strength_percent, -e.id), default=None)
