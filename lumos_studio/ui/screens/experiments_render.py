"""How experiments' scores look on screen: cells, marks and a case's detail (plain ``Text``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lumos_studio.display import BODY_LIMIT, VALUE_LIMIT, safe_str, safe_text
from lumos_studio.experiments import Change
from lumos_studio.semantics import Evaluation
from lumos_studio.semantics.experiment import ExperimentCase, ScorerStats
from lumos_studio.semantics.text import value_text

CHANGE_MARKS = {
    Change.REGRESSED: Text("▼", style="bold red"),
    Change.IMPROVED: Text("▲", style="bold green"),
    Change.NEW: Text("+", style="dim"),
    Change.GONE: Text("−", style="dim"),
    Change.SAME: Text(" "),
}


def rate_style(rate: float) -> str:
    return "green" if rate >= 1 else "yellow" if rate >= 0.5 else "red"


def stats_cell(stats: ScorerStats | None) -> Text:
    """``83% · 0.91``: the pass rate, coloured, and the mean value."""
    if stats is None:
        return Text("")
    cell = Text(f"{stats.pass_rate:.0%}", style=rate_style(stats.pass_rate))
    if stats.mean is not None and math.isfinite(stats.mean):
        cell.append(f" · {stats.mean:.2f}", style="dim")
    return cell


def fit_widths(widths: Sequence[int], room: int, least: dict[int, int], padding: int = 2
               ) -> list[int]:
    """Column widths that fit ``room`` cells, each column taking ``padding`` more: the columns
    of ``least`` (index → the fewest cells it keeps) give way, the widest first; the others
    stay as they are (then the table scrolls). Cells cut to them end in … (``display.fit_text``)."""
    fitted = list(widths)
    excess = sum(fitted) + padding * len(fitted) - room
    while excess > 0:
        index = max((i for i in least if fitted[i] > least[i]), key=lambda i: fitted[i],
                    default=None)
        if index is None:
            break
        fitted[index] -= 1
        excess -= 1
    return fitted


def score_cell(score: Evaluation | None) -> Text:
    """``1.00 ✓`` / ``0.00 ✗`` / ``err ✗``, or the label when there is no value."""
    if score is None:
        return Text("")
    if score.score is not None and math.isfinite(score.score):
        shown = f"{score.score:.2f}"
    else:
        shown = safe_str(score.label or "–", 8)
    if score.passed is None:
        return Text(shown)
    return Text(f"{shown} {'✓' if score.passed else '✗'}",
                style="green" if score.passed else "red")


def moved_cell(before: Evaluation | None, after: Evaluation | None, change: Change | None
               ) -> Text:
    """``✓ → ✗`` with both values, coloured by how it moved."""
    if before is None and after is None:
        return Text("")
    style = {Change.REGRESSED: "bold red", Change.IMPROVED: "bold green"}.get(
        change or Change.SAME, "")
    cell = Text(style=style)
    cell.append_text(_short(before))
    cell.append(" → ")
    cell.append_text(_short(after))
    return cell


def _short(score: Evaluation | None) -> Text:
    if score is None:
        return Text("–", style="dim")
    value = f"{score.score:.2f}" if score.score is not None and math.isfinite(score.score) else ""
    mark = "" if score.passed is None else ("✓" if score.passed else "✗")
    return Text(f"{value}{mark}" or safe_str(score.label, 8))


def summary_line(scorers: Sequence[ScorerStats]) -> Text:
    line = Text()
    for stats in scorers:
        if line:
            line.append("   ")
        line.append_text(safe_text(stats.name, style="bold"))
        line.append(" ")
        line.append_text(stats_cell(stats))
    return line


def render_case(case: ExperimentCase, title: str = "") -> RenderableType:
    """A case's input, expected and actual output, and every score with why."""
    table = Table(expand=True, show_edge=False, show_header=False, box=None, padding=(0, 1))
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("", ratio=1, overflow="fold")
    table.add_row("input", safe_text(value_text(case.input), limit=BODY_LIMIT, multiline=True))
    if case.expected is not None:
        table.add_row("expected", safe_text(value_text(case.expected), limit=BODY_LIMIT,
                                            multiline=True))
    if case.error:
        table.add_row("error", safe_text(case.error, limit=VALUE_LIMIT, style="red"))
    else:
        table.add_row("output", safe_text(value_text(case.output), limit=BODY_LIMIT,
                                          multiline=True))
    for name, score in case.scores.items():
        line = score_cell(score)
        if score.label and score.label not in ("pass", "fail"):
            line.append_text(safe_text(f"  {score.label}", style="cyan"))
        if score.source and score.source != "experiment":
            line.append_text(safe_text(f"  ({score.source})", style="dim"))
        if score.explanation:
            line.append("  ")
            line.append_text(safe_text(score.explanation, limit=VALUE_LIMIT, style="dim"))
        table.add_row(safe_text(name), line)
    if not title:
        return table
    return Group(Text(title, style="bold"), table)
