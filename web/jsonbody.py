"""Request bodies that cannot crash the app: JSON nested too deeply is a bad request.

Python's ``json`` parser recurses once per nesting level, so a body of 5000 ``[`` raises
``RecursionError`` (not ``ValueError``), which Flask does not turn into a 400 and which
ended as a 500. This provider turns it into the ``ValueError`` Flask expects: a route
reading the body with ``silent=True`` sees no body (``/api/stop`` still stops), the
others answer 400 through the normal path.
"""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider


class StationJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
