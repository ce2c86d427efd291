"""Our own ``lumos_core`` spans: current GenAI attributes (read by ``genai``) plus ``lumos.*``.

Every ``lumos.*`` name the core emits is listed in ``lumos_core.telemetry.semconv``; those count as
understood (the workflow and memory panes show them), anything else under ``lumos.`` stays unread.
"""

from __future__ import annotations

from typing import Final

from lumos_core.telemetry import semconv as sc
from lumos_studio.semantics._draft import Draft
from lumos_studio.semantics.view import Dialect

SCOPE: Final = sc.INSTRUMENTATION_NAME
KNOWN: Final = frozenset(
    value
    for name, value in vars(sc).items()
    if name.startswith("LUMOS_") and isinstance(value, str) and value.startswith("lumos.")
)


def read_lumos(d: Draft, keys: list[str], scope_name: str) -> None:
    for key in keys:
        if key in KNOWN:
            d.read.add(key)
    if sc.LUMOS_TOOL_AGENT in d.attrs:  # a tool called by hand: whose tool it is
        d.fill("agent_name", sc.LUMOS_TOOL_AGENT)
    if keys or scope_name == SCOPE:
        d.add_dialect(Dialect.LUMOS)
