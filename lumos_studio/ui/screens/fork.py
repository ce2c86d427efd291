"""Fork from here (``f`` on a span of a workflow run): the step's input as it was, editable, and
a new run from that step (``Workflow.fork``); the app then compares the two runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from lumos_core.telemetry import semconv as sc
from lumos_studio.display import safe_str, safe_text
from lumos_studio.records import SpanRecord


@dataclass(frozen=True, slots=True)
class ForkPoint:
    """Where a fork starts: a saved run of a workflow and one of its steps; ``input`` is the
    step's input as its span recorded it (None: not recorded), ``trace_id`` the run's trace."""

    workflow: str
    run_id: str
    step: str
    trace_id: str
    input: Any = None


@dataclass(frozen=True, slots=True)
class ForkChoice:
    """Run the fork; with ``edited``, the step gets ``input`` instead of the input it had."""

    input: Any = None
    edited: bool = False


class ForkScreen(ModalScreen[ForkChoice | None]):
    """Asks for the step's input (prefilled with the recorded one); ctrl+s forks."""

    DEFAULT_CSS = """
    ForkScreen { align: center middle; }
    ForkScreen > Vertical {
        width: 90; max-width: 100%; height: 80%; padding: 0 1;
        border: round $accent; background: $surface;
    }
    ForkScreen #fork-title, ForkScreen #fork-error, ForkScreen #fork-keys { height: auto; }
    ForkScreen #fork-error { color: $error; }
    ForkScreen #fork-keys { color: $foreground-muted; }
    ForkScreen TextArea { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "fork", "Fork"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, point: ForkPoint) -> None:
        super().__init__()
        self.point = point
        self.original = "" if point.input is None else _text(point.input)

    def compose(self) -> ComposeResult:
        point = self.point
        with Vertical():
            yield Static(Text.assemble(
                ("Fork ", "bold"), safe_str(point.workflow), " run ", safe_str(point.run_id[:8]),
                (" from step ", "bold"), safe_str(point.step)), id="fork-title")
            editor = TextArea(self.original, id="fork-input", soft_wrap=True)
            editor.border_title = (
                "the step's input (edit it, or leave it as it was)" if point.input is not None
                else "the step's input was not recorded: leave empty to reuse it, or type JSON")
            yield editor
            yield Static("", id="fork-error")
            yield Static("ctrl+s runs the fork from this step · escape cancels", id="fork-keys")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_fork(self) -> None:
        text = self.query_one(TextArea).text
        if text.strip() == self.original.strip() or not text.strip():
            self.dismiss(ForkChoice())
            return
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if isinstance(self.point.input, str):  # a text input stays text
                self.dismiss(ForkChoice(text, edited=True))
                return
            self.query_one("#fork-error", Static).update(safe_text(f"not JSON: {exc}"))
            return
        self.dismiss(ForkChoice(value, edited=True))

    def action_cancel(self) -> None:
        self.dismiss(None)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def fork_point(span: SpanRecord, spans: Mapping[str, SpanRecord]) -> ForkPoint | str:
    """Where forking from ``span`` starts (its step, or the nearest step above it, of the
    workflow run at the trace's root), or why it cannot (a message for the user)."""
    chain = [span]
    while (parent := chain[-1].parent_span_id) is not None and parent in spans:
        chain.append(spans[parent])
    root = chain[-1]
    workflow = root.attributes.get(sc.LUMOS_WORKFLOW_NAME)
    run_id = root.attributes.get(sc.LUMOS_WORKFLOW_RUN_ID)
    if not isinstance(workflow, str) or not isinstance(run_id, str):
        return ("Fork works on workflow runs: select a step of a workflow's trace "
                "(an agent's turn is re-run with ctrl+r).")
    step_span = next((s for s in chain if isinstance(
        s.attributes.get(sc.LUMOS_WORKFLOW_STEP_NAME), str)), None)
    if step_span is None:
        return "Select one of the run's steps to fork from (the run itself has no input to edit)."
    recorded = step_span.attributes.get(sc.LUMOS_WORKFLOW_STEP_INPUT)
    value: Any = None
    if isinstance(recorded, str):
        try:
            value = orjson.loads(recorded)
        except orjson.JSONDecodeError:
            value = recorded
    step = step_span.attributes[sc.LUMOS_WORKFLOW_STEP_NAME]
    return ForkPoint(workflow, run_id, str(step), span.trace_id, value)
