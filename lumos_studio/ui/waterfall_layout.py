"""The waterfall's arithmetic, kept free of Textual so it can be tested and timed on its own.

Three jobs: an index of a trace's spans that grows as a live run reports more of them
(``SpanIndex``), the flat list of rows a collapsible tree shows (``flatten``), and the mapping of
times to bar cells on a shared axis, to an eighth of a cell (``TimeAxis``, ``bar_runs``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from lumos_core.telemetry import semconv as sc
from lumos_studio.display import safe_str
from lumos_studio.records import STATUS_ERROR, SpanRecord
from lumos_studio.semantics import OperationKind, SpanView, read_span
from lumos_studio.store.span_headers import NO_END, SpanHeader, SpanHeaders, SpanLike
from lumos_studio.ui.waterfall_rows import Row, Rows, flatten, label_cells, subtree_end

__all__ = [
    "COMPACT_CELLS", "DURATION_CELLS", "KINDS", "Bar", "Columns", "Row", "Rows", "SpanIndex",
    "TimeAxis", "bar_glyphs", "bar_runs", "compact_duration", "flatten", "grid_line", "is_error",
    "label_cells", "span_kind", "subtree_end", "tree_column", "waterfall_columns",
]

_T = TypeVar("_T")

# EIGHTHS[k] fills the left k eighths of a cell.
EIGHTHS = " ▏▎▍▌▋▊▉█"
FULL = EIGHTHS[8]
OPEN_END = "▸"  # after a running span's bar: it has not ended yet
GRID = "┆"

KINDS = ("agent", "model", "tool", "retrieval", "workflow", "other")
_BAR_KIND = {
    OperationKind.AGENT: "agent",
    OperationKind.LLM: "model",
    OperationKind.EMBEDDING: "model",
    OperationKind.TOOL: "tool",
    OperationKind.RETRIEVAL: "retrieval",
    OperationKind.RERANKER: "retrieval",
    OperationKind.WORKFLOW: "workflow",
}


def span_kind(span: SpanLike, view: SpanView | None = None) -> str:
    """The bar colour family of a span: one of ``KINDS``, from what it does, in any dialect (a
    header says it; a record's ``view`` is read here when not given); a memory search is a
    retrieval; a workflow's step spans (no operation of their own) share the workflow's colour."""
    if isinstance(span, SpanHeader):
        return _column_kind(span)
    assert isinstance(span, SpanRecord)
    if view is None:
        view = read_span(span)
    step = view.kind is OperationKind.UNKNOWN and sc.LUMOS_WORKFLOW_STEP_NAME in span.attributes
    return _bar_kind(view.kind, view.operation_name, bool(view.documents), step)


class _Columns(Protocol):
    """What a header (``SpanHeader``) and a facet its spans share (``SpanHeaders.facets``) say
    of a span, read from the store's hot columns."""

    @property
    def status_code(self) -> str: ...
    @property
    def kind(self) -> OperationKind: ...
    @property
    def operation(self) -> str | None: ...
    @property
    def workflow_step(self) -> bool: ...


def _column_kind(columns: _Columns) -> str:
    """``span_kind`` of what the columns say."""
    return _bar_kind(columns.kind, columns.operation or "", False, columns.workflow_step)


def _column_failed(columns: _Columns) -> bool:
    return columns.status_code == STATUS_ERROR


def _bar_kind(kind: OperationKind, operation: str, documents: bool, step: bool) -> str:
    if kind is OperationKind.MEMORY:
        return "retrieval" if operation.startswith("search") or documents else "other"
    if step:
        return "workflow"
    return _BAR_KIND.get(kind, "other")


def is_error(span: SpanLike) -> bool:
    return span.status_code == STATUS_ERROR


# --- the span index: parents, children in start order, trace bounds ---


class ColumnSpans(Mapping[str, SpanLike]):
    """A trace's ``SpanHeaders`` by span id: a header is made when one is looked up."""

    __slots__ = ("columns", "positions")

    def __init__(self, columns: SpanHeaders) -> None:
        self.columns = columns
        self.positions = dict(zip(columns.ids, range(len(columns.ids)), strict=True))

    def __getitem__(self, span_id: str) -> SpanLike:
        return self.columns[self.positions[span_id]]

    def __contains__(self, span_id: object) -> bool:
        return span_id in self.positions

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns.ids)

    def __len__(self) -> int:
        return len(self.columns.ids)


