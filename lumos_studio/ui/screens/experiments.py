"""The experiments view: every experiment in the store against its scorers.

Enter opens an experiment's cases (``ExperimentCasesScreen``, where ``a`` annotates a case);
``m`` marks one and ``c`` compares the highlighted experiment with the marked one, or with the
previous one on the same dataset (``ExperimentCompareScreen``). Queries run in thread workers;
a case's Enter posts ``OpenExperimentTrace`` for the app to show that case's spans.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from lumos_studio.display import fit_text, safe_str, safe_text
from lumos_studio.experiments import (
    ExperimentComparison,
    compare_experiments,
    list_experiments,
    load_experiment,
)
from lumos_studio.present import format_time
from lumos_studio.records import LogRecord
from lumos_studio.semantics.experiment import ExperimentHeader, ExperimentView
from lumos_studio.store import StoreReader
from lumos_studio.ui.screens.experiments_render import fit_widths, stats_cell

EXPERIMENTS_CSS = """
    #experiments-summary {
        height: auto;
        padding: 0 1;
        background: $boost;
    }
    #experiments-table, #experiment-cases {
        height: 2fr;
        border: round $primary 50%;
    }
    #experiment-detail {
        height: 1fr;
        border: round $primary 50%;
        padding: 0 1;
    }
"""


#: How the view stores an annotation (the store writer's ``submit``).
Record = Callable[[LogRecord], object]


class OpenExperimentTrace(Message):
    """Show this case's spans in the studio (its trace, the case span selected)."""

    def __init__(self, trace_id: str, span_id: str) -> None:
        super().__init__()
        self.trace_id = trace_id
        self.span_id = span_id


class ExperimentsScreen(Screen[None]):
    """``ExperimentsScreen(reader)``: experiments × scorers, newest first; escape closes."""

    DEFAULT_CSS = "ExperimentsScreen { layout: vertical; }" + EXPERIMENTS_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("enter", "open", "Cases"),
        Binding("m", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("r", "reload", "Reload"),
    ]

    class Listed(Message):
        def __init__(self, headers: list[ExperimentHeader]) -> None:
            super().__init__()
            self.headers = headers

    class Loaded(Message):
        """A worker read what a key asked for: one experiment, or two compared."""

        def __init__(self, view: ExperimentView | None, comparison: ExperimentComparison | None
                     ) -> None:
            super().__init__()
            self.view = view
            self.comparison = comparison

    def __init__(self, reader: StoreReader, *, record: Record | None = None,
                 name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.reader = reader
        self.record = record  # stores an annotation; None: the view only reads
        self.headers: list[ExperimentHeader] | None = None
        self.marked: str | None = None  # a trace id

    def compose(self) -> ComposeResult:
        yield Static(Text("reading experiments…", style="dim"), id="experiments-summary")
        yield DataTable(id="experiments-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.action_reload()

    def action_reload(self) -> None:
        self._list()

    @work(thread=True, exclusive=True, group="experiments")
    def _list(self) -> None:
        self.post_message(self.Listed(list_experiments(self.reader)))

    def on_experiments_screen_listed(self, message: ExperimentsScreen.Listed) -> None:
        self.headers = message.headers
        self._show()

    def _show(self) -> None:
        headers = self.headers or []
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        scorers = list(dict.fromkeys(s.name for h in headers for s in h.summary))
        rows: list[list[Text]] = []
        for header in headers:
            stats = {s.name: s for s in header.summary}
            mark = Text("●", style="bold cyan") if header.trace_id == self.marked else Text(
                "✗" if header.failed else " ", style="red")
            rows.append([mark, Text(format_time(header.start_ns, "%m-%d %H:%M")),
                         safe_text(header.name, limit=40),
                         *(stats_cell(stats.get(s)) for s in scorers),
                         Text(str(header.case_count * header.repeats)),
                         safe_text(header.dataset, limit=30), safe_text(header.task, limit=30)])
        # Widths given, not measured: a table refilled after it was shown keeps its old ones.
        labels = ["", "started", "experiment", *scorers, "runs", "dataset", "task"]
        widths = [max([len(label)] + [row[index].cell_len for row in rows])
                  for index, label in enumerate(labels)]
        # Too wide for the pane: the names give way (cut with …) before the table scrolls.
        names = {index: len(labels[index]) for index in (2, len(labels) - 2, len(labels) - 1)}
        room = table.scrollable_content_region.width
        if room > 0:
            widths = fit_widths(widths, room, names, padding=2 * table.cell_padding)
        for label, width in zip(labels, widths, strict=True):
            table.add_column(fit_text(safe_text(label), width), width=width)
        for header, row in zip(headers, rows, strict=True):
            table.add_row(*(fit_text(cell, width) for cell, width in zip(row, widths, strict=True)),
                          key=header.trace_id)
        if headers:
            table.move_cursor(row=min(cursor, len(headers) - 1))
        summary = (f"{len(headers)} experiment{'s' * (len(headers) != 1)} · Enter: cases · "
                   "m: mark · c: compare with the marked one (or the previous on its dataset)"
                   if headers else "No experiments yet: run one with lumos-studio eval "
                   "FILE DATASET --agent NAME (or Experiment(...).run() in your code).")
        self.query_one("#experiments-summary", Static).update(Text(summary))

    def on_resize(self, event: events.Resize) -> None:
        if self.headers is not None:
            self.call_after_refresh(self._show)  # the columns fit the new width

    def _highlighted(self) -> ExperimentHeader | None:
        if not self.headers:
            return None
        row = self.query_one(DataTable).cursor_row
        return self.headers[row] if 0 <= row < len(self.headers) else None

    def action_mark(self) -> None:
        header = self._highlighted()
        if header is not None:
            self.marked = None if self.marked == header.trace_id else header.trace_id
            self._show()

    def action_open(self) -> None:
        header = self._highlighted()
        if header is not None:
            self._open(header.trace_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @work(thread=True, exclusive=True, group="experiment")
    def _open(self, trace_id: str) -> None:
        self.post_message(self.Loaded(load_experiment(self.reader, trace_id), None))

    def action_compare(self) -> None:
        header = self._highlighted()
        if header is None or self.headers is None:
            return
        other: ExperimentHeader | None
        if self.marked is not None and self.marked != header.trace_id:
            other = next((h for h in self.headers if h.trace_id == self.marked), None)
        else:
            other = next((h for h in self.headers if h.dataset == header.dataset
                          and h.start_ns < header.start_ns), None)
        if other is None:
            self.notify(f"No earlier experiment on dataset {safe_str(header.dataset)!r}: mark "
                        "one with m to compare with it.", markup=False)
            return
        before, after = sorted((other, header), key=lambda h: h.start_ns)
        self._compare(before.trace_id, after.trace_id)

    @work(thread=True, exclusive=True, group="experiment")
    def _compare(self, before_id: str, after_id: str) -> None:
        before = load_experiment(self.reader, before_id)
        after = load_experiment(self.reader, after_id)
        comparison = None if before is None or after is None else compare_experiments(
            before, after)
        self.post_message(self.Loaded(None, comparison))

    def on_experiments_screen_loaded(self, message: ExperimentsScreen.Loaded) -> None:
        from lumos_studio.ui.screens.experiments_cases import ExperimentCasesScreen
        from lumos_studio.ui.screens.experiments_compare import ExperimentCompareScreen

        if message.view is not None:
            self.app.push_screen(ExperimentCasesScreen(message.view, record=self.record))
        elif message.comparison is not None:
            self.app.push_screen(ExperimentCompareScreen(message.comparison))
        else:
            self.notify("That experiment is no longer in the store.", severity="error")
