"""Session metrics: runs, errors, latency percentiles per agent and per tool, tokens and cost.

Computed from the store's ``traces`` and ``spans`` tables; pure aggregation, no Textual.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass, field

from lumos_studio.pricing import estimate_cost


@dataclass(frozen=True)
class Latency:
    """How long one agent's runs (or one tool's calls) took."""

    name: str
    count: int
    p50_ns: int
    p95_ns: int


@dataclass(frozen=True)
class Metrics:
    runs: int = 0
    errors: int = 0
    p50_ns: int | None = None
    p95_ns: int | None = None
    tokens: int = 0
    cost: float | None = None
    agents: tuple[Latency, ...] = ()
    tools: tuple[Latency, ...] = ()
    recent_ns: tuple[int, ...] = field(default_factory=tuple)  # last runs' durations, oldest first


def percentile(sorted_values: list[int], fraction: float) -> int:
    """Nearest-rank percentile of already sorted values."""
    rank = math.ceil(fraction * len(sorted_values))
    return sorted_values[max(0, min(len(sorted_values), rank) - 1)]


def _latencies(rows: list[tuple[str | None, int]]) -> tuple[Latency, ...]:
    grouped: dict[str, list[int]] = {}
    for name, duration in rows:
        grouped.setdefault(name or "?", []).append(duration)
    result = []
    for name, values in grouped.items():
        values.sort()
        result.append(Latency(name, len(values), percentile(values, 0.5), percentile(values, 0.95)))
    return tuple(sorted(result, key=lambda latency: -latency.count))


def session_metrics(db: sqlite3.Connection, since_ns: int = 0, recent: int = 40) -> Metrics:
    """Metrics over the traces that started at or after ``since_ns``."""
    runs = db.execute(
        "SELECT agent_name, end_ns - start_ns, error_count, "
        "coalesce(input_tokens, 0) + coalesce(output_tokens, 0) "
        "FROM traces WHERE start_ns >= ? AND running_count = 0 ORDER BY start_ns",
        (since_ns,),
    ).fetchall()
    if not runs:
        return Metrics()
    durations = sorted(r[1] for r in runs)
    tools = db.execute(
        "SELECT tool_name, end_ns - start_ns FROM spans "
        "WHERE operation = 'execute_tool' AND end_ns IS NOT NULL AND start_ns >= ?",
        (since_ns,),
    ).fetchall()
    usage = db.execute(
        "SELECT model, sum(coalesce(input_tokens, 0)), sum(coalesce(output_tokens, 0)) "
        "FROM spans WHERE operation = 'chat' AND start_ns >= ? GROUP BY model",
        (since_ns,),
    ).fetchall()
    costs = [estimate_cost(model, tokens_in, tokens_out) for model, tokens_in, tokens_out in usage]
    known = [c for c in costs if c is not None]
    return Metrics(
        runs=len(runs),
        errors=sum(1 for r in runs if r[2]),
        p50_ns=percentile(durations, 0.5),
        p95_ns=percentile(durations, 0.95),
        tokens=sum(r[3] for r in runs),
        cost=sum(known) if known else None,
        agents=_latencies([(r[0], r[1]) for r in runs]),
        tools=_latencies([(t[0], t[1]) for t in tools]),
        recent_ns=tuple(r[1] for r in runs[-recent:]),
    )
