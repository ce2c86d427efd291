"""Every recorded run, newest first; mark runs to save or compare them.

Rows come in the order given; with ``grouped``, a header row opens each conversation (and the
pinned traces, which come first). ``TraceBrowser`` adds search, sort, pins and deletion.

A page holds up to a few hundred rows, and a ``DataTable`` row costs ~0.2 ms to add and measure:
the rows the screen shows (two screenfuls, and down to the cursor's row) go in at once, the rest
in chunks after each paint, so a search as typed paints its first screen without waiting for the
whole page. Column widths come from every row up front, so later chunks never move them: from
each run's cells as plain text (``_plain_widths``); a row's styled cells are made only when it
is added (a page of 500 runs made them all: ~20 ms of each key typed in the search).

While spans stream in, the list shows the same query again several times a second, mostly the
same runs: a run's cells and widths are kept from the page shown before (``_made_before``), and
made again only when its summary changed (made anew, they were ~40 % of such a refresh). With
the columns as wide, the table itself is kept (``_patched``): the runs still on the page stay,
those that changed written in place, the new ones are added and sorted into place, the others
leave; a page of mostly other runs (another search) is a new table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, RowKey

from lumos_studio.display import fit_text, safe_str, safe_text
from lumos_studio.present import format_duration, format_time, status_label, status_text
from lumos_studio.store import TracePage, TraceSummary
from lumos_studio.ui.clipboard import copy_text

# What a row is made of: a run, or a header's cells.
_Source = TraceSummary | dict[str, str | Text]
GROUP_KEY = "group:"  # header rows' keys start with this; trace rows are keyed by trace id
COLUMNS = {"time": "time", "agent": "agent", "duration": "dur", "spans": "spans",
           "tokens": "tokens", "status": "status", "trace": "trace"}
# Dropped in this order when the list is too narrow (time, agent and duration always stay).
OPTIONAL_COLUMNS = ("trace", "spans", "tokens", "status")
SCROLLBAR_ROOM = 2  # a vertical scrollbar's cells, once there are more rows than fit
AGENT_MOST = 32  # cells: a longer agent name is cut with … (one would push the rest away)
LATER_CHUNK = 100  # rows added per paint once the first screenfuls are in


class TraceList(DataTable[str | Text]):
    """One row per trace: time, agent, duration, span count, tokens, status."""

    BORDER_TITLE = "Traces"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "mark", "Mark"),
        Binding("s", "save", "Save to traces/"),
        Binding("c", "compare", "Compare with mark"),
        Binding("y", "copy_id", "Copy trace id", show=False),
        Binding("D", "add_to_dataset", "Add to dataset", key_display="D", show=False),
    ]

    class Chosen(Message):
        def __init__(self, trace_id: str) -> None:
            super().__init__()
            self.trace_id = trace_id

    class SaveRequested(Message):
        """Save these traces (the marked ones, else the one under the cursor)."""

        def __init__(self, trace_ids: list[str]) -> None:
            super().__init__()
            self.trace_ids = trace_ids

    class DatasetRequested(Message):
        """Add these runs to a dataset as cases (the marked ones, else the one under the
        cursor)."""

        def __init__(self, trace_ids: list[str]) -> None:
            super().__init__()
            self.trace_ids = trace_ids

    class MarksChanged(Message):
        """A run was marked or unmarked (what holds the list counts the marks)."""

    class CompareRequested(Message):
        """Compare the marked trace (before) with the one under the cursor (after)."""

        def __init__(self, before: str, after: str) -> None:
            super().__init__()
            self.before = before
            self.after = after

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.summaries: list[TraceSummary] = []
        self.marked: list[str] = []  # in the order they were marked
        self.row_traces: list[str | None] = []  # the trace of each row; None for a header
        # Each row's key, and its run (its cells made when it is added) or a header's cells.
        self._rows: list[tuple[str, _Source]] = []
        # Each column's widest cell of every row, its label's at least.
        self._widths_of_rows: dict[str, int] = self._label_widths()
        self._shown_columns: tuple[str, ...] = ()
        self._agent_cells = 0  # the agent column's width as shown: its names are cut to it
        self._generation = 0  # a new set of rows makes older pending chunks stale
        # A run's cells but its time (which shows its mark) and their plain widths, by its
        # summary: those made for this page, and for the one shown before it.
        self._made: dict[TraceSummary, _Made] = {}
        self._made_before: dict[TraceSummary, _Made] = {}

    def on_mount(self) -> None:
        self._render_rows()  # the column headers, before any trace

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """The table's size after rows came. Every column has its width (``_render_rows``) and
        every row one line, so nothing is measured: Textual's own measured each new cell for a
        width no column takes (a page of 500 rows: ~7,000 measures after its first paint)."""
        if any(column.auto_width for column in self.columns.values()):
            super()._update_dimensions(new_rows)
            return
        width = sum(column.get_render_width(self) for column in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(width + self._row_label_column_width,
                                 self._total_row_height + header)

    def on_resize(self) -> None:
        """A narrower list drops its least needed columns, then cuts agent names, rather than
        scroll sideways."""
        widths = dict(self._widths_of_rows)
        shown = self._columns_for(widths)
        if (shown, self._agent_width(shown, widths)) != (self._shown_columns, self._agent_cells):
            self._render_rows()

    @property
    def cursor_trace(self) -> str | None:
        if not 0 <= self.cursor_row < len(self.row_traces):
            return None
        return self.row_traces[self.cursor_row]

    def show(
        self,
        summaries: list[TraceSummary],
        selected: str | None,
        *,
        to_selected: bool = False,
        page: TracePage | None = None,
    ) -> None:
        """Replace the rows; the cursor stays on its trace, or goes to ``selected`` when asked
        (the app followed a new run) or when the list was empty. A grouped ``page`` adds
        headers."""
        keep = selected if to_selected or not self.summaries else self.cursor_trace
        self.summaries = summaries
        self._made_before, self._made = self._made, {}
        shown_rows, shown_widths = self._rows, self._widths_of_rows
        self.row_traces = []
        rows: list[tuple[str, _Source]] = []
        self._rows = rows
        widths = self._label_widths()
        grouped = page is not None and page.query.grouped
        group: tuple[bool, str | None] | None = None
        for t in summaries:
            key = (True, None) if t.pinned else (False, t.conversation_id)
            if grouped and page is not None and key != group:
                group = key
                size = page.pinned if t.pinned else page.group_sizes.get(t.conversation_id, 0)
                self.row_traces.append(None)
                header = self._header_cells(group, size)
                rows.append(header)
                _widen(widths, {column: cell.cell_len if isinstance(cell, Text) else len(cell)
                                for column, cell in header[1].items()})
            self.row_traces.append(t.trace_id)
            rows.append((t.trace_id, t))
            _widen(widths, self._plain_widths(t))
        self._widths_of_rows = widths
        wanted = [t for t in (keep, selected) if t is not None and t in self.row_traces]
        needed_row = self.row_traces.index(wanted[0]) if wanted else 0
        if widths != shown_widths or not self._patched(shown_rows, needed_row):
            self._render_rows(needed_row)
        self.border_subtitle = self._count_text()
        if wanted:
            self.move_cursor(row=self.get_row_index(wanted[0]), scroll=False)

    def _run_cells(self, t: TraceSummary) -> dict[str, str | Text]:
        """A run's cells as the row shows them (``_plain_widths`` gives their widths)."""
        made = self._made_for(t)
        if made.cells is None:
            made.cells = _cells(t)
        return {"time": self._time_cell(t), **made.cells}

    def _plain_widths(self, t: TraceSummary) -> dict[str, int]:
        """The widths of a run's cells, from their text alone (a test holds them to the
        cells')."""
        return self._made_for(t).widths

    def _made_for(self, t: TraceSummary) -> _Made:
        made = self._made.get(t)
        if made is None:
            made = self._made_before.get(t) or _make(t)
            self._made[t] = made
        return made

    def _render_rows(self, needed_row: int = 0) -> None:
        """(Re)build the columns that fit and the rows, keeping the cursor where it was: the
        first screenfuls (down to ``needed_row`` and the cursor) now, the rest after paints."""
        cursor = self.cursor_row
        widths = dict(self._widths_of_rows)
        self._shown_columns = self._columns_for(widths)
        self._agent_cells = widths["agent"] = self._agent_width(self._shown_columns, widths)
        self.clear(columns=True)
        self._generation += 1
        last = self._shown_columns[-1]
        for key in self._shown_columns:
            width = max(widths[key], widths["count"]) if key == last else widths[key]
            self.add_column(COLUMNS[key], width=width, key=key)
        screenful = max(self.scrollable_content_region.height, 24)
        self._add_rows(max(2 * screenful, max(needed_row, cursor) + screenful))
        if 0 <= cursor < self.row_count:
            self.move_cursor(row=cursor, scroll=False)

    def _patched(self, shown_rows: list[tuple[str, _Source]], needed_row: int) -> bool:
        """The table made to hold the start of the page from the rows it holds, when no more
        need adding than it keeps (False, nothing done, when a new table would show its first
        screenfuls sooner); the columns are as before. While spans stream in, a refresh is
        mostly the same runs (a live run's counts moved on: written in place) or new runs on
        top (added, sorted to the top, the oldest pushed off the page's end): a new table added
        the whole page again each time (~20–30 ms of the UI thread with 300–500 runs listed).
        A search narrowed, a run pinned or deleted, a re-sort of the same runs: the same way.

        The table then holds the page's rows down to the lowest run it kept, or its first
        screenfuls (down to ``needed_row`` and the cursor), whichever is further; the rest
        come after paints, as in a new table."""
        page = {row_key: index for index, (row_key, _) in enumerate(self._rows)}
        held = shown_rows[: self.row_count]  # the table's rows, top to bottom
        kept = [(row_key, before) for row_key, before in held if row_key in page]
        lowest = max((page[row_key] for row_key, _ in kept), default=-1)
        screenful = max(self.scrollable_content_region.height, 24)
        end = min(len(self._rows),
                  max(lowest + 1, 2 * screenful, max(needed_row, self.cursor_row) + screenful))
        missing = [(row_key, source) for row_key, source in self._rows[:end]
                   if row_key not in self.rows]
        if len(missing) > max(len(kept), 2 * screenful):  # mostly other rows: a new table's
            return False  # first screenfuls come sooner, the rest after paints
        cursor = self.cursor_row
        gone = len(kept) < len(held)
        if gone:
            self._drop_rows([row_key for row_key, _ in held if row_key not in page])
            self._sort_as([row_key for row_key, _ in kept])
        for row_key, before in kept:
            source = self._rows[page[row_key]][1]
            if source != before:
                self._update_row(row_key, source)
        for row_key, source in missing:
            self.add_row(*self._row_values(row_key, source), key=row_key)
        order = [row_key for row_key, _ in self._rows[:end]]
        if gone or missing or order != [row_key for row_key, _ in held]:
            self._sort_as(order)
        if cursor >= 0 and self.row_count:  # its run may have left: the same row, as in a
            self.move_cursor(row=min(cursor, self.row_count - 1), scroll=False)  # new table
        self._generation += 1  # rows held back (``hold_later_rows``) come after paints again
        self._add_rest_after_paint()
        return True

    def _drop_rows(self, row_keys: list[str]) -> None:
        """Rows gone from the page, at once; a sort (``_sort_as``) numbers the rest again.
        ``DataTable.remove_row`` renumbers every row for each row it removes (~0.5 ms a row of
        a 500-row page; while runs stream in, a refresh pushed ~90 off the page's end). This
        does what it does but that, on the table's own structures: the tests hold the table
        to the rows it shows."""
        for key in row_keys:
            row_key = RowKey(key)
            del self._row_locations[row_key]
            for column_key in self._data.pop(row_key):
                self._updated_cells.discard(CellKey(row_key, column_key))
            del self.rows[row_key]
        self._require_update_dimensions = True

    def _sort_as(self, row_keys: list[str]) -> None:
        """The table's rows (all of them, these) in this order. ``DataTable.sort`` hands its
        key a row's cells, not its key: each row's time cell, made for that row alone, tells
        which row it is."""
        place = {id(self.get_cell(row_key, "time")): index
                 for index, row_key in enumerate(row_keys)}
        self.sort("time", key=lambda cell: place[id(cell)])

    def _update_row(self, row_key: str, source: _Source) -> None:
        for column, value in zip(self._shown_columns, self._row_values(row_key, source),
                                 strict=True):
            self.update_cell(row_key, column, value)

    def _add_rows(self, stop: int) -> None:
        """Add the rows not added yet, up to ``stop``; a chunk more after the next paint."""
        for row_key, source in self._rows[self.row_count : stop]:
            self.add_row(*self._row_values(row_key, source), key=row_key)
        self._add_rest_after_paint()

    def _add_rest_after_paint(self) -> None:
        """The rows not added yet, a chunk after the next paint (then the next chunk...)."""
        if self.row_count < len(self._rows):
            self.call_after_refresh(self._add_later, self._generation)

    def _row_values(self, row_key: str, source: _Source) -> list[str | Text]:
        """A row's cells in the columns shown: a run's, or a header's."""
        cells = self._run_cells(source) if isinstance(source, TraceSummary) else source
        values = [cells.get(key, "") for key in self._shown_columns]
        agent = values[1]  # time, agent and duration always show
        if isinstance(agent, Text):
            values[1] = fit_text(agent, self._agent_cells)
        if row_key.startswith(GROUP_KEY):  # the run count goes in the last column shown
            values[-1] = cells.get(self._shown_columns[-1]) or cells["count"]
        return values

    def hold_later_rows(self) -> None:
        """Add no more rows after paints until the next ``show``: a newer page is coming (a
        search being typed), and its first screen should not wait behind this one's rows.
        Moving the cursor past the rows added still adds them."""
        self._generation += 1

    def _add_later(self, generation: int) -> None:
        if generation == self._generation:
            self._add_rows(self.row_count + LATER_CHUNK)

    def _add_all(self) -> None:
        """Every row now: the cursor is going where later chunks would be."""
        if self.row_count < len(self._rows):
            self._add_rows(len(self._rows))

    def action_scroll_bottom(self) -> None:
        self._add_all()
        super().action_scroll_bottom()

    def action_page_down(self) -> None:
        self._add_rows(self.cursor_row + 2 * max(self.scrollable_content_region.height, 1))
        super().action_page_down()

    def action_cursor_down(self) -> None:
        if self.cursor_row >= self.row_count - 1:
            self._add_rows(self.row_count + LATER_CHUNK)
        super().action_cursor_down()

    @staticmethod
    def _label_widths() -> dict[str, int]:
        """Each column's label's width (a header's run count under ``count``: none yet)."""
        return {key: len(label) for key, label in COLUMNS.items()} | {"count": 0}

    def _columns_for(self, widths: dict[str, int]) -> tuple[str, ...]:
        """Every column that fits the list's width, dropping the optional ones in turn."""
        room = self.scrollable_content_region.width - SCROLLBAR_ROOM
        shown = list(COLUMNS)
        for optional in OPTIONAL_COLUMNS:
            if room <= 0 or sum(widths[k] + 2 * self.cell_padding for k in shown) <= room:
                break
            shown.remove(optional)
        return tuple(shown)

    def _agent_width(self, shown: tuple[str, ...], widths: dict[str, int]) -> int:
        """The agent column's width: its widest name up to ``AGENT_MOST``, less what the other
        columns shown need of the list's width (the duration must not be cut at its edge)."""
        room = self.scrollable_content_region.width - SCROLLBAR_ROOM
        others = sum(widths[k] + 2 * self.cell_padding for k in shown if k != "agent")
        fits = room - others - 2 * self.cell_padding
        return max(len(COLUMNS["agent"]), min(widths["agent"], AGENT_MOST, fits))

    def _header_cells(self, group: tuple[bool, str | None], size: int
                      ) -> tuple[str, dict[str, str | Text]]:
        pinned, conversation = group
        label = "pinned" if pinned else conversation or "(no conversation)"
        return f"{GROUP_KEY}{int(pinned)}{conversation}", {
            "time": Text("▾ pinned" if pinned else "▾ thread", style="bold"),
            "agent": safe_text(label, limit=28, style="bold"),
            "count": Text(f"{size:,} run{'s' * (size != 1)}", style="dim"),
        }

    def _time_cell(self, summary: TraceSummary) -> Text:
        mark = ("●" if summary.trace_id in self.marked else " ") + (
            "▲" if summary.pinned else " ")
        return Text(mark + format_time(summary.start_ns), style="bold" if mark.strip() else "")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value
        if key is not None and not key.startswith(GROUP_KEY):
            self.post_message(self.Chosen(key))

    def action_mark(self) -> None:
        trace_id = self.cursor_trace
        if trace_id is None:
            return
        if trace_id in self.marked:
            self.marked.remove(trace_id)
        else:
            self.marked.append(trace_id)
        self._refresh_marks()
        self.post_message(self.MarksChanged())

    def action_copy_id(self) -> None:
        """The highlighted trace's id, for ``lumos-studio show``, ``compare`` or a message."""
        copy_text(self.app, self.cursor_trace, "the trace's id", "no trace is highlighted")

    def _refresh_marks(self) -> None:
        """Redraw the time cells (marks and pins) without rebuilding the rows."""
        for summary in self.summaries:
            if summary.trace_id in self.rows:  # rows added later make theirs then
                self.update_cell(summary.trace_id, "time", self._time_cell(summary))
        self.border_subtitle = self._count_text()

    def _count_text(self) -> str:
        count = len(self.summaries)
        return f"{count} trace{'s' * (count != 1)}" + (
            f" · {len(self.marked)} marked" if self.marked else "")

    def forget(self, trace_ids: frozenset[str]) -> None:
        """Deleted traces are no longer marked."""
        self.marked = [t for t in self.marked if t not in trace_ids]

    def _chosen(self) -> list[str]:
        """The marked traces, else the one under the cursor (what s and D act on)."""
        return list(self.marked) or ([self.cursor_trace] if self.cursor_trace else [])

    def action_save(self) -> None:
        chosen = self._chosen()
        if chosen:
            self.post_message(self.SaveRequested(chosen))

    def action_add_to_dataset(self) -> None:
        chosen = self._chosen()
        if chosen:
            self.post_message(self.DatasetRequested(chosen))
        else:
            self.notify("Highlight a run (or mark several with m), then press D.")

    def action_compare(self) -> None:
        after = self.cursor_trace
        if not self.marked or after is None:
            self.notify("Mark a run with m, then put the cursor on another and press c.")
            return
        before = self.marked[-1] if self.marked[-1] != after else None
        if before is None:
            self.notify("Put the cursor on another run than the marked one.")
            return
        self.post_message(self.CompareRequested(before, after))


