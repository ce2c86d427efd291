"""Estimated cost of model calls, from a price table of common models (USD per million tokens).

Prices change: the table is a convenience, not a bill. Override or extend it with a JSON file
``{"model": [input_per_million, output_per_million], ...}`` named by ``LUMOS_PRICES``.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import NamedTuple

import orjson

from lumos_studio.semantics import SpanView

DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "scripted": (0.0, 0.0),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
}


@functools.cache
def price_table() -> dict[str, tuple[float, float]]:
    """The defaults, overridden by ``$LUMOS_PRICES`` when set (a bad file is ignored, not fatal)."""
    table = dict(DEFAULT_PRICES)
    path = os.environ.get("LUMOS_PRICES")
    if path:
        try:
            extra = orjson.loads(Path(path).read_bytes())
            table.update({str(k): (float(v[0]), float(v[1])) for k, v in extra.items()})
        except (OSError, ValueError, TypeError, IndexError, AttributeError):
            pass
    return table


def estimate_cost(model: str | None, input_tokens: int, output_tokens: int) -> float | None:
    """USD for this many tokens of ``model``; None when the model is not in the table.

    A dated or suffixed name (``gpt-4o-mini-2024-07-18``) matches its longest known prefix.
    """
    if not model:
        return None
    table = price_table()
    name = model.split(":")[-1]
    match = max((known for known in table if name.startswith(known)), key=len, default=None)
    if match is None:
        return None
    per_in, per_out = table[match]
    return (input_tokens * per_in + output_tokens * per_out) / 1_000_000


class Cost(NamedTuple):
    """What a model call cost: as the span recorded it, or estimated from the price table."""

    usd: float
    recorded: bool


def view_cost(view: SpanView) -> Cost | None:
    """The span's own recorded cost when it has one, else its usage priced by its model (the
    provider's prefix, ``openai:gpt-4o``, is allowed); None when neither is known."""
    if view.cost is not None and math.isfinite(view.cost) and view.cost >= 0:
        return Cost(view.cost, True)
    usage = view.usage
    if not usage.known:
        return None
    model = view.model
    if view.provider and model and ":" not in model:
        model = f"{view.provider}:{model}"
    usd = estimate_cost(model, usage.input_tokens or 0, usage.output_tokens or 0)
    return Cost(usd, False) if usd is not None else None


def format_cost(usd: float) -> str:
    if usd == 0:
        return "$0"
    return f"${usd:.6f}" if usd < 0.01 else f"${usd:.4f}"
