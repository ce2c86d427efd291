"""Scoring stored traces from the studio: the marked traces (or the highlighted one) judged by
the scorers asked for here, the scores stored as evaluation records (``lumos_studio.scoring``)
and listed when done."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

from lumos_core.evals import Contains, Latency, Regex, Scorer, TokenBudget, ToolTrajectory
from lumos_studio.display import VALUE_LIMIT, safe_text
from lumos_studio.records import LogRecord
from lumos_studio.scoring import TraceScores, score_traces
from lumos_studio.store import StoreReader
from lumos_studio.ui.screens.dialog import StudioDialog

FIELDS = (("contains", "the answer contains: text"), ("regex", "matches: regular expression"),
          ("tools", "called, in order: tool names, comma separated"),
          ("seconds", "ran within: seconds"), ("tokens", "used at most: tokens"))


def scorers_from(values: dict[str, str]) -> list[Scorer]:
    """The scorers the filled fields ask for; ``ValueError`` says which field is wrong."""
    scorers: list[Scorer] = []
    if values["contains"]:
        scorers.append(Contains(values["contains"]))
    if values["regex"]:
        try:
            scorers.append(Regex(values["regex"]))
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
    if values["tools"]:
        scorers.append(ToolTrajectory([t.strip() for t in values["tools"].split(",")
                                       if t.strip()]))
    for field, make in (("seconds", lambda v: Latency(float(v))),
                        ("tokens", lambda v: TokenBudget(int(v)))):
        if values[field]:
            try:
                scorers.append(make(values[field]))
            except ValueError:
                raise ValueError(f"{field}: write a number") from None
    if not scorers:
        raise ValueError("fill at least one field")
    return scorers


class ScoreTracesScreen(StudioDialog[None]):
    """``ScoreTracesScreen(reader, trace_ids, record)``: Enter scores, escape closes."""

    DEFAULT_CSS = """
    ScoreTracesScreen > Vertical { width: 90; }
    ScoreTracesScreen #score-result { height: auto; max-height: 16; overflow-y: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close")]

    class Scored(Message):
        def __init__(self, scored: list[TraceScores]) -> None:
            super().__init__()
            self.scored = scored

    def __init__(self, reader: StoreReader, trace_ids: Sequence[str],
                 record: Callable[[LogRecord], Any]) -> None:
        super().__init__()
        self.reader = reader
        self.trace_ids = list(trace_ids)
        self.record = record
        self.scored: list[TraceScores] | None = None

    def compose(self) -> ComposeResult:
        count = len(self.trace_ids)
        with Vertical():
            yield Label(Text(f"Score {count} trace{'s' * (count != 1)}", style="bold"))
            yield Label(Text("the marked ones, else the highlighted one", style="dim"))
            for key, placeholder in FIELDS:
                field = Input(placeholder=placeholder, id=f"score-{key}")
                field.border_title = key
                yield field
            yield Static(Text("Enter scores · escape closes", style="dim"), id="score-result")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        values = {key: self.query_one(f"#score-{key}", Input).value.strip() for key, _ in FIELDS}
        try:
            scorers = scorers_from(values)
        except ValueError as exc:
            self.query_one("#score-result", Static).update(Text(str(exc), style="red"))
            return
        self.query_one("#score-result", Static).update(Text("scoring…", style="dim"))
        self._score(scorers)

    @work(thread=True, exclusive=True, group="score")
    def _score(self, scorers: list[Scorer]) -> None:
        scored = score_traces(self.reader, self.trace_ids, scorers)
        for trace in scored:
            for record in trace.records:
                self.record(record)
        self.post_message(self.Scored(scored))

    def on_score_traces_screen_scored(self, message: ScoreTracesScreen.Scored) -> None:
        self.scored = message.scored
        lines = Text()
        for trace in message.scored:
            if trace.span_id is None:
                lines.append(f"{trace.trace_id[:12]}  no spans\n", style="dim")
            for score in trace.scores:
                shown = "err" if score.value is None else f"{score.value:.2f}"
                lines.append(f"{trace.trace_id[:12]}  ")
                lines.append_text(safe_text(f"{score.name:<12}", limit=40))
                lines.append(f" {shown} {'✓' if score.passed else '✗'}\n",
                             style="green" if score.passed else "red")
                if score.explanation:
                    lines.append("    ")
                    lines.append_text(safe_text(score.explanation, limit=VALUE_LIMIT,
                                                style="dim"))
                    lines.append("\n")
        lines.rstrip()
        self.query_one("#score-result", Static).update(lines)
