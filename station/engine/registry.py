"""The engine's IPC methods, each registered once with its parameters' model.

As Klipper's ``webhooks.py`` registers endpoints: ``registry.register(name, Params,
handler)`` names a method, the pydantic model its ``params`` must satisfy (``Params``:
unknown keys refused, strict types, so ``"5"`` is not 5 and ``true`` is not 1) and the
handler, which receives the validated model. ``registry(method, params)`` is the
server's dispatch: an unknown method, a simulator-only method on real hardware, or bad
params end in an ``EngineError`` whose message names the method, the parameter, the
value given and what is allowed (code ``bad_params``), never in a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from station.errors import EngineError, problems_from_validation, short_value


class Params(BaseModel):
    """Base of every method's parameters."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoParams(Params):
    """A method that takes no parameters."""


P = TypeVar("P", bound=Params)
SHOULD = "Input should be "


@dataclass(frozen=True)
class Method(Generic[P]):
    name: str
    params: type[P]
    handler: Callable[[P], Any]
    sim_only: bool = False

    def call(self, raw: dict[str, Any]) -> Any:
        try:
            params = self.params.model_validate(raw)
        except ValidationError as exc:
            raise EngineError(
                "bad_params", bad_params_message(self.name, self.params, exc, raw)
            ) from None
        return self.handler(params)


class Registry:
    """Method name -> ``Method``; callable as the IPC server's dispatch."""

    def __init__(self, *, simulated: bool) -> None:
        self.simulated = simulated
        self._methods: dict[str, Method[Any]] = {}

    def register(
        self, name: str, params: type[P], handler: Callable[[P], Any], *, sim_only: bool = False
    ) -> None:
        if name in self._methods:
            raise ValueError(f"engine method {name!r} is registered twice")
        self._methods[name] = Method(name, params, handler, sim_only)

    def __call__(self, method: str, params: dict[str, Any]) -> Any:
        m = self._methods.get(method)
        if m is None:
            known = ", ".join(n for n, x in sorted(self._methods.items())
                              if self.simulated or not x.sim_only)  # fmt: skip
            raise EngineError("unknown_method", f"no method {method!r}; methods: {known}")
        if m.sim_only and not self.simulated:
            raise EngineError("not_simulated", f"{method} exists only in simulator mode")
        return m.call(params)


def bad_params_message(
    method: str, model: type[BaseModel], exc: ValidationError, raw: dict[str, Any]
) -> str:
    """One line per parameter at fault: ``method: name = value: what is allowed``."""
    fields = list(model.model_fields)
    merged: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for problem, err in zip(
        problems_from_validation(exc, raw), exc.errors(include_url=False), strict=True
    ):
        top = str(err["loc"][0]) if err["loc"] else "params"
        # A scalar's path stops at the parameter (pydantic adds a union's member names).
        path = problem.path if isinstance(raw.get(top), dict) else top
        if err["type"] == "extra_forbidden":
            takes = ", ".join(fields) if fields else "no parameters"
            msg = f"unknown parameter (a typo?); {method} takes: {takes}"
        elif err["type"] == "missing":
            msg = "required, but missing"
        else:
            msg = problem.message
            if msg.startswith(SHOULD) and any(m.startswith(SHOULD) for m in merged.get(path, [])):
                msg = msg[len(SHOULD) :]  # "a valid string or a valid integer"
        if problem.has_value:
            values[path] = problem.value
        if msg not in merged.setdefault(path, []):
            merged[path].append(msg)
    parts = []
    for path, msgs in merged.items():
        shown = f" = {short_value(values[path])}" if path in values else ""
        info = model.model_fields.get(path)
        about = f" ({info.description})" if info is not None and info.description else ""
        parts.append(f"{path}{shown}: {' or '.join(msgs)}{about}")
    return f"{method}: " + "; ".join(parts)
