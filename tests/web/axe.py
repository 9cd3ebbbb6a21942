"""axe-core in the browser tests: inject the vendored copy (tests/vendor/axe-core, pinned,
never fetched at test time) into a Playwright page and run it with the WCAG 2.x A and AA
rules.

``violations(page)`` answers axe's own violation records (id, impact, help, helpUrl and
the nodes, each with its target selectors and failure summary); ``assert_no_violations``
fails with one readable block per violation and node.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

VENDOR = Path(__file__).resolve().parents[1] / "vendor" / "axe-core"
# WCAG 2.0 and 2.1, levels A and AA (axe's own tag names): what the issue asks for.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@functools.cache
def axe_source() -> str:
    """The vendored axe.min.js, checked against the sha256 recorded in its VERSION file."""
    data = (VENDOR / "axe.min.js").read_bytes()
    recorded = (VENDOR / "VERSION").read_text(encoding="utf-8")
    digest = hashlib.sha256(data).hexdigest()
    if digest not in recorded:
        raise AssertionError(f"{VENDOR / 'axe.min.js'}: sha256 {digest} is not the one in VERSION")
    return data.decode("utf-8")


def violations(page: Any, *, tags: list[str] | None = None) -> list[dict[str, Any]]:
    """Run axe on the page as it is now (after injecting it once per document)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, not added as a <script>: the station's
        # Content-Security-Policy (script-src 'self') rightly blocks inline scripts, and
        # the test must not loosen it (bypass_csp) for the page it checks.
        page.evaluate(axe_source())
    return page.evaluate(
        """async (tags) => {
          const r = await axe.run(document, {
            runOnly: {type: 'tag', values: tags},
            resultTypes: ['violations'],
          });
          return r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.map(n => ({target: n.target, html: n.html,
                                      summary: n.failureSummary})),
          }));
        }""",
        tags or WCAG_TAGS,
    )


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}  [{v['helpUrl']}]")
        for n in v["nodes"]:
            lines.append(f"    at {' '.join(map(str, n['target']))}: {n['html'][:160]}")
            for s in (n.get("summary") or "").splitlines():
                lines.append(f"        {s}")
    return "\n".join(lines)


def assert_no_violations(page: Any, where: str = "") -> None:
    found = violations(page)
    if found:
        raise AssertionError(f"axe: {len(found)} violation(s) on {where or page.url}:\n"
                             + describe(found))  # fmt: skip
