"""Two experiments on one dataset side by side: each scorer's pass rate before and after, and
every case with its scores moved, regressions ▼ and improvements ▲ marked. ``n``/``p`` jump
between changed cases; Enter shows the later run's spans."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from lumos_studio.display import safe_str, safe_text
from lumos_studio.experiments import CaseComparison, Change, ExperimentComparison
from lumos_studio.present import format_time
from lumos_studio.ui.screens.experiments import EXPERIMENTS_CSS, OpenExperimentTrace
from lumos_studio.ui.screens.experiments_render import (
    CHANGE_MARKS,
    moved_cell,
    rate_style,
    render_case,
)


class ExperimentCompareScreen(Screen[None]):
    """``ExperimentCompareScreen(comparison)``; escape goes back."""

    DEFAULT_CSS = "ExperimentCompareScreen { layout: vertical; }" + EXPERIMENTS_CSS + """
    #experiment-sides { height: 1fr; }
    #experiment-sides > VerticalScroll {
        width: 1fr;
        border: round $primary 50%;
        padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Back"),
        Binding("enter", "open_trace", "Trace"),
        Binding("n", "next_change", "Next change"),
        Binding("p", "previous_change", "Previous change"),
    ]

    def __init__(self, comparison: ExperimentComparison, *, name: str | None = None,
                 id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.comparison = comparison

    def compose(self) -> ComposeResult:
        yield Static(self._summary(), id="experiments-summary")
        yield DataTable(id="experiment-cases", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="experiment-sides"):
            with VerticalScroll(id="experiment-before"):
                yield Static(id="experiment-before-case")
            with VerticalScroll(id="experiment-after"):
                yield Static(id="experiment-after-case")
        yield Footer()

    def _summary(self) -> Text:
        comparison = self.comparison
        before, after = comparison.before.header, comparison.after.header
        line = Text.assemble(
            safe_text(f"{before.name} ({format_time(before.start_ns, '%m-%d %H:%M')})",
                      style="bold"), " → ",
            safe_text(f"{after.name} ({format_time(after.start_ns, '%m-%d %H:%M')})",
                      style="bold"),
            f" · dataset {safe_str(after.dataset)} · ",
            (f"{comparison.count(Change.REGRESSED)} regressed", "bold red"), " · ",
            (f"{comparison.count(Change.IMPROVED)} improved", "bold green"), " · ",
            f"{comparison.count(Change.SAME)} unchanged\n")
        for index, scorer in enumerate(comparison.scorers):
            if index:
                line.append("   ")
            line.append_text(safe_text(scorer.name, style="bold"))
            line.append(" ")
            for side, rate in enumerate((scorer.before_pass_rate, scorer.after_pass_rate)):
                shown = "–" if rate is None else f"{rate:.0%}"
                line.append(shown, style=rate_style(rate) if rate is not None else "dim")
                if side == 0:
                    line.append(" → ")
            line.append(" ")
            line.append_text(CHANGE_MARKS[scorer.change])
        return line

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        names = [s.name for s in self.comparison.scorers]
        table.add_column("", key="change")
        table.add_column("case")
        repeats = max(self.comparison.before.header.repeats,
                      self.comparison.after.header.repeats) > 1
        if repeats:
            table.add_column("run")
        for name in names:
            table.add_column(safe_text(name))
        for index, case in enumerate(self.comparison.cases):
            cells: list[Text | str] = [CHANGE_MARKS[case.change],
                                       safe_text(case.case_id, limit=40)]
            if repeats:
                cells.append(str(case.repeat + 1))
            for name in names:
                before = case.before.scores.get(name) if case.before else None
                after = case.after.scores.get(name) if case.after else None
                cells.append(moved_cell(before, after, case.changes.get(name)))
            table.add_row(*cells, key=str(index))
        table.border_title = Text(f"{len(self.comparison.cases)} cases")
        table.border_subtitle = "n/p: next/previous change · Enter: trace"
        self.query_one("#experiment-before", VerticalScroll).border_title = Text("before")
        self.query_one("#experiment-after", VerticalScroll).border_title = Text("after")
        table.focus()
        self._show_case(0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key.value is not None:
            self._show_case(int(event.row_key.value))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_trace()

    def _show_case(self, index: int) -> None:
        cases = self.comparison.cases
        if not 0 <= index < len(cases):
            return
        case = cases[index]
        for side, run in (("before", case.before), ("after", case.after)):
            shown = render_case(run) if run is not None else Text(
                "Not in this experiment.", style="dim")
            self.query_one(f"#experiment-{side}-case", Static).update(
                Group(_title(case, side), shown))

    def action_next_change(self) -> None:
        self._move(+1)

    def action_previous_change(self) -> None:
        self._move(-1)

    def _move(self, step: int) -> None:
        table = self.query_one(DataTable)
        cases = self.comparison.cases
        index = table.cursor_row + step
        while 0 <= index < len(cases):
            if cases[index].change in (Change.REGRESSED, Change.IMPROVED):
                table.move_cursor(row=index)
                return
            index += step
        self.notify("No more changed cases that way.")

    def action_open_trace(self) -> None:
        row = self.query_one(DataTable).cursor_row
        cases = self.comparison.cases
        if not 0 <= row < len(cases):
            return
        case = cases[row]
        run, header = ((case.after, self.comparison.after.header) if case.after is not None
                       else (case.before, self.comparison.before.header))
        if run is not None:
            self.post_message(OpenExperimentTrace(header.trace_id, run.span_id))


def _title(case: CaseComparison, side: str) -> Text:
    mark = CHANGE_MARKS[case.change] if side == "after" else Text("")
    return Text.assemble(mark, " " if mark.plain.strip() else "",
                         (f"case {safe_str(case.case_id)}", "bold"))
