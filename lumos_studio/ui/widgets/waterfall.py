"""The execution tree of one trace with a waterfall: a bar per span on a shared time axis.

Public face: ``show``, ``select_span``, ``spans``, ``trace_id`` and ``SpanChosen``. Built on the
Line API: only the rows on screen are rendered, from a flat list of visible rows, so a
10,000-span trace opens and scrolls at once. The arithmetic lives in
``lumos_studio.ui.waterfall_layout``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from lumos_studio.present import format_duration
from lumos_studio.semantics import SpanView
from lumos_studio.store.span_headers import SpanLike
from lumos_studio.ui.waterfall_layout import (
    DURATION_CELLS,
    KINDS,
    Rows,
    SpanIndex,
    TimeAxis,
    bar_runs,
    flatten,
    grid_line,
    is_error,
    label_cells,
    subtree_end,
    tree_column,
)

TICK_SECONDS = 0.25
HEADER_LINES = 1


class TraceWaterfall(ScrollView, can_focus=True):
    """Spans as a collapsible tree, each row with its bar on the trace's time axis."""

    BORDER_TITLE = "Trace"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter,space", "toggle_fold", "Fold"),
        Binding("left", "collapse_or_parent", "Collapse", show=False),
        Binding("right", "expand_or_child", "Expand", show=False),
        Binding("e", "expand_all", "Expand all", show=False),
        Binding("E", "collapse_all", "Collapse all", key_display="E", show=False),
        Binding("n", "error(1)", "Next error"),
        Binding("p", "error(-1)", "Prev error", show=False),
        Binding("b", "request('breakpoint')", "Breakpoint", show=False),
        Binding("f", "request('fork')", "Fork from here", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "waterfall--header",
        "waterfall--guides",
        "waterfall--cursor",
        "waterfall--duration",
        "waterfall--running",
        "waterfall--grid",
        "waterfall--error",
        *(f"waterfall--{kind}" for kind in KINDS),
    }

    # A pane's border of its own, so the widget looks finished outside the studio's layout too.
    DEFAULT_CSS = """
    TraceWaterfall {
        width: 1fr;
        height: 1fr;
        border: round $primary 50%;
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        & > .waterfall--header { color: $foreground-muted; text-style: bold; }
        & > .waterfall--guides { color: $foreground-muted; }
        & > .waterfall--duration { color: $foreground-muted; }
        & > .waterfall--running { color: $text-warning; }
        & > .waterfall--grid { color: $foreground 15%; }
        & > .waterfall--cursor {
            background: $block-cursor-blurred-background;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .waterfall--agent { color: #c061cb; }
        & > .waterfall--model { color: #2aa1b3; }
        & > .waterfall--tool { color: #d19a1d; }
        & > .waterfall--retrieval { color: #5fa85f; }
        & > .waterfall--workflow { color: #3584e4; }
        & > .waterfall--other { color: #8a8a8a; }
        & > .waterfall--error { color: $error; text-style: bold; }
        &:focus {
            border: round $accent;
            & > .waterfall--cursor {
                background: $block-cursor-background;
                text-style: $block-cursor-text-style;
            }
        }
    }
    """

    class SpanChosen(Message):
        """The cursor landed on a span (keyboard, mouse or ``select_span``)."""

        def __init__(self, span: SpanLike) -> None:
            super().__init__()
            self.span = span

    class BreakpointRequested(Message):
        """``b`` on a span: set or remove the breakpoint it stands for (the app decides)."""

        def __init__(self, span: SpanLike) -> None:
            super().__init__()
            self.span = span

    class ForkRequested(Message):
        """``f`` on a span: re-run its run from there."""

        def __init__(self, span: SpanLike) -> None:
            super().__init__()
            self.span = span

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.trace_id: str | None = None
        self.clock = clock  # injectable so tests can make running spans grow deterministically
        self._index = SpanIndex()
        self._rows = Rows()
        self._label_cells = 0  # the widest visible label, for the tree column
        self._collapsed: set[str] = set()
        self._cursor = -1
        self._cursor_span: str | None = None
        # A fixed end for the time axis (a replay's whole recording), else the trace's own end.
        self.axis_end_ns: int | None = None
        self._paint: _Paint | None = None  # set at the start of each paint
        self._looks: dict[bool, dict[bool, dict[str, Style]]] = {}  # by has_focus
        self.marked: frozenset[str] = frozenset()  # spans a breakpoint stops at: ● in the gutter

    def on_mount(self) -> None:
        self.set_interval(TICK_SECONDS, self._tick)

    # --- the public interface ---

    def show(self, trace_id: str, spans: Sequence[SpanLike],
             views: Mapping[str, SpanView] | None = None, *, complete: bool = True) -> None:
        """Show ``spans`` (headers, or records); on the same trace, take in what is new without
        starting over. ``views`` (by span id) say what records do; records without one are
        read once. Not ``complete``: the trace's first spans, the rest is being read."""
        if trace_id != self.trace_id or len(spans) < len(self._index.spans):
            self.trace_id = trace_id
            self._index = SpanIndex()
            self._collapsed = set()
            self._cursor, self._cursor_span = -1, None
            self.scroll_to(y=0, animate=False)
            self._index.update(spans, views)
            self._reflow()
        elif self._index.update(spans, views):
            self._reflow()
        count = len(self.spans)
        self.border_subtitle = f"{count} spans" if complete else f"first {count} spans, reading…"
        self.refresh()

    def select_span(self, span_id: str) -> None:
        """Put the cursor on ``span_id``, unfolding its ancestors."""
        if span_id not in self.spans:
            return
        self._reveal(span_id)
        self._move_to(self._row_of(span_id))
        # The first show may come before layout: scroll once the size is known.
        self.call_after_refresh(self._scroll_to_cursor)

    def set_marked(self, span_ids: frozenset[str]) -> None:
        """Mark the spans a breakpoint stops at."""
        if span_ids != self.marked:
            self.marked = span_ids
            self.refresh()

    @property
    def spans(self) -> Mapping[str, SpanLike]:
        """The shown trace's spans by id (a header is made when one is looked up)."""
        return self._index.spans

    @property
    def rows(self) -> Rows:
        """The visible rows, top to bottom (read-only use: tests and benchmarks)."""
        return self._rows

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def cursor_span(self) -> SpanLike | None:
        return self.spans.get(self._cursor_span) if self._cursor_span else None

    # --- rows ---

    def _reflow(self) -> None:
        """Flatten the visible rows again and keep the cursor on the same span."""
        self._rows = flatten(self._index.children, self._collapsed)
        self._label_cells = label_cells(self._rows, self._index.label)
        self._after_rows_changed()

    def _after_rows_changed(self) -> None:
        self.virtual_size = Size(0, len(self._rows) + HEADER_LINES)
        if self._cursor_span is not None:
            self._cursor = self._row_of(self._cursor_span)
        self.refresh()

    def _row_of(self, span_id: str) -> int:
        """The row showing ``span_id``, or that of its nearest visible ancestor."""
        shown = self._rows.span_ids
        for candidate in (span_id, *self._index.ancestors(span_id)):
            if 0 <= self._cursor < len(shown) and shown[self._cursor] == candidate:
                return self._cursor
            row_index = self._rows.index_of(candidate)
            if row_index >= 0:
                return row_index
        return min(self._cursor, len(self._rows) - 1)

    def _set_expanded(self, row_index: int, expanded: bool) -> None:
        """Fold or unfold one row by splicing its subtree, not by flattening everything again."""
        row = self._rows[row_index]
        if not row.has_children or expanded == (row.span_id not in self._collapsed):
            return
        if expanded:
            self._collapsed.discard(row.span_id)
            below = flatten(
                self._index.children, self._collapsed, row.span_id, row.depth + 1,
                row.child_guides, self._rows.guides,
            )
            self._rows.insert(row_index + 1, below)
            # Folding keeps the column as it is, so bars do not jump; unfolding may widen it.
            self._label_cells = max(self._label_cells, label_cells(below, self._index.label))
        else:
            self._collapsed.add(row.span_id)
            self._rows.delete(row_index + 1, subtree_end(self._rows, row_index))
        self._after_rows_changed()

    def _reveal(self, span_id: str) -> None:
        hidden = [a for a in self._index.ancestors(span_id) if a in self._collapsed]
        if hidden:
            self._collapsed.difference_update(hidden)
            self._reflow()

    # --- cursor and scrolling ---

    @property
    def page_rows(self) -> int:
        """Rows in one screenful, below the scale."""
        return max(1, self.scrollable_content_region.height - HEADER_LINES)

    def _move_to(self, row_index: int) -> None:
        if not self._rows:
            return
        row_index = max(0, min(row_index, len(self._rows) - 1))
        span_id = self._rows[row_index].span_id
        changed = span_id != self._cursor_span
        before, top = self._cursor, round(self.scroll_y)
        self._cursor, self._cursor_span = row_index, span_id
        self._scroll_to_cursor()
        if round(self.scroll_y) == top:  # no scroll: repaint two rows, not the screen
            self._refresh_row(before)
            self._refresh_row(row_index)
        if changed:
            self.post_message(self.SpanChosen(self.spans[span_id]))

    def _refresh_row(self, row_index: int) -> None:
        if row_index >= 0:
            y = row_index - round(self.scroll_y) + HEADER_LINES
            self.refresh(Region(0, y, self.size.width, 1))

    def _scroll_to_cursor(self) -> None:
        if self._cursor < 0:
            return
        top = round(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + self.page_rows:
            self.scroll_to(y=self._cursor - self.page_rows + 1, animate=False)

    def action_cursor(self, delta: int) -> None:
        self._move_to(self._cursor + delta if self._cursor >= 0 else 0)

    def action_page(self, direction: int) -> None:
        self._move_to(max(0, self._cursor) + direction * self.page_rows)

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(len(self._rows) - 1)

    def action_toggle_fold(self) -> None:
        if 0 <= self._cursor < len(self._rows):
            row = self._rows[self._cursor]
            self._set_expanded(self._cursor, row.span_id in self._collapsed)

    def action_collapse_or_parent(self) -> None:
        if not 0 <= self._cursor < len(self._rows):
            return
        row = self._rows[self._cursor]
        if row.has_children and row.span_id not in self._collapsed:
            self._set_expanded(self._cursor, False)
        elif (parent := self._index.parent(row.span_id)) is not None:
            self._move_to(self._row_of(parent))

    def action_expand_or_child(self) -> None:
        if not 0 <= self._cursor < len(self._rows):
            return
        row = self._rows[self._cursor]
        if row.span_id in self._collapsed:
            self._set_expanded(self._cursor, True)
        elif row.has_children:
            self._move_to(self._cursor + 1)

    def action_expand_all(self) -> None:
        self._collapsed.clear()
        self._reflow()
        self._scroll_to_cursor()

    def action_collapse_all(self) -> None:
        self._collapsed = {p for p, kids in self._index.children.items() if p and kids}
        self._reflow()
        self._scroll_to_cursor()

    def action_request(self, what: str) -> None:
        span = self.cursor_span
        if span is not None:
            kind = self.BreakpointRequested if what == "breakpoint" else self.ForkRequested
            self.post_message(kind(span))

    def action_error(self, direction: int) -> None:
        """Jump to the next (1) or previous (-1) error span in tree order, unfolding to it."""
        order = self._index.depth_first()
        failed = self._index.failed
        errors = [i for i, span_id in enumerate(order) if failed(span_id)]
        if not errors:
            self.notify("No error spans in this trace.")
            return
        cursor = self._cursor_span
        here = order.index(cursor) if cursor is not None and cursor in self.spans else -1
        after = [i for i in errors if (i - here) * direction > 0]
        target = order[(after[0] if direction > 0 else after[-1]) if after else
                       (errors[0] if direction > 0 else errors[-1])]
        self._reveal(target)
        self._move_to(self._row_of(target))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < HEADER_LINES:
            return
        row_index = round(self.scroll_y) + offset.y - HEADER_LINES
        if row_index >= len(self._rows):
            return
        row = self._rows[row_index]
        self._move_to(row_index)
        if row.has_children and offset.x == cell_len(row.guides):
            self.action_toggle_fold()

    def _tick(self) -> None:
        if self._index.running:
            self.refresh()  # the axis ends at "now": every visible bar moves

    # --- rendering ---

    def render_lines(self, crop: Region) -> list[Strip]:
        self._paint = self._prepare_paint()
        return super().render_lines(crop)

    def _prepare_paint(self) -> _Paint:
        """What every row of one paint shares: sizes, the axis, resolved styles."""
        width = self.scrollable_content_region.width  # what is left beside the scrollbar
        tree = tree_column(width, self._label_cells)
        now = self.clock()
        axis = None
        if self._index.start_ns is not None:
            bars = width - tree - DURATION_CELLS - 2
            end = self.axis_end_ns if self.axis_end_ns is not None else self._index.axis_end(now)
            axis = TimeAxis(self._index.start_ns, end, max(0, bars - 1))
        background = ""
        if axis is not None and axis.width > 0:
            background = grid_line(axis.width + 1, (column for column, _ in axis.ticks()))
        looks = self._looks.get(self.has_focus) or self._resolve_looks()
        return _Paint(width, self.size.width, tree, now, axis, background, looks)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._looks.clear()

    def _resolve_looks(self) -> dict[bool, dict[str, Style]]:
        """Role → style, for ordinary rows and the cursor row; kept until the styles change."""
        base = self.rich_style
        cursor = base + self.get_component_rich_style("waterfall--cursor", partial=True)
        parts = {
            name: self.get_component_rich_style(f"waterfall--{name}", partial=True)
            for name in ("header", "guides", "duration", "running", "grid", "error", *KINDS)
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
        text = f"{'Span'.ljust(paint.tree)} {'Duration'.rjust(DURATION_CELLS)} {scale}"
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
        room = max(0, paint.tree - prefix_cells)
        name = self._index.label(row.span_id)
        if row.span_id in self.marked:
            name = "● " + name
        if cell_len(name) > room:
            name = set_cell_size(name, max(0, room - 1)) + "…"
        if span.running:
            duration = "⏵ " + format_duration(max(0, paint.now - span.start_ns))
            duration_look = look["running"]
        else:
            duration = format_duration(span.duration_ns)
            duration_look = look["duration"]
        segments = [
            Segment(prefix, look["guides"]),
            Segment(set_cell_size(name, room), look[f"name-{kind}"]),
            Segment(f" {duration.rjust(DURATION_CELLS)[-DURATION_CELLS:]} ", duration_look),
        ]
        cells = prefix_cells + room + DURATION_CELLS + 2
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
    tree: int
    now: int
    axis: TimeAxis | None
    background: str
    looks: dict[bool, dict[str, Style]]  # by "is the cursor row": role → style
