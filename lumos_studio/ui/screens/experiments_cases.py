"""One experiment's cases with their scores; the highlighted case's input, output and reasons
below. Enter shows the case's spans in the studio; ``f`` keeps only failing cases; ``a``
annotates the case by hand (when the screen was given a way to store it)."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from lumos_studio.display import safe_str, safe_text
from lumos_studio.present import format_duration, format_time
from lumos_studio.scoring import Annotation, annotation_record
from lumos_studio.semantics import Evaluation
from lumos_studio.semantics.experiment import ExperimentCase, ExperimentView, scorer_stats
from lumos_studio.ui.screens.experiments import EXPERIMENTS_CSS, OpenExperimentTrace, Record
from lumos_studio.ui.screens.experiments_annotate import AnnotateScreen
from lumos_studio.ui.screens.experiments_render import render_case, score_cell, summary_line


class ExperimentCasesScreen(Screen[None]):
    """``ExperimentCasesScreen(view)``; escape goes back to the experiments."""

    DEFAULT_CSS = "ExperimentCasesScreen { layout: vertical; }" + EXPERIMENTS_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Back"),
        Binding("enter", "open_trace", "Trace"),
        Binding("f", "failing_only", "Failing only"),
        Binding("a", "annotate", "Annotate"),
    ]

    def __init__(self, view: ExperimentView, *, record: Record | None = None,
                 name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.view = view
        self.record = record
        self.failing_only = False
        self.shown: list[ExperimentCase] = list(view.cases)

    def compose(self) -> ComposeResult:
        header = self.view.header
        title = safe_text(f"{header.name} · dataset {header.dataset} · {header.task} · "
                          f"{format_time(header.start_ns, '%Y-%m-%d %H:%M:%S')} · "
                          f"{len(self.view.cases)} runs", limit=None, style="bold")
        yield Static(Text.assemble(title, "\n", summary_line(self.view.scorers)),
                     id="experiments-summary")
        yield DataTable(id="experiment-cases", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="experiment-detail"):
            yield Static(id="experiment-case")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.focus()
        self._fill()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        repeats = self.view.header.repeats > 1
        names = [s.name for s in self.view.scorers]
        table.add_column("case")
        if repeats:
            table.add_column("run")
        for name in names:
            table.add_column(safe_text(name))
        table.add_column("time")
        table.add_column("")
        self.shown = [c for c in self.view.cases if not (self.failing_only and c.passed)]
        for index, case in enumerate(self.shown):
            cells: list[Text | str] = [safe_text(case.case_id, limit=40)]
            if repeats:
                cells.append(str(case.repeat + 1))
            cells.extend(score_cell(case.scores.get(n)) for n in names)
            cells.append(format_duration(case.duration_ns))
            cells.append(Text("error", style="bold red") if case.error else "")
            table.add_row(*cells, key=str(index))
        failing = sum(1 for c in self.view.cases if not c.passed)
        table.border_title = Text(f"{len(self.shown)} of {len(self.view.cases)} runs"
                                  + (" (failing only)" if self.failing_only else ""))
        table.border_subtitle = f"{failing} failing · Enter: trace · f: failing only"
        self._show_case(0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key.value is not None:
            self._show_case(int(event.row_key.value))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_trace()

    def _show_case(self, index: int) -> None:
        detail = self.query_one("#experiment-case", Static)
        if not 0 <= index < len(self.shown):
            detail.update(Text("No failing cases." if self.failing_only else "No cases.",
                               style="dim"))
            return
        case = self.shown[index]
        run = f" · run {case.repeat + 1}" if self.view.header.repeats > 1 else ""
        self.query_one("#experiment-detail", VerticalScroll).border_title = Text(
            f"case {safe_str(case.case_id)}{run}")
        detail.update(render_case(case))

    def action_failing_only(self) -> None:
        self.failing_only = not self.failing_only
        self._fill()

    def action_open_trace(self) -> None:
        row = self.query_one(DataTable).cursor_row
        if 0 <= row < len(self.shown):
            self.post_message(OpenExperimentTrace(self.view.header.trace_id,
                                                  self.shown[row].span_id))

    def action_annotate(self) -> None:
        row = self.query_one(DataTable).cursor_row
        if self.record is None or not 0 <= row < len(self.shown):
            self.notify("Annotations are stored from the studio (lumos-studio, F10) or with "
                        "lumos-studio annotate.")
            return
        case = self.shown[row]

        def save(annotation: Annotation | None) -> None:
            if annotation is not None and self.record is not None:
                self.record(annotation_record(self.view.header.trace_id, case.span_id,
                                              annotation))
                self._annotated(case, annotation)

        self.app.push_screen(AnnotateScreen(f"case {case.case_id}"), save)

    def _annotated(self, case: ExperimentCase, annotation: Annotation) -> None:
        """Show the annotation at once (it is stored in the background)."""
        evaluation = Evaluation(annotation.name, annotation.score, annotation.label,
                                annotation.note, annotation.passed, "human")
        changed = replace(case, scores={**case.scores, annotation.name: evaluation})
        cases = tuple(changed if c is case else c for c in self.view.cases)
        self.view = replace(self.view, cases=cases,
                            scorers=scorer_stats(cases, self.view.header.summary))
        row = self.query_one(DataTable).cursor_row
        self._fill()
        self.query_one(DataTable).move_cursor(row=row)
