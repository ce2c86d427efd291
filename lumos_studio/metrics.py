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
    total_runs: int = 0  # finished runs in the store; more than ``runs`` past the window


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


# The newest runs the strip aggregates: bounded, so a store of a million spans costs the same
# few milliseconds (and megabytes) as a fresh one on every live refresh.
WINDOW = 1_000


def session_metrics(
    db: sqlite3.Connection, since_ns: int = 0, recent: int = 40, window: int = WINDOW
) -> Metrics:
    """Metrics over the newest ``window`` finished runs that started at or after ``since_ns``."""
    runs = db.execute(
        # A run without an agent (any OTel program's trace) goes by its root span's name, as in
        # the trace list.
        "SELECT trace_id, coalesce(agent_name, root_name), end_ns - start_ns, error_count, "
        "coalesce(input_tokens, 0) + coalesce(output_tokens, 0) "
        "FROM traces WHERE start_ns >= ? AND running_count = 0 ORDER BY start_ns DESC LIMIT ?",
        (since_ns, window),
    ).fetchall()
    if not runs:
        return Metrics()
    runs.reverse()  # oldest first
    total = len(runs)
    if total == window:
        total = db.execute(
            "SELECT count(*) FROM traces WHERE start_ns >= ? AND running_count = 0", (since_ns,)
        ).fetchone()[0]
    durations = sorted(r[2] for r in runs)
    # The runs' own spans, through the (trace_id, span_id) key: never a scan of ``spans``.
    in_runs = f"trace_id IN ({', '.join('?' * len(runs))})"
    trace_ids = [r[0] for r in runs]
    tools = db.execute(
        f"SELECT tool_name, end_ns - start_ns FROM spans WHERE {in_runs} "
        "AND operation = 'execute_tool' AND end_ns IS NOT NULL",
        trace_ids,
    ).fetchall()
    usage = db.execute(
        "SELECT model, sum(coalesce(input_tokens, 0)), sum(coalesce(output_tokens, 0)) "
        f"FROM spans WHERE {in_runs} AND operation = 'chat' GROUP BY model",
        trace_ids,
    ).fetchall()
    costs = [estimate_cost(model, tokens_in, tokens_out) for model, tokens_in, tokens_out in usage]
    known = [c for c in costs if c is not None]
    return Metrics(
        runs=len(runs),
        errors=sum(1 for r in runs if r[3]),
        p50_ns=percentile(durations, 0.5),
        p95_ns=percentile(durations, 0.95),
        tokens=sum(r[4] for r in runs),
        cost=sum(known) if known else None,
        agents=_latencies([(r[1], r[2]) for r in runs]),
        tools=_latencies([(t[0], t[1]) for t in tools]),
        recent_ns=tuple(r[2] for r in runs[-recent:]),
        total_runs=total,
    )