class SpanIndex:
    """A trace's spans by id, with children sorted by start, kept up to date by ``update``.

    A live run sends the whole trace again every ~100 ms; ``update`` only touches what is new, so
    the rows are re-flattened when the shape changed, not when a span merely ended. Spans whose
    parent has not arrived yet hang off the root until it does (children may arrive first).

    Headers read as columns (``SpanHeaders``, what the studio reads) are kept as they came: the
    index adds a position by id and the children lists, and makes a header only when one is
    looked up. Records (a replay, a test) are kept in a dict.
    """

    def __init__(self) -> None:
        self.spans: Mapping[str, SpanLike] = {}
        self._columns: ColumnSpans | None = None  # ``spans`` when it came as columns
        self._labels: dict[str, str] = {}  # names shown otherwise than written (``label``)
        self._name_labels: dict[str, str] = {}  # columns: a name → its label
        self.children: dict[str | None, list[str]] = {}
        self._orphans: set[str] = set()  # spans whose parent has not arrived (``parent``)
        self.running: set[str] = set()
        self.start_ns: int | None = None
        self.end_ns: int | None = None  # the latest end among finished spans
        self._waiting: dict[str, list[str]] = {}  # missing parent id → its early children
        self._kinds: dict[str, str] = {}  # bar colour families worked out so far (``kind``)
        self._views: Mapping[str, SpanView] = {}

    def label(self, span_id: str) -> str:
        """A span's name as shown (``display.safe_str``); kept apart only when it differs."""
        columns = self._columns
        if columns is not None:
            name = columns.columns.names[columns.positions[span_id]]
            label = self._name_labels.get(name)
            if label is None:
                label = self._name_labels[name] = safe_str(name)
            return label
        label = self._labels.get(span_id)
        return self.spans[span_id].name if label is None else label

    def parent(self, span_id: str) -> str | None:
        """A span's parent in the tree: None for a root, or while its parent has not arrived."""
        if span_id in self._orphans:
            return None
        columns = self._columns
        if columns is not None:
            position = columns.positions.get(span_id)
            return None if position is None else columns.columns.parents[position]
        span = self.spans.get(span_id)
        return None if span is None else span.parent_span_id

    def kind(self, span_id: str) -> str:
        """A span's bar colour family (``span_kind``), worked out when a row first shows it."""
        kind = self._kinds.get(span_id)
        if kind is None:
            kind = self._kinds[span_id] = span_kind(self.spans[span_id], self._views.get(span_id))
        return kind

    def kinds_of(self, span_ids: Sequence[str]) -> list[str]:
        """``kind`` of each span."""
        return self._each(span_ids, _column_kind, self.kind)

    def failed_of(self, span_ids: Sequence[str]) -> list[bool]:
        """``failed`` of each span."""
        return self._each(span_ids, _column_failed, self.failed)

    def _each(self, span_ids: Sequence[str], of_facet: Callable[[_Columns], _T],
              of_span: Callable[[str], _T]) -> list[_T]:
        """``of_span`` of each span: as columns, ``of_facet`` worked out once a facet (a few per
        trace), not a header made a span (~2 µs each: 0.2 s for 100,000 spans)."""
        columns = self._columns
        if columns is None:
            return [of_span(span_id) for span_id in span_ids]
        table, positions = columns.columns, columns.positions
        by_code = [of_facet(facet) for facet in table.facets]
        codes = table.codes
        return [by_code[codes[positions[span_id]]] for span_id in span_ids]

    def failed(self, span_id: str) -> bool:
        """The span's status is an error."""
        columns = self._columns
        if columns is not None:
            return _column_failed(columns.columns.facet(columns.positions[span_id]))
        return is_error(self.spans[span_id])

    def update(self, spans: Iterable[SpanLike], views: Mapping[str, SpanView] | None = None
               ) -> bool:
        """Take in new and changed spans; True when the tree's shape changed. ``views`` (by span
        id, e.g. from ``read_trace``) say what records do; a record without one is read when
        shown, and again only when it ended or was renamed (a header says it itself). Columns
        (``SpanHeaders``) hold the whole trace: they replace what came before."""
        if isinstance(spans, SpanHeaders) and (self._columns is not None or not self.spans):
            return self._take_columns(spans)
        if self._columns is not None:  # records after columns: keep each span as a record
            self._columns, self.spans = None, dict(self.spans.items())
            self._labels = {span_id: label for span_id in self.spans
                            if (label := safe_str(name := self.spans[span_id].name)) is not name}
            for orphan in self._orphans:  # their parents may come as records
                parent = self.spans[orphan].parent_span_id
                if parent is not None:
                    self._waiting.setdefault(parent, []).append(orphan)
        return self._take_records(spans, views)

    def _take_columns(self, columns: SpanHeaders) -> bool:
        """Index a whole trace read as columns; its spans come in start order."""
        table = ColumnSpans(columns)
        positions = table.positions
        children: dict[str | None, list[str]] = {}
        orphans: set[str] = set()
        for span_id, parent in zip(columns.ids, columns.parents, strict=True):
            if parent is not None and parent not in positions:
                orphans.add(span_id)
                parent = None
            siblings = children.get(parent)
            if siblings is None:
                children[parent] = [span_id]
            else:
                siblings.append(span_id)
        ends = columns.ends
        running = ({columns.ids[i] for i, end in enumerate(ends) if end == NO_END}
                   if NO_END in ends else set())
        changed = children != self.children
        self.spans = self._columns = table
        if changed:
            self.children = children
        self._orphans, self._waiting, self.running = orphans, {}, running
        self._kinds = {}
        self._views = {}
        self.start_ns = min(columns.starts) if columns.starts else None
        latest = max(ends) if ends else NO_END
        self.end_ns = None if latest == NO_END else latest
        return changed

    def _take_records(self, spans: Iterable[SpanLike], views: Mapping[str, SpanView] | None
                      ) -> bool:
        known = self.spans
        assert isinstance(known, dict)
        labels, kinds = self._labels, self._kinds
        orphans, children, waiting, running = (
            self._orphans, self.children, self._waiting, self.running)
        if views:
            self._views = views
        touched: set[str | None] = set()
        unsorted: set[str | None] = set()  # parents given a child out of start order
        adopted = False
        start_ns, end_ns = self.start_ns, self.end_ns
        for span in spans:
            span_id = span.span_id
            start, end = span.start_ns, span.end_ns
            old = known.get(span_id)
            known[span_id] = span
            if old is None:
                name = span.name
                label = safe_str(name)
                if label is not name:
                    labels[span_id] = label
                parent = span.parent_span_id
                if parent is not None and parent not in known:
                    waiting.setdefault(parent, []).append(span_id)
                    orphans.add(span_id)
                    parent = None
                siblings = children.get(parent)
                if siblings is None:
                    children[parent] = [span_id]
                else:
                    last = known[siblings[-1]]
                    if last.start_ns > start or (last.start_ns == start and last.span_id > span_id):
                        unsorted.add(parent)
                    siblings.append(span_id)
                touched.add(parent)
                if span_id in waiting:
                    adopted = True
            else:
                if old.name != span.name:
                    label = safe_str(span.name)
                    if label is span.name:
                        labels.pop(span_id, None)
                    else:
                        labels[span_id] = label
                if old.name != span.name or old.end_ns != end:
                    kinds.pop(span_id, None)
                if old.start_ns != start:
                    touched.add(self.parent(span_id))
                    unsorted.add(self.parent(span_id))
            if start_ns is None or start < start_ns:
                start_ns = start
            if end is None:
                running.add(span_id)
            else:
                running.discard(span_id)
                if end_ns is None or end > end_ns:
                    end_ns = end
        self.start_ns, self.end_ns = start_ns, end_ns
        if adopted:
            moved = self._adopt()
            touched.update(moved)
            unsorted.update(moved)
        for parent in unsorted:  # a list filled in start order needs no sort
            children[parent].sort(key=self._order)
        return bool(touched)

    def _adopt(self) -> set[str | None]:
        """Move early children under parents that have now arrived."""
        moved: set[str] = set()
        for parent in [p for p in self._waiting if p in self.spans]:
            for child in self._waiting.pop(parent):
                self._orphans.discard(child)
                self.children.setdefault(parent, []).append(child)
                moved.add(child)
        self.children[None] = [s for s in self.children.get(None, []) if s not in moved]
        return {None, *(self.parent(c) for c in moved)}

    def _order(self, span_id: str) -> tuple[int, str]:
        return self.spans[span_id].start_ns, span_id

    def ancestors(self, span_id: str) -> list[str]:
        """Parent, grandparent, … up to a root."""
        chain: list[str] = []
        parent = self.parent(span_id)
        while parent is not None:
            chain.append(parent)
            parent = self.parent(parent)
        return chain

    def depth_first(self) -> list[str]:
        """Every span id in tree order, collapsed or not."""
        order: list[str] = []
        stack = list(reversed(self.children.get(None, [])))
        while stack:
            span_id = stack.pop()
            order.append(span_id)
            stack.extend(reversed(self.children.get(span_id, [])))
        return order

    def axis_end(self, now_ns: int) -> int:
        """Where the time axis ends: the last end, or now while anything still runs."""
        end = self.end_ns if self.end_ns is not None else self.start_ns or now_ns
        return max(end, now_ns) if self.running else end


