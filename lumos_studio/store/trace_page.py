"""What the trace list asks and gets: a run's line (``TraceSummary``), the query, the page, and
the orders the list offers. Apart from the queries that find a page (``store.trace_finder``):
the PostgreSQL reader, the UI and the schema's sort indexes use these without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from lumos_studio.store.trace_filter import TraceFilter

__all__ = [
    "SORTS",
    "SORT_INDEXES",
    "WALKED_SORTS",
    "TracePage",
    "TraceQuery",
    "TraceSummary",
    "failed_by_filter",
]


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One line of the trace list."""

    trace_id: str
    root_name: str
    agent_name: str | None
    service_name: str | None
    start_ns: int
    end_ns: int | None
    span_count: int
    error_count: int
    running_count: int
    input_tokens: int | None
    output_tokens: int | None
    conversation_id: str | None = None
    agents: str | None = None  # every agent, model and tool of the run, comma separated
    models: str | None = None
    tools: str | None = None
    pinned_ns: int | None = None
    text_seq: int | None = None  # the search index's number for it (``trace_index``)
    suspended: bool = False  # a workflow in it waits for a person (``mark_suspended``)
    root_failed: bool | None = None  # its root span failed (``_mark_failed``; None: not looked)

    @property
    def pinned(self) -> bool:
        return self.pinned_ns is not None

    @property
    def tokens(self) -> int:
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    @property
    def running(self) -> bool:
        return self.running_count > 0

    @property
    def failed(self) -> bool:
        """The run failed: its root span did (a child's error the run got past does not count);
        with no root looked at, any span's error counts."""
        return bool(self.error_count) if self.root_failed is None else self.root_failed

    @property
    def status(self) -> str:
        if self.failed:
            return "ERROR"
        if self.running:
            return "RUNNING"
        return "SUSPENDED" if self.suspended else "OK"

    @property
    def duration_ns(self) -> int | None:
        return None if self.end_ns is None or self.running else self.end_ns - self.start_ns


# The sorts other than by start, each served by an index on its expression (schema 13): SQLite
# uses one only for an ORDER BY written as the index is, so both are made from the same text.
_DURATION = "CASE WHEN {t}running_count = 0 THEN {t}end_ns - {t}start_ns END"
_TOKENS = "coalesce({t}input_tokens, 0) + coalesce({t}output_tokens, 0)"
_ERRED = "{t}error_count > 0"
SORT_INDEXES = tuple(
    f"CREATE INDEX IF NOT EXISTS traces_by_{name} ON traces({expression.format(t='')}, start_ns)"
    for name, expression in (("duration", _DURATION), ("tokens", _TOKENS), ("erred", _ERRED)))

SORTS: dict[str, str] = {
    "newest": "t.start_ns DESC",
    "oldest": "t.start_ns ASC",
    # Running traces have no duration yet: after every finished one.
    "slowest": f"{_DURATION.format(t='t.')} DESC, t.start_ns DESC",
    "tokens": f"{_TOKENS.format(t='t.')} DESC, t.start_ns DESC",
    "errors": f"{_ERRED.format(t='t.')} DESC, t.start_ns DESC",
}


# Sorts by the start index, whose runs' text_seq come close together (the order they were indexed
# in): a dense word's page walks them (``TraceFinder._walked_page``). Runs sorted by tokens,
# duration or errors come in any text_seq order, each looked up alone: read in full, as before.
WALKED_SORTS = frozenset({"newest", "oldest"})


@dataclass(frozen=True, slots=True)
class TraceQuery:
    """What the trace list asks for: a filter, an order, grouped by conversation or not."""

    filter: TraceFilter = field(default_factory=TraceFilter)
    sort: str = "newest"
    grouped: bool = False
    limit: int = 500


@dataclass(frozen=True, slots=True)
class TracePage:
    """The first ``query.limit`` matches (pinned first, then by group and sort) and the count."""

    query: TraceQuery
    summaries: list[TraceSummary]
    total: int
    group_sizes: dict[str | None, int] = field(default_factory=dict)  # conversation → matches
    pinned: int = 0  # pinned traces among the matches
    unindexed: int = 0  # finished spans whose messages a text search cannot find yet
    counted: bool = True  # False: ``total`` is only the page's; ``StoreReader.count_matches``

    @property
    def truncated(self) -> bool:
        return not self.counted or self.total > len(self.summaries)


def failed_by_filter(trace_filter: TraceFilter, summaries: list[TraceSummary]
                      ) -> list[TraceSummary]:
    """Matches of ``status:error`` alone all failed at their root, as the filter just found
    (in the same snapshot): not asked again (~20 ms for a page of 500 at 3M spans)."""
    if trace_filter.statuses != {"error"}:
        return summaries
    return [replace(t, root_failed=True) for t in summaries]
