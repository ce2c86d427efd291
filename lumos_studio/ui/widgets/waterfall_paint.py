"""How the trace waterfall paints: one paint's shared sizes, time axis and resolved styles, then
each visible line (the scale, a span's row with its bar) on Textual's Line API.

A mixin of ``TraceWaterfall`` (``ui.widgets.waterfall``), which holds the rows, the cursor and
the keys; the arithmetic of rows and bars is ``ui.waterfall_layout``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

from lumos_studio.display import fit_cells
from lumos_studio.present import format_duration
from lumos_studio.store.span_headers import SpanLike
from lumos_studio.ui.trace_find import SpanFinder
from lumos_studio.ui.waterfall_layout import (
    KINDS,
    Columns,
    Rows,
    SpanIndex,
    TimeAxis,
    bar_runs,
    compact_duration,
    grid_line,
    is_error,
    waterfall_columns,
)

if TYPE_CHECKING:
    from textual.scroll_view import ScrollView

    _WidgetBase = ScrollView  # what the mixin relies on, checked against Textual's own types
else:
    _WidgetBase = object

HEADER_LINES = 1


class WaterfallPaint(_WidgetBase):
    """Renders ``TraceWaterfall``'s visible lines from its rows, index and cursor."""

    # Provided by TraceWaterfall.
    trace_id: str | None
    clock: Callable[[], int]
    axis_end_ns: int | None
    marked: frozenset[str]
    _index: SpanIndex
    _rows: Rows
    _label_cells: int
    _cursor: int
    _collapsed: set[str]
    _paint: _Paint | None
    _looks: dict[bool, dict[bool, dict[str, Style]]]
    _finder: SpanFinder | None

    if TYPE_CHECKING:
        @property
        def spans(self) -> Mapping[str, SpanLike]: ...

    # --- rendering ---

    def render_lines(self, crop: Region) -> list[Strip]:
        self._paint = self._prepare_paint()
        return super().render_lines(crop)

    def _prepare_paint(self) -> _Paint:
        """What every row of one paint shares: sizes, the axis, resolved styles."""
        width = self.scrollable_content_region.width  # what is left beside the scrollbar
        columns = waterfall_columns(width, self._label_cells)
        now = self.clock()
        axis = None
        if self._index.start_ns is not None and columns.bars > 1:
            end = self.axis_end_ns if self.axis_end_ns is not None else self._index.axis_end(now)
            axis = TimeAxis(self._index.start_ns, end, columns.bars - 1)
        background = ""
        if axis is not None and axis.width > 0:
            background = grid_line(axis.width + 1, (column for column, _ in axis.ticks()))
        looks = self._looks.get(self.has_focus) or self._resolve_looks()
        return _Paint(width, self.size.width, columns, now, axis, background, looks)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._looks.clear()

    def _resolve_looks(self) -> dict[bool, dict[str, Style]]:
        """Role → style, for ordinary rows and the cursor row; kept until the styles change."""
        base = self.rich_style
        cursor = base + self.get_component_rich_style("waterfall--cursor", partial=True)
        parts = {
            name: self.get_component_rich_style(f"waterfall--{name}", partial=True)
            for name in ("header", "guides", "duration", "running", "grid", "error", "match",
                         *KINDS)
        }
        looks: dict[bool, dict[str, Style]] = {}
        for on_cursor, row_base in ((False, base), (True, cursor)):
            look = {name: row_base + part for name, part in parts.items()}
            look["base"] = row_base
            for kind in (*KINDS, "error"):
                colour = parts[kind].color
                look[f"lead-{kind}"] = row_base + Style(color=row_base.bgcolor, bgcolor=colour)
                look[f"name-{kind}"] = look[kind]
                if on_cursor and kind != "error":
                    look[f"name-{kind}"] = row_base  # the cursor's own colours read best
            looks[on_cursor] = look
        self._looks[self.has_focus] = looks
        return looks

    def render_line(self, y: int) -> Strip:
        paint = self._paint
        if paint is None:
            return Strip.blank(self.size.width)
        if y < HEADER_LINES:
            return self._header(paint)
        row_index = round(self.scroll_y) + y - HEADER_LINES
        if row_index < len(self._rows):
            return self._row(paint, row_index)
        look = paint.looks[False]
        if not self._rows and row_index == 0:
            note = "no trace selected" if self.trace_id is None else "no spans yet"
            return Strip([Segment(set_cell_size(note, paint.line), look["guides"])], paint.line)
        return Strip.blank(paint.line, look["base"])

    def _header(self, paint: _Paint) -> Strip:
        scale = paint.axis.header(len(paint.background)) if paint.axis is not None else ""
        columns = paint.columns
        text = (f"{'Span'.ljust(columns.tree)} {columns.duration_header.rjust(columns.duration)}"
                f" {scale}")
        return Strip([Segment(set_cell_size(text, paint.line), paint.looks[False]["header"])],
                     paint.line)

    def _row(self, paint: _Paint, row_index: int) -> Strip:
        row = self._rows[row_index]
        span = self.spans[row.span_id]
        look = paint.looks[row_index == self._cursor]
        kind = "error" if is_error(span) else self._index.kind(row.span_id)
        if row.has_children:
            marker = "▸" if row.span_id in self._collapsed else "▾"
        else:
            marker = "─" if row.depth else " "
        prefix = f"{row.guides}{marker} "
        prefix_cells = len(prefix)  # guides and markers are one cell each
        columns = paint.columns
        room = max(0, columns.tree - prefix_cells)
        name = label = self._index.label(row.span_id)
        if row.span_id in self.marked:
            name = "● " + name
        name = fit_cells(name, room)
        write = compact_duration if columns.compact else format_duration
        if span.running:
            duration = "⏵ " + write(max(0, paint.now - span.start_ns))
            duration_look = look["running"]
        else:
            duration = write(span.duration_ns)
            duration_look = look["duration"]
        if len(duration) > columns.duration:  # a run of days: the short form, never a cut one
            duration = compact_duration(max(0, paint.now - span.start_ns) if span.running
                                        else span.duration_ns)
        segments = [Segment(prefix[: columns.tree], look["guides"])]
        finder = self._finder
        if finder is not None and finder.finds(row.span_id, label, self._index.kind(row.span_id),
                                               is_error(span)):
            marked = cell_len(name)  # the name alone, not the column's padding after it
            segments += [Segment(name, look["match"]),
                         Segment(" " * max(0, room - marked), look[f"name-{kind}"])]
        else:
            segments.append(Segment(set_cell_size(name, room), look[f"name-{kind}"]))
        segments.append(Segment(f" {duration.rjust(columns.duration)} ", duration_look))
        cells = min(prefix_cells, columns.tree) + room + columns.duration + 2
        axis = paint.axis
        if axis is not None and axis.width > 0:
            cells += len(paint.background)  # block glyphs are one cell each
            end = span.end_ns if span.end_ns is not None else paint.now
            roles = {"grid": look["grid"], "bar": look[kind], "open": look[kind],
                     "lead": look[f"lead-{kind}"]}
            bar = axis.bar(span.start_ns, end)
            for text, role in bar_runs(bar, paint.background, open_end=span.running):
                segments.append(Segment(text, roles[role]))
        if paint.line > cells:
            segments.append(Segment(" " * (paint.line - cells), look["base"]))
            cells = paint.line
        # Telling Strip the length spares measuring every glyph of every bar on every paint.
        return Strip(segments, cells).adjust_cell_length(paint.line, look["base"])


@dataclass(frozen=True, slots=True)
class _Paint:
    """One paint's shared state: computed once in ``render_lines``, read by every row."""

    width: int  # laid out for
    line: int  # painted: the content width, scrollbar included, as the styles cache expects
    columns: Columns
    now: int
    axis: TimeAxis | None
    background: str
    looks: dict[bool, dict[str, Style]]  # by "is the cursor row": role → style
