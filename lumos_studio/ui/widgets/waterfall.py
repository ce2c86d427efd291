"""The execution tree of one trace with a waterfall: a bar per span on a shared time axis.

Public face: ``show``, ``select_span``, ``spans``, ``trace_id`` and ``SpanChosen``. Built on the
Line API: only the rows on screen are rendered, from a flat list of visible rows, so a
10,000-span trace opens and scrolls at once. The arithmetic lives in
``lumos_studio.ui.waterfall_layout``, the painting in ``ui.widgets.waterfall_paint``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView

from lumos_studio.semantics import SpanView
from lumos_studio.store.span_headers import SpanLike
from lumos_studio.ui.clipboard import copy_text
from lumos_studio.ui.trace_find import Found, SpanFinder, TraceMatches
from lumos_studio.ui.waterfall_layout import (
    KINDS,
    Rows,
    SpanIndex,
    flatten,
    label_cells,
    subtree_end,
)
from lumos_studio.ui.widgets.waterfall_paint import HEADER_LINES, WaterfallPaint

TICK_SECONDS = 0.25


class TraceWaterfall(WaterfallPaint, ScrollView, can_focus=True):
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
        Binding("y", "copy_id", "Copy span id", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "waterfall--header",
        "waterfall--guides",
        "waterfall--cursor",
        "waterfall--duration",
        "waterfall--running",
        "waterfall--grid",
        "waterfall--error",
        "waterfall--match",
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
        & > .waterfall--match { background: $warning 35%; text-style: bold; }
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

    class SpansCounted(Message):
        """What the trace holds, said again (``show``): a pane around the tree shows it."""

        def __init__(self, summary: str) -> None:
            super().__init__()
            self.summary = summary

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
        self._paint = None  # set at the start of each paint (WaterfallPaint)
        self._looks: dict[bool, dict[bool, dict[str, Style]]] = {}  # by has_focus
        self.marked: frozenset[str] = frozenset()  # spans a breakpoint stops at: ● in the gutter
        self._finder: SpanFinder | None = None  # the find under way (``find``): rows it marks
        self._matches: TraceMatches | None = None  # its matches, until the trace changes
        self._tree_order: tuple[list[str], list[str]] | None = None  # ids and labels, if asked
        self._tree_kinds: tuple[list[str], list[bool]] | None = None  # the same for ``is:``
        self._only_matches = False  # the rows: the find's matches and their ancestors alone

    def on_mount(self) -> None:
        self.set_interval(TICK_SECONDS, self._tick)

    # --- the public interface ---

    def show(self, trace_id: str, spans: Sequence[SpanLike],
             views: Mapping[str, SpanView] | None = None, *, complete: bool = True) -> None:
        """Show ``spans`` (headers, or records); on the same trace, take in what is new without
        starting over. ``views`` (by span id) say what records do; records without one are
        read once. Not ``complete``: the trace's first spans, the rest is being read."""
        # A live trace's new spans may match too; a span that ended may have failed.
        self._matches, self._tree_order, self._tree_kinds = None, None, None
        if trace_id != self.trace_id or len(spans) < len(self._index.spans):
            self.trace_id = trace_id
            self._index = SpanIndex()
            self._collapsed = set()
            self._cursor, self._cursor_span = -1, None
            self.scroll_to(y=0, animate=False)
            self._index.update(spans, views)
            self._reflow()
        elif self._index.update(spans, views) or self._filtered:
            self._reflow()
        count = len(self.spans)
        counted = f"{count} span{'s' * (count != 1)}"
        summary = counted if complete else f"first {counted}, reading…"
        if summary != self.border_subtitle:
            self.border_subtitle = summary
            self.post_message(self.SpansCounted(summary))
        self.refresh()

    def select_span(self, span_id: str) -> None:
        """Put the cursor on ``span_id``, unfolding its ancestors."""
        if span_id not in self.spans:
            return
        self._reveal(span_id)
        self._move_to(self._row_of(span_id))
        # The first show may come before layout: scroll once the size is known.
        self.call_after_refresh(self._scroll_to_cursor)

    def find(self, text: str) -> Found:
        """Mark the spans ``text`` finds (``trace_find``) and go to the first at or after the
        cursor; blank text ends the find."""
        finder = SpanFinder(text)
        self._use_finder(finder if finder else None)
        return self._go(self._found_matches().step(self._cursor_span, 1, here_counts=True))

    def found_in_messages(self, text: str, span_ids: frozenset[str], *, go: bool) -> Found | None:
        """The spans whose messages hold the find's words, as the store found them for
        ``text``: they match too. ``go``: the first answer for what was typed, so the cursor
        goes to the first match at or after it, unless it is on one (a later answer, for a
        live trace's new spans, leaves the cursor where the user put it). None: the find has
        changed since ``text``."""
        finder = self._finder
        if finder is None or finder.text != text:
            return None
        if finder.spans != span_ids:
            self._use_finder(finder.with_spans(span_ids))
        found = self._found_matches().at(self._cursor_span)
        if found.number or not go:
            return found
        return self._go(self._found_matches().step(self._cursor_span, 1, here_counts=True))

    def _use_finder(self, finder: SpanFinder | None) -> None:
        """The rows marked (and with only-matches on, shown) by ``finder`` from now on."""
        self._finder, self._matches = finder, None
        if self._only_matches:
            self._reflow()
        self.refresh()

    def find_step(self, direction: int) -> Found:
        """The next match (1) or the previous one (-1), round at either end."""
        return self._go(self._found_matches().step(self._cursor_span, direction))

    def find_status(self) -> Found:
        """Where the find stands with the cursor where it is."""
        return self._found_matches().at(self._cursor_span)

    def end_find(self) -> None:
        """No find: the rows lose their marks, every span shows again; the cursor stays on the
        span it is on."""
        filtered = self._filtered
        self._only_matches = False
        if self._finder is not None:
            self._finder, self._matches = None, None
            if filtered:
                self._reflow()
                self.call_after_refresh(self._scroll_to_cursor)
            self.refresh()

    def show_only_matches(self, only: bool) -> Found:
        """Show the matches and their ancestors alone (``only``), or every span again; the
        cursor stays on its span (or the nearest shown ancestor)."""
        if only != self._only_matches:
            self._only_matches = only
            self._reflow()
            self.call_after_refresh(self._scroll_to_cursor)
        return self._found_matches().at(self._cursor_span)

    @property
    def only_matches(self) -> bool:
        return self._only_matches

    @property
    def _filtered(self) -> bool:
        """The rows are the find's matches and their ancestors (``show_only_matches``)."""
        return self._only_matches and self._finder is not None

    def _shown_children(self) -> dict[str | None, list[str]]:
        """The tree's children lists, or with only-matches on, those of the matches and their
        ancestors (all of it while nothing matches, rather than an empty tree)."""
        children = self._index.children
        if not self._filtered:
            return children
        keep: set[str] = set()
        parent = self._index.parent
        for span_id in self._found_matches().span_ids():
            up: str | None = span_id
            while up is not None and up not in keep:
                keep.add(up)
                up = parent(up)
        if not keep:
            return children
        return {above: [child for child in kids if child in keep]
                for above, kids in children.items() if above is None or above in keep}

    @property
    def finding(self) -> str | None:
        """The text of the find under way."""
        return None if self._finder is None else self._finder.text

    def _found_matches(self) -> TraceMatches:
        matches = self._matches
        if matches is None:
            order = self._tree_order
            if order is None:
                ids = self._index.depth_first()
                order = self._tree_order = (ids, list(map(self._index.label, ids)))
            finder = self._finder or SpanFinder("")
            kinds = self._tree_kinds
            if kinds is None and finder.by_kind:
                ids = order[0]
                kinds = self._tree_kinds = (self._index.kinds_of(ids), self._index.failed_of(ids))
            matches = TraceMatches(*order, finder, *(kinds or ((), ())))
            if self._finder is not None:
                self._matches = matches
        return matches

    def _go(self, found: Found) -> Found:
        if found.span_id is not None:  # the cursor's own span too: a fold may hide it
            self.select_span(found.span_id)
        return found

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

    def action_copy_id(self) -> None:
        span = self.cursor_span
        copy_text(self.app, span.span_id if span is not None else None, "the span's id",
                  "no span is selected")

    # --- rows ---

    def _reflow(self) -> None:
        """Flatten the visible rows again and keep the cursor on the same span."""
        self._rows = flatten(self._shown_children(), self._collapsed)
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
                self._shown_children(), self._collapsed, row.span_id, row.depth + 1,
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
