"""A trace's spans as its tree draws them: the columns only, no span decoded.

Opening a trace decoded every span's stored OTLP bytes and read what each meant: 16 µs and
~4 KB of objects a span, 1.6 s and 300 MB for 100,000 spans. The tree needs none of it: ids,
name, times, status and what the span does, which the hot columns say (``semantics.hot``).
A pane that needs a whole span (the detail, memory, compare) reads it by id when it needs it.
"""

from __future__ import annotations

import bisect
import sqlite3
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple, Protocol, overload

from lumos_studio.records import STATUS_ERROR, STATUS_UNSET
from lumos_studio.semantics import OperationKind
from lumos_studio.semantics.hot import column_kind, is_workflow_step

__all__ = ["NO_END", "SpanHeader", "SpanHeaders", "SpanLike", "headers_of", "read_headers"]


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
        return _searches(self.kind, self.operation)


_HEADERS_SQL = (
    "SELECT span_id, parent_span_id, name, start_ns, end_ns, status_code, operation, "
    "tool_name, model, coalesce(input_tokens, output_tokens), scope_name FROM spans "
    "WHERE trace_id = ? ORDER BY start_ns, span_id"
)

NO_END = -(2**63)  # ``SpanHeaders.ends``' mark for a span still running


class _Facet(NamedTuple):
    """What few distinct values a trace's spans share: a status, a kind, an operation."""

    status_code: str
    kind: OperationKind
    operation: str | None
    workflow_step: bool


class SpanHeaders(Sequence[SpanHeader]):
    """A trace's headers as columns, in start order: a ``SpanHeader`` is made only when asked.

    A header a span was ~330 bytes (a tuple, its strings and ints): 33 MB for 100,000 spans,
    held as long as the trace is shown. Here a span is its id, two shared references (parent,
    name: a name is kept once however many spans bear it), two 8-byte times and a 4-byte code
    for its status, kind and operation (``facets``, a few per trace): ~110 bytes.
    """

    __slots__ = ("codes", "ends", "facets", "ids", "names", "parents", "starts", "trace_id")

    def __init__(self, trace_id: str) -> None:
        self.trace_id = trace_id
        self.ids: list[str] = []
        self.parents: list[str | None] = []  # the parent's own id object, or None
        self.names: list[str] = []
        self.starts = array("q")
        self.ends = array("q")  # ``NO_END`` while running
        self.codes = array("I")  # index into ``facets``
        self.facets: list[_Facet] = []

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> SpanHeader: ...
    @overload
    def __getitem__(self, index: slice) -> list[SpanHeader]: ...

    def __getitem__(self, index: int | slice) -> SpanHeader | list[SpanHeader]:
        if isinstance(index, slice):
            return [self._header(i) for i in range(*index.indices(len(self.ids)))]
        if index < 0:
            index += len(self.ids)
        if not 0 <= index < len(self.ids):
            raise IndexError("span header index out of range")
        return self._header(index)

    def __iter__(self) -> Iterator[SpanHeader]:
        return map(self._header, range(len(self.ids)))

    def _header(self, i: int) -> SpanHeader:
        end = self.ends[i]
        return tuple.__new__(SpanHeader, (
            self.trace_id, self.ids[i], self.parents[i], self.names[i], self.starts[i],
            None if end == NO_END else end, *self.facets[self.codes[i]]))

    def end_ns(self, i: int) -> int | None:
        end = self.ends[i]
        return None if end == NO_END else end

    def facet(self, i: int) -> _Facet:
        return self.facets[self.codes[i]]

    def as_at(self, t: int) -> SpanHeaders:
        """The trace as it was at ``t`` (a replay's instant): the spans started by then, those
        ending after it running, with no status yet. Columns sliced and patched, no header made:
        a replay of 100,000 spans redraws its tree at every step."""
        count = bisect.bisect_right(self.starts, t)
        shown = SpanHeaders(self.trace_id)
        shown.ids, shown.parents, shown.names = (
            self.ids[:count], self.parents[:count], self.names[:count])
        shown.starts, shown.ends, shown.codes = (
            self.starts[:count], self.ends[:count], self.codes[:count])
        shown.facets = list(self.facets)
        ends, codes = shown.ends, shown.codes
        running_codes: dict[int, int] = {}  # a facet → the same facet with no status
        for i in [i for i, end in enumerate(ends) if end > t or end == NO_END]:
            ends[i] = NO_END
            code = codes[i]
            running = running_codes.get(code)
            if running is None:
                running = running_codes[code] = len(shown.facets)
                shown.facets.append(self.facets[code]._replace(status_code=STATUS_UNSET))
            codes[i] = running
        return shown

    def searching_ids(self) -> tuple[str, ...]:
        """The spans that searched (``SpanHeader.searches``), without making every header."""
        searching = {code for code, facet in enumerate(self.facets)
                     if _searches(facet.kind, facet.operation)}
        if not searching:
            return ()
        return tuple(span_id for span_id, code in zip(self.ids, self.codes, strict=True)
                     if code in searching)


def _searches(kind: OperationKind, operation: str | None) -> bool:
    return kind is OperationKind.RETRIEVAL or (
        kind is OperationKind.MEMORY and (operation or "").startswith("search"))


def read_headers(db: sqlite3.Connection, trace_id: str, first: int | None = None
                 ) -> SpanHeaders:
    """Every span of a trace as a ``SpanHeader`` (or the ``first`` ones), by start time."""
    if first is None:
        return headers_of(trace_id, db.execute(_HEADERS_SQL, (trace_id,)))
    return headers_of(trace_id, db.execute(f"{_HEADERS_SQL} LIMIT ?", (trace_id, first)))


def headers_of(trace_id: str, rows: Iterable[Sequence[Any]]) -> SpanHeaders:
    """Headers from ``_HEADERS_SQL`` rows. Repeated strings (a parent's id, a name) are kept
    once: a hundred thousand copies of a name are 6 MB."""
    headers = SpanHeaders(trace_id)
    ids, parents, names = headers.ids, headers.parents, headers.names
    starts, ends, codes = headers.starts, headers.ends, headers.codes
    shared: dict[Any, Any] = {None: None}
    share = shared.setdefault
    facet_codes: dict[tuple[Any, ...], int] = {}
    facets = headers.facets
    for (span_id, parent, name, start, end, status, operation, tool, model, tokens,
         scope) in rows:
        shared[span_id] = span_id
        ids.append(span_id)
        parents.append(shared.get(parent, parent))
        names.append(share(name, name))
        starts.append(start)
        ends.append(NO_END if end is None else end)
        step = scope is not None and is_workflow_step(scope, name)
        key = (status, operation, tool, model, tokens is None, step)
        code = facet_codes.get(key)
        if code is None:
            code = facet_codes[key] = len(facets)
            facets.append(_Facet(
                status or "UNSET",
                column_kind(operation, tool, model, tokens),
                operation, step))
        codes.append(code)
    return headers
