"""The writer's statements for a batch: the spans' upsert (padded to few sizes), the logs'
insert and the trace refresh, whose head and update PostgreSQL's writer shares."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from lumos_studio.store.schema import LOG_COLUMNS, SPAN_COLUMNS

# Spans are written with multi-row statements, not executemany: sqlite3 releases the GIL around
# every step, and while the receiver's threads decode, each re-acquisition can wait a whole switch
# interval. A batch is one statement (two past 1,024 rows), so a transaction takes ~5 round trips.
# Its rows are padded with NULL rows (left out by the statement) to a multiple of
# ``_ROWS_STEP``: the in-process lanes' batches come in every size, and compiling a statement of
# a size not seen lately cost ~4 ms (500 rows) where running it costs ~3.
_MAX_ROWS_PER_STATEMENT = 1_024  # 21 columns × 1,024 parameters, under SQLite's 32,766
_ROWS_STEP = 64
_PADDING = (None,) * len(SPAN_COLUMNS)


@functools.cache
def upsert_spans(rows: int) -> str:
    """The upsert of ``rows`` value rows, those whose trace id is NULL (padding) left out."""
    row = f"({', '.join('?' * len(SPAN_COLUMNS))})"
    return (
        f"INSERT INTO spans ({', '.join(SPAN_COLUMNS)}) SELECT * FROM (VALUES "
        f"{', '.join([row] * rows)}) WHERE column1 IS NOT NULL "
        "ON CONFLICT(trace_id, span_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in SPAN_COLUMNS[2:])
        # A finished span is final: a late "started" copy or a re-import never overwrites it.
        + " WHERE spans.end_ns IS NULL"
    )


def padded(chunk: Sequence[tuple[Any, ...]]) -> tuple[int, list[Any]]:
    """The statement size for ``chunk`` (a multiple of ``_ROWS_STEP``) and its parameters."""
    size = -(-len(chunk) // _ROWS_STEP) * _ROWS_STEP
    parameters = list(itertools.chain.from_iterable(chunk))
    parameters.extend(_PADDING * (size - len(chunk)))
    return size, parameters


_T = TypeVar("_T")


def statement_chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """Slices of at most ``_MAX_ROWS_PER_STATEMENT``."""
    for start in range(0, len(items), _MAX_ROWS_PER_STATEMENT):
        yield items[start : start + _MAX_ROWS_PER_STATEMENT]


INSERT_LOG = (
    f"INSERT OR IGNORE INTO logs ({', '.join(LOG_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(LOG_COLUMNS))})"
)

# An upsert, not INSERT OR REPLACE: a trace's pin outlives its refreshes, and so does its
# conversation id (given apart, to the traces without one: ``trace_index.set_conversations``).
# ``batch`` lists the traces. The conversation ids once came in ``batch`` too, read by a
# subquery for each trace: a scan of the batch each, ~30 µs a trace in an agent's batch of 800.
# What both engines' trace refresh shares: the columns, the run's names read from its spans, its
# times and span count (``TRACE_REFRESH_HEAD``), and what an existing trace's row takes
# (``TRACE_REFRESH_UPDATE``); each engine writes its own sums and its own list of the batch.
# The root's name and service are read through the roots' index (``spans_roots``) when the trace
# has a root, and only otherwise from its earliest span: sorting every span of a 100k-span trace
# for them cost ~22 of a refresh's ~65 ms, paid by every batch that touched it. A span's name is
# never NULL, so the root's stands unless there is no root; its service may be NULL, and stands
# all the same when there is one.
TRACE_REFRESH_HEAD = """
INSERT INTO traces (
    trace_id, root_name, agent_name, service_name, start_ns, end_ns, span_count, error_count,
    running_count, input_tokens, output_tokens, agents, models, tools)
SELECT
    s.trace_id,
    coalesce(
        (SELECT name FROM spans r WHERE r.trace_id = s.trace_id AND r.parent_span_id IS NULL
            ORDER BY r.start_ns LIMIT 1),
        (SELECT name FROM spans r WHERE r.trace_id = s.trace_id ORDER BY r.start_ns LIMIT 1)),
    (SELECT agent_name FROM spans a WHERE a.trace_id = s.trace_id AND a.agent_name IS NOT NULL
        ORDER BY a.start_ns LIMIT 1),
    CASE WHEN EXISTS (SELECT 1 FROM spans v WHERE v.trace_id = s.trace_id
                      AND v.parent_span_id IS NULL)
    THEN (SELECT service_name FROM spans v WHERE v.trace_id = s.trace_id
          AND v.parent_span_id IS NULL ORDER BY v.start_ns LIMIT 1)
    ELSE (SELECT service_name FROM spans v WHERE v.trace_id = s.trace_id
          ORDER BY v.start_ns LIMIT 1)
    END,
    min(s.start_ns), max(s.end_ns), count(*),"""
TRACE_REFRESH_UPDATE = "ON CONFLICT (trace_id) DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in (
        "root_name", "agent_name", "service_name", "start_ns", "end_ns", "span_count",
        "error_count", "running_count", "input_tokens", "output_tokens", "agents", "models",
        "tools"))
_REFRESH_TRACE = "WITH batch(trace_id) AS (VALUES {ids})" + TRACE_REFRESH_HEAD + """
    sum(s.status_code = 'ERROR'), sum(s.end_ns IS NULL),
    sum(CASE WHEN s.operation = 'chat' THEN s.input_tokens END),
    sum(CASE WHEN s.operation = 'chat' THEN s.output_tokens END),
    group_concat(DISTINCT s.agent_name), group_concat(DISTINCT s.model),
    group_concat(DISTINCT s.tool_name)
FROM spans s WHERE s.trace_id IN (SELECT trace_id FROM batch) GROUP BY s.trace_id
""" + TRACE_REFRESH_UPDATE + " RETURNING trace_id, span_count"


@functools.cache
def refresh_traces(count: int) -> str:
    """The refresh of ``count`` traces' rows; it returns each one's (trace id, span count),
    which tells ``trace_refresh`` which traces are huge."""
    return _REFRESH_TRACE.format(ids=", ".join(["(?)"] * count))
