"""A trace's spans as its tree draws them: the columns only, no span decoded.

Opening a trace decoded every span's stored OTLP bytes and read what each meant: 16 µs and
~4 KB of objects a span, 1.6 s and 300 MB for 100,000 spans. The tree needs none of it: ids,
name, times, status and what the span does, which the hot columns say (``semantics.hot``).
A pane that needs a whole span (the detail, memory, compare) reads it by id when it needs it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import NamedTuple, Protocol

from lumos_studio.records import STATUS_ERROR
from lumos_studio.semantics import OperationKind
from lumos_studio.semantics.hot import column_kind, is_workflow_step

__all__ = ["SpanHeader", "SpanLike", "headers_of", "read_headers"]


class SpanLike(Protocol):
    """What a tree reads of a span: a whole ``SpanRecord`` (a replay, a test) or a
    ``SpanHeader``."""

    @property
    def span_id(self) -> str: ...
    @property
    def parent_span_id(self) -> str | None: ...
    @property
    def name(self) -> str: ...
    @property
    def start_ns(self) -> int: ...
    @property
    def end_ns(self) -> int | None: ...
    @property
    def status_code(self) -> str: ...
    @property
    def running(self) -> bool: ...
    @property
    def duration_ns(self) -> int | None: ...


class SpanHeader(NamedTuple):
    """What the tree shows of a span; a named tuple: a 100,000-span trace holds one each."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_ns: int
    end_ns: int | None
    status_code: str
    kind: OperationKind  # what it does, from the columns (``semantics.hot.column_kind``)
    operation: str | None  # the operation column: a GenAI operation name
    workflow_step: bool  # a workflow's step or loop pass (``semantics.hot.is_workflow_step``)

    @property
    def running(self) -> bool:
        return self.end_ns is None

    @property
    def duration_ns(self) -> int | None:
        return None if self.end_ns is None else self.end_ns - self.start_ns

    @property
    def failed(self) -> bool:
        return self.status_code == STATUS_ERROR

    @property
    def searches(self) -> bool:
        """A retrieval or a memory search: the memory pane shows what it found."""
        return self.kind is OperationKind.RETRIEVAL or (
            self.kind is OperationKind.MEMORY and (self.operation or "").startswith("search"))


_HEADERS_SQL = (
    "SELECT trace_id, span_id, parent_span_id, name, start_ns, end_ns, status_code, operation, "
    "tool_name, model, coalesce(input_tokens, output_tokens), scope_name FROM spans "
    "WHERE trace_id = ? ORDER BY start_ns, span_id"
)


def read_headers(db: sqlite3.Connection, trace_id: str, first: int | None = None
                 ) -> list[SpanHeader]:
    """Every span of a trace as a ``SpanHeader`` (or the ``first`` ones), by start time."""
    if first is None:
        return headers_of(db.execute(_HEADERS_SQL, (trace_id,)))
    return headers_of(db.execute(f"{_HEADERS_SQL} LIMIT ?", (trace_id, first)))


def headers_of(rows: Iterable[tuple[object, ...]]) -> list[SpanHeader]:
    """Headers from ``_HEADERS_SQL`` rows. Repeated strings (a parent's id, a status, an
    operation) are kept once: a hundred thousand copies of ``"UNSET"`` are 5 MB."""
    headers: list[SpanHeader] = []
    append = headers.append
    shared: dict[object, object] = {None: None}
    share = shared.setdefault
    kinds: dict[tuple[object, ...], OperationKind] = {}
    new = tuple.__new__
    for (trace_id, span_id, parent, name, start, end, status, operation, tool, model, tokens,
         scope) in rows:
        shared[span_id] = span_id
        key = (operation, tool, model, tokens is None)
        kind = kinds.get(key)
        if kind is None:
            kind = kinds[key] = column_kind(operation, tool, model, tokens)
        status = status or "UNSET"
        append(new(SpanHeader, (
            share(trace_id, trace_id), span_id, shared.get(parent, parent), name, start, end,
            share(status, status), kind, share(operation, operation),
            scope is not None and is_workflow_step(scope, name),
        )))
    return headers