@dataclass(slots=True)
class _Made:
    """A run's plain widths (its time's too), and its cells but its time once its row is
    added: a page's widths need every run, its cells only the rows shown (made with the widths,
    a search's new page of 500 runs made them all: ~7 ms of the key typed)."""

    widths: dict[str, int]
    cells: dict[str, str | Text] | None = None


def _make(t: TraceSummary) -> _Made:
    name = t.agent_name or t.root_name
    return _Made({
        "time": 2 + len(format_time(t.start_ns)),
        "agent": cell_len(safe_str(name)),
        "duration": len(format_duration(t.duration_ns)),
        "spans": len(str(t.span_count)),
        "tokens": len(str(t.tokens or "")),
        "status": cell_len(status_label(t.status)),
        "trace": cell_len(safe_str(t.trace_id[:12])),
    })


def _cells(t: TraceSummary) -> dict[str, str | Text]:
    """A run's cells but its time (``_make`` gives their widths)."""
    return {
        "agent": safe_text(t.agent_name or t.root_name),
        "duration": Text(format_duration(t.duration_ns), justify="right"),
        "spans": Text(str(t.span_count), justify="right"),
        "tokens": Text(str(t.tokens or ""), justify="right"),
        "status": status_text(t.status),
        "trace": safe_text(t.trace_id[:12], style="dim"),
    }


def _widen(widths: dict[str, int], row: dict[str, int]) -> None:
    for key, width in row.items():
        if width > widths[key]:
            widths[key] = width
