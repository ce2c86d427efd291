"""The trace list's search language (``store.trace_filter``) as a WHERE clause for PostgreSQL.

The same ``TraceFilter`` and the same meaning: a free word matches an agent, the root's name or
a model (a substring, case-insensitive as SQLite's LIKE is for ASCII) or the run's message text
(``span_texts``' tsvector, the phrase ``search.tsquery`` makes); the status rule is
``trace_filter.status_sql``, which both engines read, with a suspended workflow's span found by
its bytes (``span_suspended_sql``).
"""

from __future__ import annotations

import functools

from lumos_core.telemetry.semconv import LUMOS_WORKFLOW_STATUS
from lumos_studio.store.postgres.search import tsquery
from lumos_studio.store.trace_filter import TraceFilter, field_clauses
from lumos_studio.store.trace_search import like_pattern

# ``store.trace_page.SORTS`` with SQLite's NULL order spelled out (PostgreSQL puts NULLs first
# in a descending order, SQLite last).
SORTS: dict[str, str] = {
    "newest": "t.start_ns DESC",
    "oldest": "t.start_ns ASC",
    "slowest": "CASE WHEN t.running_count = 0 THEN t.end_ns - t.start_ns END DESC NULLS LAST, "
               "t.start_ns DESC",
    "tokens": "coalesce(t.input_tokens, 0) + coalesce(t.output_tokens, 0) DESC, t.start_ns DESC",
    "errors": "t.error_count > 0 DESC, t.start_ns DESC",
}

# A stored span (its OTLP bytes, which PostgreSQL compresses itself) says its workflow suspended:
# the attribute as protobuf writes it, which SQL can look for where SQLite's spans, compressed by
# the writer, need a function (``trace_finder.span_suspended``).
@functools.cache
def span_suspended_sql() -> str:
    """(Made at the first search: protobuf is not imported by the commands that never ask.)"""
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    attribute = KeyValue(key=LUMOS_WORKFLOW_STATUS, value=AnyValue(string_value="suspended"))
    return f"position('\\x{attribute.SerializeToString().hex()}'::bytea IN w.span) > 0"

# A word's runs: by name or by message text, as one set of ids the list semi-joins. Written as
# "names OR t.trace_id IN (text)", PostgreSQL ran the text match once per run when it guessed
# its result too big to hash (a count ran for minutes at 1M spans).
_WORD_SQL = (
    "t.trace_id IN (SELECT n.trace_id FROM traces n WHERE n.agents ILIKE ? OR n.root_name "
    "ILIKE ? OR n.models ILIKE ? UNION SELECT x.trace_id FROM span_texts x "
    "WHERE x.words @@ to_tsquery('simple', ?))"
)


# A word's match on one run, for a walk through the runs in the list's order (``trace_walk``):
# its names, else its texts looked up by the run's id (the primary key of ``span_texts``). As a
# scalar subquery with LIMIT 1 it is asked per run; as EXISTS, PostgreSQL hashed every matching
# text first, as the semi-join does.
_WORD_ON_RUN_SQL = (
    "(t.agents ILIKE ? OR t.root_name ILIKE ? OR t.models ILIKE ? OR coalesce((SELECT true "
    "FROM span_texts x WHERE x.trace_id = t.trace_id AND x.words @@ to_tsquery('simple', ?) "
    "LIMIT 1), false))"
)


def words_on_run_sql(words: tuple[str, ...]) -> tuple[str, list[object]]:
    """An expression over ``traces t``, true when the run matches every one of ``words`` (as
    ``filter_sql`` matches them), each looked up for that run alone; and its parameters."""
    clauses: list[str] = []
    params: list[object] = []
    for word in words:
        phrase = tsquery(word)
        params.extend([like_pattern(word)] * 3)
        if phrase is None:
            clauses.append("(t.agents ILIKE ? OR t.root_name ILIKE ? OR t.models ILIKE ?)")
            continue
        params.append(phrase)
        clauses.append(_WORD_ON_RUN_SQL)
    return (" AND ".join(clauses) or "TRUE"), params


def filter_sql(trace_filter: TraceFilter) -> tuple[str, list[object]]:
    """A WHERE clause over ``traces t`` (``TRUE`` when empty), ``?`` parameters and their
    values."""
    clauses: list[str] = []
    params: list[object] = []

    def any_like(columns: tuple[str, ...], value: str) -> str:
        params.extend([like_pattern(value)] * len(columns))
        return "(" + " OR ".join(f"{c} ILIKE ?" for c in columns) + ")"

    for word in trace_filter.words:
        phrase = tsquery(word)
        if phrase is None:  # no word to search the text for: the names alone
            clauses.append(any_like(("t.agents", "t.root_name", "t.models"), word))
            continue
        params.extend([like_pattern(word)] * 3 + [phrase])
        clauses.append(_WORD_SQL)
    clauses.extend(field_clauses(trace_filter, any_like, params, span_suspended_sql()))
    return (" AND ".join(clauses) or "TRUE"), params
