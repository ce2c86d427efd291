"""Two runs side by side: spans aligned by structure, differences highlighted, a summary on top.

The alignment is computed in a thread worker (big traces take a moment) and shown when ready;
the highlighted row's differences are shown below the table, word by word. A long comparison's
table fills a chunk at a time after its first screen (``FIRST_ROWS``): a row costs the table
~50–85 µs to add and measure, and a 100k-span run against a 10k one, its rows added at once,
showed them 9.6 s after the command; a chunk at a time, 3.4 s (the alignment's ~2 s in its worker
included), keys answered between chunks.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from lumos_studio.display import BODY_LIMIT, safe_str, safe_text
from lumos_studio.present import KIND_STYLES, format_duration
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.replay.compare import (
    AlignedRow,
    Aligning,
    Comparison,
    FieldDiff,
    Views,
    word_diff,
)
from lumos_studio.semantics import OperationKind, SpanView
from lumos_studio.ui.widgets.span_detail import render_span

_MARKERS = {
    "same": Text(" ", style="dim"),
    "changed": Text("~", style="bold yellow"),
    "added": Text("+", style="bold green"),
    "removed": Text("−", style="bold red"),
}
_ROW_STYLES = {"same": "", "changed": "yellow", "added": "green", "removed": "red"}
# Aligned and added first: two screens of a tall terminal, and every small comparison whole.
# 500 first took ~80 ms more before a 10,000-span comparison showed anything (bench startup).
FIRST_ROWS = 120
ROWS_A_TICK = 1_000  # then added a chunk at a time (~85 ms of the UI thread each)
CHUNK_PAUSE = 0.01  # seconds between two chunks: keys and paints go first
PROGRESS_EVERY = 0.25  # seconds between two shares of a long comparison shown


class CompareScreen(Screen[None]):
    """``CompareScreen(left_spans, right_spans, left_title=, right_title=, left_logs=,
    right_logs=)`` (the logs: where earlier GenAI forms put messages); escape closes."""

    DEFAULT_CSS = """
    CompareScreen {
        layout: vertical;
    }
    CompareScreen #compare-summary {
        height: auto;
        padding: 0 1;
        background: $boost;
        text-style: bold;
    }
    CompareScreen #compare-rows {
        height: 2fr;
        border: round $primary 50%;
    }
    CompareScreen #compare-detail {
        height: 1fr;
        border: round $primary 50%;
        padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("n", "next_change", "Next change"),
        Binding("p", "previous_change", "Previous change"),
    ]

    class Compared(Message):
        """The worker aligned the two runs."""

        def __init__(self, comparison: Comparison) -> None:
            super().__init__()
            self.comparison = comparison

    class FirstRows(Message):
        """The first rows of a long comparison, aligned before the rest (and the spans' views
        they read: the rest is read as it is needed)."""

        def __init__(self, rows: Sequence[AlignedRow], left_views: Views,
                     right_views: Views) -> None:
            super().__init__()
            self.rows = rows
            self.left_views, self.right_views = left_views, right_views

    class Comparing(Message):
        """How far the worker has got (a share of the spans aligned)."""

        def __init__(self, share: float) -> None:
            super().__init__()
            self.share = share

    def __init__(
        self,
        left: Sequence[SpanRecord],
        right: Sequence[SpanRecord],
        *,
        left_title: str = "before",
        right_title: str = "after",
        comparison: Comparison | None = None,
        left_logs: Sequence[LogRecord] = (),
        right_logs: Sequence[LogRecord] = (),
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.left_spans = list(left)
        self.right_spans = list(right)
        self.left_logs, self.right_logs = list(left_logs), list(right_logs)
        self.left_title = left_title
        self.right_title = right_title
        self.comparison: Comparison | None = comparison  # the whole one, once aligned
        self._rows: Sequence[AlignedRow] = ()  # the rows aligned so far (the table's source)
        self._views: tuple[Views, Views] = ({}, {})  # each side's spans read, by span id
        self._added = 0  # rows of the comparison in the table so far

    def compose(self) -> ComposeResult:
        yield Static(Text("comparing…", style="dim"), id="compare-summary")
        yield DataTable(id="compare-rows", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="compare-detail"):
            yield Static(id="compare-diff")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#compare-rows", DataTable)
        table.border_title = Text(f"{safe_str(self.left_title)}  ⇄  {safe_str(self.right_title)}")
        table.focus()
        if self.comparison is not None:
            self.call_after_refresh(self._show, self.comparison)
        else:
            self._compare()

    @work(thread=True, exclusive=True, group="compare")
    def _compare(self) -> None:
        last = time.monotonic()

        def progress(share: float) -> None:
            nonlocal last
            if time.monotonic() - last >= PROGRESS_EVERY:
                last = time.monotonic()
                self.post_message(self.Comparing(share))

        aligning = Aligning(self.left_spans, self.right_spans, self.left_logs, self.right_logs)
        if aligning.more(FIRST_ROWS + 1):  # more than the first rows: those go first
            self.post_message(self.FirstRows(tuple(aligning.rows), aligning.left_views,
                                             aligning.right_views))
        self.post_message(self.Compared(aligning.finish(progress)))

    def on_compare_screen_first_rows(self, message: CompareScreen.FirstRows) -> None:
        if self.comparison is None:
            self._start_table(message.rows, (message.left_views, message.right_views))

    def on_compare_screen_comparing(self, message: CompareScreen.Comparing) -> None:
        if self.comparison is None:
            spans = len(self.left_spans) + len(self.right_spans)
            self.query_one("#compare-summary", Static).update(Text(
                f"comparing… {message.share:.0%} of {spans:,} spans", style="dim"))

    def on_compare_screen_compared(self, message: CompareScreen.Compared) -> None:
        self._show(message.comparison)

    def _show(self, comparison: Comparison) -> None:
        """The whole comparison: its summary, and its rows after those in the table."""
        started = bool(self._rows)
        self.comparison = comparison
        summary = Text.assemble(
            (f"{safe_str(self.left_title)} → {safe_str(self.right_title)}: ", "dim"),
            safe_text(comparison.summary, limit=None),
        )
        self.query_one("#compare-summary", Static).update(summary)
        if not started:
            self._start_table(comparison.rows, (comparison.left_views, comparison.right_views))
            return
        # The first rows are the same rows, in the same place: the table goes on after them.
        self._rows = comparison.rows
        self._say_how_far(self.query_one("#compare-rows", DataTable))  # the counts now
        if self._added < len(self._rows):
            self.set_timer(CHUNK_PAUSE, self._add_next_chunk)

    def _start_table(self, rows: Sequence[AlignedRow], views: tuple[Views, Views]) -> None:
        """The table's columns and first rows: the whole comparison's, or a long one's first
        rows while the rest is aligned."""
        self._rows, self._views = rows, views
        table = self.query_one("#compare-rows", DataTable)
        table.clear(columns=True)
        self._added = 0
        first = _cells(rows, views, 0, FIRST_ROWS)
        # Two equal halves, so a span and its counterpart sit side by side; a long comparison
        # takes them whole (its rows further down are not measured before they are added).
        half = max((table.scrollable_content_region.width - 7) // 2, 24)
        widest = max((max(a.cell_len, b.cell_len) for a, b in first), default=0)
        if len(rows) > FIRST_ROWS:
            widest = half
        width = min(max(widest, len(self.left_title), len(self.right_title)), half)
        table.add_column("", key="change", width=1)
        table.add_column(safe_text(self.left_title), key="left", width=width)
        table.add_column(safe_text(self.right_title), key="right", width=width)
        self._add_rows(table, first)
        self._show_row(0)
        if self.comparison is not None and self._added < len(rows):
            self.set_timer(CHUNK_PAUSE, self._add_next_chunk)

    def _add_rows(self, table: DataTable[RenderableType], cells: list[tuple[Text, Text]]) -> None:
        """Add the next rows of the comparison (``cells``: theirs), and say how far it is."""
        rows = self._rows
        for index, (left, right) in enumerate(cells, start=self._added):
            table.add_row(_MARKERS[rows[index].change], left, right, key=str(index))
        self._added += len(cells)
        self._say_how_far(table)

    def _say_how_far(self, table: DataTable[RenderableType]) -> None:
        """The table's subtitle: the counts, and how many rows are in it of how many."""
        if self.comparison is None:
            table.border_subtitle = f"the first {self._added:,} rows · comparing the rest…"
            return
        counts = self.comparison.counts
        subtitle = (
            f"{counts['changed']} changed · {counts['removed']} removed · {counts['added']} added"
        )
        if self._added < len(self._rows):
            subtitle += f" · {self._added:,} of {len(self._rows):,} rows shown…"
        table.border_subtitle = subtitle

    def _add_next_chunk(self) -> None:
        """One more chunk of rows, and the next one after a pause (keys and paints first)."""
        if self.comparison is None or self._added >= len(self._rows):
            return
        self._fill_to(self._added + ROWS_A_TICK)
        if self._added < len(self._rows):
            self.set_timer(CHUNK_PAUSE, self._add_next_chunk)

    def _fill_to(self, end: int) -> None:
        """Rows up to ``end`` in the table (a key may ask for one not added yet)."""
        if end <= self._added:
            return
        table = self.query_one("#compare-rows", DataTable)
        self._add_rows(table, _cells(self._rows, self._views, self._added, end))

    # --- the highlighted row's differences ---

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key.value is not None:
            self._show_row(int(event.row_key.value))

    def _show_row(self, index: int) -> None:
        if index >= len(self._rows):
            return
        row = self._rows[index]
        self.query_one("#compare-detail", VerticalScroll).border_title = safe_text(
            row.path, limit=None)
        views = self._views[0] if row.right is None else self._views[1]
        self.query_one("#compare-diff", Static).update(
            render_row(row, self.left_title, self.right_title, views))

    # --- moving between differences ---

    def action_next_change(self) -> None:
        self._move_to_change(+1)

    def action_previous_change(self) -> None:
        self._move_to_change(-1)

    def _move_to_change(self, step: int) -> None:
        table = self.query_one("#compare-rows", DataTable)
        rows = self._rows[:self._added] if self.comparison is None else self._rows
        index = table.cursor_row + step
        while 0 <= index < len(rows):
            if rows[index].change != "same":
                self._fill_to(index + 1)
                table.move_cursor(row=index)
                return
            index += step
        if self.comparison is None and step > 0:
            self.notify("No more differences in the rows aligned so far: the rest are coming.")
        else:
            self.notify("No more differences that way.")


def _cells(rows: Sequence[AlignedRow], views: tuple[Views, Views], start: int,
           end: int) -> list[tuple[Text, Text]]:
    """Rows ``start`` to ``end`` of the comparison, each side as a tree line (``_cell``)."""
    lviews, rviews = views
    return [
        (_cell(row.left, row.depth, _ROW_STYLES[row.change],
               lviews.get(row.left.span_id) if row.left else None),
         _cell(row.right, row.depth, _ROW_STYLES[row.change],
               rviews.get(row.right.span_id) if row.right else None))
        for row in rows[start:end]
    ]


def _cell(span: SpanRecord | None, depth: int, style: str, view: SpanView | None) -> Text:
    """A span as a tree line: indented name, duration and, for a model call, its tokens."""
    if span is None:
        return Text("")
    kind = view.kind if view is not None else OperationKind.UNKNOWN
    label = Text("  " * depth)
    label.append(safe_str(span.name), style=style or KIND_STYLES.get(kind, ""))
    label.append(f"  {format_duration(span.duration_ns)}", style="dim")
    tokens = view.usage.total if view is not None else 0
    if tokens and kind is OperationKind.LLM:
        label.append(f"  {tokens} tok", style="dim")
    return label


def render_row(row: AlignedRow, left_title: str, right_title: str,
               views: Mapping[str, SpanView] | None = None) -> RenderableType:
    """What the detail area says about one aligned row (``views``: the one side's views by
    span id, for a span only one run has)."""
    left_title, right_title = safe_str(left_title), safe_str(right_title)
    if row.left is None and row.right is not None:
        view = views.get(row.right.span_id) if views else None
        return Group(Text(f"Only in {right_title}", style="bold green"),
                     render_span(row.right, view))
    if row.right is None and row.left is not None:
        view = views.get(row.left.span_id) if views else None
        return Group(Text(f"Only in {left_title}", style="bold red"), render_span(row.left, view))
    if not row.diffs:
        return Text("No differences.", style="dim")
    table = Table(expand=True, show_edge=False, box=None, padding=(0, 1))
    table.add_column("", style="bold", no_wrap=True)
    table.add_column(Text(left_title), ratio=1, overflow="fold")
    table.add_column(Text(right_title), ratio=1, overflow="fold")
    for diff in row.diffs:
        table.add_row(safe_text(diff.field), *highlight(diff))
    return table


def highlight(diff: FieldDiff) -> tuple[Text, Text]:
    """Both sides of a field, the words that changed marked (removed red, added green)."""
    if diff.left is None or diff.right is None:
        return (safe_text(diff.left or "—", limit=BODY_LIMIT, multiline=True,
                          style="red" if diff.left else "dim"),
                safe_text(diff.right or "—", limit=BODY_LIMIT, multiline=True,
                          style="green" if diff.right else "dim"))
    left, right = Text(), Text()
    for kind, piece in word_diff(diff.left, diff.right):
        text = safe_str(piece, None, multiline=True)
        if kind == "same":
            left.append(text)
            right.append(text)
        elif kind == "removed":
            left.append(text, style="bold red on #3b1219")
        else:
            right.append(text, style="bold green on #12331d")
    return left, right