# --- columns ---

DURATION_CELLS = 9  # "⏵ 12.3ms" and "1m05s" fit
COMPACT_CELLS = 7  # "⏵ 506ms": ``compact_duration`` gives five cells at most
BARS_MIN = 8  # fewer cells of bars say too little: the bars go instead
NAMES_WIDE = 32  # a name column this wide may be cut to keep the bars a quarter of the pane
NAMES_MIN = 16  # names cut to keep a bar column: never narrower than this


@dataclass(frozen=True, slots=True)
class Columns:
    """How a waterfall's width is shared: the tree (guides and names), the duration column and
    the bars (0 cells: none), with a gap after the tree and one after the durations."""

    tree: int
    duration: int
    bars: int

    @property
    def compact(self) -> bool:
        """Durations are written short (``compact_duration``): the full form does not fit."""
        return self.duration < DURATION_CELLS

    @property
    def duration_header(self) -> str:
        return "Duration" if self.duration >= len("Duration") else "Dur"


def waterfall_columns(width: int, labels: int) -> Columns:
    """The columns of a waterfall ``width`` cells wide whose widest label takes ``labels``.

    A wide pane gives the bars a quarter at least, cutting only very long names. A middling one
    keeps the names whole and gives the bars what is left (``BARS_MIN`` at least), with compact
    durations (``506ms``, never without a unit) when that makes the room. Names too long for
    that are cut (with …) to keep ``BARS_MIN`` of bars while they keep ``NAMES_MIN``: a deep
    workflow's tree at 120x40 keeps its bars. Only a pane narrower still shows no bars.
    """
    need = max(min(12, width), labels + 1)
    quarter = max(BARS_MIN, width // 4)
    room = width - DURATION_CELLS - 2  # the tree and the bars
    if room - quarter >= NAMES_WIDE or need + quarter <= room:
        tree = min(need, room - quarter)
        return Columns(tree, DURATION_CELLS, room - tree)
    for duration in (DURATION_CELLS, COMPACT_CELLS):
        room = width - duration - 2
        if need + BARS_MIN <= room:
            return Columns(need, duration, room - need)
    room = width - COMPACT_CELLS - 2
    if room - BARS_MIN >= NAMES_MIN:
        return Columns(room - BARS_MIN, COMPACT_CELLS, BARS_MIN)
    return Columns(max(0, width - COMPACT_CELLS - 1), COMPACT_CELLS, 0)


def tree_column(width: int, labels: int) -> int:
    """The tree column's width in a pane ``width`` wide (``waterfall_columns``)."""
    return waterfall_columns(width, labels).tree


_COMPACT_UNITS = ((1_000, "ns"), (1_000, "µs"), (1_000, "ms"), (60, "s"))


def compact_duration(ns: int | None) -> str:
    """A duration in five cells at most, never without its unit: ``27µs``, ``5.2ms``, ``506ms``,
    ``1.2s``, ``45s``, ``2m05s``, ``12m``, ``3h05m``, ``120h``; ``…`` while unknown."""
    if ns is None:
        return "…"
    value = float(max(0, ns))
    for limit, unit in _COMPACT_UNITS:
        if value < 10 and unit != "ns" and f"{value:.1f}" != "10.0":
            return f"{value:.1f}{unit}"
        if round(value) < limit:
            return f"{round(value)}{unit}"
        value /= limit
    seconds = round(ns / 1_000_000_000)
    minutes, second = divmod(seconds, 60)
    if minutes < 10:
        return f"{minutes}m{second:02d}s"
    if minutes < 60:
        return f"{minutes}m"
    hours, minute = divmod(minutes, 60)
    return f"{hours}h{minute:02d}m" if hours < 10 else f"{hours}h"


# --- the time axis and bars ---


@dataclass(frozen=True, slots=True)
class Bar:
    """A bar's glyphs from cell ``start``; a ``lead_inverse`` first glyph is a right-aligned part.

    Block characters only fill cells from the left, so a bar starting mid-cell draws the left
    block of the *empty* part in the background colour on a cell of the bar's colour.
    """

    start: int
    glyphs: str
    lead_inverse: bool = False

    @property
    def end(self) -> int:
        return self.start + len(self.glyphs)


def bar_glyphs(x0: float, x1: float, width: int) -> Bar:
    """The glyphs of a bar covering cells ``x0``..``x1`` (floats), at eighth-of-a-cell resolution.

    A bar is never thinner than one eighth, so an instant tool call is still visible.
    """
    limit = max(1, width) * 8
    a = min(max(0, round(x0 * 8)), limit - 1)
    b = min(max(a + 1, round(x1 * 8)), limit)
    first, last = a // 8, (b - 1) // 8
    lo, hi = a - first * 8, b - last * 8
    if first == last:
        if lo == 0:
            return Bar(first, EIGHTHS[hi])
        if hi == 8:
            return Bar(first, EIGHTHS[lo], lead_inverse=True)
        return Bar(first, EIGHTHS[hi - lo])  # within one cell: the width is right, not the offset
    lead = EIGHTHS[lo] if lo else FULL
    return Bar(first, lead + FULL * (last - first - 1) + EIGHTHS[hi], lead_inverse=lo > 0)


@dataclass(frozen=True, slots=True)
class TimeAxis:
    """Maps nanoseconds on ``[start_ns, end_ns]`` to ``width`` cells."""

    start_ns: int
    end_ns: int
    width: int

    @property
    def span_ns(self) -> int:
        return max(1, self.end_ns - self.start_ns)

    def x(self, ns: int) -> float:
        return (ns - self.start_ns) * self.width / self.span_ns

    def bar(self, start_ns: int, end_ns: int) -> Bar:
        return bar_glyphs(self.x(start_ns), self.x(end_ns), self.width)

    def ticks(self, min_gap: int = 10) -> list[tuple[int, str]]:
        """``(column, label)`` of round times at least ``min_gap`` cells apart: 0, 50ms, 100ms…

        The last may sit at column ``width``: the axis' end, just past its last cell.
        """
        if self.width <= 0:
            return []
        step = nice_step(self.span_ns * min_gap / self.width)
        unit, suffix = time_unit(self.span_ns)
        decimals = max(0, -math.floor(math.log10(step / unit) + 1e-9))
        ticks: list[tuple[int, str]] = []
        t = 0
        while t <= self.span_ns:
            value = f"{t / unit:.{decimals}f}"
            if "." in value:
                value = value.rstrip("0").rstrip(".")
            ticks.append((round(t * self.width / self.span_ns), "0" if t == 0 else value + suffix))
            t += step
        if len(ticks) == 1 and self.span_ns > 1:  # too narrow for a round step: name the end
            ticks.append((self.width, f"{self.span_ns / unit:.0f}{suffix}"))
        return ticks

    def header(self, cells: int | None = None, min_gap: int = 10) -> str:
        """The scale line, ``cells`` wide (default ``width``): each label starts at its tick.

        A label too long for the space left ends at the line's end instead, if it does not run
        into the label before it.
        """
        size = self.width if cells is None else cells
        line = [" "] * size
        taken = -1  # the last cell used by a label
        for column, label in self.ticks(min_gap):
            start = min(column, size - len(label))
            if start <= taken + (taken >= 0) or start < 0:
                break
            line[start : start + len(label)] = label
            taken = start + len(label) - 1
        return "".join(line)


def nice_step(at_least: float) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ nanoseconds that is ``>= at_least``."""
    magnitude: int = 10 ** max(0, math.floor(math.log10(max(at_least, 1))))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= at_least:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def time_unit(span_ns: int) -> tuple[int, str]:
    """The largest unit not longer than the whole axis, so labels read ``250ms``, not ``0.25s``."""
    for unit, suffix in ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs")):
        if span_ns >= unit:
            return unit, suffix
    return 1, "ns"


def grid_line(width: int, columns: Iterable[int]) -> str:
    """The empty bar area of a row: blanks with a faint mark under each tick of the scale."""
    cells = [" "] * width
    for column in columns:
        if 0 <= column < width:
            cells[column] = GRID
    return "".join(cells)


def bar_runs(bar: Bar | None, background: str, open_end: bool = False) -> list[tuple[str, str]]:
    """A row's bar area as ``(text, role)`` runs over ``background``; roles: grid, lead, bar, open.

    ``open_end`` marks a running span with ``OPEN_END`` just after its bar. A handful of runs per
    row, whatever the width: this is on the path of every painted line.
    """
    width = len(background)
    if bar is None or bar.start >= width:
        return [(background, "grid")] if background else []
    runs: list[tuple[str, str]] = []
    if bar.start:
        runs.append((background[: bar.start], "grid"))
    glyphs = bar.glyphs[: width - bar.start]
    if bar.lead_inverse:
        runs.append((glyphs[0], "lead"))
        glyphs = glyphs[1:]
    if glyphs:
        runs.append((glyphs, "bar"))
    end = bar.start + len(bar.glyphs)
    if open_end and end < width:
        runs.append((OPEN_END, "open"))
        end += 1
    if end < width:
        runs.append((background[end:], "grid"))
    return runs
